"""Soak: many clients mixing writes, searches and VACUUM on a registered table, then a full audit.

A table registered with embedrank.register() (sync trigger embedding the text with the real model, and
the cosine HNSW index) gets, from CLIENTS connections for SECONDS:
  insert_vec   INSERT with a precomputed embedding (the trigger keeps it; cheap)
  insert_text  INSERT of a text only: the trigger embeds it (30-70 ms of inference on 2 cores)
  update_text  UPDATE of the text: the trigger re-embeds it
  update_vec   UPDATE of the embedding only (the trigger does not fire)
  delete       DELETE of one of the client's rows
  txn          BEGIN; 3 inserts, an update, a delete; COMMIT — or ROLLBACK (one in five)
  ann          ORDER BY embedding <=> q LIMIT 10 (an index scan)
  search       embedrank.search(table, query, k => 4, n => 2): query embedding + 4 reranked pairs
  vacuum       VACUUM of the table (any client, now and then)
Each client owns its ids (client c: ids = c mod CLIENTS among the initial rows, then c * 10^9 + n), so
no two clients ever touch one row and no statement may fail: every ERROR counts.
The client side remembers every committed row (its text, and the sha1 of a precomputed embedding).

Audit afterwards:
  * rows: the table holds exactly the committed rows (none lost, none extra), each with its last
    committed text; precomputed embeddings are bit-identical; every row has an embedding; for a sample of
    text rows the stored embedding equals embed(text) now (the trigger embedded the committed text);
  * index: an index scan at embedrank.hnsw_ef_search = 400 against an exact scan, top 10, for every
    query (precomputed vectors and embed()-ed query texts), and a search for each of 500 sampled rows'
    own vector; then the same after REINDEX. The maintained index must reach recall@10 0.99 (the
    `min_recall` of a run) and be within 0.01 of the rebuilt one on both counts, and an iterative
    index scan must reach every row.
    Identical top 10s for every query are not required, because no HNSW graph gives them: a soak's
    one miss in 100 queries (recall 0.999) was a row a search for its own vector missed too (3 of
    18,136 rows), and the core crate's churn test shows graphs built from scratch over the same rows
    missing such rows as often (crates/embedrank-core/src/hnsw/tests/store.rs);
  * server: no connection lost, pg_postmaster_start_time() unchanged, no "terminated by signal" in the log.

usage: python bench/soak.py [--seconds 300] [--clients 8] [--rows 5000] [--queries 50] [--json FILE]
       (connection from PGHOST/PGPORT/PGUSER; a fresh database soak_<random>, dropped afterwards unless --keep)
"""
import argparse
import collections
import hashlib
import json
import os
import random
import sys
import threading
import time
import uuid

import numpy as np
import psycopg
from pgvector.psycopg import register_vector

SEARCH_PATH = "-c search_path=public,embedrank"
DIMS = 384
ID_BLOCK = 10**9
OPS = [("insert_vec", 40), ("insert_text", 5), ("update_text", 3), ("update_vec", 10), ("delete", 10),
       ("txn", 6), ("ann", 22), ("search", 2), ("vacuum", 0.3)]
BAD_LOG_PATTERNS = ("terminated by signal", "PANIC:", "was terminated")

ADJ = ["red", "quiet", "ancient", "rapid", "bright", "hidden", "frozen", "gentle", "noisy", "golden", "tiny",
       "vast", "broken", "wooden", "silver", "hungry", "lonely", "modern", "rural", "salty"]
NOUN = ["river", "castle", "engine", "forest", "violin", "harbor", "glacier", "market", "library", "comet",
        "bakery", "bridge", "desert", "orchard", "satellite", "lantern", "volcano", "monastery", "canal", "meadow"]
VERB = ["crosses", "feeds", "guards", "reflects", "powers", "hides", "outlasts", "faces", "borders", "echoes"]
PLACE = ["Berlin", "the Alps", "Lisbon", "a small village", "the old town", "the valley", "Kyoto", "the coast",
         "Montreal", "the island"]


def sentence(rng):
    return (f"The {rng.choice(ADJ)} {rng.choice(NOUN)} {rng.choice(VERB)} the {rng.choice(ADJ)} "
            f"{rng.choice(NOUN)} near {rng.choice(PLACE)}.")


