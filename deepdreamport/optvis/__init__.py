"""Feature visualisation in the style of Lucid/lucent, on the package's networks.

``render(net, objective, ...)`` optimises an image parametrisation
(:mod:`.param`) through random transforms (:mod:`.transform`) for an
objective (:mod:`.objectives`), on an ONNX graph or a torch module
(:mod:`.network`). See the README's optvis section.
"""

from . import objectives, param, transform
from .network import OptvisNetwork, as_network
from .render import RenderResult, render

__all__ = ["OptvisNetwork", "RenderResult", "as_network", "objectives", "param", "render", "transform"]
