"""Latency of the one-statement two-stage search (README "Quick tour" CTE), with a per-stage breakdown.

For each corpus, embedrank.threads (1, 2) and k (50, 100), n = 10, each query is timed end to end as ONE
statement (query embedded once in a MATERIALIZED CTE, ANN top-k by the embedrank_hnsw index, rerank of
the k texts, join back), then its stages are timed separately in the same session:
  (1) embed:  SELECT embed($1, input_type => 'query')
  (2) ANN:    SELECT id, text, distance ... ORDER BY embedding <=> $v::vector LIMIT k   (precomputed vector)
  (3) rerank: SELECT * FROM rerank($1, $2::text[], top_n => n) on the k candidate texts of (2)
All times are client wall clock (psycopg 3, unix socket, no server-side prepared statements). Before
timing, both models are loaded (embedrank.load) and one unmeasured search runs per thread setting; the
plans of (2) and of the one-statement search are checked with EXPLAIN for an Index Scan on the HNSW index.
If the planner does not pick the index (on the 5000-row DL19 table it prefers Seq Scan + top-N sort), the
default plan's ANN stage is timed for the notes and the index is then forced (enable_seqscan = off, jit = off).
p50/p95 are over queries (one timed run per query and configuration; linear interpolation).
Corpora: DL19 subset (5000 passages, judged queries, database embedrank_eval) and WordNet glosses
(all embedded rows, 30 hand-written queries, database embedrank_demo; text = lemmas || ': ' || gloss, as demo.sh).
Reranking costs ~30-70 ms per pair on one core, so by default only the first 10 queries per corpus run
(about 8 minutes in all on 2 cores); --queries 0 runs all of them.

Run: scripts/bench_search.sh   (starts the demo server), or with PGHOST/PGPORT/PGUSER set:
  .venv/bin/python bench/search_latency.py [--queries 10] [--k 50 100] [--threads 1 2] [--corpus dl19 wordnet]
"""
import argparse
import re
import statistics
import time

import psycopg

EMBEDDER, RERANKER = "bge-small-en-v1.5", "ms-marco-MiniLM-L-12-v2"

WORDNET_QUERIES = [
    "a large body of salt water", "device for measuring temperature", "feeling of great happiness",
    "a person who repairs cars", "the act of running away from danger", "a small domesticated feline",
    "a tool for cutting wood", "a building where people worship", "the season after summer",
    "a musical instrument with strings", "someone who writes poems", "a sudden loud noise",
    "the study of living things", "a place where books are kept", "an illness caused by a virus",
    "a vehicle that flies in the air", "money paid for work", "a feeling of fear or worry",
    "the highest point of a mountain", "a piece of furniture for sleeping", "to move quickly on foot",
    "a container for carrying liquids", "a child's toy that spins", "the killing of a person",
    "a sweet food made from sugar", "a very cold period of weather", "someone who teaches at a school",
    "to speak in a quiet voice", "a group of ships sailing together", "the light of the moon at night",
]

CORPORA = {
    # name: (database, table, text expression, index name)
    "dl19": ("embedrank_eval", "dl19_passages", "body", "dl19_passages_embedding_hnsw"),
    "wordnet": ("embedrank_demo", "glosses", "lemmas || ': ' || gloss", "glosses_embedding_hnsw"),
}

# README "Quick tour" statement; its "FROM arr, rerank(...) r JOIN docs d ON d.id = arr.ids[r.idx]" is rejected
# (the comma binds looser than JOIN, so ON cannot see arr), hence CROSS JOIN here.
ONE_STATEMENT = """
WITH q AS MATERIALIZED (SELECT embed(%(q)s, input_type => 'query') AS v),
cand AS (
    SELECT id, {text} AS txt, embedding <=> (SELECT v FROM q) AS distance
    FROM {table}
    ORDER BY embedding <=> (SELECT v FROM q)
    LIMIT {k}),
arr AS (SELECT array_agg(id ORDER BY distance) AS ids, array_agg(txt ORDER BY distance) AS txts FROM cand)
SELECT d.id, r.score
FROM arr CROSS JOIN rerank(%(q)s, arr.txts, top_n => {n}) r
JOIN {table} d ON d.id = arr.ids[r.idx]
ORDER BY r.score DESC
"""
EMBED = "SELECT embed(%(q)s, input_type => 'query')::text"
ANN = "SELECT id, {text}, embedding <=> %(v)s::vector FROM {table} ORDER BY embedding <=> %(v)s::vector LIMIT {k}"
RERANK = "SELECT idx, score FROM rerank(%(q)s, %(docs)s::text[], top_n => {n})"


