"""``deepdreamport.optvis.lucent``: lucent code with only the import changed.

The reference recipes of ``parity/lucent/make_references.py`` (the code that ran the
real torch-lucent 0.1.8) are run again with ``deepdreamport.optvis.lucent`` in place
of ``lucent.optvis``: the same ``render_vis`` call, ``param_f`` returning
``(params, image_f)``, ``preprocess=False``, a transform list ending in a plain
lambda, seeds set on torch's and NumPy's global streams, a recording optimiser
subclass; the images, losses and first gradients must be lucent's, bit for bit.
A lucent tutorial's cells (lucent's README and notebooks/tutorial.ipynb, its
InceptionV1 swapped for a small module with the same layer names) run unchanged.
"""

from __future__ import annotations

import importlib.util
import json
from collections import OrderedDict

import numpy as np
import pytest
import torch

from deepdreamport.optvis.lucent import modelzoo, objectives, param, render, transform

from .conftest import LUCENT_CASES, REPO

_spec = importlib.util.spec_from_file_location("make_references", REPO / "parity" / "lucent" / "make_references.py")
make_references = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_references)

THIS_PACKAGE = (None, None, objectives, param, render, transform)  # run_case's lucent modules
QUICK = (
    "tiny_cppn_normalized_standard_channel_adam",  # cppn(normalize=True) from torch's global stream
    "tiny_fft_decorrelated_standard_callable_thresholds_adam",  # a plain lambda objective, thresholds=(3, 8)
    "tiny_fft_decorrelated_standard_channel_interpolate_adam",  # lucent's "0_conv1" hook names
    "tiny_lowres_plain_channel_adam_f64",  # lowres_tensor under torch.set_default_dtype(float64)
)
TINY = sorted(name for name in make_references.CASES if name.startswith("tiny"))


@pytest.fixture(autouse=True)
def _on_the_cpu(monkeypatch):
    """The references were made on the CPU; lucent (and this namespace) would pick a GPU where there is one."""
    monkeypatch.setattr(param, "_where", lambda: dict(device=torch.device("cpu"), dtype=torch.get_default_dtype()))


def _reference(name):
    with np.load(LUCENT_CASES / f"{name}.npz") as data:
        return {key: data[key] for key in data.files}


@pytest.mark.parametrize(
    "name", [name if name in QUICK else pytest.param(name, marks=pytest.mark.slow) for name in TINY]
)
def test_lucents_own_recipe_code_on_this_package_gives_lucents_numbers(name):
    arrays = make_references.run_case(name, make_references.CASES[name], THIS_PACKAGE)
    reference = _reference(name)
    assert json.loads(str(reference["provenance"]))["versions"]["torch-lucent"] == "0.1.8"
    for key in ("images", "losses", "grad_param", "grad_image") + (("snapshots",) if "snapshots" in reference else ()):
        np.testing.assert_array_equal(np.asarray(arrays[key], dtype=reference[key].dtype), reference[key], err_msg=key)


