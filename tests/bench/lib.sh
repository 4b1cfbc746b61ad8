# SPDX-License-Identifier: BSD-2-Clause
# shellcheck shell=bash disable=SC2034
# tests/bench/lib.sh - what every benchmark script shares (run.sh,
# search.sh, vectors.sh, ai.sh, memory.sh): sourced, never run.
#
# Before sourcing, a script sets BENCH_NAME (the prefix of its messages).
# Sourcing sets HERE, SRCDIR, SY_BUILDDIR (exported), DURATION, CONNS,
# THREADS (BENCH_DURATION, BENCH_CONNECTIONS, BENCH_THREADS), WORKERS (4),
# STACK and PSQL, and checks that wrk and synthia are there.  Then:
#
#   bench_init TEMPLATE       STATEDIR=$(mktemp -d /tmp/TEMPLATE) and the
#                             EXIT trap that stops everything we started
#                             (BENCH_PIDS, newest first, then the stack)
#                             and removes STATEDIR and BENCH_CLEAN's paths
#   bench_stack_up LINES [stack.sh up options...]
#                             the stack with WORKERS responders, LINES
#                             appended to SY_STACK_CONFIG; sources its env
#   bench_plan ID NAME        a plan whose limits never bite (100,000,000
#                             a minute in every class)
#   bench_seed_catalog PLAN   10,000 products (synthia seed-demo --tenant
#                             catalog) moved to PLAN, ANALYZEd; sets CAT_KEY
#   bench_hello_up            the bare libfcgi responder (tests/bench/
#                             hello.c, WORKERS processes) behind its own
#                             nginx without connection reuse; sets
#                             HELLO_URL (BPATH, default /health/live)
#   nginx_noreuse NAME SOCKET another nginx without FastCGI connection
#                             reuse in front of SOCKET; sets NGX_PORT/NGX_PID
#   bench_wait_200 URL        waits (10 s) for URL to answer 200, or dies
#   bench_jwt TENANT EMAIL    a shopper of TENANT made with synthia admin,
#                             signed in: sets JWT (its access token)
#   bench_pct_lua FILE        a wrk script whose done() prints
#                             "PCT p50 p99 p99.9 max requests req/s errors"
#                             (ms; wrk's --latency stops at p99)
#   to_ms VALUE               wrk's 1.23ms / 850.00us / 1.02s in ms
#   stack_ticks               CPU ticks (user + system) of the stack
#   server_pct LINE           the responders' access-log durations after
#                             line LINE of synthia.log: p50 p99 p99.9 max
#   bench_responders          the responders' pids, sorted
#   bench_pss PID             PSS of PID in KiB (/proc/PID/smaps_rollup:
#                             shared pages split among their mappers)
#   bench_memory LABEL        one line per responder: PSS and RSS in MiB

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$HERE/../.." && pwd)
if [[ -z ${SY_BUILDDIR:-} ]]; then
    if [[ -x ./synthia ]]; then SY_BUILDDIR=$(pwd); else SY_BUILDDIR=$SRCDIR; fi
fi
export SY_BUILDDIR
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-32}
THREADS=${BENCH_THREADS:-2}
BPATH=${BENCH_PATH:-/health/live}
WORKERS=4
STACK=$SRCDIR/tests/stack.sh
PSQL=${SY_PGBIN:-/usr/lib/postgresql/15/bin}/psql
BENCH_PIDS=()
BENCH_CLEAN=()
STATEDIR=

die() {
    echo "${BENCH_NAME:-bench}: $*" >&2
    exit 1
}

command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
[[ -x $SY_BUILDDIR/synthia ]] || die "$SY_BUILDDIR/synthia not built"

