"""Fuzzing pg_embedrank through SQL: malformed and extreme inputs, one statement each, one oracle.

Every input is a statement (or a COPY) sent over a real connection. The oracle:
  * the statement succeeds, or fails with an ERROR whose SQLSTATE class is not XX (internal error) —
    except where a case says an XX code is the documented answer (pgvector's XX000 for a malformed
    aggregate state passed to vector_accum/vector_combine/vector_avg);
  * the ERROR carries a message, and the message does not look like a Rust panic ("panicked",
    "unwrap", "index out of bounds", "called `Option::…", …) unless the input itself contained it;
  * no statement takes longer than the statement_timeout (a 57014 is a failure: every input is small),
    and no case hangs past HANG_S (a watchdog reports it and shuts its connection down);
  * the connection is never lost, pg_postmaster_start_time() never changes (no crash-restart) and the
    server log gains no "terminated by signal" / PANIC line.

Inputs (weighted families, all drawn from one seeded random.Random, so a seed replays the same inputs):
vector text literals (exponents, NaN/Infinity, huge/tiny, whitespace, unicode, truncated, 100k chars),
typmods `vector(n)` with bad n, binary input (vector_recv through binary parameters with a raw-bytes
dumper and through COPY BINARY: bad dims, reserved field, truncated, trailing bytes), text COPY, casts
from real[]/double precision[]/integer[]/numeric[] (NULLs, multi-dimensional, empty, huge, odd lower
bounds, binary arrays with bad headers), casts back, operators and functions on mismatched or extreme
vectors, aggregates and their state functions, text and text[] inputs with NULLs/NUL/invalid UTF-8 (sent
as raw bytes: the server must refuse them before our code sees them), model names (path traversal,
long, unicode, wrong role), embed/rerank/search/register arguments, HNSW index options and DDL, index
scans with extreme query vectors on a graph holding extreme vectors, inserts/deletes/VACUUM of that
graph, and settings (SET embedrank.* = …).

Inference is bounded: the generator knows which inputs reach a model (valid model, non-NULL texts,
valid input_type) and spends at most --max-inference texts on them; every other inference input fails
validation first or carries only NULLs.

--check-index adds differential inputs: an index scan (iterative, unbounded) and an exact scan of the same
query must return the same rows, over the rows pgvector would index.

usage: python bench/fuzz.py [--count N] [--seed S] [--workers W] [--check-index] [--dbname DB] [--json FILE]
       (connection from PGHOST/PGPORT/PGUSER; a fresh database fuzz_<random> is created and dropped
       unless --dbname names one to use)
"""
import argparse
import collections
import json
import math
import os
import random
import socket
import struct
import sys
import threading
import time
import uuid

import psycopg
from psycopg import pq
from psycopg.adapt import Dumper

SEARCH_PATH = "-c search_path=public,embedrank"
STATEMENT_TIMEOUT_MS = 20000
# Messages that mean a Rust panic or an internal detail leaked into an ERROR.
BAD_MESSAGE_PATTERNS = ("panicked", "unwrap", "index out of bounds: the len", "called `option", "called `result",
                        "rust_backtrace", "attempt to ", "thread '", "unreachable", "not yet implemented",
                        "slice index", "byte index", "overflow when", "capacity overflow", ".rs:")
# Server log lines that mean a backend died.
BAD_LOG_PATTERNS = ("terminated by signal", "PANIC:", "was terminated", "server process (PID")

EMBEDDERS = ("bge-small-en-v1.5", "all-MiniLM-L6-v2")
RERANKER = "ms-marco-MiniLM-L-12-v2"
DIMS = 3                      # dimensions of the fuzz tables' vector columns
COPY_TEXT_MAX = 32 * 1024     # bytes of one text COPY (see copy_text)
COPY_BINARY_MAX = 128 * 1024  # bytes of one binary COPY (its errors echo nothing)
HANG_S = 120                  # a case running longer is a hang: reported, its backend terminated


# --------------------------------------------------------------------------------------------------
# Raw values: bytes sent as a parameter of a chosen type, in a chosen format, with no client checks.
class Raw:
    __slots__ = ("data", "oid")

    def __init__(self, data: bytes, oid: int):
        self.data, self.oid = data, oid

    def __repr__(self):
        return f"Raw(oid={self.oid}, {self.data[:64]!r}{'…' if len(self.data) > 64 else ''} len={len(self.data)})"


class _RawBinary(Dumper):
    format = pq.Format.BINARY

    def dump(self, obj):
        return obj.data

    def get_key(self, obj, format):
        return (Raw, obj.oid)

    def upgrade(self, obj, format):
        d = _RawBinary(Raw)
        d.oid = obj.oid
        return d


class _RawText(_RawBinary):
    format = pq.Format.TEXT

    def upgrade(self, obj, format):
        d = _RawText(Raw)
        d.oid = obj.oid
        return d


def register_raw(conn):
    conn.adapters.register_dumper(Raw, _RawBinary)
    conn.adapters.register_dumper(Raw, _RawText)


# --------------------------------------------------------------------------------------------------
# One input: one or more statements, each checked by the oracle.
class Step:
    __slots__ = ("sql", "params", "copy", "allow_xx", "allow_timeout", "binary", "compare")

    def __init__(self, sql, params=None, *, copy=None, allow_xx=(), allow_timeout=False, binary=False, compare=False):
        self.compare = compare                # run under an index scan and an exact scan: same rows
        self.sql, self.params, self.copy, self.allow_xx = sql, params, copy, allow_xx
        self.allow_timeout = allow_timeout    # the input sets a short statement_timeout on purpose
        self.binary = binary                  # ask for binary results (vector_send)

    def describe(self, limit=300):
        s = f"{self.sql[:limit]}{'…' if len(self.sql) > limit else ''}"
        if self.params is not None:
            p = repr(self.params)
            s += f"  params={p[:limit]}{'…' if len(p) > limit else ''}"
        if self.copy is not None:
            s += f"  copy={self.copy[:120]!r}{'…' if len(self.copy) > 120 else ''} ({len(self.copy)} bytes)"
        return s


class Case:
    """Steps run in order, each its own statement (an input each); cleanup runs after, unchecked."""
    __slots__ = ("family", "steps", "cleanup", "inference", "newconn")

    def __init__(self, family, steps, cleanup=(), inference=0, newconn=False):
        self.family, self.steps, self.cleanup, self.inference = family, steps, list(cleanup), inference
        self.newconn = newconn    # run the steps on a fresh backend of their own


def q(s: str) -> str:
    """A SQL string literal (standard_conforming_strings is on: only quotes are special)."""
    return "'" + s.replace("'", "''") + "'"


def esc(s: str) -> str:
    """SQL text that will be passed with parameters: % must be doubled."""
    return s.replace("%", "%%")


# --------------------------------------------------------------------------------------------------
# Building blocks.
SPECIAL_NUMBERS = [
    "0", "-0", "1", "-1", "+1", "1.5", ".5", "5.", "-.5", "1e3", "1E3", "1e+3", "1e-3", "00001", "0.0",
    "3.4028235e38", "-3.4028235e38", "3.4028236e38", "3.40282357e38", "3.5e38", "-3.5e38", "1e38", "1e39",
    "1e-38", "1.17549435e-38", "1.4e-45", "1e-45", "7e-46", "1e-46", "1e-400", "-1e-400", "1e400",
    "1e308", "1e309", "2e-308", "4.9e-324", "nan", "NaN", "-nan", "NAN", "inf", "-inf", "+inf", "Inf",
    "Infinity", "-Infinity", "+Infinity", "infinity", "INFINITY", "infinit", "0x10", "0x1p3", "0X1P-2",
    "1_000", "1..2", "1e", "1e+", "e5", "-", "+", ".", "", "1 2", "1-2", "--1", "+-1", "1e1e1", "١", "１",
    "½", "²", "1e-2147483648", "1e2147483648", "1e99999999999999999999", "0" * 300 + "1",
    "1" + "0" * 400, "0." + "0" * 400 + "1", "9" * 60, "-" + "9" * 60, "1e0000000000000000000000003",
    "true", "null", "NULL", "\\N", "'", '"', "\\", "\x01", "\x7f", "1\u0301", "1\u200b", "\ufeff1",
    "1f", "1d", "1L", "1.0e", "1.e5", ".e5", "1e.5", "0e0", "-0e-0", "1e-0", "3e38", "-3e38",
]
WHITESPACE = [" ", "  ", "\t", "\n", "\r", "\r\n", "\v", "\f", "\u00a0", "\u2003", "\u3000", "\ufeff",
              "\u200b", "\u0085"]
ODD_CHARS = list("[](){},;:.-+eE0123456789 \t\n'\"\\/*%_$#@!?|<>=~^&`") + [
    "\u00e9", "\u03c0", "\u4e2d", "\U0001f600", "\u0301", "\u202e", "\ufffd", "\x01", "\x1f", "\x7f",
    "\u2212", "\uff0c", "\uff3b", "\uff3d", "\u3010", "\u00b7", "\u066b"]
TYPMODS = ["1", "2", "3", "4", "16000", "16001", "2000", "2001", "0", "-1", "-3", "2147483647", "-2147483648",
           "2147483648", "99999999999999999999", "1,2", "3,3", "'3'", "3.5", "1e3", "a", "x y", "NULL",
           "true", "\"3\"", "+3", "03", " 3 ", "()", ""]
MODEL_NAMES = [
    "../x", "../../../../etc/passwd", "/etc/passwd", "/", ".", "..", "...", "", " ", "  bge-small-en-v1.5",
    "bge-small-en-v1.5 ", "BGE-SMALL-EN-V1.5", "bge-small-en-v1.5/../bge-small-en-v1.5",
    "bge-small-en-v1.5/", "bge-small-en-v1.5\\", ".hidden", "-", "_", "a", "x" * 64, "x" * 65, "y" * 5000,
    "nonexistent-model", "models", "bge-small-en-v1.5\u200b", "bge\u2010small", "bge-small-en-v1.\u0665",
    "\U0001f600", "%s%s%n", "${HOME}", "$(id)", "`id`", "a;b", "a b", "a'b", "a\"b", "a\tb", "a\nb",
    "con", "nul", "model.onnx", "tokenizer.json", "embedrank.json", "bge-small-en-v1.5/model.onnx",
    "~", "~root", "*", "?", "bge*", "[a-z]", "pg_embedrank", "..%2f..%2fetc", "%2e%2e", "\u00e9t\u00e9",
    "\u0430ll-MiniLM-L6-v2",  # Cyrillic a
    "all-MiniLM-L6-v2", "bge-small-en-v1.5", "ms-marco-MiniLM-L-12-v2",
]
INPUT_TYPES = ["query", "document", None, "", "Query", "QUERY", "documents", "doc", " query", "query ",
               "passage", "x" * 1000, "query\u200b", "NULL", "'query'", "\u00e9"]
TEXTS_CHEAP = [None, "", " ", "a", "hello world", "\u00e9t\u00e9", "\U0001f600" * 3, "\u202eabc",
               "Berlin", "a\tb\nc", "\x01\x02", "\ufffd", "[1,2,3]", "SELECT 1; DROP TABLE x", "'",
               "\\", "\u0301" * 10, "\u200b" * 50]
GUC_INT = ["0", "-1", "1", "2", "40", "400", "1000", "1001", "64", "65", "2147483647", "2147483648",
           "-2147483648", "1e3", "1.5", "0x10", "'abc'", "''", "on", "true", "NULL", "DEFAULT", "'40'",
           "99999999999999999999", "'  12 '", "'1kB'", "'-0'"]
GUC_BOOL = ["on", "off", "true", "false", "1", "0", "yes", "no", "'t'", "'maybe'", "2", "-1", "''",
            "DEFAULT", "NULL", "'on '"]
GUC_STR = ["''", "' '", "'../x'", "'/nonexistent'", "'/etc/passwd'", "'/dev/null'", "'/'", "'/tmp'",
           "'bge-small-en-v1.5'", "'ms-marco-MiniLM-L-12-v2'", "'all-MiniLM-L6-v2'", "'x'",
           "'" + "z" * 3000 + "'", "DEFAULT", "'\u00e9'", "'a''b'", "'%s'", "NULL", "1", "on"]
