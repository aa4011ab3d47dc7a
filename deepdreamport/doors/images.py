"""Results that save and show themselves: a labelled grid, one PNG per image, ``.npy``, Jupyter.

:class:`ImageSet` gives a result holding K×H×W×C images ``grid()``, ``save(path)``
(``.npy``: the raw values; an image suffix: the labelled grid),
``save_images(folder)`` (one PNG per image at its own size), ``show()`` and
Jupyter's ``_repr_png_`` / ``_repr_html_`` (the grid inline, with a caption).
It is shared by :class:`DreamImages` (what ``deep_dream_image`` returns) and
optvis's ``RenderResult``.

Raw values and display are kept apart: the arrays are never changed; the
display maps one range for the whole set (:func:`display_range`: 0–1 when
every value lies there, 0–255 when they lie there, else the set's minimum
and maximum), so a flat image shows as the colour it is (the command line's
montage, as MATLAB's ``imtile`` of ``deepDreamImage``'s output, stretches
each image to its own range instead).

:class:`DreamImages` is an ``np.ndarray`` subclass (so the Python door still
returns an array, and code indexing, saving or comparing it sees no change):
views keep the class and the labels; arithmetic and reductions return plain
arrays and scalars.

Shape:
    images ``K×H×W×C`` (a single ``H×W×C`` image is shown as K = 1).
"""

from __future__ import annotations

import base64
import html
import io
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from ..errors import DeepDreamError
from .files import display_pixels, montage
from .outputs import OUTPUT_ERROR, write_atomic

GRID_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")


def display_range(images) -> tuple[float, float]:
    """The range shown as black…white for the whole set: (0, 1), (0, 255), or the finite minimum and maximum."""
    values = np.asarray(images, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return 0.0, 1.0
    low, high = float(finite.min()), float(finite.max())
    if low >= 0 and high <= 1:
        return 0.0, 1.0
    if low >= 0 and high <= 255:
        return 0.0, 255.0
    return (low, high) if high > low else (low - 1.0, low + 1.0)


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def in_jupyter() -> bool:
    """A Jupyter kernel (IPython imported by the kernel, not only installed)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and "ipykernel" in sys.modules


def person_watching() -> bool:
    """Whether progress is worth showing: in Jupyter, or on a terminal's stderr (not a pipe, not CI)."""
    if in_jupyter():
        return True
    if os.environ.get("CI"):
        return False
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


class ImageSet:
    """Saving and showing for a result of K×H×W×C images; subclasses give :meth:`_image_set`."""

    def _image_set(self) -> Optional[tuple[np.ndarray, list[str], str]]:
        """``(images K×H×W×C, one label per image, caption)``, or None when there is no image to show."""
        raise NotImplementedError

    def _checked_set(self) -> tuple[np.ndarray, list[str], str]:
        found = self._image_set()
        if found is None:
            raise DeepDreamError(
                OUTPUT_ERROR, "images: these values are not K×H×W×C images; nothing to save as pictures."
            )
        return found

    def grid(self, min_tile: int = 128) -> Image.Image:
        """The labelled grid (Pillow image), one display range for all images."""
        images, labels, _ = self._checked_set()
        return montage(images, labels, min_tile=min_tile, domain=display_range(images))

    def save(self, path) -> Path:
        """``.npy``: the raw K×H×W×C values; an image suffix (``.png``, ``.jpg``, ...): the labelled grid."""
        suffix = Path(path).suffix.lower()
        if suffix == ".npy":
            images, _, _ = self._checked_set()
            return write_atomic(path, lambda handle: np.save(handle, np.asarray(images)))
        if suffix not in GRID_SUFFIXES:
            raise DeepDreamError(
                OUTPUT_ERROR,
                f"path: {os.fspath(path)!r} must end in .npy (raw values) or an image suffix "
                f"({', '.join(GRID_SUFFIXES)}) for the grid.",
            )
        sheet = self.grid()
        image_format = Image.registered_extensions()[suffix]
        return write_atomic(path, lambda handle: sheet.save(handle, format=image_format))

    def save_images(self, folder, name: str = "image_{k}.png") -> list[Path]:
        """One PNG per image at its own size in ``folder`` (``{k}``: its index from 0), one display range."""
        images, _, _ = self._checked_set()
        if "{k}" not in name or not name.lower().endswith(".png"):
            raise DeepDreamError(
                OUTPUT_ERROR, f"name: expected a .png name containing {{k}} (the image's index); got {name!r}."
            )
        folder = Path(folder)
        if not folder.is_dir():
            raise DeepDreamError(OUTPUT_ERROR, f"folder: {os.fspath(folder)!r} is not an existing folder.")
        domain = display_range(images)
        written = []
        for k, image in enumerate(images):
            picture = Image.fromarray(display_pixels(image, domain), "RGB")
            written.append(
                write_atomic(folder / name.format(k=k), lambda handle, p=picture: p.save(handle, format="PNG"))
            )
        return written

    def show(self) -> None:
        """Inline in Jupyter; elsewhere in the system's image viewer when there is a display."""
        if in_jupyter():
            from IPython.display import display

            display(self)
            return
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            print("show: no display here; save the images with .save('grid.png') instead.", file=sys.stderr)
            return
        self.grid().show()

    def _repr_png_(self) -> Optional[bytes]:
        if self._image_set() is None:
            return None
        return _png(self.grid())

    def _repr_html_(self) -> Optional[str]:
        found = self._image_set()
        if found is None:
            return None
        images, _, caption = found
        low, high = display_range(images)
        data = base64.b64encode(_png(self.grid())).decode("ascii")
        return (
            f'<figure style="margin:0"><img src="data:image/png;base64,{data}"/>'
            f"<figcaption>{html.escape(caption)}; shown with {low:.4g}…{high:.4g} as black…white "
            f"(the values are unchanged)</figcaption></figure>"
        )


class DreamImages(np.ndarray, ImageSet):
    """``deep_dream_image``'s K×H×W×C array, with :class:`ImageSet`'s saving and showing.

    ``labels``: one per image (e.g. ``"conv2 ch 3"``), or None.
    """

    labels: Optional[list] = None

    def __new__(cls, images, labels: Optional[Sequence[str]] = None) -> "DreamImages":
        array = np.asarray(images).view(cls)
        array.labels = list(labels) if labels is not None else None
        return array

    def __array_finalize__(self, obj) -> None:
        self.labels = getattr(obj, "labels", None)

    def __array_wrap__(self, array, context=None, return_scalar=False):
        if return_scalar:
            return array[()]
        return array.view(np.ndarray) if isinstance(array, np.ndarray) else array

    def _image_set(self) -> Optional[tuple[np.ndarray, list[str], str]]:
        images = np.asarray(self)
        if images.ndim == 3:
            images = images[None]
        if images.ndim != 4 or images.shape[-1] > 4 or images.size == 0 or images.dtype.kind not in "fiub":
            return None
        count = images.shape[0]
        labels = self.labels if self.labels is not None and len(self.labels) == count else None
        labels = [str(label) for label in labels] if labels else [f"image {k}" for k in range(count)]
        height, width, channels = images.shape[1:]
        caption = f"deep dream: {count} image(s) of {height}×{width}×{channels}"
        return images, labels, caption
