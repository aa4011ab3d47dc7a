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
from typing import Callable, Optional, Sequence

import numpy as np
from PIL import Image, ImageDraw

from ..errors import DeepDreamError
from .commands import DEMO_MODEL_NAME as DEMO_MODEL_NAME

_SOURCE_CHECKOUT = Path(__file__).resolve().parents[2]


def default_model() -> Path:
    """The bundled default model: ``models/efficientnet_lite0.onnx`` of the working folder or of this checkout.

    ``./dev setup`` writes it into the checkout (``tools/export_efficientnet.py``);
    an installed package looks in ``./models/`` of the folder it is run from.
    """
    candidates = [Path.cwd() / "models" / DEMO_MODEL_NAME, _SOURCE_CHECKOUT / "models" / DEMO_MODEL_NAME]
    return next((path for path in candidates if path.is_file()), candidates[-1])


OUTPUT_ERROR = "deepdreamport:cli:BadOutput"


class PendingOutput:
    """An output file reserved before the computation: its temporary sibling exists from the start.

    Creating the temporary file first proves that the folder exists and is
    writable before any work; :meth:`commit` writes it and renames it into
    place (``os.replace``), :meth:`discard` removes it. A failed run therefore
    leaves neither a partial file nor a stray temporary one.
    """

    def __init__(self, option: str, path: str | os.PathLike):
        self.option = option
        self.path = Path(path)
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: the folder of {str(path)!r} does not exist")
        if self.path.is_dir():
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: {str(path)!r} is a folder; give a file name")
        try:
            descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=".part")
        except OSError as exc:
            raise DeepDreamError(
                OUTPUT_ERROR, f"{option}: cannot write into the folder of {str(path)!r} ({exc.strerror or exc})"
            ) from None
        os.close(descriptor)
        self.temporary = Path(temporary)

    def commit(self, write: Callable[[object], None]) -> None:
        """Write through ``write(file)`` into the temporary file, then rename it onto :attr:`path`."""
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.temporary, 0o666 & ~umask)
            with open(self.temporary, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(self.temporary, self.path)
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Remove the temporary file (if it is still there)."""
        try:
            os.unlink(self.temporary)
        except FileNotFoundError:
            pass


def write_atomic(path: str | os.PathLike, write: Callable[[object], None]) -> Path:
    """Write ``path`` through ``write(file)`` into a temporary sibling, then rename it into place."""
    pending = PendingOutput("output", path)
    pending.commit(write)
    return pending.path


def _same_file(a: Path, b: Path) -> bool:
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def check_output_paths(
    outputs: dict[str, Optional[str]], inputs: dict[str, Optional[str]], extensions: dict[str, tuple[str, ...]]
) -> None:
    """Refuse, before any work, output paths that would lose or eat a file.

    ``outputs``: option → path (``None``: not asked for); ``inputs``: name →
    path of every file read; ``extensions``: option → the extensions of the
    formats it writes (compared case-insensitively). An output must not be
    empty, must end in one of its extensions, and must be neither an input
    file nor another output.
    """
    given = {option: str(path) for option, path in outputs.items() if path is not None}
    for option, path in given.items():
        if not path.strip():
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: the file name is empty")
        suffix = Path(path).suffix.lower()
        if suffix not in extensions[option]:
            raise DeepDreamError(
                OUTPUT_ERROR,
                f"{option}: {path!r} must end in {' or '.join(extensions[option])} (the format written); "
                f"got {suffix or 'no extension'!r}",
            )
        for name, source in inputs.items():
            if source is not None and _same_file(Path(path), Path(source)):
                raise DeepDreamError(OUTPUT_ERROR, f"{option}: {path!r} is the {name}; it would be overwritten")
    options = list(given)
    for i, first in enumerate(options):
        for second in options[i + 1 :]:
            if _same_file(Path(given[first]), Path(given[second])):
                raise DeepDreamError(OUTPUT_ERROR, f"{first} and {second} name the same file {given[first]!r}")


def reserve_outputs(outputs: dict[str, Optional[str]]) -> dict[str, PendingOutput]:
    """A :class:`PendingOutput` per given output; all or none (on a failure the reserved ones are discarded)."""
    reserved: dict[str, PendingOutput] = {}
    try:
        for option, path in outputs.items():
            if path is not None:
                reserved[option] = PendingOutput(option, path)
    except BaseException:
        for pending in reserved.values():
            pending.discard()
        raise
    return reserved


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
    if str(path).lower().endswith(".npy"):
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise DeepDreamError(IMAGE_ERROR, f"--image: cannot read {path!r} as a .npy array ({exc})") from None
    else:
        try:
            with Image.open(path) as image:
                if _stored_bits_lost(image):
                    raise DeepDreamError(
                        IMAGE_ERROR,
                        f"--image: {path!r} stores more than 8 bits per colour sample, which Pillow would read as "
                        "8 bits; save it as an H×W×C .npy array (uint16) and give that instead",
                    )
                if image.mode not in _IMREAD_MODES:
                    raise DeepDreamError(
                        IMAGE_ERROR, f"--image: {path!r} has the unsupported pixel mode {image.mode!r}"
                    )
                mode, dtype = _IMREAD_MODES[image.mode]
                if image.mode != mode:
                    image = image.convert(mode)
                array = np.array(image, dtype=dtype)
        except (OSError, ValueError, SyntaxError) as exc:
            if isinstance(exc, DeepDreamError):
                raise
            raise DeepDreamError(IMAGE_ERROR, f"--image: cannot read {path!r} as an image ({exc})") from None
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
