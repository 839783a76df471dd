"""Wild restricted efficient (WRE) cluster bootstrap for one endogenous regressor.

Davidson and MacKinnon (2010, J. Business & Economic Statistics 28:128-144): with few
clusters, or weak instruments, the t test of an instrumental-variables coefficient is
unreliable; the WRE bootstrap imposes the null and re-estimates the reduced form
efficiently, then resamples both equations' residuals with the same cluster weights.

Model (after fixed effects have been partialled out): ``y = X1 g + y2 b + u`` and
``y2 = W p + v``, ``W = [X1, Z]`` (exogenous regressors and excluded instruments). For
``H0: b = b0``:

1. restricted structural fit: OLS of ``y - b0 y2`` on ``X1`` -> ``g~``, residuals ``u~``;
2. efficient reduced form: OLS of ``y2`` on ``W`` and ``u~`` -> ``p~`` (the coefficients on
   ``W``), ``v~ = y2 - W p~``;
3. each draw: cluster weights ``w_g``; ``y2* = W p~ + w_g v~``, ``y* = b0 y2* + X1 g~ + w_g u~``;
   2SLS on ``(y*, X1, y2*)`` with instruments ``W``; ``t* = (b* - b0) / se*`` with the same
   cluster-robust covariance as the data's t;
4. p-value: the share of draws with ``|t*| >= |t|`` (ties counted, as in
   :func:`govstats.inference.wild_cluster_bootstrap`); ``ptype="equaltail"`` gives
   ``2 min(share t* <= t, share t* >= t)`` (the WRE distribution is not symmetric).

Checked against WildBootTests.jl (the engine of Stata ``boottest``): on Stata's nlsw88 data
(``tests/test_wre.py``) the t statistic and the equal-tailed p-value of its printed run are
reproduced exactly under full enumeration, once the one tied draw (the all-ones draw, which
reproduces the data) is left out as boottest's strict inequalities do; counting it, as
govstats does, adds ``2 / 2^G`` to the equal-tailed p-value.

With the weight vector of all ones the bootstrap sample is the data, so ``t*`` equals ``t``
(a check the tests make). Weights are those of :func:`govstats.inference.draw_weights`
(enumerated when ``2^G`` or ``6^G`` draws fit in ``reps``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from govstats import fixed_effects as fx
from govstats.errors import GovstatsError

__all__ = ["WREResult", "wre_bootstrap"]

_CHUNK = 256


@dataclass(frozen=True)
class WREResult:
    """Outcome of :func:`wre_bootstrap` for one coefficient."""

    param: str
    h0: float
    t_stat: float
    p_value: float
    reps: int
    enumerated: bool
    weights_type: str
    n_clusters: int
    p_min: float
    warnings: tuple[str, ...] = ()
    ptype: str = "symmetric"
    #: the bootstrap t statistics, one per draw (under full enumeration, all-ones draw included)
    t_boot: np.ndarray | None = field(default=None, repr=False, compare=False)

    def summary(self) -> str:
        enum = ", full enumeration" if self.enumerated else ""
        text = (f"WRE bootstrap (Davidson-MacKinnon 2010), H0: {self.param} = {self.h0:g}: t = {self.t_stat:.4g}, "
                f"p = {self.p_value:.4g} (G = {self.n_clusters}, {self.weights_type} weights, "
                f"reps = {self.reps}{enum})")
        return text + "".join(f"\nWARNING: {w}" for w in self.warnings)


def _ols(A: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.linalg.lstsq(A, b, rcond=None)[0]


def _t_stats(y: np.ndarray, X1: np.ndarray, y2: np.ndarray, W: np.ndarray, PW: np.ndarray,
             codes: np.ndarray, G: int, factor: float, b0: float) -> np.ndarray:
    """t statistics of the y2 coefficient for every column of ``y`` and ``y2`` (n x C)."""
    n, k1 = X1.shape
    C = y.shape[1]
    y2h = PW @ y2  # first-stage fitted values, n x C
    # normal equations of 2SLS per draw: A_c = Xh'Xh, rhs_c = Xh'y, Xh = [X1, y2h]
    k = k1 + 1
    A = np.empty((C, k, k))
    A[:, :k1, :k1] = X1.T @ X1
    x1y2 = X1.T @ y2h  # k1 x C  (= X1'y2 since X1 lies in the span of W)
    A[:, :k1, k1] = x1y2.T
    A[:, k1, :k1] = x1y2.T
    A[:, k1, k1] = np.einsum("ic,ic->c", y2h, y2h)
    rhs = np.empty((C, k))
    rhs[:, :k1] = (X1.T @ y).T
    rhs[:, k1] = np.einsum("ic,ic->c", y2h, y)
    Ainv = np.linalg.inv(A)
    beta = np.einsum("cij,cj->ci", Ainv, rhs)
    u = y - X1 @ beta[:, :k1].T - y2 * beta[:, k1]  # structural residuals, n x C
    a = Ainv[:, k1, :]  # row of the bread for the y2 coefficient, C x k
    proj = X1 @ a[:, :k1].T + y2h * a[:, k1]  # x_hat_i . a, n x C
    s = fx.group_sum(codes, proj * u, G)  # G x C
    se = np.sqrt(factor * (s**2).sum(axis=0))
    return (beta[:, k1] - b0) / se


def wre_bootstrap(y: np.ndarray, X1: np.ndarray, y2: np.ndarray, W: np.ndarray, cluster,
                  *, param: str = "endog", h0: float = 0.0, reps: int = 9999, weights_type: str = "auto",
                  seed: int | None = 0, factor: float = 1.0, alpha: float = 0.05,
                  ptype: str = "symmetric") -> WREResult:
    """WRE bootstrap p-value for ``H0: coefficient of y2 = h0`` (see the module notes).

    Parameters
    ----------
    y, y2 : arrays (n,)
        Outcome and the endogenous regressor, fixed effects already partialled out.
    X1 : array (n, k1)
        Exogenous regressors (an intercept column where there is one).
    W : array (n, m)
        All instruments: the exogenous regressors (or a matrix spanning them) and the
        excluded instruments.
    cluster : array (n,)
        Cluster labels.
    factor : float
        Small-sample factor of the cluster-robust variance (the same as the data's t uses,
        e.g. ``G/(G-1) (N-1)/(N-K)``); it cancels in the p-value but makes ``t`` the reported one.
    ptype : {"symmetric", "equaltail", "upper", "lower"}
        The p-value (boottest's ``ptype``): ``symmetric`` the share of ``|t*| >= |t|``;
        ``equaltail`` ``2 min(share t* <= t, share t* >= t)`` (capped at 1); ``upper`` the share
        of ``t* >= t``; ``lower`` the share of ``t* <= t``. Ties are counted.
    """
    from govstats.inference import _resolve_weights, draw_weights

    codes, G = fx.factorize(cluster)
    if G < 2:
        raise GovstatsError("the WRE bootstrap needs at least 2 clusters")
    X1 = np.asarray(X1, dtype=float).reshape(len(y), -1)
    W = np.asarray(W, dtype=float).reshape(len(y), -1)
    PW = W @ np.linalg.pinv(W)
    y = np.asarray(y, dtype=float)
    y2 = np.asarray(y2, dtype=float)
    t_obs = float(_t_stats(y[:, None], X1, y2[:, None], W, PW, codes, G, factor, h0)[0])
    # 1. restricted structural equation; 2. efficient reduced form
    g_r = _ols(X1, y - h0 * y2) if X1.shape[1] else np.zeros(0)
    u_r = y - h0 * y2 - X1 @ g_r
    coef = _ols(np.column_stack([W, u_r]), y2)
    fitted2 = W @ coef[:-1]
    v_r = y2 - fitted2
    kind = _resolve_weights(weights_type, G)
    V, enumerated = draw_weights(kind, G, reps, seed=seed)
    t_boot = np.empty(V.shape[1])
    for start in range(0, V.shape[1], _CHUNK):
        w = V[codes, start:start + _CHUNK]  # n x C
        y2s = fitted2[:, None] + v_r[:, None] * w
        ys = h0 * y2s + (X1 @ g_r)[:, None] + u_r[:, None] * w
        t_boot[start:start + _CHUNK] = _t_stats(ys, X1, y2s, W, PW, codes, G, factor, h0)
    tol = 1e-12 * abs(t_obs)
    if ptype == "symmetric":
        p = float(np.mean(np.abs(t_boot) >= abs(t_obs) - tol))
    elif ptype in ("equaltail", "upper", "lower"):
        up = float(np.mean(t_boot >= t_obs - tol))
        lo = float(np.mean(t_boot <= t_obs + tol))
        p = {"upper": up, "lower": lo}.get(ptype, min(1.0, 2 * min(up, lo)))
    else:
        raise GovstatsError(f"ptype={ptype!r}: use 'symmetric', 'equaltail', 'upper' or 'lower'")
    B = V.shape[1]
    p_min = 1.0 / B if not enumerated else 2.0 / B if kind == "rademacher" else 1.0 / B
    notes = []
    if p_min > alpha:
        notes.append(
            f"with G = {G} clusters and {kind} weights the smallest attainable p-value is {p_min:.3g} "
            f"> alpha = {alpha:g}: the test cannot reject at that level; use Webb weights or more clusters"
        )
    t_boot.flags.writeable = False
    return WREResult(param, float(h0), t_obs, p, B, bool(enumerated), kind, G, p_min, tuple(notes), ptype, t_boot)