SETTINGS = [
    ("embedrank.hnsw_ef_search", GUC_INT), ("embedrank.hnsw_iterative_scan", GUC_BOOL),
    ("embedrank.hnsw_max_scan_tuples", GUC_INT), ("embedrank.threads", GUC_INT),
    ("embedrank.max_threads", GUC_INT), ("embedrank.embedding_model", GUC_STR),
    ("embedrank.rerank_model", GUC_STR), ("embedrank.model_dir", GUC_STR),
    ("embedrank.onnxruntime_library", GUC_STR), ("embedrank.hnsw_test_min_level", GUC_INT),
    ("embedrank.hnsw_test_level_seed", GUC_INT), ("embedrank.hnsw_test_vacuum_stop_after", GUC_INT),
    ("embedrank.hnsw_ef_serach", GUC_INT), ("embedrank.nonexistent", GUC_STR), ("embedrank.", GUC_INT),
    ("embedrank.threads.x", GUC_INT), ("embedrank.EMBEDDING_MODEL", GUC_STR),
    ("maintenance_work_mem", ["'64kB'", "'1MB'", "'1GB'"]), ("plan_cache_mode", ["force_generic_plan", "force_custom_plan"]),
    ("enable_indexscan", GUC_BOOL), ("enable_seqscan", GUC_BOOL), ("max_parallel_maintenance_workers", ["0", "2", "8"]),
    ("work_mem", ["'64kB'", "'4MB'"]), ("enable_sort", GUC_BOOL),
    ("force_parallel_mode", ["on", "regress"]), ("debug_parallel_query", ["on", "regress"]),
]
# Settings followed by a probe, then RESET ALL (not left for the next inputs).
PARALLEL_PROBES = ["SELECT avg(v), sum(v) FROM {p}_items", "SELECT count(*) FROM (SELECT id FROM {p}_items ORDER BY v <-> '[1,2,3]' LIMIT 5) s",
                   "SELECT vector_dims(v) FROM {p}_items LIMIT 3", "SELECT '[1,2,3]'::vector <-> v FROM {p}_cos LIMIT 3",
                   "SELECT embed(NULL::text)", "SELECT embed('a', '../x')"]
# Settings whose value may stay for the next inputs (they change only how scans walk the graph).
PERSISTENT_SETTINGS = {"embedrank.hnsw_ef_search", "embedrank.hnsw_iterative_scan", "maintenance_work_mem",
                       "plan_cache_mode", "enable_indexscan", "enable_seqscan", "max_parallel_maintenance_workers",
                       "work_mem", "enable_sort",
                       "embedrank.hnsw_max_scan_tuples", "embedrank.hnsw_test_min_level",
                       "embedrank.hnsw_test_level_seed", "embedrank.hnsw_test_vacuum_stop_after"}
OPCLASSES = ["vector_l2_ops", "vector_ip_ops", "vector_cosine_ops", "vector_l1_ops", "vector_ops",
             "int4_ops", "nonexistent_ops"]
OPERATORS = {"vector_l2_ops": "<->", "vector_ip_ops": "<#>", "vector_cosine_ops": "<=>", "vector_l1_ops": "<+>"}
INT_EDGES = [-2147483648, -2147483647, -65536, -16001, -2, -1, 0, 1, 2, 3, 4, 16000, 16001, 32767, 32768,
             65535, 65536, 2147483646, 2147483647]


