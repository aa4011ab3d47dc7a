"""Bad networks raise DeepDreamError with a clear identifier (issue 3)."""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from deepdreamport.errors import DeepDreamError
from deepdreamport.nets import OnnxNetwork
from deepdreamport.onnx.convert import prepare, to_torch
from deepdreamport.onnx.read import read_onnx
from tests.conftest import REPO

TINY = REPO / "parity" / "reference" / "models" / "tinynet.onnx"


def model_with(nodes, inputs, inits=(), opset=13):
    graph = helper.make_graph(
        nodes,
        "g",
        inputs,
        [helper.make_tensor_value_info(nodes[-1].output[-1], TensorProto.FLOAT, None)],
        initializer=list(inits),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def image(name="x", shape=(1, 3, 8, 8)):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(shape))


def identifier(call):
    with pytest.raises(DeepDreamError) as info:
        call()
    return info.value.identifier, str(info.value)


def test_missing_file(tmp_path):
    ident, message = identifier(lambda: read_onnx(tmp_path / "nope.onnx"))
    assert ident == "deepdreamport:onnx:FileNotFound" and "nope.onnx" in message


def test_not_onnx(tmp_path):
    path = tmp_path / "notes.onnx"
    path.write_text("this is a text file, not a network\n" * 10)
    assert identifier(lambda: read_onnx(path))[0] == "deepdreamport:onnx:NotONNX"


def test_a_git_lfs_pointer_says_to_fetch_the_file(tmp_path):
    """What a checkout without LFS leaves in place of a model (a CI user's parity run names it)."""
    path = tmp_path / "net.onnx"
    path.write_text(
        "version https://git-lfs.github.com/spec/v1\n"
        "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 18617480\n"
    )
    ident, message = identifier(lambda: read_onnx(path))
    assert ident == "deepdreamport:onnx:GitLfsPointer" and "git lfs pull" in message and "lfs: true" in message


def test_truncated_protobuf(tmp_path):
    data = TINY.read_bytes()
    path = tmp_path / "cut.onnx"
    path.write_bytes(data[: len(data) // 2])
    assert identifier(lambda: read_onnx(path))[0] == "deepdreamport:onnx:CorruptFile"


def test_missing_external_data(tmp_path):
    model = onnx.load(str(TINY))
    path = tmp_path / "ext.onnx"
    onnx.save_model(
        model,
        str(path),
        save_as_external_data=True,
        all_tensors_to_one_file=True,
        location="weights.bin",
        size_threshold=0,
    )
    assert read_onnx(path).graph.node  # loads while the data file is there
    (tmp_path / "weights.bin").unlink()
    ident, message = identifier(lambda: read_onnx(path))
    assert ident == "deepdreamport:onnx:MissingExternalData" and "weights.bin" in message


def test_unsupported_ops_are_all_named():
    nodes = [
        helper.make_node("Relu", ["x"], ["a"], name="ok"),
        helper.make_node("Bogus", ["a"], ["b"], name="bad1", domain="my.domain"),
        helper.make_node("Bogus", ["b"], ["c"], name="bad2", domain="my.domain"),
        helper.make_node("Mystery", ["c"], ["d"], name="bad3", domain="my.domain"),
    ]
    model = model_with(nodes, [image()])
    model.opset_import.append(helper.make_opsetid("my.domain", 1))
    ident, message = identifier(lambda: prepare(model))
    assert ident == "deepdreamport:onnx:UnsupportedOperator"
    for text in ("Bogus", "Mystery", "bad1", "bad2", "bad3"):
        assert text in message
    assert "ok" not in message.split(":", 1)[1].replace("nodes", "")


def test_several_inputs_is_mimo():
    model = model_with([helper.make_node("Add", ["x", "z"], ["y"])], [image("x"), image("z")])
    assert identifier(lambda: OnnxNetwork.from_onnx(model))[0] == "nnet_cnn:deepDreamImage:NotAvailableForMIMO"


def test_input_not_nchw():
    model = model_with([helper.make_node("Relu", ["x"], ["y"])], [image("x", (1, 8))])
    assert identifier(lambda: OnnxNetwork.from_onnx(model))[0] == "deepdreamport:onnx:InputNotImage"


def test_dynamic_spatial_size_needs_tile_size():
    model = model_with([helper.make_node("Relu", ["x"], ["y"])], [image("x", ("N", 3, "H", "W"))])
    network = OnnxNetwork.from_onnx(model)
    assert identifier(lambda: network.tile_size())[0] == "deepdreamport:deepDreamImage:UnknownTileSize"
    assert network.tile_size(64) == 64


def test_layer_with_several_outputs():
    split = numpy_helper.from_array(np.asarray([1, 2], dtype=np.int64), "sp")
    nodes = [
        helper.make_node("Split", ["x", "sp"], ["a", "b"], name="split", axis=1),
        helper.make_node("Add", ["a", "a"], ["y"], name="add"),
    ]
    network = OnnxNetwork.from_onnx(model_with(nodes, [image()], [split]))
    ident, message = identifier(lambda: network.resolve_layer("split"))
    assert ident == "deepdreamport:deepDreamImage:LayerHasSeveralOutputs" and "a, b" in message


def test_unsupported_attribute_is_found_when_the_network_is_checked():
    """A ``Reshape(allowzero=1)`` to a constant shape with a 0 (a zero-sized axis: it works on empty tensors only)."""
    target = numpy_helper.from_array(np.asarray([1, 0, 3], dtype=np.int64), "target")
    nodes = [helper.make_node("Reshape", ["x", "target"], ["y"], name="reshape_9", allowzero=1)]
    model = model_with(nodes, [image()], [target])
    ident, message = identifier(lambda: prepare(model))
    assert ident == "deepdreamport:onnx:UnsupportedOperator"
    assert "reshape_9" in message and "Reshape(allowzero=1)" in message


def test_converter_failure_names_the_node_and_operator():
    """A converter that fails all the same (here: Clip with a min computed at run time) is one DeepDreamError."""
    nodes = [
        helper.make_node("ReduceMin", ["x"], ["low"], name="low", keepdims=0),
        helper.make_node("Clip", ["x", "low"], ["y"], name="clip_9"),
    ]
    model = model_with(nodes, [image()])
    ident, message = identifier(lambda: to_torch(prepare(model)))
    assert ident == "deepdreamport:onnx:ConversionFailed"
    assert "clip_9" in message and "Clip" in message


def test_converter_failure_after_a_pool_names_the_failing_node_not_the_pool():
    """The diagnosis converts each node with the shapes onnx2torch infers: the pool before the culprit converts.

    Without them the ``MaxPool`` (whose converter reads its input's rank) was blamed.
    """
    nodes = [
        helper.make_node("ReduceMin", ["x"], ["low"], name="low", keepdims=0),
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool", kernel_shape=[2, 2]),
        helper.make_node("Clip", ["p", "low"], ["y"], name="clip_9"),
    ]
    model = model_with(nodes, [image()])
    ident, message = identifier(lambda: to_torch(prepare(model)))
    assert ident == "deepdreamport:onnx:ConversionFailed"
    assert "node 'clip_9' (operator Clip" in message and "pool" not in message
