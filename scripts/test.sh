#!/usr/bin/env bash
# `make test`: every test against a throw-away stack on free ports, removed afterwards.
#
#   1. install missing packages; debug build with tests (swift build --build-tests)
#   2. start PostgreSQL, upstream-sim, the workers and nginx on free ports (scripts/stack.sh up --test)
#   3. swift test, with TEST_DATABASE_URL, MARKETLENS_REQUIRE_DB=1, UPSTREAM_SIM_BIN, MARKETLENS_REQUIRE_SIM=1,
#      UPSTREAM_SIM_URL, UPSTREAM_SIM_RESEND_URL, MARKETLENS_BIN
#   4. pytest (in .venv) over tests/stack and tests/browser with MARKETLENS_URL, MARKETLENS_HTTP_URL,
#      MARKETLENS_RUN_DIR and the variables above; then tests/conformance with its own simulator
#   5. the short soak (tests/soak: two application hosts on network namespaces, every fault once, ~2-3 minutes;
#      needs root, else reported as skipped; SOAK=0 skips it)
#   6. stop and remove the stack whatever happened; print a summary; exit non-zero on any failure
#
# Environment: SWIFT_TEST_ARGS (extra `swift test` arguments, e.g. "--filter WebTests"),
# PYTEST_ARGS (extra pytest arguments), MARKETLENS_KEEP_RUN=1 (keep the run dir and its logs),
# SOAK=0 (no short soak), SOAK_DURATION (120 s for the short soak).
set -Eeuo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ML_ROOT"

started=$SECONDS
results=()
failed=0
n_passed=0 n_failed=0 n_skipped=0
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
    echo "tests: $n_passed passed, $n_failed failed, $n_skipped skipped"
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
trap 'warn "scripts/test.sh: \"$BASH_COMMAND\" failed (line $LINENO)"' ERR

if ! bash scripts/stack.sh up --test --no-build --no-deps --run-dir "$RUN" >/dev/null; then
    record "test stack (nginx, workers, PostgreSQL, upstream-sim)" failed
    exit 1
fi
record "test stack start" passed
eval "$(bash scripts/stack.sh env --run-dir "$RUN")"
export TEST_DATABASE_URL="$DATABASE_URL" MARKETLENS_REQUIRE_DB=1 MARKETLENS_REQUIRE_SIM=1
export UPSTREAM_SIM_URL UPSTREAM_SIM_RESEND_URL MARKETLENS_URL MARKETLENS_HTTP_URL MARKETLENS_RUN_DIR

# Adds the counts a test runner printed to the totals of the summary line.
count_swift() {
    local log="$1" total fails xc
    # Swift Testing: "Test run with N tests ..."; one "✘ Test x() failed after" line per failed test.
    total="$(grep -oE 'Test run with [0-9]+ tests?' "$log" | tail -n 1 | grep -oE '[0-9]+' || true)"
    fails="$(grep -E '^✘ Test .* failed after' "$log" | grep -vc '^✘ Test run with' || true)"
    n_passed=$((n_passed + ${total:-0} - ${fails:-0})); n_failed=$((n_failed + ${fails:-0}))
    # XCTest: the last "Executed N tests, with M failures" is the total.
    xc="$(grep -oE 'Executed [0-9]+ tests?, with [0-9]+ failures?' "$log" | tail -n 1 || true)"
    if [[ "$xc" =~ Executed\ ([0-9]+)\ tests?,\ with\ ([0-9]+) ]]; then
        n_passed=$((n_passed + BASH_REMATCH[1] - BASH_REMATCH[2])); n_failed=$((n_failed + BASH_REMATCH[2]))
    fi
}
count_pytest() {
    local line n=""
    line="$(grep -E '^=+ .* in [0-9.]+s' "$1" | tail -n 1 || true)"
    n="$(grep -oE '[0-9]+ passed' <<<"$line" | grep -oE '[0-9]+' || true)"; n_passed=$((n_passed + ${n:-0}))
    for n in $(grep -oE '[0-9]+ (failed|errors?)' <<<"$line" | grep -oE '[0-9]+' || true); do
        n_failed=$((n_failed + n))
    done
    n="$(grep -oE '[0-9]+ skipped' <<<"$line" | grep -oE '[0-9]+' || true)"; n_skipped=$((n_skipped + ${n:-0}))
}

log "swift test"
# Swift integration tests start their own simulator from UPSTREAM_SIM_BIN (they count its requests, so a shared
# one would mix tests); the stack's simulator URL is withheld from them.
# shellcheck disable=SC2086
if env -u UPSTREAM_SIM_URL -u UPSTREAM_SIM_RESEND_URL swift test ${SWIFT_TEST_ARGS:-} 2>&1 | tee "$RUN/swift-test.log"; then
    record "swift test" passed
else
    record "swift test" failed
fi
count_swift "$RUN/swift-test.log"

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
    if "${pytest_env[@]}" .venv/bin/python -m pytest -p no:cacheprovider -ra ${PYTEST_ARGS:-} "${dirs[@]}" \
        2>&1 | tee "$RUN/pytest.log"; then
        record "pytest ${dirs[*]}" passed
    else
        record "pytest ${dirs[*]}" failed
    fi
    count_pytest "$RUN/pytest.log"
}
[[ -d tests/stack ]] || record "tests/stack (missing)" failed
pytest_env=(env)
run_pytest tests/stack tests/browser
pytest_env=(env -u UPSTREAM_SIM_URL -u UPSTREAM_SIM_RESEND_URL)
run_pytest tests/conformance

# The short soak builds its own cluster (it shares only the binaries with the stack above).
if [[ "${SOAK:-1}" == 0 ]]; then
    n_skipped=$((n_skipped + 1))
elif ! is_root; then
    warn "short soak skipped: it needs root (network namespaces)"
    n_skipped=$((n_skipped + 1))
else
    log "short soak (tests/soak, two application hosts, every fault once)"
    if .venv/bin/python tests/soak/soak.py --duration "${SOAK_DURATION:-120}" --app-hosts 2 --report-every 2 \
        --viewers 3 --batch-every 20 --drain 90 2>&1 | tee "$RUN/soak.log"; then
        record "soak (short)" passed; n_passed=$((n_passed + 1))
    else
        record "soak (short)" failed; n_failed=$((n_failed + 1))
    fi
fi
((failed == 0))
