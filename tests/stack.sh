#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/stack.sh - a throwaway local synthia stack: PostgreSQL 15, Redis,
# synthia's responder pool and (optionally) nginx, all on random loopback
# ports, all state and logs under one directory.  Used by the README's
# first command, the integration tests and the benchmark.
#
#   tests/stack.sh up STATEDIR [--web nginx|none] [--workers N]
#                              [--config-extra FILE]
#   tests/stack.sh down STATEDIR
#   tests/stack.sh status STATEDIR
#   tests/stack.sh stop-pg|start-pg|stop-redis|start-redis STATEDIR
#   tests/stack.sh reload-synthia|restart-synthia STATEDIR
#   tests/stack.sh demo [STATEDIR] [up options]
#
# `demo` is the README's first command: it installs missing Debian
# packages (tests/deps.sh), builds synthia into _build/ (or uses an
# in-tree build), and brings a stack up in STATEDIR (default: .stack in
# the source tree), or shows the one already running there.
#
# `up` writes STATEDIR/env (KEY='VALUE' lines, shell-sourceable) with the
# URL, ports, sockets and pids, STATEDIR/synthia.conf, and logs in
# STATEDIR/log/.  `down` stops what `up` started, by recorded pid, and is
# idempotent; it leaves STATEDIR in place for reading the logs.
#
# Environment:
#   SY_BUILDDIR      directory holding the built `synthia` (default: the
#                    source tree, for in-tree builds)
#   SY_PGBIN         PostgreSQL server binaries (/usr/lib/postgresql/15/bin)
#   SY_STACK_TIMEOUT seconds to wait for each service (default 30)
#   SY_SYNTHIA_WRAP  a command that `synthia serve` runs under, split on
#                    blanks (tests/valgrind.sh: valgrind and its options)
#   SY_SYNTHIA_ARGS  more arguments for `synthia serve`, split on blanks
#                    (tests/valgrind.sh: --workers 0)
#   SY_STACK_CONFIG  lines for every stack's synthia.conf, before those
#                    of --config-extra (tests/valgrind.sh: a cheaper
#                    argon2id)
#   SY_PG_MALLOC     glibc malloc settings in PostgreSQL's environment
#                    (default: README "PostgreSQL's allocator":
#                    MALLOC_TRIM_THRESHOLD_=67108864
#                    MALLOC_TOP_PAD_=16777216; "none" for glibc's own)
#
# When run as root, PostgreSQL runs as the `postgres` system user (it
# refuses to run as root); everything else runs as the caller.  The
# PostgreSQL instance runs with fsync off: it is throwaway.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(dirname "$HERE")
BUILDDIR=${SY_BUILDDIR:-$SRCDIR}
PGBIN=${SY_PGBIN:-/usr/lib/postgresql/15/bin}
TIMEOUT=${SY_STACK_TIMEOUT:-30}
PG_USER=postgres # system user that runs PostgreSQL when we are root

# SYNTHIA_SECTION_KEY variables override synthia.conf; the stack's config
# is the whole truth (use --config-extra), so none leak in from the caller.
while read -r v; do
    unset "$v"
done < <(compgen -v SYNTHIA_ || true)

# Keys written to STATEDIR/env, in order.
ENV_KEYS=(SY_BASE_URL SY_HTTP_PORT SY_FCGI_SOCKET SY_CONFIG SY_DATABASE_URL
    SY_PG_PORT SY_PG_SOCKDIR SY_REDIS_PORT SY_REDIS_URL SY_STATEDIR
    SY_SYNTHIA_PID SY_NGINX_PID SY_PG_PID SY_REDIS_PID
    SY_PG_DIR SY_WEB SY_WORKERS SY_BUILDDIR SY_WWWROOT)

usage() {
    sed -n '7,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

say() { echo "stack: $*" >&2; }
die() {
    say "error: $*"
    exit 1
}

is_root() { [[ $(id -u) -eq 0 ]]; }

# Run a command as the PostgreSQL owner (ourselves unless we are root).
as_pg() {
    if is_root; then
        setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups -- "$@"
    else
        "$@"
    fi
}

# ------------------------------------------------------------ processes

# Is PID a live (non-zombie) process?
alive() {
    local pid=$1 stat
    [[ -n $pid && $pid =~ ^[0-9]+$ ]] || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat:0:1} != Z ]]
}

