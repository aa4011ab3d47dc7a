"""Files the front doors read, and the montage they write: the default model, input images, montages.

Mirrors MATLAB's ``imread`` (for ``--image``) and ``imtile`` / ``montage`` (for
the labelled PNG of the K images). How outputs are checked and written
(atomically) is :mod:`.outputs`.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..errors import DeepDreamError
from ..matlab import tiling
from .commands import DEMO_MODEL_NAME as DEMO_MODEL_NAME
from .outputs import write_atomic

_SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]


def default_model() -> Path:
    """The bundled default model: ``models/efficientnet_lite0.onnx`` of the working folder or of this checkout.

    ``./dev setup`` writes it into the checkout (``tools/export_efficientnet.py``);
    an installed package looks in ``./models/`` of the folder it is run from.
    """
    candidates = [Path.cwd() / "models" / DEMO_MODEL_NAME, _SOURCE_CHECKOUT / "models" / DEMO_MODEL_NAME]
    return next((path for path in candidates if path.is_file()), candidates[-1])


MONTAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
"""The montage's formats: PNG, or JPEG for ``.jpg``/``.jpeg``."""


def montage_format(path) -> str:
    """Pillow's format name for a montage file: ``"JPEG"`` for ``.jpg``/``.jpeg``, else ``"PNG"``."""
    return "JPEG" if Path(path).suffix.lower() in (".jpg", ".jpeg") else "PNG"


def display_pixels(image, domain=None) -> np.ndarray:
    """One H×W×C image as H×W×3 ``uint8`` RGB: ``domain=(low, high)`` maps to 0–255, or, without one,
    the image's own range (MATLAB's ``imtile`` of ``deepDreamImage``'s output; a flat image is black).
    One channel is shown grey; more than 3, the first three; 2, the first repeated as blue."""
    image = np.nan_to_num(np.asarray(image, dtype=np.float64))
    low, high = (image.min(), image.max()) if domain is None else (float(domain[0]), float(domain[1]))
    image = (image - low) / (high - low) if high > low else np.zeros_like(image)
    pixels = (np.clip(image, 0, 1) * 255).round().astype(np.uint8)
    channels = pixels.shape[2]
    if channels == 1:
        return np.repeat(pixels, 3, axis=2)
    if channels != 3:
        return pixels[:, :, :3] if channels > 3 else np.concatenate([pixels, pixels[:, :, :1]], axis=2)
    return pixels


def montage(images, labels: Sequence[str], min_tile: int = 128, domain=None):
    """A labelled grid of K×H×W×C images, as a Pillow image.

    Mirrors MATLAB's ``imtile`` / ``montage`` of ``deepDreamImage``'s output, with a
    label above each tile; tiles are enlarged (nearest neighbour) to at least ``min_tile`` pixels.
    Each image is scaled to [0, 1] on its own, or, with ``domain=(low, high)``, all by that range
    (:func:`display_pixels`).
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
        tile = Image.fromarray(display_pixels(images[k], domain), "RGB").resize((tile_w, tile_h), Image.NEAREST)
        row, column = divmod(k, columns)
        x = gap + column * (tile_w + gap)
        y = gap + row * (tile_h + label_h + gap)
        draw.text((x + 2, y + 2), labels[k], fill="black")
        sheet.paste(tile, (x, y + label_h))
    return sheet


IMAGE_ERROR = "deepdreamport:cli:BadImage"
_IMREAD_MODES = {  # Pillow mode -> (mode to convert to, numpy dtype), as MATLAB's imread returns the pixels
    "1": ("1", np.uint8),  # logical: 0/1
    "L": ("L", np.uint8),
    "LA": ("L", np.uint8),  # imread returns the alpha channel separately
    "P": ("RGB", np.uint8),  # deviation: imread returns the indices; here the colours (ind2rgb)
    "PA": ("RGB", np.uint8),
    "RGB": ("RGB", np.uint8),
    "RGBA": ("RGB", np.uint8),
    "CMYK": ("CMYK", np.uint8),
    "I;16": ("I;16", np.uint16),
    "I;16L": ("I;16", np.uint16),
    "I;16B": ("I;16", np.uint16),
    "I;16N": ("I;16", np.uint16),
    "I": ("I", np.int32),
    "F": ("F", np.float32),
}


def _stored_bits_lost(image) -> bool:
    """Whether Pillow decodes more than 8 bits per sample into an 8-bit mode (16-bit colour PNG, TIFF)."""
    for tile in getattr(image, "tile", None) or []:
        raw = tile.args[0] if isinstance(tile.args, tuple) and tile.args else tile.args
        if (
            isinstance(raw, str)
            and any(bits in raw for bits in (";16", ";32"))
            and image.mode in ("RGB", "RGBA", "L", "LA", "P")
        ):
            return True
    return False


@contextlib.contextmanager
def open_image(path) -> Iterator[Image.Image]:
    """``Image.open`` without Pillow's decompression-bomb warning and limit.

    The memory guard (:mod:`.guard`, and :func:`image_size` before decoding)
    decides whether a large image fits; Pillow's own warning lines would only
    come before its one-line refusal, and its limit (about 179 million pixels)
    would refuse images that fit.
    """
    limit = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                yield image
    finally:
        Image.MAX_IMAGE_PIXELS = limit


def image_size(path: str) -> tuple[int, int]:
    """The H×W of an image file, read from its header (nothing decoded); a ``.npy`` array's first two sides."""
    try:
        if str(path).lower().endswith(".npy"):
            shape = np.load(path, mmap_mode="r", allow_pickle=False).shape
            return (int(shape[0]), int(shape[1])) if len(shape) >= 2 else (0, 0)
        with open_image(path) as image:
            return int(image.height), int(image.width)
    except (OSError, ValueError, SyntaxError) as exc:
        raise DeepDreamError(IMAGE_ERROR, f"--image: cannot read {str(path)!r} as an image ({exc})") from None


