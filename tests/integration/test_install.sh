#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_install.sh - `make install DESTDIR=...` puts every file where the FHS
# and Debian policy expect it (for this configuration's prefix), with the
# paths filled in, and `make uninstall DESTDIR=...` leaves no file behind.
#
# Runs from `make check` (SY_BUILDDIR set) or by hand from the build
# directory.  Exit 0 pass, 1 fail.
set -euo pipefail

B=${SY_BUILDDIR:-$PWD}
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }

[[ -f $B/Makefile ]] || { echo "FAIL: no Makefile in $B (set SY_BUILDDIR)"; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
D=$tmp/dest

# Installation directories of this configuration (prefix, sbindir, ...).
# A sub-make of `make check` runs with its own, empty MAKEFLAGS (no
# jobserver or -j of the parent), silently.
mk() { MAKEFLAGS="" make -s -C "$B" "$@"; }
eval "$(mk print-install-dirs)"

if mk install DESTDIR="$D" >"$tmp/install.log" 2>&1; then
    ok "make install DESTDIR=..."
else
    bad "make install DESTDIR=... failed:"
    tail -n 30 "$tmp/install.log" | sed 's/^/    /'
    echo "$pass passed, $fail failed"
    exit 1
fi

expect=(
    "$sbindir/synthia"
    "$sysconfdir/synthia/synthia.conf"
    "$pkgdatadir/www/index.html"
    "$pkgdatadir/apache/synthia-problem.lua"
    "$pkgdatadir/lighttpd/synthia-problem.lua"
    "$mandir/man8/synthia.8"
    "$mandir/man5/synthia.conf.5"
    "$docdir/examples/nginx/synthia.conf"
    "$docdir/examples/apache/synthia.conf"
    "$docdir/examples/lighttpd/synthia.conf"
    "$docdir/examples/caddy/Caddyfile"
    "$docdir/examples/spawn-fcgi/synthia-spawn-fcgi.sh"
)
if [[ -n $systemdsystemunitdir ]]; then
    expect+=(
        "$systemdsystemunitdir/synthia.socket"
        "$systemdsystemunitdir/synthia.service"
        "$sysusersdir/synthia.conf"
        "$tmpfilesdir/synthia.conf"
    )
fi
missing=
for f in "${expect[@]}"; do
    [[ -f $D$f ]] || missing+=" $f"
done
if [[ -z $missing ]]; then
    ok "installed at the expected places (${#expect[@]} files)"
else
    bad "missing after install:$missing"
fi

# The worker's unit, running `synthia worker`.
if [[ -n $systemdsystemunitdir ]]; then
    if grep -qx "ExecStart=$sbindir/synthia worker --config $sysconfdir/synthia/synthia.conf" \
        "$D$systemdsystemunitdir/synthia-worker.service" 2>/dev/null; then
        ok "synthia-worker.service runs $sbindir/synthia worker"
    else
        bad "synthia-worker.service missing or its ExecStart is wrong"
    fi
fi

sql=$(find "$D$pkgdatadir/sql" -name '[0-9][0-9][0-9]_*.sql' -type f 2>/dev/null | wc -l)
if [[ $sql -gt 0 ]]; then
    ok "$sql migration(s) in $pkgdatadir/sql"
else
    bad "no migrations in $pkgdatadir/sql"
fi

# Nothing outside the configured directories, nothing in odd places.
stray=$(cd "$D" && find . -type f | sed 's|^\.||' | while read -r f; do
    case $f in
    "$sbindir"/* | "$sysconfdir"/synthia/* | "$pkgdatadir"/* | "$mandir"/man[58]/* | \
        "$docdir"/* | "${systemdsystemunitdir:-/nonexistent}"/* | "$sysusersdir"/* | \
        "$tmpfilesdir"/*) ;;
    *) echo "$f" ;;
    esac
done)
if [[ -z $stray ]]; then
    ok "no file outside the configured directories"
else
    bad "files in unexpected places:" $stray
fi

# Modes: the binary and the example script executable, data not.
if [[ -x $D$sbindir/synthia && -x $D$docdir/examples/spawn-fcgi/synthia-spawn-fcgi.sh ]]; then
    ok "binary and spawn-fcgi script are executable"
else
    bad "binary or spawn-fcgi script not executable"
fi
execdata=$(find "$D$pkgdatadir" "$D$mandir" "$D$sysconfdir" -type f -perm /111 2>/dev/null || true)
if [[ -z $execdata ]]; then
    ok "data, man pages and config are not executable"
else
    bad "executable data files:" $execdata
fi

# Paths filled in for this installation.
left=$(grep -rl '@[A-Za-z_]*@' "$D$mandir" "$D$docdir" \
    ${systemdsystemunitdir:+"$D$systemdsystemunitdir"} 2>/dev/null || true)
if [[ -z $left ]]; then
    ok "no @placeholders@ left in man pages, examples and units"
else
    bad "placeholders left in:" $left
fi
if [[ -n $systemdsystemunitdir ]]; then
    if grep -qx "ExecStart=$sbindir/synthia serve --config $sysconfdir/synthia/synthia.conf" \
        "$D$systemdsystemunitdir/synthia.service"; then
        ok "synthia.service runs $sbindir/synthia with $sysconfdir/synthia/synthia.conf"
    else
        bad "synthia.service ExecStart: $(grep '^ExecStart=' "$D$systemdsystemunitdir/synthia.service")"
    fi
fi
if grep -q "server unix:/run/synthia/fcgi.sock;" "$D$docdir/examples/nginx/synthia.conf" &&
    grep -q "root $pkgdatadir/www;" "$D$docdir/examples/nginx/synthia.conf"; then
    ok "nginx example points at /run/synthia/fcgi.sock and $pkgdatadir/www"
else
    bad "nginx example does not point at the installed socket and www root"
fi
for server in apache lighttpd; do
    if grep -q "$pkgdatadir/$server/synthia-problem.lua" \
        "$D$docdir/examples/$server/synthia.conf"; then
        ok "$server example runs the installed $pkgdatadir/$server/synthia-problem.lua"
    else
        bad "$server example does not point at $pkgdatadir/$server/synthia-problem.lua"
    fi
done

if mk uninstall DESTDIR="$D" >"$tmp/uninstall.log" 2>&1; then
    ok "make uninstall DESTDIR=..."
else
    bad "make uninstall DESTDIR=... failed:"
    tail -n 30 "$tmp/uninstall.log" | sed 's/^/    /'
fi
left=$(find "$D" ! -type d)
if [[ -z $left ]]; then
    ok "nothing left after uninstall"
else
    bad "left after uninstall:" $left
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
