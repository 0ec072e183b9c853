"""pgvector-python's own test suite (0.4.2, from PyPI; fetched by scripts/setup.sh) against this
extension: psycopg 3, psycopg2, asyncpg, pg8000, SQLAlchemy (five drivers, sync and async), SQLModel,
Django and peewee, with vector, halfvec, bit and sparsevec columns, their operators, aggregates,
indexes and binary/text wire formats. Only the server, extension and access method names change
(see pgvector_python_adapt.py); every test must pass.

Measured against pgvector 0.8.6 in the same Postgres (2026-11-30): the same suite passes there too,
so a failure here is a difference between the two extensions (or a client library bump).
"""
import os
import pathlib
import shutil
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET

import psycopg
import pytest

import pgvector_python_adapt

REPO = pathlib.Path(__file__).resolve().parents[2]
SDIST = pathlib.Path(os.environ.get("EMBEDRANK_CACHE", REPO / ".cache")) / "pgvector-python" / "pgvector-0.4.2.tar.gz"
DB = "pgvector_python_test"  # the name the suite connects to


@pytest.fixture()
def suite_dir(tmp_path):
    if not SDIST.exists():
        pytest.fail(f"{SDIST} is missing: run scripts/setup.sh (it fetches pgvector-python's sdist from PyPI)")
    with tarfile.open(SDIST) as t:
        t.extractall(tmp_path, filter="data")
    root = tmp_path / "pgvector-0.4.2"
    pgvector_python_adapt.adapt(root / "tests")
    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
        c.execute(f"CREATE DATABASE {DB}")
        # The types live in schema embedrank; a database default is a connection setting every
        # driver of the suite honours.
        c.execute(f"ALTER DATABASE {DB} SET search_path = public, embedrank")
    yield root
    with psycopg.connect(dbname="postgres", autocommit=True) as c:
        c.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_pgvector_python_suite_passes_unchanged(suite_dir):
    junit = suite_dir / "junit.xml"
    env = dict(os.environ, PGUSER=os.environ.get("PGUSER", "postgres"))
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "tests"],
        cwd=suite_dir, env=env, capture_output=True, text=True, timeout=900,
    )
    assert junit.exists(), run.stdout[-4000:] + run.stderr[-4000:]
    suite = ET.parse(junit).getroot()
    suite = suite if suite.tag == "testsuite" else suite.find("testsuite")
    counts = {k: int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped")}
    print(f"\npgvector-python 0.4.2 suite: {counts}")
    failed = []
    for case in suite.iter("testcase"):
        for kind in ("failure", "error"):
            problem = case.find(kind)
            if problem is not None:
                failed.append(f"{case.get('classname')}.{case.get('name')}: {problem.get('message', '')[:300]}")
    assert counts["failures"] == 0 and counts["errors"] == 0, "\n".join(failed[:30]) + "\n" + run.stdout[-3000:]
    assert counts["skipped"] == 0, counts
    # The whole suite ran (0.4.2 has ~500 tests; a module failing to import would show as an error).
    assert counts["tests"] >= 400, counts
