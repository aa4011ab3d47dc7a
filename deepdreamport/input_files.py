"""Paths the user names: expanded, shown readably, and refused as what they are.

Every door reads files the user names (the model, ``--image``, a batch file);
a careless path should be named for what it is, in one line naming the
argument, before any work: a URL is not downloaded (and ``pathlib`` would
print ``https://host/x`` as ``https:/host/x``), a folder is not "missing", a
name longer than the file system allows is said to be so.

One rule for every path of every command and door (:func:`user_path`): a
leading ``~`` is the home folder, as a shell expands it (so a quoted ``'~/m.onnx'``,
a path from a TOML file or a Python string reads as a user means it); ``$NAME``
is not expanded (a shell does that before the command runs, and ``$`` may be
part of a file name), but a missing path holding a set variable says so.
Messages print paths with :func:`shown`: bytes that are not UTF-8 (a file name
from another system, ``os.fsdecode``'s surrogate escapes) as ``\\xff``, a very
long name cut in the middle, so that printing never fails and stays one line.
Standard library only (with :mod:`deepdreamport.errors`).
"""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
import unicodedata
from pathlib import Path
from typing import Optional, Union

from .errors import DeepDreamError

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_VARIABLE = re.compile(r"\$(\w+|\{\w+\})")
NOT_FOUND = "deepdreamport:FileNotFound"
PATH_ERRORS = "deepdreamport.paths"
"""An encoding error handler: a surrogate escape (a file name's byte that is not UTF-8) as ``\\xNN``, the byte
it stands for; anything else unencodable as ``backslashreplace`` does. Standard output uses it (:mod:`..cli`)."""


