"""halfvec, bit and sparsevec through pgvector-python's adapters (psycopg 3 text and binary, SQLAlchemy's
HALFVEC, BIT and SPARSEVEC column types), as a pgvector application uses them."""
import numpy as np
import pytest
from pgvector import Bit, HalfVector


def test_halfvec_params_round_trip_text_and_binary(conn):
    v = np.array([1.5, -2.25, 0.099975586, 65504], dtype=np.float16)
    for binary in (False, True):
        got = conn.execute("SELECT %s::halfvec(4)", (HalfVector(v),), binary=binary).fetchone()[0]
        assert isinstance(got, HalfVector), (binary, got)
        assert np.array_equal(got.to_numpy(), v), (binary, got)


def test_halfvec_binary_copy_round_trip_and_distances_match_numpy(conn):
    rng = np.random.default_rng(4)
    rows = [(i, rng.standard_normal(16).astype(np.float16)) for i in range(100)]
    conn.execute("CREATE TABLE copy_h (id int, h halfvec(16))")
    with conn.cursor() as cur:
        with cur.copy("COPY copy_h (id, h) FROM STDIN WITH (FORMAT BINARY)") as cp:
            cp.set_types(["int4", "halfvec"])
            for rid, h in rows:
                cp.write_row((rid, HalfVector(h)))
    got = dict(conn.execute("SELECT id, h FROM copy_h").fetchall())
    for rid, h in rows:
        assert np.array_equal(got[rid].to_numpy(), h)
    a, b = (x.astype(np.float32) for x in (rows[0][1], rows[1][1]))
    l2, cos = conn.execute("SELECT h <-> (SELECT h FROM copy_h WHERE id = 1), h <=> (SELECT h FROM copy_h WHERE id = 1)"
                           " FROM copy_h WHERE id = 0").fetchone()
    assert l2 == pytest.approx(np.linalg.norm(a - b), rel=1e-6)
    assert cos == pytest.approx(1 - a @ b / np.linalg.norm(a) / np.linalg.norm(b), rel=1e-5)


def test_bit_params_and_binary_quantize(conn):
    # pgvector-python sends Bit values (text or binary); bit results come back as Postgres prints them.
    got = conn.execute("SELECT binary_quantize(%s::vector)", (np.array([1, 0, -1, 2], dtype=np.float32),)).fetchone()[0]
    assert got == "1001"
    for binary in (False, True):
        assert conn.execute("SELECT %s <~> %s", (Bit("1111"), Bit("1010")), binary=binary).fetchone()[0] == 2
        assert conn.execute("SELECT %s <%%> %s", (Bit("1100"), Bit("1000")), binary=binary).fetchone()[0] == 0.5
        assert conn.execute("SELECT binary_quantize(%s::halfvec) = %s", (HalfVector([0.5, -1, 0, 3]), Bit("1001")),
                            binary=binary).fetchone()[0] is True


def test_sqlalchemy_halfvec_and_bit_columns(pgvector_engine):
    from pgvector.sqlalchemy import BIT, HALFVEC
    from sqlalchemy import Integer, func, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "sa_half_items"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        embedding = mapped_column(HALFVEC(8))
        code = mapped_column(BIT(8))

    engine = pgvector_engine

    Base.metadata.create_all(engine)
    rng = np.random.default_rng(5)
    data = rng.standard_normal((200, 8)).astype(np.float16)
    with Session(engine) as s:
        s.add_all([Item(id=i, embedding=data[i], code="".join("1" if x > 0 else "0" for x in data[i]))
                   for i in range(len(data))])
        s.commit()
        q = rng.standard_normal(8).astype(np.float16)
        d = np.linalg.norm(data.astype(np.float32) - q.astype(np.float32), axis=1)
        want = list(np.argsort(d, kind="stable")[:10])
        assert s.scalars(select(Item.id).order_by(Item.embedding.l2_distance(q)).limit(10)).all() == want
        # The binary code a column stores is what binary_quantize computes from the halfvec.
        same = s.scalar(select(func.count()).where(Item.code == func.binary_quantize(Item.embedding)))
        assert same == len(data)
        back = s.get(Item, 7).embedding
        assert np.array_equal(back.to_numpy(), data[7])


