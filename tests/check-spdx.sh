#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/check-spdx.sh - list the tracked files whose format has comments
# but that carry no "SPDX-License-Identifier:" line near their top
# (within the first 10 lines), as DESIGN.md asks of every source, script,
# config and www file.  Exit 0 when there is none, 1 when there are (they
# are listed, one per line), 2 on a usage error or outside a git checkout.
#
# Formats without comments (JSON) and files that are not ours to label
# (COPYING itself) are left out; everything else that git tracks is
# checked, so a new file type shows up here until it is classified below.
#
# Usage: tests/check-spdx.sh [PATH...]   (default: the whole tree)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    echo "check-spdx: not a git checkout (it checks the tracked files)" >&2
    exit 2
fi

# Formats without comments, and the licence text itself.  Everything else
# that git tracks has comments (#, //, /* */, <!-- -->, .\", --).
no_comments() {
    case $1 in
    */debian/changelog | */debian/source/format) return 0 ;;
    tests/fuzz/corpus/*) return 0 ;; # parser inputs, byte for byte
    esac
    case ${1##*/} in
    COPYING | *.json) return 0 ;;
    esac
    return 1
}

missing=0
while IFS= read -r -d '' f; do
    [[ -f $f ]] || continue # deleted in the work tree
    no_comments "$f" && continue
    if ! head -n 10 -- "$f" | grep -q 'SPDX-License-Identifier:'; then
        echo "$f"
        missing=$((missing + 1))
    fi
done < <(git ls-files -z -- "$@")

if [[ $missing -gt 0 ]]; then
    echo "check-spdx: $missing file(s) without an SPDX-License-Identifier line" >&2
    exit 1
fi
