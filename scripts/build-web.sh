#!/usr/bin/env bash
# Builds the viewer bundle into dist/ (what `samscope serve` serves at /).
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$ROOT/scripts/web-tools.sh" "$@"
export PATH="$SAMSCOPE_HOME/tools/npm/node_modules/.bin:$PATH"
log "building the viewer (trunk build --release)"
cd "$ROOT"
trunk build --release --offline

# The server sends `name.br` / `name.gz` to clients that accept that coding (tower-http's
# precompressed ServeDir): compress once here rather than per request.
log "precompressing the bundle (brotli -q 11, gzip -9)"
# (not the benchmark page: the benchmark replaces it with the current web/bench.*)
find dist -type f \( -name '*.wasm' -o -name '*.js' -o -name '*.css' -o -name '*.html' \) \
  ! -name 'bench.*' -print | while read -r f; do
  gzip -9 -k -f -n "$f"
  if command -v brotli >/dev/null; then brotli -q 11 -k -f "$f"; fi
done
