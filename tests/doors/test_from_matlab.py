"""The "From MATLAB" block of docs/matlab.md (MathWorks' deepDreamImage examples on EfficientNet-Lite0), run as written."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from PIL import Image

from ..conftest import REPO


def from_matlab_block() -> str:
    page = (REPO / "docs" / "matlab.md").read_text()
    section = page[page.index("## From MATLAB") :]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_from_matlab_block_runs_as_written(tmp_path):
    (tmp_path / "models").symlink_to(REPO / "models", target_is_directory=True)
    here = os.getcwd()
    os.chdir(tmp_path)
    try:
        namespace: dict = {}
        exec(compile(from_matlab_block(), "docs/matlab.md (From MATLAB)", "exec"), namespace)
    finally:
        os.chdir(here)
    classes = namespace["I"]
    assert classes.shape == (313, 313, 3, 6) and classes.dtype == np.float32  # 224 × 1.4 at the second level
    assert Image.open(tmp_path / "out" / "features.png").size == (4 * 19, 4 * 19)
    assert Image.open(tmp_path / "out" / "classes.png").size == (3 * (313 + 4), 2 * (313 + 4))
    assert len({classes[:, :, :, k].tobytes() for k in range(6)}) == 6  # trained weights: six different pictures
