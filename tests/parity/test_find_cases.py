"""Finding case files: folders searched with their sub-folders, other MAT-files beside the cases left out and named."""

from __future__ import annotations

import shutil

import pytest

from deepdreamport.parity import find_cases
from deepdreamport.parity.cli import main as parity_main

from ..conftest import REFERENCE

CASE = REFERENCE / "cases" / "tinynet_relu2_single_level.mat"
COMPONENTS = REFERENCE / "components.mat"  # MATLAB's function-level references: a MAT-file, not a case


@pytest.fixture
def reference_layout(tmp_path):
    """A copy of the shared reference folder's layout: components.mat beside cases/ and models/."""
    root = tmp_path / "parity"
    (root / "cases").mkdir(parents=True)
    shutil.copy(COMPONENTS, root)
    shutil.copy(CASE, root / "cases")
    shutil.copytree(REFERENCE / "models", root / "models")
    return root


def test_a_folder_is_searched_with_its_subfolders_leaving_out_what_is_not_a_case(reference_layout):
    skipped = []
    assert find_cases([reference_layout], on_skipped=skipped.append) == [reference_layout / "cases" / CASE.name]
    assert skipped == [reference_layout / "components.mat"]


def test_a_file_named_itself_is_always_read_as_a_case(reference_layout):
    assert find_cases([reference_layout / "components.mat"]) == [reference_layout / "components.mat"]


def test_checking_the_reference_folder_runs_its_cases_and_names_what_it_left_out(reference_layout, capsys):
    assert parity_main([str(reference_layout), "--models", str(reference_layout / "models")]) == 0
    captured = capsys.readouterr()
    assert CASE.stem in captured.out and "components" not in captured.out
    assert f"skipped {reference_layout / 'components.mat'}: not a parity case" in captured.err


def test_a_folder_without_cases_is_refused_in_one_line(reference_layout, capsys):
    (reference_layout / "cases" / CASE.name).unlink()
    assert parity_main([str(reference_layout), "--models", str(reference_layout / "models")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "PATH: no case files" in err and "InitialImage" in err
