"""Search glue through real drivers: backfill (a procedure that commits per batch, resumable), the
sync trigger, search() from psycopg and SQLAlchemy, and REINDEX CONCURRENTLY of the HNSW index."""
import psycopg
import pytest

TEXTS = [
    "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
    "New York City is famous for the Metropolitan Museum of Art.",
    "A thermometer is a device that measures temperature.",
    "The ocean is a large body of salt water.",
    "Joy is a feeling of great happiness.",
] * 8  # 40 rows


def test_backfill_commits_per_batch_and_resumes(conn, dbname):
    conn.execute("CREATE TABLE bf (id int PRIMARY KEY, body text)")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO bf VALUES (%s, %s)", list(enumerate(TEXTS)))
    conn.execute("SELECT register('bf', 'body', create_index => false)")
    assert conn.execute("SELECT count(*) FROM bf WHERE embedding IS NULL").fetchone()[0] == 40
    notices = []
    pid = conn.info.backend_pid
    with psycopg.connect(dbname=dbname, autocommit=True) as other:

        def on_notice(d):
            # Cancel from a second session as soon as the first batch has committed: deterministic,
            # unlike a statement_timeout racing a fast machine.
            notices.append(d.message_primary)
            if len(notices) == 1:
                other.execute("SELECT pg_cancel_backend(%s)", (pid,))

        conn.add_notice_handler(on_notice)
        # An interrupted backfill keeps the batches it committed ...
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("CALL backfill('bf', 1)")
    done = conn.execute("SELECT count(*) FROM bf WHERE embedding IS NOT NULL").fetchone()[0]
    assert 0 < done < 40, done
    # ... and a second call finishes the rest, reporting progress per batch.
    conn.execute("CALL backfill('bf', 8)")
    assert conn.execute("SELECT count(*) FROM bf WHERE embedding IS NULL").fetchone()[0] == 0
    assert any("backfill" in n and "/" in n for n in notices), notices
    with pytest.raises(psycopg.errors.InvalidParameterValue):
        conn.execute("CALL backfill('bf', 0)")


def test_search_from_psycopg_and_sqlalchemy(conn, dsn):
    conn.execute("CREATE TABLE s (id int PRIMARY KEY, body text)")
    conn.execute("SELECT register('s', 'body')")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO s VALUES (%s, %s)", list(enumerate(TEXTS[:5])))
    rows = conn.execute("SELECT key, score FROM search('s', 'How many people live in Berlin?', k => 5, n => 2)").fetchall()
    assert rows[0][0] == "0" and len(rows) == 2 and rows[0][1] > rows[1][1]

    from sqlalchemy import create_engine, func, select

    engine = create_engine(dsn, connect_args={"options": "-c search_path=public,embedrank"})
    with engine.connect() as c:
        t = func.embedrank.search("s", "device for measuring temperature", 5, 1).table_valued("key", "score")
        assert c.execute(select(t.c.key)).scalar_one() == "2"
    engine.dispose()


def test_reindex_concurrently(conn):
    conn.execute("CREATE TABLE rc (id int PRIMARY KEY, v vector(3))")
    conn.execute("INSERT INTO rc SELECT i, ARRAY[i, i % 7, 1]::real[]::vector FROM generate_series(1, 2000) i")
    conn.execute("CREATE INDEX rc_idx ON rc USING embedrank_hnsw (v vector_l2_ops)")
    conn.execute("DELETE FROM rc WHERE id % 2 = 0")
    conn.execute("VACUUM rc")
    conn.execute("REINDEX INDEX CONCURRENTLY rc_idx")
    conn.execute("SET enable_seqscan = off")
    ids = [r[0] for r in conn.execute("SELECT id FROM rc ORDER BY v <-> '[501,4,1]' LIMIT 3")]
    assert ids == [501, 499, 503] or ids[0] == 501, ids
    assert "rc_idx" in str(conn.execute("EXPLAIN SELECT id FROM rc ORDER BY v <-> '[1,1,1]' LIMIT 3").fetchall())


