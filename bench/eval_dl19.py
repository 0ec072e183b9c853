"""Retrieval quality of in-database pipelines on the TREC DL 2019 subset (43 judged queries).

Loads ../shared/eval/trec-dl19-subset (EMBEDRANK_SHARED) into database embedrank_eval (dl19_passages with a
vector(384) embedding filled by embedrank.embed(text[]) in resumable chunks, dl19_queries,
dl19_qrels), then runs each pipeline as ONE SQL statement per query and scores the rankings in
Python with trec_eval conventions: nDCG@10 with linear gains (gain = grade), MRR@10 and Recall@100
with grade >= 1 relevant. Pipelines: dense (bge-small, cosine, top 100), dense top k -> rerank
(k = 50, 100; top 10 kept), full text (ts_rank_cd over to_tsvector('english'), query terms OR-ed),
hybrid (RRF k=60 of full-text top 100 and dense top 100) and hybrid top 50 -> rerank; the same
with BM25 (the embedrank_bm25 index) as the lexical stage; and a Python BM25 over the same lexemes
(to_tsvector('english'), read back) as the reference of the index's figure.

Run: scripts/eval.sh   (starts the demo server), or with PGHOST/PGPORT/PGUSER set:
  .venv/bin/python bench/eval_dl19.py [--db embedrank_eval] [--threads 2] [--only dense,fts]
"""
import argparse
import json
import math
import time
from collections import defaultdict
from pathlib import Path

import psycopg

from shared_data import shared_dir  # bench/ is on the import path when the script runs

DATA = shared_dir("eval/trec-dl19-subset")
CHUNK = 256

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS pg_embedrank;
CREATE TABLE IF NOT EXISTS dl19_passages (
  id text PRIMARY KEY,
  body text NOT NULL,
  embedding embedrank.vector(384),
  tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED
);
CREATE INDEX IF NOT EXISTS dl19_passages_tsv ON dl19_passages USING gin (tsv);
CREATE INDEX IF NOT EXISTS dl19_passages_bm25 ON dl19_passages USING embedrank_bm25 (body);
CREATE TABLE IF NOT EXISTS dl19_queries (id text PRIMARY KEY, body text NOT NULL);
CREATE TABLE IF NOT EXISTS dl19_qrels (query_id text, passage_id text, grade int NOT NULL,
                                       PRIMARY KEY (query_id, passage_id));
"""

# %(q)s: query text. Each returns passage ids, best first.
DENSE = """
SELECT id FROM dl19_passages
ORDER BY embedding <=> embedrank.embed(%(q)s, 'bge-small-en-v1.5', input_type => 'query')
LIMIT 100
"""

# The rerank stage every reranked pipeline ends with: CTE `cand` (r, id, body) read by the
# cross-encoder, its top 10 returned best first.
RERANK_CAND = """SELECT cand.id
FROM (SELECT array_agg(body ORDER BY r) AS docs FROM cand) a,
     embedrank.rerank(%(q)s, a.docs, top_n => 10) rr
