"""Where dataset examples come from: a folder tree of the user's images, or the bundled photographs.

OpenAI Microscope shows, for every unit, the dataset images that excite it most. Here an
*example item* is one image the network sees: a file of a folder tree (its centre square,
resized to the network's input size), or a patch of one of ``skimage.data``'s bundled
photographs (the offline default: no download). An item is named by its number in a
deterministic listing, so every worker on every machine means the same item by it.

Listing walks the tree one directory at a time, names sorted, hidden entries and
symbolic links to directories skipped, and keeps files whose extension a Pillow decoder
opens; nothing is decoded. The folder's *fingerprint* (sha256 of every file's relative path,
size and modification time, in listing order) tells a changed folder from the recorded one.
Items are decoded one at a time, when a worker scores them (:func:`load_item`).
"""

from __future__ import annotations

import hashlib
import math
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterator, Optional

import numpy as np
from PIL import Image

from ...input_files import folder_problem, user_path
from .._package import require
from ..errors import AtlasInputError

NATURAL_IMAGES = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "hubble_deep_field")
"""The bundled photographs (``skimage.data``) of the default example bank."""
SKIMAGE = "skimage"
FOLDER = "folder"
NONE = "none"
_GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}


@lru_cache(maxsize=1)
def image_extensions() -> frozenset[str]:
    """Lower-case file extensions a Pillow decoder opens (``.jpg``, ``.png``, ``.webp``, ...)."""
    Image.init()
    return frozenset(ext for ext, kind in Image.registered_extensions().items() if kind in Image.OPEN)


@dataclass(frozen=True)
class ExampleItem:
    """An image the network sees: ``source`` (a file's path relative to the root, or ``skimage:NAME``) and the
    ``box`` (top, left, height, width) of the source image it covers (``None``: its centre square)."""

    number: int
    source: str
    box: Optional[tuple[float, float, float, float]] = None


@dataclass(frozen=True)
class LoadedItem:
    """A decoded item: ``pixels`` size×size×C uint8 (None when unreadable), why not, and whether it was grey."""

    number: int
    pixels: Optional[np.ndarray]
    problem: Optional[str] = None
    converted_from_grey: bool = False


def _walk(root: Path) -> Iterator[tuple[str, os.stat_result]]:
    """``(relative path, stat)`` of every image file under ``root``, one directory in memory at a time."""
    extensions = image_extensions()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as scan:
                entries = sorted(scan, key=lambda entry: entry.name)
        except OSError:
            continue  # an unreadable sub-folder holds no item
        sub_folders = []
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir(follow_symlinks=False):
                    sub_folders.append(Path(entry.path))
                elif Path(entry.name).suffix.lower() in extensions and entry.is_file():
                    yield Path(entry.path).relative_to(root).as_posix(), entry.stat()
            except OSError:
                continue
        stack.extend(reversed(sub_folders))  # depth first, in name order


def folder_items(root: Path) -> Iterator[ExampleItem]:
    """The items of a folder tree in listing order (one per image file)."""
    for number, (relative, _) in enumerate(_walk(root)):
        yield ExampleItem(number, relative)


@dataclass(frozen=True)
class FolderFacts:
    count: int
    fingerprint: str
    first_readable: Optional[str]
    tried: int
    first_problem: Optional[str]


def folder_facts(root: Path, find_readable: bool = True) -> FolderFacts:
    """Count and fingerprint the image files of ``root``; find the first one that decodes (headers only)."""
    digest = hashlib.sha256()
    count = tried = 0
    readable = problem = None
    for relative, stat in _walk(root):
        digest.update(f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode("utf-8", "surrogateescape"))
        count += 1
        if find_readable and readable is None:
            tried += 1
            reason = _open_problem(root / relative)
            if reason is None:
                readable = relative
            elif problem is None:
                problem = f"{relative}: {reason}"
    return FolderFacts(count, digest.hexdigest(), readable, tried, problem)


def _open_problem(path: Path) -> Optional[str]:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Image.open(path) as image:
                image.verify()
    except Exception as exc:  # any decoder failure makes the file unusable
        return _reason(exc)
    return None


def _reason(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:200]


def check_folder(path, input_channels: int) -> tuple[Path, FolderFacts]:
    """The examples folder, checked: it exists, holds image files, and at least one decodes."""
    problem = folder_problem(path, "examples folder")
    if problem:
        raise AtlasInputError(problem, "examples")
    root = Path(user_path(path)).resolve()
    if input_channels not in (1, 3):
        raise AtlasInputError(
            f"the network takes {input_channels} input channels; example images can feed 1 (grey) or 3 (RGB)",
            "examples",
        )
    facts = folder_facts(root)
    if facts.count == 0:
        extensions = ", ".join(sorted(image_extensions())[:12])
        raise AtlasInputError(f"{str(root)!r} holds no image file ({extensions}, ...)", "examples")
    if facts.first_readable is None:
        raise AtlasInputError(
            f"{str(root)!r} holds no readable image ({facts.count} image files, none decodes; "
            f"for example {facts.first_problem})",
            "examples",
        )
    return root, facts