def test_build_warns_up_front_when_the_graph_will_not_fit(conn):
    conn.execute("CREATE TABLE big (id int, v vector(64))")
    conn.execute("INSERT INTO big SELECT i, (SELECT array_agg(random() + 0 * g) FROM generate_series(1, 64) g)::real[]::vector FROM generate_series(1, 3000) i")
    conn.execute("ANALYZE big")
    notices = []
    conn.add_notice_handler(lambda d: notices.append((d.message_primary, d.message_hint)))
    conn.execute("SET maintenance_work_mem = '1MB'")
    conn.execute("CREATE INDEX ON big USING embedrank_hnsw (v vector_l2_ops)")
    conn.execute("RESET maintenance_work_mem")
    upfront = [n for n in notices if "needs about" in n[0]]
    assert upfront and "3000 rows" in upfront[0][0] and "SET maintenance_work_mem" in upfront[0][1], notices
    # ... and the build still completes correctly past the budget.
    conn.execute("SET enable_seqscan = off")
    assert conn.execute("SELECT count(*) FROM (SELECT id FROM big ORDER BY v <-> (SELECT v FROM big WHERE id = 7) LIMIT 5000) s").fetchone()[0] == 3000


PATTERN = """
WITH q AS MATERIALIZED (SELECT embed(%(q)s, input_type => 'query') AS v),
cand AS (SELECT id, body, embedding <=> (SELECT v FROM q) AS distance
         FROM pat ORDER BY embedding <=> (SELECT v FROM q) LIMIT %(k)s),
arr AS (SELECT array_agg(id ORDER BY distance) AS ids, array_agg(body ORDER BY distance) AS bodies FROM cand)
SELECT d.id, r.score
FROM arr
CROSS JOIN rerank(%(q)s, arr.bodies, top_n => %(n)s) r
JOIN pat d ON d.id = arr.ids[r.idx]
ORDER BY r.score DESC
"""


def test_one_statement_pattern_from_psycopg_and_sqlalchemy(conn, dsn):
    conn.execute("CREATE TABLE pat (id int PRIMARY KEY, body text)")
    conn.execute("SELECT register('pat', 'body')")
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO pat VALUES (%s, %s)", list(enumerate(TEXTS[:5])))
    params = {"q": "How many people live in Berlin?", "k": 4, "n": 2}
    rows = conn.execute(PATTERN, params).fetchall()
    assert [r[0] for r in rows][:1] == [0] and len(rows) == 2

    from sqlalchemy import create_engine, text

    engine = create_engine(dsn, connect_args={"options": "-c search_path=public,embedrank"})
    with engine.connect() as c:
        sa_sql = PATTERN.replace("%(q)s", ":q").replace("%(k)s", ":k").replace("%(n)s", ":n")
        got = c.execute(text(sa_sql), params).all()
        assert [r[0] for r in got] == [r[0] for r in rows]
    engine.dispose()


def test_search_backfill_and_sync_from_any_search_path(conn):
    conn.execute("CREATE TABLE sp (id int PRIMARY KEY, body text)")
    conn.execute("SELECT register('sp', 'body')")
    for i, path in enumerate(("public", "''", "pg_catalog")):
        conn.execute(f"SET search_path = {path}")
        with conn.cursor() as cur:  # the sync trigger
            cur.executemany("INSERT INTO public.sp VALUES (%s, %s)", [(10 * i + j, t) for j, t in enumerate(TEXTS[:5])])
        conn.execute("UPDATE public.sp SET embedding = NULL WHERE id = %s", (10 * i + 4,))
        conn.execute("CALL embedrank.backfill('public.sp')")
        assert conn.execute("SELECT count(*) FROM public.sp WHERE embedding IS NULL").fetchone()[0] == 0, path
        rows = conn.execute("SELECT content FROM embedrank.search('public.sp', 'How many people live in Berlin?', k => 15, n => 1)").fetchall()
        assert len(rows) == 1 and rows[0][0].startswith("Berlin"), (path, rows)
    conn.execute("SET search_path = public, embedrank")
