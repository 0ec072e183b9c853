#!/usr/bin/env bash
# Soak test (bench/soak.py): CLIENTS connections for SECONDS mix inserts (precomputed embeddings and
# texts the trigger embeds with the real model), updates, deletes, transactions, index scans, search()
# and VACUUM on a table registered with embedrank.register(); then audits every committed row, compares
# the index's top 10 at ef_search = 400 with an exact scan, and checks the server never crashed.
# Writes the report to .cache/soak/soak-CLIENTSxSECONDS.json; exits non-zero unless everything held.
# The client tests run a 4 x 20 s version (tests/client/test_soak.py).
# usage: scripts/soak.sh [SECONDS (300)] [CLIENTS (8)] [extra bench/soak.py options, e.g. --rows 20000]
#   EMBEDRANK_PG=17 runs it on Postgres 17 instead of 15; EMBEDRANK_SKIP_INSTALL=1 uses the
#   extension already installed in that tree (else a release build is installed first).
source "$(dirname "$0")/lib.sh"
SECONDS_=${1:-300}; CLIENTS=${2:-8}; shift $(( $# < 2 ? $# : 2 ))
harness_server soak 28818
echo "command: scripts/soak.sh $SECONDS_ $CLIENTS $*"
PGHOST=$DEMO_SOCK PGPORT=$port PGUSER=postgres "$VENV/bin/python" bench/soak.py --seconds "$SECONDS_" --clients "$CLIENTS" \
  --json "$CACHE_DIR/soak/soak-${CLIENTS}x${SECONDS_}.json" "$@"
