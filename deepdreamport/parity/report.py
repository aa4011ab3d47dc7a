"""PNG failure reports: what a failing case looks like, next to its reference.

For each failing case, ``DIR/<case>/`` receives ``reference.png`` and
``port.png`` (the K output images side by side, each scaled to [0, 1] on its
own as ``OutputScaling='linear'`` does), ``difference.png`` (per pixel the
largest |port - reference| over the colour channels of ``Iraw``, one grey scale
for all K images, white = the case's maximum error, which the caption states)
and ``numbers.txt`` (the readable diff).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Optional

import numpy as np
from PIL import Image, ImageDraw

from ._package import write_atomic
from .judge import Judgement, describe_result

MIN_TILE = 128
CAPTION_HEIGHT = 14


def _as_hwck(array: np.ndarray) -> np.ndarray:
    array = np.asarray(array, dtype=np.float64)
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim == 3:
        array = array[:, :, :, None]
    return array


def _scaled(image: np.ndarray) -> np.ndarray:
    image = np.nan_to_num(image)
    low, high = image.min(), image.max()
    return (image - low) / (high - low) if high > low else np.zeros_like(image)


def _strip(tiles: list[np.ndarray], caption: str):
    """K H×W×3 images in [0, 1], side by side, enlarged to MIN_TILE pixels, under a caption (the sheet widens to fit it)."""
    height, width = tiles[0].shape[:2]
    zoom = max(1, -(-MIN_TILE // max(1, min(height, width))))
    gap = 4
    caption_width = int(ImageDraw.Draw(Image.new("RGB", (1, 1))).textlength(caption)) + 2 * gap
    sheet_width = max(len(tiles) * (width * zoom + gap) + gap, caption_width)
    sheet = Image.new("RGB", (sheet_width, height * zoom + CAPTION_HEIGHT + 2 * gap), "white")
    for k, tile in enumerate(tiles):
        pixels = (np.clip(tile, 0, 1) * 255).round().astype(np.uint8)
        picture = Image.fromarray(pixels, "RGB").resize((width * zoom, height * zoom), Image.NEAREST)
        sheet.paste(picture, (gap + k * (width * zoom + gap), CAPTION_HEIGHT + gap))
    ImageDraw.Draw(sheet).text((gap, 2), caption, fill="black")
    return sheet


def _rgb(image: np.ndarray) -> np.ndarray:
    channels = image.shape[2]
    if channels == 3:
        return image
    if channels == 1:
        return np.repeat(image, 3, axis=2)
    return image[:, :, :3] if channels > 3 else np.concatenate([image, image[:, :, :1]], axis=2)


def _images(array: np.ndarray) -> list[np.ndarray]:
    array = _as_hwck(array)
    return [_rgb(_scaled(array[:, :, :, k])) for k in range(array.shape[3])]


def _png(path: Path, sheet) -> None:
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    write_atomic(path, lambda handle: handle.write(buffer.getvalue()))


def write_failure_report(judgement: Judgement, folder: str | Path) -> Optional[Path]:
    """Write the report of a failing case into ``folder/<case>/``; ``None`` if the case passed."""
    result = judgement.result
    if result.passed:
        return None
    target = Path(folder) / result.case
    target.mkdir(parents=True, exist_ok=True)
    numbers = describe_result(result) + "\n"
    write_atomic(target / "numbers.txt", lambda handle: handle.write(numbers.encode("utf-8")))
    case, port = judgement.case, judgement.port
    if case is None or port is None:
        return target
    reference_raw, port_raw = _as_hwck(case.iraw), _as_hwck(port.iraw)
    _png(target / "reference.png", _strip(_images(reference_raw), f"reference ({result.recorded_by}): {result.case}"))
    _png(target / "port.png", _strip(_images(port_raw), f"port: Iraw relative error {result.iraw_relative_error:.2e}"))
    if reference_raw.shape == port_raw.shape:
        difference = np.abs(port_raw - reference_raw).max(axis=2)
        peak = float(np.nan_to_num(difference).max())
        tiles = [
            np.repeat((difference[:, :, k] / peak if peak > 0 else difference[:, :, k] * 0)[:, :, None], 3, axis=2)
            for k in range(difference.shape[2])
        ]
        where = ",".join(map(str, result.iraw_max_error_at))
        caption = f"|port - reference|: white = {peak:.3e} at Iraw({where}), relative {result.iraw_relative_error:.2e}"
        _png(target / "difference.png", _strip(tiles, caption))
    return target
