#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/search.sh - the uncached searches of issue 13 against the
# floor, without the rest of `make bench`: a bare libfcgi responder
# (tests/bench/hello.c, 4 processes, behind a second nginx without
# FastCGI connection reuse, as run.sh measures it) and Synthia's fresh
# text search ('linen dress') and semantic search ('navy wool blazer')
# over 10,000 seeded products (synthia seed-demo), both with
# Cache-Control: no-cache (ranked afresh every time), interleaved
# (hello, text, semantic) BENCH_REPEAT times.  wrk -t2 -c32 with a Lua
# script for p99.9 (wrk's --latency stops at p99).  Prints each run,
# then the medians of the runs: text req/s / hello req/s (issue 13
# target >= 0.3) with text p50 (< 8 ms), semantic p50, p99 (< 3x p50)
# and p99.9 (< 100 ms); and for each run the server's own durations (the
# responders' access log: what the handler took, without queueing in
# nginx and the responders' connections) and the CPU time the stack
# (responders, PostgreSQL, Redis, nginx) spent per request.
#
#   make bench-search             (from the build directory)
#
# Environment: BENCH_DURATION (seconds per run, default 10),
# BENCH_CONNECTIONS (default 32), BENCH_REPEAT (default 3).
# Everything it starts listens on loopback and is stopped at the end.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$HERE/../.." && pwd)
if [[ -z ${SY_BUILDDIR:-} ]]; then
    if [[ -x ./synthia ]]; then SY_BUILDDIR=$(pwd); else SY_BUILDDIR=$SRCDIR; fi
fi
export SY_BUILDDIR
DURATION=${BENCH_DURATION:-10}
CONNS=${BENCH_CONNECTIONS:-32}
REPEAT=${BENCH_REPEAT:-3}
WORKERS=4
STACK=$SRCDIR/tests/stack.sh
PSQL=${SY_PGBIN:-/usr/lib/postgresql/15/bin}/psql

die() {
    echo "bench-search: $*" >&2
    exit 1
}

command -v wrk >/dev/null || die "wrk not found (apt-get install wrk)"
[[ -x $SY_BUILDDIR/synthia ]] || die "$SY_BUILDDIR/synthia not built"
HELLO=$SY_BUILDDIR/tests/bench/hello
if [[ ! -x $HELLO ]]; then
    make -C "$SY_BUILDDIR" tests/bench/hello >/dev/null ||
        die "cannot build tests/bench/hello"
fi

