#!/usr/bin/env bash
# ViT-B / ViT-H embedding time on an NVIDIA GPU: samscope (Burn wgpu backend on Vulkan, f32 and
# f16) and PyTorch eager (f32, f16, bf16) on the same card, same input size, in one invocation.
#
# Burn 0.22's CUDA backend cannot be built offline (its build script downloads an LLVM bundle),
# so the GPU path measured here is wgpu/Vulkan on the NVIDIA driver.
#
# Prepare on a build machine (no GPU needed), from the repo root:
#   cargo build --release -p samscope-cli --features wgpu
#   mkdir -p .gpu .gl && cp "$CARGO_TARGET_DIR/release/samscope" .gpu/ && strip .gpu/samscope
#   xz .gpu/samscope                               # optional: smaller to ship
#   pip download --no-deps segment-anything==1.0 -d .gpu
#   (cd .gl && apt-get download libvulkan1)      # the Vulkan loader, if the GPU host lacks it
# then on the GPU machine, from the repo root:  tools/bench/gpu.sh [RUNS]
set -uo pipefail
runs="${1:-20}"
out="${OUT:-.}"
for f in .gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig
export VK_DRIVER_FILES="${VK_DRIVER_FILES:-/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json}"
if [ -f .gpu/samscope.xz ] && [ ! -x .gpu/samscope ]; then
  python3 -c "import lzma, shutil; shutil.copyfileobj(lzma.open('.gpu/samscope.xz'), open('/tmp/samscope', 'wb'))"
  chmod +x /tmp/samscope && bin=/tmp/samscope
else
  bin=.gpu/samscope
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/segment_anything-*.whl && export PYTHONPATH=/tmp/site
timeout 200 python3 tools/bench/gpu_vit.py --runs "$runs" | tee -a "$out/pytorch.jsonl"
for model in vit_b vit_h; do
  for precision in f32 f16; do
    timeout 100 "$bin" bench-encoder --model "$model" --random-weights --device wgpu \
      --precision "$precision" --runs "$runs" --warmup 3 2>&1 | tail -n 3 | tee -a "$out/samscope.jsonl"
  done
done
