"""``govstats report``: regenerate every notebook report in one command.

Public entry points:

- :func:`run_reports` — validate, build, skip cached runs, execute the rest in
  parallel (or on Dask), write ``reports/<run>.html``, ``manifest.json`` and
  ``index.html``;
- :func:`plan_runs` — what :func:`run_reports` would run and why, without running;
- :func:`load_config` and :func:`validate_parameters` — check a reports
  configuration without running anything;
- :func:`ensure_kernel` — register the ``govstats`` Jupyter kernel;
- :func:`check_parameters` — called by a notebook right after its ``parameters``
  cell, so a plain papermill run rejects a mistyped or invalid parameter;
- :func:`full_table` and :func:`timing` — every row of a table, collapsible and
  formatted for reading, and timings as a sentence instead of a printed Series.

Names load on first use, so a run worker (``python -m govstats.report.worker``)
imports only what it needs.

Example (a configuration with one notebook)::

    >>> from govstats.report import run_reports          # doctest: +SKIP
    >>> summary = run_reports("reports.yml", jobs=2)      # doctest: +SKIP
    >>> summary.exit_code, summary.cached                 # doctest: +SKIP
    (0, ['place_profiles'])
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

_EXPORTS = {
    "PlannedRun": "runner",
    "ReportConfig": "config",
    "ReportSummary": "runner",
    "RunSpec": "config",
    "build_processed_data": "runner",
    "check_parameters": "params",
    "ensure_kernel": "kernel",
    "full_table": "display",
    "kernel_identity": "kernel",
    "load_config": "config",
    "notebook_parameters": "params",
    "plan_runs": "runner",
    "run_reports": "runner",
    "timing": "display",
    "validate_parameters": "params",
}
_ALIASES = {"check_parameters": "check"}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from govstats.report.config import ReportConfig, RunSpec, load_config  # noqa: F401
    from govstats.report.display import full_table, timing  # noqa: F401
    from govstats.report.kernel import ensure_kernel, kernel_identity  # noqa: F401
    from govstats.report.params import check as check_parameters  # noqa: F401
    from govstats.report.params import notebook_parameters, validate_parameters  # noqa: F401
    from govstats.report.runner import (  # noqa: F401
        PlannedRun,
        ReportSummary,
        build_processed_data,
        plan_runs,
        run_reports,
    )


def __getattr__(name: str):
    if name in _EXPORTS:
        attr = _ALIASES.get(name, name)
        value = getattr(importlib.import_module(f"govstats.report.{_EXPORTS[name]}"), attr)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'govstats.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
