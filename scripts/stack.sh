#!/usr/bin/env bash
# Starts and stops the whole Marketlens stack: PostgreSQL, upstream-sim, the FastCGI workers, nginx.
#
#   scripts/stack.sh up|down|status|run|env [--test] [--run-dir DIR] [--purge] [--no-build] [--no-deps]
#
#   up      install missing packages, build, start everything in the background, print the URL
#   run     up, then stay in the foreground showing the worker log; Ctrl-C stops everything
#   down    stop everything this run dir started; keeps .data/ (the database) unless --purge
#   status  show each process, the sockets and the health checks (exit 0 all up, 1 degraded, 3 stopped)
#   env     print `export KEY=…` lines describing the running stack (URL, ports, DATABASE_URL, …)
#
# --test    throw-away mode: free ports, data inside the run dir, debug build, everything removed by down
# --run-dir state directory (default .run/; in --test mode a new /tmp/marketlens-test.* directory)
#
# Environment (also read from .env; the environment wins): HTTPS_PORT (8443), HTTP_PORT (8080),
# POSTGRES_PORT (8432, the local cluster), DATABASE_URL (set: use it instead of the local cluster),
# PARALLEL_API_KEY (unset: start upstream-sim), UPSTREAM_SIM_TIME_SCALE, MARKETLENS_WORKERS (2),
# MARKETLENS_THREADS (32), BASE_URL, LOG_LEVEL, LISTEN_ADDRESS (all), MARKETLENS_BIN / UPSTREAM_SIM_BIN
# (prebuilt binaries: skip the build), MARKETLENS_BUILD_CONFIG (release, or debug in --test),
# MARKETLENS_NGINX_USER (www-data when root), STOP_TIMEOUT (20 s), MARKETLENS_DATA_DIR (.data/: the local
# cluster and the TLS certificate; one per host when several hosts share a checkout, as in tests/soak).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ML_ROOT"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" >&2; exit 2; }

command="${1:-}"; [[ -n "$command" ]] || usage; shift
test_mode=0 purge=0 build=1 deps=1 run_dir="${MARKETLENS_RUN_DIR:-}"
while (($#)); do
    case "$1" in
        --test) test_mode=1 ;;
        --purge) purge=1 ;;
        --no-build) build=0 ;;
        --no-deps) deps=0 ;;
        --run-dir) run_dir="${2:?--run-dir needs a directory}"; shift ;;
        --run-dir=*) run_dir="${1#*=}" ;;
        -h|--help) usage ;;
        *) die "unknown option: $1 (see scripts/stack.sh --help)" ;;
    esac
    shift
done
[[ "${MARKETLENS_SKIP_DEPS:-0}" == 1 ]] && deps=0

load_env_file "$ML_ROOT/.env"

if [[ -z "$run_dir" ]]; then
    if ((test_mode)); then
        [[ "$command" == up || "$command" == run ]] || die "--test $command needs --run-dir DIR (printed by up --test)"
        run_dir="$(mktemp -d /tmp/marketlens-test.XXXXXX)"
    else
        run_dir="$ML_ROOT/.run"
    fi
fi
mkdir -p "$run_dir"
RUN="$(cd "$run_dir" && pwd)"
STATE="$RUN/stack.env"
postgres_sh="${MARKETLENS_POSTGRES_SH:-$ML_ROOT/scripts/postgres.sh}"

# A state file from an earlier `up` decides the mode, so `down` needs no flags.
if [[ -f "$STATE" && "$command" != up && "$command" != run ]]; then
    # shellcheck disable=SC1090
    source "$STATE"
    [[ "${MARKETLENS_MODE:-}" == test ]] && test_mode=1
fi

# ---------------------------------------------------------------- helpers

