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
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from govstats.did_cs import att_gt_unconditional
from govstats.errors import GovstatsError

__all__ = ["LinearATT", "RIResult", "imputation_att", "linear_att", "ri_adoption", "simulate_null_panel", "size_study",
           "sun_abraham_att", "wild_bootstrap_att"]

Statistic = Literal["cs", "imputation", "sun_abraham"]


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
    covariates), ``"imputation"`` (imputation / did2s ATT) or ``"sun_abraham"`` (its overall
    ATT; on a balanced panel without controls it equals the CS simple ATT, so the two
    randomization p-values agree). Adoption dates must be
    constant within a cluster (the place adopts), so whole clusters swap dates.
    """
    from govstats._literals import check_literal

    check_literal(statistic, Statistic, "statistic")
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
        if statistic == "sun_abraham":
            return sun_abraham_att(y, gu, periods)
        return imputation_att(y, gu, periods)

    obs = stat(g_cl)
    _, counts = np.unique(g_cl, return_counts=True)
    n_assign = math.factorial(G) // math.prod(math.factorial(int(c)) for c in counts)
    rng = np.random.default_rng(seed)
    draws = np.array([stat(rng.permutation(g_cl)) for _ in range(reps)])
    p = (1 + np.sum(np.abs(draws) >= abs(obs) - 1e-12 * max(1.0, abs(obs)))) / (reps + 1)
    return RIResult(float(obs), float(p), draws, int(n_assign), int(reps))



# --------------------------------------------------------------------------- wild cluster restricted bootstrap

Estimator = Literal["sun_abraham", "did2s", "cs"]
_ESTIMATORS = ("sun_abraham", "did2s", "cs")


def _dummies(codes: np.ndarray, drop_first: bool = False) -> np.ndarray:
    levels, inv = np.unique(codes, return_inverse=True)
    D = np.zeros((codes.size, len(levels)))
    D[np.arange(codes.size), inv] = 1.0
    return D[:, 1:] if drop_first else D


@dataclass(frozen=True)
class LinearATT:
    """An overall ATT that is linear in the outcome, ``estimate = c'y``, with its CRV1 variance.

    All three robust estimators are linear in ``y`` on a balanced panel without controls:
    the imputation / did2s ATT (unit and period effects fitted on untreated cells, the
    imputed ``y(0)`` subtracted from treated ones), the Sun-Abraham ATT (share-weighted
    post-period cells of the saturated cohort-by-event-time regression, never-treated
    controls) and the Callaway-Sant'Anna simple ATT (cohort-size-weighted post-period
    ``ATT(g, t)``, never-treated controls, base period ``g - 1``). ``resid`` is the
    estimator's residual maker (``e = resid @ y``): did2s the first-stage residual on
    untreated cells and ``y - y(0) - ATT`` on treated ones, Sun-Abraham the regression
    residual, CS the residual of unit plus cohort-by-period effects (the per-unit
    influence function). ``se = sqrt(ssc * sum_g (sum_{i in g} c_i e_i)^2)``.
    """

    estimator: str
    estimate: float
    se: float
    c: np.ndarray
    resid: object  # the residual maker, applied with ``@`` (no n x n matrix is formed)
    cluster: np.ndarray  # codes 0..G-1, one per observation
    ssc: float
    y: np.ndarray
    treated: np.ndarray

    @property
    def n_clusters(self) -> int:
        return int(self.cluster.max()) + 1

    def t_pvalue(self, h0: float = 0.0) -> float:
        """Two-sided p-value with Student t on ``G - 1`` degrees of freedom."""
        from scipy import stats

        return float(2 * stats.t.sf(abs(self.estimate - h0) / self.se, self.n_clusters - 1))

    def bootstrap(self, reps: int = 9999, weights_type: str = "auto", seed: int | None = 0):
        """Wild cluster restricted bootstrap-t draws (:class:`govstats.inference.BootstrapDraws`).

        Under ``H0: ATT = h0`` the restricted model is "no effect but ``h0`` on every treated
        cell": ``y - h0 D`` fitted by unit and period effects on all observations; its fitted
        values plus its residuals times one weight per cluster give ``y*``, the estimator is
        recomputed on ``y*`` with its own CRV1 standard error, and ``p`` is the share of
        ``|t*| >= |t|``. Everything is linear in ``y`` and ``h0``, so one pass gives every
        ``h0`` (``.p_value(h0)``, ``.confidence_interval(alpha, G=G)``).
        """
        from govstats.inference import (
            BootstrapDraws,
            _constant_draws,
            _resolve_weights,
            draw_weights,
        )

        G = self.n_clusters
        if G < 2:
            raise GovstatsError(
                "a wild cluster bootstrap was asked for with one cluster: every draw multiplies all "
                "residuals by the same weight. Cluster on a finer column (e.g. the unit), or use the "
                "analytic interval.")
        kind = _resolve_weights(weights_type, G)
        W, _ = draw_weights(kind, G, reps, seed=seed)
        n = self.y.size
        Cind = np.zeros((G, n))
        Cind[self.cluster, np.arange(n)] = 1.0
        unit_time = self._restricted_maker
        rD = unit_time @ self.treated
        ra = unit_time @ self.y - self.estimate * rD  # restricted residuals at h0 = estimate
        a = Cind @ (self.c * ra)
        b = Cind @ (self.c * rD)
        Ka = Cind @ (self.c[:, None] * (self.resid @ (ra[:, None] * Cind.T)))
        Kb = Cind @ (self.c[:, None] * (self.resid @ (rD[:, None] * Cind.T)))
        Sa, Sb = Ka @ W, Kb @ W
        se_u = float(np.sqrt(np.sum((Cind @ (self.c * (self.resid @ self.y))) ** 2)))
        return BootstrapDraws(n0=a @ W, n1=b @ W, caa=(Sa * Sa).sum(0), cab=(Sa * Sb).sum(0),
                              cbb=(Sb * Sb).sum(0), estimate=self.estimate, se_unscaled=se_u, ssc=self.ssc,
                              n_constant=_constant_draws(W))

    @property
    def _restricted_maker(self):
        return self._annihilator_ut

    # set in linear_att (unit + period effects on every observation)
    _annihilator_ut: object = field(default=None, repr=False)


def _adjoint_mean_treated(first, D: np.ndarray, n: int) -> np.ndarray:
    """``c`` with ``c'v = mean over treated of (v - first(v))`` (``first`` a :func:`_unit_fe_fitter`)."""
    return (D - first.adjoint(D)) / D.sum()


