"""Figures of a reform event study (:mod:`govstats.did`).

Plots live beside their subject, apart from the estimators (pyfixest's
``did/visualize.py`` pattern): :func:`plot_event_study` draws each estimator's
event-time curve with its band and the truth when it is known, :func:`plot_att` the
average effects side by side. Both are also reachable as ``govstats.did.plot_event_study``
/ ``plot_att`` (imported on first use). Every figure of simulated data says SIMULATED.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from govstats.did import (  # noqa: F401 (EventStudySpec, event_study, true_effects: doctests)
    ESTIMATOR_LABELS,
    EventStudyResults,
    EventStudySpec,
    event_study,
    true_effects,
)

__all__ = ["plot_att", "plot_event_study", "plot_sensitivity"]

_COLORS = {"twfe": "#d55e00", "twfe_static": "#d55e00", "sun_abraham": "#0072b2", "did2s": "#009e73",
           "cs": "#cc79a7"}


def plot_event_study(results: EventStudyResults, truth: pd.DataFrame | None = None, *, title: str | None = None,
                     band: Literal["analytic", "bootstrap"] = "analytic"):
    """One panel per estimator: estimates with a confidence band, the truth if known.

    Parameters
    ----------
    results : EventStudyResults
    truth : DataFrame, optional
        ``event_time`` and ``true_effect`` (e.g. from :func:`true_effects`), drawn
        as a black step line in every panel.
    title : str, optional
        Figure title; SIMULATED is added (and stamped across the figure) when the
        data were simulated.
    band : {"analytic", "bootstrap"}
        TWFE panel: the cluster-robust band, or the wild-bootstrap band when it was run.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=2)
    >>> res = event_study(EventStudySpec("satisfaction_index", cohort="grid_year", leads=2,
    ...                   lags=2, estimators=("did2s",), controls=("aux_village_reform",)), sim.data)
    >>> fig = plot_event_study(res, true_effects(sim, "grid", res)[0])
    >>> fig._suptitle.get_text().startswith("SIMULATED")
    True
    """
    import matplotlib.pyplot as plt

    from govstats.plotting import mark_simulated, set_theme

    set_theme(style="whitegrid")
    est = results.tidy()
    names = [e for e in results.spec.estimators if (est["estimator"] == e).any()]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names) + 0.6, 4.2), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        d = est[est["estimator"] == name].sort_values("event_time")
        x = d["event_time"].to_numpy()
        lo, hi = d["ci_lower"].to_numpy(), d["ci_upper"].to_numpy()
        if name == "twfe" and band == "bootstrap" and "boot_ci_lower" in d:
            lo = np.where(d["event_time"] == -1, 0.0, d["boot_ci_lower"].to_numpy())
            hi = np.where(d["event_time"] == -1, 0.0, d["boot_ci_upper"].to_numpy())
        color = _COLORS[name]
        ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0, label=f"{1 - results.spec.alpha:.0%} CI")
        ax.plot(x, d["estimate"], "o-", color=color, label="estimate", markersize=5)
        if truth is not None:
            t = truth.sort_values("event_time")
            ax.step(t["event_time"], t["true_effect"], where="mid", color="black", linestyle="--", linewidth=1.4,
                    label="true effect")
        ax.axhline(0, color="grey", linewidth=0.8)
        ax.axvline(-0.5, color="grey", linewidth=0.8, linestyle=":")
        ax.set_title(ESTIMATOR_LABELS[name], fontsize=10)
        ax.set_xlabel("years since the reform (e = -1 is the reference)")
        ax.set_xticks(list(results.spec.window))
        ax.set_xticklabels([f"≤{k}" if k == -results.spec.leads else f"≥{k}" if k == results.spec.lags else str(k)
                            for k in results.spec.window], fontsize=8)
    axes[0][0].set_ylabel(f"effect on {results.spec.outcome}")
    # one legend for all panels, in neutral colours, below the axes: never over the data
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [Patch(color="grey", alpha=0.3, label=f"{1 - results.spec.alpha:.0%} CI"),
               Line2D([], [], color="dimgrey", marker="o", markersize=5, label="estimate (colour by estimator)")]
    if truth is not None:
        handles.append(Line2D([], [], color="black", linestyle="--", linewidth=1.4, label="true effect"))
    fig.legend(handles=handles, loc="lower center", ncol=len(handles), fontsize=8, frameon=False,
               bbox_to_anchor=(0.5, 0.0))
    fig.suptitle(title or f"Event study: {results.spec.cohort} on {results.spec.outcome}")
    mark_simulated(fig, simulated=results.simulated)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def plot_att(results: EventStudyResults, true_att: float | None = None, *, title: str | None = None):
    """The average effect on the treated by estimator, with confidence intervals and the truth.

    The plain static TWFE row comes first; under staggered adoption with effects
    that change over event time or differ across cohorts it is the one pulled away
    from the truth.

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=2)
    >>> res = event_study(EventStudySpec("satisfaction_index", cohort="grid_year", leads=2,
    ...                   lags=2, estimators=("did2s",), controls=("aux_village_reform",)), sim.data)
    >>> fig = plot_att(res, true_effects(sim, "grid", res)[1])
    """
    import matplotlib.pyplot as plt

    from govstats.plotting import mark_simulated, set_theme

    set_theme(style="whitegrid")
    att = results.att.iloc[::-1].reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(8, 0.7 * len(att) + 1.6))
    for i, r in att.iterrows():
        color = _COLORS[r["estimator"]]
        ax.plot([r["ci_lower"], r["ci_upper"]], [i, i], color=color, linewidth=3, alpha=0.6)
        ax.plot(r["estimate"], i, "o", color=color, markersize=8)
        if "boot_ci_lower" in att and pd.notna(r.get("boot_ci_lower")):
            ax.plot([r["boot_ci_lower"], r["boot_ci_upper"]], [i - 0.18, i - 0.18], color=color, linewidth=1,
                    linestyle="--")
    if true_att is not None:
        ax.axvline(true_att, color="black", linestyle="--", linewidth=1.4)
        ax.annotate(f"true ATT = {true_att:.3g}", xy=(true_att, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(4, -2), textcoords="offset points", va="top", fontsize=8)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(att)), att["label"], fontsize=9)
    ax.set_xlabel(f"average effect on the treated observations ({results.spec.outcome}); "
                  f"bars {1 - results.spec.alpha:.0%} CI")
    fig.suptitle(title or "Average reform effect: plain two-way FE against robust estimators")
    mark_simulated(fig, simulated=results.simulated)
    fig.tight_layout()
    return fig



def plot_sensitivity(sensitivity: pd.DataFrame, original: tuple[float, float], *, parameter: str = "M",
                     title: str | None = None, simulated: bool = False):
    """The Rambachan-Roth sensitivity plot: robust intervals against ``M``, the original beside.

    Parameters
    ----------
    sensitivity : DataFrame
        ``lb``, ``ub``, ``method`` and ``parameter`` columns (:func:`govstats.honestdid.sensitivity_sd`
        with ``parameter="M"``, :func:`govstats.honestdid.sensitivity_rm` with ``parameter="Mbar"``).
    original : (lower, upper)
        The usual interval (:func:`govstats.honestdid.original_ci`), drawn left of the grid.
    simulated : bool
        Add SIMULATED to the title.
    """
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.6))
    m = sensitivity[parameter].to_numpy(dtype=float)
    step = float(np.min(np.diff(m))) if len(m) > 1 else 1.0
    x0 = m.min() - step
    ax.errorbar([x0], [(original[0] + original[1]) / 2], yerr=[[(original[1] - original[0]) / 2]], fmt="none",
                color="#d55e00", capsize=4, lw=2, label="original")
    mid = (sensitivity["lb"] + sensitivity["ub"]) / 2
    ax.errorbar(m, mid, yerr=[mid - sensitivity["lb"], sensitivity["ub"] - mid], fmt="none", color="#0072b2",
                capsize=4, lw=2,
                label=f"{sensitivity['method'].iloc[0] if 'method' in sensitivity else 'robust'} (robust)")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xlabel({"M": "M (change in the slope of the trend violation)",
                   "Mbar": "Mbar (post violation relative to the largest pre violation)"}.get(parameter, parameter))
    ax.set_ylabel("effect")
    from govstats.plotting import legend_outside

    legend_outside(ax, where="below", frameon=False)
    t = title or "Sensitivity to violations of parallel trends"
    ax.set_title(("SIMULATED: " if simulated else "") + t)
    fig.tight_layout()
    return fig
