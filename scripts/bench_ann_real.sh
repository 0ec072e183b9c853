#!/usr/bin/env bash
# Recall@10 of embedrank_hnsw on real embeddings: the 5,000 DL19 passages embedded with bge-small by
# scripts/eval.sh (database embedrank_eval on the demo server), queried with the 50 DL19 queries
# (embedded as queries) and 200 passages, against an exact scan; m=16, ef_construction=64, cosine.
# usage: scripts/bench_ann_real.sh      (after scripts/eval.sh; demo server running)
source "$(dirname "$0")/lib.sh"
P() { psql -h "$DEMO_SOCK" -p "$DEMO_PORT" -U postgres -d embedrank_eval -qAtX -v ON_ERROR_STOP=1 "$@"; }
export PGOPTIONS="-c search_path=public,embedrank"
P -c "DROP TABLE IF EXISTS ann_real_q" -c "CREATE TABLE ann_real_q AS
  SELECT row_number() OVER () AS qid, v FROM (
    SELECT embed(body, input_type => 'query') AS v FROM dl19_queries
    UNION ALL SELECT embedding FROM (SELECT embedding FROM dl19_passages ORDER BY id LIMIT 200) p) s"
P -c "DROP INDEX IF EXISTS dl19_ann_real_idx"
t0=$(date +%s.%N)
P -c "CREATE INDEX dl19_ann_real_idx ON dl19_passages USING embedrank_hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
echo "build_s=$(python3 -c "print(round($(date +%s.%N)-$t0,2))") index_mb=$(P -c "SELECT round(pg_relation_size('dl19_ann_real_idx')/1048576.0,1)")"
P -c "DROP TABLE IF EXISTS ann_real_truth" -c "CREATE TABLE ann_real_truth AS SELECT q.qid,
  (SELECT array_agg(id) FROM (SELECT id FROM dl19_passages p ORDER BY p.embedding <=> q.v LIMIT 10) t) AS ids
  FROM ann_real_q q" -c "SET enable_indexscan = off" >/dev/null
for ef in 10 20 40 80 160; do
  rec=$(P -c "SET embedrank.hnsw_ef_search = $ef" -c "SET enable_seqscan = off" -c "
    SELECT round(avg((SELECT count(*) FROM unnest(t.ids) x WHERE x = ANY(a.ids))::numeric / 10), 3)
    FROM ann_real_truth t JOIN LATERAL (SELECT array_agg(id) AS ids FROM (SELECT id FROM dl19_passages p
      ORDER BY p.embedding <=> (SELECT v FROM ann_real_q WHERE qid = t.qid) LIMIT 10) s) a ON true")
  echo "ef_search=$ef recall@10=$rec"
done
P -c "DROP INDEX dl19_ann_real_idx"
