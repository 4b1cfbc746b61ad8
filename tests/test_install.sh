#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/test_install.sh - the sysadmin's first hour, as the README says it:
# the release tarball built and installed with the commands of README.md's
# install section, run literally, then the web servers set up with the
# README's blocks and the install comments of the installed examples, and
# checked end to end.  So the README cannot drift from what works.
#
# Everything runs as root in a sandbox that leaves the host alone: private
# mount, pid and network namespaces (unshare), overlays on /etc, /usr and
# /var, a fresh /run.  Inside it every service uses its Debian default
# (PostgreSQL's "main" cluster on 5432 with peer authentication, Redis on
# 6379, the web servers on port 80), as on a real host.
#
# Which README blocks run, and how: each ```sh block right after a
# `<!-- test_install: KIND -->` comment, in README order:
#   build                  in the unpacked tarball; its `make check` line
#                          is skipped (this test runs after the suite)
#   run                    as written
#   start synthia          as written (systemctl below)
#   web SERVER             as written; then the checks through SERVER
#   start synthia instead  after stopping the synthia started before;
#                          then the checks again
# Then, from the installed examples, the "Install (Debian)" comment lines
# of apache/synthia.conf and lighttpd/synthia.conf, as written, each
# followed by the checks through that server.
#
# Two commands are stand-ins: `apt-get install` checks that every package
# it names is installed (the sandbox has no network; tests/deps.sh
# installs them), and, as there is no systemd in the sandbox (nor in CI
# containers), `systemctl` that does what the units say: for synthia.socket and
# synthia.service it reads the installed unit files (ListenStream,
# SocketUser/Group/Mode, ExecStart, User, Group) and starts ExecStart
# with the socket as LISTEN_FDS, as that user; for Debian's nginx, apache2,
# lighttpd and caddy units, their ExecStart (caddy as user caddy with its
# groups and CAP_NET_BIND_SERVICE).  Everything else runs as written.
#
# Usage: tests/test_install.sh [TARBALL]   (default: BUILD_DIR's tarball,
# made with `make dist` when missing).  Needs root, unshare and the
# packages of tests/deps.sh.  Run by tests/run-all.sh after distcheck.
# Prints "N passed, N failed"; exit 1 on failure.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$SRC/_build}

if [[ $(id -u) -ne 0 ]]; then
    echo "FAIL - tests/test_install.sh needs root (it installs, in a sandbox)"
    echo "0 passed, 1 failed"
    exit 1
fi

tarball=${1:-}
if [[ -z $tarball ]]; then
    version=$(sed -n "s/^PACKAGE_VERSION = //p" "$BUILD/Makefile" 2>/dev/null || true)
    [[ -n $version ]] || { echo "FAIL - no $BUILD/Makefile"; echo "0 passed, 1 failed"; exit 1; }
    tarball=$BUILD/synthia-$version.tar.gz
    [[ -f $tarball ]] || make -s -C "$BUILD" dist >/dev/null
fi
[[ -f $tarball ]] || { echo "FAIL - no tarball $tarball"; echo "0 passed, 1 failed"; exit 1; }

T=$(mktemp -d /tmp/sy-install.XXXXXX)
chmod 755 "$T"
keep=0
cleanup() { if [[ $keep -eq 1 ]]; then echo "# kept $T"; else rm -rf "$T"; fi; }
trap cleanup EXIT
tar -C "$T" -xzf "$tarball"
TOP=$(cd "$T"/synthia-* && pwd)
mkdir -p "$T/shim" "$T/log" "$T/blocks"

# ---------------------------------------------------------------- blocks
# README.md of the tarball -> $T/blocks/NN.KIND.sh, in order.
python3 - "$TOP/README.md" "$T/blocks" <<'EOF'
import os, re, sys
readme, out = sys.argv[1], sys.argv[2]
lines = open(readme, encoding="utf-8").read().split("\n")
n, i = 0, 0
while i < len(lines):
    m = re.match(r"^<!-- test_install: (.+?) -->$", lines[i])
    if m and i + 1 < len(lines) and lines[i + 1] == "```sh":
        j = i + 2
        body = []
        while lines[j] != "```":
            body.append(lines[j])
            j += 1
        n += 1
        kind = m.group(1).replace(" ", "_")
        with open(os.path.join(out, "%02d.%s.sh" % (n, kind)), "w") as f:
            f.write("\n".join(body) + "\n")
        i = j
    i += 1
if n == 0:
    sys.exit("no <!-- test_install: ... --> blocks in " + readme)
EOF

