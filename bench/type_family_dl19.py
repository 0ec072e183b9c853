"""pgvector's type family on real embeddings: what halfvec, binary quantization and prefix
(Matryoshka-style) first passes cost and keep, on the TREC DL 2019 subset with bge-small.

Uses database embedrank_eval as bench/eval_dl19.py loads it (5000 passages embedded as vector(384);
loaded here if missing). For each first stage it builds an embedrank_hnsw index on the same rows and
measures, side by side in one run:
  - index size and build time;
  - recall@10 of the first stage's top 10 against the exact cosine top 10 of the full vectors;
  - nDCG@10 after the cross-encoder (first stage's top 50 reranked, top 10 kept) — one SQL
    statement per query, as an application would run it.
First stages: (a) vector(384) cosine; (b) halfvec(384) cosine; (c) binary_quantize(embedding)::bit(384)
Hamming, top 200 re-scored by the full vectors' cosine; (d)/(e) subvector(embedding, 1, 256 | 192)
cosine, top 200 re-scored by the full vectors. bge-small was not trained for prefix truncation, so
(d)/(e) measure what truncation costs a model that was not made for it.

Run (the extension installed, a server at PGHOST/PGPORT — scripts/eval.sh starts the demo one):
  .venv/bin/python bench/type_family_dl19.py [--db embedrank_eval] [--threads 2]
"""
import argparse
import time

from eval_dl19 import RERANK_CAND, connect_loaded, judged_queries, ndcg10

RERANK = """
, cand AS (SELECT row_number() OVER (ORDER BY d) AS r, id, body FROM (SELECT * FROM first ORDER BY d LIMIT 50) f)
""" + RERANK_CAND

QV = "WITH qv AS MATERIALIZED (SELECT embedrank.embed(%(q)s, input_type => 'query') AS v)"

# name, label, column or expression DDL, index DDL, first stage (CTE `first`: id, body, d by the full vectors' order)
VARIANTS = [
    ("vector", "(a) vector(384), cosine", None,
     "CREATE INDEX tf_idx ON dl19_passages USING embedrank_hnsw (embedding vector_cosine_ops)",
     "first AS (SELECT id, body, embedding <=> (SELECT v FROM qv) AS d FROM dl19_passages"
     " ORDER BY embedding <=> (SELECT v FROM qv) LIMIT 50)"),
    ("halfvec", "(b) halfvec(384), cosine",
     "ALTER TABLE dl19_passages ADD COLUMN IF NOT EXISTS h embedrank.halfvec(384); UPDATE dl19_passages SET h = embedding",
     "CREATE INDEX tf_idx ON dl19_passages USING embedrank_hnsw (h halfvec_cosine_ops)",
     "first AS (SELECT id, body, h <=> (SELECT v FROM qv)::halfvec(384) AS d FROM dl19_passages"
     " ORDER BY h <=> (SELECT v FROM qv)::halfvec(384) LIMIT 50)"),
    ("binary", "(c) binary_quantize → bit(384), Hamming top 200, re-scored", None,
     "CREATE INDEX tf_idx ON dl19_passages USING embedrank_hnsw ((binary_quantize(embedding)::bit(384)) bit_hamming_ops)",
     "first AS (SELECT id, body, embedding <=> (SELECT v FROM qv) AS d FROM (SELECT id, body, embedding FROM dl19_passages"
     " ORDER BY binary_quantize(embedding)::bit(384) <~> binary_quantize((SELECT v FROM qv)) LIMIT 200) c)"),
    ("prefix256", "(d) subvector 1..256, cosine top 200, re-scored", None,
     "CREATE INDEX tf_idx ON dl19_passages USING embedrank_hnsw ((subvector(embedding, 1, 256)::vector(256)) vector_cosine_ops)",
     "first AS (SELECT id, body, embedding <=> (SELECT v FROM qv) AS d FROM (SELECT id, body, embedding FROM dl19_passages"
     " ORDER BY subvector(embedding, 1, 256)::vector(256) <=> subvector((SELECT v FROM qv), 1, 256) LIMIT 200) c)"),
    ("prefix192", "(e) subvector 1..192, cosine top 200, re-scored", None,
     "CREATE INDEX tf_idx ON dl19_passages USING embedrank_hnsw ((subvector(embedding, 1, 192)::vector(192)) vector_cosine_ops)",
     "first AS (SELECT id, body, embedding <=> (SELECT v FROM qv) AS d FROM (SELECT id, body, embedding FROM dl19_passages"
     " ORDER BY subvector(embedding, 1, 192)::vector(192) <=> subvector((SELECT v FROM qv), 1, 192) LIMIT 200) c)"),
]

