"""Provenance of a report batch: git state, interpreter, packages, and the manifest file.

``reports/manifest.json`` is the machine-readable record of the last
``govstats report``: one entry per configured run with its notebook,
parameters, status, duration, whether it came from the cache, the git commit
(and whether the tree was dirty) it was executed at, Python and package
versions, the hashes of the data files it read, and the SIMULATED flag the
notebook declared (:func:`govstats.provenance.declare`).
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from govstats._io import atomic_write_text
from govstats.report.cache import _sha256_json

__all__ = ["KEY_PACKAGES", "MANIFEST_FORMAT", "build_manifest", "environment_info", "git_info",
           "write_manifest"]

MANIFEST_FORMAT = 1

#: Packages whose versions are listed by name in the manifest (all installed
#: distributions enter the cache key through a hash).
KEY_PACKAGES = (
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "linearmodels",
    "pyfixest",
    "pandera",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbclient",
    "nbconvert",
    "nbformat",
    "ipykernel",
    "jupyter-client",
    "pyyaml",
    "dask",
    "distributed",
)


def git_info(root: str | Path) -> dict[str, Any]:
    """``{"commit": sha or None, "dirty": bool or None}`` of the repository at ``root``.

    ``dirty`` counts modified, staged and untracked files (ignored files do
    not count, so generated reports and caches never make a tree dirty). Both
    are None outside a git repository or without git.

    Examples
    --------
    >>> import tempfile
    >>> git_info(tempfile.mkdtemp())
    {'commit': None, 'dirty': None}
    """
    def git(*args: str) -> subprocess.CompletedProcess | None:
        try:
            return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                                  timeout=30)
        except (OSError, subprocess.SubprocessError):
            return None

    head = git("rev-parse", "--verify", "HEAD")
    if head is None or head.returncode != 0:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain")
    dirty = None if status is None or status.returncode != 0 else bool(status.stdout.strip())
    return {"commit": head.stdout.strip(), "dirty": dirty}


def environment_info(versions: Mapping[str, str]) -> dict[str, Any]:
    """Interpreter and package versions for the manifest.

    Parameters
    ----------
    versions : mapping
        ``{distribution: version}`` as from :func:`govstats.report.cache.dependency_versions`.
    """
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "executable": sys.executable,
        "packages": {name: versions[name] for name in KEY_PACKAGES if name in versions},
        "all_distributions_sha256": _sha256_json(dict(versions)),
        "n_distributions": len(versions),
    }


def build_manifest(
    records: Sequence[Mapping[str, Any]],
    *,
    config_path: str,
    git: Mapping[str, Any],
    environment: Mapping[str, Any],
    govstats_version: str,
    interrupted: bool = False,
) -> dict[str, Any]:
    """The manifest document: batch-level provenance, a summary, and one record per run.

    ``interrupted`` says the batch stopped early (Ctrl-C, SIGTERM); each record's
    ``batch`` says what this batch did with it (``ran now``, ``cache hit``,
    ``not run: interrupted``, ``not selected``).
    """
    statuses = [r.get("status") for r in records]
    return {
        "format": MANIFEST_FORMAT,
        "generated_at": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "interrupted": bool(interrupted),
        "config": config_path,
        "govstats_version": govstats_version,
        "git": dict(git),
        "environment": dict(environment),
        "summary": {
            "runs": len(records),
            "ok": statuses.count("ok"),
            "failed": statuses.count("failed"),
            "not_run": statuses.count("not run"),
            "cache_hits": sum(1 for r in records if r.get("cache_hit")),
            "ran_now": sum(1 for r in records if r.get("batch") == "ran now"),
            "not_run_interrupted": sum(1 for r in records
                                       if r.get("batch") == "not run: interrupted"),
            "simulated": sum(1 for r in records if r.get("simulated")),
        },
        "runs": [dict(r) for r in records],
    }


def write_manifest(path: str | Path, manifest: Mapping[str, Any]) -> None:
    """Write the manifest as indented UTF-8 JSON, atomically."""
    atomic_write_text(path, json.dumps(manifest, ensure_ascii=False, indent=2) + "\n")
