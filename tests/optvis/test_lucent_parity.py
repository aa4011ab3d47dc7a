"""Parity with the real torch-lucent 0.1.8: arrays made by ``parity/lucent/make_references.py``.

Lucent is not needed here; the committed ``.npz`` files hold its numbers. Every
case is reproduced in lucent compatibility mode (``lucent=True``: lucent's
draws and geometry) on the same converted network.

Memory format: lucent ran every case in the default layout. The first-step
gradients are checked in the layout ``render`` picks by default (the rule:
``channels_last`` for the float32 EfficientNet-Lite0 cases, the default layout
for tinynet and float64). Whole 8-step renders are checked in the rule's layout
where it is lucent's, and in lucent's layout otherwise: in ``channels_last``
Adam's per-element normalisation amplifies float32 rounding over 8 steps beyond
1e-4 in some EfficientNet cases (docs/optvis.md, "Parity with lucent"). That it is
rounding is checked by running the float64 cases in ``channels_last``: they
agree with lucent's float64 to 1e-9.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from deepdreamport.optvis import objectives
from deepdreamport.optvis.param import cppn, lowres_tensor, to_valid_rgb
from deepdreamport.optvis.rendering import prepare, render

from .conftest import LUCENT_CASES, REPO, relative_error

CASES = sorted(LUCENT_CASES.glob("*.npz"))
GRADIENT_TOLERANCE = {"float32": 1e-5, "float64": 1e-9}
RENDER_TOLERANCE = {"float32": 1e-4, "float64": 1e-9}


def _load(path):
    with np.load(path) as data:
        arrays = {key: data[key] for key in data.files}
    return json.loads(str(arrays.pop("provenance"))), arrays


def _objective(layer, terms, direction):
    built = None
    for kind, args, weight in terms:
        if kind == "channel":
            term = objectives.channel(layer, args[0], batch=args[1] if len(args) > 1 else None)
        elif kind == "neuron":
            term = objectives.neuron(layer, args[0])
        elif kind == "direction":
            term = objectives.direction(layer, torch.from_numpy(direction))
        elif kind == "direction_neuron":
            x, y, batch = args
            term = objectives.direction_neuron(layer, torch.from_numpy(direction), x=x, y=y, batch=batch)
        elif kind == "channel_interpolate":
            n1, layer2, n2 = args
            term = objectives.channel_interpolate(layer, n1, layer2, n2)
        elif kind == "neuron_weight":
            x, y, batch = args
            term = objectives.neuron_weight(layer, torch.from_numpy(direction), x=x, y=y, batch=batch)
        elif kind == "channel_weight":
            term = objectives.channel_weight(layer, torch.from_numpy(direction), batch=args[0])
        elif kind == "localgroup_weight":
            x, y, wx, wy = args
            term = objectives.localgroup_weight(layer, torch.from_numpy(direction), x=x, y=y, wx=wx, wy=wy)
        elif kind == "callable":
            term = _plain_callable(layer, args[0])
        else:
            term = objectives.diversity(layer)
        built = term if built is None else (built + term if weight is None else built - weight * term)
    return built


def _plain_callable(layer, n):
    """lucent's habit: a plain function of T, no Objective, no declared layers (render finds them)."""
    return lambda T: -T(layer)[:, n].mean()


