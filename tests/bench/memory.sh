#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/memory.sh - is a responder's memory flat over 1,000,000
# requests? (issue 13: PSS < 16 MiB each with 10,000 products, and flat.)
# 4 responders behind nginx with server.max_requests = 0 (never
# recycled: the same processes serve every request), 10,000 seeded
# products (synthia seed-demo).  wrk -t2 -c32 sends a mix of the keyed
# routes in turn: the cached list, products by id (20 different ones),
# fresh text searches and fresh semantic searches (Cache-Control:
# no-cache, 4 queries each) and GET /auth/me with a bearer token, in
# steps of BENCH_MEMORY_STEP requests; after each step every responder's
# PSS and RSS (/proc/PID/smaps_rollup: PSS splits shared pages among the
# processes that map them) and the CPU time it has used (so a responder
# that nginx's kept connections left idle shows).
#
# Flat means: from the end of the warm-up (the first 2 steps, 200,000
# requests: caches fill, malloc's arenas reach their working size) to
# the end, no responder's PSS grows by more than BENCH_MEMORY_SLACK KiB
# (default 1024: 1 MiB, the noise of heap fragmentation between steps).
# Exits 1 when a responder grows beyond it, is replaced (a crash: with
# max_requests = 0 none is recycled), or when a request failed.
#
#   make bench-memory             (from the build directory)
#
# Environment: BENCH_MEMORY_REQUESTS (default 1000000),
# BENCH_MEMORY_STEP (default 100000), BENCH_MEMORY_SLACK (KiB, default
# 1024), BENCH_CONNECTIONS (default 32), BENCH_THREADS (default 2).
# The access log is off (1,000,000 lines would be the disk's, not the
# responders', cost).  Everything it starts listens on loopback and is
# stopped at the end.
set -euo pipefail

BENCH_NAME=bench-memory
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOTAL=${BENCH_MEMORY_REQUESTS:-1000000}
STEP=${BENCH_MEMORY_STEP:-100000}
SLACK=${BENCH_MEMORY_SLACK:-1024}
WARM=2
bench_init sy-bench-memory.XXXXXX

bench_stack_up "[server]
max_requests = 0
access_log = off
[search]
max_concurrent = $WORKERS"
bench_plan bench Benchmark
bench_seed_catalog bench
bench_jwt catalog bench-memory@example.com
IDS=$(curl -s -H "X-API-Key: $CAT_KEY" "$SY_BASE_URL/api/v1/products?limit=20" |
    python3 -c 'import json, sys; print(" ".join(p["id"] for p in json.load(sys.stdin)["items"]))') ||
    die "cannot list the catalog"
[[ $(wc -w <<<"$IDS") -eq 20 ]] || die "the catalog lists fewer than 20 products"

# The mix, one request after another on every connection.
LUA=$STATEDIR/mix.lua
bench_pct_lua "$LUA"
{
    echo "local key, jwt = '$CAT_KEY', '$JWT'"
    echo "local ids = { '${IDS// /"', '"}' }"
    cat <<'EOF'
local reqs, n = {}, 0
local text = { "linen%20dress", "wool%20coat", "silk%20scarf", "denim" }
local sem = { "navy%20wool%20blazer", "summer%20linen", "black%20boots",
              "red%20evening%20dress" }
init = function(args)
  local k = { ["X-API-Key"] = key }
  local nc = { ["X-API-Key"] = key, ["Cache-Control"] = "no-cache" }
  for i = 1, 20 do
    table.insert(reqs, wrk.format("GET", "/api/v1/products?limit=20", k))
    table.insert(reqs, wrk.format("GET", "/api/v1/products/" .. ids[i], k))
    table.insert(reqs, wrk.format("GET", "/api/v1/products/search?q=" ..
      text[i % 4 + 1] .. "&limit=10", nc))
    table.insert(reqs, wrk.format("GET", "/api/v1/products/search?q=" ..
      sem[i % 4 + 1] .. "&mode=semantic&limit=10", nc))
    table.insert(reqs, wrk.format("GET", "/api/v1/auth/me",
      { ["Authorization"] = "Bearer " .. jwt }))
  end
end
request = function()
  n = n % #reqs + 1
  return reqs[n]
end
EOF
} >>"$LUA"
for u in "/api/v1/products?limit=20" "/api/v1/products/${IDS%% *}" \
    "/api/v1/products/search?q=denim&limit=10" \
    "/api/v1/products/search?q=black%20boots&mode=semantic&limit=10"; do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $CAT_KEY" \
        "$SY_BASE_URL$u") == 200 ]] || die "synthia does not answer 200 on $u"
