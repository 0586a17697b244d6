#!/usr/bin/env bash
# `make soak`: builds (debug, unless MARKETLENS_BIN / UPSTREAM_SIM_BIN name binaries) and runs tests/soak/soak.py,
# the multi-host soak on network namespaces. Needs root. Arguments go to soak.py (see `tests/soak/soak.py -h`).
#
# Environment: SOAK_DURATION (600 s), SOAK_APP_HOSTS (3), SOAK_WORKERS (2 per host), SOAK_REPORT_EVERY (2 s),
# SOAK_BATCH_EVERY (15 s), SOAK_VIEWERS (4 per report), SOAK_TIME_SCALE (0.05), SOAK_KEEP_DIR=1 (keep the logs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ML_ROOT"
is_root || die "the soak builds network namespaces: run it as root"
command -v ip >/dev/null || die "the soak needs iproute2 (apt-get install -y iproute2)"
if [[ -z "${MARKETLENS_BIN:-}" || -z "${UPSTREAM_SIM_BIN:-}" ]]; then
    bash scripts/deps.sh
    log "building (debug)"
    swift build >&2
    bin_path="$(swift build --show-bin-path)"
    export MARKETLENS_BIN="${MARKETLENS_BIN:-$bin_path/marketlens}" UPSTREAM_SIM_BIN="${UPSTREAM_SIM_BIN:-$bin_path/upstream-sim}"
fi
python=python3; [[ -x .venv/bin/python ]] && python=.venv/bin/python
exec "$python" tests/soak/soak.py "$@"
