"""Say, from inside a notebook, what kind of data its numbers rest on.

A notebook calls :func:`declare` once, near the top. The call does two things:

* it shows a banner the reader cannot miss: a large red **SIMULATED DATA** box
  when the numbers come from a simulated panel, a small neutral box naming the
  sources otherwise;
* it emits the same facts as a display output with the MIME type
  :data:`PROVENANCE_MIME`. ``govstats report`` reads that output from the
  executed notebook (:func:`read_declarations`) and copies it into
  ``reports/manifest.json`` and ``reports/index.html``, so the index marks
  simulated reports without trusting anyone to remember.

Front ends that do not know the custom MIME type (JupyterLab, nbconvert) simply
show the HTML or plain-text version of the banner.

The files a notebook reads can be named with ``inputs=[...]``; a source that
names an existing file (``"data/raw/place_measures.csv"``, a glob such as
``"tests/reference/*.csv"``) counts too. Their SHA-256 is recorded at run time,
copied into the manifest, and hashed again before the next ``govstats report``:
a changed file makes the run stale even when ``reports.yml`` lists no data
globs for it (see :mod:`govstats.report.cache`).
"""

from __future__ import annotations

import glob
import hashlib
import html
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "PROVENANCE_MIME",
    "ProvenanceSummary",
    "cite",
    "cite_text",
    "declare",
    "documents",
    "project_relative",
    "read_declarations",
]

#: MIME type of the machine-readable provenance output.
PROVENANCE_MIME = "application/vnd.govstats.provenance+json"

_SCHEMA_VERSION = 1


@dataclass(frozen=True)
class ProvenanceSummary:
    """What the declarations in one executed notebook say, taken together.

    Attributes
    ----------
    declared : bool
        Whether the notebook called :func:`declare` at all.
    simulated : bool or None
        True if any declaration said ``simulated=True``; None when nothing was
        declared (unknown, which is not the same as "real data").
    sources : tuple of str
        Every source named, in order of first appearance, without repeats.
    notes : tuple of str
        Every non-empty note.
    inputs : dict
        ``{file: sha256}`` of every file declared (path relative to the project
        root when inside it), hashed when the notebook declared it.
    """

    declared: bool
    simulated: bool | None
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    inputs: dict[str, str] = field(default_factory=dict)


_PATHLIKE = re.compile(r"[\w./*\-]+\.(?:csv|tsv|xlsx|xls|json|txt|parquet|ya?ml)\b", re.I)


def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def input_hashes(names: Sequence[str], *, root: str | Path | None = None,
                 strict: bool = False) -> dict[str, str]:
    """``{file: sha256}`` for file names or globs, relative to the project root or cwd.

    Parameters
    ----------
    names : list of str
        Paths or globs; free text around a path (``"data/raw/facts.csv (documents
        002 and 003)"``) is allowed, the path-like words are used.
    root : path, optional
        Default :func:`govstats.paths.project_root`.
    strict : bool
        Raise FileNotFoundError for a name that matches no file (for explicit
        ``inputs``); otherwise such names are skipped (free-text sources).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp()); _ = (root / "pop.csv").write_text("x\\n")
    >>> input_hashes(["pop.csv (census)", "a simulated panel"], root=root)
    {'pop.csv': '...'}
    """
    if root is None:
        from govstats import paths

        root = paths.project_root()
    root = Path(root).resolve()
    found: dict[str, str] = {}
    for name in names:
        words = [str(name)] if strict else _PATHLIKE.findall(str(name))
        for word in words:
            matches: list[Path] = []
            for base in (root, Path.cwd()):
                full = word if os.path.isabs(word) else str(base / word)
                matches = [Path(m) for m in sorted(glob.glob(full, recursive=True))
                           if Path(m).is_file()]
                if matches:
                    break
            if not matches and strict:
                raise FileNotFoundError(f"declared input {word!r} matches no file under {root} "
                                        f"or {Path.cwd()}")
            for m in matches:
                m = m.resolve()
                try:
                    label = m.relative_to(root).as_posix()
                except ValueError:
                    label = str(m)
                found[label] = _sha256_file(m)
    return dict(sorted(found.items()))


def _payload(simulated: bool, sources: Sequence[str], note: str,
             inputs: Sequence[str] = ()) -> dict:
    if not isinstance(simulated, bool):
        raise TypeError(f"simulated must be True or False, not {simulated!r}")
    if isinstance(sources, str):
        raise TypeError("sources must be a list of strings, not one string; write sources=[...]")
    if isinstance(inputs, str):
        raise TypeError("inputs must be a list of file names, not one string; write inputs=[...]")
    hashes = input_hashes([str(s) for s in sources])
    hashes.update(input_hashes([str(i) for i in inputs], strict=True))
    return {
        "version": _SCHEMA_VERSION,
        "simulated": simulated,
        "sources": [str(s) for s in sources],
        "note": str(note),
        "inputs": dict(sorted(hashes.items())),
    }


