"""Time of VACUUM on an embedrank_hnsw index against the time to build it.

Creates 23,000 rows of 32-dim vectors (the durability tests' generator, cosine), builds the index,
then three rounds of deleting 1,000 of the first 8,000 rows and timing VACUUM. Connects with the
usual PG* environment variables (PGHOST, PGPORT, PGUSER; database postgres), on a server with
pg_embedrank installed, e.g. the demo server of scripts/demo.sh:
    PGHOST=.pgrun PGPORT=28815 PGUSER=postgres .venv/bin/python bench/vacuum_cost.py
Drops its table (vacuum_cost) at the end.
"""
import random
import time

import psycopg

DIMS = 32


def vec(rng):
    c = rng.randrange(20)
    return "[" + ",".join(f"{c * 0.1 + rng.random():.5f}" for _ in range(DIMS)) + "]"


with psycopg.connect(dbname="postgres", autocommit=True, options="-c search_path=public,embedrank") as c:
    c.execute("CREATE EXTENSION IF NOT EXISTS pg_embedrank")
    c.execute("DROP TABLE IF EXISTS vacuum_cost")
    c.execute(f"CREATE TABLE vacuum_cost (id int PRIMARY KEY, v vector({DIMS})) WITH (autovacuum_enabled = off)")
    rng = random.Random(11)
    with c.cursor() as cur:
        cur.executemany("INSERT INTO vacuum_cost VALUES (%s, %s)", [(i, vec(rng)) for i in range(23000)])
    t = time.time()
    c.execute("CREATE INDEX ON vacuum_cost USING embedrank_hnsw (v vector_cosine_ops)")
    print(f"build: {time.time() - t:.1f} s (23,000 rows)")
    for k in range(3):
        c.execute(f"DELETE FROM vacuum_cost WHERE id < 8000 AND id % 8 = {k}")
        t = time.time()
        c.execute("VACUUM vacuum_cost")
        print(f"VACUUM after deleting 1,000 rows, round {k + 1}: {time.time() - t:.1f} s")
    c.execute("DROP TABLE vacuum_cost")
