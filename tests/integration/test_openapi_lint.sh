#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# test_openapi_lint.sh - www/openapi.json passes the two common OpenAPI
# linters and names the software it describes:
#
#  - info.version is configure's version (PACKAGE_VERSION in config.h,
#    which `synthia version` and /health report too), info.contact.email
#    configure's bug-report address, info.license BSD-2-Clause;
#  - Redocly CLI `lint` with its recommended rules: 0 errors, 0 warnings;
#  - Spectral with its `spectral:oas` ruleset: 0 errors.
#
# The linters are test-only tools from the npm registry, installed by this
# test (pinned versions, once, into SY_TOOLS_DIR, default
# ~/.cache/synthia-tests) and never needed to build or run synthia.
#
# Runs from `make check` (SY_BUILDDIR, SY_SRCDIR set) or by hand from the
# build directory.  Exit 0 pass, 1 fail, 77 skip: only when npm is missing
# and CI is not set (in CI that is a failure).
set -euo pipefail

B=${SY_BUILDDIR:-$PWD}
S=${SY_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
DOC=$S/www/openapi.json
REDOCLY=@redocly/cli@1.34.5 # 1.x: runs on Debian 12's Node.js 18
SPECTRAL=@stoplight/spectral-cli@6.15.0
pass=0
fail=0
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }

command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
[[ -f $B/config.h ]] || { echo "FAIL: no $B/config.h (set SY_BUILDDIR)"; exit 1; }

# --- what the document says about the software
if out=$(python3 - "$DOC" "$B/config.h" <<'EOF'
import json, re, sys
d = json.load(open(sys.argv[1]))["info"]
h = open(sys.argv[2]).read()
def define(name):
    m = re.search(r'^#define %s "([^"]*)"' % name, h, re.M)
    return m.group(1) if m else None
want = {"version": define("PACKAGE_VERSION"),
        "contact.email": define("PACKAGE_BUGREPORT"),
        "license.identifier": "BSD-2-Clause"}
have = {"version": d.get("version"),
        "contact.email": (d.get("contact") or {}).get("email"),
        "license.identifier": (d.get("license") or {}).get("identifier")}
errs = ["info.%s is %r, configure says %r" % (k, have[k], v)
        for k, v in want.items() if have[k] != v or not v]
print("; ".join(errs) or "version %s, contact %s" % (have["version"], have["contact.email"]))
sys.exit(1 if errs else 0)
EOF
); then
    ok "info: $out (as configure.ac)"
else
    bad "info: $out"
fi

# --- the linters
if ! command -v npm >/dev/null; then
    if [[ -n ${CI:-} ]]; then
        bad "npm not found (apt-get install npm; tests/deps.sh does)"
        echo "$pass passed, $fail failed"
        exit 1
    fi
    echo "SKIP: npm not found (apt-get install npm): the linters were not run"
    echo "$pass passed, $fail failed"
    [[ $fail -eq 0 ]] && exit 77
    exit 1
fi

tools=${SY_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/synthia-tests}
dir=$tools/openapi-lint-$(printf '%s %s' "$REDOCLY" "$SPECTRAL" | sha256sum | cut -c1-12)
mkdir -p "$tools"
(
    # one installer at a time (make check -j, parallel builds)
    flock 9
    if [[ ! -x $dir/node_modules/.bin/redocly || ! -x $dir/node_modules/.bin/spectral ]]; then
        echo "# installing $REDOCLY $SPECTRAL into $dir (once)"
        rm -rf "$dir.tmp"
        mkdir -p "$dir.tmp"
        printf '{"name":"synthia-openapi-lint","private":true}\n' >"$dir.tmp/package.json"
        npm install --prefix "$dir.tmp" --no-audit --no-fund --loglevel=error \
            "$REDOCLY" "$SPECTRAL" >"$dir.tmp.log" 2>&1 ||
            { tail -n 20 "$dir.tmp.log" | sed 's/^/#   /'; rm -rf "$dir.tmp"; exit 1; }
        rm -rf "$dir"
        mv "$dir.tmp" "$dir"
        rm -f "$dir.tmp.log"
    fi
) 9>"$tools/.openapi-lint.lock" || {
    bad "npm install $REDOCLY $SPECTRAL failed"
    echo "$pass passed, $fail failed"
    exit 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Redocly: the recommended rules (no config file anywhere up the tree).
if (cd "$tmp" && "$dir/node_modules/.bin/redocly" lint --format=json "$DOC" \
    >"$tmp/redocly.json" 2>"$tmp/redocly.err"); then :; fi
if out=$(python3 - "$tmp/redocly.json" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError:
    print("no JSON report"); sys.exit(1)
t = d["totals"]
for p in d.get("problems", [])[:20]:
    loc = (p.get("location") or [{}])[0].get("pointer", "")
    print("  %s %s: %s %s" % (p.get("severity"), p.get("ruleId"), loc, p.get("message")))
print("%d errors, %d warnings" % (t["errors"], t["warnings"]))
sys.exit(0 if t["errors"] == 0 and t["warnings"] == 0 else 1)
EOF
); then
    ok "redocly lint (recommended): ${out##*$'\n'}"
else
    bad "redocly lint (recommended):"
    sed 's/^/    /' <<<"$out"
    sed 's/^/    /' "$tmp/redocly.err" | tail -n 5
fi

# Spectral: the oas ruleset; errors fail, warnings are listed by count.
echo 'extends: ["spectral:oas"]' >"$tmp/ruleset.yaml"
if (cd "$tmp" && "$dir/node_modules/.bin/spectral" lint -r "$tmp/ruleset.yaml" \
    -f json --quiet "$DOC" >"$tmp/spectral.json" 2>"$tmp/spectral.err"); then :; fi
if out=$(python3 - "$tmp/spectral.json" <<'EOF'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
except ValueError:
    print("no JSON report"); sys.exit(1)
errs = [r for r in d if r.get("severity") == 0]
for r in errs[:20]:
    print("  %s: %s %s" % (r.get("code"), ".".join(map(str, r.get("path", []))),
                           r.get("message")))
print("%d errors, %d warnings" % (len(errs), sum(1 for r in d if r.get("severity") == 1)))
sys.exit(1 if errs else 0)
EOF
); then
    ok "spectral lint (spectral:oas): ${out##*$'\n'}"
else
    bad "spectral lint (spectral:oas):"
    sed 's/^/    /' <<<"$out"
    sed 's/^/    /' "$tmp/spectral.err" | tail -n 5
fi

echo "$pass passed, $fail failed"
[[ $fail -eq 0 ]]
