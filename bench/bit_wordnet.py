"""bit indexes side by side with pgvector: binary-quantized bge-small embeddings of all WordNet
glosses (bit(384), one bit per dimension), Hamming distance, embedrank_hnsw and pgvector's hnsw on
the same rows in one server.

Measured: build time (one build thread on both sides), index size, recall@10 against the exact
Hamming top 10 (a sequential scan; many codes tie, so a row counts as found when its distance is
within the exact 10th distance) and queries/s per ef_search, queries interleaved (A B A B).
Queries: the codes of 200 glosses' lemmas embedded as queries.

Needs the demo server with all of WordNet (EMBEDRANK_DEMO_ROWS=117659 scripts/demo.sh) and pgvector
built into the same Postgres by hand (a measuring aid; without it only embedrank's side runs).

Run:  .venv/bin/python bench/bit_wordnet.py [--queries 200] [--ef 40,100,200]
"""
import argparse
import random

import psycopg

from peer_side_by_side import OURS, PGVECTOR, build, measure, pgvector_side, report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_demo")
    ap.add_argument("--pgvector-db", default="pgvector_bits")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--ef", default="40,100,200")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    ours = psycopg.connect(dbname=args.db, autocommit=True, prepare_threshold=None,
                           options="-c search_path=public,embedrank")
    ours.execute("DROP TABLE IF EXISTS gloss_bits")
    ours.execute("CREATE TABLE gloss_bits AS SELECT id, binary_quantize(embedding)::bit(384) AS b"
                 " FROM glosses WHERE embedding IS NOT NULL")
    rows = ours.execute("SELECT id, b::text FROM gloss_bits").fetchall()
    lemmas = [r[0] for r in ours.execute("SELECT lemmas FROM glosses WHERE embedding IS NOT NULL ORDER BY id")]
    qtexts = random.Random(5).sample(lemmas, args.queries)
    queries = [r[0] for r in ours.execute(
        "SELECT binary_quantize(e)::bit(384)::text FROM unnest(embed(%s::text[], input_type => 'query')) e", (qtexts,))]
    ours.execute("ANALYZE gloss_bits")
    sides = {OURS: ours}

    def load(conn):
        conn.execute("DROP TABLE IF EXISTS gloss_bits")
        conn.execute("CREATE TABLE gloss_bits (id text PRIMARY KEY, b bit(384))")
        with conn.cursor().copy("COPY gloss_bits (id, b) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        conn.execute("ANALYZE gloss_bits")

    pgv = pgvector_side(args.pgvector_db, load)
    if pgv:
        sides[PGVECTOR] = pgv

    # The exact 10th distance per query: many codes tie, so a row within it counts as found.
    exact = [[r[0] for r in ours.execute("SELECT d FROM (SELECT b <~> %s::bit(384) AS d FROM gloss_bits OFFSET 0) s"
                                         " ORDER BY d LIMIT 10", (q,))][-1] for q in queries]
    built = build(sides, "CREATE INDEX peer_idx ON gloss_bits USING {am} (b bit_hamming_ops)"
                         " WITH (m = 16, ef_construction = 64)")
    efs = [int(x) for x in args.ef.split(",")]
    results = measure(sides, "SELECT b <~> %s::bit(384) FROM gloss_bits ORDER BY b <~> %s::bit(384) LIMIT 10",
                      [(q, q) for q in queries], efs, args.rounds,
                      lambda got: sum(sum(1 for d in g if d <= e) for g, e in zip(got, exact)))
    report(f"WordNet: {len(rows)} glosses, binary_quantize(bge-small) → bit(384), bit_hamming_ops, m 16,"
           f" ef_construction 64, one build thread; {len(queries)} queries; q/s best of {args.rounds} interleaved rounds",
           sides, built, results, efs)
    for conn in sides.values():
        conn.execute("DROP TABLE gloss_bits")


if __name__ == "__main__":
    main()
