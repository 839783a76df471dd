"""The escalation model: where disputes end, in closed form, as a graph flow and by simulation.

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

No document prints a resolution rate: every result here is a *model scenario* built on
the assumptions file, not an observation.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from govstats import places
from govstats._literals import Language, check_literal
from govstats.facts import load_facts
from govstats.network._numbers import _num, _sources
from govstats.network.assumptions import load_assumptions
from govstats.network.build import _beside, _layout_for, build_network, tiers
from govstats.network.layouts import (
    TIER_KEYS,
    TIER_LABELS,
    UNRESOLVED,
    NetworkLayout,
    _label,
    load_layouts,
)
from govstats.profiles import place_label

__all__ = [
    "compare_escalation",
    "cross_check",
    "escalation",
    "flow_through",
    "rate_sensitivity",
    "resolution_shares",
    "simulate_escalation",
]


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
    >>> from govstats.network import build_network
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


def _push(
    graph: nx.DiGraph,
    start: float,
    settle: Callable[[float, float], float],
    split: Callable[[float, list[float]], list[float]],
) -> pd.DataFrame:
    """Walk the graph in topological order from ``start`` disputes at the bottom tier.

    A node settles ``settle(arrived, own_rate)`` of what reaches it (:data:`UNRESOLVED`
    keeps all) and sends the rest along its outgoing edges, ``split(rest, shares)``.
    """
    arrived = dict.fromkeys(graph.nodes, 0 * start)
    arrived[tiers(graph)[0]] = start
    rows = []
    for node in nx.topological_sort(graph):
        attrs = graph.nodes[node]
        n = arrived[node]
        settled = settle(n, attrs.get("own_rate", 1.0 if attrs["role"] == "outcome" else 0.0))
        out = list(graph.out_edges(node, data="share"))
        if out:
            moved = split(n - settled, [s for _, _, s in out])
            for (_, nxt, _), m in zip(out, moved, strict=True):
                arrived[nxt] += m
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


def flow_through(graph: nx.DiGraph, caseload: float = 10_000) -> pd.DataFrame:
    """Push a caseload through the graph's edges in topological order (networkx).

    Each node settles ``own_rate`` of what reaches it and passes the rest along its
    outgoing edges in proportion to their ``share``; :data:`UNRESOLVED` keeps what
    reaches it. Independent of the closed form: it walks the edges as built.

    Returns
    -------
    DataFrame
        One row per node: ``node, role, tier, cases_in, ends_here``.
    """
    return _push(
        graph,
        _check_caseload(caseload),
        lambda n, rate: n * rate,
        lambda rest, shares: [rest * s for s in shares],
    )


def simulate_escalation(
    graph: nx.DiGraph, *, reps: int = 100_000, seed: int | None = 20240601
) -> pd.DataFrame:
    """Monte Carlo: send ``reps`` disputes one by one through the network at random.

    At each node a dispute is settled with probability ``own_rate``; otherwise it takes
    one outgoing edge, chosen with probabilities ``share``. Draws are per dispute
    (vectorised with numpy), so counts are binomial around :func:`flow_through`.

    Parameters
    ----------
    graph : networkx.DiGraph
    reps : int
        Number of disputes (draws).
    seed : int or None
        Seed of ``numpy.random.default_rng``.

    Returns
    -------
    DataFrame
        One row per node: ``node, role, tier, cases_in, ends_here`` (integers).
    """
    if isinstance(reps, bool) or not isinstance(reps, int | np.integer) or reps < 1:
        raise ValueError(f"reps must be a positive whole number; got {reps!r}")
    rng = np.random.default_rng(seed)

    def split(rest: int, shares: list[float]) -> list[int]:
        if not rest:
            return [0] * len(shares)
        p = np.array(shares, dtype=float)
        picks = rng.choice(len(shares), size=rest, p=p / p.sum())
        return [int(k) for k in np.bincount(picks, minlength=len(shares))]

    return _push(graph, int(reps), lambda n, rate: int((rng.random(n) < rate).sum()), split)


def cross_check(
    graph: nx.DiGraph, *, reps: int = 100_000, seed: int | None = 20240601
) -> pd.DataFrame:
    """The share resolved at each tier three ways: closed form, graph flow, Monte Carlo.

    ``reps`` disputes go through :func:`simulate_escalation`; ``mc_se`` is the binomial
    standard error of the Monte Carlo share and ``z`` its distance from the closed form
    in standard errors.

    Examples
    --------
    >>> from govstats.network import build_network
    >>> cc = cross_check(build_network("dongcheng"), reps=20_000)
    >>> bool((cc["closed_form"] - cc["graph_flow"]).abs().max() < 1e-12), bool(cc["z"].abs().max() < 5)
    (True, True)
    """
    closed = escalation(graph, 1.0).set_index("tier")["share"]
    flow = flow_through(graph, 1.0).groupby("tier", sort=False)["ends_here"].sum()
    mc = (
        simulate_escalation(graph, reps=reps, seed=seed)
        .groupby("tier", sort=False)["ends_here"]
        .sum()
        / reps
    )
    out = pd.DataFrame(
        {
            "closed_form": closed,
            "graph_flow": flow.reindex(closed.index),
            "monte_carlo": mc.reindex(closed.index),
        }
    )
    out["mc_se"] = np.sqrt(out["closed_form"] * (1 - out["closed_form"]) / reps)
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
    layouts: Mapping[str, NetworkLayout] | None = None,
) -> pd.DataFrame:
    """How the share settled by ``by_tier`` moves with one assumed resolution rate.

    Places without ``node`` are left out. Returns ``place_id, node, rate,
    share_by_tier`` (share resolved at ``by_tier`` or below). ``layouts`` as in
    :func:`~govstats.network.build_networks`.
    """
    facts = load_facts() if facts is None else facts
    assumptions = load_assumptions() if assumptions is None else assumptions
    layouts = load_layouts() if layouts is None else layouts
    rows = []
    for pid in place_ids:
        inputs = {
            "facts": facts,
            "assumptions": assumptions,
            "layout": _layout_for(places.resolve(pid), layouts),
        }
        base = build_network(pid, **inputs)
        if node not in base:
            continue
        for v in values:
            g = build_network(pid, rates={node: float(v)}, **inputs)
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
