"""In-database inference through real drivers: embed()/rerank() via psycopg 3 (pgvector adapter) and
SQLAlchemy, huge inputs, and cancellation (statement_timeout, pg_cancel_backend) of long inference calls.

Run: scripts/test.sh client   (starts its own server), or against a running server, e.g. the demo's:
  PGHOST=$PWD/.pgrun PGPORT=28815 PGUSER=postgres .venv/bin/python -m pytest -q tests/client
"""
import json
import pathlib
import threading
import time

import numpy as np
import psycopg
import pytest

BERLIN_Q = "How many people live in Berlin?"
BERLIN = "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers."
NEW_YORK = "New York City is famous for the Metropolitan Museum of Art."
# ONNX Runtime's Python reference on this machine (scripts/test.sh generates it: int8 digits depend on the CPU).
FIXTURE = pathlib.Path(__file__).resolve().parents[2] / ".cache" / "parity" / "fixture.json"


def reference_logit(query, doc):
    cases = json.loads(FIXTURE.read_text())["rerank"]
    return next(c["logit"] for c in cases if c["query"] == query and c["doc"] == doc)


def test_embed_returns_unit_numpy_vector(conn):
    v = conn.execute("SELECT embedrank.embed(%s)", ("a sentence to embed",)).fetchone()[0]
    assert isinstance(v, np.ndarray) and v.dtype == np.float32
    assert v.shape == (384,)
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    # Same text, same vector (one sequence per ONNX run: no batch dependence).
    again = conn.execute("SELECT embedrank.embed(%s)", ("a sentence to embed",), binary=True).fetchone()[0]
    assert np.array_equal(v, again)


def test_embed_array_keeps_order_and_nulls(conn):
    texts = ["first text", None, "a much longer second text about something else entirely", "x"]
    got = conn.execute("SELECT embedrank.embed(%s::text[])", (texts,)).fetchone()[0]
    assert len(got) == 4 and got[1] is None
    for t, v in zip(texts, got):
        if t is None:
            continue
        one = conn.execute("SELECT embedrank.embed(%s)", (t,)).fetchone()[0]
        assert np.array_equal(np.asarray(v, dtype=np.float32), one), t


def test_query_embedding_is_closer_to_the_answer(conn):
    q, b, n = conn.execute(
        "SELECT embedrank.embed(%s, input_type => 'query'), embedrank.embed(%s), embedrank.embed(%s)",
        (BERLIN_Q, BERLIN, NEW_YORK),
    ).fetchone()
    doc_q = conn.execute("SELECT embedrank.embed(%s)", (BERLIN_Q,)).fetchone()[0]
    assert not np.array_equal(q, doc_q)  # the query instruction prefix is applied
    assert float(q @ b) > float(q @ n) + 0.1
    dist = conn.execute("SELECT embedrank.embed(%s, input_type => 'query') <=> %s", (BERLIN_Q, b)).fetchone()[0]
    assert dist == pytest.approx(1 - float(q @ b), abs=1e-5)


def test_rerank_orders_berlin_first(conn):
    rows = conn.execute(
        "SELECT idx, score FROM embedrank.rerank(%s, %s::text[])", (BERLIN_Q, [NEW_YORK, BERLIN])
    ).fetchall()
    assert [r[0] for r in rows] == [2, 1]
    # score = sigmoid(logit), the logit as ONNX Runtime computes it on this machine.
    assert rows[0][1] == pytest.approx(1 / (1 + np.exp(-reference_logit(BERLIN_Q, BERLIN))), abs=2.5e-4)
    assert rows[1][1] == pytest.approx(1 / (1 + np.exp(-reference_logit(BERLIN_Q, NEW_YORK))), abs=1e-5)
    assert rows[0][1] > 0.99 and rows[1][1] < 0.01
    top = conn.execute(
        "SELECT idx FROM embedrank.rerank(%s, %s::text[], top_n => 1)", (BERLIN_Q, [NEW_YORK, BERLIN])
    ).fetchall()
    assert top == [(2,)]


