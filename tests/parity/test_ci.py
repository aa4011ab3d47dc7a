"""CI conventions: the pytest plugin, JUnit XML shaped like pytest's, PNG failure reports."""

from __future__ import annotations

import shutil
import tomllib
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from PIL import Image

from deepdreamport.parity import load_case
from deepdreamport.parity import plugin as parity_plugin
from deepdreamport.parity.cli import main as parity_main

from ..conftest import REFERENCE, REPO

DAGNET_CASE = REFERENCE / "cases" / "dagnet_cat_relu_three_levels.mat"


def run_plugin(tmp_path, *args: str) -> int:
    """pytest in-process, in an empty folder, with the parity plugin as its only source of tests."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    argv = [
        "-p",
        "no:deepdream_parity",
        "-p",
        "no:cacheprovider",
        "-c",
        str(tmp_path / "pytest.ini"),
        "--rootdir",
        str(tmp_path),
        "-q",
        *map(str, args),
        str(tmp_path),
    ]
    return int(pytest.main(argv, plugins=[parity_plugin]))


@pytest.fixture
def mixed_run(tmp_path, recorded_tinynet, perturbed_tinynet_models):
    """Two recorded tinynet cases that fail (perturbed model) and one MATLAB dagnet case that passes."""
    cases = tmp_path / "cases"
    models = tmp_path / "models"
    cases.mkdir()
    shutil.copytree(perturbed_tinynet_models, models)
    shutil.copy(REFERENCE / "models" / "dagnet.onnx", models)
    for case in [*recorded_tinynet.glob("*.mat"), DAGNET_CASE]:
        shutil.copy(case, cases)
    run = tmp_path / "run"
    run.mkdir()
    return cases, models, run


def test_plugin_judges_matlab_references(tmp_path, capsys):
    """What the project's CI runs on all its MATLAB cases (.ci/run), here on two of them, a file and a folder."""
    cases = tmp_path / "cases"
    cases.mkdir()
    shutil.copy(REFERENCE / "cases" / "tinynet_fc_classes.mat", cases)
    status = run_plugin(
        tmp_path,
        "--deepdream-cases",
        cases,
        "--deepdream-cases",
        REFERENCE / "cases" / "tinynet_conv2_tiled.mat",
        "--deepdream-models",
        REFERENCE / "models",
    )
    out = capsys.readouterr().out
    assert status == 0 and "2 passed" in out


def test_plugin_failure_is_a_readable_diff(mixed_run, capsys):
    cases, models, run = mixed_run
    status = run_plugin(
        run,
        "--deepdream-cases",
        cases,
        "--deepdream-models",
        models,
        "-k",
        "not single",
        "--deepdream-report",
        run / "report",
    )
    out = capsys.readouterr().out
    assert status == 1 and "1 failed, 1 passed, 1 deselected" in out
    assert [p.name for p in (run / "report").iterdir()] == ["tinynet_relu2_double"]
    assert "tinynet_relu2_double (double, recorded by deepdreamport): FAIL (model changed and numeric)" in out
    assert "activation strengths" in out and "level iter" in out and "max abs error" in out and "at Iraw(" in out
    assert "Traceback" not in out


def test_plugin_needs_the_models_folder(tmp_path, capsys):
    assert run_plugin(tmp_path, "--deepdream-cases", REFERENCE / "cases") == pytest.ExitCode.USAGE_ERROR
    assert "--deepdream-models" in capsys.readouterr().err


def test_plugin_is_registered_as_a_pytest_entry_point():
    entry_points = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    assert entry_points == {"deepdream_parity": "deepdreamport.parity.plugin"}
    assert callable(parity_plugin.pytest_addoption) and callable(parity_plugin.pytest_collection_modifyitems)


def _shape(path) -> tuple:
    """Tag and attribute names of testsuites/testsuite/testcase/(failure|error), without values."""
    root = ET.parse(path).getroot()
    (suite,) = root
    testcases = list(suite)
    return (
        root.tag,
        suite.tag,
        sorted(suite.attrib),
        {(case.tag, tuple(sorted(case.attrib))) for case in testcases},
        {(child.tag, tuple(sorted(child.attrib))) for case in testcases for child in case},
    )