# The state holds DATABASE_URL, with the local cluster's password: readable by this user only.
save_state() {
    local tmp="$STATE.tmp" key
    (umask 077 && : > "$tmp")
    for key in MARKETLENS_MODE MARKETLENS_URL MARKETLENS_HTTP_URL MARKETLENS_RUN_DIR MARKETLENS_DATA_DIR \
               MARKETLENS_SOCKET_DIR MARKETLENS_WORKERS MARKETLENS_BIN UPSTREAM_SIM_BIN HTTPS_PORT HTTP_PORT \
               POSTGRES_PORT LOCAL_POSTGRES POSTGRES_DATA DATABASE_URL UPSTREAM_SIM_URL UPSTREAM_SIM_RESEND_URL \
               MARKETLENS_LOG_DIR; do
        printf '%s=%q\n' "$key" "${!key:-}" >> "$tmp"
    done
    mv "$tmp" "$STATE"
}

tail_log() {
    local file="$1" lines="${2:-25}"
    [[ -s "$file" ]] || return 0
    printf -- '--- last lines of %s ---\n' "$file" >&2
    tail -n "$lines" "$file" >&2
    printf -- '---\n' >&2
}

# Sends SIGTERM, waits, then SIGKILLs the process and its group (the workers of a supervisor).
stop_pid() {
    local name="$1" pid="$2" timeout="${3:-10}" children
    pid_alive "$pid" || return 0
    children="$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)"
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + timeout))
    while pid_alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if pid_alive "$pid"; then
        warn "$name (pid $pid) did not stop within ${timeout}s; killing it"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    # Children the process left behind (they may have lost their parent before the group kill).
    local c
    for c in $children; do
        if pid_alive "$c"; then kill -KILL "$c" 2>/dev/null || true; fi
    done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait_until 5 "$name to exit" bash -c "! kill -0 $pid 2>/dev/null" || true
}

nginx_cmd() { nginx -p "$RUN/nginx" -c "$RUN/nginx/nginx.conf" -e "$MARKETLENS_LOG_DIR/nginx-error.log" "$@" 9>&-; }

health_ok() {
    curl -ksf --max-time 3 -o /dev/null "https://127.0.0.1:${HTTPS_PORT}/healthz"
}

sockets_ready() {
    local i
    for ((i = 0; i < MARKETLENS_WORKERS; i++)); do
        [[ -S "$MARKETLENS_SOCKET_DIR/worker-$i.sock" ]] || return 1
    done
}

require_port() {
    local port="$1" var="$2" owner
    if ! port_free "$port"; then
        owner="$(port_owner "$port")"
        die "port $port ($var) is already in use${owner:+ by $owner}. Stop that program, run 'make down' if it is an earlier Marketlens, or choose another port: $var=NNNN make run"
    fi
}

# The nginx worker processes (not the master) connect to the sockets and read static/: as root they
# run as an unprivileged user, which must be able to reach both. A checkout under /root is not
# reachable; then the workers run as root rather than failing (with a warning saying how to fix it).
choose_nginx_user() {
    is_root || { echo ""; return; }
    local user="${MARKETLENS_NGINX_USER:-www-data}"
    if id "$user" >/dev/null 2>&1 \
        && runuser -u "$user" -- test -r "$ML_ROOT/static/css/app.css" -a -x "$MARKETLENS_SOCKET_DIR" 2>/dev/null; then
        echo "$user"
    else
        warn "nginx workers run as root: user '$user' cannot reach $ML_ROOT/static or $MARKETLENS_SOCKET_DIR (make every parent directory world-searchable, chmod o+x, to avoid this)"
        echo root
    fi
}

build_binaries() {
    local config="$1" need_sim=0 bin_path
    [[ -z "${PARALLEL_API_KEY:-}" && -z "${UPSTREAM_SIM_BIN:-}" ]] && need_sim=1
    if [[ -z "${MARKETLENS_BIN:-}" ]] || ((need_sim)); then
        if ((build)); then
            log "building marketlens and upstream-sim ($config)"
            swift build -c "$config" >&2 || die "swift build -c $config failed"
        fi
        bin_path="$(swift build -c "$config" --show-bin-path)"
        MARKETLENS_BIN="${MARKETLENS_BIN:-$bin_path/marketlens}"
        ((need_sim)) && UPSTREAM_SIM_BIN="$bin_path/upstream-sim"
    fi
    [[ -x "$MARKETLENS_BIN" ]] || die "marketlens binary not found at $MARKETLENS_BIN (run without --no-build)"
    if [[ -z "${PARALLEL_API_KEY:-}" && ! -x "${UPSTREAM_SIM_BIN:-}" ]]; then
        die "upstream-sim binary not found at ${UPSTREAM_SIM_BIN:-?}"
    fi
    return 0
}

