"""The vector type through psycopg 3 (pgvector's adapter, text and binary) and SQLAlchemy."""
import numpy as np
import pytest


def test_params_round_trip_text_and_binary(conn):
    v = np.array([1.5, -2.25, 3e-7, 1e20], dtype=np.float32)
    for binary in (False, True):
        got = conn.execute("SELECT %s::vector(4)", (v,), binary=binary).fetchone()[0]
        assert isinstance(got, np.ndarray)
        assert np.array_equal(got, v), (binary, got)


def test_text_output_parses_back_exactly(conn):
    rng = np.random.default_rng(1)
    v = rng.standard_normal(384).astype(np.float32)
    text = conn.execute("SELECT (%s::vector)::text", (v,)).fetchone()[0]
    assert np.array_equal(np.array([float(x) for x in text.strip("[]").split(",")], dtype=np.float32), v)


def test_copy_text_and_binary_round_trip(conn):
    rng = np.random.default_rng(2)
    rows = [(i, rng.standard_normal(16).astype(np.float32)) for i in range(200)]
    conn.execute("CREATE TABLE copy_t (id int, v vector(16))")
    with conn.cursor() as cur:
        with cur.copy("COPY copy_t (id, v) FROM STDIN") as cp:
            for r in rows[:100]:
                cp.write_row(r)
        with cur.copy("COPY copy_t (id, v) FROM STDIN WITH (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "vector"])
            for r in rows[100:]:
                cp.write_row(r)
        got = {}
        with cur.copy("COPY (SELECT id, v FROM copy_t) TO STDOUT WITH (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "vector"])
            for rid, vec in cp.rows():
                got[rid] = vec
    assert len(got) == 200
    for rid, vec in rows:
        assert np.array_equal(got[rid], vec)


def test_binary_copy_rejects_wrong_dimensions(conn):
    import psycopg

    conn.execute("CREATE TABLE copy_dims (v vector(3))")
    with pytest.raises(psycopg.errors.DataException, match="expected 3 dimensions, not 2"):
        with conn.cursor() as cur:
            with cur.copy("COPY copy_dims FROM STDIN WITH (FORMAT BINARY)") as cp:
                cp.set_types(["vector"])
                cp.write_row((np.array([1, 2], dtype=np.float32),))


def test_distance_matches_numpy(conn):
    a = np.array([1, 2, 3], dtype=np.float32)
    b = np.array([4, -5, 6], dtype=np.float32)
    l2, ip, cos, l1 = conn.execute(
        "SELECT %s::vector <-> %s, %s::vector <#> %s, %s::vector <=> %s, %s::vector <+> %s", (a, b) * 4
    ).fetchone()
    assert l2 == pytest.approx(np.linalg.norm(a - b), rel=1e-6)
    assert ip == pytest.approx(-np.dot(a, b), rel=1e-6)
    assert cos == pytest.approx(1 - np.dot(a, b) / np.linalg.norm(a) / np.linalg.norm(b), rel=1e-5)
    assert l1 == pytest.approx(np.abs(a - b).sum(), rel=1e-6)


def test_sqlalchemy_vector_columns_order_by_cosine(pgvector_engine):
    from pgvector.sqlalchemy import Vector
    from sqlalchemy import Integer, func, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "sa_items"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        embedding = mapped_column(Vector(8))

    engine = pgvector_engine  # numpy parameters in func.cosine_distance(...) need the adapters

    Base.metadata.create_all(engine)
    rng = np.random.default_rng(3)
    data = rng.standard_normal((300, 8)).astype(np.float32)
    with Session(engine) as s:
        s.add_all([Item(id=i, embedding=data[i]) for i in range(len(data))])
        s.commit()
        q = rng.standard_normal(8).astype(np.float32)
        cos = 1 - data @ q / np.linalg.norm(data, axis=1) / np.linalg.norm(q)
        want = list(np.argsort(cos, kind="stable")[:10])
        by_func = s.scalars(select(Item.id).order_by(func.cosine_distance(Item.embedding, q)).limit(10)).all()
        by_op = s.scalars(select(Item.id).order_by(Item.embedding.cosine_distance(q)).limit(10)).all()
        assert by_func == want
        assert by_op == want
        back = s.get(Item, 7).embedding
        assert np.array_equal(np.asarray(back, dtype=np.float32), data[7])
