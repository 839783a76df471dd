"""What a network says: every number with its source, sizes per node and per resident, checks.

:func:`trace` lists every number of a network with its kind (fact, derived, registry,
assumption, parameter, definition) and source; :func:`network_metrics` gives units,
coverage, span of control and people per node and per 10,000 residents, with bounds
carried through; :func:`checks` compares a network with facts it does not use for sizing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import networkx as nx
import pandas as pd

from govstats import places
from govstats.errors import DataValidationError
from govstats.facts import load_facts
from govstats.network._numbers import _hi, _lo, _Num, _num, _ratio, _sources
from govstats.network.build import _Facts, tiers

__all__ = ["checks", "network_metrics", "trace"]


_TRACE_COLUMNS = ["place_id", "element", "attribute", "value", "bound", "kind", "source", "detail"]


def trace(graph: nx.DiGraph) -> pd.DataFrame:
    """Every number in a network: value, bound, kind (fact, derived, registry,
    assumption, parameter, definition), source (fact ids, assumption id, registry
    reference, parameter name) and a detail (quantity and phrase, or rationale).

    Examples
    --------
    >>> from govstats.network import build_network
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
    >>> from govstats.network import build_network
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

    def blank(node, what, metric, unit, inputs, note):
        """A metric that cannot be computed, with the reason in ``note``."""
        add(node, what, metric, math.nan, math.nan, math.nan, None, unit, inputs, note)

    def number(node, what, metric, num: _Num, unit, note=""):
        add(node, what, metric, num.value, _lo(num), _hi(num), num.bound, unit, num.source, note)

    def ratio(node, what, metric, a: _Num, b: _Num, unit, note="", scale=1.0):
        v, lo, hi = _ratio(a, b, scale)
        bound = _bound_of(v, lo, hi, [a.bound, b.bound])
        add(node, what, metric, v, lo, hi, bound, unit, _sources(a, b), note)

    order = tiers(graph)
    for k, node in enumerate(order):
        attrs = graph.nodes[node]
        units = _num(attrs, "units")
        unit = f"{attrs['label_en']} units"
        if attrs["units_kind"] != "missing":
            number(node, "units", "count", units, unit)
        else:
            blank(node, "units", "count", unit, "", "not printed in the documents")
        cov = _num(attrs, "coverage")
        if cov.kind == "fact":
            number(node, "coverage", "share", cov, "share of units")
        if k > 0:
            below = graph.nodes[order[k - 1]]
            unit = f"{below['label_en']} per {attrs['label_en']}"
            if below["units_kind"] == "missing" or attrs["units_kind"] == "missing":
                blank(
                    node,
                    "units",
                    "span_of_control",
                    unit,
                    "",
                    "needs both unit counts; one is not printed",
                )
            else:
                ratio(node, "units", "span_of_control", _num(below, "units"), units, unit)

    for node in [*order, *(n for n in graph if graph.nodes[n]["role"] == "beside")]:
        attrs = graph.nodes[node]
        host = graph.nodes[attrs["tier"]]
        host_units = _num(host, "units") if host["units_kind"] != "missing" else None
        per_host = f"per_{attrs['tier']}"
        counts = attrs["counts"]
        unit_counts = [c for c in counts if c["count_kind"] == "units"]
        for c in counts:
            name = c["name"]
            num = _Num(c["value"], c["kind"], c["source"], c["detail"], c["lower"], c["upper"])
            if c["count_kind"] == "per_unit":
                number(node, name, per_host, num, f"per {host['label_en']}")
                continue
            unit = "persons" if c["count_kind"] == "people" else "units"
            note = "" if c["place_id"] == pid else f"counted for {c['place_id']} only"
            number(node, name, "count", num, unit, note)
            if c["count_kind"] != "people":
                continue
            per_host_unit = f"persons per {host['label_en']}"
            per_10k = "per 10,000 residents"
            if c["place_id"] != pid:
                blank(
                    node,
                    name,
                    "per_10k_people",
                    per_10k,
                    num.source,
                    f"needs the population of {c['place_id']}, not verified",
                )
                blank(node, name, per_host, per_host_unit, num.source, note)
                continue
            if host_units is None:
                blank(
                    node,
                    name,
                    per_host,
                    per_host_unit,
                    num.source,
                    f"number of {host['label_en']} units not printed",
                )
            else:
                ratio(node, name, per_host, num, host_units, per_host_unit)
            if math.isnan(pop.value):
                blank(node, name, "per_10k_people", per_10k, num.source, pop.detail)
            else:
                ratio(node, name, "per_10k_people", num, pop, per_10k, pop.detail, scale=1e4)
            for u in unit_counts:
                un = _Num(u["value"], u["kind"], u["source"], u["detail"], u["lower"], u["upper"])
                note = f"{u['label_en']}: {u['note']}" if u["note"] else ""
                ratio(node, name, f"per_{u['name']}", num, un, f"persons / {u['label_en']}", note)
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
