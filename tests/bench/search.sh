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

BENCH_NAME=bench-search
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
REPEAT=${BENCH_REPEAT:-3}
bench_init sy-bench-search.XXXXXX

# One search lease per responder, as run.sh: none of the 32 connections'
# searches is refused 429 too_many_searches.
bench_stack_up "[search]
max_concurrent = $WORKERS"
bench_plan bench Benchmark
bench_seed_catalog bench
KEY=$CAT_KEY
TEXT_URL="$SY_BASE_URL/api/v1/products/search?q=linen%20dress&limit=10"
SEM_URL="$SY_BASE_URL/api/v1/products/search?q=navy%20wool%20blazer&mode=semantic&limit=10"
for u in "$TEXT_URL" "$SEM_URL"; do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY" \
        -H "Cache-Control: no-cache" "$u") == 200 ]] ||
        die "synthia does not answer 200 on $u"
done

# hello behind its own nginx (the stack's nginx.conf and the shipped
# site, connection reuse off: a bare libfcgi responder cannot keep one).
bench_hello_up

LUA=$STATEDIR/pct.lua
bench_pct_lua "$LUA"

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
