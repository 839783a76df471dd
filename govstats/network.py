"""The mediation-network model: a place's dispute-mediation tiers as a networkx graph.

Quzhou's document describes a four-level dispute-mediation network (市、县、乡、村四级)
and the slogan 小事不出村, 大事不出镇: a dispute starts at the bottom tier and moves up
only when it is not settled there. :func:`build_network` turns a place's tiers into a
directed graph (village -> township -> county -> city), with the specialised bodies that
work *beside* a tier (Quzhou's peace promoters and professional committees, Futian's
lawyers and legal advisers, Dongcheng's grid judicial staff) attached to it, and sizes
every node from the documented facts.

Four kinds of number, never mixed up
------------------------------------
fact
    Read from ``data/raw/facts.csv`` (:func:`govstats.facts.load_facts`); the node or
    edge attribute carries its fact id (``units_source == 'f002_019'`` for Quzhou's 106
    townships). A number computed from facts only (95 communities x one legal adviser
    each) is ``derived`` and lists every fact id it used.
registry
    From the checked places registry (``data/raw/places.csv``, ``place_measures.csv``):
    the number of county-level units or subdistricts under a place, census populations.
assumption
    From ``data/raw/network_assumptions.csv``, every row ``kind=assumption`` with a
    rationale: the resolution rates, referral shares and the default coverage. No
    document prints a resolution rate, so every escalation result is a *model
    scenario*, not an observation.
parameter
    A value the caller passes: the caseload, rate or referral-share overrides.

:func:`trace` lists every number of a network with its kind and source.

The escalation model
--------------------
Tiers are numbered from the bottom, ``k = 0, ..., K-1``. A tier's own body reaches a
share ``c_k`` of its units (coverage) and settles a share ``r_k`` of the disputes it
sees; of what it does not settle, a share ``p_i`` goes to specialised body ``i``
beside it, which settles a share ``q_i``; the rest moves up. The tier's effective
resolution rate is therefore

    R_k = 1 - (1 - c_k r_k) (1 - sum_i p_i q_i)

and the share of all disputes resolved at tier ``k`` is

    s_k = R_k * prod_{j<k} (1 - R_j),        unresolved = prod_{j<K} (1 - R_j)

(:func:`resolution_shares`). :func:`flow_through` computes the same by pushing a
caseload through the graph's edges in topological order, and
:func:`simulate_escalation` by sending individual disputes through it at random;
:func:`cross_check` puts the three side by side.

Examples
--------
>>> from govstats import network
>>> g = network.build_network("dongcheng")
>>> [(n, g.nodes[n]["units"], g.nodes[n]["units_source"]) for n in network.tiers(g)]
[('grid', 589.0, 'f003_020'), ('village', 205.0, 'f003_019'), ('township', 17.0, 'f003_018'), ('county', 1.0, 'dongcheng')]
>>> network.resolution_shares([0.5, 0.4, 0.25]).round(3).tolist()
[0.5, 0.2, 0.075, 0.225]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from govstats import paths
from govstats._literals import (
    CountKind,
    Language,
    UnitsFrom,
    check_literal,
)
from govstats.errors import DataValidationError, GovstatsError, Problem

__all__ = [
    "ASSUMPTION_COLUMNS",
    "LAYOUTS",
    "TIER_KEYS",
    "TIER_LABELS",
    "UNRESOLVED",
    "CountSpec",
    "NetworkAssumptions",
    "NetworkLayout",
    "NodeSpec",
    "SpanCheck",
    "build_network",
    "build_networks",
    "checks",
    "compare_escalation",
    "cross_check",
    "draw_network",
    "escalation",
    "flow_through",
    "load_assumptions",
    "network_metrics",
    "rate_sensitivity",
    "resolution_chart",
    "resolution_shares",
    "sensitivity_chart",
    "simulate_escalation",
    "tiers",
    "trace",
]

# Literal aliases (to move to govstats/_literals.py)

TIER_KEYS: tuple[str, ...] = ("grid", "village", "township", "county", "city")
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

ASSUMPTION_COLUMNS = [
    "assumption_id",
    "place_id",
    "node",
    "parameter",
    "value",
    "unit",
    "kind",
    "rationale",
]
_NODE_PATTERN = r"^(tier|beside|grid|village|township|county|city)(\.[a-z][a-z0-9_]*)?$"


# --------------------------------------------------------------------------- layouts


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
        A fact giving the number of tiers; :func:`checks` compares it with the layout.
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


LAYOUTS: dict[str, NetworkLayout] = {
    "quzhou": NetworkLayout(
        place_id="quzhou",
        levels_indicator="mediation_network_levels_count",
        basis="document 002: 市、县、乡、村四级 dispute-mediation network (f002_013); "
        "professional bodies (医调会, court filing windows) named without counts",
        tiers=(
            NodeSpec(
                "village",
                "村(居)",
                "village",
                units="not_printed",
                coverage_indicator="village_governance_stations_built_pct",
                counts=(
                    CountSpec(
                        "grassroots_mediators",
                        "grassroots_mediators_count",
                        "草根调解员(衢江区)",
                        "grassroots mediators (Qujiang only)",
                        place="quzhou.qujiang",
                    ),
                ),
                basis="bottom tier of the four (f002_013); the number of villages is not printed",
            ),
            NodeSpec(
                "township",
                "乡镇(街道)",
                "township",
                units="fact",
                units_indicator="towns_and_subdistricts_count",
                coverage_indicator="town_governance_centres_built_pct",
                counts=(
                    CountSpec(
                        "fulltime_cadres",
                        "governance_fulltime_cadres_count",
                        "综治专职干部",
                        "full-time governance cadres",
                        mediates=False,
                    ),
                    CountSpec(
                        "parttime_cadres",
                        "governance_parttime_cadres_count",
                        "综治兼职干部",
                        "part-time governance cadres",
                        mediates=False,
                    ),
                ),
                basis="second tier (f002_013); governance centres in every township",
            ),
            NodeSpec(
                "county",
                "县(市、区)",
                "county",
                units="registry",
                basis="third tier (f002_013); county-level units from the registry",
            ),
            NodeSpec("city", "市", "city", units="self", basis="top tier (f002_013)"),
        ),
        beside=(
            NodeSpec(
                "village.peace_promoters",
                "平安促进员/促进会",
                "peace promoters",
                counts=(
                    CountSpec(
                        "peace_promoters", "peace_promoters_count", "平安促进员", "peace promoters"
                    ),
                    CountSpec(
                        "associations",
                        "peace_promotion_associations_count",
                        "平安促进会",
                        "associations",
                        kind="units",
                    ),
                    CountSpec("grids", "grids_count", "网格", "grids", kind="units"),
                ),
                basis="document 002: grid peace promoters settle village quarrels (和事佬)",
            ),
            NodeSpec(
                "county.professional",
                "专业调解组织",
                "professional bodies",
                basis="document 002: 医调会 and court filing-window mediation; no counts printed",
            ),
        ),
    ),
    "futian": NetworkLayout(
        place_id="futian",
        basis="document 003 part 6 describes community mediation (调委会+专业律师+法律志愿者, "
        "一社区一法律顾问); the tiers above it follow the registry (subdistrict, district); "
        "no tier count is printed",
        tiers=(
            NodeSpec(
                "village",
                "社区调委会",
                "community committee",
                units="fact",
                units_indicator="communities_count",
                basis="document 003 part 6: community mediation committees (调委会)",
            ),
            NodeSpec(
                "township",
                "街道",
                "subdistrict",
                units="registry",
                basis="assumed tier: the district's subdistricts (registry); not printed as a tier",
            ),
            NodeSpec(
                "county",
                "区",
                "district",
                units="self",
                basis="assumed tier: the district itself; not printed as a tier",
            ),
        ),
        beside=(
            NodeSpec(
                "village.legal",
                "律师·法律顾问",
                "lawyers, legal advisers",
                counts=(
                    CountSpec(
                        "legal_advisers",
                        "legal_advisers_per_community",
                        "法律顾问",
                        "legal advisers",
                        per_host_unit=True,
                    ),
                ),
                basis="document 003 part 6: 专业律师 and legal volunteers beside the committee; "
                "one legal adviser per community",
            ),
        ),
    ),
    "dongcheng": NetworkLayout(
        place_id="dongcheng",
        basis="document 003 part 7: grid management in four levels (区级、街道、社区级、网格级; "
        "not yet a fact in facts.csv); judicial staff placed in the grids for mediation",
        span_checks=(SpanCheck("grid", "village", "grids_per_community"),),
        tiers=(
            NodeSpec(
                "grid",
                "网格",
                "grid",
                units="fact",
                units_indicator="grids_count",
                counts=(
                    CountSpec(
                        "force_types",
                        "force_types_per_grid_count",
                        "力量种类",
                        "force types",
                        kind="per_unit",
                    ),
                    CountSpec(
                        "grid_assistants",
                        "grid_assistants_count",
                        "网格助理员",
                        "grid assistants",
                        mediates=False,
                    ),
                    CountSpec(
                        "grid_police",
                        "grid_police_officers_count",
                        "网格警员",
                        "grid police",
                        mediates=False,
                    ),
                    CountSpec(
                        "grid_fire_officers",
                        "grid_fire_officers_count",
                        "网格消防员",
                        "grid fire officers",
                        mediates=False,
                    ),
                ),
                basis="document 003 part 7: grid level (网格级)",
            ),
            NodeSpec(
                "village",
                "社区",
                "community",
                units="fact",
                units_indicator="communities_count",
                basis="document 003 part 7: community level (社区级)",
            ),
            NodeSpec(
                "township",
                "街道",
                "subdistrict",
                units="fact",
                units_indicator="subdistricts_count",
                basis="document 003 part 7: subdistrict level (街道)",
            ),
            NodeSpec(
                "county",
                "区",
                "district",
                units="self",
                basis="document 003 part 7: district level (区级)",
            ),
        ),
        beside=(
            NodeSpec(
                "grid.judicial",
                "网格司法力量",
                "grid judicial staff",
                counts=(
                    CountSpec(
                        "judicial_staff", "grid_judicial_staff_count", "司法力量", "judicial staff"
                    ),
                ),
                basis="document 003 part 7: 司法力量 placed in grids for mediation",
            ),
        ),
    ),
}
"""The documented networks. A user can describe another place with :class:`NetworkLayout`
and pass it as ``layout=`` (facts for its counts must be in the facts table)."""


# --------------------------------------------------------------------------- assumptions


class NetworkAssumptions(pa.DataFrameModel):
    """``data/raw/network_assumptions.csv`` as read (text), one assumption per row."""

    assumption_id: Series[str] = pa.Field(str_matches=r"^a\d{2,}$", unique=True)
    place_id: Series[str] = pa.Field(str_length={"min_value": 1})
    node: Series[str] = pa.Field(str_matches=_NODE_PATTERN)
    parameter: Series[str] = pa.Field(isin=["resolution_rate", "referral_share", "coverage"])
    value: Series[str]
    unit: Series[str] = pa.Field(isin=["share"])
    kind: Series[str] = pa.Field(isin=["assumption"])
    rationale: Series[str] = pa.Field(str_length={"min_value": 20})

    class Config:
        strict = True
        unique = ["place_id", "node", "parameter"]


def load_assumptions(path: str | Path | None = None) -> pd.DataFrame:
    """The network assumptions, validated; raises one error listing every problem.

    Each row sets one ``parameter`` (``resolution_rate``, ``referral_share`` or
    ``coverage``, all shares in [0, 1]) for one ``node`` of one place. ``place_id``
    ``*`` means every place; ``node`` is a tier key (``village``), a body beside a
    tier (``village.legal``), or ``tier``/``beside`` for every tier/every body beside
    one. Lookup takes the most specific row: (place, node), then (``*``, node), then
    (``*``, ``tier``/``beside``). Every row must say ``kind=assumption`` and give a
    rationale: these are not facts.

    Returns
    -------
    DataFrame
        The columns of the file, ``value`` as float, ``place_id`` resolved to the
        registry's id (or ``*``), plus ``row`` (spreadsheet row, header = 1).

    Examples
    --------
    >>> a = load_assumptions()
    >>> a.query("node == 'village' and parameter == 'resolution_rate'")["value"].item()
    0.6
    """
    from govstats import places
    from govstats.facts import read_csv_text
    from govstats.schemas import problems_from_schema

    path = Path(path) if path else paths.raw_dir() / "network_assumptions.csv"
    file = str(path)
    raw = read_csv_text(path, what="the network assumptions")
    rows = pd.Series(raw.index + 2, index=raw.index)
    problems: list[Problem] = []
    try:
        NetworkAssumptions.validate(raw, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems += problems_from_schema(
            exc, file=file, rows=rows, data=raw, key=["place_id", "node", "parameter"]
        )
    if not set(ASSUMPTION_COLUMNS) <= set(raw.columns):
        DataValidationError.raise_if_any(problems, what=file)
    values = pd.to_numeric(raw["value"], errors="coerce")
    for i in raw.index:
        v = values[i]
        if pd.isna(v) or not 0.0 <= v <= 1.0:
            problems.append(
                Problem(
                    "value must be a share between 0 and 1",
                    file=file,
                    row=int(rows[i]),
                    column="value",
                    value=raw.at[i, "value"],
                    hint="write 0.6, not 60% or 60",
                )
            )
        parameter, node = raw.at[i, "parameter"], raw.at[i, "node"]
        if parameter == "referral_share" and "." not in node and node != "beside":
            problems.append(
                Problem(
                    "a referral share belongs to a body beside a tier",
                    file=file,
                    row=int(rows[i]),
                    column="node",
                    value=node,
                    hint="use '<tier>.<name>' (e.g. village.legal) or 'beside'",
                )
            )
        if parameter == "coverage" and ("." in node or node == "beside"):
            problems.append(
                Problem(
                    "coverage belongs to a tier",
                    file=file,
                    row=int(rows[i]),
                    column="node",
                    value=node,
                    hint="use a tier key or 'tier'",
                )
            )
    resolved: list[str | None] = []
    for i in raw.index:
        name = raw.at[i, "place_id"]
        if name == "*":
            resolved.append("*")
            continue
        try:
            resolved.append(places.resolve(name))
        except GovstatsError as exc:
            resolved.append(None)
            problems.append(
                Problem(str(exc), file=file, row=int(rows[i]), column="place_id", value=name)
            )
    DataValidationError.raise_if_any(problems, what=file)
    out = raw.assign(place_id=resolved, value=values.astype(float), row=rows.astype(int))
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------- building blocks


@dataclass(frozen=True)
class _Num:
    """A number with its bounds and where it came from."""

    value: float
    kind: str  # fact, derived, registry, assumption, parameter, definition
    source: str  # fact ids (';'), assumption id, registry reference, parameter name
    detail: str = ""
    lower: float = math.nan
    upper: float = math.nan
    note: str = ""

    @property
    def bound(self) -> str | None:
        if self.kind in ("assumption", "parameter"):
            return None
        lo = self.value if math.isnan(self.lower) else self.lower
        hi = self.value if math.isnan(self.upper) else self.upper
        if lo == hi == self.value:
            return "exact"
        if math.isinf(hi):
            return "at_least"
        return "range"


def _lo(n: _Num) -> float:
    return n.value if math.isnan(n.lower) else n.lower


def _hi(n: _Num) -> float:
    return n.value if math.isnan(n.upper) else n.upper


def _ratio(a: _Num, b: _Num, scale: float = 1.0) -> tuple[float, float, float]:
    """Value and bounds of ``a / b * scale`` for positive quantities."""
    if not (b.value > 0):
        return math.nan, math.nan, math.nan
    lo = _lo(a) / _hi(b) * scale if _hi(b) > 0 else math.nan
    hi = _hi(a) / _lo(b) * scale if _lo(b) > 0 else math.inf
    return a.value / b.value * scale, lo, hi


def _sources(*nums: _Num | None) -> str:
    out: list[str] = []
    for n in nums:
        if n is not None:
            for s in n.source.split(";"):
                if s and s not in out:
                    out.append(s)
    return ";".join(out)


class _Facts:
    """Fact lookup for one network; collects every missing or ambiguous fact."""

    def __init__(self, facts: pd.DataFrame, place_id: str):
        self.facts = facts
        self.place_id = place_id
        self.problems: list[Problem] = []

    def get(self, indicator: str, place: str | None = None, *, needed_by: str) -> _Num | None:
        pid = place or self.place_id
        rows = self.facts[self.facts["place_id"].eq(pid) & self.facts["indicator"].eq(indicator)]
        if len(rows) != 1:
            what = "no fact" if rows.empty else f"{len(rows)} facts ({', '.join(rows['fact_id'])})"
            self.problems.append(
                Problem(
                    f"{needed_by} needs one fact {indicator!r} for {pid!r}; found {what}",
                    file="facts table",
                    column="indicator",
                    value=indicator,
                    hint="add the fact to data/raw/facts.csv, filter the facts table to one year, "
                    "or change the layout",
                )
            )
            return None
        f = rows.iloc[0]
        return _Num(
            float(f["value"]),
            "fact",
            str(f["fact_id"]),
            f"{f['quantity']} ({f['source_file']}: {f['source_phrase']})",
            float(f["lower"]) if pd.notna(f["lower"]) else math.nan,
            float(f["upper"]) if pd.notna(f["upper"]) else math.nan,
            "" if pd.isna(f["note"]) else str(f["note"]),
        )


def _assumed(
    assumptions: pd.DataFrame, place_id: str, node: str, role: str, parameter: str
) -> _Num | None:
    for pid, key in ((place_id, node), ("*", node), ("*", role)):
        hit = assumptions[
            assumptions["place_id"].eq(pid)
            & assumptions["node"].eq(key)
            & assumptions["parameter"].eq(parameter)
        ]
        if len(hit):
            a = hit.iloc[0]
            return _Num(
                float(a["value"]), "assumption", str(a["assumption_id"]), str(a["rationale"])
            )
    return None


def _document_population(place_id: str) -> _Num:
    """Resident census population closest to the period the place's document describes."""
    from govstats import indicators, places

    year, basis = indicators.document_reference_year(place_id)
    try:
        fig = places.population(place_id, year=year)
    except (GovstatsError, LookupError) as exc:
        return _Num(math.nan, "registry", "none", f"no verified population: {exc}")
    return _Num(
        float(fig.value),
        "registry",
        f"place_measures.csv:{place_id}:{fig.kind}",
        f"{fig.value:,} residents, {fig.kind} {fig.reference_date} ({fig.source}); chosen by {basis}",
    )