@lru_cache(maxsize=8)
def _skimage_photo(name: str) -> np.ndarray:
    skimage_data = require(
        "skimage.data", "the atlas's default example bank (the photographs of skimage.data)", "atlas"
    )
    return np.ascontiguousarray(getattr(skimage_data, name)())


def skimage_items(size: int) -> list[ExampleItem]:
    """The default bank: each photograph zoomed so its short side is 2 × ``size``, cut into size×size patches
    at half-patch stride (boxes in the photograph's own pixels)."""
    items: list[ExampleItem] = []
    stride = max(1, size // 2)
    for name in NATURAL_IMAGES:
        height, width = _skimage_photo(name).shape[:2]
        zoom = 2 * size / min(height, width)
        zoomed = (round(height * zoom), round(width * zoom))
        for top in range(0, zoomed[0] - size + 1, stride):
            for left in range(0, zoomed[1] - size + 1, stride):
                side = size / zoom  # the last row and column are kept inside the photograph (rounding)
                box = (min(top / zoom, height - side), min(left / zoom, width - side), side, side)
                items.append(ExampleItem(len(items), f"{SKIMAGE}:{name}", box))
    return items


def centre_square(height: float, width: float) -> tuple[float, float, float, float]:
    """``(top, left, side, side)`` of an image's centre square."""
    side = min(height, width)
    return ((height - side) / 2, (width - side) / 2, side, side)


def open_source(root: Optional[str], source: str) -> Image.Image:
    """The source image of an item (a PIL image, not yet decoded for files)."""
    if source.startswith(f"{SKIMAGE}:"):
        return Image.fromarray(_skimage_photo(source.split(":", 1)[1]))
    return Image.open(Path(root) / source)


def to_mode(image: Image.Image, channels: int) -> tuple[Image.Image, bool]:
    """``image`` as ``L`` (one channel) or ``RGB``; whether a grey image was made colour."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") or values.max() > 255 else 255.0
        image = Image.fromarray(np.clip(values / top * 255.0, 0, 255).round().astype(np.uint8), "L")
        grey = True
    else:
        grey = image.mode in _GREY_MODES
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")  # transparent pixels over white
        image = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    target = "RGB" if channels == 3 else "L"
    converted = grey and channels == 3
    return (image if image.mode == target else image.convert(target)), converted


def load_item(root: Optional[str], item: ExampleItem, size: int, channels: int) -> LoadedItem:
    """Decode one item as size×size×``channels`` uint8 pixels (unreadable: ``pixels`` None and why)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow's DecompressionBombWarning: one line per item at most below
            image = open_source(root, item.source)
            try:
                full = image.size  # (width, height) before any draft
                box = item.box or centre_square(full[1], full[0])
                if image.format == "JPEG":  # decode at 1/2, 1/4 or 1/8 scale when that still covers size×size
                    image.draft(
                        "RGB" if channels == 3 else "L",
                        (math.ceil(full[0] * size / box[3]), math.ceil(full[1] * size / box[2])),
                    )
                scale_x, scale_y = image.size[0] / full[0], image.size[1] / full[1]
                image, converted = to_mode(image, channels)
                top, left, height, width = box
                region = (left * scale_x, top * scale_y, (left + width) * scale_x, (top + height) * scale_y)
                pixels = np.asarray(image.resize((size, size), Image.BILINEAR, box=region), dtype=np.uint8)
            finally:
                image.close()
    except Exception as exc:  # any decoder failure: the item is skipped and counted
        return LoadedItem(item.number, None, _reason(exc))
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    return LoadedItem(item.number, np.ascontiguousarray(pixels), None, converted)


def crop_box(
    item_box: tuple[float, float, float, float], size: int, centre: tuple[float, float], field: tuple[int, int]
) -> tuple[float, float, float, float]:
    """The source-image box (top, left, height, width) of a receptive field centred at ``centre`` (network-input
    pixels of a size×size item), kept inside the item.

    Example:
        >>> crop_box((0.0, 100.0, 200.0, 200.0), 100, (50.0, 50.0), (20, 20))
        (80.0, 180.0, 40.0, 40.0)
    """
    top, left, height, width = item_box
    field_h, field_w = min(field[0], size), min(field[1], size)
    y0 = min(max(centre[0] - field_h / 2, 0.0), size - field_h)
    x0 = min(max(centre[1] - field_w / 2, 0.0), size - field_w)
    sy, sx = height / size, width / size
    return (top + y0 * sy, left + x0 * sx, field_h * sy, field_w * sx)
