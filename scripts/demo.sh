#!/usr/bin/env bash
# The README's main command: builds and installs pg_embedrank into Postgres 15, starts a demo server,
# loads WordNet glosses into embedrank_demo.public.glosses, embeds them in the database, and runs
# two-stage semantic search (stage 1: nearest neighbours by cosine distance; stage 2: cross-encoder
# rerank) for a few example queries, one SQL statement each.
# usage: scripts/demo.sh                   (idempotent: a second run skips what is done)
#   EMBEDRANK_DEMO_ROWS=N   how many synsets to load, most common senses first (default 15000: under
#                           2 minutes to embed on 2 cores at ~150 texts/s; 117659 is all of WordNet).
#                           Raising it later loads and embeds only the new rows.
#   EMBEDRANK_PORT=P        server port (default 28815). Stop the server with scripts/stop.sh.
#   EMBEDRANK_DEMO_SKIP_INSTALL=1   use the extension already installed (no cargo build/install).
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ROWS=${EMBEDRANK_DEMO_ROWS:-15000}
CHUNK=500
DB=embedrank_demo
BIN=$("$PG15_CONFIG" --bindir)

bash scripts/setup.sh

if [ "${EMBEDRANK_DEMO_SKIP_INSTALL:-0}" != 1 ]; then
  # Replacing the .so under a running server crashes its backends: stop it while installing.
  bash scripts/server.sh stop demo
  log "building and installing pg_embedrank (release; about 4 minutes the first time)"
  build_log=$(mktemp)
  if ! cargo pgrx install --release --pg-config "$PG15_CONFIG" >"$build_log" 2>&1; then
    tail -n 40 "$build_log" >&2; rm -f "$build_log"; die "cargo pgrx install failed"
  fi
  rm -f "$build_log"
  bash scripts/install_assets.sh "$PG15_CONFIG"
fi
log "starting the demo server on port $DEMO_PORT (data: .pgdata/demo)"
bash scripts/server.sh start demo "$DEMO_PORT"

