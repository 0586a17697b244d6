#!/usr/bin/env bash
# `make bench` (live part): fan-out of /reports/{id}/events through nginx on a throw-away release stack.
#
#   bench/live.sh                 ramp 100 -> 1,000 -> 10,000 viewers of one report and of many, then a
#                                 reconnect storm (1,000 reconnects in 5 s with replay)
#
# Environment: LIVE_STAGES (100,1000,10000), LIVE_WORKERS (2) x LIVE_THREADS (32) request threads: the
# defaults of `make run` (open streams hold no thread; each worker's live writer serves them all),
# LIVE_MAX_STREAMS (per worker, default the app's own: 10,000), LIVE_EVENTS (60: 3,000 probe samples per stage, so one slow burst does not make the p99),
# LIVE_PROCS (bulk client processes, 1: with 2 the load generator can take both cores of a 2-core machine
# away from nginx and the workers, measured: probe p99 at 1,000 viewers 41-63 ms with 2, 34-36 ms with 1), LIVE_STORM (1000), LIVE_BULK_NICE (0; e.g. 10 lets the bulk viewer processes yield
# the CPU to the server and the probe viewers, as viewers on their own machines would; measured: no clear change),
# MARKETLENS_BIN (skip the build).
# Prints the table and keeps it in bench/results/. Raises the open-file limit (root) for the client,
# nginx (worker_rlimit_nofile) and the workers.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ML_ROOT"

workers="${LIVE_WORKERS:-2}" threads="${LIVE_THREADS:-32}"
[[ -n "${LIVE_MAX_STREAMS:-}" ]] && export MARKETLENS_MAX_STREAMS="$LIVE_MAX_STREAMS"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
bench_release_binaries
bench_run_dir marketlens-bench-live
MARKETLENS_BUILD_CONFIG=release LOG_LEVEL="${LOG_LEVEL:-warning}" MARKETLENS_WORKERS="$workers" \
    MARKETLENS_THREADS="$threads" NGINX_WORKER_CONNECTIONS="${NGINX_WORKER_CONNECTIONS:-16384}" NGINX_RLIMIT_NOFILE="${NGINX_RLIMIT_NOFILE:-$(ulimit -Hn)}" \
    bash scripts/stack.sh up --test --no-build --no-deps --run-dir "$RUN" >/dev/null
eval "$(bash scripts/stack.sh env --run-dir "$RUN")"
supervisor="$(read_pid "$RUN/marketlens.pid")"
# Threads start at boot: wait until every worker has all of them.
for _ in $(seq 1 120); do
    ready=0
    for pid in $(pgrep -P "$supervisor"); do
        n="$(awk '/^Threads:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
        ((n >= threads)) && ready=$((ready + 1))
    done
    ((ready >= workers)) && break
    sleep 1
done
mapfile -t pids < <(pgrep -P "$supervisor")

mkdir -p bench/results
out="bench/results/live-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "Marketlens live fan-out benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) cores"
    echo "HTTPS through nginx (HTTP/1.1, one connection per viewer); workers $workers x $threads threads;" \
         "latency = receipt - clock_timestamp() of the insert"
    python3 bench/live_fanout.py --url "$MARKETLENS_URL" --database-url "$DATABASE_URL" --worker-pids "${pids[@]}" \
        --stages "${LIVE_STAGES:-100,1000,10000}" --events "${LIVE_EVENTS:-60}" --procs "${LIVE_PROCS:-1}" \
        --storm "${LIVE_STORM:-1000}" --bulk-nice "${LIVE_BULK_NICE:-0}"
    echo "worker threads now: $(for p in "${pids[@]}"; do awk '/^Threads:/ {printf "%s ", $2}' /proc/$p/status; done)"
} | tee "$out"
