#!/usr/bin/env bash
# `make bench` (monitoring capacity, issue 11): MONITOR_STEPS ("1000 3000") concurrent report runs on upstream-sim
# at a short time scale (MONITOR_TIME_SCALE 0.1; each run lasts MONITOR_SIM_DURATION 900 simulated seconds, 90 real
# ones, with a progress message and a stats event every MONITOR_EVENT_INTERVAL 40 simulated seconds: each run
# sends about one event every 2 s, 3,000 runs 1,500 a second), created all at once and then evenly over 30 s
# (MONITOR_RAMPS "0 30": all at once, every run's 570-s stream cap and its completion fall in the same seconds; over
# 30 s, as reports arrive from visitors, they are spread, and still all 3,000 run at once for a minute), followed by
# the default 2 workers of a throw-away release stack with the production monitor settings; one table row per step (bench/monitor_load.py says what each
# column measures). The cluster records commit times, so store latency is upstream emit -> row committed.
# MARKETLENS_BIN skips the build. Keeps the table in bench/results/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ML_ROOT"

# The --test stack shrinks the monitor's clocks for tests; the bench measures the production ones.
POSTGRES_TRACK_COMMIT_TIMESTAMP=on UPSTREAM_SIM_TIME_SCALE="${MONITOR_TIME_SCALE:-0.1}" \
    MARKETLENS_LEASE_SECONDS=30 MARKETLENS_MONITOR_INTERVAL=1 MARKETLENS_POLL_SECONDS=15 \
    MARKETLENS_STREAM_IDLE_SECONDS=300 MARKETLENS_BACKOFF_SECONDS=1 MARKETLENS_CREATE_GRACE_SECONDS=60 \
    bench_stack_up marketlens-bench-monitor

mkdir -p bench/results
out="bench/results/monitor-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "Marketlens monitoring-capacity benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) cores;" \
        "${#pids[@]} workers; time scale ${MONITOR_TIME_SCALE:-0.1}"
    POSTGRES_PORT="$POSTGRES_PORT" python3 bench/monitor_load.py --database-url "$DATABASE_URL" \
        --sim-url "$UPSTREAM_SIM_URL" --worker-pids "${pids[@]}" --postgres-pid "$postmaster_pid" --steps ${MONITOR_STEPS:-1000 3000} \
        --sim-duration "${MONITOR_SIM_DURATION:-900}" --sim-event-interval "${MONITOR_EVENT_INTERVAL:-40}" \
        --ramps ${MONITOR_RAMPS:-0 30}
} | tee "$out"
