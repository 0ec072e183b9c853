#!/usr/bin/env bash
# A sharded setup to try on one machine: a coordinator and two shards (Postgres 15 servers; data in
# .pgdata/shard-coord, .pgdata/shard-1, .pgdata/shard-2; sockets in .pgrun; ports 28850-28852).
# WordNet glosses are hash-partitioned by id over the shards through postgres_fdw (foreign-table
# partitions of a table on the coordinator); each shard registers its own table (embedding column,
# sync trigger, embedrank_hnsw index); the coordinator registers the partitioned table, so a row
# written there is embedded on the coordinator and stored on its shard; embedrank.search() on the
# coordinator asks both shards for their top k at once and reranks the union. See README, "Shards".
# usage: scripts/shards.sh [start]          set up (idempotent) and show example searches
#        scripts/shards.sh search 'text'    one search on the coordinator
#        scripts/shards.sh explain          the plan of search()'s first stage on the coordinator
#        scripts/shards.sh stop             stop the three servers
#   EMBEDRANK_SHARD_ROWS=N  glosses to load (default 3000: ~20 s of embedding on 2 cores)
#   EMBEDRANK_DEMO_SKIP_INSTALL=1  use the extension already installed (no cargo build/install)
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
ROWS=${EMBEDRANK_SHARD_ROWS:-3000}
DB=embedrank_shards
BIN=$("$PG15_CONFIG" --bindir)
declare -A PORT=([coord]=28850 [1]=28851 [2]=28852)
export PGOPTIONS="-c search_path=public,embedrank -c client_min_messages=warning"
psql_() { local at=$1; shift; "$BIN/psql" -h "$DEMO_SOCK" -p "${PORT[$at]}" -U postgres -X -q -v ON_ERROR_STOP=1 "$@"; }
stop_all() { for s in coord 1 2; do bash scripts/server.sh stop "shard-$s"; done; }

search_() {
  psql_ coord -d $DB -v q="$1" <<'SQL'
SELECT embedrank.load('bge-small-en-v1.5'), embedrank.load('ms-marco-MiniLM-L-12-v2') \g /dev/null
\timing on
SELECT key AS id, first_stage_rank AS "stage-1 rank", round(score::numeric, 4) AS "rerank score",
       left(content, 70) AS gloss
FROM embedrank.search('glosses', :'q', k => 50, n => 5);
SQL
}

explain_() {
  psql_ coord -d $DB <<'SQL'
SELECT format('PREPARE first_stage(text, int) AS WITH qv AS MATERIALIZED (SELECT embedrank.embed($1, NULL, %L) AS v) %s',
              'query', embedrank.first_stage_sql('glosses')) AS sql \gset
:sql;
EXPLAIN (VERBOSE, COSTS OFF) EXECUTE first_stage('a large body of salt water', 50);
SQL
}

case ${1:-start} in
  stop) stop_all; exit 0 ;;
  search) search_ "${2:?usage: scripts/shards.sh search 'text'}"; exit 0 ;;
  explain) explain_; exit 0 ;;
  start) ;;
  *) die "usage: scripts/shards.sh [start] | search 'text' | explain | stop" ;;
esac

bash scripts/setup.sh
if [ "${EMBEDRANK_DEMO_SKIP_INSTALL:-0}" != 1 ]; then
  stop_all  # replacing the .so under running servers crashes their backends
  log "building and installing pg_embedrank (release)"
  cargo pgrx install --release --pg-config "$PG15_CONFIG" >/dev/null
  bash scripts/install_assets.sh "$PG15_CONFIG"
fi
for s in coord 1 2; do bash scripts/server.sh start "shard-$s" "${PORT[$s]}"; done
for s in coord 1 2; do
  if [ -z "$(psql_ $s -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = '$DB'")" ]; then
    psql_ $s -d postgres -c "CREATE DATABASE $DB"
  fi
done

log "shards: a glosses table each, registered (embedding column, sync trigger, embedrank_hnsw index)"
for s in 1 2; do
  psql_ $s -d $DB <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_embedrank;
