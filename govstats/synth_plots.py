"""Figures for :mod:`govstats.synth`: treated vs synthetic paths, unit weights, placebo distribution.

Each function takes a :class:`govstats.synth.SynthResults`, draws on a new figure (or the
``ax`` given) and returns the figure. ``simulated=True`` stamps SIMULATED on it
(:func:`govstats.plotting.mark_simulated`); pass it for every simulated panel.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from govstats.plotting import legend_outside, mark_simulated
from govstats.synth import SynthResults

__all__ = ["plot_paths", "plot_placebo", "plot_unit_weights"]

_NAMES = {"sdid": "synthetic DiD", "sc": "synthetic control", "did": "DiD (all donors equally)"}


def _figure(ax):
    if ax is None:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        return fig, ax
    return ax.figure, ax


def _legend_below(ax):
    """The legend under the axis label, never over the paths or the histogram (issue 14)."""
    return legend_outside(ax, where="below", fontsize=8, frameon=False)


def plot_paths(res: SynthResults, *, ax=None, title: str | None = None, simulated: bool = False):
    """Outcome of the treated unit and of its synthetic comparison, with the treatment date.

    For sdid and did the synthetic path is shifted by the time-weighted pre-period gap
    (the estimators allow a constant difference); the shaded bars along the bottom are
    the time weights. The mean post-period gap is the estimate.
    """
    fig, ax = _figure(ax)
    p = res.paths
    ax.plot(p.index, p["treated"], color="C1", lw=2, label=str(res.spec.treated))
    ax.plot(p.index, p["synthetic"], color="C0", lw=2, ls="--", label=_NAMES[res.estimator])
    ax.axvline(res.spec.first_treated - 0.5, color="grey", lw=1)
    if res.estimator != "sc" and res.time_weights.sum() > 0:
        lo, hi = ax.get_ylim()
        h = 0.15 * (hi - lo)
        ax.bar(res.time_weights.index, res.time_weights.to_numpy() / res.time_weights.max() * h,
               bottom=lo, color="C0", alpha=0.25, width=0.8, label="time weights (scaled)")
        ax.set_ylim(lo, hi)
    ax.set_xlabel(str(p.index.name or "period"))
    ax.set_ylabel(res.spec.outcome)
    ax.set_title(title or f"{res.spec.treated} and its {_NAMES[res.estimator]}: ATT = {res.att:.2f}")
    _legend_below(ax)
    return mark_simulated(fig, simulated=simulated)


def plot_unit_weights(res: SynthResults, *, top: int = 15, ax=None, title: str | None = None,
                      simulated: bool = False):
    """The donors with the largest weights (omega), as horizontal bars."""
    fig, ax = _figure(ax)
    w = res.unit_weights.sort_values(ascending=True)
    w = w[w > 0].tail(top)
    ax.barh([str(i) for i in w.index], w.to_numpy(), color="C0")
    ax.set_xlabel("unit weight (omega); weights sum to 1")
    ax.set_title(title or f"Donor weights, {_NAMES[res.estimator]} "
                 f"({int((res.unit_weights > 0).sum())} of {len(res.unit_weights)} donors used)")
    return mark_simulated(fig, simulated=simulated)


def plot_placebo(res: SynthResults, *, ax=None, title: str | None = None, simulated: bool = False):
    """Placebo effects (each donor in the treated unit's place) against the estimate."""
    fig, ax = _figure(ax)
    p = res.placebo.to_numpy()
    if len(p) == 0:
        ax.text(0.5, 0.5, "no placebo run (inference='none')", ha="center", transform=ax.transAxes)
        return mark_simulated(fig, simulated=simulated)
    bins = max(5, min(30, len(p) // 2))
    ax.hist(p, bins=bins, color="grey", alpha=0.7, label=f"placebo effects ({len(p)})")
    ax.axvline(res.att, color="C1", lw=2, label=f"{res.spec.treated}: {res.att:.2f}")
    ax.axvline(-abs(res.att), color="C1", lw=1, ls=":")
    ax.axvline(abs(res.att), color="C1", lw=1, ls=":")
    pv = res.pvalue()["ATT"]
    ax.set_xlabel(f"effect on {res.spec.outcome}")
    ax.set_ylabel("donors")
    ax.set_title(title or f"In-space placebo, {_NAMES[res.estimator]}: permutation p = {pv:.3f}, "
                 f"placebo SE = {res.se()['ATT']:.2f}")
    _legend_below(ax)
    ax.set_xlim(min(np.min(p), res.att) * 1.1 - 1e-9, max(np.max(p), abs(res.att)) * 1.1 + 1e-9)
    return mark_simulated(fig, simulated=simulated)
