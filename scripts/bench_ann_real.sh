#!/usr/bin/env bash
# Recall@10 of embedrank_hnsw on real bge-small-en-v1.5 embeddings against an exact scan, for
# ef_search 10..160 (cosine, m = 16, ef_construction = 64), with build time and index size.
# usage: scripts/bench_ann_real.sh dl19            the 5,000 DL19 passages (after scripts/eval.sh);
#                                                  queries: the 50 DL19 queries + 200 passages
#        scripts/bench_ann_real.sh wordnet [ROWS]  ROWS WordNet glosses (default 50000) in the demo
#                                                  database; queries: 200 held-out synsets, as their
#                                                  glosses and as their words embedded as queries
# Recall is printed per kind of query. QUANTIZER=sq8 (or sq4) builds the index with that quantizer.
# Side by side: when pgvector is installed in the same Postgres (a measuring aid built by hand, not
# part of the project), its hnsw index is built on the same rows in a database of its own on the same
# server, and both answer the same queries in alternating pgbench rounds per ef_search (ROUNDS x
# ROUND_S seconds, default 3 x 5; EF_LIST to choose the ef_search values); the script says so when
# pgvector is not installed.
# WordNet embeddings are computed once, in the database, by scripts/demo.sh (EMBEDRANK_DEMO_ROWS =
# ROWS + 200; ~150 glosses/s on 2 cores, so 50k is ~6 min) and cached outside git in
# .cache/embeddings/wordnet-bge-small-en-v1.5.tsv (id, words, vector); later runs load the cache.
# Runs on the demo server (started here if it is not running). KEEP_INDEX=1 leaves our index in place
# afterwards (for profiling it); by default it is dropped.
source "$(dirname "$0")/lib.sh"
SET=${1:-dl19}
export PGOPTIONS="-c search_path=public,embedrank"
P() { psql -h "$DEMO_SOCK" -p "$DEMO_PORT" -U postgres -d "$DB" -qAtX -v ON_ERROR_STOP=1 "$@"; }

bash "$REPO_ROOT/scripts/server.sh" start demo "$DEMO_PORT" >/dev/null
if [ "$SET" = wordnet ]; then
  ROWS=${2:-50000}; NQ=200
  DB=embedrank_demo; TBL=ann_wordnet
  cache=$CACHE_DIR/embeddings/wordnet-bge-small-en-v1.5.tsv
  if [ ! -f "$cache" ] || [ "$(wc -l < "$cache")" -lt $((ROWS + NQ)) ]; then
    log "embedding $((ROWS + NQ)) WordNet glosses in the demo database (once; cached in $cache)"
    EMBEDRANK_DEMO_ROWS=$((ROWS + NQ)) bash "$REPO_ROOT/scripts/demo.sh" >/dev/null
    mkdir -p "$(dirname "$cache")"
    P -c "\copy (SELECT id, lemmas, embedding FROM glosses WHERE embedding IS NOT NULL ORDER BY id) TO '$cache.tmp'"
    mv "$cache.tmp" "$cache"
  fi
  bash "$REPO_ROOT/scripts/server.sh" start demo "$DEMO_PORT" >/dev/null  # demo.sh may have stopped it
  # The first NQ synsets in md5(id) order are held out as queries; the next ROWS are indexed.
  P -c "DROP TABLE IF EXISTS ann_wordnet_all, $TBL" \
    -c "CREATE TABLE ann_wordnet_all (id text PRIMARY KEY, lemmas text, embedding vector(384))" \
    -c "\copy ann_wordnet_all FROM '$cache'" \
    -c "CREATE TABLE $TBL AS SELECT row_number() OVER (ORDER BY md5(id)) AS id, embedding
        FROM (SELECT * FROM ann_wordnet_all ORDER BY md5(id) OFFSET $NQ LIMIT $ROWS) s"
  # Two kinds of queries from the held-out synsets: their glosses (embedded as documents, the same
  # distribution as the indexed rows, as ANN benchmarks draw queries) and their words embedded as
  # search queries (short, with the model's query instruction: further from the indexed rows).
  QSRC="SELECT 'held-out gloss' AS kind, embedding AS v FROM (SELECT embedding FROM ann_wordnet_all ORDER BY md5(id) LIMIT $NQ) h
        UNION ALL
        SELECT 'words as query', embed(lemmas, input_type => 'query')
        FROM (SELECT lemmas FROM ann_wordnet_all ORDER BY md5(id) LIMIT $NQ) h"
else
  DB=embedrank_eval; TBL=ann_dl19
  # The passages' vectors in a table of their own, shaped as pgvector's copy below (id, embedding):
  # the evaluation's table also holds the text and its tsvector, which makes its rows wide enough to
  # move the vectors to TOAST, and every scan of it (the planner's alternative) several times slower.
  P -c "DROP TABLE IF EXISTS $TBL" \
    -c "CREATE TABLE $TBL AS SELECT id, embedding FROM dl19_passages WHERE embedding IS NOT NULL ORDER BY id"
  QSRC="SELECT 'DL19 query' AS kind, embed(body, input_type => 'query') AS v FROM dl19_queries UNION ALL
        SELECT 'passage', embedding FROM (SELECT embedding FROM $TBL ORDER BY id LIMIT 200) p"
