"""lucent's ``modelzoo.util.get_model_layers``: a torch module's layer names as lucent's hooks name them."""

from __future__ import annotations

from collections import OrderedDict


def get_model_layers(model, getLayerRepr: bool = False):  # noqa: N803 - lucent's argument name
    """Every submodule's ``_``-joined path, in lucent's order; with ``getLayerRepr`` an ordered
    ``{name: repr(module)}`` (as lucent). These names, the ``.``-joined ones and ``"labels"`` all
    work as layers in objectives."""
    layers = OrderedDict() if getLayerRepr else []
    for name, module in model.named_modules(remove_duplicate=False):
        if not name:
            continue
        lucent_name = name.replace(".", "_")
        if getLayerRepr:
            layers[lucent_name] = repr(module)
        else:
            layers.append(lucent_name)
    return layers
