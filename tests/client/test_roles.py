"""Roles and search_path through a real driver: the extension used by roles that are not superusers,
from any search_path (including an empty one), next to a hostile role that plants better-matching
functions and operators in public (CVE-2018-1058) hoping the extension's code picks them up."""
import os
import subprocess
import uuid

import psycopg
import pytest

TEXTS = [
    "Berlin has a population of 3,520,031 registered inhabitants in an area of 891.82 square kilometers.",
    "New York City is famous for the Metropolitan Museum of Art.",
    "A thermometer is a device that measures temperature.",
    "The ocean is a large body of salt water.",
]


@pytest.fixture(scope="module")
def roles(dbname):
    """owner: owns and registers a table; writer: may only INSERT/UPDATE it; mallory: may CREATE in
    public (as every role could before Postgres 15) and owns a table too; stranger: nothing."""
    sfx = uuid.uuid4().hex[:6]
    names = {k: f"er_{k}_{sfx}" for k in ("owner", "writer", "mallory", "stranger")}
    with psycopg.connect(dbname=dbname, autocommit=True) as c:
        for n in names.values():
            c.execute(f'CREATE ROLE "{n}" LOGIN')
        c.execute(f'GRANT CREATE ON SCHEMA public TO "{names["owner"]}", "{names["mallory"]}"')
    yield names
    with psycopg.connect(dbname=dbname, autocommit=True) as c:
        for n in names.values():
            c.execute(f'DROP OWNED BY "{n}" CASCADE')
            c.execute(f'DROP ROLE "{n}"')


def connect(dbname, role, search_path=None):
    c = psycopg.connect(dbname=dbname, user=role, autocommit=True)
    if search_path is not None:
        c.execute(f"SET search_path = {search_path}")
    return c


def count(c, sql, params=None):
    return c.execute(sql, params).fetchone()[0]


def test_a_plain_role_uses_everything_on_its_own_tables_under_an_empty_search_path(dbname, roles):
    with connect(dbname, roles["owner"], "''") as c:
        notices = []
        c.add_notice_handler(lambda d: notices.append(d.message_primary))
        c.execute("CREATE TABLE public.plain_docs (id int PRIMARY KEY, body text)")
        with c.cursor() as cur:
            cur.executemany("INSERT INTO public.plain_docs VALUES (%s, %s)", list(enumerate(TEXTS)))
        c.execute("SELECT embedrank.register('public.plain_docs', 'body')")
        c.execute("CALL embedrank.backfill('public.plain_docs', 2)")
        assert count(c, "SELECT count(*) FROM public.plain_docs WHERE embedding IS NULL") == 0
        assert any("backfill" in n for n in notices), notices
        rows = c.execute(
            "SELECT key FROM embedrank.search('public.plain_docs', 'How many people live in Berlin?', k => 4, n => 2)"
        ).fetchall()
        assert rows[0][0] == "0" and len(rows) == 2
        # The building blocks: type, operators, the index access method, embed, rerank, models.
        c.execute("CREATE TABLE public.plain_vecs (id int, v embedrank.vector(3))")
        c.execute("INSERT INTO public.plain_vecs VALUES (1, '[1,0,0]'), (2, '[0,1,0]')")
        c.execute("CREATE INDEX ON public.plain_vecs USING embedrank_hnsw (v embedrank.vector_l2_ops)")
        c.execute("SET enable_seqscan = off")
        assert count(c, "SELECT id FROM public.plain_vecs ORDER BY v OPERATOR(embedrank.<->) '[0.9,0.2,0]' LIMIT 1") == 1
        assert count(c, "SELECT embedrank.vector_dims(embedrank.embed('hello'))") == 384
        assert count(c, "SELECT idx FROM embedrank.rerank('Berlin population', ARRAY['the sea', 'Berlin has 3.5 million people'], top_n => 1)") == 2
        assert count(c, "SELECT count(*) FROM embedrank.models()") >= 3
        assert count(c, "SELECT count(*) FROM embedrank.sources") == 1


