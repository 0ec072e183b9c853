"""Crash safety, streaming replication and concurrency of the embedrank_hnsw index, on real clusters.

Run by scripts/test.sh (part `durability`) with PGBIN pointing at a Postgres bin directory whose tree has
pg_embedrank installed. Clusters live under /tmp/pg_embedrank-it and run as the `postgres` OS user.
  1. SIGKILL the postmaster during a stream of inserts; after restart every committed row is there and
     the index agrees with an exact scan at high ef_search.
  2. A streaming replica returns the same results as the primary.
  3. Several clients insert and query at once: no errors, index count equals table count.
"""
import os
import random
import shutil
import signal
import subprocess
import threading
import time

import psycopg
import pytest

PGBIN = os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin")
ROOT = "/tmp/pg_embedrank-it"
PRIMARY_PORT, REPLICA_PORT = 28820, 28821
DIMS = 32


def as_pg(*args, check=True):
    cmd = list(args)
    if os.geteuid() == 0:
        cmd = ["sudo", "-u", "postgres", "env", "-u", "RUST_BACKTRACE"] + cmd
    return subprocess.run(cmd, check=check, capture_output=True, text=True)


def pg_ctl(data, *args, check=True):
    return as_pg(f"{PGBIN}/pg_ctl", "-D", data, "-l", f"{data}.log", "-w", "-t", "60", *args, check=check)


def connect(port, **kw):
    return psycopg.connect(host=ROOT, port=port, user="postgres", dbname="postgres",
                           options="-c search_path=public,embedrank", autocommit=True, **kw)


def vec(rng):
    c = rng.randrange(20)
    return "[" + ",".join(f"{c * 0.1 + rng.random():.5f}" for _ in range(DIMS)) + "]"


@pytest.fixture(scope="module")
def primary():
    shutil.rmtree(ROOT, ignore_errors=True)
    os.makedirs(ROOT)
    shutil.chown(ROOT, "postgres")
    data = f"{ROOT}/primary"
    as_pg(f"{PGBIN}/initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync")
    with open(f"{data}/postgresql.conf", "a") as f:
        f.write(f"listen_addresses = ''\nunix_socket_directories = '{ROOT}'\nport = {PRIMARY_PORT}\n"
                "wal_level = replica\nmax_wal_senders = 4\nfsync = on\n")
    with open(f"{data}/pg_hba.conf", "a") as f:
        f.write("local replication all trust\n")
    pg_ctl(data, "start")
    with connect(PRIMARY_PORT) as c:
        c.execute("CREATE EXTENSION pg_embedrank")
        c.execute(f"CREATE TABLE docs (id bigserial PRIMARY KEY, v vector({DIMS}))")
        rng = random.Random(1)
        with c.cursor() as cur:
            cur.executemany("INSERT INTO docs (v) VALUES (%s)", [(vec(rng),) for _ in range(2000)])
        c.execute("CREATE INDEX docs_v_idx ON docs USING embedrank_hnsw (v vector_cosine_ops)")
    yield data
    pg_ctl(f"{ROOT}/replica", "stop", "-m", "immediate", check=False)
    pg_ctl(data, "stop", "-m", "immediate", check=False)


def index_and_exact(c, q, k=10):
    c.execute("SET embedrank.hnsw_ef_search = 400")
    c.execute("SET enable_seqscan = off")
    got = [r[0] for r in c.execute("SELECT id FROM docs ORDER BY v <=> %s::vector LIMIT %s", (q, k))]
    c.execute("SET enable_seqscan = on")
    c.execute("SET enable_indexscan = off")
    exact = [r[0] for r in c.execute("SELECT id FROM docs ORDER BY v <=> %s::vector LIMIT %s", (q, k))]
    c.execute("RESET enable_indexscan")
    return got, exact


def index_count(c):
    c.execute("SET enable_seqscan = off")
    c.execute("SET embedrank.hnsw_max_scan_tuples = 100000000")
    n = c.execute("SELECT count(*) FROM (SELECT id FROM docs ORDER BY v <=> (SELECT v FROM docs LIMIT 1) LIMIT 100000000) s").fetchone()[0]
    c.execute("RESET enable_seqscan")
    return n


