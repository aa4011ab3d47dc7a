"""The atlas's error types."""


class AtlasInputError(ValueError):
    """Bad input: the message is one line naming the argument; nothing has been written."""


class EngineError(RuntimeError):
    """An engine cannot go on (workers cannot start, or keep dying)."""
