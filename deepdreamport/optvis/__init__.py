"""Feature visualisation in the style of Lucid/lucent, on the package's networks.

``render(net, objective, ...)`` optimises an image parametrisation
(:mod:`.param`) through random transforms (:mod:`.transform`) for an
objective (:mod:`.objectives`), on an ONNX graph or a torch module
(:mod:`.network`), in :mod:`.rendering`. lucent's habits are accepted, and
:mod:`deepdreamport.optvis.lucent` has lucent's own names (change the import of
a lucent script and nothing else). See the README's optvis section.

The names load on first use (:mod:`deepdreamport._lazy`), so that ``deepdream render --help``
(:mod:`.commands`) imports no torch.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and import-linter
    from . import objectives, param, transform
    from .network import OptvisNetwork, as_network
    from .rendering import RenderResult, render

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "OptvisNetwork": ".network:OptvisNetwork",
        "RenderResult": ".rendering:RenderResult",
        "as_network": ".network:as_network",
        "objectives": ".objectives",
        "param": ".param",
        "render": ".rendering:render",
        "transform": ".transform",
    },
)

__all__ = ["OptvisNetwork", "RenderResult", "as_network", "objectives", "param", "render", "transform"]
