"""The README's GitHub Actions example, run locally: its `run:` steps on a recorded case."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import subprocess
import sys

import pytest

from deepdreamport.parity.cli import main as parity_main
from deepdreamport.parity.record import RecordSpec, record_case

from ..conftest import REPO
from .conftest import TINYNET, TINYNET_SPEC, first_conv_weight, perturb_one_weight

INSTALL_STEP = "Install"


def workflow_steps() -> list[tuple[str, str]]:
    """(name, command) of every `run:` step of the yaml block in "Parity in your CI"."""
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Parity in your CI") :]
    workflow = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    return re.findall(r"- name: (.+)\n\s+run: (.+)\n", workflow)


def _shim(folder, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def run_steps(project, steps) -> list[int]:
    """Run the steps in ``project`` as GitHub runs them (bash -e), with this checkout's commands."""
    bin_dir = project / ".bin"
    bin_dir.mkdir(exist_ok=True)
    # `deepdream parity` as the package will provide it once the CLI is wired (python -m is the same code)
    _shim(
        bin_dir,
        "deepdream",
        f'[ "$1" = parity ] || exit 99\nshift\nexec "{sys.executable}" -m deepdreamport.parity "$@"',
    )
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(REPO))
    return [
        subprocess.run(["bash", "-e", "-c", command], cwd=project, env=env, timeout=300).returncode
        for _, command in steps
    ]


def test_the_workflow_has_install_and_check_steps():
    names = [name for name, _ in workflow_steps()]
    assert names[0] == INSTALL_STEP and len(names) >= 2


@pytest.mark.slow
def test_workflow_steps_pass_on_recorded_cases_and_fail_with_a_report_on_a_changed_model(tmp_path, capsys):
    """The steps run by a shell pass; the check step's own arguments then fail on a perturbed model."""
    steps = [(name, command) for name, command in workflow_steps() if name != INSTALL_STEP]
    (tmp_path / "models").mkdir()
    shutil.copy(TINYNET, tmp_path / "models" / "tinynet.onnx")
    record_case(
        RecordSpec(tmp_path / "models" / "tinynet.onnx", precision="double", **TINYNET_SPEC),
        tmp_path / "parity" / "cases",
    )
    assert run_steps(tmp_path, steps) == [0] * len(steps)
    assert (tmp_path / "parity-junit.xml").is_file() and not (tmp_path / "parity-report").exists()

    perturb_one_weight(TINYNET, tmp_path / "models" / "tinynet.onnx", first_conv_weight(TINYNET))
    (check,) = [shlex.split(command) for _, command in steps if command.startswith("deepdream parity ")]
    os.chdir(tmp_path)  # the step's relative paths; pytest's tmp_path outlives the test
    try:
        assert parity_main(check[2:]) == 1
    finally:
        os.chdir(REPO)
    assert "model changed and numeric" in capsys.readouterr().out
    assert (tmp_path / "parity-report" / "tinynet_relu2_double" / "difference.png").is_file()
    assert 'failures="1"' in (tmp_path / "parity-junit.xml").read_text()
