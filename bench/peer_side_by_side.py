"""embedrank_hnsw and pgvector's hnsw on the same rows in one server, for the type benchmarks
(bench/bit_wordnet.py, bench/sparse_wordnet.py): one database per side, one build thread each, each
side's queries interleaved A B A B per ef_search, and the table and ratios they print.

pgvector is a measuring aid built by hand into the same Postgres; without it only our side runs,
and the run says so.
"""
import collections
import time

import psycopg

OURS, PGVECTOR = "embedrank_hnsw", "pgvector hnsw"


def pgvector_side(dbname, load):
    """A connection to database `dbname` (created if missing) with pgvector, after `load(conn)` filled
    it; None, said aloud, when pgvector is not installed."""
    try:
        admin = psycopg.connect(dbname="postgres", autocommit=True)
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
            admin.execute(f'CREATE DATABASE "{dbname}"')
        conn = psycopg.connect(dbname=dbname, autocommit=True, prepare_threshold=None)
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as e:
        print(f"pgvector is not installed in this Postgres ({str(e).strip()}): only {OURS} is measured")
        return None
    load(conn)
    return conn


def build(sides, index_ddl):
    """Builds `index_ddl` (with `{am}` for the access method) on each side with one build thread:
    {side: (seconds, bytes)}. Leaves sequential scans off, and ours without iterative scans (pgvector's
    default)."""
    built = {}
    for name, conn in sides.items():
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET max_parallel_maintenance_workers = 0")
        t0 = time.monotonic()
        conn.execute(index_ddl.format(am="embedrank_hnsw" if name == OURS else "hnsw"))
        took = time.monotonic() - t0
        built[name] = (took, conn.execute("SELECT pg_relation_size('peer_idx')").fetchone()[0])
        conn.execute("SET enable_seqscan = off")
        print(f"  {name}: built in {took:.1f} s, {built[name][1] / 2**20:.1f} MB", flush=True)
    sides[OURS].execute("SET embedrank.hnsw_iterative_scan = off")
    return built


def measure(sides, scan_sql, params, efs, rounds, found):
    """For each ef_search: recall (`found(results of all queries)` / 10 per query) from the first round,
    and queries/s, the best of `rounds` rounds run A B A B. `params` are the queries' SQL parameters;
    the scan must be an index scan of `peer_idx`. {(side, ef): (recall, q/s)}."""
    results = {}
    for ef in efs:
        sides[OURS].execute(f"SET embedrank.hnsw_ef_search = {ef}")
        if PGVECTOR in sides:
            sides[PGVECTOR].execute(f"SET hnsw.ef_search = {ef}")
        for conn in sides.values():
            plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + scan_sql, params[0]))
            assert "peer_idx" in plan, plan
        times, hits = collections.defaultdict(list), {}
        for rnd in range(rounds):
            for name, conn in sides.items():
                t0 = time.monotonic()
                got = [[r[0] for r in conn.execute(scan_sql, p)] for p in params]
                times[name].append(time.monotonic() - t0)
                if rnd == 0:
                    hits[name] = found(got)
        for name in sides:
            results[(name, ef)] = (hits[name] / (10 * len(params)), len(params) / min(times[name]))
    return results


def report(title, sides, built, results, efs):
    """The markdown table and, with both sides, the ratios."""
    print(f"\n{title}\n")
    print("| index | build | size | " + " | ".join(f"ef {ef}: recall@10, q/s" for ef in efs) + " |")
    print("|---|---:|---:|" + "---:|" * len(efs))
    for name in sides:
        cells = [f"{results[(name, ef)][0]:.3f}, {results[(name, ef)][1]:.0f}" for ef in efs]
        print(f"| {name} | {built[name][0]:.1f} s | {built[name][1] / 2**20:.1f} MB | " + " | ".join(cells) + " |")
    if PGVECTOR in sides:
        for ef in efs:
            a, b = results[(OURS, ef)], results[(PGVECTOR, ef)]
            print(f"ef {ef}: q/s ratio embedrank/pgvector {a[1] / b[1]:.2f}, recall {a[0]:.3f} vs {b[0]:.3f}")
        print(f"build time ratio {built[OURS][0] / built[PGVECTOR][0]:.2f},"
              f" size ratio {built[OURS][1] / built[PGVECTOR][1]:.2f}")