def test_sqlalchemy_embed_and_rerank(dsn):
    from pgvector.sqlalchemy import Vector
    from sqlalchemy import column, create_engine, func, select

    engine = create_engine(dsn)
    with engine.connect() as c:
        v = c.execute(select(func.embedrank.embed(BERLIN, type_=Vector(384)))).scalar_one()
        assert np.asarray(v).shape == (384,)
        assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
        q = c.execute(select(func.embedrank.embed(BERLIN_Q, None, "query", type_=Vector(384)))).scalar_one()
        assert float(np.dot(q, v)) > 0.5
        rr = func.embedrank.rerank(BERLIN_Q, [NEW_YORK, BERLIN]).table_valued(column("idx"), column("score"))
        rows = c.execute(select(rr.c.idx, rr.c.score)).all()
        assert [r.idx for r in rows] == [2, 1]
        assert rows[0].score > 0.99 > 0.01 > rows[1].score
    engine.dispose()


@pytest.mark.parametrize("unit", ["lorem ipsum ", "ü"])
def test_ten_megabyte_text_embeds(conn, unit):
    big = unit * (10_000_000 // len(unit.encode()))
    assert len(big.encode()) >= 9_999_000
    t0 = time.monotonic()
    v = conn.execute("SELECT embedrank.embed(%s)", (big,)).fetchone()[0]
    elapsed = time.monotonic() - t0
    assert v.shape == (384,) and np.isfinite(v).all()
    assert np.linalg.norm(v) == pytest.approx(1.0, abs=1e-5)
    assert elapsed < 10, f"embedding 10 MB took {elapsed:.1f} s"
    # Truncation at 512 tokens: any prefix longer than 512 tokens gives the same vector.
    prefix = conn.execute("SELECT embedrank.embed(%s)", (big[:6000],)).fetchone()[0]
    assert np.array_equal(v, prefix)


def test_statement_timeout_cancels_huge_embed(conn):
    conn.execute("SELECT embedrank.load('bge-small-en-v1.5')")  # model load itself is not interruptible
    conn.execute("SET statement_timeout = '1s'")
    t0 = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute("SELECT embedrank.embed(array_fill('a sentence to embed'::text, ARRAY[100000]))")
    elapsed = time.monotonic() - t0
    assert elapsed < 3.0, f"statement_timeout=1s took {elapsed:.2f} s to cancel"
    conn.execute("RESET statement_timeout")
    assert conn.execute("SELECT vector_dims(embedrank.embed('still works'))").fetchone()[0] == 384


@pytest.mark.parametrize("threads", [1, 2])
def test_pg_cancel_backend_stops_long_rerank(conn, dbname, threads):
    # threads = 2 runs the pairs on two ORT sessions at once: cancel must stop both.
    conn.execute(f"SET embedrank.threads = {threads}")
    conn.execute("SELECT embedrank.load('ms-marco-MiniLM-L-12-v2')")
    pid = conn.info.backend_pid
    passages = [f"Passage number {i} talks about the population of various European cities." for i in range(3000)]
    outcome = {}

    def worker():
        t = time.monotonic()
        try:
            conn.execute("SELECT count(*) FROM embedrank.rerank(%s, %s::text[])", (BERLIN_Q, passages))
            outcome["error"] = None
        except Exception as e:  # noqa: BLE001 - recorded and asserted below
            outcome["error"] = e
        outcome["end"] = time.monotonic()
        outcome["start"] = t

    th = threading.Thread(target=worker)
    th.start()
    with psycopg.connect(dbname=dbname, autocommit=True) as other:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            row = other.execute(
                "SELECT state FROM pg_stat_activity WHERE pid = %s AND query LIKE '%%rerank%%'", (pid,)
            ).fetchone()
            if row and row[0] == "active":
                break
            time.sleep(0.05)
        time.sleep(1.0)  # let it get deep into the ONNX runs
        assert th.is_alive(), "rerank of 3000 passages finished before it could be cancelled"
        cancelled_at = time.monotonic()
        assert other.execute("SELECT pg_cancel_backend(%s)", (pid,)).fetchone()[0]
    th.join(30)
    assert not th.is_alive()
    assert isinstance(outcome["error"], psycopg.errors.QueryCanceled), outcome["error"]
    took = outcome["end"] - cancelled_at
    assert took < 2.0, f"rerank stopped {took:.2f} s after pg_cancel_backend"
    # The connection (and the backend's model cache) is usable afterwards.
    rows = conn.execute(
        "SELECT idx FROM embedrank.rerank(%s, %s::text[])", (BERLIN_Q, [NEW_YORK, BERLIN])
    ).fetchall()
    assert [r[0] for r in rows] == [2, 1]
    assert conn.info.backend_pid == pid
