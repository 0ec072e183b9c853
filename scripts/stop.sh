#!/usr/bin/env bash
# Stops the demo server started by scripts/demo.sh (its data stays in .pgdata/demo).
source "$(dirname "$0")/lib.sh"
bash "$REPO_ROOT/scripts/server.sh" stop demo
log "demo server stopped"
