"""lucent's habits accepted by ``render`` itself: callable objectives, lucent's layer names,
``(params, image_f)``, ``preprocess=False``, transform lists, thresholds, Ctrl-C, saving and
showing, per-parametrisation learning rates, the device and progress defaults."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.optvis import objectives, render, transform
from deepdreamport.optvis._network import DeepDreamError, person_watching
from deepdreamport.optvis.param import LEARNING_RATES, cppn, image
from deepdreamport.optvis.rendering import prepare

QUICK = dict(size=16, transforms="none", seed=3, device="cpu")  # CPU: bit-identity across runs


def test_a_plain_callable_reads_any_layer_and_renders_as_the_declared_objective(tinynet):
    found = render(tinynet, lambda T: -T("relu2")[:, 4].mean(), steps=2, **QUICK)
    declared = render(tinynet, objectives.channel("relu2", 4), steps=2, **QUICK)
    assert np.array_equal(found.images, declared.images) and np.array_equal(found.losses, declared.losses)
    both = prepare(tinynet, lambda T: T("conv1").mean() - T("relu2")[:, 1].mean() + T("input").std(), **QUICK)
    assert both.objective.layers == ("conv1", "relu2")
    wrapped = objectives.Objective(lambda T: -T("pool1").mean())  # lucent's Objective(f): no layers declared
    assert prepare(tinynet, wrapped - 0.5 * objectives.channel("conv2", 1), **QUICK).objective.layers == (
        "pool1",
        "conv2",
    )


def test_an_unknown_layer_in_a_callable_is_one_line_with_the_nearest_names(tinynet):
    with pytest.raises(DeepDreamError, match=r"objective: the network has no layer named 'relu9'; nearest: relu2"):
        render(tinynet, lambda T: -T("relu9")[:, 4].mean(), steps=1, **QUICK)
    calls = []

    def changes_its_mind(T):  # reads relu1 while its layers are found (two calls), then relu2
        calls.append(1)
        return -T("relu1" if len(calls) <= 2 else "relu2").mean()

    with pytest.raises(DeepDreamError, match=r"it read layer 'relu2', which it did not read on its first"):
        render(tinynet, changes_its_mind, steps=2, **QUICK)


def test_lucents_hook_names_and_labels_on_torch_modules(tinynet_module):
    result = render(tinynet_module, "0_conv2:1", steps=1, preprocess=False, **QUICK)
    assert result.images.shape == (1, 16, 16, 3) and result.labels == ("0_conv2:1",)
    session = prepare(tinynet_module, lambda T: -T("labels")[:, 2].mean(), **QUICK)
    assert session.network.resolve("labels") == [name for name, _ in tinynet_module.named_modules()][-1]


def test_param_pairs_preprocess_false_and_transform_lists(tinynet):
    def param_f():
        params, image_f = image(16, generator=torch.Generator().manual_seed(3))
        return params, image_f  # lucent's pair, not an ImageParam

    pair = render(tinynet, "conv2:1", param_f=param_f, steps=2, preprocess=False, transforms=[], seed=3, device="cpu")
    named = render(
        tinynet, "conv2:1", param="fft", size=16, steps=2, preprocess=False, transforms=[], seed=3, device="cpu"
    )
    assert np.array_equal(pair.images, named.images)
    scaled = render(tinynet, "conv2:1", steps=2, **QUICK)  # tinynet's own input mapping is x * 1
    assert np.array_equal(scaled.images, named.images)
    listed = render(tinynet, "conv2:1", steps=1, size=16, transforms=transform.standard_transforms + [lambda x: x * 1])
    assert listed.images.shape == (1, 16, 16, 3)
    with pytest.raises(DeepDreamError, match="param: a callable must return an ImageParam or lucent's"):
        render(tinynet, "conv2:1", param=lambda: 3, steps=1, **QUICK)
    with pytest.raises(DeepDreamError, match="preprocess: expected True, False or a callable"):
        render(tinynet, "conv2:1", preprocess="imagenet", steps=1, **QUICK)


def test_thresholds_ctrl_c_and_save_image(tinynet, tmp_path, capsys):
    result = render(tinynet, "conv2:1", thresholds=(1, 3), **QUICK)
    assert len(result.losses) == 3 and sorted(result.snapshots) == [1, 3]
    assert np.array_equal(result.snapshots[3], result.images) and not np.array_equal(result.snapshots[1], result.images)

    def interrupt(step, loss):
        if step == 2:
            raise KeyboardInterrupt

    stopped = render(tinynet, "conv2:1", steps=50, callback=interrupt, **QUICK)
    assert stopped.interrupted and len(stopped.losses) == 2 and "interrupted at step 2" in capsys.readouterr().err
    name = tmp_path / "row.png"
    render(tinynet, "conv2:1,conv2:2", steps=1, save_image=True, image_name=str(name), **QUICK)
    from PIL import Image

    assert Image.open(name).size == (32, 16)  # lucent's export: the images side by side
    with pytest.raises(DeepDreamError, match="thresholds: step 9 is after the last step"):
        render(tinynet, "conv2:1", steps=2, thresholds=(9,), **QUICK)


def test_each_parametrisation_has_its_learning_rate(tinynet):
    def lr(**options):
        return prepare(tinynet, "conv2:1", **{**QUICK, **options}).optimizer.param_groups[0]["lr"]

    assert lr(param="cppn") == LEARNING_RATES["cppn"] == 0.005
    assert lr(param="fft") == lr(param="pixel") == 0.05  # lucent's render_vis default
    assert lr(param=cppn(16)) == 0.005 and lr(param=tuple(image(16))) == 0.05  # a (params, image_f) pair: lucent's
    assert lr(param="cppn", lr=0.3) == 0.3 and lr(param="cppn", optimizer="lbfgs") == 1  # L-BFGS: torch's own


def test_device_defaults_to_the_best_present_and_is_reported(tinynet):
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    anywhere = {key: value for key, value in QUICK.items() if key != "device"}
    assert render(tinynet, "conv2:1", steps=1, **anywhere).device.startswith(expected)
    if not torch.cuda.is_available():
        with pytest.raises(DeepDreamError, match="device: 'cuda' was requested but no CUDA GPU is available"):
            render(tinynet, "conv2:1", steps=1, **{**QUICK, "device": "cuda"})
    with pytest.raises(DeepDreamError, match="device: the parametrisation's tensors are on meta but device='cpu'"):
        render(tinynet, "conv2:1", steps=1, param=image(16, device="meta"), **QUICK)


def test_progress_is_shown_where_a_person_is_watching(monkeypatch):
    class Terminal:
        def isatty(self):
            return True

        def write(self, text):
            return len(text)

        def flush(self):
            pass

    monkeypatch.delenv("CI", raising=False)
    assert not person_watching()  # pytest's captured stderr: a pipe
    monkeypatch.setattr("sys.stderr", Terminal())
    assert person_watching()
    monkeypatch.setenv("CI", "true")
    assert not person_watching()


def test_cppn_options_and_any_shape():
    wide = cppn((12, 20), generator=torch.Generator().manual_seed(0))
    assert wide().shape == (1, 3, 12, 20)
    grid_square = cppn(8, num_layers=2, generator=torch.Generator().manual_seed(0))
    assert grid_square().shape == (1, 3, 8, 8)
    narrow = cppn(8, 1, 6, 3, torch.nn.ReLU, True, 2, generator=torch.Generator().manual_seed(0))  # lucent's order
    convs = [p for p in narrow.parameters if p.dim() == 4]
    assert narrow().shape == (2, 1, 8, 8) and [c.shape[1] for c in convs[:3]] == [2, 6, 6]  # ReLU keeps 6 channels


@pytest.mark.parametrize(
    "objective, message",
    [
        (objectives.channel_weight("conv2", torch.ones(4)), "the weight has 4 values but 'conv2' has 6 channels"),
        (objectives.neuron_weight("conv2", torch.ones(6), x=40), "position x=40, y=3 is outside 'conv2'"),
        (
            objectives.localgroup_weight("conv2", None, x=2, y=20),
            "window x=2, y=20, wx=1, wy=1 is outside 'conv2'",
        ),
    ],
)
def test_weighted_objectives_refuse_careless_input(tinynet, objective, message):
    with pytest.raises(DeepDreamError, match=message):
        render(tinynet, objective, steps=1, **QUICK)
    with pytest.raises(DeepDreamError, match="localgroup_weight needs the window's corner"):
        objectives.localgroup_weight("conv2", None)
