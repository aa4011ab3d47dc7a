"""render on a transformer's token layer (N×tokens×features): a tiny ViT exported by torch at opset 17.

References: onnxruntime's activations of the exported graph, reduced by hand (feature f averaged over the 4×4
patch tokens, the class token left out; a neuron is one patch token).
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from deepdreamport import deep_dream_image
from deepdreamport.errors import DeepDreamError
from deepdreamport.nets.tokens import token_grid, tokens_as_channels
from deepdreamport.onnx.graph import extract_subgraph
from deepdreamport.optvis import as_network, objectives, render
from tests.export_networks import VIT_HIDDEN, tiny_vit

FEATURE = 5


@pytest.fixture(scope="module")
def vit(tmp_path_factory):
    return tiny_vit(tmp_path_factory.mktemp("vit") / "vit.onnx")


def _hidden_layer(vit: str, pixels: np.ndarray) -> np.ndarray:
    """onnxruntime's N×17×32 activations of the feed-forward hidden layer (``pixels``: 0–255, N×3×16×16).

    The layer table's fully connected row ``/fc1/MatMul`` is the MatMul with its bias: the ``/fc1/Add`` after it.
    """
    model = onnx.load(vit)
    output = next(node.output[0] for node in model.graph.node if node.name == "/fc1/Add")
    session = ort.InferenceSession(extract_subgraph(model, "x", [output]).SerializeToString())
    return session.run(None, {"x": pixels.astype(np.float32)})[0]


def _objective_value(vit: str, objective, images: torch.Tensor) -> float:
    network = as_network(vit)
    forward = network.torch_forward([VIT_HIDDEN], torch.float32, "cpu")
    with torch.no_grad():
        activations = forward(network.preprocess(images))
    return float(objective(lambda layer: activations[layer]))


def test_a_channel_is_the_feature_averaged_over_the_patch_tokens(vit):
    images = torch.from_numpy(np.random.RandomState(0).rand(2, 3, 16, 16).astype(np.float32))
    hidden = _hidden_layer(vit, images.numpy() * 255)  # no input-layer mean: 0–255 pixels
    assert hidden.shape == (2, 17, 32)
    expected = -hidden[:, 1:, FEATURE].mean()  # tokens 1..16: the 4×4 patches; token 0 is the class token
    value = _objective_value(vit, objectives.channel(VIT_HIDDEN, FEATURE), images)
    assert abs(value - expected) <= 1e-5 * abs(expected)
    x, y = 3, 1  # the patch in row 1, column 3: token 1 + 4·1 + 3
    neuron = _objective_value(vit, objectives.neuron(VIT_HIDDEN, FEATURE, x=x, y=y), images)
    assert abs(neuron + hidden[:, 1 + 4 * y + x, FEATURE].mean()) <= 1e-5 * abs(hidden[:, 8, FEATURE]).max()
    assert as_network(vit).channels_of(VIT_HIDDEN) == 32  # the features are the channels


def test_a_short_render_raises_the_feature(vit):
    result = render(vit, f"{VIT_HIDDEN}:{FEATURE}", steps=12, size=16, transforms="none", device="cpu", seed=0)
    assert result.losses[-1] < result.losses[0]
    assert result.images.shape == (1, 16, 16, 3)
    two = render(vit, f"{VIT_HIDDEN}:1,{VIT_HIDDEN}:2", steps=2, size=16, fixed_image_size=16, device="cpu", seed=0)
    assert two.images.shape == (2, 16, 16, 3)


def test_tokens_without_a_square_grid_have_no_positions():
    activations = torch.arange(2 * 12 * 3, dtype=torch.float32).reshape(2, 12, 3)  # 12 tokens: no grid
    mapped = tokens_as_channels(activations, "blocks", batch=2)
    assert mapped.shape == (2, 3, 12)
    value = objectives.channel("blocks", 1)(lambda layer: mapped)
    assert float(value) == -float(activations[:, :, 1].mean())  # every token in the mean
    with pytest.raises(DeepDreamError, match="^objective: 'blocks' is a token layer whose 12 tokens form no square"):
        objectives.neuron("blocks", 1)(lambda layer: mapped)
    with pytest.raises(DeepDreamError, match="^layer: 'blocks' outputs \\(12, 2, 3\\) for 2 image"):
        tokens_as_channels(activations.transpose(0, 1), "blocks", batch=2)  # sequence first
    assert [token_grid(n).describe() for n in (197, 196, 12)] == [
        "1 class token + 14×14 patch tokens",
        "14×14 patch tokens",
        "12 tokens (no square grid: 1 + h·h or h·h)",
    ]


def test_the_dream_door_refuses_a_token_layer_and_names_render(vit):
    with pytest.raises(DeepDreamError, match="transformer's token layer.*deepdream render"):
        deep_dream_image(vit, VIT_HIDDEN, [0], num_iterations=1, pyramid_levels=1, device="cpu")
