"""pytest plugin: every parity case becomes a test item.

Registered through the ``pytest11`` entry point ``deepdream_parity``::

    pytest --deepdream-cases CASES_DIR --deepdream-models MODELS_DIR

Each case file in the given folders (or given directly) is one test, named
after the file; a failure shows the readable diff of
:func:`~deepdreamport.parity.judge.describe_result` (diagnosis, strengths
table, max error and where). ``--deepdream-report DIR`` also writes the PNG
failure report. Without ``--deepdream-cases`` the plugin does nothing, and it
imports the port only when cases are requested.
"""

from __future__ import annotations

from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("deepdream", "deepdream parity cases")
    group.addoption(
        "--deepdream-cases",
        action="append",
        default=[],
        metavar="PATH",
        help="parity case .mat files or folders of them; each case becomes a test (repeatable)",
    )
    group.addoption("--deepdream-models", metavar="DIR", help="folder holding the cases' ONNX networks")
    group.addoption(
        "--deepdream-device", default="cpu", metavar="DEVICE", help="torch device for the cases (default cpu)"
    )
    group.addoption("--deepdream-report", metavar="DIR", help="write PNG failure reports of failing cases here")
    group.addoption(
        "--deepdream-accept-model-change",
        action="store_true",
        help="a float64 recorded case whose model file changed passes when its numbers agree (deepdream parity's flag)",
    )


class ParityMismatch(AssertionError):
    """A case whose verdict is a failure; carries the verdict for the report."""

    def __init__(self, result):
        super().__init__(f"{result.case}: {result.failure_kind}")
        self.result = result


class ParityCaseItem(pytest.Item):
    """One case file, judged by the port."""

    def __init__(self, *, models: Path, device: str, report: str | None, accept_model_change: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.models = models
        self.device = device
        self.report = report
        self.accept_model_change = accept_model_change

    def runtest(self) -> None:
        from .cases import load_case
        from .judge import describe_result, judge_case

        judgement = judge_case(load_case(self.path), self.models, self.device, self.accept_model_change)
        if judgement.result.model_change_accepted:
            self.add_report_section("call", "deepdream parity", describe_result(judgement.result))
        if not judgement.result.passed:
            if self.report:
                from .report import write_failure_report

                Path(self.report).mkdir(parents=True, exist_ok=True)
                write_failure_report(judgement, self.report)
            raise ParityMismatch(judgement.result)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, ParityMismatch):
            from .judge import describe_result

            return describe_result(excinfo.value.result)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, None, f"deepdream parity case {self.name}"


class ParityCaseFile(pytest.File):
    """A case file as a collector of its one item."""

    def collect(self):
        config = self.config
        yield ParityCaseItem.from_parent(
            self,
            name=self.path.stem,
            models=Path(config.getoption("deepdream_models")),
            device=config.getoption("deepdream_device"),
            report=config.getoption("deepdream_report"),
            accept_model_change=config.getoption("deepdream_accept_model_change"),
        )


@pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so those select cases too
def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list) -> None:
    requested = config.getoption("deepdream_cases")
    if not requested:
        return
    models = config.getoption("deepdream_models")
    if not models:
        raise pytest.UsageError("--deepdream-models: required with --deepdream-cases")
    if not Path(models).is_dir():
        raise pytest.UsageError(f"--deepdream-models: {models!r} is not a folder")
    from .cases import find_cases

    try:
        paths = find_cases(requested)  # a folder's .mat files that are not cases are left out
    except FileNotFoundError as exc:
        raise pytest.UsageError(f"--deepdream-cases: {exc}") from None
    if not paths:
        raise pytest.UsageError(f"--deepdream-cases: no case files (*.mat) in {requested}")
    from . import _package

    try:  # before any case runs, as the command line checks them
        _package.resolve_device(config.getoption("deepdream_device"), "--deepdream-device")
        report = config.getoption("deepdream_report")
        if report is not None:
            _package.check_output_folder("--deepdream-report", report, {"--deepdream-models": models})
    except _package.DeepDreamError as exc:
        raise pytest.UsageError(str(exc)) from None
    for path in paths:
        items.extend(ParityCaseFile.from_parent(session, path=path.resolve()).collect())
