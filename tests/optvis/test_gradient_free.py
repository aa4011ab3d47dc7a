"""Gradient-free rendering: CMA-ES and GA (nevergrad), each generation one batch, onnxruntime for
graphs onnx2torch cannot convert."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepdreamport.optvis._network import DeepDreamError
from deepdreamport.optvis.gradient_free import LowFrequencyImage, render_gradient_free
from deepdreamport.optvis.network import OptvisNetwork

from .conftest import conv_graph


class CountingNetwork(OptvisNetwork):
    """Records the batch size of every network run."""

    batches: list

    def ort_forward(self, layers):
        run = super().ort_forward(layers)
        return lambda images: (self.batches.append(images.shape[0]), run(images))[1]

    def torch_forward(self, layers, dtype, device, **options):
        run = super().torch_forward(layers, dtype, device, **options)
        return lambda images: (self.batches.append(images.shape[0]), run(images))[1]


def _counting(model):
    plain = OptvisNetwork.from_onnx(model, input_range=(0, 1))
    network = CountingNetwork(
        input_channels=plain.input_channels,
        input_size=plain.input_size,
        preprocess=plain.preprocess,
        input_range_source="",
        graph=plain.graph,
    )
    network.batches = []
    return network


def test_unconvertible_graph_runs_in_onnxruntime_one_batch_per_generation():
    network = _counting(conv_graph(1, "QuickGelu"))
    assert not network.runs_in_torch
    result = render_gradient_free(network, "extra:1,extra:3", size=16, population=6, generations=4)
    assert result.images.shape == (2, 16, 16, 1) and result.losses.shape == (4, 2)
    assert network.batches[-4:] == [12] * 4
    assert np.all(np.diff(result.losses, axis=0) <= 0)


def test_same_graph_without_the_operator_agrees_between_engines():
    torch_run = render_gradient_free(
        OptvisNetwork.from_onnx(conv_graph(1), input_range=(0, 1)),
        "conv:2",
        size=16,
        population=4,
        generations=3,
        engine="torch",
    )
    ort_run = render_gradient_free(
        OptvisNetwork.from_onnx(conv_graph(1), input_range=(0, 1)),
        "conv:2",
        size=16,
        population=4,
        generations=3,
        engine="onnxruntime",
    )
    assert np.allclose(torch_run.losses, ort_run.losses, rtol=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("optimizer", ["cmaes", "ga"])
def test_optimisers_improve_and_repeat_with_the_seed(tinynet, optimizer):
    def run():
        return render_gradient_free(
            tinynet,
            "conv2:1",
            optimizer=optimizer,
            size=32,
            population=8,  # noqa: E731
            generations=12,
            seed=3,
        )

    first, second = run(), run()
    assert np.array_equal(first.images, second.images)
    assert first.losses[-1, 0] < first.losses[0, 0]


def test_low_frequency_image_is_smooth():
    vectors = torch.randn(2, LowFrequencyImage(3, 32, 32, 2).dimension, generator=torch.Generator().manual_seed(0))
    images = LowFrequencyImage(3, 32, 32, 2)(vectors)
    spectrum = torch.fft.rfft2(torch.logit(images))
    assert images.shape == (2, 3, 32, 32)
    assert spectrum[..., 5:27, :].abs().max() < 1e-3 * spectrum.abs().max()


def test_errors():
    unconvertible = OptvisNetwork.from_onnx(conv_graph(1, "QuickGelu"), input_range=(0, 1))
    with pytest.raises(DeepDreamError, match="only the gradient-free optimisers"):
        render_gradient_free(unconvertible, "extra:1", engine="torch", generations=1)
    with pytest.raises(DeepDreamError, match="net: neither onnx2torch nor onnxruntime can run this graph"):
        render_gradient_free(
            OptvisNetwork.from_onnx(conv_graph(1, "Custom"), input_range=(0, 1)), "extra:1", generations=1
        )
    with pytest.raises(DeepDreamError, match="optimizer: expected one of cmaes, ga"):
        render_gradient_free(unconvertible, "extra:1", optimizer="adam")
    with pytest.raises(DeepDreamError, match="generations: expected an integer"):
        render_gradient_free(unconvertible, "extra:1", generations=0)
    with pytest.raises(DeepDreamError, match="memory_format: expected None"):
        render_gradient_free(unconvertible, "extra:1", generations=1, memory_format="channels_last")
