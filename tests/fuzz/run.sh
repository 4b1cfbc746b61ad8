#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/fuzz/run.sh - `make fuzz`: run each libFuzzer target for a bounded
# time, one after the other, from the build directory.
#
# Usage: tests/fuzz/run.sh SRCDIR SECONDS TARGET...
#
# Each tests/fuzz/fuzz_<target> starts from the committed seeds
# (SRCDIR/tests/fuzz/corpus/<target>/, read-only here) plus what earlier
# runs found (tests/fuzz/work/<target>/, where libFuzzer writes new
# inputs), with SRCDIR/tests/fuzz/dict/<target>.dict when there is one.
# libFuzzer first runs every input it loaded, so a committed regression
# seed that crashes again fails at once.  A crash, a sanitizer report, a
# leak, a timeout (10 s per input) or an allocation-failure defect stops
# that target; its input is saved in tests/fuzz/artifacts/ and the way to
# make it a regression seed is printed.  Ends with automake-style
# "# PASS: N" / "# FAIL: N" lines (tests/run-all.sh counts them); exits 1
# if any target failed.
set -uo pipefail

if [[ $# -lt 3 ]]; then
    echo "usage: $0 SRCDIR SECONDS TARGET..." >&2
    exit 2
fi
src=$1 seconds=$2
shift 2

# UBSan findings are fatal (-fno-sanitize-recover) and ASan checks leaks;
# keep what the caller set.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

mkdir -p tests/fuzz/artifacts
pass=0 fail=0 failed=()
for t in "$@"; do
    bin=tests/fuzz/fuzz_$t
    seeds=$src/tests/fuzz/corpus/$t
    work=tests/fuzz/work/$t
    dict=$src/tests/fuzz/dict/$t.dict
    log=tests/fuzz/work/$t.log
    mkdir -p "$work"
    args=(-max_total_time="$seconds" -timeout=10 -max_len=8192
        -print_final_stats=1 -artifact_prefix="tests/fuzz/artifacts/$t-")
    [[ -f $dict ]] && args+=(-dict="$dict")
    echo "fuzz $t: ${seconds}s from $(find "$seeds" -type f | wc -l) seeds"
    stamp=tests/fuzz/work/$t.started
    touch "$stamp"
    if "./$bin" "${args[@]}" "$work" "$seeds" >"$log" 2>&1; then
        pass=$((pass + 1))
        echo "PASS: fuzz $t ($(grep -E '^stat::number_of_executed_units' \
            "$log" | awk '{print $2}') runs)"
    else
        fail=$((fail + 1))
        failed+=("$t")
        echo "FAIL: fuzz $t"
        tail -n 60 "$log"
        found=$(find tests/fuzz/artifacts -type f -name "$t-*" \
            -newer "$stamp" | sort)
        art=${found%%$'\n'*}
        art=${art:-tests/fuzz/artifacts/$t-<file>}
        echo "  saved input(s): ${found:-none}"
        echo "  reproduce (any build): tests/fuzz/replay_$t $art"
        echo "  once fixed, keep it:   cp $art" \
            "$src/tests/fuzz/corpus/$t/regress-<what-it-found>"
    fi
done
echo "# PASS: $pass"
echo "# FAIL: $fail"
[[ $fail -eq 0 ]] || {
    echo "fuzz: failed: ${failed[*]} (logs in tests/fuzz/work/<target>.log)"
    exit 1
}
