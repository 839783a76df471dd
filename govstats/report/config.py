"""The reports configuration: which notebooks run, with which parameters.

The configuration is a YAML file (``reports.yml`` at the repository root by
default), read with :class:`yaml.SafeLoader` so it can never construct Python
objects. Its shape::

    kernel: govstats                  # Jupyter kernel every run uses (default)
    defaults: {timeout: 600, start_timeout: 60, show_code: false, data: []}
    runs:
      - notebook: notebooks/place_profiles.ipynb
        name: place_profiles          # default: the notebook's file name
        parameters: {places: [hengyang]}
        data: ["data/raw/*.csv"]      # globs whose file contents enter the cache key
      - notebook: notebooks/panel_regression.ipynb
        grid: {outcome: [a, b], effects: [unit, twoway]}   # 4 runs
    smoke:                            # small parameters for the notebook smoke test
      notebooks/place_profiles.ipynb: {places: [hengyang]}

A ``grid`` expands into the cartesian product of its lists, each combined with
the entry's ``parameters``; run names get one ``__key-value`` suffix per grid
key. Paths and globs are relative to the directory of the configuration file.

Every structural problem is collected and raised at once as a
:class:`~govstats.errors.DataValidationError` whose problems carry the file and
the line (in :attr:`Problem.row`, so "go to line" lands on it). Parameter values
keep where they were written (:class:`ParameterSite`) so that
:mod:`govstats.report.params` can say which line is wrong and how the YAML read
it: unquoted ``010`` is the octal number 8 in YAML 1.1, unquoted ``430400`` an
integer; quoted, both stay strings.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import itertools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from govstats.errors import DataValidationError, Problem

__all__ = [
    "DEFAULT_KERNEL",
    "ParameterSite",
    "ReportConfig",
    "RunSpec",
    "load_config",
    "run_name_slug",
]

DEFAULT_KERNEL = "govstats"
DEFAULT_TIMEOUT = 600.0
DEFAULT_START_TIMEOUT = 60.0

_TOP_KEYS = {"kernel", "defaults", "runs", "smoke"}
_DEFAULT_KEYS = {"timeout", "start_timeout", "show_code", "data"}
_RUN_KEYS = {
    "notebook",
    "name",
    "description",
    "parameters",
    "grid",
    "data",
    "kernel",
    "timeout",
    "start_timeout",
    "show_code",
}
# Output files are reports/<name>.html, reports/<name>.failed.html, reports/index.html,
# reports/manifest.json: these names would collide.
_RESERVED_NAMES = {"index", "manifest"}
_MAX_NAME = 120
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.-]+")
_LEADING_ZERO_INT = re.compile(r"^[-+]?0[0-9_]+$")


@dataclass(frozen=True)
class ParameterSite:
    """One parameter value as written in the configuration, and where.

    Attributes
    ----------
    entry : str
        The run entry (its name before grid expansion) or ``smoke: <notebook>``.
    notebook : Path
        The notebook the value is meant for.
    name : str
        Parameter name.
    value : object
        The value as YAML constructed it (``010`` unquoted is ``8``).
    line : int
        1-based line of the value in the configuration file.
    raw : str
        The value's source text exactly as written.
    unquoted_non_strings : tuple of str
        Source texts of unquoted scalars inside the value that YAML turned into
        numbers, booleans or null; the usual cause of "int given for a str".
    """

    entry: str
    notebook: Path
    name: str
    value: Any
    line: int
    raw: str
    unquoted_non_strings: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunSpec:
    """One notebook execution: a notebook and one set of parameters.

    Attributes
    ----------
    name : str
        Unique, file-name safe; outputs are ``reports/<name>.ipynb`` and ``.html``.
    notebook : Path
        Absolute path of the notebook.
    notebook_label : str
        The notebook as written in the configuration.
    parameters : dict
        Parameters injected by papermill (entry parameters plus grid values).
    data : tuple of str
        Glob patterns (relative to the configuration directory) whose file
        contents enter the cache key.
    kernel : str
        Jupyter kernel name.
    timeout : float
        Wall-clock limit of the whole run in seconds (all cells together).
    start_timeout : float
        Seconds to wait for the kernel to start (one retry after that).
    show_code : bool
        Show code cells in the HTML rendering.
    description : str
        Free text shown in the index.
    entry : str
        Name of the configuration entry the run came from (before grid expansion).
    line : int
        Line of that entry in the configuration file.
    """

    name: str
    notebook: Path
    notebook_label: str
    parameters: dict[str, Any]
    data: tuple[str, ...] = ()
    kernel: str = DEFAULT_KERNEL
    timeout: float = DEFAULT_TIMEOUT
    start_timeout: float = DEFAULT_START_TIMEOUT
    show_code: bool = False
    description: str = ""
    entry: str = ""
    line: int = 0


@dataclass(frozen=True)
class ReportConfig:
    """A loaded and structurally valid reports configuration.

    Attributes
    ----------
    path : Path
        The configuration file.
    base_dir : Path
        Directory relative paths and globs are resolved against.
    kernel : str
        Default kernel.
    runs : tuple of RunSpec
        Every run, grids expanded, in file order.
    smoke : dict
        Notebook path (as written) -> small parameters for the smoke test.
    sites : tuple of ParameterSite
        Every parameter value with its location (runs, grids and smoke).
    """

    path: Path
    base_dir: Path
    kernel: str
    runs: tuple[RunSpec, ...]
    smoke: dict[str, dict[str, Any]] = field(default_factory=dict)
    sites: tuple[ParameterSite, ...] = ()

    def run(self, name: str) -> RunSpec:
        """The run called ``name`` (KeyError listing the names otherwise)."""
        for r in self.runs:
            if r.name == name:
                return r
        raise KeyError(f"no run named {name!r}; runs: {', '.join(r.name for r in self.runs)}")


def run_name_slug(text: str) -> str:
    """Make ``text`` safe as a file name: letters (any script), digits, ``.``, ``_``, ``-``.

    Examples
    --------
    >>> run_name_slug("panel regression/衡阳 <x>")
    'panel_regression_衡阳_x'
    """
    slug = _UNSAFE_NAME_CHARS.sub("_", str(text)).strip("._-")
    return slug or "run"


def _value_label(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "-".join(_value_label(v) for v in value) or "empty"
    if isinstance(value, dict):
        return "-".join(f"{k}-{_value_label(v)}" for k, v in value.items()) or "empty"
    return str(value)


def _shorten(name: str) -> str:
    if len(name) <= _MAX_NAME:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: _MAX_NAME - 9]}-{digest}"


# ---------------------------------------------------------------- YAML with lines


class _Located:
    """A YAML node and its constructed value, navigable by key or index."""

    def __init__(self, node: yaml.Node | None, value: Any, text: str):
        self.node = node
        self.value = value
        self._text = text

    @property
    def line(self) -> int:
        return self.node.start_mark.line + 1 if self.node is not None else 1

    @property
    def raw(self) -> str:
        if self.node is None:
            return ""
        if isinstance(self.node, yaml.ScalarNode):
            return self.node.value
        return self._text[self.node.start_mark.index : self.node.end_mark.index].strip()

    def items(self) -> list[tuple[str, _Located, int]]:
        """(key, child, key line) for a mapping node, in file order, duplicates kept."""
        out = []
        if isinstance(self.node, yaml.MappingNode) and isinstance(self.value, dict):
            for key_node, value_node in self.node.value:
                # Constructed keys may differ from the text (`1: x`); look both up.
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
                k = key if key in self.value else _construct_scalar_key(key_node)
                out.append(
                    (
                        str(k),
                        _Located(value_node, self.value.get(k) if _hashable(k) else None, self._text),
                        key_node.start_mark.line + 1,
                    )
                )
        return out

    def elements(self) -> list[_Located]:
        if isinstance(self.node, yaml.SequenceNode) and isinstance(self.value, list):
            return [_Located(n, v, self._text) for n, v in zip(self.node.value, self.value, strict=True)]
        return []

    def get(self, key: str) -> _Located | None:
        for k, child, _ in self.items():
            if k == key:
                return child
        return None

    def unquoted_non_strings(self) -> tuple[str, ...]:
        """Source texts of plain (unquoted) scalars that YAML did not read as strings."""
        found: list[str] = []

        def walk(node: yaml.Node) -> None:
            if isinstance(node, yaml.ScalarNode):
                if node.style is None and node.tag != "tag:yaml.org,2002:str":
                    found.append(node.value)
            elif isinstance(node, yaml.SequenceNode):
                for n in node.value:
                    walk(n)
            elif isinstance(node, yaml.MappingNode):
                for _, n in node.value:
                    walk(n)

        if self.node is not None:
            walk(self.node)
        return tuple(found)


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _construct_scalar_key(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _load_yaml(path: Path) -> _Located:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataValidationError(
            [Problem("configuration file not found", file=str(path), hint="pass --config PATH")],
            what="reports configuration",
        ) from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        value = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DataValidationError(
            [
                Problem(
                    f"not valid YAML: {getattr(exc, 'problem', None) or exc}",
                    file=str(path),
                    row=mark.line + 1 if mark is not None else None,
                )
            ],
            what="reports configuration",
        ) from None
    finally:
        loader.dispose()
    return _Located(node, value, text)


# ---------------------------------------------------------------- validation helpers


class _Collector:
    def __init__(self, path: Path):
        self.path = path
        self.problems: list[Problem] = []

    def add(self, message: str, loc: _Located | None = None, *, line: int | None = None,
            column: str | None = None, value: Any = None, hint: str = "") -> None:
        row = line if line is not None else (loc.line if loc is not None else None)
        self.problems.append(
            Problem(message, file=str(self.path), row=row, column=column, value=value, hint=hint)
        )

    def check_keys(self, loc: _Located, allowed: set[str], where: str) -> None:
        seen: set[str] = set()
        for key, _child, key_line in loc.items():
            if key in seen:
                self.add(f"{where}: key {key!r} given twice (YAML keeps only the last)",
                         line=key_line, column=key)
            seen.add(key)
            if key not in allowed:
                self.add(f"{where}: unknown key {key!r}", line=key_line, column=key,
                         hint=f"allowed keys: {', '.join(sorted(allowed))}")


def _positive_number(col: _Collector, loc: _Located | None, what: str, default: float) -> float:
    if loc is None:
        return default
    v = loc.value
    if isinstance(v, bool) or not isinstance(v, int | float) or v <= 0:
        col.add(f"{what} must be a positive number of seconds", loc, column=what, value=loc.raw)
        return default
    return float(v)


def _boolean(col: _Collector, loc: _Located | None, what: str, default: bool) -> bool:
    if loc is None:
        return default
    if not isinstance(loc.value, bool):
        col.add(f"{what} must be true or false", loc, column=what, value=loc.raw)
        return default
    return loc.value


def _string_list(col: _Collector, loc: _Located | None, what: str) -> tuple[str, ...]:
    if loc is None or loc.value is None:
        return ()
    if isinstance(loc.value, str):
        return (loc.value,)
    if isinstance(loc.value, list) and all(isinstance(v, str) for v in loc.value):
        return tuple(loc.value)
    col.add(f"{what} must be a list of glob patterns (strings)", loc, column=what, value=loc.raw)
    return ()


_JSON_SCALARS = (str, int, float, bool, type(None))


def _non_json(value: Any) -> Any:
    """The first value papermill cannot inject faithfully (dates, sets...), or None."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                return k
            bad = _non_json(v)
            if bad is not None:
                return bad
        return None
    if isinstance(value, list):
        for v in value:
            bad = _non_json(v)
            if bad is not None:
                return bad
        return None
    if isinstance(value, _JSON_SCALARS):
        return None
    return value