def _check_layout(layout: NetworkLayout) -> None:
    problems = []
    keys = [t.node for t in layout.tiers]
    if not keys:
        problems.append("a layout needs at least one tier")
    if any(k not in TIER_KEYS for k in keys):
        problems.append(f"tier nodes must be tier keys {TIER_KEYS}; got {keys}")
    elif keys != sorted(keys, key=TIER_KEYS.index) or len(set(keys)) != len(keys):
        problems.append(
            f"tiers must go bottom to top in the order {TIER_KEYS}, once each; got {keys}"
        )
    for b in layout.beside:
        host, dot, _ = b.node.partition(".")
        if not dot or host not in keys:
            problems.append(
                f"beside node {b.node!r} must be '<tier>.<name>' with a tier of the layout {keys}"
            )
    for t in layout.tiers:
        if t.units == "fact" and not t.units_indicator:
            problems.append(
                f"tier {t.node!r} takes its units from a fact but names no units_indicator"
            )
    if layout.tiers and layout.tiers[-1].units == "registry":
        problems.append(
            "registry units count the places under the network's place: not for the top tier"
        )
    if problems:
        raise ValueError(f"layout for {layout.place_id!r} is invalid: " + "; ".join(problems))


def _check_overrides(
    name: str, overrides: Mapping[str, float] | None, valid: Sequence[str]
) -> dict[str, float]:
    overrides = dict(overrides or {})
    bad = [k for k in overrides if k not in valid]
    if bad:
        raise ValueError(f"{name}: unknown node(s) {bad}; this network has {list(valid)}")
    for k, v in overrides.items():
        if isinstance(v, bool) or not isinstance(v, int | float) or not 0.0 <= float(v) <= 1.0:
            raise ValueError(f"{name}[{k!r}] = {v!r}: must be a share between 0 and 1")
    return {k: float(v) for k, v in overrides.items()}