def _byte_escapes(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text = error.object[error.start : error.end]
    parts = [
        f"\\x{ord(c) - 0xDC00:02x}" if 0xDC80 <= ord(c) <= 0xDCFF else c.encode("ascii", "backslashreplace").decode()
        for c in text
    ]
    return "".join(parts), error.end


codecs.register_error(PATH_ERRORS, _byte_escapes)
SHOWN_LIMIT = 120
"""Most characters of a path in a message (longer ones are cut in the middle)."""


def is_url(text: object) -> bool:
    """Whether ``text`` is a URL (``scheme://...``)."""
    return isinstance(text, str) and bool(_URL.match(text))


def user_path(path: Union[str, bytes, os.PathLike]) -> str:
    """The path a user names, as text: bytes decoded as the file system does (``os.fsdecode``), ``~`` expanded.

    Example:
        >>> user_path(b"m\\xff.onnx") == "m\\udcff.onnx"
        True
    """
    return os.path.expanduser(os.fsdecode(path))


def shown(path: Union[str, bytes, os.PathLike], limit: int = SHOWN_LIMIT) -> str:
    """``path`` quoted for a message: undecodable bytes as ``\\xNN``, control characters escaped, cut to ``limit``.

    Example:
        >>> shown("m\\udcff.onnx")
        "'m\\\\xff.onnx'"
        >>> shown("a" * 300, limit=20)
        "'aaaaaaaaa…aaaaaaaaa' (300 characters)"
    """
    text = os.fsdecode(path)
    try:
        readable = os.fsencode(text).decode("utf-8", "backslashreplace")
    except UnicodeError:  # a lone surrogate that no file system byte made
        readable = text.encode("utf-8", "backslashreplace").decode("ascii")
    readable = "".join(c if c.isprintable() else repr(c)[1:-1] for c in readable)
    if len(readable) > limit:
        half = (limit - 1) // 2
        return f"'{readable[:half]}…{readable[-half:]}' ({len(readable)} characters)"
    return f"'{readable}'"


def os_reason(exc: OSError) -> str:
    """What an ``OSError`` about a path means, in words (for a file name too long: the limit)."""
    if exc.errno == errno.ENAMETOOLONG:
        parts = Path(os.fsdecode(exc.filename)).parts if exc.filename is not None else ()
        if parts and all(len(os.fsencode(part)) <= 255 for part in parts):
            return "the path is longer than the system allows (4096 bytes on Linux)"
        return "a name in it is longer than the file system allows (255 bytes on most)"
    if exc.errno == errno.ELOOP:
        return "it loops through symbolic links"
    return exc.strerror or str(exc)


def path_problem(path: Union[str, os.PathLike]) -> tuple[Optional[os.stat_result], str]:
    """``(os.stat(path), "")``; ``(None, "")`` when nothing is there; ``(None, why)`` when it cannot be looked up
    (a name too long, a symbolic-link loop, a folder that may not be searched, a NUL character)."""
    try:
        return os.stat(path), ""
    except (FileNotFoundError, NotADirectoryError):
        return None, ""
    except OSError as exc:
        return None, f"cannot use {shown(path)}: {os_reason(exc)}"
    except ValueError:  # an embedded NUL byte
        return None, f"{shown(path)} holds a NUL character"


def path_stat(path: Union[str, os.PathLike], argument: str, identifier: str = NOT_FOUND) -> Optional[os.stat_result]:
    """``os.stat(path)``, ``None`` when nothing is there; a path that cannot be looked up is refused in one line.

    A name too long, a symbolic-link loop, a folder that may not be searched: a
    ``DeepDreamError`` naming ``argument``, where ``pathlib`` would raise a bare
    ``OSError`` (``Path.exists`` raises for a name too long).
    """
    status, problem = path_problem(path)
    if problem:
        raise DeepDreamError(identifier, f"{argument}: {problem}")
    return status


def folder_problem(path: Union[str, bytes, os.PathLike], what: str = "folder") -> str:
    """Why ``path`` (``~`` expanded) is not a folder to read (``""`` when it is one): empty, missing, a file, ..."""
    text = user_path(path)
    if not text.strip():
        return f"the {what} name is empty"
    status, problem = path_problem(text)
    if problem:
        return problem
    if status is None:
        above = _file_above(text)
        if above is not None:
            return f"{what} {shown(text)} cannot exist: {shown(above)} is a file, not a folder"
        return f"{what} {shown(text)} does not exist{_missing_hint(text)}"
    if not stat.S_ISDIR(status.st_mode):
        return f"{shown(text)} is a file, not a folder ({what} expected)"
    return ""


def check_input_folder(
    path: Union[str, bytes, os.PathLike], argument: str, what: str = "folder", identifier: str = NOT_FOUND
) -> Path:
    """``path`` (``~`` expanded) as a ``Path`` if it is a folder; else a one-line ``DeepDreamError`` naming ``argument``."""
    problem = folder_problem(path, what)
    if problem:
        raise DeepDreamError(identifier, f"{argument}: {problem}")
    return Path(user_path(path))


def check_name_lengths(path: Union[str, os.PathLike], argument: str, identifier: str) -> None:
    """Refuse a path with a component longer than its file system takes, before anything is written.

    A file that does not exist yet would only fail when it is renamed into place, after the work.
    """
    text = os.fspath(path)
    existing = Path(text)
    while not os.path.isdir(existing) and existing != existing.parent:
        existing = existing.parent
    try:
        limit = os.pathconf(existing if str(existing) else ".", "PC_NAME_MAX")
    except (OSError, ValueError):
        limit = 255
    for part in Path(text).parts:
        size = len(os.fsencode(part))
        if size > limit:
            raise DeepDreamError(
                identifier,
                f"{argument}: the name {shown(part, 40)} in {shown(text)} is {size} bytes long; "
                f"the file system takes at most {limit}",
            )


def _missing_hint(text: str) -> str:
    """Why a path the user gave may not exist: an unexpanded ``$NAME``, the same name in another Unicode form."""
    variables = [name.strip("{}") for name in _VARIABLE.findall(text) if name.strip("{}") in os.environ]
    if variables:
        return (
            f" (${variables[0]} is not expanded here: a shell expands it unless the path is quoted in '...'; "
            "give the path itself)"
        )
    path = Path(text)
    folder = path.parent if str(path.parent) else Path(".")
    name = unicodedata.normalize("NFC", path.name)
    try:
        for entry in os.scandir(folder):
            if entry.name != path.name and unicodedata.normalize("NFC", entry.name) == name:
                return (
                    f" ({shown(entry.name)} is there: the same name in another Unicode normalisation "
                    "(NFC/NFD); give that name)"
                )
    except OSError:
        pass
    return ""


def check_input_file(
    path: Union[str, bytes, os.PathLike], argument: str, what: str = "file", identifier: str = NOT_FOUND
) -> Path:
    """``path`` (``~`` expanded) as a ``Path`` if it is a regular file; else a one-line ``DeepDreamError`` naming ``argument``.

    ``what`` names the kind of file expected (``"ONNX file"``, ``"image"``).
    """
    text = user_path(path)
    if not text.strip():
        raise DeepDreamError(identifier, f"{argument}: the file name is empty ({what} expected).")
    if _URL.match(text):
        raise DeepDreamError(
            identifier,
            f"{argument}: {shown(text)} is a URL; nothing is downloaded: download the {what} and give its path.",
        )
    status = path_stat(text, argument, identifier)
    if status is None:
        above = _file_above(text)
        if above is not None:
            raise DeepDreamError(
                identifier, f"{argument}: {what} {shown(text)} cannot exist: {shown(above)} is a file, not a folder."
            )
        raise DeepDreamError(identifier, f"{argument}: {what} {shown(text)} does not exist{_missing_hint(text)}.")
    if stat.S_ISDIR(status.st_mode):
        raise DeepDreamError(identifier, f"{argument}: {shown(text)} is a folder, not a file ({what} expected).")
    if not stat.S_ISREG(status.st_mode):
        raise DeepDreamError(identifier, f"{argument}: {shown(text)} is not a regular file.")
    return Path(text)


def _file_above(text: str) -> Optional[Path]:
    """The nearest existing ancestor of ``text`` when it is a file (``model.onnx/x``), else ``None``."""
    for parent in Path(text).parents:
        try:
            status = os.stat(parent)
        except OSError:
            continue
        return None if stat.S_ISDIR(status.st_mode) else parent
    return None
