"""pgvector's type family at scale on real embeddings: the first stages of bench/type_family_dl19.py
— (a) vector, (b) halfvec, (c) binary_quantize + Hamming top 200 re-scored by the full vectors,
(d)/(e) subvector 256/192 top 200 re-scored — on all of WordNet (117,659 glosses with bge-small
embeddings, as `EMBEDRANK_DEMO_ROWS=117659 scripts/demo.sh` loads them into embedrank_demo).

WordNet has no relevance judgments, so this measures what the first stage keeps of the exact search
(recall@10 against the exact cosine top 10 of the full vectors), index size, build time and latency,
side by side in one run; queries are the lemmas of 200 glosses drawn at random, embedded as queries.

Run (the demo server at PGHOST/PGPORT):  .venv/bin/python bench/type_family_wordnet.py [--queries 200]
"""
import argparse
import random
import statistics
import time

import psycopg

from type_family_dl19 import VARIANTS, build_variant, drop_variants


def adapt(sql):
    return sql.replace("dl19_passages", "glosses").replace("body", "gloss") if sql else sql


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_demo")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    conn = psycopg.connect(dbname=args.db, autocommit=True, prepare_threshold=None,
                           options="-c search_path=public,embedrank")
    rows = conn.execute("SELECT count(*) FROM glosses WHERE embedding IS NOT NULL").fetchone()[0]
    lemmas = [r[0] for r in conn.execute("SELECT lemmas FROM glosses WHERE embedding IS NOT NULL ORDER BY id")]
    qtexts = random.Random(5).sample(lemmas, args.queries)
    qvecs = conn.execute("SELECT embed(%s::text[], input_type => 'query')::text[]", (qtexts,)).fetchone()[0]
    exact = [[r[0] for r in conn.execute("SELECT id FROM (SELECT id, embedding <=> %s::vector AS d FROM glosses"
                                         " WHERE embedding IS NOT NULL OFFSET 0) s ORDER BY d, id LIMIT 10", (q,))]
             for q in qvecs]
    conn.execute("SET maintenance_work_mem = '1GB'")
    out = []
    for name, label, column, index, first in VARIANTS:
        build_s, size = build_variant(conn, adapt(column), adapt(index))
        first = adapt(first)
        conn.execute("SET enable_seqscan = off")
        sql = "WITH qv AS MATERIALIZED (SELECT %(q)s::vector AS v), " + first + " SELECT id FROM first ORDER BY d, id LIMIT 10"
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, {"q": qvecs[0]}))
        assert "tf_idx" in plan, plan
        hits, ms = 0, []
        for q, ex in zip(qvecs, exact):
            t0 = time.monotonic()
            got = [r[0] for r in conn.execute(sql, {"q": q})]
            ms.append((time.monotonic() - t0) * 1000)
            hits += len(set(got) & set(ex))
        conn.execute("RESET enable_seqscan")
        out.append((label, size, build_s, hits / (10 * len(qvecs)), statistics.median(ms)))
        print(f"  {label}: recall@10 {hits / (10 * len(qvecs)):.3f}, {size / 2**20:.0f} MB", flush=True)
    drop_variants(conn, "glosses")
    print(f"\nWordNet: {rows} glosses, bge-small-en-v1.5 (384 dims); {len(qvecs)} queries; embedrank_hnsw m 16,"
          " ef_construction 64, ef_search 40\n")
    print("| first stage | index size | build | recall@10 vs exact | first stage p50 ms |")
    print("|---|---:|---:|---:|---:|")
    for label, size, build_s, rec, p50 in out:
        print(f"| {label} | {size / 2**20:.0f} MB | {build_s:.0f} s | {rec:.3f} | {p50:.1f} |")


if __name__ == "__main__":
    main()