class SmallInception(torch.nn.Module):
    """Stands in for lucent's InceptionV1 in the tutorial: layers with its names, little work."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.pool = torch.nn.AvgPool2d(8)
        self.mixed4a = torch.nn.Conv2d(3, 480, 1)
        self.mixed4b = torch.nn.Sequential(OrderedDict(conv=torch.nn.Conv2d(480, 8, 1), relu=torch.nn.ReLU()))

    def forward(self, x):
        return self.mixed4b(torch.relu(self.mixed4a(self.pool(x))))


TUTORIAL_CELLS = [
    '_ = render.render_vis(model, "mixed4a:476", show_inline=True)',
    'obj = objectives.channel("mixed4a", 476)\n_ = render.render_vis(model, obj, show_inline=True)',
    'channel = lambda n: objectives.channel("mixed4a", n)\nobj = channel(476) + channel(465)\n'
    "_ = render.render_vis(model, obj, show_inline=True)",
    '_ = render.render_vis(model, "mixed4a:476", transforms=[], show_inline=True)',
    'transforms = [transform.jitter(2)]\n_ = render.render_vis(model, "mixed4a:476", transforms=transforms, '
    "show_inline=True)",
    "all_transforms = [\n    transform.pad(16),\n    transform.jitter(8),\n"
    "    transform.random_scale([n/100. for n in range(80, 120)]),\n"
    "    transform.random_rotate(list(range(-10,10)) + list(range(-5,5)) + 10*list(range(-2,2))),\n"
    "    transform.jitter(2),\n]\n"
    '_ = render.render_vis(model, "mixed4a:476", transforms=all_transforms, show_inline=True)',
    "param_f = lambda: param.image(128, fft=False, decorrelate=False)\n"
    '_ = render.render_vis(model, "mixed4a:2", param_f, show_inline=True)',
    "cppn_param_f = lambda: param.cppn(128)\ncppn_opt = lambda params: torch.optim.Adam(params, 5e-3)\n"
    '_ = render.render_vis(model, "mixed4a:476", cppn_param_f, cppn_opt, transforms=[], show_inline=True)',
    "param_f = lambda: param.image(128, batch=2)\n"
    'obj = objectives.channel("mixed4a", 476, batch=1) - objectives.channel("mixed4a", 465, batch=0)\n'
    "_ = render.render_vis(model, obj, param_f, show_inline=True)",
    "batch_param_f = lambda: param.image(128, batch=6)\n"
    'obj = objectives.channel("mixed4a", 476) - 1e2 * objectives.diversity("mixed4a")\n'
    "_ = render.render_vis(model, obj, batch_param_f, show_inline=True)",
    "@objectives.wrap_objective()\ndef dot_compare(layer, batch=1, cossim_pow=0):\n    def inner(T):\n"
    "        dot = (T(layer)[batch] * T(layer)[0]).sum()\n        mag = torch.sqrt(torch.sum(T(layer)[0]**2))\n"
    "        cossim = dot/(1e-6 + mag)\n        return -dot * cossim ** cossim_pow\n    return inner\n"
    'obj = objectives.Objective.sum([1.0 * dot_compare("mixed4b_conv"), objectives.blur_input_each_step()])\n'
    "_ = render.render_vis(model, obj, lambda: param.image(64, batch=2), show_inline=True)",
    'print(get_model_layers(model)[:3])\n_ = render.render_vis(model, "labels:3", show_inline=True)',
]


@pytest.mark.slow
def test_a_lucent_tutorials_cells_run_with_only_the_import_changed(capsys, monkeypatch):
    """The cells as written; only render_vis's default ``thresholds=(512,)`` is cut to 3 steps for time."""
    defaults = list(render.render_vis.__defaults__)
    defaults[render.render_vis.__code__.co_varnames.index("thresholds") - 2] = (3,)
    monkeypatch.setattr(render.render_vis, "__defaults__", tuple(defaults))
    namespace: dict = {}
    exec(  # the tutorial's import cell, lucent.optvis → deepdreamport.optvis.lucent
        "import torch\nfrom deepdreamport.optvis.lucent import render, param, transform, objectives\n"
        "from deepdreamport.optvis.lucent.modelzoo.util import get_model_layers",
        namespace,
    )
    namespace["model"] = SmallInception().eval()
    for cell in TUTORIAL_CELLS:
        exec(cell, namespace)
        images = namespace["_"]
        assert len(images) == 1 and images[0].ndim == 4 and np.isfinite(images[0]).all(), cell
    assert "['pool', 'mixed4a', 'mixed4b']" in capsys.readouterr().out


def test_lucent_habits_of_the_namespace(tmp_path, monkeypatch, tinynet_module):
    params, image_f = param.image(16)  # lucent's unpacking
    assert isinstance(params, list) and image_f().shape == (1, 3, 16, 16)
    assert isinstance(transform.standard_transforms, list) and len(transform.standard_transforms) == 5
    np.random.seed(0)
    moved = transform.compose(transform.standard_transforms)(torch.rand(1, 3, 16, 16))
    assert moved.shape[0] == 1 and moved.shape[-1] >= 16
    names = modelzoo.util.get_model_layers(tinynet_module)
    assert names[0] == "0" and "0_conv1" in names and "0_conv2" in names
    assert list(modelzoo.util.get_model_layers(tinynet_module, getLayerRepr=True)) == names

    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    images = render.render_vis(
        tinynet_module,
        "0_conv2:1",
        lambda: param.image(16),
        transforms=[],
        thresholds=(1, 2),
        preprocess=False,
        progress=False,
        show_image=False,
        save_image=True,
        fixed_image_size=16,
    )
    assert [image.shape for image in images] == [(1, 16, 16, 3)] * 2
    from PIL import Image

    assert Image.open(tmp_path / "image.jpg").size == (16, 16)  # lucent's default image_name

    class InterruptedAdam(torch.optim.Adam):
        """Ctrl-C during the third step."""

        def step(self, closure=None):
            self.count = getattr(self, "count", 0) + 1
            if self.count == 3:
                raise KeyboardInterrupt
            return super().step(closure)

    so_far = render.render_vis(
        tinynet_module,
        "0_conv2:1",
        lambda: param.image(16),
        lambda params: InterruptedAdam(params, lr=0.05),
        transforms=[],
        thresholds=(1, 10),
        preprocess=False,
        progress=False,
        show_image=False,
        fixed_image_size=16,
    )
    assert len(so_far) == 2 and not np.array_equal(so_far[0], so_far[1])  # step 1, then step 2 (interrupted)
