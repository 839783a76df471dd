"""govstats: comparative data and honest panel inference on local public-security governance.

``import govstats as gs`` is cheap: submodules load on first use (``gs.facts``,
``gs.models``...), so a notebook that only reads facts never imports the estimation stack.

Data flow, one module per stage::

    ingest -> quantities -> places -> schemas -> facts / indicators -> panel
           -> models -> inference -> tables / plotting -> report
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

_SUBMODULES = (
    "network",
    "multiverse",
    "mediation",
    "did",
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
    "schemas",
    "simulate",
    "tables",
)
__all__ = [*_SUBMODULES, "__version__"]

if TYPE_CHECKING:  # pragma: no cover
    from govstats import (  # noqa: F401
        build,
        datasets,
        did,
        errors,
        facts,
        indicators,
        inference,
        ingest,
        mediation,
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
        schemas,
        simulate,
        tables,
    )


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"govstats.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'govstats' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