def _set(attrs: dict, name: str, num: _Num | None) -> None:
    """Store a sized attribute with its source, kind and bound beside it."""
    if num is None:
        attrs[name] = math.nan
        attrs[f"{name}_source"] = "not available"
        attrs[f"{name}_kind"] = "missing"
        attrs[f"{name}_bound"] = None
        attrs[f"{name}_detail"] = "not printed in the documents"
        return
    attrs[name] = num.value
    attrs[f"{name}_source"] = num.source
    attrs[f"{name}_kind"] = num.kind
    attrs[f"{name}_bound"] = num.bound
    attrs[f"{name}_detail"] = num.detail
    if not math.isnan(num.lower) or not math.isnan(num.upper):
        attrs[f"{name}_lower"] = _lo(num)
        attrs[f"{name}_upper"] = _hi(num)


def _num(attrs: Mapping, name: str) -> _Num:
    return _Num(
        attrs[name],
        attrs[f"{name}_kind"],
        attrs[f"{name}_source"],
        attrs.get(f"{name}_detail", ""),
        attrs.get(f"{name}_lower", math.nan),
        attrs.get(f"{name}_upper", math.nan),
    )


# --------------------------------------------------------------------------- build


def build_network(
    place: object,
    *,
    facts: pd.DataFrame | None = None,
    assumptions: pd.DataFrame | None = None,
    layout: NetworkLayout | None = None,
    rates: Mapping[str, float] | None = None,
    referral_shares: Mapping[str, float] | None = None,
) -> nx.DiGraph:
    """A place's mediation network as a frozen ``networkx.DiGraph``, sized from the facts.

    Nodes: the tiers bottom to top (``role='tier'``), the bodies beside them
    (``role='beside'``) and :data:`UNRESOLVED` (``role='outcome'``). Edges: ``escalate``
    (a tier to the next tier, a beside body to the tier above its host) and ``refer`` (a
    tier to a body beside it), each with ``share``: the fraction of the disputes a node
    does not settle that takes this edge.

    Every sized attribute ``x`` (``units``, ``coverage``, ``resolution_rate``,
    ``referral_share``, ``own_rate``, edge ``share``) has ``x_source`` (fact id,
    assumption id, registry reference or parameter name), ``x_kind`` (``fact``,
    ``derived``, ``registry``, ``assumption``, ``parameter``, ``definition``) and
    ``x_bound``; ``counts`` holds the documented counts (people, sub-units) as dicts
    with the same keys.

    Parameters
    ----------
    place : str
        Any name :func:`govstats.places.resolve` accepts (``'衢州'``, ``'futian'``).
    facts : DataFrame, optional
        Clean facts (default :func:`govstats.facts.load_facts`); pass it when
        building several networks.
    assumptions : DataFrame, optional
        Default :func:`load_assumptions`.
    layout : NetworkLayout, optional
        Default ``LAYOUTS[place_id]``.
    rates : mapping, optional
        Node -> resolution rate, replacing the assumed one (a tier's rate is still
        multiplied by its coverage). Recorded as ``kind='parameter'``.
    referral_shares : mapping, optional
        Beside node -> referral share, replacing the assumed one.

    Raises
    ------
    KeyError
        No layout for the place.
    DataValidationError
        Facts the layout needs are missing or ambiguous, an assumption is missing, or
        the referral shares of one tier add up to more than 1 (all problems at once).

    Examples
    --------
    >>> g = build_network("futian")
    >>> g.nodes["village.legal"]["counts"][0]["value"], g.nodes["village.legal"]["counts"][0]["source"]
    (95.0, 'f003_016;f003_013')
    >>> g.nodes["township"]["units"], g.nodes["township"]["units_kind"]
    (10.0, 'registry')
    """
    from govstats import places
    from govstats.facts import load_facts

    pid = places.resolve(place)
    if layout is None:
        if pid not in LAYOUTS:
            raise KeyError(
                f"no mediation-network layout for {pid!r}; layouts exist for {sorted(LAYOUTS)}. "
                "Describe the place with govstats.network.NetworkLayout and pass layout="
            )
        layout = LAYOUTS[pid]
    _check_layout(layout)
    facts = load_facts() if facts is None else facts
    assumptions = load_assumptions() if assumptions is None else assumptions
    all_nodes = [t.node for t in layout.tiers] + [b.node for b in layout.beside]
    rates = _check_overrides("rates", rates, all_nodes)
    referral_shares = _check_overrides(
        "referral_shares", referral_shares, [b.node for b in layout.beside]
    )

    lookup = _Facts(facts, pid)
    problems: list[Problem] = []
    reg = places.registry()
    graph = nx.DiGraph(
        place_id=pid,
        label_zh=str(reg.at[pid, "short_zh"] or reg.at[pid, "name_zh"]),
        label_en=str(reg.at[pid, "name_en"]),
        basis=layout.basis,
        levels_indicator=layout.levels_indicator,
        span_checks=layout.span_checks,
    )
    pop = _document_population(pid)
    _set(graph.graph, "population", pop)

    def assumption(node: str, role: str, parameter: str) -> _Num | None:
        found = _assumed(assumptions, pid, node, role, parameter)
        if found is None:
            problems.append(
                Problem(
                    f"no {parameter} for node {node!r} of {pid!r}",
                    file="network assumptions",
                    column="parameter",
                    value=parameter,
                    hint=f"add a row ({pid} or *, {node} or {role}, {parameter}) to data/raw/network_assumptions.csv",
                )
            )
        return found

    def rate(node: str, role: str) -> _Num | None:
        if node in rates:
            return _Num(
                rates[node], "parameter", f"rates[{node!r}]", "resolution rate passed by the caller"
            )
        return assumption(node, role, "resolution_rate")

    tier_units: dict[str, _Num | None] = {}
    for rank, spec in enumerate(layout.tiers):
        attrs: dict = {
            "role": "tier",
            "tier": spec.node,
            "rank": rank,
            "label_zh": spec.label_zh,
            "label_en": spec.label_en,
            "basis": spec.basis,
        }
        if spec.units == "fact":
            units = lookup.get(spec.units_indicator, needed_by=f"units of {spec.node!r}")
        elif spec.units == "registry":
            kids = places.children(pid)
            units = (
                _Num(
                    float(len(kids)),
                    "registry",
                    f"places.csv:children({pid})",
                    f"{len(kids)} places directly under {pid} in data/raw/places.csv (checked: PLACES_SOURCES.md)",
                )
                if kids
                else None
            )
        elif spec.units == "self":
            units = _Num(1.0, "definition", pid, "the place itself")
        else:
            units = None
        tier_units[spec.node] = units
        _set(attrs, "units", units)
        if spec.coverage_indicator:
            pct = lookup.get(spec.coverage_indicator, needed_by=f"coverage of {spec.node!r}")
            cov = (
                None
                if pct is None
                else _Num(
                    pct.value / 100, "fact", pct.source, pct.detail, _lo(pct) / 100, _hi(pct) / 100
                )
            )
        else:
            cov = assumption(spec.node, "tier", "coverage")
        _set(attrs, "coverage", cov)
        r = rate(spec.node, "tier")
        _set(attrs, "resolution_rate", r)
        if cov is not None and r is not None:
            _set(
                attrs,
                "own_rate",
                _Num(
                    cov.value * r.value, "derived", _sources(cov, r), "coverage x resolution_rate"
                ),
            )
        else:
            _set(attrs, "own_rate", None)
        attrs["counts"] = ()
        graph.add_node(spec.node, **attrs)

    for spec in layout.beside:
        host = spec.node.partition(".")[0]
        attrs = {
            "role": "beside",
            "tier": host,
            "rank": graph.nodes[host]["rank"],
            "label_zh": spec.label_zh,
            "label_en": spec.label_en,
            "basis": spec.basis,
        }
        r = rate(spec.node, "beside")
        _set(attrs, "resolution_rate", r)
        _set(
            attrs,
            "own_rate",
            None if r is None else _Num(r.value, "derived", r.source, "resolution_rate"),
        )
        if spec.node in referral_shares:
            p = _Num(
                referral_shares[spec.node],
                "parameter",
                f"referral_shares[{spec.node!r}]",
                "referral share passed by the caller",
            )
        else:
            p = assumption(spec.node, "beside", "referral_share")
        _set(attrs, "referral_share", p)
        attrs["counts"] = ()
        graph.add_node(spec.node, **attrs)

    for spec in (*layout.tiers, *layout.beside):
        host = spec.node.partition(".")[0]
        counts = []
        for c in spec.counts:
            num = lookup.get(c.indicator, c.place, needed_by=f"count {c.name!r} of {spec.node!r}")
            if num is None:
                continue
            if c.per_host_unit:
                units = tier_units.get(host)
                if units is None:
                    problems.append(
                        Problem(
                            f"count {c.name!r} is per {host} unit but the {host} tier has no unit count",
                            file="layout",
                            value=c.indicator,
                        )
                    )
                    continue
                num = _Num(
                    num.value * units.value,
                    "derived",
                    _sources(num, units),
                    f"{num.detail} x {units.value:g} {host} units",
                    _lo(num) * _lo(units),
                    _hi(num) * _hi(units),
                )
            counts.append(
                {
                    "name": c.name,
                    "label_zh": c.label_zh,
                    "label_en": c.label_en,
                    "count_kind": c.kind,
                    "mediates": c.mediates,
                    "place_id": c.place or pid,
                    "value": num.value,
                    "lower": _lo(num),
                    "upper": _hi(num),
                    "bound": num.bound,
                    "kind": num.kind,
                    "source": num.source,
                    "detail": num.detail,
                    "note": num.note,
                }
            )
        graph.nodes[spec.node]["counts"] = tuple(counts)

    top = len(layout.tiers)
    graph.add_node(
        UNRESOLVED,
        role="outcome",
        tier=UNRESOLVED,
        rank=top,
        label_zh=TIER_LABELS[UNRESOLVED][0],
        label_en=TIER_LABELS[UNRESOLVED][1],
        basis="leaves the network (courts, petitions)",
        counts=(),
    )
    for k, spec in enumerate(layout.tiers):
        above = layout.tiers[k + 1].node if k + 1 < top else UNRESOLVED
        beside = [b.node for b in layout.beside if b.node.partition(".")[0] == spec.node]
        shares = [
            _num(graph.nodes[b], "referral_share")
            for b in beside
            if graph.nodes[b]["referral_share_kind"] != "missing"
        ]
        total = sum(s.value for s in shares)
        if total > 1 + 1e-12:
            problems.append(
                Problem(
                    f"referral shares out of tier {spec.node!r} add up to {total:g} > 1",
                    file="network assumptions",
                    column="value",
                    value=";".join(s.source for s in shares),
                    hint="lower them so that at most all unsettled disputes are referred",
                )
            )
        for b in beside:
            edge: dict = {"kind": "refer"}
            _set(
                edge,
                "share",
                _num(graph.nodes[b], "referral_share")
                if graph.nodes[b]["referral_share_kind"] != "missing"
                else None,
            )
            graph.add_edge(spec.node, b, **edge)
            up: dict = {"kind": "escalate"}
            _set(
                up,
                "share",
                _Num(1.0, "definition", "unsettled", "all a beside body does not settle moves up"),
            )
            graph.add_edge(b, above, **up)
        up = {"kind": "escalate"}
        if shares:
            _set(
                up, "share", _Num(1.0 - total, "derived", _sources(*shares), "1 - referral shares")
            )
        else:
            _set(
                up,
                "share",
                _Num(1.0, "definition", "unsettled", "all a tier does not settle moves up"),
            )
        graph.add_edge(spec.node, above, **up)

    problems = lookup.problems + problems
    DataValidationError.raise_if_any(problems, what=f"the mediation network of {pid}")
    return nx.freeze(graph)