start_postgres() {
    [[ -x "$postgres_sh" || -f "$postgres_sh" ]] || die "missing $postgres_sh"
    log "starting PostgreSQL on 127.0.0.1:$POSTGRES_PORT (data in $POSTGRES_DATA)"
    bash "$postgres_sh" start "$POSTGRES_DATA" "$POSTGRES_PORT" >&2 9>&- \
        || { tail_log "$POSTGRES_DATA.log"; die "PostgreSQL did not start"; }
    DATABASE_URL="$(bash "$postgres_sh" url "$POSTGRES_DATA" "$POSTGRES_PORT")"
}

start_sim() {
    # Simulated runs go faster than real ones: a tenth of real time for `make run`, a fiftieth in tests.
    local scale="${UPSTREAM_SIM_TIME_SCALE:-0.1}"
    ((test_mode)) && scale="${UPSTREAM_SIM_TIME_SCALE:-0.02}"
    local out="$MARKETLENS_LOG_DIR/upstream-sim.out" args=(--port 0 --resend-port 0 --time-scale "$scale")
    log "starting upstream-sim (no PARALLEL_API_KEY: offline mode, time scale $scale)"
    : > "$out"
    # The simulator signs its webhooks with the secret the workers verify them with.
    SIM_WEBHOOK_SECRET="${PARALLEL_WEBHOOK_SECRET:-${SIM_WEBHOOK_SECRET:-}}" \
        setsid "$UPSTREAM_SIM_BIN" "${args[@]}" > "$out" 2>> "$MARKETLENS_LOG_DIR/upstream-sim.log" < /dev/null 9>&- &
    echo $! > "$RUN/upstream-sim.pid"
    local pid=$! deadline=$((SECONDS + 30)) line=""
    until line="$(grep -m1 '^upstream-sim ' "$out" 2>/dev/null)" && [[ -n "$line" ]]; do
        pid_alive "$pid" || { tail_log "$MARKETLENS_LOG_DIR/upstream-sim.log"; die "upstream-sim exited at start"; }
        ((SECONDS < deadline)) || { tail_log "$MARKETLENS_LOG_DIR/upstream-sim.log"; die "upstream-sim did not say it was ready within 30s"; }
        sleep 0.1
    done
    UPSTREAM_SIM_URL="$(sed -n 's/.* parallel=\([^ ]*\).*/\1/p' <<<"$line")"
    UPSTREAM_SIM_RESEND_URL="$(sed -n 's/.* resend=\([^ ]*\).*/\1/p' <<<"$line")"
    [[ -n "$UPSTREAM_SIM_URL" && -n "$UPSTREAM_SIM_RESEND_URL" ]] || die "cannot parse upstream-sim's ready line: $line"
    export PARALLEL_BASE_URL="$UPSTREAM_SIM_URL"
    export PARALLEL_API_KEY=sim-parallel-key RESEND_BASE_URL="$UPSTREAM_SIM_RESEND_URL" RESEND_API_KEY=re_sim_key
    export MAIL_FROM="${MAIL_FROM:-Marketlens <reports@marketlens.test>}"
}

# The worker sockets are 0660 (FastCGI/Listener.swift): their owner and group may connect, nobody else. As root,
# nginx workers run as NGINX_USER, so the socket directory gets that user's group and the set-group-ID bit: each
# socket bound in it inherits the group. Otherwise nginx runs as this user, the owner.
prepare_socket_dir() {
    mkdir -p "$MARKETLENS_SOCKET_DIR"
    chmod 755 "$MARKETLENS_SOCKET_DIR"
    NGINX_USER="$(choose_nginx_user)"
    if [[ -n "$NGINX_USER" && "$NGINX_USER" != root ]]; then
        chgrp "$(id -gn "$NGINX_USER")" "$MARKETLENS_SOCKET_DIR"
        chmod 2750 "$MARKETLENS_SOCKET_DIR"
    else
        chmod 700 "$MARKETLENS_SOCKET_DIR"
    fi
}

