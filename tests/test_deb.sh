#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/test_deb.sh - a packager's build: a .deb from the release tarball
# with dpkg-buildpackage and Debian's default build flags, using the
# packaging in conf/debian; then
#   - lintian on the source and binary packages: 0 errors;
#   - hardening-check on the packaged binary: every check passes (PIE,
#     stack protector, _FORTIFY_SOURCE, read-only relocations, immediate
#     binding);
#   - what the package holds: the units (not the worker's), the sysusers.d
#     and tmpfiles.d entries, the examples with no @placeholders@.
#
# Usage: tests/test_deb.sh [TARBALL]
#   TARBALL defaults to BUILD_DIR/synthia-VERSION.tar.gz, made with `make
#   dist` in BUILD_DIR (default SRC/_build) when it is missing.
# Needs (tests/deps.sh installs them): dpkg-dev, debhelper, lintian,
# devscripts (hardening-check) and synthia's build dependencies.
# Run by tests/run-all.sh after distcheck (not by make check: it builds
# the whole tree once more).  Prints "N passed, N failed"; exit 1 on failure.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${BUILD_DIR:-$SRC/_build}
JOBS=${JOBS:-2}
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
finish() {
    echo "$pass passed, $fail failed"
    [[ $fail -eq 0 ]]
    exit
}

for tool in dpkg-buildpackage dh lintian hardening-check; do
    command -v "$tool" >/dev/null ||
        { bad "$tool not found (tests/deps.sh installs it)"; finish; }
done

tarball=${1:-}
if [[ -z $tarball ]]; then
    [[ -f $BUILD/Makefile ]] || { bad "no $BUILD/Makefile: configure first"; finish; }
    version=$(sed -n "s/^PACKAGE_VERSION = //p" "$BUILD/Makefile")
    tarball=$BUILD/synthia-$version.tar.gz
    if [[ ! -f $tarball ]]; then
        make -s -C "$BUILD" dist >/dev/null || { bad "make dist failed"; finish; }
    fi
