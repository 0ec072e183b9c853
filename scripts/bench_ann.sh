#!/usr/bin/env bash
# ANN benchmark of embedrank_hnsw with the shared harness (../shared/bench/ann_bench.sh): 100k x 384
# synthetic clustered vectors, m=16, ef_construction=64, recall@10 and queries/s at ef_search
# 10..160, build time and index size — the same measurement ANCHORS.md reports for pgvector.
# Also times an exact (sequential) scan on the same data for the speed-up ratio, then latency
# percentiles and the insert rate after build (bench/ann_latency.py).
# Side by side: when pgvector is installed in the same Postgres (a measuring aid, not part of the
# project: build it by hand with `make PG_CONFIG=... install`), the harness also runs pgvector's hnsw on
# the same data in a database of its own (the harness generates identical data from a fixed seed), then
# both indexes answer pgbench in alternating rounds per ef_search (ours, pgvector, ours, pgvector, ...)
# and the q/s ratio is printed per round and as the median.
# usage: scripts/bench_ann.sh [14..18] [ROWS] [DIMS]     (release build; server .pgdata/bench-<pg>)
#   QUANTIZER=sq8 (or sq4) builds our index with that quantizer.
#   Each ROWS x DIMS set lives in its own database (ann for 100k x 384, else ann_<rows>_<dims>), so a
#   second run reuses the generated data and ground truth. Past 200k rows the data comes from
#   bench/ann_data.py (same recipe; the harness's SQL generator overflows int4 there), for pgvector's
#   database too (same seed, same rows). BUILD_WORKERS, EF_LIST, ROUNDS, ROUND_S as in the harness.
#   PGVECTOR_INDEX=reuse keeps pgvector's index from an earlier run in this cluster (recall is
#   measured again, queries/s side by side as usual): quantizer runs at 1M rows without a 7-minute
#   pgvector build each.
source "$(dirname "$0")/lib.sh"
# The shared harness: $EMBEDRANK_SHARED (default ../shared next to the repository).
SHARED=${EMBEDRANK_SHARED:-$REPO_ROOT/../shared}
[ -f "$SHARED/bench/ann_bench.sh" ] || die "$SHARED/bench/ann_bench.sh is missing: set EMBEDRANK_SHARED to the folder holding bench/ann_bench.sh"
PG=${1:-15}; ROWS=${2:-100000}; DIMS=${3:-384}
PGC=$(pg_config_of "$PG")
cd "$REPO_ROOT"
bash scripts/setup.sh
log "release build into Postgres $PG"
cargo pgrx install --release --pg-config "$PGC" --features "pg$PG" --no-default-features >/dev/null
port=$((28830 + PG))
EMBEDRANK_PG=$PG bash scripts/server.sh start "bench-$PG" $port
export PGHOST=$DEMO_SOCK PGPORT=$port PGUSER=postgres PGOPTIONS="-c search_path=public,embedrank"
# Big sets: an index of 1M x 384 is ~2 GB; give it room in shared buffers (takes a restart once).
if [ "$(psql -qAtX -d postgres -c "SELECT setting::bigint * 8192 < 4 * 1024^3 FROM pg_settings WHERE name = 'shared_buffers'")" = t ] \
   && [ "$ROWS" -gt 200000 ]; then
  psql -qAtX -d postgres -c "ALTER SYSTEM SET shared_buffers = '4GB'"
  bash scripts/server.sh stop "bench-$PG"; EMBEDRANK_PG=$PG bash scripts/server.sh start "bench-$PG" $port
fi
DB=ann; [ "$ROWS.$DIMS" = 100000.384 ] || DB=ann_${ROWS}_${DIMS}
psql -qAtX -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1 || createdb "$DB"
psql -qAtX -d "$DB" -c "CREATE EXTENSION IF NOT EXISTS pg_embedrank"
# Builds read the rows in physical order (a synchronized scan would start mid-table, and the order
# changes recall at a given ef_search by up to 0.1): the same order for ours and pgvector's.
psql -qAtX -d "$DB" -c "ALTER DATABASE $DB SET synchronize_seqscans = off"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Postgres $PG"
if [ "$ROWS" -gt 200000 ] && [ "$(psql -qAtX -d "$DB" -c "SELECT to_regclass('ann_truth') IS NOT NULL")" != t ]; then
  log "generating $ROWS x $DIMS clustered vectors and their exact ground truth (bench/ann_data.py)"
  ANN_DB=$DB "$VENV/bin/python" "$REPO_ROOT/bench/ann_data.py" "$ROWS" "$DIMS"
