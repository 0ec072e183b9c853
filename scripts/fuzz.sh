#!/usr/bin/env bash
# Long fuzzing run (bench/fuzz.py): COUNT malformed and extreme inputs through SQL against a local
# server, each its own statement; prints inputs/s, the SQLSTATE histogram, failures and crashes, and
# writes the full report to .cache/fuzz/fuzz-COUNT-SEED.json. Exits non-zero on any failure or crash.
# The test command runs 10,000 of the same inputs (tests/client/test_fuzz.py).
# usage: scripts/fuzz.sh [COUNT (1000000)] [SEED (1)] [extra bench/fuzz.py options]
#   Two connections (--workers 2, one process each, on their own tables) unless told otherwise.
#   EMBEDRANK_PG=17 runs it on Postgres 17 instead of 15; EMBEDRANK_SKIP_INSTALL=1 uses the
#   extension already installed in that tree (else a release build is installed first).
#   About 17 minutes per million inputs on 2 cores.
source "$(dirname "$0")/lib.sh"
COUNT=${1:-1000000}; SEED=${2:-1}; shift $(( $# < 2 ? $# : 2 ))
harness_server fuzz 28817
echo "command: scripts/fuzz.sh $COUNT $SEED $*"
PGHOST=$DEMO_SOCK PGPORT=$port PGUSER=postgres "$VENV/bin/python" bench/fuzz.py --count "$COUNT" --seed "$SEED" \
  --workers 2 --json "$CACHE_DIR/fuzz/fuzz-$COUNT-$SEED.json" "$@"
