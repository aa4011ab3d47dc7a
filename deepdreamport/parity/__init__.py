"""Parity kit: MATLAB-made and port-recorded deep-dream cases, judged in CI.

* :mod:`.cases` — schema-v1 case files (find, load, save);
* :mod:`.judge` — run the port on a case and compare, tolerances;
* :mod:`.record` — record cases with the port (single or from a TOML batch);
* :mod:`.junit`, :mod:`.report` — JUnit XML and PNG failure reports;
* :mod:`.plugin` — the pytest plugin (``--deepdream-cases``);
* :mod:`.cli` — ``deepdream parity`` (check and ``record``).
"""

from .cases import ParityCase, find_cases, load_case, load_struct_array, save_case
from .judge import TOLERANCE, CaseResult, judge_case, relative_error, run_case

__all__ = [
    "TOLERANCE",
    "CaseResult",
    "ParityCase",
    "find_cases",
    "judge_case",
    "load_case",
    "load_struct_array",
    "relative_error",
    "run_case",
    "save_case",
]
