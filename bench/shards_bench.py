"""Sharded search on this machine: the same rows on 1, 2 and 4 postgres_fdw shards behind a
coordinator — recall@10 of the first stage against an exact scan, first-stage and end-to-end
latency, and the coordinator's share — side by side in one run.

Rows: the WordNet glosses the demo embedded (database embedrank_demo on the demo server; run
`EMBEDRANK_DEMO_ROWS=117659 scripts/demo.sh` for all of WordNet). `--rows N` beyond what WordNet has
adds perturbed copies of the real embeddings (Gaussian noise of `--noise` per dimension, then unit
length; the copy keeps its gloss), so a larger table keeps the real data's shape. Each configuration gets fresh
clusters under /tmp/pg_embedrank-shardbench (Postgres 15, the installed extension): the rows are
copied with their embeddings (no re-embedding) into each shard by the coordinator's hash partitioning,
each shard builds its embedrank_hnsw index (m 16, ef_construction 64), and the coordinator registers
the partitioned table. Queries: lemmas of 100 glosses drawn at random, embedded as queries.

  first stage   embedrank.first_stage_sql() on the coordinator, k = 100, ef_search 40 (what search() runs)
  shard scan    the same ORDER BY … LIMIT 100 run directly on one shard (no coordinator)
  search        embedrank.search(k => 50, n => 10) end to end (embed, first stage, rerank of 50)
  recall@10     the first stage's top 10 against the exact top 10 over all rows

On a 2-core machine every server shares the same two cores: this measures what sharding costs
(coordinator, postgres_fdw round trips) and keeps (recall), not the speed-up of separate machines.

usage: .venv/bin/python bench/shards_bench.py [--shards 1,2,4] [--rows 400000] [--queries 100] [--search-queries 20]
       (the demo server at PGHOST/PGPORT holds the source rows)
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import time

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
ROOT = "/tmp/pg_embedrank-shardbench"
BASE_PORT = 28870


def as_pg(*args, check=True):
    cmd = list(args)
    if os.geteuid() == 0:
        cmd = ["sudo", "-u", "postgres"] + cmd
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def start(name, port):
    data = f"{ROOT}/{name}"
    as_pg(f"{PGBIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    with open(f"{data}/postgresql.conf", "a") as f:
        f.write(f"listen_addresses = ''\nunix_socket_directories = '{ROOT}'\nport = {port}\n"
                "shared_buffers = 512MB\nmaintenance_work_mem = 1GB\nmax_wal_size = 4GB\nfsync = off\n")
    as_pg(f"{PGBIN}/pg_ctl", "-D", data, "-l", f"{data}.log", "-w", "start")


def stop_all():
    if os.path.isdir(ROOT):
        for name in os.listdir(ROOT):
            if os.path.isdir(f"{ROOT}/{name}"):
                as_pg(f"{PGBIN}/pg_ctl", "-D", f"{ROOT}/{name}", "-m", "immediate", "stop", check=False)
    shutil.rmtree(ROOT, ignore_errors=True)


def connect(port, **kw):
    return psycopg.connect(host=ROOT, port=port, user="postgres", dbname="postgres", autocommit=True,
                           options="-c search_path=public,embedrank", prepare_threshold=None, **kw)


def setup(n, ids, bodies, vecs):
    """Coordinator on BASE_PORT, shards on the ports after it; returns the coordinator's port."""
    stop_all()
    os.makedirs(ROOT)
    shutil.chown(ROOT, "postgres")
    ports = [BASE_PORT + i for i in range(n + 1)]
    for i, port in enumerate(ports):
        start("coord" if i == 0 else f"shard{i}", port)
    for i in range(1, n + 1):
        with connect(ports[i]) as c:
            c.execute("CREATE EXTENSION pg_embedrank")
            c.execute("CREATE TABLE docs (id text PRIMARY KEY, body text NOT NULL, embedding vector(384))")
    with connect(ports[0]) as c:
        c.execute("CREATE EXTENSION pg_embedrank")
        c.execute("CREATE EXTENSION postgres_fdw")
        c.execute("CREATE TABLE docs (id text NOT NULL, body text NOT NULL, embedding vector(384)) PARTITION BY HASH (id)")
        for i in range(1, n + 1):
            c.execute(f"CREATE SERVER shard{i} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '{ROOT}', port '{ports[i]}',"
                      " dbname 'postgres', extensions 'pg_embedrank', async_capable 'true', batch_size '1000')")
            c.execute(f"CREATE USER MAPPING FOR postgres SERVER shard{i} OPTIONS (user 'postgres')")
            c.execute(f"CREATE FOREIGN TABLE docs_{i} PARTITION OF docs FOR VALUES WITH (MODULUS {n}, REMAINDER {i - 1})"
                      f" SERVER shard{i} OPTIONS (table_name 'docs')")
        register_vector(c)
        t0 = time.monotonic()
        with c.cursor().copy("COPY docs (id, body, embedding) FROM STDIN (FORMAT BINARY)") as cp:
            cp.set_types(["text", "text", "vector"])
            for i, b, v in zip(ids, bodies, vecs):
                cp.write_row((i, b, v))
        load_s = time.monotonic() - t0
    build_s = []
    for i in range(1, n + 1):
        with connect(ports[i]) as c:
            c.execute("SET maintenance_work_mem = '1GB'")
            t0 = time.monotonic()
            c.execute("CREATE INDEX ON docs USING embedrank_hnsw (embedding vector_cosine_ops)")
            build_s.append(time.monotonic() - t0)
            c.execute("SELECT register('docs', 'body')")
            c.execute("ANALYZE docs")
    with connect(ports[0]) as c:
        c.execute("SELECT register('docs', 'body', key_column => 'id')")
    return ports, load_s, build_s


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--shards", default="1,2,4")
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--search-queries", type=int, default=20)
    ap.add_argument("--rows", type=int, default=0, help="rows in all (default: the real ones)")
    ap.add_argument("--noise", type=float, default=0.02)
    args = ap.parse_args()
    src = psycopg.connect(dbname="embedrank_demo", autocommit=True, options="-c search_path=public,embedrank")
    register_vector(src)
    real = src.execute("SELECT id, lemmas || ': ' || gloss, embedding FROM glosses WHERE embedding IS NOT NULL ORDER BY id").fetchall()
    ids = [r[0] for r in real]
    bodies = [r[1] for r in real]
    vecs = np.stack([r[2] for r in real]).astype(np.float32)
    rows = args.rows or len(real)
    noise = np.random.default_rng(11)
    copy = 1
    while len(ids) < rows:
        take = min(len(real), rows - len(ids))
        extra = vecs[:take] + noise.normal(0, args.noise, (take, vecs.shape[1])).astype(np.float32)
        extra /= np.linalg.norm(extra, axis=1, keepdims=True)
        ids += [f"{r[0]}~{copy}" for r in real[:take]]
        bodies += bodies[:take]
        vecs = np.concatenate([vecs, extra])
        copy += 1
    rng = random.Random(3)
    qtexts = [b.split(":")[0] for b in rng.sample(bodies[:len(real)], args.queries)]
    qvecs = src.execute("SELECT embed(%s::text[], input_type => 'query')", (qtexts,)).fetchone()[0]
    src.close()
    # Exact top 10 by cosine over all rows, in numpy (float64 dot products of unit vectors).
    unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
    exact = []
    for q in qvecs:
        q = np.asarray(q, dtype=np.float64)
        d = 1 - unit @ (q / np.linalg.norm(q))
        top = np.argpartition(d, 10)[:10]
        exact.append([ids[i] for i in top[np.argsort(d[top])]])
    qvecs = [np.asarray(q, dtype=np.float32) for q in qvecs]
    print(f"{len(ids)} rows ({len(real)} real, the rest perturbed copies at noise {args.noise}),"
          f" {len(qvecs)} queries; machine: {os.cpu_count()} cores", flush=True)
    results = []
    try:
        for n in [int(x) for x in args.shards.split(",")]:
            ports, load_s, build_s = setup(n, ids, bodies, vecs)
            with connect(ports[0]) as c, connect(ports[1]) as s1:
                register_vector(c)
                register_vector(s1)
                fs = c.execute("SELECT first_stage_sql('docs')").fetchone()[0]
                first = "WITH qv AS MATERIALIZED (SELECT %s AS v) " + fs.replace("$2", "100")
                plan = "\n".join(r[0] for r in c.execute("EXPLAIN " + first, (qvecs[0],)))
                assert plan.count("Async Foreign Scan") == n or n == 1, plan
                hits, t_first, t_shard = 0, [], []
                for q, ex in zip(qvecs, exact):
                    t0 = time.monotonic()
                    got = [r[0] for r in c.execute(first, (q,))]
                    t_first.append((time.monotonic() - t0) * 1000)
                    hits += len(set(got[:10]) & set(ex))
                    t0 = time.monotonic()
                    s1.execute("SELECT id FROM docs ORDER BY embedding <=> %s LIMIT 100", (q,)).fetchall()
                    t_shard.append((time.monotonic() - t0) * 1000)
                c.execute("SELECT load('bge-small-en-v1.5'), load('ms-marco-MiniLM-L-12-v2')")
                t_search = []
                for qt in qtexts[:args.search_queries]:
                    t0 = time.monotonic()
                    c.execute("SELECT * FROM search('docs', %s, k => 50, n => 10)", (qt,)).fetchall()
                    t_search.append((time.monotonic() - t0) * 1000)
                size = sum(connect(p).execute("SELECT pg_relation_size('docs_embedding_idx')").fetchone()[0] for p in ports[1:])
            r = {"shards": n, "rows_per_shard": len(ids) // n, "load_s": load_s, "build_s": max(build_s),
                 "index_mb": size / 2**20, "recall": hits / (10 * len(qvecs)),
                 "first_p50": statistics.median(t_first), "shard_p50": statistics.median(t_shard),
                 "search_p50": statistics.median(t_search)}
            results.append(r)
            print(r, flush=True)
    finally:
        stop_all()
    print("\n| shards | rows per shard | load (COPY via coordinator) | slowest shard's index build | index total |"
          " recall@10 vs exact | first stage p50 (coordinator) | one shard's scan p50 (direct) | search() p50 (k 50, n 10) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['shards']} | {r['rows_per_shard']:,} | {r['load_s']:.0f} s | {r['build_s']:.0f} s | {r['index_mb']:.0f} MB |"
              f" {r['recall']:.3f} | {r['first_p50']:.1f} ms | {r['shard_p50']:.1f} ms | {r['search_p50']:.0f} ms |")


if __name__ == "__main__":
    main()
