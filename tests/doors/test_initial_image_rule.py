"""The initial image's size rule through the command line: MATLAB R2019b+ (an output of at least 1×1 at the layer)."""

from __future__ import annotations

import numpy as np
from PIL import Image

from deepdreamport.cli import main

from ..conftest import TINYNET


def test_dream_takes_an_image_below_the_receptive_field_and_refuses_one_that_reaches_no_output(tmp_path, capsys):
    argv = ["dream", str(TINYNET), "--layer", "relu2", "--channels", "3", "--levels", "1", "--iterations", "1"]
    for size, status in (((6, 9), 0), ((5, 9), 2)):
        path = tmp_path / f"in{size[0]}.png"
        Image.fromarray(np.random.RandomState(1).randint(0, 255, (*size, 3), dtype=np.uint8)).save(path)
        out = tmp_path / f"out{size[0]}.png"
        assert main(argv + ["--image", str(path), "--out", str(out)]) == status
        err = capsys.readouterr().err.strip()
        assert out.is_file() is (status == 0)
        if status:
            (line,) = err.splitlines()
            assert "InitialImage" in line and "at least 1×1" in line and "5×9" in line and "6, 7, 8" in line
