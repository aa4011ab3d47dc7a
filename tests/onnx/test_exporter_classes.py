"""Export classes found by the export sweep (docs/models.md): a batch pinned to 1, a network that cannot run at its
declared size. Small hand-written graphs in the exporters' forms, checked against onnxruntime.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from deepdreamport import deep_dream_image
from deepdreamport.nets import OnnxNetwork
from deepdreamport.onnx.convert import prepare, to_torch

RNG = np.random.RandomState(41)
W1 = RNG.randn(4, 3, 3, 3).astype(np.float32)
W2 = RNG.randn(5, 6, 1, 1).astype(np.float32)
GRID = RNG.randn(1, 2, 8, 8).astype(np.float32)


def _model(nodes, inits, shape, opset=13):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        initializer=[numpy_helper.from_array(np.asarray(v), k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _onnxruntime(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def _shuffle_with_literal_batch() -> onnx.ModelProto:
    """``x.view(1, 2, c // 2, h, w).transpose(1, 2).reshape(1, c, h, w)`` as the TorchScript exporter writes it with
    a dynamic image size: each target a ``Concat`` of the constant 1 and sizes read from ``Shape``."""
    nodes = [helper.make_node("Conv", ["x", "w1"], ["c"], name="conv", pads=[1, 1, 1, 1])]
    for axis in (2, 3):
        nodes += [
            helper.make_node("Shape", ["c"], [f"shape{axis}"], name=f"shape{axis}"),
            helper.make_node("Gather", [f"shape{axis}", f"i{axis}"], [f"side{axis}"], name=f"side{axis}", axis=0),
            helper.make_node("Unsqueeze", [f"side{axis}", "zero"], [f"u{axis}"], name=f"u{axis}"),
        ]
    nodes += [
        helper.make_node("Concat", ["one", "two", "two", "u2", "u3"], ["split_to"], name="split_to", axis=0),
        helper.make_node("Reshape", ["c", "split_to"], ["grouped"], name="group"),
        helper.make_node("Transpose", ["grouped"], ["shuffled"], name="shuffle", perm=[0, 2, 1, 3, 4]),
        helper.make_node("Concat", ["one", "four", "u2", "u3"], ["merge_to"], name="merge_to", axis=0),
        helper.make_node("Reshape", ["shuffled", "merge_to"], ["y"], name="merge"),
    ]
    inits = {"w1": W1, "zero": np.array([0], np.int64), "i2": np.array(2, np.int64), "i3": np.array(3, np.int64)}
    inits |= {name: np.array([value], np.int64) for name, value in (("one", 1), ("two", 2), ("four", 4))}
    return _model(nodes, inits, [1, 3, "h", "w"])


def test_concat_built_reshape_targets_with_a_leading_1_take_any_batch():
    """Batch 3 through the freed targets equals onnxruntime's batch-1 runs of each image (the graph pins 1)."""
    model = _shuffle_with_literal_batch()
    x = RNG.randn(3, 3, 6, 10).astype(np.float32)
    ref = np.concatenate([_onnxruntime(model, x[k : k + 1]) for k in range(3)])
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
    assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


def _coordconv(path) -> str:
    """A CoordConv whose 1×2×8×8 grid the exporter folded into a constant: the batch stays pinned to 1."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv1", pads=[1, 1, 1, 1]),
        helper.make_node("Concat", ["c", "grid"], ["with_grid"], name="coords", axis=1),
        helper.make_node("Conv", ["with_grid", "w2"], ["y"], name="conv2"),
    ]
    onnx.save(_model(nodes, {"w1": W1, "grid": GRID, "w2": W2}, [1, 3, 8, 8]), str(path))
    return str(path)


def test_a_batch_pinned_to_1_dreams_one_image_per_pass(tmp_path):
    """Two channels at once (one network pass each) give the images of two one-channel runs.

    The layer's activations first match onnxruntime's, so the dream runs the network the graph means.
    """
    path = _coordconv(tmp_path / "coordconv.onnx")
    x = RNG.randn(1, 3, 8, 8).astype(np.float32)
    network = OnnxNetwork.from_onnx(path)
    with torch.no_grad():
        out = network.truncated("conv2").module(torch.from_numpy(x)).numpy()
    ref = _onnxruntime(onnx.load(path), x)
    assert np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
    options = dict(pyramid_levels=1, num_iterations=2, device="cpu", output_scaling="none")
    together = deep_dream_image(path, "conv2", [0, 4], random_state=0, **options)
    for k, channel in enumerate([0, 4]):
        alone = deep_dream_image(path, "conv2", [channel], random_state=0, **options)
        assert np.abs(together[k] - alone[0]).max() <= 1e-5 * np.abs(alone[0]).max()


def test_the_layer_table_is_listed_when_the_network_cannot_run_at_its_declared_size():
    """A reshape that does not fit the declared 7×7 input: every row is listed, the failing one with size '?'."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv"),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Shape", ["r"], ["batch"], name="batch", end=1),
        helper.make_node("Concat", ["batch", "seven"], ["target"], name="target", axis=0),
        helper.make_node("Reshape", ["r", "target"], ["y"], name="reshape"),
    ]
    model = _model(nodes, {"w1": W1, "seven": np.array([7, -1], np.int64)}, [1, 3, 7, 7], opset=15)
    relu = _model(nodes[:2], {"w1": W1}, [1, 3, 7, 7])
    expected = _onnxruntime(relu, np.zeros((1, 3, 7, 7), np.float32)).shape  # 1×4×5×5
    rows = OnnxNetwork.from_onnx(model).layers
    assert [(row.name, row.output_size) for row in rows] == [
        ("x", (7, 7, 3)),
        ("conv", (expected[2], expected[3], expected[1])),
        ("relu", (expected[2], expected[3], expected[1])),
        ("reshape", ()),
    ]


