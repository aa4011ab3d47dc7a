"""Fix-up pass: empty and repeated node names → unique names, the same for the same graph every time.

No MATLAB counterpart (MATLAB's layer names are unique by construction). Some
exporters write nodes without names (old TorchScript exports, hand-built graphs)
or with the same name twice (graphs merged or edited by tools; onnxruntime refuses
them, onnx's checker does not). onnx2torch names its modules by node name, ``.``
read as ``/``, with a counter for repeats (``a``, ``a_1``), so a node really named
``a_1`` collides with the second ``a`` and its input is lost ("unexpected input
value type"); the layer table (:mod:`deepdreamport.nets.layers`) would merge
same-named nodes into one row.

Names are given in graph order, so the same file always gets the same names:

* a node without a name gets its first output's name (what the layer table already
  shows for it: ``node_name``), or that name with ``_2``, ``_3``, … when taken;
* the second and later nodes of a repeated name get ``<name>_2``, ``<name>_3``, …
  (the first keeps its name, so layer names users already use stay valid).

Names count as repeated when onnx2torch would give them the same module name
(``a.b`` and ``a/b``). A graph whose names are unique and non-empty is returned
unchanged.
"""

from __future__ import annotations

import onnx

from ..graph import copy_model


def _module_name(domain: str, name: str) -> str:
    """The module name onnx2torch makes of a node's name (``OnnxGraph.generate_node_name``)."""
    return f"{domain}/{name.replace('.', '/')}".lstrip("/")


def unique_node_names(model: onnx.ModelProto) -> onnx.ModelProto:
    """Give every node a non-empty name no other node shares (see the module's description)."""
    keys = [_module_name(node.domain, node.name) for node in model.graph.node if node.name]
    if len(keys) == len(model.graph.node) and len(set(keys)) == len(keys):
        return model
    model = copy_model(model)
    taken = set(keys)  # every given name is reserved, those of later nodes included
    kept: set[str] = set()
    for node in model.graph.node:
        key = _module_name(node.domain, node.name)
        if node.name and key not in kept:
            kept.add(key)
            continue
        base = node.name or next((output for output in node.output if output), node.op_type)
        name, counter = base, 2
        while _module_name(node.domain, name) in taken:
            name, counter = f"{base}_{counter}", counter + 1
        node.name = name
        taken.add(_module_name(node.domain, name))
    return model
