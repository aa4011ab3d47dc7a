"""JUnit XML for parity verdicts, structured as pytest's ``--junitxml`` writes it (xunit2).

``testsuites`` > ``testsuite`` (name, errors, failures, skipped, tests, time,
timestamp, hostname) > one ``testcase`` per case (classname, name, time) with a
``failure`` (numeric or model mismatch) or an ``error`` (the case could not be
read or run), each carrying a one-line ``message`` and the readable diff as text; a
case that passed with an accepted model change carries its diff as ``system-out``.
"""

from __future__ import annotations

import datetime
import platform
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Sequence

from ._package import write_atomic
from .judge import CaseResult, describe_result

SUITE_NAME = "deepdream parity"
CLASSNAME = "deepdream.parity"
_ILLEGAL_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _clean(text: str) -> str:
    return _ILLEGAL_XML.sub(lambda m: f"#x{ord(m.group()):02X}", text)


def failure_message(result: CaseResult) -> str:
    """The one-line message of a failed case."""
    if result.error:
        return _clean(result.error.splitlines()[0] if result.error else "error")
    return _clean(f"{result.failure_kind}: " + (result.diagnosis or describe_result(result).splitlines()[0]))


def junit_tree(results: Sequence[CaseResult], durations: Sequence[float], started: datetime.datetime) -> ET.Element:
    """The ``testsuites`` element for ``results`` (``durations`` in seconds, one per result)."""
    errors = sum(1 for r in results if r.error)
    failures = sum(1 for r in results if not r.passed and not r.error)
    suite = ET.Element(
        "testsuite",
        name=SUITE_NAME,
        errors=str(errors),
        failures=str(failures),
        skipped="0",
        tests=str(len(results)),
        time=f"{sum(durations):.3f}",
        timestamp=started.astimezone().isoformat(),
        hostname=platform.node(),
    )
    for result, duration in zip(results, durations):
        testcase = ET.SubElement(
            suite, "testcase", classname=CLASSNAME, name=_clean(result.case), time=f"{duration:.3f}"
        )
        if result.model_change_accepted:  # passed, and the report says why the model's sha256 did not fail it
            ET.SubElement(testcase, "system-out").text = _clean(describe_result(result))
        if not result.passed:
            tag = "error" if result.error else "failure"
            node = ET.SubElement(testcase, tag, message=failure_message(result))
            node.text = _clean(describe_result(result))
    suites = ET.Element("testsuites", name=SUITE_NAME)
    suites.append(suite)
    return suites


def junit_xml(results: Sequence[CaseResult], durations: Sequence[float], started: datetime.datetime) -> bytes:
    """The JUnit XML document (UTF-8)."""
    text = '<?xml version="1.0" encoding="utf-8"?>' + ET.tostring(
        junit_tree(results, durations, started), encoding="unicode"
    )
    return text.encode("utf-8")


def write_junit_xml(
    path: str | Path, results: Sequence[CaseResult], durations: Sequence[float], started: datetime.datetime
) -> Path:
    """Write the JUnit XML file atomically."""
    document = junit_xml(results, durations, started)
    return write_atomic(path, lambda handle: handle.write(document))
