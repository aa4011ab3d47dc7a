"""MATLAB's ``imtile`` and ``montage``: frames laid out in one image, as an array.

``imtile(I)`` takes MATLAB's multiframe layouts: H×W×C×K (C = 1 or 3; what
``deepDreamImage`` returns), H×W×K (K grey frames: an RGB image's three planes
side by side), an H×W image, or a list of images (MATLAB's cell array; ``None``
is a blank tile, as an empty cell). Frames fill a grid row by row, left to right.
The default grid is "roughly square", as MATLAB's: ``ceil(sqrt(K·H/W))`` columns,
as many rows as needed, and no column left empty. Name-value options as MATLAB spells them (``'GridSize'``,
``'BorderSize'``, ``'BackgroundColor'``, ``'Frames'``; ``montage``: ``'Size'``,
``'Indices'``), by ``inputParser``'s rules (:mod:`.options`), as pairs or keywords:
``imtile(I, "GridSize", [2, NaN], BorderSize=2)``.

The result is an array of the frames' class (uint8 stays uint8, single stays
single): grey frames give an H'×W' array, colour ones H'×W'×3. Frames of
different classes are converted with ``im2double`` first, grey frames among
colour ones are repeated to RGB, and the background (default black) is given in
[0, 1] and scaled to the class's range (255 for uint8, 65535 for uint16).

Deviations: frames of different sizes are refused (MATLAB resizes them to
``'ThumbnailSize'``, which is not supported); no colormap argument (indexed
images: read them as RGB, as :func:`deepdreamport.imread` does); frames beyond
the grid are left out; ``montage`` returns the same array as ``imtile`` instead
of drawing it in a figure and returning the image object (show it with
matplotlib's ``imshow``, or save it with Pillow's ``Image.fromarray``).
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..errors import DeepDreamError, describe
from .options import FAILED, collect_name_value

IMTILE_NAMES = ("Frames", "GridSize", "BorderSize", "BackgroundColor")
MONTAGE_NAMES = ("Indices", "Size", "BorderSize", "BackgroundColor")
_MONTAGE_TO_IMTILE = {"Indices": "Frames", "Size": "GridSize"}
BAD_IMAGES = "deepdreamport:imtile:InvalidImages"

COLORS = {
    "red": (1.0, 0.0, 0.0),
    "green": (0.0, 1.0, 0.0),
    "blue": (0.0, 0.0, 1.0),
    "cyan": (0.0, 1.0, 1.0),
    "magenta": (1.0, 0.0, 1.0),
    "yellow": (1.0, 1.0, 0.0),
    "black": (0.0, 0.0, 0.0),
    "white": (1.0, 1.0, 1.0),
}
"""MATLAB's colour names; each also has its one-letter short name (``'k'`` for black)."""
_SHORT_COLORS = {"r": "red", "g": "green", "b": "blue", "c": "cyan", "m": "magenta", "y": "yellow", "k": "black"}
_SHORT_COLORS["w"] = "white"
_FULL_SCALE = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


def _fail(name: str, value: object, expected: str) -> DeepDreamError:
    return DeepDreamError(FAILED, f"The value of '{name}' is invalid. Expected {expected}; got {describe(value)}.")


def im2double(image: np.ndarray) -> np.ndarray:
    """MATLAB's ``im2double``: uint8/uint16 scaled to [0, 1], logical to 0/1, floats as float64."""
    image = np.asarray(image)
    scale = _FULL_SCALE.get(image.dtype)
    return image.astype(np.float64) / scale if scale else image.astype(np.float64)


def _frames(images: Any) -> list[Optional[np.ndarray]]:
    """The frames of ``images`` (MATLAB's layouts, see the module), each H×W×1 or H×W×3; ``None`` a blank tile."""
    if isinstance(images, (list, tuple)):
        frames = []
        for k, item in enumerate(images):
            if item is None:
                frames.append(None)
                continue
            frame = np.asarray(item)
            if frame.ndim == 2:
                frame = frame[:, :, None]
            if frame.ndim != 3 or frame.shape[2] not in (1, 3):
                raise DeepDreamError(
                    BAD_IMAGES, f"images{{{k + 1}}}: expected an H×W or H×W×3 image; got shape {frame.shape}"
                )
            frames.append(frame)
        return frames
    array = np.asarray(images)
    if array.ndim == 2:
        return [array[:, :, None]]
    if array.ndim == 3:  # H×W×K: K grey frames (an RGB image's three planes)
        return [array[:, :, k : k + 1] for k in range(array.shape[2])]
    if array.ndim == 4 and array.shape[2] in (1, 3):
        return [array[:, :, :, k] for k in range(array.shape[3])]
    raise DeepDreamError(
        BAD_IMAGES,
        f"I: expected an H×W×C×K array with C = 1 or 3 (deepDreamImage's output), H×W×K grey frames, an H×W image "
        f"or a list of images; got {describe(array)}",
    )


