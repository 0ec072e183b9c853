"""sparsevec indexes side by side with pgvector on real text: all of WordNet's glosses as lexical
sparse vectors over BERT's WordPiece vocabulary (30,522 dimensions, the space SPLADE and uniCOIL
emit into).

Each gloss becomes its BM25 document weights (k1 0.9, b 0.4, idf over the glosses) per token of
bge-small's tokenizer; a query is the tokens of a WordNet lemma line with weight 1, so the inner
product is the BM25 score and `ORDER BY v <#> q` is a BM25 ranking — learned sparse retrieval's
shape with weights from a formula instead of a model. No judgments: the measure is recall@10 against
the exact inner-product top 10 (a sequential scan), index size, build time and queries/s per
ef_search, embedrank_hnsw and pgvector's hnsw on the same rows in one server, queries interleaved
(A B A B).

Needs: the extension installed in Postgres 15 with the demo server up (scripts/demo.sh, WordNet in
database embedrank_demo; `EMBEDRANK_DEMO_ROWS=117659` for all of it), bge-small's tokenizer in
.cache/models (scripts/setup.sh) and pgvector built into the same Postgres by hand (a measuring aid:
without it only embedrank's side runs, and it says so).

Run:  .venv/bin/python bench/sparse_wordnet.py [--queries 200] [--ef 40,100,200]
"""
import argparse
import collections
import math
import os
import random
import statistics

import psycopg
from tokenizers import Tokenizer

from peer_side_by_side import OURS, PGVECTOR, build, measure, pgvector_side, report

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKENIZER = os.path.join(ROOT, ".cache/models/bge-small-en-v1.5/tokenizer.json")
VOCAB = 30522
K1, B = 0.9, 0.4


def token_ids(tok, texts):
    special = {0, 100, 101, 102, 103}  # [PAD] [UNK] [CLS] [SEP] [MASK]
    return [[t for t in e.ids if t not in special] for e in tok.encode_batch(texts)]


def bm25_vectors(docs):
    """BM25 document weights per token: {token: weight} for each document."""
    df = collections.Counter(t for d in docs for t in set(d))
    n, avg = len(docs), sum(map(len, docs)) / len(docs)
    out = []
    for d in docs:
        tf = collections.Counter(d)
        norm = K1 * (1 - B + B * len(d) / avg)
        out.append({t: math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5)) * f * (K1 + 1) / (f + norm)
                    for t, f in tf.items()})
    return out


def literal(weights):
    # sparsevec indices are 1-based.
    return "{" + ",".join(f"{t + 1}:{w:.6g}" for t, w in sorted(weights.items())) + f"}}/{VOCAB}"


def load(conn, schema_type, rows):
    conn.execute("DROP TABLE IF EXISTS sparse_glosses")
    conn.execute(f"CREATE TABLE sparse_glosses (id text PRIMARY KEY, v {schema_type}({VOCAB}))")
    with conn.cursor().copy("COPY sparse_glosses (id, v) FROM STDIN") as cp:
        for i, lit in rows:
            cp.write_row((i, lit))
    conn.execute("ANALYZE sparse_glosses")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_demo")
    ap.add_argument("--pgvector-db", default="pgvector_sparse")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef", default="40,100,200")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if not os.path.exists(TOKENIZER):
        raise SystemExit(f"{TOKENIZER} is missing: run scripts/setup.sh first")
    tok = Tokenizer.from_file(TOKENIZER)

    ours = psycopg.connect(dbname=args.db, autocommit=True, prepare_threshold=None)
    glosses = ours.execute("SELECT id, gloss, lemmas FROM glosses ORDER BY id").fetchall()
    docs = token_ids(tok, [g for _, g, _ in glosses])
    weights = bm25_vectors(docs)
    rows = [(i, literal(w)) for (i, _, _), w in zip(glosses, weights) if w]
    nnz = [len(w) for w in weights if w]
    qlemmas = random.Random(5).sample([lem for _, _, lem in glosses], args.queries)
    queries = [literal({t: 1.0 for t in q}) for q in token_ids(tok, qlemmas) if q]
    print(f"{len(rows)} glosses, non-zeros per row: median {statistics.median(nnz):.0f}, max {max(nnz)};"
          f" {len(queries)} queries", flush=True)

    ours.execute("SET search_path = public, embedrank")
    load(ours, "embedrank.sparsevec", rows)
    sides = {OURS: ours}
    pgv = pgvector_side(args.pgvector_db, lambda c: load(c, "sparsevec", rows))
    if pgv:
        sides[PGVECTOR] = pgv

    exact_sql = ("SELECT id FROM (SELECT id, v <#> %s::sparsevec AS d FROM sparse_glosses OFFSET 0) s"
                 " ORDER BY d, id LIMIT 10")
    exact = [[r[0] for r in ours.execute(exact_sql, (q,))] for q in queries]
    built = build(sides, "CREATE INDEX peer_idx ON sparse_glosses USING {am} (v sparsevec_ip_ops)"
                         " WITH (m = 16, ef_construction = 64)")
    efs = [int(x) for x in args.ef.split(",")]
    results = measure(sides, "SELECT id FROM sparse_glosses ORDER BY v <#> %s::sparsevec LIMIT 10",
                      [(q,) for q in queries], efs, args.rounds,
                      lambda got: sum(len(set(g) & set(e)) for g, e in zip(got, exact)))
    report(f"WordNet glosses as BM25-weighted sparsevec({VOCAB}), sparsevec_ip_ops, m 16, ef_construction 64,"
           f" one build thread; {len(queries)} lemma queries; q/s = best of {args.rounds} interleaved rounds",
           sides, built, results, efs)
    for conn in sides.values():
        conn.execute("DROP TABLE sparse_glosses")


if __name__ == "__main__":
    main()
