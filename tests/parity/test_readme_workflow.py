"""The GitHub Actions workflow a CI user pastes (docs/ci/deepdream-parity.yml, shown in the README), run offline.

Its `run:` steps run in order, by bash as GitHub runs them, in a temporary copy of a user's repository
(models, recorded cases, the workflow and its requirements file where the workflow's comment says to
put them). There is no internet here, so each install step is replaced by its local equivalent: a
check that this environment holds exactly the versions the step would install, and this checkout for
the deepdreamport line of the requirements file.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shlex
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from deepdreamport.parity.record import RecordSpec, record_case

from ..conftest import REPO
from .conftest import TINYNET, TINYNET_SPEC, first_conv_weight, perturb_one_weight

WORKFLOW = REPO / "docs" / "ci" / "deepdream-parity.yml"
REQUIREMENTS = REPO / "docs" / "ci" / "requirements-deepdream-parity.txt"
WORKFLOW_IN_REPO = ".github/workflows/deepdream-parity.yml"
REQUIREMENTS_IN_REPO = "requirements/deepdream-parity.txt"
CPU_INDEX = "https://download.pytorch.org/whl/cpu"


def steps() -> list[dict]:
    return yaml.safe_load(WORKFLOW.read_text())["jobs"]["parity"]["steps"]


def step(name_start: str) -> dict:
    (found,) = [s for s in steps() if s.get("name", "").startswith(name_start)]
    return found


def step_using(action: str) -> dict:
    (found,) = [s for s in steps() if s.get("uses", "").startswith(action + "@")]
    return found


def pins(lines) -> dict[str, str]:
    """``name==version`` requirements (names lower-case)."""
    found = {}
    for line in lines:
        match = re.fullmatch(r"([A-Za-z0-9_.\-]+)==([^\s;#]+)", line.strip())
        if match:
            found[match.group(1).lower()] = match.group(2)
    return found


def test_the_readme_shows_the_workflow_file():
    readme = (REPO / "README.md").read_text()
    section = readme[readme.index("## Parity in your CI") :]
    shown = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    assert shown == WORKFLOW.read_text()
    assert WORKFLOW_IN_REPO in shown and REQUIREMENTS.name in shown


def test_the_workflow_installs_the_pinned_cpu_wheels_with_a_pip_cache_and_fetches_lfs_models():
    assert step_using("actions/checkout")["with"]["lfs"] is True
    python = step_using("actions/setup-python")["with"]
    assert python["cache"] == "pip"
    assert python["cache-dependency-path"].split() == [REQUIREMENTS_IN_REPO, WORKFLOW_IN_REPO]

    torch_step = shlex.split(step("Install torch")["run"])
    assert torch_step[torch_step.index("--index-url") + 1] == CPU_INDEX
    assert pins(torch_step) == pins((REPO / "requirements" / "torch.txt").read_text().splitlines())
    onnx2torch_step = shlex.split(step("Install onnx2torch")["run"])
    assert "--no-deps" in onnx2torch_step
    assert pins(onnx2torch_step) == pins((REPO / "requirements" / "onnx2torch.txt").read_text().splitlines())
    assert shlex.split(step("Install deepdreamport")["run"])[-2:] == ["-r", REQUIREMENTS_IN_REPO]

    template = REQUIREMENTS.read_text().splitlines()
    lock = pins((REPO / "requirements" / "lock.txt").read_text().splitlines())
    assert all(lock[name] == version for name, version in pins(template).items())
    core = {re.split(r"[<>=]", d)[0].lower() for d in yaml.safe_load(_pyproject_dependencies())}
    assert core - {"torch", "torchvision", "onnx2torch"} == set(pins(template))
    assert [line for line in template if line.startswith("deepdreamport @ ")]

    check = shlex.split(step("Check")["run"])
    upload = step_using("actions/upload-artifact")
    assert upload["if"] == "always()"
    assert set(upload["with"]["path"].split()) == {
        check[check.index("--junit-xml") + 1],
        check[check.index("--report") + 1],
    }


def _pyproject_dependencies() -> str:
    import tomllib

    return repr(tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"])


def _installed(name: str) -> str:
    return importlib.metadata.version(name).split("+")[0]  # torch 2.14.1+cu130 here, 2.14.1+cpu on the CPU index


def local_equivalent(command: str, project: Path) -> str:
    """The offline stand-in of an install step: assert that this environment holds what it would install."""
    words = shlex.split(command)
    if "-r" in words:
        lines = (project / words[words.index("-r") + 1]).read_text().splitlines()
        assert [line for line in lines if line.startswith("deepdreamport @ ")]  # this checkout stands in for it
    else:
        lines = words
    wanted = pins(lines)
    assert wanted, command
    installed = {name: _installed(name) for name in wanted}
    assert installed == wanted, f"the workflow's step installs {wanted}; this environment has {installed}"
    checks = "; ".join(f"assert m.version({name!r}).split('+')[0] == {version!r}" for name, version in wanted.items())
    return f'python -c "import importlib.metadata as m; {checks}"'


def _shim(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)


def run_steps(project: Path) -> list[int]:
    """Every `run:` step in order, by ``bash -e`` in ``project``, the install steps replaced (see the module)."""
    bin_dir = project / ".bin"
    bin_dir.mkdir(exist_ok=True)
    _shim(bin_dir, "python", f'exec "{sys.executable}" "$@"')
    _shim(bin_dir, "deepdream", f'exec "{sys.executable}" -m deepdreamport "$@"')  # the entry point, as installed
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=str(REPO))
    statuses = []
    for entry in steps():
        if "run" not in entry:
            continue
        command = entry["run"]
        if entry["name"].startswith("Install"):
            command = local_equivalent(command, project)
        statuses.append(subprocess.run(["bash", "-e", "-c", command], cwd=project, env=env, timeout=300).returncode)
    return statuses


def user_repository(folder: Path) -> Path:
    """A user's repository as docs/ci.md lays it out: the workflow, its requirements, models, recorded cases."""
    (folder / WORKFLOW_IN_REPO).parent.mkdir(parents=True)
    shutil.copy(WORKFLOW, folder / WORKFLOW_IN_REPO)
    (folder / REQUIREMENTS_IN_REPO).parent.mkdir(parents=True)
    shutil.copy(REQUIREMENTS, folder / REQUIREMENTS_IN_REPO)
    (folder / "models").mkdir()
    shutil.copy(TINYNET, folder / "models" / "tinynet.onnx")
    record_case(
        RecordSpec(folder / "models" / "tinynet.onnx", precision="double", **TINYNET_SPEC), folder / "parity" / "cases"
    )
    return folder


@pytest.mark.slow
def test_the_workflow_passes_on_recorded_cases_and_fails_with_a_report_on_a_changed_model(tmp_path):
    project = user_repository(tmp_path)
    run_steps_count = sum("run" in entry for entry in steps())
    assert run_steps(project) == [0] * run_steps_count
    assert (project / "parity-junit.xml").is_file() and not (project / "parity-report").exists()
    assert 'failures="0"' in (project / "parity-junit.xml").read_text()

    perturb_one_weight(TINYNET, project / "models" / "tinynet.onnx", first_conv_weight(TINYNET))
    assert run_steps(project) == [0, 0, 0, 1]  # the three installs, then the check fails
    report = project / "parity-report" / "tinynet_relu2_double"
    assert (report / "difference.png").is_file() and "model changed and numeric" in (report / "numbers.txt").read_text()
    assert 'failures="1"' in (project / "parity-junit.xml").read_text()
