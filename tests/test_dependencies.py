"""Optional dependencies are extras; a feature that needs a missing one says which extra, in one line.

Each missing module is simulated in this process: its entry (and its submodules' entries) in
``sys.modules`` set to ``None``, which makes ``import`` fail as for a module that is not installed.
"""

from __future__ import annotations

import json
import re
import sys
import tomllib

import pytest

from deepdreamport.cli import main as deepdream_main
from deepdreamport.dependencies import MISSING_DEPENDENCY, OPTIONAL, require
from deepdreamport.errors import DeepDreamError

from .conftest import REFERENCE, REPO

TINYNET = REFERENCE / "models" / "tinynet.onnx"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[<>=!~\[ ;]", requirement, maxsplit=1)[0].lower() for requirement in requirements}


@pytest.fixture
def missing(monkeypatch):
    """``missing("nevergrad")``: importing it (or any of its submodules) fails from now on in this test."""

    def block(module: str) -> None:
        for name in [name for name in sys.modules if name.startswith(module + ".")]:
            monkeypatch.setitem(sys.modules, name, None)
        monkeypatch.setitem(sys.modules, module, None)

    return block


def test_the_core_installs_no_optional_dependency_and_each_extra_brings_its_own():
    extras = PYPROJECT["optional-dependencies"]
    core = _names(PYPROJECT["dependencies"])
    for module, (distribution, extra) in OPTIONAL.items():
        assert distribution not in core, distribution
        assert distribution in _names(extras[extra]) and distribution in _names(extras["all"]), (module, extra)
    assert _names(extras["optvis"]) <= _names(extras["atlas"])  # the atlas's recipes are optvis renders
    lock = _names((REPO / "requirements" / "lock.txt").read_text().split())
    assert _names(extras["all"]) <= lock
    assert '".[all,test]"' in (REPO / "dev").read_text()  # ./dev setup (and so .ci/run) installs every extra


def test_render_with_a_gradient_free_optimiser_names_the_optvis_extra(missing, tmp_path, capsys):
    missing("nevergrad")
    out = tmp_path / "render.png"
    argv = ["render", str(TINYNET), "--objective", "relu2:1", "--size", "24", "--steps", "2", "--out", str(out)]
    assert deepdream_main([*argv, "--optimizer", "cmaes"]) == 2
    assert capsys.readouterr().err == (
        "deepdream render: error: --optimizer cmaes needs nevergrad: pip install 'deepdreamport[optvis]'\n"
    )
    assert list(tmp_path.iterdir()) == []

    from deepdreamport.optvis.gradient_free import make_optimizer

    with pytest.raises(DeepDreamError, match=r"needs nevergrad: pip install 'deepdreamport\[optvis\]'") as caught:
        make_optimizer("ga", 4, 4, 0.1, 0)
    assert caught.value.identifier == MISSING_DEPENDENCY


def test_maco_names_the_optvis_extra_for_scikit_image(missing, tmp_path, capsys):
    missing("skimage")
    argv = ["render", str(TINYNET), "--objective", "relu2:1", "--size", "24", "--steps", "2"]
    assert deepdream_main([*argv, "--param", "maco", "--out", str(tmp_path / "m.png")]) == 2
    assert capsys.readouterr().err == (
        "deepdream render: error: --param maco needs scikit-image: pip install 'deepdreamport[optvis]'\n"
    )
    from deepdreamport.optvis.param import natural

    with pytest.raises(DeepDreamError, match=r"MACO .* needs scikit-image: pip install 'deepdreamport\[optvis\]'"):
        natural._images(3)


def test_a_graph_without_onnx2torch_names_the_optvis_extra_for_onnxruntime(missing):
    from deepdreamport.optvis import as_network

    network = as_network(str(TINYNET))
    missing("onnxruntime")
    with pytest.raises(DeepDreamError, match=r"needs onnxruntime: pip install 'deepdreamport\[optvis\]'$"):
        network.ort_forward(["relu2"])


def test_the_atlas_names_the_atlas_extra_before_writing_anything(missing, tmp_path, capsys):
    missing("jinja2")
    out = tmp_path / "atlas"
    argv = ["atlas", str(TINYNET), "--out", str(out), "--layers", "relu2", "--channels", "1", "--no-examples"]
    assert deepdream_main([*argv, "--levels", "1", "--iterations", "2", "--quiet"]) == 2
    assert capsys.readouterr().err.startswith(
        "deepdream atlas: error: the atlas gallery needs jinja2: pip install 'deepdreamport[atlas]' (or build no gallery"
    )
    assert not out.exists()

    missing("skimage")
    from deepdreamport.atlas.examples.sources import _skimage_photo

    with pytest.raises(DeepDreamError, match=r"needs scikit-image: pip install 'deepdreamport\[atlas\]'"):
        _skimage_photo.__wrapped__("astronaut")  # past the photo cache


def test_the_ray_engine_names_the_ray_extra(missing):
    from deepdreamport.atlas.engines.ray_engine import import_ray
    from deepdreamport.atlas.errors import AtlasInputError

    missing("ray")
    with pytest.raises(AtlasInputError, match=r"the Ray engine needs ray: pip install 'deepdreamport\[ray\]'"):
        import_ray()


def test_an_import_error_inside_an_installed_package_is_not_hidden(monkeypatch, tmp_path):
    package = tmp_path / "jinja2"
    package.mkdir()
    (package / "__init__.py").write_text("import a_dependency_of_jinja2_that_is_missing\n")
    for name in [name for name in sys.modules if name == "jinja2" or name.startswith("jinja2.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="a_dependency_of_jinja2_that_is_missing"):
        require("jinja2", "the atlas gallery")


def test_parity_on_a_v73_case_names_the_mat73_extra(missing, tmp_path, capsys):
    import hdf5storage
    import scipy.io

    source = REFERENCE / "cases" / "tinynet_fc_classes.mat"
    fields = {k: v for k, v in scipy.io.loadmat(str(source)).items() if not k.startswith("__")}
    fields = {k: str(v[0]) if v.dtype.kind == "U" else v for k, v in fields.items()}
    hdf5storage.savemat(str(tmp_path / "case.mat"), fields, format="7.3", store_python_metadata=False)
    missing("h5py")
    argv = ["parity", str(tmp_path), "--models", str(REFERENCE / "models"), "--json"]
    assert deepdream_main(argv) == 1  # found by its names, reported as a broken case
    error = json.loads(capsys.readouterr().out)["error"]
    assert error.endswith("case.mat needs h5py: pip install 'deepdreamport[mat73]'")
