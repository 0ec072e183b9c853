#!/usr/bin/env bash
# The project's whole test suite (the README's test command; .ci/run calls it):
#   1. setup (idempotent), 2. Postgres-free unit tests of the core crates,
#   3. `cargo pgrx test` on Postgres 14, 15, 16, 17 and 18 (as the postgres user, on private data
#      directories),
#   4. durability tests of the index (crash recovery, replica, concurrency, VACUUM phases), of
#      resource limits, and of a coordinator with two postgres_fdw shards, on real clusters,
#   5. client tests (psycopg 3 + pgvector adapter, SQLAlchemy) against a real server.
# usage: scripts/test.sh [unit|pg14|pg15|pg16|pg17|pg18|durability|client]...   (no argument: everything)
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/setup.sh
parts=("$@")
has() { [ ${#parts[@]} -eq 0 ] || [[ " ${parts[*]} " == *" $1 "* ]]; }
unset RUST_BACKTRACE

# `--runas` installs the .so into the Postgres tree; live servers on the same tree would crash.
for server in demo client-test shard-coord shard-1 shard-2; do bash scripts/server.sh stop $server; done

# ONNX Runtime's Python reference outputs on THIS machine: the int8 models' digits depend on the CPU's
# kernels (AVX2 vs AVX-512 VNNI), so the parity tests compare against a fixture computed here, now.
log "parity fixture: Python onnxruntime reference on this machine"
"$VENV/bin/python" tests/parity/make_fixture.py --out "$CACHE_DIR/parity/fixture.json" >/dev/null
chmod a+rx "$CACHE_DIR" "$CACHE_DIR/parity"

if has unit; then
  log "unit tests (Postgres-free crates)"
  EMBEDRANK_REQUIRE_ASSETS=1 cargo test -q -p embedrank-core -p embedrank-infer
fi

TESTROOT=/tmp/pg_embedrank-test
for major in $PG_MAJORS; do
  pg=pg$major
  has $pg || continue
  log "cargo pgrx test $pg"
  mkdir -p $TESTROOT && chown postgres $TESTROOT
  rm -rf "$TESTROOT/$pg"
  bash scripts/install_assets.sh "$(pg_config_of "$major")"
  cargo pgrx test "$pg" --runas postgres --pgdata "$TESTROOT/$pg"
done

# Durability and client tests run against one installed release build in the Postgres 15 tree (a debug
# build inserts ~10x slower: the VACUUM-phase test alone took 25 minutes with one).
if has durability || has client; then
  log "release build into Postgres 15 for the durability and client tests"
  cargo pgrx install --release --pg-config "$PG15_CONFIG" >/dev/null
  bash scripts/install_assets.sh "$PG15_CONFIG"
fi

if has durability; then
  log "durability tests (SIGKILL recovery, streaming replica, concurrency, VACUUM phases, resources, shards) on Postgres 15"
  PGBIN=$(pg_home 15)/bin "$VENV/bin/python" -m pytest -q tests/integration
fi

if has client; then
  log "client tests (psycopg 3, pgvector adapter, SQLAlchemy, roles, fuzz, soak) against Postgres 15"
  port=28816
  bash scripts/server.sh start client-test $port
  trap 'bash scripts/server.sh stop client-test' EXIT
  PGHOST=$DEMO_SOCK PGPORT=$port PGUSER=postgres PGBIN=$(pg_home 15)/bin "$VENV/bin/python" -m pytest -q tests/client
fi
log "all tests passed"
