"""Recipes: shared and per-recipe parameters, the diversity set, maco, and what each recipe's command line says."""

from __future__ import annotations

import shlex

import pytest
from PIL import Image

from deepdreamport.atlas.recipes import RecipeError, get_recipe, recipe_names, recipe_parameters
from deepdreamport.atlas.worker import RenderTask, UnitRenderer

from .conftest import TINYNET


def test_parameters_are_shared_by_the_recipes_that_take_them():
    params = recipe_parameters(["matlab", "lucid", "maco"], {"steps": 8, "levels": 2, "lucid": {"size": 48}})
    assert params["lucid"] == {"steps": 8, "size": 48, "param": "fft"}
    assert params["maco"] == {"steps": 8, "size": 128}
    assert params["matlab"] == {"levels": 2, "iterations": 10, "scale": 1.4}
    assert recipe_names("matlab, lucid") == ["matlab", "lucid"] == recipe_names(["matlab", "lucid"])
    with pytest.raises(RecipeError, match=r"^params\['weight'\]: recipe 'matlab' has no parameter 'weight'; recipe"):
        recipe_parameters(["matlab"], {"weight": 3.0})
    with pytest.raises(RecipeError, match=r"^params\['size'\]: 8 is out of range for recipe 'lucid'"):
        recipe_parameters(["lucid"], {"size": 8})
    with pytest.raises(RecipeError, match="^recipe: no recipe named"):
        recipe_names(" , ")


@pytest.mark.slow
def test_the_diversity_set_and_maco(tmp_path):
    recipes = {"diversity": {"steps": 2, "size": 32, "param": "fft", "weight": 100.0}, "maco": {"steps": 2, "size": 32}}
    renderer = UnitRenderer(str(TINYNET), recipes, 0, threads=None)
    diversity = renderer.render(RenderTask("conv2", 5, "diversity", (1, 2), (1, 2))).units
    (tmp_path / "d.png").write_bytes(diversity[0].png)
    with Image.open(tmp_path / "d.png") as image:
        assert image.size == (4 * 32 + 3 * 2, 32)  # four images side by side
    assert all(unit.activation is not None and len(unit.curve) == 2 for unit in diversity)
    assert diversity[0].sha256 != diversity[1].sha256
    maco = renderer.render(RenderTask("fc", 9, "maco", (3,), (7,))).units[0]
    assert maco.options == {"fixed_image_size": 32}  # a fully connected layer takes its input size only
    command = get_recipe("maco").command_line("m.onnx", "fc", 3, recipes["maco"], 11, maco.options)
    assert command.startswith("OMP_NUM_THREADS=1 python -c ") and "fixed_image_size=32" in command
    command = shlex.split(get_recipe("diversity").command_line("m.onnx", "conv2", 1, recipes["diversity"], 5, {}))
    assert command[:3] == ["OMP_NUM_THREADS=1", "python", "-c"]
    assert "o.diversity('conv2')" in command[3] and "batch=4" in command[3] and "seed=5" in command[3]
