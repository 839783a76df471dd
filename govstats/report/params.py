"""Check configured parameters against each notebook's ``parameters`` cell.

Names, types and defaults come from papermill's own inspection
(:func:`papermill.inspect_notebook`), the same reading papermill uses when it
warns about an unknown parameter. A parameter's type is its annotation or
``# type:`` comment (``code: str = "430400"``); without one it is inferred from
the literal default (``places = ["hengyang"]`` is ``list[str]``); a default of
``None`` or a non-literal expression accepts anything.

papermill's regular expression skips a few valid lines (``x: str | None = None``);
an :mod:`ast` pass over the same cell adds those names, so a correct parameter
is never reported as unknown.

Inspection results are cached by the notebook's bytes under
``.govstats-cache/params`` so that a warm ``govstats report`` never imports
papermill (whose import costs seconds, see :mod:`govstats.report._imports`).
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, get_args

from govstats.errors import DataValidationError, Problem
from govstats.report.config import ParameterSite, ReportConfig

__all__ = [
    "FIVE_PLACES",
    "RULES",
    "NotebookParameter",
    "Rule",
    "check",
    "check_value",
    "notebook_parameters",
    "parameter_problems",
    "validate_parameters",
]

_CACHE_VERSION = 1


@dataclass(frozen=True)
class NotebookParameter:
    """One name assigned in a notebook's ``parameters`` cell.

    Attributes
    ----------
    name : str
    type_name : str or None
        Declared type (annotation or ``# type:`` comment) or the type of the
        literal default; None when unknown (then any value is accepted).
    declared : bool
        Whether ``type_name`` was written by the author rather than inferred.
    default : str
        The default's source text.
    help : str
        The trailing comment, if any.
    """

    name: str
    type_name: str | None
    declared: bool
    default: str
    help: str = ""


def _type_of_value(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    if isinstance(value, list | tuple):
        kinds = {_type_of_value(v) for v in value}
        if len(kinds) == 1 and None not in kinds:
            return f"list[{kinds.pop()}]"
        if kinds == {"int", "float"}:
            return "list[float]"
        return "list"
    if isinstance(value, dict):
        return "dict"
    return None


def _type_from_default(default_source: str) -> str | None:
    try:
        return _type_of_value(ast.literal_eval(default_source))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _parameters_cell_source(notebook: dict) -> str | None:
    for cell in notebook.get("cells", []):
        if "parameters" in (cell.get("metadata", {}).get("tags") or []):
            src = cell.get("source", "")
            return "".join(src) if isinstance(src, list) else src
    return None


def _ast_parameters(source: str) -> dict[str, NotebookParameter]:
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    found = {}
    for stmt in tree.body:
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            default = ast.unparse(stmt.value) if stmt.value is not None else "None"
            found[stmt.target.id] = NotebookParameter(
                stmt.target.id, ast.unparse(stmt.annotation), True, default
            )
        elif isinstance(stmt, ast.Assign):
            default = ast.unparse(stmt.value)
            for target in stmt.targets:
                if isinstance(target, ast.Name):
                    found[target.id] = NotebookParameter(
                        target.id, _type_from_default(default), False, default
                    )
    return found


def _inspect(notebook: Path) -> dict[str, NotebookParameter] | None:
    import papermill

    nb = json.loads(notebook.read_text(encoding="utf-8"))
    source = _parameters_cell_source(nb)
    if source is None:
        return None
    result: dict[str, NotebookParameter] = {}
    for name, p in papermill.inspect_notebook(str(notebook)).items():
        declared = p["inferred_type_name"] not in ("None", "", None)
        type_name = p["inferred_type_name"] if declared else _type_from_default(p["default"])
        result[name] = NotebookParameter(name, type_name, declared, p["default"], p["help"])
    for name, p in _ast_parameters(source).items():
        result.setdefault(name, p)
    return result


def notebook_parameters(
    notebook: str | Path, *, cache_dir: Path | None = None
) -> dict[str, NotebookParameter] | None:
    """The parameters a notebook declares, or None if it has no ``parameters`` cell.

    Parameters
    ----------
    notebook : str or Path
    cache_dir : Path, optional
        Where to keep inspection results keyed by the notebook's bytes.

    Examples
    --------
    >>> import json, tempfile, pathlib
    >>> nb = {"cells": [{"cell_type": "code", "id": "p", "metadata": {"tags": ["parameters"]},
    ...        "source": "code = '430400'  # place code\\nyears: list = [2020]\\n",
    ...        "outputs": [], "execution_count": None}],
    ...       "metadata": {"kernelspec": {"name": "python3", "language": "python",
    ...                    "display_name": "Python 3"}}, "nbformat": 4, "nbformat_minor": 5}
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "x.ipynb"
    >>> _ = path.write_text(json.dumps(nb))
    >>> p = notebook_parameters(path)
    >>> p["code"].type_name, p["code"].help, p["years"].type_name
    ('str', 'place code', 'list')
    """
    notebook = Path(notebook)
    data = notebook.read_bytes()
    cached = None
    if cache_dir is not None:
        cached = Path(cache_dir) / f"{hashlib.sha256(data).hexdigest()}.json"
        try:
            stored = json.loads(cached.read_text(encoding="utf-8"))
            if stored.get("version") == _CACHE_VERSION:
                if stored["parameters"] is None:
                    return None
                return {p["name"]: NotebookParameter(**p) for p in stored["parameters"]}
        except (OSError, ValueError, KeyError, TypeError):
            pass
    result = _inspect(notebook)
    if cached is not None:
        from govstats._io import atomic_write_text

        payload = {
            "version": _CACHE_VERSION,
            "notebook": str(notebook),
            "parameters": None if result is None else [asdict(p) for p in result.values()],
        }
        atomic_write_text(cached, json.dumps(payload, ensure_ascii=False))
    return result


# ---------------------------------------------------------------- type checks

_STR = {"str"}
_INT = {"int"}
_FLOAT = {"float"}
_BOOL = {"bool"}
_LIST = {"list", "List", "tuple", "Tuple", "Sequence", "set", "Set", "Iterable", "Collection"}
_DICT = {"dict", "Dict", "Mapping", "MutableMapping"}
_NONE = {"None", "NoneType"}


def _name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # typing.Optional
        return node.attr
    return None


def _matches(value: Any, node: ast.AST) -> bool:
    if isinstance(node, ast.Constant):
        if node.value is None:
            return value is None
        if isinstance(node.value, str):  # a string annotation: "list[str]"
            try:
                return _matches(value, ast.parse(node.value, mode="eval").body)
            except SyntaxError:
                return True
        return True
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _matches(value, node.left) or _matches(value, node.right)
    if isinstance(node, ast.Subscript):
        base = _name(node.value)
        args = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if base == "Optional":
            return value is None or _matches(value, args[0])
        if base == "Union":
            return any(_matches(value, a) for a in args)
        if base == "Literal":
            return any(isinstance(a, ast.Constant) and a.value == value for a in args)
        if base in _LIST:
            if not isinstance(value, list):
                return False
            kinds = [a for a in args if not (isinstance(a, ast.Constant) and a.value is Ellipsis)]
            return all(any(_matches(v, a) for a in kinds) for v in value) if kinds else True
        if base in _DICT:
            if not isinstance(value, dict):
                return False
            return all(_matches(v, args[-1]) for v in value.values()) if len(args) == 2 else True
        return True
    name = _name(node)
    if name in _STR:
        return isinstance(value, str)
    if name in _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if name in _FLOAT:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if name in _BOOL:
        return isinstance(value, bool)
    if name in _LIST:
        return isinstance(value, list)
    if name in _DICT:
        return isinstance(value, dict)
    if name in _NONE:
        return value is None
    return True  # a type we do not know (a class, Any): accept


def check_value(value: Any, type_name: str | None) -> bool:
    """Whether a YAML value fits a parameter's type (unknown types accept anything).

    Examples
    --------
    >>> check_value("430400", "str"), check_value(430400, "str")
    (True, False)
    >>> check_value(3, "float"), check_value(True, "int"), check_value(["a"], "list[str]")
    (True, False, True)
    >>> check_value(None, "Optional[str]"), check_value(1, "str | None")
    (True, False)
    """
    if type_name is None:
        return True
    try:
        node = ast.parse(type_name, mode="eval").body
    except SyntaxError:
        return True
    return _matches(value, node)


def _mentions(type_name: str, names: set[str]) -> bool:
    try:
        return any(
            _name(n) in names for n in ast.walk(ast.parse(type_name, mode="eval"))
        )
    except SyntaxError:
        return False


def _describe(value: Any) -> str:
    kind = type(value).__name__ if value is not None else "null"
    return f"{kind} {value!r}"


def _problem_for(site: ParameterSite, config: ReportConfig,
                 params: dict[str, NotebookParameter] | None, nb_label: str) -> Problem | None:
    where = dict(file=str(config.path), row=site.line, column=site.name, value=site.raw)
    if params is None:
        return Problem(
            f"{site.entry}: cannot pass {site.name!r}: notebook {nb_label} has no cell tagged "
            "'parameters'",
            hint="tag the cell that assigns the defaults with 'parameters'",
            **where,
        )
    if site.name not in params:
        close = difflib.get_close_matches(site.name, list(params), n=3)
        hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
        hint += f"{nb_label} takes: {', '.join(params) or '(no parameters)'}"
        return Problem(f"{site.entry}: unknown parameter {site.name!r}", hint=hint, **where)
    spec = params[site.name]
    rule = _rule(site.notebook.stem, site.name)
    if rule is not None and rule.type_name:
        spec = NotebookParameter(spec.name, rule.type_name, True, spec.default, spec.help)
    if spec.type_name is None:
        return None
    source = "declared" if spec.declared else f"from its default {spec.default}"
    if not check_value(site.value, spec.type_name):
        hint = ""
        if site.unquoted_non_strings and _mentions(spec.type_name, _STR):
            raw = site.unquoted_non_strings[0]
            hint = (
                f"YAML reads the unquoted {raw} as a {type(_yaml_scalar(raw)).__name__}; "
                f"quote it to keep it a string: '{raw}'"
            )
        return Problem(
            f"{site.entry}: parameter {site.name!r} of {nb_label} is {spec.type_name} ({source}) "
            f"but the configuration gives {_describe(site.value)}",
            hint=hint,
            **where,
        )
    if _mentions(spec.type_name, _INT | _FLOAT):
        for raw in site.unquoted_non_strings:
            if raw.lstrip("+-").startswith("0") and raw.lstrip("+-")[1:2].isdigit():
                return Problem(
                    f"{site.entry}: parameter {site.name!r}: YAML 1.1 reads the unquoted {raw} as "
                    f"{_yaml_scalar(raw)!r} (a leading zero means octal)",
                    hint="drop the leading zero, or quote it if it is a code",
                    **where,
                )
    choice = _choice_problem(rule, nb_label, site.name, site.value)
    if choice is not None:
        return Problem(f"{site.entry}: {choice[0]}", hint=choice[1], **where)
    return None


def _yaml_scalar(raw: str) -> Any:
    import yaml

    return yaml.safe_load(raw)


def _language(notebook: Path) -> str:
    meta = json.loads(notebook.read_text(encoding="utf-8")).get("metadata") or {}
    language = (meta.get("kernelspec") or {}).get("language") or (
        meta.get("language_info") or {}).get("name") or "python"
    return str(language).lower()


def validate_parameters(config: ReportConfig, *, cache_dir: Path | None = None) -> None:
    """Check every configured parameter against its notebook, before anything runs.

    Parameters
    ----------
    config : ReportConfig
    cache_dir : Path, optional
        Inspection cache (see :func:`notebook_parameters`).

    Raises
    ------
    DataValidationError
        With one problem per unknown name or type mismatch, each naming the
        configuration file, the line, the run and the parameter.

    Notes
    -----
    Only Python notebooks are checked: papermill can inspect no other
    language's parameters cell.
    """
    problems: list[Problem] = []
    inspected: dict[Path, dict[str, NotebookParameter] | None] = {}
    unreadable: set[Path] = set()
    for site in config.sites:
        if site.notebook in unreadable:
            continue
        label = os.path.relpath(site.notebook, config.base_dir)
        if site.notebook not in inspected:
            try:
                if _language(site.notebook) != "python":
                    # papermill inspects Python parameter cells only; R/Julia notebooks run
                    # unchecked (papermill itself still injects their parameters).
                    unreadable.add(site.notebook)
                    continue
                inspected[site.notebook] = notebook_parameters(site.notebook, cache_dir=cache_dir)
            except (OSError, ValueError) as exc:
                problems.append(
                    Problem(f"{site.entry}: cannot read notebook {label}: {exc}",
                            file=str(config.path), row=site.line)
                )
                unreadable.add(site.notebook)
                continue
        problem = _problem_for(site, config, inspected[site.notebook], label)
        if problem is not None:
            problems.append(problem)
    DataValidationError.raise_if_any(problems, what=f"parameters in {config.path}")


# ---------------------------------------------------------------- choices

#: The five places of the source documents (``govstats.simulate.PLACES``; a test keeps
#: the two equal without importing the simulation stack here).
FIVE_PLACES = ("hengyang", "shaoyang", "quzhou", "dongcheng", "futian")


def _literal(name: str) -> tuple:
    from govstats import _literals

    return get_args(getattr(_literals, name))


def _is_extract_path(value: Any) -> bool:
    return isinstance(value, str) and value.lower().endswith((".csv", ".xlsx", ".xls", ".tsv"))


def _resolvable_place(value: Any) -> bool:
    if value in FIVE_PLACES:
        return True
    from govstats import places  # the registry accepts Chinese names and pinyin too

    try:
        places.resolve(value)
    except Exception:  # UnknownPlaceError, ambiguous names
        return False
    return True


@dataclass(frozen=True)
class Rule:
    """What a notebook parameter accepts beyond its type.

    Attributes
    ----------
    choices : tuple
        The valid values; for a list parameter, the valid elements.
    type_name : str, optional
        Overrides the type inferred from the default (``"int | None"`` when the
        default is a number but None is meaningful).
    other : str
        Other accepted values, in words (shown in the message).
    accepts : callable, optional
        Accepts a value (or element) outside ``choices``.
    """

    choices: tuple = ()
    type_name: str | None = None
    other: str = ""
    accepts: Callable[[Any], bool] | None = None

    def ok(self, value: Any) -> bool:
        if not self.choices and self.accepts is None:
            return True
        return value in self.choices or (self.accepts is not None and self.accepts(value))

    def valid(self) -> str:
        text = ", ".join(map(repr, self.choices))
        if self.other:
            text = f"{text} or {self.other}" if text else self.other
        return text


def _valid_vcov(value: Any) -> bool:
    from govstats.covariance import parse_vcov

    try:
        parse_vcov(value)
    except ValueError:
        return False
    return True


def _rules() -> dict[str, dict[str, Rule]]:
    language = Rule(_literal("Language"))
    places = Rule(FIVE_PLACES, type_name="list[str]")
    return {
        "place_profiles": {"denominator": Rule(("closest_census", "document")),
                           "language": language, "places": places},
        "mediation_network": {
            "places": Rule(FIVE_PLACES, type_name="list[str]",
                           other="any place name the registry resolves", accepts=_resolvable_place),
            "language": language,
        },
        "panel_regression": {
            "source": Rule(("simulated", *_literal("DatasetName")),
                           other="a path to a CSV/XLSX extract", accepts=_is_extract_path),
            "extract": Rule(("",), other="a path to a CSV/XLSX extract", accepts=_is_extract_path),
            "bootstrap": Rule(_literal("BootstrapMode")),
            "estimator": Rule(_literal("EstimatorKind")),
            "ssc": Rule(_literal("SmallSampleRule")),
            "vcov": Rule(("iid", "hetero", "DK"), type_name="str | dict",
                         other="{'CRV1': column}, {'CRV3': column} or {'CRV1': 'a+b'}", accepts=_valid_vcov),
        },
        "reproduction": {"which": Rule(("all", *_literal("DatasetName")))},
        "reform_event_study": {"reform": Rule(("grid", "aux_village", "rapid_police")),
                               "places": places},
        "causal_mediation": {"fixef": Rule(_literal("MediationFixef")), "places": places},
        "multiverse_simulated": {"units_per_place": Rule(type_name="int | None")},
    }


#: Notebook stem -> parameter -> :class:`Rule` for the project's notebooks (a user's own
#: notebook gets the type checks only). Choices come from :mod:`govstats._literals`.
RULES: dict[str, dict[str, Rule]] = _rules()


def _rule(stem: str, name: str) -> Rule | None:
    return (RULES.get(stem) or {}).get(name)


def _choice_problem(rule: Rule | None, label: str, name: str, value: Any) -> tuple[str, str] | None:
    if rule is None:
        return None
    items = value if isinstance(value, list) else [value]
    bad = [v for v in items if not rule.ok(v)]
    if not bad:
        return None
    close = []
    for v in bad:
        if isinstance(v, str):
            close += difflib.get_close_matches(v, [str(c) for c in rule.choices], n=1)
    hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
    hint += f"valid: {rule.valid()}"
    what = "has" if isinstance(value, list) else "is"
    shown = ", ".join(map(repr, bad))
    return (f"parameter {name!r} of {label} {what} {shown}, not one of the valid "
            f"{'elements' if isinstance(value, list) else 'values'}", hint)


def parameter_problems(label: str, declared: Mapping[str, NotebookParameter] | None,
                       values: Mapping[str, Any], *, how: str = "") -> list[tuple[str, str, str, Any]]:
    """Every problem with ``values`` for a notebook: unknown names, wrong types, bad choices.

    Parameters
    ----------
    label : str
        The notebook's name (its file stem selects the :data:`RULES`).
    declared : mapping
        ``{name: NotebookParameter}`` from the notebook's ``parameters`` cell.
    values : mapping
        The values to check.
    how : str
        How the values were passed (``"papermill"``, ``"-p"``): adds the right
        hint for a list or mapping given as text.

    Returns
    -------
    list of (name, message, hint, value)

    Examples
    --------
    >>> spec = {"language": NotebookParameter("language", "str", False, '"both"'),
    ...         "places": NotebookParameter("places", "list[str]", False, '["hengyang"]')}
    >>> for name, msg, hint, value in parameter_problems("place_profiles", spec,
    ...         {"langauge": "en", "places": "hengyang", "language": "fr"}):
    ...     print(msg)
    unknown parameter 'langauge' = 'en'
    parameter 'places' of place_profiles is list[str] (from its default ["hengyang"]) but got str 'hengyang'
    parameter 'language' of place_profiles is 'fr', not one of the valid values
    """
    stem = Path(label).stem
    out: list[tuple[str, str, str, Any]] = []
    if declared is None:
        for name, value in values.items():
            out.append((name, f"cannot pass {name!r}: notebook {label} has no cell tagged "
                        "'parameters'", "tag the cell that assigns the defaults with 'parameters'",
                        value))
        return out
    for name, value in values.items():
        if name not in declared:
            close = difflib.get_close_matches(name, list(declared), n=3)
            hint = f"did you mean {', '.join(map(repr, close))}? " if close else ""
            hint += f"{label} takes: {', '.join(declared) or '(no parameters)'}"
            out.append((name, f"unknown parameter {name!r} = {value!r}", hint, value))
            continue
        spec = declared[name]
        rule = _rule(stem, name)
        type_name = (rule.type_name if rule and rule.type_name else None) or spec.type_name
        if type_name is not None and not check_value(value, type_name):
            if type_name != spec.type_name:
                source = "declared in govstats.report.params.RULES"
            else:
                source = "declared" if spec.declared else f"from its default {spec.default}"
            hint = ""
            if isinstance(value, str) and _mentions(type_name, _LIST | _DICT):
                example = f"[{value}]" if _mentions(type_name, _LIST) else "{key: value}"
                hint = {
                    "papermill": f"papermill's -p passes text; give a list or mapping as YAML: "
                                 f"-y '{name}: {example}'",
                    "-p": f"write it as YAML: -p {name} '{example}'",
                }.get(how, "")
            out.append((name, f"parameter {name!r} of {label} is {type_name} ({source}) but got "
                        f"{_describe(value)}", hint, value))
            continue
        problem = _choice_problem(rule, label, name, value)
        if problem is not None:
            out.append((name, *problem, value))
    return out


_IPYTHON_NAMES = {"In", "Out", "exit", "quit", "get_ipython", "open"}
_JSONLIKE = (str, int, float, bool, list, dict, type(None))


def _find_notebook(notebook: str | Path) -> Path:
    path = Path(notebook)
    candidates = [path, path.with_suffix(".ipynb")] if path.suffix != ".ipynb" else [path]
    from govstats import paths

    candidates += [paths.project_root() / "notebooks" / f"{path.stem}.ipynb"]
    for c in candidates:
        if c.is_file():
            return c
    raise FileNotFoundError(f"cannot find notebook {notebook!r} (looked at "
                            f"{', '.join(str(c) for c in candidates)})")


def check(namespace: Mapping[str, Any], notebook: str | Path) -> None:
    """Validate a notebook's parameters from inside the notebook (the first code cell).

    Call it right after the ``parameters`` cell, before other assignments::

        gs.report.check_parameters(globals(), "place_profiles")

    It reads the notebook's ``parameters`` cell (names, declared or default
    types) and checks every name in ``namespace`` that holds a plain value
    (text, number, list, mapping, None), so a plain ``papermill -p`` run gets
    the same messages as ``govstats report``: a mistyped name (``-p langauge
    en``), text where a list belongs (``-p places hengyang``), an unknown place
    or choice (:data:`RULES`).

    Parameters
    ----------
    namespace : mapping
        ``globals()`` of the notebook.
    notebook : str or Path
        The notebook's path or name (``"place_profiles"`` is looked up under
        ``notebooks/`` at the project root).

    Raises
    ------
    DataValidationError
        One problem per bad parameter, naming the parameter, the value and
        what is valid.

    Examples
    --------
    >>> check({"places": ["hengyang"], "language": "en", "denominator": "document"},
    ...       "place_profiles")
    >>> try:
    ...     check({"places": "hengyang"}, "place_profiles")
    ... except DataValidationError as err:
    ...     print(err.problems[0].message)
    parameter 'places' of place_profiles is list[str] (from its default [...]) but got str 'hengyang'
    """
    if os.environ.get("GOVSTATS_RUN"):  # a kernel of `govstats report`: skip pandera's dask import
        from govstats.report._imports import skip_dask_for_pandera

        skip_dask_for_pandera()
    path = _find_notebook(notebook)
    source = _parameters_cell_source(json.loads(path.read_text(encoding="utf-8")))
    declared = None if source is None else _ast_parameters(source)
    values = {k: v for k, v in namespace.items()
              if not k.startswith("_") and k not in _IPYTHON_NAMES and isinstance(v, _JSONLIKE)}
    label = path.stem
    problems = [Problem(msg, file=path.name, column=name, hint=hint)
                for name, msg, hint, _value in parameter_problems(label, declared, values,
                                                                 how="papermill")]
    DataValidationError.raise_if_any(problems, what=f"parameters of notebook {label}")


# ---------------------------------------------------------------- one-off parameters


def parse_cli_parameters(pairs: list[list[str]]) -> dict[str, tuple[str, Any]]:
    """``-p key value`` / ``-p key=value`` pairs -> ``{key: (raw text, YAML value)}``.

    Raises
    ------
    ValueError
        A pair that is neither form, or a value that is not valid YAML.

    Examples
    --------
    >>> parse_cli_parameters([["places", "[hengyang, quzhou]"], ["language=en"]])
    {'places': ('[hengyang, quzhou]', ['hengyang', 'quzhou']), 'language': ('en', 'en')}
    """
    import yaml

    out: dict[str, tuple[str, Any]] = {}
    for pair in pairs:
        if len(pair) == 1 and "=" in pair[0]:
            key, raw = pair[0].split("=", 1)
        elif len(pair) == 2:
            key, raw = pair
        else:
            raise ValueError(f"-p {' '.join(pair)}: write -p NAME VALUE or -p NAME=VALUE")
        key = key.strip()
        if not key.isidentifier():
            raise ValueError(f"-p {' '.join(pair)}: {key!r} is not a parameter name")
        try:
            value = yaml.safe_load(raw) if raw.strip() else raw
        except yaml.YAMLError as exc:
            raise ValueError(f"-p {key}: {raw!r} is not valid YAML ({exc.problem})") from None
        out[key] = (raw, value)
    return out


def resolve_overrides(config: ReportConfig, runs: list, overrides: Mapping[str, tuple[str, Any]],
                      *, cache_dir: Path | None = None) -> list:
    """The selected runs with one-off parameters applied, validated like the configuration.

    Each run becomes a new run named ``<run>__<key>-<value>...`` (its own
    reports and cache record; the configured report is left alone). A value is
    read as YAML; when the notebook wants text and YAML read a number
    (``-p code 430400``), the text is kept.

    Raises
    ------
    DataValidationError
        Every unknown name, wrong type or invalid choice, for every selected run.
    """
    from dataclasses import replace

    from govstats.report.config import _shorten, _value_label, run_name_slug

    problems: list[Problem] = []
    out = []
    for run in runs:
        label = os.path.relpath(run.notebook, config.base_dir)
        declared = notebook_parameters(run.notebook, cache_dir=cache_dir)
        values = {}
        for key, (raw, value) in overrides.items():
            spec = (declared or {}).get(key)
            rule = _rule(run.notebook.stem, key)
            type_name = (rule.type_name if rule and rule.type_name else None) or (
                spec.type_name if spec else None)
            if (type_name and not check_value(value, type_name) and not isinstance(value, str)
                    and check_value(raw, type_name)):
                value = raw  # -p code 430400 for a text parameter
            values[key] = value
        for name, msg, hint, _value in parameter_problems(Path(label).stem, declared, values,
                                                           how="-p"):
            problems.append(Problem(f"run {run.name!r}: {msg}", file="command line (-p)",
                                    column=name, value=overrides[name][0], hint=hint))
        name = run.name + "".join(f"__{run_name_slug(k)}-{run_name_slug(_value_label(v))}"
                                  for k, v in values.items())
        out.append(replace(run, name=_shorten(name), parameters={**run.parameters, **values},
                           description=(run.description + " (one-off parameters: "
                                        + ", ".join(f"{k}={v!r}" for k, v in values.items())
                                        + ")").strip()))
    DataValidationError.raise_if_any(problems, what="one-off parameters")
    return out
