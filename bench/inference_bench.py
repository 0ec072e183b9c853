"""In-database inference vs raw Python onnxruntime, side by side, same model files and settings.

Embedding throughput (texts/s) for batches of 1, 32 and 256 DL19 passages through
`SELECT embedrank.embed($1::text[])` (psycopg 3, binary results) vs onnxruntime + tokenizers in this
process, configured like the extension (crates/embedrank-infer): tokenizer padding off, truncation at the
model's max_length (longest-first), length-sorted batches padded to their longest member (at most
max_batch sequences and 1024 padded tokens; max_batch = 1 for the dynamically quantized bge and
reranker graphs), intra_op_num_threads = N, inter_op 1, sequential execution, ORT_ENABLE_ALL, spinning off.
Also: rerank latency for 100 passages of one query, parity of the results, cold vs warm first call,
and backend RSS after loading both default models.

Run: scripts/bench_inference.sh   (uses the demo server; or set PGHOST/PGPORT/PGUSER and run
  .venv/bin/python bench/inference_bench.py [--threads 1 2] [--db embedrank_bench])
"""
import argparse
import json
import os
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import psycopg
from pgvector.psycopg import register_vector
from tokenizers import Tokenizer

REPO = Path(__file__).resolve().parent.parent
MODELS = REPO / ".cache" / "models"
from shared_data import shared_dir  # bench/ is on the import path when the script runs

DL19 = shared_dir("eval/trec-dl19-subset")
EMBED_MODEL, RERANK_MODEL = "bge-small-en-v1.5", "ms-marco-MiniLM-L-12-v2"
MAX_BATCH_TOKENS = 1024


class RawModel:
    """The extension's inference path, re-done with the Python packages."""

    def __init__(self, name, threads):
        d = MODELS / name
        self.cfg = json.loads((d / "embedrank.json").read_text())
        self.tok = Tokenizer.from_file(str(d / "tokenizer.json"))
        self.pad_id = self.tok.padding["pad_id"] if self.tok.padding else (self.tok.token_to_id("[PAD]") or 0)
        self.tok.no_padding()
        self.tok.enable_truncation(self.cfg.get("max_length", 512), stride=0, strategy="longest_first",
                                   direction="right")
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        raw = (d / "model.onnx").read_bytes()
        self.sess = ort.InferenceSession(raw, so, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.sess.get_inputs()]
        dynamic = b"DynamicQuantizeLinear" in raw  # what crates/embedrank-infer/src/graph.rs detects
        self.max_batch = self.cfg.get("max_batch") or (1 if dynamic else 32)
        self.role = self.cfg["role"]
        self.out = "last_hidden_state" if self.role == "embedding" else "logits"
        if self.out not in [o.name for o in self.sess.get_outputs()]:
            self.out = self.sess.get_outputs()[0].name

    def _run_all(self, encs):
        """Length-sorted batches (stable), padded to their longest member; results in input order."""
        order = sorted(range(len(encs)), key=lambda i: len(encs[i].ids))
        batches, cur, cur_len = [], [], 0
        for i in order:
            n = max(len(encs[i].ids), 1)
            if cur and not (len(cur) < self.max_batch and (len(cur) + 1) * n <= MAX_BATCH_TOKENS):
                batches.append((cur, cur_len))
                cur = []
            cur.append(i)
            cur_len = n
        if cur:
            batches.append((cur, cur_len))
        results = [None] * len(encs)
        for idx, seq in batches:
            ids = np.full((len(idx), seq), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(idx), seq), dtype=np.int64)
            types = np.zeros((len(idx), seq), dtype=np.int64)
            for r, i in enumerate(idx):
                e = encs[i]
                ids[r, : len(e.ids)] = e.ids
                mask[r, : len(e.ids)] = 1
                types[r, : len(e.ids)] = e.type_ids
            feed = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
            out = self.sess.run([self.out], {k: feed[k] for k in self.inputs})[0]
            for r, i in enumerate(idx):
                results[i] = (out[r], mask[r])
        return results

    def embed(self, texts, query=False):
        prefix = self.cfg.get("query_prefix" if query else "document_prefix", "")
        encs = self.tok.encode_batch([prefix + t for t in texts])
        vecs = []
        for hidden, mask in self._run_all(encs):
            v = hidden[0] if self.cfg.get("pooling", "mean") == "cls" else (
                hidden[mask == 1].sum(0) / max(mask.sum(), 1))
            vecs.append(v / np.linalg.norm(v))
        return np.stack(vecs).astype(np.float32)

    def rerank(self, query, docs):
        encs = self.tok.encode_batch([(query, d) for d in docs])
        logits = np.array([float(np.asarray(o).reshape(-1)[0]) for o, _ in self._run_all(encs)])
        return 1 / (1 + np.exp(-logits))


