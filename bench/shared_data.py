"""Where the project's shared data lives: $EMBEDRANK_SHARED, by default ../shared next to the repository."""
import os
import sys
from pathlib import Path


def shared_dir(sub):
    """A folder of the project's shared data: $EMBEDRANK_SHARED/sub, by default ../shared next to the
    repository's root. Exits with what to do when it is missing (a user's clone has no ../shared)."""
    root = Path(os.environ.get("EMBEDRANK_SHARED", Path(__file__).resolve().parents[2] / "shared"))
    d = root / sub
    if not d.is_dir():
        sys.exit(f"{d} is missing: set EMBEDRANK_SHARED to the folder that holds {sub}/ "
                 "(the TREC DL19 subset: corpus.jsonl, queries.jsonl, qrels.tsv)")
    return d
