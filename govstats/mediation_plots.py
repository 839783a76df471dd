"""Figures of a causal mediation analysis (:mod:`govstats.mediation`).

Plots live beside their subject, apart from the estimator (pyfixest's
``did/visualize.py`` pattern): :func:`plot_mediation` splits the total effect into its
direct and indirect parts, :func:`plot_sensitivity` draws the ACME against the
mediator-outcome error correlation. Both are also reachable as
``govstats.mediation.plot_mediation`` / ``plot_sensitivity`` (imported on first use).
Every figure of simulated data says SIMULATED.
"""

from __future__ import annotations

import numpy as np

from govstats.mediation import MediationResults, MediationSpec, mediation_analysis  # noqa: F401 (doctests)

__all__ = ["plot_mediation", "plot_sensitivity"]


def _labels(labels) -> dict:
    from govstats.tables import variable_labels

    return {**variable_labels("en"), **(labels or {})}


def plot_mediation(results: MediationResults, truth: dict | None = None, *, title: str | None = None,
                   labels: dict | None = None):
    """Total effect split into its direct and indirect parts, with bootstrap intervals.

    Parameters
    ----------
    results : MediationResults
    truth : dict, optional
        True values by effect name (e.g. ``{"ACME (average)": 0.0, "ADE (average)": 0.03,
        "Total effect": 0.03}``), drawn as black diamonds.
    title : str, optional
    labels : dict, optional
        ``{variable: label}`` for the treatment, mediator and outcome; default the
        codebook labels (:func:`govstats.tables.variable_labels`), the name where
        there is none.

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=0)
    >>> res = mediation_analysis(MediationSpec("mediators_per_10k", "mediation_success_pct",
    ...                          "satisfaction_index", reps=49), sim.data)
    >>> fig = plot_mediation(res)
    >>> fig.axes[0].get_yticklabels()[0].get_text()
    'indirect, through mediation success (%) (ACME)'
    """
    import matplotlib.pyplot as plt

    from govstats.plotting import legend_outside, mark_simulated, set_theme

    set_theme(style="whitegrid")
    names = _labels(labels)
    spec = results.spec
    treatment, mediator, outcome = (names.get(v, v) for v in (spec.treatment, spec.mediator, spec.outcome))
    rows = ["Total effect", "ADE (average)", "ACME (average)"]
    labels = {"Total effect": "total effect", "ADE (average)": "direct (ADE)",
              "ACME (average)": f"indirect, through {mediator} (ACME)"}
    colors = {"Total effect": "#444444", "ADE (average)": "#0072b2", "ACME (average)": "#d55e00"}
    t = results.tidy().loc[rows]
    fig, ax = plt.subplots(figsize=(8.5, 3.4))
    for i, name in enumerate(rows[::-1]):
        r = t.loc[name]
        ax.barh(i, r["estimate"], color=colors[name], alpha=0.35, height=0.6)
        ax.plot([r["ci_lower"], r["ci_upper"]], [i, i], color=colors[name], linewidth=2.5)
        ax.plot(r["estimate"], i, "o", color=colors[name], markersize=7)
        if truth and name in truth:
            ax.plot(truth[name], i, "D", color="black", markersize=7, label="true value" if i == 0 else None)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [labels[n] for n in rows[::-1]])
    t0, t1 = results.contrast
    ax.set_xlabel(f"change in {outcome} when {treatment} goes from {t0:.3g} to {t1:.3g}\n"
                  f"(bars: {1 - spec.alpha:.0%} cluster-bootstrap CI)", fontsize=9)
    if truth:
        handles, lbls = ax.get_legend_handles_labels()
        if not handles:
            ax.plot([], [], "D", color="black", label="true value")
        legend_outside(ax, where="below", fontsize=8)  # after the x label: it goes under it
    fig.suptitle(title or f"How much of the effect runs through {mediator}?")
    mark_simulated(fig, simulated=results.simulated)
    fig.tight_layout()
    return fig


def plot_sensitivity(results: MediationResults, *, rho_max: float = 0.9, title: str | None = None):
    """The ACME against the mediator-outcome error correlation rho, with its bootstrap band.

    Sequential ignorability is ``rho = 0``; the dashed line marks the ``rho`` at which
    the indirect effect would vanish. ``rho`` runs over ``[-rho_max, rho_max]`` (the
    curve diverges towards +-1).

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=0)
    >>> res = mediation_analysis(MediationSpec("mediators_per_10k", "mediation_success_pct",
    ...                          "satisfaction_index", reps=49), sim.data)
    >>> fig = plot_sensitivity(res)
    """
    import matplotlib.pyplot as plt

    from govstats.plotting import legend_outside, mark_simulated, set_theme

    set_theme(style="whitegrid")
    s = results.sensitivity(np.linspace(-rho_max, rho_max, 181))
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.fill_between(s["rho"], s["ci_lower"], s["ci_upper"], color="#d55e00", alpha=0.2, linewidth=0,
                    label=f"{1 - results.spec.alpha:.0%} cluster-bootstrap band")
    ax.plot(s["rho"], s["acme"], color="#d55e00", linewidth=2, label="ACME(rho)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8, linestyle=":")
    rz = s.attrs["rho_at_zero"]
    ax.axvline(rz, color="black", linestyle="--", linewidth=1.2, label=f"ACME = 0 at rho = {rz:.2f}")
    ax.annotate("sequential\nignorability", (0, ax.get_ylim()[1]), xytext=(4, -4), textcoords="offset points",
                va="top", fontsize=8)
    ax.set_xlabel("rho: correlation of the mediator-model and outcome-model errors")
    ax.set_ylabel("indirect effect (ACME)")
    legend_outside(ax, where="below", fontsize=8)
    fig.suptitle(title or "How strong would an unobserved mediator-outcome confounder have to be?")
    mark_simulated(fig, simulated=results.simulated)
    fig.tight_layout()
    return fig