def test_search_and_sync_ignore_a_hostile_roles_objects_in_public(dbname, roles):
    owner, writer, mallory = roles["owner"], roles["writer"], roles["mallory"]
    with connect(dbname, mallory) as m:
        m.execute("CREATE TABLE public.hijack_log (who text, what text)")
        m.execute("GRANT INSERT, SELECT ON public.hijack_log TO PUBLIC")
        # Better matches than the real objects for what the extension calls: (text, text) beats
        # jsonb_build_object(VARIADIC "any"); public.<=> is found before (or instead of) embedrank's.
        m.execute("""CREATE FUNCTION public.jsonb_build_object(text, text) RETURNS jsonb LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO public.hijack_log VALUES (current_user, 'jsonb_build_object');
                  RETURN pg_catalog.jsonb_build_object($1, $2); END $$""")
        m.execute("""CREATE FUNCTION public.sneaky_distance(embedrank.vector, embedrank.vector) RETURNS float8
            LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO public.hijack_log VALUES (current_user, '<=>');
                  RETURN embedrank.cosine_distance($1, $2); END $$""")
        m.execute("CREATE OPERATOR public.<=> (LEFTARG = embedrank.vector, RIGHTARG = embedrank.vector, FUNCTION = public.sneaky_distance)")

    with connect(dbname, owner) as o:  # default search_path: "$user", public
        o.execute("CREATE TABLE public.victim (id int PRIMARY KEY, body text)")
        o.execute("SELECT embedrank.register('public.victim', 'body')")
        o.execute(f'GRANT SELECT, INSERT, UPDATE ON public.victim TO "{writer}"')
    with connect(dbname, writer) as w:
        with w.cursor() as cur:
            cur.executemany("INSERT INTO public.victim VALUES (%s, %s)", list(enumerate(TEXTS)))
        w.execute("UPDATE public.victim SET body = body || ' ' WHERE id = 3")
        assert count(w, "SELECT count(*) FROM public.victim WHERE embedding IS NULL") == 0
    with connect(dbname, owner) as o:
        o.execute("UPDATE public.victim SET embedding = NULL WHERE id < 2")
        o.execute("CALL embedrank.backfill('public.victim')")
        rows = o.execute("SELECT key FROM embedrank.search('public.victim', 'How many people live in Berlin?', k => 4, n => 1)").fetchall()
        assert rows == [("0",)]
        assert o.execute("SELECT * FROM public.hijack_log").fetchall() == []
    # The planted objects are live: a plain call under the same search_path runs them.
    with connect(dbname, writer) as w:
        w.execute("SELECT jsonb_build_object('a'::text, 'b'::text)")
        assert w.execute("SELECT who, what FROM public.hijack_log").fetchall() == [(writer, "jsonb_build_object")]


def test_roles_cannot_see_or_change_registrations_of_tables_they_cannot_read_or_own(dbname, roles):
    owner, mallory, stranger, writer = roles["owner"], roles["mallory"], roles["stranger"], roles["writer"]
    with connect(dbname, owner) as o:
        o.execute("CREATE TABLE public.private_docs (id int PRIMARY KEY, body text)")
        o.execute("SELECT embedrank.register('public.private_docs', 'body')")
        o.execute("INSERT INTO public.private_docs VALUES (1, 'secret plans')")
        o.execute(f'GRANT SELECT ON public.private_docs TO "{writer}"')
    with connect(dbname, mallory) as m:
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner of table public.private_docs"):
            m.execute("SELECT embedrank.register('public.private_docs', 'body')")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            m.execute("SELECT * FROM embedrank.search('public.private_docs', 'plans')")
        # Registrations are the tables' sync triggers, read through a view nobody can write.
        for sql in ("INSERT INTO embedrank.sources VALUES ('public.private_docs', 'id', 'body', 'embedding', 'all-MiniLM-L6-v2')",
                    "UPDATE embedrank.sources SET model = 'all-MiniLM-L6-v2'", "DELETE FROM embedrank.sources"):
            with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="view"):
                m.execute(sql)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner of table public.private_docs"):
            m.execute("SELECT embedrank.unregister('public.private_docs')")
        assert count(m, "SELECT count(*) FROM embedrank.sources WHERE source = 'public.private_docs'::regclass") == 0
        # ... and registers a table of its own, which the owner does not see.
        m.execute("CREATE TABLE public.mallory_docs (id int PRIMARY KEY, body text)")
        m.execute("SELECT embedrank.register('public.mallory_docs', 'body')")
        assert count(m, "SELECT count(*) FROM embedrank.sources WHERE source = 'public.mallory_docs'::regclass") == 1
    with connect(dbname, stranger) as s:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            s.execute("CALL embedrank.backfill('public.private_docs')")
    with connect(dbname, owner) as o:
        assert count(o, "SELECT count(*) FROM embedrank.sources WHERE source = 'public.mallory_docs'::regclass") == 0
        assert count(o, "SELECT model FROM embedrank.sources WHERE source = 'public.private_docs'::regclass") == "bge-small-en-v1.5"
    # A role allowed to read the table sees its registration and can search it, not change it.
    with connect(dbname, writer) as w:
        assert count(w, "SELECT count(*) FROM embedrank.sources WHERE source = 'public.private_docs'::regclass") == 1
        assert w.execute("SELECT key FROM embedrank.search('public.private_docs', 'plans', k => 1, n => 1)").fetchall() == [("1",)]
        with pytest.raises(psycopg.errors.ObjectNotInPrerequisiteState, match="cannot update view"):
            w.execute("UPDATE embedrank.sources SET model = 'all-MiniLM-L6-v2'")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="must be owner"):
            w.execute("SELECT embedrank.unregister('public.private_docs')")