# ------------------------------------------------------- the apt-get stand-in
# The sandbox has no network, and a real `apt-get install` would offer to
# upgrade what the host has: check instead that every package the line
# names exists and is installed (tests/deps.sh installed them).
cat >"$T/shim/apt-get" <<'EOF2'
#!/bin/bash
set -euo pipefail
[[ ${1:-} == install ]] || { echo "apt-get(stand-in): not emulated: $*" >&2; exit 1; }
shift
rc=0
for p in "$@"; do
    [[ $p == -* ]] && continue
    if [[ $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null) == installed ]]; then
        echo "apt-get(stand-in): $p is installed"
    else
        echo "apt-get(stand-in): $p is NOT installed (or does not exist)" >&2
        rc=1
    fi
done
exit $rc
EOF2
chmod +x "$T/shim/apt-get"

# ------------------------------------------------------- the systemctl stand-in
cat >"$T/shim/systemctl" <<'EOF'
#!/bin/bash
# systemctl stand-in of tests/test_install.sh: starts and stops what the
# units say, without systemd.  State in /run/sy-shim/.
set -euo pipefail
S=/run/sy-shim
mkdir -p "$S"
say() { echo "systemctl(stand-in): $*" >&2; }
unitfile() {
    local d
    for d in /etc/systemd/system /usr/lib/systemd/system /lib/systemd/system \
        /usr/local/lib/systemd/system; do
        [[ -f $d/$1 ]] && { echo "$d/$1"; return; }
    done
    return 1
}
running() { [[ -s $S/$1.pid ]] && kill -0 "$(cat "$S/$1.pid")" 2>/dev/null; }
start() {
    local u=${1%.service}
    case $u in
    synthia.socket) ;; # started with the service, as socket activation would
    synthia)
        running synthia && return 0
        python3 "$SY_SHIM_DIR/units.py" "$(unitfile synthia.socket)" \
            "$(unitfile synthia.service)" >>"$SY_SHIM_LOG" 2>&1 &
        echo $! >"$S/synthia.pid"
        local i
        for i in $(seq 100); do
            [[ -S /run/synthia/fcgi.sock ]] && break
            sleep 0.1
        done
        say "started synthia.socket + synthia.service (pid $(cat "$S/synthia.pid"))"
        ;;
    nginx)
        if [[ -s /run/nginx.pid ]] && kill -0 "$(cat /run/nginx.pid)" 2>/dev/null; then
            nginx -s reload
        else
            nginx
        fi
        say "nginx (re)started"
        ;;
    apache2)
        if running apache2; then apache2ctl graceful; else apache2ctl start; fi
        pidof apache2 | tr ' ' '\n' | sort -n | head -1 >"$S/apache2.pid"
        say "apache2 (re)started"
        ;;
    lighttpd)
        [[ -s /run/lighttpd.pid ]] && kill "$(cat /run/lighttpd.pid)" 2>/dev/null && sleep 0.5
        lighttpd -f /etc/lighttpd/lighttpd.conf
        say "lighttpd started"
        ;;
    caddy)
        if running caddy; then kill "$(cat "$S/caddy.pid")"; sleep 0.5; fi
        # Debian's caddy.service: User=caddy, Group=caddy,
        # AmbientCapabilities=CAP_NET_BIND_SERVICE; a start picks up the
        # user's supplementary groups from /etc/group.
        HOME=/var/lib/caddy setpriv --reuid=caddy --regid=caddy --init-groups \
            --inh-caps=+net_bind_service --ambient-caps=+net_bind_service -- \
            /usr/bin/caddy run --environ --config /etc/caddy/Caddyfile \
            >>"$SY_SHIM_LOG" 2>&1 &
        echo $! >"$S/caddy.pid"
        # Type=notify: systemctl returns once Caddy is serving
        for _ in $(seq 100); do
            (exec 3<>/dev/tcp/127.0.0.1/80) 2>/dev/null && break
            sleep 0.1
        done
        say "caddy started (pid $(cat "$S/caddy.pid"))"
        ;;
    *) say "unknown unit $1"; return 1 ;;
    esac
}
stop() {
    local u=${1%.service} p
    case $u in
    synthia.socket) rm -f /run/synthia/fcgi.sock ;; # RemoveOnStop=yes
    synthia | caddy | apache2)
        if [[ $u == apache2 ]]; then apache2ctl stop 2>/dev/null || true; fi
        if running "$u"; then
            p=$(cat "$S/$u.pid")
            kill -TERM "$p" 2>/dev/null || true
            for _ in $(seq 400); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -f "$S/$u.pid"
        ;;
    nginx) nginx -s quit 2>/dev/null || true; sleep 0.5 ;;
    lighttpd) [[ -s /run/lighttpd.pid ]] && kill "$(cat /run/lighttpd.pid)" 2>/dev/null; sleep 0.5 ;;
    esac
    say "stopped $1"
}
cmd=${1:-}
shift || true
now=0
units=()
for a in "$@"; do
    case $a in
    --now) now=1 ;;
    -*) ;;
    *) units+=("$a") ;;
    esac
