#!/usr/bin/env bash
# Start a throw-away PostgreSQL for the storage tests and print the URL to use.
#
#   eval "$(bash .ci/postgres.sh)"        # sets DEALERPOLICY_TEST_PG_URL
#   bash .ci/postgres.sh stop             # stops the cluster this script started
#
# Installs Debian's postgresql package if no server binaries are found, creates a
# cluster in $DEALERPOLICY_TEST_PG_DIR (default /tmp/dealerpolicy-pg-<port>) listening on
# 127.0.0.1:$DEALERPOLICY_TEST_PG_PORT (default 54329) only, and a user allowed to create
# databases (the tests make one database per test). Idempotent: a running cluster is reused.
# Only the export line goes to stdout; progress goes to stderr.
set -euo pipefail

PORT="${DEALERPOLICY_TEST_PG_PORT:-54329}"
DIR="${DEALERPOLICY_TEST_PG_DIR:-/tmp/dealerpolicy-pg-$PORT}"
USER_NAME=dealerpolicy
PASSWORD=dealerpolicy
DB_NAME=dealerpolicy_test

log() { echo "postgres.sh: $*" >&2; }

find_bin() {
    local d
    for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
        if [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    done
    return 1
}

BIN="$(find_bin || true)"
if [ -z "$BIN" ]; then
    log "PostgreSQL server not found; installing Debian's postgresql package"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
    BIN="$(find_bin)"
fi

# initdb refuses to run as root: run the server as the postgres user when we are root.
as_owner() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if [ "${1:-}" = stop ]; then
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast stop >&2 || true
    exit 0
fi

if ! "$BIN/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
    if [ ! -f "$DIR/data/PG_VERSION" ]; then
        log "creating cluster in $DIR/data"
        mkdir -p "$DIR"
        [ "$(id -u)" = 0 ] && chown postgres: "$DIR"
        as_owner "$BIN/initdb" -D "$DIR/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >&2
    fi
    log "starting on 127.0.0.1:$PORT"
    as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
        -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200 -c autovacuum=off" start >&2
    # autovacuum off: its workers (owned by the superuser) would race the tests' DROP DATABASE … FORCE
fi

psql_admin() { "$BIN/psql" -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres "$@"; }
if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$USER_NAME'")" ]; then
    psql_admin -c "CREATE ROLE $USER_NAME LOGIN CREATEDB PASSWORD '$PASSWORD'" >&2
fi
if [ -z "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" ]; then
    psql_admin -c "CREATE DATABASE $DB_NAME OWNER $USER_NAME" >&2
fi

echo "export DEALERPOLICY_TEST_PG_URL=postgresql+psycopg://$USER_NAME:$PASSWORD@127.0.0.1:$PORT/$DB_NAME"
