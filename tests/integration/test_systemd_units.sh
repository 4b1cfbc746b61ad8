#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_systemd_units.sh - the shipped systemd units, sysusers.d and
# tmpfiles.d entries are valid.
#
# `systemd-analyze verify` checks that ExecStart binaries and the man pages
# named in Documentation= exist, so the units built for this configuration
# (gen/systemd/, with @sbindir@ etc. filled in) are copied, their synthia
# path pointed at the freshly built binary, and MANPATH at the freshly
# built man pages.  Everything else is verified as it will be installed.
#
# Exit 0 pass, 1 fail, 77 skip: only when systemd-analyze is not installed.
set -euo pipefail

B=${SY_BUILDDIR:-$PWD}
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }

if ! command -v systemd-analyze >/dev/null; then
    echo "SKIP: systemd-analyze not found (apt-get install systemd)"
    exit 77
fi
[[ -x $B/synthia ]] || { echo "FAIL: $B/synthia not built"; exit 1; }

units=(synthia.socket synthia.service synthia-worker.service)
for f in "${units[@]/#/gen/systemd/}" synthia.8 synthia.conf.5 \
    gen/sysusers.d/synthia.conf gen/tmpfiles.d/synthia.conf; do
    [[ -f $B/$f ]] || make -s -C "$B" "$f" >/dev/null ||
        { echo "FAIL: cannot make $f"; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/units" "$tmp/man/man8" "$tmp/man/man5" "$tmp/root"
cp "$B/synthia.8" "$tmp/man/man8/"
cp "$B/synthia.conf.5" "$tmp/man/man5/"
for u in "${units[@]}"; do
    # Exec*=/installed/path/synthia ...  ->  Exec*=$B/synthia ...
    sed -E "s#^(Exec[A-Za-z]*=[-@:+!]*)/[^ ]*/synthia( |$)#\\1$B/synthia\\2#" \
        "$B/gen/systemd/$u" >"$tmp/units/$u"
done

# What the install will contain: the configured paths, no placeholders.
if grep -q '@[A-Za-z_]*@' "$B"/gen/systemd/* "$B"/gen/sysusers.d/* "$B"/gen/tmpfiles.d/*; then
    bad "unsubstituted placeholders: $(grep -ho '@[A-Za-z_]*@' "$B"/gen/systemd/* | sort -u | tr '\n' ' ')"
else
    ok "no placeholders left in the generated units"
fi
exec_start=$(sed -n 's/^ExecStart=//p' "$B/gen/systemd/synthia.service")
case $exec_start in
/*/synthia\ serve\ --config\ /*/synthia/synthia.conf) ok "ExecStart=$exec_start" ;;
*) bad "unexpected ExecStart=$exec_start" ;;
esac

# systemd-analyze verify: clean means exit 0 and nothing printed.
out=$(cd "$tmp/units" && MANPATH=$tmp/man SYSTEMD_LOG_LEVEL=notice \
    systemd-analyze verify "${units[@]}" 2>&1) && rc=0 || rc=$?
if [[ $rc -eq 0 && -z $out ]]; then
    ok "systemd-analyze verify ${units[*]}: clean"
else
    bad "systemd-analyze verify (exit $rc):"
    sed 's/^/    /' <<<"$out"
fi

# Hardening must not regress: the exposure score (0-100, lower is better;
# `systemd-analyze security` prints it /10) stays at or below 2.0.
for u in synthia.service synthia-worker.service; do
    out=$(cd "$tmp/units" && systemd-analyze security --offline=yes \
        --threshold=20 --no-pager "$u" 2>&1) && rc=0 || rc=$?
    level=$(grep -o 'Overall exposure level for [^:]*: [0-9.]*' <<<"$out" | awk '{print $NF}')
    if [[ $rc -eq 0 ]]; then
        ok "$u: exposure ${level:-?} (threshold 2.0)"
    else
        bad "$u: exposure ${level:-?} above 2.0 (or security failed, exit $rc):"
        grep -E '✗|Failed|rror' <<<"$out" | sed 's/^/    /' | head -20
    fi
done

# sysusers.d: the synthia user as systemd-sysusers would create it.
if command -v systemd-sysusers >/dev/null; then
    mkdir -p "$tmp/root/etc"
    : >"$tmp/root/etc/passwd"
    : >"$tmp/root/etc/group"
    if out=$(systemd-sysusers --root="$tmp/root" "$B/gen/sysusers.d/synthia.conf" 2>&1) &&
        grep -q '^synthia:' "$tmp/root/etc/passwd"; then
        ok "sysusers.d entry creates the synthia user"
    else
        bad "systemd-sysusers: ${out:-no synthia user created}"
    fi
fi

# tmpfiles.d: creates /run/synthia (in a scratch root).
if command -v systemd-tmpfiles >/dev/null; then
    if out=$(systemd-tmpfiles --root="$tmp/root" --create \
        "$B/gen/tmpfiles.d/synthia.conf" 2>&1) && [[ -d $tmp/root/run/synthia ]]; then
        ok "tmpfiles.d entry creates /run/synthia"
    else
        bad "systemd-tmpfiles: ${out:-/run/synthia not created}"
    fi
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