fi
# QUANTIZER=sq8|sq4 builds ours WITH (quantizer = ...) (pgvector's index is built as the harness says).
OURS_OPTS="${INDEX_OPTS:-m=16, ef_construction=64}${QUANTIZER:+, quantizer=$QUANTIZER}"
echo "embedrank_hnsw WITH ($OURS_OPTS)"
INDEX_OPTS="$OURS_OPTS" bash "$SHARED/bench/ann_bench.sh" "$DB" embedrank_hnsw embedrank.hnsw_ef_search "$ROWS" "$DIMS"
printf '\\set qid random(1, 100)\nSELECT id FROM ann_items ORDER BY v <-> (SELECT v FROM ann_queries WHERE qid = :qid) LIMIT 10;\n' > /tmp/ann_exact.sql
qps=$(pgbench_tps /tmp/ann_exact.sql "$DB" "$PGOPTIONS -c enable_indexscan=off" "${BENCH_S:-10}")
echo "exact scan qps=$qps"
ANN_DB=$DB "$VENV/bin/python" "$REPO_ROOT/bench/ann_latency.py"

# Side by side with pgvector, same cluster, same run.
if [ "$(psql -qAtX -d postgres -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")" != 1 ]; then
  echo "pgvector: not installed in Postgres $PG — no side-by-side comparison (build it into $(dirname "$(dirname "$PGC")") to get one)"
  exit 0
fi
PDB=${DB}_pgvector
psql -qAtX -d postgres -c "SELECT 1 FROM pg_database WHERE datname = '$PDB'" | grep -q 1 || createdb "$PDB"
psql -qAtX -d "$PDB" -c "CREATE EXTENSION IF NOT EXISTS vector" -c "ALTER DATABASE $PDB SET synchronize_seqscans = off"
# Past 200k rows both databases get their rows from bench/ann_data.py: the same seed, so the same
# rows in the same order (its binary COPY writes either extension's vector type).
if [ "$ROWS" -gt 200000 ] && [ "$(psql -qAtX -d "$PDB" -c "SELECT to_regclass('ann_truth') IS NOT NULL")" != t ]; then
  log "generating the same $ROWS x $DIMS vectors for pgvector"
  PGOPTIONS="-c search_path=public" ANN_DB=$PDB "$VENV/bin/python" "$REPO_ROOT/bench/ann_data.py" "$ROWS" "$DIMS"
fi
echo "pgvector $(psql -qAtX -d "$PDB" -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'"), same cluster:"
if [ "${PGVECTOR_INDEX:-build}" = reuse ] && [ "$(psql -qAtX -d "$PDB" -c "SELECT to_regclass('ann_idx') IS NOT NULL")" = t ]; then
  # Its index from an earlier run in this cluster (at 1M rows a pgvector build takes ~7 minutes):
  # not rebuilt; its recall is measured again here, its queries/s below as usual.
  echo "index kept from an earlier run (PGVECTOR_INDEX=reuse): index_mb=$(psql -qAtX -d "$PDB" -c "SELECT pg_relation_size('ann_idx')/1048576")"
  for ef in ${EF_LIST:-10 20 40 80 160}; do
    echo "ef_search=$ef recall@10=$(PGOPTIONS="-c search_path=public" psql -qAtX -d "$PDB" -c "SET hnsw.ef_search=$ef" -c "SET enable_seqscan=off" -c "
      SELECT round(avg((SELECT count(*) FROM unnest(t.ids) x WHERE x = ANY(a.ids))::numeric/10),3)
      FROM ann_truth t JOIN LATERAL (SELECT array_agg(id) AS ids FROM (SELECT id FROM ann_items i ORDER BY i.v <-> (SELECT v FROM ann_queries WHERE qid=t.qid) LIMIT 10) s) a ON true")"
  done
else
  PGOPTIONS="-c search_path=public" bash "$SHARED/bench/ann_bench.sh" "$PDB" hnsw hnsw.ef_search "$ROWS" "$DIMS"
fi
printf '\set qid random(1, 100)
SELECT id FROM ann_items ORDER BY v <-> (SELECT v FROM ann_queries WHERE qid = :qid) LIMIT 10;
' > /tmp/ann_side.sql
tps() { pgbench_tps /tmp/ann_side.sql "$1" "$2" "${ROUND_S:-5}"; } # DB OPTIONS: one round
echo "alternating rounds (${ROUNDS:-3} x ${ROUND_S:-5} s each), queries/s ours / pgvector:"
for ef in ${EF_LIST:-10 20 40 80 160}; do
  ratios=""
  for _ in $(seq "${ROUNDS:-3}"); do
    a=$(tps "$DB" "$PGOPTIONS -c embedrank.hnsw_ef_search=$ef")
    b=$(tps "$PDB" "-c search_path=public -c hnsw.ef_search=$ef")
    ratios="$ratios $(python3 -c "print(f'{$a/$b:.3f}')")"
    echo "  ef_search=$ef ours=$a pgvector=$b"
  done
  echo "ef_search=$ef ratio per round:$ratios median=$(python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" $ratios)"
done
