"""The notebooks of ``docs/notebooks/``: committed without outputs, and each runs from top to bottom.

They run as a person runs them (a Jupyter kernel driven by nbclient, the notebook's folder as the
working folder), with ``DEEPDREAMPORT_SMALL=1`` (each notebook's first cell turns it into small sizes
and few steps) and ``DEEPDREAMPORT_OUT`` set to a temporary folder, so nothing is written into the
checkout. One kernel serves every notebook (its start and the torch import cost 4-5 s each), and
each notebook starts with ``%reset -f``: its namespace is empty, so a name it does not define or
import itself fails as in a fresh kernel.
"""

from __future__ import annotations

import os

import nbformat
import pytest
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.util import run_sync
from nbformat.v4 import new_code_cell

from ..conftest import REPO

NOTEBOOKS = REPO / "docs" / "notebooks"
NAMES = ("quickstart", "from_matlab", "from_lucent", "atlas")
QUICK = ("quickstart",)


def read(name: str):
    return nbformat.read(str(NOTEBOOKS / f"{name}.ipynb"), as_version=4)


@pytest.fixture(scope="session")
def notebook_kernel(tmp_path_factory):
    """A Python kernel in ``docs/notebooks/`` with the small settings; yields (kernel manager, output folder)."""
    out = tmp_path_factory.mktemp("notebook-out")
    environment = dict(os.environ, DEEPDREAMPORT_SMALL="1", DEEPDREAMPORT_OUT=str(out), PYTHONPATH=str(REPO))
    kernel = AsyncKernelManager(kernel_name="python3")
    run_sync(kernel.start_kernel)(cwd=str(NOTEBOOKS), env=environment)  # the atlas's workers import this checkout too
    try:
        yield kernel, out
    finally:
        run_sync(kernel.shutdown_kernel)(now=True)


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
def test_the_notebook_runs_from_top_to_bottom(name, notebook_kernel):
    kernel, out = notebook_kernel
    book = read(name)
    book.cells.insert(0, new_code_cell("%reset -f"))  # a fresh namespace, as in a new kernel
    NotebookClient(book, km=kernel, timeout=300, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    outputs = [output for cell in book.cells if cell.cell_type == "code" for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    pictures = [output for output in outputs if "image/png" in output.get("data", {})]
    assert pictures, f"{name} shows no picture"
    assert not list(NOTEBOOKS.glob("*/")), "a notebook wrote into docs/notebooks/"
    assert any(out.iterdir()), "the notebooks write into DEEPDREAMPORT_OUT"
