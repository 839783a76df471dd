"""Network layouts: which tiers and bodies a place's mediation network has, sized by which facts.

The documented layouts (Quzhou, Futian, Dongcheng) are data, ``layouts.csv`` beside this
module, one row per record:

``network``
    One per place: ``basis`` (where the structure comes from) and, optionally,
    ``indicator``: a fact printing the number of tiers (:func:`~govstats.network.checks`
    compares it with the layout).
``tier``
    Bottom to top, in the order of :data:`TIER_KEYS` (a place may skip keys): ``node``
    (the tier key), ``label_zh``, ``label_en``, ``units`` (see :class:`NodeSpec`),
    ``units_indicator`` (when ``units`` is ``fact``), optionally ``coverage_indicator``,
    and ``basis``.
``beside``
    A specialised body beside a tier: ``node`` (``'<tier key>.<name>'``), the labels
    and ``basis``.
``count``
    A documented count shown on ``node``: ``count`` (its snake_case name),
    ``indicator``, the labels, ``count_kind``, ``mediates`` and ``per_host_unit``
    (``true``/``false``) and optionally ``count_place`` (see :class:`CountSpec`).
``span_check``
    ``node`` (lower tier), ``upper`` (upper tier) and ``indicator``: a fact printing the
    span of control between them.

A column that does not belong to a row's record must be empty. :func:`load_layouts`
reads the file (or a user's file in the same form) into :class:`NetworkLayout` objects
and reports every problem at once, with file, spreadsheet row, column and value.

Examples
--------
>>> layouts = load_layouts()
>>> sorted(layouts)
['dongcheng', 'futian', 'quzhou']
>>> [(t.node, t.units) for t in layouts["futian"].tiers]
[('village', 'fact'), ('township', 'registry'), ('county', 'self')]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import get_args

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from govstats._literals import CountKind, Language, TierKey, UnitsFrom
from govstats.errors import DataValidationError, Problem
from govstats.network._files import read_checked, resolve_places
from govstats.schemas import SNAKE_CASE

__all__ = [
    "LAYOUTS_FILE",
    "LAYOUT_COLUMNS",
    "TIER_KEYS",
    "TIER_LABELS",
    "UNRESOLVED",
    "CountSpec",
    "LayoutRows",
    "NetworkLayout",
    "NodeSpec",
    "SpanCheck",
    "check_layout",
    "layout_problems",
    "load_layouts",
]

TIER_KEYS: tuple[str, ...] = get_args(TierKey)
"""Tier keys, bottom to top. A district (区) is a county-level unit, a community (社区)
sits where a village does and a subdistrict (街道) where a township does, so the same
key (and the same default assumption) serves every place."""

UNRESOLVED = "unresolved"
"""The node a dispute reaches when no tier settles it (courts, petitions: 矛盾上交)."""

TIER_LABELS: dict[str, tuple[str, str]] = {
    "grid": ("网格", "grid"),
    "village": ("村/社区", "village/community"),
    "township": ("乡镇/街道", "township/subdistrict"),
    "county": ("县/区", "county/district"),
    "city": ("市", "city"),
    UNRESOLVED: ("未在网络内化解", "not resolved in the network"),
}
"""Generic (zh, en) labels of the tier keys, for legends comparing places."""

LAYOUTS_FILE = Path(__file__).with_name("layouts.csv")
"""The documented layouts, shipped with the package."""

TIER_PATTERN = "|".join(TIER_KEYS)
BODY_PATTERN = r"\.[a-z][a-z0-9_]*"
"""A body beside a tier is named ``'<tier key>.<name>'``."""


def _label(attrs: Mapping, language: Language) -> str:
    return {
        "zh": attrs["label_zh"],
        "en": attrs["label_en"],
        "both": f"{attrs['label_zh']} {attrs['label_en']}",
    }[language]


# --------------------------------------------------------------------------- in memory


@dataclass(frozen=True)
class CountSpec:
    """A documented count shown on a node: people working there, or sub-units.

    Attributes
    ----------
    name : str
        snake_case name used in metrics (``'peace_promoters'``).
    indicator : str
        The fact's indicator in ``facts.csv``.
    label_zh, label_en : str
    kind : {'people', 'units', 'per_unit'}
        ``people``: persons (metrics per host-tier unit and per 10k residents);
        ``units``: sub-units such as associations or grids (people of the same node
        are also given per such unit); ``per_unit``: a fact already printed per
        host-tier unit (shown as is).
    mediates : bool
        Whether mediation is these people's job (judicial staff, legal advisers,
        grassroots mediators) rather than one task among many (cadres, police).
    place : str, optional
        The fact's place when it is not the network's place (Quzhou's grassroots
        mediators are counted for Qujiang district only).
    per_host_unit : bool
        The fact is printed per host-tier unit (一社区一法律顾问); the node's count is
        the fact times the host tier's units.
    """

    name: str
    indicator: str
    label_zh: str
    label_en: str
    kind: CountKind = "people"
    mediates: bool = True
    place: str | None = None
    per_host_unit: bool = False


@dataclass(frozen=True)
class NodeSpec:
    """One node of a layout: a tier (``'village'``) or a body beside one (``'village.legal'``).

    Attributes
    ----------
    node : str
        A tier key for a tier; ``'<tier key>.<name>'`` for a body beside that tier.
    label_zh, label_en : str
        How the place calls it.
    units : {'fact', 'registry', 'self', 'not_printed'}
        Tiers only. ``fact``: the fact ``units_indicator``; ``registry``: the number of
        places directly under the network's place in the registry (only for the tier
        just below the top); ``self``: the place itself (one unit, the top tier);
        ``not_printed``: unknown, metrics that need it are left empty and say why.
    units_indicator : str, optional
    coverage_indicator : str, optional
        A fact in percent: share of the tier's units with a working body. Without it
        the coverage comes from the assumptions file.
    counts : tuple of CountSpec
    basis : str
        Why this node is in the network (document and phrase, or "assumed").
    """

    node: str
    label_zh: str
    label_en: str
    units: UnitsFrom = "not_printed"
    units_indicator: str | None = None
    coverage_indicator: str | None = None
    counts: tuple[CountSpec, ...] = ()
    basis: str = ""


@dataclass(frozen=True)
class SpanCheck:
    """Compare the span of control between two tiers with a printed per-unit fact."""

    lower: str
    upper: str
    indicator: str


@dataclass(frozen=True)
class NetworkLayout:
    """The structure of one place's mediation network (which nodes, sized by which facts).

    Attributes
    ----------
    place_id : str
    tiers : tuple of NodeSpec
        Bottom to top, in the order of :data:`TIER_KEYS` (a place may skip keys).
    beside : tuple of NodeSpec
        Specialised bodies beside a tier; every one takes part in the escalation flow.
    levels_indicator : str, optional
        A fact giving the number of tiers; :func:`~govstats.network.checks` compares
        it with the layout.
    span_checks : tuple of SpanCheck
    basis : str
        Where the structure comes from.
    """

    place_id: str
    tiers: tuple[NodeSpec, ...]
    beside: tuple[NodeSpec, ...] = ()
    levels_indicator: str | None = None
    span_checks: tuple[SpanCheck, ...] = ()
    basis: str = ""


def layout_problems(
    layout: NetworkLayout, *, file: str | None = None, rows: Mapping[object, int] | None = None
) -> list[Problem]:
    """Everything structurally wrong with a layout, as problems.

    ``rows`` maps a record to its spreadsheet row when the layout was read from a file:
    ``None`` for the ``network`` row, the node for a tier or beside row,
    ``('span_check', i)`` for the i-th span check.
    """
    rows = rows or {}

    def problem(key: object, message: str, column: str, value: object, hint: str = "") -> None:
        problems.append(
            Problem(message, file=file, row=rows.get(key), column=column, value=value, hint=hint)
        )

    problems: list[Problem] = []
    keys = [t.node for t in layout.tiers]
    if not keys:
        problem(None, "a layout needs at least one tier", "record", layout.place_id)
    unknown = [k for k in keys if k not in TIER_KEYS]
    for k in unknown:
        problem(k, f"a tier node must be one of the tier keys {TIER_KEYS}", "node", k)
    if not unknown and (keys != sorted(keys, key=TIER_KEYS.index) or len(set(keys)) != len(keys)):
        problem(
            keys[0],
            f"tiers must go bottom to top in the order {TIER_KEYS}, once each; got {keys}",
            "node",
            ";".join(keys),
        )
    besides = [b.node for b in layout.beside]
    for b in besides:
        host, dot, _ = b.partition(".")
        if not dot or host not in keys:
            problem(
                b,
                f"a beside node must be '<tier>.<name>' with a tier of the layout {keys}",
                "node",
                b,
            )
    for b in sorted({b for b in besides if besides.count(b) > 1}):
        problem(b, "a beside node may appear once", "node", b)
    for t in layout.tiers:
        if t.units != "fact" and t.units_indicator:
            problem(
                t.node,
                f"units_indicator is read only when units is 'fact', not {t.units!r}",
                "units_indicator",
                t.units_indicator,
                hint="set units to 'fact' or leave units_indicator empty",
            )
        if t.units == "fact" and not t.units_indicator:
            problem(
                t.node,
                "the tier takes its units from a fact but names no units_indicator",
                "units_indicator",
                t.units_indicator,
            )
    if layout.tiers and layout.tiers[-1].units == "registry":
        top = layout.tiers[-1].node
        problem(
            top,
            "registry units count the places under the network's place: not for the top tier",
            "units",
            "registry",
            hint="use 'self' for the place itself",
        )
    for i, sc in enumerate(layout.span_checks):
        for column, node in (("node", sc.lower), ("upper", sc.upper)):
            if node not in keys:
                problem(
                    ("span_check", i),
                    f"a span check compares tiers of the layout {keys}",
                    column,
                    node,
                )
    return problems


def check_layout(layout: NetworkLayout) -> None:
    """Raise :class:`~govstats.errors.DataValidationError` (a ValueError) listing every
    structural problem of an in-memory layout."""
    DataValidationError.raise_if_any(
        layout_problems(layout), what=f"the layout for {layout.place_id!r}"
    )


# --------------------------------------------------------------------------- as data

LAYOUT_COLUMNS = [
    "place_id",
    "record",
    "node",
    "upper",
    "count",
    "label_zh",
    "label_en",
    "units",
    "units_indicator",
    "coverage_indicator",
    "indicator",
    "count_kind",
    "count_place",
    "mediates",
    "per_host_unit",
    "basis",
]

_RECORDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "network": (("basis",), ("indicator",)),
    "tier": (
        ("node", "label_zh", "label_en", "units", "basis"),
        ("units_indicator", "coverage_indicator"),
    ),
    "beside": (("node", "label_zh", "label_en", "basis"), ()),
    "count": (
        (
            "node",
            "count",
            "indicator",
            "label_zh",
            "label_en",
            "count_kind",
            "mediates",
            "per_host_unit",
        ),
        ("count_place",),
    ),
    "span_check": (("node", "upper", "indicator"), ()),
}
"""record -> (columns it needs, columns it may fill); every other column stays empty."""

_OR_EMPTY = "^$|"
_BOOLEAN = ["true", "false", ""]


class LayoutRows(pa.DataFrameModel):
    """``layouts.csv`` as read (text), one record per row; empty cells are ``''``."""

    place_id: Series[str] = pa.Field(str_length={"min_value": 1})
    record: Series[str] = pa.Field(isin=list(_RECORDS))
    node: Series[str] = pa.Field(str_matches=rf"^$|^({TIER_PATTERN})({BODY_PATTERN})?$")
    upper: Series[str] = pa.Field(str_matches=rf"^$|^({TIER_PATTERN})$")
    count: Series[str] = pa.Field(str_matches=_OR_EMPTY + SNAKE_CASE)
    label_zh: Series[str]
    label_en: Series[str]
    units: Series[str] = pa.Field(isin=[*get_args(UnitsFrom), ""])
    units_indicator: Series[str] = pa.Field(str_matches=_OR_EMPTY + SNAKE_CASE)
    coverage_indicator: Series[str] = pa.Field(str_matches=_OR_EMPTY + SNAKE_CASE)
    indicator: Series[str] = pa.Field(str_matches=_OR_EMPTY + SNAKE_CASE)
    count_kind: Series[str] = pa.Field(isin=[*get_args(CountKind), ""])
    count_place: Series[str]
    mediates: Series[str] = pa.Field(isin=_BOOLEAN)
    per_host_unit: Series[str] = pa.Field(isin=_BOOLEAN)
    basis: Series[str]

    class Config:
        strict = True
        unique = ["place_id", "record", "node", "upper", "count"]


def load_layouts(path: str | Path | None = None) -> dict[str, NetworkLayout]:
    """Network layouts from a CSV file, validated; raises one error listing every problem.

    Parameters
    ----------
    path : str or Path, optional
        A file in the form of :data:`LAYOUTS_FILE` (see the module docstring); default
        the documented layouts. Places may be written in any form
        :func:`govstats.places.resolve` accepts.

    Returns
    -------
    dict
        Registry place id -> :class:`NetworkLayout`, in file order.

    Raises
    ------
    DataValidationError
        Every problem, each with file, spreadsheet row, column and raw value: cells that
        fail the schema (:class:`LayoutRows`), a column filled that does not belong to the
        row's record or left empty where it is needed, unknown places, a place without
        its ``network`` row, a count on a node the layout does not have, and the
        structural problems of :func:`layout_problems`.
    """
    path = Path(path) if path else LAYOUTS_FILE
    file = str(path)
    raw, rows, problems = read_checked(
        path,
        LayoutRows,
        what="the network layouts",
        key=["place_id", "record", "node", "upper", "count"],
    )
    for i in raw.index:
        record = raw.at[i, "record"]
        needed, allowed = _RECORDS.get(record, ((), LAYOUT_COLUMNS))
        for column in LAYOUT_COLUMNS[2:]:
            value = raw.at[i, column]
            if column in needed and not value:
                message = f"a {record!r} row needs {column}"
            elif value and column not in needed and column not in allowed:
                message = f"{column} does not belong to a {record!r} row; leave it empty"
            else:
                continue
            problems.append(
                Problem(message, file=file, row=int(rows[i]), column=column, value=value)
            )
    place_ids = resolve_places(raw, "place_id", rows, problems, file=file)
    count_places = resolve_places(raw, "count_place", rows, problems, file=file, keep=("",))
    data = raw.assign(place_id=place_ids, count_place=count_places, row=rows)
    bad_rows = {p.row for p in problems}
    layouts: dict[str, NetworkLayout] = {}
    for pid, part in data.groupby("place_id", sort=False):
        if bad_rows & set(part["row"]):
            continue  # its rows are wrong already; checking its structure would only echo them
        layout, where, more = _assemble(pid, part, file)
        problems += more
        if layout is not None:
            problems += layout_problems(layout, file=file, rows=where)
            layouts[pid] = layout
    DataValidationError.raise_if_any(problems, what=file)
    return layouts


def _assemble(
    pid: str, part: pd.DataFrame, file: str
) -> tuple[NetworkLayout | None, dict[object, int], list[Problem]]:
    """One place's rows (each already valid on its own) as a layout, with rows by record."""
    where: dict[object, int] = {}
    problems: list[Problem] = []
    by_record = {r: part[part["record"].eq(r)] for r in _RECORDS}
    network = by_record["network"]
    if network.empty:
        problems.append(
            Problem(
                f"no 'network' row for {pid!r}",
                file=file,
                row=int(part["row"].iloc[0]),
                column="record",
                value=part["record"].iloc[0],
                hint="add one row with record=network and the basis of the structure",
            )
        )
        return None, where, problems
    head = network.iloc[0]
    where[None] = int(head["row"])
    counts: dict[str, list[CountSpec]] = {}
    nodes = set(by_record["tier"]["node"]) | set(by_record["beside"]["node"])
    for c in by_record["count"].to_dict("records"):
        if c["node"] not in nodes:
            problems.append(
                Problem(
                    f"a count on node {c['node']!r}, which the layout of {pid!r} does not have",
                    file=file,
                    row=int(c["row"]),
                    column="node",
                    value=c["node"],
                    hint=f"its nodes are {sorted(nodes)}",
                )
            )
        counts.setdefault(c["node"], []).append(
            CountSpec(
                c["count"],
                c["indicator"],
                c["label_zh"],
                c["label_en"],
                kind=c["count_kind"],
                mediates=c["mediates"] == "true",
                place=c["count_place"] or None,
                per_host_unit=c["per_host_unit"] == "true",
            )
        )

    def specs(record: str) -> tuple[NodeSpec, ...]:
        out = []
        for n in by_record[record].itertuples():
            where.setdefault(n.node, int(n.row))
            out.append(
                NodeSpec(
                    n.node,
                    n.label_zh,
                    n.label_en,
                    units=n.units or "not_printed",
                    units_indicator=n.units_indicator or None,
                    coverage_indicator=n.coverage_indicator or None,
                    counts=tuple(counts.get(n.node, ())),
                    basis=n.basis,
                )
            )
        return tuple(out)

    span_checks = []
    for i, s in enumerate(by_record["span_check"].itertuples()):
        where[("span_check", i)] = int(s.row)
        span_checks.append(SpanCheck(s.node, s.upper, s.indicator))
    layout = NetworkLayout(
        place_id=pid,
        tiers=specs("tier"),
        beside=specs("beside"),
        levels_indicator=head["indicator"] or None,
        span_checks=tuple(span_checks),
        basis=head["basis"],
    )
    return layout, where, problems
