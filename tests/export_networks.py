"""Small ONNX networks of the export classes that every front door must take, shared by the optvis and atlas tests.

* :func:`coordconv`: a CoordConv whose 1×2×S×S grid the exporter folded to a constant (the batch pinned to 1),
  or, with ``pinned=False``, the same network with the grid expanded to the batch (any batch): the reference.
* :func:`tiny_vit`: a patch embedding, one attention block and an MLP, exported by torch at opset 17
  (random weights): its token layers are N×tokens×features.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper


def coordconv(path: Path, side: int = 8, pinned: bool = True) -> str:
    """``conv1`` (3→4, 3×3, padded), the grid concatenated (``coords``), ``conv2`` (6→5, 1×1); written to ``path``."""
    rng = np.random.RandomState(41)
    inits = {
        "w1": rng.randn(4, 3, 3, 3).astype(np.float32),
        "w2": rng.randn(5, 6, 1, 1).astype(np.float32),
        "grid": rng.randn(1, 2, side, side).astype(np.float32),
    }
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], name="conv1", pads=[1, 1, 1, 1])]
    grid = "grid"
    if not pinned:  # grid.expand(N, 2, S, S): the batch read from the activations
        inits["rest"] = np.array([2, side, side], np.int64)
        inits["first"] = np.array([0], np.int64)
        nodes += [
            helper.make_node("Shape", ["c"], ["shape"], name="shape"),
            helper.make_node("Gather", ["shape", "first"], ["batch"], name="batch", axis=0),
            helper.make_node("Concat", ["batch", "rest"], ["target"], name="target", axis=0),
            helper.make_node("Expand", ["grid", "target"], ["grids"], name="grids"),
        ]
        grid = "grids"
    nodes += [
        helper.make_node("Concat", ["c", grid], ["with_grid"], name="coords", axis=1),
        helper.make_node("Conv", ["with_grid", "w2"], ["y"], name="conv2"),
    ]
    graph = helper.make_graph(
        nodes,
        "coordconv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1 if pinned else "N", 3, side, side])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(value, name) for name, value in inits.items()],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(path))
    return str(path)


class TinyViT(torch.nn.Module):
    """16×16 images, 4×4 patches: 1 class token + 4×4 patch tokens of 16 features; MLP hidden layer of 32."""

    def __init__(self, features: int = 16, patch: int = 4, side: int = 16, hidden: int = 32):
        super().__init__()
        tokens = 1 + (side // patch) ** 2
        self.embed = torch.nn.Conv2d(3, features, patch, patch)
        self.cls = torch.nn.Parameter(torch.randn(1, 1, features))
        self.pos = torch.nn.Parameter(torch.randn(1, tokens, features) * 0.1)
        self.norm1 = torch.nn.LayerNorm(features)
        self.attn = torch.nn.MultiheadAttention(features, 2, batch_first=True)
        self.norm2 = torch.nn.LayerNorm(features)
        self.fc1 = torch.nn.Linear(features, hidden)
        self.act = torch.nn.GELU()
        self.fc2 = torch.nn.Linear(hidden, features)
        self.head = torch.nn.Linear(features, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        t = self.embed(x).flatten(2).transpose(1, 2)
        t = torch.cat([self.cls.expand(t.shape[0], -1, -1), t], 1) + self.pos
        h = self.norm1(t)
        t = t + self.attn(h, h, h, need_weights=False)[0]
        t = t + self.fc2(self.act(self.fc1(self.norm2(t))))
        return self.head(t[:, 0])


VIT_HIDDEN = "/fc1/MatMul"
"""The tiny ViT's feed-forward hidden layer (before the GELU): N×17×32."""


def export_batch_free(module: torch.nn.Module, image_shape: tuple[int, ...], path) -> str:
    """``module`` (in eval mode) exported to ``path`` by torch's TorchScript exporter at opset 17, input ``x``
    of ``image_shape`` with its batch dynamic."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the exporter's deprecation notice
        torch.onnx.export(
            module.eval(),
            torch.randn(*image_shape),
            str(path),
            opset_version=17,
            dynamo=False,
            input_names=["x"],
            dynamic_axes={"x": {0: "batch"}},
        )
    return str(path)


def tiny_vit(path: Path) -> str:
    """:class:`TinyViT` (seed 0) exported to ``path`` by torch's TorchScript exporter at opset 17, batch dynamic."""
    torch.manual_seed(0)
    return export_batch_free(TinyViT(), (1, 3, 16, 16), path)
