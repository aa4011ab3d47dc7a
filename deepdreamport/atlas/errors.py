"""The atlas's error types.

An :class:`AtlasInputError` names the argument it is about by its Python name (``layers``,
``channels``, ``examples``, ...). Its text says ``layers=...`` where Python code raised it
through :func:`~deepdreamport.atlas.run_atlas`, and the command line prints the flag
instead (``--layers``, :func:`flag_message`), so each side reads its own spelling.
"""

from __future__ import annotations

from typing import Optional

FLAGS = {
    "model": "MODEL",
    "out": "--out",
    "verify": "--verify",
    "layers": "--layers",
    "channels": "--channels",
    "recipe": "--recipe",
    "params": "recipe parameters",
    "examples": "--examples",
    "engine": "--engine",
    "workers": "--workers",
    "ray_address": "--ray-address",
    "batch": "--batch",
    "shard": "--shard",
    "seed": "--seed",
    "max_attempts": "--max-attempts",
    "new": "--new",
    "yes": "--yes",
}
"""Each Python argument's command-line spelling."""


class AtlasInputError(ValueError):
    """Bad input: one line naming the argument; nothing has been written.

    ``argument`` is the Python name (``None`` when the message needs no name); ``str()`` is
    ``"argument: message"`` in Python's spelling, :func:`flag_message` the command line's.
    """

    def __init__(self, message: str, argument: Optional[str] = None):
        self.argument = argument
        self.reason = " ".join(str(message).split())
        super().__init__(f"{python_name(argument)}: {self.reason}" if argument else self.reason)


def python_name(argument: str) -> str:
    """``params.steps`` → ``params['steps']``; any other argument as it is."""
    if argument.startswith("params."):
        return f"params[{argument.split('.', 1)[1]!r}]"
    return argument


def flag_name(argument: str) -> str:
    """``layers`` → ``--layers``, ``params.steps`` → ``--steps``, ``model`` → ``MODEL``."""
    if argument.startswith("params."):
        argument = argument.split(".", 1)[1]
    return FLAGS.get(argument, "--" + argument.replace("_", "-"))


def flag_message(error: AtlasInputError) -> str:
    """The error as the command line words it: ``--layers: ...`` for ``layers``."""
    if error.argument is None:
        return error.reason
    return f"{flag_name(error.argument)}: {error.reason}"


class EngineError(RuntimeError):
    """An engine cannot go on (workers cannot start, or keep dying)."""
