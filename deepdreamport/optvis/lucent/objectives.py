"""lucent's ``optvis.objectives`` names (see :mod:`deepdreamport.optvis.objectives`, which they are)."""

from ..objectives import (
    Objective,
    alignment,
    as_objective,
    blur_input_each_step,
    channel,
    channel_interpolate,
    channel_weight,
    direction,
    direction_neuron,
    diversity,
    handle_batch,
    localgroup_weight,
    neuron,
    neuron_weight,
    wrap_objective,
)

__all__ = [
    "Objective",
    "alignment",
    "as_objective",
    "blur_input_each_step",
    "channel",
    "channel_interpolate",
    "channel_weight",
    "direction",
    "direction_neuron",
    "diversity",
    "handle_batch",
    "localgroup_weight",
    "neuron",
    "neuron_weight",
    "wrap_objective",
]
