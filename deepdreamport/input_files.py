"""Input paths, refused as what they are: a URL, a folder, a missing path, not a regular file.

Every door reads files the user names (the model, ``--image``, a batch file);
a careless path should be named for what it is, in one line naming the
argument, before any work: a URL is not downloaded (and ``pathlib`` would
print ``https://host/x`` as ``https:/host/x``), a folder is not "missing".
Standard library only (with :mod:`deepdreamport.errors`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Union

from .errors import DeepDreamError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
NOT_FOUND = "deepdreamport:FileNotFound"


def is_url(text: object) -> bool:
    """Whether ``text`` is a URL (``scheme://...``)."""
    return isinstance(text, str) and bool(_URL.match(text))


def check_input_file(
    path: Union[str, os.PathLike], argument: str, what: str = "file", identifier: str = NOT_FOUND
) -> Path:
    """``path`` as a ``Path`` if it is a regular file; else a one-line ``DeepDreamError`` naming ``argument``.

    ``what`` names the kind of file expected (``"ONNX file"``, ``"image"``).
    """
    text = os.fspath(path)
    text = text.decode(errors="replace") if isinstance(text, bytes) else text
    if not text.strip():
        raise DeepDreamError(identifier, f"{argument}: the file name is empty ({what} expected).")
    if _URL.match(text):
        raise DeepDreamError(
            identifier, f"{argument}: {text!r} is a URL; nothing is downloaded: download the {what} and give its path."
        )
    file = Path(text)
    if file.is_dir():
        raise DeepDreamError(identifier, f"{argument}: {text!r} is a folder, not a file ({what} expected).")
    if not file.exists():
        raise DeepDreamError(identifier, f"{argument}: {what} {text!r} does not exist.")
    if not file.is_file():
        raise DeepDreamError(identifier, f"{argument}: {text!r} is not a regular file.")
    return file
