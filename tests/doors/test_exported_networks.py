"""Networks as people export them (issue 9): the layer table and a short dream through ``deep_dream_image``.

The networks are built at test time by :mod:`tests.onnx.exported_networks`;
their conversion is checked against onnxruntime in
``tests/onnx/test_model_corpus.py``.
"""

from __future__ import annotations

import warnings

import numpy as np
import onnx
import pytest

from deepdreamport import deep_dream_image
from deepdreamport.doors.degenerate import DegenerateImagesWarning
from deepdreamport.errors import DeepDreamError
from deepdreamport.nets import OnnxNetwork

# name -> (layer table rows checked: name, type, output size H×W×C), layer dreamt
EXPECTED = {
    "matlab_zerocenter": (
        [
            ("imageinput", "Image Input", (20, 24, 3)),
            ("conv_1", "Convolution", (20, 24, 6)),
            ("batchnorm_1", "Batch Normalization", (20, 24, 6)),
            ("relu_1", "ReLU", (20, 24, 6)),
            ("maxpool_1", "Max Pooling", (10, 12, 6)),
            ("conv_2", "Convolution", (8, 10, 8)),
            ("relu_2", "ReLU", (8, 10, 8)),
            ("fc", "Fully Connected", (1, 1, 5)),
            ("softmax", "Softmax", (1, 1, 5)),
        ],
        "batchnorm_1",
    ),
    "keras_nhwc": (
        [
            ("input_1", "Image Input", (24, 24, 3)),
            ("conv2d", "Convolution", (24, 24, 6)),
            ("conv2d/Relu", "ReLU", (24, 24, 6)),
            ("max_pooling2d", "Max Pooling", (12, 12, 6)),
            ("conv2d_1", "Convolution", (6, 6, 8)),
            ("conv2d_1/Relu", "ReLU", (6, 6, 8)),
        ],
        "conv2d_1/Relu",
    ),
    # node names depend on the torch version: the whole table by position, None for any name
    "torch_dynamo_opset18": (
        [
            ("x", "Image Input", (16, 16, 3)),
            (None, "Convolution", (16, 16, 6)),  # BatchNormalization folded in by the exporter
            (None, "ReLU", (16, 16, 6)),
            (None, "Max Pooling", (8, 8, 6)),
            (None, "Convolution", (8, 8, 8)),
            (None, "ReLU", (8, 8, 8)),
            (None, "Reshape", (1, 1, 512)),
            (None, "Fully Connected", (1, 1, 5)),
        ],
        -1,
    ),
    "yolo_focus": (
        [("images", "Image Input", (32, 32, 3)), ("/focus/Concat", "Concatenation", (16, 16, 12))],
        "/Relu_2",
    ),
    "matlab_segnet_custom_unpool": (
        [("input", "Image Input", (16, 16, 3)), ("pool_1", "Max Pooling", (8, 8, 4)), ("relu_2", "ReLU", (8, 8, 4))],
        "relu_2",
    ),
    # issue 18: the whole table; no row for tf2onnx's input Reshape, the pass's input Transpose, the Transpose
    # before the flatten or the Dense layer's bias Add
    "tf2onnx_grey_nhwc": (
        [
            ("input_1", "Image Input", (48, 48, 1)),
            ("conv2d", "Convolution", (48, 48, 6)),
            ("conv2d/Relu", "ReLU", (48, 48, 6)),
            ("max_pooling2d", "Max Pooling", (24, 24, 6)),
            ("conv2d_1", "Convolution", (12, 12, 8)),
            ("conv2d_1/Relu", "ReLU", (12, 12, 8)),
            ("flatten", "Reshape", (1, 1, 1152)),
            ("dense/MatMul", "Fully Connected", (1, 1, 5)),
            ("dense/Softmax", "Softmax", (1, 1, 5)),
        ],
        "conv2d_1/Relu",
    ),
    "matlab_r2018a_opset6": (
        [
            ("imageinput", "Image Input", (28, 28, 3)),
            ("conv_1", "Convolution", (24, 24, 4)),
            ("batchnorm_1", "Batch Normalization", (24, 24, 4)),
            ("relu_1", "ReLU", (24, 24, 4)),
            ("maxpool_1", "Max Pooling", (12, 12, 4)),
            ("conv_2", "Convolution", (10, 10, 6)),
            ("relu_2", "ReLU", (10, 10, 6)),
            ("fc", "Fully Connected", (1, 1, 10)),
            ("softmax", "Softmax", (1, 1, 10)),
        ],
        "conv_2",  # its ReLU units are dead for the default noise but one: the convolution responds
    ),
    "torch12_numeric_names": (  # unnamed nodes: each row is named by its output's number
        [
            ("input.1", "Image Input", (40, 56, 3)),
            ("13", "Convolution", (40, 56, 6)),
            ("14", "ReLU", (40, 56, 6)),
            ("15", "Max Pooling", (20, 28, 6)),
            ("16", "Convolution", (20, 28, 8)),
            ("17", "ReLU", (20, 28, 8)),
            ("18", "Max Pooling", (10, 14, 8)),
            ("25", "Reshape", (1, 1, 1120)),
            ("26", "Fully Connected", (1, 1, 5)),
        ],
        "17",
    ),
}
SLOW = {"torch_dynamo_opset18"}
WHOLE_TABLES = {"tf2onnx_grey_nhwc", "matlab_r2018a_opset6", "torch12_numeric_names"}
"""Tables checked row by row, in order (no plumbing row may appear)."""
RESPONDING = {"matlab_segnet_custom_unpool": [0, 2], "keras_nhwc": [0, 3]}
"""Units that respond to the default start image (the others of these ReLU layers are dead there: a warning)."""


