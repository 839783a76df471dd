"""Where govstats finds its data, reports and cache.

The repository layout is the default; ``GOVSTATS_ROOT`` overrides the root (a
batch run in another checkout, a test in a temporary directory).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["cache_dir", "data_dir", "examples_dir", "processed_dir", "project_root", "raw_dir", "reports_dir"]


def project_root() -> Path:
    env = os.environ.get("GOVSTATS_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    return project_root() / "data"


def raw_dir() -> Path:
    """Immutable, committed source data (facts, places, codebook)."""
    return data_dir() / "raw"


def processed_dir() -> Path:
    """Generated, cleaned data; rebuilt by ``govstats build-data``, never edited."""
    return data_dir() / "processed"


def examples_dir() -> Path:
    """Small hand-written example inputs (labelled as examples, not statistics)."""
    return data_dir() / "examples"


def reports_dir() -> Path:
    return project_root() / "reports"


def cache_dir() -> Path:
    return project_root() / ".govstats-cache"