# Is PID alive and still the program we started (pid reuse check)?
ours() {
    local pid=$1 name=$2 cmd exe
    alive "$pid" || return 1
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || cmd=
    exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || exe=
    [[ $cmd == *"$name"* || $exe == *"$name"* ]]
}

# Direct children of PID.
children() {
    local f pids=()
    for f in /proc/"$1"/task/*/children; do
        [[ -r $f ]] || continue
        # shellcheck disable=SC2207
        pids+=($(cat "$f"))
    done
    echo "${pids[*]:-}"
}

# wait_gone SECONDS PID...: wait until none of the PIDs is alive.
wait_gone() {
    local secs=$1 deadline p any
    shift
    deadline=$((SECONDS + secs))
    while :; do
        any=0
        for p in "$@"; do
            if alive "$p"; then any=1; fi
        done
        [[ $any -eq 0 ]] && return 0
        [[ $SECONDS -ge $deadline ]] && return 1
        sleep 0.1
    done
}

# stop_pid PID NAME SIGNAL SECONDS: signal our process, wait, then KILL it
# (and the children it had, which for synthia are the responders).
stop_pid() {
    local pid=$1 name=$2 sig=$3 secs=$4 kids
    ours "$pid" "$name" || return 0
    kids=$(children "$pid")
    kill "-$sig" "$pid" 2>/dev/null || return 0
    # shellcheck disable=SC2086
    if ! wait_gone "$secs" "$pid" $kids; then
        say "$name (pid $pid) did not stop within ${secs}s after SIG$sig; killing it"
        kill -KILL "$pid" 2>/dev/null || true
        local k
        for k in $kids; do
            ours "$k" "$name" && kill -KILL "$k" 2>/dev/null
        done
        # shellcheck disable=SC2086
        wait_gone 5 "$pid" $kids || true
    fi
}

# wait_for SECONDS WHAT PID CMD...: run CMD until it succeeds; fail when
# PID dies or the time is up.
wait_for() {
    local secs=$1 what=$2 pid=$3 deadline
    shift 3
    deadline=$((SECONDS + secs))
    until "$@" >/dev/null 2>&1; do
        if [[ -n $pid ]] && ! alive "$pid"; then
            say "$what exited while starting"
            return 1
        fi
        if [[ $SECONDS -ge $deadline ]]; then
            say "$what not ready after ${secs}s"
            return 1
        fi
        sleep 0.1
    done
}

# shellcheck disable=SC2317 # called from up_failed
log_tail() {
    local f
    for f in "$STATEDIR"/log/*.log; do
        [[ -s $f ]] || continue
        # initdb's chatter only matters when it failed
        if [[ $f == */initdb.log ]] && grep -q '^Success' "$f" &&
            ! grep -qE 'ERROR|FATAL' "$f"; then
            continue
        fi
        echo "----- $f (last 40 lines) -----" >&2
        tail -n 40 "$f" >&2
    done
}

# ------------------------------------------------------------ env file

write_env() {
    local k tmp="$STATEDIR/env.tmp"
    {
        echo "# synthia test stack, written by tests/stack.sh; shell-sourceable"
        for k in "${ENV_KEYS[@]}"; do
            printf "%s='%s'\n" "$k" "${!k:-}"
        done
    } >"$tmp"
    mv "$tmp" "$STATEDIR/env"
}

load_env() {
    [[ -f $STATEDIR/env ]] || return 1
    local k
    for k in "${ENV_KEYS[@]}"; do
        printf -v "$k" '%s' ""
    done
    # shellcheck disable=SC1091
    source "$STATEDIR/env"
    [[ -n ${SY_BUILDDIR:-} ]] && BUILDDIR=$SY_BUILDDIR
    return 0
}

set_statedir() {
    [[ -n ${1:-} ]] || usage
    # Paths go into configs, URLs and unix socket names: keep them plain.
    [[ $1 =~ ^[A-Za-z0-9._/+-]+$ ]] ||
        die "STATEDIR '$1' may only contain letters, digits and ._/+-"
    STATEDIR=$(realpath -m -- "$1")
}

