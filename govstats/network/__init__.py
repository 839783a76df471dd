"""The mediation-network model: a place's dispute-mediation tiers as a networkx graph.

Quzhou's document describes a four-level dispute-mediation network (市、县、乡、村四级)
and the slogan 小事不出村, 大事不出镇: a dispute starts at the bottom tier and moves up
only when it is not settled there. :func:`build_network` turns a place's tiers into a
directed graph (village -> township -> county -> city), with the specialised bodies that
work *beside* a tier (Quzhou's peace promoters and professional committees, Futian's
lawyers and legal advisers, Dongcheng's grid judicial staff) attached to it, and sizes
every node from the documented facts.

One module per concern:

- :mod:`~govstats.network.layouts`: which tiers and bodies a place has, as data
  (``layouts.csv``, :func:`load_layouts`) and in memory (:class:`NetworkLayout`);
- :mod:`~govstats.network.assumptions`: the assumed rates (:func:`load_assumptions`);
- :mod:`~govstats.network.build`: :func:`build_network`, :func:`build_networks`;
- :mod:`~govstats.network.metrics`: :func:`trace`, :func:`network_metrics`, :func:`checks`;
- :mod:`~govstats.network.escalation_model`: the escalation model (its docstring gives the
  formulas);
- :mod:`~govstats.network.plots`: :func:`draw_network`, :func:`resolution_chart`,
  :func:`sensitivity_chart`.

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
A tier settles a share of the disputes that reach it (its coverage times its rate,
combined with the bodies beside it: ``R_k = 1 - (1 - c_k r_k)(1 - sum_i p_i q_i)``) and
passes the rest up, so the share resolved at tier ``k`` is
``s_k = R_k * prod_{j<k} (1 - R_j)`` (:func:`resolution_shares`). :func:`flow_through`
computes the same by pushing a caseload through the graph's edges and
:func:`simulate_escalation` by sending ``reps`` disputes through it at random;
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

from govstats.network.assumptions import ASSUMPTION_COLUMNS, NetworkAssumptions, load_assumptions
from govstats.network.build import build_network, build_networks, tiers
from govstats.network.escalation_model import (
    compare_escalation,
    cross_check,
    escalation,
    flow_through,
    rate_sensitivity,
    resolution_shares,
    simulate_escalation,
)
from govstats.network.layouts import (
    LAYOUTS_FILE,
    TIER_KEYS,
    TIER_LABELS,
    UNRESOLVED,
    CountSpec,
    LayoutRows,
    NetworkLayout,
    NodeSpec,
    SpanCheck,
    load_layouts,
)
from govstats.network.metrics import checks, network_metrics, trace
from govstats.network.plots import draw_network, resolution_chart, sensitivity_chart

__all__ = [
    "ASSUMPTION_COLUMNS",
    "LAYOUTS_FILE",
    "TIER_KEYS",
    "TIER_LABELS",
    "UNRESOLVED",
    "CountSpec",
    "LayoutRows",
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
    "load_layouts",
    "network_metrics",
    "rate_sensitivity",
    "resolution_chart",
    "resolution_shares",
    "sensitivity_chart",
    "simulate_escalation",
    "tiers",
    "trace",
]