fi

# As pgvector's copy below: hint bits set, visibility map and statistics current.
P -c "VACUUM ANALYZE $TBL"
P -c "DROP TABLE IF EXISTS ann_real_q" \
  -c "CREATE TABLE ann_real_q AS SELECT row_number() OVER () AS qid, kind, v FROM ($QSRC) s" \
  -c "ALTER TABLE ann_real_q ADD PRIMARY KEY (qid)"
echo "index: cosine, m 16, ef_construction 64, quantizer ${QUANTIZER:-none}"
echo "set=$SET rows=$(P -c "SELECT count(*) FROM $TBL WHERE embedding IS NOT NULL") queries=$(P -c "SELECT count(*) FROM ann_real_q")"
# The build reads the rows in their physical order (no synchronized scan starting mid-table), as
# pgvector's build below does: the order changes recall at a given ef_search.
P -c "ALTER DATABASE $DB SET synchronize_seqscans = off" -c "DROP INDEX IF EXISTS ann_real_idx"
t0=$(date +%s.%N)
P -c "SET maintenance_work_mem = '1GB'" \
  -c "CREATE INDEX ann_real_idx ON $TBL USING embedrank_hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64${QUANTIZER:+, quantizer = $QUANTIZER})"
echo "build_s=$(python3 -c "print(round($(date +%s.%N)-$t0,2))") index_mb=$(P -c "SELECT round(pg_relation_size('ann_real_idx')/1048576.0,1)")"
# Ground truth by exact scan (index scans off in this session).
P -c "SET enable_indexscan = off" -c "DROP TABLE IF EXISTS ann_real_truth" -c "CREATE TABLE ann_real_truth AS SELECT q.qid,
  (SELECT array_agg(id) FROM (SELECT id FROM $TBL p ORDER BY p.embedding <=> q.v LIMIT 10) t) AS ids
  FROM ann_real_q q" >/dev/null
