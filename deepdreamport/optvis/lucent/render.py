"""lucent's ``optvis.render``: ``render_vis`` and its helpers, on :func:`deepdreamport.optvis.render`.

``render_vis`` takes lucent's arguments and returns what lucent's returns: a list
of ``K×H×W×C`` arrays, one per step of ``thresholds`` (plus the images at the
step reached when Ctrl-C ends it early). It renders in lucent mode
(``lucent=True``, ``seed=None``: lucent's draws from NumPy's and torch's global
streams, lucent's transform geometry and resize to 224), so lucent's seeds give
lucent's numbers; see :mod:`deepdreamport.optvis.lucent` for what differs.
For this package's own result (losses, device, saving and showing), call
:func:`deepdreamport.optvis.render`.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
import torch

from ..rendering import export as _export
from ..rendering import render
from ..transform import preprocess_inceptionv1
from . import param


def render_vis(
    model,
    objective_f,
    param_f=None,
    optimizer=None,
    transforms=None,
    thresholds=(512,),
    verbose: bool = False,
    preprocess: bool = True,
    progress: bool = True,
    show_image: bool = True,
    save_image: bool = False,
    image_name: Optional[str] = None,
    show_inline: bool = False,
    fixed_image_size: Optional[int] = None,
) -> list:
    """lucent ``render_vis``: the images at each of ``thresholds``."""
    if preprocess is True and isinstance(model, torch.nn.Module) and model._get_name() == "InceptionV1":
        preprocess = preprocess_inceptionv1()  # lucent's special case for Lucid's InceptionV1
    result = render(
        model,
        objective_f,
        param=param_f if param_f is not None else (lambda: param.image(128)),
        optimizer=optimizer,
        transforms="standard" if transforms is None else transforms,
        thresholds=thresholds,
        verbose=verbose,
        preprocess=preprocess,
        progress=progress,
        show_image=show_image,
        show_inline=show_inline,
        save_image=save_image,
        image_name=image_name,
        fixed_image_size=fixed_image_size,
        lucent=True,
        seed=None,
    )
    images = [result.snapshots[step] for step in sorted(result.snapshots)]
    if result.interrupted:
        images.append(result.images)
    return images


def tensor_to_img_array(tensor: torch.Tensor) -> np.ndarray:
    """lucent: a K×C×H×W tensor as a K×H×W×C array."""
    return np.transpose(tensor.cpu().detach().numpy(), [0, 2, 3, 1])


def view(tensor: torch.Tensor) -> None:
    """lucent: show the images side by side (inline in Jupyter; the system's viewer where there is a display)."""
    from ..rendering import RenderResult

    images = tensor_to_img_array(tensor)
    RenderResult(images, np.empty(0), labels=tuple(f"image {k}" for k in range(len(images)))).show()


def export(tensor: torch.Tensor, image_name: Optional[str] = None):
    """lucent: save the images side by side as ``uint8(255 × x)`` to ``image_name`` (default ``image.jpg``)."""
    return _export(tensor_to_img_array(tensor), image_name)


class ModuleHook:
    """lucent: keep a module's latest output in ``features`` (``close()`` removes the hook)."""

    def __init__(self, module: torch.nn.Module):
        self.hook = module.register_forward_hook(self.hook_fn)
        self.module = None
        self.features = None

    def hook_fn(self, module, input, output) -> None:  # noqa: A002 - lucent's argument name
        self.module = module
        self.features = output

    def close(self) -> None:
        self.hook.remove()


__all__ = ["ModuleHook", "export", "render_vis", "tensor_to_img_array", "view"]
