"""Every file a command writes: checked before any work, written to a temporary file, renamed into place.

One mechanism for every writer (``dream``/``demo``, ``render``, ``parity``
and ``parity record``, the atlas): :func:`check_output_paths` refuses, before
any work, an output that would lose a file or land where the user did not
mean (empty name, wrong extension for the format written, an input file,
another output, a folder); :class:`PendingOutput` creates the output's
temporary sibling at once (which proves the folder exists and is writable) and
renames it onto the output at the end (``os.replace``); :func:`reserved_outputs`
does both for a set of outputs and discards every temporary file that was not
committed, whatever ends the run (an error, Ctrl-C, SIGTERM: see
:mod:`.signals`). Folders that receive files (``parity record --out``,
``--report``, the atlas) are checked by :func:`check_output_folder` and made by
:func:`output_folder`, which removes a folder it made if the run fails before
anything is in it.

A failed or interrupted run therefore leaves neither half a file nor a stray
temporary one, and never overwrites an input. (SIGKILL cannot be caught: its
``.NAME.*.part`` temporaries stay behind.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Mapping, Optional

from ..errors import DeepDreamError

OUTPUT_ERROR = "deepdreamport:cli:BadOutput"
PART_SUFFIX = ".part"
"""The temporary file of an output ``NAME`` is ``.NAME.<random>.part`` in the output's folder."""


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
        self.committed = False
        folder = self.path.parent if str(self.path.parent) else Path(".")
        if not folder.is_dir():
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: the folder of {str(path)!r} does not exist")
        if self.path.is_dir():
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: {str(path)!r} is a folder; give a file name")
        try:
            descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=f".{self.path.name}.", suffix=PART_SUFFIX)
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
            self.committed = True
        except BaseException:
            self.discard()
            raise

    def discard(self) -> None:
        """Remove the temporary file (if it is still there)."""
        try:
            os.unlink(self.temporary)
        except FileNotFoundError:
            pass


def write_atomic(path: str | os.PathLike, write: Callable[[object], None], option: str = "output") -> Path:
    """Write ``path`` through ``write(file)`` into a temporary sibling, then rename it into place."""
    pending = PendingOutput(option, path)
    pending.commit(write)
    return pending.path


def same_path(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file or folder (hard links and symbolic links included)."""
    a, b = Path(a), Path(b)
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _check_not_input(option: str, path: str, inputs: Mapping[str, Optional[str | os.PathLike]]) -> None:
    for name, source in inputs.items():
        if source is not None and same_path(path, source):
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: {path!r} is the {name}; it would be overwritten")


def check_output_paths(
    outputs: Mapping[str, Optional[str | os.PathLike]],
    inputs: Mapping[str, Optional[str | os.PathLike]],
    extensions: Mapping[str, tuple[str, ...]],
) -> None:
    """Refuse, before any work, output paths that would lose or eat a file.

    ``outputs``: option → path (``None``: not asked for); ``inputs``: name →
    path of every file or folder read; ``extensions``: option → the extensions
    of the formats it writes (compared case-insensitively). An output must not
    be empty, must end in one of its extensions, must not be a folder, and must
    be neither an input nor another output.
    """
    given = {option: str(path) for option, path in outputs.items() if path is not None}
    for option, path in given.items():
        if not path.strip():
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: the file name is empty")
        if Path(path).is_dir():
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: {path!r} is a folder; give a file name")
        suffix = Path(path).suffix.lower()
        if suffix not in extensions[option]:
            raise DeepDreamError(
                OUTPUT_ERROR,
                f"{option}: {path!r} must end in {' or '.join(extensions[option])} (the format written); "
                f"got {suffix or 'no extension'!r}",
            )
        _check_not_input(option, path, inputs)
    options = list(given)
    for i, first in enumerate(options):
        for second in options[i + 1 :]:
            if same_path(given[first], given[second]):
                raise DeepDreamError(OUTPUT_ERROR, f"{first} and {second} name the same file {given[first]!r}")


def reserve_outputs(outputs: Mapping[str, Optional[str | os.PathLike]]) -> dict[str, PendingOutput]:
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


@contextlib.contextmanager
def reserved_outputs(
    outputs: Mapping[str, Optional[str | os.PathLike]],
    inputs: Mapping[str, Optional[str | os.PathLike]],
    extensions: Mapping[str, tuple[str, ...]],
) -> Iterator[dict[str, PendingOutput]]:
    """Check the outputs (:func:`check_output_paths`), reserve them, and discard what is not committed at the end.

    Usage: ``with reserved_outputs(...) as reserved: ...; reserved["--out"].commit(write)``.
    The temporary files exist from the start; whatever ends the block (a return, an error,
    an interrupt) removes those not committed.
    """
    check_output_paths(outputs, inputs, extensions)
    reserved = reserve_outputs(outputs)
    try:
        yield reserved
    finally:
        for pending in reserved.values():
            pending.discard()


def check_output_folder(
    option: str, path: str | os.PathLike, inputs: Mapping[str, Optional[str | os.PathLike]], parents: bool = False
) -> Path:
    """A folder that will receive files: checked before any work, nothing written; returns it resolved.

    It must be named, must not be a file, must not be an input (file or folder),
    and must exist or be creatable: its parent exists (with ``parents``, its
    nearest existing ancestor is a folder: ``mkdir -p``), and the folder that
    would be written to accepts a file (a real write, because permission bits do
    not tell: root, read-only mounts).
    """
    text = "" if path is None else str(path)
    if not text.strip():
        raise DeepDreamError(OUTPUT_ERROR, f"{option}: the folder name is empty")
    folder = Path(text).expanduser()
    if folder.exists() and not folder.is_dir():
        raise DeepDreamError(OUTPUT_ERROR, f"{option}: {text!r} is a file, not a folder")
    _check_not_input(option, text, inputs)
    existing = folder if folder.exists() else folder.parent
    while parents and not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing.exists() and not existing.is_dir():
        raise DeepDreamError(OUTPUT_ERROR, f"{option}: {str(existing)!r} in {text!r} is a file, not a folder")
    if not existing.is_dir():
        raise DeepDreamError(
            OUTPUT_ERROR, f"{option}: the folder {str(existing)!r} that would hold {text!r} does not exist"
        )
    try:
        descriptor, probe = tempfile.mkstemp(dir=existing, prefix=".write-check-", suffix=PART_SUFFIX)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        raise DeepDreamError(
            OUTPUT_ERROR, f"{option}: {str(existing)!r} is not writable ({exc.strerror or exc})"
        ) from None
    return folder.resolve()


@contextlib.contextmanager
def output_folder(
    option: str, path: str | os.PathLike, inputs: Mapping[str, Optional[str | os.PathLike]], parents: bool = False
) -> Iterator[Path]:
    """Check (:func:`check_output_folder`) and make the folder (and, with ``parents``, the folders above it).

    If the block fails, the folders it made are removed again while they are empty
    (what a run finished stays).
    """
    folder = check_output_folder(option, path, inputs, parents)
    made = [folder, *folder.parents]
    made = made[: next(i for i, f in enumerate(made) if f.exists())]  # the missing ones, deepest first
    folder.mkdir(parents=parents, exist_ok=True)
    try:
        yield folder
    except BaseException:
        for created in made:
            try:
                created.rmdir()  # only if empty
            except OSError:
                break
        raise
