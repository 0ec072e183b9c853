#!/usr/bin/env python3
"""Generate .cache/parity/fixture.json: reference outputs of ONNX Runtime on THIS machine.

The int8 models' outputs depend on the CPU (ONNX Runtime picks different int8 kernels on AVX2 and on
AVX-512 VNNI machines), so the fixture is never committed: scripts/test.sh regenerates it before the tests
that compare with it (crates/embedrank-infer/tests/parity.rs and models.rs, the in-server parity test, the
client tests), on the machine that runs them.

An independent implementation of the same pipeline with Python onnxruntime + tokenizers + numpy:
tokenizer padding off, truncation at the model's max_length (longest-first for pairs), one input per run
(batch of 1, so no padding at all), CLS or attention-mask mean pooling, L2 normalisation, query/document
prefixes from embedrank.json. The Rust test crates/embedrank-infer/tests/parity.rs compares against it
(cosine >= 0.9999 for embeddings, |delta logit| <= 1e-3 for reranking).

Usage (from the workspace root, with the models and runtime fetched by the setup script):
    python3 -m venv .venv && .venv/bin/pip install -r tests/parity/requirements.txt
    .venv/bin/python tests/parity/make_fixture.py [--models .cache/models] [--out .cache/parity/fixture.json]
"""

import argparse
import json
import pathlib
import sys

import numpy as np
import onnxruntime as ort
import tokenizers

ROOT = pathlib.Path(__file__).resolve().parents[2]

LONG = (
    "PostgreSQL is a powerful, open source object-relational database system with over thirty-five years of "
    "active development that has earned it a strong reputation for reliability, feature robustness, and "
    "performance. "
) * 24  # well over 512 tokens: exercises truncation

TEXTS = [
    "",
    "a",
    "How many people live in Berlin?",
    "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
    "The cat sat on the mat.",
    "Crème brûlée, naïve café, jalapeño — Zürich, São Paulo, Ørsted, 東京, Ελληνικά, Привет мир!",
    "UPPER case and lower CASE, punctuation!!! ??? ... and numbers 123456789 3.14159",
    "   leading and trailing whitespace\tand\ttabs\nand newlines   ",
    "Emoji 🙂🚀 and symbols ©®™ ∑∫√ should not break tokenization.",
    "Postgres extensions can run transformer inference inside the database backend process.",
    "word " * 120,
    LONG,
]

QUERY = "How many people live in Berlin?"
PAIRS = [
    (QUERY, "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers."),
    (QUERY, "New York City is famous for the Metropolitan Museum of Art."),
    (QUERY, ""),
    ("", "Berlin is the capital and largest city of Germany."),
    (QUERY, LONG),
    ("Wie viele Menschen leben in München?", "München hat rund 1,5 Millionen Einwohner — Größe: 310,7 km²."),
    ("what is a database index", "An index is a data structure that speeds up lookups at the cost of writes."),
    (LONG, "Berlin is the capital and largest city of Germany."),
]

EMBEDDING_RUNS = [
    ("bge-small-en-v1.5", "document"),
    ("bge-small-en-v1.5", "query"),
    ("all-MiniLM-L6-v2", "document"),
]
RERANKER = "ms-marco-MiniLM-L-12-v2"


def load(models: pathlib.Path, name: str):
    """Session (1 intra-op thread, default optimisations), tokenizer (no padding, truncation) and config."""
    d = models / name
    config = json.loads((d / "embedrank.json").read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(d / "model.onnx"), options, providers=["CPUExecutionProvider"])
    tok = tokenizers.Tokenizer.from_file(str(d / "tokenizer.json"))
    tok.no_padding()
    tok.enable_truncation(config.get("max_length", 512))  # longest_first, stride 0, right
    return session, tok, config


def feed(session, enc):
    """Model inputs for one encoding; only the inputs the graph declares."""
    arrays = {
        "input_ids": np.array([enc.ids], dtype=np.int64),
        "attention_mask": np.array([enc.attention_mask], dtype=np.int64),
        "token_type_ids": np.array([enc.type_ids], dtype=np.int64),
    }
    return {i.name: arrays[i.name] for i in session.get_inputs()}


def embed(session, tok, config, text: str, input_type: str):
    prefix = config.get(f"{input_type}_prefix", "")
    enc = tok.encode(prefix + text)
    hidden = session.run(["last_hidden_state"], feed(session, enc))[0][0]  # [seq, dims]
    if config.get("pooling", "mean") == "cls":
        vec = hidden[0]
    else:
        mask = np.array(enc.attention_mask, dtype=np.float32)[:, None]
        vec = (hidden * mask).sum(axis=0) / max(mask.sum(), 1.0)
    if config.get("normalize", True):
        norm = np.linalg.norm(vec)
        if norm > 0:
            vec = vec / norm
    return len(enc.ids), vec


def rerank(session, tok, config, query: str, doc: str):
    enc = tok.encode(config.get("query_prefix", "") + query, config.get("document_prefix", "") + doc)
    logits = session.run(["logits"], feed(session, enc))[0]
    return len(enc.ids), float(logits.reshape(-1)[0])


def dump(fixture: dict) -> str:
    """JSON with one embedding / rerank entry per line (reviewable diffs, modest size)."""
    def one(v):
        return json.dumps(v, ensure_ascii=False)

    lines = ["{"]
    for key in ("_generated", "cpu_has_avx512_vnni", "versions"):
        lines.append(f" {one(key)}: {one(fixture[key])},")
    for key, last in (("embeddings", False), ("rerank", True)):
        lines.append(f" {one(key)}: [")
        lines.append(",\n".join("  " + one(e) for e in fixture[key]))
        lines.append(" ]" + ("" if last else ","))
    lines.append("}")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", type=pathlib.Path, default=ROOT / ".cache" / "models")
    ap.add_argument("--out", type=pathlib.Path, default=ROOT / ".cache" / "parity" / "fixture.json")
    args = ap.parse_args()

    fixture = {
        "_generated": "by tests/parity/make_fixture.py on this machine at test time; valid only for this CPU",
        "cpu_has_avx512_vnni": "avx512_vnni" in pathlib.Path("/proc/cpuinfo").read_text(),
        "versions": {
            "onnxruntime": ort.__version__,
            "tokenizers": tokenizers.__version__,
            "numpy": np.__version__,
        },
        "embeddings": [],
        "rerank": [],
    }
    for name, input_type in EMBEDDING_RUNS:
        session, tok, config = load(args.models, name)
        for text in TEXTS:
            n_tokens, vec = embed(session, tok, config, text, input_type)
            fixture["embeddings"].append({
                "model": name,
                "input_type": input_type,
                "text": text,
                "tokens": n_tokens,
                "vector": [float(f"{x:.7g}") for x in vec.tolist()],
            })
    session, tok, config = load(args.models, RERANKER)
    for query, doc in PAIRS:
        n_tokens, logit = rerank(session, tok, config, query, doc)
        fixture["rerank"].append({"model": RERANKER, "query": query, "doc": doc, "tokens": n_tokens, "logit": logit})

    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text(dump(fixture))
    tmp.chmod(0o644)  # the in-server test reads it as the postgres user
    tmp.replace(args.out)
    print(f"wrote {args.out}: {len(fixture['embeddings'])} embeddings, {len(fixture['rerank'])} rerank pairs")
    for r in fixture["rerank"]:
        print(f"  {r['logit']:+9.4f}  ({r['tokens']} tokens) {r['query'][:30]!r} / {r['doc'][:40]!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
