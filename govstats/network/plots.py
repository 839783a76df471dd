"""Figures of the mediation networks: the network in tiers, where disputes end, sensitivity.

Every figure built on the escalation model says that its rates are assumptions.
matplotlib is imported when a figure is drawn, so building and analysing networks never
loads it.
"""

from __future__ import annotations

import math

import networkx as nx
import numpy as np
import pandas as pd

from govstats._literals import Language, check_literal
from govstats.network.build import _beside, tiers
from govstats.network.escalation_model import flow_through
from govstats.network.layouts import TIER_KEYS, TIER_LABELS, UNRESOLVED, _label
from govstats.profiles import place_label

__all__ = ["draw_network", "resolution_chart", "sensitivity_chart"]


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
    kind = {"en": "mediation network", "zh": "调解网络", "both": "调解网络 mediation network"}[language]
    title = f"{place_label(graph.graph['place_id'], language)}: {kind}"
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
        {"en": "settled by\ntownship", "zh": "乡镇/街道\n化解", "both": "settled by\n乡镇/街道"}[language],
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
        title or {"en": "Where disputes end", "zh": "矛盾纠纷在哪一级化解",
                  "both": "Where disputes end 矛盾纠纷在哪一级化解"}[language]
        + " (model scenario, assumed rates)",
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
    by_label: str | None = None,
    language: Language = "both",
):
    """Lines: share settled by a tier as one assumed rate varies, one line per place."""
    import matplotlib.pyplot as plt

    from govstats.plotting import legend_outside, set_theme

    check_literal(language, Language, "language")
    if by_label is None:
        by_label = {"en": "township/subdistrict", "zh": "乡镇/街道",
                    "both": "乡镇/街道 township/subdistrict"}[language]
    set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(7, 4))
    for pid, part in sensitivity.groupby("place_id", sort=False):
        ax.plot(part["rate"], part["share_by_tier"], marker="o", label=place_label(pid, language))
    node = sensitivity["node"].iloc[0] if len(sensitivity) else "?"
    ax.set_xlabel(f"assumed resolution rate at the {node} tier")
    ax.set_ylabel(f"share settled by {by_label}")
    ax.yaxis.set_major_formatter(plt.FuncFormatter(lambda y, _: f"{y * 100:.0f}%"))
    ax.set_ylim(0, 1)
    legend_outside(ax, fontsize=8)  # beside the lines, never over them
    ax.set_title("How much the answer depends on one assumption (model scenario)", fontsize=10)
    fig.tight_layout()
    return fig