def test_threads_ceiling_is_for_superusers_only(dbname, roles):
    with connect(dbname, roles["stranger"]) as s:
        s.execute("SELECT embedrank.embed('load the library')")
        s.execute("SET embedrank.threads = 64")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            s.execute("SET embedrank.max_threads = 64")
        with pytest.raises(psycopg.errors.InvalidName):
            s.execute("SET embedrank.max_thread = 64")


def pg_tool(name):
    """A client program of the server's Postgres (scripts/test.sh sets PGBIN)."""
    if not os.environ.get("PGBIN"):
        pytest.fail("PGBIN must name the server's Postgres bin directory (scripts/test.sh sets it)")
    return os.path.join(os.environ["PGBIN"], name)


def test_a_non_superuser_dumps_its_database_and_the_restore_keeps_the_registration(dbname, roles):
    """pg_dump run by a plain role that owns a database with a registered table (an extension table
    under row-level security used to stop it: "query would be affected by row-level security
    policy"), then a restore: the registration comes back with the table, and search() works."""
    owner = roles["owner"]
    src, dst = f"{dbname}_dump", f"{dbname}_restore"
    with psycopg.connect(dbname=dbname, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{src}" OWNER "{owner}"')
        admin.execute(f'CREATE DATABASE "{dst}"')
    try:
        with psycopg.connect(dbname=src, autocommit=True) as c:
            c.execute("CREATE EXTENSION pg_embedrank")
        with connect(src, owner) as o:
            o.execute("CREATE TABLE public.kept_docs (id int PRIMARY KEY, body text)")
            o.execute("SELECT embedrank.register('public.kept_docs', 'body')")
            with o.cursor() as cur:
                cur.executemany("INSERT INTO public.kept_docs VALUES (%s, %s)", list(enumerate(TEXTS)))
        dump = subprocess.run([pg_tool("pg_dump"), "-U", owner, "-d", src], capture_output=True, text=True)
        assert dump.returncode == 0, dump.stderr
        assert "EXECUTE FUNCTION embedrank.sync_embedding('body', 'embedding'" in dump.stdout
        restore = subprocess.run([pg_tool("psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dst],
                                 input=dump.stdout, capture_output=True, text=True)
        assert restore.returncode == 0, restore.stderr
        with psycopg.connect(dbname=dst, autocommit=True) as r:
            assert r.execute("SELECT source::text, key_column::text, text_column::text FROM embedrank.sources").fetchall() \
                == [("kept_docs", "id", "body")]
            rows = r.execute("SELECT key FROM embedrank.search('public.kept_docs', 'How many people live in Berlin?',"
                             " k => 4, n => 1)").fetchall()
            assert rows == [("0",)]
    finally:
        with psycopg.connect(dbname=dbname, autocommit=True) as admin:
            for d in (src, dst):
                admin.execute(f'DROP DATABASE IF EXISTS "{d}" WITH (FORCE)')
