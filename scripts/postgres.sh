#!/usr/bin/env bash
# Runs a local, throw-away PostgreSQL cluster for development and tests.
#
#   scripts/postgres.sh init|start|stop|status|url DATA_DIR PORT
#
# init    create the cluster in DATA_DIR if it does not exist (UTF8, listening on 127.0.0.1 only)
# start   init if needed, start it (log in DATA_DIR.log), wait until ready, ensure role and
#         database `marketlens` exist with their passwords and the password-only pg_hba.conf; a
#         no-op (apart from those checks) when running
# stop    fast shutdown, waits; a no-op when not running
# status  exit 0 when running, 1 otherwise
# url     print the connection URL for the `marketlens` role and database (with its password)
#
# As root the server runs as the `postgres` OS user (PostgreSQL refuses root), so DATA_DIR's
# parent directories must be traversable by that user.
#
# Environment (for a database host that application hosts reach over TCP, e.g. the soak's cluster or
# docs/deploy.md): POSTGRES_LISTEN_ADDRESSES (extra addresses to listen on beside 127.0.0.1, comma
# separated) and POSTGRES_ALLOW_NETWORKS (CIDRs, space or comma separated, allowed in with a password).
# POSTGRES_TRACK_COMMIT_TIMESTAMP=on records commit times (bench/monitor.sh measures store latency with them).
# POSTGRES_EXTRA_CONF adds settings for a diagnosis, separated by ";" (log_checkpoints = on; log_lock_waits = on).
#
# Authentication: every connection, local socket or 127.0.0.1, needs a password (scram-sha-256);
# no local user is trusted. The `marketlens` role (owner of its database, CREATEDB for the test
# databases, no superuser) has a random password in DATA_DIR.password; the superuser `postgres`,
# used only by this script, has another in DATA_DIR.admin-password. Both files are readable by
# the user who runs this script only. A cluster made by an older version (trust for everyone) is
# given the passwords and the new pg_hba.conf on its next start.
set -euo pipefail

readonly ROLE=marketlens
readonly DATABASE=marketlens

die() { echo "postgres.sh: $*" >&2; exit 1; }

usage() {
    echo "usage: $0 init|start|stop|status|url DATA_DIR PORT" >&2
    exit 2
}

