"""Networks saved by torch as the model of ``deepdream render``: ``torch.export`` (``.pt2``) and TorchScript.

Forward hooks, which :mod:`.network` uses on torch modules, do not exist in
either: an exported program is one flat graph of aten operators, and a
TorchScript module runs outside Python. So both become a ``torch.fx`` graph
(``torch.export.load(...).module()``; TorchScript through torch's
TorchScript-to-export converter) read like an ONNX graph: the layers an
objective reads become the outputs of the graph cut after them
(:class:`FxGraph`, the interface of :class:`~._network.OnnxGraph` that
:class:`~.network.OptvisNetwork` uses), run in torch with gradients.

Layer names: the module paths of ``named_modules()`` (``features.0``; the
output of a module is its last operator), where the file records them
(``torch.export`` keeps each operator's module stack; for TorchScript, the
module whose weights an operator takes), and every operator's node name
(``conv2d_1``, ``relu``). The export's shape guards are dropped, so the cut
graph runs any batch and image size its operators allow (an export with a
fixed-size ``view`` before the layer still needs that size).

The image is mapped to the network's units with ImageNet normalisation, as for
torch modules (lucent's default), unless ``input_range`` is given.
"""

from __future__ import annotations

import logging
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import torch

from ._network import DeepDreamError, fx_layout, user_path

TORCH_SUFFIXES = (".pt2", ".pt", ".pth", ".ts", ".jit")


def _error(message: str) -> DeepDreamError:
    return DeepDreamError("deepdreamport:optvis:BadNetwork", f"MODEL: {message}")


@dataclass
class FxGraph:
    """A ``torch.fx`` image network as optvis sees it (the part of ``OnnxGraph``'s interface it uses).

    ``layers``: layer name → node name, in the graph's order.
    """

    module: torch.fx.GraphModule = field(repr=False)
    input_name: str
    input_channels: int
    input_size: tuple
    layers: dict
    convertible: bool = True
    why_not_convertible: str = ""

    def layer_names(self) -> list[str]:
        """The layer names, the input first (as ``OnnxGraph.layer_names``)."""
        return [self.input_name] + list(self.layers)

    def output_of(self, layer: str) -> str:
        if layer in self.layers:
            return self.layers[layer]
        raise DeepDreamError("deepdreamport:optvis:BadObjective", f"objective: no layer named {layer!r}")

    def input_mean(self) -> None:
        return None

    def layout_of(self, node_name: str) -> Optional[str]:
        """A 3-D node's layout from its module type or function (:func:`~deepdreamport.nets.layout.fx_layout`)."""
        return fx_layout(self.module, node_name)

    def torch_module(self, outputs: Sequence[str]) -> torch.fx.GraphModule:
        """The graph cut after the nodes ``outputs``, returning them in order (shape guards dropped)."""
        graph = torch.fx.Graph()
        copied: dict = {}
        wanted = list(outputs)
        for node in self.module.graph.nodes:
            if node.op == "output":
                break
            if node.op == "call_module" and str(node.target).startswith("_guards"):
                continue
            copied[node.name] = graph.node_copy(node, lambda argument: copied[argument.name])
        graph.output(tuple(copied[name] for name in wanted))
        graph.eliminate_dead_code()
        return torch.fx.GraphModule(self.module, graph)


def _module_path(node, parameters: dict) -> Optional[str]:
    """The module an operator belongs to: its innermost module stack entry, else the module of its weights."""
    stack = node.meta.get("nn_module_stack")
    path = list(stack.values())[-1][0] if stack else ""
    if path:
        return path
    for argument in node.all_input_nodes:
        if argument.op == "get_attr" and str(argument.target) in parameters:
            return str(argument.target).rpartition(".")[0] or None
    return None


def fx_graph(module: torch.fx.GraphModule) -> FxGraph:
    """The layers of an exported program's module (see the module docstring)."""
    parameters = dict(module.named_parameters()) | dict(module.named_buffers())
    placeholders = [node for node in module.graph.nodes if node.op == "placeholder"]
    if len(placeholders) != 1:
        raise _error(f"expected a network with one image input; this one takes {len(placeholders)} inputs.")
    image = placeholders[0]
    value = image.meta.get("val")
    shape = tuple(value.shape) if value is not None and hasattr(value, "shape") else ()
    layers: dict = {}
    for node in module.graph.nodes:
        if node.op not in ("call_function", "call_module") or str(node.target).startswith("_guards"):
            continue
        path = _module_path(node, parameters)
        if path is not None:
            parts = path.split(".")
            for end in range(1, len(parts) + 1):  # a module's output is the last operator inside it
                prefix = ".".join(parts[:end])
                layers.pop(prefix, None)
                layers[prefix] = node.name
        layers[node.name] = node.name
    if len(shape) == 4:
        channels, size = int(shape[1]), (int(shape[2]), int(shape[3]))
    else:
        weights = [p for p in parameters.values() if p.dim() == 4]
        channels, size = (int(weights[0].shape[1]) if weights else 3), (None, None)
    return FxGraph(module, image.name, channels, size, layers)


def load_torch_file(path) -> FxGraph:
    """A ``torch.export`` (``.pt2``) or TorchScript (``torch.jit.save``) file as an :class:`FxGraph`."""
    path = Path(user_path(path))  # ~ expanded, as every path the package reads
    if not zipfile.is_zipfile(path):
        raise _error(f"{str(path)!r} is neither a torch.export (.pt2) nor a TorchScript file (not a zip archive).")
    names = zipfile.ZipFile(path).namelist()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation warnings
        if any(name.endswith("/models/model.json") or name.endswith("archive_format") for name in names):
            try:
                program = torch.export.load(str(path))
            except Exception as error:  # noqa: BLE001 - torch raises many kinds for a bad archive
                raise _error(
                    f"torch.export.load cannot read {str(path)!r}: {' '.join(str(error).split())[:200]}"
                ) from None
            return fx_graph(program.module())
        if any("/code/" in name for name in names):
            scripted = torch.jit.load(str(path), map_location="cpu")
            return fx_graph(_script_to_export(scripted).module())
    raise _error(
        f"{str(path)!r} is a zip archive but not a torch.export or TorchScript file (a state_dict holds no network)."
    )


def _script_to_export(scripted) -> torch.export.ExportedProgram:
    """TorchScript → an exported program, through torch's converter (it needs an example input)."""
    try:
        from torch._export.converter import TS2EPConverter
    except ImportError:
        raise _error(
            "this torch has no TorchScript converter; save the network with torch.export.save (.pt2) instead."
        ) from None
    channels = 3
    for parameter in scripted.parameters():
        if parameter.dim() == 4:
            channels = int(parameter.shape[1])
            break
    example = torch.zeros(1, channels, 64, 64)
    quiet = [logging.getLogger(name) for name in ("torch._export", "torch.export")]
    levels = [logger.level for logger in quiet]
    try:
        for logger in quiet:  # the converter logs its shape specialisations as warnings
            logger.setLevel(logging.ERROR)
        return TS2EPConverter(scripted, (example,)).convert()
    except Exception as error:  # noqa: BLE001 - the converter raises many kinds
        raise _error(
            f"torch cannot convert this TorchScript network ({' '.join(str(error).split())[:200]}); "
            "save it with torch.export.save (.pt2) instead."
        ) from None
    finally:
        for logger, level in zip(quiet, levels):
            logger.setLevel(level)


def is_torch_file(path) -> bool:
    """Whether ``path`` names a torch file (by suffix) rather than an ONNX graph."""
    return Path(path).suffix.lower() in TORCH_SUFFIXES