def build_networks(
    place_ids: Iterable[str],
    *,
    facts: pd.DataFrame | None = None,
    assumptions: pd.DataFrame | None = None,
    rates: Mapping[str, Mapping[str, float]] | None = None,
    referral_shares: Mapping[str, Mapping[str, float]] | None = None,
) -> dict[str, nx.DiGraph]:
    """Several networks at once; overrides keyed by place (or ``'*'`` for every place).

    ``rates={'*': {'village': 0.7}, 'dongcheng': {'grid': 0.4}}`` sets the village
    rate of every network and Dongcheng's grid rate. A ``'*'`` override naming a node a
    place does not have is skipped for that place; a place-keyed one must exist.

    Examples
    --------
    >>> nets = build_networks(["quzhou", "futian"], rates={"*": {"village": 0.7}})
    >>> [nets[p].nodes["village"]["resolution_rate"] for p in nets]
    [0.7, 0.7]
    """
    from govstats import places
    from govstats.facts import load_facts

    facts = load_facts() if facts is None else facts
    assumptions = load_assumptions() if assumptions is None else assumptions
    ids = [places.resolve(p) for p in place_ids]

    def for_place(
        overrides: Mapping[str, Mapping[str, float]] | None, pid: str
    ) -> dict[str, float]:
        overrides = overrides or {}
        keyed = {places.resolve(k) if k != "*" else "*": v for k, v in overrides.items()}
        unknown = [k for k in keyed if k != "*" and k not in ids]
        if unknown:
            raise ValueError(f"overrides for places not being built: {unknown}; building {ids}")
        layout = LAYOUTS.get(pid)
        nodes = [] if layout is None else [n.node for n in (*layout.tiers, *layout.beside)]
        out = {k: v for k, v in keyed.get("*", {}).items() if k in nodes}
        out.update(keyed.get(pid, {}))
        return out

    return {
        pid: build_network(
            pid,
            facts=facts,
            assumptions=assumptions,
            rates=for_place(rates, pid),
            referral_shares=for_place(referral_shares, pid),
        )
        for pid in ids
    }


def tiers(graph: nx.DiGraph) -> list[str]:
    """The tier nodes of a network, bottom to top."""
    return sorted(
        (n for n, d in graph.nodes(data=True) if d["role"] == "tier"),
        key=lambda n: graph.nodes[n]["rank"],
    )


def _beside(graph: nx.DiGraph, tier: str) -> list[str]:
    return [n for n, d in graph.nodes(data=True) if d["role"] == "beside" and d["tier"] == tier]


