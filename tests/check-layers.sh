#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/check-layers.sh - the layer rules of doc/architecture.md (and
# DESIGN.md), checked by grep over app/.  Each header include/synthia/X.h
# belongs to the layer of the app/<layer>/X.c that implements it (headers
# without one, types only, belong to core); a file may not include a
# header of a layer its own layer must never call, nor call a function
# defined in such a layer.  Plus: no libpq or hiredis in routes/, no route
# file calling another, no sy_authn_* in domain/ and store/, no
# sy_route_* outside routes/ and http/.
#
# Prints every violation as FILE: RULE; exits 1 if there is any.
# Usage: tests/check-layers.sh [SRCDIR]
set -u
SRC=${1:-${SY_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}}
cd "$SRC" || exit 2

# layer -> layers it must never call
declare -A NEVER=(
    [fcgi]="routes domain"
    [http]="domain"
    [routes]=""
    [domain]="http routes"
    [auth]="routes domain"
    [ai]="http routes domain"
    [store]="http auth domain routes"
    [cli]="routes http"
    [worker]="routes http"
    [core]="fcgi http routes domain auth ai store cli worker"
)

fail=0
bad() {
    echo "$1: $2"
    fail=1
}

# header name (without .h) -> layer of its .c.  Route files have no
# headers of their own (routes.h declares every handler), so a route file
# named like a module of another layer (routes/search.c, domain/search.c)
# never owns that module's header.
declare -A HEADER_LAYER=([routes]=routes)
for c in app/*/*.c; do
    [[ $c == app/routes/* ]] && continue
    layer=${c#app/}
    layer=${layer%%/*}
    name=$(basename "$c" .c)
    HEADER_LAYER[$name]=$layer
done

# function name -> layer, for every exported sy_* function definition
# (a line starting with "sy_name(" after a return type on the line above)
declare -A FUNC_LAYER
while IFS=: read -r file _ name; do
    layer=${file#app/}
    FUNC_LAYER[${name%%(*}]=${layer%%/*}
done < <(grep -Ho '^sy_[a-z0-9_]*(' app/*/*.c | sed 's/:/::/')

for f in app/*/*.c; do
    layer=${f#app/}
    layer=${layer%%/*}
    never=${NEVER[$layer]-}
    [[ -n $never ]] || never="-"
    # headers
    while read -r h; do
        hl=${HEADER_LAYER[$h]-core}
        [[ $hl == "$layer" ]] && continue
        for n in $never; do
            [[ $hl == "$n" ]] && bad "$f" "includes synthia/$h.h ($hl)"
        done
    done < <(sed -n 's|^#include "synthia/\([a-z0-9_]*\)\.h".*|\1|p' "$f")
    # calls
    while read -r fn; do
        fl=${FUNC_LAYER[$fn]-}
        [[ -z $fl || $fl == "$layer" ]] && continue
        for n in $never; do
            [[ $fl == "$n" ]] && bad "$f" "calls $fn ($fl)"
        done
    done < <(grep -o '\bsy_[a-z0-9_]*(' "$f" | tr -d '(' | sort -u)
done

# routes/: no libpq or hiredis; no calls between route files
grep -l -E '#include <(libpq-fe|hiredis/hiredis)\.h>' app/routes/*.c 2>/dev/null |
    while read -r f; do echo "$f: includes libpq or hiredis"; done | grep . && fail=1
for f in app/routes/*.c; do
    [[ $f == app/routes/routes.c ]] && continue
    for fn in $(grep -o '^sy_[a-z0-9_]*(' "$f" | tr -d '('); do
        for g in app/routes/*.c; do
            [[ $g == "$f" || $g == app/routes/routes.c ]] && continue
            grep -q "\b$fn(" "$g" && bad "$g" "calls $fn of $f"
        done
    done
done

# request-bound authentication only where requests are
for f in app/domain/*.c app/store/*.c; do
    [[ -e $f ]] || continue
    grep -q '\bsy_authn_' "$f" && bad "$f" "calls sy_authn_*"
    grep -q -E '#include "synthia/(request|response|problem|router|dispatch)\.h"' "$f" &&
        bad "$f" "includes an HTTP header"
done
for f in app/cli/*.c app/domain/*.c app/store/*.c; do
    [[ -e $f ]] || continue
    grep -q '\bsy_route_' "$f" && bad "$f" "calls sy_route_*"
    grep -q '#include "synthia/routes.h"' "$f" && bad "$f" "includes routes.h"
done

if [[ $fail -eq 0 ]]; then
    echo "layers: ok ($(ls app/*/*.c | wc -l) files)"
fi
exit $fail