[[ $# -eq 3 ]] || usage
command=$1
data_dir=$2
port=$3
[[ $port =~ ^[0-9]+$ ]] && (( port > 0 && port < 65536 )) || die "PORT must be a number in 1..65535, got '$port'"

# Absolute paths: the server commands run from / (the postgres user may not reach our cwd).
case $data_dir in
    /*) ;;
    *) data_dir="$(pwd)/$data_dir" ;;
esac
data_dir="${data_dir%/}"
parent_dir="$(dirname "$data_dir")"
log_file="${data_dir}.log"
password_file="${data_dir}.password"
admin_password_file="${data_dir}.admin-password"

# A password file's content, made (64 hex digits, mode 0600) when missing. Hex needs no quoting in
# a URL or in SQL.
secret() {
    local file="$1"
    if [[ ! -s $file ]]; then
        mkdir -p "$(dirname "$file")"
        (umask 077 && od -An -N32 -tx1 /dev/urandom | tr -d ' \n' > "$file.tmp" && mv "$file.tmp" "$file")
    fi
    cat "$file"
}

if [[ $command == url ]]; then
    [[ -s $password_file ]] || die "no password for the ${ROLE} role yet ($password_file): run '$0 start' first"
    echo "postgresql://${ROLE}:$(cat "$password_file")@127.0.0.1:${port}/${DATABASE}"
    exit 0
fi

# The newest installed server version wins, so a Debian upgrade needs no edit here.
find_bin_dir() {
    local dir
    # Glob order is lexical ("10" < "9"); sort by the version field instead.
    for dir in /usr/lib/postgresql/*/bin; do
        [[ -x "$dir/pg_ctl" && -x "$dir/initdb" ]] && echo "$dir"
    done | sort -t/ -k5,5V | tail -n 1
}

bin_dir="$(find_bin_dir)"
if [[ -z $bin_dir ]]; then
    die "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin.
Install them with:  apt-get install -y postgresql postgresql-client libpq-dev"
fi

if [[ $(id -u) -eq 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root but there is no 'postgres' OS user (apt-get install -y postgresql creates it)"
    as_postgres() { (cd / && runuser -u postgres -- "$@"); }
    owner=postgres
else
    as_postgres() { (cd / && "$@"); }
    owner="$(id -un)"
fi

# Unix socket paths are limited to 107 bytes; fall back to TCP only when DATA_DIR is too deep.
socket_dir="$data_dir"
if (( ${#data_dir} + 20 > 100 )); then
    socket_dir=""
fi

is_running() {
    [[ -f "$data_dir/PG_VERSION" ]] || return 1
    as_postgres "$bin_dir/pg_ctl" status -D "$data_dir" >/dev/null 2>&1
}

check_parents() {
    mkdir -p "$parent_dir"
    # `test -x` on the parent fails unless every directory above it is traversable too.
    if ! as_postgres test -x "$parent_dir" -a -r "$parent_dir"; then
        die "the '$owner' user cannot reach $parent_dir: every parent directory of DATA_DIR must be
traversable by it (e.g. chmod o+x on each parent, or choose a DATA_DIR under /tmp or /var/lib)"
    fi
}

write_settings() {
    # Rewritten on every start so the port (and socket dir) follow the command line.
    local conf="$data_dir/marketlens.conf"
    {
        echo "# Written by scripts/postgres.sh on every start; edits are lost."
        echo "listen_addresses = '127.0.0.1${POSTGRES_LISTEN_ADDRESSES:+,$POSTGRES_LISTEN_ADDRESSES}'"
        echo "port = $port"
        echo "unix_socket_directories = '$socket_dir'"
        echo "max_connections = 200"
        echo "timezone = 'UTC'"
        echo "log_timezone = 'UTC'"
        # The monitoring bench reads each event row's commit time (pg_xact_commit_timestamp).
        echo "track_commit_timestamp = ${POSTGRES_TRACK_COMMIT_TIMESTAMP:-off}"
        # Followed runs rewrite their report rows about once a second each: autovacuum looks for work every 10 s,
        # not every minute, so lookups do not walk a minute of dead row versions (migration 0017).
        echo "autovacuum_naptime = 10s"
        # Settings for a diagnosis (POSTGRES_EXTRA_CONF="log_checkpoints = on; log_lock_waits = on"), one per ';'.
        [[ -z ${POSTGRES_EXTRA_CONF:-} ]] || tr ';' '\n' <<< "$POSTGRES_EXTRA_CONF" | sed 's/^ *//'
    } > "$conf.tmp"
    mv "$conf.tmp" "$conf"
    [[ $owner == "$(id -un)" ]] || chown "$owner:" "$conf"
}

do_init() {
    if [[ -f "$data_dir/PG_VERSION" ]]; then
        return 0
    fi
    check_parents
    mkdir -p "$data_dir"
    if [[ -n $(ls -A "$data_dir") ]]; then
        die "$data_dir exists, is not empty and is not a PostgreSQL cluster; refusing to touch it"
    fi
    chown "$owner:" "$data_dir"
    chmod 700 "$data_dir"
    local locale=C.UTF-8
    locale -a 2>/dev/null | grep -qix 'c.utf-\?8' || locale=C
    echo "postgres.sh: creating cluster in $data_dir ($(basename "$(dirname "$bin_dir")"))" >&2
    # initdb reads the superuser's password from a file the postgres user can read: a copy, removed at once.
    local pwfile
    pwfile="$(mktemp)"
    secret "$admin_password_file" > "$pwfile"
    [[ $owner == "$(id -un)" ]] || chown "$owner:" "$pwfile"
    if ! as_postgres "$bin_dir/initdb" -D "$data_dir" -U postgres --encoding=UTF8 --locale="$locale" \
        --auth=scram-sha-256 --pwfile="$pwfile" >/dev/null; then
        rm -f "$pwfile"
        die "initdb failed in $data_dir"
    fi
    rm -f "$pwfile"
    echo "include_if_exists = 'marketlens.conf'" >> "$data_dir/postgresql.conf"
    write_hba || true
    write_settings
}

# Passwords for everyone, loopback only. Returns 1 when the file changed (the server must reload).
write_hba() {
    local hba="$data_dir/pg_hba.conf"
    local wanted="# Written by scripts/postgres.sh on every start; edits are lost.
# A development cluster, loopback only; every role needs its password (no local user is trusted).
# TYPE  DATABASE  USER  ADDRESS        METHOD
local   all       all                  scram-sha-256
host    all       all   127.0.0.1/32   scram-sha-256"
    local net allowed="${POSTGRES_ALLOW_NETWORKS:-}"
    for net in ${allowed//,/ }; do
        [[ $net =~ ^[0-9a-fA-F.:]+/[0-9]+$ ]] || die "POSTGRES_ALLOW_NETWORKS: not a CIDR: $net"
        wanted+=$'\n'"host    all       all   $net   scram-sha-256"
    done
    [[ -f $hba && "$(cat "$hba")" == "$wanted" ]] && return 0
    printf '%s\n' "$wanted" > "$hba.tmp"
    [[ $owner == "$(id -un)" ]] || chown "$owner:" "$hba.tmp"
    chmod 600 "$hba.tmp"
    mv "$hba.tmp" "$hba"
    return 1
}

# The superuser over TCP with its password (psql is only a client: it runs as whoever runs this).
psql_admin() {
    PGPASSWORD="$(secret "$admin_password_file")" PGCONNECT_TIMEOUT=5 \
        "$bin_dir/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d postgres "$@"
}

# Role, database and both passwords (the passwords go in on stdin, never on a command line), then the
# password-only pg_hba.conf: written after the passwords so an older, trusting cluster is upgraded in place.
ensure_role_and_database() {
    psql_admin <<SQL >/dev/null
SELECT 'CREATE ROLE ${ROLE} LOGIN CREATEDB'
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '${ROLE}') \gexec
ALTER ROLE ${ROLE} NOSUPERUSER LOGIN CREATEDB PASSWORD '$(secret "$password_file")';
ALTER ROLE postgres PASSWORD '$(secret "$admin_password_file")';
SELECT 'CREATE DATABASE ${DATABASE} OWNER ${ROLE} ENCODING ''UTF8'' TEMPLATE template0'
 WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${DATABASE}') \gexec
SQL
    if ! write_hba; then
        as_postgres "$bin_dir/pg_ctl" reload -D "$data_dir" >/dev/null
    fi
}

do_start() {
    do_init
    if is_running; then
        ensure_role_and_database
        return 0
    fi
    check_parents
    write_settings
    if [[ ! -e $log_file ]]; then
        touch "$log_file"
    fi
    [[ $owner == "$(id -un)" ]] || chown "$owner:" "$log_file"
    if ! as_postgres "$bin_dir/pg_ctl" start -D "$data_dir" -l "$log_file" -w -t 60 >/dev/null; then
        echo "postgres.sh: PostgreSQL failed to start; last lines of $log_file:" >&2
        tail -n 20 "$log_file" >&2 || true
        exit 1
    fi
    # pg_ctl -w returns once the server accepts connections; a short retry covers TCP lag.
    local tries=0
    until psql_admin -c 'SELECT 1' >/dev/null 2>&1; do
        tries=$((tries + 1))
        (( tries < 50 )) || die "PostgreSQL started but does not accept connections on 127.0.0.1:$port (see $log_file)"
        sleep 0.2
    done
    ensure_role_and_database
}

do_stop() {
    is_running || return 0
    as_postgres "$bin_dir/pg_ctl" stop -D "$data_dir" -m fast -w -t 60 >/dev/null
}

case $command in
    init) do_init ;;
    start) do_start ;;
    stop) do_stop ;;
    status)
        if is_running; then
            echo "running ($data_dir, port $port)"
        else
            echo "not running ($data_dir)"
            exit 1
        fi
        ;;
    *) usage ;;
esac