done
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $JWT" \
    "$SY_BASE_URL/api/v1/auth/me") == 200 ]] ||
    die "synthia does not answer 200 on /api/v1/auth/me"

PIDS=$(bench_responders)
[[ $(wc -w <<<"$PIDS") -eq $WORKERS ]] || die "not $WORKERS responders"
declare -A BASE LAST
HZ=$(getconf CLK_TCK)
# row LABEL: ROW = one line, each responder's PSS (MiB) and CPU seconds;
# LAST[pid] = its PSS in KiB
row() {
    local p out pss cpu
    out=$(printf '%-10s' "$1")
    for p in $PIDS; do
        [[ -r /proc/$p/smaps_rollup ]] || die "responder $p is gone (a crash?)"
        pss=$(bench_pss "$p")
        cpu=$(awk -v hz="$HZ" '{ printf "%.0f", ($14 + $15) / hz }' "/proc/$p/stat")
        LAST[$p]=$pss
        out+=$(printf '  %7.2f MiB %5ss' \
            "$(awk -v k="$pss" 'BEGIN { print k / 1024 }')" "$cpu")
    done
    ROW=$out
}

echo "$BENCH_NAME: $TOTAL requests in steps of $STEP, wrk -t$THREADS" \
    "-c$CONNS, $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-10s' requests
for p in $PIDS; do printf '  %-19s' "responder $p"; done
echo "   (PSS, CPU used)"
row 0
echo "$ROW"
# wrk runs for a duration, not a count (a thread that stops early still
# waits for the end): each run lasts what the last rate needs to reach
# the next multiple of STEP.
sent=0 step=0 errors=0 dur=10
start=$(date +%s)
while ((sent < TOTAL)); do
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${dur}s" --timeout 10s -s "$LUA" \
        "$SY_BASE_URL/")
    read -r _ p50 p99 p999 _ n rps errs <<<"$(awk '$1 == "PCT"' <<<"$out")"
    sent=$((sent + n)) errors=$((errors + errs))
    [[ $errs -eq 0 ]] ||
        echo "$BENCH_NAME: WARNING: $errs errors" \
            "$(grep -e 'Non-2xx' -e 'Socket errors' <<<"$out" | tr '\n' ' ')" >&2
    if ((sent >= (step + 1) * STEP || sent >= TOTAL)); then
        step=$((sent / STEP))
        row "$sent"
        echo "$ROW   ($rps req/s, p50 $p50 p99 $p99 p99.9 $p999 ms)"
        if ((step >= WARM)) && [[ -z ${BASE_AT:-} ]]; then
            BASE_AT=$sent
            for p in $PIDS; do BASE[$p]=${LAST[$p]}; done
        fi
    fi
    dur=$(awk -v r="$rps" -v need="$(((step + 1) * STEP - sent))" \
        'BEGIN { d = (r > 0 ? need / r : 10); d = int(d + 0.999);
                 print (d < 1 ? 1 : d) }')
done
echo "$BENCH_NAME: $sent requests in $(($(date +%s) - start)) s"

grew=0
for p in $PIDS; do
    [[ -n ${BASE[$p]:-} ]] || continue
    d=$((LAST[$p] - BASE[$p]))
    printf '%s: responder %s PSS %+d KiB from request %d to the end\n' \
        "$BENCH_NAME" "$p" "$d" "$BASE_AT"
    ((d <= SLACK)) || grew=1
done
[[ $(bench_responders | tr '\n' ' ') == "$(tr '\n' ' ' <<<"$PIDS")" ]] ||
    die "the responders changed during the run (a crash?)"
if ((grew)); then
    echo "$BENCH_NAME: PSS grew by more than $SLACK KiB after the warm-up" >&2
    exit 1
fi
echo "$BENCH_NAME: flat (no responder grew by more than $SLACK KiB after" \
    "the first $BASE_AT requests)"
if ((errors > 0)); then
    echo "$BENCH_NAME: $errors requests failed; the run is not valid" >&2
    exit 1
fi
