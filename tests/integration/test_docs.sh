#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_docs.sh - the man pages cannot drift from the binary.
#
#  - synthia.conf(5) lists every key of `synthia check-config --keys` with
#    the same default and environment name, and no key that does not exist;
#  - synthia(8) documents every command that `synthia help` lists;
#  - both pages carry the version of `synthia version` and format without
#    groff warnings.
#
# Runs from `make check` (SY_BUILDDIR, SY_SRCDIR set) or by hand from the
# build directory.  Exit 0 pass, 1 fail, 77 skip (no python3).
set -euo pipefail

B=${SY_BUILDDIR:-$PWD}
fail=0
pass=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }

command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
[[ -x $B/synthia ]] || { echo "FAIL: $B/synthia not built"; exit 1; }

# The pages are build products; make them if this runs outside `make`.
for page in synthia.8 synthia.conf.5; do
    if [[ ! -f $B/$page ]]; then
        make -s -C "$B" "$page" >/dev/null || { bad "cannot make $page"; }
    fi
done

# --- synthia.conf(5) against check-config --keys
keys_json=$(mktemp)
trap 'rm -f "$keys_json"' EXIT
if "$B/synthia" check-config --keys >"$keys_json"; then
    if out=$(python3 - "$keys_json" "$B/synthia.conf.5" <<'EOF'
import json, re, sys

keys = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
page = open(sys.argv[2], encoding="utf-8").read().splitlines()

def unroff(s):
    return s.replace("\\-", "-").replace("\\e", "\\").replace("\\(dq", '"')

# .SS "[section]" / .TP / .B key / Default: \fBv\fR.  Environment: \fBENV\fR.
doc, section, errors = {}, None, []
for i, line in enumerate(page):
    m = re.match(r'^\.SS "\[([\w.]+)\]"$', line)
    if m:
        section = m.group(1)
        continue
    if line == ".TP" and section and i + 2 < len(page):
        k = re.match(r"^\.B (\S+)$", page[i + 1])
        d = re.match(r"^Default: (?:\\fB(.*?)\\fR|empty)\.  "
                     r"Environment: \\fB(SYNTHIA_\w+)\\fR\.$", page[i + 2])
        if k and d:
            name = (section, unroff(k.group(1)))
            if name in doc:
                errors.append("%s.%s is documented twice" % name)
            doc[name] = (unroff(d.group(1) or ""), d.group(2))
        elif k:
            errors.append("line %d: .B %s is not followed by the "
                          "'Default: ...  Environment: ...' line"
                          % (i + 3, k.group(1)))

for k in keys:
    name = (k["section"], k["key"])
    if name not in doc:
        errors.append("%s.%s (%s) is missing from synthia.conf(5)"
                      % (name + (k["env"],)))
        continue
    default, env = doc.pop(name)
    if default != k["default"]:
        errors.append("%s.%s: the page says default %r, the binary %r"
                      % (name + (default, k["default"])))
    if env != k["env"]:
        errors.append("%s.%s: the page says %s, the binary %s"
                      % (name + (env, k["env"])))
for name in doc:
    errors.append("%s.%s is documented but the binary has no such key" % name)
print("%d keys" % len(keys))
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
EOF
    ); then
        ok "synthia.conf(5) lists every key with its default and env name (${out})"
    else
        bad "synthia.conf(5) and 'synthia check-config --keys' disagree:"
        sed 's/^/    /' <<<"$out"
    fi
else
    bad "synthia check-config --keys failed"
fi

# --- synthia(8) against the commands in `synthia help`
cmds=$("$B/synthia" help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\).*/\1/p')
if [[ -z $cmds ]]; then
    bad "no commands found in 'synthia help'"
else
    missing=
    for c in $cmds; do
        # a .TP entry that starts with the command, in bold
        grep -Eq "^\\.B ${c//-/\\\\-}( |$)" "$B/synthia.8" || missing+=" $c"
    done
    if [[ -z $missing ]]; then
        ok "synthia(8) documents every command of 'synthia help':" $cmds
    else
        bad "synthia(8) does not document:$missing"
    fi
fi

# --- version and formatting
version=$("$B/synthia" version | python3 -c 'import json,sys; print(json.load(sys.stdin)["version"])')
for page in synthia.8 synthia.conf.5; do
    if head -n 8 "$B/$page" | grep -q "^\\.TH .*\"synthia $version\""; then
        ok "$page carries version $version"
    else
        bad "$page does not carry version $version in .TH"
    fi
    if grep -q '@[A-Za-z_]*@' "$B/$page"; then
        bad "$page has unsubstituted placeholders: $(grep -o '@[A-Za-z_]*@' "$B/$page" | sort -u | tr '\n' ' ')"
    else
        ok "$page has no placeholders left"
    fi
    if command -v groff >/dev/null; then
        warn=$(groff -man -ww -z "$B/$page" 2>&1 || true)
        if [[ -z $warn ]]; then
            ok "$page formats without groff warnings"
        else
            bad "$page: groff warnings:"
            sed 's/^/    /' <<<"$warn"
        fi
    fi
done

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
