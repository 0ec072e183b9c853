"""Sharding on Postgres's own machinery: a coordinator table partitioned by hash over postgres_fdw
foreign tables on two shard servers, each shard with its own embedrank_hnsw index; plus one server
holding the same rows, to compare with. Real clusters under /tmp/pg_embedrank-shards (run by
scripts/test.sh, part `durability`, with PGBIN set).

  1. Rows written through the coordinator land on their shards, embedded (by the coordinator's
     registration trigger; the shard's trigger keeps an embedding that arrives with the row).
  2. The first stage search() runs is one Append of per-shard top-k foreign scans, run
     asynchronously, with ORDER BY … LIMIT and the query embedding (computed once, on the
     coordinator) shipped to each shard.
  3. The coordinator's embedrank.hnsw_ef_search reaches the shards' scans (the shards log the
     statements they run).
  4. search() on the coordinator returns what the same rows on one server return.
  5. A shard that is down is an error naming it, within seconds; back up, it serves again as it was.
  6. A shard that hangs (accepts connections, never answers) is bounded by the coordinator's
     statement_timeout.
"""
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from clusters import PGBIN, as_pg
from clusters import pg_ctl as cluster_ctl

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
from soak import sentence  # noqa: E402

ROOT = "/tmp/pg_embedrank-shards"
PORTS = {"coord": 28840, "shard1": 28841, "shard2": 28842}
ROWS = 600
QUERIES = ["Which engine powers the harbor?", "a frozen glacier near the Alps", "violin music in Kyoto",
           "the ancient castle guards the valley", "bakery in the old town"]


def pg_ctl(name, *args, check=True):
    return cluster_ctl(f"{ROOT}/{name}", *args, check=check)


def connect(name, dbname="postgres", **kw):
    return psycopg.connect(host=ROOT, port=PORTS[name], user="postgres", dbname=dbname,
                           options="-c search_path=public,embedrank", autocommit=True,
                           prepare_threshold=None, **kw)


def shard_log(name):
    with open(f"{ROOT}/{name}.log") as f:
        return f.read()


@pytest.fixture(scope="module")
def cluster():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    shutil.chown(ROOT, "postgres")
    for name, port in PORTS.items():
        as_pg(f"{PGBIN}/initdb", "-D", f"{ROOT}/{name}", "-A", "trust", "-U", "postgres", "--no-sync")
        with open(f"{ROOT}/{name}/postgresql.conf", "a") as f:
            f.write(f"listen_addresses = ''\nunix_socket_directories = '{ROOT}'\nport = {port}\n")
            if name != "coord":
                # What the shards run, for the ef_search and push-down checks.
                f.write("log_statement = 'all'\n")
        pg_ctl(name, "start")
    for shard in ("shard1", "shard2"):
        with connect(shard) as c:
            c.execute("CREATE EXTENSION pg_embedrank")
            c.execute("CREATE TABLE docs (id bigint PRIMARY KEY, body text NOT NULL)")
            c.execute("SELECT register('docs', 'body')")  # embedding column, sync trigger, index
    rng = random.Random(7)
    texts = []
    while len(texts) < ROWS:
        t = sentence(rng)
        if t not in texts:
            texts.append(t)
    rows = list(enumerate(texts, start=1))
    with connect("coord") as c:
        c.execute("CREATE EXTENSION pg_embedrank")
        c.execute("CREATE EXTENSION postgres_fdw")
        for shard in ("shard1", "shard2"):
            c.execute(f"CREATE SERVER {shard} FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '{ROOT}', "
                      f"port '{PORTS[shard]}', dbname 'postgres', extensions 'pg_embedrank', "
                      "async_capable 'true', connect_timeout '5')")
            c.execute(f"CREATE USER MAPPING FOR postgres SERVER {shard} OPTIONS (user 'postgres')")
        c.execute("CREATE TABLE docs (id bigint NOT NULL, body text NOT NULL, embedding vector(384)) PARTITION BY HASH (id)")
        for i, shard in enumerate(("shard1", "shard2")):
            c.execute(f"CREATE FOREIGN TABLE docs_{shard} PARTITION OF docs FOR VALUES WITH (MODULUS 2, REMAINDER {i}) "
                      f"SERVER {shard} OPTIONS (schema_name 'public', table_name 'docs')")
        c.execute("SELECT register('docs', 'body', key_column => 'id')")
        with c.cursor() as cur:
            cur.executemany("INSERT INTO docs (id, body) VALUES (%s, %s)", rows)
        c.execute("CREATE DATABASE single")
    with connect("coord", "single") as c:
        c.execute("CREATE EXTENSION pg_embedrank")
        c.execute("CREATE TABLE docs (id bigint PRIMARY KEY, body text NOT NULL)")
        c.execute("SELECT register('docs', 'body')")
        with c.cursor() as cur:
            cur.executemany("INSERT INTO docs (id, body) VALUES (%s, %s)", rows)
    yield rows
    for name in PORTS:
        pg_ctl(name, "stop", "-m", "immediate", check=False)