JOIN cand ON cand.r = rr.idx
ORDER BY rr.score DESC, cand.r
"""

DENSE_RERANK = """
WITH ann AS (
  SELECT id, body, embedding <=> embedrank.embed(%(q)s, 'bge-small-en-v1.5', input_type => 'query') AS distance
  FROM dl19_passages ORDER BY distance LIMIT {k}
), cand AS (
  SELECT row_number() OVER (ORDER BY distance) AS r, id, body FROM ann
)
""" + RERANK_CAND

# Query terms OR-ed: plainto_tsquery stems and drops stop words, its '&' become '|'.
FTS_QUERY = "(SELECT replace(plainto_tsquery('english', %(q)s)::text, '&', '|')::tsquery AS tq) q"
FTS = f"""
SELECT id FROM dl19_passages, {FTS_QUERY}
WHERE tsv @@ tq
ORDER BY ts_rank_cd(tsv, tq, 1) DESC, id
LIMIT 100
"""

HYBRID_CTES = f"""
WITH dense AS (
  SELECT id, row_number() OVER (ORDER BY distance) AS r
  FROM (SELECT id, embedding <=> embedrank.embed(%(q)s, 'bge-small-en-v1.5', input_type => 'query') AS distance
        FROM dl19_passages ORDER BY distance LIMIT 100) d
), fts AS (
  SELECT id, row_number() OVER (ORDER BY rank DESC, id) AS r
  FROM (SELECT id, ts_rank_cd(tsv, tq, 1) AS rank FROM dl19_passages, {FTS_QUERY}
        WHERE tsv @@ tq ORDER BY rank DESC, id LIMIT 100) f
), fused AS (
  SELECT id, sum(1.0 / (60 + r)) AS rrf FROM (SELECT * FROM dense UNION ALL SELECT * FROM fts) u
  GROUP BY id
)"""

HYBRID = HYBRID_CTES + "\nSELECT id FROM fused ORDER BY rrf DESC, id LIMIT 100"

HYBRID_RERANK = HYBRID_CTES + """, cand AS (
  SELECT row_number() OVER (ORDER BY f.rrf DESC, f.id) AS r, f.id, p.body
  FROM (SELECT * FROM fused ORDER BY rrf DESC, id LIMIT 50) f JOIN dl19_passages p USING (id)
)
""" + RERANK_CAND

BM25 = """
SELECT id FROM dl19_passages
ORDER BY body <&> embedrank.bm25_query('dl19_passages_bm25', %(q)s)
LIMIT 100
"""

BM25_HYBRID_CTES = """
WITH dense AS (
  SELECT id, row_number() OVER (ORDER BY distance) AS r
  FROM (SELECT id, embedding <=> embedrank.embed(%(q)s, 'bge-small-en-v1.5', input_type => 'query') AS distance
        FROM dl19_passages ORDER BY distance LIMIT 100) d
), lex AS (
  SELECT id, row_number() OVER () AS r
  FROM (SELECT id FROM dl19_passages WHERE body @@@ embedrank.bm25_query('dl19_passages_bm25', %(q)s)
        ORDER BY body <&> embedrank.bm25_query('dl19_passages_bm25', %(q)s) LIMIT 100) f
), fused AS (
  SELECT id, sum(1.0 / (60 + r)) AS rrf FROM (SELECT * FROM dense UNION ALL SELECT * FROM lex) u
  GROUP BY id
)"""

BM25_HYBRID = BM25_HYBRID_CTES + "\nSELECT id FROM fused ORDER BY rrf DESC, id LIMIT 100"

BM25_HYBRID_RERANK = BM25_HYBRID_CTES + """, cand AS (
  SELECT row_number() OVER (ORDER BY f.rrf DESC, f.id) AS r, f.id, p.body
  FROM (SELECT * FROM fused ORDER BY rrf DESC, id LIMIT 50) f JOIN dl19_passages p USING (id)
)
""" + RERANK_CAND

PIPELINES = [
    ("dense", "dense (bge-small, top 100 by cosine)", DENSE),
    ("dense50", "dense top 50 → rerank, top 10", DENSE_RERANK.format(k=50)),
    ("dense100", "dense top 100 → rerank, top 10", DENSE_RERANK.format(k=100)),
    ("fts", "full text (ts_rank_cd, OR-ed terms)", FTS),
    ("hybrid", "hybrid RRF(fts 100, dense 100), k=60", HYBRID),
    ("hybrid50", "hybrid RRF top 50 → rerank, top 10", HYBRID_RERANK),
    ("bm25", "BM25 (embedrank_bm25 index, k1 0.9, b 0.4)", BM25),
    ("bm25hybrid", "hybrid RRF(BM25 100, dense 100), k=60", BM25_HYBRID),
    ("bm25hybrid50", "hybrid RRF(BM25, dense) top 50 → rerank, top 10", BM25_HYBRID_RERANK),
]


def ndcg10(ranked, rels):
    dcg = sum(rels.get(p, 0) / math.log2(i + 2) for i, p in enumerate(ranked[:10]))
    ideal = sorted(rels.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def mrr10(ranked, rels):
    for i, p in enumerate(ranked[:10]):
        if rels.get(p, 0) >= 1:
            return 1.0 / (i + 1)
    return 0.0


def recall100(ranked, rels):
    relevant = {p for p, g in rels.items() if g >= 1}
    return len(relevant & set(ranked[:100])) / len(relevant) if relevant else 0.0


def load(conn):
    conn.execute(SCHEMA)
    if conn.execute("SELECT count(*) FROM dl19_passages").fetchone()[0] < 5000:
        print("loading corpus, queries and qrels", flush=True)
        with conn.cursor() as cur:
            with cur.copy("COPY dl19_passages (id, body) FROM STDIN") as cp:
                for line in (DATA / "corpus.jsonl").open():
                    p = json.loads(line)
                    cp.write_row((p["_id"], p["text"]))
            with cur.copy("COPY dl19_queries FROM STDIN") as cp:
                for line in (DATA / "queries.jsonl").open():
                    q = json.loads(line)
                    cp.write_row((q["_id"], q["text"]))
            with cur.copy("COPY dl19_qrels FROM STDIN") as cp:
                for line in (DATA / "qrels.tsv").read_text().splitlines():
                    cp.write_row(tuple(line.split("\t")))
        conn.execute("ANALYZE")
    todo = conn.execute("SELECT count(*) FROM dl19_passages WHERE embedding IS NULL").fetchone()[0]
    done, started = 0, time.monotonic()
    while todo:
        n = conn.execute(
            """WITH batch AS (
                 SELECT array_agg(id ORDER BY id) AS ids, array_agg(body ORDER BY id) AS texts
                 FROM (SELECT id, body FROM dl19_passages WHERE embedding IS NULL ORDER BY id LIMIT %s) b)
               UPDATE dl19_passages p SET embedding = u.e
               FROM batch, unnest(batch.ids, embedrank.embed(batch.texts)) AS u(id, e)
               WHERE p.id = u.id""",
            (CHUNK,),
        ).rowcount
        if n == 0:
            break
        done += n
        print(f"  embedded {done}/{todo} passages ({done / (time.monotonic() - started):.0f}/s)", flush=True)
    # An index on the vectors could go here once embedrank_hnsw exists; 5000 rows scan exactly in ms.


def connect_loaded(db, threads):
    """A connection to database `db` (created if missing) with the corpus loaded and embedded."""
    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone():
            c.execute(f'CREATE DATABASE "{db}"')
    # No server-side prepared statements: embed()/rerank() are declared with the default COST 1, so after
    # a few executions Postgres switches a prepared statement to a generic plan that calls
    # embed($1) once per row (thousands of model runs per query). See the report / README.
    conn = psycopg.connect(dbname=db, autocommit=True, prepare_threshold=None,
                           options="-c search_path=public,embedrank -c plan_cache_mode=force_custom_plan")
    conn.execute(f"SET embedrank.threads = {int(threads)}")
    load(conn)
    return conn


def judged_queries(conn):
    """The graded judgements by query, and the (id, text) of each judged query."""
    qrels = defaultdict(dict)
    for q, p, g in conn.execute("SELECT query_id, passage_id, grade FROM dl19_qrels"):
        qrels[q][p] = g
    return qrels, [(q, t) for q, t in conn.execute("SELECT id, body FROM dl19_queries ORDER BY id") if q in qrels]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_eval")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--only", default="", help="comma-separated pipeline keys: " + ",".join(k for k, _, _ in PIPELINES))
    args = ap.parse_args()
    conn = connect_loaded(args.db, args.threads)
    qrels, queries = judged_queries(conn)
    print(f"{len(queries)} judged queries", flush=True)
    only = set(filter(None, args.only.split(",")))
    results = []
    for key, label, sql in PIPELINES:
        if only and key not in only:
            continue
        t0 = time.monotonic()
        scores = []
        for qid, text in queries:
            ranked = [r[0] for r in conn.execute(sql, {"q": text})]
            rels = qrels[qid]
            scores.append((ndcg10(ranked, rels), mrr10(ranked, rels), recall100(ranked, rels), len(ranked)))
        secs = time.monotonic() - t0
        n = len(scores)
        nd, mrr, rec = (sum(s[i] for s in scores) / n for i in range(3))
        rec_s = "—" if "rerank" in label else f"{rec:.3f}"  # reranked lists hold 10 ids
        results.append((label, nd, mrr, rec_s, secs * 1000 / n))
        print(f"  {label}: nDCG@10 {nd:.3f}  ({secs:.0f} s)", flush=True)
    print(f"\nTREC DL19 subset, {len(queries)} judged queries, 5000 passages; embedrank.threads = {args.threads}\n")
    print("| pipeline | nDCG@10 | MRR@10 | Recall@100 | ms/query |")
    print("|---|---:|---:|---:|---:|")
    for label, nd, mrr, rec, ms in results:
        print(f"| {label} | {nd:.3f} | {mrr:.3f} | {rec} | {ms:.0f} |")
    if not only or "bm25" in only:
        nd = python_bm25_ndcg(conn, qrels, queries)
        print(f"| Python BM25 over the same lexemes (reference) | {nd:.3f} | | | |")
    print("\nreference (README of the subset): dense bge nDCG@10 0.820, dense top 50 → rerank 0.842;"
          " BM25 on the full 8.8M-passage DL19 collection (Anserini): 0.506")


def python_bm25_ndcg(conn, qrels, queries, k1=0.9, b=0.4):
    """nDCG@10 of a plain Python BM25 (Lucene's formula) over the lexemes to_tsvector('english') gives."""
    docs = defaultdict(dict)
    for pid, lex, tf in conn.execute("SELECT id, u.lexeme, coalesce(array_length(u.positions, 1), 1)"
                                     " FROM dl19_passages, unnest(to_tsvector('english', body)) u"):
        docs[pid][lex] = tf
    n = len(docs)
    lens = {p: sum(d.values()) for p, d in docs.items()}
    avgdl = sum(lens.values()) / n
    df = defaultdict(int)
    for d in docs.values():
        for lex in d:
            df[lex] += 1
    total = 0.0
    for qid, text in queries:
        qterms = dict(conn.execute("SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1)"
                                   " FROM unnest(to_tsvector('english', %s)) u", (text,)).fetchall())
        scores = {}
        for p, d in docs.items():
            s = sum(math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * q * d[t] / (d[t] + k1 * (1 - b + b * lens[p] / avgdl))
                    for t, q in qterms.items() if t in d)
            if s > 0:
                scores[p] = s
        ranked = [p for p, _ in sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:100]]
        total += ndcg10(ranked, qrels[qid])
    return total / len(queries)


if __name__ == "__main__":
    main()
