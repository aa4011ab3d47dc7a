"""Reference arrays from the real torch-lucent 0.1.8 (kornia 0.4.1) for ``tests/optvis``.

Run from the repository root, with lucent installed in the side target the
benchmarks use (never a dependency of the package)::

    .venv/bin/python -m pip install --no-deps --target .cache/bench-deps -r benchmarks/requirements-lucent.txt
    .venv/bin/python -m pip install --target .cache/bench-deps/ipy ipython
    PYTHONPATH=. .venv/bin/python parity/lucent/make_references.py

The network lucent optimises is the layer's truncated ONNX graph converted by
the package (``OnnxNetwork.truncated(layer).module``), wrapped in
``torch.nn.Sequential`` so lucent's hook name ``"0"`` is the layer's output.
The 0–1 image is mapped to the network's units by one extra transform
(``x * 255`` for EfficientNet-Lite0, ``x * 1.0`` for tinynet, whose input
mean is in 0–1) with ``preprocess=False``, and ``fixed_image_size`` is the
image size (lucent resizes the transformed image to it, as it does to 224
without the option).

Each case is ``cases/<name>.npz``: ``images`` (K×H×W×C after ``steps`` steps
of ``render_vis``), ``losses`` (the closure's loss each step, captured by a
wrapped optimiser), ``grad_param`` and ``grad_image`` (the gradient of the
first closure call with respect to the parameter tensor and to the 0–1
image), ``direction`` where used (the vector of the direction and weight
objectives), ``snapshots`` (T×K×H×W×C, the images at each of ``thresholds``)
where the recipe asks for thresholds, and ``provenance`` (JSON: versions,
seeds, model and its SHA-256, recipe).

``run_case`` takes the lucent modules as an argument, so that
``tests/optvis/test_lucent_namespace.py`` can run this same recipe code on
``deepdreamport.optvis.lucent`` (the import changed, nothing else) and compare.
"""

from __future__ import annotations

import hashlib
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "cases"
DEPS = REPO / ".cache" / "bench-deps"

MODELS = {
    "tinynet": (REPO / "parity" / "reference" / "models" / "tinynet.onnx", "conv2", 1.0, 32),
    "efficientnet_lite0": (REPO / "models" / "efficientnet_lite0.onnx", "_blocks/3/_project_conv/Conv", 255.0, 64),
}

