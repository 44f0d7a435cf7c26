#!/usr/bin/env bash
# Builds the viewer bundle into dist/ (what `samscope serve` serves at /).
set -euo pipefail
source "$(dirname "$0")/common.sh"
"$ROOT/scripts/web-tools.sh" "$@"
export PATH="$SAMSCOPE_HOME/tools/npm/node_modules/.bin:$PATH"
log "building the viewer (trunk build --release)"
cd "$ROOT"
trunk build --release --offline