# ------------------------------------------------------------ services

free_ports() {
    python3 -c '
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "$1"
}

init_pg() {
    SY_PG_DIR=$STATEDIR/pg
    mkdir -p "$SY_PG_DIR"
    if is_root; then
        chown "$PG_USER:" "$SY_PG_DIR"
        # postgres must reach its directory through every parent.
        if ! as_pg test -w "$SY_PG_DIR"; then
            SY_PG_DIR=$(mktemp -d /tmp/sy-pg.XXXXXX)
            chmod 755 "$SY_PG_DIR"
            chown "$PG_USER:" "$SY_PG_DIR"
            say "$STATEDIR is not reachable by user $PG_USER; PostgreSQL lives in $SY_PG_DIR"
        fi
    fi
    SY_PG_SOCKDIR=$SY_PG_DIR
    (cd "$SY_PG_DIR" && as_pg "$PGBIN/initdb" -D "$SY_PG_DIR/data" \
        -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
        >>"$STATEDIR/log/initdb.log" 2>&1) ||
        { say "initdb failed"; return 1; }
}

start_pg() {
    [[ -d $SY_PG_DIR/data ]] || die "no PostgreSQL cluster in $SY_PG_DIR"
    if ours "${SY_PG_PID:-}" postgres; then
        say "PostgreSQL already running (pid $SY_PG_PID)"
        return 0
    fi
    local cmd=("$PGBIN/postgres" -D "$SY_PG_DIR/data" -k "$SY_PG_SOCKDIR"
        -p "$SY_PG_PORT" -h 127.0.0.1
        -c fsync=off -c synchronous_commit=off -c full_page_writes=off
        -c shared_buffers=32MB -c max_connections=200
        -c log_min_messages=warning -c "log_line_prefix=%m [%p] ")
    if is_root; then
        cmd=(setpriv --reuid="$PG_USER" --regid="$PG_USER" --init-groups --
            "${cmd[@]}")
    fi
    # glibc's malloc keeps 64 MiB of freed heap instead of trimming it at
    # 128 KiB, and grows it 16 MiB at a time: a backend no longer gives
    # its sort and hash memory back to the kernel after each query and
    # takes it again for the next (README "PostgreSQL's allocator").
    local malloc=${SY_PG_MALLOC-MALLOC_TRIM_THRESHOLD_=67108864 MALLOC_TOP_PAD_=16777216}
    # shellcheck disable=SC2206 # NAME=VALUE words, split on blanks
    [[ $malloc == none ]] || cmd=(env $malloc "${cmd[@]}")
    # (A postmaster.pid left by a crash is checked by postgres itself.)
    (cd "$SY_PG_DIR" && exec "${cmd[@]}" </dev/null \
        >>"$STATEDIR/log/postgres.log" 2>&1) &
    SY_PG_PID=$!
    write_env
    wait_for "$TIMEOUT" PostgreSQL "$SY_PG_PID" \
        "$PGBIN/pg_isready" -q -h "$SY_PG_SOCKDIR" -p "$SY_PG_PORT" \
        -U postgres -d postgres
}

create_db() {
    "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$SY_PG_SOCKDIR" \
        -p "$SY_PG_PORT" -U postgres -d postgres \
        -c "CREATE ROLE synthia LOGIN" \
        -c "CREATE DATABASE synthia OWNER synthia" \
        >>"$STATEDIR/log/initdb.log" 2>&1 ||
        { say "creating role and database synthia failed"; return 1; }
}

start_redis() {
    if ours "${SY_REDIS_PID:-}" redis-server; then
        say "Redis already running (pid $SY_REDIS_PID)"
        return 0
    fi
    mkdir -p "$STATEDIR/redis"
    cat >"$STATEDIR/redis/redis.conf" <<EOF
# generated by tests/stack.sh: throwaway, no persistence
bind 127.0.0.1
port $SY_REDIS_PORT
protected-mode yes
daemonize no
supervised no
dir $STATEDIR/redis
logfile ""
save ""
appendonly no
databases 16
EOF
    redis-server "$STATEDIR/redis/redis.conf" </dev/null \
        >>"$STATEDIR/log/redis.log" 2>&1 &
    SY_REDIS_PID=$!
    write_env
    wait_for "$TIMEOUT" Redis "$SY_REDIS_PID" redis_ping
}