def _decoded(path, argument: str) -> np.ndarray:
    """The pixels of an image file (or the array of a ``.npy``), as MATLAB's ``imread`` returns them: H×W or H×W×C.

    Errors name ``argument`` (``--image``, ``filename``). See :func:`read_image` for the rules.
    """
    if str(path).lower().endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DeepDreamError(
                IMAGE_ERROR, f"{argument}: cannot read {str(path)!r} as a .npy array ({exc})"
            ) from None
    try:
        with open_image(path) as image:
            if _stored_bits_lost(image):
                raise DeepDreamError(
                    IMAGE_ERROR,
                    f"{argument}: {str(path)!r} stores more than 8 bits per colour sample, which Pillow would read as "
                    "8 bits; save it as an H×W×C .npy array (uint16) and give that instead",
                )
            if image.mode not in _IMREAD_MODES:
                raise DeepDreamError(
                    IMAGE_ERROR, f"{argument}: {str(path)!r} has the unsupported pixel mode {image.mode!r}"
                )
            mode, dtype = _IMREAD_MODES[image.mode]
            if image.mode != mode:
                image = image.convert(mode)
            return np.array(image, dtype=dtype)
    except (OSError, ValueError, SyntaxError) as exc:
        if isinstance(exc, DeepDreamError):
            raise
        raise DeepDreamError(IMAGE_ERROR, f"{argument}: cannot read {str(path)!r} as an image ({exc})") from None


def read_image(path: str, channels: int) -> np.ndarray:
    """MATLAB's ``imread``: an H×W×C array of the file's own values and type, checked against the network.

    8-bit images stay uint8 (0–255), 16-bit ones uint16 (0–65535), 32-bit ones
    int32 or float32; an alpha channel is dropped (``imread`` returns it
    separately); a palette image gives its colours. A ``.npy`` file is read as
    the array it holds (H×W or H×W×C). Channels must match the network's
    (``channels``): a grey image for an RGB network is refused, as
    ``deepDreamImage`` refuses it. Deviation: a 16-bit colour image that
    Pillow can only read as 8 bits per sample is refused instead of being
    silently reduced; save it as ``.npy``.
    """
    array = _decoded(path, "--image")
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.dtype.kind not in "uif" or array.size == 0:
        raise DeepDreamError(
            IMAGE_ERROR,
            f"--image: {path!r} holds an array of shape {array.shape} and type {array.dtype}; expected H×W×C numbers",
        )
    if array.shape[2] != channels:
        raise DeepDreamError(
            IMAGE_ERROR,
            f"--image: the network takes {channels} channel(s); {path!r} has {array.shape[2]} "
            f"({array.shape[0]}×{array.shape[1]}×{array.shape[2]} {array.dtype})",
        )
    return array