class _Linear:
    """A linear map ``v -> f(v)`` applied with ``@`` (to a vector or an ``n x m`` matrix),
    so that no ``n x n`` matrix is ever formed."""

    def __init__(self, fn):
        self.fn = fn

    def __matmul__(self, V):
        return self.fn(np.asarray(V, float))


def _unit_fe_fitter(unit: np.ndarray, X: np.ndarray, rows: np.ndarray | None = None):
    """Least squares of ``V`` on unit effects plus the columns of ``X``, fitted on ``rows`` (all by
    default) and predicted for every observation; by Frisch-Waugh-Lovell (unit-demeaning), so the
    unit dummies are never formed. Returns ``fit(V) -> fitted values`` (``V``: n or n x m)."""
    _, uc = np.unique(unit, return_inverse=True)
    n_u = int(uc.max()) + 1
    rows = np.ones(unit.size, bool) if rows is None else rows
    ur = uc[rows]
    cnt = np.bincount(ur, minlength=n_u).astype(float)
    cnt[cnt == 0] = np.nan

    def umean(A):  # unit means over the fitting rows, per unit
        A2 = A.reshape(A.shape[0], -1)
        # one bincount per column: the same additions in the same order as np.add.at(out, ur, A2)
        # (so the same sums to the last bit), without ufunc.at's per-element overhead
        At = np.ascontiguousarray(A2.T)
        out = np.empty((n_u, A2.shape[1]))
        for j in range(At.shape[0]):
            out[:, j] = np.bincount(ur, weights=At[j], minlength=n_u)
        return out / cnt[:, None]

    Xr = X[rows]
    Xt = Xr - umean(Xr)[ur] if X.shape[1] else Xr
    Pt = np.linalg.pinv(Xt) if X.shape[1] else np.zeros((0, Xr.shape[0]))

    def fit(V):
        V2 = V.reshape(V.shape[0], -1)
        Vr = V2[rows]
        beta = Pt @ (Vr - umean(Vr)[ur])
        a = umean(Vr - Xr @ beta)  # unit effects
        out = np.nan_to_num(a[uc]) + X @ beta
        return out.reshape(V.shape)

    def adjoint(Dv):  # g with g'v = Dv'fit(v) for every v
        m = np.bincount(uc, weights=Dv, minlength=n_u)
        ratio = np.nan_to_num(m / cnt)
        h = Dv @ X - ratio[ur] @ Xr if X.shape[1] else np.zeros(0)
        q = Pt.T @ h
        q = q - umean(q)[ur][:, 0] if X.shape[1] else np.zeros(int(rows.sum()))
        g = np.zeros(unit.size)
        g[rows] = ratio[ur] + q
        return g

    fit.adjoint = adjoint
    return fit


