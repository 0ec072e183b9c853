#!/usr/bin/env bash
# In-database inference vs raw Python onnxruntime (same models, threads and batching), on the demo server:
# embedding throughput for batches of 1/32/256, rerank latency for 100 passages, cold vs warm first call,
# backend RSS. Prints markdown tables. Needs the extension installed (scripts/demo.sh does that).
# usage: scripts/bench_inference.sh [--threads 1 2] [--reps N]
source "$(dirname "$0")/lib.sh"
cd "$REPO_ROOT"
bash scripts/server.sh start demo "$DEMO_PORT"
PGHOST=$DEMO_SOCK PGPORT=$DEMO_PORT PGUSER=postgres exec "$VENV/bin/python" bench/inference_bench.py "$@"