def test_rows_land_on_their_shards_embedded(cluster):
    counts = []
    for shard in ("shard1", "shard2"):
        with connect(shard) as c:
            n, embedded = c.execute("SELECT count(*), count(embedding) FROM docs").fetchone()
            assert n == embedded, f"{shard}: {n - embedded} rows without an embedding"
            counts.append(n)
    assert sum(counts) == ROWS and min(counts) > ROWS // 4, counts
    with connect("coord") as c:
        assert c.execute("SELECT count(*) FROM docs").fetchone()[0] == ROWS
        # The registration is the coordinator's; its table has no index of its own, and the sync
        # trigger is cloned onto each foreign partition: rows are embedded here, before they travel.
        assert c.execute("SELECT key_column::text FROM embedrank.sources WHERE source = 'docs'::regclass").fetchone()[0] == "id"
        assert c.execute("SELECT count(*) FROM pg_trigger WHERE tgname = 'embedrank_sync' AND tgparentid <> 0"
                         " AND tgrelid IN ('docs_shard1'::regclass, 'docs_shard2'::regclass)").fetchone()[0] == 2
        assert c.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'docs'::regclass").fetchone()[0] == 0
    # The shard's copy of an embedding is what the model gives for the text: it was computed once.
    with connect("shard1") as s:
        assert s.execute("SELECT max(embedding <=> embed(body)) FROM docs").fetchone()[0] < 1e-5


def first_stage_plan(c, ef):
    c.execute(f"SET embedrank.hnsw_ef_search = {ef}")
    sql = c.execute("SELECT embedrank.first_stage_sql('docs'::regclass)").fetchone()[0]
    c.execute("PREPARE fs(text, int) AS WITH qv AS MATERIALIZED (SELECT embedrank.embed($1, NULL, 'query') AS v) " + sql)
    try:
        return "\n".join(r[0] for r in c.execute("EXPLAIN (VERBOSE, COSTS OFF) EXECUTE fs('violin music', 20)"))
    finally:
        c.execute("DEALLOCATE fs")
        c.execute("RESET embedrank.hnsw_ef_search")


def test_first_stage_is_one_async_append_of_per_shard_top_k(cluster):
    with connect("coord") as c:
        plan = first_stage_plan(c, 40)
    assert plan.count("Async Foreign Scan") == 2, plan
    # Each shard gets the ordering, the limit and the query vector as a parameter (embedded once here).
    remote = [line for line in plan.splitlines() if "Remote SQL" in line]
    assert len(remote) == 2, plan
    for line in remote:
        assert "ORDER BY" in line and "LIMIT" in line and "with_ef_search($1" in line, line
        assert "embed(" not in line, line


