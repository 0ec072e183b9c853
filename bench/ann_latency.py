"""Latency percentiles and insert rate of embedrank_hnsw on the ann_bench.sh data set.

Run by scripts/bench_ann.sh after the shared harness (tables ann_items, ann_queries and index ann_idx
exist). Prints p50/p99 per ef_search over 500 queries (one client, prepared), then the rate of
single-row inserts of distinct new vectors into the indexed table (each its own transaction), then
removes those rows.
"""
import os
import statistics
import time

import numpy as np
import psycopg

conn = psycopg.connect(dbname=os.environ.get("ANN_DB", "ann"), autocommit=True)
conn.execute("SET search_path = public, embedrank")
conn.execute("SET enable_seqscan = off")
queries = [r[0] for r in conn.execute("SELECT v::text FROM ann_queries ORDER BY qid")]
for ef in (10, 20, 40, 80, 160):
    conn.execute(f"SET embedrank.hnsw_ef_search = {ef}")
    lat = []
    for i in range(500):
        t = time.perf_counter()
        conn.execute("SELECT id FROM ann_items ORDER BY v <-> %s::vector LIMIT 10", (queries[i % len(queries)],), prepare=True).fetchall()
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    print(f"ef_search={ef} p50_ms={statistics.median(lat):.2f} p99_ms={lat[int(len(lat) * 0.99) - 1]:.2f}")
# New rows near the queries, each a distinct vector (exact duplicates would only join an existing
# element's heap TIDs, which is much cheaper than a real insert).
rng = np.random.default_rng(11)
base = [np.array([float(x) for x in q.strip("[]").split(",")], dtype=np.float32) for q in queries]
n = 2000
rows = [(base[i % len(base)] + rng.uniform(-0.05, 0.05, size=base[0].shape).astype(np.float32)) for i in range(n)]
rows = ["[" + ",".join(f"{x:.6g}" for x in r) + "]" for r in rows]
t = time.perf_counter()
for i in range(n):
    conn.execute("INSERT INTO ann_items (id, v) VALUES (%s, %s::vector)", (10_000_000 + i, rows[i]))
dt = time.perf_counter() - t
print(f"insert_rate_rows_per_s={n / dt:.0f} (single-row transactions into the {conn.execute('SELECT count(*) FROM ann_items').fetchone()[0]}-row indexed table)")
conn.execute("DELETE FROM ann_items WHERE id >= 10000000")
