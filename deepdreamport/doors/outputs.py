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
import stat
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Mapping, Optional

from ..errors import DeepDreamError
from ..input_files import check_name_lengths, os_reason, path_stat, shown, user_path

OUTPUT_ERROR = "deepdreamport:cli:BadOutput"
PART_SUFFIX = ".part"
"""The temporary file of an output ``NAME`` is ``.NAME.<random>.part`` in the output's folder."""
TEMPORARY_PREFIX = 64
"""Most characters of ``NAME`` in its temporary file's name (``NAME`` itself may be as long as the file system takes)."""


def _missing_folder(option: str, folder: Path, path: Path) -> str:
    """Why ``folder`` cannot hold ``path``: a file on the way (``model.onnx/out.png``), or it does not exist."""
    for above in (folder, *folder.parents):
        status = path_stat(above, option, OUTPUT_ERROR)
        if status is not None:
            if not stat.S_ISDIR(status.st_mode):
                return f"{shown(above)} in {shown(path)} is a file, not a folder"
            break
    return f"the folder of {shown(path)} does not exist"


class PendingOutput:
    """An output file reserved before the computation: its temporary sibling exists from the start.

    Creating the temporary file first proves that the folder exists and is
    writable before any work; :meth:`commit` writes it and renames it into
    place (``os.replace``), :meth:`discard` removes it. A failed run therefore
    leaves neither a partial file nor a stray temporary one.
    """

    def __init__(self, option: str, path: str | os.PathLike):
        self.option = option
        self.path = Path(user_path(path))
        self.committed = False
        folder = self.path.parent if str(self.path.parent) else Path(".")
        folder_status = path_stat(folder, option, OUTPUT_ERROR)
        if folder_status is None or not stat.S_ISDIR(folder_status.st_mode):
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: {_missing_folder(option, folder, self.path)}")
        own = path_stat(self.path, option, OUTPUT_ERROR)
        if own is not None and stat.S_ISDIR(own.st_mode):
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: {shown(self.path)} is a folder; give a file name")
        check_name_lengths(self.path, option, OUTPUT_ERROR)
        try:  # the temporary name keeps a short prefix of the name: a name near the limit still gets one
            descriptor, temporary = tempfile.mkstemp(
                dir=folder, prefix=f".{self.path.name[:TEMPORARY_PREFIX]}.", suffix=PART_SUFFIX
            )
        except OSError as exc:
            raise DeepDreamError(
                OUTPUT_ERROR, f"{option}: cannot write into the folder of {shown(self.path)} ({os_reason(exc)})"
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
    a, b = Path(user_path(a)), Path(user_path(b))
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _check_not_input(option: str, path: str, inputs: Mapping[str, Optional[str | os.PathLike]]) -> None:
    for name, source in inputs.items():
        if source is not None and same_path(path, source):
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: {shown(path)} is the {name}; it would be overwritten")


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
    given = {option: user_path(path) for option, path in outputs.items() if path is not None}
    for option, path in given.items():
        if not path.strip():
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: the file name is empty")
        status = path_stat(path, option, OUTPUT_ERROR)
        if status is not None and stat.S_ISDIR(status.st_mode):
            raise DeepDreamError(OUTPUT_ERROR, f"{option}: {shown(path)} is a folder; give a file name")
        suffix = Path(path).suffix.lower()
        if suffix not in extensions[option]:
            raise DeepDreamError(
                OUTPUT_ERROR,
                f"{option}: {shown(path)} must end in {' or '.join(extensions[option])} (the format written); "
                f"got {suffix or 'no extension'!r}",
            )
        _check_not_input(option, path, inputs)
    options = list(given)
    for i, first in enumerate(options):
        for second in options[i + 1 :]:
            if same_path(given[first], given[second]):
                raise DeepDreamError(OUTPUT_ERROR, f"{first} and {second} name the same file {shown(given[first])}")


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
    text = "" if path is None else user_path(path)
    if not text.strip():
        raise DeepDreamError(OUTPUT_ERROR, f"{option}: the folder name is empty")
    folder = Path(text)
    status = path_stat(folder, option, OUTPUT_ERROR)
    if status is not None and not stat.S_ISDIR(status.st_mode):
        raise DeepDreamError(OUTPUT_ERROR, f"{option}: {shown(text)} is a file, not a folder")
    _check_not_input(option, text, inputs)
    existing = folder if status is not None else folder.parent
    existing_status = path_stat(existing, option, OUTPUT_ERROR)
    while parents and existing_status is None and existing != existing.parent:
        existing = existing.parent
        existing_status = path_stat(existing, option, OUTPUT_ERROR)
    if existing_status is not None and not stat.S_ISDIR(existing_status.st_mode):
        raise DeepDreamError(OUTPUT_ERROR, f"{option}: {shown(existing)} in {shown(text)} is a file, not a folder")
    if existing_status is None:
        raise DeepDreamError(
            OUTPUT_ERROR, f"{option}: the folder {shown(existing)} that would hold {shown(text)} does not exist"
        )
    check_name_lengths(folder, option, OUTPUT_ERROR)
    try:
        descriptor, probe = tempfile.mkstemp(dir=existing, prefix=".write-check-", suffix=PART_SUFFIX)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as exc:
        raise DeepDreamError(OUTPUT_ERROR, f"{option}: {shown(existing)} is not writable ({os_reason(exc)})") from None
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
