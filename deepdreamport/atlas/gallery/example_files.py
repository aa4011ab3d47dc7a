"""The gallery's dataset-example pictures: each source image's thumbnail, and the receptive-field crops.

A crop is the part of the source image around the unit's strongest response (its receptive
field, mapped back through the item's box); it is named by what it shows, so units sharing a
crop share the file and a rebuilt gallery writes only new ones. A source that cannot be read
any more (the folder changed or went away) gets no picture; the page says so.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from pathlib import Path
from typing import Optional

from PIL import Image

from .._package import write_atomic
from ..examples.sources import centre_square, crop_box, open_source, to_mode

THUMB_SIDE = 256
CROP_SIDE = 128


def _key(*parts) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:16]


def _save(image: Image.Image, target: Path) -> None:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88)
    data = buffer.getvalue()
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, lambda handle: handle.write(data))


class ExamplePictures:
    """Writes (once) and names the pictures of examples under ``out/examples``."""

    def __init__(self, out: Path, root: Optional[str], size: int, channels: int):
        self.out = out
        self.root = root
        self.size = size
        self.channels = channels
        self._sizes: dict[str, Optional[tuple[int, int]]] = {}

    def source_size(self, source: str) -> Optional[tuple[int, int]]:
        """(height, width) of a source image, or None when it cannot be opened."""
        if source not in self._sizes:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    image = open_source(self.root, source)
                    self._sizes[source] = (image.size[1], image.size[0])
                    image.close()
            except Exception:  # gone or unreadable: shown as missing
                self._sizes[source] = None
        return self._sizes[source]

    def _picture(self, source: str, box: tuple, side: int, relative: str) -> Optional[str]:
        target = self.out / relative
        if target.exists():
            return relative
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                image = open_source(self.root, source)
                try:
                    image, _ = to_mode(image, 3 if self.channels == 3 else 1)
                    top, left, height, width = box
                    scale = side / max(height, width)
                    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
                    picture = image.resize(shape, Image.BILINEAR, box=(left, top, left + width, top + height))
                finally:
                    image.close()
        except Exception:  # the source went away since it was scored
            return None
        _save(picture, target)
        return relative

    def example(self, source: str, item_box: Optional[tuple], y: float, x: float, field: tuple) -> Optional[dict]:
        """The crop, the whole source's thumbnail, and the boxes (percent of the source) of an example."""
        size = self.source_size(source)
        if size is None:
            return None
        item_box = tuple(item_box) if item_box else centre_square(*size)
        crop = crop_box(item_box, self.size, (y, x), field)
        crop_file = self._picture(source, crop, CROP_SIDE, f"examples/crops/{_key(source, crop)}.jpg")
        whole = self._picture(source, (0.0, 0.0, float(size[0]), float(size[1])), THUMB_SIDE,
                              f"examples/sources/{_key(source)}.jpg")  # fmt: skip
        if crop_file is None or whole is None:
            return None

        def percent(box):
            top, left, height, width = box
            return {
                "top": f"{100 * top / size[0]:.2f}",
                "left": f"{100 * left / size[1]:.2f}",
                "height": f"{100 * height / size[0]:.2f}",
                "width": f"{100 * width / size[1]:.2f}",
            }

        return {"crop": crop_file, "whole": whole, "item_box": percent(item_box), "crop_box": percent(crop)}