def connect(dbname, **kw):
    c = psycopg.connect(dbname=dbname, options=SEARCH_PATH, autocommit=True, **kw)
    register_vector(c)
    return c


def digest(v):
    return hashlib.sha1(np.asarray(v, dtype=np.float32).tobytes()).hexdigest()


class Shared:
    """What every client needs: base embeddings of real sentences to perturb, the stop flag."""

    def __init__(self, base_texts, base_vecs):
        self.base_texts, self.base_vecs = base_texts, base_vecs
        self.stop = threading.Event()

    def precomputed(self, rng):
        i = rng.randrange(len(self.base_vecs))
        v = self.base_vecs[i] + np.asarray([rng.gauss(0, 0.02) for _ in range(8)] * (DIMS // 8), dtype=np.float32)
        v = (v / np.linalg.norm(v)).astype(np.float32)
        return self.base_texts[i] + f" #{rng.randrange(10**6)}", v


class Client(threading.Thread):
    def __init__(self, idx, nclients, dbname, table, shared, seed, owned):
        super().__init__(name=f"soak-{idx}")
        self.idx, self.n, self.dbname, self.table, self.shared = idx, nclients, dbname, table, shared
        self.rng = random.Random(seed * 1000 + idx)
        self.rows = owned                 # id -> (text, sha1 of a precomputed embedding or None)
        self.next_id = (idx + 1) * ID_BLOCK + 1
        self.ops = collections.Counter()
        self.errors = collections.Counter()
        self.error_examples = []
        self.lost = 0
        self.ann_rows = 0
        self.search_rows = 0
        self.latency = collections.defaultdict(list)
        self._keys = None

    def new_id(self):
        i = self.next_id
        self.next_id += 1
        return i

    def pick_own(self):
        """One of this client's committed rows (a snapshot list of ids, refreshed now and then)."""
        for _ in range(4):
            if not self.rows:
                return None
            if not self._keys or self.rng.random() < 0.02:
                self._keys = list(self.rows)
            i = self.rng.choice(self._keys)
            if i in self.rows:
                return i
            self._keys = None
        return None

    def run(self):
        t = self.table
        weights = [w for _, w in OPS]
        names = [n for n, _ in OPS]
        conn = connect(self.dbname)
        while not self.shared.stop.is_set():
            op = self.rng.choices(names, weights)[0]
            t0 = time.perf_counter()
            try:
                getattr(self, "op_" + op)(conn, t)
                self.ops[op] += 1
            except AssertionError as e:     # a row of this client was not where it should be
                self.errors[f"{op}:row"] += 1
                if len(self.error_examples) < 20:
                    self.error_examples.append(f"{op}: {e}")
            except psycopg.Error as e:
                self.errors[f"{op}:{e.sqlstate}"] += 1
                if len(self.error_examples) < 20:
                    self.error_examples.append(f"{op}: {e.sqlstate} {str(e)[:300]}")
                if conn.broken or conn.closed:
                    self.lost += 1
                    time.sleep(1)
                    try:
                        conn = connect(self.dbname)
                    except psycopg.Error:
                        time.sleep(5)
                        conn = connect(self.dbname)
            self.latency[op].append(time.perf_counter() - t0)
        conn.close()

    # -- operations (state is recorded only after the server confirmed the commit) --------------------
    def op_insert_vec(self, c, t):
        text, v = self.shared.precomputed(self.rng)
        i = self.new_id()
        c.execute(f"INSERT INTO {t} (id, body, embedding) VALUES (%s, %s, %s)", (i, text, v))
        self.rows[i] = (text, digest(v))

    def op_insert_text(self, c, t):
        text = sentence(self.rng)
        i = self.new_id()
        c.execute(f"INSERT INTO {t} (id, body) VALUES (%s, %s)", (i, text))
        self.rows[i] = (text, None)

    def op_update_text(self, c, t):
        i = self.pick_own()
        if i is None:
            return
        text = sentence(self.rng) + " (edited)"
        n = c.execute(f"UPDATE {t} SET body = %s WHERE id = %s", (text, i)).rowcount
        assert n == 1, f"update of own row {i} touched {n} rows"
        self.rows[i] = (text, None)

    def op_update_vec(self, c, t):
        i = self.pick_own()
        if i is None:
            return
        _, v = self.shared.precomputed(self.rng)
        n = c.execute(f"UPDATE {t} SET embedding = %s WHERE id = %s", (v, i)).rowcount
        assert n == 1, f"update of own row {i} touched {n} rows"
        self.rows[i] = (self.rows[i][0], digest(v))

    def op_delete(self, c, t):
        i = self.pick_own()
        if i is None:
            return
        n = c.execute(f"DELETE FROM {t} WHERE id = %s", (i,)).rowcount
        assert n == 1, f"delete of own row {i} touched {n} rows"
        del self.rows[i]

    def op_txn(self, c, t):
        changes = {}
        rollback = self.rng.random() < 0.2
        with c.transaction():
            for _ in range(3):
                text, v = self.shared.precomputed(self.rng)
                i = self.new_id()
                c.execute(f"INSERT INTO {t} (id, body, embedding) VALUES (%s, %s, %s)", (i, text, v))
                changes[i] = (text, digest(v))
            u = self.pick_own()
            if u is not None:
                _, v = self.shared.precomputed(self.rng)
                c.execute(f"UPDATE {t} SET embedding = %s WHERE id = %s", (v, u))
                changes[u] = (self.rows[u][0], digest(v))
            d = self.pick_own()
            if d is not None and d != u:
                c.execute(f"DELETE FROM {t} WHERE id = %s", (d,))
                changes[d] = None
            if rollback:
                raise psycopg.Rollback()
        if not rollback:
            for i, row in changes.items():
                if row is None:
                    self.rows.pop(i, None)
                else:
                    self.rows[i] = row

    def op_ann(self, c, t):
        _, v = self.shared.precomputed(self.rng)
        rows = c.execute(f"SELECT id FROM {t} ORDER BY embedding <=> %s LIMIT 10", (v,)).fetchall()
        self.ann_rows += len(rows)

    def op_search(self, c, t):
        rows = c.execute("SELECT * FROM search(%s, %s, k => 4, n => 2)", (t, sentence(self.rng))).fetchall()
        self.search_rows += len(rows)

    def op_vacuum(self, c, t):
        c.execute(f"VACUUM {t}")


def server_state(dbname):
    with psycopg.connect(dbname=dbname, autocommit=True) as c:
        start = c.execute("SELECT pg_postmaster_start_time()").fetchone()[0]
        data = c.execute("SELECT current_setting('data_directory')").fetchone()[0]
        path = os.path.join(data, "server.log")
        size = c.execute("SELECT (pg_stat_file(%s, true)).size", (path,)).fetchone()[0]
        return start, (path if size is not None else None), size or 0


def log_problems(dbname, path, offset):
    if not path:
        return []
    with psycopg.connect(dbname=dbname, autocommit=True) as c:
        size = c.execute("SELECT (pg_stat_file(%s, true)).size", (path,)).fetchone()[0] or 0
        if size <= offset:
            return []
        data = c.execute("SELECT pg_read_binary_file(%s, %s, %s, true)", (path, offset, size - offset)).fetchone()[0]
    return [ln for ln in bytes(data).decode("utf-8", "replace").splitlines() if any(p in ln for p in BAD_LOG_PATTERNS)]


def soak(seconds=300, clients=8, rows=5000, queries=50, seed=1, dbname=None, keep=False, progress=True,
         base=100, sample=20, min_recall=0.99):
    own_db = dbname is None
    if own_db:
        dbname = "soak_" + uuid.uuid4().hex[:8]
        with psycopg.connect(dbname="postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{dbname}"')
    table = "soak_docs"
    rng = random.Random(seed)
    report = {"seconds": seconds, "clients": clients, "initial_rows": rows, "seed": seed, "queries": queries}
    try:
        start_time, log_path, log_offset = server_state(dbname)
        t_setup = time.time()
        with psycopg.connect(dbname=dbname, autocommit=True) as c:
            c.execute("CREATE EXTENSION IF NOT EXISTS pg_embedrank")
        with connect(dbname) as c:
            c.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY, body text NOT NULL, embedding vector({DIMS}))")
            # Real embeddings of a few sentences: precomputed inserts are these plus noise (normalised).
            base_texts = [sentence(rng) for _ in range(base)]
            base = c.execute("SELECT embed(%s::text[])", (base_texts,)).fetchone()[0]
            base_vecs = [np.asarray(v, dtype=np.float32) for v in base]
            shared = Shared(base_texts, base_vecs)
            owned = [dict() for _ in range(clients)]
            with c.cursor() as cur:
                with cur.copy(f"COPY {table} (id, body, embedding) FROM STDIN WITH (FORMAT BINARY)") as cp:
                    cp.set_types(["int8", "text", "vector"])
                    for i in range(1, rows + 1):
                        text, v = shared.precomputed(rng)
                        cp.write_row((i, text, v))
                        owned[i % clients][i] = (text, digest(v))
            # The trigger and the index (built over the initial rows, faster than inserting them one by one).
            c.execute(f"SELECT register('{table}', 'body')")
            c.execute(f"ANALYZE {table}")
        report["setup_s"] = round(time.time() - t_setup, 1)

        workers = [Client(i, clients, dbname, table, shared, seed, owned[i]) for i in range(clients)]
        t0 = time.time()
        for w in workers:
            w.start()
        while time.time() - t0 < seconds:
            time.sleep(min(10, max(0.1, seconds - (time.time() - t0))))
            if progress:
                ops = sum(sum(w.ops.values()) for w in workers)
                errs = sum(sum(w.errors.values()) for w in workers)
                print(f"soak: {time.time() - t0:.0f} s, {ops} operations, {errs} errors", file=sys.stderr, flush=True)
        shared.stop.set()
        for w in workers:
            w.join()
        elapsed = time.time() - t0

        ops = collections.Counter()
        errors = collections.Counter()
        examples = []
        for w in workers:
            ops.update(w.ops)
            errors.update(w.errors)
            examples += w.error_examples
        report.update({
            "run_s": round(elapsed, 1), "operations": dict(ops.most_common()), "operations_total": sum(ops.values()),
            "operations_per_s": round(sum(ops.values()) / elapsed, 1), "errors": sum(errors.values()),
            "errors_by_kind": dict(errors), "error_examples": examples[:20],
            "lost_connections": sum(w.lost for w in workers),
        })
        lat = collections.defaultdict(list)
        for w in workers:
            for op, v in w.latency.items():
                lat[op] += v
        report["latency_ms_p50"] = {op: round(1000 * float(np.median(v)), 1) for op, v in sorted(lat.items())}
        report["latency_ms_p99"] = {op: round(1000 * float(np.percentile(v, 99)), 1) for op, v in sorted(lat.items())}

        # ---- audit ----------------------------------------------------------------------------------
        expected = {}
        for w in workers:
            expected.update(w.rows)
        t_audit = time.time()
        with connect(dbname) as c:
            c.execute(f"VACUUM {table}")
            got = {}
            with c.cursor(binary=True) as cur:
                cur.execute(f"SELECT id, body, embedding FROM {table}")
                for i, body, emb in cur:
                    got[i] = (body, None if emb is None else digest(emb))
            lost = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            wrong_text = [i for i in expected if i in got and got[i][0] != expected[i][0]]
            wrong_vec = [i for i in expected if i in got and expected[i][1] is not None and got[i][1] != expected[i][1]]
            no_vec = [i for i in got if got[i][1] is None]
            text_rows = sorted(i for i, r in expected.items() if r[1] is None and i in got)
            sample = random.Random(seed).sample(text_rows, min(sample, len(text_rows)))
            stale = [i for i in sample if not c.execute(
                f"SELECT embedding = embed(body) FROM {table} WHERE id = %s", (i,)).fetchone()[0]]
            report["rows"] = {"expected": len(expected), "in_table": len(got), "lost": len(lost), "extra": len(extra),
                              "wrong_text": len(wrong_text), "wrong_embedding": len(wrong_vec), "no_embedding": len(no_vec),
                              "text_rows": len(text_rows), "text_rows_reembedded_checked": len(sample),
                              "text_rows_stale": len(stale),
                              "examples": {"lost": lost[:10], "extra": extra[:10], "wrong_text": wrong_text[:10],
                                           "wrong_embedding": wrong_vec[:10], "stale": stale[:10]}}

            # Index vs exact scan, top 10 at ef_search = 400: different ids only among equal distances.
            qrng = random.Random(seed + 1)
            qvecs = [shared.precomputed(qrng)[1] for _ in range(queries - queries // 2)]
            qtexts = [sentence(qrng) for _ in range(queries // 2)]
            if qtexts:
                qvecs += [np.asarray(v, dtype=np.float32) for v in
                          c.execute("SELECT embed(%s::text[], input_type => 'query')", (qtexts,)).fetchone()[0]]
            sample_ids = random.Random(seed + 2).sample(sorted(got), min(500, len(got)))
            maintained = index_vs_exact(c, table, qvecs, sample_ids)
            # An iterative index scan reaches every row with an embedding.
            c.execute("SET enable_seqscan = off")
            c.execute("SET embedrank.hnsw_max_scan_tuples = 2000000000")
            reach = c.execute(f"SELECT count(*) FROM (SELECT id FROM {table} ORDER BY embedding <=> %s LIMIT 100000000) s",
                              (qvecs[0],)).fetchone()[0]
            c.execute("RESET ALL")
            total = c.execute(f"SELECT count(*) FROM {table} WHERE embedding IS NOT NULL").fetchone()[0]
            size = c.execute(f"SELECT pg_relation_size('{table}_embedding_idx')").fetchone()[0]
            # The same rows indexed afresh: what an HNSW graph over them gives without the churn.
            c.execute(f"REINDEX INDEX {table}_embedding_idx")
            rebuilt = index_vs_exact(c, table, qvecs, sample_ids)
            report["index"] = {**maintained, "rebuilt": rebuilt, "index_scan_rows": reach, "table_rows": total,
                               "index_mb": round(size / 2**20, 1)}
        report["audit_s"] = round(time.time() - t_audit, 1)
        now, _, _ = server_state(dbname)
        report["server"] = {"postmaster_restarted": now != start_time, "log_problems": log_problems(dbname, log_path, log_offset)}
        r = report
        report["ok"] = (r["errors"] == 0 and r["lost_connections"] == 0 and not r["server"]["postmaster_restarted"]
                        and not r["server"]["log_problems"] and r["rows"]["lost"] == 0 and r["rows"]["extra"] == 0
                        and r["rows"]["wrong_text"] == 0 and r["rows"]["wrong_embedding"] == 0
                        and r["rows"]["no_embedding"] == 0 and r["rows"]["text_rows_stale"] == 0
                        and r["index"]["recall_at_10"] >= min_recall
                        and r["index"]["recall_at_10"] >= r["index"]["rebuilt"]["recall_at_10"] - 0.01
                        and r["index"]["own_vector_found"] >= r["index"]["rebuilt"]["own_vector_found"] - 0.01
                        and r["index"]["index_scan_rows"] == r["index"]["table_rows"])
        return report
    finally:
        if own_db and not keep:
            with psycopg.connect(dbname="postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


def index_vs_exact(c, table, qvecs, sample_ids):
    """The index's top 10 at ef_search 400 against an exact scan for each query, and the share of
    sampled rows that a search for their own vector returns (an equal vector counts)."""
    c.execute("SET embedrank.hnsw_ef_search = 400")
    sql = f"SELECT id, embedding <=> %s AS d FROM {table} ORDER BY embedding <=> %s LIMIT 10"
    same = tie_only = differ = 0
    overlap = 0
    diffs = []
    for q in qvecs:
        c.execute("SET enable_seqscan = off")
        c.execute("SET enable_indexscan = on")
        plan = "\n".join(r[0] for r in c.execute("EXPLAIN " + sql, (q, q)))
        assert "Index Scan" in plan, plan
        # prepare=False: a prepared statement's cached generic plan ignores enable_*, so the
        # "exact" run of the same SQL text would reuse the index plan.
        idx = c.execute(sql, (q, q), prepare=False).fetchall()
        c.execute("SET enable_seqscan = on")
        c.execute("SET enable_indexscan = off")
        plan = "\n".join(r[0] for r in c.execute("EXPLAIN " + sql, (q, q)))
        assert "Index Scan" not in plan, plan
        exact = c.execute(sql, (q, q), prepare=False).fetchall()
        c.execute("RESET enable_indexscan")
        c.execute("RESET enable_seqscan")
        overlap += len({r[0] for r in idx} & {r[0] for r in exact})
        if [r[0] for r in idx] == [r[0] for r in exact]:
            same += 1
        elif [r[1] for r in idx] == [r[1] for r in exact]:
            tie_only += 1
        else:
            differ += 1
            if len(diffs) < 5:
                diffs.append({"index": idx, "exact": exact})
    found = 0
    c.execute("SET enable_seqscan = off")
    for i in sample_ids:
        row = c.execute(f"SELECT embedding FROM {table} WHERE id = %s", (i,)).fetchone()[0]
        hits = c.execute(f"SELECT id, embedding <=> %s FROM {table} ORDER BY embedding <=> %s LIMIT 3",
                         (row, row), prepare=False).fetchall()
        found += any(h[0] == i or h[1] == 0 for h in hits)
    c.execute("RESET enable_seqscan")
    c.execute("RESET embedrank.hnsw_ef_search")
    return {"queries": len(qvecs), "same_ids": same, "ties_only": tie_only, "differ": differ,
            "recall_at_10": round(overlap / (10 * len(qvecs)), 4), "differences": diffs,
            "own_vector_sample": len(sample_ids), "own_vector_found": round(found / max(1, len(sample_ids)), 4)}


def summary(r):
    rows, idx = r.get("rows", {}), r.get("index", {})
    return "\n".join([
        f"soak: {r['clients']} clients x {r['run_s']} s, {r['operations_total']} operations ({r['operations_per_s']}/s): "
        + ", ".join(f"{k} {v}" for k, v in r["operations"].items()),
        f"errors {r['errors']} {r['errors_by_kind'] or ''}, lost connections {r['lost_connections']}",
        f"rows: {rows.get('expected')} committed, {rows.get('in_table')} in table, lost {rows.get('lost')}, "
        f"extra {rows.get('extra')}, wrong text {rows.get('wrong_text')}, wrong embedding {rows.get('wrong_embedding')}, "
        f"no embedding {rows.get('no_embedding')}, trigger-embedded rows {rows.get('text_rows')} "
        f"({rows.get('text_rows_reembedded_checked')} re-embedded, {rows.get('text_rows_stale')} stale)",
        f"index vs exact (ef_search 400, top 10): {idx.get('queries')} queries, {idx.get('same_ids')} same ids, "
        f"{idx.get('ties_only')} differ only in ties, {idx.get('differ')} differ; recall@10 {idx.get('recall_at_10')}; "
        f"rows found by their own vector {idx.get('own_vector_found')} of a sample of {idx.get('own_vector_sample')}; "
        f"after REINDEX: recall@10 {idx.get('rebuilt', {}).get('recall_at_10')}, "
        f"own vector {idx.get('rebuilt', {}).get('own_vector_found')}; "
        f"index scan reaches {idx.get('index_scan_rows')} of {idx.get('table_rows')} rows; index {idx.get('index_mb')} MB",
        f"server: restarted {r['server']['postmaster_restarted']}, log problems {len(r['server']['log_problems'])}",
        f"p50 ms: {r['latency_ms_p50']}",
        "RESULT: " + ("OK" if r["ok"] else "FAILED"),
    ] + [f"  error: {e}" for e in r["error_examples"][:10]])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--rows", type=int, default=5000, help="initial rows (precomputed embeddings)")
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--dbname", default=None)
    ap.add_argument("--keep", action="store_true", help="keep the database afterwards")
    ap.add_argument("--json", default=None)
    a = ap.parse_args()
    r = soak(a.seconds, a.clients, a.rows, a.queries, a.seed, a.dbname, a.keep)
    print(summary(r))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(r, f, indent=1, default=str)
    sys.exit(0 if r["ok"] else 1)


if __name__ == "__main__":
    main()