def pct(xs, p):
    xs = sorted(xs)
    i = p * (len(xs) - 1)
    lo = int(i)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (i - lo)


def timed(conn, sql, params):
    t0 = time.perf_counter()
    rows = conn.execute(sql, params).fetchall()
    return (time.perf_counter() - t0) * 1000, rows


def check_plans(conn, table, text, index, k, n, qtext, vec):
    """EXPLAIN the ANN stage and the one-statement search; return notes on plans without the index."""
    notes = []
    for label, sql, params in (
        ("ANN stage", ANN.format(text=text, table=table, k=k), {"v": vec}),
        ("one statement", ONE_STATEMENT.format(text=text, table=table, k=k, n=n), {"q": qtext}),
    ):
        plan = "\n".join(r[0] for r in conn.execute("EXPLAIN " + sql, params))
        if f"Index Scan using {index}" not in plan:
            plan = re.sub(r"'\[[^']*\]'", "'[…]'", plan)
            notes.append(f"{table} k={k} {label}: default plan has no Index Scan using {index}:\n{plan}")
    return notes


def bench_corpus(name, args):
    db, table, text, index = CORPORA[name]
    conn = psycopg.connect(dbname=db, autocommit=True, prepare_threshold=None,
                           options="-c search_path=public,embedrank -c plan_cache_mode=force_custom_plan")
    if name == "dl19":
        queries = [r[0] for r in conn.execute(
            "SELECT body FROM dl19_queries q WHERE EXISTS (SELECT 1 FROM dl19_qrels r WHERE r.query_id = q.id)"
            " ORDER BY id")]
    else:
        queries = list(WORDNET_QUERIES)
    total = len(queries)
    if args.queries:
        queries = queries[:args.queries]
    rows = conn.execute(f"SELECT count(*) FROM {table} WHERE embedding IS NOT NULL").fetchone()[0]
    ef = conn.execute("SELECT current_setting('embedrank.hnsw_ef_search', true)").fetchone()[0]
    print(f"{name}: {rows} embedded rows in {db}.{table}, {len(queries)} of {total} queries, "
          f"hnsw_ef_search={ef}", flush=True)
    for m in (EMBEDDER, RERANKER):
        conn.execute("SELECT embedrank.load(%s)", (m,))
    warm_q = "warm-up query about nothing in particular"
    vec = conn.execute(EMBED, {"q": queries[0]}).fetchone()[0]
    notes, plan = [], "index (default plan)"
    for k in args.k:
        notes += check_plans(conn, table, text, index, k, args.n, queries[0], vec)
    if notes:
        # On a small table the planner may prefer Seq Scan + top-N sort (the HNSW scan's startup cost
        # estimate exceeds it). Time that plan's ANN stage, then force the index. jit = off as well:
        # enable_seqscan = off adds 1e10 to plan costs, which would otherwise trigger JIT compilation.
        for k in args.k:
            ann = ANN.format(text=text, table=table, k=k)
            ms = [timed(conn, ann, {"v": vec})[0] for _ in range(len(queries) + 1)][1:]
            notes.append(f"{name} k={k}: ANN stage with the default (non-index) plan: p50 {pct(ms, .5):.1f} ms")
        conn.execute("SET enable_seqscan = off")
        conn.execute("SET jit = off")
        plan = "index (forced: enable_seqscan=off, jit=off)"
        for k in args.k:
            still = check_plans(conn, table, text, index, k, args.n, queries[0], vec)
            notes += [f"STILL NO INDEX after enable_seqscan=off: {x}" for x in still]
    rtt = statistics.median(timed(conn, "SELECT 1", None)[0] for _ in range(50))
    results = {}  # (threads, k) -> {stage: [ms per query]}
    for threads in args.threads:
        conn.execute(f"SET embedrank.threads = {int(threads)}")
        conn.execute(ONE_STATEMENT.format(text=text, table=table, k=min(args.k), n=args.n), {"q": warm_q}).fetchall()
        for k in args.k:
            one = ONE_STATEMENT.format(text=text, table=table, k=k, n=args.n)
            ann = ANN.format(text=text, table=table, k=k)
            rr = RERANK.format(n=args.n)
            t = results[(threads, k)] = {"e2e": [], "embed": [], "ann": [], "rerank": []}
            for q in queries:
                ms, _ = timed(conn, one, {"q": q})
                t["e2e"].append(ms)
                ms, r = timed(conn, EMBED, {"q": q})
                t["embed"].append(ms)
                ms, cand = timed(conn, ann, {"v": r[0][0]})
                t["ann"].append(ms)
                if len(cand) != k:
                    notes.append(f"{name} k={k}: ANN returned {len(cand)} rows for {q!r}")
                ms, _ = timed(conn, rr, {"q": q, "docs": [c[1] for c in cand]})
                t["rerank"].append(ms)
            print(f"  threads={threads} k={k}: e2e p50 {pct(t['e2e'], .5):.0f} ms", flush=True)
    conn.close()
    return results, notes, rtt, len(queries), plan


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--corpus", nargs="+", default=["dl19", "wordnet"], choices=list(CORPORA))
    ap.add_argument("--queries", type=int, default=10, help="queries per corpus (0 = all)")
    ap.add_argument("--k", type=int, nargs="+", default=[50, 100])
    ap.add_argument("--n", type=int, default=10)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = ap.parse_args()
    started = time.monotonic()
    out, all_notes = [], []
    for c in args.corpus:
        res, notes, rtt, nq, plan = bench_corpus(c, args)
        out.append((c, res, rtt, nq))
        print(f"  {c} ANN plan: {plan}", flush=True)
        all_notes.append(f"{c}: ANN plan used for timing: {plan}")
        all_notes += notes
    print(f"\nOne-statement two-stage search, n = {args.n}; ms, client wall clock; p50/p95 over queries "
          f"(one run each). Stages timed separately in the same session.\n")
    print("| corpus | threads | k | queries | e2e p50 | e2e p95 | embed p50 | ANN p50 | rerank p50 | rerank p95 "
          "| stages p50 sum | rerank ms/pair |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c, res, rtt, nq in out:
        for (threads, k), t in res.items():
            p50 = {s: pct(v, .5) for s, v in t.items()}
            print(f"| {c} | {threads} | {k} | {nq} | {p50['e2e']:.0f} | {pct(t['e2e'], .95):.0f} "
                  f"| {p50['embed']:.1f} | {p50['ann']:.1f} | {p50['rerank']:.0f} | {pct(t['rerank'], .95):.0f} "
                  f"| {p50['embed'] + p50['ann'] + p50['rerank']:.0f} | {p50['rerank'] / k:.1f} |")
    if len(args.k) >= 2:
        k0, k1 = min(args.k), max(args.k)
        print(f"\nCost of k: median over queries of (time at k={k1} − time at k={k0}) / {k1 - k0}, ms per extra "
              "candidate\n")
        print("| corpus | threads | e2e ms/candidate | rerank stage ms/candidate | ANN stage ms/candidate |")
        print("|---|---:|---:|---:|---:|")
        for c, res, rtt, nq in out:
            for threads in args.threads:
                a, b = res[(threads, k0)], res[(threads, k1)]
                d = {s: statistics.median((y - x) / (k1 - k0) for x, y in zip(a[s], b[s])) for s in a}
                print(f"| {c} | {threads} | {d['e2e']:.1f} | {d['rerank']:.1f} | {d['ann']:.3f} |")
    print("\nround trip of SELECT 1 (p50): " + ", ".join(f"{c} {rtt:.2f} ms" for c, _, rtt, _ in out))
    print(f"total benchmark time: {time.monotonic() - started:.0f} s")
    if all_notes:
        print("\nNOTES:\n" + "\n".join(all_notes))
    else:
        print("plans: every ANN stage and one-statement search uses an Index Scan on the HNSW index by default")


if __name__ == "__main__":
    main()