fi
[[ -f $tarball ]] || { bad "no tarball $tarball"; finish; }
base=$(basename "$tarball" .tar.gz) # synthia-VERSION
version=${base#synthia-}

tmp=$(mktemp -d /tmp/sy-deb.XXXXXX)
keep=0
cleanup() { [[ $keep -eq 1 ]] && echo "# kept $tmp" || rm -rf "$tmp"; }
trap cleanup EXIT

# The source package: the tarball as the orig, conf/debian as debian/.
cp "$tarball" "$tmp/synthia_$version.orig.tar.gz"
tar -C "$tmp" -xzf "$tarball"
src=$tmp/$base
if [[ ! -d $src/conf/debian ]]; then
    bad "the tarball has no conf/debian"
    finish
fi
cp -r "$src/conf/debian" "$src/debian"
pkgver=$(cd "$src" && dpkg-parsechangelog -S Version)
if [[ ${pkgver%-*} == "$version" ]]; then
    ok "conf/debian/changelog is for $version ($pkgver)"
else
    bad "conf/debian/changelog says $pkgver, the tarball is $version: add a changelog entry"
    finish
fi

# Debian's default flags: nothing of ours may leak into dpkg-buildflags.
unset CFLAGS CPPFLAGS CXXFLAGS LDFLAGS DEB_BUILD_MAINT_OPTIONS
unset DEB_CFLAGS_APPEND DEB_CPPFLAGS_APPEND DEB_LDFLAGS_APPEND
export DEB_BUILD_OPTIONS="parallel=$JOBS"
log=$tmp/build.log
t0=$SECONDS
if (cd "$src" && dpkg-buildpackage -us -uc >"$log" 2>&1); then
    ok "dpkg-buildpackage -us -uc ($((SECONDS - t0)) s)"
else
    bad "dpkg-buildpackage failed; last lines of the log:"
    tail -n 40 "$log" | sed 's/^/    /'
    keep=1
    finish
fi
flags=$(cd "$src" && dpkg-buildflags --get CFLAGS)
if grep -qF -- "$flags" "$log"; then
    ok "compiled with dpkg-buildflags' CFLAGS ($flags)"
else
    bad "the build log does not show dpkg-buildflags' CFLAGS ($flags)"
fi

changes=$(ls "$tmp"/synthia_"$pkgver"_*.changes)
deb=$(ls "$tmp"/synthia_"$pkgver"_*.deb | grep -v dbgsym)

# lintian: errors fail; warnings and below are listed for the record.
out=$(lintian --no-tag-display-limit --fail-on error "$changes" 2>&1) && rc=0 || rc=$?
errors=$(grep -c '^E: ' <<<"$out" || true)
if [[ $rc -eq 0 && $errors -eq 0 ]]; then
    ok "lintian: 0 errors ($(grep -c '^W: ' <<<"$out" || true) warnings)"
else
    bad "lintian: $errors errors (exit $rc)"
fi
grep -E '^[EW]: ' <<<"$out" | sed 's/^/    /' || true

# hardening-check on what the package installs.  Control-flow protection
# (x86 CET: IBT/SHSTK) is checked when this toolchain can produce it at
# all: the linker keeps the property only when every object has it, and
# Debian 12's C runtime objects (crt1.o) have not, so no bookworm binary
# carries it; configure asks for -fcf-protection anyway.
root=$tmp/root
dpkg-deb -x "$deb" "$root"
hc=()
printf 'int main(void) { return 0; }\n' >"$tmp/cet.c"
if gcc -fcf-protection -o "$tmp/cet" "$tmp/cet.c" 2>/dev/null &&
    readelf -n "$tmp/cet" | grep -q 'IBT'; then
    cet="checked"
else
    hc+=(--nocfprotection)
    cet="not checked: this toolchain's C runtime lacks IBT/SHSTK, no binary here can have them"
fi
if out=$(hardening-check "${hc[@]}" "$root/usr/sbin/synthia" 2>&1); then
    ok "hardening-check /usr/sbin/synthia: all pass (control-flow protection $cet)"
else
    bad "hardening-check /usr/sbin/synthia (control-flow protection $cet):"
fi
sed 's/^/    /' <<<"$out"

# What the package holds.
want=(usr/sbin/synthia etc/synthia/synthia.conf lib/systemd/system/synthia.socket
    lib/systemd/system/synthia.service usr/lib/sysusers.d/synthia.conf
    usr/lib/tmpfiles.d/synthia.conf usr/share/man/man8/synthia.8.gz
    usr/share/man/man5/synthia.conf.5.gz usr/share/synthia/www/index.html
    usr/share/synthia/apache/synthia-problem.lua
    usr/share/synthia/lighttpd/synthia-problem.lua
    usr/share/doc/synthia/examples/nginx/synthia.conf)
missing=
for f in "${want[@]}"; do
    [[ -e $root/$f ]] || missing+=" /$f"
done
if [[ -z $missing ]]; then
    ok "the package holds the binary, config, units, sysusers/tmpfiles, man pages, www, examples"
else
    bad "missing from the package:$missing"
fi
# the worker unit ships now that `synthia worker` exists: it must start
# the packaged binary's worker command
unit=$root/lib/systemd/system/synthia-worker.service
if [[ -f $unit ]] &&
    grep -Eq '^ExecStart=/usr/s?bin/synthia( .*)? worker( |$)' "$unit"; then
    ok "the package ships synthia-worker.service running synthia worker"
else
    bad "synthia-worker.service missing or not running synthia worker"
fi
if grep -rlq '@[A-Za-z_]*@' "$root/usr/share/doc/synthia/examples" "$root/lib/systemd"; then
    bad "placeholders left in: $(grep -rl '@[A-Za-z_]*@' "$root/usr/share/doc/synthia/examples" "$root/lib/systemd" | tr '\n' ' ')"
else
    ok "examples and units have this package's paths filled in"
fi
if dpkg-deb -I "$deb" postinst 2>/dev/null | grep -q 'systemd-sysusers'; then
    ok "postinst creates the synthia user (systemd-sysusers)"
else
    bad "postinst does not run systemd-sysusers"
fi

[[ $fail -eq 0 ]] || keep=1
finish