def _unknown_rank_model() -> onnx.ModelProto:
    """Every rank-reading operator after a ``Reshape`` whose target's length ONNX shape inference cannot tell.

    The target is the tensor's own shape sliced up to its computed rank (``shape[0:rank]``): a no-op at run
    time, but from it on no tensor has a rank in the graph's shapes. The image height is dynamic, so the
    target depends on the image and is not folded to a constant.
    """
    rng = np.random.RandomState(42)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["shape"], name="shape"),
        helper.make_node("Shape", ["shape"], ["rank"], name="rank"),
        helper.make_node("Slice", ["shape", "zero", "rank"], ["target"], name="target"),
        helper.make_node("Reshape", ["c", "target"], ["s"], name="view"),
        helper.make_node("MaxPool", ["s"], ["p"], name="pool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("BatchNormalization", ["p", "gamma", "beta", "mean", "var"], ["bn"], name="bn"),
        helper.make_node("AveragePool", ["bn"], ["ap"], name="apool", kernel_shape=[2, 2]),
        helper.make_node("InstanceNormalization", ["ap", "gamma", "beta"], ["inn"], name="inorm"),
        helper.make_node("LayerNormalization", ["inn", "ln_scale", "ln_bias"], ["ln"], name="lnorm", axis=-1),
        helper.make_node("GlobalAveragePool", ["ln"], ["y"], name="gap"),
    ]
    inits = {"w1": W1, "zero": np.array([0], np.int64)}
    inits |= {name: rng.randn(4).astype(np.float32) for name in ("gamma", "beta", "mean")}
    inits |= {"var": 1 + rng.rand(4).astype(np.float32), "ln_scale": 1 + rng.rand(5).astype(np.float32)}
    inits["ln_bias"] = rng.randn(5).astype(np.float32)  # the width after the pools: 12 → 6 → 5
    return _model(nodes, inits, [1, 3, "h", 12], opset=17)


def test_converters_that_read_the_rank_work_when_the_graph_does_not_tell_it():
    model = _unknown_rank_model()
    inferred = onnx.shape_inference.infer_shapes(model)
    assert not next(v for v in inferred.graph.value_info if v.name == "s").type.tensor_type.HasField("shape")
    module = to_torch(prepare(model))
    for height in (8, 10):
        x = RNG.randn(1, 3, height, 12).astype(np.float32)
        ref = _onnxruntime(model, x)
        with torch.no_grad():
            out = module(torch.from_numpy(x)).numpy()
        assert out.shape == ref.shape == (1, 4, 1, 1) and np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()


@pytest.mark.parametrize("depth", [1, 2])  # indices naming the batch only; the batch and a channel
def test_scatter_nd_matches_onnxruntime_without_the_list_indexing_warning(depth):
    """The TorchScript exporter's ``x[:, k] = v`` is a ``ScatterND``; its module indexes with a tuple.

    onnx2torch indexed with a list of lists: torch 2.14 warns on every call, and a later torch reads it
    as one tensor index.
    """
    indices = np.array([[0]] if depth == 1 else [[0, 1], [0, 3]], np.int64)
    update_shape = [1, 4, 6, 6] if depth == 1 else [2, 6, 6]
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="relu"),
        helper.make_node("Slice", ["r", "start", "stop", "axis"], ["part"], name="part"),
        helper.make_node("Reshape", ["part", "update_shape"], ["updates"], name="updates"),
        helper.make_node("ScatterND", ["c", "indices", "updates"], ["y"], name="assign"),
    ]
    inits = {"w1": W1, "indices": indices, "update_shape": np.array(update_shape, np.int64)}
    inits |= {"start": np.array([0], np.int64), "stop": np.array([4 if depth == 1 else 2], np.int64)}
    inits["axis"] = np.array([1], np.int64)
    model = _model(nodes, inits, [1, 3, 6, 6])
    x = RNG.randn(1, 3, 6, 6).astype(np.float32)
    ref = _onnxruntime(model, x)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with torch.no_grad():
            out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
    assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-6 * np.abs(ref).max()


def test_layer_normalization_over_dimensions_the_graph_leaves_symbolic():
    """The class of a Swin-T export (TorchScript, opset 17): the rank is known but the normalised dimension is not.

    onnx2torch built ``nn.LayerNorm`` with a size of 0 and the layer table failed ("normalized_shape = [0]").
    """
    rng = np.random.RandomState(43)
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c"], name="conv", pads=[1, 1, 1, 1]),
        helper.make_node("Shape", ["c"], ["shape"], name="shape"),
        helper.make_node("Reshape", ["c", "shape"], ["s"], name="view"),  # rank 4, every dimension unknown
        helper.make_node("LayerNormalization", ["s", "ln_scale", "ln_bias"], ["y"], name="lnorm", axis=-1),
    ]
    inits = {"w1": W1, "ln_scale": 1 + rng.rand(12).astype(np.float32), "ln_bias": rng.randn(12).astype(np.float32)}
    model = _model(nodes, inits, [1, 3, "h", 12], opset=17)
    inferred = onnx.shape_inference.infer_shapes(model)
    dims = next(v for v in inferred.graph.value_info if v.name == "s").type.tensor_type.shape.dim
    assert len(dims) == 4 and not dims[3].HasField("dim_value")
    x = RNG.randn(1, 3, 6, 12).astype(np.float32)
    ref = _onnxruntime(model, x)
    with torch.no_grad():
        out = to_torch(prepare(model))(torch.from_numpy(x)).numpy()
    assert out.shape == ref.shape and np.abs(out - ref).max() <= 1e-5 * np.abs(ref).max()
