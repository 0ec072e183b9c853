#!/usr/bin/env bash
# Copies ONNX Runtime next to the extension and the models under the Postgres share directory of the
# Postgres tree named by PG_CONFIG (the defaults of embedrank.onnxruntime_library / embedrank.model_dir).
# usage: scripts/install_assets.sh /path/to/pg_config
source "$(dirname "$0")/lib.sh"
PGC=${1:?usage: install_assets.sh PG_CONFIG}
libdir=$("$PGC" --pkglibdir); share=$("$PGC" --sharedir)
[ -f "$CACHE_DIR/ort/$ORT_LIB" ] || bash "$REPO_ROOT/scripts/fetch_assets.sh"
install -m 0755 "$CACHE_DIR/ort/$ORT_LIB" "$libdir/$ORT_LIB"
mkdir -p "$share/pg_embedrank/models"
for m in "$CACHE_DIR"/models/*/; do
  name=$(basename "$m")
  mkdir -p "$share/pg_embedrank/models/$name"
  for f in model.onnx tokenizer.json embedrank.json; do
    cmp -s "$m/$f" "$share/pg_embedrank/models/$name/$f" || install -m 0644 "$m/$f" "$share/pg_embedrank/models/$name/$f"
  done
done
