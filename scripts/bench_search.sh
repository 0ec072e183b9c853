#!/usr/bin/env bash
# Latency of the one-statement two-stage search (ANN top-k by the HNSW index -> cross-encoder rerank),
# p50/p95 per query for k = 50, 100 and embedrank.threads = 1, 2, with the time split into query
# embedding, ANN and rerank, on the DL19 subset (database embedrank_eval, filled by scripts/eval.sh) and
# the WordNet demo table (embedrank_demo, filled by scripts/demo.sh). Creates the HNSW indexes if
# missing. About 8 minutes on 2 cores with the default 10 queries per corpus.
# usage: scripts/bench_search.sh [--queries N] [--k 50 100] [--threads 1 2] [--corpus dl19 wordnet]
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/server.sh start demo "$DEMO_PORT"
# The HNSW indexes the benchmark expects (idempotent; demo.sh makes the glosses one, eval.sh none).
for spec in embedrank_eval:dl19_passages embedrank_demo:glosses; do
  db=${spec%%:*} t=${spec#*:}
  PGOPTIONS="-c search_path=public,embedrank" "$("$PG15_CONFIG" --bindir)/psql" -h "$DEMO_SOCK" -p "$DEMO_PORT" \
    -U postgres -d "$db" -qX -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "SET maintenance_work_mem = '1GB'" \
    -c "CREATE INDEX IF NOT EXISTS ${t}_embedding_hnsw ON $t USING embedrank_hnsw (embedding vector_cosine_ops)" \
    -c "ANALYZE $t"
done
PGHOST=$DEMO_SOCK PGPORT=$DEMO_PORT PGUSER=postgres exec "$VENV/bin/python" bench/search_latency.py "$@"