def rss_kb(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def connect(db):
    c = psycopg.connect(dbname=db, autocommit=True, options="-c search_path=public,embedrank")
    register_vector(c)
    return c


def timed(fn, reps=1):
    best = float("inf")
    for _ in range(reps):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="embedrank_bench")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--reps", type=int, default=1, help="repetitions per measurement (best is kept)")
    args = ap.parse_args()

    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (args.db,)).fetchone():
            c.execute(f'CREATE DATABASE "{args.db}"')
    with psycopg.connect(dbname=args.db, autocommit=True) as c:
        c.execute("CREATE EXTENSION IF NOT EXISTS pg_embedrank")

    corpus = [json.loads(l) for l in (DL19 / "corpus.jsonl").open()]
    passages = [p["text"] for p in corpus]
    queries = {q["_id"]: q["text"] for q in map(json.loads, (DL19 / "queries.jsonl").open())}
    qrels = [l.split("\t") for l in (DL19 / "qrels.tsv").read_text().splitlines()]
    qid = qrels[0][0]
    judged = list(dict.fromkeys(p for q, p, _ in qrels if q == qid))
    by_id = {p["_id"]: p["text"] for p in corpus}
    rr_docs = ([by_id[p] for p in judged] + passages)[:100]
    rr_query = queries[qid]
    sizes = {1: 32, 32: 64, 256: 256}  # batch size -> texts processed (batch 1: 32 calls)

    # --- cold vs warm, RSS -------------------------------------------------------------------------
    cold = {}
    t = time.perf_counter()
    conn = connect(args.db)
    cold["connect"] = time.perf_counter() - t
    pid = conn.info.backend_pid
    conn.execute("SET embedrank.threads = 1")
    rss0 = rss_kb(pid)
    cold["first embed (ORT init + bge load)"], _ = timed(lambda: conn.execute("SELECT embedrank.embed('hello world')").fetchone())
    cold["warm embed (same text size)"], _ = timed(lambda: conn.execute("SELECT embedrank.embed('hello again')").fetchone())
    rss1 = rss_kb(pid)
    cold["first rerank (reranker load)"], _ = timed(lambda: conn.execute("SELECT * FROM embedrank.rerank('q', ARRAY['a doc'])").fetchall())
    cold["warm rerank (1 pair)"], _ = timed(lambda: conn.execute("SELECT * FROM embedrank.rerank('q', ARRAY['b doc'])").fetchall())
    rss2 = rss_kb(pid)
    load_ms = dict(conn.execute("SELECT name, load_ms FROM embedrank.models() WHERE loaded").fetchall())
    conn.close()

    # --- throughput -------------------------------------------------------------------------------
    rows = []
    parity = []
    for threads in args.threads:
        conn = connect(args.db)
        conn.execute(f"SET embedrank.threads = {threads}")
        conn.execute("SELECT embedrank.load(%s), embedrank.load(%s)", (EMBED_MODEL, RERANK_MODEL))
        conn.execute("SELECT embedrank.embed(%s::text[])", (passages[:4],), binary=True).fetchone()
        raw_e, raw_r = RawModel(EMBED_MODEL, threads), RawModel(RERANK_MODEL, threads)
        raw_e.embed(passages[:4])
        for bs, total in sizes.items():
            chunks = [passages[i:i + bs] for i in range(0, total, bs)]

            def sql():
                return [v for ch in chunks for v in
                        conn.execute("SELECT embedrank.embed(%s::text[])", (ch,), binary=True).fetchone()[0]]

            def raw():
                return [v for ch in chunks for v in raw_e.embed(ch)]

            ts, vs = timed(sql, args.reps)
            tr, vr = timed(raw, args.reps)
            parity.append(float(np.max(np.abs(np.stack(vs) - np.stack(vr)))))
            rows.append((f"embed, batch {bs} ({total} texts)", threads, total / ts, total / tr, "texts/s", ts / tr))
        conn.execute("SELECT * FROM embedrank.rerank(%s, %s::text[])", (rr_query, rr_docs[:2])).fetchall()
        ts, srows = timed(lambda: conn.execute("SELECT idx, score FROM embedrank.rerank(%s, %s::text[])",
                                               (rr_query, rr_docs)).fetchall(), args.reps)
        tr, rscores = timed(lambda: raw_r.rerank(rr_query, rr_docs), args.reps)
        sql_scores = np.zeros(len(rr_docs))
        for i, s in srows:
            sql_scores[i - 1] = s
        parity.append(float(np.max(np.abs(sql_scores - rscores))))
        rows.append(("rerank 100 passages, 1 query", threads, ts * 1000, tr * 1000, "ms", ts / tr))
        conn.close()

    print(f"\nmodels: {EMBED_MODEL} (embedding), {RERANK_MODEL} (reranker); DL19 passages; "
          f"ORT {ort.__version__}; {os.cpu_count()} CPUs\n")
    print("| measurement | threads | SQL (embedrank) | raw Python ORT | unit | SQL/raw time |")
    print("|---|---:|---:|---:|---|---:|")
    for name, th, s, r, unit, ratio in rows:
        print(f"| {name} | {th} | {s:.1f} | {r:.1f} | {unit} | {ratio:.2f} |")
    print(f"\nparity SQL vs raw: max |Δ| over embeddings and rerank scores = {max(parity):.2e}")
    print("\n| cold start (new connection, embedrank.threads = 1) | ms |")
    print("|---|---:|")
    for k, v in cold.items():
        print(f"| {k} | {v * 1000:.1f} |")
    for k, v in load_ms.items():
        print(f"| load_ms reported by models(): {k} | {v:.1f} |")
    print("\n| backend RSS (VmRSS) | MB |")
    print("|---|---:|")
    print(f"| fresh backend | {rss0 / 1024:.1f} |")
    print(f"| after loading {EMBED_MODEL} | {rss1 / 1024:.1f} |")
    print(f"| after loading {RERANK_MODEL} too | {rss2 / 1024:.1f} |")


if __name__ == "__main__":
    main()
