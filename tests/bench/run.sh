#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/bench/run.sh - synthia's /health/live against the floor: a bare
# libfcgi responder (tests/bench/hello.c) behind the same nginx site
# configuration without FastCGI connection reuse (it cannot have it),
# both with 4 preforked processes; synthia both with reuse (the shipped
# site, the stack's nginx) and without ("noreuse", a third nginx); and an
# API-key authenticated, rate-limited route (GET /api/v1/tenant with a
# secret key of a tenant whose plan's limits never bite) against
# /health/live of the same run.  Runs wrk against each, interleaved
# (hello, synthia, noreuse, apikey, twice), and prints req/s, p50, p99,
# the ratios synthia/hello (issue 12 target: >= 1.3), synthia/noreuse with
# both p99s (reuse must not make p99 worse), noreuse/hello (DESIGN.md
# target: >= 0.95) and apikey/synthia (issue 3 target: >= 0.5).
# Then the catalog on 10,000 seeded products (synthia seed-demo): the
# cached list with a secret key; a product by id (from the responders' products cache:
# "byid"); the text search as a client repeating
# it gets it (a result-cache hit: "texthit"); and text, typo and semantic
# searches run uncached (Cache-Control: no-cache: ranked afresh every
# time), twice each.  Then the cached list and the product by id with
# rate-limit token leasing off (ratelimit.lease_max = 1) and on (the
# default), interleaved.  Each responder's PSS and RSS
# (/proc/PID/smaps_rollup) before the runs and after them.
#
#   make bench                    (from the build directory)
#   tests/bench/run.sh            (SY_BUILDDIR: where synthia and
#                                  tests/bench/hello are built)
#
# Environment: BENCH_DURATION (seconds per run, default 10),
# BENCH_CONNECTIONS (default 32), BENCH_THREADS (default 2),
# BENCH_PATH (default /health/live), BENCH_CONFIG_EXTRA (a file of
# synthia.conf lines appended to the stack's config, e.g. to compare
# [server] access_log = off).
# Everything it starts listens on loopback and is stopped at the end.
set -euo pipefail

BENCH_NAME=bench
# shellcheck source=tests/bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init sy-bench.XXXXXX

# The uncached searches come from $CONNS connections of one tenant:
# search.max_concurrent (2 by default) would answer most of them 429
# too_many_searches, and the bench would time refusals.  One lease per
# responder: none is refused, and each search still takes and gives back
# its lease.  BENCH_CONFIG_EXTRA's lines come after (and win).
bench_stack_up "[search]
max_concurrent = $WORKERS" \
    ${BENCH_CONFIG_EXTRA:+--config-extra "$BENCH_CONFIG_EXTRA"}

# The API-key route's tenant: plan 'bench' (limits far above what wrk can
# send), a tenant on it and a secret key, made the way an operator would.
echo "bench: creating the benchmark tenant and its secret key"
bench_plan bench Benchmark
admin() { "$SY_BUILDDIR/synthia" --config "$SY_CONFIG" admin "$@"; }
admin create-tenant --name Benchmark --slug bench --plan bench >/dev/null ||
    die "synthia admin create-tenant failed"
API_KEY=$(admin create-key --tenant bench --kind secret --name bench \
    --scope tenant:read |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["key"])') ||
    die "synthia admin create-key failed"
KEY_URL=$SY_BASE_URL/api/v1/tenant
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $API_KEY" \
    "$KEY_URL") == 200 ]] || die "synthia does not answer 200 on $KEY_URL"
