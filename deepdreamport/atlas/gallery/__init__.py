"""The static gallery of an atlas: index, network page, one page per layer and one per unit.

Plain files with relative links, so they work from the file system and from any web server
(``deepdream serve DIR``): ``index.html`` (the job and every layer with thumbnails),
``network.html`` (every layer of the network: type, output size, receptive field, renders
done), ``layers/<layer>.html`` (the units: recipe choice, sorting, a filter that also searches
layer names, keyboard navigation), ``units/<layer>/unit_NNNN.html`` (a stable URL per unit: each
recipe's image side by side with its own curve and command line, the dataset examples with
their crops, the activation histogram, previous/next links). Rendered with the Jinja2
templates in ``templates/``; ``assets/`` holds the one stylesheet and script.

Pages are written in an order that keeps every link valid (units, then layers, then the
network page and the index), each atomically and only when its content changed; pictures of
examples are named by content and written once.
"""

from __future__ import annotations

import json
import shutil
from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .._package import require, write_atomic
from ..examples.sources import FOLDER, NONE, SKIMAGE
from ..layer_kinds import describe_layer
from ..recipes import get_recipe
from ..seeds import unit_seed
from ..state import describe_examples, read_snapshot
from ..units import layer_slug
from .example_files import ExamplePictures
from .plots import curve_plot, curve_svg_points, histogram_plot, number

TEMPLATES = Path(__file__).with_name("templates")
ASSETS = Path(__file__).with_name("assets")
THUMBNAILS = 8
GALLERY_NEEDS = "the atlas gallery"

if TYPE_CHECKING:
    from jinja2 import Environment

__all__ = ["build_gallery", "curve_svg_points", "require_jinja2"]


def require_jinja2():
    """The ``jinja2`` module, or the one-line error naming the ``atlas`` extra (checked before an atlas starts)."""
    return require("jinja2", GALLERY_NEEDS, "atlas")


def _environment() -> "Environment":
    jinja2 = require_jinja2()
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        autoescape=jinja2.select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _write_text(path: Path, text: str) -> None:
    """Write ``path`` atomically, unless it already holds ``text``."""
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return
    except OSError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda handle: handle.write(data))


def _size_text(size) -> str:
    return "×".join("?" if s is None else str(s) for s in size) if size else "?"


def _field_text(field) -> str:
    return f"{field[0]}×{field[1]}" if field else "?"


def job_recipes(job) -> list[dict]:
    """The atlas's recipes in order: name, parameters, description."""
    return [
        {"name": name, "params": params, "description": get_recipe(name).description}
        for name, params in job.recipes.items()
    ]


def _job_view(job) -> dict:
    return {
        "model": Path(job.model_path).name,
        "model_path": job.model_path,
        "model_sha256": job.model_sha256,
        "seed": job.seed,
        "package_version": job.package_version,
        "recipes": job_recipes(job),
    }


def _absent_recipes(job, fact: dict, present: set) -> list[dict]:
    """The atlas's recipes that cannot take this layer (no render of it is planned), each with why."""
    if not fact:
        return []
    return [
        {"name": name, "reason": f"this is {describe_layer(fact)}; recipe {name!r} {get_recipe(name).takes_line()}"}
        for name in job.recipes
        if name not in present and not get_recipe(name).takes(fact)
    ]


def _examples_line(job, snapshot) -> str:
    source = job.examples
    if source.get("kind") == NONE:
        return "none scored (--no-examples)"
    read = sum(chunk[0] for chunk in snapshot.example_chunks.values())
    unreadable = sum(chunk[1] for chunk in snapshot.example_chunks.values())
    converted = sum(chunk[2] for chunk in snapshot.example_chunks.values())
    text = f"{describe_examples(source)}: {source.get('count', 0)} images, {read} scored so far"
    if unreadable:
        text += f", {unreadable} unreadable files skipped"
    if converted:
        text += f", {converted} grey images converted to RGB"
    return text