def _params(names):
    return [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n for n in names]


@pytest.mark.parametrize("name", _params(sorted(EXPECTED)))
def test_layer_table(name, exported_network):
    rows, _ = EXPECTED[name]
    layers = OnnxNetwork.from_onnx(exported_network(name)).layers
    listed = [(layer.name, layer.type, layer.output_size) for layer in layers]
    if name in WHOLE_TABLES:
        assert listed == rows
        return
    if any(row[0] is None for row in rows):
        assert [(row[1], row[2]) for row in rows] == [(t, size) for _, t, size in listed]
        return
    table = {row[0]: row for row in listed}
    assert layers[0].name == rows[0][0]
    for row in rows:
        assert table.get(row[0]) == row, (row, listed[:12])


@pytest.mark.parametrize("name", _params(sorted(EXPECTED)))
def test_short_dream(name, exported_network):
    _, layer = EXPECTED[name]
    if isinstance(layer, int):  # a position in the layer table
        layer = OnnxNetwork.from_onnx(exported_network(name)).layers[layer].name
    channels = RESPONDING.get(name, [0, 1])
    with warnings.catch_warnings():
        warnings.simplefilter("error", DegenerateImagesWarning)  # the dream changed every image
        images = deep_dream_image(
            exported_network(name), layer, channels, pyramid_levels=1, num_iterations=2, random_state=0
        )
    channels_in = OnnxNetwork.from_onnx(exported_network(name)).input_channels
    assert images.shape[0] == 2 and images.shape[3] == channels_in and np.isfinite(images).all()
    assert images.min() == 0 and abs(images.max() - 1) < 1e-6  # OutputScaling 'linear' (d*X - min*d rounds)


def test_nhwc_network_takes_images_like_any_other(exported_network):
    net = OnnxNetwork.from_onnx(exported_network("keras_nhwc"))
    assert net.input_channels == 3 and net.input_size == (24, 24)
    assert all(layer.name != "Transpose__6" for layer in net.layers)


def test_nhwc_network_normalising_before_its_transpose_takes_images_like_any_other(exported_network):
    """Keras Rescaling/Normalization run channels-last before the transpose: a transpose back is put in front."""
    net = OnnxNetwork.from_onnx(exported_network("keras_nhwc_rescaling"))
    assert net.input_channels == 3 and net.input_size == (24, 24)
    table = {layer.name: layer for layer in net.layers}
    assert table["conv2d_1/Relu"].output_size == (6, 6, 8) and table["conv2d_1/Relu"].receptive_field == (8, 8)
    images = deep_dream_image(net, "conv2d_1/Relu", [0, 7], pyramid_levels=1, num_iterations=2, random_state=0)
    assert images.shape == (2, 8, 8, 3) and np.isfinite(images).all()


def test_default_initial_image_fits_the_size_granularity(exported_network):
    """The Focus network needs sides that are multiples of 4 up to ``/Relu_2``; its receptive field (17×17) is not one.

    Field: Focus strides by 2 (jump 2), stem 3×3 → 5, down1 3×3/2 → 9 (jump 4), down2 3×3/2 → 17.
    """
    net = OnnxNetwork.from_onnx(exported_network("yolo_focus"))
    assert net.truncated("/Relu_2").receptive_field == (17, 17)
    images = deep_dream_image(net, "/Relu_2", [0], pyramid_levels=2, num_iterations=1, random_state=0)
    assert images.shape[1:3] == (28, 28)  # 17 rounded up to 20, then floor(20 · 1.4) = 28


def test_invalid_pyramid_level_names_the_sizes_that_work(exported_network):
    net = OnnxNetwork.from_onnx(exported_network("yolo_focus"))
    with pytest.raises(DeepDreamError) as info:
        deep_dream_image(net, "/Relu_2", [0], pyramid_levels=2, pyramid_scale=1.3, num_iterations=1, random_state=0)
    message = str(info.value)
    assert info.value.identifier == "deepdreamport:deepDreamImage:InvalidImageSize"
    assert "pyramid level 2" in message and "26×26" in message and "20, 24, 28, 32" in message
    with pytest.raises(DeepDreamError) as info:
        deep_dream_image(net, "/Relu_2", [0], initial_image=np.zeros((30, 32, 3)), num_iterations=1)
    assert "30×32" in str(info.value) and "28, 32" in str(info.value)