def _fe_annihilator(unit: np.ndarray, X: np.ndarray) -> _Linear:
    fit = _unit_fe_fitter(unit, X)
    return _Linear(lambda V: V - fit(V))


def sun_abraham_att(y: np.ndarray, g: np.ndarray, periods: np.ndarray) -> float:
    """Sun-Abraham overall ATT on a balanced ``units x periods`` array (never-treated controls):
    the point estimate only, by least squares (for randomization inference)."""
    N, T = y.shape
    gg = np.repeat(g, T)
    per = np.tile(periods, N)
    if not (gg == 0).any():
        raise GovstatsError("sun_abraham: no never-treated unit (this estimator needs never-treated controls)")
    ev = per - gg
    key = np.where((gg == 0) | (ev == -1), -1, gg * 10_000 + (ev + 5_000))
    cells = np.unique(key[key >= 0])
    X = (key[:, None] == cells[None, :]).astype(float)

    def within(A):  # two-way demeaning: exact unit and period effects on a balanced panel (FWL)
        A3 = A.reshape(N, T, -1)
        return (A3 - A3.mean(1, keepdims=True) - A3.mean(0, keepdims=True)
                + A3.mean((0, 1), keepdims=True)).reshape(N * T, -1)

    beta = np.linalg.lstsq(within(X), within(y.reshape(-1, 1).astype(float))[:, 0], rcond=None)[0]
    share = X.sum(0) * np.array([(k % 10_000) - 5_000 >= 0 for k in cells])
    return float(share @ beta / share.sum())


def _linear_att_arrays(y: np.ndarray, g: np.ndarray, cl: np.ndarray, periods: np.ndarray, estimator: str,
                       *, restricted=None) -> LinearATT:
    N, T = y.shape
    return _linear_att_long(y.ravel(), np.repeat(np.arange(N), T), np.tile(periods, N), np.repeat(g, T),
                            np.repeat(cl, T), estimator, restricted=restricted)


