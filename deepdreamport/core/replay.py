"""One pyramid level's iteration captured once and replayed: CUDA Graphs, and their CPU stand-in.

No MATLAB counterpart; the same numbers. An iteration at one level has static shapes: the K
images of the level's size, the tiles, the network pass and the Laplacian pyramid are the
same every iteration; only the roll changes. A GPU spends more time launching the iteration's
several hundred small operations than running them (issue 17), so
:class:`~.loop.StaticLevel` writes the iteration against static buffers — the level's state (updated in place), the roll
as a device tensor (read by gathers, :func:`~.tiles.roll_image`), the strength (written in
place) — and a :class:`Replay` backend captures it once and replays it:

* :class:`CudaGraphReplay`: ``torch.cuda.CUDAGraph`` (one launch per iteration), after a
  warm-up on a side stream as torch's documentation prescribes;
* :class:`RecordedReplay`: the CPU stand-in used by the tests. It records the aten
  operations of one call at the dispatcher and replays them with the arguments they had,
  reading only the tensors that existed before the capture (the static buffers, the
  network's weights, cached operators) — what a CUDA graph does with memory addresses — so a
  step that read a Python value or a host array at capture time would replay that stale value
  here too, and a step that synchronises with the host or copies host data is refused.

Off by default (:attr:`~.loop.DreamSettings.graphs`) until a GPU run has shown the same numbers.
"""

from __future__ import annotations

from typing import Callable, Optional, Protocol

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map


class CaptureError(RuntimeError):
    """The step cannot be captured: it reads a tensor on the host or makes one from host data."""


class Replay(Protocol):
    def capture(self, step: Callable[[], None]) -> None:
        """Warm up (run ``step`` once: caches, cuDNN's choices) and capture it."""
        ...

    def replay(self) -> None:
        """Run the captured operations again on the current contents of the static buffers."""
        ...


class CudaGraphReplay:
    """A ``torch.cuda.CUDAGraph`` of the step, warmed up on a side stream before capture."""

    def __init__(self, device: torch.device):
        self.device = device
        self.graph: Optional["torch.cuda.CUDAGraph"] = None

    def capture(self, step: Callable[[], None]) -> None:
        side = torch.cuda.Stream(self.device)
        side.wait_stream(torch.cuda.current_stream(self.device))
        with torch.cuda.stream(side):
            step()
        torch.cuda.current_stream(self.device).wait_stream(side)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            step()

    def replay(self) -> None:
        self.graph.replay()


# reading a value on the host (a synchronisation), or shapes that depend on values
_HOST_READS = {
    torch.ops.aten._local_scalar_dense.default,
    torch.ops.aten.nonzero.default,
    torch.ops.aten.masked_select.default,
    torch.ops.aten.equal.default,
    torch.ops.aten.is_nonzero.default,
}
_HOST_DATA = {torch.ops.aten.lift_fresh.default, torch.ops.aten.lift_fresh_copy.default}


class _Recorder(TorchDispatchMode):
    def __init__(self, tape: list):
        super().__init__()
        self.tape = tape

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in _HOST_READS:
            raise CaptureError(f"the captured step reads a tensor on the host ({func}): it cannot be replayed")
        if func in _HOST_DATA:
            raise CaptureError(f"the captured step makes a tensor from host data ({func}): it cannot be replayed")
        out = func(*args, **kwargs)
        self.tape.append((func, args, kwargs, out))
        return out


class RecordedReplay:
    """The CPU stand-in for a CUDA graph: replays the recorded aten operations (see the module docstring)."""

    def __init__(self) -> None:
        self.tape: list = []

    def capture(self, step: Callable[[], None]) -> None:
        step()  # the warm-up: fills the caches a capture must not build
        self.tape = []
        with _Recorder(self.tape):
            step()

    def replay(self) -> None:
        made: dict[tuple, torch.Tensor] = {}  # a tensor the capture made (by memory and view) -> its replayed value

        def current(value):
            return made.get(_place(value), value) if isinstance(value, torch.Tensor) else value

        with torch.no_grad():
            for func, args, kwargs, out in self.tape:
                result = func(*tree_map(current, args), **tree_map(current, kwargs))
                for captured, replayed in zip(tree_flatten(out)[0], tree_flatten(result)[0]):
                    if isinstance(captured, torch.Tensor):
                        made[_place(captured)] = replayed


def _place(tensor: torch.Tensor) -> tuple:
    """Where a tensor's values are: its memory and view. Autograd hands the backward pass new tensor
    objects for some saved results, on the same memory, so a tensor is known by this, not by identity."""
    return (
        tensor.untyped_storage().data_ptr(),
        tensor.storage_offset(),
        tuple(tensor.shape),
        tensor.stride(),
        tensor.dtype,
    )


def replay_for(device: torch.device) -> Replay:
    """CUDA graphs on CUDA devices, the recorded stand-in elsewhere (same numbers, no speed-up)."""
    return CudaGraphReplay(device) if device.type == "cuda" else RecordedReplay()
