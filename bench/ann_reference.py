"""Recall of an independent HNSW implementation (hnswlib, the chroma-hnswlib wheel) on the ANN bench
data, to tell what the data set allows from what our index achieves.

Reads ann_items, ann_queries and ann_truth (the exact top 10 computed in the database) from ANN_DB,
builds hnswlib with the harness's parameters (M = 16, ef_construction = 64, L2 or cosine) and prints
recall@10 for ef_search 10..160 — the same measure as ann_bench.sh. Timings are in-process and not
comparable with the SQL figures; only recall is.
usage: ANN_DB=ann_1000000_384 python bench/ann_reference.py [THREADS]
   or: ANN_DB=embedrank_demo ANN_SET=wordnet python bench/ann_reference.py   (the tables
       scripts/bench_ann_real.sh wordnet leaves: ann_wordnet, ann_real_q, ann_real_truth; cosine)
"""
import os
import sys
import time

import hnswlib
import numpy as np
import psycopg
from pgvector.psycopg import register_vector

threads = int(sys.argv[1]) if len(sys.argv) > 1 else 2
if os.environ.get("ANN_SET") == "wordnet":
    ITEMS, COL, QUERIES, QID, TRUTH, SPACE = "ann_wordnet", "embedding", "ann_real_q", "qid", "ann_real_truth", "cosine"
else:
    ITEMS, COL, QUERIES, QID, TRUTH, SPACE = "ann_items", "v", "ann_queries", "qid", "ann_truth", "l2"
conn = psycopg.connect(dbname=os.environ["ANN_DB"])
conn.execute("SET search_path = public, embedrank")
register_vector(conn)
t0 = time.time()
n, dims = conn.execute(f"SELECT count(*), max(vector_dims({COL})) FROM {ITEMS} WHERE id < 10000000").fetchone()
ids = np.empty(n, dtype=np.int64)
data = np.empty((n, dims), dtype=np.float32)
with conn.cursor().copy(f"COPY (SELECT id::int4, {COL} FROM {ITEMS} WHERE id < 10000000) TO STDOUT (FORMAT BINARY)") as cp:
    cp.set_types(["int4", "vector"])
    for i, (id_, v) in enumerate(cp.rows()):
        ids[i], data[i] = id_, v
kind = "kind" if QUERIES == "ann_real_q" else "'all'"
queries = {q: (k, v) for q, k, v in conn.execute(f"SELECT {QID}, {kind}, v FROM {QUERIES}")}
truth = {q: [int(x) for x in t] for q, t in conn.execute(f"SELECT {QID}, ids FROM {TRUTH}")}
print(f"read {n} x {dims} in {time.time() - t0:.0f} s", flush=True)

index = hnswlib.Index(space=SPACE, dim=dims)
index.init_index(max_elements=n, M=16, ef_construction=64, random_seed=1)
index.set_num_threads(threads)
t0 = time.time()
index.add_items(data, ids)
print(f"hnswlib build: {time.time() - t0:.0f} s with {threads} threads", flush=True)
index.set_num_threads(1)
for ef in (10, 20, 40, 80, 160):
    index.set_ef(ef)
    hits, counts = {}, {}
    t0 = time.time()
    for q, (k, v) in queries.items():
        labels, _ = index.knn_query(np.asarray(v, dtype=np.float32), k=10)
        hits[k] = hits.get(k, 0) + len(set(labels[0].tolist()) & set(truth[q]))
        counts[k] = counts.get(k, 0) + 1
    dt = time.time() - t0
    by_kind = "  ".join(f"{k} ({counts[k]}): {hits[k] / (10 * counts[k]):.3f}" for k in sorted(hits))
    print(f"ef_search={ef} recall@10 {by_kind}  in-process qps={len(queries) / dt:.0f}", flush=True)
