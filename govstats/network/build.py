"""Building a place's mediation network: a frozen ``networkx.DiGraph`` sized from the facts.

The tiers run bottom to top (village -> township -> county -> city), with the specialised
bodies that work *beside* a tier attached to it; every node is sized from the documented
facts (:class:`_Facts` looks them up and collects every missing or ambiguous one), the
places registry, or the assumptions file.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

import networkx as nx
import pandas as pd

from govstats import indicators, places
from govstats.errors import DataValidationError, GovstatsError, Problem
from govstats.facts import load_facts
from govstats.network._numbers import _hi, _lo, _Num, _num, _set, _sources
from govstats.network.assumptions import load_assumptions
from govstats.network.layouts import (
    TIER_LABELS,
    UNRESOLVED,
    NetworkLayout,
    check_layout,
    load_layouts,
)

__all__ = ["build_network", "build_networks", "tiers"]


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


def _layout_for(pid: str, layouts: Mapping[str, NetworkLayout]) -> NetworkLayout:
    if pid not in layouts:
        raise KeyError(
            f"no mediation-network layout for {pid!r}; layouts exist for {sorted(layouts)}. "
            "Describe the place with govstats.network.NetworkLayout and pass layout=, "
            "or in a layouts file read by govstats.network.load_layouts"
        )
    return layouts[pid]


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
        Default: the place's layout in :func:`~govstats.network.load_layouts`.
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
    pid = places.resolve(place)
    layout = _layout_for(pid, load_layouts()) if layout is None else layout
    check_layout(layout)
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
    layouts: Mapping[str, NetworkLayout] | None = None,
) -> dict[str, nx.DiGraph]:
    """Several networks at once; overrides keyed by place (or ``'*'`` for every place).

    ``rates={'*': {'village': 0.7}, 'dongcheng': {'grid': 0.4}}`` sets the village
    rate of every network and Dongcheng's grid rate. A ``'*'`` override naming a node a
    place does not have is skipped for that place; a place-keyed one must exist.
    ``layouts`` (default :func:`~govstats.network.load_layouts`) maps place ids to
    their layouts, e.g. ``load_layouts("my_layouts.csv")``.

    Examples
    --------
    >>> nets = build_networks(["quzhou", "futian"], rates={"*": {"village": 0.7}})
    >>> [nets[p].nodes["village"]["resolution_rate"] for p in nets]
    [0.7, 0.7]
    """
    facts = load_facts() if facts is None else facts
    assumptions = load_assumptions() if assumptions is None else assumptions
    layouts = load_layouts() if layouts is None else layouts
    ids = [places.resolve(p) for p in place_ids]

    def for_place(
        overrides: Mapping[str, Mapping[str, float]] | None, pid: str
    ) -> dict[str, float]:
        overrides = overrides or {}
        keyed = {places.resolve(k) if k != "*" else "*": v for k, v in overrides.items()}
        unknown = [k for k in keyed if k != "*" and k not in ids]
        if unknown:
            raise ValueError(f"overrides for places not being built: {unknown}; building {ids}")
        layout = layouts.get(pid)
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
            layout=_layout_for(pid, layouts),
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
