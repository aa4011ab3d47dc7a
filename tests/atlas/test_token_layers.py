"""The atlas on a transformer's token layer (the tiny ViT of ``tests/export_networks.py``, N×17×32).

References: onnxruntime's activations of the exported graph, reduced by hand: a unit's activation is its feature
averaged over the 4×4 patch tokens (the class token left out); an example's score is its feature's maximum over
the patch tokens, at that patch's centre.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from PIL import Image

from deepdreamport.atlas.examples.sources import folder_items
from deepdreamport.atlas.worker import ExampleTask, RenderTask, UnitRenderer
from deepdreamport.onnx.graph import extract_subgraph
from tests.export_networks import VIT_HIDDEN, tiny_vit

HIDDEN_TENSOR = "/fc1/Add_output_0"  # the table's fully connected row /fc1/MatMul is the MatMul with its bias Add


def _hidden_layer(vit: str, pixels: np.ndarray) -> np.ndarray:
    """onnxruntime's N×17×32 hidden-layer activations of N×3×16×16 images in the network's units (0–255)."""
    model = extract_subgraph(onnx.load(vit), "x", [HIDDEN_TENSOR])
    return ort.InferenceSession(model.SerializeToString()).run(None, {"x": pixels.astype(np.float32)})[0]


def test_a_token_layer_renders_measures_and_scores_its_features(tmp_path):
    vit = tiny_vit(tmp_path / "vit.onnx")
    renderer = UnitRenderer(vit, {"lucid": {"steps": 3, "size": 16, "param": "fft"}}, 0, threads=None)
    units = renderer.render(RenderTask(VIT_HIDDEN, 30, "lucid", (2, 7), (1, 2))).units
    assert units[0].options == {"fixed_image_size": 16}  # the position embedding takes 16×16 images only
    assert all(unit.activation is not None and len(unit.curve) == 3 for unit in units)
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.RandomState(0)
    pixels = (rng.rand(5, 16, 16, 3) * 255).astype(np.uint8)
    for k, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"{k}.png")
    items = tuple(folder_items(folder))
    task = ExampleTask(0, (1,), (VIT_HIDDEN,), (HIDDEN_TENSOR,), str(folder), items, 3)
    examples = renderer.score(task).summary.layers[VIT_HIDDEN]
    assert [item.source for item in items] == [f"{k}.png" for k in range(5)]  # item k is image k
    hidden = _hidden_layer(vit, pixels.transpose(0, 3, 1, 2).astype(np.float64))  # N×17×32
    patches = hidden[:, 1:, :]  # N×16×32
    best = patches.max(axis=1)  # N×32: each feature's maximum over the patch tokens
    assert examples.items.shape[0] == 32  # one row per feature
    np.testing.assert_allclose(examples.scores[:, 0], best.max(axis=0), rtol=1e-5)
    np.testing.assert_allclose(examples.total, best.sum(axis=0), rtol=1e-5)
    feature = 4
    token = patches[examples.items[feature, 0], :, feature].argmax()
    assert (examples.ys[feature, 0], examples.xs[feature, 0]) == (token // 4 * 4 + 2, token % 4 * 4 + 2)
