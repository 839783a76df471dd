"""The specification-curve figure (matplotlib lives here, not in the estimators)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from govstats.errors import GovstatsError
from govstats.multiverse.results import MultiverseResults

__all__ = ["plot_specification_curve"]


def plot_specification_curve(
    results: MultiverseResults,
    *,
    alpha: float | None = None,
    title: str | None = None,
    dimensions: Sequence[str] | None = None,
    figsize: tuple[float, float] | None = None,
):
    """The classic specification-curve figure.

    Top: estimates sorted from smallest to largest with their confidence
    intervals (significant positive blue, significant negative red, others grey;
    a line at zero and one at the median). Bottom: which choice each
    specification made, one row per option of every dimension with more than one
    option (and one per optional control), dots aligned with the curve above.
    Specifications with a wild cluster bootstrap p-value (``boot_p``) are marked: a
    black ring around the estimate when ``boot_p < alpha`` (the conclusion survives
    few-cluster inference), and two rows at the bottom of the lower panel,
    ``wild bootstrap p < alpha`` and ``wild bootstrap p >= alpha``.
    With the data simulated, the title starts with SIMULATED and the figure
    carries a watermark (:func:`govstats.plotting.mark_simulated`).

    Parameters
    ----------
    results : MultiverseResults
    alpha : float, optional
        Significance level for the colours; default: the results' ``alpha`` (the
        intervals are always the results' ``1 - alpha``).
    title : str, optional
    dimensions : list of str, optional
        Dimensions shown in the lower panel (default: every one with two or more options).
    figsize : tuple, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from govstats import datasets
    >>> from govstats.multiverse import MultiverseSpec, plot_specification_curve, run_multiverse
    >>> res = run_multiverse(MultiverseSpec(outcomes=["lcrmrte"], treatments=["lpolpc"],
    ...                                     controls=["lprbarr", "ldensity"]), datasets.load_nc_crime())
    >>> fig = plot_specification_curve(res)
    >>> fig.axes[1].get_yticklabels()[0].get_text()
    'controls: lprbarr'
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    from govstats.plotting import mark_simulated, set_theme

    alpha = results.alpha if alpha is None else float(alpha)
    family = set_theme(style="whitegrid")
    tab = results._table
    tab = tab[tab["estimate"].notna()].sort_values("estimate", kind="stable").reset_index(drop=True)
    n = len(tab)
    if n == 0:
        raise GovstatsError("no estimated specification to plot")
    x = np.arange(n)
    est = tab["estimate"].to_numpy()
    lo, hi = tab["ci_lower"].to_numpy(), tab["ci_upper"].to_numpy()
    sig = tab["p_value"].to_numpy() < alpha
    # RGBA rows, not hex strings: matplotlib then parses three colours, not one per point and segment
    from matplotlib.colors import to_rgba

    palette = np.array([to_rgba(c) for c in ("#1f5fa8", "#b2182b", "#8c8c8c")])
    colour = palette[np.where(sig & (est > 0), 0, np.where(sig & (est < 0), 1, 2))]
    # choice rows
    dims = [d for d in ("outcome", "treatment", "controls", "fixed_effects", "cluster", "sample")
            if tab[d].nunique() > 1] if dimensions is None else list(dimensions)
    rows: list[tuple[str, np.ndarray]] = []
    control_cols = [c for c in tab.columns if c.startswith("control: ")]
    for d in dims:
        if d == "controls" and not results.spec._control_sets and control_cols:
            for c in control_cols:
                flags = tab[c].to_numpy(dtype=bool)
                if 0 < flags.sum() < n:
                    rows.append((f"controls: {c[len('control: '):]}", flags))
            continue
        for opt in tab[d].cat.categories if hasattr(tab[d], "cat") else sorted(tab[d].unique()):
            flags = (tab[d] == opt).to_numpy()
            if flags.any():
                rows.append((f"{d.replace('_', ' ')}: {opt}", flags))
    boot_p = tab["boot_p"].to_numpy(dtype=float) if "boot_p" in tab else np.full(n, np.nan)
    booted = np.isfinite(boot_p)
    boot_sig = booted & (boot_p < alpha)
    if booted.any():
        rows.append((f"wild bootstrap: p < {alpha:g}", boot_sig))
        rows.append((f"wild bootstrap: p >= {alpha:g}", booted & ~boot_sig))
    n_rows = max(len(rows), 1)
    if figsize is None:
        figsize = (11, 3.6 + 0.24 * n_rows)
    fig, (ax1, ax2) = plt.subplots(
        2, 1, sharex=True, figsize=figsize,
        gridspec_kw={"height_ratios": [3.2, max(0.8, 0.24 * n_rows)], "hspace": 0.05},
    )
    if n <= 400:
        ax1.vlines(x, lo, hi, colors=colour, alpha=0.45, linewidth=1.2)
        ax1.scatter(x, est, c=colour, s=12, zorder=3)
    elif n <= 5000:
        ax1.vlines(x, lo, hi, colors=colour, alpha=0.12, linewidth=0.6)
        ax1.scatter(x, est, c=colour, s=3, zorder=3, linewidths=0)
    else:
        ax1.fill_between(x, lo, hi, color="#8c8c8c", alpha=0.25, linewidth=0, step="mid")
        ax1.scatter(x, est, c=colour, s=1, zorder=3, linewidths=0)
    if boot_sig.any():
        ax1.scatter(x[boot_sig], est[boot_sig], s=40 if n <= 400 else 14 if n <= 5000 else 6,
                    facecolors="none", edgecolors="black", linewidths=0.6 if n <= 5000 else 0.3, zorder=4)
    # a few very wide intervals (few clusters) would flatten the curve: the axis shows every
    # estimate and the middle 90% of interval ends; wider intervals run off the panel
    ends = np.concatenate([lo, hi])
    ends = ends[np.isfinite(ends)]
    if len(ends):
        low = min(float(est.min()), float(np.quantile(ends, 0.05)), 0.0)
        high = max(float(est.max()), float(np.quantile(ends, 0.95)), 0.0)
        pad = 0.05 * (high - low or 1.0)
        ax1.set_ylim(low - pad, high + pad)
        if (lo < low - pad).any() or (hi > high + pad).any():
            ax1.text(0.99, 0.02, "some intervals run off the panel", transform=ax1.transAxes,
                     ha="right", va="bottom", fontsize=7, color="#666666")
    ax1.axhline(0, color="black", linewidth=0.8)
    med = float(np.median(est))
    ax1.axhline(med, color="#444444", linewidth=0.8, linestyle="--")
    ax1.set_ylabel(f"estimate ({1 - results.alpha:.0%} CI)")
    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=lab) for c, lab in (
        ("#1f5fa8", f"positive, p < {alpha:g}"), ("#b2182b", f"negative, p < {alpha:g}"),
        ("#8c8c8c", "not significant"))]
    if booted.any():
        handles.append(Line2D([], [], marker="o", linestyle="", markerfacecolor="none", markeredgecolor="black",
                              label=f"wild bootstrap p < {alpha:g} ({boot_sig.sum()} of {booted.sum()} bootstrapped)"))
    handles.append(Line2D([], [], color="#444444", linestyle="--", label=f"median {med:.3g}"))
    # above the curve, never over the estimates (issue 14)
    ax1.legend(handles=handles, loc="lower left", bbox_to_anchor=(0.0, 1.01), borderaxespad=0.0,
               ncol=3, fontsize=8, frameon=False)
    if rows:
        M = np.array([f for _, f in rows])
        if n <= 400:
            for i, (_, flags) in enumerate(rows):
                xs = np.flatnonzero(flags)
                ax2.scatter(xs, np.full(len(xs), i), c=colour[xs], s=10, marker="o", linewidths=0)
        elif n <= 5000:
            for i, (_, flags) in enumerate(rows):
                xs = np.flatnonzero(flags)
                ax2.vlines(xs, i - 0.35, i + 0.35, colors=colour[xs], linewidth=0.5)
        else:
            ax2.imshow(M, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=1.6,
                       extent=(-0.5, n - 0.5, n_rows - 0.5, -0.5))
        ax2.set_yticks(range(len(rows)), [lab for lab, _ in rows], fontsize=8)
        ax2.set_ylim(len(rows) - 0.5, -0.5)
        prev = None
        for i, (lab, _) in enumerate(rows):
            dim = lab.split(":")[0]
            if prev is not None and dim != prev:
                ax2.axhline(i - 0.5, color="#bbbbbb", linewidth=0.6)
            prev = dim
    ax2.set_xlabel(f"specification (sorted by estimate), {n} in all")
    ax2.grid(False)
    ax2.set_xlim(-0.5, n - 0.5)
    treat = ", ".join(map(str, tab["treatment"].unique()[:3]))
    if title is None:
        title = f"Specification curve: coefficient on {treat} ({n} specifications)"
    fig.suptitle(title)
    if family is None:
        fig.text(0.01, 0.01, "note: no CJK font found; Chinese labels may not render", fontsize=8)
    mark_simulated(fig, simulated=results.simulated)
    height = fig.get_size_inches()[1]
    fig.subplots_adjust(left=0.25, right=0.98, top=1 - 1.15 / height, bottom=0.62 / height)
    return fig

