#!/usr/bin/env bash
# Recall@10 of embedrank_hnsw on real embeddings: the 5,000 DL19 passages embedded with bge-small by
# scripts/eval.sh (database embedrank_eval on the demo server), queried with the 50 DL19 queries
# (embedded as queries) and 200 passages, against an exact scan; m=16, ef_construction=64, cosine.
# usage: scripts/bench_ann_real.sh [dl19|wordnet]   (dl19 after scripts/eval.sh, wordnet after
#        scripts/demo.sh: its 15k+ glosses, queried with 200 glosses; demo server running)
source "$(dirname "$0")/lib.sh"
SET=${1:-dl19}
DB=embedrank_eval; TBL=dl19_passages; QSRC="SELECT embed(body, input_type => 'query') AS v FROM dl19_queries UNION ALL"
if [ "$SET" = wordnet ]; then DB=embedrank_demo; TBL=glosses; QSRC=""; fi
P() { psql -h "$DEMO_SOCK" -p "$DEMO_PORT" -U postgres -d "$DB" -qAtX -v ON_ERROR_STOP=1 "$@"; }
export PGOPTIONS="-c search_path=public,embedrank"
P -c "DROP TABLE IF EXISTS ann_real_q" -c "CREATE TABLE ann_real_q AS
  SELECT row_number() OVER () AS qid, v FROM (
    $QSRC SELECT embedding AS v FROM (SELECT embedding FROM $TBL WHERE embedding IS NOT NULL ORDER BY id LIMIT 200) p) s"
P -c "DROP INDEX IF EXISTS ann_real_idx"
t0=$(date +%s.%N)
P -c "CREATE INDEX ann_real_idx ON $TBL USING embedrank_hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)"
echo "build_s=$(python3 -c "print(round($(date +%s.%N)-$t0,2))") index_mb=$(P -c "SELECT round(pg_relation_size('ann_real_idx')/1048576.0,1)")"
# Ground truth by exact scan (index scans off in this session).
P -c "SET enable_indexscan = off" -c "DROP TABLE IF EXISTS ann_real_truth" -c "CREATE TABLE ann_real_truth AS SELECT q.qid,
  (SELECT array_agg(id) FROM (SELECT id FROM $TBL p ORDER BY p.embedding <=> q.v LIMIT 10) t) AS ids
  FROM ann_real_q q" >/dev/null
for ef in 10 20 40 80 160; do
  rec=$(P -c "SET embedrank.hnsw_ef_search = $ef" -c "SET enable_seqscan = off" -c "
    SELECT round(avg((SELECT count(*) FROM unnest(t.ids) x WHERE x = ANY(a.ids))::numeric / 10), 3)
    FROM ann_real_truth t JOIN LATERAL (SELECT array_agg(id) AS ids FROM (SELECT id FROM $TBL p
      ORDER BY p.embedding <=> (SELECT v FROM ann_real_q WHERE qid = t.qid) LIMIT 10) s) a ON true")
  echo "ef_search=$ef recall@10=$rec"
done
P -c "DROP INDEX ann_real_idx"
