#!/bin/bash
# SPDX-License-Identifier: BSD-2-Clause
# tests/deps.sh - install what building and testing synthia needs on
# Debian 12 (bookworm).
#
# A fast no-op when every package is present.  Otherwise, as root, it runs
# `apt-get update` once and installs the missing packages without
# recommends.  The distro's own services (PostgreSQL, Redis, nginx, Apache,
# lighttpd, Caddy) are kept from starting while apt runs, and disabled
# afterwards when this script installed them: the tests start their own
# throwaway instances on random loopback ports (tests/stack.sh).
#
# Usage: tests/deps.sh [--check]
#   --check   only report what is missing (exit 1 if anything is)
set -euo pipefail

PACKAGES=(
    build-essential autoconf automake libtool pkg-config
    libfcgi-dev libpq-dev libhiredis-dev libjson-c-dev libjwt-dev
    libcurl4-openssl-dev liblz4-dev check libsubunit-dev libargon2-dev
    libssl-dev
    libjpeg62-turbo-dev libpng-dev libwebp-dev
    clang libclang-rt-14-dev
    postgresql redis-server nginx apache2 lighttpd lighttpd-modules-lua caddy
    spawn-fcgi wrk
    python3 curl procps iproute2 systemd openssl groff-base
    dpkg-dev debhelper lintian devscripts
)
# service name -> package that ships it
declare -A SERVICES=(
    [postgresql]=postgresql
    [redis-server]=redis-server
    [nginx]=nginx
    [apache2]=apache2
    [lighttpd]=lighttpd
    [caddy]=caddy
)

check_only=0
if [[ ${1:-} == --check ]]; then
    check_only=1
elif [[ $# -gt 0 ]]; then
    echo "usage: $0 [--check]" >&2
    exit 2
fi

installed() {
    local status
    status=$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) || return 1
    [[ $status == installed ]]
}

# Commands that may come from elsewhere than Debian's archive (Node.js
# from NodeSource ships its own npm, and conflicts with Debian's npm):
# the Debian package only when the command is missing.
declare -A COMMANDS=(
    [npm]=npm # OpenAPI linters (tests/integration/test_openapi_lint.sh)
)

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
for c in "${!COMMANDS[@]}"; do
    command -v "$c" >/dev/null || missing+=("${COMMANDS[$c]}")
done

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

echo "deps: missing Debian packages: ${missing[*]}"
if [[ $check_only -eq 1 ]]; then
    exit 1
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "deps: run as root, or: sudo apt-get install --no-install-recommends ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive

# Keep maintainer scripts from starting services while we install
# (policy-rc.d is honoured by invoke-rc.d and deb-systemd-invoke).  An
# existing policy-rc.d belongs to the admin: leave it alone.
policy=/usr/sbin/policy-rc.d
own_policy=0
cleanup() {
    if [[ $own_policy -eq 1 ]]; then
        rm -f "$policy"
    fi
}
trap cleanup EXIT
if [[ ! -e $policy ]]; then
    printf '#!/bin/sh\n# added by synthia tests/deps.sh while installing\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    own_policy=1
fi

apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Services from packages we just installed must not run or start at boot.
systemd_running=0
if [[ -d /run/systemd/system ]]; then
    systemd_running=1
fi
for svc in "${!SERVICES[@]}"; do
    pkg=${SERVICES[$svc]}
    new=0
    for m in "${missing[@]}"; do
        if [[ $m == "$pkg" ]]; then
            new=1
        fi
    done
    [[ $new -eq 1 ]] || continue
    if [[ $systemd_running -eq 1 ]]; then
        systemctl disable --now "$svc" >/dev/null 2>&1 || true
    else
        if [[ -x /etc/init.d/$svc ]]; then
            /etc/init.d/"$svc" stop >/dev/null 2>&1 || true
        fi
        if command -v update-rc.d >/dev/null; then
            update-rc.d "$svc" disable >/dev/null 2>&1 || true
        fi
    fi
done

still=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || still+=("$p")
done
for c in "${!COMMANDS[@]}"; do
    command -v "$c" >/dev/null || still+=("${COMMANDS[$c]} (command $c)")
done
if [[ ${#still[@]} -gt 0 ]]; then
    echo "deps: still missing after apt-get install: ${still[*]}" >&2
    exit 1
fi
echo "deps: installed ${missing[*]}"
