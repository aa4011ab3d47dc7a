"""Name-value parsing and argument validation for the MATLAB door.

Mirrors how ``deepDreamImage`` reads its arguments with MATLAB's
``inputParser`` (``KeepUnmatched`` off, ``PartialMatching`` on): names are
case-insensitive and unambiguous prefixes are accepted; an ambiguous prefix,
an unknown name or a name without a value is an error; a name given twice
takes the last value. String-valued options go through ``validatestring``
rules (case-insensitive, unambiguous prefixes). Every error is a
:class:`~deepdreamport.errors.DeepDreamError` carrying MATLAB's identifier and a
message that names the argument, the value received and what is allowed.

Deviations (extensions a Python user needs, documented names that MATLAB does
not have): ``Precision`` (``'single'`` | ``'double'``), ``RandomState`` (a seed
or a :class:`numpy.random.RandomState`; default MATLAB's global stream, see
:func:`deepdreamport.matlab.rng.rng`), ``MaxBatch`` (at most this many tiles×channels
per network pass), ``TileSize`` (for networks whose input size is dynamic) and
``CheckMemory`` (true: refuse a run whose estimated memory exceeds what the
device has; false turns the guard off).
``HostState`` (keep the images in host memory, one group on the device at a time).
``Compile`` (logical, default false: run the truncated network through
``torch.compile``, kept for later calls on the same network; no MATLAB counterpart).

Every function here is pure: it validates and converts, it loads nothing.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ..errors import DeepDreamError, describe

FAILED = "MATLAB:InputParser:ArgumentFailedValidation"
UNMATCHED = "MATLAB:InputParser:UnmatchedParameter"
AMBIGUOUS = "MATLAB:InputParser:AmbiguousParam"
MISSING_VALUE = "MATLAB:InputParser:ParamMissingValue"
NAME_NOT_CHAR = "MATLAB:InputParser:ParamMustBeChar"
UNRECOGNIZED_STRING = "MATLAB:unrecognizedStringChoice"
AMBIGUOUS_STRING = "MATLAB:ambiguousStringChoice"
BAD_IMAGE = "nnet_cnn:deepDreamImage:InitialImageNotValidImage"
BAD_CHANNELS = "nnet_cnn:deepDreamImage:InvalidChannels"
BAD_LAYER = "nnet_cnn:deepDreamImage:InvalidLayer"

MATLAB_NAMES = (
    "InitialImage",
    "NumIterations",
    "PyramidLevels",
    "PyramidScale",
    "OutputScaling",
    "Verbose",
    "ExecutionEnvironment",
)
EXTENSION_NAMES = ("Precision", "RandomState", "MaxBatch", "TileSize", "CheckMemory", "HostState", "Compile")
OPTION_NAMES = MATLAB_NAMES + EXTENSION_NAMES


@dataclass(frozen=True)
class DreamOptions:
    """Parsed name-value options, with MATLAB's defaults."""

    InitialImage: Optional[np.ndarray] = None
    NumIterations: int = 10
    PyramidLevels: int = 3
    PyramidScale: float = 1.4
    OutputScaling: str = "linear"
    Verbose: bool = True
    ExecutionEnvironment: str = "auto"
    Precision: str = "single"
    RandomState: Any = None
    MaxBatch: Optional[int] = None
    TileSize: Optional[int] = None
    CheckMemory: bool = True
    HostState: bool = False
    Compile: bool = False


# -- scalars -----------------------------------------------------------------


def _is_text(value: object) -> bool:
    return isinstance(value, (str, np.str_))


def _scalar_number(value: object) -> Optional[numbers.Number]:
    """The number inside a numeric scalar (Python number, numpy scalar or 1-element array), else None.

    Logical values are not numeric, as in MATLAB's ``isnumeric``.
    """
    if isinstance(value, (bool, np.bool_)) or _is_text(value):
        return None
    if isinstance(value, np.ndarray):
        if value.size != 1 or value.dtype.kind not in "iufc":
            return None
        value = value.reshape(-1)[0]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, numbers.Number) and not isinstance(value, bool):
        return value
    return None


def _fail(name: str, value: object, allowed: str, identifier: str = FAILED) -> DeepDreamError:
    return DeepDreamError(identifier, f"The value of '{name}' is invalid. Expected {allowed}; got {describe(value)}.")


def positive_integer(name: str, value: object, identifier: str = FAILED) -> int:
    """A positive integer scalar (integral doubles such as ``10.0`` accepted, like MATLAB)."""
    allowed = f"{name} to be a positive integer scalar"
    number = _scalar_number(value)
    if number is None or isinstance(number, complex):
        raise _fail(name, value, allowed, identifier)
    if not math.isfinite(number) or number != math.floor(number) or number <= 0:
        raise _fail(name, value, allowed, identifier)
    return int(number)


