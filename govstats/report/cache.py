"""Content-addressed cache: a run is skipped when nothing it depends on changed.

A run's cache key is the SHA-256 of its *components*:

``notebook``
    the notebook's cells (type and source; outputs and execution counts are
    ignored, so re-saving an executed copy changes nothing);
``parameters``
    the injected parameters;
``kernel``
    the kernel's identity (argv, environment, Python version);
``govstats_source``
    every file of the installed ``govstats`` package;
``data``
    the contents of every file matched by the run's ``data`` globs (and which
    files matched: a new file is a change);
``dependencies``
    the name and version of every installed distribution;
``rendering``
    options that change the HTML (``show_code``) and the cache format;
``declared_inputs``
    the files the notebook itself declared at run time the last time it
    succeeded (:func:`govstats.provenance.declare`), hashed again now: a
    changed population file is a miss even when no ``data`` glob names it.

Content, not modification time, decides: touching a file or rebuilding
identical processed data keeps the cache valid. File hashes are memoised by
(size, mtime, inode) in ``.govstats-cache/file_hashes.json`` so a warm run does
not re-read large files.

Each run's last record lives in ``.govstats-cache/runs/<name>.json`` together
with its components, so a miss can say which component changed.
"""

from __future__ import annotations

import glob
import hashlib
import importlib.metadata
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from govstats._io import atomic_write_text

__all__ = [
    "CACHE_FORMAT",
    "CacheStore",
    "FileHasher",
    "cache_key",
    "changed_components",
    "data_fingerprint",
    "declared_input_hashes",
    "dependency_versions",
    "notebook_fingerprint",
    "source_fingerprint",
]

#: Bumped when the meaning of a key or a record changes.
CACHE_FORMAT = 2

_CHUNK = 1 << 20