start_workers() {
    prepare_socket_dir
    rm -f "$MARKETLENS_SOCKET_DIR"/worker-*.sock
    log "starting $MARKETLENS_WORKERS marketlens workers × ${MARKETLENS_THREADS} threads"
    MARKETLENS_ROOT="$ML_ROOT" MARKETLENS_SOCKET_DIR="$MARKETLENS_SOCKET_DIR" DATABASE_URL="$DATABASE_URL" \
        setsid "$MARKETLENS_BIN" serve >> "$MARKETLENS_LOG_DIR/marketlens.log" 2>&1 < /dev/null 9>&- &
    local pid=$!
    echo "$pid" > "$RUN/marketlens.pid"
    local deadline=$((SECONDS + 60))
    until sockets_ready; do
        pid_alive "$pid" || { tail_log "$MARKETLENS_LOG_DIR/marketlens.log"; die "marketlens serve exited at start"; }
        ((SECONDS < deadline)) || { tail_log "$MARKETLENS_LOG_DIR/marketlens.log"; die "the worker sockets did not appear in $MARKETLENS_SOCKET_DIR within 60s"; }
        sleep 0.1
    done
}

start_nginx() {
    local cert_dir user listen=()
    if ((test_mode)); then cert_dir="$RUN/tls"; else cert_dir="$MARKETLENS_DATA_DIR/tls"; fi
    bash "$ML_ROOT/scripts/cert.sh" "$cert_dir"
    user="$NGINX_USER"  # chosen by prepare_socket_dir
    if [[ -n "${LISTEN_ADDRESS:-}" ]]; then
        listen=(--listen "$LISTEN_ADDRESS")
    elif ((test_mode)); then
        listen=(--listen 127.0.0.1)
    else
        listen=(--listen '*')
        if grep -qs . /proc/net/if_inet6; then listen+=(--listen '::'); fi
    fi
    rm -rf "$RUN/nginx"
    python3 "$ML_ROOT/scripts/render-nginx.py" --prefix "$RUN/nginx" --root "$ML_ROOT" \
        --log-dir "$MARKETLENS_LOG_DIR" --socket-dir "$MARKETLENS_SOCKET_DIR" --workers "$MARKETLENS_WORKERS" \
        --https-port "$HTTPS_PORT" --http-port "$HTTP_PORT" --cert "$cert_dir/cert.pem" --key "$cert_dir/key.pem" \
        "${listen[@]}" ${user:+--user "$user"}
    nginx_cmd -t -q 2>"$MARKETLENS_LOG_DIR/nginx-test.log" || { cat "$MARKETLENS_LOG_DIR/nginx-test.log" >&2; die "nginx rejected $RUN/nginx/nginx.conf"; }
    log "starting nginx on https://:$HTTPS_PORT (http://:$HTTP_PORT redirects)"
    nginx_cmd || { tail_log "$MARKETLENS_LOG_DIR/nginx-error.log"; die "nginx did not start"; }
    wait_until 10 "nginx pid file" test -s "$RUN/nginx/nginx.pid" || die "nginx did not write its pid file"
}

