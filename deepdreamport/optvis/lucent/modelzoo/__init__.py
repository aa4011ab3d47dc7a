"""lucent's ``modelzoo``: only ``util.get_model_layers`` (the networks download weights; none here)."""

from . import util

__all__ = ["util"]
