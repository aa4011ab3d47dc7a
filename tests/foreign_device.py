"""A stand-in accelerator for the CPU test suite: real values on the CPU, a foreign device tag.

No GPU is needed to catch the commonest GPU bug: a tensor made on the CPU (``torch.from_numpy``,
``torch.tensor`` without ``device=``, a CPU generator's draw) meeting the network's tensors on
the accelerator ("Expected all tensors to be on the same device, cuda:0 and cpu"). Inside
:func:`foreign_device`, the device ``meta`` stands for that accelerator: every tensor made on it,
moved to it or computed from it is a :class:`Foreign` tensor whose device is ``meta`` but which
holds real values in a CPU tensor, so whole runs give their real numbers (the same as on the
CPU: the same kernels run), while every aten operation checks its tensor arguments as CUDA does:

* a CPU tensor with at least one dimension next to a foreign one is refused with CUDA's message
  (zero-dimensional CPU tensors are scalars and allowed, as on CUDA; copies between the devices
  and CPU *indices* of advanced indexing are allowed, as on CUDA);
* a CPU ``torch.Generator`` drawing values on the foreign device is refused, as on CUDA;
* ``.numpy()`` of a foreign tensor fails, as for a CUDA tensor (it has no CPU memory).

Why ``meta``: autograd's engine treats ``cuda`` and ``privateuseone`` tensors as accelerator
tensors with streams (a CUDA build without a GPU then fails in the engine), ``meta`` as a plain
device; and ``meta`` is refused by every door (no run ever uses it), so nothing confuses it with
a real run. The fixture :func:`accelerator` turns the harness on for a test and makes the doors'
``resolve_device`` answer ``meta`` for ``'gpu'``/``'cuda'``/``'auto'``.

Fidelity: the same CPU kernels run, so a run on the stand-in gives the CPU's numbers bit for bit
when its batches are the same (``tests/test_devices.py`` checks every door that way).
"""

from __future__ import annotations

import contextlib
from typing import Any, Iterator

import pytest
import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_map

FOREIGN = torch.device("meta")
CPU = torch.device("cpu")
aten = torch.ops.aten

# operations that take tensors on two devices on CUDA too
_COPIES = {aten._to_copy.default, aten.copy_.default, aten._copy_from.default, aten._copy_from_and_resize.default}
_CPU_INDICES_ALLOWED = {
    aten.index.Tensor,
    aten.index_put_.default,
    aten.index_put.default,
    aten._index_put_impl_.default,
}


class DeviceMixup(RuntimeError):
    """A CPU tensor met a tensor on the foreign device (CUDA's "Expected all tensors to be on the same device")."""


class Foreign(torch.Tensor):
    """A tensor on the foreign device (``meta``) whose values live in the CPU tensor ``elem``."""

    elem: torch.Tensor

    @staticmethod
    def __new__(cls, elem: torch.Tensor) -> "Foreign":
        wrapper = torch.Tensor._make_wrapper_subclass(
            cls,
            elem.size(),
            strides=elem.stride(),
            storage_offset=elem.storage_offset(),
            dtype=elem.dtype,
            layout=elem.layout,
            device=FOREIGN,
            requires_grad=elem.requires_grad,
        )
        wrapper.elem = elem
        torch._C._set_conj(wrapper, elem.is_conj())  # lazy conjugation and negation are flags of the tensor
        torch._C._set_neg(wrapper, elem.is_neg())
        return wrapper

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"Foreign({self.elem!r})"

    def tolist(self):  # CUDA tensors copy to the host for tolist
        return self.elem.tolist()

    def numpy(self, *, force: bool = False):
        raise TypeError(
            f"can't convert {FOREIGN.type} device type tensor to numpy. Use Tensor.cpu() to copy the tensor to host "
            "memory first."
        )

    def __array__(self, dtype=None, copy=None):
        return self.numpy()

    @classmethod
    def __torch_dispatch__(cls, func, types, args=(), kwargs=None):
        return _run(func, args, kwargs or {})


def _is_foreign_device(value: Any) -> bool:
    return isinstance(value, (torch.device, str)) and torch.device(value).type == FOREIGN.type