# name: (model, param, decorrelate, transforms, objective terms, optimizer, batch, dtype[, extras])
# param: pixel, fft, cppn, cppn_normalized (cppn(normalize=True)), lowres (lowres_tensor from a
# quarter-size tensor, offset=True, through to_valid_rgb).
# objective terms: [kind, args, weight]; the first term is taken as is, later ones are
# added (weight None) or subtracted times weight (lucent's "channel - 1e2 * diversity").
# args: channel [n, batch?]; neuron [n]; direction []; direction_neuron [x, y, batch]
# (None: lucent's default); channel_interpolate [n1, layer2, n2] (layer1 is the model's
# layer; layer2 is a `deepdream layers` name before it, lucent's hook "0_" + layer2);
# neuron_weight [x, y, batch]; channel_weight [batch]; localgroup_weight [x, y, wx, wy]
# (weights: the direction vector); callable [n] (lucent's plain `lambda T: -T(layer)[:, n].mean()`).
# extras: {"thresholds": [...]} (render_vis's thresholds; the images at each are kept).
CASES = {
    "tiny_pixel_plain_channel_adam": (
        "tinynet",
        "pixel",
        False,
        "none",
        [["channel", [1], None]],
        "adam",
        1,
        "float32",
    ),
    "tiny_fft_plain_channel_adam": ("tinynet", "fft", False, "none", [["channel", [2], None]], "adam", 1, "float32"),
    "tiny_fft_decorrelated_standard_channel_adam": (
        "tinynet",
        "fft",
        True,
        "standard",
        [["channel", [3], None]],
        "adam",
        1,
        "float32",
    ),
    "tiny_pixel_decorrelated_standard_neuron_adam": (
        "tinynet",
        "pixel",
        True,
        "standard",
        [["neuron", [4], None]],
        "adam",
        1,
        "float32",
    ),
    "tiny_fft_decorrelated_plain_direction_adam": (
        "tinynet",
        "fft",
        True,
        "none",
        [["direction", [], None]],
        "adam",
        1,
        "float32",
    ),
    "tiny_fft_decorrelated_standard_diversity_adam": (
        "tinynet",
        "fft",
        True,
        "standard",
        [["channel", [0], None], ["diversity", [], 100.0]],
        "adam",
        3,
        "float32",
    ),
    "tiny_fft_decorrelated_standard_units_adam": (
        "tinynet",
        "fft",
        True,
        "standard",
        [["channel", [0, 0], None], ["channel", [5, 1], None]],
        "adam",
        2,
        "float32",
    ),
    "tiny_pixel_plain_channel_lbfgs": (
        "tinynet",
        "pixel",
        False,
        "none",
        [["channel", [1], None]],
        "lbfgs",
        1,
        "float32",
    ),
    "tiny_fft_decorrelated_standard_channel_lbfgs": (
        "tinynet",
        "fft",
        True,
        "standard",
        [["channel", [3], None]],
        "lbfgs",
        1,
        "float32",
    ),
    "tiny_pixel_plain_channel_adam_f64": (
        "tinynet",
        "pixel",
        False,
        "none",
        [["channel", [1], None]],
        "adam",
        1,
        "float64",
    ),
    "tiny_fft_plain_channel_adam_f64": (
        "tinynet",
        "fft",
        False,
        "none",
        [["channel", [2], None]],
        "adam",
        1,
        "float64",
    ),
    "tiny_cppn_standard_channel_adam": (
        "tinynet",
        "cppn",
        False,
        "standard",
        [["channel", [3], None]],
        "adam",
        1,
        "float32",
    ),
    "effnet_fft_decorrelated_standard_channel_adam": (
        "efficientnet_lite0",
        "fft",
        True,
        "standard",
        [["channel", [5], None]],
        "adam",
        1,
        "float32",
    ),
    "effnet_pixel_plain_channel_adam": (
        "efficientnet_lite0",
        "pixel",
        False,
        "none",
        [["channel", [7], None]],
        "adam",
        1,
        "float32",
    ),
    "effnet_fft_decorrelated_standard_units_adam": (
        "efficientnet_lite0",
        "fft",
        True,
        "standard",
        [["channel", [1, 0], None], ["channel", [9, 1], None]],
        "adam",
        2,
        "float32",
    ),
    "effnet_fft_plain_channel_adam_f64": (
        "efficientnet_lite0",
        "fft",
        False,
        "none",
        [["channel", [5], None]],
        "adam",
        1,
        "float64",
    ),
    "tiny_fft_decorrelated_standard_direction_neuron_adam": (
        "tinynet",
        "fft",
        True,
        "standard",
        [["direction_neuron", [None, None, 0], None], ["direction_neuron", [3, 9, 1], None]],
        "adam",
        2,
        "float32",
    ),
    "tiny_fft_decorrelated_standard_channel_interpolate_adam": (
        "tinynet",
        "fft",
        True,
        "standard",
        [["channel_interpolate", [3, "conv1", 5], None]],
        "adam",
        3,
        "float32",
    ),
    "effnet_fft_decorrelated_standard_direction_neuron_adam": (
        "efficientnet_lite0",
        "fft",
        True,
        "standard",
        [["direction_neuron", [None, None, None], None]],
        "adam",
        1,
        "float32",
    ),
    "effnet_fft_decorrelated_standard_channel_interpolate_adam": (
        "efficientnet_lite0",
        "fft",
        True,
        "standard",
        [["channel_interpolate", [2, "_blocks/2/Add", 4], None]],
        "adam",
        3,
        "float32",
    ),
    "effnet_pixel_plain_channel_adam_f64": (
        "efficientnet_lite0",
        "pixel",
        False,
        "none",
        [["channel", [7], None]],
        "adam",
        1,
        "float64",
    ),
    # lucent's decorrelation (a float32 matrix) and kornia 0.4.1's transforms fail in float64
    "effnet_fft_plain_units_adam_f64": (
        "efficientnet_lite0",
        "fft",
        False,
        "none",
        [["channel", [1, 0], None], ["channel", [9, 1], None]],
        "adam",
        2,
        "float64",
    ),
    "effnet_fft_decorrelated_plain_channel_lbfgs": (
        "efficientnet_lite0",
        "fft",
        True,
        "none",
        [["channel", [5], None]],
        "lbfgs",
        1,
        "float32",
    ),
}
CASES.update(
    {
        "tiny_fft_decorrelated_standard_neuron_weight_adam": (
            "tinynet",
            "fft",
            True,
            "standard",
            [["neuron_weight", [None, None, None], None]],
            "adam",
            1,
            "float32",
        ),
        "tiny_pixel_plain_neuron_weight_adam_f64": (
            "tinynet",
            "pixel",
            False,
            "none",
            [["neuron_weight", [3, 5, None], None]],
            "adam",
            1,
            "float64",
        ),
        "tiny_fft_decorrelated_standard_channel_weight_adam": (
            "tinynet",
            "fft",
            True,
            "standard",
            [["channel_weight", [0], None], ["channel_weight", [1], None]],
            "adam",
            2,
            "float32",
        ),
        "tiny_fft_plain_channel_weight_adam_f64": (
            "tinynet",
            "fft",
            False,
            "none",
            [["channel_weight", [None], None]],
            "adam",
            1,
            "float64",
        ),
        "tiny_fft_decorrelated_standard_localgroup_weight_adam": (
            "tinynet",
            "fft",
            True,
            "standard",
            [["localgroup_weight", [2, 3, 4, 2], None]],
            "adam",
            1,
            "float32",
        ),
        "tiny_pixel_plain_localgroup_weight_adam_f64": (
            "tinynet",
            "pixel",
            False,
            "none",
            [["localgroup_weight", [1, 0, 3, 3], None]],
            "adam",
            1,
            "float64",
        ),
        "tiny_lowres_decorrelated_standard_channel_adam": (
            "tinynet",
            "lowres",
            True,
            "standard",
            [["channel", [2], None]],
            "adam",
            2,
            "float32",
        ),
        "tiny_lowres_plain_channel_adam_f64": (
            "tinynet",
            "lowres",
            False,
            "none",
            [["channel", [2], None]],
            "adam",
            1,
            "float64",
        ),
        "tiny_cppn_normalized_standard_channel_adam": (
            "tinynet",
            "cppn_normalized",
            False,
            "standard",
            [["channel", [4], None]],
            "adam",
            1,
            "float32",
        ),
        "tiny_fft_decorrelated_standard_callable_thresholds_adam": (
            "tinynet",
            "fft",
            True,
            "standard",
            [["callable", [1], None]],
            "adam",
            1,
            "float32",
            {"thresholds": [3, 8]},
        ),
        "effnet_fft_decorrelated_standard_channel_weight_adam": (
            "efficientnet_lite0",
            "fft",
            True,
            "standard",
            [["channel_weight", [None], None]],
            "adam",
            1,
            "float32",
        ),
        "effnet_fft_plain_channel_weight_adam_f64": (
            "efficientnet_lite0",
            "fft",
            False,
            "none",
            [["channel_weight", [None], None]],
            "adam",
            1,
            "float64",
        ),
    }
)
VECTOR_OBJECTIVES = ("direction", "direction_neuron", "neuron_weight", "channel_weight", "localgroup_weight")
STEPS = 8
SEED = 0
LR = 0.05
CPPN_LR = 5e-3  # lucent's CPPN notebook
LBFGS = {"lr": 0.1, "max_iter": 4}


