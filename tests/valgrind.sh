#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/valgrind.sh - valgrind memcheck of a `synthia serve --workers 0`
# responder (no master: the one process valgrind starts serves every
# request) over the integration tests that do not need a master's pool
# (`make valgrind`; by hand, not in CI: it takes a long time).
#
#   make valgrind [VALGRIND_TESTS="test_http.py test_orders.py"]
#
# Every test's stack starts synthia under valgrind (tests/stack.sh:
# SY_SYNTHIA_WRAP, SY_SYNTHIA_ARGS, SY_STACK_CONFIG for a cheaper
# argon2id); each process writes its report to
# valgrind/vg.PID.log in the build directory.  It fails (exit 1) when a
# test fails, or when a report has an error (invalid reads or writes,
# uses of uninitialised values, invalid frees, definite or possible
# leaks) or has no ERROR SUMMARY (the process did not exit by itself).
# Suppressions, for libraries only: tests/valgrind.supp.
#
# Environment: SY_BUILDDIR (default: the current directory), VALGRIND_TESTS
# (file names under tests/integration/), TMPDIR.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(dirname "$HERE")
BUILDDIR=$(cd "${SY_BUILDDIR:-.}" && pwd)
[[ -x $BUILDDIR/synthia ]] || {
    echo "valgrind.sh: no synthia in $BUILDDIR (set SY_BUILDDIR)" >&2
    exit 2
}
command -v valgrind >/dev/null || {
    echo "valgrind.sh: valgrind is not installed (apt-get install valgrind)" >&2
    exit 2
}

# Tests whose stack works with one responder and no master: not the
# ones that kill, count or reload responders (test_faults*, test_pool_guard,
# test_durability, test_timeout, test_tokens, test_listen, test_webservers).
DEFAULT_TESTS="test_http.py test_health.py test_auth.py test_users.py
test_tenants.py test_apikeys.py test_products.py test_search.py
test_orders.py test_cache.py test_cors.py test_isolation.py
test_ratelimit.py test_openapi.py test_vectors.py"
read -r -d '' -a tests <<<"${VALGRIND_TESTS:-$DEFAULT_TESTS}" || true

LOGDIR=$BUILDDIR/valgrind
rm -rf "$LOGDIR"
mkdir -p "$LOGDIR"

export SY_BUILDDIR=$BUILDDIR SY_SRCDIR=$SRCDIR PYTHONDONTWRITEBYTECODE=1
# (tests/stack.sh splits SY_SYNTHIA_WRAP on blanks)
# shellcheck disable=SC2054 # the commas are valgrind's
vg=(valgrind --tool=memcheck --leak-check=full
    --show-leak-kinds=definite,possible --errors-for-leak-kinds=definite,possible
    --track-origins=yes --num-callers=30 --error-limit=no
    "--suppressions=$SRCDIR/tests/valgrind.supp" "--log-file=$LOGDIR/vg.%p.log")
export SY_SYNTHIA_WRAP="${vg[*]}"
export SY_SYNTHIA_ARGS="--workers 0"
# argon2id at its default cost takes 5-10 s a login under memcheck, past
# the tests' 10 s request timeout once two meet; the same code over
# 1 MiB does not (a test's own [auth] settings still win).
export SY_STACK_CONFIG=$'[auth]\nargon2_memory = 1M'
export SY_STACK_TIMEOUT=120

failed=()
for t in "${tests[@]}"; do
    echo "valgrind.sh: $t"
    if ! python3 "$SRCDIR/tests/integration/$t" 2>&1 | sed 's/^/  /'; then
        failed+=("$t")
    fi
done

# Every process valgrind ran: its error count, or "no summary"
errors=0
reports=0
for log in "$LOGDIR"/vg.*.log; do
    [[ -e $log ]] || continue
    reports=$((reports + 1))
    n=$(sed -n 's/^==[0-9]*== ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log")
    if [[ -z $n ]]; then
        echo "valgrind.sh: $log: no ERROR SUMMARY (killed?)"
        errors=$((errors + 1))
    elif ((n > 0)); then
        echo "valgrind.sh: $log: $n errors"
        errors=$((errors + n))
    fi
done
echo "valgrind.sh: ${#tests[@]} test files, ${#failed[@]} failed${failed:+ (${failed[*]})};" \
    "$reports valgrind reports in $LOGDIR, $errors errors"
((reports > 0)) || { echo "valgrind.sh: no report: did valgrind run?"; exit 1; }
((${#failed[@]} == 0 && errors == 0))
