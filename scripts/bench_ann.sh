#!/usr/bin/env bash
# ANN benchmark of embedrank_hnsw with the shared harness (../shared/bench/ann_bench.sh): 100k x 384
# synthetic clustered vectors, m=16, ef_construction=64, recall@10 and queries/s at ef_search
# 10..160, build time and index size — the same measurement ANCHORS.md reports for pgvector.
# Also times an exact (sequential) scan on the same data for the speed-up ratio, then latency
# percentiles and the insert rate after build (bench/ann_latency.py).
# usage: scripts/bench_ann.sh [15|17] [ROWS] [DIMS]     (release build; server .pgdata/bench-<pg>)
source "$(dirname "$0")/lib.sh"
PG=${1:-15}; ROWS=${2:-100000}; DIMS=${3:-384}
PGC=$PG15_CONFIG; [ "$PG" = 17 ] && PGC=$PG17_CONFIG
cd "$REPO_ROOT"
bash scripts/setup.sh
log "release build into Postgres $PG"
cargo pgrx install --release --pg-config "$PGC" --features "pg$PG" --no-default-features >/dev/null
port=$((28830 + PG))
EMBEDRANK_PG=$PG bash scripts/server.sh start "bench-$PG" $port
export PGHOST=$DEMO_SOCK PGPORT=$port PGUSER=postgres PGOPTIONS="-c search_path=public,embedrank"
psql -qAtX -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'ann'" | grep -q 1 || createdb ann
psql -qAtX -d ann -c "CREATE EXTENSION IF NOT EXISTS pg_embedrank"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Postgres $PG"
bash /work/shared/bench/ann_bench.sh ann embedrank_hnsw embedrank.hnsw_ef_search "$ROWS" "$DIMS"
printf '\\set qid random(1, 100)\nSELECT id FROM ann_items ORDER BY v <-> (SELECT v FROM ann_queries WHERE qid = :qid) LIMIT 10;\n' > /tmp/ann_exact.sql
qps=$(PGOPTIONS="$PGOPTIONS -c enable_indexscan=off" /usr/lib/postgresql/15/bin/pgbench -n -M simple -c 1 -T "${BENCH_S:-10}" -f /tmp/ann_exact.sql ann 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
echo "exact scan qps=$qps"
PGDATABASE=ann "$VENV/bin/python" "$REPO_ROOT/bench/ann_latency.py"
