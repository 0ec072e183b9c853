#!/usr/bin/env bash
# Retrieval-quality evaluation on the TREC DL 2019 subset ($EMBEDRANK_SHARED/eval/trec-dl19-subset,
# default ../shared next to the repository), run
# inside Postgres: loads and embeds the corpus into database embedrank_eval (resumable), then prints
# nDCG@10 / MRR@10 / Recall@100 for dense, dense→rerank, full-text, hybrid RRF and hybrid→rerank.
# Takes about 10 minutes on 2 cores the first time (embedding 5000 passages, ~6,500 rerank pairs).
# Needs the extension installed (scripts/demo.sh does that).
# usage: scripts/eval.sh [--threads 2] [--only dense,dense50,dense100,fts,hybrid,hybrid50]
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/server.sh start demo "$DEMO_PORT"
PGHOST=$DEMO_SOCK PGPORT=$DEMO_PORT PGUSER=postgres exec "$VENV/bin/python" bench/eval_dl19.py "$@"