def test_junit_xml_is_structured_like_pytests(mixed_run, capsys):
    cases, models, run = mixed_run
    assert (
        run_plugin(run, "--deepdream-cases", cases, "--deepdream-models", models, "--junitxml", run / "pytest.xml") == 1
    )
    assert parity_main([str(cases), "--models", str(models), "--junit-xml", str(run / "parity.xml")]) == 1
    capsys.readouterr()
    assert _shape(run / "parity.xml") == _shape(run / "pytest.xml")
    ours, theirs = ET.parse(run / "parity.xml").getroot()[0], ET.parse(run / "pytest.xml").getroot()[0]
    for key in ("tests", "failures", "errors", "skipped"):
        assert ours.get(key) == theirs.get(key)
    assert (ours.get("tests"), ours.get("failures")) == ("3", "2")
    verdicts = {case.get("name"): [child.tag for child in case] for case in ours}
    assert verdicts == {
        "dagnet_cat_relu_three_levels": [],
        "tinynet_relu2_double": ["failure"],
        "tinynet_relu2_single": ["failure"],
    }
    failure = ours.find("testcase[@name='tinynet_relu2_single']/failure")
    assert failure.get("message").startswith("model changed and numeric: the model changed")
    assert "activation strengths" in failure.text


def test_a_broken_case_is_a_junit_error(tmp_path, capsys):
    (tmp_path / "broken.mat").write_bytes(b"not a mat file")
    assert (
        parity_main(
            [
                str(tmp_path / "broken.mat"),
                "--models",
                str(REFERENCE / "models"),
                "--junit-xml",
                str(tmp_path / "j.xml"),
            ]
        )
        == 1
    )
    capsys.readouterr()
    suite = ET.parse(tmp_path / "j.xml").getroot()[0]
    assert (suite.get("errors"), suite.get("failures")) == ("1", "0")
    assert suite.find("testcase/error") is not None


def test_report_writes_reference_port_and_difference_for_failing_cases_only(mixed_run, capsys):
    cases, models, run = mixed_run
    report = run / "report"
    assert parity_main([str(cases), "--models", str(models), "--report", str(report)]) == 1
    capsys.readouterr()
    assert sorted(p.name for p in report.iterdir()) == ["tinynet_relu2_double", "tinynet_relu2_single"]
    folder = report / "tinynet_relu2_double"
    assert sorted(p.name for p in folder.iterdir()) == ["difference.png", "numbers.txt", "port.png", "reference.png"]
    numbers = (folder / "numbers.txt").read_text()
    assert "the model changed" in numbers and "max abs error" in numbers
    case = load_case(cases / "tinynet_relu2_double.mat")
    height, width, _, count = case.iraw.shape
    zoom = -(-128 // min(height, width))
    difference = np.asarray(Image.open(folder / "difference.png").convert("L"))
    assert difference.shape[0] == height * zoom + 14 + 8 and difference.shape[1] >= count * (width * zoom + 4) + 4
    assert difference.max() == 255  # the largest error is shown white
    reference = np.asarray(Image.open(folder / "reference.png").convert("RGB"))
    port = np.asarray(Image.open(folder / "port.png").convert("RGB"))
    assert reference.shape == port.shape and not np.array_equal(reference[14:], port[14:])


def test_check_input_errors_are_one_line_with_status_2(tmp_path, capsys, recorded_tinynet):
    def bad(*argv) -> str:
        assert parity_main([str(a) for a in argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        return err

    assert "--models" in bad(recorded_tinynet)
    assert "PATH" in bad(tmp_path / "missing", "--models", REFERENCE / "models")
    assert "--junit-xml" in bad(
        recorded_tinynet, "--models", REFERENCE / "models", "--junit-xml", tmp_path / "no" / "j.xml"
    )
    case = recorded_tinynet / "tinynet_relu2_double.mat"
    before = case.read_bytes()
    assert "--junit-xml" in bad(case, "--models", REFERENCE / "models", "--junit-xml", case)
    assert case.read_bytes() == before
    assert "--layer" in bad(recorded_tinynet, "--models", REFERENCE / "models", "--layer", "relu1")


def test_parity_parser_plugs_into_a_deepdream_style_command_line(capsys):
    """What deepdreamport.cli does: add the subcommand, whose handler names run_parity; old options keep working."""
    import argparse
    import json

    from deepdreamport._lazy import load
    from deepdreamport.parity.cli import add_parity_parser, run_parity

    parser = argparse.ArgumentParser(prog="deepdream")
    add_parity_parser(parser.add_subparsers(dest="command", required=True))
    case = REFERENCE / "cases" / "tinynet_fc_classes.mat"
    args = parser.parse_args(["parity", str(case), "--models", str(REFERENCE / "models"), "--json", "--device", "cpu"])
    assert load(args.handler) is run_parity
    assert run_parity(args) == 0
    (record,) = map(json.loads, capsys.readouterr().out.splitlines())
    assert record["case"] == "tinynet_fc_classes" and record["passed"] and record["recorded_by"] == "matlab"
