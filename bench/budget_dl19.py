"""What a latency budget buys: nDCG@10 on the TREC DL 2019 subset against time per query, for
(1) a fixed number k of the first stage's top 100 reranked and (2) the top 100 reranked under
`budget_ms` (scored in first-stage order until the budget is spent). In both, what is not reranked
follows in first-stage order, so every query gets 10 results.

Uses database embedrank_eval as bench/eval_dl19.py loads it (loaded here if missing). The first stage is
the exact cosine top 100 of bge-small embeddings (as eval_dl19.py's dense pipelines); every point is
one SQL statement per query, timed end to end from the client. Writes the table to stdout and the
plot to docs/budget_dl19.svg (a plain SVG written here: no plotting library needed).

Run (the extension installed, a server at PGHOST/PGPORT — scripts/eval.sh starts the demo one):
  .venv/bin/python bench/budget_dl19.py [--db embedrank_eval] [--threads 2] [--svg docs/budget_dl19.svg]
"""
import argparse
import os
import statistics
import time

from eval_dl19 import connect_loaded, judged_queries, ndcg10

FIRST = """
WITH qv AS MATERIALIZED (SELECT embedrank.embed(%(q)s, input_type => 'query') AS v),
cand AS (SELECT row_number() OVER (ORDER BY d) AS r, id, body FROM (
    SELECT id, body, embedding <=> (SELECT v FROM qv) AS d FROM dl19_passages
    ORDER BY embedding <=> (SELECT v FROM qv) LIMIT %(k)s) f)
"""
RERANKED = FIRST + """
SELECT cand.id, rr.score IS NOT NULL
FROM (SELECT array_agg(body ORDER BY r) AS docs FROM cand) a,
     embedrank.rerank(%(q)s, a.docs, top_n => 10, budget_ms => %(budget)s) rr
JOIN cand ON cand.r = rr.idx
ORDER BY rr.score DESC NULLS LAST, cand.r
"""
FIRST_ONLY = FIRST + "SELECT id, false FROM cand ORDER BY r LIMIT 10"
# The first stage's top k reranked, the rest of its top 10 after them in first-stage order (so
# k < 10 still returns 10 rows).
FIXED = FIRST + """
, rr AS (SELECT rr.idx, rr.score FROM (SELECT array_agg(body ORDER BY r) AS docs FROM cand) a,
         embedrank.rerank(%(q)s, a.docs[1:%(n)s], top_n => 10) rr)
SELECT cand.id, rr.score IS NOT NULL FROM cand LEFT JOIN rr ON cand.r = rr.idx
ORDER BY rr.score DESC NULLS LAST, cand.r LIMIT 10
"""

FIXED_K = [5, 10, 20, 30, 50, 100]
BUDGETS = [100, 200, 300, 500, 750, 1000, 1500, 2000, 3000]


def run(conn, queries, qrels, sql, params):
    """Mean nDCG@10, p50 and mean ms per query, mean candidates reranked."""
    nd, ms, scored = [], [], []
    for qid, text in queries:
        t0 = time.monotonic()
        rows = conn.execute(sql, {"q": text, **params}).fetchall()
        ms.append((time.monotonic() - t0) * 1000)
        nd.append(ndcg10([r[0] for r in rows], qrels[qid]))
        scored.append(sum(1 for r in rows if r[1]))
    return statistics.mean(nd), statistics.median(ms), statistics.mean(ms)