def test_sparsevec_params_round_trip_text_and_binary(conn):
    from pgvector import SparseVector

    v = SparseVector({0: 1.5, 4: -2.0}, 6)
    for binary in (False, True):
        got = conn.execute("SELECT %s::sparsevec(6)", (v,), binary=binary).fetchone()[0]
        assert isinstance(got, SparseVector), (binary, got)
        assert got.indices() == [0, 4] and got.values() == [1.5, -2.0] and got.dimensions() == 6, (binary, got)
    dense = conn.execute("SELECT %s::sparsevec::vector", (v,)).fetchone()[0]
    assert np.array_equal(dense, np.array([1.5, 0, 0, 0, -2, 0], dtype=np.float32))
    assert conn.execute("SELECT %s <-> %s", (v, SparseVector({0: 1.5}, 6))).fetchone()[0] == 2.0


def test_sqlalchemy_sparsevec_column(pgvector_engine):
    from pgvector import SparseVector
    from pgvector.sqlalchemy import SPARSEVEC
    from sqlalchemy import Integer, select
    from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

    class Base(DeclarativeBase):
        pass

    class Item(Base):
        __tablename__ = "sa_sparse_items"
        id: Mapped[int] = mapped_column(Integer, primary_key=True)
        embedding = mapped_column(SPARSEVEC(5))

    engine = pgvector_engine

    Base.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Item(id=1, embedding=SparseVector({0: 1, 2: 2}, 5)), Item(id=2, embedding=SparseVector({1: 3}, 5)),
                   Item(id=3, embedding=SparseVector({0: 1, 2: 2.5}, 5))])
        s.commit()
        q = SparseVector({0: 1, 2: 2}, 5)
        assert s.scalars(select(Item.id).order_by(Item.embedding.l2_distance(q)).limit(3)).all() == [1, 3, 2]
        assert s.get(Item, 3).embedding.to_list() == [1, 0, 2.5, 0, 0]


def test_psycopg2_adapters_round_trip_every_type(dbname):
    import psycopg2
    from pgvector import HalfVector, SparseVector
    from pgvector.psycopg2 import register_vector

    conn = psycopg2.connect(dbname=dbname, options="-c search_path=public,embedrank")
    try:
        register_vector(conn)
        cur = conn.cursor()
        v = np.array([1.5, -2.0, 3e-7], dtype=np.float32)
        cur.execute("SELECT %s::vector, %s::halfvec, %s::sparsevec",
                    (v, HalfVector([1.5, -2.0, 0.5]), SparseVector({1: 2.5}, 4)))
        got_v, got_h, got_s = cur.fetchone()
        assert np.array_equal(got_v, v)
        assert got_h.to_list() == [1.5, -2.0, 0.5]
        assert got_s.to_list() == [0, 2.5, 0, 0]
    finally:
        conn.close()


def test_asyncpg_adapters_with_the_embedrank_schema_round_trip_every_type(dbname):
    import asyncio

    import asyncpg
    from pgvector import HalfVector, SparseVector
    from pgvector.asyncpg import register_vector

    async def run():
        conn = await asyncpg.connect(database=dbname, server_settings={"search_path": "public,embedrank"})
        try:
            await register_vector(conn, schema="embedrank")
            v = np.array([1.5, -2.0, 3e-7], dtype=np.float32)
            row = await conn.fetchrow("SELECT $1::vector AS v, $2::halfvec AS h, $3::sparsevec AS s",
                                      v, HalfVector([1.5, -2.0, 0.5]), SparseVector({1: 2.5}, 4))
            assert np.array_equal(row["v"], v)
            assert row["h"].to_list() == [1.5, -2.0, 0.5]
            assert row["s"].to_list() == [0, 2.5, 0, 0]
        finally:
            await conn.close()

    asyncio.run(run())