def _banner_text(payload: Mapping) -> str:
    head = (
        "SIMULATED DATA: numbers below come from a simulated panel, not from observation"
        if payload["simulated"]
        else "Data provenance"
    )
    lines = [head]
    lines += [f"  source: {s}" for s in payload["sources"]]
    if payload["note"]:
        lines.append(f"  note: {payload['note']}")
    return "\n".join(lines)


def _banner_html(payload: Mapping) -> str:
    esc = html.escape
    items = "".join(f"<li>{esc(s)}</li>" for s in payload["sources"])
    sources = f"<ul style='margin:0.3em 0 0 1.2em'>{items}</ul>" if items else ""
    note = f"<p style='margin:0.3em 0 0 0'>{esc(payload['note'])}</p>" if payload["note"] else ""
    if payload["simulated"]:
        return (
            "<div class='govstats-provenance govstats-simulated' style='border:4px solid #b00020;"
            "background:#fde7ea;color:#7a0016;padding:0.8em 1em;margin:0.5em 0;"
            "font-family:sans-serif'>"
            "<div style='font-size:2em;font-weight:bold;letter-spacing:0.05em'>SIMULATED DATA</div>"
            "<div>The numbers below come from a simulated panel, not from observation.</div>"
            f"{sources}{note}</div>"
        )
    return (
        "<div class='govstats-provenance' style='border:1px solid #999;background:#f4f4f4;"
        "padding:0.5em 1em;margin:0.5em 0;font-family:sans-serif'>"
        f"<strong>Data provenance</strong>{sources}{note}</div>"
    )


def declare(*, simulated: bool, sources: Sequence[str] = (), note: str = "",
            inputs: Sequence[str] = ()) -> None:
    """Show and record what data this notebook's numbers rest on.

    Parameters
    ----------
    simulated : bool
        True when any table or figure in the notebook is built on simulated
        data. Shows a large red "SIMULATED DATA" banner.
    sources : list of str, optional
        Where the data come from (a document, a yearbook table, a package
        data set, a simulation with its seed). Shown in the banner and copied
        into the report manifest.
    note : str, optional
        One sentence for the reader (for example which year the figures are).
    inputs : list of str, optional
        Files (or globs) the numbers are read from, relative to the project
        root. Hashed now and recorded, so ``govstats report`` reruns the
        notebook when one changes. Sources that name existing files are
        recorded the same way.

    Returns
    -------
    None
        In IPython the banner is displayed together with a
        ``application/vnd.govstats.provenance+json`` output; outside IPython
        the plain-text banner is printed.

    Examples
    --------
    >>> from govstats.provenance import declare
    >>> declare(simulated=True, sources=["simulated panel, seed 20240601"])
    SIMULATED DATA: numbers below come from a simulated panel, not from observation
      source: simulated panel, seed 20240601
    """
    payload = _payload(simulated, sources, note, inputs)
    bundle = {
        "text/plain": _banner_text(payload),
        "text/html": _banner_html(payload),
        PROVENANCE_MIME: payload,
    }
    shell = None
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency of ipykernel
        pass
    if shell is None:
        print(bundle["text/plain"])
        return
    from IPython.display import display

    display(bundle, raw=True)


def read_declarations(notebook: Mapping) -> ProvenanceSummary:
    """Collect the :func:`declare` outputs of an executed notebook.

    Parameters
    ----------
    notebook : mapping
        The notebook as parsed JSON (``json.load`` or an ``nbformat`` node).

    Returns
    -------
    ProvenanceSummary

    Examples
    --------
    >>> nb = {"cells": [{"cell_type": "code", "outputs": [{"output_type": "display_data",
    ...       "data": {PROVENANCE_MIME: {"simulated": True, "sources": ["sim"], "note": ""}}}]}]}
    >>> read_declarations(nb).simulated
    True
    >>> read_declarations({"cells": []}).simulated is None
    True
    """
    found = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) or []:
            data = output.get("data") or {}
            payload = data.get(PROVENANCE_MIME)
            if isinstance(payload, Mapping):
                found.append(payload)
    if not found:
        return ProvenanceSummary(declared=False, simulated=None)
    sources: list[str] = []
    for p in found:
        for s in p.get("sources", []) or []:
            if str(s) not in sources:
                sources.append(str(s))
    notes = tuple(str(p["note"]) for p in found if p.get("note"))
    inputs: dict[str, str] = {}
    for p in found:
        inputs.update({str(k): str(v) for k, v in (p.get("inputs") or {}).items()})
    return ProvenanceSummary(
        declared=True,
        simulated=any(bool(p.get("simulated")) for p in found),
        sources=tuple(sources),
        notes=notes,
        inputs=dict(sorted(inputs.items())),
    )


# ---------------------------------------------------------------- citable documents

#: Columns of ``data/raw/documents.csv``, one row per source document.
DOCUMENT_COLUMNS = ("source_doc", "citation", "title", "author", "outlet", "date_or_period",
                    "url", "places", "basis")