STATEDIR=$(mktemp -d /tmp/sy-bench-search.XXXXXX)
HELLO_PID=
HNGINX_PID=
cleanup() {
    local pid
    for pid in $HNGINX_PID $HELLO_PID; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
            for _ in $(seq 50); do
                kill -0 "$pid" 2>/dev/null || break
                sleep 0.1
            done
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    "$STACK" down "$STATEDIR" >/dev/null 2>&1 || true
    rm -rf "$STATEDIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# One search lease per responder, as run.sh: none of the 32 connections'
# searches is refused 429 too_many_searches.
echo "bench-search: starting the stack (synthia, $WORKERS workers, nginx)"
SY_STACK_CONFIG="${SY_STACK_CONFIG:-}
[search]
max_concurrent = $WORKERS" "$STACK" up "$STATEDIR" --workers "$WORKERS" \
    >/dev/null
# shellcheck disable=SC1091
source "$STATEDIR/env"

echo "bench-search: seeding 10,000 products (synthia seed-demo --tenant catalog)"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SY_DATABASE_URL" -c \
    "INSERT INTO plans (id, name, read_per_min, write_per_min, ai_per_min,
                        ai_tenant_per_min)
     VALUES ('bench', 'Benchmark', 100000000, 100000000, 100000000,
             100000000)
     ON CONFLICT (id) DO NOTHING" >/dev/null ||
    die "cannot insert the bench plan"
KEY=$("$SY_BUILDDIR/synthia" --config "$SY_CONFIG" seed-demo \
    --tenant catalog --products 10000 |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["keys"]["secret"])') ||
    die "synthia seed-demo failed"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$SY_DATABASE_URL" -c \
    "UPDATE tenants SET plan_id = 'bench' WHERE slug = 'catalog';
     ANALYZE products" >/dev/null || die "cannot move the catalog tenant"
TEXT_URL="$SY_BASE_URL/api/v1/products/search?q=linen%20dress&limit=10"
SEM_URL="$SY_BASE_URL/api/v1/products/search?q=navy%20wool%20blazer&mode=semantic&limit=10"
for u in "$TEXT_URL" "$SEM_URL"; do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" \
        -H "Cache-Control: no-cache" "$u") == 200 ]] ||
        die "synthia does not answer 200 on $u"
done

# hello behind its own nginx (the stack's nginx.conf and the shipped
# site, connection reuse off: a bare libfcgi responder cannot keep one).
echo "bench-search: starting hello ($WORKERS processes) behind a second nginx"
HSOCK=$STATEDIR/hello.sock
"$HELLO" --listen "unix:$HSOCK" -n "$WORKERS" </dev/null \
    >>"$STATEDIR/log/hello.log" 2>&1 &
HELLO_PID=$!
for _ in $(seq 100); do
    [[ -S $HSOCK ]] && break
    sleep 0.1
done
[[ -S $HSOCK ]] || die "hello did not create $HSOCK"
HPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
HD=$STATEDIR/nginx-hello
mkdir -p "$HD/tmp"
cp "$STATEDIR/nginx/fastcgi_params" "$STATEDIR/nginx/mime.types" "$HD/"
sed -e "s|@PORT@|127.0.0.1:$HPORT|g" -e "s|@SOCKET@|$HSOCK|g" \
    -e "s|@WWWROOT@|$SY_WWWROOT|g" \
    -e "s|fastcgi_keep_conn on;|fastcgi_keep_conn off;|" \
    "$SRCDIR/conf/nginx/synthia.conf" >"$HD/site.conf"
sed -e "s|$STATEDIR/nginx/|$HD/|g" \
    -e "s|nginx-error.log|nginx-hello-error.log|" \
    -e "s|nginx-access.log|nginx-hello-access.log|" \
    "$STATEDIR/nginx/nginx.conf" >"$HD/nginx.conf"
nginx -p "$HD/" -c "$HD/nginx.conf" -e "$STATEDIR/log/nginx-hello-error.log" \
    </dev/null >>"$STATEDIR/log/nginx-hello.out" 2>&1 &
HNGINX_PID=$!
HELLO_URL=http://127.0.0.1:$HPORT/health/live
for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' "$HELLO_URL") == 200 ]] && break
    sleep 0.1
done
[[ $(curl -s -o /dev/null -w '%{http_code}' "$HELLO_URL") == 200 ]] ||
    die "hello does not answer 200 on $HELLO_URL"

LUA=$STATEDIR/pct.lua
cat >"$LUA" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("PCT %.3f %.3f %.3f %.3f %d\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, summary.requests))
end
EOF

# CPU ticks (user + system) of the stack's processes.
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

# Percentiles of the responders' access-log durations after line $1.
server_pct() {
    python3 - "$1" "$STATEDIR/log/synthia.log" <<'EOF'
import json, sys
skip, d = int(sys.argv[1]), []
with open(sys.argv[2], errors="replace") as f:
    for i, line in enumerate(f):
        if i < skip or '"event":"access"' not in line:
            continue
        try:
            d.append(json.loads(line)["duration_us"] / 1000.0)
        except (ValueError, KeyError):
            pass
d.sort()
n = len(d)
if n:
    print("server p50 %.3f p99 %.3f p99.9 %.3f max %.3f ms" %
          (d[n // 2], d[min(n - 1, int(n * .99))],
           d[min(n - 1, int(n * .999))], d[-1]))
EOF
}

declare -A RES
ERRORS=0
# run_wrk NAME URL [HEADER...]: one run; RES[NAME,i] = "rps p50 p99 p999"
run_wrk() {
    local name=$1 url=$2 out hdr=() lines ticks rps pct
    shift 2
    for h in "$@"; do hdr+=(-H "$h"); done
    lines=$(wc -l <"$STATEDIR/log/synthia.log")
    ticks=$(stack_ticks)
    out=$(wrk -t2 -c"$CONNS" -d"${DURATION}s" -s "$LUA" "${hdr[@]}" "$url")
    ticks=$(($(stack_ticks) - ticks))
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    pct=$(awk '$1 == "PCT" { print $2, $3, $4, $5, $6 }' <<<"$out")
    if grep -q -e 'Non-2xx' -e 'Socket errors' <<<"$out"; then
        echo "bench-search: WARNING $name:" \
            "$(grep -e 'Non-2xx' -e 'Socket errors' <<<"$out" | tr '\n' ' ')" >&2
        ERRORS=$((ERRORS + 1))
    fi
    read -r p50 p99 p999 max n <<<"$pct"
    printf 'bench-search: %-8s %8.0f req/s  p50 %8.3f  p99 %8.3f  p99.9 %8.3f  max %8.3f ms' \
        "$name" "$rps" "$p50" "$p99" "$p999" "$max"
    if [[ $name != hello ]]; then
        printf '  stack CPU %.3f ms/req; %s' \
            "$(awk -v t="$ticks" -v n="$n" -v hz="$(getconf CLK_TCK)" \
                'BEGIN { print (n ? t * 1000 / hz / n : 0) }')" \
            "$(server_pct "$lines")"
    fi
    echo
    RES[$name]+="$rps $p50 $p99 $p999;"
}

echo "bench-search: warm-up"
wrk -t2 -c"$CONNS" -d2s "$HELLO_URL" >/dev/null
wrk -t2 -c"$CONNS" -d2s -H "X-API-Key: $KEY" -H "Cache-Control: no-cache" \
    "$TEXT_URL" >/dev/null
wrk -t2 -c"$CONNS" -d2s -H "X-API-Key: $KEY" -H "Cache-Control: no-cache" \
    "$SEM_URL" >/dev/null

echo "bench-search: wrk -t2 -c$CONNS -d${DURATION}s, $REPEAT rounds," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for _ in $(seq "$REPEAT"); do
    run_wrk hello "$HELLO_URL"
    run_wrk text "$TEXT_URL" "X-API-Key: $KEY" "Cache-Control: no-cache"
    run_wrk semantic "$SEM_URL" "X-API-Key: $KEY" "Cache-Control: no-cache"
done

# median COLUMN NAME: the median over the runs of one figure
median() {
    tr ';' '\n' <<<"${RES[$2]}" | awk -v c="$1" 'NF { print $c }' | sort -g |
        awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
echo
echo "medians of $REPEAT runs (wrk -t2 -c$CONNS -d${DURATION}s):"
for n in hello text semantic; do
    printf '%-8s %8.0f req/s  p50 %8.3f  p99 %8.3f  p99.9 %8.3f ms\n' "$n" \
        "$(median 1 "$n")" "$(median 2 "$n")" "$(median 3 "$n")" \
        "$(median 4 "$n")"
done
awk -v t="$(median 1 text)" -v h="$(median 1 hello)" -v p="$(median 2 text)" \
    'BEGIN { printf "fresh text search: %.3fx hello (target >= 0.3), p50 %.3f ms (target < 8)\n", (h ? t / h : 0), p }'
awk -v p50="$(median 2 semantic)" -v p99="$(median 3 semantic)" \
    -v p999="$(median 4 semantic)" \
    'BEGIN { printf "semantic: p99 %.2fx its p50 (target < 3), p99.9 %.3f ms (target < 100)\n", (p50 ? p99 / p50 : 0), p999 }'
if [[ $ERRORS -gt 0 ]]; then
    echo "bench-search: $ERRORS run(s) had errors; the numbers are not valid" >&2
    exit 1
fi
