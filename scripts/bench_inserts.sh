#!/usr/bin/env bash
# Concurrent writers (issue 9 §3): rows/s of single-row INSERTs of precomputed vectors into a table
# under an HNSW index, by 1 client and by 2 clients at once, in alternating rounds (1, 2, 1, 2, ...),
# with the ratio 2 clients / 1 client per pair of rounds and its median. Side by side: when pgvector is
# installed in the same Postgres (a measuring aid, not part of the project), its hnsw runs the same
# rounds on the same data in the same cluster, interleaved with ours.
# Data: the shared harness's 100k x 384 set (database `ann`, and `ann_pgvector` for pgvector; made by
# scripts/bench_ann.sh, which this runs first when they are missing). Each round starts from a fresh
# table holding the first BASE rows under a new index (m 16, ef_construction 64, L2); every insert then
# adds the next row not yet inserted (a sequence, looked up in ins_src, a copy of ann_items with a
# primary key), so each is a new vector, none a duplicate.
# usage: scripts/bench_inserts.sh [14..18]     ROUNDS (default 3), ROUND_S (10), BASE (20000)
source "$(dirname "$0")/lib.sh"
PG=${1:-15}
PGC=$(pg_config_of "$PG")
cd "$REPO_ROOT"
port=$((28830 + PG))
export PGHOST=$DEMO_SOCK PGPORT=$port PGUSER=postgres
bash scripts/setup.sh >/dev/null
log "release build into Postgres $PG"
cargo pgrx install --release --pg-config "$PGC" --features "pg$PG" --no-default-features >/dev/null
EMBEDRANK_PG=$PG bash scripts/server.sh stop "bench-$PG"
EMBEDRANK_PG=$PG bash scripts/server.sh start "bench-$PG" $port
if ! psql -qAtX -d ann -c "SELECT to_regclass('ann_items') IS NOT NULL" 2>/dev/null | grep -q t; then
  log "no 100k x 384 data yet: running scripts/bench_ann.sh $PG first"
  BENCH_S=1 ROUNDS=1 ROUND_S=1 bash scripts/bench_ann.sh "$PG" >/dev/null
fi
PGBENCH=$("$PGC" --bindir)/pgbench
BASE=${BASE:-20000}
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Postgres $PG"
echo "$(psql -qAtX -d ann -c "SELECT count(*) FROM ann_items") rows of 384 dims; each round: $BASE rows indexed, then ${ROUND_S:-10} s of inserts"

systems="embedrank"
if psql -qAtX -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'ann_pgvector'" | grep -q 1 \
   && psql -qAtX -d ann_pgvector -c "SELECT to_regclass('ann_items') IS NOT NULL" | grep -q t; then
  systems="embedrank pgvector"
  echo "pgvector $(psql -qAtX -d ann_pgvector -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'"), same cluster"
else
  echo "pgvector: not installed (or no ann_pgvector database) — our index only"
fi

db_of() { [ "$1" = embedrank ] && echo ann || echo ann_pgvector; }
am_of() { [ "$1" = embedrank ] && echo "embedrank_hnsw" || echo "hnsw"; }
path_of() { [ "$1" = embedrank ] && echo "public,embedrank" || echo "public"; }

# A fresh table of the first BASE rows under a new index, and the sequence of rows to insert next.
fresh() {
  local sys=$1 db
  db=$(db_of "$sys")
  PGOPTIONS="-c search_path=$(path_of "$sys")" psql -qAtX -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<SQL
SET client_min_messages = warning;
CREATE TABLE IF NOT EXISTS ins_src AS SELECT id, v FROM ann_items;
DO \$\$BEGIN ALTER TABLE ins_src ADD PRIMARY KEY (id); EXCEPTION WHEN invalid_table_definition THEN NULL; END\$\$;
DROP TABLE IF EXISTS ins_t;
DROP SEQUENCE IF EXISTS ins_seq;
CREATE TABLE ins_t (id bigserial PRIMARY KEY, v vector(384)) WITH (autovacuum_enabled = off);
INSERT INTO ins_t (v) SELECT v FROM ins_src WHERE id <= $BASE ORDER BY id;
SET maintenance_work_mem = '1GB';
SET max_parallel_maintenance_workers = 1;
CREATE INDEX ins_idx ON ins_t USING $(am_of "$sys") (v vector_l2_ops) WITH (m = 16, ef_construction = 64);
CREATE SEQUENCE ins_seq START $((BASE + 1));
CHECKPOINT;
SQL
}

printf 'INSERT INTO ins_t (v) SELECT v FROM ins_src WHERE id = (SELECT nextval(%s)::int);\n' "'ins_seq'" > /tmp/bench_inserts.sql
# rows/s of CLIENTS clients inserting for ROUND_S seconds into SYSTEM's fresh table.
rate() {
  local sys=$1 clients=$2
  fresh "$sys"
  PGOPTIONS="-c search_path=$(path_of "$sys")" "$PGBENCH" -n -M prepared -c "$clients" -j "$clients" \
    -T "${ROUND_S:-10}" -f /tmp/bench_inserts.sql "$(db_of "$sys")" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}

declare -A ratios
for round in $(seq "${ROUNDS:-3}"); do
  for sys in $systems; do
    one=$(rate "$sys" 1)
    two=$(rate "$sys" 2)
    r=$(python3 -c "print(f'{$two/$one:.3f}')")
    ratios[$sys]="${ratios[$sys]:-} $r"
    echo "round $round $sys: 1 client $one rows/s, 2 clients $two rows/s, ratio $r"
  done
done
for sys in $systems; do
  echo "$sys: 2 clients / 1 client per round:${ratios[$sys]} median=$(python3 -c "import statistics,sys; print(f'{statistics.median(map(float, sys.argv[1:])):.3f}')" ${ratios[$sys]})"
done