def import_lucent():
    for path in (DEPS / "ipy", DEPS):
        sys.path.insert(0, str(path))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import kornia
        import lucent
        from lucent.optvis import objectives, param, render, transform
    return lucent, kornia, objectives, param, render, transform


def _plain_callable(layer: str, n: int):
    """A lucent user's objective: a plain function of ``T``, no Objective, no declared layers."""
    return lambda T: -T(layer)[:, n].mean()


def build_objective(objectives, layer: str, terms, direction):
    built = None
    for kind, args, weight in terms:
        if kind == "channel":
            term = objectives.channel(layer, args[0], batch=args[1] if len(args) > 1 else None)
        elif kind == "neuron":
            term = objectives.neuron(layer, args[0])
        elif kind == "direction":
            term = objectives.direction(layer, direction)
        elif kind == "direction_neuron":
            x, y, batch = args
            term = objectives.direction_neuron(layer, direction, x=x, y=y, batch=batch)
        elif kind == "channel_interpolate":
            n1, layer2, n2 = args
            term = objectives.channel_interpolate(layer, n1, f"{layer}_{layer2}", n2)
        elif kind == "diversity":
            term = objectives.diversity(layer)
        elif kind == "neuron_weight":
            x, y, batch = args
            term = objectives.neuron_weight(layer, direction, x=x, y=y, batch=batch)
        elif kind == "channel_weight":
            term = objectives.channel_weight(layer, direction, batch=args[0])
        elif kind == "localgroup_weight":
            x, y, wx, wy = args
            term = objectives.localgroup_weight(layer, direction, x=x, y=y, wx=wx, wy=wy)
        elif kind == "callable":
            term = _plain_callable(layer, args[0])
        else:
            raise ValueError(kind)
        if built is None:
            built = term
        elif weight is None:
            built = built + term
        else:
            built = built - weight * term
    return built


