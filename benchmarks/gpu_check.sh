#!/usr/bin/env bash
# GPU readiness check (issue 12), one run, under 8 minutes on one CUDA GPU:
#   1. set-up (./dev setup unless PYTHON names a ready interpreter), GPU and TF32 settings;
#   2. the parity suite on CUDA (single within 1e-5, double within 1e-10, as on the CPU);
#   3. the loop does not synchronise with the host per iteration (torch sync debug mode);
#   4. `deepdream demo --device gpu`, timed;
#   5. the benchmark figures 1-4 (and 5-8) on the GPU, figure 2 at 896², K = 8 (target >= 5x).
# Everything is written under $OUT (default out/gpu-check): parity-cuda.jsonl, sync-check.json,
# demo.png, demo.json, bench-cuda.json and the logs; the exit status is 0 only if 2-5 pass.
#   usage: benchmarks/gpu_check.sh            (from anywhere; runs in the repository root)
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-out/gpu-check}
mkdir -p "$OUT"
if [ -z "${PYTHON:-}" ]; then
    ./dev setup >"$OUT/setup.log" 2>&1 || { echo "setup failed: see $OUT/setup.log"; exit 1; }
    PYTHON=.venv/bin/python
fi
status=0
step() { echo "== $1 ($(date +%T))"; }

step "device"
"$PYTHON" - <<'PY' | tee "$OUT/device.json" || exit 1
import json, torch
assert torch.cuda.is_available(), "no CUDA device: this check needs one"
print(json.dumps({
    "torch": torch.__version__, "cuda": torch.version.cuda, "gpu": torch.cuda.get_device_name(0),
    "cudnn": torch.backends.cudnn.version(),
    "cudnn_conv_fp32_precision": getattr(getattr(torch.backends.cudnn, "conv", None), "fp32_precision", None),
    "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
    "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
}))
PY

step "parity suite on CUDA"
"$PYTHON" -m deepdreamport parity parity/reference/cases --models parity/reference/models --device cuda --json \
    >"$OUT/parity-cuda.jsonl" 2>"$OUT/parity-cuda.log" || status=1
cat "$OUT/parity-cuda.jsonl"

step "no host synchronisation per iteration"
"$PYTHON" - "$OUT/sync-check.json" <<'PY' || status=1
import json, sys, warnings
import numpy as np, torch
from deepdreamport.core.loop import DreamSettings, deep_dream
from deepdreamport.nets import OnnxNetwork
from deepdreamport.doors.files import default_model

device = torch.device("cuda")
visual = OnnxNetwork.from_onnx(str(default_model())).truncated("_blocks/10/Add").to(device, torch.float32)
images = torch.randn(1, 3, 448, 448, device=device).expand(8, -1, -1, -1)
channels = torch.arange(8, device=device)
settings = DreamSettings(5, 1, 1.4, 224, None)  # one level: every size's caches are built in the warm-up
deep_dream(images, channels, visual.gradient, settings, np.random.RandomState(0))  # warm-up
torch.cuda.synchronize()
torch.cuda.set_sync_debug_mode("warn")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    deep_dream(images, channels, visual.gradient, settings, np.random.RandomState(0))
torch.cuda.set_sync_debug_mode("default")
syncs = [str(w.message).splitlines()[0] for w in caught if "synchroniz" in str(w.message).lower()]
# allowed: the strengths' one copy to the host at the end of the run
result = {"iterations": settings.num_iterations, "synchronisations": len(syncs), "messages": syncs[:10],
          "passed": len(syncs) <= 1, "memory_format": str(visual.memory_format)}
open(sys.argv[1], "w").write(json.dumps(result, indent=2))
print(json.dumps(result))
sys.exit(0 if result["passed"] else 1)
PY

step "deepdream demo --device gpu"
start=$(date +%s%N)
"$PYTHON" -m deepdreamport demo --device gpu --out "$OUT/demo.png" >"$OUT/demo.log" 2>&1 || status=1
end=$(date +%s%N)
echo "{\"demo_wall_ms\": $(((end - start) / 1000000))}" | tee "$OUT/demo.json"

step "benchmark figures on the GPU"
# figure 3 (lucent) is timed by its re-creation unless lucent is installed (see README, Benchmarks)
"$PYTHON" -m benchmarks --device cuda --k 8 --batched-size 896 --json "$OUT/bench-cuda.json" \
    >"$OUT/bench-cuda.log" 2>&1 || status=1
cat "$OUT/bench-cuda.log"

step "done: status $status, results in $OUT"
exit $status
