#!/usr/bin/env bash
# The GPU benchmark in one run (about 5-8 minutes on an H200): correctness of the
# WebGPU step against the CPU EP, slimtrain's VGG-16 and ResNet-50 train steps on
# the WebGPU EP (state kept on the GPU), PyTorch fp32 / TF32 / AMP for the same nets
# on the same GPU, then one table. Run from the project root through .device/run.sh
# (bench/gpu/README.md). Results also go to $OUT/gpu_bench.jsonl when $OUT is set.
#
# Environment: STEPS (timed steps, default 20), WARMUP (default 3), BATCH (32), SIZE (224),
# SMOKE=1 (tiny sizes, PyTorch on the CPU: proves the whole script on a machine without a GPU),
# PYTHON (the interpreter with torch, default python3).
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
bundle=.device/gpu_bench/gpu_step.mjs
[ -f "$bundle" ] || { echo "run_on_device.sh: $bundle is missing: run 'node bench/gpu/build.mjs' first" >&2; exit 1; }
results=${OUT:-$(mktemp -d)}/gpu_bench.jsonl
: > "$results"
steps=${STEPS:-20} warmup=${WARMUP:-3} batch=${BATCH:-32} size=${SIZE:-224}
if [ -n "${SMOKE:-}" ]; then
  js_nets="mobilenet_v2" size_args="--smoke" torch_args="--device cpu --batch 2 --size 32 --classes 10 --steps 2 --warmup 1"
  check_nets=""
else
  js_nets="vgg_16 resnet_v1_50" size_args="--batch $batch --size $size --steps $steps --warmup $warmup"
  torch_args="--device cuda --batch $batch --size $size --steps $steps --warmup $warmup"
  check_nets="vgg_16 resnet_v1_50 mobilenet_v2"
fi

budget=${BUDGET_S:-540} # the whole script stays within this many seconds: each run gets at most what is left
run() { # label, seconds, command...: one JSON line per run into $results, failures too
  local label=$1 limit=$2; shift 2
  local left=$((budget - SECONDS))
  [ "$left" -lt "$limit" ] && limit=$left
  if [ "$limit" -lt 20 ]; then echo "{\"impl\": \"driver\", \"net\": \"$label\", \"error\": \"skipped: time budget spent\"}" | tee -a "$results"; return; fi
  echo "== $label (at most $limit s)" >&2
  local start=$SECONDS
  timeout "$limit" "$@" | tee -a "$results"
  local rc=${PIPESTATUS[0]}
  [ "$rc" = 0 ] || echo "{\"impl\": \"driver\", \"net\": \"$label\", \"error\": \"exit status $rc after $((SECONDS - start)) s\"}" | tee -a "$results"
}

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null >&2 || true
# Most wanted first, so a run cut short still has the VGG-16 comparison.
first_check=${check_nets%% *}
[ -n "$first_check" ] && run "check $first_check" 90 node "$bundle" --check --net "$first_check"
set -- $js_nets
run "slimtrain webgpu $1" 180 node "$bundle" --net "$1" $size_args
run "pytorch" 150 "${PYTHON:-python3}" bench/gpu/torch_gpu.py --nets vgg_16,resnet_v1_50 $torch_args
# Mixed precision needs shader-f16: on an adapter without it (SwiftShader) this records the refusal.
run "slimtrain webgpu $1 fp16" 180 node "$bundle" --net "$1" $size_args --mixed-precision
shift; for net in "$@"; do run "slimtrain webgpu $net" 180 node "$bundle" --net "$net" $size_args; done
for net in ${check_nets#* }; do [ "$net" = "$first_check" ] || run "check $net" 90 node "$bundle" --check --net "$net"; done
[ -n "$first_check" ] && run "check $first_check fp16" 90 node "$bundle" --check --net "$first_check" --mixed-precision
echo >&2
node bench/gpu/table.mjs "$results"
