#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/run-all.sh - the whole test suite, as CI runs it (.ci/run).
#
#   1. tests/deps.sh: install missing Debian packages (as root)
#   2. _build:      configure --enable-werror, make, make check
#                   (unit tests + integration tests against a real
#                   PostgreSQL, Redis and nginx: tests/stack.sh)
#   3. _build-asan: configure --enable-sanitizers --enable-werror,
#                   make check under ASan + UBSan (leaks are errors)
#   4. _build-fuzz: configure CC=clang --enable-fuzz --enable-werror,
#                   make fuzz: each libFuzzer target of tests/fuzz for
#                   FUZZ_SECONDS (30 here), one pass or fail per target
#   5. make distcheck in _build (the release tarball builds, passes its
#      tests from a read-only source tree, installs and uninstalls)
#   6. from that release tarball, once each (they build it again):
#      tests/test_deb.sh      a .deb with dpkg-buildpackage, lintian,
#                             hardening-check
#      tests/test_install.sh  README's install section run literally in a
#                             sandbox, behind nginx, Caddy, Apache, lighttpd
# (The committed fuzz corpus and the allocation-failure sweep run in
# every make check: tests/fuzz/replay_*.)
#
# Usage: tests/run-all.sh [--skip-sanitizers] [--skip-fuzz]
#                         [--skip-distcheck] [--skip-packaging] [--quick]
#   --skip-sanitizers  no step 3        --skip-fuzz       no step 4
#   --skip-distcheck   no steps 5, 6    --skip-packaging  no step 6
#   --quick            only steps 1-2
# Environment: BUILD_DIR (default SRC/_build), ASAN_BUILD_DIR (default
# SRC/_build-asan), FUZZ_BUILD_DIR (default SRC/_build-fuzz),
# FUZZ_SECONDS (default 30), JOBS (default 2).
#
# Prints the failing tests' logs, then a last line "N passed, N failed"
# summed over every test suite run; exits non-zero if anything failed.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$SRC/_build}
ASAN_BUILD=${ASAN_BUILD_DIR:-$SRC/_build-asan}
FUZZ_BUILD=${FUZZ_BUILD_DIR:-$SRC/_build-fuzz}
FUZZ_SECONDS=${FUZZ_SECONDS:-30}
JOBS=${JOBS:-2}

run_sanitizers=1
run_fuzz=1
run_distcheck=1
run_packaging=1
distcheck_ok=0
for arg in "$@"; do
    case $arg in
    --skip-sanitizers | --skip-asan) run_sanitizers=0 ;;
    --skip-fuzz) run_fuzz=0 ;;
    --skip-distcheck) run_distcheck=0 run_packaging=0 ;;
    --skip-packaging) run_packaging=0 ;;
    --quick) run_sanitizers=0 run_fuzz=0 run_distcheck=0 run_packaging=0 ;;
    -h | --help)
        sed -n '3,34p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "run-all: unknown option $arg (try --help)" >&2
        exit 2
        ;;
    esac
done

export AM_COLOR_TESTS=no
total_pass=0
total_fail=0
report=()
cases=()

banner() { printf '\n==== %s ====\n' "$*"; }

# A step that failed before any test could run counts as one failure.
step_failed() {
    report+=("$1: FAILED")
    total_fail=$((total_fail + 1))
    echo "run-all: $1 failed" >&2
}