# Stops the local cluster with postgres.sh, falling back to the postmaster's pid (fast shutdown,
# then immediate) so a missing or broken script never leaves a server running on deleted files.
stop_postgres() {
    local pid
    pid="$(read_pid "$POSTGRES_DATA/postmaster.pid")"
    pid_alive "$pid" || return 0
    log "stopping PostgreSQL"
    if [[ -f "$postgres_sh" ]]; then
        bash "$postgres_sh" stop "$POSTGRES_DATA" "$POSTGRES_PORT" >&2 9>&- || warn "postgres.sh stop failed"
    fi
    if pid_alive "$pid"; then
        kill -INT "$pid" 2>/dev/null || true
        wait_until 30 "PostgreSQL to stop" bash -c "! kill -0 $pid 2>/dev/null" || kill -QUIT "$pid" 2>/dev/null || true
        wait_until 10 "PostgreSQL to stop" bash -c "! kill -0 $pid 2>/dev/null" || true
    fi
    if pid_alive "$pid"; then
        warn "PostgreSQL (pid $pid) is still running; keeping its data directory"
        return 1
    fi
}

# ---------------------------------------------------------------- commands

cmd_up() {
    if [[ -f "$STATE" ]]; then
        # shellcheck disable=SC1090
        source "$STATE"
        if pid_alive "$(read_pid "$RUN/nginx/nginx.pid")" && pid_alive "$(read_pid "$RUN/marketlens.pid")"; then
            ok "Marketlens is already running at $MARKETLENS_URL"
            echo "$MARKETLENS_URL"
            return 0
        fi
        log "cleaning up an earlier stack that is partly down"
        cmd_down_inner keep
    fi

    MARKETLENS_MODE="dev"; if ((test_mode)); then MARKETLENS_MODE="test"; fi
    MARKETLENS_RUN_DIR="$RUN"
    MARKETLENS_LOG_DIR="$RUN/logs"
    MARKETLENS_SOCKET_DIR="$RUN/sock"
    export MARKETLENS_WORKERS="${MARKETLENS_WORKERS:-2}" MARKETLENS_THREADS="${MARKETLENS_THREADS:-32}"
    mkdir -p "$MARKETLENS_LOG_DIR"
    chmod 755 "$RUN"

    if ((test_mode)); then
        MARKETLENS_DATA_DIR="$RUN/data"
        local ports; mapfile -t ports < <(python3 "$ML_ROOT/scripts/ports.py" pick 3)
        HTTPS_PORT="${ports[0]}" HTTP_PORT="${ports[1]}" POSTGRES_PORT="${ports[2]}"
        if [[ -n "${DATABASE_URL:-}" ]]; then warn "--test ignores DATABASE_URL and uses a throw-away cluster"; fi
        unset DATABASE_URL PARALLEL_API_KEY PARALLEL_BASE_URL RESEND_API_KEY RESEND_BASE_URL BASE_URL
        config="${MARKETLENS_BUILD_CONFIG:-debug}"
        # Runs take seconds here, so the monitor's clocks shrink with them: a killed worker's runs are taken over,
        # a stalled stream is noticed, an uncertain create is retried and a failed e-mail resent within seconds.
        # Webhooks are on (the simulator signs with this secret; it cannot reach https, so tests replay its
        # recorded deliveries through nginx), and the report, validation and batch limits do not stop a suite that
        # creates many (the schema fuzzer of tests/stack/test_openapi.py alone sends a few hundred requests).
        export MARKETLENS_LEASE_SECONDS="${MARKETLENS_LEASE_SECONDS:-3}" \
            MARKETLENS_MONITOR_INTERVAL="${MARKETLENS_MONITOR_INTERVAL:-0.25}" \
            MARKETLENS_POLL_SECONDS="${MARKETLENS_POLL_SECONDS:-0.5}" \
            MARKETLENS_STREAM_IDLE_SECONDS="${MARKETLENS_STREAM_IDLE_SECONDS:-3}" \
            MARKETLENS_BACKOFF_SECONDS="${MARKETLENS_BACKOFF_SECONDS:-0.2}" \
            MARKETLENS_CREATE_GRACE_SECONDS="${MARKETLENS_CREATE_GRACE_SECONDS:-2}" \
            MARKETLENS_EMAIL_BACKOFF_SECONDS="${MARKETLENS_EMAIL_BACKOFF_SECONDS:-0.5}" \
            PARALLEL_WEBHOOK_SECRET="${PARALLEL_WEBHOOK_SECRET:-sim_webhook_secret_123}" \
            MAX_REPORTS_PER_HOUR="${MAX_REPORTS_PER_HOUR:-5000}" \
            MAX_REPORTS_PER_CLIENT_PER_HOUR="${MAX_REPORTS_PER_CLIENT_PER_HOUR:-1000}" \
            MAX_VALIDATION_CHECKS_PER_CLIENT_PER_HOUR="${MAX_VALIDATION_CHECKS_PER_CLIENT_PER_HOUR:-5000}" \
            MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR="${MAX_BATCH_RUNS_PER_CLIENT_PER_HOUR:-100000}" \
            MAX_BATCH_RUNS_PER_HOUR="${MAX_BATCH_RUNS_PER_HOUR:-100000}" \
            MARKETLENS_MAX_STREAMS_PER_CLIENT="${MARKETLENS_MAX_STREAMS_PER_CLIENT:-1000}"
    else
        MARKETLENS_DATA_DIR="${MARKETLENS_DATA_DIR:-$ML_ROOT/.data}"
        HTTPS_PORT="${HTTPS_PORT:-8443}" HTTP_PORT="${HTTP_PORT:-8080}" POSTGRES_PORT="${POSTGRES_PORT:-8432}"
        config="${MARKETLENS_BUILD_CONFIG:-release}"
    fi
    [[ "$HTTPS_PORT" != "$HTTP_PORT" ]] || die "HTTPS_PORT and HTTP_PORT are both $HTTPS_PORT"
    mkdir -p "$MARKETLENS_DATA_DIR"
    POSTGRES_DATA="$MARKETLENS_DATA_DIR/postgres"
    LOCAL_POSTGRES=1; [[ -n "${DATABASE_URL:-}" ]] && LOCAL_POSTGRES=0
    MARKETLENS_URL="https://localhost:$HTTPS_PORT/"; [[ "$HTTPS_PORT" == 443 ]] && MARKETLENS_URL="https://localhost/"
    MARKETLENS_HTTP_URL="http://localhost:$HTTP_PORT/"
    export BASE_URL="${BASE_URL:-${MARKETLENS_URL%/}}"
    export LOG_LEVEL="${LOG_LEVEL:-info}"

    require_port "$HTTPS_PORT" HTTPS_PORT
    require_port "$HTTP_PORT" HTTP_PORT
    if ((LOCAL_POSTGRES)) && ! bash "$postgres_sh" status "$POSTGRES_DATA" "$POSTGRES_PORT" >/dev/null 2>&1; then
        require_port "$POSTGRES_PORT" POSTGRES_PORT
    fi

    # From here on a failure stops whatever was started.
    save_state
    trap 'rc=$?; if ((rc != 0)); then warn "start-up failed; stopping what was started (logs in $MARKETLENS_LOG_DIR)"; cmd_down_inner keep || true; fi' EXIT

    if ((deps)); then bash "$ML_ROOT/scripts/deps.sh"; fi
    build_binaries "$config"
    save_state
    if ((LOCAL_POSTGRES)); then start_postgres; fi
    save_state
    log "migrating the database"
    MARKETLENS_ROOT="$ML_ROOT" DATABASE_URL="$DATABASE_URL" "$MARKETLENS_BIN" migrate \
        > "$MARKETLENS_LOG_DIR/migrate.log" 2>&1 || { tail_log "$MARKETLENS_LOG_DIR/migrate.log"; die "marketlens migrate failed"; }
    UPSTREAM_SIM_URL="" UPSTREAM_SIM_RESEND_URL=""
    if [[ -z "${PARALLEL_API_KEY:-}" ]]; then start_sim; fi
    save_state
    start_workers
    start_nginx
    if ! wait_until 60 "https://127.0.0.1:$HTTPS_PORT/healthz" health_ok; then
        tail_log "$MARKETLENS_LOG_DIR/nginx-error.log"; tail_log "$MARKETLENS_LOG_DIR/marketlens.log"
        die "the stack started but /healthz does not answer through nginx"
    fi
    save_state
    trap - EXIT
    ok "Marketlens is running at $MARKETLENS_URL  (logs: $MARKETLENS_LOG_DIR)"
    if ((test_mode)); then log "run dir: $RUN"; fi
    echo "$MARKETLENS_URL"
}

