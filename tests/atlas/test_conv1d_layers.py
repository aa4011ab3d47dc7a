"""The atlas on a 1-D convolution's layers (N×C×L): their kind, their units' channels, their examples' scores.

References: onnxruntime's outputs of the graph torch exported; a unit's activation is channel c averaged over L,
an example's score channel c's maximum over L.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import torch

from deepdreamport.atlas._package import examples_module, layer_module, load_network
from deepdreamport.atlas.layer_kinds import CONVOLUTION_1D, TOKENS, layer_kind
from deepdreamport.atlas.recipes import RECIPES
from deepdreamport.onnx.graph import extract_subgraph
from tests.export_networks import export_batch_free
from tests.optvis.test_layer_layouts import Conv1dNet


def _graph(path) -> str:
    torch.manual_seed(2)
    return export_batch_free(Conv1dNet(), (1, 3, 8, 8), path)


def test_1d_convolution_layers_are_their_own_kind_and_read_channels_first(tmp_path):
    path = _graph(tmp_path / "conv1d.onnx")
    network = load_network(path)
    rows = {row.name: row for row in network.layers}
    conv = rows["/c1/Conv"]
    assert conv.output_shape == (1, 5, 64) and conv.output_size == (1, 64, 5)  # N×C×L shown 1×L×C
    assert [layer_kind(rows[name]) for name in ("/c1/Conv", "/Relu", "/pool/MaxPool")] == [CONVOLUTION_1D] * 3
    scrambled = next(row for name, row in rows.items() if "Mul" in name)
    assert layer_kind(scrambled) == "other" and scrambled.layout == "unknown"  # nothing tells: no recipe plans it
    assert layer_kind({"output_shape": [1, 17, 32], "output_size": [17, 32]}) == TOKENS  # an older atlas's record
    assert not RECIPES["matlab"].takes(conv) and RECIPES["lucid"].takes(conv)

    pixels = np.random.RandomState(0).rand(3, 3, 8, 8).astype(np.float32)
    model = extract_subgraph(onnx.load(path), "x", [conv.output, rows["/pool/MaxPool"].output])
    reference, pooled = ort.InferenceSession(model.SerializeToString()).run(None, {"x": pixels})
    module, channels = layer_module(network, "/c1/Conv")
    assert channels == 5
    with torch.no_grad():
        unit_map = module(torch.from_numpy(pixels)).numpy()
        both = examples_module(network, (conv.output, rows["/pool/MaxPool"].output))(torch.from_numpy(pixels))
    np.testing.assert_allclose(unit_map, reference[:, :, None, :], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both[0].numpy(), reference[:, :, None, :], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(both[1].numpy(), pooled[:, :, None, :], rtol=1e-5, atol=1e-6)