def _frame_selection(value: object, count: int) -> list[int]:
    """``'Frames'``/``'Indices'``: 1-based frame numbers (or a logical mask) → 0-based positions."""
    array = np.asarray(value).reshape(-1)
    if array.dtype == bool:
        if array.size != count:
            raise _fail("Frames", value, f"a logical mask of {count} elements")
        return [int(k) for k in np.flatnonzero(array)]
    if array.size == 0 or array.dtype.kind not in "iuf" or np.any(array != np.floor(array)):
        raise _fail("Frames", value, f"frame numbers in 1..{count}")
    if np.any(array < 1) or np.any(array > count):
        raise _fail("Frames", value, f"frame numbers in 1..{count}")
    return [int(k) - 1 for k in array]


def _grid_size(value: object, count: int, height: int, width: int) -> tuple[int, int]:
    """Rows and columns: ``value`` ``[rows, cols]`` (one may be NaN), or MATLAB's roughly square default."""
    if value is None:
        columns = max(1, math.ceil(math.sqrt(count * height / width)))
        rows = max(1, math.ceil(count / columns))
        return rows, max(1, math.ceil(count / rows))  # no column left empty
    sizes = np.asarray(value, dtype=np.float64).reshape(-1) if _numeric(value) else None
    expected = "[rows cols], positive integers (one of them may be NaN)"
    if sizes is None or sizes.size != 2 or np.all(np.isnan(sizes)):
        raise _fail("GridSize", value, expected)
    known = sizes[~np.isnan(sizes)]
    if np.any(known < 1) or np.any(known != np.floor(known)) or np.any(np.isinf(known)):
        raise _fail("GridSize", value, expected)
    rows, columns = sizes
    if math.isnan(rows):
        rows = math.ceil(count / columns)
    elif math.isnan(columns):
        columns = math.ceil(count / rows)
    return max(1, int(rows)), max(1, int(columns))


def _numeric(value: object) -> bool:
    try:
        return np.asarray(value).dtype.kind in "iuf"
    except (TypeError, ValueError):
        return False


def _border_size(value: object) -> tuple[int, int]:
    expected = "a nonnegative integer or [rows cols] of them"
    sizes = np.asarray(value, dtype=np.float64).reshape(-1) if _numeric(value) else None
    if sizes is None or sizes.size not in (1, 2) or np.any(sizes < 0) or np.any(sizes != np.floor(sizes)):
        raise _fail("BorderSize", value, expected)
    if not np.all(np.isfinite(sizes)):
        raise _fail("BorderSize", value, expected)
    rows, columns = (sizes[0], sizes[0]) if sizes.size == 1 else sizes
    return int(rows), int(columns)


def background_color(value: object) -> tuple[float, float, float]:
    """MATLAB's colour specification: a name (``'white'``, ``'w'``), ``'#RRGGBB'``/``'#RGB'`` or [R G B] in [0, 1]."""
    expected = "a colour name ('black', 'w', ...), a hexadecimal colour code ('#FF8800') or an RGB triplet in [0, 1]"
    if isinstance(value, str):
        text = value.strip().lower()
        if text in _SHORT_COLORS:
            return COLORS[_SHORT_COLORS[text]]
        matches = [name for name in COLORS if name.startswith(text)] if text else []
        if len(matches) == 1:
            return COLORS[matches[0]]
        digits = text[1:] if text.startswith("#") else ""
        if len(digits) in (3, 6) and all(c in "0123456789abcdef" for c in digits):
            pairs = [c * 2 for c in digits] if len(digits) == 3 else [digits[i : i + 2] for i in (0, 2, 4)]
            return tuple(int(pair, 16) / 255.0 for pair in pairs)  # type: ignore[return-value]
        raise _fail("BackgroundColor", value, expected)
    triplet = np.asarray(value, dtype=np.float64).reshape(-1) if _numeric(value) else None
    if triplet is None or triplet.size != 3 or not np.all((triplet >= 0) & (triplet <= 1)):
        raise _fail("BackgroundColor", value, expected)
    return tuple(float(v) for v in triplet)  # type: ignore[return-value]


def _common_class(frames: list[np.ndarray], background: tuple[float, float, float]) -> list[np.ndarray]:
    """The frames in one class: their own when they share one, else ``im2double`` (logical: also for a colour)."""
    dtypes = {frame.dtype for frame in frames}
    keep_logical = dtypes == {np.dtype(bool)} and background in (COLORS["black"], COLORS["white"])
    if len(dtypes) == 1 and (keep_logical or np.dtype(bool) not in dtypes):
        return frames
    return [im2double(frame) for frame in frames]