# Sum automake's "# PASS:  N" style counts in a file into P and F.
count_results() {
    local file=$1
    P=0 F=0
    [[ -f $file ]] || return 1
    read -r P F < <(sed 's/\x1b\[[0-9;]*m//g' "$file" | awk '
        /^# (PASS): *[0-9]+/                { p += $3 }
        /^# (FAIL|ERROR|XPASS): *[0-9]+/     { f += $3 }
        END { print p + 0, f + 0 }')
}

show_failures() {
    local log=$1
    [[ -f $log ]] || return 0
    banner "$log"
    cat "$log" # automake puts each failing test's .log in here
    # each failing case and its error, for the summary (a CI page shows
    # the end of a long output)
    local line
    while IFS= read -r line; do
        cases+=("$line")
    done < <(awk '
        /^FAIL: /        { file = $2 }
        /^not ok - /     { name = $0; sub(/^not ok - /, "", name); err = 1; next }
        err && /^# [A-Za-z.]*(Error|Exception)(:|$)/ {
            sub(/^# /, ""); print "  " file ": " name ": " substr($0, 1, 240)
            err = 0 }' "$log")
}

# build_and_check NAME DIR CONFIGURE-ARGS...
build_and_check() {
    local name=$1 dir=$2 rc=0
    shift 2
    banner "$name: configure $*"
    mkdir -p "$dir"
    if ! (cd "$dir" && "$SRC/configure" "$@"); then
        [[ -f $dir/config.log ]] && tail -n 60 "$dir/config.log"
        step_failed "$name: configure"
        return 1
    fi
    banner "$name: make -j$JOBS"
    if ! make -C "$dir" -j"$JOBS"; then
        step_failed "$name: make"
        return 1
    fi
    banner "$name: make -j$JOBS check"
    rm -f "$dir/test-suite.log"
    make -C "$dir" -j"$JOBS" check || rc=$?
    if count_results "$dir/test-suite.log"; then
        total_pass=$((total_pass + P))
        total_fail=$((total_fail + F))
        report+=("$name: $P passed, $F failed")
        if [[ $rc -ne 0 && $F -eq 0 ]]; then
            step_failed "$name: make check (exit $rc)"
        fi
    else
        step_failed "$name: make check (no test-suite.log)"
    fi
    if [[ $rc -ne 0 ]]; then
        show_failures "$dir/test-suite.log"
        return 1
    fi
}

# --------------------------------------------------------------- 1. deps
banner "dependencies (tests/deps.sh)"
if ! "$SRC/tests/deps.sh"; then
    step_failed "tests/deps.sh"
    echo "$total_pass passed, $total_fail failed"
    exit 1
fi

# --------------------------------------------------------------- licence
# Every tracked file whose format has comments carries an SPDX line.
banner "licence lines (tests/check-spdx.sh)"
if (cd "$SRC" && git rev-parse --is-inside-work-tree >/dev/null 2>&1); then
    if "$SRC/tests/check-spdx.sh"; then
        total_pass=$((total_pass + 1))
        report+=("licence lines: ok")
    else
        step_failed "licence lines (tests/check-spdx.sh)"
    fi
fi

# --------------------------------------------------------------- autogen
if [[ -f $SRC/config.status ]]; then
    echo "run-all: $SRC is configured in-tree; out-of-tree builds need" \
        "'make distclean' there first" >&2
    step_failed "in-tree configuration present"
    echo "$total_pass passed, $total_fail failed"
    exit 1
fi
if [[ ! -x $SRC/configure || $SRC/configure.ac -nt $SRC/configure ]]; then
    banner "autogen.sh"
    if ! "$SRC/autogen.sh"; then
        step_failed "autogen.sh"
        echo "$total_pass passed, $total_fail failed"
        exit 1
    fi
fi

# --------------------------------------------------------------- 2. build
build_ok=1
build_and_check build "$BUILD" --enable-werror || build_ok=0

# Calls the code base bans (sprintf, strcpy, atoi ...: Makefile.am lint).
if [[ -f $BUILD/Makefile ]]; then
    banner "banned calls (make lint)"
    if make -C "$BUILD" lint; then
        total_pass=$((total_pass + 1))
        report+=("banned calls: ok")
    else
        step_failed "banned calls (make lint)"
    fi
fi

# --------------------------------------------------------------- 3. ASan
if [[ $run_sanitizers -eq 1 ]]; then
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    build_and_check sanitizers "$ASAN_BUILD" --enable-sanitizers --enable-werror || true
    unset ASAN_OPTIONS UBSAN_OPTIONS
fi

# --------------------------------------------------------------- 4. fuzz
# Its own build: libFuzzer's instrumentation covers the whole library.
# Only `make fuzz` here; the corpus replays already ran in steps 2 and 3.
if [[ $run_fuzz -eq 1 ]]; then
    banner "fuzz: configure CC=clang --enable-fuzz --enable-werror"
    mkdir -p "$FUZZ_BUILD"
    if ! (cd "$FUZZ_BUILD" &&
        "$SRC/configure" CC=clang --enable-fuzz --enable-werror); then
        [[ -f $FUZZ_BUILD/config.log ]] && tail -n 60 "$FUZZ_BUILD/config.log"
        step_failed "fuzz: configure"
    else
        banner "fuzz: make -j$JOBS fuzz FUZZ_SECONDS=$FUZZ_SECONDS"
        out=$FUZZ_BUILD/fuzz.out
        rc=0
        make -C "$FUZZ_BUILD" -j"$JOBS" fuzz FUZZ_SECONDS="$FUZZ_SECONDS" \
            2>&1 | tee "$out" || rc=$?
        if count_results "$out" && [[ $((P + F)) -gt 0 ]]; then
            total_pass=$((total_pass + P))
            total_fail=$((total_fail + F))
            report+=("fuzz: $P passed, $F failed (${FUZZ_SECONDS}s each)")
            if [[ $rc -ne 0 && $F -eq 0 ]]; then
                step_failed "fuzz: make fuzz (exit $rc)"
            fi
        else
            step_failed "fuzz: make fuzz (exit $rc, no results)"
        fi
    fi
fi

# --------------------------------------------------------------- 5. distcheck
if [[ $run_distcheck -eq 1 ]]; then
    if [[ $build_ok -eq 1 ]]; then
        banner "distcheck: make -j$JOBS distcheck"
        out=$BUILD/distcheck.out
        rc=0
        make -C "$BUILD" -j"$JOBS" distcheck \
            DISTCHECK_CONFIGURE_FLAGS=--enable-werror 2>&1 | tee "$out" || rc=$?
        if count_results "$out" && [[ $((P + F)) -gt 0 ]]; then
            total_pass=$((total_pass + P))
            total_fail=$((total_fail + F))
            report+=("distcheck: $P passed, $F failed")
        fi
        if [[ $rc -ne 0 ]]; then
            for log in "$BUILD"/synthia-*/_build/sub/test-suite.log; do
                show_failures "$log"
            done
            step_failed "distcheck (exit $rc)"
        else
            report+=("distcheck: tarball ok")
            distcheck_ok=1
        fi
    else
        step_failed "distcheck (skipped: the first build or its tests failed)"
    fi
fi

# --------------------------------------------------------------- 6. packaging
# run_script NAME SCRIPT ARGS...: a script that ends with "N passed, N failed".
run_script() {
    local name=$1 out rc=0 t0=$SECONDS
    shift
    banner "$name: $*"
    out=$BUILD/$name.out
    "$@" 2>&1 | tee "$out" || rc=$?
    read -r P F < <(tail -n 1 "$out" | awk '/passed,/ { print $1 + 0, $3 + 0; exit }
        END { if (NR == 0) print 0, 0 }')
    P=${P:-0} F=${F:-0}
    total_pass=$((total_pass + P))
    total_fail=$((total_fail + F))
    report+=("$name: $P passed, $F failed ($((SECONDS - t0)) s)")
    if [[ $rc -ne 0 && $F -eq 0 ]]; then
        step_failed "$name (exit $rc)"
    fi
}
if [[ $run_packaging -eq 1 ]]; then
    version=$(sed -n "s/^PACKAGE_VERSION = //p" "$BUILD/Makefile" 2>/dev/null || true)
    tarball=$BUILD/synthia-$version.tar.gz
    if [[ $distcheck_ok -eq 1 && -f $tarball ]]; then
        run_script deb "$SRC/tests/test_deb.sh" "$tarball"
        run_script install "$SRC/tests/test_install.sh" "$tarball"
    else
        step_failed "packaging (skipped: distcheck did not pass)"
    fi
fi

banner "summary"
for line in "${report[@]}"; do
    echo "  $line"
done
if [[ ${#cases[@]} -gt 0 ]]; then
    echo "failing cases:"
    printf '%s\n' "${cases[@]}"
fi
echo "$total_pass passed, $total_fail failed"
[[ $total_fail -eq 0 ]]