def scale_above_one(name: str, value: object) -> float:
    """A real finite scalar greater than 1 (``PyramidScale``)."""
    allowed = f"{name} to be a real finite scalar greater than 1"
    number = _scalar_number(value)
    if number is None or isinstance(number, complex) or not math.isfinite(number) or number <= 1:
        raise _fail(name, value, allowed)
    return float(number)


def logical_scalar(name: str, value: object) -> bool:
    """A logical or numeric real scalar that is not NaN (``Verbose``)."""
    allowed = f"{name} to be a logical or numeric scalar (true/false, 1/0), not NaN"
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "b":
        return bool(value.reshape(-1)[0])
    number = _scalar_number(value)
    if number is None or isinstance(number, complex) or math.isnan(number):
        raise _fail(name, value, allowed)
    return bool(number)


def validatestring(name: str, value: object, choices: Sequence[str]) -> str:
    """MATLAB ``validatestring``: the choice ``value`` names, case-insensitive, prefixes allowed."""
    listed = ", ".join(f"'{c}'" for c in choices)
    if isinstance(value, np.ndarray) and value.dtype.kind == "U" and value.size == 1:
        value = str(value.reshape(-1)[0])
    if not _is_text(value) or not str(value):
        raise DeepDreamError(
            UNRECOGNIZED_STRING,
            f"Expected input '{name}' to match one of these values: {listed}; got {describe(value)}.",
        )
    text = str(value).lower()
    exact = [c for c in choices if c.lower() == text]
    if exact:
        return exact[0]
    matches = [c for c in choices if c.lower().startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise DeepDreamError(
            AMBIGUOUS_STRING,
            f"'{value}' is ambiguous for '{name}'; it matches {', '.join(repr(m) for m in matches)}.",
        )
    raise DeepDreamError(
        UNRECOGNIZED_STRING,
        f"Expected input '{name}' to match one of these values: {listed}; got {describe(value)}.",
    )


def random_state(name: str, value: object) -> Any:
    """``None``, a seed (nonnegative integer below 2^32) or a ``numpy.random.RandomState``."""
    if value is None or isinstance(value, np.random.RandomState):
        return value
    number = _scalar_number(value)
    if (
        number is None
        or isinstance(number, complex)
        or not math.isfinite(number)
        or number != math.floor(number)
        or not 0 <= number < 2**32
    ):
        raise _fail(name, value, f"{name} to be a seed (integer in 0..2^32-1) or a numpy.random.RandomState")
    return int(number)


def optional_positive_integer(name: str, value: object) -> Optional[int]:
    """``None`` / empty (MATLAB ``[]``: the default) or a positive integer scalar."""
    if value is None or (isinstance(value, (np.ndarray, list, tuple)) and len(np.asarray(value).reshape(-1)) == 0):
        return None
    return positive_integer(name, value)


# -- arrays ------------------------------------------------------------------


def initial_image(value: object) -> Optional[np.ndarray]:
    """A numeric, real, finite H×W or H×W×C array (sizes are checked against the network later)."""
    if value is None:
        return None
    name = "InitialImage"
    allowed = "a real numeric H×W×C image"
    if isinstance(value, (bool, np.bool_)) or _is_text(value):
        raise _fail(name, value, allowed, BAD_IMAGE)
    try:
        array = np.asarray(value)
    except Exception:  # objects numpy cannot hold as an array
        raise _fail(name, value, allowed, BAD_IMAGE) from None
    if array.dtype.kind == "c":
        raise _fail(name, value, "a real image (complex values are not allowed)", BAD_IMAGE)
    if array.dtype.kind not in "iuf":
        raise _fail(name, value, f"{allowed} (numeric values)", BAD_IMAGE)
    if array.size == 0 or array.ndim not in (2, 3):
        raise _fail(name, value, f"{allowed} (2 or 3 dimensions, not empty)", BAD_IMAGE)
    if not np.all(np.isfinite(array)):
        raise _fail(name, value, f"{allowed} with finite values (no NaN or Inf)", BAD_IMAGE)
    return array


def channel_list(value: object, base: int = 1) -> list[int]:
    """A vector of channel indices as ``base``-based ints (MATLAB: base 1); duplicates allowed.

    Accepts an integer scalar, a list/tuple/range, or a numpy vector (a 1×N or
    N×1 matrix counts as a vector, as in MATLAB). The upper bound depends on the
    layer and is checked once the network is truncated.
    """
    numbering = "1-based (MATLAB)" if base == 1 else "0-based"
    allowed = f"a nonempty vector of {numbering} channel indices, integers >= {base}"
    if isinstance(value, (bool, np.bool_)) or _is_text(value) or value is None:
        raise _fail("channels", value, allowed, BAD_CHANNELS)
    if isinstance(value, range):
        value = list(value)
    try:
        array = np.asarray(value)
    except Exception:
        raise _fail("channels", value, allowed, BAD_CHANNELS) from None
    if array.dtype.kind not in "iuf" or array.size == 0:
        raise _fail("channels", value, allowed, BAD_CHANNELS)
    if array.ndim > 1 and sum(d != 1 for d in array.shape) > 1:
        raise _fail("channels", value, f"{allowed} (a vector, not a matrix)", BAD_CHANNELS)
    flat = array.reshape(-1)
    if not np.all(np.isfinite(flat)) or np.any(flat != np.floor(flat)) or np.any(flat < base):
        raise _fail("channels", value, allowed, BAD_CHANNELS)
    return [int(c) for c in flat]


def layer_argument(value: object) -> Any:
    """A layer name (nonempty string) or a MATLAB 1-based integer index into the layer table."""
    allowed = "a layer name or a positive integer index into the network's layers"
    if _is_text(value):
        if not str(value):
            raise _fail("layer", value, allowed, BAD_LAYER)
        return str(value)
    number = _scalar_number(value)
    if number is None or isinstance(number, complex) or not math.isfinite(number) or number != math.floor(number):
        raise _fail("layer", value, allowed, BAD_LAYER)
    if number < 1:
        raise _fail("layer", value, allowed, BAD_LAYER)
    return int(number)


# -- the parser --------------------------------------------------------------


def match_name(name: object, valid: Sequence[str] = OPTION_NAMES) -> str:
    """``inputParser``'s name matching: exact (case-insensitive) or a unique prefix."""
    listed = ", ".join(valid)
    if not _is_text(name) or not str(name):
        raise DeepDreamError(
            NAME_NOT_CHAR,
            f"Expected a parameter name (a character vector or string) but got {describe(name)}; valid names are {listed}.",
        )
    text = str(name).lower()
    for candidate in valid:
        if candidate.lower() == text:
            return candidate
    matches = [c for c in valid if c.lower().startswith(text)]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise DeepDreamError(
            AMBIGUOUS,
            f"'{name}' matches multiple parameter names: {', '.join(matches)}. "
            "To avoid ambiguity, specify the complete name of the parameter.",
        )
    raise DeepDreamError(UNMATCHED, f"'{name}' is not a recognized parameter. Valid names are: {listed}.")


_CONVERTERS = {
    "InitialImage": lambda v: initial_image(v),
    "NumIterations": lambda v: positive_integer("NumIterations", v),
    "PyramidLevels": lambda v: positive_integer("PyramidLevels", v),
    "PyramidScale": lambda v: scale_above_one("PyramidScale", v),
    "OutputScaling": lambda v: validatestring("OutputScaling", v, ("linear", "none")),
    "Verbose": lambda v: logical_scalar("Verbose", v),
    "ExecutionEnvironment": lambda v: validatestring("ExecutionEnvironment", v, ("auto", "gpu", "cpu")),
    "Precision": lambda v: validatestring("Precision", v, ("single", "double")),
    "RandomState": lambda v: random_state("RandomState", v),
    "MaxBatch": lambda v: optional_positive_integer("MaxBatch", v),
    "TileSize": lambda v: optional_positive_integer("TileSize", v),
    "CheckMemory": lambda v: logical_scalar("CheckMemory", v),
    "HostState": lambda v: logical_scalar("HostState", v),
    "Compile": lambda v: logical_scalar("Compile", v),
}


def parse_name_value(args: Sequence[object], keywords: Optional[Mapping[str, object]] = None) -> DreamOptions:
    """Parse ``Name, Value, ...`` and ``Name=Value`` options into :class:`DreamOptions` (MATLAB defaults for the rest).

    ``keywords`` are MATLAB's ``Name=Value`` syntax (R2021a+), which MATLAB turns into
    name-value pairs placed after the comma-separated ones: the same name matching
    (case-insensitive, unambiguous prefixes), and a name given twice takes the last value.

    Example:
        >>> parse_name_value(["NumIterations", 2], {"pyramidlevels": 1, "Verbose": 0}).PyramidLevels
        1
    """
    values = collect_name_value(args, keywords, OPTION_NAMES)
    return DreamOptions(**{name: _CONVERTERS[name](value) for name, value in values.items()})


def collect_name_value(
    args: Sequence[object], keywords: Optional[Mapping[str, object]], valid: Sequence[str]
) -> dict[str, object]:
    """``inputParser``'s reading of ``Name, Value, ...`` then ``Name=Value`` options: each value under the
    ``valid`` name it matches (case-insensitive, unambiguous prefixes); a name given twice keeps the last value.

    Example:
        >>> collect_name_value(["grid", [2, 3]], {"bordersize": 1}, ("GridSize", "BorderSize"))
        {'GridSize': [2, 3], 'BorderSize': 1}
    """
    args = list(args) + [item for pair in (keywords or {}).items() for item in pair]
    values: dict[str, object] = {}
    for position in range(0, len(args), 2):
        name = match_name(args[position], valid)
        if position + 1 >= len(args):
            raise DeepDreamError(
                MISSING_VALUE,
                f"Expected a value for parameter '{name}': name-value arguments must come in pairs "
                f"(got {len(args)} arguments).",
            )
        values[name] = args[position + 1]
    return values
