"""Files of the front doors: the default model, input images, atomic writes, montages.

Mirrors MATLAB's ``imread`` (for ``--image``) and ``imtile`` / ``montage`` (for
the labelled PNG of the K images). Every output is written atomically: a
temporary file in the same folder, then ``os.replace``, so a failed run never
leaves a partial file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..errors import DeepDreamError

DEMO_MODEL_NAME = "efficientnet_lite0.onnx"
_SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]


def default_model() -> Path:
    """The bundled default model: ``models/efficientnet_lite0.onnx`` of the working folder or of this checkout.

    ``./dev setup`` writes it into the checkout (``tools/export_efficientnet.py``);
    an installed package looks in ``./models/`` of the folder it is run from.
    """
    candidates = [Path.cwd() / "models" / DEMO_MODEL_NAME, _SOURCE_CHECKOUT / "models" / DEMO_MODEL_NAME]
    return next((path for path in candidates if path.is_file()), candidates[-1])


def write_atomic(path: str | os.PathLike, write: Callable[[BinaryIO], None]) -> Path:
    """Write ``path`` through ``write(file)`` into a temporary sibling, then rename it into place."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".part")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except FileNotFoundError:
            pass
        raise
    return path


def montage(images, labels: Sequence[str], min_tile: int = 128):
    """A labelled grid of K×H×W×C images (each scaled to [0, 1] on its own), as a Pillow image.

    Mirrors MATLAB's ``imtile`` / ``montage`` of ``deepDreamImage``'s output, with a
    label above each tile; tiles are enlarged (nearest neighbour) to at least ``min_tile`` pixels.
    """
    images = np.asarray(images, dtype=np.float64)
    count, height, width, channels = images.shape
    zoom = max(1, -(-min_tile // max(1, min(height, width))))
    tile_h, tile_w = height * zoom, width * zoom
    columns = int(np.ceil(np.sqrt(count)))
    rows = -(-count // columns)
    label_h, gap = 16, 4
    sheet = Image.new("RGB", (columns * (tile_w + gap) + gap, rows * (tile_h + label_h + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for k in range(count):
        image = np.nan_to_num(images[k])
        low, high = image.min(), image.max()
        image = (image - low) / (high - low) if high > low else np.zeros_like(image)
        pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
        if channels == 1:
            pixels = np.repeat(pixels, 3, axis=2)
        elif channels != 3:
            pixels = pixels[:, :, :3] if channels > 3 else np.concatenate([pixels, pixels[:, :, :1]], axis=2)
        tile = Image.fromarray(pixels, "RGB").resize((tile_w, tile_h), Image.NEAREST)
        row, column = divmod(k, columns)
        x = gap + column * (tile_w + gap)
        y = gap + row * (tile_h + label_h + gap)
        draw.text((x + 2, y + 2), labels[k], fill="black")
        sheet.paste(tile, (x, y + label_h))
    return sheet


def read_image(path: str, channels: int) -> np.ndarray:
    try:
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            array = np.asarray(image, dtype=np.float64)
    except (OSError, ValueError) as exc:
        raise DeepDreamError(
            "deepdreamport:cli:BadImage", f"--image: cannot read {path!r} as an image ({exc})"
        ) from None
    if array.ndim == 2:
        array = array[:, :, None]
    if array.shape[2] != channels:
        raise DeepDreamError(
            "deepdreamport:cli:BadImage",
            f"--image: the network takes {channels} channels; {path!r} has {array.shape[2]}",
        )
    return array


def check_output_folder(option: str, path: Optional[str]) -> None:
    if path is not None and not Path(path).resolve().parent.is_dir():
        raise DeepDreamError("deepdreamport:cli:BadOutput", f"{option}: the folder of {path!r} does not exist")