def _run(func, args: tuple, kwargs: dict):
    """Run ``func`` on the CPU values, after CUDA's device checks; results on the foreign device are wrapped."""
    cpu_tensors: list[str] = []  # where CPU tensors with dimensions were found: "indices" (in a list) or ""
    foreign_seen = [False]

    def unwrap(value: Any, where: str = "") -> Any:
        if isinstance(value, Foreign):
            foreign_seen[0] = True
            return value.elem
        if isinstance(value, torch.Tensor) and value.device.type == "cpu" and value.dim() > 0:
            cpu_tensors.append(where)
        return value

    plain_args = [[unwrap(v, "indices") for v in a] if isinstance(a, (list, tuple)) else unwrap(a) for a in args]
    plain_kwargs = {k: unwrap(v) for k, v in kwargs.items()}
    device_kwarg = plain_kwargs.get("device")
    if _is_foreign_device(device_kwarg):
        plain_kwargs["device"] = CPU
        foreign_seen[0] = True
        generator = plain_kwargs.get("generator")
        if generator is not None and generator.device.type == "cpu":
            raise DeviceMixup(f"Expected a '{FOREIGN.type}' device type for generator but found 'cpu' ({func})")
    if foreign_seen[0] and cpu_tensors and func not in _COPIES:
        if not (func in _CPU_INDICES_ALLOWED and set(cpu_tensors) == {"indices"}):
            raise DeviceMixup(
                f"Expected all tensors to be on the same device, but found at least two devices, {FOREIGN} and cpu! "
                f"({func})"
            )
    out = func(*plain_args, **plain_kwargs)
    if not foreign_seen[0]:
        return out  # a CPU operation
    if func is aten._to_copy.default and device_kwarg is not None and torch.device(device_kwarg).type == "cpu":
        return out  # copied back to the host
    returns = func._schema.returns
    if len(returns) == 1 and returns[0].alias_info is not None and returns[0].alias_info.is_write:
        return kwargs["out"] if "out" in kwargs else args[0]  # in place: the argument itself
    return tree_map(lambda t: Foreign(t) if type(t) is torch.Tensor else t, out)


class _ForeignFactories(TorchDispatchMode):
    """Tensors *made* on the foreign device (factories, ``.to('meta')`` of CPU tensors) become :class:`Foreign`."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if any(issubclass(t, Foreign) for t in types) or _is_foreign_device(kwargs.get("device")):
            return _run(func, args, kwargs)
        return func(*args, **kwargs)


_FROM_DATA = {torch.tensor, torch.as_tensor, torch.Tensor.new_tensor}


class _ForeignFromData(TorchFunctionMode):
    """``torch.tensor(data, device='meta')`` and kin copy their data below the dispatcher: made on the CPU here,
    then moved (a dispatched copy, so it becomes :class:`Foreign`)."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in _FROM_DATA:
            target = kwargs.get("device")
            if func is torch.Tensor.new_tensor and target is None and isinstance(args[0], Foreign):
                target = FOREIGN
                kwargs.setdefault("dtype", args[0].dtype)
            if _is_foreign_device(target):
                kwargs["device"] = CPU
                return func(*args, **kwargs).to(FOREIGN)
        return func(*args, **kwargs)


@contextlib.contextmanager
def foreign_device() -> Iterator[torch.device]:
    """While open, ``meta`` is a stand-in accelerator with real values (see the module docstring); yields it."""
    with _ForeignFromData(), _ForeignFactories():
        yield FOREIGN


@pytest.fixture
def accelerator(monkeypatch):
    """While a test runs: the stand-in accelerator on, and the doors' ``'gpu'`` (``'auto'``, ``'cuda'``) is it."""
    import importlib
    import sys

    from deepdreamport.doors import run

    for name in ("doors.cli", "doors.matlab", "doors.python", "optvis.cli", "optvis.rendering", "parity.cli"):
        importlib.import_module(f"deepdreamport.{name}")  # every module that binds resolve_device, loaded now
    resolve = run.resolve_device

    def resolve_foreign(environment, argument="ExecutionEnvironment"):
        if str(environment).lower() in ("gpu", "cuda", "auto", "meta"):
            return FOREIGN
        return resolve(environment, argument)

    for name, module in list(sys.modules.items()):
        if name.startswith("deepdreamport") and getattr(module, "resolve_device", None) is resolve:
            monkeypatch.setattr(module, "resolve_device", resolve_foreign)
    with foreign_device() as device:
        yield device