class Generator:
    """Draws cases from one seeded random.Random; cheap to create, deterministic per seed."""

    def __init__(self, seed: int, max_inference: int, prefix: str = "fz", check_index: bool = False):
        self.r = random.Random(seed)
        self.inference_left = max_inference
        self.p = prefix
        self.families = [
            (self.vector_text, 18), (self.vector_typmod, 5), (self.vector_binary, 10), (self.copy_binary, 3),
            (self.copy_text, 2), (self.array_cast, 10), (self.array_binary, 4), (self.cast_back, 4),
            (self.operators, 10), (self.aggregates, 3), (self.text_inputs, 4), (self.model_names, 5),
            (self.embed_args, 5), (self.rerank_args, 4), (self.search_args, 2), (self.register_args, 1),
            (self.index_options, 2), (self.index_ddl, 1), (self.scans, 8), (self.graph_writes, 4),
            (self.settings, 4), (self.ort_library, 0.05), (self.transactions, 2), (self.wide_graph, 2),
            (self.docs_writes, 1.5), (self.cancel_inference, 0.1),
            (self.halfvec_text, 8), (self.halfvec_binary, 5), (self.halfvec_ops, 6), (self.bit_ops, 3),
            (self.sparsevec_text, 8), (self.sparsevec_binary, 4), (self.sparsevec_ops, 5),
            (self.sparse_graph, 3),
        ]
        if check_index:
            self.families.append((self.index_vs_exact, 4))
        self.total_weight = sum(w for _, w in self.families)
        self._big = {}

    # -- helpers -----------------------------------------------------------------------------------
    def chance(self, p):
        return self.r.random() < p

    def pick(self, seq):
        return seq[self.r.randrange(len(seq))]

    def number(self):
        r = self.r
        k = r.random()
        if k < 0.30:
            return self.pick(SPECIAL_NUMBERS)
        if k < 0.50:
            return str(r.randint(-1000, 1000))
        if k < 0.70:
            return repr(r.gauss(0, 1))
        if k < 0.80:
            x = r.choice((-1, 1)) * 10 ** r.uniform(-50, 40)
            return self.pick(("%g", "%.9e", "%r", "%.3f", "%.45f")) % x if self.chance(0.8) else repr(x)
        if k < 0.90:  # an arbitrary float32 bit pattern (denormals, NaN payloads, infinities)
            x = struct.unpack("<f", r.randbytes(4))[0]
            return repr(x) if not math.isnan(x) else self.pick(("nan", "NaN", "-nan"))
        return repr(float(struct.unpack("<f", struct.pack("<f", r.gauss(0, 1e30)))[0]))

    def finite_number(self):
        """A value the vector type accepts (float4 range, finite), formatted in various ways."""
        r = self.r
        k = r.random()
        if k < 0.4:
            return str(r.randint(-100, 100))
        if k < 0.7:
            return repr(round(r.gauss(0, 1), r.randint(0, 8)))
        if k < 0.85:
            return self.pick(("3e38", "-3e38", "1e-38", "1e-45", "0", "-0", "1e30", "-1e30", "3.4028235e38",
                              "1.4e-45", "1e-40", "5e-324"))
        return "%.6e" % (r.choice((-1, 1)) * 10 ** r.uniform(-44, 38))

    def ws(self):
        return self.pick(WHITESPACE) if self.chance(0.15) else ""

    def dims(self):
        k = self.r.random()
        if k < 0.6:
            return self.r.randint(1, 5)
        if k < 0.85:
            return self.r.randint(6, 400)
        return self.pick((0, 1999, 2000, 2001, 16000, 16001, 16002, 20000, 100000))

    def big_literal(self, n, token="1"):
        key = (n, token)
        if key not in self._big:
            self._big[key] = "[" + ",".join([token] * n) + "]"
        return self._big[key]

    def vector_literal(self, dims=None, finite=False):
        n = self.dims() if dims is None else dims
        if n > 400:
            return self.big_literal(n, self.pick(("1", "0", "-1.5e-3")))
        nums = [self.finite_number() if finite else self.number() for _ in range(n)]
        sep = "," if finite or self.chance(0.8) else self.pick((", ", " ,", ",,", ";", " ", "\t,"))
        return self.ws() + "[" + self.ws() + sep.join(self.ws() + x + self.ws() for x in nums) + self.ws() + "]" + self.ws()

    def valid_vector(self, dims=DIMS):
        return "[" + ",".join(self.finite_number() for _ in range(dims)) + "]"

    def mutate(self, s):
        r = self.r
        for _ in range(r.randint(1, 4)):
            k = r.random()
            i = r.randint(0, len(s))
            if k < 0.2:
                s = s[:i] + s[i + 1:]
            elif k < 0.45:
                s = s[:i] + self.pick(ODD_CHARS) + s[i:]
            elif k < 0.55:
                s = s[:i]                                    # truncated
            elif k < 0.65 and s:
                j = r.randint(i, min(len(s), i + 20))
                s = s[:j] + s[i:j] * r.randint(1, 5) + s[j:]  # repeated span
            elif k < 0.75:
                s = s.replace("[", self.pick(("(", "{", "[[", "", "<")), 1)
            elif k < 0.85:
                s = s.replace("]", self.pick((")", "}", "]]", "", ">", "],")), 1)
            elif k < 0.92:
                s = s[:i] + self.pick(SPECIAL_NUMBERS) + s[i:]
            else:
                s = s[:i] + self.pick(WHITESPACE) + s[i:]
        return s

    def any_vector_text(self):
        k = self.r.random()
        if k < 0.35:
            return self.vector_literal()
        if k < 0.75:
            return self.mutate(self.vector_literal(self.r.randint(1, 6)))
        if k < 0.85:
            return self.pick(("[]", "[ ]", "", " ", "[", "]", "][", "[,]", "[1,]", "[,1]", "[1,,2]", "[[1]]",
                              "[1][2]", "[1] x", "x [1]", "[1", "1]", "1,2", "{1,2}", "(1,2)", "[-]", "[+]",
                              "[.]", "[e]", "[1 2]", "[1\t2]", "[\u00a01]", "[1\u00a0]", "[\ufeff1]",
                              "\ufeff[1]", "[1]\u0000"[:-1], "[ 1 , 2 ]", "[1,2]\n", "\n[1,2]"))
        if k < 0.92:
            n = self.pick((1000, 10000, 100000)) if self.chance(0.98) else 1000000
            return "[" + self.pick(("1", "9", "0.", "-")) * n + "]"
        return "".join(self.pick(ODD_CHARS) for _ in range(self.r.randint(1, 40)))

    def array_size(self, common):
        """An element count: mostly small, sometimes 100k, rarely 1M (arguments are converted before
        they are checked, so a 1M-element array costs ~0.5 s even when it is refused)."""
        k = self.r.random()
        return 1_000_000 if k < 0.003 else 100_000 if k < 0.03 else self.pick(common)

    def take_inference(self, n):
        """Whether n more texts may go through a model (and spend them if so)."""
        if n <= self.inference_left:
            self.inference_left -= n
            return True
        return False

    # -- families ----------------------------------------------------------------------------------
    def vector_text(self):
        lit = self.any_vector_text()
        forms = [
            ("SELECT %s::vector", (lit,)), ("SELECT %t::vector", (Raw(lit.encode(), 0),)),
            (f"SELECT {q(lit)}::vector", None), (f"SELECT vector_dims({q(lit)}::vector)", None),
            (f"SELECT {q(lit)}::text::vector", None), ("SELECT vector_in(%s::cstring, 0, -1)", (lit,)),
            ("SELECT %s::vector::text", (lit,)), (f"SELECT {q(lit)}::vector(3)", None),
        ]
        sql, params = self.pick(forms)
        return Case("vector_text", [Step(sql, params, binary=self.chance(0.2))])

    def vector_typmod(self):
        tm = self.pick(TYPMODS)
        lit = self.vector_literal(self.r.randint(1, 4), finite=True) if self.chance(0.7) else self.any_vector_text()
        r = self.r.random()
        if r < 0.4:
            return Case("typmod", [Step(f"SELECT {q(lit)}::vector({tm})")])
        if r < 0.6:
            return Case("typmod", [Step(f"SELECT NULL::vector({tm})")])
        if r < 0.75:
            n = self.pick(INT_EDGES)
            return Case("typmod", [Step("SELECT vector_in(%s::cstring, 0, %s)", (lit, n))])
        if r < 0.85:
            n = self.pick(INT_EDGES)
            return Case("typmod", [Step("SELECT vector(%s::vector, %s, %s)", (lit, n, self.chance(0.5)))])
        if r < 0.92:
            return Case("typmod", [Step(f"SELECT vector_typmod_in({q('{' + tm + '}')}::cstring[])")])
        t = f"{self.p}_typmod"
        return Case("typmod", [Step(f"CREATE TEMP TABLE {t} (v vector({tm}))"),
                               Step(f"INSERT INTO {t} VALUES ({q(lit)})")],
                    cleanup=[f"DROP TABLE IF EXISTS {t}"])

    def raw_vector(self):
        r = self.r
        k = r.random()
        if k < 0.15:
            return r.randbytes(r.randint(0, 24))
        dims = self.pick((0, 1, 2, 3, 4, 3, 3, 16000, 16001, -1, -3, 32767, -32768, r.randint(0, 65535) - 32768))
        unused = 0 if self.chance(0.7) else self.pick((1, -1, 32767, -32768, 256))
        nvals = dims if dims > 0 else 0
        if self.chance(0.3):
            nvals = max(0, nvals + self.pick((-1, 1, -2, 5)))
        if nvals > 20:
            vals = struct.pack("!f", 1.0) * nvals
        else:
            vals = b"".join(self.raw_float() for _ in range(nvals))
        data = struct.pack("!hh", dims, unused) + vals
        if self.chance(0.15):
            data = data[: r.randint(0, len(data))]
        if self.chance(0.05):
            data += r.randbytes(r.randint(1, 8))
        return data

    def raw_float(self):
        k = self.r.random()
        if k < 0.6:
            return struct.pack("!f", self.r.gauss(0, 10))
        if k < 0.8:
            return struct.pack("!f", self.pick((math.nan, math.inf, -math.inf, 0.0, -0.0, 3.4028234e38,
                                                 1e-45, 1.17549435e-38, -3.4028234e38)))
        return self.r.randbytes(4)

    def vector_binary(self):
        data = self.raw_vector()
        forms = [("SELECT %b::text", None), ("SELECT vector_dims(%b)", None), ("SELECT %b::vector(3)::text", None),
                 (f"INSERT INTO {self.p}_typed (v) VALUES (%b)", None), ("SELECT %b <-> '[1,2,3]'", None),
                 ("SELECT %t::text", "text")]
        sql, _ = self.pick(forms)   # %t: the raw bytes as a text-format parameter (UTF-8 check, vector_in)
        return Case("vector_binary", [Step(sql, (Raw(data, VECTOR_OID),))])

    def halfvec_text(self):
        """halfvec literals: the vector shapes plus values around half precision's limits."""
        lit = self.any_vector_text()
        if self.chance(0.4):
            vals = [self.pick(("65504", "65519", "65520", "-65520", "1e-8", "-1e-8", "6e-8", "5.9604645e-08", "0.1",
                               "1e5", "4e38", "-0", "nan", "inf", "0x1p15", "0x1p16", "65519.99"))
                    for _ in range(self.r.randint(1, 5))]
            lit = "[" + ",".join(vals) + "]"
        forms = [("SELECT %s::halfvec::text", (lit,)), (f"SELECT {q(lit)}::halfvec(3)::text", None),
                 ("SELECT halfvec_in(%s::cstring, 0, -1)::text", (lit,)), ("SELECT %s::halfvec::vector::text", (lit,)),
                 ("SELECT %s::vector::halfvec::text", (lit,)), ("SELECT binary_quantize(%s::halfvec)::text", (lit,)),
                 ("SELECT %s::halfvec::real[]", (lit,)), (f"SELECT l2_normalize({q(lit)}::halfvec)::text", None)]
        sql, params = self.pick(forms)
        return Case("halfvec_text", [Step(sql, params, binary=self.chance(0.2))])

    def halfvec_binary(self):
        """Raw halfvec wire values: dims, unused, then 16-bit halves (NaN/Inf patterns included)."""
        r = self.r
        dims = self.pick((0, 1, 2, 3, 16000, 16001, -1, 32767, r.randint(0, 65535) - 32768))
        unused = 0 if self.chance(0.8) else self.pick((1, -1, 256))
        n = max(0, dims if dims > 0 else 0) if self.chance(0.8) else r.randint(0, 5)
        halves = b"".join(struct.pack("!H", self.pick((0x3c00, 0x7bff, 0x7c00, 0xfc00, 0x7e00, 0x0001, 0x8000,
                                                        r.randint(0, 0xffff)))) for _ in range(min(n, 20)))
        halves += struct.pack("!H", 0x3c00) * max(0, n - 20)
        data = struct.pack("!hh", dims, unused) + halves
        if self.chance(0.1):
            data = data[: r.randint(0, len(data))]
        sql = self.pick(("SELECT %b::text", "SELECT vector_dims(%b)", "SELECT %b::halfvec(3)::text",
                         "SELECT %b <-> '[1,2,3]'::halfvec", "SELECT %b::vector::text"))
        return Case("halfvec_binary", [Step(sql, (Raw(data, HALFVEC_OID),))])

    def halfvec_ops(self):
        a, b = self.vector_literal(self.r.randint(1, 4)), self.vector_literal(self.r.randint(1, 4))
        if self.chance(0.3):
            a = "[" + ",".join(self.pick(("65504", "-65504", "1e-7", "0.1", "-0")) for _ in range(3)) + "]"
        k = self.r.random()
        if k < 0.4:
            op = self.pick(("<->", "<#>", "<=>", "<+>", "+", "-", "*", "||", "<", "=", ">="))
            return Case("halfvec_ops", [Step(f"SELECT %s::halfvec {op} %s::halfvec", (a, b))])
        if k < 0.7:
            fn = self.pick(("l2_distance", "halfvec_l2_squared_distance", "inner_product", "halfvec_negative_inner_product",
                            "cosine_distance", "l1_distance", "halfvec_spherical_distance", "halfvec_cmp"))
            return Case("halfvec_ops", [Step(f"SELECT {fn}(%s::halfvec, %s::halfvec)", (a, b))])
        if k < 0.85:
            state = self.pick(("{0}", "{}", "{{0}}", "{NULL}", "{1}", "{2,1,1}", "{0,0,0,0}", "{1,1e308,1e308}"))
            fn = self.pick(("halfvec_avg(%s::float8[])", "halfvec_accum(%s::float8[], %s::halfvec)",
                            "halfvec_combine(%s::float8[], %s::float8[])"))
            params = (state,) if fn.startswith("halfvec_avg") else (state, a) if "accum" in fn else (state, state)
            # Malformed states: pgvector answers XX000 "expected state array" (as for vector's).
            return Case("halfvec_ops", [Step(f"SELECT {fn}", params, allow_xx=("XX000",))])
        if self.chance(0.5):
            s, n = self.r.randint(-3, 6), self.r.randint(-3, 6)
            return Case("halfvec_ops", [Step(f"SELECT subvector(%s::halfvec, {s}, {n})::text", (a,))])
        arr = self.pick(("'{1,2,3}'::int[]", "'{1.5,NaN}'::float8[]", "'{1e6}'::real[]", "'{70000}'::numeric[]",
                         "'{{1}}'::real[]", "'{}'::real[]", "ARRAY[1,NULL]::real[]", "'{4e38}'::float8[]"))
        return Case("halfvec_ops", [Step(f"SELECT {arr}::halfvec::text")])

    def sparsevec_literal(self):
        r = self.r
        k = r.random()
        if k < 0.5:
            dim = self.pick((1, 3, 5, 16000, 1000000000, 1000000001, 0, -1, 2147483648, r.randint(-5, 20)))
            n = r.randint(0, 5)
            pairs = [f"{self.pick((r.randint(-2, 8), 0, 2147483648, '+01', 'x'))}:"
                     f"{self.pick(('1.5', '0', '-0', 'nan', 'inf', '4e38', '-1e-46', '1e-40', '0x1p3', '', r.gauss(0, 5)))}"
                     for _ in range(n)]
            return "{" + ",".join(pairs) + "}/" + str(dim)
        if k < 0.85:
            return self.pick(("", "{", "{}", "{}/", "{}/1", "{}/1a", "{ }/1", "{1,}/1", "{1:}/1", "{1a:1}/1", "{1:1,}/1",
                              "{1:1,2:1,1:1}/2", "{2:1,1:1}/2", " { 1 : 1.5 } / 5 ", "{1:1}/-9223372036854775809",
                              "{1:1}//2", "{1:1:1}/2", "[1,2]", "{1:1}/2/3", "{1:1};2"))
        return "{" + ",".join("1:1" for _ in range(self.pick((16000, 16001)))) + "}/20000"

    def sparsevec_text(self):
        lit = self.sparsevec_literal()
        forms = [("SELECT %s::sparsevec::text", (lit,)), ("SELECT %s::sparsevec(5)::text", (lit,)),
                 ("SELECT sparsevec_in(%s::cstring, 0, -1)::text", (lit,)), ("SELECT %s::sparsevec::vector::text", (lit,)),
                 ("SELECT %s::sparsevec::halfvec::text", (lit,)), ("SELECT l2_normalize(%s::sparsevec)::text", (lit,))]
        sql, params = self.pick(forms)
        return Case("sparsevec_text", [Step(sql, params, binary=self.chance(0.2))])

    def sparsevec_binary(self):
        r = self.r
        dim = self.pick((0, 1, 3, 5, 1000000001, -1, r.randint(-3, 10)))
        nnz = self.pick((0, 1, 2, 3, -1, 16001, 6))
        unused = 0 if self.chance(0.8) else 1
        n = max(0, min(nnz, 8)) if self.chance(0.8) else r.randint(0, 3)
        idx = sorted(r.randint(-1, 6) for _ in range(n)) if self.chance(0.7) else [r.randint(-1, 6) for _ in range(n)]
        vals = [self.pick((1.5, 0.0, -0.0, float("nan"), float("inf"), r.gauss(0, 1))) for _ in range(n)]
        data = struct.pack(f"!iii{n}i{n}f", dim, nnz, unused, *idx, *vals)
        if self.chance(0.1):
            data = data[: r.randint(0, len(data))]
        sql = self.pick(("SELECT %b::text", "SELECT %b::sparsevec(5)::text", "SELECT %b <-> '{}/5'::sparsevec",
                         "SELECT %b::vector::text"))
        return Case("sparsevec_binary", [Step(sql, (Raw(data, SPARSEVEC_OID),))])

    def sparsevec_ops(self):
        a, b = self.sparsevec_literal(), self.sparsevec_literal() if self.chance(0.3) else "{1:1,3:2}/5"
        k = self.r.random()
        if k < 0.5:
            op = self.pick(("<->", "<#>", "<=>", "<+>", "<", "=", ">="))
            return Case("sparsevec_ops", [Step(f"SELECT %s::sparsevec {op} %s::sparsevec", (a, b))])
        if k < 0.75:
            fn = self.pick(("l2_distance", "sparsevec_l2_squared_distance", "inner_product", "sparsevec_negative_inner_product",
                            "cosine_distance", "l1_distance", "sparsevec_cmp"))
            return Case("sparsevec_ops", [Step(f"SELECT {fn}(%s::sparsevec, %s::sparsevec)", (a, b))])
        arr = self.pick(("'{1,0,2}'::int[]", "'{1.5,NaN}'::float8[]", "'{4e38}'::float8[]", "'{1e-46,0}'::float8[]",
                         "'{{1}}'::real[]", "'{}'::real[]", "ARRAY[1,NULL]::real[]", "'{70000,0}'::numeric[]",
                         "'[0,1.5,0]'::vector", "'[0,1.5,0]'::halfvec"))
        return Case("sparsevec_ops", [Step(f"SELECT {arr}::sparsevec{self.pick(('', '(3)', '(2)'))}::text")])

    def sparse_entries(self, dim=30522):
        """A sparsevec(dim) literal of random non-zero entries, often near the index's 1,000 limit."""
        r = self.r
        n = self.pick((0, 1, 2, r.randint(3, 60), r.randint(900, 1000), 1000, 1001, r.randint(1001, 1200)))
        idx = sorted(r.sample(range(1, dim + 1), min(n, dim)))
        vals = [self.pick(("1", "-2.5", "1e-30", "3e38", "-3e38", "1e-45", repr(r.gauss(0, 3)))) for _ in idx]
        return "{" + ",".join(f"{i}:{v}" for i, v in zip(idx, vals)) + f"}}/{dim}"

    def sparse_graph(self):
        """Writes and scans of a sparse index (elements of varying length, 30,522 dimensions)."""
        p, r = self.p, self.r
        steps = []
        for _ in range(r.randint(1, 4)):
            k = r.random()
            if k < 0.45:
                steps.append(Step(f"INSERT INTO {p}_sp (v) SELECT %s::sparsevec FROM generate_series(1, {r.randint(1, 3)})",
                                  (self.sparse_entries(),)))
            elif k < 0.55:
                steps.append(Step(f"DELETE FROM {p}_sp WHERE id IN (SELECT id FROM {p}_sp ORDER BY random() LIMIT 3)"))
            elif k < 0.6:
                steps.append(Step(f"VACUUM {p}_sp"))
            else:
                op = self.pick(("<->", "<#>", "<=>", "<+>"))
                qv = self.sparse_entries(self.pick((30522, 30522, 30522, 3, 1000000000)))
                steps.append(Step(f"SELECT id FROM {p}_sp ORDER BY v {op} %s::sparsevec LIMIT {self.pick((1, 10, 500))}", (qv,)))
        return Case("sparse_graph", steps)

    def bit_ops(self):
        bits = lambda: "".join(self.pick("01") for _ in range(self.pick((0, 1, 3, 8, 9, 64))))
        a, b = bits(), bits() if self.chance(0.3) else None
        b = b if b is not None else a[::-1]
        fn = self.pick(("hamming_distance(%s::bit, %s::bit)", "jaccard_distance(%s::bit, %s::bit)", "%s::bit <~> %s::bit",
                        "%s::bit <%%> %s::bit", "%s::varbit <~> %s::varbit"))
        return Case("bit_ops", [Step(f"SELECT {fn}", (a, b))])

    def copy_binary(self):
        r = self.r
        header = b"PGCOPY\n\xff\r\n\x00" + struct.pack("!ii", 0, 0)
        tuples = []
        for _ in range(r.randint(1, 4)):
            if self.chance(0.1):
                tuples.append(struct.pack("!hi", 1, -1))               # NULL
                continue
            data = self.raw_vector()
            length = len(data)
            if self.chance(0.1):
                length = self.pick((length + 4, max(0, length - 3), -2, 0))
            tuples.append(struct.pack("!hi", 1, length) + data)
        stream = header + b"".join(tuples) + (struct.pack("!h", -1) if self.chance(0.9) else b"")
        if self.chance(0.1):
            stream = stream[: r.randint(0, len(stream))]
        stream = stream[:COPY_BINARY_MAX]
        table = self.pick((f"{self.p}_typed", f"{self.p}_any", f"{self.p}_items"))   # _items: into the index
        return Case("copy_binary", [Step(f"COPY {table} (v) FROM STDIN (FORMAT BINARY)", copy=stream)])

    def copy_text(self):
        lines = []
        for _ in range(self.r.randint(1, 4)):
            lit = self.any_vector_text() if self.chance(0.6) else self.valid_vector(self.pick((3, 3, 2, 4)))
            if self.chance(0.1):
                lit = "\\N"
            lines.append(lit.replace("\n", "\\n").replace("\r", "\\r").replace("\0", "") + "\n")
        # At most 32 kB: a COPY that is still sending when the server refuses a line whose ERROR echoes
        # more than the socket buffers hold deadlocks client and server (a libpq/psycopg protocol
        # hazard, any input function that echoes its input does it; see BENCHMARKS.md), not a finding.
        data = "".join(lines).encode()[:COPY_TEXT_MAX]
        table = self.pick((f"{self.p}_typed", f"{self.p}_any"))
        fmt = self.pick(("", " (FORMAT CSV)", " (FORMAT TEXT)"))
        return Case("copy_text", [Step(f"COPY {table} (v) FROM STDIN{fmt}", copy=data)])

    def array_literal(self, elem_type):
        r = self.r
        k = r.random()

        def elem():
            x = r.random()
            if x < 0.1:
                return "NULL"
            if elem_type == "integer":
                return str(self.pick(INT_EDGES)) if self.chance(0.3) else str(r.randint(-1000, 1000))
            if x < 0.4:
                return self.pick(("NaN", "Infinity", "-Infinity", "1e38", "3.5e38", "1e39", "1e-46", "1e308",
                                  "1e-400", "-0", "1e1000", "1e-1000", "4e38", "3.4028235e38"))
            return self.finite_number()

        if k < 0.5:
            return "{" + ",".join(elem() for _ in range(r.randint(0, 6))) + "}"
        if k < 0.65:
            a, b = r.randint(0, 3), r.randint(0, 3)
            return "{" + ",".join("{" + ",".join(elem() for _ in range(b)) + "}" for _ in range(a)) + "}"
        if k < 0.75:
            lo = self.pick((0, -5, 2, 2147483646, -2147483648))
            n = r.randint(1, 3)
            return f"[{lo}:{lo + n - 1}]=" + "{" + ",".join(elem() for _ in range(n)) + "}"
        if k < 0.85:
            n = self.pick((16000, 16001, 20000, 100000))
            return "{" + ",".join(["1"] * n) + "}"
        if k < 0.9:
            return self.pick(("{}", "{{}}", "{NULL}", "{{NULL}}", "{{1},{2}}", "{{1,2},{3}}", "{1,{2}}",
                              "{{{{{{{1}}}}}}}", "{", "}", "", "{1,}", "{,}", "{ }", "{\"1\"}", "{'1'}"))
        return self.mutate("{" + ",".join(elem() for _ in range(r.randint(1, 4))) + "}")

    def array_cast(self):
        t = self.pick(("real", "double precision", "integer", "numeric", "bigint", "smallint", "text"))
        lit = self.array_literal(t)
        tm = self.pick(("", "", "", "(3)", "(1)", "(2)", "(16000)"))
        k = self.r.random()
        if k < 0.5:
            step = Step(f"SELECT %s::{t}[]::vector{tm}", (lit,))
        elif k < 0.7:
            step = Step(f"SELECT {q(lit)}::{t}[]::vector{tm}")
        elif k < 0.85:
            step = Step(f"SELECT array_to_vector(%s::{t}[], %s, %s)", (lit, self.pick(INT_EDGES), self.chance(0.5)))
        else:
            step = Step(f"INSERT INTO {self.p}_typed (v) VALUES (%s::{t}[])", (lit,))
        return Case("array_cast", [step])

    def array_binary(self):
        """A binary array parameter (array_recv) of floats/ints/numerics cast to vector, or of texts
        given to embed(): odd dimensions, lower bounds, NULL flags, element types."""
        r = self.r
        kind = self.pick(("float4", "float8", "int4", "text"))
        elem_oid, arr_oid = {"float4": (700, 1021), "float8": (701, 1022), "int4": (23, 1007), "text": (25, 1009)}[kind]
        ndim = self.pick((1, 1, 1, 0, 2, 3, 6, 7, -1))
        dims = [self.pick((1, 2, 3, 0, 3)) for _ in range(max(0, min(ndim, 7)))]
        if self.chance(0.1) and dims:
            dims[0] = self.pick((-1, 2147483647, 100000))
        lbounds = [self.pick((1, 1, 0, -3, 2147483647)) for _ in dims]
        flags = self.pick((0, 0, 1, 2))
        eoid = elem_oid if self.chance(0.9) else self.pick((0, 25, 23, 16))
        out = struct.pack("!iii", ndim, flags, eoid) + b"".join(struct.pack("!ii", d, lb) for d, lb in zip(dims, lbounds))
        nelem = 1
        for d in dims:
            nelem *= max(d, 0)
        nelem = min(nelem, 50) if ndim > 0 else 0
        if self.chance(0.1):
            nelem += self.pick((-1, 1))
        for _ in range(max(nelem, 0)):
            if self.chance(0.1):
                out += struct.pack("!i", -1)
                continue
            if kind == "float4":
                e = self.raw_float()
            elif kind == "float8":
                e = struct.pack("!d", self.pick((1.0, -2.5, math.nan, math.inf, 1e300, 5e-324, 3.5e38, r.gauss(0, 1))))
            elif kind == "int4":
                e = struct.pack("!i", self.pick(INT_EDGES))
            else:
                e = self.pick((b"", b"a", b"\xff\xfe", b"\xc3\x28", b"ok", b"\xe2\x82", b"\x00", "\u00e9".encode(),
                               b"\xed\xa0\x80", b"\xf4\x90\x80\x80"))
            ln = len(e) if self.chance(0.95) else self.pick((len(e) + 1, len(e) - 1, -2))
            out += struct.pack("!i", ln) + e
        if self.chance(0.1):
            out = out[: r.randint(0, len(out))]
        raw = Raw(out, arr_oid)
        if kind == "text":
            # Never inference: a model name that fails validation, or an input_type that does.
            sql = self.pick(("SELECT embed(%b, '../x')", "SELECT embed(%b, NULL, 'bad')", "SELECT cardinality(%b)",
                             "SELECT rerank(NULL, %b)", "SELECT rerank('q', %b, '../x')"))
        else:
            sql = self.pick(("SELECT %b::vector", "SELECT %b::vector(3)", "SELECT array_to_vector(%b, -1, true)",
                             "SELECT array_to_vector(%b, 3, false)"))
        return Case("array_binary", [Step(sql, (raw,))])

    def cast_back(self):
        lit = self.vector_literal(self.r.randint(1, 5), finite=True) if self.chance(0.8) else self.any_vector_text()
        t = self.pick(("real[]", "double precision[]", "integer[]", "numeric[]", "text", "bigint[]", "text[]",
                       "bytea", "int", "float8"))
        if self.chance(0.5):
            return Case("cast_back", [Step(f"SELECT %s::vector::{t}", (lit,))])
        fn = self.pick(("vector_to_float4", "vector_to_float8", "vector_to_int4", "vector_to_numeric"))
        return Case("cast_back", [Step(f"SELECT {fn}(%s::vector, %s, %s)", (lit, self.pick(INT_EDGES), self.chance(0.5)))])

    def operand(self):
        k = self.r.random()
        if k < 0.5:
            return self.vector_literal(self.r.randint(1, 4), finite=True)
        if k < 0.65:
            return self.pick(("[0]", "[0,0,0]", "[0,0]", "[3e38,3e38,3e38]", "[-3e38,3e38,-3e38]", "[1e-45,1e-45,1e-45]",
                              "[1e-38]", "[3e38]", "[-3e38]", "[1,2,3]", "[1e20,1e20,1e20]", "[1e-20,1e-20,1e-20]"))
        if k < 0.75:
            return self.big_literal(self.pick((8000, 15999, 16000)), self.pick(("1", "3e38", "1e-45")))
        if k < 0.85:
            return self.valid_vector(self.r.randint(1, 8) if self.chance(0.5) else 3)
        return self.any_vector_text()

    def operators(self):
        a, b = self.operand(), self.operand()
        if self.chance(0.4):
            b = a if self.chance(0.5) else self.valid_vector(max(1, len(a.split(","))))
        op = self.pick(("<->", "<#>", "<=>", "<+>", "+", "-", "*", "||", "<", "<=", "=", "<>", ">=", ">"))
        k = self.r.random()
        if k < 0.45:
            return Case("operators", [Step(f"SELECT %s::vector {op} %s::vector", (a, b))])
        if k < 0.7:
            fn = self.pick(("l2_distance", "vector_l2_squared_distance", "inner_product", "vector_negative_inner_product",
                            "cosine_distance", "l1_distance", "vector_spherical_distance", "vector_add", "vector_sub",
                            "vector_mul", "vector_concat", "vector_cmp", "vector_lt", "vector_eq"))
            return Case("operators", [Step(f"SELECT {fn}(%s::vector, %s::vector)", (a, b))])
        if k < 0.85:
            fn = self.pick(("vector_dims", "vector_norm", "l2_normalize", "vector_send"))
            return Case("operators", [Step(f"SELECT {fn}(%s::vector)", (a,))])
        s, n = self.pick(INT_EDGES), self.pick(INT_EDGES)
        if self.chance(0.5):
            s, n = self.r.randint(-3, 6), self.r.randint(-3, 6)
        return Case("operators", [Step("SELECT subvector(%s::vector, %s, %s)", (a, s, n))])

    def aggregates(self):
        k = self.r.random()
        if k < 0.5:
            vals = [self.operand() if self.chance(0.3) else self.valid_vector(self.pick((3, 3, 3, 2))) for _ in range(self.r.randint(0, 5))]
            if self.chance(0.2):
                vals.append(None)
            fn = self.pick(("avg", "sum"))
            if not vals:
                return Case("aggregates", [Step(f"SELECT {fn}(v) FROM {self.p}_items WHERE false")])
            rows = ",".join(["(%s::vector)"] * len(vals))
            return Case("aggregates", [Step(f"SELECT {fn}(v) FROM (VALUES {rows}) t(v)", tuple(vals))])
        # State functions called directly with malformed states: pgvector answers XX000 (documented).
        state = self.pick(("{0}", "{1,1,2,3}", "{}", "{{1,2},{3,4}}", "{NULL}", "{1,NULL}", "{0,0,0,0}", "{-1,1,2,3}",
                           "{NaN,1,2,3}", "{Infinity,1,2,3}", "{1e308,1e308,1e308,1e308}", "{2,1,2}",
                           "[0:3]={1,1,2,3}", "{1," + ",".join(["1"] * 16001) + "}"))
        fn = self.pick(("accum", "combine", "avg"))
        if fn == "accum":
            step = Step("SELECT vector_accum(%s::float8[], %s::vector)", (state, self.operand()), allow_xx=("XX000",))
        elif fn == "combine":
            other = self.pick(("{0}", "{1,1,2,3}", "{2,1,2}", "{1,1}", "{}", state))
            step = Step("SELECT vector_combine(%s::float8[], %s::float8[])", (state, other), allow_xx=("XX000",))
        else:
            step = Step("SELECT vector_avg(%s::float8[])", (state,), allow_xx=("XX000",))
        return Case("aggregates", [step])

    def weird_text(self, allow_long=True):
        k = self.r.random()
        if k < 0.6 or not allow_long:
            return self.pick(TEXTS_CHEAP)
        if k < 0.8:
            return "".join(self.pick(ODD_CHARS) for _ in range(self.r.randint(1, 200)))
        unit = self.pick(("x", "word ", "\u00e9", "\U0001f600", "a" * 99 + " "))
        size = self.pick((1000, 100000)) if self.chance(0.99) else 10_000_000   # characters
        return unit * (size // len(unit))

    def text_inputs(self):
        """Texts the server must refuse before our code sees them (invalid UTF-8, NUL), and NULLs."""
        bad = self.pick((b"\xff", b"\xc3\x28", b"abc\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"a\x00b",
                         b"\xf8\x88\x80\x80\x80", b"\xc0\xaf", b"\x80", b"ok \xfe end"))
        k = self.r.random()
        if k < 0.3:
            return Case("text_inputs", [Step(self.pick(("SELECT embed(%b)", "SELECT embed(%t)", "SELECT rerank(%b, ARRAY['x'])",
                                                        f"SELECT search('{self.p}_docs', %b)", "SELECT %b::vector")),
                                             (Raw(bad, 25),))])
        if k < 0.5:
            hexs = bad.hex()
            return Case("text_inputs", [Step(f"SELECT embed(convert_from('\\x{hexs}'::bytea, 'UTF8'))")])
        if k < 0.6:
            return Case("text_inputs", [Step("SELECT embed('a' || chr(0) || 'b')")])
        if k < 0.8:
            # text[] literal with invalid bytes in a raw text-format array parameter
            return Case("text_inputs", [Step(self.pick(("SELECT embed(%t, '../x')", "SELECT rerank('q', %t, 'bad name')")),
                                             (Raw(b"{a," + bad + b",NULL}", 1009),))])
        return Case("text_inputs", [Step(self.pick(("SELECT embed(E'\\xff')", "SELECT E'\\xc3\\x28'::vector",
                                                    "SELECT rerank(E'\\xff', ARRAY['a'])")))])

    def model_names(self):
        name = self.pick(MODEL_NAMES)
        valid = name in EMBEDDERS or name == RERANKER
        k = self.r.random()
        if valid and not self.take_inference(1):
            name, valid = "../" + name, False
        if k < 0.3:
            return Case("model_names", [Step("SELECT embed('a', %s)", (name,))], inference=int(valid))
        if k < 0.45:
            return Case("model_names", [Step(f"SELECT embed('a', {q(name)})")], inference=int(valid))
        if k < 0.6:
            return Case("model_names", [Step("SELECT * FROM rerank('q', ARRAY['a'], %s)", (name,))], inference=int(valid))
        if k < 0.7:
            return Case("model_names", [Step("SELECT embed(ARRAY['a'], %s, 'query')", (name,))], inference=int(valid))
        if k < 0.8:
            return Case("model_names", [Step("SELECT embed_with_model('a', %s, 'document')", (name,))], inference=int(valid))
        if k < 0.9:
            return Case("model_names", [Step("SELECT load(%s)", (name,))])
        return Case("model_names", [Step(f"SELECT register('{self.p}_reg', 'body', model => %s, create_index => false)", (name,))],
                    cleanup=self.register_cleanup())

    def embed_args(self):
        r = self.r
        model = self.pick((None, None, None, EMBEDDERS[0], EMBEDDERS[1], RERANKER, "../x", "", "x" * 100))
        itype = self.pick(INPUT_TYPES)
        if self.chance(0.5):
            text = self.weird_text()
            texts_n = 0 if text is None else 1
            arr = None
        else:
            n = self.array_size((0, 1, 2, 3, 10, 1000))
            arr = [None if self.chance(0.3) else self.weird_text(allow_long=False) for _ in range(min(n, 10))]
            if n > 10:
                arr = null_array(n)                   # only NULLs: built by the server, no model call
            texts_n = 0 if n > 10 else sum(x is not None for x in arr)
        reaches = texts_n > 0 and itype in ("query", "document") and model in (None,) + EMBEDDERS
        if reaches and not self.take_inference(texts_n):
            itype = self.pick(("", "bad", None))     # fails validation before the model runs
            reaches = False
        value = text if arr is None else arr
        if isinstance(value, null_array):
            arg, params = value.sql(), (model, itype)
        else:
            arg, params = "%s", (value, model, itype)
        form = self.pick(("embed", "embed_named", "embed_with_model"))
        if form == "embed":
            step = Step(f"SELECT embed({arg}, %s, %s)::text", params)
        elif form == "embed_named":
            step = Step(f"SELECT embed({arg}, model => %s, input_type => %s) IS NULL", params)
        else:
            step = Step(f"SELECT embed_with_model({arg}, %s, %s) IS NULL", params)
        return Case("embed_args", [step], inference=texts_n if reaches else 0)

    def rerank_args(self):
        query = self.weird_text(allow_long=self.chance(0.3))
        n = self.array_size((0, 1, 2, 3, 1000))
        docs = None if self.chance(0.05) else [None if self.chance(0.3) else self.weird_text(allow_long=False) for _ in range(min(n, 3))]
        if docs is not None and n > 3:
            docs = null_array(n)
        model = self.pick((None, None, RERANKER, EMBEDDERS[0], "../x", "", "nonexistent-model"))
        top_n = self.pick((None, None, 0, 1, -1, 2147483647, -2147483648))
        min_score = self.pick((None, None, 0.5, -1.0, float("nan"), float("inf"), float("-inf"), 1e38))
        pairs = sum(d is not None for d in docs) if docs and not isinstance(docs, null_array) else 0
        reaches = query is not None and pairs > 0 and model in (None, RERANKER) and (top_n is None or top_n >= 0)
        if reaches and not self.take_inference(pairs):
            top_n = -1                                  # fails validation before the model runs
            reaches = False
        if isinstance(docs, null_array):
            step = Step(f"SELECT * FROM rerank(%s, {docs.sql()}, %s, %s, %s::real)", (query, model, top_n, min_score))
        else:
            step = Step("SELECT * FROM rerank(%s, %s::text[], %s, %s, %s::real)", (query, docs, model, top_n, min_score))
        return Case("rerank_args", [step], inference=pairs if reaches else 0)

    def search_args(self):
        table = self.pick((f"{self.p}_docs", f"{self.p}_docs", f"{self.p}_items", "nonexistent_t", "pg_class", "", "1",
                           f"{self.p}_docs; drop table x"))
        query = self.pick(("Berlin", "", "  ", None, "\u00e9", "x" * 10000, "the", "?", "\t"))
        k = self.pick((1, 2, 3, 0, -1, 1000, 1001, None, 2147483647))
        n = self.pick((1, 2, 0, -1, 3, 1001, None))
        hybrid = self.chance(0.3)
        rmodel = self.pick((None, None, RERANKER, EMBEDDERS[0], "../x"))
        valid = (table == f"{self.p}_docs" and query is not None and query.strip() != "" and k is not None
                 and n is not None and 1 <= n <= k <= 3 and rmodel in (None, RERANKER))
        cost = 1 + k if valid else 0                    # query embedding + at most k reranked pairs
        if valid and not self.take_inference(cost):
            n = -1
            valid = False
        step = Step("SELECT * FROM search(%s, %s, %s, %s, hybrid => %s, rerank_model => %s)", (table, query, k, n, hybrid, rmodel))
        return Case("search_args", [step], inference=cost if valid else 0)

    def register_args(self):
        p = self.p
        args = self.pick((
            (f"'{p}_reg'", "'body'"), (f"'{p}_reg'", "'nope'"), (f"'{p}_reg'", "'id'"), (f"'{p}_reg'", "NULL"),
            ("'nonexistent_t'", "'body'"), (f"'{p}_items'", "'v'"), (f"'{p}_reg'", "'body', 'id'"),
            (f"'{p}_reg'", "'body', embedding_column => 'body'"), (f"'{p}_reg'", "'body', key_column => 'body'"),
            (f"'{p}_reg'", "'body', key_column => 'nope'"), ("NULL", "'body'"), ("'pg_class'", "'relname'"),
            (f"'{p}_reg'", "'body', embedding_column => " + q("e" * 70) + ", create_index => false"),
            (f"'{p}_reg'", "'body', model => 'ms-marco-MiniLM-L-12-v2'"),
            (f"'{p}_reg'", "'" + "b" * 100 + "'"), (f"'{p}_reg'", "''"),
        ))
        step = Step(f"SELECT register({args[0]}, {args[1]})")
        return Case("register_args", [step], cleanup=self.register_cleanup())

    def register_cleanup(self):
        p = self.p
        # A registration is the table's embedrank_sync trigger.
        return [f"DROP TRIGGER IF EXISTS embedrank_sync ON {p}_reg", f"DROP TRIGGER IF EXISTS embedrank_sync ON {p}_items",
                f"ALTER TABLE {p}_reg DROP COLUMN IF EXISTS embedding CASCADE",
                f"ALTER TABLE {p}_reg DROP COLUMN IF EXISTS {'e' * 63} CASCADE"]

    def index_options(self):
        r = self.r
        vals = ["2", "3", "4", "16", "100", "101", "1", "0", "-1", "4", "8", "1000", "1001", "2147483648", "'16'",
                "'abc'", "1.5", "true", "''", "' 16'", "16e0", "DEFAULT", "NULL", "0x10"]
        opts = []
        for name in ("m", "ef_construction", "foo", "M", "fillfactor", "lists"):
            if self.chance({"m": 0.7, "ef_construction": 0.7}.get(name, 0.05)):
                opts.append(f"{name} = {self.pick(vals)}" if self.chance(0.95) else name)
        if self.chance(0.05) and opts:
            opts.append(opts[0])
        with_ = f" WITH ({', '.join(opts)})" if opts or self.chance(0.3) else ""
        opclass = self.pick(OPCLASSES[:4]) if self.chance(0.9) else self.pick(OPCLASSES[4:])
        if self.chance(0.8):
            step = Step(f"CREATE INDEX {self.p}_tmp_idx ON {self.p}_items USING embedrank_hnsw (v {opclass}){with_}")
            return Case("index_options", [step], cleanup=[f"DROP INDEX IF EXISTS {self.p}_tmp_idx"])
        # Change the live index's options: later inserts and scans must keep working.
        steps = [Step(f"ALTER INDEX {self.p}_items_idx " + (f"SET ({', '.join(opts)})" if opts else "RESET (m, ef_construction)"))]
        steps.append(Step(f"INSERT INTO {self.p}_items (v) SELECT %s::vector FROM generate_series(1, 5)", (self.valid_vector(),)))
        steps.append(Step(f"SELECT id FROM {self.p}_items ORDER BY v <-> %s LIMIT 5", (self.valid_vector(),)))
        return Case("index_options", steps)

    def index_ddl(self):
        p = self.p
        ddl = self.pick((
            f"CREATE INDEX {p}_tmp_idx ON {p}_any USING embedrank_hnsw (v vector_l2_ops)",          # no typmod
            f"CREATE INDEX {p}_tmp_idx ON {p}_wide USING embedrank_hnsw (v vector_l2_ops)",         # 2001 dims
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw (id)",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw (v vector_l2_ops, v vector_l2_ops)",
            f"CREATE UNIQUE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw (v vector_l2_ops)",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw (v vector_l2_ops) INCLUDE (id)",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw (v vector_cosine_ops) WHERE id % 2 = 0",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw ((v || v) vector_l2_ops)",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw ((v::vector(3)) vector_ip_ops)",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw ((subvector(v, 1, 2)::vector(2)) vector_l1_ops)",
            f"CREATE INDEX CONCURRENTLY {p}_tmp_idx ON {p}_items USING embedrank_hnsw (v vector_cosine_ops)",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw (v vector_l2_ops DESC)",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items USING embedrank_hnsw (v vector_l2_ops NULLS FIRST)",
            f"CREATE INDEX {p}_tmp_idx ON {p}_typed USING embedrank_hnsw (v vector_cosine_ops)",
            f"REINDEX INDEX {p}_items_idx", f"REINDEX INDEX CONCURRENTLY {p}_items_idx",
            f"CLUSTER {p}_items USING {p}_items_idx",
            f"SELECT * FROM {p}_items WHERE v = '[1,2,3]' ORDER BY v <-> '[1,2,3]' LIMIT 2",
            f"ALTER TABLE {p}_items ALTER COLUMN v TYPE vector(4)", f"ALTER TABLE {p}_items ALTER COLUMN v TYPE vector",
            f"ALTER TABLE {p}_items ALTER COLUMN v TYPE vector(3) USING v", f"ALTER TABLE {p}_cos ALTER COLUMN v TYPE real[]",
            f"CREATE INDEX {p}_tmp_idx ON {p}_items (v)", f"SELECT DISTINCT v FROM {p}_items ORDER BY v LIMIT 5",
            f"SELECT v, count(*) FROM {p}_items GROUP BY v ORDER BY 2 DESC LIMIT 3",
            f"SELECT a.id FROM {p}_items a JOIN {p}_cos b ON a.v = b.v LIMIT 5",
            f"ANALYZE {p}_items", f"ANALYZE {p}_w2000",
        ))
        return Case("index_ddl", [Step(ddl)],
                    cleanup=[f"DROP INDEX IF EXISTS {p}_tmp_idx", f"TRUNCATE {p}_typed"])

    def scans(self):
        r = self.r
        op = self.pick(("<->", "<->", "<=>", "<#>", "<+>"))
        table = f"{self.p}_items" if op == "<->" else f"{self.p}_{ {'<=>': 'cos', '<#>': 'ip', '<+>': 'l1'}[op] }"
        k = r.random()
        if k < 0.5:
            qv = self.valid_vector() if self.chance(0.6) else self.operand()
        elif k < 0.6:
            qv = None
        else:
            qv = self.pick(("[0,0,0]", "[3e38,3e38,3e38]", "[-3e38,-3e38,-3e38]", "[1e-45,0,0]", "[3e38,-3e38,3e38]",
                            "[1,2]", "[1,2,3,4]", "[1e-38,1e-38,1e-38]", "[1e19,1e19,1e19]", "[-1e19,1e19,0]"))
        limit = self.pick((1, 5, 10, 40, 100, 1000, 0, None, 100000))
        where = self.pick(("", "", "", "WHERE id % 7 = 0", "WHERE id < 0", "WHERE v IS NOT NULL", "WHERE id > 10"))
        if op == "<->" and self.chance(0.2):
            table = f"{self.p}_tall"
        sql = f"SELECT id FROM {table} {where} ORDER BY v {op} %s::vector LIMIT %s"
        x = r.random()
        if x < 0.15:
            sql = f"SELECT count(*) FROM (SELECT id FROM {table} {where} ORDER BY v {op} %s::vector LIMIT %s) s"
        elif x < 0.2:
            sql = f"SELECT id, v {op} %s::vector AS d FROM {table} {where} ORDER BY d LIMIT %s"
        elif x < 0.3:
            sql = f"EXPLAIN {self.pick(('', '(ANALYZE) ', '(ANALYZE, BUFFERS) ', '(GENERIC_PLAN) '))}" + sql
            if "GENERIC_PLAN" in sql:
                sql = sql.replace("%s::vector", "$1::vector").replace("LIMIT %s", "LIMIT $2")
                return Case("scans", [Step(esc_pct(sql).replace("%%", "%"))])
        elif x < 0.4:
            # a rescan per outer row, the query vector coming from the outer row (NULL, zero, extreme ones)
            sql = (f"SELECT a.id, s.id FROM {table} a CROSS JOIN LATERAL (SELECT b.id FROM {table} b {esc_pct(where.replace('id', 'b.id'))} "
                   f"ORDER BY b.v {op} a.v LIMIT %s) s WHERE a.id %% %s = 0")
            return Case("scans", [Step(sql, (self.pick((1, 3, 10, 0)), r.randint(3, 30)))])
        elif x < 0.45:
            return Case("scans", [Step(esc_pct(sql), (qv, limit), binary=True)])
        return Case("scans", [Step(esc_pct(sql), (qv, limit))])

    def index_vs_exact(self):
        """Differential: an index scan (iterative, unbounded) returns exactly the rows of an exact scan,
        over the rows pgvector indexes (non-NULL; under cosine, float8 norm > 0)."""
        p = self.p
        table, op, cos = self.pick(((f"{p}_items", "<->", False), (f"{p}_cos", "<=>", True), (f"{p}_ip", "<#>", False),
                                    (f"{p}_l1", "<+>", False), (f"{p}_tall", "<->", False), (f"{p}_w2000", "<=>", True)))
        if table.endswith("w2000"):
            qv = "[" + ",".join(str(self.r.randint(-9, 9)) for _ in range(2000)) + "]"
        else:
            qv = self.valid_vector() if self.chance(0.5) else self.pick((
                "[0,0,0]", "[3e38,3e38,3e38]", "[1e-45,0,0]", "[1e-30,1e-30,0]", "[2e19,2e19,2e19]", "[-3e38,1,1]",
                "[1e-20,1e-20,1e-20]", self.operand()))
        where = "WHERE v IS NOT NULL" + (" AND vector_norm(v) > 0" if cos else "")
        sql = f"SELECT id FROM {table} {where} ORDER BY v {op} %s::vector LIMIT 100000"
        return Case("index_vs_exact", [Step(sql, (qv,), compare=True)])

    def transactions(self):
        """Several statements in one simple-query string: aborted inserts, savepoints, cursors."""
        p, r = self.p, self.r
        t = self.pick((f"{p}_items", f"{p}_cos", f"{p}_tall"))
        op = {f"{p}_items": "<->", f"{p}_cos": "<=>", f"{p}_tall": "<->"}[t]
        v = self.valid_vector()
        scan = f"SELECT id FROM {t} ORDER BY v {op} {q(v)} LIMIT 5"
        k = r.random()
        if k < 0.3:
            body = f"INSERT INTO {t} (v) SELECT {q(self.valid_vector())}::vector FROM generate_series(1, {r.randint(1, 50)}); {scan}; ROLLBACK"
        elif k < 0.5:
            body = (f"SAVEPOINT a; INSERT INTO {t} (v) VALUES ({q(self.valid_vector())}); ROLLBACK TO a; "
                    f"INSERT INTO {t} (v) VALUES ({q(self.operand())}); {scan}; COMMIT")
        elif k < 0.8:
            fetches = "; ".join(self.pick(("FETCH 3 FROM c", "FETCH BACKWARD 1 FROM c", "FETCH ABSOLUTE 2 FROM c",
                                           "FETCH ALL FROM c", "MOVE 100 FROM c", "FETCH PRIOR FROM c", "FETCH FIRST FROM c",
                                           "FETCH LAST FROM c", "FETCH RELATIVE -1 FROM c"))
                                for _ in range(r.randint(1, 4)))
            body = f"DECLARE c {self.pick(('', 'SCROLL ', 'NO SCROLL '))}CURSOR FOR {scan.replace('LIMIT 5', self.pick(('', 'LIMIT 20')))}; {fetches}; COMMIT"
        else:
            iso = self.pick(("ISOLATION LEVEL SERIALIZABLE", "ISOLATION LEVEL REPEATABLE READ", "READ ONLY"))
            body = f"SET TRANSACTION {iso}; {scan}; DELETE FROM {t} WHERE id = (SELECT max(id) FROM {t}); {scan}; COMMIT"
        return Case("transactions", [Step("BEGIN; " + body)], cleanup=["ROLLBACK"])

    def wide_graph(self):
        """2000-dimension vectors (an element and its neighbour list on separate pages) and an m = 100 graph."""
        p, r = self.p, self.r
        k = r.random()
        if k < 0.4:
            n = self.pick((2000, 2000, 2000, 1999, 2001))
            vals = [self.pick(("1", "-1", "0", "0.5", "3e38", "1e-45")) if self.chance(0.1) else str(r.randint(-9, 9)) for _ in range(n)]
            return Case("wide_graph", [Step(f"INSERT INTO {p}_w2000 (v) VALUES (%s)", ("[" + ",".join(vals) + "]",))])
        if k < 0.7:
            qv = "[" + ",".join(str(r.randint(-9, 9)) for _ in range(2000)) + "]"
            return Case("wide_graph", [Step(f"SELECT id FROM {p}_w2000 ORDER BY v <=> %s LIMIT %s", (qv, self.pick((1, 5, 50))))])
        if k < 0.8:
            return Case("wide_graph", [Step(f"DELETE FROM {p}_w2000 WHERE id %% %s = 0", (r.randint(2, 5),))])
        if k < 0.9:
            return Case("wide_graph", [Step(self.pick((f"VACUUM {p}_w2000", f"VACUUM {p}_tall")))])
        lvl = self.pick((0, 1, 5, 11, 16))
        return Case("wide_graph", [Step(f"SET embedrank.hnsw_test_min_level = {lvl}"),
                                   Step(f"INSERT INTO {p}_tall (v) VALUES (%s), (%s)", (self.valid_vector(), self.operand())),
                                   Step(f"SELECT id FROM {p}_tall ORDER BY v <-> %s LIMIT 10", (self.valid_vector(),))],
                    cleanup=["RESET embedrank.hnsw_test_min_level"])

    def docs_writes(self):
        """Writes to the registered table: the trigger (precomputed embeddings, NULL texts), backfill."""
        p, r = self.p, self.r
        k = r.random()
        i = r.randint(100, 400)
        if k < 0.35:
            emb = self.pick(("384", "384", "383", "null", "zero", "3"))
            if emb == "384":
                vec = "[" + ",".join(f"{r.gauss(0, 1):.3f}" for _ in range(384)) + "]"
            elif emb == "383":
                vec = "[" + ",".join(["1"] * 383) + "]"
            elif emb == "zero":
                vec = "[" + ",".join(["0"] * 384) + "]"
            elif emb == "3":
                vec = "[1,2,3]"
            else:
                vec = None
            body = self.weird_text(allow_long=False)
            if vec is None and body is not None and not self.take_inference(1):
                body = None                                 # a NULL text embeds to NULL without the model
            cost = int(vec is None and body is not None)
            return Case("docs_writes", [Step(f"INSERT INTO {p}_docs (id, body, embedding) VALUES (%s, %s, %s) "
                                             "ON CONFLICT (id) DO NOTHING", (i, body, vec))], inference=cost)
        if k < 0.5:
            return Case("docs_writes", [Step(f"UPDATE {p}_docs SET body = NULL WHERE id %% %s = 0", (r.randint(3, 9),))])
        if k < 0.6:
            return Case("docs_writes", [Step(f"UPDATE {p}_docs SET embedding = NULL WHERE id = %s", (i,))])
        if k < 0.75:
            return Case("docs_writes", [Step(f"DELETE FROM {p}_docs WHERE id = %s OR id > 390", (i,))])
        # backfill embeds the rows with a text and no embedding: at most the table's ~300 ids, usually none
        batch = self.pick((1, 2, 256, 0, -1, 10001, None))
        cost = 20 if batch is not None and 1 <= batch <= 10000 else 0
        if cost and not self.take_inference(cost):
            batch, cost = 0, 0
        return Case("docs_writes", [Step(self.pick((f"CALL backfill('{p}_docs', %s)", "CALL backfill('nonexistent_t', %s)",
                                                    f"CALL backfill('{p}_items', %s)")), (batch,))], inference=cost)

    def cancel_inference(self):
        """A statement_timeout that fires while a model runs (at one or two threads)."""
        n = 40
        if not self.take_inference(5):
            return Case("cancel_inference", [Step("SELECT embed(NULL::text[])")])
        threads = 2 if self.chance(0.2) else 1   # 2: a model reload now and after the RESET (~1 s)
        fn = self.pick((f"embed(array_fill('word '::text, ARRAY[{n}]))",
                        f"rerank('query', array_fill('a passage'::text, ARRAY[{n}]))"))
        return Case("cancel_inference", [Step(f"SET embedrank.threads = {threads}"),
                                         Step(f"SET statement_timeout = {self.pick((1, 20, 60))}"),
                                         Step(f"SELECT count(*) FROM (SELECT {fn}) s", allow_timeout=True)],
                    cleanup=[f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}", "RESET embedrank.threads"], inference=5)

    def graph_writes(self):
        r = self.r
        table = self.pick((f"{self.p}_items", f"{self.p}_items", f"{self.p}_cos", f"{self.p}_ip", f"{self.p}_l1"))
        k = r.random()
        if k < 0.55:
            n = r.randint(1, 4)
            vals = tuple(self.valid_vector() if self.chance(0.6) else self.operand() for _ in range(n))
            return Case("graph_writes", [Step(f"INSERT INTO {table} (v) VALUES " + ",".join(["(%s::vector)"] * n), vals)])
        if k < 0.7:
            return Case("graph_writes", [Step(f"UPDATE {table} SET v = %s::vector WHERE id %% %s = 0",
                                              (self.valid_vector(), r.randint(5, 40)))])
        if k < 0.85:
            return Case("graph_writes", [Step(f"DELETE FROM {table} WHERE id %% %s = %s", (r.randint(2, 9), r.randint(0, 3)))])
        if k < 0.95:
            return Case("graph_writes", [Step(f"VACUUM {table}")])
        if k < 0.98:
            return Case("graph_writes", [Step(f"VACUUM (INDEX_CLEANUP ON) {table}")])
        return Case("graph_writes", [Step(f"TRUNCATE {table}"),             # an empty graph, then refilled
                                     Step(f"SELECT id FROM {table} ORDER BY v <-> %s LIMIT 3", (self.valid_vector(),)),
                                     Step(f"INSERT INTO {table} (v) SELECT %s::vector FROM generate_series(1, 20)",
                                          (self.valid_vector(),))])

    def settings(self):
        name, vals = self.pick(SETTINGS)
        val = self.pick(vals)
        steps = [Step(f"SET {name} = {val}" if self.chance(0.9) else f"SET {name} TO {val}")]
        if self.chance(0.3):
            steps = [Step("SELECT set_config(%s, %s, %s)", (name, val.strip("'"), self.chance(0.5)))]
        cleanup = []
        if name not in PERSISTENT_SETTINGS:
            # A probe under the setting, then back to the defaults (no model reloads at other thread counts).
            if name in ("force_parallel_mode", "debug_parallel_query"):
                steps.append(Step(self.pick(PARALLEL_PROBES).replace("{p}", self.p)))
            if name in ("embedrank.embedding_model", "embedrank.rerank_model", "embedrank.model_dir"):
                probe = self.pick(("SELECT embed(NULL::text)", "SELECT * FROM models()",
                                   "SELECT embed('a', NULL, 'bad')", "SELECT * FROM rerank(NULL, ARRAY['a'])",
                                   "SELECT current_setting(%s)"))
                steps.append(Step(probe, (name,) if "%s" in probe else None))
            cleanup.append("RESET ALL")
        elif self.chance(0.5):
            steps.append(Step(esc_pct(f"SELECT id FROM {self.p}_items WHERE id % 3 = 0 ORDER BY v <-> %s LIMIT 20"),
                              (self.valid_vector(),)))
        return Case("settings", steps, cleanup=cleanup)

    def ort_library(self):
        """A fresh backend whose ONNX Runtime library setting points at something that is not one."""
        path = self.pick(("/nonexistent/libonnxruntime.so", "/etc/passwd", "/dev/null", "/tmp", "relative.so", ""))
        return Case("ort_library", [Step("SET embedrank.onnxruntime_library = %s" % q(path)), Step("SELECT embed('a')")],
                    newconn=True)

    def next_case(self):
        x = self.r.random() * self.total_weight
        for fn, w in self.families:
            x -= w
            if x <= 0:
                return fn()
        return self.families[0][0]()


class null_array(int):
    """A text[] of n NULLs, built by the server (array_fill) instead of sent by the client."""

    def sql(self):
        return f"array_fill(NULL::text, ARRAY[{int(self)}])"


# A REINDEX CONCURRENTLY that fails (e.g. under embedrank.hnsw_test_vacuum_stop_after, whose stop also
# hits the validation's bulk delete) leaves an invalid *_ccnew index that every later insert may have to
# maintain: drop them, as an administrator would.
DROP_INVALID_INDEXES = """DO $$ DECLARE i regclass; BEGIN
  FOR i IN SELECT indexrelid::regclass FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
           WHERE NOT x.indisvalid AND c.relname LIKE '{p}\\_%' LOOP
    EXECUTE format('DROP INDEX %s', i);
  END LOOP; END $$"""


INDEX_SCAN_SETTINGS = ("SET enable_seqscan = off", "SET enable_indexscan = on", "SET embedrank.hnsw_iterative_scan = on",
                       "SET embedrank.hnsw_max_scan_tuples = 2000000000")
EXACT_SCAN_SETTINGS = ("SET enable_seqscan = on", "SET enable_indexscan = off", "SET enable_bitmapscan = off")
SCAN_SETTINGS_RESET = ("RESET enable_seqscan", "RESET enable_indexscan", "RESET enable_bitmapscan",
                       "RESET embedrank.hnsw_iterative_scan", "RESET embedrank.hnsw_max_scan_tuples")


def esc_pct(sql):
    """Double the % of a modulo operator in SQL that also has %s placeholders."""
    return sql.replace("% ", "%% ")


VECTOR_OID = 0  # set per database by setup()
HALFVEC_OID = 0
SPARSEVEC_OID = 0


# --------------------------------------------------------------------------------------------------
def setup(conn, p="fz"):
    """Tables the cases use: graphs with one index per operator class, a registered table."""
    global VECTOR_OID, HALFVEC_OID, SPARSEVEC_OID
    conn.execute("CREATE EXTENSION IF NOT EXISTS pg_embedrank")
    VECTOR_OID = conn.execute("SELECT 'embedrank.vector'::regtype::oid").fetchone()[0]
    HALFVEC_OID = conn.execute("SELECT 'embedrank.halfvec'::regtype::oid").fetchone()[0]
    SPARSEVEC_OID = conn.execute("SELECT 'embedrank.sparsevec'::regtype::oid").fetchone()[0]
    rng = random.Random(7)

    def v():
        return "[" + ",".join(f"{rng.gauss(0, 1):.4f}" for _ in range(DIMS)) + "]"

    for t, opclass in (("items", "vector_l2_ops"), ("cos", "vector_cosine_ops"), ("ip", "vector_ip_ops"), ("l1", "vector_l1_ops")):
        conn.execute(f"CREATE TABLE {p}_{t} (id serial PRIMARY KEY, v vector({DIMS}))")
        with conn.cursor() as cur:
            cur.executemany(f"INSERT INTO {p}_{t} (v) VALUES (%s)", [(v(),) for _ in range(60)])
        conn.execute(f"INSERT INTO {p}_{t} (v) VALUES (NULL), ('[0,0,0]'), ('[3e38,3e38,3e38]'), ('[-3e38,1,1e-45]')")
        conn.execute(f"CREATE INDEX {p}_{t}_idx ON {p}_{t} USING embedrank_hnsw (v {opclass}) WITH (m = 4, ef_construction = 8)")
    conn.execute(f"CREATE TABLE {p}_tall (id serial PRIMARY KEY, v vector({DIMS}))")
    conn.execute(f"INSERT INTO {p}_tall (v) SELECT v FROM {p}_items")
    conn.execute(f"CREATE INDEX {p}_tall_idx ON {p}_tall USING embedrank_hnsw (v vector_l2_ops) WITH (m = 100, ef_construction = 200)")
    conn.execute(f"CREATE TABLE {p}_w2000 (id serial PRIMARY KEY, v vector(2000))")
    conn.execute(f"INSERT INTO {p}_w2000 (v) SELECT array_fill((i % 7)::real, ARRAY[2000])::vector FROM generate_series(1, 30) i")
    conn.execute(f"CREATE INDEX {p}_w2000_idx ON {p}_w2000 USING embedrank_hnsw (v vector_cosine_ops)")
    conn.execute(f"CREATE TABLE {p}_sp (id serial PRIMARY KEY, v sparsevec(30522))")
    conn.execute(f"INSERT INTO {p}_sp (v) SELECT format('{{%s}}/30522', string_agg(format('%s:%s', 1 + (i * 7919 + g * 104729) % 30522, g), ','))::sparsevec"
                 f" FROM generate_series(1, 40) i, generate_series(1, 20) g GROUP BY i")
    for opclass in ("sparsevec_l2_ops", "sparsevec_ip_ops", "sparsevec_cosine_ops", "sparsevec_l1_ops"):
        conn.execute(f"CREATE INDEX ON {p}_sp USING embedrank_hnsw (v {opclass}) WITH (m = 4, ef_construction = 8)")
    conn.execute(f"CREATE TABLE {p}_typed (v vector({DIMS}))")
    conn.execute(f"CREATE TABLE {p}_any (v vector)")
    conn.execute(f"CREATE TABLE {p}_wide (v vector(2001))")
    conn.execute(f"CREATE TABLE {p}_reg (id int PRIMARY KEY, body text)")
    conn.execute(f"CREATE TABLE {p}_docs (id int PRIMARY KEY, body text)")
    conn.execute(f"SELECT register('{p}_docs', 'body')")
    # Precomputed embeddings (the trigger keeps them): no inference at setup.
    with conn.cursor() as cur:
        cur.executemany(f"INSERT INTO {p}_docs VALUES (%s, %s, %s::vector)",
                        [(i, b, "[" + ",".join(f"{rng.gauss(0, 1):.4f}" for _ in range(384)) + "]")
                         for i, b in enumerate(("Berlin has 3.5 million inhabitants.", "The Met is in New York.",
                                                "Cats sleep a lot.", "The Rhine flows through Basel.", "", "\u00e9t\u00e9"))])
    # Scans of the graph tables use their indexes.
    conn.execute(f"ALTER DATABASE {conn.info.dbname} SET enable_seqscan = off")
    # RESET ALL returns to these, so the fuzz's ERRORs stay out of the server log (see Runner.connect).
    conn.execute(f"ALTER DATABASE {conn.info.dbname} SET log_min_messages = fatal")
    conn.execute(f"ALTER DATABASE {conn.info.dbname} SET log_min_error_statement = panic")


class Runner:
    def __init__(self, dbname, seed, max_inference, log=None, prefix="fz", check_log=True, check_index=False):
        self.dbname, self.log, self.check_log = dbname, log, check_log
        self.gen = Generator(seed, max_inference, prefix, check_index)
        self.p = prefix
        self.outcomes = collections.Counter()           # 'ok' or SQLSTATE
        self.by_family = collections.defaultdict(collections.Counter)
        self.family_seconds = collections.Counter()
        self.client_examples = []                       # inputs psycopg refused to send
        self.current = None                             # (case, start) while a case runs
        self.hung = None                                # the case the watchdog terminated
        self.done = False
        self.step_conn = None                           # the connection of the running step
        self.failures = []                              # (kind, family, step, sqlstate, message)
        self.failure_count = collections.Counter()
        self.crashes = 0
        self.inputs = 0
        self.inference = 0
        self.conn = None
        self.start_time = None
        self.log_path = None
        self.log_offset = 0

    def connect(self):
        c = psycopg.connect(dbname=self.dbname, options=SEARCH_PATH, autocommit=True)
        register_raw(c)
        c.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
        c.execute("SET client_min_messages = error")
        # Tens of thousands of ERRORs (with their statements) would fill the server log; a crash is
        # still logged by the postmaster, whatever this backend's setting.
        c.execute("SET log_min_messages = fatal")
        c.execute("SET log_min_error_statement = panic")
        return c

    def server_state(self):
        with psycopg.connect(dbname=self.dbname, autocommit=True) as c:
            start = c.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
            log_path, size = None, 0
            try:
                data = c.execute("SELECT current_setting('data_directory')").fetchone()[0]
                path = self.log or os.path.join(data, "server.log")
                size = c.execute("SELECT (pg_stat_file(%s, true)).size", (path,)).fetchone()[0]
                if size is not None:
                    log_path = path
            except psycopg.Error:
                pass
            return start, log_path, size or 0

    def new_log_lines(self):
        if not self.log_path or not self.check_log:
            return []
        with psycopg.connect(dbname=self.dbname, autocommit=True) as c:
            size = c.execute("SELECT (pg_stat_file(%s, true)).size", (self.log_path,)).fetchone()[0] or 0
            if size <= self.log_offset:
                return []
            text = c.execute("SELECT pg_read_binary_file(%s, %s, %s, true)",
                             (self.log_path, self.log_offset, size - self.log_offset)).fetchone()[0]
        self.log_offset = size
        return [ln for ln in bytes(text).decode("utf-8", "replace").splitlines() if any(p in ln for p in BAD_LOG_PATTERNS)]

    def fail(self, kind, family, step, sqlstate="", message=""):
        self.failure_count[kind] += 1
        if len(self.failures) < 100:
            self.failures.append({"kind": kind, "family": family, "input": step.describe(), "sqlstate": sqlstate,
                                  "message": message[:500]})

    def run_case(self, case):
        t0 = time.perf_counter()
        self.current = (case, time.time())
        try:
            self._run_case(case)
        finally:
            self.current = None
            self.family_seconds[case.family] += time.perf_counter() - t0

    def watchdog(self):
        """A case past HANG_S (statement_timeout did not stop it): report it, terminate its backend."""
        while not self.done:
            time.sleep(2)
            cur = self.current
            if cur is None or time.time() - cur[1] < HANG_S or self.hung is cur[0]:
                continue
            self.hung = cur[0]
            self.fail("hang", cur[0].family, cur[0].steps[0], "", f"still running after {HANG_S} s")
            # A backend blocked sending an ERROR holds interrupts (pg_terminate_backend waits for it):
            # shutting the socket down frees both sides.
            conn = self.step_conn
            try:
                if conn is not None:
                    socket.socket(fileno=os.dup(conn.pgconn.socket)).shutdown(socket.SHUT_RDWR)
            except OSError as e:
                print(f"fuzz: watchdog could not shut the hung connection down: {e}", file=sys.stderr)

    def _run_case(self, case):
        own = self.connect() if case.newconn else None
        try:
            for step in case.steps:
                self.run_step(case.family, step, own)
        finally:
            if own is not None:
                try:
                    own.close()
                except psycopg.Error:
                    pass
        if case.cleanup:
            self.cleanup(case.cleanup)

    def compare_scans(self, family, step, conn):
        """Index scan vs exact scan of one query: the same set of rows, or the same ERROR."""
        out = []
        for settings in (INDEX_SCAN_SETTINGS, EXACT_SCAN_SETTINGS):
            for s in settings:
                conn.execute(s)
            try:
                # prepare=False: a cached generic plan ignores enable_*, and the exact run would reuse
                # the index scan's plan.
                out.append(("ok", sorted(r[0] for r in conn.execute(step.sql, step.params, prepare=False))))
            except psycopg.Error as e:
                if conn.broken:
                    raise
                out.append((e.sqlstate, e))
            finally:
                if not conn.broken:
                    for s in SCAN_SETTINGS_RESET:
                        conn.execute(s)
        (a, ra), (b, rb) = out
        if a != b:
            self.fail("index/exact mismatch", family, step, a if a != "ok" else b, f"index scan: {a}, exact scan: {b}")
        elif a == "ok" and ra != rb:
            missing, extra = sorted(set(rb) - set(ra)), sorted(set(ra) - set(rb))
            self.fail("index/exact mismatch", family, step, "", f"index scan {len(ra)} rows, exact scan {len(rb)}; "
                      f"missing from the index scan: ids {missing[:10]}, only in the index scan: {extra[:10]}")
        if a != "ok":
            raise ra

    def run_step(self, family, step, own=None):
        conn = self.step_conn = own or self.conn
        self.inputs += 1
        try:
            if step.compare:
                self.compare_scans(family, step, conn)
                self.outcomes["ok"] += 1
                self.by_family[family]["ok"] += 1
                return True
            if step.copy is not None:
                with conn.cursor() as cur:
                    with cur.copy(step.sql) as cp:
                        cp.write(step.copy)
            elif step.params is None:
                conn.execute(step.sql, binary=step.binary)
            else:
                conn.execute(step.sql, step.params, binary=step.binary)
            self.outcomes["ok"] += 1
            self.by_family[family]["ok"] += 1
            return True
        except psycopg.Error as e:
            if conn.broken or conn.closed or e.sqlstate is None:
                if isinstance(e, (psycopg.OperationalError, psycopg.InterfaceError)) or conn.broken:
                    if self.hung is not None and self.current is not None and self.hung is self.current[0]:
                        self.outcomes["HANG_TERMINATED"] += 1        # already reported by the watchdog
                    else:
                        self.crashes += 1
                        self.outcomes["LOST_CONNECTION"] += 1
                        self.fail("lost connection", family, step, "", str(e))
                    if own is None:
                        self.reconnect()
                    return False
                # Refused on the client side (e.g. psycopg's own dumpers): not an input the server saw.
                self.outcomes["client:" + type(e).__name__] += 1
                self.by_family[family]["client"] += 1
                if len(self.client_examples) < 10:
                    self.client_examples.append({"family": family, "input": step.describe(), "error": str(e)[:300]})
                return False
            st = e.sqlstate
            self.outcomes[st] += 1
            self.by_family[family][st] += 1
            msg = e.diag.message_primary or ""
            if st.startswith("XX") and st not in step.allow_xx:
                self.fail("internal error", family, step, st, msg)
            elif st == "57014" and "statement timeout" in msg and not step.allow_timeout:
                self.fail("timeout", family, step, st, msg)
            elif not msg.strip():
                self.fail("empty message", family, step, st, msg)
            else:
                text = (msg + " " + (e.diag.message_detail or "") + " " + (e.diag.message_hint or "")).lower()
                seen = (step.sql + repr(step.params) + repr(step.copy)).lower()
                for pat in BAD_MESSAGE_PATTERNS:
                    if pat in text and pat not in seen:
                        self.fail("rust-internal message", family, step, st, msg + " | " + (e.diag.message_detail or ""))
                        break
            if e.diag.severity not in ("ERROR", None):
                self.fail("severity " + str(e.diag.severity), family, step, st, msg)
            return False

    def reconnect(self):
        for _ in range(60):
            try:
                self.conn = self.connect()
                return
            except psycopg.OperationalError:
                time.sleep(1)
        raise RuntimeError("server did not come back")

    def cleanup(self, sqls):
        for s in sqls:
            try:
                self.conn.execute(s)
            except psycopg.Error as e:
                if self.conn.broken:
                    self.crashes += 1
                    self.reconnect()
                else:
                    print(f"fuzz: cleanup {s!r} failed: {e}", file=sys.stderr)

    def check_server(self):
        start, _, _ = self.server_state()
        if start != self.start_time:
            self.crashes += 1
            self.fail("postmaster restarted", "server", Step("pg_postmaster_start_time()"), "", f"{self.start_time} -> {start}")
            self.start_time = start
        for line in self.new_log_lines():
            self.crashes += 1
            self.fail("server log", "server", Step("server log"), "", line)

    def housekeeping(self):
        """Keep the graphs and tables small and the settings at their defaults (not counted as inputs)."""
        p = self.p
        sqls = ["RESET ALL", f"TRUNCATE {p}_typed, {p}_any", DROP_INVALID_INDEXES.replace("{p}", p)]
        sqls.append(f"DELETE FROM {p}_docs WHERE id >= 100 AND id NOT IN (SELECT id FROM {p}_docs WHERE id >= 100 ORDER BY id LIMIT 20)")
        sqls.append(f"DELETE FROM {p}_w2000 WHERE id IN (SELECT id FROM {p}_w2000 ORDER BY id DESC OFFSET 100)")
        for t in ("items", "cos", "ip", "l1", "tall"):
            sqls.append(f"DELETE FROM {p}_{t} WHERE id IN (SELECT id FROM {p}_{t} ORDER BY id DESC OFFSET 200)")
        self.cleanup(sqls)

    def run(self, count, progress_every=0, deadline=None):
        global VECTOR_OID, HALFVEC_OID, SPARSEVEC_OID
        self.start_time, self.log_path, self.log_offset = self.server_state()
        self.conn = self.connect()
        threading.Thread(target=self.watchdog, daemon=True).start()
        VECTOR_OID = self.conn.execute("SELECT 'embedrank.vector'::regtype::oid").fetchone()[0]
        HALFVEC_OID = self.conn.execute("SELECT 'embedrank.halfvec'::regtype::oid").fetchone()[0]
        SPARSEVEC_OID = self.conn.execute("SELECT 'embedrank.sparsevec'::regtype::oid").fetchone()[0]
        t0 = time.time()
        cases = 0
        while self.inputs < count:
            case = self.gen.next_case()
            cases += 1
            self.inference += case.inference
            self.run_case(case)
            if cases % 500 == 0:
                self.housekeeping()
            if cases % 2000 == 0:
                self.check_server()
            if progress_every and cases % progress_every == 0:
                el = time.time() - t0
                print(f"fuzz[{self.p}]: {self.inputs} inputs, {self.inputs / el:.0f}/s, failures {sum(self.failure_count.values())}, "
                      f"crashes {self.crashes}, inference texts {self.inference}", file=sys.stderr, flush=True)
            if deadline and time.time() > deadline:
                break
        self.elapsed = time.time() - t0
        self.done = True
        self.check_server()
        self.conn.close()
        return self.report()

    def report(self):
        return {
            "inputs": self.inputs, "seconds": round(self.elapsed, 1), "inputs_per_s": round(self.inputs / self.elapsed, 1),
            "inference_texts": self.inference, "crashes": self.crashes,
            "failures": sum(self.failure_count.values()), "failure_kinds": dict(self.failure_count),
            "outcomes": dict(self.outcomes.most_common()),
            "families": {f: dict(c.most_common()) for f, c in sorted(self.by_family.items())},
            "family_seconds": {f: round(t, 2) for f, t in self.family_seconds.most_common()},
            "failure_examples": self.failures,
            "client_side_examples": self.client_examples,
        }


def _worker(args):
    dbname, seed, count, max_inference, prefix, log, progress_every, check_log, check_index = args
    runner = Runner(dbname, seed, max_inference, log=log, prefix=prefix, check_log=check_log, check_index=check_index)
    return runner.run(count, progress_every=progress_every)


def merge(reports):
    """One report from several workers' (counts added; seconds = the slowest worker's)."""
    if len(reports) == 1:
        return reports[0]
    out = {"inputs": 0, "inference_texts": 0, "crashes": 0, "failures": 0}
    for k in out:
        out[k] = sum(r[k] for r in reports)
    out["seconds"] = max(r["seconds"] for r in reports)
    out["inputs_per_s"] = round(out["inputs"] / out["seconds"], 1)
    kinds, outcomes, fam_sec = collections.Counter(), collections.Counter(), collections.Counter()
    families = collections.defaultdict(collections.Counter)
    for r in reports:
        kinds.update(r["failure_kinds"])
        outcomes.update(r["outcomes"])
        fam_sec.update(r["family_seconds"])
        for f, c in r["families"].items():
            families[f].update(c)
    out.update({"failure_kinds": dict(kinds), "outcomes": dict(outcomes.most_common()),
                "families": {f: dict(c.most_common()) for f, c in sorted(families.items())},
                "family_seconds": {f: round(t, 2) for f, t in fam_sec.most_common()},
                "failure_examples": [e for r in reports for e in r["failure_examples"]][:100],
                "client_side_examples": [e for r in reports for e in r["client_side_examples"]][:10],
                "workers": len(reports)})
    return out


def fuzz(count, seed, max_inference=None, dbname=None, log=None, progress_every=0, workers=1, check_index=False):
    """Run `count` inputs against a fresh database (or `dbname`); returns the report dict.
    workers > 1: that many processes, each on its own tables (prefix fz<i>) with seed seed * 1000 + i."""
    if max_inference is None:
        max_inference = max(50, count // 500)
    own_db = dbname is None
    if own_db:
        dbname = "fuzz_" + uuid.uuid4().hex[:8]
        with psycopg.connect(dbname="postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{dbname}"')
    try:
        prefixes = ["fz"] if workers == 1 else [f"fz{i}" for i in range(workers)]
        seeds = [seed] if workers == 1 else [seed * 1000 + i for i in range(workers)]
        with psycopg.connect(dbname=dbname, options=SEARCH_PATH, autocommit=True) as c:
            for p in prefixes:
                setup(c, p)
        jobs = [(dbname, seeds[i], count // workers + (i < count % workers), max_inference // workers, prefixes[i], log,
                 progress_every, i == 0, check_index) for i in range(workers)]
        if workers == 1:
            reps = [_worker(jobs[0])]
        else:
            import multiprocessing
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                reps = pool.map(_worker, jobs)
        rep = merge(reps)
        rep["seed"] = seed
        rep["max_inference"] = max_inference
        return rep
    finally:
        if own_db:
            with psycopg.connect(dbname="postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def summary(rep):
    lines = [f"{rep['inputs']} inputs in {rep['seconds']} s ({rep['inputs_per_s']}/s), seed {rep['seed']}, "
             f"workers {rep.get('workers', 1)}, "
             f"inference texts {rep['inference_texts']} (cap {rep['max_inference']}), crashes {rep['crashes']}, "
             f"failures {rep['failures']} {rep['failure_kinds'] or ''}",
             "outcomes: " + ", ".join(f"{k} {v}" for k, v in rep["outcomes"].items())]
    for f in rep["failure_examples"][:30]:
        lines.append(f"  FAIL {f['kind']} [{f['family']}] {f['sqlstate']} {f['message']!r}\n       input: {f['input']}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--max-inference", type=int, default=None, help="texts that may reach a model (default count/500, at least 50)")
    ap.add_argument("--dbname", default=None)
    ap.add_argument("--log", default=None, help="server log (default: <data_directory>/server.log)")
    ap.add_argument("--json", default=None)
    ap.add_argument("--workers", type=int, default=1, help="parallel connections (processes), each on its own tables")
    ap.add_argument("--check-index", action="store_true",
                    help="add differential inputs: index scan vs exact scan of the same query must return the same rows")
    args = ap.parse_args()
    rep = fuzz(args.count, args.seed, args.max_inference, args.dbname, args.log, progress_every=5000, workers=args.workers,
               check_index=args.check_index)
    print(summary(rep))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rep, f, indent=1, default=str)
    sys.exit(1 if rep["failures"] or rep["crashes"] else 0)


if __name__ == "__main__":
    main()