def _linear_att_long(yv: np.ndarray, unit: np.ndarray, per: np.ndarray, gg: np.ndarray, clv: np.ndarray,
                     estimator: str, *, controls: np.ndarray | None = None, restricted=None) -> LinearATT:
    """Long form (one entry per observation; ``gg`` adoption period, 0 = never). Sun-Abraham and
    did2s take time-varying ``controls`` (columns of an ``n x k`` array) as :func:`govstats.did.event_study`
    does; Callaway-Sant'Anna needs a balanced panel and takes none."""
    yv = np.asarray(yv, float)
    n = yv.size
    periods, tt = np.unique(per, return_inverse=True)
    T = len(periods)
    D = ((gg > 0) & (per >= gg)).astype(float)
    _, ccodes = np.unique(clv, return_inverse=True)
    G = int(ccodes.max()) + 1
    Zt = _dummies(tt, drop_first=True)
    Xc = np.zeros((n, 0)) if controls is None else np.asarray(controls, float).reshape(n, -1)
    Zx = np.hstack([Zt, Xc])  # with unit effects: the two-way FE design (unit effects by demeaning)
    never = gg == 0
    if estimator in ("sun_abraham", "cs") and not never.any():
        raise GovstatsError(
            f"{estimator}: no never-treated unit, but this estimator needs never-treated controls. Drop the "
            "periods from the last cohort's adoption on (that cohort then serves as never treated), or use "
            "estimator 'did2s', whose controls are the not-yet-treated observations.")
    if not D.any():
        raise GovstatsError("no treated observation: there is no ATT to estimate")
    if estimator == "did2s":
        u = D == 0
        first = _unit_fe_fitter(unit, Zx, u)  # first stage: unit and period effects (and controls), untreated
        # c'v = mean over treated of v - fitted0(v): c = D / N1 - fitted0' D / N1 (fitted0 is linear in v)
        c = _adjoint_mean_treated(first, D, n)

        def _did2s_resid(V, first=first, c=c, D=D):
            return V - first(V) - (np.outer(D, c @ V) if V.ndim == 2 else D * (c @ V))

        resid = _Linear(_did2s_resid)
        k = 0
    elif estimator == "sun_abraham":
        ev = per - gg
        key = np.where(never | (ev == -1), -1, gg * 10_000 + (ev + 5_000))
        cells = np.unique(key[key >= 0])
        X = (key[:, None] == cells[None, :]).astype(float)
        ann = _fe_annihilator(unit, Zx)
        Xt = ann @ X  # FWL: cells net of unit, period effects and controls
        Pc = np.linalg.pinv(Xt)
        post = np.array([(k_ % 10_000) - 5_000 >= 0 for k_ in cells])
        share = X.sum(0) * post
        c = (share / share.sum()) @ Pc
        resid = _Linear(lambda V, ann=ann, Xt=Xt, Pc=Pc: (lambda R: R - Xt @ (Pc @ R))(ann @ V))
        k = len(cells) + Xc.shape[1]
    elif estimator == "cs":
        if Xc.shape[1]:
            raise GovstatsError("the linear Callaway-Sant'Anna ATT takes no controls (use did_cs.callaway_santanna "
                                "with covariates=, whose inference is the multiplier bootstrap)")
        if len(yv) != len(np.unique(unit)) * T:
            raise GovstatsError("Callaway-Sant'Anna here needs a balanced panel (every unit in every period)")
        c = np.zeros(n)
        pos = {int(p): i for i, p in enumerate(periods)}
        units_g = pd.Series(gg).groupby(unit).first()
        n_units = units_g[units_g > 0].value_counts().to_dict()
        nC = float((units_g == 0).sum())
        cells = []
        for coh in sorted(n_units):
            if int(coh) - 1 not in pos:
                raise GovstatsError(
                    f"cohort {int(coh)} is treated in the first observed period ({int(periods[0])}): it has no "
                    "untreated period to compare with. Drop those units or add earlier periods.")
            bidx = pos[int(coh) - 1]
            cells += [(coh, t, bidx) for t in range(pos.get(int(coh), T), T)]
        den = float(sum(n_units[coh] for coh, _, _ in cells))
        for coh, t, bidx in cells:
            m = gg == coh
            c[m & (tt == t)] += 1 / den
            c[m & (tt == bidx)] -= 1 / den
            c[never & (tt == t)] -= n_units[coh] / den / nC
            c[never & (tt == bidx)] += n_units[coh] / den / nC
        resid = _fe_annihilator(unit, _dummies(gg * 10_000 + tt))
        k = 0
    else:
        raise ValueError(f"estimator={estimator!r}: choose from {', '.join(_ESTIMATORS)}")
    if G < 2:
        ssc = 1.0
    elif estimator == "sun_abraham":
        ssc = G / (G - 1) * (n - 1) / (n - k - 1 - (T - 1))  # fixest/pyfixest CRV1: unit FE nested in clusters
    elif estimator == "did2s":
        ssc = 1.0  # pyfixest.did2s's GMM variance has no small-sample factor
    else:
        ssc = G / (G - 1)  # diff-diff's clustered influence-function variance
    est = float(c @ yv)
    e = resid @ yv
    cs_ = np.bincount(ccodes, weights=c * e, minlength=G)
    se = float(np.sqrt(ssc * np.sum(cs_**2)))
    R = _fe_annihilator(unit, Zx) if restricted is None else restricted
    return LinearATT(estimator, est, se, c, resid, ccodes, ssc, yv, D, _annihilator_ut=R)