# shellcheck disable=SC2317 # called through wait_for
redis_ping() {
    [[ $(redis-cli -h 127.0.0.1 -p "$SY_REDIS_PORT" ping 2>/dev/null) == PONG ]]
}

start_synthia() {
    if ours "${SY_SYNTHIA_PID:-}" synthia; then
        say "synthia already running (pid $SY_SYNTHIA_PID)"
        return 0
    fi
    rm -f "$SY_FCGI_SOCKET"
    local wrap args
    read -r -a wrap <<<"${SY_SYNTHIA_WRAP:-}"
    read -r -a args <<<"${SY_SYNTHIA_ARGS:-}"
    "${wrap[@]}" "$BUILDDIR/synthia" serve --config "$SY_CONFIG" "${args[@]}" \
        </dev/null >>"$STATEDIR/log/synthia.log" 2>&1 &
    SY_SYNTHIA_PID=$!
    write_env
    wait_for "$TIMEOUT" "synthia serve" "$SY_SYNTHIA_PID" test -S "$SY_FCGI_SOCKET"
}

# shellcheck disable=SC2317 # called through wait_for
http_live() {
    [[ $(curl -s -o /dev/null -m 2 -w '%{http_code}' \
        "$SY_BASE_URL/health/live") == 200 ]]
}

start_nginx() {
    local d=$STATEDIR/nginx
    mkdir -p "$d/tmp"
    cp /etc/nginx/fastcgi_params /etc/nginx/mime.types "$d/"
    # The shipped site, templated for our paths and port only.
    sed -e "s|@PORT@|127.0.0.1:$SY_HTTP_PORT|g" \
        -e "s|@SOCKET@|$SY_FCGI_SOCKET|g" \
        -e "s|@WWWROOT@|$SY_WWWROOT|g" \
        "$SRCDIR/conf/nginx/synthia.conf" >"$d/site.conf"
    # Worker processes run as nobody when we are root: they need only the
    # socket (mode 0666) and temp directories, which nginx creates itself.
    cat >"$d/nginx.conf" <<EOF
# generated by tests/stack.sh
daemon off;
worker_processes 2;
pid $d/nginx.pid;
error_log $STATEDIR/log/nginx-error.log warn;
events {
    worker_connections 1024;
}
http {
    include mime.types;
    default_type application/octet-stream;
    access_log $STATEDIR/log/nginx-access.log combined buffer=64k flush=1s;
    client_body_temp_path $d/tmp/body;
    fastcgi_temp_path $d/tmp/fastcgi;
    proxy_temp_path $d/tmp/proxy;
    scgi_temp_path $d/tmp/scgi;
    uwsgi_temp_path $d/tmp/uwsgi;
    sendfile on;
    keepalive_timeout 65;
    include $d/site.conf;
}
EOF
    local args=(-p "$d/" -c "$d/nginx.conf" -e "$STATEDIR/log/nginx-error.log")
    nginx -t -q "${args[@]}" >>"$STATEDIR/log/nginx-error.log" 2>&1 ||
        { say "nginx -t rejected $d/nginx.conf"; return 1; }
    nginx "${args[@]}" </dev/null >>"$STATEDIR/log/nginx-error.log" 2>&1 &
    SY_NGINX_PID=$!
    write_env
    wait_for "$TIMEOUT" "nginx → synthia /health/live" "$SY_NGINX_PID" http_live
}

stop_all() {
    stop_pid "${SY_NGINX_PID:-}" nginx TERM 10
    stop_pid "${SY_SYNTHIA_PID:-}" synthia TERM 40
    stop_pid "${SY_REDIS_PID:-}" redis-server TERM 10
    stop_pid "${SY_PG_PID:-}" postgres INT 20
    if [[ -n ${SY_PG_DIR:-} && $SY_PG_DIR == /tmp/sy-pg.* && -d $SY_PG_DIR ]]; then
        rm -rf "$SY_PG_DIR"
    fi
}

# ------------------------------------------------------------ commands

