"""Points pgvector-python's own test suite (the 0.4.2 source distribution from PyPI, fetched by
scripts/setup.sh) at pg_embedrank, changing only what names the server and the extension:

* connection: `localhost` URLs become socket-or-environment URLs (libpq, asyncpg and Django read
  PGHOST/PGPORT/PGUSER); pg8000, which reads no environment, gets the socket path and user from it;
* extension: `CREATE EXTENSION IF NOT EXISTS vector` and Django's `VectorExtension()` create
  `pg_embedrank`; the types live in schema `embedrank`, found through the database's search_path
  (set by the caller), except asyncpg's codec registration, which takes the schema as an argument;
* access method: `hnsw` is `embedrank_hnsw` (Django's HnswIndex takes it from its `suffix`);
* ivfflat: the three ivfflat index creations are removed (this extension has no ivfflat), nothing
  else; every test of the suite still runs.

Every rule must match exactly as often as expected, so a different pgvector-python release fails
loudly here instead of running a silently different suite. Nothing in the tests' assertions changes.
"""
import pathlib
import re

PG8000_CONNECT = (
    "Connection(os.environ['PGUSER'], database='pgvector_python_test', "
    "unix_sock=os.path.join(os.environ['PGHOST'], '.s.PGSQL.' + os.environ['PGPORT']))"
)
PG8000_URL = (
    "f'postgresql+pg8000://{os.environ[\"PGUSER\"]}@/pgvector_python_test"
    "?unix_sock={os.environ[\"PGHOST\"]}/.s.PGSQL.{os.environ[\"PGPORT\"]}'"
)

# (file, pattern, replacement, expected number of matches); patterns are regular expressions.
RULES = [
    ("*", r"CREATE EXTENSION IF NOT EXISTS vector'", "CREATE EXTENSION IF NOT EXISTS pg_embedrank'", None),
    ("*", r"://localhost/", ":///", None),
    ("test_asyncpg.py", r"register_vector\(conn\)", "register_vector(conn, schema='embedrank')", 6),
    ("test_sqlalchemy.py", r"run_async\(register_vector\)",
     "run_async(lambda c: register_vector(c, schema='embedrank'))", 1),
    ("test_sqlalchemy.py", r"postgresql_using='hnsw'", "postgresql_using='embedrank_hnsw'", 4),
    ("test_sqlmodel.py", r"postgresql_using='hnsw'", "postgresql_using='embedrank_hnsw'", 1),
    ("test_peewee.py", r"using='hnsw'", "using='embedrank_hnsw'", 1),
    ("test_pg8000.py", r"Connection\(os\.environ\[\"USER\"\], database='pgvector_python_test'\)", PG8000_CONNECT, 1),
    ("test_sqlalchemy.py", r"f'postgresql\+pg8000://\{os\.environ\[\"USER\"\]\}@localhost/pgvector_python_test'",
     PG8000_URL, 1),
    ("test_sqlalchemy.py", r"\n *ivfflat_index = Index\(.*?\)\n *ivfflat_index\.create\(engine\)\n", "\n", 1),
    ("test_django.py", r"\n *IvfflatIndex\(\n *name='ivfflat_idx',.*?\),", "", 1),
    ("test_django.py", r"\n *migrations\.AddIndex\(\n *model_name='item',\n *index=pgvector\.django\.IvfflatIndex\(.*?\n *\),",
     "", 1),
    ("test_django.py", r"VectorExtension\(\),", "CreateExtension('pg_embedrank'),", 1),
    ("test_django.py", r"\nfrom unittest import mock\n",
     "\nfrom unittest import mock\nfrom django.contrib.postgres.operations import CreateExtension\n"
     "pgvector.django.HnswIndex.suffix = 'embedrank_hnsw'\n", 1),
]

# What must not be left in any test file after the rules.
LEFTOVERS = [r"EXTENSION IF NOT EXISTS vector\b", r"localhost", r"'hnsw'", r"'ivfflat'", r"ivfflat_idx"]


def adapt(tests_dir: pathlib.Path) -> dict:
    """Rewrites the test files in `tests_dir` in place; returns {file: number of substitutions}."""
    files = sorted(tests_dir.glob("test_*.py"))
    assert files, f"no test files in {tests_dir}"
    done = {}
    for rule_file, pattern, replacement, expected in RULES:
        targets = files if rule_file == "*" else [tests_dir / rule_file]
        total = 0
        for f in targets:
            text = f.read_text()
            new, n = re.subn(pattern, lambda _m: replacement, text, flags=re.DOTALL)
            if n:
                f.write_text(new)
                done[f.name] = done.get(f.name, 0) + n
            total += n
        if expected is None:
            assert total > 0, f"rule {pattern!r} matched nothing"
        else:
            assert total == expected, f"rule {pattern!r} on {rule_file}: {total} matches, expected {expected}"
    for f in files:
        text = f.read_text()
        for pattern in LEFTOVERS:
            assert not re.search(pattern, text), f"{f.name} still has {pattern!r} after adapting"
    return done
