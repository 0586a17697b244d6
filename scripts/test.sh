#!/usr/bin/env bash
# `make test`: every test against a throw-away stack on free ports, removed afterwards.
#
#   1. install missing packages; debug build with tests (swift build --build-tests)
#   2. start PostgreSQL, upstream-sim, the workers and nginx on free ports (scripts/stack.sh up --test)
#   3. swift test, with TEST_DATABASE_URL, MARKETLENS_REQUIRE_DB=1, UPSTREAM_SIM_BIN, MARKETLENS_REQUIRE_SIM=1,
#      UPSTREAM_SIM_URL, UPSTREAM_SIM_RESEND_URL, MARKETLENS_BIN
#   4. pytest (in .venv) over tests/stack and tests/browser with MARKETLENS_URL, MARKETLENS_HTTP_URL,
#      MARKETLENS_RUN_DIR and the variables above; then tests/conformance with its own simulator
#   5. stop and remove the stack whatever happened; print a summary; exit non-zero on any failure
#
# Environment: SWIFT_TEST_ARGS (extra `swift test` arguments, e.g. "--filter WebTests"),
# PYTEST_ARGS (extra pytest arguments), MARKETLENS_KEEP_RUN=1 (keep the run dir and its logs).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ML_ROOT"

started=$SECONDS
results=()
failed=0
record() { results+=("$1: $2"); [[ "$2" == passed ]] || failed=1; }

summary() {
    local rc="${1:-0}"
    echo
    echo "==================== make test summary ($((SECONDS - started)) s) ===================="
    local r
    for r in "${results[@]}"; do echo "  $r"; done
    if ((failed || rc)); then
        echo "make test: FAILED"
    else
        echo "make test: all passed"
    fi
}

bash scripts/deps.sh

log "building (debug, with tests)"
if ! swift build --build-tests; then
    record "swift build" failed
    summary 1
    exit 1
fi
bin_path="$(swift build --show-bin-path)"
# Prebuilt binaries given in the environment win (as in scripts/stack.sh).
export MARKETLENS_BIN="${MARKETLENS_BIN:-$bin_path/marketlens}" UPSTREAM_SIM_BIN="${UPSTREAM_SIM_BIN:-$bin_path/upstream-sim}"

RUN="$(mktemp -d /tmp/marketlens-test.XXXXXX)"
chmod 755 "$RUN"
teardown() {
    local rc=$?
    trap - EXIT INT TERM
    if ((failed)) || ((rc)); then
        local f
        for f in "$RUN"/logs/marketlens.log "$RUN"/logs/nginx-error.log "$RUN"/logs/upstream-sim.log; do
            [[ -s "$f" ]] && { echo "--- last lines of $(basename "$f") ---"; tail -n 30 "$f"; }
        done
    fi
    log "stopping the test stack"
    bash scripts/stack.sh down --test --run-dir "$RUN" || { warn "stack teardown failed"; rc=1; failed=1; }
    if [[ -d "$RUN" && "${MARKETLENS_KEEP_RUN:-0}" != 1 ]]; then
        warn "the test run dir $RUN was not removed"; failed=1
    fi
    summary "$rc"
    ((failed == 0 && rc == 0)) || exit 1
    exit 0
}
trap teardown EXIT
trap 'exit 130' INT TERM

if ! bash scripts/stack.sh up --test --no-build --no-deps --run-dir "$RUN" >/dev/null; then
    record "test stack (nginx, workers, PostgreSQL, upstream-sim)" failed
    exit 1
fi
record "test stack start" passed
eval "$(bash scripts/stack.sh env --run-dir "$RUN")"
export TEST_DATABASE_URL="$DATABASE_URL" MARKETLENS_REQUIRE_DB=1 MARKETLENS_REQUIRE_SIM=1
export UPSTREAM_SIM_URL UPSTREAM_SIM_RESEND_URL MARKETLENS_URL MARKETLENS_HTTP_URL MARKETLENS_RUN_DIR

log "swift test"
# shellcheck disable=SC2086
if swift test ${SWIFT_TEST_ARGS:-}; then record "swift test" passed; else record "swift test" failed; fi

# Python: a venv refreshed only when the requirement files change.
req_files=(tests/requirements.txt)
[[ -f tests/conformance/requirements.txt ]] && req_files+=(tests/conformance/requirements.txt)
stamp="$(cat "${req_files[@]}" | sha256sum | cut -c1-16)"
if [[ ! -x .venv/bin/python || "$(cat .venv/.requirements 2>/dev/null)" != "$stamp" ]]; then
    log "preparing .venv (${req_files[*]})"
    [[ -x .venv/bin/python ]] || python3 -m venv .venv
    req_args=(); for f in "${req_files[@]}"; do req_args+=(-r "$f"); done
    if .venv/bin/python -m pip install -q --disable-pip-version-check "${req_args[@]}"; then
        echo "$stamp" > .venv/.requirements
    else
        record "python dependencies" failed
    fi
fi

# The whole-stack (and browser) tests talk to the running stack. The conformance suite starts its own
# simulator (UPSTREAM_SIM_BIN) so its fault injection never reaches the stack's workers.
run_pytest() {
    local dirs=() d
    for d in "$@"; do
        [[ -d "$d" ]] && compgen -G "$d/test_*.py" >/dev/null && dirs+=("$d")
    done
    ((${#dirs[@]})) || return 0
    log "pytest ${dirs[*]}"
    # shellcheck disable=SC2086
    if "${pytest_env[@]}" .venv/bin/python -m pytest -p no:cacheprovider -ra ${PYTEST_ARGS:-} "${dirs[@]}"; then
        record "pytest ${dirs[*]}" passed
    else
        record "pytest ${dirs[*]}" failed
    fi
}
[[ -d tests/stack ]] || record "tests/stack (missing)" failed
pytest_env=(env)
run_pytest tests/stack tests/browser
pytest_env=(env -u UPSTREAM_SIM_URL -u UPSTREAM_SIM_RESEND_URL)
run_pytest tests/conformance
((failed == 0))