def test_layer_after_an_unsupported_operator_is_refused_naming_it(exported_network):
    net = OnnxNetwork.from_onnx(exported_network("matlab_segnet_custom_unpool"))
    assert [layer.name for layer in net.layers][-3:] == ["unpool_1", "conv_3", "softmax"]
    with pytest.raises(DeepDreamError) as info:
        deep_dream_image(net, "conv_3", [0], pyramid_levels=1, num_iterations=1)
    assert info.value.identifier == "deepdreamport:onnx:UnsupportedOperator"
    assert "com.mathworks::MaxUnpool" in str(info.value) and "unpool_1" in str(info.value)


def test_declared_input_size_the_layer_cannot_take_is_one_clear_error(exported_network):
    """A YOLO-style file whose declared input (30×30) its Focus and stride-2 paths cannot take."""
    model = onnx.load(str(exported_network("yolo_focus")))
    for dim in model.graph.input[0].type.tensor_type.shape.dim[2:]:
        dim.dim_value = 30
    net = OnnxNetwork.from_onnx(model)
    assert [layer.name for layer in net.layers][:2] == ["images", "/focus/Slice"]  # still listed
    with pytest.raises(DeepDreamError) as info:
        net.truncated("/Relu_2")
    assert info.value.identifier == "deepdreamport:deepDreamImage:LayerFailsAtInputSize"
    assert "'/Relu_2'" in str(info.value) and "30×30×3" in str(info.value)


def test_keras_layers_show_their_own_layout_and_no_plumbing(exported_network):
    """tf2onnx's transpose before the flatten belongs to the flatten; channels-last layers show H×W×C."""
    layers = OnnxNetwork.from_onnx(exported_network("keras_nhwc_rescaling")).layers
    table = {layer.name: layer for layer in layers}
    assert "Transpose__6" not in table and "Transpose__12" not in table and "dense/BiasAdd" not in table
    assert "Transpose__12" in table["flatten"].nodes and "dense/BiasAdd" in table["dense/MatMul"].nodes
    assert table["rescaling/mul"].output_size == (24, 24, 3) and table["normalization/sub"].type == "Subtraction"
    assert layers[0].nodes == ("input_1_channels_last",)  # the pass's transpose back to N×H×W×C: the input's


def test_fully_connected_layer_of_a_non_square_network_dreams_at_its_input_size(exported_network):
    """MATLAB's tile is max(H, W) = 56; a 40×56 fully connected layer never sees it (the image is never tiled)."""
    images = deep_dream_image(exported_network("torch12_numeric_names"), "26", [0, 4], pyramid_levels=1,
                              num_iterations=2, random_state=0)  # fmt: skip
    assert images.shape == (2, 40, 56, 3) and np.isfinite(images).all()


@pytest.mark.parametrize(
    "name, layer",
    [
        ("paddle_detector_dynamic", "Conv@2"),
        pytest.param("torch_dynamo_runtime_reshape", "node_relu_1", marks=pytest.mark.slow),
    ],
)
def test_networks_of_dynamic_size_list_their_layers_and_dream_with_a_tile_size(name, layer, exported_network):
    net = OnnxNetwork.from_onnx(exported_network(name))
    assert net.input_size == (None, None) and net.layers[0].output_size == (None, None, 3)
    assert layer in [row.name for row in net.layers]
    with pytest.raises(DeepDreamError) as info:  # no size to take the tile from: one clear line
        deep_dream_image(net, layer, [0], pyramid_levels=1, num_iterations=1)
    assert info.value.identifier == "deepdreamport:deepDreamImage:UnknownTileSize" and "tile_size" in str(info.value)
    images = deep_dream_image(net, layer, [0, 1], tile_size=32, pyramid_levels=1, num_iterations=2, random_state=0)
    assert images.shape[0] == 2 and np.isfinite(images).all() and images.min() == 0 and abs(images.max() - 1) < 1e-6


def test_paddle_detector_refuses_a_pyramid_level_it_cannot_take_in_one_line(exported_network):
    """Its upsampling path adds a stride-4 feature, upsampled twice, to a stride-2 one: 9×9 does not fit."""
    with pytest.raises(DeepDreamError) as info:
        deep_dream_image(exported_network("paddle_detector_dynamic"), "Conv@2", [0], tile_size=32,
                         pyramid_levels=2, num_iterations=1)  # fmt: skip
    assert info.value.identifier == "deepdreamport:deepDreamImage:InvalidImageSize"
    assert "pyramid level 2" in str(info.value) and "9×9" in str(info.value) and "\n" not in str(info.value)