CREATE TABLE IF NOT EXISTS public.glosses (id text PRIMARY KEY, body text NOT NULL);
SELECT embedrank.register('public.glosses', 'body')
WHERE NOT EXISTS (SELECT 1 FROM embedrank.sources WHERE source = 'public.glosses'::regclass) \g /dev/null
SQL
done

log "coordinator: postgres_fdw servers, glosses partitioned by hash(id) over the shards, registered"
psql_ coord -d $DB -v sock="$DEMO_SOCK" -v p1="${PORT[1]}" -v p2="${PORT[2]}" <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_embedrank;
CREATE EXTENSION IF NOT EXISTS postgres_fdw;
SELECT NOT EXISTS (SELECT 1 FROM pg_foreign_server WHERE srvname = 'shard1') AS fresh \gset
\if :fresh
-- extensions: our operators and functions may be shipped; async_capable: the shards are asked at
-- once; connect_timeout: a shard that does not answer is an error within 5 s.
CREATE SERVER shard1 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host :'sock', port :'p1', dbname 'embedrank_shards',
  extensions 'pg_embedrank', async_capable 'true', connect_timeout '5');
CREATE SERVER shard2 FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host :'sock', port :'p2', dbname 'embedrank_shards',
  extensions 'pg_embedrank', async_capable 'true', connect_timeout '5');
CREATE USER MAPPING FOR postgres SERVER shard1 OPTIONS (user 'postgres');
CREATE USER MAPPING FOR postgres SERVER shard2 OPTIONS (user 'postgres');
CREATE TABLE public.glosses (id text NOT NULL, body text NOT NULL, embedding embedrank.vector(384))
  PARTITION BY HASH (id);
CREATE FOREIGN TABLE public.glosses_shard1 PARTITION OF public.glosses FOR VALUES WITH (MODULUS 2, REMAINDER 0)
  SERVER shard1 OPTIONS (schema_name 'public', table_name 'glosses');
CREATE FOREIGN TABLE public.glosses_shard2 PARTITION OF public.glosses FOR VALUES WITH (MODULUS 2, REMAINDER 1)
  SERVER shard2 OPTIONS (schema_name 'public', table_name 'glosses');
SELECT embedrank.register('public.glosses', 'body', key_column => 'id') \g /dev/null
\endif
SQL

have=$(psql_ coord -d $DB -tAc "SELECT count(*) FROM public.glosses")
if [ "$have" -lt "$ROWS" ]; then
  log "loading $ROWS WordNet glosses through the coordinator (embedded there, stored on their shards)"
  python3 scripts/wordnet_tsv.py --common-first "$ROWS" | psql_ coord -d $DB \
    -c "CREATE TEMP TABLE glosses_in (id text, pos text, lemmas text, gloss text)" \
    -c "\copy glosses_in FROM pstdin" \
    -c "SET embedrank.threads = 2" \
    -c "INSERT INTO public.glosses (id, body) SELECT g.id, g.lemmas || ': ' || g.gloss FROM glosses_in g
        WHERE NOT EXISTS (SELECT 1 FROM public.glosses x WHERE x.id = g.id)"
fi
for s in 1 2; do
  echo "shard $s: $(psql_ $s -d $DB -tAc "SELECT count(*) || ' rows, ' || count(embedding) || ' embedded' FROM public.glosses")"
done

log "search()'s first stage on the coordinator: one Append of async foreign scans, ORDER BY … LIMIT pushed to each shard"
explain_ | grep -E "Append|Async Foreign Scan|Remote SQL" | sed 's/^ */  /'
for q in 'a large body of salt water' 'device for measuring temperature' 'feeling of great happiness'; do
  printf '\n\033[1mquery: %s\033[0m\n' "$q"
  search_ "$q"
done
echo
echo "Connect: psql -h $DEMO_SOCK -p ${PORT[coord]} -U postgres $DB    Stop: scripts/shards.sh stop"
