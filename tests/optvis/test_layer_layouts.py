"""A 3-D layer's layout told from what produced it: a 1-D convolution's N×C×L against a transformer's N×T×F.

References: onnxruntime's outputs of the exported graph, and the torch modules' own submodules called by hand;
channel c of an N×C×L layer is index c of axis 1 averaged over L, as for a 2-D map.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from deepdreamport.errors import DeepDreamError
from deepdreamport.onnx.graph import extract_subgraph
from deepdreamport.optvis import as_network, objectives, render
from deepdreamport.optvis.gradient_free import render_gradient_free
from tests.export_networks import export_batch_free
from tests.optvis.conftest import relative_error

CONV1D_LAYERS = ("/c1/Conv", "/Relu", "/bn/BatchNormalization", "/pool/MaxPool")


class Conv1dNet(torch.nn.Module):
    """A 2-D convolution, its map flattened to N×6×L (``x.flatten(2)``), then 1-D layers; a 3-D ``Reshape`` to
    other axes (``view(N, L, 6)``, neither channels first nor a token layer anything tells) on the side."""

    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 6, 3, padding=1)
        self.c1 = torch.nn.Conv1d(6, 5, 3, padding=1)
        self.bn = torch.nn.BatchNorm1d(5)
        self.pool = torch.nn.MaxPool1d(2)

    def forward(self, x):
        flat = self.conv(x).flatten(2)
        y = self.pool(self.bn(torch.relu(self.c1(flat))))
        scrambled = flat.reshape(flat.shape[0], -1, 6) * 2.0
        return y.mean(2), scrambled


@pytest.fixture(scope="module")
def conv1d_graph(tmp_path_factory):
    torch.manual_seed(0)
    module = Conv1dNet().eval()
    with torch.no_grad():
        module.bn.running_mean.uniform_(-0.2, 0.2)
        module.bn.running_var.uniform_(0.5, 2.0)
    return export_batch_free(module, (1, 3, 8, 8), tmp_path_factory.mktemp("conv1d") / "conv1d.onnx")


def _onnxruntime(path: str, tensors: list[str], images: np.ndarray) -> list[np.ndarray]:
    model = extract_subgraph(onnx.load(path), "x", tensors)
    return ort.InferenceSession(model.SerializeToString()).run(None, {"x": images.astype(np.float32)})


def test_a_1d_convolution_layer_is_read_channels_first(conv1d_graph):
    network = as_network(conv1d_graph, input_range=(0, 1))
    images = np.random.RandomState(0).rand(2, 3, 8, 8).astype(np.float32)
    keys = [network.resolve(layer) for layer in CONV1D_LAYERS]
    expected = _onnxruntime(conv1d_graph, keys, images)
    acts = network.torch_forward(list(CONV1D_LAYERS), torch.float32, "cpu")(torch.from_numpy(images))
    ort_acts = network.ort_forward(list(CONV1D_LAYERS))(images)
    for layer, reference in zip(CONV1D_LAYERS, expected):
        assert reference.shape[:2] == (2, 5)  # N×C×L
        assert network.layout_of(layer) == "channels"
        assert network.channels_of(layer) == 5
        assert relative_error(acts[layer].detach().numpy(), reference[:, :, None, :]) < 1e-5
        assert relative_error(ort_acts[layer], reference[:, :, None, :]) < 1e-6
        # the channel objective: channel 3 averaged over L (lucent's channel() is minus the mean)
        loss = objectives.channel(layer, 3)(lambda name, layer=layer: acts[layer])
        assert float(loss) == pytest.approx(-reference[:, 3, :].mean(), rel=1e-5)


def test_a_1d_convolution_layer_renders_with_and_without_gradients(conv1d_graph):
    result = render(conv1d_graph, "/bn/BatchNormalization:4", size=8, steps=3, progress=False, device="cpu")
    assert result.images.shape == (1, 8, 8, 3) and np.isfinite(result.images).all()
    free = render_gradient_free(conv1d_graph, "/c1/Conv:1", size=8, frequencies=2, population=4, generations=2)
    assert free.images.shape == (1, 8, 8, 3)


def test_a_3d_layer_nothing_tells_is_refused_in_one_line_and_taken_when_chosen(conv1d_graph):
    network = as_network(conv1d_graph, input_range=(0, 1))
    layer = next(name for name in network.layer_names() if "Mul" in name)  # the scrambled N×L×6 tensor
    assert network.layout_of(layer) is None
    with pytest.raises(DeepDreamError) as refused:
        render(conv1d_graph, f"{layer}:1", size=8, steps=1, progress=False, device="cpu", input_range=(0, 1))
    message = str(refused.value)
    assert "\n" not in message and repr(layer) in message and "layouts=" in message and "--layout" in message
    images = np.random.RandomState(1).rand(2, 3, 8, 8).astype(np.float32)
    (reference,) = _onnxruntime(conv1d_graph, [network.resolve(layer)], images)  # N×64×6
    for layout, expected in (("channels", reference[:, :, None, :]), ("tokens", reference.transpose(0, 2, 1))):
        chosen = as_network(conv1d_graph, input_range=(0, 1), layouts={layer: layout})
        acts = chosen.torch_forward([layer], torch.float32, "cpu")(torch.from_numpy(images))[layer]
        # tokens: 64 = 8·8 patch tokens, N×6×8×8
        shaped = expected if layout == "channels" else expected.reshape(2, 6, 8, 8)
        assert relative_error(acts.detach().numpy(), shaped) < 1e-5
    with pytest.raises(DeepDreamError, match="layouts: expected a mapping"):
        as_network(conv1d_graph, layouts={layer: "rows"})


class TorchConv1d(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = torch.nn.Conv2d(3, 4, 3)
        self.seq = torch.nn.Sequential(torch.nn.Conv1d(4, 6, 3), torch.nn.BatchNorm1d(6), torch.nn.ReLU())
        self.linear = torch.nn.Linear(6, 7)
        self.norm = torch.nn.LayerNorm(7)

    def forward(self, x):
        y = self.seq(self.conv(x).flatten(2))  # N×6×L
        return self.norm(self.linear(y.transpose(1, 2)))  # N×L×7 tokens


def test_torch_modules_are_read_by_their_type():
    torch.manual_seed(1)
    module = TorchConv1d().eval()
    network = as_network(module, preprocess=lambda images: images)
    images = torch.rand(2, 3, 6, 7)
    with torch.no_grad():  # the reference: the submodules called by hand
        flat = module.conv(images).flatten(2)
        conv1d = module.seq[0](flat)
        relu = module.seq(flat)
        tokens = module.norm(module.linear(relu.transpose(1, 2)))  # N×T×F, T = 20 (no square grid)
    with torch.no_grad():
        acts = network.torch_forward(["seq.0", "seq.2", "seq", "norm"], torch.float32, "cpu")(images)
    assert [network.layout_of(layer) for layer in ("seq.0", "seq.1", "seq.2", "seq", "linear", "norm")] == [
        "channels",
        "channels",
        "channels",
        "channels",
        "tokens",
        "tokens",
    ]
    np.testing.assert_allclose(acts["seq.0"].numpy(), conv1d[:, :, None, :].numpy(), rtol=1e-6)
    np.testing.assert_allclose(acts["seq.2"].numpy(), relu[:, :, None, :].numpy(), rtol=1e-6)
    np.testing.assert_allclose(acts["seq"].numpy(), relu[:, :, None, :].numpy(), rtol=1e-6)
    np.testing.assert_allclose(acts["norm"].numpy(), tokens.transpose(1, 2).numpy(), rtol=1e-6)
    assert network.channels_of("seq.0") == 6 and network.channels_of("norm") == 7


def test_the_command_line_refuses_an_untold_3d_layer_and_takes_layout(conv1d_graph, tmp_path, capsys):
    from deepdreamport.cli import main

    layer = next(name for name in as_network(conv1d_graph).layer_names() if "Mul" in name)
    common = ["render", conv1d_graph, "--steps", "1", "--size", "8", "--quiet", "--device", "cpu"]
    code = main([*common, "--objective", f"{layer}:1", "--out", str(tmp_path / "a.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and f"--layout {layer}=channels" in err, err
    assert not (tmp_path / "a.png").exists()
    code = main(
        [*common, "--objective", f"{layer}:1", "--layout", f"{layer}=channels", "--out", str(tmp_path / "b.png")]
    )
    assert code == 0 and (tmp_path / "b.png").exists(), capsys.readouterr().err
    code = main([*common, "--objective", "/c1/Conv:2", "--out", str(tmp_path / "c.png")])  # told: no option needed
    assert code == 0 and (tmp_path / "c.png").exists(), capsys.readouterr().err
    capsys.readouterr()
    code = main([*common, "--objective", "/c1/Conv:2", "--layout", "rows", "--out", str(tmp_path / "d.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "--layout" in err and "LAYER=channels" in err, err


def test_a_torch_export_file_is_read_by_its_operators(tmp_path):
    torch.manual_seed(3)
    module = TorchConv1d().eval()
    path = tmp_path / "conv1d.pt2"
    torch.export.save(torch.export.export(module, (torch.rand(1, 3, 6, 7),)), str(path))
    network = as_network(str(path), input_range=(0, 1))
    images = torch.rand(1, 3, 6, 7)
    with torch.no_grad():  # the reference: the module's own layers
        relu = module.seq(module.conv(images).flatten(2))
        tokens = module.norm(module.linear(relu.transpose(1, 2)))
        acts = network.torch_forward(["seq.2", "norm"], torch.float32, "cpu")(images)
    assert network.layout_of("seq.2") == "channels" and network.layout_of("norm") == "tokens"
    np.testing.assert_allclose(acts["seq.2"].numpy(), relu[:, :, None, :].numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts["norm"].numpy(), tokens.transpose(1, 2).numpy(), rtol=1e-5, atol=1e-6)
