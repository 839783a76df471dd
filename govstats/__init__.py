"""govstats: comparative data and honest panel inference on local public-security governance.

``import govstats as gs`` is cheap: submodules load on first use (``gs.facts``,
``gs.models``...), so a notebook that only reads facts never imports the estimation stack.
``gs.fit("y ~ x | unit + year", data, vcov=...)`` is :func:`govstats.models.fit`.

Data flow, one module per stage::

    ingest -> quantities -> places -> schemas -> facts / indicators -> panel
           -> models -> inference -> tables / plotting -> report
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_SUBMODULES = (
    "covariance",
    "fixed_effects",
    "network",
    "multiverse",
    "mediation",
    "mediation_plots",
    "did",
    "did_plots",
    "build",
    "datasets",
    "errors",
    "facts",
    "indicators",
    "inference",
    "ingest",
    "models",
    "panel",
    "paths",
    "places",
    "plotting",
    "profiles",
    "provenance",
    "quantities",
    "report",
    "reproduction",
    "schemas",
    "simulate",
    "tables",
    "synth",
    "synth_plots",
    "textbook",
    "national",
)
_FUNCTIONS = {"fit": "models"}  # gs.fit: the estimation entry point
__all__ = [*_SUBMODULES, *_FUNCTIONS, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from govstats import (  # noqa: F401
        build,
        covariance,
        datasets,
        did,
        did_plots,
        errors,
        facts,
        fixed_effects,
        indicators,
        inference,
        ingest,
        mediation,
        mediation_plots,
        models,
        multiverse,
        network,
        panel,
        paths,
        places,
        plotting,
        profiles,
        provenance,
        quantities,
        report,
        reproduction,
        schemas,
        simulate,
        tables,
    )


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"govstats.{name}")
        globals()[name] = module
        return module
    if name in _FUNCTIONS:
        func = getattr(importlib.import_module(f"govstats.{_FUNCTIONS[name]}"), name)
        globals()[name] = func
        return func
    raise AttributeError(f"module 'govstats' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