def run_case(name: str, recipe, lucent_modules) -> dict:
    from deepdreamport.nets import OnnxNetwork

    _, _, objectives, param, render, transform = lucent_modules
    model_name, kind, decorrelate, transforms, terms, optimizer_name, batch, dtype_name = recipe[:8]
    extras = recipe[8] if len(recipe) > 8 else {}
    path, layer, high, size = MODELS[model_name]
    dtype = torch.float64 if dtype_name == "float64" else torch.float32
    network = OnnxNetwork.from_onnx(str(path))
    module = network.truncated(layer).module
    with torch.no_grad():
        channels = int(module.float()(torch.zeros(1, 3, size, size)).shape[1])
    model = torch.nn.Sequential(module).to(dtype).eval()
    direction = None
    if any(term[0] in VECTOR_OBJECTIVES for term in terms):
        direction = torch.from_numpy(np.random.RandomState(1).standard_normal(channels).astype(np.float32))

    record: dict = {"losses": []}

    def param_f():
        previous = torch.get_default_dtype()
        torch.set_default_dtype(dtype)
        try:
            if kind in ("cppn", "cppn_normalized"):
                params, image_f = param.cppn(size, normalize=kind == "cppn_normalized")
                params = list(params)
            elif kind == "lowres":
                shape = (batch, 3, size, size)
                params, raw_f = param.lowres_tensor(shape, (batch, 3, size // 4, size // 4), offset=True)
                image_f = param.to_valid_rgb(raw_f, decorrelate=decorrelate)
            else:
                params, image_f = param.image(size, batch=batch, decorrelate=decorrelate, fft=kind == "fft")
        finally:
            torch.set_default_dtype(previous)
        record["params"] = params

        def watched():
            image = image_f()
            if image.requires_grad:
                image.retain_grad()
            record["current_image"] = image
            return image

        return params, watched

    class Recording:
        """Keeps the first closure call's gradients and every step's loss."""

        def step(self, closure):
            def recording_closure():
                loss = closure()
                if "grad_param" not in record:
                    record["grad_param"] = record["params"][0].grad.detach().clone().numpy()
                    record["grad_image"] = record["current_image"].grad.detach().clone().numpy()
                return loss

            loss = super().step(recording_closure)
            record["losses"].append(float(loss))
            return loss

    class RecordingAdam(Recording, torch.optim.Adam):
        pass

    class RecordingLBFGS(Recording, torch.optim.LBFGS):
        pass

    def optimizer_f(params):
        if optimizer_name == "adam":
            return RecordingAdam(params, lr=CPPN_LR if kind.startswith("cppn") else LR)
        return RecordingLBFGS(params, **LBFGS)

    transform_list = list(transform.standard_transforms) if transforms == "standard" else []
    transform_list.append(lambda x: x * high)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    images = render.render_vis(
        model,
        build_objective(objectives, "0", terms, direction),
        param_f,
        optimizer=optimizer_f,
        transforms=transform_list,
        thresholds=tuple(extras.get("thresholds", (STEPS,))),
        preprocess=False,
        progress=False,
        show_image=False,
        fixed_image_size=size,
    )
    result = {
        "images": images[-1],
        "losses": np.asarray(record["losses"]),
        "grad_param": record["grad_param"],
        "grad_image": record["grad_image"].transpose(0, 2, 3, 1),
    }
    if direction is not None:
        result["direction"] = direction.numpy()
    if "thresholds" in extras:
        result["snapshots"] = np.stack(images)
    return result


def provenance(name: str, recipe, lucent_modules) -> str:
    lucent, kornia = lucent_modules[:2]
    model_name, kind, decorrelate, transforms, terms, optimizer_name, batch, dtype_name = recipe[:8]
    extras = recipe[8] if len(recipe) > 8 else {}
    path, layer, high, size = MODELS[model_name]
    thresholds = list(extras.get("thresholds", [STEPS]))
    return json.dumps(
        {
            "case": name,
            "made_by": "parity/lucent/make_references.py",
            "versions": {
                "torch-lucent": lucent.__version__,
                "kornia": kornia.__version__,
                "torch": torch.__version__,
                "numpy": np.__version__,
            },
            "seeds": {"torch.manual_seed": SEED, "np.random.seed": SEED},
            "model": {
                "name": model_name,
                "file": str(path.relative_to(REPO)),
                "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
                "layer": layer,
            },
            "recipe": {
                "param": kind,
                "decorrelate": decorrelate,
                "transforms": transforms,
                "objective": terms,
                "optimizer": optimizer_name,
                "lr": (CPPN_LR if kind.startswith("cppn") else LR) if optimizer_name == "adam" else LBFGS,
                "batch": batch,
                "size": size,
                "steps": STEPS,
                "dtype": dtype_name,
                "input_scale": high,
                "render_vis": {"preprocess": False, "fixed_image_size": size, "thresholds": thresholds},
            },
        }
    )


def main(names=None) -> None:
    lucent_modules = import_lucent()
    OUT.mkdir(parents=True, exist_ok=True)
    for name, recipe in CASES.items():
        if names and name not in names:
            continue
        arrays = run_case(name, recipe, lucent_modules)
        dtype = np.float64 if recipe[-1] == "float64" else np.float32
        arrays = {key: np.asarray(value, dtype=dtype) for key, value in arrays.items()}
        np.savez_compressed(
            OUT / f"{name}.npz", provenance=np.asarray(provenance(name, recipe, lucent_modules)), **arrays
        )
        print(f"{name}: losses {np.round(arrays['losses'], 5).tolist()}")


if __name__ == "__main__":
    main(sys.argv[1:])