def tile(
    frames: Sequence[Optional[np.ndarray]],
    grid: tuple[int, int],
    border: tuple[int, int] = (0, 0),
    background: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> np.ndarray:
    """Frames of one size (H×W×1 or H×W×3, ``None`` for a blank tile) in a ``grid`` (rows, columns), row by row.

    Each tile is the frame padded by ``border`` (rows, columns) on every side with ``background``.

    Shape: ``K × (H×W×C)`` → ``(rows·(H+2r)) × (columns·(W+2c)) [× 3]`` (grey: 2-D)
    """
    present = [frame for frame in frames if frame is not None]
    if not present:
        raise DeepDreamError(BAD_IMAGES, "I: no image to tile (every frame is empty)")
    sizes = {frame.shape[:2] for frame in present}
    if len(sizes) > 1:
        raise DeepDreamError(
            BAD_IMAGES,
            f"I: the images have different sizes ({', '.join('×'.join(map(str, s)) for s in sorted(sizes))}); "
            "deepdreamport's imtile tiles images of one size (MATLAB resizes them to 'ThumbnailSize')",
        )
    present = _common_class(present, background)
    height, width = present[0].shape[:2]
    colour = any(frame.shape[2] == 3 for frame in present) or len(set(background)) > 1
    channels = 3 if colour else 1
    dtype = present[0].dtype
    fill = np.asarray(background if colour else background[:1], dtype=np.float64) * _FULL_SCALE.get(dtype, 1.0)
    rows, columns = grid
    tile_h, tile_w = height + 2 * border[0], width + 2 * border[1]
    sheet = np.empty((rows * tile_h, columns * tile_w, channels), dtype=dtype)
    sheet[...] = (np.round(fill) if dtype.kind in "ui" else fill).astype(dtype)  # im2uint8 rounds
    converted = iter(present)
    for position, frame in enumerate(frames[: rows * columns]):
        if frame is None:
            continue
        frame = next(converted)
        row, column = divmod(position, columns)
        top, left = row * tile_h + border[0], column * tile_w + border[1]
        sheet[top : top + height, left : left + width] = np.broadcast_to(frame, (height, width, channels))
    return sheet[:, :, 0] if channels == 1 else sheet


def _tiled(images: Any, options: Mapping[str, object]) -> np.ndarray:
    frames = _frames(images)
    if options.get("Frames") is not None:
        frames = [frames[k] for k in _frame_selection(options["Frames"], len(frames))]
    background = background_color(options.get("BackgroundColor", "black"))
    border = _border_size(options.get("BorderSize", 0))
    present = [frame for frame in frames if frame is not None]
    height, width = present[0].shape[:2] if present else (1, 1)
    grid = _grid_size(options.get("GridSize"), len(frames), height, width)
    return tile(frames, grid, border, background)


def imtile(images: Any, *name_value: object, **keywords: object) -> np.ndarray:
    """MATLAB's ``out = imtile(I, Name, Value, ...)``: the frames of ``I`` tiled into one image array.

    ``I``: H×W×C×K (C = 1 or 3; ``deepDreamImage``'s output), H×W×K grey frames, an H×W image,
    or a list of images (``None``: a blank tile). Options (pairs or keywords, names as in MATLAB,
    case-insensitive prefixes): ``Frames`` (1-based frame numbers or a logical mask),
    ``GridSize`` ([rows cols]; one may be NaN), ``BorderSize`` (pixels of padding on every side
    of each frame: n or [rows cols]), ``BackgroundColor`` (default ``'black'``). Returns an array
    of the frames' class: H'×W' for grey frames, H'×W'×3 for colour ones. Deviations: see the module.

    Example:
        >>> frames = np.stack([np.full((2, 2, 3), k, np.uint8) for k in (10, 20, 30)], axis=3)
        >>> imtile(frames, "GridSize", [1, 3], BorderSize=[0, 1])[:, :, 0]
        array([[ 0, 10, 10,  0,  0, 20, 20,  0,  0, 30, 30,  0],
               [ 0, 10, 10,  0,  0, 20, 20,  0,  0, 30, 30,  0]], dtype=uint8)
    """
    return _tiled(images, collect_name_value(name_value, keywords, IMTILE_NAMES))


def montage(images: Any, *name_value: object, **keywords: object) -> np.ndarray:
    """MATLAB's ``montage(I, Name, Value, ...)`` with its names ``Size`` and ``Indices`` (``imtile``'s
    ``GridSize`` and ``Frames``), ``BorderSize`` and ``BackgroundColor``: the tiled array.

    Deviation: MATLAB draws the montage in a figure and returns the image object; this returns
    the array :func:`imtile` returns (show it with ``matplotlib.pyplot.imshow``).
    """
    options = collect_name_value(name_value, keywords, MONTAGE_NAMES)
    return _tiled(images, {_MONTAGE_TO_IMTILE.get(name, name): value for name, value in options.items()})
