#!/usr/bin/env bash
# `make bench`: page throughput and latency through nginx on a throw-away release stack.
#
#   bench/run.sh [ROUTE ...]     default routes: / /healthz /library /library?q=… /r/… /static/css/app.css
#
# Environment: BENCH_DURATION (10s per route), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# MARKETLENS_WORKERS / MARKETLENS_THREADS (stack size), MARKETLENS_BIN (skip the build),
# BENCH_REPORTS (10000 completed reports seeded with `marketlens bench-seed` first; 0 skips seeding),
# BENCH_QUERY (the library search term, "battery recycling").
# Prints a table (route, requests/s, p50, p99, errors, worker RSS) and keeps it in bench/results/.
# Routes that do not answer 200 before the run are listed as skipped. Loopback only.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ML_ROOT"

duration="${BENCH_DURATION:-10s}" connections="${BENCH_CONNECTIONS:-32}" threads="${BENCH_THREADS:-2}"
routes=("$@")
reports="${BENCH_REPORTS:-10000}"
query="${BENCH_QUERY:-battery recycling}"

bash scripts/deps.sh --bench
command -v wrk >/dev/null || die "wrk is not installed (apt-get install wrk)"
bench_release_binaries
bench_run_dir marketlens-bench
MARKETLENS_BUILD_CONFIG=release LOG_LEVEL="${LOG_LEVEL:-warning}" \
    bash scripts/stack.sh up --test --no-build --no-deps --run-dir "$RUN" >/dev/null
eval "$(bash scripts/stack.sh env --run-dir "$RUN")"
base="${MARKETLENS_URL%/}"

# The library of product.md §14: BENCH_REPORTS realistic completed reports, then one of them to read.
if ((reports > 0)); then
    log "seeding $reports reports"
    "$MARKETLENS_BIN" bench-seed --count "$reports" >&2 || die "bench-seed failed"
fi
slug="$(psql "$DATABASE_URL" -XAtc "SELECT slug FROM reports WHERE status = 'completed' AND NOT hidden ORDER BY completed_at DESC LIMIT 1" 2>/dev/null || true)"
if ((${#routes[@]} == 0)); then
    routes=(/ /healthz /library "/library?q=${query// /+}" /static/css/app.css)
    [[ -n "$slug" ]] && routes+=("/r/$slug" "/r/$slug.md")
fi

# Resident memory of the supervisor and every worker, in MiB.
worker_rss() {
    local sup total=0 pid kb
    sup="$(read_pid "$RUN/marketlens.pid")"
    for pid in "$sup" $(pgrep -P "$sup" 2>/dev/null || true); do
        kb="$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)"
        total=$((total + ${kb:-0}))
    done
    echo "$((total / 1024)) MiB"
}

mkdir -p bench/results
out="bench/results/pages-$(date -u +%Y%m%dT%H%M%SZ).txt"
{
    echo "Marketlens page benchmark  $(date -u '+%Y-%m-%d %H:%M UTC')  $(nproc) cores"
    echo "wrk -t$threads -c$connections -d$duration over HTTPS through nginx; workers ${MARKETLENS_WORKERS} x ${MARKETLENS_THREADS:-32} threads"
    echo "idle worker RSS: $(worker_rss)"
    echo
    printf '%-44s %12s %10s %10s %8s %12s\n' route 'requests/s' p50 p99 errors 'worker RSS'
    printf '%-44s %12s %10s %10s %8s %12s\n' -------------------------------------------- ------------ ---------- ---------- -------- ------------
} | tee "$out"

for route in "${routes[@]}"; do
    code="$(curl -ks -o /dev/null -w '%{http_code}' --max-time 10 "$base$route" || true)"
    if [[ "$code" != 200 ]]; then
        printf '%-44s %12s\n' "$route" "skipped (HTTP $code)" | tee -a "$out"
        continue
    fi
    result="$(wrk -t"$threads" -c"$connections" -d"$duration" --timeout 10s --latency "$base$route" 2>&1)" \
        || { printf '%-44s %12s\n' "$route" "wrk failed" | tee -a "$out"; continue; }
    rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$result")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$result")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$result")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$result")"
    sockerr="$(awk -F'[ ,]+' '/Socket errors:/ {print $4+$6+$8+$10}' <<<"$result")"
    errors=$(( ${non2xx:-0} + ${sockerr:-0} ))
    printf '%-44s %12s %10s %10s %8s %12s\n' "$route" "${rps:-?}" "${p50:-?}" "${p99:-?}" "$errors" "$(worker_rss)" | tee -a "$out"
done
echo
log "results kept in $out"
