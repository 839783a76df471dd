"""Few-cluster inference for staggered-adoption effects: randomization over adoption dates,
and a size study of the intervals the event-study estimators report.

With five places there are five clusters. Cluster-robust standard errors then
under-state the sampling variation, and a t(G - 1) or normal interval rejects a true
null too often. Two remedies sit here beside the analytic intervals:

* the wild cluster (multiplier) bootstrap of Callaway-Sant'Anna's influence functions,
  one weight per cluster, Webb weights below 12 clusters
  (:func:`govstats.did_cs.callaway_santanna` with ``cluster=``);
* randomization inference over adoption dates (:func:`ri_adoption`): the clusters'
  adoption dates (never = 0 included) are permuted among the clusters, the estimate is
  recomputed, and the p-value is the share of permuted estimates at least as large in
  absolute value as the observed one (the observed assignment counted). It is exact
  when adoption dates were assigned exchangeably across places (Fisher's sharp null of
  no effect anywhere) and needs no variance estimate at all; with ``G`` clusters and
  ``k`` distinct dates it has at most ``G! / prod(n_d!)`` distinct assignments.

:func:`size_study` simulates panels with no effect at all, clustered shocks and
staggered adoption, and reports each method's rejection rate at 5%.

Examples
--------
>>> sim = simulate_null_panel(6, seed=1)
>>> sorted(sim.columns.tolist())
['cluster', 'g', 'unit', 'year', 'y']
>>> p = ri_adoption(sim, statistic="cs", reps=99, seed=0).pvalue
>>> 0 < p <= 1
True
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from govstats.did_cs import att_gt_unconditional
from govstats.errors import GovstatsError

__all__ = ["RIResult", "imputation_att", "ri_adoption", "simulate_null_panel", "size_study"]

Statistic = Literal["cs", "imputation"]


def imputation_att(y: np.ndarray, g: np.ndarray, periods: np.ndarray) -> float:
    """Imputation / two-stage DiD ATT (Borusyak-Jaravel-Spiess 2024; Gardner 2022's point estimate).

    ``y`` units x periods (balanced), ``g`` first treated period (0 = never). Unit and
    period effects are fitted by least squares on the untreated cells, the untreated
    outcome is imputed for the treated cells, and the ATT is the mean of ``y - y(0)``
    over them.
    """
    treated = (g[:, None] > 0) & (periods[None, :] >= g[:, None])
    W = (~treated).astype(float)
    nu, nt = W.sum(1), W.sum(0)
    if (nu == 0).any() or (nt == 0).any():
        raise GovstatsError("imputation needs an untreated observation for every unit and every period")
    # least squares of y on unit + period effects over the untreated cells: alternating projections
    a = (W * y).sum(1) / nu
    lam = np.zeros(y.shape[1])
    for _ in range(10_000):
        lam_new = (W * (y - a[:, None])).sum(0) / nt
        a_new = (W * (y - lam_new[None, :])).sum(1) / nu
        done = max(np.abs(a_new - a).max(), np.abs(lam_new - lam).max()) < 1e-13 * (1 + np.abs(y).max())
        a, lam = a_new, lam_new
        if done:
            break
    uu, tt = np.nonzero(treated)
    if not len(uu):
        return math.nan
    return float(np.mean(y[uu, tt] - a[uu] - lam[tt]))


def _wide(data: pd.DataFrame, outcome: str, unit: str, time_col: str, cohort: str, cluster: str):
    wide = data.pivot(index=unit, columns=time_col, values=outcome)
    if wide.isna().any().any():
        raise GovstatsError("randomization inference needs a balanced panel (every unit in every period)")
    first = data.groupby(unit)[[cohort, cluster]].first().reindex(wide.index)
    g = pd.to_numeric(first[cohort]).fillna(0).to_numpy(dtype=np.int64)
    cl = first[cluster].to_numpy()
    return wide.to_numpy(dtype=float), g, cl, wide.columns.to_numpy(dtype=np.int64)


@dataclass(frozen=True)
class RIResult:
    """``estimate`` (observed), ``pvalue``, ``draws`` (permuted estimates), ``n_assignments``
    (distinct adoption assignments possible), ``reps`` (permutations drawn)."""

    estimate: float
    pvalue: float
    draws: np.ndarray
    n_assignments: int
    reps: int


def ri_adoption(data: pd.DataFrame, *, outcome: str = "y", unit: str = "unit", time: str = "year",
                cohort: str = "g", cluster: str = "cluster", statistic: Statistic = "cs",
                reps: int = 999, seed: int | None = 0) -> RIResult:
    """Randomization inference over adoption dates (see the module docstring).

    ``statistic``: ``"cs"`` (Callaway-Sant'Anna simple ATT, never-treated controls, no
    covariates) or ``"imputation"`` (imputation / did2s ATT). Adoption dates must be
    constant within a cluster (the place adopts), so whole clusters swap dates.
    """
    y, g, cl, periods = _wide(data, outcome, unit, time, cohort, cluster)
    clusters, inv = np.unique(cl, return_inverse=True)
    G = len(clusters)
    if G < 2:
        raise GovstatsError("randomization inference needs at least 2 clusters to permute adoption dates between")
    g_cl = np.zeros(G, dtype=np.int64)
    for k in range(G):
        vals = np.unique(g[inv == k])
        if len(vals) != 1:
            raise GovstatsError(
                f"cluster {clusters[k]!r} has units with different adoption dates {vals.tolist()}: randomization "
                "over adoption dates permutes whole clusters; use cluster=unit to permute units instead"
            )
        g_cl[k] = vals[0]
    if len(np.unique(g_cl)) < 2:
        raise GovstatsError("every cluster has the same adoption date: there is nothing to permute")
    fn = att_gt_unconditional if statistic == "cs" else None

    def stat(gc):
        gu = gc[inv]
        if statistic == "cs":
            return fn(y, gu, periods)[0]
        return imputation_att(y, gu, periods)

    obs = stat(g_cl)
    _, counts = np.unique(g_cl, return_counts=True)
    n_assign = math.factorial(G) // math.prod(math.factorial(int(c)) for c in counts)
    rng = np.random.default_rng(seed)
    draws = np.array([stat(rng.permutation(g_cl)) for _ in range(reps)])
    p = (1 + np.sum(np.abs(draws) >= abs(obs) - 1e-12 * max(1.0, abs(obs)))) / (reps + 1)
    return RIResult(float(obs), float(p), draws, int(n_assign), int(reps))


def simulate_null_panel(G: int, *, units_per_cluster: int = 3, T: int = 8, rho: float = 0.5,
                        cluster_sd: float = 1.0, seed: int | None = 0) -> pd.DataFrame:
    """SIMULATED panel with NO treatment effect: ``G`` clusters (places) of units, adoption by cluster.

    ``y_it = a_i + lambda_t + c_{c(i)t} + e_it`` with AR(1) place-year shocks ``c`` (corr.
    ``rho``, sd ``cluster_sd``) shared by a place's units and iid unit noise. About a third of the
    places never adopt (at least 2); the rest adopt in periods 4, 5 or 6 (of 1..T).
    """
    if G < 3:
        raise GovstatsError("size study needs at least 3 clusters (2 never-treated, 1 adopting)")
    rng = np.random.default_rng(seed)
    n_never = max(2, round(G / 3))
    dates = np.r_[np.zeros(n_never, dtype=np.int64), rng.choice([4, 5, 6], size=G - n_never)]
    if len(np.unique(dates[dates > 0])) == 0:
        dates[-1] = 4
    rng.shuffle(dates)
    periods = np.arange(1, T + 1)
    c = np.zeros((G, T))
    c[:, 0] = rng.normal(0, cluster_sd, G)
    for t in range(1, T):
        c[:, t] = rho * c[:, t - 1] + math.sqrt(1 - rho**2) * rng.normal(0, cluster_sd, G)
    rows = []
    lam = rng.normal(0, 1, T)
    for k in range(G):
        for j in range(units_per_cluster):
            a = rng.normal()
            y = a + lam + c[k] + rng.normal(0, 1, T)
            for t in range(T):
                rows.append((k * units_per_cluster + j, int(periods[t]), k, int(dates[k]), float(y[t])))
    df = pd.DataFrame(rows, columns=["unit", "year", "cluster", "g", "y"])
    df.attrs["simulated"] = True
    return df


def size_study(Gs=(5, 8, 15, 30), *, sims: int = 200, ri_reps: int = 99, boot_reps: int = 199,
               alpha: float = 0.05, seed: int = 0) -> pd.DataFrame:
    """Rejection rates of a true null (no effect) at level ``alpha``, per method and ``G``.

    Methods (the simple / overall ATT): Callaway-Sant'Anna with its analytic clustered
    influence-function SE and a normal critical value (what R ``did`` and diff-diff print);
    the same with the wild cluster multiplier bootstrap (Webb weights below 12 clusters);
    randomization inference over adoption dates for the CS ATT and for the imputation /
    did2s ATT. Returns one row per (G, method): ``rejection_rate``, its Monte Carlo
    ``mc_se`` and ``sims``. SIMULATED.
    """
    from govstats.did_cs import CSSpec, callaway_santanna

    rows = []
    for G in Gs:
        rej = {"CS analytic (normal)": [], "CS wild cluster bootstrap": [], "CS randomization inference": [],
               "imputation/did2s randomization inference": []}
        t0 = time.perf_counter()
        for s in range(sims):
            df = simulate_null_panel(G, seed=seed * 1_000_003 + G * 10_007 + s)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = callaway_santanna(CSSpec("y", cohort="g", unit="unit", time="year", cluster="cluster",
                                               reps=boot_reps, seed=s), df)
            simple = res.aggregate("simple").iloc[0]
            z = abs(simple["estimate"]) / simple["std_error"]
            rej["CS analytic (normal)"].append(z > 1.959963984540054)
            rej["CS wild cluster bootstrap"].append(res.boot_pvalue() <= alpha)
            rej["CS randomization inference"].append(
                ri_adoption(df, statistic="cs", reps=ri_reps, seed=s).pvalue <= alpha)
            rej["imputation/did2s randomization inference"].append(
                ri_adoption(df, statistic="imputation", reps=ri_reps, seed=s).pvalue <= alpha)
        secs = time.perf_counter() - t0
        for m, v in rej.items():
            r = float(np.mean(v))
            rows.append({"G": G, "method": m, "rejection_rate": r, "mc_se": math.sqrt(r * (1 - r) / len(v)),
                         "sims": len(v), "seconds": secs})
    out = pd.DataFrame(rows)
    out.attrs["simulated"] = True
    return out
