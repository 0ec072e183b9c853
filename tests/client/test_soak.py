"""A short soak (bench/soak.py): 4 clients x 20 s of inserts (precomputed and trigger-embedded), updates,
deletes, transactions, index scans, search() and VACUUM on a registered table, then the audit: no
error, no committed row lost or changed, the index's top 10 at ef_search = 400 against an exact scan's
within 0.01 of the same rows reindexed (see bench/soak.py on why not identical) and at least 0.98 over
100 queries, rows found by their own vector as often as after a REINDEX, every row reachable through
the index, no server crash. The 0.99 floor is the long soak's (scripts/soak.sh, 8 clients x 5
minutes): over the 20 queries this test once had, a maintained 0.985 next to a rebuilt 0.995 failed it,
while the same churn rebuilt from scratch also lands anywhere from 0.99 to 1.0 (the misses are HNSW's,
see bench/soak.py). EMBEDRANK_SOAK_SECONDS / EMBEDRANK_SOAK_CLIENTS change the size.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))

import soak  # noqa: E402


def test_short_soak_loses_nothing_and_index_matches_exact_scan():
    r = soak.soak(seconds=float(os.environ.get("EMBEDRANK_SOAK_SECONDS", "20")),
                  clients=int(os.environ.get("EMBEDRANK_SOAK_CLIENTS", "4")), rows=500, queries=100, progress=False,
                  base=30, sample=10, min_recall=0.98)
    print("\n" + soak.summary(r))
    assert r["ok"], soak.summary(r)
    assert r["errors"] == 0 and r["lost_connections"] == 0
    assert r["rows"]["lost"] == 0 and r["rows"]["extra"] == 0
    assert r["index"]["recall_at_10"] >= 0.98, r["index"]
    assert r["index"]["recall_at_10"] >= r["index"]["rebuilt"]["recall_at_10"] - 0.01, r["index"]
    # The mix ran: every operation happened, including trigger-embedded inserts.
    for op in ("insert_vec", "insert_text", "update_text", "update_vec", "delete", "txn", "ann", "search"):
        assert r["operations"].get(op, 0) > 0, (op, r["operations"])