# The exact top 10: the distance as a column of an OFFSET 0 subquery, which no index can serve; the
# query embedded once (an embed() call in the select list would run per row).
EXACT = (QV + " SELECT id FROM (SELECT id, embedding <=> (SELECT v FROM qv) AS d"
         " FROM dl19_passages OFFSET 0) s ORDER BY d, id LIMIT 10")


def build_variant(conn, column, index):
    """Replaces the previous variant's index with this one's (adding its column first, if it has one):
    (build seconds, index bytes)."""
    conn.execute("DROP INDEX IF EXISTS tf_idx")
    if column:
        for stmt in column.split("; "):
            conn.execute(stmt)
    t0 = time.monotonic()
    conn.execute(index)
    build_s = time.monotonic() - t0
    return build_s, conn.execute("SELECT pg_relation_size('tf_idx')").fetchone()[0]


def drop_variants(conn, table):
    """Leaves `table` as it was before the variants: no variant index, no halfvec column."""
    conn.execute("DROP INDEX IF EXISTS tf_idx")
    conn.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS h")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_eval")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    conn = connect_loaded(args.db, args.threads)
    qrels, queries = judged_queries(conn)
    exact = {qid: [r[0] for r in conn.execute(EXACT, {"q": text})] for qid, text in queries}
    rows = []
    for name, label, column, index, first in VARIANTS:
        build_s, size = build_variant(conn, column, index)
        conn.execute("SET enable_seqscan = off")
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + QV + ", " + first + " SELECT id FROM first",
                                                    {"q": queries[0][1]}))
        assert "tf_idx" in plan, plan
        hits, nd, t_first, t_all = 0, 0.0, 0.0, 0.0
        for qid, text in queries:
            t1 = time.monotonic()
            top = [r[0] for r in conn.execute(QV + ", " + first + " SELECT id FROM first ORDER BY d, id LIMIT 10",
                                              {"q": text})]
            t2 = time.monotonic()
            ranked = [r[0] for r in conn.execute(QV + ", " + first + RERANK, {"q": text})]
            t3 = time.monotonic()
            t_first += t2 - t1
            t_all += t3 - t2
            hits += len(set(top) & set(exact[qid]))
            nd += ndcg10(ranked, qrels[qid])
        conn.execute("RESET enable_seqscan")
        n = len(queries)
        rows.append((label, size, build_s, hits / (10 * n), nd / n, t_first * 1000 / n, t_all * 1000 / n))
        print(f"  {label}: recall@10 {hits / (10 * n):.3f}, nDCG@10 {nd / n:.3f}", flush=True)
    drop_variants(conn, "dl19_passages")
    models = conn.execute("SELECT current_setting('embedrank.embedding_model'), current_setting('embedrank.rerank_model')").fetchone()
    print(f"\nTREC DL19 subset: {len(queries)} judged queries, 5000 passages, {models[0]} (384 dims), {models[1]}"
          f" rerank of the first stage's top 50; embedrank_hnsw m 16, ef_construction 64, ef_search 40;"
          f" embedrank.threads = {args.threads}\n")
    print("| first stage | index size | build | recall@10 vs exact | nDCG@10 after rerank | first stage ms/query | with rerank ms/query |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, size, build_s, rec, nd, ms1, ms2 in rows:
        print(f"| {label} | {size / 2**20:.1f} MB | {build_s:.1f} s | {rec:.3f} | {nd:.3f} | {ms1:.0f} | {ms2:.0f} |")


if __name__ == "__main__":
    main()
