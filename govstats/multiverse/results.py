"""Results of a multiverse: one row per specification, summaries, notes.

:class:`MultiverseResults` is read-only. :meth:`~MultiverseResults.tidy` is the table
(one row per specification), :meth:`~MultiverseResults.summary` the text summary,
:meth:`~MultiverseResults.summary_table` the summaries as a table (overall or by
choice); :meth:`~MultiverseResults.plot` draws the specification curve
(:mod:`govstats.multiverse.plots`).

Few clusters
    Clustering by place gives five clusters; CR1 t-tests over-reject badly with so
    few (see :mod:`govstats.inference`). The table's ``n_clusters`` column and
    ``share_few_clusters`` in :meth:`~MultiverseResults.summary_table` say how many
    specifications are affected. With ``bootstrap="auto"`` (the default of
    :func:`~govstats.multiverse.run_multiverse`) each of them also gets the wild
    cluster restricted bootstrap p-value ``boot_p``; ``share_significant_boot`` is
    the share of those significant by it, the conclusion that survives few-cluster
    inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from govstats.errors import GovstatsError
from govstats.inference import FEW_CLUSTERS
from govstats.multiverse.engine import _Estimates, _Plan
from govstats.multiverse.spec import MultiverseSpec

__all__ = ["MultiverseResults"]


def _pvalues(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return 2 * stats.t.sf(np.abs(t), df)


@dataclass(frozen=True, repr=False)
class MultiverseResults:
    """Read-only results of :func:`~govstats.multiverse.run_multiverse`.

    Attributes
    ----------
    spec : MultiverseSpec
    simulated : bool
        True when the data carried ``attrs["simulated"] = True``; figures and
        summaries then say SIMULATED.
    timing : dict
        ``seconds`` of estimation, ``specs_per_second``, ``engine`` and ``scheduler``.
    alpha : float
        From the spec: intervals are ``1 - alpha``; the default significance level of
        :meth:`summary_table`, :meth:`plot` and the joint test.

    Methods
    -------
    tidy()
        One row per specification (a new copy on every call).
    summary()
        Text: the number of specifications, median estimate, share significant, notes.
    summary_table(by=None)
        Share significant, median estimate and spread, overall or by choice.
    """

    spec: MultiverseSpec
    _table: pd.DataFrame
    simulated: bool
    timing: dict
    alpha: float

    def tidy(self) -> pd.DataFrame:
        """One row per specification (a new copy on every call).

        Columns: ``spec_id``, the choices (``outcome, treatment, controls,
        fixed_effects, cluster, sample`` and ``control: <column>`` flags),
        ``estimate, std_error, t, p_value, ci_lower, ci_upper`` (the ``1 - alpha``
        interval), ``nobs, n_clusters, df, engine`` (``"fast"``, ``"pyfixest"`` or
        ``"none"``) and ``note`` (why a specification went to pyfixest or was not
        estimated); then the wild cluster restricted bootstrap: ``boot_p`` (NaN when
        not bootstrapped), ``boot_reps`` (draws; 0 when none), ``boot_p_min`` (the
        smallest p the draws can give: above ``alpha``, the bootstrap cannot reject)
        and ``boot_note`` (why there is no ``boot_p``: not clustered, two-way
        clustering, enough clusters under ``bootstrap="auto"``...).
        """
        return self._table.copy()

    @property
    def n_specifications(self) -> int:
        return len(self._table)

    def subset(self, query: str) -> MultiverseResults:
        """The specifications selected by a :meth:`pandas.DataFrame.query` on :meth:`tidy`,
        e.g. ``res.subset("outcome == 'satisfaction_index' and cluster != 'place'")``;
        summaries, the figure and :func:`~govstats.multiverse.joint_test` then use only those."""
        tab = self._table.query(query)
        if tab.empty:
            raise GovstatsError(f"no specification matches {query!r}")
        return MultiverseResults(self.spec, tab.reset_index(drop=True), self.simulated, dict(self.timing),
                                 self.alpha)

    def summary_table(self, by: str | Sequence[str] | None = None, *,
                      alpha: float | None = None) -> pd.DataFrame:
        """Share significant, median estimate and spread; overall or by choice.

        Columns: ``n_specifications, n_estimated, median_estimate, mean_estimate,
        min_estimate, max_estimate, share_positive, share_significant,
        share_significant_positive, share_significant_negative,
        share_few_clusters`` (clustered with fewer than 30 clusters, where CR1
        p-values are unreliable), ``n_bootstrapped`` (specifications with a
        bootstrap p), ``share_significant_boot`` (of those, the share with
        ``boot_p < alpha``) and ``share_significant_cr1_of_bootstrapped`` (of the
        same, the share with CR1 ``p_value < alpha``: the gap is what few-cluster
        inference takes away). Shares are over estimated specifications;
        significance is ``p < alpha`` (default: the spec's ``alpha``).
        """
        alpha = self.alpha if alpha is None else float(alpha)
        tab = self._table
        groups = [("all", tab)] if by is None else list(tab.groupby(by, observed=True, sort=False))
        rows = []
        for key, g in groups:
            e = g[g["estimate"].notna()]
            n = len(e)
            sig = e["p_value"] < alpha
            row = {
                "n_specifications": len(g),
                "n_estimated": n,
                "median_estimate": float(e["estimate"].median()) if n else np.nan,
                "mean_estimate": float(e["estimate"].mean()) if n else np.nan,
                "min_estimate": float(e["estimate"].min()) if n else np.nan,
                "max_estimate": float(e["estimate"].max()) if n else np.nan,
                "share_positive": float((e["estimate"] > 0).mean()) if n else np.nan,
                "share_significant": float(sig.mean()) if n else np.nan,
                "share_significant_positive": float((sig & (e["estimate"] > 0)).mean()) if n else np.nan,
                "share_significant_negative": float((sig & (e["estimate"] < 0)).mean()) if n else np.nan,
                "share_few_clusters": float((e["n_clusters"] < FEW_CLUSTERS).mean()) if n else np.nan,
            }
            bs = e[e["boot_p"].notna()] if "boot_p" in e else e.iloc[:0]
            nb = len(bs)
            row["n_bootstrapped"] = nb
            row["share_significant_boot"] = float((bs["boot_p"] < alpha).mean()) if nb else np.nan
            row["share_significant_cr1_of_bootstrapped"] = float((bs["p_value"] < alpha).mean()) if nb else np.nan
            rows.append((key, row))
        if by is None:
            out = pd.DataFrame([rows[0][1]], index=pd.Index(["all"], name="specifications"))
        else:
            names = [by] if isinstance(by, str) else list(by)
            keys = [k if isinstance(k, tuple) else (k,) for k, _ in rows]
            idx = pd.MultiIndex.from_tuples(keys, names=names) if len(names) > 1 else pd.Index(
                [k[0] for k in keys], name=names[0])
            out = pd.DataFrame([r for _, r in rows], index=idx)
        out.attrs["simulated"] = self.simulated
        return out

    def notes(self) -> list[str]:
        """Plain-language notes: fallbacks, specifications not estimated, few clusters, SIMULATED."""
        tab = self._table
        out = []
        if self.simulated:
            out.append("SIMULATED DATA: every estimate below comes from a simulated panel")
        n_pf = int((tab["engine"] == "pyfixest").sum())
        if n_pf:
            out.append(f"{n_pf} specification(s) estimated by pyfixest (not covered by the fast path; "
                       "see the 'note' column)")
        n_none = int((tab["engine"] == "none").sum())
        if n_none:
            out.append(f"{n_none} specification(s) not estimated (see the 'note' column)")
        few = tab["n_clusters"] < FEW_CLUSTERS
        few_boot = int((few & tab["boot_p"].notna()).sum())
        if few.sum() > few_boot:
            out.append(
                f"{int(few.sum()) - few_boot} specification(s) cluster with fewer than {FEW_CLUSTERS} clusters "
                "and have no bootstrap p (see 'boot_note'): their CR1 p-values over-reject; use "
                "govstats.inference.wild_cluster_bootstrap for those you report"
            )
        if few_boot:
            out.append(f"{few_boot} specification(s) cluster with fewer than {FEW_CLUSTERS} clusters: read "
                       "their wild cluster bootstrap p-value (boot_p), not the CR1 p_value")
        cannot = int((tab["boot_p_min"] > self.alpha).sum())
        if cannot:
            out.append(
                f"{cannot} bootstrapped specification(s) can never reach p < {self.alpha:g}: the smallest "
                "attainable bootstrap p (boot_p_min) is above alpha (Rademacher weights with few clusters; "
                "use weights_type='webb' or 'auto')")
        return out

    def summary(self) -> str:
        """Text: how many specifications, the median estimate, the share significant, notes."""
        s = self.summary_table().iloc[0]
        head = ("SIMULATED DATA - " if self.simulated else "") + f"Multiverse: {len(self._table)} specifications"
        lines = [head,
                 f"median estimate {s['median_estimate']:.4g}, share significant (p < {self.alpha:g}) "
                 f"{s['share_significant']:.1%} ({s['share_significant_positive']:.1%} positive, "
                 f"{s['share_significant_negative']:.1%} negative)",
                 *([f"wild cluster bootstrap ({int(s['n_bootstrapped'])} specifications, "
                    f"{self.timing.get('reps', '?')} draws requested, weights {self.timing.get('weights_type')}): "
                    f"{s['share_significant_boot']:.1%} significant (p < {self.alpha:g}); by CR1 "
                    f"{s['share_significant_cr1_of_bootstrapped']:.1%} of the same specifications"]
                   if s["n_bootstrapped"] else []),
                 f"estimated in {self.timing.get('seconds', float('nan')):.2f} s "
                 f"({self.timing.get('specs_per_second', float('nan')):,.0f} specifications per second, "
                 f"engine {self.timing.get('engine')})"]
        lines += ["NOTE: " + n for n in self.notes()]
        return "\n".join(lines)

    def plot(self, **kwargs):
        """The specification-curve figure; see :func:`~govstats.multiverse.plot_specification_curve`."""
        from govstats.multiverse.plots import plot_specification_curve

        return plot_specification_curve(self, **kwargs)

    def __repr__(self) -> str:
        return self.summary()


def _results_table(spec: MultiverseSpec, plan: _Plan, est: _Estimates) -> pd.DataFrame:
    choices = spec.specifications().iloc[plan.spec_ids].reset_index(drop=True)
    t = est.estimate / est.std_error
    p = _pvalues(t, est.df)
    with np.errstate(invalid="ignore"):
        q = stats.t.ppf(1 - spec.alpha / 2, est.df)
    tab = choices
    tab["estimate"] = est.estimate
    tab["std_error"] = est.std_error
    tab["t"] = t
    tab["p_value"] = p
    tab["ci_lower"] = est.estimate - q * est.std_error
    tab["ci_upper"] = est.estimate + q * est.std_error
    tab["nobs"] = est.nobs
    tab["n_clusters"] = est.n_clusters
    tab["df"] = est.df
    tab["engine"] = pd.Categorical.from_codes(est.engine.astype(np.int64) + 1,
                                              categories=["none", "fast", "pyfixest"])
    tab["note"] = pd.array(est.note.astype(str), dtype="string")
    tab["boot_p"] = est.boot_p
    tab["boot_reps"] = est.boot_reps
    tab["boot_p_min"] = est.boot_p_min
    tab["boot_note"] = pd.array(est.boot_note.astype(str), dtype="string")
    return tab