cmd_up() {
    set_statedir "${1:-}"
    shift
    local web=nginx workers=2 extra=
    while [[ $# -gt 0 ]]; do
        case $1 in
        --web) web=${2:?--web needs nginx or none}; shift 2 ;;
        --web=*) web=${1#*=}; shift ;;
        --workers) workers=${2:?--workers needs a number}; shift 2 ;;
        --workers=*) workers=${1#*=}; shift ;;
        --config-extra) extra=${2:?--config-extra needs a file}; shift 2 ;;
        --config-extra=*) extra=${1#*=}; shift ;;
        *) usage ;;
        esac
    done
    [[ $web == nginx || $web == none ]] || die "--web must be nginx or none"
    [[ $workers =~ ^[0-9]+$ ]] || die "--workers must be a number"
    [[ -z $extra || -r $extra ]] || die "cannot read $extra"
    [[ -x $BUILDDIR/synthia ]] ||
        die "$BUILDDIR/synthia not found: build it first, or set SY_BUILDDIR"
    [[ -x $PGBIN/initdb ]] || die "$PGBIN/initdb not found (apt-get install postgresql)"
    command -v redis-server >/dev/null || die "redis-server not found"
    command -v python3 >/dev/null || die "python3 not found"
    if [[ $web == nginx ]]; then
        command -v nginx >/dev/null || die "nginx not found"
        command -v curl >/dev/null || die "curl not found"
    fi
    if is_root; then
        id "$PG_USER" >/dev/null 2>&1 || die "user $PG_USER does not exist"
    fi

    local builddir=$BUILDDIR
    if load_env; then
        BUILDDIR=$builddir # this run's, not the old env's
        if alive "$SY_PG_PID" || alive "$SY_REDIS_PID" ||
            alive "$SY_SYNTHIA_PID" || alive "$SY_NGINX_PID"; then
            die "a stack is already up in $STATEDIR (tests/stack.sh down $STATEDIR)"
        fi
    fi
    if [[ -d $STATEDIR && ! -e $STATEDIR/.synthia-stack ]] &&
        [[ -n $(ls -A "$STATEDIR") ]]; then
        die "$STATEDIR exists, is not empty and is not a stack directory"
    fi
    mkdir -p "$STATEDIR"
    rm -rf "${STATEDIR:?}"/{pg,redis,nginx,log,env,env.tmp,synthia.conf,jwt.key,fcgi.sock}
    touch "$STATEDIR/.synthia-stack"
    chmod 755 "$STATEDIR" # postgres and nginx workers traverse it
    mkdir -p "$STATEDIR/log"

    local k
    for k in "${ENV_KEYS[@]}"; do
        printf -v "$k" '%s' ""
    done
    # shellcheck disable=SC2034 # written to env by write_env
    SY_STATEDIR=$STATEDIR SY_WEB=$web SY_WORKERS=$workers
    SY_BUILDDIR=$BUILDDIR
    SY_WWWROOT=$SRCDIR/www
    SY_CONFIG=$STATEDIR/synthia.conf
    SY_FCGI_SOCKET=$STATEDIR/fcgi.sock
    ((${#SY_FCGI_SOCKET} < 100)) || die "STATEDIR path too long for a unix socket"
    read -r SY_PG_PORT SY_REDIS_PORT SY_HTTP_PORT < <(free_ports 3)
    SY_REDIS_URL=redis://127.0.0.1:$SY_REDIS_PORT/0
    if [[ $web == nginx ]]; then
        SY_BASE_URL=http://127.0.0.1:$SY_HTTP_PORT
    else
        SY_HTTP_PORT=
    fi

    # From here on, a failure stops what was started and shows the logs.
    trap 'up_failed' EXIT
    write_env

    say "PostgreSQL on 127.0.0.1:$SY_PG_PORT"
    init_pg
    SY_DATABASE_URL="postgresql://synthia@/synthia?host=$SY_PG_SOCKDIR&port=$SY_PG_PORT"
    write_env
    start_pg
    create_db

    say "Redis on 127.0.0.1:$SY_REDIS_PORT"
    start_redis

    python3 -c 'import secrets; print(secrets.token_urlsafe(48))' \
        >"$STATEDIR/jwt.key.tmp"
    chmod 600 "$STATEDIR/jwt.key.tmp"
    mv "$STATEDIR/jwt.key.tmp" "$STATEDIR/jwt.key"

    cat >"$SY_CONFIG" <<EOF
# synthia.conf for the throwaway stack in $STATEDIR (tests/stack.sh)
[server]
listen = unix:$SY_FCGI_SOCKET
listen_mode = 0666
workers = $workers
metrics_dir = $STATEDIR
runtime_dir = $STATEDIR

[database]
url = $SY_DATABASE_URL

[redis]
url = $SY_REDIS_URL

[auth]
jwt_secret_file = $STATEDIR/jwt.key
cookie_secure = false

[log]
level = info
EOF
    if [[ -n ${SY_STACK_CONFIG:-} ]]; then
        {
            echo
            echo "# --- from SY_STACK_CONFIG"
            printf '%s\n' "$SY_STACK_CONFIG"
        } >>"$SY_CONFIG"
    fi
    if [[ -n $extra ]]; then
        {
            echo
            echo "# --- from $extra (--config-extra)"
            cat "$extra"
            echo
        } >>"$SY_CONFIG"
    fi

    say "migrating"
    "$BUILDDIR/synthia" migrate --config "$SY_CONFIG" </dev/null \
        >>"$STATEDIR/log/migrate.log" 2>&1 ||
        { say "synthia migrate failed"; return 1; }

    # --- seed demo data -------------------------------------------------
    # Placeholder: when `synthia seed-demo` exists (a later issue), run it
    # here, e.g.
    #   "$BUILDDIR/synthia" seed-demo --config "$SY_CONFIG" \
    #       >>"$STATEDIR/log/seed.log" 2>&1
    # ---------------------------------------------------------------------

    say "synthia serve on unix:$SY_FCGI_SOCKET ($workers workers)"
    start_synthia

    if [[ $web == nginx ]]; then
        say "nginx on 127.0.0.1:$SY_HTTP_PORT"
        start_nginx
    fi

    write_env
    trap - EXIT
    say "up; environment in $STATEDIR/env, logs in $STATEDIR/log/"
    if [[ $web == nginx ]]; then
        echo "$SY_BASE_URL"
    else
        echo "unix:$SY_FCGI_SOCKET"
    fi
}

# shellcheck disable=SC2317 # called by the EXIT trap
up_failed() {
    local rc=$?
    trap - EXIT
    say "up failed; logs:"
    log_tail
    stop_all
    exit $((rc == 0 ? 1 : rc))
}

need_env() {
    set_statedir "${1:-}"
    load_env || die "no stack in $STATEDIR (no env file)"
}

cmd_down() {
    set_statedir "${1:-}"
    load_env || return 0
    stop_all
}

cmd_status() {
    need_env "${1:-}"
    local rc=0 name pid kids
    for name in postgres redis-server synthia nginx; do
        case $name in
        postgres) pid=$SY_PG_PID ;;
        redis-server) pid=$SY_REDIS_PID ;;
        synthia) pid=$SY_SYNTHIA_PID ;;
        nginx) pid=$SY_NGINX_PID ;;
        esac
        if [[ $name == nginx && $SY_WEB != nginx ]]; then
            printf '%-13s %s\n' nginx "not used (--web none)"
        elif ours "$pid" "$name"; then
            kids=$(children "$pid")
            if [[ $name == synthia ]]; then
                printf '%-13s running, pid %s, responders: %s\n' "$name" "$pid" "${kids:-none}"
            else
                printf '%-13s running, pid %s\n' "$name" "$pid"
            fi
        else
            printf '%-13s stopped\n' "$name"
            rc=1
        fi
    done
    if [[ $SY_WEB == nginx ]]; then
        echo "url           $SY_BASE_URL"
    fi
    echo "fcgi socket   $SY_FCGI_SOCKET"
    return $rc
}

