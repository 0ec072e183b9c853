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
import collections
import random
import time

import psycopg


def build(conn, am):
    conn.execute("DROP INDEX IF EXISTS bits_idx")
    conn.execute("SET maintenance_work_mem = '1GB'")
    conn.execute("SET max_parallel_maintenance_workers = 0")
    t0 = time.monotonic()
    conn.execute(f"CREATE INDEX bits_idx ON gloss_bits USING {am} (b bit_hamming_ops) WITH (m = 16, ef_construction = 64)")
    return time.monotonic() - t0, conn.execute("SELECT pg_relation_size('bits_idx')").fetchone()[0]


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
    sides = {"embedrank_hnsw": ours}
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True)
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.pgvector_db,)).fetchone():
            admin.execute(f"CREATE DATABASE {args.pgvector_db}")
        pgv = psycopg.connect(dbname=args.pgvector_db, autocommit=True, prepare_threshold=None)
        pgv.execute("CREATE EXTENSION IF NOT EXISTS vector")
        pgv.execute("DROP TABLE IF EXISTS gloss_bits")
        pgv.execute("CREATE TABLE gloss_bits (id text PRIMARY KEY, b bit(384))")
        with pgv.cursor().copy("COPY gloss_bits (id, b) FROM STDIN") as cp:
            for r in rows:
                cp.write_row(r)
        sides["pgvector hnsw"] = pgv
    except psycopg.Error as e:
        print(f"pgvector is not installed in this Postgres ({str(e).strip()}): only embedrank_hnsw is measured")
    for conn in sides.values():
        conn.execute("ANALYZE gloss_bits")

    exact = []
    for q in queries:
        d = [r[0] for r in ours.execute("SELECT d FROM (SELECT b <~> %s::bit(384) AS d FROM gloss_bits OFFSET 0) s"
                                        " ORDER BY d LIMIT 10", (q,))]
        exact.append(d[-1])
    built = {}
    for name, conn in sides.items():
        built[name] = build(conn, "embedrank_hnsw" if name == "embedrank_hnsw" else "hnsw")
        conn.execute("SET enable_seqscan = off")
        print(f"  {name}: built in {built[name][0]:.1f} s, {built[name][1] / 2**20:.1f} MB", flush=True)
    ours.execute("SET embedrank.hnsw_iterative_scan = off")  # pgvector's default

    scan = "SELECT b <~> %s::bit(384) FROM gloss_bits ORDER BY b <~> %s::bit(384) LIMIT 10"
    results = {}
    efs = [int(x) for x in args.ef.split(",")]
    for ef in efs:
        ours.execute(f"SET embedrank.hnsw_ef_search = {ef}")
        if "pgvector hnsw" in sides:
            sides["pgvector hnsw"].execute(f"SET hnsw.ef_search = {ef}")
        for conn in sides.values():
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + scan, (queries[0], queries[0])))
            assert "bits_idx" in plan, plan
        times, found = collections.defaultdict(list), {}
        for rnd in range(args.rounds):
            for name, conn in sides.items():  # A B A B
                t0 = time.monotonic()
                got = [[r[0] for r in conn.execute(scan, (q, q))] for q in queries]
                times[name].append(time.monotonic() - t0)
                if rnd == 0:
                    found[name] = sum(sum(1 for d in g if d <= e) for g, e in zip(got, exact))
        for name in sides:
            results[(name, ef)] = (found[name] / (10 * len(queries)), len(queries) / min(times[name]))

    print(f"\nWordNet: {len(rows)} glosses, binary_quantize(bge-small) → bit(384), bit_hamming_ops, m 16,"
          f" ef_construction 64, one build thread; {len(queries)} queries; q/s best of {args.rounds} interleaved rounds\n")
    print("| index | build | size | " + " | ".join(f"ef {ef}: recall@10, q/s" for ef in efs) + " |")
    print("|---|---:|---:|" + "---:|" * len(efs))
    for name in sides:
        cells = [f"{results[(name, ef)][0]:.3f}, {results[(name, ef)][1]:.0f}" for ef in efs]
        print(f"| {name} | {built[name][0]:.1f} s | {built[name][1] / 2**20:.1f} MB | " + " | ".join(cells) + " |")
    if len(sides) == 2:
        for ef in efs:
            a, b = results[("embedrank_hnsw", ef)], results[("pgvector hnsw", ef)]
            print(f"ef {ef}: q/s ratio embedrank/pgvector {a[1] / b[1]:.2f}, recall {a[0]:.3f} vs {b[0]:.3f}")
        print(f"build time ratio {built['embedrank_hnsw'][0] / built['pgvector hnsw'][0]:.2f},"
              f" size ratio {built['embedrank_hnsw'][1] / built['pgvector hnsw'][1]:.2f}")
    for conn in sides.values():
        conn.execute("DROP TABLE gloss_bits")


if __name__ == "__main__":
    main()
