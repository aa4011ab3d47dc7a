"""The deep-dream objective: a channel's spatial sum, and its gradient (MATLAB's appended output layer).

Mirrors the output layer that MATLAB's ``deepDreamImage`` appends to the
truncated network: for batch element ``k`` the objective is the spatial sum of
channel ``channels(k)`` (backward seed 1 at every position of that channel) and
the reported activation ``z_k`` is that channel's spatial mean. A fully
connected layer's output is N×C, treated as 1×1 images whose channels are the
classes.
"""

from __future__ import annotations

import torch


def channel_objective_gradient(
    module: torch.nn.Module,
    images: torch.Tensor,
    channel_index: torch.Tensor,
    memory_format: torch.memory_format = torch.contiguous_format,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradient of each element's channel sum, and each element's channel mean.

    ``images`` enter the module in ``memory_format`` (the layout its weights
    were put in); the gradient is returned in the default layout.

    Shape:
        - images: :math:`(B, C, H, W)`; channel_index: :math:`(B)`, 0-based
        - output: gradient :math:`(B, C, H, W)` and activations :math:`(B)`

    Example:
        >>> conv = torch.nn.Conv2d(1, 2, 1, bias=False)
        >>> _ = conv.weight.data.copy_(torch.tensor([1.0, -3.0]).reshape(2, 1, 1, 1))
        >>> gradient, z = channel_objective_gradient(conv, torch.ones(2, 1, 2, 2), torch.tensor([0, 1]))
        >>> gradient[:, 0, 0, 0].tolist(), z.tolist()
        ([1.0, -3.0], [1.0, -3.0])
    """
    with torch.enable_grad():
        images = images.detach().contiguous(memory_format=memory_format).requires_grad_(True)
        output = module(images)
        if output.dim() == 2:  # fully connected: 1×1 "images", channels are classes
            output = output[:, :, None, None]
        selected = output[torch.arange(output.shape[0], device=output.device), channel_index]
        (gradient,) = torch.autograd.grad(selected.sum(), images)
    return gradient.contiguous(), selected.detach().mean(dim=(-2, -1))