def _render_view(row: dict, recipe_name: str, job, layer: str) -> dict:
    recipe = get_recipe(recipe_name)
    curve = json.loads(row["curve_json"]) if row.get("curve_json") else []
    seed = unit_seed(job.seed, layer, row["channel"], recipe_name)
    activation = row.get("activation")
    return {
        "status": row["status"],
        "image_path": row.get("image_path"),
        "activation": activation,
        "activation_attr": "" if activation is None else f"{activation:.6g}",
        "activation_text": "not measurable" if activation is None else f"{activation:.4g}",
        "dead": bool(row.get("dead")),
        "worker": row.get("worker"),
        "attempts": row.get("attempts"),
        "seconds": row.get("seconds"),
        "error": (row.get("error") or "").splitlines()[0][:300] if row.get("error") else None,
        "plot": curve_plot(curve, recipe.iteration_label, recipe.curve_label),
        "command": recipe.command_line(
            job.model_path,
            layer,
            row["channel"],
            job.recipes[recipe_name],
            seed,
            json.loads(row["options_json"]) if row.get("options_json") else {},
        ),  # fmt: skip
    }


def _examples_view(unit: dict, layer: dict, snapshot, pictures) -> None:
    summary = snapshot.layer_examples.get(layer["name"])
    job = snapshot.job
    if summary is None or job.examples.get("kind") == NONE:
        work = snapshot.example_work.get(layer["name"], {})
        state = ", ".join(f"{count} {status}" for status, count in sorted(work.items())) or "pending"
        unit["examples"] = []
        unit["hist"] = {}
        unit["examples_status"] = (
            "No dataset examples: this atlas scores none (--no-examples)."
            if job.examples.get("kind") == NONE
            else f"Dataset examples are not scored yet (chunks: {state})."
        )
        return
    channel0 = unit["channel"] - 1
    entries = []
    field = layer["receptive_field"] or [job.network["input_size"]] * 2
    for entry in summary.unit(channel0):
        source, box = snapshot.items.get(entry["item"], (None, None))
        if source is None:
            continue
        name = source.split(":", 1)[1] if source.startswith(f"{SKIMAGE}:") else Path(source).name
        entries.append(
            {
                "score": entry["score"],
                "source": source,
                "name": name,
                "pictures": pictures.example(source, box, entry["y"], entry["x"], tuple(field)),
            }
        )
    unit["examples"] = entries
    unit["hist"] = histogram_plot(summary.histogram[channel0])
    count = int(summary.count[channel0])
    unit["never_active"] = count > 0 and int(summary.positive[channel0]) == 0
    unit["example_mean"] = number(float(summary.total[channel0]) / count) if count else "–"
    unit["active_percent"] = f"{100 * int(summary.positive[channel0]) / count:.0f}" if count else "–"
    best = summary.scores[channel0, 0]
    unit["example_max_attr"] = f"{best:.6g}" if np.isfinite(best) else ""
    unit["examples_status"] = "No example image could be scored for this unit."


def _copy_assets(out: Path, layers: list) -> None:
    for asset in ASSETS.iterdir():
        _write_text(out / "assets" / asset.name, asset.read_text(encoding="utf-8"))
    index = [
        {"name": layer["name"], "slug": layer["slug"], "type": layer["type"], "channels": layer["channels"],
         "units": [unit["channel"] for unit in layer["units"]]}
        for layer in layers
    ]  # fmt: skip
    _write_text(out / "assets" / "layers.js", "window.ATLAS_LAYERS = " + json.dumps(index) + ";\n")


def remove_gallery(out) -> None:
    """Remove the gallery's own files and folders (not the database): an atlas replaced with ``--new``."""
    out = Path(out)
    for name in ("index.html", "network.html"):
        (out / name).unlink(missing_ok=True)
    for name in ("layers", "units", "examples", "assets", "images"):
        shutil.rmtree(out / name, ignore_errors=True)


