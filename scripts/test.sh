#!/usr/bin/env bash
# Set up a fresh machine and run every check: formatting, lints, the wasm build of the
# model crate, and all tests (parity with PyTorch on the real LiteMedSAM weights).
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare

log "rustfmt"
cargo fmt --all -- --check
log "clippy (-D warnings)"
cargo clippy --release --workspace --all-targets --features samscope-sam/pytorch -- -D warnings
log "model crate for wasm32-unknown-unknown"
cargo check --release -p samscope-sam --target wasm32-unknown-unknown
log "tests"
cargo test --release --workspace --features samscope-sam/pytorch
