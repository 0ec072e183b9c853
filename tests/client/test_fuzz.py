"""Fuzzing through SQL (bench/fuzz.py): 10,000 malformed and extreme inputs, each its own statement.

Every input must succeed or fail with a clear ERROR whose SQLSTATE is not an internal error (class XX,
except the documented XX000 of malformed aggregate states); no input may take the server down
(connection lost, pg_postmaster_start_time() changed, "terminated by signal" in the server log).
The seed is fixed, so a failure replays: `python bench/fuzz.py --count 10000 --seed 1` against any
server with the extension installed (PGHOST/PGPORT/PGUSER). About 30 s on 2 cores; at most 50 texts go
through a model. EMBEDRANK_FUZZ_COUNT / EMBEDRANK_FUZZ_SEED change the count and the seed.
"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))

import fuzz  # noqa: E402


def test_fuzz_inputs_never_crash_and_fail_cleanly():
    count = int(os.environ.get("EMBEDRANK_FUZZ_COUNT", "10000"))
    seed = int(os.environ.get("EMBEDRANK_FUZZ_SEED", "1"))
    # Differential inputs included (index scan vs exact scan of one query: same rows); EMBEDRANK_FUZZ_CHECK_INDEX=0
    # leaves them out.
    rep = fuzz.fuzz(count, seed, max_inference=50, check_index=os.environ.get("EMBEDRANK_FUZZ_CHECK_INDEX", "1") == "1")
    print("\n" + fuzz.summary(rep))
    assert rep["inputs"] >= count
    assert rep["crashes"] == 0, fuzz.summary(rep)
    assert rep["failures"] == 0, fuzz.summary(rep)
    # The inputs reached the code they aim at: every family ran, most inputs were refused on purpose.
    assert len(rep["families"]) >= 20, rep["families"].keys()
    assert rep["outcomes"].get("ok", 0) > count // 10
    assert sum(v for k, v in rep["outcomes"].items() if k != "ok") > count // 2