done
case $cmd in
enable) [[ $now -eq 1 ]] && for u in "${units[@]}"; do start "$u"; done ;;
start | reload | restart | reload-or-restart)
    [[ $cmd == restart ]] && for u in "${units[@]}"; do stop "$u"; done
    for u in "${units[@]}"; do start "$u"; done
    ;;
stop | disable) for u in "${units[@]}"; do stop "$u"; done ;;
*) say "not emulated: $cmd $*"; exit 1 ;;
esac
EOF
chmod +x "$T/shim/systemctl"

# synthia.socket + synthia.service as systemd runs them.
cat >"$T/shim/units.py" <<'EOF'
import grp, os, pwd, shlex, socket, sys

def unit(path):
    keys = {}
    for line in open(path):
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            k, v = line.split("=", 1)
            keys.setdefault(k, []).append(v)
    return keys

sock, svc = unit(sys.argv[1]), unit(sys.argv[2])
path = sock["ListenStream"][-1]
os.makedirs(os.path.dirname(path), mode=int(sock.get("DirectoryMode", ["0755"])[-1], 8),
            exist_ok=True)
if os.path.exists(path):
    os.unlink(path)
ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ls.bind(path)
os.chown(path, pwd.getpwnam(sock.get("SocketUser", ["root"])[-1]).pw_uid,
         grp.getgrnam(sock.get("SocketGroup", ["root"])[-1]).gr_gid)
os.chmod(path, int(sock.get("SocketMode", ["0666"])[-1], 8))
ls.listen(int(sock.get("Backlog", ["128"])[-1]))
argv = shlex.split(svc["ExecStart"][-1])
user = svc.get("User", ["root"])[-1]
group = svc.get("Group", [user])[-1]
pid = os.fork()
if pid == 0:
    if ls.fileno() != 3:
        os.dup2(ls.fileno(), 3)
    os.set_inheritable(3, True)  # Python's sockets are close-on-exec
    null = os.open("/dev/null", os.O_RDONLY)
    os.dup2(null, 0)
    os.closerange(4, 1024)
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LISTEN_FDS": "1",
           "LISTEN_FDNAMES": "synthia.socket", "LISTEN_PID": str(os.getpid())}
    # setpriv execs in place: LISTEN_PID stays the pid that runs synthia
    os.execve("/usr/bin/setpriv", ["setpriv", "--reuid=" + user,
              "--regid=" + group, "--init-groups", "--"] + argv, env)
ls.close()
_, status = os.waitpid(pid, 0)
print("synthia.service exited with status %d" % status, flush=True)
EOF

# ----------------------------------------------------------------- inside
cat >"$T/inner.sh" <<'EOF'
#!/bin/bash
# Runs as pid 1 of the sandbox: everything started here dies with it.
set -uo pipefail
T=$1
TOP=$2
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
finish() { echo "$pass passed, $fail failed"; [[ $fail -eq 0 ]]; exit; }

ip link set lo up
for d in etc usr var; do
    mkdir -p "$T/ov/$d.up" "$T/ov/$d.work"
    mount -t overlay overlay \
        -o "lowerdir=/$d,upperdir=$T/ov/$d.up,workdir=$T/ov/$d.work" "/$d" ||
        { bad "cannot overlay /$d"; finish; }
done
mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/lock
while read -r v; do unset "$v"; done < <(compgen -v SYNTHIA_ || true)
export PATH=$T/shim:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export SY_SHIM_DIR=$T/shim SY_SHIM_LOG=$T/log/services.log
export HOME=/root DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8

# What the README takes for granted on the host: PostgreSQL (Debian's
# "main" cluster, made afresh: peer authentication, port 5432) and Redis.
{
    pg_dropcluster --stop 15 main 2>/dev/null || true
    pg_createcluster 15 main --start
} >>"$T/log/services.log" 2>&1 || { bad "PostgreSQL main cluster did not start"; finish; }
redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' \
    --appendonly no --dir /tmp >>"$T/log/services.log" 2>&1 ||
    { bad "redis-server did not start"; finish; }
ok "prerequisites: PostgreSQL 15 main (peer auth) and Redis on their default ports"

# run_block FILE DIR: the block's lines as written, in DIR, under bash -e.
run_block() {
    local f=$1 dir=$2 name
    name=$(basename "$f" .sh)
    if (cd "$dir" && bash -e -o pipefail "$f") >"$T/log/$name.log" 2>&1; then
        ok "README block $name ran as written"
    else
        bad "README block $name failed; its output:"
        tail -n 30 "$T/log/$name.log" | sed 's/^/    /'
        finish
    fi
}

http() { # METHOD URL [curl args]: prints the status (000: no answer),
    # the body is in $T/body
    : >"$T/body"
    curl -s -m 10 -o "$T/body" -w '%{http_code}' -X "$@" 2>/dev/null || true
}

