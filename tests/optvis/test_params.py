"""Parametrisations without a lucent counterpart (Laplacian pyramid, MACO, natural statistics) and
redirected ReLU, checked against their defining properties."""

from __future__ import annotations

import numpy as np
import torch

from deepdreamport.optvis.param import COLOR_CORRELATION_NORMALIZED, laplacian_pyramid
from deepdreamport.optvis.param.natural import natural_statistics
from deepdreamport.optvis.redirected_relu import redirected_relu, with_redirected_relu
from deepdreamport.optvis.rendering import prepare


def test_laplacian_levels_halve_and_coarse_levels_are_smooth():
    levels, image_f = laplacian_pyramid((2, 3, 32, 32), n_levels=4, generator=torch.Generator().manual_seed(0))
    assert [tuple(level.shape[-2:]) for level in levels] == [(32, 32), (16, 16), (8, 8), (4, 4)]
    with torch.no_grad():
        levels[0].zero_()
        levels[1].zero_()
        levels[2].zero_()
        coarse = image_f()
    spectrum = torch.fft.rfft2(coarse).abs()
    freqs = torch.sqrt(torch.fft.fftfreq(32)[:, None] ** 2 + torch.fft.rfftfreq(32)[None, :] ** 2)
    assert coarse.shape == (2, 3, 32, 32) and spectrum[..., freqs > 0.25].max() < 0.15 * spectrum.max()


def test_natural_statistics_resemble_lucids_imagenet_matrix_and_a_power_law():
    stats = natural_statistics(64, 64)
    assert natural_statistics(64, 64) is stats
    assert np.all(stats.matrix[:, 0] > 0.4) and abs(np.linalg.norm(stats.matrix, axis=0).max() - 1) < 1e-12
    assert np.abs(np.abs(stats.matrix[:, 0]) - COLOR_CORRELATION_NORMALIZED[:, 0]).max() < 0.25
    freqs = np.sqrt(np.fft.fftfreq(64)[:, None] ** 2 + np.fft.rfftfreq(64)[None, :] ** 2)
    band = (freqs > 0.03) & (freqs < 0.4)
    slope = np.polyfit(np.log(freqs[band]), np.log(stats.magnitude[0][band]), 1)[0]
    assert -2.5 < slope < -0.5


def test_maco_keeps_the_natural_magnitude_while_optimising_the_phase(tinynet):
    session = prepare(tinynet, "conv2:1", device="cpu", param="maco", size=32, transforms="none")
    for _ in range(3):
        session.optimizer.step(session.closure)
    (phase,) = session.image.parameters
    assert phase.shape == (1, 3, 32, 17)
    stats = natural_statistics(32, 32)
    with torch.no_grad():
        colour = torch.logit(session.image().double()) / 4 + 0.5 - torch.from_numpy(stats.mean).view(1, 3, 1, 1)
        decorrelated = torch.einsum("dc,kchw->kdhw", torch.from_numpy(np.linalg.inv(stats.matrix)), colour)
        magnitude = torch.fft.rfft2(decorrelated, norm="ortho").abs()[0]
    inner = slice(1, 16)  # columns 0 and W/2 are made Hermitian by the inverse transform
    assert np.allclose(magnitude[..., inner].numpy(), stats.magnitude[..., inner], rtol=1e-3, atol=1e-4)


def test_redirected_relu_gradient():
    x = torch.tensor([[-1.0, -2.0, -3.0], [1.0, -1.0, 2.0]], requires_grad=True)
    grad = torch.tensor([[0.5, -0.5, 1.0], [0.3, 0.7, -0.2]])
    y = redirected_relu(x)
    y.backward(grad)
    assert torch.equal(y, torch.relu(x))
    # row 0: every input dead, so gradients that would raise x (negative loss gradient) pass
    # row 1: alive, so the ordinary ReLU gradient
    assert torch.equal(x.grad, torch.tensor([[0.0, -0.5, 0.0], [0.3, 0.0, -0.2]]))
    x6 = torch.tensor([[7.0, 8.0]], requires_grad=True)
    redirected_relu(x6, 6.0).backward(torch.tensor([[1.0, -1.0]]))
    assert torch.equal(x6.grad, torch.tensor([[1.0, 0.0]]))


def test_redirected_relu_replaces_modules_in_a_copy():
    module = torch.nn.Sequential(torch.nn.Conv2d(1, 1, 1), torch.nn.ReLU(), torch.nn.ReLU6())
    copy = with_redirected_relu(module)
    assert [type(m).__name__ for m in copy] == ["Conv2d", "RedirectedReLU", "RedirectedReLU"]
    assert type(module[1]) is torch.nn.ReLU


def test_redirected_relu_revives_a_dead_unit(tinynet):
    plain = prepare(tinynet, "relu2:1", device="cpu", param="pixel", size=24, transforms="none", sd=1e-4)
    redirected = prepare(
        tinynet, "relu2:1", device="cpu", param="pixel", size=24, transforms="none", sd=1e-4, redirected_relu=True
    )
    with torch.no_grad():
        for session in (plain, redirected):
            session.image.parameters[0].fill_(-20.0)  # a black image: relu2 is dead everywhere
    plain.closure()
    redirected.closure()
    assert plain.image.parameters[0].grad.abs().max() == 0
    assert redirected.image.parameters[0].grad.abs().max() > 0
