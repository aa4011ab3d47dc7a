"""The static gallery of an atlas: ``index.html``, one page per layer and one per unit.

Plain files with relative links, so they work from the file system and from
any web server (``deepdream serve DIR``). Rendered with the Jinja2 templates in
``templates/``; every page is written atomically.
"""

from __future__ import annotations

import io
import json
import math
from collections import OrderedDict
from pathlib import Path

import numpy as np
from jinja2 import Environment, FileSystemLoader, select_autoescape
from PIL import Image

from .._package import write_atomic
from ..examples import patch_bank
from ..recipes import get_recipe
from ..state import read_existing_job, read_units
from ..units import layer_slug

TEMPLATES = Path(__file__).with_name("templates")


def curve_svg_points(curve: list[float], width: int = 320, height: int = 120, margin: int = 8) -> str:
    """The activation curve as the ``points`` of an SVG polyline, scaled into the plot box."""
    if not curve:
        return ""
    values = np.asarray(curve, dtype=np.float64)
    values = np.where(np.isfinite(values), values, 0.0)
    low, high = float(values.min()), float(values.max())
    span = high - low if high > low else 1.0
    steps = max(1, len(values) - 1)
    points = []
    for i, value in enumerate(values):
        x = margin + (width - 2 * margin) * i / steps
        y = height - margin - (height - 2 * margin) * (value - low) / span
        points.append(f"{x:.1f},{y:.1f}")
    return " ".join(points)


def _environment():

    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: handle.write(text.encode("utf-8")))


def _write_patches(out: Path, patch_numbers: set[int], size: int, channels: int) -> None:

    if not patch_numbers:
        return
    bank = patch_bank(size, channels)
    folder = out / "examples" / f"{size}px"
    folder.mkdir(parents=True, exist_ok=True)
    for number in sorted(patch_numbers):
        target = folder / f"patch_{number:04d}.png"
        if target.exists():
            continue
        pixels = np.clip(bank[number], 0, 255).round().astype(np.uint8)
        buffer = io.BytesIO()
        Image.fromarray(pixels[:, :, 0] if channels == 1 else pixels).save(buffer, format="PNG")
        data = buffer.getvalue()
        write_atomic(target, lambda handle, data=data: handle.write(data))


def build_gallery(out) -> Path:
    """(Re)write the gallery of the atlas in ``out``; returns the path of ``index.html``."""
    out = Path(out)
    job = read_existing_job(out)
    rows = read_units(out)
    recipe = get_recipe(job.recipe)
    size, channels = job.network["input_size"], job.network["input_channels"]
    env = _environment()
    layers: "OrderedDict[str, dict]" = OrderedDict()
    patch_numbers: set[int] = set()
    for row in rows:
        layer = layers.setdefault(
            row["layer"],
            {
                "name": row["layer"],
                "index": row["layer_index"],
                "type": row["layer_type"],
                "slug": layer_slug(row["layer_index"], row["layer"]),
                "units": [],
                "done": 0,
            },
        )
        unit = dict(row)
        unit["curve"] = json.loads(row["curve_json"]) if row["curve_json"] else []
        unit["examples"] = json.loads(row["examples_json"]) if row["examples_json"] else []
        unit["page"] = f"unit_{row['channel']:04d}.html"
        unit["examples"] = [
            {"src": f"examples/{size}px/patch_{number:04d}.png", "score": score} for number, score in unit["examples"]
        ]
        patch_numbers.update(int(e["src"][-8:-4]) for e in unit["examples"])
        layer["units"].append(unit)
        layer["done"] += row["status"] == "done"
    _write_patches(out, patch_numbers, size, channels)
    job_view = {
        "model": Path(job.model_path).name,
        "model_sha256": job.model_sha256,
        "recipe": job.recipe,
        "recipe_description": recipe.description,
        "params": job.params,
        "seed": job.seed,
        "package_version": job.package_version,
    }
    for layer in layers.values():
        for position, unit in enumerate(layer["units"]):
            unit["command"] = recipe.command_line(job.model_path, layer["name"], unit["channel"], job.params, job.seed)
            unit["svg_points"] = curve_svg_points(unit["curve"])
            unit["curve_low"] = min(unit["curve"]) if unit["curve"] else math.nan
            unit["curve_high"] = max(unit["curve"]) if unit["curve"] else math.nan
            neighbours = layer["units"]
            unit["previous"] = neighbours[position - 1]["page"] if position > 0 else None
            unit["next"] = neighbours[position + 1]["page"] if position + 1 < len(neighbours) else None
            _write_text(
                out / "units" / layer["slug"] / unit["page"],
                env.get_template("unit.html").render(root="../../", job=job_view, layer=layer, unit=unit),
            )
        _write_text(
            out / "layers" / f"{layer['slug']}.html",
            env.get_template("layer.html").render(root="../", job=job_view, layer=layer),
        )
    index = out / "index.html"
    _write_text(
        index,
        env.get_template("index.html").render(
            root="",
            job=job_view,
            layers=list(layers.values()),
            total=len(rows),
            done=sum(layer["done"] for layer in layers.values()),
        ),
    )
    return index