cmd_demo() {
    local dir=$SRCDIR/.stack
    if [[ $# -gt 0 && $1 != --* ]]; then
        dir=$1
        shift
    fi
    if is_root; then
        "$SRCDIR/tests/deps.sh"
    else
        "$SRCDIR/tests/deps.sh" --check ||
            die "install the packages above (as root: tests/deps.sh)"
    fi
    set_statedir "$dir"
    if load_env && ours "$SY_SYNTHIA_PID" synthia; then
        say "a stack is already up in $STATEDIR:"
        cmd_status "$STATEDIR" || true
        echo "${SY_BASE_URL:-unix:$SY_FCGI_SOCKET}"
        return 0
    fi
    if [[ -z ${SY_BUILDDIR:-} ]]; then
        if [[ -f $SRCDIR/config.status ]]; then
            BUILDDIR=$SRCDIR # configured in-tree
        else
            BUILDDIR=$SRCDIR/_build
            if [[ ! -x $SRCDIR/configure ]]; then
                say "autogen.sh"
                "$SRCDIR/autogen.sh" >/dev/null
            fi
            mkdir -p "$BUILDDIR"
            if [[ ! -f $BUILDDIR/Makefile ]]; then
                say "configure (in $BUILDDIR)"
                (cd "$BUILDDIR" && "$SRCDIR/configure" >configure.out 2>&1) ||
                    die "configure failed; see $BUILDDIR/config.log"
            fi
        fi
    fi
    say "make (in $BUILDDIR)"
    make -C "$BUILDDIR" -j"$(nproc)" synthia >"$BUILDDIR/make.out" 2>&1 ||
        { tail -n 30 "$BUILDDIR/make.out" >&2; die "build failed"; }
    cmd_up "$STATEDIR" "$@" >/dev/null
    load_env
    seed_demo_accounts
    say "stop it with: tests/stack.sh down $dir"
    echo "${SY_BASE_URL:-unix:$SY_FCGI_SOCKET}"
}

# The demo tenant "demo" with an owner, a staff member and a shopper, a
# publishable and a secret key, and its catalog, through `synthia
# seed-demo`.  Passwords are random; everything is written to
# STATEDIR/demo-credentials.txt (mode 0600) and printed once.
seed_demo_accounts() {
    local creds=$STATEDIR/demo-credentials.txt out
    out=$("$BUILDDIR/synthia" --config "$SY_CONFIG" seed-demo \
        --origin "$SY_BASE_URL" 2>>"$STATEDIR/log/seed.log") ||
        { say "seeding the demo tenant failed; see log/seed.log"; return 1; }
    if [[ $out == *'"created":false'* && -f $creds ]]; then
        say "the demo tenant exists; its credentials (in $creds):"
        sed 's/^/    /' "$creds" >&2
        return 0
    fi
    umask 077
    {
        echo "# Synthia demo credentials (tenant slug: demo)"
        echo "url $SY_BASE_URL"
        printf '%s\n' "$out" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read())
for u in d["users"]:
    print(u["role"], u["email"], u.get("password", "(set earlier)"))
for kind in ("publishable", "secret"):
    print(kind + "-key", (d["keys"] or {}).get(kind, "(shown earlier)"))
print("products", d["products"])
'
    } >"$creds" || { say "reading the seed-demo output failed"; return 1; }
    say "demo data (also in $creds):"
    sed 's/^/    /' "$creds" >&2
    say "log in: curl -s $SY_BASE_URL/api/v1/auth/login -H 'Content-Type: application/json' -d '{\"email\":\"owner@demo.example\",\"password\":\"...\",\"tenant\":\"demo\"}'"
}

main() {
    if [[ ${1:-} == demo ]]; then
        shift
        cmd_demo "$@"
        return
    fi
    [[ $# -ge 2 ]] || usage
    local sub=$1
    shift
    case $sub in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    stop-pg)
        need_env "$@"
        stop_pid "$SY_PG_PID" postgres INT 20
        ;;
    start-pg)
        need_env "$@"
        start_pg
        ;;
    stop-redis)
        need_env "$@"
        stop_pid "$SY_REDIS_PID" redis-server TERM 10
        ;;
    start-redis)
        need_env "$@"
        start_redis
        ;;
    reload-synthia)
        need_env "$@"
        ours "$SY_SYNTHIA_PID" synthia || die "synthia is not running"
        kill -HUP "$SY_SYNTHIA_PID"
        ;;
    restart-synthia)
        need_env "$@"
        stop_pid "$SY_SYNTHIA_PID" synthia TERM 40
        start_synthia
        ;;
    *) usage ;;
    esac
}

# One line: bash stops reading here, so editing this file while a stack
# command runs cannot make it execute half-read text.
main "$@"; exit