def _site(col: _Collector, entry: str, notebook: Path, name: str, loc: _Located) -> ParameterSite | None:
    bad = _non_json(loc.value)
    if bad is not None:
        kind = "a date" if isinstance(bad, _dt.date) else type(bad).__name__
        col.add(
            f"{entry}: parameter {name!r}: YAML read {bad!s} as {kind}, which cannot be passed "
            "to a notebook",
            loc,
            column=name,
            value=loc.raw,
            hint="quote it to pass a string",
        )
        return None
    return ParameterSite(
        entry=entry,
        notebook=notebook,
        name=name,
        value=loc.value,
        line=loc.line,
        raw=loc.raw,
        unquoted_non_strings=loc.unquoted_non_strings(),
    )


def _parameters(col: _Collector, loc: _Located | None, entry: str, notebook: Path,
                sites: list[ParameterSite]) -> dict[str, Any]:
    if loc is None or loc.value is None:
        return {}
    if not isinstance(loc.value, dict):
        col.add(f"{entry}: parameters must be a mapping name: value", loc, column="parameters",
                value=loc.raw)
        return {}
    col.check_keys(loc, {k for k, _, _ in loc.items()}, f"{entry}: parameters")
    out = {}
    for key, child, _ in loc.items():
        site = _site(col, entry, notebook, key, child)
        if site is not None:
            sites.append(site)
        out[key] = child.value
    return out