def _param(recipe, seed):
    """The parametrisation: a name, or, for the CPPN with instance normalisation and lucent's lowres
    tensor, lucent's ``(params, image_f)`` made from a generator seeded as lucent's global stream."""
    kind, size, batch = recipe["param"], recipe["size"], recipe["batch"]
    dtype = torch.float64 if recipe["dtype"] == "float64" else torch.float32

    def seeded():  # a fresh generator for every parametrisation made (prepare, then render, in compare.py)
        return dict(generator=torch.Generator().manual_seed(seed), dtype=dtype)

    if kind == "cppn_normalized":
        return lambda: cppn(size, normalize=True, **seeded())
    if kind == "lowres":

        def lowres():
            params, raw = lowres_tensor((batch, 3, size, size), (batch, 3, size // 4, size // 4), True, **seeded())
            return params, to_valid_rgb(raw, decorrelate=recipe["decorrelate"])

        return lowres
    return kind


_NETWORKS: dict = {}


def _network(provenance):
    """One network per model for the whole module (loading EfficientNet-Lite0 takes seconds)."""
    from deepdreamport.optvis.network import OptvisNetwork

    key = (provenance["model"]["file"], provenance["recipe"]["input_scale"])
    if key not in _NETWORKS:
        _NETWORKS[key] = OptvisNetwork.from_onnx(str(REPO / key[0]), input_range=(0.0, key[1]))
    return _NETWORKS[key]


def _options(provenance, arrays, memory_format=None):
    recipe = provenance["recipe"]
    lr = recipe["lr"]
    if recipe["optimizer"] == "adam":
        optimizer = lambda params: torch.optim.Adam(params, lr=lr)  # noqa: E731
    else:
        optimizer = lambda params: torch.optim.LBFGS(params, **lr)  # noqa: E731
    return dict(
        net=_network(provenance),
        objective=_objective(provenance["model"]["layer"], recipe["objective"], arrays.get("direction")),
        param=_param(recipe, provenance["seeds"]["torch.manual_seed"]),
        decorrelate=recipe["decorrelate"],
        transforms=recipe["transforms"],
        optimizer=optimizer,
        size=recipe["size"],
        batch=recipe["batch"],
        seed=provenance["seeds"]["torch.manual_seed"],
        lucent=True,
        fixed_image_size=recipe["render_vis"]["fixed_image_size"],
        dtype=torch.float64 if recipe["dtype"] == "float64" else torch.float32,
        memory_format=memory_format,
        device="cpu",  # the references' device (the default is the best device present)
        thresholds=recipe["render_vis"]["thresholds"],
    )


def _ids(path):
    return path.stem


def _needs_model(provenance):
    if not (REPO / provenance["model"]["file"]).is_file():
        pytest.fail(f"{provenance['model']['file']} is missing; run ./dev setup (it generates the demo model)")


def test_reference_cases_exist():
    names = {path.stem for path in CASES}
    assert len(names) >= 35
    assert any("lbfgs" in n for n in names) and any("f64" in n for n in names) and any("effnet" in n for n in names)
    for objective in ("direction_neuron", "channel_interpolate", "channel_weight"):
        assert {"tiny", "effnet"} <= {n.split("_")[0] for n in names if objective in n}
    for habit in ("neuron_weight", "localgroup_weight", "lowres", "cppn_normalized", "callable_thresholds"):
        assert {"f32", "f64"} & {"f64" if n.endswith("f64") else "f32" for n in names if habit in n}


@pytest.mark.parametrize(
    "path", [pytest.param(p, marks=pytest.mark.slow) if p.stem.startswith("effnet") else p for p in CASES], ids=_ids
)
def test_first_gradient_matches_lucent(path):
    provenance, arrays = _load(path)
    _needs_model(provenance)
    options = _options(provenance, arrays)
    options.pop("thresholds")
    session = prepare(options.pop("net"), options.pop("objective"), **options)
    session.closure()
    rule_says_channels_last = path.stem.startswith("effnet") and provenance["recipe"]["dtype"] == "float32"
    assert (session.network.last_memory_format is torch.channels_last) == rule_says_channels_last
    tolerance = GRADIENT_TOLERANCE[provenance["recipe"]["dtype"]]
    assert relative_error(session.image.parameters[0].grad.numpy(), arrays["grad_param"]) < tolerance
    assert relative_error(session.last_image.grad.numpy().transpose(0, 2, 3, 1), arrays["grad_image"]) < tolerance


@pytest.mark.parametrize("path", [p for p in CASES if not p.stem.startswith("effnet")], ids=_ids)
def test_eight_step_render_matches_lucent(path):
    """tinynet: the rule keeps lucent's layout (under 1 M multiply-adds per image)."""
    _check_render(path, None)


@pytest.mark.slow
@pytest.mark.parametrize("path", [p for p in CASES if p.stem.startswith("effnet")], ids=_ids)
def test_eight_step_render_matches_lucent_efficientnet(path):
    """In lucent's layout (float32 EfficientNet-Lite0 runs channels_last by default: see the module docstring)."""
    _check_render(path, torch.contiguous_format)


@pytest.mark.parametrize(
    "path",
    [pytest.param(p, marks=pytest.mark.slow) if p.stem.startswith("effnet") else p for p in CASES if "f64" in p.stem],
    ids=_ids,
)
def test_channels_last_agrees_with_lucent_in_float64(path):
    """The channels_last network computes lucent's numbers: float64 renders agree to 1e-9."""
    _check_render(path, torch.channels_last)


def _check_render(path, memory_format):
    provenance, arrays = _load(path)
    _needs_model(provenance)
    options = _options(provenance, arrays, memory_format)
    network = options.pop("net")
    result = render(network, options.pop("objective"), **options)
    if memory_format is not None:
        assert network.last_memory_format is memory_format
    tolerance = RENDER_TOLERANCE[provenance["recipe"]["dtype"]]
    assert relative_error(result.images, arrays["images"]) < tolerance
    assert relative_error(result.losses, arrays["losses"]) < tolerance
    if "snapshots" in arrays:  # lucent's thresholds: the images at each
        kept = np.stack([result.snapshots[step] for step in provenance["recipe"]["render_vis"]["thresholds"]])
        assert relative_error(kept, arrays["snapshots"]) < tolerance