def _sha256_json(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def notebook_fingerprint(path: str | Path) -> str:
    """Hash of a notebook's cells (type and source), blind to outputs and metadata.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.ipynb"
    >>> cell = {"cell_type": "code", "source": "x = 1", "metadata": {}, "outputs": []}
    >>> _ = p.write_text(json.dumps({"cells": [cell]}))
    >>> before = notebook_fingerprint(p)
    >>> cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "1"}]
    >>> _ = p.write_text(json.dumps({"cells": [cell]}))
    >>> notebook_fingerprint(p) == before
    True
    """
    nb = json.loads(Path(path).read_text(encoding="utf-8"))
    cells = []
    for cell in nb.get("cells", []):
        src = cell.get("source", "")
        tags = sorted((cell.get("metadata") or {}).get("tags") or [])
        cells.append([cell.get("cell_type"), "".join(src) if isinstance(src, list) else src, tags])
    kernelspec = (nb.get("metadata") or {}).get("kernelspec") or {}
    return _sha256_json({"cells": cells, "language": kernelspec.get("language")})


def source_fingerprint(package_dir: str | Path) -> str:
    """Hash of every file under a package directory (``__pycache__`` excluded).

    Examples
    --------
    >>> import govstats, pathlib
    >>> len(source_fingerprint(pathlib.Path(govstats.__file__).parent))
    64
    """
    root = Path(package_dir)
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts or path.suffix in {".pyc", ".pyo"}:
            continue
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_versions() -> dict[str, str]:
    """``{distribution name: version}`` of everything installed in this environment.

    Read from the ``*.dist-info`` directory names on ``sys.path`` (which carry
    name and version), falling back to :mod:`importlib.metadata` for the few
    installs whose directory name has no version (``*.egg-info``). Parsing
    every METADATA file would cost a large part of a warm run.

    Examples
    --------
    >>> "papermill" in dependency_versions()
    True
    """
    versions: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for item in names:
            if item.endswith(".dist-info"):
                stem = item[: -len(".dist-info")]
            elif item.endswith(".egg-info"):
                stem = item[: -len(".egg-info")]
            else:
                continue
            name, _, version = stem.partition("-")
            version = version.split("-py", 1)[0]
            if not version:
                try:
                    version = importlib.metadata.version(name)
                except importlib.metadata.PackageNotFoundError:
                    continue
            versions.setdefault(_normalise(name), version)
    return dict(sorted(versions.items()))


class FileHasher:
    """SHA-256 of files, memoised by (size, mtime_ns, inode) in a JSON file.

    Parameters
    ----------
    store : Path or None
        The memo file; None keeps the memo in memory only.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("x\\n1\\n")
    >>> FileHasher(None).sha256(p) == __import__("hashlib").sha256(b"x\\n1\\n").hexdigest()
    True
    """

    def __init__(self, store: str | Path | None):
        self.store = Path(store) if store is not None else None
        self._memo: dict[str, list] = {}
        self._dirty = False
        if self.store is not None:
            try:
                self._memo = json.loads(self.store.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self._memo = {}

    def sha256(self, path: str | Path) -> str:
        path = Path(path).resolve()
        st = path.stat()
        stamp = [st.st_size, st.st_mtime_ns, st.st_ino]
        known = self._memo.get(str(path))
        if known is not None and known[:3] == stamp:
            return known[3]
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        self._memo[str(path)] = [*stamp, digest.hexdigest()]
        self._dirty = True
        return digest.hexdigest()

    def save(self) -> None:
        if self.store is not None and self._dirty:
            atomic_write_text(self.store, json.dumps(self._memo))
            self._dirty = False


def data_fingerprint(
    patterns: Iterable[str], base_dir: str | Path, hasher: FileHasher
) -> tuple[dict[str, str], list[str]]:
    """Hash every file matched by ``patterns`` (globs relative to ``base_dir``, ``**`` allowed).

    Returns
    -------
    files : dict
        ``{path relative to base_dir: sha256}``, sorted by path.
    unmatched : list of str
        Patterns that matched no file (probably a typo; reported as a warning).
    """
    base = Path(base_dir)
    files: dict[str, str] = {}
    unmatched = []
    for pattern in patterns:
        full = pattern if os.path.isabs(pattern) else str(base / pattern)
        matches = [Path(m) for m in glob.glob(full, recursive=True)]
        matches = [m for m in matches if m.is_file()]
        if not matches:
            unmatched.append(pattern)
        for m in matches:
            try:
                label = m.resolve().relative_to(base.resolve()).as_posix()
            except ValueError:
                label = str(m.resolve())
            files[label] = hasher.sha256(m)
    return dict(sorted(files.items())), unmatched


def declared_input_hashes(previous: Mapping[str, str], hasher: FileHasher,
                          root: str | Path | None = None) -> dict[str, str]:
    """Hash now the files a run declared last time (``{label: sha256}``).

    Labels are paths relative to the project root (or absolute); a file that
    no longer exists hashes as ``"missing"``, which is a change.

    Examples
    --------
    >>> import tempfile, pathlib, hashlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); _ = (root / "pop.csv").write_text("a\\n")
    >>> now = declared_input_hashes({"pop.csv": "old", "gone.csv": "old"}, FileHasher(None), root)
    >>> now == {"gone.csv": "missing", "pop.csv": hashlib.sha256(b"a\\n").hexdigest()}
    True
    """
    if root is None:
        from govstats import paths

        root = paths.project_root()
    out = {}
    for label in sorted(previous):
        path = Path(label) if os.path.isabs(label) else Path(root) / label
        out[label] = hasher.sha256(path) if path.is_file() else "missing"
    return out


def cache_key(components: Mapping[str, Any]) -> str:
    """SHA-256 of the components (canonical JSON)."""
    return _sha256_json(components)


def changed_components(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """Names of the components that differ (all of them when ``old`` is None).

    Examples
    --------
    >>> changed_components({"notebook": "a", "data": {"x": "1"}}, {"notebook": "a", "data": {"x": "2"}})
    ['data']
    """
    if old is None:
        return sorted(new)
    return sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))


class CacheStore:
    """One JSON record per run under ``<cache dir>/runs``.

    A record holds ``latest`` (the last attempt, failed or not), and for the
    last success ``ok_key``, ``ok_components`` and ``ok`` (its manifest entry).
    """

    def __init__(self, cache_dir: str | Path):
        self.dir = Path(cache_dir) / "runs"

    def _path(self, name: str) -> Path:
        return self.dir / f"{name}.json"

    def load(self, name: str) -> dict | None:
        try:
            record = json.loads(self._path(name).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return record if record.get("format") == CACHE_FORMAT else None

    def save(self, name: str, record: Mapping[str, Any]) -> None:
        atomic_write_text(
            self._path(name), json.dumps({**record, "format": CACHE_FORMAT}, ensure_ascii=False,
                                         indent=1)
        )