# --------------------------------------------------------------------------- trace and metrics


_TRACE_COLUMNS = ["place_id", "element", "attribute", "value", "bound", "kind", "source", "detail"]


def trace(graph: nx.DiGraph) -> pd.DataFrame:
    """Every number in a network: value, bound, kind (fact, derived, registry,
    assumption, parameter, definition), source (fact ids, assumption id, registry
    reference, parameter name) and a detail (quantity and phrase, or rationale).

    Examples
    --------
    >>> t = trace(build_network("quzhou"))
    >>> t.query("element == 'township' and attribute == 'units'")[["value", "kind", "source"]].values.tolist()
    [[106.0, 'fact', 'f002_019']]
    >>> sorted(set(t["kind"]))
    ['assumption', 'definition', 'derived', 'fact', 'registry']
    """
    pid = graph.graph["place_id"]
    rows = []

    def add(element: str, attribute: str, attrs: Mapping) -> None:
        rows.append(
            {
                "place_id": pid,
                "element": element,
                "attribute": attribute,
                "value": attrs[attribute],
                "bound": attrs.get(f"{attribute}_bound"),
                "kind": attrs[f"{attribute}_kind"],
                "source": attrs[f"{attribute}_source"],
                "detail": attrs.get(f"{attribute}_detail", ""),
            }
        )

    add("place", "population", graph.graph)
    for node in sorted(
        graph.nodes, key=lambda n: (graph.nodes[n]["rank"], graph.nodes[n]["role"] != "tier", n)
    ):
        attrs = graph.nodes[node]
        for key in [k for k in attrs if k.endswith("_kind") and f"{k[:-5]}_source" in attrs]:
            add(node, key[:-5], attrs)
        for c in attrs["counts"]:
            rows.append(
                {
                    "place_id": pid,
                    "element": node,
                    "attribute": f"count:{c['name']}"
                    + (f" ({c['place_id']})" if c["place_id"] != pid else ""),
                    "value": c["value"],
                    "bound": c["bound"],
                    "kind": c["kind"],
                    "source": c["source"],
                    "detail": c["detail"],
                }
            )
    for a, b, attrs in graph.edges(data=True):
        add(f"{a} -> {b}", "share", attrs)
    out = pd.DataFrame(rows, columns=_TRACE_COLUMNS)
    return out[out["kind"].ne("missing")].reset_index(drop=True)


_METRIC_COLUMNS = [
    "place_id",
    "node",
    "what",
    "metric",
    "value",
    "lower",
    "upper",
    "bound",
    "unit",
    "inputs",
    "note",
]


def _bound_of(value: float, lo: float, hi: float, kinds: Iterable[str | None]) -> str | None:
    if math.isnan(value):
        return None
    if all(k == "exact" for k in kinds):
        return "exact"
    if math.isinf(hi):
        return "at_least"
    return "range" if hi > lo else "exact"


def network_metrics(graph: nx.DiGraph) -> pd.DataFrame:
    """Coverage, units, span of control and people per node and per 10k residents.

    One row per (node, what, metric):

    - ``units`` / ``count``: units at a tier (106 townships);
    - ``coverage`` / ``share``: share of the tier's units with a working body;
    - ``units`` / ``span_of_control``: units of the tier below per unit of this tier;
    - ``<count>`` / ``count``: a documented count on the node (persons or sub-units);
    - ``<people>`` / ``per_<tier>``: persons per unit of the host tier ("per node");
    - ``<people>`` / ``per_10k_people``: per 10,000 residents (census closest to the
      document's period; empty, with a note, when the count is for a sub-unit whose
      population is not verified);
    - ``<people>`` / ``per_<units count>``: persons per documented sub-unit
      (peace promoters per association, per grid).

    ``inputs`` lists the fact ids and registry references each value rests on; ``bound``
    propagates lower bounds (``多``: ``at_least``). Rates and shares from the assumptions
    file are not metrics; see :func:`trace`.

    Examples
    --------
    >>> m = network_metrics(build_network("dongcheng"))
    >>> row = m.query("node == 'village' and metric == 'span_of_control'")
    >>> round(row["value"].item(), 2), row["inputs"].item()
    (2.87, 'f003_020;f003_019')
    """
    pid = graph.graph["place_id"]
    pop = _num(graph.graph, "population")
    rows: list[dict] = []

    def add(node, what, metric, value, lo, hi, bound, unit, inputs, note=""):
        rows.append(
            dict(
                zip(
                    _METRIC_COLUMNS,
                    [pid, node, what, metric, value, lo, hi, bound, unit, inputs, note],
                    strict=True,
                )
            )
        )

    order = tiers(graph)
    for k, node in enumerate(order):
        attrs = graph.nodes[node]
        units = _num(attrs, "units")
        if attrs["units_kind"] != "missing":
            add(
                node,
                "units",
                "count",
                units.value,
                _lo(units),
                _hi(units),
                units.bound,
                f"{attrs['label_en']} units",
                units.source,
            )
        else:
            add(
                node,
                "units",
                "count",
                math.nan,
                math.nan,
                math.nan,
                None,
                f"{attrs['label_en']} units",
                "",
                "not printed in the documents",
            )
        cov = _num(attrs, "coverage")
        if cov.kind == "fact":
            add(
                node,
                "coverage",
                "share",
                cov.value,
                _lo(cov),
                _hi(cov),
                cov.bound,
                "share of units",
                cov.source,
            )
        if k > 0:
            below = graph.nodes[order[k - 1]]
            if below["units_kind"] == "missing" or attrs["units_kind"] == "missing":
                add(
                    node,
                    "units",
                    "span_of_control",
                    math.nan,
                    math.nan,
                    math.nan,
                    None,
                    f"{below['label_en']} per {attrs['label_en']}",
                    "",
                    "needs both unit counts; one is not printed",
                )
            else:
                b = _num(below, "units")
                v, lo, hi = _ratio(b, units)
                add(
                    node,
                    "units",
                    "span_of_control",
                    v,
                    lo,
                    hi,
                    _bound_of(v, lo, hi, [b.bound, units.bound]),
                    f"{below['label_en']} per {attrs['label_en']}",
                    _sources(b, units),
                )

    for node in [*order, *(n for n in graph if graph.nodes[n]["role"] == "beside")]:
        attrs = graph.nodes[node]
        host = graph.nodes[attrs["tier"]]
        host_units = _num(host, "units") if host["units_kind"] != "missing" else None
        counts = attrs["counts"]
        unit_counts = [c for c in counts if c["count_kind"] == "units"]
        for c in counts:
            num = _Num(c["value"], c["kind"], c["source"], c["detail"], c["lower"], c["upper"])
            if c["count_kind"] == "per_unit":
                add(
                    node,
                    c["name"],
                    f"per_{attrs['tier']}",
                    num.value,
                    _lo(num),
                    _hi(num),
                    num.bound,
                    f"per {host['label_en']}",
                    num.source,
                )
                continue
            unit = "persons" if c["count_kind"] == "people" else "units"
            add(
                node,
                c["name"],
                "count",
                num.value,
                _lo(num),
                _hi(num),
                num.bound,
                unit,
                num.source,
                "" if c["place_id"] == pid else f"counted for {c['place_id']} only",
            )
            if c["count_kind"] != "people":
                continue
            if c["place_id"] != pid:
                add(
                    node,
                    c["name"],
                    "per_10k_people",
                    math.nan,
                    math.nan,
                    math.nan,
                    None,
                    "per 10,000 residents",
                    num.source,
                    f"needs the population of {c['place_id']}, not verified",
                )
                add(
                    node,
                    c["name"],
                    f"per_{attrs['tier']}",
                    math.nan,
                    math.nan,
                    math.nan,
                    None,
                    f"persons per {host['label_en']}",
                    num.source,
                    f"counted for {c['place_id']} only",
                )
                continue
            if host_units is None:
                add(
                    node,
                    c["name"],
                    f"per_{attrs['tier']}",
                    math.nan,
                    math.nan,
                    math.nan,
                    None,
                    f"persons per {host['label_en']}",
                    num.source,
                    f"number of {host['label_en']} units not printed",
                )
            else:
                v, lo, hi = _ratio(num, host_units)
                add(
                    node,
                    c["name"],
                    f"per_{attrs['tier']}",
                    v,
                    lo,
                    hi,
                    _bound_of(v, lo, hi, [num.bound, host_units.bound]),
                    f"persons per {host['label_en']}",
                    _sources(num, host_units),
                )
            if math.isnan(pop.value):
                add(
                    node,
                    c["name"],
                    "per_10k_people",
                    math.nan,
                    math.nan,
                    math.nan,
                    None,
                    "per 10,000 residents",
                    num.source,
                    pop.detail,
                )
            else:
                v, lo, hi = _ratio(num, pop, 1e4)
                add(
                    node,
                    c["name"],
                    "per_10k_people",
                    v,
                    lo,
                    hi,
                    _bound_of(v, lo, hi, [num.bound, "exact"]),
                    "per 10,000 residents",
                    _sources(num, pop),
                    pop.detail,
                )
            for u in unit_counts:
                un = _Num(u["value"], u["kind"], u["source"], u["detail"], u["lower"], u["upper"])
                v, lo, hi = _ratio(num, un)
                add(
                    node,
                    c["name"],
                    f"per_{u['name']}",
                    v,
                    lo,
                    hi,
                    _bound_of(v, lo, hi, [num.bound, un.bound]),
                    f"persons / {u['label_en']}",
                    _sources(num, un),
                    f"{u['label_en']}: {u['note']}" if u["note"] else "",
                )
    return pd.DataFrame(rows, columns=_METRIC_COLUMNS)