# Stops everything; "keep" leaves the run dir (logs) and data, "purge" removes them.
cmd_down_inner() {
    local how="${1:-keep}" pid
    local log_dir="${MARKETLENS_LOG_DIR:-$RUN/logs}"
    pid="$(read_pid "$RUN/nginx/nginx.pid")"
    if pid_alive "$pid"; then
        log "stopping nginx"
        stop_pid nginx "$pid" 10
    fi
    pid="$(read_pid "$RUN/marketlens.pid")"
    if pid_alive "$pid"; then
        log "stopping the marketlens workers"
        stop_pid marketlens "$pid" "${STOP_TIMEOUT:-20}"
    fi
    pid="$(read_pid "$RUN/upstream-sim.pid")"
    if pid_alive "$pid"; then
        log "stopping upstream-sim"
        stop_pid upstream-sim "$pid" 5
    fi
    if [[ "${LOCAL_POSTGRES:-0}" == 1 && -n "${POSTGRES_DATA:-}" ]]; then
        stop_postgres || how=keep
    fi
    rm -f "$RUN"/*.pid "$RUN/nginx/nginx.pid" "${MARKETLENS_SOCKET_DIR:-$RUN/sock}"/*.sock "$STATE"
    rmdir "${MARKETLENS_SOCKET_DIR:-$RUN/sock}" 2>/dev/null || true
    rm -rf "$RUN/nginx"
    if [[ "$how" == purge ]]; then
        if ((test_mode)); then
            rm -rf "$RUN"
        else
            rm -rf "$RUN" "$ML_ROOT/.data"
            log "removed .run/ and .data/ (the database)"
        fi
    fi
    : "$log_dir"
}

cmd_down() {
    if [[ ! -f "$STATE" ]] && ! compgen -G "$RUN/*.pid" >/dev/null && [[ ! -f "$RUN/nginx/nginx.pid" ]]; then
        if ((test_mode)) && [[ "${MARKETLENS_KEEP_RUN:-0}" != 1 ]]; then
            rm -rf "$RUN"
        elif ((purge)); then
            rm -rf "$RUN" "$ML_ROOT/.data"
        fi
        log "Marketlens is not running"
        return 0
    fi
    if ((test_mode || purge)) && [[ "${MARKETLENS_KEEP_RUN:-0}" != 1 ]]; then
        cmd_down_inner purge
    else
        cmd_down_inner keep
    fi
    ok "Marketlens stopped"
}

cmd_status() {
    if [[ ! -f "$STATE" ]]; then
        echo "Marketlens: stopped"
        return 3
    fi
    local up=0 total=0 pid name children
    report() { total=$((total + 1)); if [[ "$2" == up ]]; then up=$((up + 1)); fi; printf '  %-14s %-5s %s\n' "$1" "$2" "$3"; }
    echo "Marketlens ($MARKETLENS_MODE) at $MARKETLENS_URL"
    pid="$(read_pid "$RUN/nginx/nginx.pid")"
    if pid_alive "$pid"; then report nginx up "pid $pid, https :$HTTPS_PORT, http :$HTTP_PORT"; else report nginx down ""; fi
    pid="$(read_pid "$RUN/marketlens.pid")"
    if pid_alive "$pid"; then
        children="$(pgrep -P "$pid" 2>/dev/null | tr '\n' ' ' || true)"
        report marketlens up "supervisor pid $pid, workers: ${children:-none}"
    else
        report marketlens down ""
    fi
    local i socks=""
    for ((i = 0; i < ${MARKETLENS_WORKERS:-2}; i++)); do
        [[ -S "$MARKETLENS_SOCKET_DIR/worker-$i.sock" ]] && socks+="worker-$i.sock " || socks+="(worker-$i.sock missing) "
    done
    echo "  sockets        $socks"
    if [[ -n "${UPSTREAM_SIM_URL:-}" ]]; then
        pid="$(read_pid "$RUN/upstream-sim.pid")"
        if pid_alive "$pid"; then report upstream-sim up "pid $pid, $UPSTREAM_SIM_URL"; else report upstream-sim down ""; fi
    fi
    if [[ "${LOCAL_POSTGRES:-0}" == 1 ]]; then
        pid="$(read_pid "$POSTGRES_DATA/postmaster.pid")"
        if pid_alive "$pid"; then
            report postgres up "pid $pid, 127.0.0.1:$POSTGRES_PORT, data $POSTGRES_DATA"
        else
            report postgres down ""
        fi
    fi
    local code
    for name in healthz readyz; do
        code="$(curl -ks --max-time 3 -o /dev/null -w '%{http_code}' "https://127.0.0.1:$HTTPS_PORT/$name" || true)"
        printf '  %-14s %s\n' "/$name" "${code:-no answer}"
    done
    echo "  logs           $MARKETLENS_LOG_DIR"
    if [[ -f "$MARKETLENS_LOG_DIR/nginx-access.log" ]]; then
        echo "  page cache (last 10,000 requests; scripts/cache-stats.py):"
        python3 "$ML_ROOT/scripts/cache-stats.py" --last 10000 "$MARKETLENS_LOG_DIR/nginx-access.log" | sed 's/^/    /' || true
    fi
    ((up == total)) && return 0
    ((up == 0)) && return 3
    return 1
}

cmd_env() {
    [[ -f "$STATE" ]] || die "no stack is running from $RUN"
    sed 's/^/export /' "$STATE"
}

cmd_run() {
    local tail_pid=""
    stop_all() {
        trap - INT TERM EXIT
        if [[ -n "$tail_pid" ]]; then kill "$tail_pid" 2>/dev/null || true; fi
        # shellcheck disable=SC1090
        if [[ -f "$STATE" ]]; then source "$STATE"; fi
        echo >&2
        log "stopping"
        cmd_down_inner "$( ((test_mode)) && echo purge || echo keep)"
        ok "Marketlens stopped"
        exit "${1:-0}"
    }
    # Traps first: a Ctrl-C that arrives while the stack is still starting must stop what was
    # started, not be swallowed (bash ignores an untrapped SIGINT when its foreground child exits normally).
    trap 'stop_all 0' INT TERM
    trap 'stop_all 1' EXIT
    cmd_up >/dev/null
    trap 'stop_all 0' INT TERM
    trap 'stop_all 1' EXIT
    # shellcheck disable=SC1090
    source "$STATE"
    ok "open $MARKETLENS_URL   (press Ctrl-C to stop; worker log follows)"
    tail -n 0 -F "$MARKETLENS_LOG_DIR/marketlens.log" >&2 &
    tail_pid=$!
    # Only builtins in this loop: Ctrl-C also hits our foreground children, and a killed helper
    # must not look like a dead server.
    local supervisor nginx_pid
    supervisor="$(read_pid "$RUN/marketlens.pid")"
    nginx_pid="$(read_pid "$RUN/nginx/nginx.pid")"
    while true; do
        sleep 2 &
        wait $! || true
        if ! kill -0 "$supervisor" 2>/dev/null; then
            warn "marketlens serve exited"; tail_log "$MARKETLENS_LOG_DIR/marketlens.log"; stop_all 1
        fi
        if ! kill -0 "$nginx_pid" 2>/dev/null; then
            warn "nginx exited"; tail_log "$MARKETLENS_LOG_DIR/nginx-error.log"; stop_all 1
        fi
    done
}

# One stack.sh at a time per run dir. Every process we start gets `9>&-` so none inherits the lock.
exec 9>"$RUN/.lock"
flock -w 120 9 || die "another stack.sh is working on $RUN"

case "$command" in
    up) cmd_up ;;
    run) cmd_run ;;
    down) cmd_down ;;
    status) cmd_status ;;
    env) cmd_env ;;
    *) usage ;;
esac
