#!/usr/bin/env bash
# `make bench` (stream-load part, issue 11): STREAMS_VIEWERS (1000) batch + as many console relay + as many
# report viewers held through nginx while wrk measures `/` and `/library`, the same wrk without them first,
# side by side in one table with worker threads and PostgreSQL connections at each step; report and batch events
# emitted meanwhile are checked in a sample of the viewers (none lost, duplicated or reordered). A throw-away release stack with the
# defaults of `make run` (2 workers x 32 threads); the per-client stream cap is lifted (every viewer comes
# from 127.0.0.1); STREAMS_REPORTS (2000) completed reports are seeded first. The viewers' client and upstream-sim
# run at nice 19: they stand for browsers and Parallel on other machines (bench/stream_load.py says why).
# MARKETLENS_BIN skips the build. Keeps the table in bench/results/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ML_ROOT"
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"

MARKETLENS_MAX_STREAMS_PER_CLIENT=1000000 UPSTREAM_SIM_TIME_SCALE=1 bench_stack_up marketlens-bench-streams
"$MARKETLENS_BIN" bench-seed --count "${STREAMS_REPORTS:-2000}" >&2 || die "bench-seed failed"

mkdir -p bench/results
out="bench/results/streams-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "Marketlens stream-load benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) cores; wrk -t2 -c32 per route;" \
        "viewers' client and upstream-sim at nice 19"
    python3 bench/stream_load.py --url "$MARKETLENS_URL" --database-url "$DATABASE_URL" --sim-url "$UPSTREAM_SIM_URL" \
        --worker-pids "${pids[@]}" \
        ${nginx_pid:+--nginx-pid "$nginx_pid"} ${postmaster_pid:+--postgres-pid "$postmaster_pid"} \
        --sim-pid "$(read_pid "$RUN/upstream-sim.pid")" --viewers "${STREAMS_VIEWERS:-1000}" --seconds "${STREAMS_SECONDS:-10}"
} | tee "$out"
