"""The atlas on a network whose batch an export pinned to 1 (a CoordConv grid folded to a 1×2×16×16 constant).

Reference: the same network with its grid expanded to the batch (any batch; ``tests/export_networks.py``),
rendered and scored by the same worker: a diversity set (4 images optimised together), the activation of each
unit on its own images, and a chunk of example images scored 3 at a time.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from deepdreamport.atlas.examples.sources import folder_items
from deepdreamport.atlas.worker import ExampleTask, RenderTask, UnitRenderer
from tests.export_networks import coordconv
from tests.optvis.conftest import relative_error

RECIPES = {"diversity": {"steps": 2, "size": 16, "param": "fft", "weight": 100.0}}


def test_renders_activations_and_examples_match_the_network_that_takes_the_batch(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    rng = np.random.RandomState(0)
    for k in range(5):
        Image.fromarray((rng.rand(16, 16, 3) * 255).astype(np.uint8)).save(folder / f"{k}.png")
    items = tuple(folder_items(folder))
    results = []
    for pinned in (True, False):
        renderer = UnitRenderer(coordconv(tmp_path / f"{pinned}.onnx", 16, pinned), RECIPES, 0, threads=None)
        units = renderer.render(RenderTask("conv2", 3, "diversity", (1, 4), (1, 2))).units
        summary = renderer.score(ExampleTask(0, (1,), ("conv2",), ("y",), str(folder), items, 3)).summary
        results.append((units, summary.layers["conv2"]))
    (pinned_units, pinned_examples), (free_units, free_examples) = results
    for pinned_unit, free_unit in zip(pinned_units, free_units):
        assert pinned_unit.activation is not None and free_unit.activation is not None
        assert abs(pinned_unit.activation - free_unit.activation) <= 1e-5 * abs(free_unit.activation)
        assert relative_error(pinned_unit.curve, free_unit.curve) < 1e-5
    np.testing.assert_array_equal(pinned_examples.items, free_examples.items)
    assert relative_error(pinned_examples.total, free_examples.total) < 1e-5
