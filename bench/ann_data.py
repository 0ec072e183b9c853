"""Synthetic clustered vectors for scale runs of the ANN harness (../shared/bench/ann_bench.sh).

The harness generates its data in SQL, which overflows int4 in its cluster formula past ~270k rows and
takes hours at 1M (every element access detoasts the centroid array). This script writes the same
tables with the same recipe — 200 centroids uniform in [-1, 1]^dims, item i in cluster
1 + (i * 7919 mod 200), query q in cluster 1 + (q * 31 mod 200), uniform noise of width 0.8 — with
numpy and binary COPY, then computes the ground truth (top 10 by L2) with an exact scan in the
database, as the harness does. The harness skips generation when ann_items exists.
usage: ANN_DB=db python bench/ann_data.py ROWS DIMS   (PGHOST/PGPORT/PGUSER from the environment)
"""
import os
import sys
import time

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

rows, dims = int(sys.argv[1]), int(sys.argv[2])
rng = np.random.default_rng(7)
centroids = rng.uniform(-1, 1, size=(201, dims)).astype(np.float64)  # row 0 unused: cids are 1..200

conn = psycopg.connect(dbname=os.environ["ANN_DB"], autocommit=True)
conn.execute("SET search_path = public, embedrank")
register_vector(conn)
conn.execute("DROP TABLE IF EXISTS ann_centroids, ann_items, ann_queries, ann_truth")
conn.execute("CREATE TABLE ann_centroids (cid int, cen float8[])")
conn.execute(f"CREATE TABLE ann_items (id int, v vector({dims}))")
conn.execute(f"CREATE TABLE ann_queries (qid int, v vector({dims}))")
with conn.cursor().copy("COPY ann_centroids FROM STDIN") as cp:
    for cid in range(1, 201):
        cp.write_row((cid, centroids[cid].tolist()))

t0 = time.time()
chunk = 20000
with conn.cursor().copy("COPY ann_items (id, v) FROM STDIN WITH (FORMAT BINARY)") as cp:
    cp.set_types(["int4", "vector"])
    for start in range(1, rows + 1, chunk):
        ids = np.arange(start, min(start + chunk, rows + 1), dtype=np.int64)
        cids = 1 + (ids * 7919) % 200
        vs = (centroids[cids] + rng.uniform(-0.4, 0.4, size=(len(ids), dims))).astype(np.float32)
        for i, v in zip(ids.tolist(), vs):
            cp.write_row((i, v))
print(f"loaded {rows} x {dims} in {time.time() - t0:.0f} s", flush=True)

qids = np.arange(1, 101, dtype=np.int64)
qv = (centroids[1 + (qids * 31) % 200] + rng.uniform(-0.4, 0.4, size=(100, dims))).astype(np.float32)
with conn.cursor().copy("COPY ann_queries (qid, v) FROM STDIN WITH (FORMAT BINARY)") as cp:
    cp.set_types(["int4", "vector"])
    for q, v in zip(qids.tolist(), qv):
        cp.write_row((q, v))
conn.execute("VACUUM ANALYZE ann_items")

t0 = time.time()
conn.execute("SET max_parallel_workers_per_gather = 2")
conn.execute("""CREATE TABLE ann_truth AS SELECT q.qid, (SELECT array_agg(id ORDER BY d) FROM
  (SELECT id, i.v <-> q.v AS d FROM ann_items i ORDER BY i.v <-> q.v LIMIT 10) t) AS ids FROM ann_queries q""")
print(f"exact ground truth for 100 queries in {time.time() - t0:.0f} s", flush=True)
