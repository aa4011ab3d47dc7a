"""lucent's names on this package: change ``from lucent.optvis import ...`` and nothing else.

``from deepdreamport.optvis.lucent import render, param, transform, objectives`` gives
modules with torch-lucent 0.1.8's names and signatures (``render.render_vis``,
``param.image``, ``param.cppn``, ``param.lowres_tensor``, ``transform.standard_transforms``,
``objectives.channel``, ...), and ``deepdreamport.optvis.lucent.modelzoo.util.get_model_layers``.
They run on :func:`deepdreamport.optvis.render` in lucent mode (``lucent=True``:
lucent's transform draws from NumPy's global stream and its geometry) with
``seed=None`` (the initial values from torch's global stream), so a lucent
script seeded with ``torch.manual_seed`` and ``np.random.seed`` gives lucent's
numbers (``tests/optvis/test_lucent_namespace.py`` checks the reference cases
of ``parity/lucent`` this way).

What differs from lucent, and why:

- a parametrisation without an optimiser gets its own learning rate (the CPPN
  0.005, lucent's tutorial's, instead of ``render_vis``'s 0.05, which renders a
  flat colour); pass ``optimizer=`` for lucent's;
- ``show_image=True`` (lucent's default) opens the system's viewer only where
  there is a display, and shows the images inline in Jupyter;
- ``model`` may also be an ONNX file or graph (layers named as ``deepdream
  layers`` shows them); a torch module is moved to the parametrisation's
  device and dtype, as ``render`` does;
- ``lucent.modelzoo``'s networks are not provided (they download weights).
"""

from . import modelzoo, objectives, param, render, transform

__all__ = ["modelzoo", "objectives", "param", "render", "transform"]
