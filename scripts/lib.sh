# shellcheck shell=bash
# Shared helpers for the Marketlens scripts. Source it; do not run it.

ML_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ -t 2 && -z "${NO_COLOR:-}" ]]; then
    _c_dim=$'\e[2m' _c_red=$'\e[31m' _c_yel=$'\e[33m' _c_grn=$'\e[32m' _c_off=$'\e[0m'
else
    _c_dim='' _c_red='' _c_yel='' _c_grn='' _c_off=''
fi

log()  { printf '%s==>%s %s\n' "$_c_dim" "$_c_off" "$*" >&2; }
ok()   { printf '%s==>%s %s\n' "$_c_grn" "$_c_off" "$*" >&2; }
warn() { printf '%swarning:%s %s\n' "$_c_yel" "$_c_off" "$*" >&2; }
die()  { printf '%serror:%s %s\n' "$_c_red" "$_c_off" "$*" >&2; exit 1; }

is_root() { [[ "$(id -u)" -eq 0 ]]; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if is_root; then "$@"
    elif command -v sudo >/dev/null 2>&1; then
        if sudo -n true 2>/dev/null; then sudo -n "$@"; else sudo "$@"; fi
    else die "need root for: $* (run as root or install sudo)"
    fi
}

# Loads KEY=VALUE lines from a .env file without executing it. Variables already set in the
# environment win, so `HTTPS_PORT=9443 make run` beats the file.
load_env_file() {
    local file="$1" line key value
    [[ -f "$file" ]] || return 0
    while IFS= read -r line || [[ -n "$line" ]]; do
        line="${line%$'\r'}"
        [[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
        line="${line#export }"
        [[ "$line" =~ ^[[:space:]]*([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]] || { warn "$file: ignoring line: ${line%%=*}"; continue; }
        key="${BASH_REMATCH[1]}" value="${BASH_REMATCH[2]}"
        value="${value#"${value%%[![:space:]]*}"}"; value="${value%"${value##*[![:space:]]}"}"
        if [[ "$value" =~ ^\"(.*)\"$ || "$value" =~ ^\'(.*)\'$ ]]; then value="${BASH_REMATCH[1]}"; fi
        [[ -n "${!key+x}" ]] || export "$key=$value"
    done < "$file"
}

# Polls a command until it succeeds or the timeout (seconds) passes.
wait_until() {
    local timeout="$1" what="$2"; shift 2
    local deadline=$((SECONDS + timeout))
    until "$@" >/dev/null 2>&1; do
        (( SECONDS < deadline )) || { warn "timed out after ${timeout}s waiting for $what"; return 1; }
        sleep 0.2
    done
}

pid_alive() { [[ -n "${1:-}" ]] && kill -0 "$1" 2>/dev/null; }

# Prints the pid in a pid file when that process is alive and is the one that wrote the file: a
# process started after the file was written (pid reuse after a reboot) is not ours.
read_pid() {
    local file="$1" pid start_ticks btime ticks mtime
    [[ -f "$file" ]] || return 0
    pid="$(head -n 1 "$file" | tr -dc '0-9')"
    [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null || return 0
    start_ticks="$(awk '{sub(/.*\) /, ""); print $20}' "/proc/$pid/stat" 2>/dev/null)" || return 0
    btime="$(awk '/^btime/ {print $2}' /proc/stat)"
    ticks="$(getconf CLK_TCK)"
    mtime="$(stat -c %Y "$file")"
    if [[ -n "$start_ticks" ]] && (( btime + start_ticks / ticks > mtime + 2 )); then
        return 0
    fi
    echo "$pid"
}

# Describes who listens on a TCP port, for error messages.
port_owner() {
    command -v ss >/dev/null 2>&1 || return 0
    ss -Hltnp "sport = :$1" 2>/dev/null | sed -n 's/.*users:((\("[^"]*"\).*/\1/p' | head -1
}

port_free() { python3 "$ML_ROOT/scripts/ports.py" check "$1" >/dev/null 2>&1; }

# Benchmarks: builds the release binaries unless MARKETLENS_BIN names them already, and exports their paths.
bench_release_binaries() {
    [[ -n "${MARKETLENS_BIN:-}" ]] && return 0
    log "building (release)"
    swift build -c release >&2 || die "swift build -c release failed"
    local bin_path
    bin_path="$(swift build -c release --show-bin-path)"
    export MARKETLENS_BIN="$bin_path/marketlens" UPSTREAM_SIM_BIN="${UPSTREAM_SIM_BIN:-$bin_path/upstream-sim}"
}

# Benchmarks: a throw-away run directory in RUN (prefix $1) whose stack is torn down when the script exits.
bench_run_dir() {
    RUN="$(mktemp -d "/tmp/$1.XXXXXX")"
    chmod 755 "$RUN"
    trap 'bash scripts/stack.sh down --test --run-dir "$RUN" >/dev/null 2>&1 || warn "teardown failed: $RUN"' EXIT
}

# Benchmarks: a throw-away release stack (run dir prefix $1) with the defaults of `make run` (2 workers x 32
# threads) plus whatever the caller exported (time scale, limits), torn down when the script exits. Loads the
# stack's variables (DATABASE_URL, UPSTREAM_SIM_URL, …) and sets `pids` (the workers), `nginx_pid` and
# `postmaster_pid`. Raises the descriptor limit first: the stack inherits it.
bench_stack_up() {
    ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    bench_release_binaries
    bench_run_dir "$1"
    MARKETLENS_BUILD_CONFIG=release LOG_LEVEL="${LOG_LEVEL:-warning}" \
        NGINX_WORKER_CONNECTIONS="${NGINX_WORKER_CONNECTIONS:-16384}" \
        NGINX_RLIMIT_NOFILE="${NGINX_RLIMIT_NOFILE:-$(ulimit -Hn)}" \
        bash scripts/stack.sh up --test --no-build --no-deps --run-dir "$RUN" >/dev/null
    eval "$(bash scripts/stack.sh env --run-dir "$RUN")"
    local supervisor
    supervisor="$(read_pid "$RUN/marketlens.pid")"
    sleep 3
    mapfile -t pids < <(pgrep -P "$supervisor")
    nginx_pid="$(read_pid "$RUN/nginx/nginx.pid")"
    postmaster_pid="$(head -n 1 "${POSTGRES_DATA:-/nonexistent}/postmaster.pid" 2>/dev/null || true)"
}