def test_sigkill_during_inserts_loses_no_committed_row(primary):
    committed, stop = [], threading.Event()

    def writer():
        rng = random.Random(2)
        try:
            with connect(PRIMARY_PORT) as c:
                while not stop.is_set():
                    committed.append(c.execute("INSERT INTO docs (v) VALUES (%s) RETURNING id", (vec(rng),)).fetchone()[0])
        except psycopg.Error:
            pass  # the server died under us: expected

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(4)
    with open(f"{primary}/postmaster.pid") as f:
        pid = int(f.readline())
    os.kill(pid, signal.SIGKILL)
    stop.set()
    t.join(30)
    time.sleep(2)  # orphaned backends notice the postmaster's death and exit
    pg_ctl(primary, "start")
    assert len(committed) > 20, "the insert stream should have committed rows before the kill"
    with connect(PRIMARY_PORT) as c:
        have = {r[0] for r in c.execute("SELECT id FROM docs WHERE id = ANY(%s)", (committed,))}
        assert have == set(committed)
        assert index_count(c) == c.execute("SELECT count(*) FROM docs").fetchone()[0]
        rng = random.Random(3)
        hits = 0
        for _ in range(10):
            got, exact = index_and_exact(c, vec(rng))
            hits += len(set(got) & set(exact))
        assert hits >= 95, f"recall@10 after crash recovery {hits / 100}"


def test_streaming_replica_returns_same_results(primary):
    replica = f"{ROOT}/replica"
    as_pg(f"{PGBIN}/pg_basebackup", "-h", ROOT, "-p", str(PRIMARY_PORT), "-U", "postgres", "-D", replica, "-R", "-X", "stream")
    # Our own primary_conninfo: -R may write options (sslnegotiation) that an older libpq in the
    # same tree rejects.
    with open(f"{replica}/postgresql.auto.conf", "w") as f:
        f.write(f"primary_conninfo = 'host={ROOT} port={PRIMARY_PORT} user=postgres'\n")
    with open(f"{replica}/postgresql.conf", "a") as f:
        f.write(f"port = {REPLICA_PORT}\nhot_standby = on\n")
    pg_ctl(replica, "start")
    rng = random.Random(4)
    with connect(PRIMARY_PORT) as p:
        with p.cursor() as cur:
            cur.executemany("INSERT INTO docs (v) VALUES (%s)", [(vec(rng),) for _ in range(500)])
        p.execute("DELETE FROM docs WHERE id % 7 = 0")
        p.execute("VACUUM docs")
        # Inserts after the vacuum reuse the deleted elements' space: those page writes replay too.
        with p.cursor() as cur:
            cur.executemany("INSERT INTO docs (v) VALUES (%s)", [(vec(rng),) for _ in range(100)])
        lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    with connect(REPLICA_PORT) as r, connect(PRIMARY_PORT) as p:
        for _ in range(120):
            if r.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)).fetchone()[0]:
                break
            time.sleep(0.5)
        else:
            pytest.fail("the replica did not replay the primary's WAL within 60 s")
        for c in (p, r):
            c.execute("SET enable_seqscan = off")
        for _ in range(10):
            q = vec(rng)
            sql = "SELECT id FROM docs ORDER BY v <=> %s::vector LIMIT 10"
            assert [x[0] for x in p.execute(sql, (q,))] == [x[0] for x in r.execute(sql, (q,))]


def test_concurrent_inserts_and_queries(primary):
    errors, stop = [], threading.Event()

    def insert(seed):
        rng = random.Random(seed)
        try:
            with connect(PRIMARY_PORT) as c:
                while not stop.is_set():
                    c.execute("INSERT INTO docs (v) VALUES (%s)", (vec(rng),))
        except Exception as e:  # noqa: BLE001 - any failure is a test failure
            errors.append(repr(e))

    def query(seed):
        rng = random.Random(seed)
        try:
            with connect(PRIMARY_PORT) as c:
                c.execute("SET enable_seqscan = off")
                while not stop.is_set():
                    assert len(c.execute("SELECT id FROM docs ORDER BY v <=> %s::vector LIMIT 10", (vec(rng),)).fetchall()) == 10
        except Exception as e:  # noqa: BLE001
            errors.append(repr(e))

    threads = [threading.Thread(target=insert, args=(10 + i,)) for i in range(4)]
    threads += [threading.Thread(target=query, args=(20 + i,)) for i in range(2)]
    for t in threads:
        t.start()
    time.sleep(10)
    stop.set()
    for t in threads:
        t.join(60)
    assert not errors, errors
    with connect(PRIMARY_PORT) as c:
        assert index_count(c) == c.execute("SELECT count(*) FROM docs").fetchone()[0]