def linear_att(data: pd.DataFrame, estimator: Estimator, *, outcome: str = "y", unit: str = "unit",
               time: str = "year", cohort: str = "g", cluster: str = "cluster") -> LinearATT:
    """The overall ATT of ``estimator`` as a linear function of the outcome, with its CRV1 SE.

    Balanced panel, no controls (the few-cluster setting of the size study).
    ``estimator``: ``"sun_abraham"``, ``"did2s"`` (imputation) or ``"cs"`` (Callaway-Sant'Anna
    simple ATT, never-treated controls). Tests pin the estimates and standard errors to
    pyfixest (``feols`` with cohort-by-event-time cells; ``did2s``) and diff-diff.
    """
    if estimator not in _ESTIMATORS:
        raise ValueError(f"estimator={estimator!r}: choose from {', '.join(_ESTIMATORS)}")
    y, g, cl, periods = _wide(data, outcome, unit, time, cohort, cluster)
    return _linear_att_arrays(y, g, cl, periods, estimator)


def wild_bootstrap_att(data: pd.DataFrame, estimator: Estimator, *, reps: int = 9999,
                       weights_type: str = "auto", seed: int | None = 0, alpha: float = 0.05,
                       **columns) -> dict:
    """Wild cluster restricted bootstrap-t of an overall ATT (see :meth:`LinearATT.bootstrap`).

    Returns a dict: ``estimate``, ``se`` (CRV1), ``p_t`` (t on ``G - 1`` df), ``boot_p``,
    ``boot_ci_lower``, ``boot_ci_upper`` (test inversion, the same draws for every null),
    ``n_clusters``, ``p_min`` (the smallest p-value the draws can give).
    """
    la = linear_att(data, estimator, **columns)
    G = la.n_clusters
    if G < 2:
        raise GovstatsError(
            f"a wild cluster bootstrap was asked for with one cluster ({columns.get('cluster', 'cluster')}): "
            "there is nothing to resample. Cluster on a finer column, or use the analytic interval.")
    dr = la.bootstrap(reps, weights_type, seed)
    lo, hi = dr.confidence_interval(alpha, G=G)
    return {"estimate": la.estimate, "se": la.se, "p_t": la.t_pvalue(), "boot_p": dr.p_value(0.0),
            "boot_ci_lower": lo, "boot_ci_upper": hi, "n_clusters": G, "p_min": dr.p_min}


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


METHODS = (
    "CS analytic (normal, diff-diff)",
    "CS multiplier bootstrap (diff-diff, by cluster)",
    "CS analytic t(G-1)",
    "CS wild restricted bootstrap-t",
    "CS randomization inference",
    "Sun-Abraham analytic t(G-1)",
    "Sun-Abraham wild restricted bootstrap-t",
    "Sun-Abraham randomization inference",
    "did2s analytic t(G-1)",
    "did2s wild restricted bootstrap-t",
    "did2s randomization inference",
)