def build_gallery(out) -> Path:
    """(Re)write the gallery of the atlas in ``out``; returns the path of ``index.html``."""
    out = Path(out)
    snapshot = read_snapshot(out)
    job = snapshot.job
    env = _environment()
    facts = {row["name"]: row for row in job.network["layers"]}
    layers: "OrderedDict[str, dict]" = OrderedDict()
    units: dict[tuple[str, int], dict] = {}
    for row in snapshot.renders:
        name = row["layer"]
        fact = facts.get(name, {})
        layer = layers.get(name)
        if layer is None:
            layer = layers[name] = {
                "name": name,
                "index": row["layer_index"],
                "type": row["layer_type"],
                "slug": layer_slug(row["layer_index"], name),
                "output": _size_text(fact.get("output_size")),
                "field": _field_text(fact.get("receptive_field")),
                "receptive_field": fact.get("receptive_field"),
                "channels": int((fact.get("output_size") or [0])[-1] or 0),
                "units": [],
                "done": 0,
                "renders": 0,
            }
        unit = units.get((name, row["channel"]))
        if unit is None:
            unit = units[(name, row["channel"])] = {
                "channel": row["channel"],
                "page": f"unit_{row['channel']:04d}.html",
                "renders": OrderedDict(),
                "example_max_attr": "",
            }
            layer["units"].append(unit)
        unit["renders"][row["recipe"]] = _render_view(row, row["recipe"], job, name)
        layer["done"] += row["status"] == "done"
        layer["renders"] += 1
    ordered = sorted(layers.values(), key=lambda layer: layer["index"])
    for layer in ordered:
        present = {name for unit in layer["units"] for name in unit["renders"]}
        layer["recipes"] = [recipe for recipe in job_recipes(job) if recipe["name"] in present]
        layer["absent"] = _absent_recipes(job, facts.get(layer["name"], {}), present)
    pictures = ExamplePictures(
        out, job.examples.get("path") if job.examples.get("kind") == FOLDER else None,
        job.network["input_size"], job.network["input_channels"],
    )  # fmt: skip
    job_view = _job_view(job)
    examples_name = describe_examples(job.examples)
    _copy_assets(out, ordered)
    for position, layer in enumerate(ordered):
        layer["units"].sort(key=lambda unit: unit["channel"])
        layer["previous"] = f"{ordered[position - 1]['slug']}.html" if position > 0 else None
        layer["next"] = f"{ordered[position + 1]['slug']}.html" if position + 1 < len(ordered) else None
        neighbours = layer["units"]
        for index, unit in enumerate(neighbours):
            unit["dead"] = any(render["dead"] for render in unit["renders"].values())
            unit["previous"] = neighbours[index - 1]["page"] if index > 0 else None
            unit["next"] = neighbours[index + 1]["page"] if index + 1 < len(neighbours) else None
            _examples_view(unit, layer, snapshot, pictures)
            _write_text(
                out / "units" / layer["slug"] / unit["page"],
                env.get_template("unit.html").render(
                    root="../../", job=job_view, layer=layer, unit=unit, examples_name=examples_name
                ),
            )
        _write_text(
            out / "layers" / f"{layer['slug']}.html",
            env.get_template("layer.html").render(root="../", job=job_view, layer=layer, recipes=layer["recipes"]),
        )
        first = layer["recipes"][0]["name"]
        layer["thumbnails"] = [
            {"channel": unit["channel"], "src": unit["renders"][first]["image_path"]}
            for unit in layer["units"]
            if first in unit["renders"] and unit["renders"][first]["status"] == "done"
        ][:THUMBNAILS]
    in_atlas = {layer["name"]: layer for layer in ordered}
    network_layers = []
    for row in job.network["layers"]:
        layer = in_atlas.get(row["name"])
        network_layers.append(
            {
                "index": row["index"],
                "name": row["name"],
                "type": row["type"],
                "output": _size_text(row["output_size"]),
                "field": _field_text(row["receptive_field"]),
                "slug": layer["slug"] if layer else None,
                "atlas": f"{layer['done']}/{layer['renders']}" if layer else "–",
            }
        )
    _write_text(
        out / "network.html",
        env.get_template("network.html").render(
            root="",
            job=job_view,
            network_layers=network_layers,
            input_size=job.network["input_size"],
            input_channels=job.network["input_channels"],
        ),
    )
    renders = snapshot.renders
    index = out / "index.html"
    _write_text(
        index,
        env.get_template("index.html").render(
            root="",
            job=job_view,
            layers=ordered,
            units=len(units),
            total=len(renders),
            done=sum(r["status"] == "done" for r in renders),
            failed=sum(r["status"] == "failed" for r in renders),
            dead=sum(bool(r["dead"]) for r in renders if r["status"] == "done"),
            examples_line=_examples_line(job, snapshot),
        ),
    )
    return index
