"""Lexical top 10 side by side: the embedrank_bm25 index against GIN + ts_rank_cd, on real text.

Corpus: WordNet's glosses (all 117,659 by default). With --rows above that, row i is gloss i mod N
followed by gloss (i · 7919) mod N: real vocabulary and word frequencies at any scale (1M rows
averages two glosses, ~17 words).

For each side, in one database on one server:
  - build time and size: `CREATE INDEX … USING embedrank_bm25 (body)` against GIN on a stored
    `tsvector` column (to_tsvector('english', body), computed at load, not counted) and GIN on the
    expression to_tsvector('english', body) (analysis counted, as in ours);
  - latency of the top 10, per query, for two query sets: 200 "words" queries (2–4 words of a
    random gloss) and 100 "rare" queries (a token that occurs in exactly one gloss: names, numbers);
    - bm25: `ORDER BY body <&> bm25_query(…) LIMIT 10` (block-max WAND over the index);
    - gin-or: `WHERE tsv @@ (terms OR-ed) ORDER BY ts_rank_cd(tsv, q) DESC LIMIT 10` (the same
      candidate semantics: any term; every match ranked);
    - gin-and: the same with plainto_tsquery (every term: fewer matches, the old hybrid stage's
      semantics).
Rounds interleave the sides (A B C A B C), each query timed alone on the client; p50 and p95 per
side and the ratio of p50s are printed, with recall@10 of the rare query's gloss.

Run (the demo server, or PGHOST/PGPORT/PGUSER set; needs wordnet-base, see scripts/setup.sh):
  .venv/bin/python bench/bm25_wordnet.py [--rows 117659] [--rounds 3]
"""
import argparse
import collections
import os
import random
import re
import statistics
import subprocess
import time

import psycopg

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOKEN = re.compile(r"[A-Za-z][A-Za-z0-9'-]*[A-Za-z0-9]|\d{3,}")


def glosses():
    tsv = subprocess.run(["python3", os.path.join(ROOT, "scripts", "wordnet_tsv.py")],
                         check=True, capture_output=True, text=True).stdout
    return [line.split("\t")[3] for line in tsv.splitlines()]


def timed(conn, sql, params):
    t0 = time.perf_counter()
    rows = conn.execute(sql, params).fetchall()
    return (time.perf_counter() - t0) * 1000, [r[0] for r in rows]


SIDES = {
    "bm25": "SELECT id FROM g ORDER BY body <&> embedrank.bm25_query('g_bm25', %(q)s) LIMIT 10",
    "gin-or": ("SELECT id FROM g, (SELECT replace(plainto_tsquery('english', %(q)s)::text, '&', '|')::tsquery AS tq) q"
               " WHERE tsv @@ tq ORDER BY ts_rank_cd(tsv, tq) DESC LIMIT 10"),
    "gin-and": ("SELECT id FROM g, plainto_tsquery('english', %(q)s) tq"
                " WHERE tsv @@ tq ORDER BY ts_rank_cd(tsv, tq) DESC LIMIT 10"),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_bm25_bench")
    ap.add_argument("--rows", type=int, default=0, help="rows (default: all glosses)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    gl = glosses()
    n = args.rows or len(gl)
    body = [gl[i % len(gl)] if n <= len(gl) else gl[i % len(gl)] + " " + gl[(i * 7919) % len(gl)] for i in range(n)]

    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        c.execute(f'DROP DATABASE IF EXISTS "{args.db}"')
        c.execute(f'CREATE DATABASE "{args.db}"')
    conn = psycopg.connect(dbname=args.db, autocommit=True, prepare_threshold=None,
                           options="-c search_path=public,embedrank")
    conn.execute("CREATE EXTENSION pg_embedrank")
    conn.execute("CREATE TABLE g (id int PRIMARY KEY, body text,"
                 " tsv tsvector GENERATED ALWAYS AS (to_tsvector('english', body)) STORED)")
    t0 = time.monotonic()
    with conn.cursor().copy("COPY g (id, body) FROM STDIN") as cp:
        for i, b in enumerate(body):
            cp.write_row((i, b))
    print(f"{n} rows loaded (with their tsvector) in {time.monotonic() - t0:.0f} s", flush=True)
    conn.execute("VACUUM ANALYZE g")
    conn.execute("SET maintenance_work_mem = '1GB'")
    # One build at a time, each in one process (no parallel GIN workers), so times compare.
    conn.execute("SET max_parallel_maintenance_workers = 0")
    builds = {}
    for name, ddl in (("bm25", "CREATE INDEX g_bm25 ON g USING embedrank_bm25 (body)"),
                      ("gin", "CREATE INDEX g_gin ON g USING gin (tsv)"),
                      ("ginexpr", "CREATE INDEX g_ginexpr ON g USING gin (to_tsvector('english', body))")):
        t0 = time.monotonic()
        conn.execute(ddl)
        secs = time.monotonic() - t0
        size = conn.execute(f"SELECT pg_relation_size('g_{name}')").fetchone()[0]
        builds[name] = (secs, size)
        print(f"  build {name}: {secs:.1f} s, {size / 2**20:.0f} MB", flush=True)

    rng = random.Random(5)
    words = []
    for b in rng.sample(gl, 200):
        w = b.split()
        words.append(" ".join(rng.sample(w, min(len(w), rng.randint(2, 4)))))
    df = collections.Counter()
    for b in gl:
        df.update({t.lower() for t in TOKEN.findall(b)})
    rare_all = sorted({(t, i) for i, b in enumerate(gl) for t in set(TOKEN.findall(b))
                       if df[t.lower()] == 1 and ((t[0].isupper() and len(t) >= 6) or t.isdigit())})
    rare = rng.sample(rare_all, 100)
    sets = {"words": [(q, None) for q in words], "rare": rare}

    for set_name, queries in sets.items():
        times = {s: [] for s in SIDES}
        hits = collections.Counter()
        for rnd in range(args.rounds):
            for q, answer in queries:
                for side, sql in SIDES.items():
                    ms, ids = timed(conn, sql, {"q": q})
                    times[side].append(ms)
                    if rnd == 0 and answer is not None:
                        # The gloss holding the rare token (every row built from it, at scale).
                        hits[side] += any(i % len(gl) == answer or (n > len(gl) and (i * 7919) % len(gl) == answer) for i in ids)
        print(f"\n{set_name} queries ({len(queries)}, {args.rounds} rounds interleaved), {n} rows:")
        print("| side | p50 ms | p95 ms | p50 ratio to bm25 |" + (" recall@10 of the gloss |" if set_name == "rare" else ""))
        print("|---|---:|---:|---:|" + ("---:|" if set_name == "rare" else ""))
        base = statistics.median(times["bm25"])
        for side, t in times.items():
            p50, p95 = statistics.median(t), statistics.quantiles(t, n=20)[18]
            extra = f" {hits[side] / len(queries):.2f} |" if set_name == "rare" else ""
            print(f"| {side} | {p50:.2f} | {p95:.2f} | {p50 / base:.2f}× |{extra}")
    b, g, e = builds["bm25"], builds["gin"], builds["ginexpr"]
    print(f"\nbuild: bm25 {b[0]:.1f} s / {b[1] / 2**20:.0f} MB; gin on the stored tsvector {g[0]:.1f} s / {g[1] / 2**20:.0f} MB"
          f" (analysis done at load, not counted); gin on to_tsvector('english', body) {e[0]:.1f} s / {e[1] / 2**20:.0f} MB")


if __name__ == "__main__":
    main()