export PGOPTIONS="-c search_path=public,embedrank -c client_min_messages=notice"
psql_() { "$BIN/psql" -h "$DEMO_SOCK" -p "$DEMO_PORT" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
if [ -z "$(psql_ -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
  psql_ -d postgres -c "CREATE DATABASE $DB"
fi
psql_ -d $DB <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS pg_embedrank;
CREATE TABLE IF NOT EXISTS public.glosses (
  id text PRIMARY KEY,            -- <pos><offset>, e.g. n09426788
  pos text NOT NULL,              -- n, v, a, r
  lemmas text NOT NULL,           -- the synset's words
  gloss text NOT NULL,            -- its definition and examples
  embedding embedrank.vector(384) -- embedrank.embed(lemmas || ': ' || gloss)
);
SQL

have=$(psql_ -d $DB -tAc "SELECT count(*) FROM public.glosses")
if [ "$have" -lt "$ROWS" ]; then
  log "loading $ROWS WordNet synsets (most common senses first; $have already there)"
  python3 scripts/wordnet_tsv.py --common-first "$ROWS" | psql_ -d $DB \
    -c "CREATE TEMP TABLE glosses_in (id text, pos text, lemmas text, gloss text)" \
    -c "\copy glosses_in FROM pstdin" \
    -c "INSERT INTO public.glosses (id, pos, lemmas, gloss) SELECT * FROM glosses_in ON CONFLICT (id) DO NOTHING"
else
  log "glosses already loaded ($have rows)"
fi

todo=$(psql_ -d $DB -tAc "SELECT count(*) FROM public.glosses WHERE embedding IS NULL")
if [ "$todo" -gt 0 ]; then
  log "embedding $todo glosses in chunks of $CHUNK (bge-small-en-v1.5, 2 threads; resumable: Ctrl-C and re-run)"
  # One backend for the whole loop (the model loads once); each chunk commits, so an interrupted run
  # resumes at the first row whose embedding is still NULL.
  psql_ -d $DB -v chunk=$CHUNK <<'SQL'
SET embedrank.threads = 2;
SELECT set_config('embedrank_demo.chunk', :'chunk', false) \g /dev/null
\set VERBOSITY terse
DO $$
DECLARE
  chunk int := current_setting('embedrank_demo.chunk')::int;
  total int := (SELECT count(*) FROM public.glosses);
  done int := (SELECT count(*) FROM public.glosses WHERE embedding IS NOT NULL);
  n int;
  started timestamptz := clock_timestamp();
  t0 timestamptz;
  embedded int := 0;
BEGIN
  LOOP
    t0 := clock_timestamp();
    WITH batch AS (
      SELECT array_agg(id ORDER BY id) AS ids, array_agg(lemmas || ': ' || gloss ORDER BY id) AS texts
      FROM (SELECT id, lemmas, gloss FROM public.glosses WHERE embedding IS NULL ORDER BY id LIMIT chunk) b
    )
    UPDATE public.glosses g SET embedding = u.e
    FROM batch, unnest(batch.ids, embedrank.embed(batch.texts)) AS u(id, e)
    WHERE g.id = u.id;
    GET DIAGNOSTICS n = ROW_COUNT;
    EXIT WHEN n = 0;
    COMMIT;
    done := done + n; embedded := embedded + n;
    RAISE NOTICE '% / % embedded  (this chunk: % texts/s, so far: % texts/s)', done, total,
      round(n / extract(epoch FROM clock_timestamp() - t0)),
      round(embedded / extract(epoch FROM clock_timestamp() - started));
  END LOOP;
END $$;
SQL
else
  log "all glosses already embedded"
fi

# ---------------------------------------------------------------------------------------------------
# HNSW INDEX (stage-1 acceleration). Created only once the embedrank_hnsw access method exists, so
# this script works before and after the index lands. Without it, stage 1 is an exact scan.
# ---------------------------------------------------------------------------------------------------
if [ -n "$(psql_ -d $DB -tAc "SELECT 1 FROM pg_am WHERE amname = 'embedrank_hnsw'")" ]; then
  log "building the HNSW index (skipped if it exists)"
  psql_ -d $DB -c "SET maintenance_work_mem = '1GB'" \
    -c "CREATE INDEX IF NOT EXISTS glosses_embedding_hnsw ON public.glosses USING embedrank_hnsw (embedding vector_cosine_ops)"
  stage1="HNSW index (embedrank_hnsw)"
else
  stage1="exact scan (no embedrank_hnsw access method yet)"
fi
psql_ -d $DB -c "ANALYZE public.glosses"

log "two-stage search: stage 1 = top 20 by cosine distance, $stage1; stage 2 = rerank those 20, show 5"
for q in 'a large body of salt water' 'device for measuring temperature' 'feeling of great happiness'; do
  printf '\n\033[1mquery: %s\033[0m\n' "$q"
  psql_ -d $DB -v q="$q" <<'SQL'
SET embedrank.threads = 2;
-- Load both models first (as a pooled connection would have them), so the timing is the query's.
SELECT embedrank.load('bge-small-en-v1.5'), embedrank.load('ms-marco-MiniLM-L-12-v2') \g /dev/null
\timing on
WITH ann AS (          -- stage 1: nearest neighbours of the query embedding
  SELECT id, lemmas, gloss, embedding <=> embedrank.embed(:'q', input_type => 'query') AS distance
  FROM public.glosses
  ORDER BY distance
  LIMIT 20
), candidates AS (
  SELECT row_number() OVER (ORDER BY distance) AS ann_rank, * FROM ann
), reranked AS (       -- stage 2: cross-encoder scores for (query, candidate) pairs
  SELECT r.idx, r.score
  FROM (SELECT array_agg(lemmas || ': ' || gloss ORDER BY ann_rank) AS texts FROM candidates) c,
       embedrank.rerank(:'q', c.texts, top_n => 5) AS r
)
SELECT row_number() OVER (ORDER BY r.score DESC) AS "rank", c.ann_rank AS "stage-1 rank",
       round(c.distance::numeric, 4) AS "distance", round(r.score::numeric, 4) AS "rerank score",
       left(c.lemmas, 40) AS "lemmas", left(c.gloss, 70) AS "gloss"
FROM reranked r JOIN candidates c ON c.ann_rank = r.idx
ORDER BY r.score DESC;
SQL
done

cat <<EOF

Connect:  psql -h $DEMO_SOCK -p $DEMO_PORT -U postgres -d $DB   (then: SET search_path = public, embedrank;)
Stop:     bash scripts/stop.sh
EOF