for ef in 10 20 40 80 160; do
  rec=$(P -c "SET embedrank.hnsw_ef_search = $ef" -c "SET enable_seqscan = off" -c "
    SELECT string_agg(format('%s (%s): %s', kind, n, r), '  ' ORDER BY kind) FROM (
      SELECT q.kind, count(*) AS n, round(avg((SELECT count(*) FROM unnest(t.ids) x WHERE x = ANY(a.ids))::numeric / 10), 3) AS r
      FROM ann_real_truth t JOIN ann_real_q q USING (qid)
      JOIN LATERAL (SELECT array_agg(id) AS ids FROM (SELECT id FROM $TBL p
        ORDER BY p.embedding <=> q.v LIMIT 10) s) a ON true
      GROUP BY q.kind) k")
  echo "ef_search=$ef recall@10 by query kind: $rec"
done

# Side by side with pgvector (a measuring aid, not part of the project: built by hand into the same
# Postgres), when it is installed: the same rows in the same physical order, in a database of its own
# on the same server, its hnsw index with the same parameters, recall against the same ground truth,
# then both indexes answer the same queries (all kinds mixed) in alternating pgbench rounds.
PGB="$(dirname "$(command -v psql)")/pgbench"
[ -x "$PGB" ] || PGB=$(pg_home "${EMBEDRANK_PG:-15}")/bin/pgbench
if [ "$(P -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'")" != 1 ]; then
  echo "pgvector: not installed in this Postgres — no side-by-side comparison"
  P -c "DROP INDEX ann_real_idx"
  exit 0
fi
PDB=${DB}_pgvector
VP() { psql -h "$DEMO_SOCK" -p "$DEMO_PORT" -U postgres -d "$PDB" -qAtX -v ON_ERROR_STOP=1 "$@"; }
P -c "SELECT 1 FROM pg_database WHERE datname = '$PDB'" | grep -q 1 || P -c "CREATE DATABASE $PDB"
tmp=$(mktemp -d)
P -c "\copy (SELECT id, embedding FROM $TBL WHERE embedding IS NOT NULL ORDER BY id) TO '$tmp/rows'" \
  -c "\copy (SELECT qid, kind, v FROM ann_real_q) TO '$tmp/q'" \
  -c "\copy ann_real_truth TO '$tmp/truth'"
PGOPTIONS="-c search_path=public" VP -c "CREATE EXTENSION IF NOT EXISTS vector" \
  -c "ALTER DATABASE $PDB SET synchronize_seqscans = off" \
  -c "DROP INDEX IF EXISTS ann_real_idx" -c "DROP TABLE IF EXISTS $TBL, ann_real_q, ann_real_truth" \
  -c "CREATE TABLE $TBL (id bigint, embedding vector(384))" -c "\copy $TBL FROM '$tmp/rows'" \
  -c "CREATE TABLE ann_real_q (qid bigint PRIMARY KEY, kind text, v vector(384))" -c "\copy ann_real_q FROM '$tmp/q'" \
  -c "CREATE TABLE ann_real_truth (qid bigint, ids bigint[])" -c "\copy ann_real_truth FROM '$tmp/truth'" \
  -c "VACUUM ANALYZE $TBL"
rm -rf "$tmp"
t0=$(date +%s.%N)
PGOPTIONS="-c search_path=public" VP -c "SET maintenance_work_mem = '1GB'" \
  -c "CREATE INDEX ann_real_idx ON $TBL USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
echo "pgvector $(VP -c "SELECT extversion FROM pg_extension WHERE extname = 'vector'"), same server: build_s=$(python3 -c "print(round($(date +%s.%N)-$t0,2))") index_mb=$(VP -c "SELECT round(pg_relation_size('ann_real_idx')/1048576.0,1)")"
RECALL_ALL="SELECT round(avg((SELECT count(*) FROM unnest(t.ids) x WHERE x = ANY(a.ids))::numeric / 10), 3)
  FROM ann_real_truth t JOIN ann_real_q q USING (qid)
  JOIN LATERAL (SELECT array_agg(id) AS ids FROM (SELECT id FROM $TBL p ORDER BY p.embedding <=> q.v LIMIT 10) s) a ON true"
nq=$(P -c "SELECT count(*) FROM ann_real_q")
printf '\\set qid random(1, %s)\nSELECT id FROM %s ORDER BY embedding <=> (SELECT v FROM ann_real_q WHERE qid = :qid) LIMIT 10;\n' "$nq" "$TBL" > "$tmp.sql"
tps() { # DB OPTIONS: one round
  PGHOST=$DEMO_SOCK PGPORT=$DEMO_PORT PGUSER=postgres PGBENCH=$PGB pgbench_tps "$tmp.sql" "$1" "$2" "${ROUND_S:-5}"
}
# The index scans alone: every query as a LATERAL scan in one statement (no parse, plan or client
# round trip per query), best of 5 statements, in microseconds per scan. On a small index the
# statement's own costs are most of a pgbench query's time, the same for both.
SCANS="SELECT count(s.id) FROM ann_real_q q, LATERAL (SELECT id FROM $TBL p ORDER BY p.embedding <=> q.v LIMIT 10) s"
scan_us() { # DB OPTIONS
  PGOPTIONS="$2 -c enable_seqscan=off -c jit=off" psql -h "$DEMO_SOCK" -p "$DEMO_PORT" -U postgres -d "$1" -qAtX \
    -c '\timing on' -c "$SCANS" -c "$SCANS" -c "$SCANS" -c "$SCANS" -c "$SCANS" \
    | sed -n 's/^Time: \([0-9.]*\).*/\1/p' | sort -n | head -1 | python3 -c "import sys; print(round(float(sys.stdin.read()) * 1000 / $nq, 1))"
}
echo "all $nq queries mixed: recall@10 and queries/s per ef_search, rounds alternating ours / pgvector (${ROUNDS:-3} x ${ROUND_S:-5} s)"
for ef in ${EF_LIST:-10 20 40 80 160}; do
  ra=$(P -c "SET embedrank.hnsw_ef_search = $ef" -c "SET enable_seqscan = off" -c "$RECALL_ALL")
  rb=$(PGOPTIONS="-c search_path=public" VP -c "SET hnsw.ef_search = $ef" -c "SET enable_seqscan = off" -c "$RECALL_ALL")
  qa=""; qb=""; ratios=""
  for _ in $(seq "${ROUNDS:-3}"); do
    a=$(tps "$DB" "-c search_path=public,embedrank -c embedrank.hnsw_ef_search=$ef")
    b=$(tps "$PDB" "-c search_path=public -c hnsw.ef_search=$ef")
    qa="$qa ${a%.*}"; qb="$qb ${b%.*}"
    ratios="$ratios $(python3 -c "print(f'{$a/$b:.3f}')")"
  done
  median=$(python3 -c "import statistics; print(f'{statistics.median([float(x) for x in \"$ratios\".split()]):.2f}')")
  echo "ef_search=$ef recall ours=$ra pgvector=$rb  q/s ours:$qa  pgvector:$qb  ratio:$ratios  median $median"
  sa=""; sb=""
  for _ in $(seq "${ROUNDS:-3}"); do
    sa="$sa $(scan_us "$DB" "-c search_path=public,embedrank -c embedrank.hnsw_ef_search=$ef")"
    sb="$sb $(scan_us "$PDB" "-c search_path=public -c hnsw.ef_search=$ef")"
  done
  echo "ef_search=$ef µs per index scan (LATERAL, best of 5 per round) ours:$sa  pgvector:$sb  speed ratio of medians $(python3 -c "import statistics as s; print(f'{s.median([float(x) for x in \"$sb\".split()]) / s.median([float(x) for x in \"$sa\".split()]):.2f}')")"
done
rm -f "$tmp.sql"
[ -n "${KEEP_INDEX:-}" ] || P -c "DROP INDEX ann_real_idx"
