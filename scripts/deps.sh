#!/usr/bin/env bash
# Installs the Debian packages Marketlens needs when any is missing, and checks the Swift toolchain.
#   scripts/deps.sh [--bench]     --bench also installs wrk
# apt-get update runs only when something has to be installed. Needs root or sudo only then.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

packages=(
    libfcgi-dev libpq-dev libcurl4-openssl-dev libcmark-gfm-dev libcmark-gfm-extensions-dev
    nginx postgresql openssl curl ca-certificates python3 python3-venv chromium
    procps iproute2 pkg-config
)
[[ "${1:-}" == "--bench" ]] && packages+=(wrk)

installed() {
    [[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" == "installed" ]]
}

if ! command -v dpkg-query >/dev/null 2>&1; then
    warn "not a Debian system: install these yourself: ${packages[*]}"
else
    missing=()
    for p in "${packages[@]}"; do installed "$p" || missing+=("$p"); done
    if ((${#missing[@]})); then
        log "installing missing packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        as_root apt-get update -qq
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
        ok "installed ${#missing[@]} package(s)"
    fi
fi

if ! command -v swift >/dev/null 2>&1; then
    die "swift not found on PATH: install a Swift 6 toolchain (https://www.swift.org/install/linux/) and retry"
fi
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin"
fi
