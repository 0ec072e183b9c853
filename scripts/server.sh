#!/usr/bin/env bash
# Starts or stops a local Postgres 15 server for the demo, benchmarks and client tests.
# Data directory: .pgdata/<name> (git-ignored); socket directory: .pgrun; port from the caller.
# usage: scripts/server.sh start NAME PORT | stop NAME
source "$(dirname "$0")/lib.sh"
# EMBEDRANK_PG=17 runs the server from the Postgres 17 tree instead of Debian's 15.
PGC=$(pg_config_of "${EMBEDRANK_PG:-15}")
BIN=$("$PGC" --bindir)
cmd=${1:?start|stop}; name=${2:?name}; port=${3:-$DEMO_PORT}
data=$REPO_ROOT/.pgdata/$name
case $cmd in
  start)
    mkdir -p "$REPO_ROOT/.pgdata" "$DEMO_SOCK"
    chown postgres "$REPO_ROOT/.pgdata" "$DEMO_SOCK" 2>/dev/null || true
    if [ ! -f "$data/PG_VERSION" ]; then
      as_pg "$BIN/initdb" -D "$data" -A trust -U postgres --no-sync >/dev/null
      cat >> "$data/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$DEMO_SOCK'
shared_buffers = 512MB
maintenance_work_mem = 1GB
max_wal_size = 4GB
CONF
    fi
    if ! as_pg "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$data" -o "-p $port" -l "$data/server.log" -w start >/dev/null
    fi
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ] && as_pg "$BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_pg "$BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null
    fi
    ;;
  *) die "usage: server.sh start NAME PORT | stop NAME" ;;
esac
