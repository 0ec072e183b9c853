"""Rare tokens: where the lexical stage finds what embeddings miss, on all of WordNet's glosses.

The query set is built from the corpus: tokens that occur in exactly one gloss of the 117,659 —
proper names, taxonomic names, numbers, codes (at least 6 characters or 3 digits, not an English
word elsewhere in the corpus). Each query is one such token; its answer is the one gloss that holds
it. For each query: is that gloss in the top 10 (and top 50)
  - of the dense first stage (bge-small, the index),
  - of full-text search alone (to_tsvector('english') @@ websearch_to_tsquery, ts_rank_cd),
  - of search() (dense top 50, reranked, top 10), and of search(hybrid => true) (dense and full-text
    candidates fused by reciprocal rank, reranked)?
  - then, after register(…, lexical => true) adds an embedrank_bm25 index: of BM25 alone (the index's
    ordered scan) and of search(hybrid => true), whose lexical stage is now BM25?

Needs the demo server with all of WordNet embedded (EMBEDRANK_DEMO_ROWS=117659 scripts/demo.sh); the
rows are copied into a fresh database (--db) with the current extension and registered there.

Run:  .venv/bin/python bench/rare_tokens_wordnet.py [--queries 100]
"""
import argparse
import collections
import random
import re
import time

import psycopg

TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'-]*[A-Za-z0-9]|\d{3,}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--source-db", default="embedrank_demo")
    ap.add_argument("--db", default="embedrank_rare")
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    src = psycopg.connect(dbname=args.source_db, autocommit=True)
    rows = src.execute("SELECT id, gloss, embedding::text FROM glosses WHERE embedding IS NOT NULL ORDER BY id").fetchall()
    df = collections.Counter()
    for _, gloss, _ in rows:
        df.update({t.lower() for t in TOKEN.findall(gloss)})
    candidates = []
    for rid, gloss, _ in rows:
        for t in set(TOKEN.findall(gloss)):
            name_like = t[0].isupper() and len(t) >= 6
            number = t.isdigit()
            if df[t.lower()] == 1 and (name_like or number):
                candidates.append((t, rid))
    queries = random.Random(3).sample(sorted(candidates), args.queries)
    print(f"{len(rows)} glosses; {len(candidates)} tokens in exactly one gloss; {len(queries)} drawn, e.g. "
          + ", ".join(q for q, _ in queries[:8]), flush=True)

    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        c.execute(f'CREATE DATABASE "{args.db}"')
    conn = psycopg.connect(dbname=args.db, autocommit=True, prepare_threshold=None,
                           options="-c plan_cache_mode=force_custom_plan")
    conn.execute("CREATE EXTENSION pg_embedrank")
    conn.execute("CREATE TABLE glosses (id text PRIMARY KEY, gloss text, embedding embedrank.vector(384))")
    with conn.cursor().copy("COPY glosses (id, gloss, embedding) FROM STDIN") as cp:
        for r in rows:
            cp.write_row(r)
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SELECT embedrank.register('glosses', 'gloss')")
    conn.execute("ANALYZE glosses")

    dense_sql = ("WITH qv AS MATERIALIZED (SELECT embedrank.embed(%s, input_type => 'query') AS v) "
                 "SELECT id FROM glosses ORDER BY embedding OPERATOR(embedrank.<=>) (SELECT v FROM qv) LIMIT 50")
    fts_sql = ("SELECT id FROM glosses, websearch_to_tsquery('english', %s) q WHERE to_tsvector('english', gloss) @@ q "
               "ORDER BY ts_rank_cd(to_tsvector('english', gloss), q) DESC LIMIT 50")
    search_sql = "SELECT key FROM embedrank.search('glosses', %s, k => 50, n => 10, hybrid => %s)"
    bm25_sql = "SELECT id FROM glosses ORDER BY gloss <&> embedrank.bm25_query('glosses_gloss_idx', %s) LIMIT 50"
    hits = collections.Counter()
    took = collections.Counter()

    def run(stages):
        for q, rid in queries:
            for name, sql, extra in stages:
                t0 = time.monotonic()
                got = [r[0] for r in conn.execute(sql, (q,) + extra)]
                took[name] += time.monotonic() - t0
                hits[(name, 10)] += rid in got[:10]
                hits[(name, 50)] += rid in got[:50]

    run((("dense", dense_sql, ()), ("full text", fts_sql, ()),
         ("dense → rerank", search_sql, (False,)), ("hybrid → rerank", search_sql, (True,))))
    conn.execute("SELECT embedrank.register('glosses', 'gloss', lexical => true)")
    conn.execute("SET search_path = public, embedrank")
    run((("BM25 (embedrank_bm25)", bm25_sql, ()), ("hybrid (BM25) → rerank", search_sql, (True,))))
    n = len(queries)
    print(f"\n{n} rare-token queries over {len(rows)} WordNet glosses (bge-small-en-v1.5, ms-marco-MiniLM-L-12-v2);"
          " the answer is the one gloss holding the token\n")
    print("| stage | recall@10 | recall@50 | ms/query |")
    print("|---|---:|---:|---:|")
    for name in ("dense", "full text", "dense → rerank", "hybrid → rerank", "BM25 (embedrank_bm25)", "hybrid (BM25) → rerank"):
        r50 = f"{hits[(name, 50)] / n:.2f}" if "rerank" not in name else "–"
        print(f"| {name} | {hits[(name, 10)] / n:.2f} | {r50} | {took[name] / n * 1000:.0f} |")


if __name__ == "__main__":
    main()