# ---------------------------------------------------------------- loading


def load_config(path: str | Path) -> ReportConfig:
    """Read and check a reports configuration.

    Parameters
    ----------
    path : str or Path
        The YAML file.

    Returns
    -------
    ReportConfig
        With grids expanded into one :class:`RunSpec` per combination.

    Raises
    ------
    DataValidationError
        Listing every structural problem (unknown keys, missing notebooks,
        duplicate run names, values YAML could not read as intended), each with
        the file and line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "a.ipynb").write_text("{}")
    >>> _ = (d / "reports.yml").write_text(
    ...     "runs:\\n  - notebook: a.ipynb\\n    grid: {x: [1, 2]}\\n")
    >>> [r.name for r in load_config(d / "reports.yml").runs]
    ['a__x-1', 'a__x-2']
    """
    path = Path(path).resolve()
    base_dir = path.parent
    doc = _load_yaml(path)
    col = _Collector(path)
    if doc.value is None:
        col.add("the configuration is empty; it needs a list under 'runs:'")
        DataValidationError.raise_if_any(col.problems, what=f"reports configuration {path}")
    if not isinstance(doc.value, dict):
        col.add("the configuration must be a mapping with a 'runs:' list", doc, value=doc.raw)
        DataValidationError.raise_if_any(col.problems, what=f"reports configuration {path}")
    col.check_keys(doc, _TOP_KEYS, "configuration")

    kernel_loc = doc.get("kernel")
    kernel = DEFAULT_KERNEL
    if kernel_loc is not None:
        if isinstance(kernel_loc.value, str) and kernel_loc.value:
            kernel = kernel_loc.value
        else:
            col.add("kernel must be a kernel name", kernel_loc, column="kernel", value=kernel_loc.raw)

    defaults = doc.get("defaults")
    d_timeout, d_start, d_show, d_data = DEFAULT_TIMEOUT, DEFAULT_START_TIMEOUT, False, ()
    if defaults is not None and defaults.value is not None:
        if not isinstance(defaults.value, dict):
            col.add("defaults must be a mapping", defaults, column="defaults", value=defaults.raw)
        else:
            col.check_keys(defaults, _DEFAULT_KEYS, "defaults")
            d_timeout = _positive_number(col, defaults.get("timeout"), "timeout", DEFAULT_TIMEOUT)
            d_start = _positive_number(col, defaults.get("start_timeout"), "start_timeout",
                                       DEFAULT_START_TIMEOUT)
            d_show = _boolean(col, defaults.get("show_code"), "show_code", False)
            d_data = _string_list(col, defaults.get("data"), "data")

    sites: list[ParameterSite] = []
    runs: list[RunSpec] = []
    runs_loc = doc.get("runs")
    if runs_loc is None or not isinstance(runs_loc.value, list) or not runs_loc.value:
        col.add("'runs:' must be a non-empty list of runs", runs_loc or doc, column="runs")
    else:
        for i, entry_loc in enumerate(runs_loc.elements(), start=1):
            runs.extend(
                _load_entry(col, entry_loc, i, base_dir, kernel, d_timeout, d_start, d_show, d_data,
                            sites)
            )

    seen: dict[str, RunSpec] = {}
    for run in runs:
        if run.name in seen:
            col.add(
                f"run name {run.name!r} is used twice (lines {seen[run.name].line} and {run.line})",
                line=run.line,
                column="name",
                hint="give one of the entries a different 'name:'",
            )
        seen[run.name] = run

    smoke: dict[str, dict[str, Any]] = {}
    smoke_loc = doc.get("smoke")
    if smoke_loc is not None and smoke_loc.value is not None:
        if not isinstance(smoke_loc.value, dict):
            col.add("smoke must map notebook paths to parameters", smoke_loc, column="smoke")
        else:
            col.check_keys(smoke_loc, {k for k, _, _ in smoke_loc.items()}, "smoke")
            for nb_label, params_loc, key_line in smoke_loc.items():
                nb_path = (base_dir / nb_label).resolve()
                if not nb_path.is_file():
                    col.add(f"smoke: notebook {nb_label!r} does not exist", line=key_line,
                            column="smoke", value=nb_label)
                smoke[nb_label] = _parameters(col, params_loc, f"smoke: {nb_label}", nb_path, sites)

    DataValidationError.raise_if_any(col.problems, what=f"reports configuration {path}")
    return ReportConfig(
        path=path,
        base_dir=base_dir,
        kernel=kernel,
        runs=tuple(runs),
        smoke=smoke,
        sites=tuple(sites),
    )