def checks(graph: nx.DiGraph, facts: pd.DataFrame | None = None) -> pd.DataFrame:
    """Consistency of a network with facts it does not use for sizing.

    - the number of tiers against a printed tier count (Quzhou's 四级);
    - the span of control against a printed per-unit range (Dongcheng's 2到5个 grids
      per community);
    - a tier sized from a fact, directly under the place, against the registry's count
      of sub-units (Dongcheng's 17 subdistricts).

    Returns
    -------
    DataFrame
        ``check, status ('pass'/'fail'), expected, computed, inputs``.
    """
    from govstats import places
    from govstats.facts import load_facts

    facts = load_facts() if facts is None else facts
    pid = graph.graph["place_id"]
    lookup = _Facts(facts, pid)
    rows = []
    order = tiers(graph)
    if graph.graph["levels_indicator"]:
        f = lookup.get(graph.graph["levels_indicator"], needed_by="the tier check")
        if f is not None:
            rows.append(
                {
                    "check": "number of tiers",
                    "status": "pass" if f.value == len(order) else "fail",
                    "expected": f"{f.value:g} ({f.detail})",
                    "computed": f"{len(order)}: {', '.join(order)}",
                    "inputs": f.source,
                }
            )
    for sc in graph.graph["span_checks"]:
        f = lookup.get(sc.indicator, needed_by="the span check")
        low, up = _num(graph.nodes[sc.lower], "units"), _num(graph.nodes[sc.upper], "units")
        if f is not None:
            v = low.value / up.value
            ok = _lo(f) <= v <= _hi(f)
            rows.append(
                {
                    "check": f"{graph.nodes[sc.lower]['label_en']} per {graph.nodes[sc.upper]['label_en']}",
                    "status": "pass" if ok else "fail",
                    "expected": f"{_lo(f):g} to {_hi(f):g} ({f.detail})",
                    "computed": f"{v:.3f} = {low.value:g} / {up.value:g}",
                    "inputs": _sources(f, low, up),
                }
            )
    if len(order) >= 2:
        below_top = graph.nodes[order[-2]]
        kids = places.children(pid)
        if below_top["units_kind"] == "fact" and kids:
            ok = below_top["units"] == len(kids)
            rows.append(
                {
                    "check": f"{order[-2]} units against the registry",
                    "status": "pass" if ok else "fail",
                    "expected": f"{len(kids)} places under {pid} in data/raw/places.csv",
                    "computed": f"{below_top['units']:g}",
                    "inputs": below_top["units_source"],
                }
            )
    DataValidationError.raise_if_any(
        lookup.problems, what=f"checks of the mediation network of {pid}"
    )
    return pd.DataFrame(rows, columns=["check", "status", "expected", "computed", "inputs"])


# --------------------------------------------------------------------------- escalation


def resolution_shares(rates: Sequence[float]) -> np.ndarray:
    """Closed form: share of disputes resolved at each tier, then the share unresolved.

    ``s_k = r_k * prod_{j<k} (1 - r_j)``; the last element is ``prod_j (1 - r_j)``.
    The result has ``len(rates) + 1`` elements and sums to 1.

    Examples
    --------
    >>> resolution_shares([0.5, 0.5]).tolist()
    [0.5, 0.25, 0.25]
    """
    r = np.asarray(rates, dtype=float)
    if r.ndim != 1 or not np.all((r >= 0) & (r <= 1)):
        raise ValueError(f"rates must be a list of shares between 0 and 1; got {list(rates)!r}")
    survive_before = np.concatenate(([1.0], np.cumprod(1.0 - r)))
    return np.append(survive_before[:-1] * r, survive_before[-1])


def _effective_rates(graph: nx.DiGraph) -> pd.DataFrame:
    rows = []
    for node in tiers(graph):
        own = _num(graph.nodes[node], "own_rate")
        besides = _beside(graph, node)
        referred = sum(
            graph.nodes[b]["referral_share"] * graph.nodes[b]["resolution_rate"] for b in besides
        )
        effective = 1.0 - (1.0 - own.value) * (1.0 - referred)
        inputs = _sources(
            own,
            *(
                _num(graph.nodes[b], a)
                for b in besides
                for a in ("referral_share", "resolution_rate")
            ),
        )
        rows.append(
            {
                "tier": node,
                "own_rate": own.value,
                "beside_rate": referred,
                "effective_rate": effective,
                "rate_inputs": inputs,
            }
        )
    return pd.DataFrame(rows)


def _check_caseload(caseload: float) -> float:
    if (
        isinstance(caseload, bool)
        or not isinstance(caseload, int | float)
        or not (0 < caseload < math.inf)
    ):
        raise ValueError(f"caseload must be a positive number of disputes; got {caseload!r}")
    return float(caseload)


def _label(attrs: Mapping, language: Language) -> str:
    return {
        "zh": attrs["label_zh"],
        "en": attrs["label_en"],
        "both": f"{attrs['label_zh']} {attrs['label_en']}",
    }[language]


def escalation(graph: nx.DiGraph, caseload: float = 10_000) -> pd.DataFrame:
    """Where disputes end, in closed form: one row per tier, then ``unresolved``.

    Parameters
    ----------
    graph : networkx.DiGraph
        From :func:`build_network`.
    caseload : float
        Disputes entering at the bottom tier (a parameter; nothing documented).

    Returns
    -------
    DataFrame
        ``place_id, tier, rank, label_zh, label_en, own_rate, beside_rate,
        effective_rate, cases_in, resolved, share, cumulative_share, rate_inputs``.
        ``share`` sums to 1 over the rows; ``rate_inputs`` names the assumptions
        (and coverage facts) behind each rate.

    Examples
    --------
    >>> e = escalation(build_network("futian"), caseload=1000)
    >>> e[["tier", "resolved"]].round(1).values.tolist()
    [['village', 660.0], ['township', 204.0], ['county', 68.0], ['unresolved', 68.0]]
    """
    caseload = _check_caseload(caseload)
    rates = _effective_rates(graph)
    shares = resolution_shares(rates["effective_rate"])
    entering = np.concatenate(([1.0], np.cumprod(1.0 - rates["effective_rate"].to_numpy())))
    out = pd.concat(
        [
            rates,
            pd.DataFrame(
                [
                    {
                        "tier": UNRESOLVED,
                        "own_rate": np.nan,
                        "beside_rate": np.nan,
                        "effective_rate": np.nan,
                        "rate_inputs": "",
                    }
                ]
            ),
        ],
        ignore_index=True,
    )
    out.insert(0, "place_id", graph.graph["place_id"])
    out.insert(2, "rank", [graph.nodes[t]["rank"] for t in out["tier"]])
    out.insert(3, "label_zh", [graph.nodes[t]["label_zh"] for t in out["tier"]])
    out.insert(4, "label_en", [graph.nodes[t]["label_en"] for t in out["tier"]])
    out["cases_in"] = entering * caseload
    out["resolved"] = shares * caseload
    out["share"] = shares
    out["cumulative_share"] = np.cumsum(shares)
    return out[
        [
            "place_id",
            "tier",
            "rank",
            "label_zh",
            "label_en",
            "own_rate",
            "beside_rate",
            "effective_rate",
            "cases_in",
            "resolved",
            "share",
            "cumulative_share",
            "rate_inputs",
        ]
    ]


