"""Parity kit: MATLAB-made and port-recorded deep-dream cases, judged in CI.

* :mod:`.cases` — schema-v1 case files (find, load, save);
* :mod:`.judge` — run the port on a case and compare, tolerances;
* :mod:`.record` — record cases with the port (single or from a TOML batch);
* :mod:`.junit`, :mod:`.report` — JUnit XML and PNG failure reports;
* :mod:`.plugin` — the pytest plugin (``--deepdream-cases``);
* :mod:`.cli` — ``deepdream parity`` (check and ``record``); its arguments in :mod:`.commands`.

The names load on first use (:mod:`deepdreamport._lazy`), so that ``deepdream parity --help``
imports no torch.
"""

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

if TYPE_CHECKING:  # the same names, for type checkers and import-linter
    from .cases import ParityCase, find_cases, load_case, load_struct_array, save_case
    from .judge import TOLERANCE, CaseResult, judge_case, relative_error, run_case

__getattr__, __dir__ = lazy_exports(
    globals(),
    {
        "TOLERANCE": ".judge:TOLERANCE",
        "CaseResult": ".judge:CaseResult",
        "ParityCase": ".cases:ParityCase",
        "find_cases": ".cases:find_cases",
        "judge_case": ".judge:judge_case",
        "load_case": ".cases:load_case",
        "load_struct_array": ".cases:load_struct_array",
        "relative_error": ".judge:relative_error",
        "run_case": ".judge:run_case",
        "save_case": ".cases:save_case",
    },
)

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