def svg(fixed, budget, first_only, path):
    """Two curves, nDCG@10 against mean ms per query; points labelled with k or the budget."""
    w, h, left, right, top, bottom = 720, 440, 70, 30, 40, 60
    pts = fixed + budget + [first_only]
    xmax = max(p[3] for p in pts) * 1.05
    ymin = min(p[1] for p in pts) - 0.02
    ymax = max(p[1] for p in pts) + 0.02
    X = lambda x: left + (w - left - right) * x / xmax  # noqa: E731
    Y = lambda y: top + (h - top - bottom) * (1 - (y - ymin) / (ymax - ymin))  # noqa: E731
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="12">',
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2}" y="20" text-anchor="middle" font-size="14">nDCG@10 on TREC DL19 (5,000 passages) against time per query</text>',
           f'<line x1="{left}" y1="{h - bottom}" x2="{w - right}" y2="{h - bottom}" stroke="black"/>',
           f'<line x1="{left}" y1="{top}" x2="{left}" y2="{h - bottom}" stroke="black"/>',
           f'<text x="{w / 2}" y="{h - 15}" text-anchor="middle">mean ms per query (embed + first stage + rerank), 2 cores</text>',
           f'<text x="18" y="{h / 2}" text-anchor="middle" transform="rotate(-90 18 {h / 2})">nDCG@10</text>']
    step = 500 if xmax > 2000 else 250
    for t in range(0, int(xmax) + 1, step):
        out.append(f'<line x1="{X(t):.1f}" y1="{h - bottom}" x2="{X(t):.1f}" y2="{h - bottom + 5}" stroke="black"/>')
        out.append(f'<text x="{X(t):.1f}" y="{h - bottom + 18}" text-anchor="middle">{t}</text>')
    y = round(ymin, 2)
    while y <= ymax:
        out.append(f'<line x1="{left - 5}" y1="{Y(y):.1f}" x2="{w - right}" y2="{Y(y):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{left - 8}" y="{Y(y) + 4:.1f}" text-anchor="end">{y:.2f}</text>')
        y = round(y + 0.05, 2)
    for series, colour, name in ((fixed, "#1f77b4", "fixed k (all k reranked)"),
                                 (budget, "#d62728", "top 100 under budget_ms")):
        line = " ".join(f"{X(p[3]):.1f},{Y(p[1]):.1f}" for p in [first_only] + series)
        out.append(f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for p in series:
            out.append(f'<circle cx="{X(p[3]):.1f}" cy="{Y(p[1]):.1f}" r="3.5" fill="{colour}"/>')
            out.append(f'<text x="{X(p[3]) + 5:.1f}" y="{Y(p[1]) + (14 if colour == "#d62728" else -6):.1f}" fill="{colour}" font-size="10">{p[0]}</text>')
        ly = top + 15 + (0 if colour == "#1f77b4" else 18)
        out.append(f'<line x1="{w - 250}" y1="{ly}" x2="{w - 225}" y2="{ly}" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{w - 220}" y="{ly + 4}">{name}</text>')
    out.append(f'<circle cx="{X(first_only[3]):.1f}" cy="{Y(first_only[1]):.1f}" r="4" fill="black"/>')
    out.append(f'<text x="{X(first_only[3]) + 6:.1f}" y="{Y(first_only[1]) + 4:.1f}" font-size="10">no rerank</text>')
    out.append("</svg>")
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_eval")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--svg", default=os.path.join(os.path.dirname(__file__), "..", "docs", "budget_dl19.svg"))
    args = ap.parse_args()
    conn = connect_loaded(args.db, args.threads)
    qrels, queries = judged_queries(conn)
    # Warm the models and the table.
    conn.execute(RERANKED, {"q": queries[0][1], "k": 10, "budget": None}).fetchall()
    nd, p50, mean = run(conn, queries, qrels, FIRST_ONLY, {"k": 100})
    first_only = ("k 0", nd, p50, mean)
    print(f"  first stage only: nDCG@10 {nd:.3f}, {mean:.0f} ms", flush=True)
    fixed = []
    for k in FIXED_K:
        nd, p50, mean = run(conn, queries, qrels, FIXED, {"k": 100, "n": k})
        fixed.append((f"k {k}", nd, p50, mean))
        print(f"  k {k}: nDCG@10 {nd:.3f}, {mean:.0f} ms", flush=True)
    budget = []
    for b in BUDGETS:
        nd, p50, mean = run(conn, queries, qrels, RERANKED, {"k": 100, "budget": b})
        budget.append((f"{b} ms", nd, p50, mean))
        print(f"  budget {b} ms: nDCG@10 {nd:.3f}, {mean:.0f} ms", flush=True)
    svg(fixed, budget, first_only, args.svg)
    models = conn.execute("SELECT current_setting('embedrank.embedding_model'), current_setting('embedrank.rerank_model')").fetchone()
    print(f"\nTREC DL19 subset: {len(queries)} judged queries, 5000 passages, {models[0]}, {models[1]};"
          f" embedrank.threads = {args.threads}; plot: {os.path.normpath(args.svg)}\n")
    print("| reranked | nDCG@10 | p50 ms/query | mean ms/query |")
    print("|---|---:|---:|---:|")
    for label, nd, p50, mean in [first_only] + fixed + budget:
        name = {"k 0": "none (first stage top 10)"}.get(label, label if label.startswith("k ") else f"top 100, budget_ms {label[:-3]}")
        print(f"| {name} | {nd:.3f} | {p50:.0f} | {mean:.0f} |")


if __name__ == "__main__":
    main()