def flow_through(graph: nx.DiGraph, caseload: float = 10_000) -> pd.DataFrame:
    """Push a caseload through the graph's edges in topological order (networkx).

    Each node settles ``own_rate`` of what reaches it and passes the rest along its
    outgoing edges in proportion to their ``share``; :data:`UNRESOLVED` keeps what
    reaches it. Independent of the closed form: it walks the edges as built.

    Returns
    -------
    DataFrame
        One row per node: ``node, role, tier, cases_in, resolved``.
    """
    caseload = _check_caseload(caseload)
    inflow = dict.fromkeys(graph.nodes, 0.0)
    inflow[tiers(graph)[0]] = caseload
    rows = []
    for node in nx.topological_sort(graph):
        attrs = graph.nodes[node]
        rate = attrs.get("own_rate", 1.0 if attrs["role"] == "outcome" else 0.0)
        settled = inflow[node] * rate
        for _, nxt, edge in graph.out_edges(node, data=True):
            inflow[nxt] += (inflow[node] - settled) * edge["share"]
        rows.append(
            {
                "node": node,
                "role": attrs["role"],
                "tier": attrs["tier"],
                "cases_in": inflow[node],
                "ends_here": settled,
            }
        )
    return pd.DataFrame(rows)


def simulate_escalation(
    graph: nx.DiGraph, n_cases: int = 100_000, seed: int | None = 20240601
) -> pd.DataFrame:
    """Monte Carlo: send ``n_cases`` disputes one by one through the network at random.

    At each node a dispute is settled with probability ``own_rate``; otherwise it takes
    one outgoing edge, chosen with probabilities ``share``. Draws are per dispute
    (vectorised with numpy), so counts are binomial around :func:`flow_through`.

    Returns
    -------
    DataFrame
        One row per node: ``node, role, tier, cases_in, resolved`` (integers).
    """
    if isinstance(n_cases, bool) or not isinstance(n_cases, int | np.integer) or n_cases < 1:
        raise ValueError(f"n_cases must be a positive whole number; got {n_cases!r}")
    rng = np.random.default_rng(seed)
    arrived = dict.fromkeys(graph.nodes, 0)
    arrived[tiers(graph)[0]] = int(n_cases)
    rows = []
    for node in nx.topological_sort(graph):
        attrs = graph.nodes[node]
        n = arrived[node]
        rate = attrs.get("own_rate", 1.0 if attrs["role"] == "outcome" else 0.0)
        settled = int((rng.random(n) < rate).sum())
        out = list(graph.out_edges(node, data="share"))
        if out and n - settled:
            p = np.array([s for _, _, s in out], dtype=float)
            picks = rng.choice(len(out), size=n - settled, p=p / p.sum())
            for (_, nxt, _), k in zip(out, np.bincount(picks, minlength=len(out)), strict=True):
                arrived[nxt] += int(k)
        rows.append(
            {
                "node": node,
                "role": attrs["role"],
                "tier": attrs["tier"],
                "cases_in": n,
                "ends_here": settled,
            }
        )
    return pd.DataFrame(rows)


def cross_check(
    graph: nx.DiGraph, n_cases: int = 100_000, seed: int | None = 20240601
) -> pd.DataFrame:
    """The share resolved at each tier three ways: closed form, graph flow, Monte Carlo.

    ``mc_se`` is the binomial standard error of the Monte Carlo share and ``z`` its
    distance from the closed form in standard errors.

    Examples
    --------
    >>> cc = cross_check(build_network("dongcheng"), n_cases=20_000)
    >>> bool((cc["closed_form"] - cc["graph_flow"]).abs().max() < 1e-12), bool(cc["z"].abs().max() < 5)
    (True, True)
    """
    closed = escalation(graph, 1.0).set_index("tier")["share"]
    flow = flow_through(graph, 1.0).groupby("tier", sort=False)["ends_here"].sum()
    mc = (
        simulate_escalation(graph, n_cases, seed).groupby("tier", sort=False)["ends_here"].sum()
        / n_cases
    )
    out = pd.DataFrame(
        {
            "closed_form": closed,
            "graph_flow": flow.reindex(closed.index),
            "monte_carlo": mc.reindex(closed.index),
        }
    )
    out["mc_se"] = np.sqrt(out["closed_form"] * (1 - out["closed_form"]) / n_cases)
    out["z"] = (out["monte_carlo"] - out["closed_form"]) / out["mc_se"].where(out["mc_se"] > 0)
    out.insert(0, "place_id", graph.graph["place_id"])
    return out.reset_index()


def compare_escalation(
    networks: Mapping[str, nx.DiGraph] | Iterable[nx.DiGraph],
    caseload: float = 10_000,
    language: Language = "both",
) -> pd.DataFrame:
    """:func:`escalation` for several places, stacked, with place labels.

    Adds ``place_label`` and ``tier_label`` (the generic label of the tier key, so that
    a community and a village line up).
    """
    from govstats.profiles import place_label

    check_literal(language, Language, "language")
    graphs = list(networks.values()) if isinstance(networks, Mapping) else list(networks)
    frames = []
    for g in graphs:
        e = escalation(g, caseload)
        e.insert(1, "place_label", place_label(g.graph["place_id"], language))
        e["tier_label"] = [
            _label(dict(zip(("label_zh", "label_en"), TIER_LABELS[t], strict=True)), language)
            for t in e["tier"]
        ]
        frames.append(e)
    return pd.concat(frames, ignore_index=True)


