#!/usr/bin/env bash
# Tools that build and test the browser viewer, each installed once at a pinned version
# (idempotent; Trunk is told never to download anything itself):
#   trunk 0.21.14, wasm-bindgen-cli at Cargo.lock's wasm-bindgen version, wasm-opt 132
#   (npm's binaryen; Debian's 108 breaks the bundle), brotli (apt) for the precompressed
#   bundle, and Chromium + chromedriver (apt) for the browser tests (`--with-browser`).
set -euo pipefail
source "$(dirname "$0")/common.sh"

want_browser=false
[[ "${1:-}" == "--with-browser" ]] && want_browser=true

TRUNK_VERSION=0.21.14
BINARYEN_VERSION=132.0.0
WBG_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' "$ROOT/Cargo.lock")
NPM_DIR="$SAMSCOPE_HOME/tools/npm"

if ! trunk --version 2>/dev/null | grep -q " $TRUNK_VERSION\$"; then
  log "installing trunk $TRUNK_VERSION (about 15 minutes on 2 cores)"
  cargo install trunk --version "$TRUNK_VERSION" --locked
fi
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WBG_VERSION\$"; then
  log "installing wasm-bindgen-cli $WBG_VERSION (the version in Cargo.lock)"
  cargo install wasm-bindgen-cli --version "$WBG_VERSION" --force
fi
if ! "$NPM_DIR/node_modules/.bin/wasm-opt" --version 2>/dev/null | grep -q "version 132"; then
  command -v npm >/dev/null || { echo "error: npm is needed for wasm-opt (apt-get install npm)" >&2; exit 1; }
  log "installing wasm-opt $BINARYEN_VERSION and onnxruntime-web (npm)"
  mkdir -p "$NPM_DIR"
  (cd "$NPM_DIR" && npm install --no-audit --no-fund --silent "binaryen@$BINARYEN_VERSION" "onnxruntime-web@1.30.0")
fi
if ! command -v brotli >/dev/null && command -v apt-get >/dev/null; then
  log "installing brotli (apt; the bundle is served precompressed)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq brotli; } \
    || log "warning: brotli could not be installed; the bundle will be served gzip-compressed only"
fi
if $want_browser && ! { command -v chromium >/dev/null && command -v chromedriver >/dev/null; }; then
  log "installing Chromium (apt)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi
