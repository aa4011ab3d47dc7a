"""Export sweep: torchvision networks exported the ways people export them, then listed, checked and dreamed.

Reproduces the table in ``docs/models.md`` ("Export sweep"). Each network is built with random weights
(``weights=None``: nothing is downloaded; batch-norm statistics randomised so no layer is the identity)
and exported with ``torch.onnx.export`` by the TorchScript exporter (``dynamo=False``) or the dynamo
exporter, at an opset and with the dynamic axes named in ``CONFIGS``. For every export the sweep runs,
each in its own process with a timeout:

- ``deepdream layers``;
- the converted network against onnxruntime on one random image, at the network's output and at the
  layer two thirds down the layer table (max abs error / max abs reference);
- ``deepdream dream`` on that layer: channels 1:2, one level, two iterations.

Usage (exports and ``results.json`` go to OUT; existing exports are reused)::

    python -m benchmarks.export_sweep OUT [NAME ...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
IMAGE_SIZE = (64, 80)  # non-square on purpose: catches swapped height and width
VIT_SIZE = (64, 64)  # torchvision's ViT needs a square image of its ``image_size``

# name: (torchvision architecture, exporter, opset, dynamic axes, extra torch.onnx.export arguments)
# dynamic axes: None, "batch", "hw" (height and width) or "bhw" (all three)
CONFIGS: dict[str, tuple[str, str, int, str | None, dict]] = {
    "resnet18_l17": ("resnet18", "legacy", 17, None, {}),
    "resnet18_l11_b": ("resnet18", "legacy", 11, "batch", {}),
    "resnet18_l18": ("resnet18", "legacy", 18, None, {}),
    "resnet18_dynamo18": ("resnet18", "dynamo", 18, None, {}),
    "resnet18_dynamo18_bhw": ("resnet18", "dynamo", 18, "bhw", {}),
    "resnet18_l13_nofold_hw": ("resnet18", "legacy", 13, "hw", {"do_constant_folding": False}),
    "mobilenet_v3_small_l13": ("mobilenet_v3_small", "legacy", 13, None, {}),
    "mobilenet_v3_small_l11_bhw": ("mobilenet_v3_small", "legacy", 11, "bhw", {}),
    "mobilenet_v3_small_l18_bhw": ("mobilenet_v3_small", "legacy", 18, "bhw", {}),
    "mobilenet_v3_small_dynamo17": ("mobilenet_v3_small", "dynamo", 17, None, {}),
    "mobilenet_v3_small_dynamo18": ("mobilenet_v3_small", "dynamo", 18, None, {}),
    "mobilenet_v3_small_dynamo20": ("mobilenet_v3_small", "dynamo", 20, None, {}),
    "squeezenet1_1_l13_b": ("squeezenet1_1", "legacy", 13, "batch", {}),
    "squeezenet1_1_dynamo18_bhw": ("squeezenet1_1", "dynamo", 18, "bhw", {}),
    "shufflenet_v2_x0_5_l11_hw": ("shufflenet_v2_x0_5", "legacy", 11, "hw", {}),
    "shufflenet_v2_x0_5_l13": ("shufflenet_v2_x0_5", "legacy", 13, None, {}),
    "shufflenet_v2_x0_5_l13_nofold": ("shufflenet_v2_x0_5", "legacy", 13, None, {"do_constant_folding": False}),
    "shufflenet_v2_x0_5_l17_bhw": ("shufflenet_v2_x0_5", "legacy", 17, "bhw", {}),
    "shufflenet_v2_x0_5_dynamo18": ("shufflenet_v2_x0_5", "dynamo", 18, None, {}),
    "efficientnet_b0_l11_initinputs": (
        "efficientnet_b0",
        "legacy",
        11,
        None,
        {"keep_initializers_as_inputs": True},
    ),
    "efficientnet_b0_l13": ("efficientnet_b0", "legacy", 13, None, {}),
    "efficientnet_b0_l17_b": ("efficientnet_b0", "legacy", 17, "batch", {}),
    "efficientnet_b0_dynamo18_bhw": ("efficientnet_b0", "dynamo", 18, "bhw", {}),
    "googlenet_l13": ("googlenet", "legacy", 13, None, {}),
    "googlenet_dynamo18": ("googlenet", "dynamo", 18, None, {}),
    "regnet_x_400mf_l17_bhw": ("regnet_x_400mf", "legacy", 17, "bhw", {}),
    "regnet_x_400mf_dynamo18": ("regnet_x_400mf", "dynamo", 18, None, {}),
    "convnext_tiny_l11": ("convnext_tiny", "legacy", 11, None, {}),
    "convnext_tiny_l17": ("convnext_tiny", "legacy", 17, None, {}),
    "convnext_tiny_l18": ("convnext_tiny", "legacy", 18, None, {}),
    "convnext_tiny_dynamo18": ("convnext_tiny", "dynamo", 18, None, {}),
    "convnext_tiny_dynamo18_bhw": ("convnext_tiny", "dynamo", 18, "bhw", {}),
    "densenet121_l13_bhw": ("densenet121", "legacy", 13, "bhw", {}),
    "densenet121_dynamo18_b": ("densenet121", "dynamo", 18, "batch", {}),
    "mnasnet0_5_l13_bhw": ("mnasnet0_5", "legacy", 13, "bhw", {}),
    "vit_b_16_l14_b": ("vit_b_16", "legacy", 14, "batch", {}),
    "vit_b_16_l17": ("vit_b_16", "legacy", 17, None, {}),
    "vit_b_16_dynamo18": ("vit_b_16", "dynamo", 18, None, {}),
    "swin_t_l17": ("swin_t", "legacy", 17, None, {}),
}


def image_size(name: str) -> tuple[int, int]:
    return VIT_SIZE if CONFIGS[name][0] == "vit_b_16" else IMAGE_SIZE


def export(name: str, out: Path) -> Path:
    """Write ``out/NAME.onnx`` from a randomly initialised torchvision network."""
    import torch
    import torchvision

    arch, exporter, opset, dynamic, extra = CONFIGS[name]
    torch.manual_seed(0)
    kwargs: dict = {"weights": None}
    if arch == "vit_b_16":
        kwargs["image_size"] = VIT_SIZE[0]
    if arch == "googlenet":
        kwargs.update(aux_logits=False, init_weights=False)
    model = getattr(torchvision.models, arch)(**kwargs).eval()
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.1)
            module.running_var.uniform_(0.5, 1.5)
    # dynamo specialises a dynamic dimension that equals 1 in the example, so give it a batch of 2
    batch = 2 if exporter == "dynamo" and dynamic else 1
    example = torch.randn(batch, 3, *image_size(name))
    path = out / f"{name}.onnx"
    if exporter == "legacy":
        axes = {
            None: None,
            "batch": {"input": {0: "batch"}, "output": {0: "batch"}},
            "hw": {"input": {2: "height", 3: "width"}},
            "bhw": {"input": {0: "batch", 2: "height", 3: "width"}, "output": {0: "batch"}},
        }[dynamic]
        torch.onnx.export(
            model,
            (example,),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=["input"],
            output_names=["output"],
            dynamic_axes=axes,
            **extra,
        )
    else:
        shapes = None
        if dynamic:
            dims = {0: torch.export.Dim("batch", min=1, max=64)}
            if dynamic == "bhw":
                dims[2] = torch.export.Dim("height", min=32, max=512)
                dims[3] = torch.export.Dim("width", min=32, max=512)
            shapes = {"x": dims}
        torch.onnx.export(model, (example,), str(path), dynamo=True, opset_version=opset, dynamic_shapes=shapes)
    return path


def _relative_error(ours, reference) -> float | str:
    import numpy as np

    if ours.shape != reference.shape:
        return f"shape {ours.shape} vs {reference.shape}"
    scale = float(np.abs(reference).max())
    if scale == 0.0:
        return "reference all zeros"
    return float(np.abs(ours - reference).max() / scale)


def _first_output(out):
    return (out[0] if isinstance(out, (tuple, list)) else out).detach().numpy()


def compare(name: str, out: Path) -> dict:
    """The converted network against onnxruntime at its output and at a layer two thirds in."""
    import numpy as np
    import onnxruntime
    import torch

    from deepdreamport.nets import OnnxNetwork
    from deepdreamport.onnx.convert import prepare, to_torch
    from deepdreamport.onnx.graph import extract_subgraph
    from deepdreamport.onnx.read import read_onnx

    path = out / f"{name}.onnx"
    model = read_onnx(str(path))
    input_name = model.graph.input[0].name
    image = np.random.RandomState(0).randn(1, 3, *image_size(name)).astype(np.float32)

    def onnxruntime_output(graph) -> np.ndarray:
        session = onnxruntime.InferenceSession(graph.SerializeToString(), providers=["CPUExecutionProvider"])
        return session.run(None, {input_name: image})[0]

    result: dict = {}
    try:
        ours = _first_output(to_torch(prepare(model))(torch.from_numpy(image)))
        result["final"] = _relative_error(ours, onnxruntime_output(model))
    except Exception as exc:  # the sweep records every failure and goes on
        result["final"] = f"{type(exc).__name__}: {str(exc)[:300]}"

    network = OnnxNetwork.from_onnx(str(path))
    layers = network.layers
    spatial = [
        layer for layer in layers[1:] if layer.output_size and len(layer.output_size) == 3 and layer.output_size[0] != 1
    ]
    middle = spatial[len(spatial) * 2 // 3] if spatial else layers[len(layers) * 2 // 3]
    result["mid_layer"] = middle.name
    result["n_layers"] = len(layers)
    try:
        reference = onnxruntime_output(extract_subgraph(model, input_name, network.resolve_layer(middle.name)))
        tile = None if None not in network.input_size else 64
        ours = _first_output(network.truncated(middle.name, tile).module(torch.from_numpy(image)))
        result["mid"] = _relative_error(ours, reference)
    except Exception as exc:
        result["mid"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return result


def _run(command: list[str], timeout: float = 600) -> dict:
    start = time.time()
    env = {**os.environ, "PYTHONPATH": str(REPO)}  # benchmarks and deepdreamport from any working folder
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"rc": "timeout", "s": timeout}
    last_out = (done.stdout.strip().splitlines() or [""])[-1]
    last_err = (done.stderr.strip().splitlines() or [""])[-1]
    return {
        "rc": done.returncode,
        "line": last_out[:600],
        "err": last_err[:400] if done.returncode else "",
        "s": round(time.time() - start, 1),
    }


def sweep(out: Path, names: list[str]) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    results_file = out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    here = [sys.executable, "-m", "benchmarks.export_sweep"]
    for name in names:
        path = out / f"{name}.onnx"
        row: dict = {}
        if not path.exists():
            exported = _run([*here, "--export", str(out), name], timeout=900)
            if not path.exists():
                row["export"] = exported
        if path.exists():
            row["layers"] = _run([sys.executable, "-m", "deepdreamport", "layers", str(path)])
            checked = _run([*here, "--compare", str(out), name])
            try:
                row["compare"] = json.loads(checked["line"])
            except json.JSONDecodeError:
                row["compare"] = checked
            middle = row["compare"].get("mid_layer")
            if middle:
                dream = [sys.executable, "-m", "deepdreamport", "dream", str(path), "--layer", middle]
                dream += ["--channels", "1:2", "--levels", "1", "--iterations", "2", "--device", "cpu"]
                dream += ["--out", str(out / f"{name}.png")]
                if CONFIGS[name][3] in ("hw", "bhw"):
                    dream += ["--tile-size", "64"]
                row["dream"] = _run(dream)
        results[name] = row
        results_file.write_text(json.dumps(results, indent=1))
        print(name, json.dumps(row), flush=True)
    return results


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[0] == "--export":
        export(argv[2], Path(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "--compare":
        try:
            print(json.dumps(compare(argv[2], Path(argv[1]))))
        except Exception as exc:
            traceback.print_exc()
            print(json.dumps({"error": f"{type(exc).__name__}: {str(exc)[:300]}"}))
            return 1
        return 0
    if not argv or argv[0].startswith("-"):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    unknown = [name for name in argv[1:] if name not in CONFIGS]
    if unknown:
        print(f"unknown export name(s) {', '.join(unknown)}; expected some of: {', '.join(CONFIGS)}", file=sys.stderr)
        return 2
    from deepdreamport.doors.outputs import check_output_folder  # the package's rule for every output folder
    from deepdreamport.errors import DeepDreamError

    try:  # ~ expanded as every deepdream command does; $NAME is the shell's to expand
        out = check_output_folder("OUT", argv[0], {}, parents=True)
    except DeepDreamError as refused:
        print(f"export_sweep: error: {refused.message}", file=sys.stderr)
        return 2
    sweep(out, argv[1:] or list(CONFIGS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
