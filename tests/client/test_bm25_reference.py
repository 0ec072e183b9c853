"""embedrank_bm25 against a small Python BM25 on real text (WordNet glosses).

Analysis is Postgres's (`to_tsvector('english', …)`, read back with unnest); the formula, the corpus
statistics, the top-k and the effect of DELETE + a real VACUUM are computed here independently.
Scores must agree within 1e-5 (relative) and the top 10 must be the same rows.
"""
import math
import os
import random
import subprocess
from collections import Counter, defaultdict

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
K1, B = 0.9, 0.4


def load_glosses(conn, n):
    tsv = subprocess.run(
        ["python3", os.path.join(ROOT, "scripts", "wordnet_tsv.py"), str(n)],
        check=True, capture_output=True, text=True,
    ).stdout
    conn.execute("CREATE TABLE gloss (id text PRIMARY KEY, pos text, lemmas text, body text)")
    with conn.cursor().copy("COPY gloss FROM STDIN") as cp:
        cp.write(tsv)


def analysed(conn):
    """{id: {lexeme: tf}} for every row with text, as to_tsvector sees it."""
    docs = defaultdict(dict)
    for id_, lexeme, tf in conn.execute(
        "SELECT id, u.lexeme, coalesce(array_length(u.positions, 1), 1)"
        " FROM gloss, unnest(to_tsvector('english', body)) u"
    ):
        docs[id_][lexeme] = tf
    return docs


def query_terms(conn, q):
    return Counter({lex: tf for lex, tf in conn.execute(
        "SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1) FROM unnest(to_tsvector('english', %s)) u", (q,))})


def reference_top(docs, qterms, k):
    n = len(docs)
    total = sum(sum(d.values()) for d in docs.values())
    avgdl = total / n
    df = Counter(lex for d in docs.values() for lex in d)
    scores = {}
    for id_, d in docs.items():
        dl = sum(d.values())
        s = 0.0
        for lex, qtf in qterms.items():
            tf = d.get(lex)
            if tf and df[lex]:
                idf = math.log(1 + (n - df[lex] + 0.5) / (df[lex] + 0.5))
                s += idf * qtf * tf / (tf + K1 * (1 - B + B * dl / avgdl))
        if s > 0:
            scores[id_] = s
    return sorted(scores.items(), key=lambda kv: -kv[1])[:k]


def index_top(conn, q, k):
    conn.execute("SET enable_seqscan = off")
    rows = conn.execute(
        "SELECT id, bm25_score(body, bm25_query('gloss_bm25', %s)) FROM gloss"
        " ORDER BY body <&> bm25_query('gloss_bm25', %s) LIMIT %s", (q, q, k)).fetchall()
    conn.execute("RESET enable_seqscan")
    return [(i, s) for i, s in rows if s > 0]


def assert_same_top(got, want, q):
    assert len(got) == len(want), (q, got, want)
    for (gi, gs), (wi, ws) in zip(got, want):
        assert abs(gs - ws) <= 1e-5 * max(1.0, abs(ws)), (q, gi, gs, wi, ws)
    # Same rows, except that ties may be cut differently at the k-th place.
    cut = want[-1][1] if want else 0
    assert {i for i, s in got if s > cut + 1e-5} == {i for i, s in want if s > cut + 1e-5}, q


@pytest.mark.skipif(not os.path.exists("/usr/share/wordnet/data.noun"), reason="wordnet-base not installed (scripts/setup.sh)")
def test_bm25_index_equals_a_python_bm25_on_wordnet_glosses_through_delete_and_vacuum(conn):
    load_glosses(conn, 6000)
    conn.execute("CREATE INDEX gloss_bm25 ON gloss USING embedrank_bm25 (body)")
    rng = random.Random(7)
    docs = analysed(conn)
    bodies = [r[0] for r in conn.execute("SELECT body FROM gloss ORDER BY id")]
    queries = [" ".join(rng.sample(b.split(), min(4, len(b.split())))) for b in rng.sample(bodies, 40)]
    queries += ["negligent", "a large body of water", "the capital of France", "1987"]
    for q in queries:
        assert_same_top(index_top(conn, q, 10), reference_top(docs, query_terms(conn, q), 10), q)
    # Delete a third, insert new rows, and a real VACUUM: the statistics follow.
    conn.execute("DELETE FROM gloss WHERE hashtext(id) % 3 = 0")
    conn.execute("INSERT INTO gloss SELECT id || 'x', pos, lemmas, body || ' negligently' FROM gloss WHERE hashtext(id) % 7 = 1")
    conn.execute("VACUUM (INDEX_CLEANUP ON) gloss")
    docs = analysed(conn)
    for q in queries + ["negligently"]:
        assert_same_top(index_top(conn, q, 10), reference_top(docs, query_terms(conn, q), 10), q)
