"""Needles in long documents: what chunked registration finds that one embedding per document misses.

Long documents made of real passages (TREC DL 2019 subset): for each judged query, one document of
`--passages` passages unrelated to it, with one of its highly relevant passages (grade >= 2) placed
at `--late` (past the 512 tokens an embedding reads) or at position 1 (a control the model does
read); plus as many distractor documents of unrelated passages. Each layout is registered twice:
one embedding per document (`register(t, 'body')`), and chunked (`register(t, 'body',
chunk_tokens => 256, chunk_overlap => 32)`). Measured per query: whether its document is in the
first stage's top 10 (documents by their best chunk when chunked) and in search()'s top 10 after the
cross-encoder (k 20); over all queries, recall@10 and MRR@10 of the needle document.

Run (the extension installed, a server at PGHOST/PGPORT -- scripts/demo.sh starts one):
  .venv/bin/python bench/needle_dl19.py [--db embedrank_needle] [--passages 16] [--late 13]
"""
import argparse
import json
import os
import random
import statistics
import time
from collections import defaultdict

import psycopg
from tokenizers import Tokenizer

from shared_data import shared_dir

DATA = shared_dir("eval/trec-dl19-subset")
TOKENIZER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                         ".cache/models/bge-small-en-v1.5/tokenizer.json")


def read_data():
    passages = {}
    for line in (DATA / "corpus.jsonl").open():
        p = json.loads(line)
        passages[p["_id"]] = p["text"]
    queries = {}
    for line in (DATA / "queries.jsonl").open():
        q = json.loads(line)
        queries[q["_id"]] = q["text"]
    qrels = defaultdict(dict)
    for line in (DATA / "qrels.tsv").read_text().splitlines():
        q, p, g = line.split("\t")
        qrels[q][p] = int(g)
    return passages, queries, qrels


def documents(passages, queries, qrels, n_passages, at, seed):
    """(doc id, body) of every document, and the needle document of each query."""
    rng = random.Random(seed)
    judged = {p for rels in qrels.values() for p in rels}
    filler = sorted(p for p in passages if p not in judged)
    docs, needle_of = [], {}
    for q in sorted(queries):
        needles = sorted(p for p, g in qrels.get(q, {}).items() if g >= 2 and p in passages)
        if not needles:
            continue
        body = rng.sample(filler, n_passages - 1)
        body.insert(at - 1, needles[0])
        needle_of[q] = len(docs) + 1
        docs.append("\n\n".join(passages[p] for p in body))
    for _ in range(len(needle_of)):  # as many distractors
        docs.append("\n\n".join(passages[p] for p in rng.sample(filler, n_passages)))
    return list(enumerate(docs, 1)), needle_of


def load(conn, table, docs, chunked):
    conn.execute(f"DROP TABLE IF EXISTS {table}_chunks, {table}")
    conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, body text)")
    with conn.cursor().copy(f"COPY {table} (id, body) FROM STDIN") as cp:
        for row in docs:
            cp.write_row(row)
    opts = ", chunk_tokens => 256, chunk_overlap => 32" if chunked else ""
    conn.execute(f"SELECT embedrank.register('{table}', 'body'{opts})")
    t0 = time.monotonic()
    conn.execute(f"CALL embedrank.backfill('{table}')")
    return time.monotonic() - t0


def measure(conn, table, queries, needle_of):
    first_hits, first_rr, final_hits, final_rr = 0, 0.0, 0, 0.0
    for q, doc in needle_of.items():
        first = [int(r[0]) for r in conn.execute(
            f"WITH qv AS MATERIALIZED (SELECT embedrank.embed(%s, input_type => 'query') AS v) "
            + conn.execute("SELECT embedrank.first_stage_sql(%s)", (table,)).fetchone()[0].replace("$2", "10"),
            (queries[q],))]
        final = [int(r[0]) for r in conn.execute(
            "SELECT key FROM embedrank.search(%s, %s, k => 20, n => 10)", (table, queries[q]))]
        if doc in first:
            first_hits += 1
            first_rr += 1 / (first.index(doc) + 1)
        if doc in final:
            final_hits += 1
            final_rr += 1 / (final.index(doc) + 1)
    n = len(needle_of)
    return first_hits / n, first_rr / n, final_hits / n, final_rr / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_needle")
    ap.add_argument("--passages", type=int, default=16)
    ap.add_argument("--late", type=int, default=13)
    args = ap.parse_args()
    passages, queries, qrels = read_data()
    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.db,)).fetchone():
            c.execute(f'CREATE DATABASE "{args.db}"')
    conn = psycopg.connect(dbname=args.db, autocommit=True, prepare_threshold=None)
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_embedrank")
    tok = Tokenizer.from_file(TOKENIZER)
    rows = []
    for position in (1, args.late):
        docs, needle_of = documents(passages, queries, qrels, args.passages, position, seed=7)
        tokens = statistics.median(len(e.ids) for e in tok.encode_batch([b for _, b in docs]))
        before = statistics.median(
            len(e.ids) for e in tok.encode_batch(["\n\n".join(b.split("\n\n")[:position - 1])
                                                  for _, b in docs[:len(needle_of)]]))
        print(f"needle at passage {position}: documents of median {tokens} tokens, needle after median {before}",
              flush=True)
        for chunked in (False, True):
            table = f"needle_{position}_{'chunked' if chunked else 'whole'}"
            took = load(conn, table, docs, chunked)
            r = measure(conn, table, queries, needle_of)
            label = "chunked 256/32" if chunked else "one embedding per document"
            rows.append((position, label, len(docs), took) + r)
            print(f"  needle at passage {position}, {label}: first stage recall@10 {r[0]:.3f},"
                  f" after rerank {r[2]:.3f} ({took:.0f} s to embed)", flush=True)
    print(f"\n{len(needle_of)} judged DL19 queries; documents of {args.passages} real passages"
          f" (median {tokens} tokens; needle = one highly relevant passage); as many distractors;"
          " bge-small-en-v1.5 (reads 512 tokens), ms-marco-MiniLM-L-12-v2 reranking k 20\n")
    print("| needle at passage | registration | first stage recall@10 | MRR@10 | after rerank recall@10 | MRR@10 | embed time |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    for position, label, n, took, fr, fm, rr, rm in rows:
        print(f"| {position} | {label} | {fr:.3f} | {fm:.3f} | {rr:.3f} | {rm:.3f} | {took:.0f} s |")


if __name__ == "__main__":
    main()