def documents(path: str | Path | None = None):
    """The source documents as a table a reader can cite: title, author, outlet, date, URL.

    Read from ``data/raw/documents.csv`` (facts about each document taken from the
    document itself: headline, byline, outlet, dates, repost URL; ``basis`` says where
    each came from). ``source_doc`` is the stored file name that ``facts.csv`` points
    to; ``citation`` is the short form shown beside each fact.

    Raises
    ------
    ValueError
        Naming the file, row and column of every problem (missing columns, an empty
        ``source_doc`` or ``citation``, a repeated ``source_doc``).

    Examples
    --------
    >>> docs = documents()
    >>> docs.loc["001_86b922e5d293e563.txt", "url"]
    'https://www.shaoshang.cn/news/87855.html'
    """
    import pandas as pd

    from govstats import paths

    path = Path(path) if path is not None else paths.raw_dir() / "documents.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems = [f"{path}: missing column {c!r}" for c in DOCUMENT_COLUMNS if c not in table.columns]
    if not problems:
        for i, row in table.iterrows():
            for col in ("source_doc", "citation", "title"):
                if not row[col].strip():
                    problems.append(f"{path}: row {i + 2}, column {col!r} is empty")
        for doc in table.loc[table["source_doc"].duplicated(), "source_doc"]:
            problems.append(f"{path}: source_doc {doc!r} appears more than once")
    if problems:
        raise ValueError("documents table has problems:\n  " + "\n  ".join(problems))
    return table.set_index("source_doc")[list(DOCUMENT_COLUMNS[1:])]


def cite(table, column: str = "source_file", *, docs=None, keep_file: bool = False):
    """Replace stored file names in ``column`` by the documents' short citations.

    Every fact keeps its link to the document: the short citation (author or outlet,
    date) stands where the hash file name (``001_86b922e5d293e563.txt``) stood, in a
    column called ``source``; ``keep_file=True`` keeps the file name beside it. A file
    not in the documents table is an error (never a silent blank).

    Examples
    --------
    >>> import pandas as pd
    >>> cite(pd.DataFrame({"fact_id": ["f1"], "source_file": ["004_622c42ad8fc65679.txt"]}))
      fact_id                 source
    0      f1  Zhang Xiaoming (2024)
    """
    docs = documents() if docs is None else docs
    files = table[column]
    unknown = sorted(set(files.dropna()) - set(docs.index))
    if unknown:
        raise KeyError(f"{column}: {unknown} not in the documents table (data/raw/documents.csv)")
    out = table.copy()
    position = list(out.columns).index(column)
    cited = files.map(docs["citation"])
    if not keep_file:
        out = out.drop(columns=[column])
    out.insert(position, "source", cited)
    return out


_STORED_FILE = re.compile(r"\b\d{3}_[0-9a-f]{16}\.txt\b")


def cite_text(table, columns: Sequence[str] | None = None, *, docs=None):
    """Replace stored file names written *inside* text cells by the documents' short citations.

    :func:`cite` replaces a column that holds only a file name; tables built by other
    modules often quote a fact as ``"1600多名 (002_d06d82ba0e6f6f18.txt: 1600多名)"``.
    Here every stored file name (``NNN_<16 hex>.txt``) in the text ``columns`` (default:
    every text column) becomes its short citation. A file name not in the documents
    table is an error, as in :func:`cite`.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"expected": ["4 (四级 (002_d06d82ba0e6f6f18.txt: 四级))"]})
    >>> cite_text(table).loc[0, "expected"]
    '4 (四级 (《平安之光耀衢城》 column (2011): 四级))'
    """
    docs = documents() if docs is None else docs
    citations = docs["citation"].to_dict()
    out = table.copy()
    columns = list(columns) if columns is not None else [
        c for c in out.columns if out[c].dtype == object or str(out[c].dtype).startswith("str")]
    unknown: set[str] = set()

    def replace(match: re.Match) -> str:
        name = match.group(0)
        if name not in citations:
            unknown.add(name)
            return name
        return citations[name]

    for c in columns:
        out[c] = out[c].map(lambda v: _STORED_FILE.sub(replace, v) if isinstance(v, str) else v)
    if unknown:
        raise KeyError(f"{sorted(unknown)} not in the documents table (data/raw/documents.csv)")
    return out


def project_relative(text: str, *, root: str | Path | None = None) -> str:
    """``text`` with the project root's absolute path removed from every path in it.

    Summaries such as a facts table's row accounting name the file they read by its
    absolute path (``/home/me/govstats/data/raw/facts.csv: 146 rows in = ...``); a
    report shows it relative to the repository (``data/raw/facts.csv: ...``), the same
    on every machine.

    Examples
    --------
    >>> project_relative("/srv/gs/data/raw/facts.csv: 146 rows in", root="/srv/gs")
    'data/raw/facts.csv: 146 rows in'
    """
    from govstats import paths

    base = Path(root) if root is not None else paths.project_root()
    for prefix in dict.fromkeys((str(base), str(base.resolve()))):
        text = text.replace(prefix.rstrip(os.sep) + os.sep, "")
    return text
