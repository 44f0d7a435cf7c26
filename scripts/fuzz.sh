#!/usr/bin/env bash
# Fuzz every decoder of crates/imaging with cargo-fuzz (libFuzzer + AddressSanitizer):
# dicom, nifti, nrrd, raster (PNG/JPEG/TIFF/PNM), labels (mask/label maps), volume_codec
# (the server's stored volumes), metaimage (.mha, .mhd). Each target runs for SECONDS (default
# 600), seeded from the test scans (scripts/fetch-testdata.sh) and tiny synthetic files
# (fuzz/make_seeds.py), with a 2 GiB RSS limit. Crashes land in fuzz/artifacts/<target>/;
# turn each into a regression test.
# Needs a nightly toolchain and cargo-fuzz (both installed here when missing).
#   scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$ROOT"

duration="${1:-600}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(dicom nifti nrrd raster labels volume_codec metaimage)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked
scripts/fetch-testdata.sh
python3 fuzz/make_seeds.py "${SAMSCOPE_TESTDATA:-$SAMSCOPE_HOME/testdata}" fuzz/corpus >/dev/null

# Nightly builds stay out of the stable target folder.
export CARGO_TARGET_DIR="$SAMSCOPE_HOME/target-fuzz"
for target in "${targets[@]}"; do
  log "fuzzing $target for ${duration} s"
  cargo +nightly fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
    -max_total_time="$duration" -rss_limit_mb=2048 -max_len=1048576 -print_final_stats=1
done
