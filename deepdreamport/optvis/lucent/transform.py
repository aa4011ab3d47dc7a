"""lucent's ``optvis.transform`` names (see :mod:`deepdreamport.optvis.transform`, which they are).

Called directly (``transform.jitter(8)(images)``, ``transform.compose(transforms)(images)``)
they draw from NumPy's global stream with lucent's geometry, as lucent's do.
"""

from ..transform import (
    compose,
    jitter,
    normalize,
    pad,
    preprocess_inceptionv1,
    random_rotate,
    random_scale,
    standard_transforms,
)

__all__ = [
    "compose",
    "jitter",
    "normalize",
    "pad",
    "preprocess_inceptionv1",
    "random_rotate",
    "random_scale",
    "standard_transforms",
]
