"""A least-recently-used cache of device tensors, bounded per device.

No MATLAB counterpart. The resize and pyramid operators are built once per
(size, dtype, device) and reused every iteration; ``functools.lru_cache`` would
bound them all together, so a process that has used several devices could keep
one device's tensors alive on behalf of another's entries. Here each device has
its own bound, and :func:`clear_device_caches` frees them all.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any, Callable, TypeVar

import torch

Result = TypeVar("Result")
_CACHES: list[dict[torch.device, OrderedDict]] = []


def cached_per_device(maxsize: int) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Cache a function whose last positional argument is a ``torch.device``, ``maxsize`` entries per device.

    Example:
        >>> calls = []
        >>> @cached_per_device(maxsize=1)
        ... def zeros(n, device):
        ...     calls.append(n)
        ...     return torch.zeros(n, device=device)
        >>> _ = zeros(2, torch.device("cpu")); _ = zeros(2, torch.device("cpu")); _ = zeros(3, torch.device("cpu"))
        >>> _ = zeros(2, torch.device("cpu"))  # evicted by 3: computed again
        >>> calls
        [2, 3, 2]
    """

    def decorate(function: Callable[..., Result]) -> Callable[..., Result]:
        caches: dict[torch.device, OrderedDict] = {}
        _CACHES.append(caches)

        @functools.wraps(function)
        def cached(*args: Any) -> Result:
            *key, device = args
            entries = caches.setdefault(torch.device(device), OrderedDict())
            key = tuple(key)
            if key in entries:
                entries.move_to_end(key)
                return entries[key]
            value = function(*args)
            entries[key] = value
            if len(entries) > maxsize:
                entries.popitem(last=False)
            return value

        return cached

    return decorate


def clear_device_caches() -> None:
    """Drop every cached tensor of every device."""
    for caches in _CACHES:
        caches.clear()