# The checks through the web server on port 80.
check_site() {
    local web=$1 code
    code=$(http GET http://localhost/health/ready -H 'X-Request-Id: install-1')
    if [[ $code == 200 ]]; then
        ok "$web: GET /health/ready through port 80 is 200"
    else
        bad "$web: GET /health/ready is $code: $(head -c 300 "$T/body")"
        tail -n 20 "$T/log/services.log" | sed 's/^/    /'
    fi
    # Any host name reaches it (no catch-all site of the distro in front).
    code=$(http GET http://127.0.0.1/api/v1/nope -H 'Host: shop.example' \
        -H 'X-Request-Id: install-2')
    if [[ $code == 404 ]] && grep -q '"request_id":"install-2"' "$T/body" &&
        grep -q '"code":"not_found"' "$T/body"; then
        ok "$web: Host: shop.example reaches synthia (404 problem, request id echoed)"
    else
        bad "$web: Host: shop.example got $code: $(head -c 300 "$T/body")"
    fi
    code=$(http GET http://localhost/)
    if [[ $code == 200 ]] && grep -qi '<html' "$T/body"; then
        ok "$web: the landing page is served from the installed www/"
    else
        bad "$web: GET / is $code"
    fi
}

blocks=("$T"/blocks/*.sh)
current_web=
for f in "${blocks[@]}"; do
    kind=$(basename "$f" .sh)
    kind=${kind#*.}
    case $kind in
    build)
        # the suite that runs this test is `make check`
        sed -i -E 's/^make check( |$)/: skipped by test_install: make check /' "$f"
        run_block "$f" "$TOP"
        ;;
    run | start_synthia) run_block "$f" "$TOP" ;;
    web_*)
        [[ -n $current_web ]] && systemctl stop "$current_web" 2>/dev/null
        current_web=${kind#web_}
        run_block "$f" "$TOP"
        check_site "$current_web"
        ;;
    start_synthia_instead)
        systemctl stop synthia.service synthia.socket 2>/dev/null
        run_block "$f" "$TOP"
        check_site "$current_web (synthia under spawn-fcgi)"
        if grep -q '"event":"access"' /var/log/synthia/synthia.log 2>/dev/null; then
            ok "spawn-fcgi: synthia's log lines reach /var/log/synthia/synthia.log"
        else
            bad "spawn-fcgi: no access lines in /var/log/synthia/synthia.log"
        fi
        ;;
    *) bad "unknown test_install block kind '$kind' in README.md" ;;
    esac
done

# What the install left, as the README promises.
if [[ $(stat -c '%U:%G %a' /etc/synthia/jwt.key) == "root:synthia 640" ]] &&
    runuser -u synthia -- synthia check-config >/dev/null 2>&1; then
    ok "jwt.key is root:synthia 0640 and the synthia user reads the config"
else
    bad "jwt.key is $(stat -c '%U:%G %a' /etc/synthia/jwt.key), or check-config fails as synthia"
fi
if runuser -u synthia -- synthia migrate status >/dev/null 2>&1; then
    ok "migrations are current (synthia migrate status as the synthia user)"
else
    bad "synthia migrate status: $(runuser -u synthia -- synthia migrate status 2>&1 | tail -1)"
fi

# Apache and lighttpd, by the install comment of the installed example.
examples=/usr/share/doc/synthia/examples
for server in apache lighttpd; do
    conf=$examples/$server/synthia.conf
    # the indented lines after "# Install (Debian)" (the first run of them)
    cmds=$(awk '/^# Install \(Debian\)/ { on = 1; next }
        on == 1 && /^#     / { on = 2 }
        on == 2 { if (/^#     /) { sub(/^#     /, ""); print } else exit }' "$conf")
    if [[ -z $cmds ]]; then
        bad "$server: no install commands in $conf"
        continue
    fi
    [[ -n $current_web ]] && systemctl stop "$current_web" 2>/dev/null
    current_web=$([[ $server == apache ]] && echo apache2 || echo lighttpd)
    printf '%s\n' "$cmds" >"$T/blocks/example-$server.sh"
    if (cd "$examples/$server" && bash -e -o pipefail "$T/blocks/example-$server.sh") \
        >"$T/log/example-$server.log" 2>&1; then
        ok "$server: the example's install lines ran as written ($(wc -l <<<"$cmds") lines)"
        check_site "$server"
    else
        bad "$server: the example's install lines failed:"
        tail -n 20 "$T/log/example-$server.log" | sed 's/^/    /'
    fi
done
finish
EOF

rc=0
unshare --mount --pid --net --fork --mount-proc --propagation private -- \
    bash "$T/inner.sh" "$T" "$TOP" || rc=$?
if [[ $rc -ne 0 ]]; then
    keep=1
fi
exit $rc
