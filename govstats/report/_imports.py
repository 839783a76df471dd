"""Keep govstats' own processes from paying for an import they never use.

``nbformat`` (hence papermill and nbconvert) imports ``jsonschema``, and
jsonschema 4.26 imports ``rfc3987_syntax`` eagerly for its ``iri`` format
checker. That module compiles about 35 Lark grammars at import time: 2.4 s of a
2.6 s ``import papermill`` on the development machine, paid again by every run
worker (reported upstream as python-jsonschema/jsonschema#1428; the same
diagnosis in opendatahub-io/notebooks#3532). No notebook schema uses the
``iri`` formats, so the command-line entry point and the run workers, which are
processes govstats owns, mark the module as unavailable; jsonschema then skips
that one checker, exactly as when the optional package is not installed.

Library calls from a user's own session (JupyterLab) are left alone.

The kernels of ``govstats report`` runs (``GOVSTATS_RUN`` set by the runner) pay a
second such cost: on its first validation pandera imports ``pandera.typing.dask``,
which imports ``dask.dataframe`` (about 1 s, more under load) only to learn that
dask is installed; no report validates a dask frame. :func:`skip_dask_for_pandera`,
called by ``gs.report.check_parameters`` in those kernels only, makes that import
fail the way it does when dask is absent.
"""

from __future__ import annotations

import sys

__all__ = ["skip_dask_for_pandera", "skip_slow_optional_imports"]

_SLOW_OPTIONAL = ("rfc3987_syntax",)


def skip_slow_optional_imports() -> None:
    """Make ``import rfc3987_syntax`` raise ImportError in this process.

    Does nothing if jsonschema was already imported (too late to matter) or the
    module is already loaded.
    """
    if "jsonschema" in sys.modules:
        return
    for name in _SLOW_OPTIONAL:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def skip_dask_for_pandera() -> None:
    """Make ``import dask.dataframe`` raise ImportError in this (report kernel) process.

    Does nothing when pandera's dask typing or dask.dataframe is already loaded.
    """
    if "pandera.typing.dask" in sys.modules or "dask.dataframe" in sys.modules:
        return
    sys.modules.setdefault("dask.dataframe", None)  # type: ignore[arg-type]