def size_study(Gs=(5, 8, 15, 30), *, sims: int = 200, ri_reps: int = 99, boot_reps: int = 999,
               cs_boot_reps: int = 199, alpha: float = 0.05, seed: int = 0, methods=METHODS) -> pd.DataFrame:
    """Rejection rates of a true null (no effect) at level ``alpha``, per method and ``G``.

    Panels from :func:`simulate_null_panel` (seed ``seed * 1_000_003 + G * 10_007 + s`` for
    simulation ``s``). Statistic: the overall ATT of each estimator, tested three ways:
    its analytic cluster-robust t on ``G - 1`` degrees of freedom; the wild cluster restricted
    bootstrap-t (:meth:`LinearATT.bootstrap`; Webb weights below 12 clusters, ``boot_reps``
    draws or all ``6**G``); randomization inference over adoption dates (``ri_reps``
    permutations). For Callaway-Sant'Anna also what R ``did`` and diff-diff print: the
    analytic influence-function SE with a normal critical value, and diff-diff's multiplier
    bootstrap with one weight per cluster (``cs_boot_reps`` draws). Returns one row per
    ``(G, method)``: ``rejection_rate``, its Monte Carlo ``mc_se``, ``sims``, ``seconds``
    (for the whole ``G``). SIMULATED.
    """
    from scipy import stats

    from govstats.did_cs import CSSpec, callaway_santanna

    try:  # one BLAS thread: the matrices are small and the machine is shared
        from threadpoolctl import threadpool_limits

        limit = threadpool_limits(1)
    except ImportError:  # pragma: no cover
        limit = None
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    rows = []
    for G in Gs:
        rej: dict[str, list[bool]] = {m: [] for m in methods}
        t0 = time.perf_counter()
        for s in range(sims):
            df = simulate_null_panel(G, seed=seed * 1_000_003 + G * 10_007 + s)
            y, g, cl, periods = _wide(df, "y", "unit", "year", "g", "cluster")
            if any(m.startswith("CS") and ("diff-diff" in m or "analytic t" in m) for m in methods):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    boot = "CS multiplier bootstrap (diff-diff, by cluster)" in methods
                    res = callaway_santanna(CSSpec("y", cohort="g", unit="unit", time="year", cluster="cluster",
                                                   reps=cs_boot_reps if boot else 0, seed=s), df)
                simple = res.aggregate("simple").iloc[0]
                tcs = abs(simple["estimate"]) / simple["std_error"]
                if "CS analytic (normal, diff-diff)" in rej:
                    rej["CS analytic (normal, diff-diff)"].append(tcs > stats.norm.ppf(1 - alpha / 2))
                if boot:
                    rej["CS multiplier bootstrap (diff-diff, by cluster)"].append(res.boot_pvalue() <= alpha)
                if "CS analytic t(G-1)" in rej:
                    rej["CS analytic t(G-1)"].append(2 * stats.t.sf(tcs, G - 1) <= alpha)
            R = None
            for est, label, ri_stat in (("cs", "CS", "cs"), ("sun_abraham", "Sun-Abraham", "sun_abraham"),
                                        ("did2s", "did2s", "imputation")):
                need_boot = f"{label} wild restricted bootstrap-t" in rej
                need_t = f"{label} analytic t(G-1)" in rej and est != "cs"
                if need_boot or need_t:
                    la = _linear_att_arrays(y, g, cl, periods, est, restricted=R)
                    R = la._annihilator_ut
                    if need_t:
                        rej[f"{label} analytic t(G-1)"].append(la.t_pvalue() <= alpha)
                    if need_boot:
                        p = la.bootstrap(boot_reps, "auto", seed=s).p_value(0.0)
                        rej[f"{label} wild restricted bootstrap-t"].append(p <= alpha)
                if f"{label} randomization inference" in rej:
                    rej[f"{label} randomization inference"].append(
                        ri_adoption(df, statistic=ri_stat, reps=ri_reps, seed=s).pvalue <= alpha)
        secs = time.perf_counter() - t0
        for m, v in rej.items():
            r = float(np.mean(v))
            rows.append({"G": G, "method": m, "rejection_rate": r, "mc_se": math.sqrt(r * (1 - r) / len(v)),
                         "sims": len(v), "seconds": secs})
    if limit is not None:
        limit.unregister()
    out = pd.DataFrame(rows)
    out.attrs["simulated"] = True
    return out
