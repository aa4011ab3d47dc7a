"""The notebooks of ``docs/notebooks/``: committed without outputs, and each runs from top to bottom.

They run as a person runs them (a Jupyter kernel started by nbclient, the notebook's folder as the
working folder), with ``DEEPDREAMPORT_SMALL=1`` (each notebook's first cell turns it into small sizes
and few steps) and ``DEEPDREAMPORT_OUT`` set to a temporary folder, so nothing is written into the
checkout.
"""

from __future__ import annotations

import nbformat
import pytest
from nbclient import NotebookClient

from ..conftest import REPO

NOTEBOOKS = REPO / "docs" / "notebooks"
NAMES = ("quickstart", "from_matlab", "from_lucent", "atlas")
QUICK = ("quickstart",)


def read(name: str):
    return nbformat.read(str(NOTEBOOKS / f"{name}.ipynb"), as_version=4)


def test_the_notebooks_are_committed_without_outputs():
    assert sorted(path.stem for path in NOTEBOOKS.glob("*.ipynb")) == sorted(NAMES)
    for name in NAMES:
        book = read(name)
        nbformat.validate(book)
        code = [cell for cell in book.cells if cell.cell_type == "code"]
        assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code), name
        assert "widgets" not in book.metadata, name
        assert "DEEPDREAMPORT_SMALL" in code[0].source, f"{name}: the first cell holds the parameters"


@pytest.mark.parametrize("name", [n if n in QUICK else pytest.param(n, marks=pytest.mark.slow) for n in NAMES])
def test_the_notebook_runs_from_top_to_bottom(name, tmp_path, monkeypatch):
    monkeypatch.setenv("DEEPDREAMPORT_SMALL", "1")
    monkeypatch.setenv("DEEPDREAMPORT_OUT", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the kernel (and the atlas's workers) import this checkout
    book = read(name)
    NotebookClient(book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [output for cell in book.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert pictures, f"{name} shows no picture"
    assert not list(NOTEBOOKS.glob("*/")), "a notebook wrote into docs/notebooks/"
