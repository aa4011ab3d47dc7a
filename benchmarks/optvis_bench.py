"""optvis benchmarks: quality per recipe and speed against the real lucent.

``PYTHONPATH=. .venv/bin/python -m benchmarks.optvis_bench [--quick] [--json out.json]``

Quality, per recipe (units ``LAYER:0…K−1`` rendered at ``--size``):

- ``activation / natural max``: the unit's mean activation on the rendered image
  (no transforms) divided by its largest mean activation over every
  ``size``×``size`` crop of the photographs in ``skimage.data`` (the natural
  images MACO's statistics come from);
- ``robustness``: the mean activation over 32 random standard transforms
  (per-element draws) divided by the mean untransformed activation (means over units);
- ``spectrum slope``: slope of log |FFT| against log frequency of the
  grayscale image (natural images: about −1 to −1.5).

Learning rates (``--learning-rates``): per parametrisation and Adam learning rate, the
activation over the natural maximum and the pixel spread (a flat, saturated image has none);
the evidence for the per-parametrisation defaults (README, "Learning rates").

Speed: seconds per step of ``render`` and of lucent's ``render_vis`` (same
converted module, FFT + decorrelated image, standard transforms, Adam 0.05,
objective channel k on element k; lucent from the side target of
``benchmarks/lucent_step.py``), and a CMA-ES population's evaluation
(``population_losses``: transforms, network, per-unit objectives) against
one bare batched forward of the same images.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from deepdreamport.doors.run import ieee_float32
from deepdreamport.optvis import render
from deepdreamport.optvis.gradient_free import population_losses, render_gradient_free
from deepdreamport.optvis.network import OptvisNetwork
from deepdreamport.optvis.param.natural import IMAGES, _images, crops
from deepdreamport.optvis.transform import PerElementDraws, compose, standard_transforms

from .lucent_step import lucent_step_timer

REPO = Path(__file__).resolve().parents[1]
MODEL = REPO / "models" / "efficientnet_lite0.onnx"
LAYER = "_blocks/10/Add"

RECIPES = {
    "pixel": dict(param="pixel", decorrelate=False, transforms="none"),
    "fft": dict(param="fft", decorrelate=True, transforms="standard"),
    "laplacian": dict(param="laplacian", decorrelate=True, transforms="standard"),
    "maco": dict(param="maco", transforms="standard"),
    "cppn": dict(param="cppn", transforms="standard", lr=5e-3),
}


def unit_activations(network: OptvisNetwork, layer: str, images: torch.Tensor, channels: list[int]) -> np.ndarray:
    """Mean activation of channel ``channels[k]`` on every image (K×N)."""
    forward = network.torch_forward([layer], torch.float32, "cpu")
    with torch.no_grad():
        acts = torch.cat([forward(network.preprocess(chunk))[layer] for chunk in images.split(16)])
    acts = acts if acts.dim() == 4 else acts[:, :, None, None]
    return acts[:, channels].mean(dim=(-2, -1)).T.numpy()


def spectrum_slope(image: np.ndarray) -> float:
    """Slope of log |FFT| against log frequency of the grayscale of an H×W×C image."""
    gray = image.mean(axis=-1)
    magnitude = np.abs(np.fft.rfft2(gray - gray.mean()))
    freqs = np.sqrt(np.fft.fftfreq(gray.shape[0])[:, None] ** 2 + np.fft.rfftfreq(gray.shape[1])[None, :] ** 2)
    band = (freqs > 2 / gray.shape[0]) & (freqs < 0.45)
    return float(np.polyfit(np.log(freqs[band]), np.log(magnitude[band] + 1e-12), 1)[0])


def quality(network: OptvisNetwork, layer: str, units: int, size: int, steps: int) -> dict:
    channels = list(range(units))
    spec = ",".join(f"{layer}:{c}" for c in channels)
    natural = torch.from_numpy(crops(_images(3), size, size).transpose(0, 3, 1, 2).astype(np.float32))
    natural_max = unit_activations(network, layer, natural, channels).max(axis=1)
    rows = {}
    results = {
        name: render(network, spec, size=size, steps=steps, device="cpu", progress=False, **options).images
        for name, options in RECIPES.items()
    }
    results["cmaes"] = render_gradient_free(
        network, spec, size=size, generations=max(4, steps // 4), population=16
    ).images
    for name, images in results.items():
        batch = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2))).float()
        plain = np.diag(unit_activations(network, layer, batch, channels))
        draws = PerElementDraws(torch.Generator().manual_seed(0))
        transformed = compose(standard_transforms(), draws)(batch.repeat_interleave(32, dim=0))
        moved = unit_activations(network, layer, transformed, channels)  # K × (K·32)
        robust = np.array([moved[k, k * 32 : (k + 1) * 32].mean() for k in channels])
        rows[name] = {
            "activation_over_natural_max": float(np.mean(plain / natural_max)),
            "robustness": float(np.mean(robust) / np.mean(plain)),
            "spectrum_slope": float(np.mean([spectrum_slope(image) for image in images])),
        }
    return {
        "layer": layer,
        "units": units,
        "size": size,
        "steps": steps,
        "natural_images": list(IMAGES),
        "natural_crops": int(natural.shape[0]),
        "recipes": rows,
    }


EXTRA_RATES = {"maco": (0.5, 1.0)}  # MACO's activation still rose at 0.2 (the phase is in radians)


def learning_rates(network: OptvisNetwork, layer: str, units: int, size: int, steps: int, rates) -> dict:
    """Per parametrisation and Adam learning rate: activation / natural max and the images' spread.

    The spread is the mean over images of the standard deviation of the pixel values: a flat
    (saturated) image, CPPN's failure at lucent's 0.05, has almost none.
    """
    channels = list(range(units))
    spec = ",".join(f"{layer}:{c}" for c in channels)
    natural = torch.from_numpy(crops(_images(3), size, size).transpose(0, 3, 1, 2).astype(np.float32))
    natural_max = unit_activations(network, layer, natural, channels).max(axis=1)
    rows: dict = {}
    for name in ("fft", "laplacian", "maco", "cppn"):
        options = {k: v for k, v in RECIPES[name].items() if k != "lr"}
        for lr in tuple(rates) + EXTRA_RATES.get(name, ()):
            images = render(network, spec, size=size, steps=steps, lr=lr, device="cpu", progress=False, **options)
            batch = torch.from_numpy(np.ascontiguousarray(images.images.transpose(0, 3, 1, 2))).float()
            plain = np.diag(unit_activations(network, layer, batch, channels))
            rows.setdefault(name, {})[str(lr)] = {
                "activation_over_natural_max": float(np.mean(plain / natural_max)),
                "pixel_spread": float(np.mean([image.std() for image in images.images])),
            }
    return {"layer": layer, "units": units, "size": size, "steps": steps, "rates": list(rates), "params": rows}


def speed(
    network: OptvisNetwork, layer: str, k: int, size: int, steps: int, repeats: int = 5, device: str = "cpu"
) -> dict:
    spec = ",".join(f"{layer}:{c}" for c in range(k))

    def port(n: int) -> float:
        start = time.perf_counter()
        render(network, spec, size=size, steps=n, device=device, progress=False)  # host arrays: waits for the device
        return time.perf_counter() - start

    def port_step() -> float:
        return (port(steps + 1) - port(1)) / steps

    module = network.graph.torch_module([network.resolve(layer)]).to(device)
    lucent_step, implementation = lucent_step_timer(
        module,
        list(range(k)),
        size,
        steps,
        torch.device(device),
        then=(lambda x: x * 255,),  # render's images enter the network in its 0-255 units
        preprocess=False,
    )
    lucent: dict = {"implementation": implementation}
    port_times, lucent_times = [], []
    port_step()  # warm-up
    if lucent_step is not None:
        lucent_step()
    for _ in range(repeats):  # alternately, so that drifts in the machine's load hit both
        port_times.append(port_step())
        if lucent_step is not None:
            lucent_times.append(lucent_step())
    port_step_s = statistics.median(port_times)
    if lucent_times:
        lucent.update(seconds_per_step=statistics.median(lucent_times), repeats=repeats)
    population = 16
    units = _channel_objectives(layer, 1)
    images = torch.rand(population, 3, size, size, generator=torch.Generator().manual_seed(0))
    forward = network.torch_forward([layer], torch.float32, "cpu")
    transform_f = compose([network.preprocess], PerElementDraws())
    population_times, bare_times = [], []
    for _ in range(5):
        start = time.perf_counter()
        population_losses(network, [layer], units, images, transform_f, True)
        population_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        with torch.no_grad():
            forward(network.preprocess(images))
        bare_times.append(time.perf_counter() - start)
    population_s, bare_s = statistics.median(population_times), statistics.median(bare_times)
    result = {
        "device": device,
        "k": k,
        "size": size,
        "port_seconds_per_step": port_step_s,
        "port_step_times": port_times,
        "lucent_step_times": lucent_times,
        "lucent": lucent,
        "cmaes_population": population,
        "population_eval_s": population_s,
        "bare_forward_s": bare_s,
        "population_over_forward": population_s / bare_s,
    }
    if "seconds_per_step" in lucent:
        result["port_over_lucent"] = port_step_s / lucent["seconds_per_step"]
    return result


def _channel_objectives(layer: str, count: int):
    from deepdreamport.optvis import objectives

    return [objectives.channel(layer, c) for c in range(count)]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=str(MODEL))
    parser.add_argument("--layer", default=LAYER)
    parser.add_argument("--quick", action="store_true", help="small sizes and few steps (smoke run)")
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--speed-only", action="store_true", help="only the speed figures")
    parser.add_argument("--repeats", type=int, default=5, help="alternating port / lucent timings (medians)")
    parser.add_argument(
        "--learning-rates", action="store_true", help="only the learning-rate figure (per parametrisation)"
    )
    parser.add_argument("--device", default="cpu", help="device of the speed figures (the population figure: CPU)")
    parser.add_argument("--k", type=int, default=8, help="units (batch) of the speed figures (default 8)")
    parser.add_argument("--size", type=int, default=224, help="image side of the speed figures (default 224)")
    args = parser.parse_args(argv)
    with ieee_float32(torch.device(args.device)):  # the doors' precision mode, for render and lucent alike
        return _run(args)


def _run(args) -> int:
    torch.set_num_threads(max(1, torch.get_num_threads()))
    network = OptvisNetwork.from_onnx(args.model)
    if args.learning_rates:
        size, steps, rates = (32, 4, (0.005, 0.05)) if args.quick else (96, 64, (0.005, 0.02, 0.05, 0.2))
        results = {"learning_rates": learning_rates(network, args.layer, 2, size, steps, rates)}
    elif args.quick:
        results = {"speed": speed(network, args.layer, 2, 32, 2, repeats=1, device=args.device)}
        if not args.speed_only:
            results["quality"] = quality(network, args.layer, 2, 32, 4)
    else:
        results = {"speed": speed(network, args.layer, args.k, args.size, 4, repeats=args.repeats, device=args.device)}
        if not args.speed_only:
            results["quality"] = quality(network, args.layer, 4, 96, 64)
    text = json.dumps(results, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