def test_the_coordinators_ef_search_reaches_the_shards_scans(cluster):
    for ef in (7, 333):
        marks = [len(shard_log(s)) for s in ("shard1", "shard2")]
        with connect("coord") as c:
            c.execute(f"SET embedrank.hnsw_ef_search = {ef}")
            assert len(c.execute("SELECT * FROM search('docs', 'violin music in Kyoto', k => 20, n => 3)").fetchall()) == 3
        for s, mark in zip(("shard1", "shard2"), marks):
            ran = shard_log(s)[mark:]
            assert f"with_ef_search($1::embedrank.vector, {ef})" in ran.replace('"', ''), ran[-3000:]


def test_search_on_the_coordinator_equals_search_on_one_server(cluster):
    with connect("coord") as c, connect("coord", "single") as s:
        for conn in (c, s):
            conn.execute("SET embedrank.hnsw_ef_search = 200")
        for q in QUERIES:
            sql = "SELECT key, score FROM search('docs', %s, k => 20, n => 5)"
            sharded = c.execute(sql, (q,)).fetchall()
            single = s.execute(sql, (q,)).fetchall()
            assert [r[0] for r in sharded] == [r[0] for r in single], (q, sharded, single)
            assert all(abs(a[1] - b[1]) < 1e-5 for a, b in zip(sharded, single)), (q, sharded, single)


def test_a_shard_that_is_down_is_an_error_naming_it_and_serves_again_when_back(cluster):
    with connect("coord") as c:
        before = c.execute("SELECT key FROM search('docs', %s, k => 20, n => 5)", (QUERIES[0],)).fetchall()
    pg_ctl("shard2", "stop", "-m", "fast")
    try:
        with connect("coord") as c:
            c.execute("SET statement_timeout = '30s'")
            t0 = time.monotonic()
            with pytest.raises(psycopg.Error) as err:
                c.execute("SELECT key FROM search('docs', %s, k => 20, n => 5)", (QUERIES[0],)).fetchall()
            assert time.monotonic() - t0 < 20
            print(f"\nshard down: {err.value}")
            assert "shard2" in str(err.value), str(err.value)
    finally:
        pg_ctl("shard2", "start")
    with connect("coord") as c:
        assert c.execute("SELECT key FROM search('docs', %s, k => 20, n => 5)", (QUERIES[0],)).fetchall() == before


def signal_if_alive(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass  # a backend that ended since it was listed


def test_a_shard_that_hangs_is_bounded_by_the_coordinators_statement_timeout(cluster):
    # Every process of shard 2 stopped (SIGSTOP): connections are accepted by the kernel, nothing
    # answers. The coordinator's statement_timeout ends the search, and cancelling the remote query
    # must not hang either.
    with connect("coord") as c:
        c.execute("SELECT key FROM search('docs', %s, k => 20, n => 5)", (QUERIES[1],)).fetchall()  # connections open
        with open(f"{ROOT}/shard2/postmaster.pid") as f:
            postmaster = int(f.readline())
        children = subprocess.run(["pgrep", "-P", str(postmaster)], capture_output=True, text=True).stdout.split()
        pids = [postmaster] + [int(p) for p in children]
        for pid in pids:
            signal_if_alive(pid, signal.SIGSTOP)
        try:
            c.execute("SET statement_timeout = '3s'")
            t0 = time.monotonic()
            with pytest.raises(psycopg.errors.QueryCanceled):
                c.execute("SELECT key FROM search('docs', %s, k => 20, n => 5)", (QUERIES[1],)).fetchall()
            took = time.monotonic() - t0
        finally:
            for pid in pids:
                signal_if_alive(pid, signal.SIGCONT)
    print(f"\nhung shard: the search ended after {took:.1f} s")
    assert took < 45, f"a hung shard held the search for {took:.0f} s"
    with connect("coord") as c:
        assert len(c.execute("SELECT key FROM search('docs', %s, k => 20, n => 5)", (QUERIES[1],)).fetchall()) == 5
