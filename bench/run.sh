#!/usr/bin/env bash
# `make bench`: page throughput and latency through nginx on a throw-away release stack.
#
#   bench/run.sh [ROUTE ...]     default routes: / /healthz /library /library?q=… /r/… /r/….md
#
# The static file /static/css/app.css is measured first, in the same run, as the ceiling: every route's
# requests/s is also shown as a fraction of it ("vs static"), with its p99/p50 ratio (issue 17's targets: public
# pages at >= 50 % of the static file, p99 <= 3x p50).
#
# Environment: BENCH_DURATION (10s per route), BENCH_CONNECTIONS (32), BENCH_THREADS (2),
# MARKETLENS_WORKERS / MARKETLENS_THREADS (stack size), MARKETLENS_BIN (skip the build),
# BENCH_REPORTS (10000 completed reports seeded with `marketlens bench-seed` first; 0 skips seeding),
# BENCH_QUERY (the library search term, "battery recycling"),
# BENCH_PIN (1: wrk and the server on separate CPUs, the default when there are at least 2; 0: no pinning),
# BENCH_CLIENT_CPUS (wrk's CPU list, default the last CPU), BENCH_SERVER_CPUS (nginx, the workers, PostgreSQL and
# upstream-sim; default every other CPU). On 2 cores wrk, nginx and the workers otherwise take turns on both, and
# the scheduling shows as the tail (p99/p50 of 8x for the static file itself), not as the pages' cost. Pinned,
# nginx gets one worker per server CPU (NGINX_WORKER_PROCESSES, unless set).
# Prints a table (route, requests/s, vs static, p50, p99, p99/p50, errors, worker RSS) and keeps it in
# bench/results/.
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

cpus="$(nproc)"
pin="${BENCH_PIN:-$((cpus >= 2 ? 1 : 0))}"
client_cpus="${BENCH_CLIENT_CPUS:-$((cpus - 1))}"
server_cpus="${BENCH_SERVER_CPUS:-$( ((cpus > 2)) && echo "0-$((cpus - 2))" || echo 0)}"
# Pinned, nginx runs one worker per server CPU: two nginx workers taking turns on one CPU made the tail (p99/p50
# of the static file 8.8x with two workers, 3.1x with one, 5 December).
if ((pin)) && [[ -z "${NGINX_WORKER_PROCESSES:-}" ]]; then
    export NGINX_WORKER_PROCESSES="$(taskset -c "$server_cpus" nproc 2>/dev/null || echo 1)"
fi
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
static=/static/css/app.css
if ((${#routes[@]} == 0)); then
    routes=(/ /healthz /library "/library?q=${query// /+}")
    [[ -n "$slug" ]] && routes+=("/r/$slug" "/r/$slug.md")
fi
measured=("$static")
for route in "${routes[@]}"; do [[ "$route" == "$static" ]] || measured+=("$route"); done
routes=("${measured[@]}")

# Pinning: every process of the stack (and its threads and children) on the server CPUs, wrk on the client's.
wrk_cmd=(wrk)
pin_tree() { # CPUS PID: pins PID, all its threads and all its descendants.
    local cpu_list="$1" pid="$2" child
    [[ -n "$pid" ]] || return 0
    taskset -a -p -c "$cpu_list" "$pid" >/dev/null 2>&1 || log "could not pin pid $pid"
    for child in $(pgrep -P "$pid" 2>/dev/null || true); do pin_tree "$cpu_list" "$child"; done
}
if ((pin)); then
    command -v taskset >/dev/null || die "taskset is not installed (util-linux); BENCH_PIN=0 runs without pinning"
    for pidfile in "$RUN/nginx/nginx.pid" "$RUN/marketlens.pid" "$RUN/upstream-sim.pid" \
        ${POSTGRES_DATA:+"$POSTGRES_DATA/postmaster.pid"}; do
        [[ -f "$pidfile" ]] && pin_tree "$server_cpus" "$(read_pid "$pidfile")"
    done
    wrk_cmd=(taskset -c "$client_cpus" wrk)
    # Read back from one nginx worker and one app worker: what the kernel actually applies.
    affinity() { taskset -c -p "$1" 2>/dev/null | awk -F': ' '{print $2}'; }
    nginx_worker="$(pgrep -P "$(read_pid "$RUN/nginx/nginx.pid")" | head -n 1)"
    app_worker="$(pgrep -P "$(read_pid "$RUN/marketlens.pid")" | head -n 1)"
    pinning="pinned: wrk on CPU $client_cpus; nginx ($NGINX_WORKER_PROCESSES worker(s)), workers, PostgreSQL, upstream-sim on CPU $server_cpus"
    pinning+=" (read back: nginx worker ${nginx_worker:+$(affinity "$nginx_worker")}, app worker ${app_worker:+$(affinity "$app_worker")})"
else
    pinning="not pinned: wrk and the server share all $cpus CPUs"
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
    echo "$pinning"
    # Other work on the machine shows as the tail: a load average above the core count means the figures are not
    # the pages' own.
    echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "idle worker RSS: $(worker_rss)"
    echo
    printf '%-44s %12s %10s %10s %10s %8s %8s %12s\n' route 'requests/s' 'vs static' p50 p99 p99/p50 errors 'worker RSS'
    printf '%-44s %12s %10s %10s %10s %8s %8s %12s\n' -------------------------------------------- ------------ \
        ---------- ---------- ---------- -------- -------- ------------
} | tee "$out"

# wrk's latency ("850.00us", "1.23ms", "2.00s") in milliseconds.
millis() { awk '{v = $1 + 0; if ($1 ~ /us$/) v /= 1000; else if ($1 ~ /[0-9]s$/) v *= 1000; print v}' <<<"$1"; }

static_rps=""
for route in "${routes[@]}"; do
    code="$(curl -ks -o /dev/null -w '%{http_code}' --max-time 10 "$base$route" || true)"
    if [[ "$code" != 200 ]]; then
        printf '%-44s %12s\n' "$route" "skipped (HTTP $code)" | tee -a "$out"
        continue
    fi
    result="$("${wrk_cmd[@]}" -t"$threads" -c"$connections" -d"$duration" --timeout 10s --latency "$base$route" 2>&1)" \
        || { printf '%-44s %12s\n' "$route" "wrk failed" | tee -a "$out"; continue; }
    rps="$(awk '/^Requests\/sec:/ {printf "%.0f", $2}' <<<"$result")"
    p50="$(awk '$1 == "50%" {print $2}' <<<"$result")"
    p99="$(awk '$1 == "99%" {print $2}' <<<"$result")"
    non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $NF}' <<<"$result")"
    sockerr="$(awk -F'[ ,]+' '/Socket errors:/ {print $4+$6+$8+$10}' <<<"$result")"
    errors=$(( ${non2xx:-0} + ${sockerr:-0} ))
    [[ "$route" == "$static" ]] && static_rps="$rps"
    share="?" ratio="?"
    [[ -n "$static_rps" && -n "$rps" ]] && share="$(awk -v a="$rps" -v b="$static_rps" 'BEGIN {printf "%.0f %%", 100 * a / b}')"
    [[ -n "$p50" && -n "$p99" ]] \
        && ratio="$(awk -v a="$(millis "$p99")" -v b="$(millis "$p50")" 'BEGIN {if (b > 0) printf "%.1fx", a / b}')"
    printf '%-44s %12s %10s %10s %10s %8s %8s %12s\n' "$route" "${rps:-?}" "$share" "${p50:-?}" "${p99:-?}" "$ratio" \
        "$errors" "$(worker_rss)" | tee -a "$out"
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
echo
log "results kept in $out"
