#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/vectors.sh - what sharing the product vectors per host saves
# (issue 13): responder memory and the semantic search's latency tail with
# 10,000 products (synthia seed-demo), 4 responders behind nginx.
#
# Two phases on one stack and one catalog:
#   shared  server.runtime_dir set (the stack's state directory): one
#           file per catalog version, mapped read-only by every responder
#   heap    runtime_dir empty (SIGHUP: a new generation of responders),
#           each responder loads its own copy, as before issue 13
# and, between the two, /health/live (the machine's own tail at that
# moment) and the shared phase again with server.max_requests = 1000
# (recycling with the successor forked before the old responder leaves).
# In each: wrk on the semantic search, uncached (Cache-Control:
# no-cache: ranked afresh each time) to warm every responder, then each
# responder's PSS and RSS from /proc/PID/smaps_rollup (PSS splits shared
# pages among the processes that map them), then wrk again for req/s and
# latency p50, p99, p99.9 and max (a wrk Lua script: its --latency
# stops at p99).
#
#   make bench-vectors            (from the build directory)
#   tests/bench/vectors.sh        (SY_BUILDDIR: where synthia is built)
#
# Environment: BENCH_DURATION (seconds per run, default 10),
# BENCH_CONNECTIONS (default 32), BENCH_THREADS (default 2).
# Everything it starts listens on loopback and is stopped at the end.
set -euo pipefail

BENCH_NAME=bench
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init sy-benchvec.XXXXXX

# search.max_concurrent off: measure the search, not the tenant's
# concurrency bound (2 by default: most of 32 connections would get 429)
bench_stack_up "[search]
max_concurrent = 0"
bench_plan bench Benchmark
bench_seed_catalog bench
SEM_URL="$SY_BASE_URL/api/v1/products/search?q=navy%20wool%20blazer&mode=semantic&limit=10"
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $CAT_KEY" \
    "$SEM_URL") == 200 ]] || die "synthia does not answer 200 on $SEM_URL"

LUA=$STATEDIR/latency.lua
bench_pct_lua "$LUA"

semantic_wrk() { # SECONDS [URL]: prints the PCT line
    wrk -t"$THREADS" -c"$CONNS" -d"${1}s" -s "$LUA" \
        -H "X-API-Key: $CAT_KEY" -H "Cache-Control: no-cache" \
        "${2:-$SEM_URL}" | awk '/^PCT / { print }'
}

# waits until the master has WORKERS responders, none of them in $1
wait_new_responders() {
    local old=" $1 " pids ok
    for _ in $(seq 100); do
        pids=$(bench_responders)
        ok=1
        [[ $(wc -w <<<"$pids") -eq $WORKERS ]] || ok=0
        for p in $pids; do
            [[ $old == *" $p "* ]] && ok=0
        done
        ((ok)) && return 0
        sleep 0.1
    done
    die "the responders were not replaced after SIGHUP"
}

ms() { awk -v v="$1" 'BEGIN { printf "%.1f", v }'; }

phase() { # NAME [URL]
    local name=$1 url=${2:-$SEM_URL} line pss rss sum_pss=0 sum_rss=0 n=0 p
    semantic_wrk 3 >/dev/null # every responder has searched
    for p in $(bench_responders); do
        pss=$(bench_pss "$p")
        rss=$(awk '/^Rss:/ { print $2 }' "/proc/$p/smaps_rollup")
        printf '  %-6s responder %-7s PSS %6.1f MiB  RSS %6.1f MiB\n' \
            "$name" "$p" "$(awk -v k="$pss" 'BEGIN { print k / 1024 }')" \
            "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')"
        sum_pss=$((sum_pss + pss))
        sum_rss=$((sum_rss + rss))
        n=$((n + 1))
    done
    local mark
    mark=$(wc -c <"$STATEDIR/log/synthia.log")
    line=$(semantic_wrk "$DURATION" "$url")
    tail -c +"$((mark + 1))" "$STATEDIR/log/synthia.log" |
        grep -o '"route":"[^"]*".*"status":[0-9]*' |
        sed 's/.*"status"://' | sort | uniq -c |
        awk -v n="$name" '{ printf "  %-6s status %s: %s\n", n, $2, $1 }' || true
    read -r _ p50 p99 p999 max _ rps errs <<<"$line"
    printf '%-7s PSS mean %5.1f MiB  RSS mean %5.1f MiB | semantic %6s req/s  p50 %s ms  p99 %s ms  p99.9 %s ms  max %s ms  errors %s\n' \
        "$name" "$(awk -v k="$sum_pss" -v n="$n" 'BEGIN { print k / n / 1024 }')" \
        "$(awk -v k="$sum_rss" -v n="$n" 'BEGIN { print k / n / 1024 }')" \
        "$rps" "$(ms "$p50")" "$(ms "$p99")" "$(ms "$p999")" "$(ms "$max")" \
        "$errs" >>"$STATEDIR/summary"
}

echo "bench: wrk -t$THREADS -c$CONNS -d${DURATION}s, semantic search" \
    "'navy wool blazer' uncached, 10,000 products, $WORKERS responders"
: >"$STATEDIR/summary"
phase shared
ls "$STATEDIR"/vec-*.bin >/dev/null 2>&1 ||
    die "no vector file in $STATEDIR: the shared phase did not share"

# the machine's own tail at this moment: the cheapest route, same wrk
phase live "$SY_BASE_URL/health/live"

reload_with() { # CONFIG-LINES: appended under [server], then SIGHUP
    local old
    old=$(bench_responders | tr '\n' ' ')
    printf '\n[server]\n%s\n' "$1" >>"$SY_CONFIG"
    "$STACK" reload-synthia "$STATEDIR" >/dev/null
    wait_new_responders "$old"
}
# responders recycled every ~1,000 requests (successor forked first)
reload_with "max_requests = 1000"
phase recycle
reload_with "max_requests = 0"
before=$(curl -s "$SY_BASE_URL/metrics" |
    awk '/^synthia_responder_recycled_total / { print $2 }')
echo "recycle: $before responders recycled in that phase" >>"$STATEDIR/summary"

reload_with "runtime_dir ="
phase heap

echo
cat "$STATEDIR/summary"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)" \
    "($(nproc) CPUs; wrk, nginx, PostgreSQL and Redis share them)"
echo "(PSS: /proc/PID/smaps_rollup, shared pages split among the" \
    "processes that map them; target < 16 MiB per responder. Latency" \
    "target: p99 < 3x p50, p99.9 < 100 ms.)"