IMREAD_NOT_FOUND = "MATLAB:imagesci:imread:fileDoesNotExist"


def imread(filename) -> np.ndarray:
    """MATLAB's ``A = imread(filename)``: the image's pixels in the file's own class.

    Grey images are H×W, colour ones H×W×3 (CMYK H×W×4); 8-bit pixels are uint8 (0–255),
    16-bit grey ones uint16 (0–65535), binary images 0/1 uint8. Pass the array to
    ``deepDreamImage(..., 'InitialImage', A)`` as it is (the dream's start image is in pixel
    units, as in MATLAB). Deviations: an indexed (palette) image gives its colours, H×W×3
    (MATLAB: the indices, with the colormap as a second output; ``ind2rgb`` of them); the alpha
    channel is dropped (MATLAB: a third output); a 16-bit *colour* image that Pillow can only read
    as 8 bits is refused (save it as ``.npy``); a ``.npy`` file is read as the array it holds.
    A missing file raises ``DeepDreamError`` with MATLAB's identifier
    ``MATLAB:imagesci:imread:fileDoesNotExist``.
    """
    if not Path(filename).is_file():
        raise DeepDreamError(IMREAD_NOT_FOUND, f"filename: file {str(filename)!r} does not exist.")
    return _decoded(filename, "filename")


IMWRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}


def imwrite(A, filename) -> Path:
    """MATLAB's ``imwrite(A, filename)``: an H×W or H×W×3 image written in the format its extension names.

    As MATLAB: single/double values are taken as [0, 1] (outside it saturates) and written as 8 bits,
    rounded; uint8 as it is; uint16 grey as 16 bits (PNG, TIFF); logical as black and white. So
    ``imwrite(imtile(I), "dreams.png")`` writes ``deepDreamImage``'s images as MATLAB shows them.
    Deviations: uint16 colour is refused (Pillow writes 16-bit grey only); the file is written
    atomically (a temporary file renamed into place).
    """
    path = Path(filename)
    kind = IMWRITE_FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DeepDreamError(
            "MATLAB:imagesci:imwrite:fileFormat",
            f"filename: cannot tell an image format from {str(filename)!r}; use {', '.join(IMWRITE_FORMATS)}",
        )
    array = np.asarray(A)
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] != 3) or array.size == 0:
        raise DeepDreamError(IMAGE_ERROR, f"A: expected an H×W or H×W×3 image; got {array.shape}")
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    elif array.dtype.kind == "f":
        array = np.round(np.clip(np.nan_to_num(array), 0.0, 1.0) * 255).astype(np.uint8)
    elif array.dtype == np.uint16 and array.ndim == 2 and kind in ("PNG", "TIFF"):
        pass  # Pillow's I;16
    elif array.dtype != np.uint8:
        raise DeepDreamError(
            IMAGE_ERROR,
            f"A: images of class {array.dtype} are not written (uint8, uint16 grey, single, double, logical)",
        )
    picture = Image.fromarray(np.ascontiguousarray(array))
    return write_atomic(path, lambda handle: picture.save(handle, format=kind), "filename")


def matlab_montage(images, *name_value, **keywords):
    """``deepdreamport.montage``: MATLAB's ``montage(I, ...)`` as an array (:func:`deepdreamport.matlab.tiling.montage`).

    ``montage(images, labels)`` with K×H×W×C images and a list of labels, this package's
    earlier montage, still gives the labelled Pillow picture (:func:`montage`), with a
    ``DeprecationWarning``.
    """
    if name_value and isinstance(name_value[0], (list, tuple)) and all(isinstance(t, str) for t in name_value[0]):
        warnings.warn(
            "deepdreamport.montage(images, labels) with K×H×W×C images is deprecated: use "
            "deepdreamport.doors.files.montage for a labelled picture, or deepdreamport.montage(I) / imtile(I) "
            "with MATLAB's H×W×C×K array",
            DeprecationWarning,
            stacklevel=2,
        )
        return montage(images, *name_value, **keywords)
    return tiling.montage(images, *name_value, **keywords)