def _load_entry(col: _Collector, loc: _Located, index: int, base_dir: Path, kernel: str,
                d_timeout: float, d_start: float, d_show: bool, d_data: tuple[str, ...],
                sites: list[ParameterSite]) -> list[RunSpec]:
    where = f"runs[{index}]"
    if not isinstance(loc.value, dict):
        col.add(f"{where} must be a mapping with at least 'notebook:'", loc, value=loc.raw)
        return []
    col.check_keys(loc, _RUN_KEYS, where)
    nb_loc = loc.get("notebook")
    if nb_loc is None or not isinstance(nb_loc.value, str) or not nb_loc.value:
        col.add(f"{where}: 'notebook:' (a path to an .ipynb file) is required", nb_loc or loc,
                column="notebook")
        return []
    nb_label = nb_loc.value
    notebook = (base_dir / nb_label).resolve()
    if not notebook.is_file():
        col.add(f"{where}: notebook {nb_label!r} does not exist", nb_loc, column="notebook",
                value=nb_label, hint=f"paths are relative to {base_dir}")

    name_loc = loc.get("name")
    if name_loc is not None:
        if not isinstance(name_loc.value, str) or not name_loc.value:
            col.add(f"{where}: name must be a string", name_loc, column="name", value=name_loc.raw)
            entry = run_name_slug(Path(nb_label).stem)
        else:
            entry = name_loc.value
            if run_name_slug(entry) != entry:
                col.add(
                    f"{where}: run name {entry!r} is not file-name safe",
                    name_loc,
                    column="name",
                    value=entry,
                    hint=f"use letters, digits, '.', '_' and '-', e.g. {run_name_slug(entry)!r}",
                )
    else:
        entry = run_name_slug(Path(nb_label).stem)
    label = f"run {entry!r}"

    parameters = _parameters(col, loc.get("parameters"), label, notebook, sites)

    grid_points: list[dict[str, Any]] = [{}]
    grid_loc = loc.get("grid")
    if grid_loc is not None and grid_loc.value is not None:
        if not isinstance(grid_loc.value, dict) or not grid_loc.value:
            col.add(f"{label}: grid must map parameter names to lists of values", grid_loc,
                    column="grid", value=grid_loc.raw)
        else:
            col.check_keys(grid_loc, {k for k, _, _ in grid_loc.items()}, f"{label}: grid")
            axes: list[list[tuple[str, Any]]] = []
            for key, values_loc, key_line in grid_loc.items():
                if key in parameters:
                    col.add(f"{label}: {key!r} is both in parameters and in grid", line=key_line,
                            column=key)
                if not isinstance(values_loc.value, list) or not values_loc.value:
                    col.add(f"{label}: grid {key!r} must be a non-empty list of values",
                            values_loc, column=key, value=values_loc.raw)
                    continue
                for value_loc in values_loc.elements():
                    site = _site(col, label, notebook, key, value_loc)
                    if site is not None:
                        sites.append(site)
                axes.append([(key, v) for v in values_loc.value])
            grid_points = [dict(point) for point in itertools.product(*axes)]

    timeout = _positive_number(col, loc.get("timeout"), "timeout", d_timeout)
    start_timeout = _positive_number(col, loc.get("start_timeout"), "start_timeout", d_start)
    show_code = _boolean(col, loc.get("show_code"), "show_code", d_show)
    data = d_data + _string_list(col, loc.get("data"), "data")
    kernel_loc = loc.get("kernel")
    run_kernel = kernel
    if kernel_loc is not None:
        if isinstance(kernel_loc.value, str) and kernel_loc.value:
            run_kernel = kernel_loc.value
        else:
            col.add(f"{label}: kernel must be a kernel name", kernel_loc, column="kernel")
    desc_loc = loc.get("description")
    description = str(desc_loc.value) if desc_loc is not None and desc_loc.value is not None else ""

    runs = []
    for point in grid_points:
        name = entry
        for key, value in point.items():
            name += f"__{run_name_slug(key)}-{run_name_slug(_value_label(value))}"
        name = _shorten(name)
        if name in _RESERVED_NAMES or name.endswith(".failed"):
            col.add(f"{label}: run name {name!r} is reserved for the index and manifest files",
                    loc, column="name", value=name)
        runs.append(
            RunSpec(
                name=name,
                notebook=notebook,
                notebook_label=nb_label,
                parameters={**parameters, **point},
                data=data,
                kernel=run_kernel,
                timeout=timeout,
                start_timeout=start_timeout,
                show_code=show_code,
                description=description,
                entry=entry,
                line=loc.line,
            )
        )
    return runs


def as_plain(value: Any) -> Any:
    """Mappings and sequences turned into dicts and lists (for JSON and hashing)."""
    if isinstance(value, Mapping):
        return {str(k): as_plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [as_plain(v) for v in value]
    return value