def rate_sensitivity(
    place_ids: Iterable[str],
    node: str,
    values: Sequence[float],
    *,
    by_tier: str = "township",
    facts: pd.DataFrame | None = None,
    assumptions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """How the share settled by ``by_tier`` moves with one assumed resolution rate.

    Places without ``node`` are left out. Returns ``place_id, node, rate,
    share_by_tier`` (share resolved at ``by_tier`` or below).
    """
    from govstats.facts import load_facts

    facts = load_facts() if facts is None else facts
    assumptions = load_assumptions() if assumptions is None else assumptions
    rows = []
    for pid in place_ids:
        base = build_network(pid, facts=facts, assumptions=assumptions)
        if node not in base:
            continue
        for v in values:
            g = build_network(pid, facts=facts, assumptions=assumptions, rates={node: float(v)})
            e = escalation(g, 1.0)
            keep = [t for t in tiers(g) if TIER_KEYS.index(t) <= TIER_KEYS.index(by_tier)]
            rows.append(
                {
                    "place_id": pid,
                    "node": node,
                    "rate": float(v),
                    "share_by_tier": float(e.loc[e["tier"].isin(keep), "share"].sum()),
                }
            )
    return pd.DataFrame(rows, columns=["place_id", "node", "rate", "share_by_tier"])


# --------------------------------------------------------------------------- figures

_TIER_COLOURS = {
    "grid": "#c7e9c0",
    "village": "#74c476",
    "township": "#41ab5d",
    "county": "#238b45",
    "city": "#005a32",
    UNRESOLVED: "#bdbdbd",
}
_BESIDE_COLOUR = "#fdd0a2"
_SCENARIO_NOTE = (
    "Sizes and coverage: documented facts (fact ids in trace()). Resolution rates and referral "
    "shares: ASSUMPTIONS (data/raw/network_assumptions.csv), not measured."
)


def _fmt(value: float, bound: str | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    return f"{'≥' if bound == 'at_least' else ''}{value:,.0f}"


def _node_text(graph: nx.DiGraph, node: str, language: Language) -> str:
    attrs = graph.nodes[node]
    lines = [_label(attrs, language)]
    if attrs["role"] == "tier":
        units = (
            "units not printed"
            if math.isnan(attrs["units"])
            else f"{_fmt(attrs['units'], attrs['units_bound'])} unit{'s' if attrs['units'] != 1 else ''}"
        )
        if attrs["coverage_kind"] == "fact":
            units += f" · {attrs['coverage'] * 100:.3g}% covered"
        lines.append(units)
        people = [c for c in attrs["counts"] if c["count_kind"] == "people"]
        for i in range(0, len(people), 3):
            lines.append(
                " · ".join(
                    f"{_fmt(c['value'], c['bound'])} {c['label_en'] if language == 'en' else c['label_zh']}"
                    for c in people[i : i + 3]
                )
            )
        lines.append(f"settles {attrs['own_rate'] * 100:.0f}% (assumed)")
    elif attrs["role"] == "beside":
        people = [c for c in attrs["counts"] if c["count_kind"] == "people"]
        if people:
            lines.append(
                ", ".join(
                    f"{_fmt(c['value'], c['bound'])} {c['label_zh'] if language == 'zh' else c['label_en']}"
                    for c in people
                )
            )
        else:
            lines.append("no count printed")
        lines.append(
            f"gets {attrs['referral_share'] * 100:.0f}%, settles {attrs['resolution_rate'] * 100:.0f}% (assumed)"
        )
    return "\n".join(lines)


def _box_edge(
    centre: tuple[float, float], half: tuple[float, float], towards: tuple[float, float]
) -> tuple[float, float]:
    """Where the segment from a box's centre towards a point leaves the box."""
    dx, dy = towards[0] - centre[0], towards[1] - centre[1]
    t = min(half[0] / abs(dx) if dx else math.inf, half[1] / abs(dy) if dy else math.inf)
    return centre[0] + t * dx, centre[1] + t * dy


def draw_network(
    graph: nx.DiGraph, *, caseload: float | None = 10_000, language: Language = "both", ax=None
):
    """Draw a network in tiers: bottom tier at the bottom, bodies beside a tier to its right.

    Tier boxes show the units (facts), the printed coverage and the assumed share they
    settle; with a ``caseload``, arrow widths and labels show how many disputes take
    each edge (:func:`flow_through`) and each box how many end there. Dashed arrows are
    referrals to a body beside the tier. Chinese labels use the CJK font of
    :func:`govstats.plotting.set_theme`.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from govstats.plotting import set_theme
    from govstats.profiles import place_label

    check_literal(language, Language, "language")
    family = set_theme(style="white")
    order = tiers(graph)
    columns = max([len(_beside(graph, t)) for t in order] + [0])
    half = (0.52, 0.33)
    pos: dict[str, tuple[float, float]] = {UNRESOLVED: (0.0, float(len(order)))}
    for node in order:
        pos[node] = (0.0, float(graph.nodes[node]["rank"]))
        for i, b in enumerate(_beside(graph, node)):
            pos[b] = (1.45 * (i + 1), float(graph.nodes[node]["rank"]) + 0.5)
    xlim = (-0.65, 1.45 * columns + 0.65)
    ylim = (-0.45, len(order) + 0.45)
    if ax is None:
        fig, ax = plt.subplots(
            figsize=(2.9 * (xlim[1] - xlim[0]) + 0.4, 1.25 * (ylim[1] - ylim[0]) + 0.9)
        )
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.07, top=0.9)
    else:
        fig = ax.figure
    flows = flow_through(graph, caseload).set_index("node") if caseload else None
    for a, b, attrs in graph.edges(data=True):
        start = _box_edge(pos[a], half, pos[b])
        end = _box_edge(pos[b], half, pos[a])
        moved = (
            None
            if flows is None
            else (flows.at[a, "cases_in"] - flows.at[a, "ends_here"]) * attrs["share"]
        )
        lw = 1.2 if moved is None else 0.8 + 6.0 * moved / caseload
        refer = attrs["kind"] == "refer"
        colour = "#6a51a3" if refer else "#525252"
        ax.annotate(
            "",
            xy=end,
            xytext=start,
            arrowprops={
                "arrowstyle": "-|>",
                "lw": lw,
                "color": colour,
                "linestyle": "--" if refer else "-",
                "shrinkA": 0,
                "shrinkB": 0,
                "mutation_scale": 12 + 2 * lw,
            },
            zorder=1,
        )
        if moved is not None:
            ax.text(
                (start[0] + end[0]) / 2,
                (start[1] + end[1]) / 2,
                f"{moved:,.0f}",
                fontsize=8,
                color=colour,
                ha="center",
                va="center",
                bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.9},
                zorder=3,
            )
    for node in graph:
        attrs = graph.nodes[node]
        colour = (
            _BESIDE_COLOUR
            if attrs["role"] == "beside"
            else _TIER_COLOURS.get(node, _TIER_COLOURS[UNRESOLVED])
        )
        ax.add_patch(
            FancyBboxPatch(
                (pos[node][0] - half[0], pos[node][1] - half[1]),
                2 * half[0],
                2 * half[1],
                boxstyle="round,pad=0.0,rounding_size=0.06",
                fc=colour,
                ec="#d94801" if attrs["role"] == "beside" else "#525252",
                zorder=2,
            )
        )
        text = _node_text(graph, node, language)
        if flows is not None:
            ends = flows.at[node, "ends_here"]
            text += f"\n{ends:,.0f} of {caseload:,.0f} " + (
                "end here" if attrs["role"] == "outcome" else "settled here"
            )
        dark = attrs["role"] == "tier" and node in ("county", "city")
        ax.text(
            *pos[node],
            text,
            ha="center",
            va="center",
            fontsize=8,
            linespacing=1.25,
            color="white" if dark else "black",
            zorder=4,
        )
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axis("off")
    title = f"{place_label(graph.graph['place_id'], language)}: 调解网络 mediation network"
    if caseload:
        title += f"\nwhere {caseload:,.0f} disputes go (model scenario: assumed rates)"
    ax.set_title(title, fontsize=10)
    fig.text(0.01, 0.01, _SCENARIO_NOTE, fontsize=6.5, color="#636363", wrap=True)
    if family is None:
        fig.text(0.01, 0.97, "note: no CJK font found; Chinese labels may not render", fontsize=8)
    return fig


def resolution_chart(
    comparison: pd.DataFrame, *, title: str | None = None, language: Language = "both"
):
    """Stacked bars: where disputes end, one bar per place, one colour per tier key.

    Parameters
    ----------
    comparison : DataFrame
        From :func:`compare_escalation`.

    Returns
    -------
    matplotlib.figure.Figure
        Segments in tier order (grid, village/community, township/subdistrict,
        county/district, city, unresolved) labelled with their percentage.
    """
    import matplotlib.pyplot as plt

    from govstats.plotting import set_theme

    check_literal(language, Language, "language")
    family = set_theme(style="whitegrid")
    places_ = list(dict.fromkeys(comparison["place_label"]))
    keys = [k for k in (*TIER_KEYS, UNRESOLVED) if k in set(comparison["tier"])]
    fig, ax = plt.subplots(figsize=(10, 1.0 * len(places_) + 2.2))
    left = np.zeros(len(places_))
    for key in keys:
        share = np.array(
            [
                comparison.loc[
                    comparison["place_label"].eq(p) & comparison["tier"].eq(key), "share"
                ].sum()
                for p in places_
            ]
        )
        zh, en = TIER_LABELS[key]
        label = zh if language == "zh" else en if language == "en" else f"{zh} {en}"
        ax.barh(
            range(len(places_)),
            share,
            left=left,
            color=_TIER_COLOURS[key],
            edgecolor="white",
            label=label,
        )
        for i, (x0, s) in enumerate(zip(left, share, strict=True)):
            if s >= 0.025:
                ax.text(
                    x0 + s / 2,
                    i,
                    f"{s * 100:.0f}%",
                    ha="center",
                    va="center",
                    fontsize=8 if s < 0.05 else 9,
                    color="white" if key in ("county", "city") else "black",
                )
        left += share
    low = [k for k in TIER_KEYS[: TIER_KEYS.index("township") + 1]]
    by_township = [
        comparison.loc[
            comparison["place_label"].eq(p) & comparison["tier"].isin(low), "share"
        ].sum()
        for p in places_
    ]
    for i, v in enumerate(by_township):
        ax.text(
            1.015,
            i,
            f"{v * 100:.0f}%",
            ha="left",
            va="center",
            fontsize=10,
            transform=ax.get_yaxis_transform(),
        )
    ax.text(
        1.015,
        -0.6,
        "settled by\n乡镇/街道",
        ha="left",
        va="bottom",
        fontsize=8,
        transform=ax.get_yaxis_transform(),
    )
    ax.set_yticks(range(len(places_)), places_)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("share of disputes entering the bottom tier")
    ax.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x * 100:.0f}%"))
    ax.legend(
        ncol=min(len(keys), 3),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.25),
        fontsize=8,
        frameon=False,
    )
    ax.set_title(
        title or "Where disputes end 矛盾纠纷在哪一级化解 (model scenario, assumed rates)",
        fontsize=11,
    )
    fig.text(0.01, 0.005, _SCENARIO_NOTE, fontsize=7, color="#636363")
    if family is None:
        fig.text(0.01, 0.98, "note: no CJK font found; Chinese labels may not render", fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 0.93, 1))
    return fig


def sensitivity_chart(
    sensitivity: pd.DataFrame,
    *,
    by_label: str = "乡镇/街道 township/subdistrict",
    language: Language = "both",
):
    """Lines: share settled by a tier as one assumed rate varies, one line per place."""
    import matplotlib.pyplot as plt

    from govstats.plotting import set_theme
    from govstats.profiles import place_label

    check_literal(language, Language, "language")
    set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(7, 4))
    for pid, part in sensitivity.groupby("place_id", sort=False):
        ax.plot(part["rate"], part["share_by_tier"], marker="o", label=place_label(pid, language))
    node = sensitivity["node"].iloc[0] if len(sensitivity) else "?"
    ax.set_xlabel(f"assumed resolution rate at the {node} tier")
    ax.set_ylabel(f"share settled by {by_label}")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y * 100:.0f}%"))
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("How much the answer depends on one assumption (model scenario)", fontsize=10)
    fig.tight_layout()
    return fig
