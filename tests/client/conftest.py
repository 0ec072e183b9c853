"""Client-level tests: real drivers against a real server with pg_embedrank installed.

The server is started by scripts/test.sh (PGHOST/PGPORT/PGUSER are set there). Each test module gets
its own fresh database so tests do not see each other's tables.
"""
import os
import uuid

import psycopg
import pytest

SEARCH_PATH = "-c search_path=public,embedrank"


def _admin():
    return psycopg.connect(dbname="postgres", autocommit=True)


@pytest.fixture(scope="module")
def dbname():
    name = "client_" + uuid.uuid4().hex[:8]
    with _admin() as c:
        c.execute(f'CREATE DATABASE "{name}"')
    with psycopg.connect(dbname=name, autocommit=True) as c:
        c.execute("CREATE EXTENSION pg_embedrank")
    yield name
    with _admin() as c:
        c.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture()
def conn(dbname):
    from pgvector.psycopg import register_vector

    with psycopg.connect(dbname=dbname, options=SEARCH_PATH, autocommit=True) as c:
        register_vector(c)
        yield c


@pytest.fixture()
def dsn(dbname):
    host = os.environ.get("PGHOST", "")
    port = os.environ.get("PGPORT", "5432")
    user = os.environ.get("PGUSER", "postgres")
    return f"postgresql+psycopg://{user}@/{dbname}?host={host}&port={port}"


@pytest.fixture()
def pgvector_engine(dsn):
    """A SQLAlchemy engine on the test database that finds the types in schema embedrank and has
    pgvector-python's psycopg 3 adapters registered on every connection (numpy, HalfVector, Bit and
    SparseVector parameters)."""
    from pgvector.psycopg import register_vector
    from sqlalchemy import create_engine, event

    engine = create_engine(dsn, connect_args={"options": "-c search_path=public,embedrank"})

    @event.listens_for(engine, "connect")
    def _register(dbapi_connection, _record):
        register_vector(dbapi_connection)

    yield engine
    engine.dispose()