bench_cleanup() {
    local i pid
    for ((i = ${#BENCH_PIDS[@]} - 1; i >= 0; i--)); do
        pid=${BENCH_PIDS[i]}
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    if [[ -n $STATEDIR ]]; then
        "$STACK" down "$STATEDIR" >/dev/null 2>&1 || true
        rm -rf "$STATEDIR"
    fi
    ((${#BENCH_CLEAN[@]} == 0)) || rm -rf "${BENCH_CLEAN[@]}"
}

bench_init() {
    STATEDIR=$(mktemp -d "/tmp/$1")
    trap bench_cleanup EXIT
    trap 'exit 130' INT TERM
}

bench_stack_up() {
    local lines=$1
    shift
    echo "$BENCH_NAME: starting the stack (synthia, $WORKERS workers, nginx)"
    SY_STACK_CONFIG="${SY_STACK_CONFIG:-}
$lines" "$STACK" up "$STATEDIR" --workers "$WORKERS" "$@" >/dev/null
    # shellcheck disable=SC1091
    source "$STATEDIR/env"
}

bench_plan() {
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SY_DATABASE_URL" -c \
        "INSERT INTO plans (id, name, read_per_min, write_per_min, ai_per_min,
                            ai_tenant_per_min)
         VALUES ('$1', '$2', 100000000, 100000000, 100000000, 100000000)
         ON CONFLICT (id) DO NOTHING" >/dev/null ||
        die "cannot insert the plan $1"
}

bench_seed_catalog() {
    echo "$BENCH_NAME: seeding 10,000 products (synthia seed-demo --tenant catalog)"
    CAT_KEY=$("$SY_BUILDDIR/synthia" --config "$SY_CONFIG" seed-demo \
        --tenant catalog --products 10000 |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["keys"]["secret"])') ||
        die "synthia seed-demo failed"
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SY_DATABASE_URL" -c \
        "UPDATE tenants SET plan_id = '$1' WHERE slug = 'catalog';
         ANALYZE products" >/dev/null || die "cannot move the catalog tenant"
}

bench_wait_200() {
    for _ in $(seq 100); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' "$1") == 200 ]] && return 0
        sleep 0.1
    done
    die "no answer 200 on $1"
}

bench_jwt() {
    "$SY_BUILDDIR/synthia" --config "$SY_CONFIG" admin create-user \
        --tenant "$1" --email "$2" --role shopper --name Bench \
        --password-stdin <<<"correct horse battery staple" >/dev/null ||
        die "synthia admin create-user failed"
    JWT=$(curl -s -H 'Content-Type: application/json' -d \
        "{\"email\": \"$2\", \"tenant\": \"$1\",
          \"password\": \"correct horse battery staple\"}" \
        "$SY_BASE_URL/api/v1/auth/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])') ||
        die "cannot sign in the bench user"
}

# nginx_noreuse NAME SOCKET: another nginx (the stack's nginx.conf and
# the shipped site, with its own port, pid, logs and temp paths) in front
# of SOCKET with FastCGI connection reuse off (fastcgi_keep_conn off: one
# connection per request, as a bare libfcgi responder needs: it would sit
# on a kept connection).  Sets NGX_PORT and NGX_PID.
nginx_noreuse() {
    local name=$1 sock=$2 d=$STATEDIR/nginx-$1
    NGX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$d/tmp"
    cp "$STATEDIR/nginx/fastcgi_params" "$STATEDIR/nginx/mime.types" "$d/"
    sed -e "s|@PORT@|127.0.0.1:$NGX_PORT|g" -e "s|@SOCKET@|$sock|g" \
        -e "s|@WWWROOT@|$SY_WWWROOT|g" \
        -e "s|fastcgi_keep_conn on;|fastcgi_keep_conn off;|" \
        "$SRCDIR/conf/nginx/synthia.conf" >"$d/site.conf"
    grep -q 'fastcgi_keep_conn off;' "$d/site.conf" ||
        die "cannot turn connection reuse off in the shipped nginx site"
    sed -e "s|$STATEDIR/nginx/|$d/|g" \
        -e "s|nginx-error.log|nginx-$name-error.log|" \
        -e "s|nginx-access.log|nginx-$name-access.log|" \
        "$STATEDIR/nginx/nginx.conf" >"$d/nginx.conf"
    nginx -p "$d/" -c "$d/nginx.conf" -e "$STATEDIR/log/nginx-$name-error.log" \
        </dev/null >>"$STATEDIR/log/nginx-$name.out" 2>&1 &
    NGX_PID=$!
    BENCH_PIDS+=("$NGX_PID")
}

bench_hello_up() {
    local hello=$SY_BUILDDIR/tests/bench/hello hsock=$STATEDIR/hello.sock
    if [[ ! -x $hello ]]; then
        make -C "$SY_BUILDDIR" tests/bench/hello >/dev/null ||
            die "cannot build tests/bench/hello"
    fi
    echo "$BENCH_NAME: starting hello ($WORKERS processes) behind a second nginx"
    "$hello" --listen "unix:$hsock" -n "$WORKERS" </dev/null \
        >>"$STATEDIR/log/hello.log" 2>&1 &
    BENCH_PIDS+=("$!")
    for _ in $(seq 100); do
        [[ -S $hsock ]] && break
        sleep 0.1
    done
    [[ -S $hsock ]] || die "hello did not create $hsock"
    nginx_noreuse hello "$hsock"
    HELLO_URL=http://127.0.0.1:$NGX_PORT$BPATH
    bench_wait_200 "$HELLO_URL"
}

bench_pct_lua() {
    cat >"$1" <<'EOF'
-- p50, p99, p99.9 and max in ms, requests, req/s and errors
done = function(summary, latency, requests)
  io.write(string.format("PCT %.3f %.3f %.3f %.3f %d %.0f %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, summary.requests,
    summary.requests / (summary.duration / 1e6),
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
end
EOF
}

to_ms() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) n /= 1000
        else if (v ~ /ms$/) n = n
        else if (v ~ /s$/) n *= 1000
        printf "%.3f", n }'
}

stack_ticks() {
    local t=0 p s
    for p in "$SY_SYNTHIA_PID" $(pgrep -P "$SY_SYNTHIA_PID") "$SY_PG_PID" \
        $(pgrep -P "$SY_PG_PID") "$SY_REDIS_PID" "$SY_NGINX_PID" \
        $(pgrep -P "$SY_NGINX_PID"); do
        s=$(cut -d' ' -f14,15 "/proc/$p/stat" 2>/dev/null) || continue
        t=$((t + ${s% *} + ${s#* }))
    done
    echo "$t"
}

server_pct() {
    python3 - "$1" "$STATEDIR/log/synthia.log" <<'EOF'
import collections, json, sys
skip, d, pids = int(sys.argv[1]), [], collections.Counter()
with open(sys.argv[2], errors="replace") as f:
    for i, line in enumerate(f):
        if i < skip or '"event":"access"' not in line:
            continue
        try:
            o = json.loads(line)
            d.append(o["duration_us"] / 1000.0)
            pids[o.get("pid")] += 1
        except (ValueError, KeyError):
            pass
d.sort()
n = len(d)
if n:
    # the share of the requests each responder served (its kept
    # connections): an uneven spread shows as queueing in wrk's tail
    print("server p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms; spread %s" %
          (d[n // 2], d[min(n - 1, int(n * .99))],
           d[min(n - 1, int(n * .999))], d[-1],
           "/".join("%.0f%%" % (100.0 * c / n)
                    for _, c in pids.most_common())))
EOF
}

bench_responders() {
    pgrep -P "$SY_SYNTHIA_PID" | sort -n
}

bench_pss() {
    awk '/^Pss:/ { print $2 }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0
}

bench_memory() {
    local p pss rss
    for p in $(bench_responders); do
        pss=$(bench_pss "$p")
        rss=$(awk '/^Rss:/ { print $2 }' "/proc/$p/smaps_rollup" 2>/dev/null)
        printf '%s: %-8s responder %-7s PSS %6.1f MiB  RSS %6.1f MiB\n' \
            "$BENCH_NAME" "$1" "$p" \
            "$(awk -v k="$pss" 'BEGIN { print k / 1024 }')" \
            "$(awk -v k="${rss:-0}" 'BEGIN { print k / 1024 }')"
    done
}
