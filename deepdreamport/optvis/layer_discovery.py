"""The layers an objective reads, found by evaluating it: for lucent's ``render_vis(model, lambda T: ...)``.

lucent hooks every module of the model, so an objective may read any layer by
name without declaring it. This package runs only what an objective needs
(the extracted subgraph of an ONNX graph, hooks on the named modules), so it
needs the names first. For an objective that does not declare them (a plain
callable, lucent's ``Objective(f)``, ``@wrap_objective()``), :func:`layers_read`
evaluates it on one probe batch with a ``T`` that answers the layers found so
far and, for any other name, checks the name (an unknown one is refused in one
line listing the nearest layer names) and runs the network again with that
layer added, until the objective returns. The probe draws no random numbers
(the render's streams are untouched); an objective that fails on the probe for
another reason keeps the layers found up to then, and the render reports its
error.

Shape:
    ``images``: the batch entering the network, ``K×C×H×W``; ``image``: the
    0–1 image ``T("input")`` returns.
"""

from __future__ import annotations

from typing import Callable, Optional

import torch

from ._network import DeepDreamError
from .network import OptvisNetwork
from .objectives import Objective

MAX_LAYERS = 64  # an objective reading more undeclared layers than this is stopped


class _Unread(Exception):
    def __init__(self, layer: str):
        super().__init__(layer)
        self.layer = layer


def _probe_reader(activations: dict) -> Callable[[str], torch.Tensor]:
    """``T`` over the layers computed so far; any other name stops the evaluation with :class:`_Unread`."""

    def T(name: str) -> torch.Tensor:
        if not isinstance(name, str):
            raise DeepDreamError(
                "deepdreamport:optvis:BadObjective", f"objective: T(layer) takes a layer name (a string); got {name!r}."
            )
        if name in activations:
            return activations[name]
        raise _Unread(name)

    return T


def layers_read(
    network: OptvisNetwork,
    objective: Objective,
    images: torch.Tensor,
    image: torch.Tensor,
    forward_for: Callable[[list], Callable[[torch.Tensor], dict]],
) -> tuple[str, ...]:
    """The layers ``objective`` reads on ``images``, in the order it first reads them.

    ``forward_for(layers)`` returns a function from ``images`` to ``{layer: activations}``.
    """
    layers: list[str] = []
    while True:
        with torch.no_grad():
            activations = forward_for(layers)(images) if layers else {}
            activations["input"] = image
            try:
                objective(_probe_reader(activations))
                return tuple(layers)
            except _Unread as unread:
                network.resolve(unread.layer)  # an unknown name: one line with the nearest names
                if len(layers) >= MAX_LAYERS:
                    raise DeepDreamError(
                        "deepdreamport:optvis:BadObjective",
                        f"objective: it read more than {MAX_LAYERS} layers; declare them: Objective(f, layers=[...]).",
                    ) from None
                layers.append(unread.layer)
            except DeepDreamError:
                raise
            except Exception:  # noqa: BLE001 - the objective's own failure: the render reports it
                return tuple(layers)


def reader(activations: dict, declared: Optional[tuple] = None) -> Callable[[str], torch.Tensor]:
    """``T`` over ``activations``: a layer the objective did not read when its layers were found is
    one line naming the way to declare it (a plain ``KeyError`` otherwise)."""

    def T(name: str) -> torch.Tensor:
        try:
            return activations[name]
        except (KeyError, TypeError):
            raise DeepDreamError(
                "deepdreamport:optvis:BadObjective",
                f"objective: it read layer {name!r}, which it did not read on its first evaluation "
                f"(layers found: {', '.join(map(repr, declared or ())) or 'none'}); declare every layer it may "
                "read: Objective(f, layers=[...]).",
            ) from None

    return T