[[ $(curl -s -D - -o /dev/null -H "X-API-Key: $API_KEY" "$KEY_URL" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "ratelimit-limit" { print $2 }') \
    == 100000000 ]] || die "GET $KEY_URL is not rate-limited by the bench plan"

# The catalog routes' tenant: 10,000 generated products with their
# embeddings from the C embedder (`synthia seed-demo --products`), moved
# to the bench plan so that wrk is never rate-limited.
bench_seed_catalog bench
LIST_URL="$SY_BASE_URL/api/v1/products?limit=20"
TEXT_URL="$SY_BASE_URL/api/v1/products/search?q=linen%20dress&limit=10"
TYPO_URL="$SY_BASE_URL/api/v1/products/search?q=jackrt&limit=10"
SEM_URL="$SY_BASE_URL/api/v1/products/search?q=navy%20wool%20blazer&mode=semantic&limit=10"
# A product by id (from the products cache after its first read): the first listed.
BYID_URL="$SY_BASE_URL/api/v1/products/$(curl -s -H "X-API-Key: $CAT_KEY" \
    "$LIST_URL" | python3 -c 'import json, sys; print(json.load(sys.stdin)["items"][0]["id"])')" ||
    die "cannot list the catalog"
for u in "$LIST_URL" "$BYID_URL" "$TEXT_URL" "$TYPO_URL" "$SEM_URL"; do
    [[ $(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $CAT_KEY" \
        "$u") == 200 ]] || die "synthia does not answer 200 on $u"
done
[[ $(curl -s -D - -o /dev/null -H "X-API-Key: $CAT_KEY" "$LIST_URL" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache" { print $2 }') \
    == HIT ]] || die "GET $LIST_URL is not served from the cache"
[[ $(curl -s -D - -o /dev/null -H "X-API-Key: $CAT_KEY" "$TEXT_URL" |
    tr -d '\r' | awk -F': ' 'tolower($1) == "x-cache" { print $2 }') \
    == HIT ]] || die "GET $TEXT_URL is not served from the cache"

# hello behind nginx without connection reuse (the floor every FastCGI
# application pays), and synthia behind a third nginx without reuse: the
# stack's nginx (the shipped site) keeps its connections to synthia.
bench_hello_up
nginx_noreuse noreuse "$SY_FCGI_SOCKET"
NOREUSE_URL=http://127.0.0.1:$NGX_PORT$BPATH
SYNTHIA_URL=$SY_BASE_URL$BPATH
bench_wait_200 "$NOREUSE_URL"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$SYNTHIA_URL") == 200 ]] ||
    die "synthia does not answer 200 on $SYNTHIA_URL"

ROWS=()
NAMES=(hello synthia noreuse apikey catalog byid texthit text typo semantic
       catalog1 catalogL byid1 byidL)
declare -A SUM_RPS SUM_P50 SUM_P99 RUNS
for n in "${NAMES[@]}"; do
    SUM_RPS[$n]=0 SUM_P50[$n]=0 SUM_P99[$n]=0 RUNS[$n]=0
done
ERRORS=0

# run_wrk NAME URL [HEADER [HEADER]]
run_wrk() {
    local name=$1 url=$2 out rps p50 p99 non2xx sockerr hdr=()
    [[ -n ${3:-} ]] && hdr=(-H "$3")
    [[ -n ${4:-} ]] && hdr+=(-H "$4")
    out=$(wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency \
        "${hdr[@]}" "$url")
    rps=$(awk '/^Requests\/sec:/ { print $2 }' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    non2xx=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    sockerr=$(grep -F 'Socket errors:' <<<"$out" || true)
    if [[ -n $non2xx || -n $sockerr ]]; then
        echo "bench: WARNING $name: ${non2xx:-0} non-2xx responses ${sockerr}" >&2
        ERRORS=$((ERRORS + 1))
    fi
    printf 'bench: %-8s %10.0f req/s   p50 %7.3f ms   p99 %7.3f ms\n' \
        "$name" "$rps" "$p50" "$p99"
    ROWS+=("$(printf '%-8s %10.0f %9.3f %9.3f' "$name" "$rps" "$p50" "$p99")")
    SUM_RPS[$name]=$(awk -v a="${SUM_RPS[$name]}" -v b="$rps" 'BEGIN { print a + b }')
    SUM_P50[$name]=$(awk -v a="${SUM_P50[$name]}" -v b="$p50" 'BEGIN { print a + b }')
    SUM_P99[$name]=$(awk -v a="${SUM_P99[$name]}" -v b="$p99" 'BEGIN { print a + b }')
    RUNS[$name]=$((RUNS[$name] + 1))
}

# Each responder's memory before any load (PSS: /proc/PID/smaps_rollup,
# shared pages split among the processes that map them; issue 13 target
# < 16 MiB each with 10,000 products), and again at the end.
MEM_BEFORE=$(bench_memory before)
echo "$MEM_BEFORE"
echo "bench: warm-up"
wrk -t"$THREADS" -c"$CONNS" -d2s "$HELLO_URL" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s "$SYNTHIA_URL" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s "$NOREUSE_URL" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s -H "X-API-Key: $API_KEY" "$KEY_URL" \
    >/dev/null

echo "bench: wrk -t$THREADS -c$CONNS -d${DURATION}s --latency, GET $BPATH" \
    "and GET /api/v1/tenant (X-API-Key), $(nproc) cores"
for _ in 1 2; do
    run_wrk hello "$HELLO_URL"
    run_wrk synthia "$SYNTHIA_URL"
    run_wrk noreuse "$NOREUSE_URL"
    run_wrk apikey "$KEY_URL" "X-API-Key: $API_KEY"
done
# Catalog on 10,000 products: the cached list and the repeated text
# search as a client gets them (cache hits); the searches with
# Cache-Control: no-cache, so every request runs the search (full text; a
# one-word typo that takes the trigram path; semantic).
# Warm-up: the repeated search's cache entry, and on every responder the
# full-text index and the vectors' mapping (each responder loads the
# index at its first fresh search of a catalog version, 0.15-0.7 s for
# 10,000 products: round 1's text p99 was that load, not steady state).
wrk -t"$THREADS" -c"$CONNS" -d2s -H "X-API-Key: $CAT_KEY" "$TEXT_URL" \
    >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s -H "X-API-Key: $CAT_KEY" \
    -H "Cache-Control: no-cache" "$TEXT_URL" >/dev/null
wrk -t"$THREADS" -c"$CONNS" -d2s -H "X-API-Key: $CAT_KEY" \
    -H "Cache-Control: no-cache" "$SEM_URL" >/dev/null
for _ in 1 2; do
    run_wrk catalog "$LIST_URL" "X-API-Key: $CAT_KEY"
    run_wrk byid "$BYID_URL" "X-API-Key: $CAT_KEY"
    run_wrk texthit "$TEXT_URL" "X-API-Key: $CAT_KEY"
    run_wrk text "$TEXT_URL" "X-API-Key: $CAT_KEY" "Cache-Control: no-cache"
    run_wrk semantic "$SEM_URL" "X-API-Key: $CAT_KEY" "Cache-Control: no-cache"
done
# Rate-limit token leasing (ratelimit.lease_max): the keyed cached list
# and product by id with one Redis decision per request (lease_max = 1,
# "catalog1"/"byid1") against the default lease ("catalogL"/"byidL"),
# interleaved; the pool
# is reloaded (SIGHUP) for each setting and warmed up again.
cp "$SY_CONFIG" "$STATEDIR/synthia.conf.lease"
set_lease() {
    local old
    old=$(pgrep -P "$SY_SYNTHIA_PID" | sort)
    cp "$STATEDIR/synthia.conf.lease" "$SY_CONFIG"
    [[ $1 == default ]] || printf '\n[ratelimit]\nlease_max = %s\n' "$1" \
        >>"$SY_CONFIG"
    "$STACK" reload-synthia "$STATEDIR" >/dev/null
    for _ in $(seq 150); do
        [[ $(pgrep -P "$SY_SYNTHIA_PID" | sort | comm -12 - <(echo "$old") |
            wc -l) == 0 && $(pgrep -P "$SY_SYNTHIA_PID" | wc -l) -ge $WORKERS ]] &&
            break
        sleep 0.1
    done
    wrk -t"$THREADS" -c"$CONNS" -d2s -H "X-API-Key: $CAT_KEY" "$LIST_URL" \
        >/dev/null
    wrk -t"$THREADS" -c"$CONNS" -d2s -H "X-API-Key: $CAT_KEY" "$BYID_URL" \
        >/dev/null
}
for _ in 1 2; do
    set_lease 1
    run_wrk catalog1 "$LIST_URL" "X-API-Key: $CAT_KEY"
    run_wrk byid1 "$BYID_URL" "X-API-Key: $CAT_KEY"
    set_lease default
    run_wrk catalogL "$LIST_URL" "X-API-Key: $CAT_KEY"
    run_wrk byidL "$BYID_URL" "X-API-Key: $CAT_KEY"
done
# JWT reads (issue 13): GET /auth/me with a bearer token of a user of the
# bench tenant: the session check and the user row come from the
# responders' memory while the push channel keeps them current.
NAMES+=(jwt)
SUM_RPS[jwt]=0 SUM_P50[jwt]=0 SUM_P99[jwt]=0 RUNS[jwt]=0
bench_jwt bench bench-jwt@example.com
ME_URL=$SY_BASE_URL/api/v1/auth/me
[[ $(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $JWT" \
    "$ME_URL") == 200 ]] || die "synthia does not answer 200 on $ME_URL"
wrk -t"$THREADS" -c"$CONNS" -d2s -H "Authorization: Bearer $JWT" "$ME_URL" \
    >/dev/null
for _ in 1 2; do
    run_wrk jwt "$ME_URL" "Authorization: Bearer $JWT"
done
# The typo path is far slower: last, with one connection per responder,
# so that its queue does not spill into another measurement.
CONNS=$WORKERS run_wrk typo "$TYPO_URL" "X-API-Key: $CAT_KEY" \
    "Cache-Control: no-cache"

avg() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.3f", (n ? s / n : 0) }'; }
H_RPS=$(avg "${SUM_RPS[hello]}" "${RUNS[hello]}")
S_RPS=$(avg "${SUM_RPS[synthia]}" "${RUNS[synthia]}")
K_RPS=$(avg "${SUM_RPS[apikey]}" "${RUNS[apikey]}")
RATIO=$(awk -v s="$S_RPS" -v h="$H_RPS" 'BEGIN { printf "%.3f", (h > 0 ? s / h : 0) }')
N_RPS=$(avg "${SUM_RPS[noreuse]}" "${RUNS[noreuse]}")
NRATIO=$(awk -v s="$S_RPS" -v n="$N_RPS" 'BEGIN { printf "%.3f", (n > 0 ? s / n : 0) }')
NHRATIO=$(awk -v n="$N_RPS" -v h="$H_RPS" 'BEGIN { printf "%.3f", (h > 0 ? n / h : 0) }')
S_P99=$(avg "${SUM_P99[synthia]}" "${RUNS[synthia]}")
N_P99=$(avg "${SUM_P99[noreuse]}" "${RUNS[noreuse]}")
KRATIO=$(awk -v k="$K_RPS" -v s="$S_RPS" 'BEGIN { printf "%.3f", (s > 0 ? k / s : 0) }')
KHRATIO=$(awk -v k="$K_RPS" -v h="$H_RPS" 'BEGIN { printf "%.3f", (h > 0 ? k / h : 0) }')

echo
echo "through nginx, wrk -t$THREADS -c$CONNS -d${DURATION}s: hello, synthia" \
    "(connection reuse) and noreuse (synthia without)" \
    "GET $BPATH, apikey GET /api/v1/tenant with X-API-Key, catalog/" \
    "byid/texthit/text/typo/semantic on 10,000 products (typo: -c$WORKERS)"
printf '%-8s %10s %9s %9s\n' target "req/s" "p50 ms" "p99 ms"
for r in "${ROWS[@]}"; do
    echo "$r"
done
echo "-------- ---------- --------- ---------"
for name in "${NAMES[@]}"; do
    printf '%-8s %10.0f %9.3f %9.3f   (mean)\n' "$name" \
        "$(avg "${SUM_RPS[$name]}" "${RUNS[$name]}")" \
        "$(avg "${SUM_P50[$name]}" "${RUNS[$name]}")" \
        "$(avg "${SUM_P99[$name]}" "${RUNS[$name]}")"
done
echo "ratio synthia/hello req/s: $RATIO (synthia with connection reuse," \
    "hello without: target >= 1.3)"
echo "ratio synthia/noreuse req/s: $NRATIO (the same synthia with and" \
    "without reuse; p99 $S_P99 ms with, $N_P99 ms without: target not worse);" \
    "noreuse/hello: $NHRATIO (DESIGN.md target >= 0.95)"
echo "ratio apikey/synthia req/s: $KRATIO (target >= 0.5; apikey/hello: $KHRATIO)"
echo "catalog: cached GET /products?limit=20 (X-API-Key, target p99 < 5 ms);" \
    "byid: GET /products/{id} (X-API-Key, from the products cache);" \
    "texthit: text 'linen dress' repeated (result-cache hits); searches over" \
    "10,000 products, uncached: text 'linen dress' (target p50 < 5 ms)," \
    "typo 'jackrt' (trigram path), semantic 'navy wool blazer' (target" \
    "p50 < 10 ms)"
echo "catalog1/byid1: catalog and byid with ratelimit.lease_max = 1 (one" \
    "Redis decision per request), catalogL/byidL with the default lease" \
    "(tokens spent from memory), interleaved after a reload each"
echo "responder memory before the runs and after them (the lease runs" \
    "reload the pool: 'after' is the generation that served catalogL," \
    "byidL, jwt and typo; target PSS < 16 MiB each):"
echo "$MEM_BEFORE"
bench_memory after
if [[ $ERRORS -gt 0 ]]; then
    echo "bench: $ERRORS run(s) had errors; the numbers are not valid" >&2
    exit 1
fi
