"""Figure 3: lucent's ``render_vis`` on the same converted network, time per step.

torch-lucent 0.1.8 is a benchmark-only dependency, installed outside the
package (see ``benchmarks/requirements-lucent.txt``)::

    .venv/bin/python -m pip install --no-deps --target .cache/bench-deps \
        -r benchmarks/requirements-lucent.txt
    .venv/bin/python -m pip install --target .cache/bench-deps/ipy ipython

(lucent imports ``IPython.display`` at import time, ``decorator`` for its
objectives and ``kornia`` for its rotation transform). When lucent cannot be
imported, a re-creation of its default step is timed instead and the JSON says so.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from .common import REPO, Setup, synchronize

DEFAULT_DEPS = REPO / ".cache" / "bench-deps"


def import_lucent(deps: Path):
    for path in (deps / "ipy", deps):
        if path.is_dir() and str(path) not in sys.path:
            sys.path.insert(0, str(path))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lucent.optvis import objectives, param, render  # noqa: F401

    return objectives, param, render


def lucent_user_module(setup: Setup, model: Path, layer: str) -> torch.nn.Module:
    """The network as a lucent user has it: the graph truncated at ``layer`` by ``onnx.utils``,
    converted by plain ``onnx2torch.convert`` (none of the port's fix-up passes), default layout."""
    import onnx
    import onnx.shape_inference
    import onnx.utils
    import onnx2torch

    output = setup.network.resolve_layer(layer)  # the same tensor the port truncates at
    original = onnx.shape_inference.infer_shapes(onnx.load(str(model)))
    truncated = onnx.utils.Extractor(original).extract_model([setup.network.input_name], [output])
    module = onnx2torch.convert(truncated).eval().to(setup.device, setup.dtype)
    module.requires_grad_(False)
    return module


def lucent_step_timer(
    module: torch.nn.Module,
    channels: list[int],
    size: int,
    steps: int,
    device: torch.device,
    deps: Path = DEFAULT_DEPS,
    then: tuple = (),
    **render_options,
):
    """A function timing one step of lucent's ``render_vis`` on ``module`` ((``steps`` + 1 steps) − (1 step),
    per step: no set-up), and the implementation's name; ``None`` and the reason when lucent cannot be imported.

    Objective: ``channels[k]`` on batch element k (the batch is ``len(channels)`` images of ``size``²);
    lucent's defaults (fft + decorrelated image, standard transforms, Adam 0.05); ``then``: transforms
    applied after lucent's standard ones; ``render_options``: more ``render_vis`` keywords (``preprocess``).
    """
    try:
        objectives, param, render = import_lucent(deps)
    except Exception as error:  # noqa: BLE001 - any import failure means "not installed here"
        return None, f"lucent not importable: {type(error).__name__}: {error}"
    if then:
        from lucent.optvis import transform  # on the path since import_lucent

        render_options["transforms"] = list(transform.standard_transforms) + list(then)
    model = torch.nn.Sequential(module)  # hook key "0" is the layer's output
    objective = None
    for k, channel in enumerate(channels):
        term = objectives.channel("0", int(channel), batch=k)
        objective = term if objective is None else objective + term

    def run(n: int) -> float:
        torch.manual_seed(0)
        start = time.perf_counter()
        render.render_vis(
            model,
            objective,
            lambda: param.image(size, batch=len(channels)),
            thresholds=(n,),
            progress=False,
            show_image=False,
            **render_options,
        )
        synchronize(device)
        return time.perf_counter() - start

    return (lambda: (run(steps + 1) - run(1)) / steps), "torch-lucent 0.1.8 render_vis"


def recreated_step_function(setup: Setup, module: torch.nn.Module, size: int, steps: int):
    """lucent's default step re-created on ``module``: fft image, colour decorrelation, sigmoid,
    pad 12 / jitter 8 / random scale / random rotate / jitter 4, ImageNet normalise, Adam 0.05.
    Returns a function timing one step (seconds), after ``steps`` steps; used when lucent is absent."""
    device, k = setup.device, setup.k
    freqs = torch.sqrt(torch.fft.fftfreq(size)[:, None] ** 2 + torch.fft.rfftfreq(size)[None, :] ** 2)
    scale = (1.0 / torch.clamp(freqs, min=1.0 / size)).to(device)
    spectrum = (0.01 * torch.randn(k, 3, size, size // 2 + 1, 2, device=device)).requires_grad_(True)
    colour = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]], device=device)
    colour = colour / colour.norm(dim=0).max()
    mean = torch.tensor([0.485, 0.456, 0.406], device=device).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225], device=device).view(1, 3, 1, 1)
    optimizer = torch.optim.Adam([spectrum], lr=0.05)
    index = torch.arange(k, device=device)

    def image() -> torch.Tensor:
        x = torch.fft.irfftn(torch.view_as_complex(spectrum * scale[..., None]), s=(size, size), norm="ortho") / 4
        x = torch.einsum("kchw,dc->kdhw", x, colour)
        return torch.sigmoid(x)

    def transform(x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, (12,) * 4, value=0.5)
        for jitter in (8,):
            dx, dy = torch.randint(jitter, (2,)).tolist()
            x = x[..., dy : x.shape[-2] - jitter + dy, dx : x.shape[-1] - jitter + dx]
        factor = 1 + (torch.randint(11, ()).item() - 5) / 50
        x = F.interpolate(x, scale_factor=factor, mode="bilinear", align_corners=True)
        angle = math.radians(torch.randint(-10, 11, ()).item())
        theta = torch.tensor(
            [[math.cos(angle), -math.sin(angle), 0], [math.sin(angle), math.cos(angle), 0]], device=device
        )
        grid = F.affine_grid(theta.expand(k, 2, 3), list(x.shape), align_corners=False)
        x = F.grid_sample(x, grid, align_corners=False)
        dx, dy = torch.randint(4, (2,)).tolist()
        x = x[..., dy : x.shape[-2] - 4 + dy, dx : x.shape[-1] - 4 + dx]
        return (x - mean) / std

    def step() -> None:
        optimizer.zero_grad()
        output = module(transform(image()))
        loss = -output[index, setup.channel_index].mean(dim=(-2, -1)).sum()
        loss.backward()
        optimizer.step()

    def per_step() -> float:
        synchronize(device)
        start = time.perf_counter()
        for _ in range(steps):
            step()
        synchronize(device)
        return (time.perf_counter() - start) / steps

    return per_step
