"""Sensitivity of event-study conclusions to violations of parallel trends (Rambachan & Roth 2023).

Given event-study coefficients ``betahat`` (``num_pre`` leads, the reference period
left out, then ``num_post`` lags) and their covariance ``sigma``, the parameter
``theta = l' tau_post`` is only partially identified once the pre-trend ``delta`` may
continue after treatment. Under the *smoothness* restriction

    Delta^SD(M) = { delta : |(delta_{t+1} - delta_t) - (delta_t - delta_{t-1})| <= M },

(``M = 0``: the pre-trend continues as a straight line) :func:`flci_sd` returns the
optimal fixed-length confidence interval (FLCI, Rambachan & Roth 2023, Section 4.1;
Armstrong & Kolesar 2018): the affine estimator ``v' betahat`` and half-length
``chi = sd * cv_alpha(maxbias / sd)`` minimising ``chi`` over ``v``, where
``cv_alpha(b)`` is the ``1 - alpha`` quantile of ``|N(b, 1)|``. It follows R
``HonestDiD``'s construction (the slope-weight parametrisation of ``.findWorstCaseBiasGivenH``,
the search for the standard deviation ``h`` between its smallest value and the one of the
least-biased estimator), with two differences: the folded-normal quantile is exact
(R simulates 10^6 draws), and the convex programs are solved with scipy (SLSQP) instead of
CVXR/ECOS. :func:`sensitivity_sd` runs it over a grid of ``M`` and :func:`breakdown_sd`
finds the smallest ``M`` whose interval contains 0. Tests pin it to the HonestDiD
README's Medicaid example at the printed precision.

Under the *relative magnitudes* restriction

    Delta^RM(Mbar) = { delta : max_{t >= 0} |delta_{t+1} - delta_t| <= Mbar max_{s < 0} |delta_{s+1} - delta_s| }

(``Mbar = 1``: the post-treatment violation between consecutive periods is no larger than
the largest pre-treatment one) :func:`ci_rm` returns the Andrews-Roth-Pakes (2023)
conditional-least-favourable hybrid confidence set (R ``computeConditionalCS_DeltaRM``,
``method = "C-LF"``), :func:`sensitivity_rm` runs it over ``Mbar`` (R
``createSensitivityResults_relativeMagnitudes``) and :func:`breakdown_rm` finds the
smallest ``Mbar`` whose set contains 0. The ARP linear program is solved through its dual:
the dual vertices are enumerated once (a handful with a few post-periods), so the test is
vectorised over the whole ``theta`` grid and the truncation points are exact. Tests pin
it to the README's relative-magnitudes table at its printed precision.

The PyPI package ``honestdid`` 0.1.1 was tried first: its smoothness FLCIs agree with
these to 2e-5 (both simulate R's folded-normal critical value), but its relative-magnitudes function raises a ``TypeError`` on the
README example (and it needs torch), so this module does not wrap it.

Examples
--------
>>> import numpy as np
>>> b = np.array([0.0, 0.0, 0.0, 1.0]); V = np.eye(4) * 0.01
>>> lo, hi = flci_sd(b, V, num_pre=2, num_post=2, M=0.0)
>>> bool(lo < 1.0 < hi)
True
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import optimize, special, stats

__all__ = ["breakdown_rm", "breakdown_sd", "ci_rm", "cv_folded_normal", "flci_sd", "flci_sd_details", "original_ci",
           "sensitivity_rm", "sensitivity_sd"]


def cv_folded_normal(b: float, alpha: float = 0.05) -> float:
    """The ``1 - alpha`` quantile of ``|N(b, 1)|`` (exact; R HonestDiD simulates it)."""
    # special.ndtr / ndtri are what stats.norm.cdf / ppf evaluate, without their overhead
    b = abs(float(b))
    if b == 0:
        return float(special.ndtri(1 - alpha / 2))

    def f(c):
        return special.ndtr(c - b) - special.ndtr(-c - b) - (1 - alpha)

    hi = b + special.ndtri(1 - alpha) + 10
    return float(optimize.brentq(f, 0.0, hi, xtol=1e-14))


def _check(betahat, sigma, num_pre, num_post, l_vec):
    b = np.asarray(betahat, float).ravel()
    S = np.asarray(sigma, float)
    if b.size != num_pre + num_post:
        raise ValueError(f"betahat has {b.size} entries but num_pre + num_post = {num_pre + num_post}")
    if S.shape != (b.size, b.size):
        raise ValueError(f"sigma must be {b.size} x {b.size}, not {S.shape}")
    if not np.allclose(S, S.T, atol=1e-12 * max(1.0, np.abs(S).max())):
        raise ValueError("sigma is not symmetric")
    if num_pre < 1 or num_post < 1:
        raise ValueError("need at least one pre-period and one post-period coefficient")
    l_vec = np.eye(num_post)[0] if l_vec is None else np.asarray(l_vec, float).ravel()
    if l_vec.size != num_post:
        raise ValueError(f"l_vec has {l_vec.size} entries, need num_post = {num_post}")
    return b, S, l_vec


class _FLCIProblem:
    """R HonestDiD's parametrisation: slope weights ``w`` on the pre-period coefficients."""

    def __init__(self, sigma, num_pre, num_post, l_vec):
        self.K = num_pre
        self.l = l_vec
        j = np.arange(1, num_post + 1)
        self.S = float(j @ l_vec)  # sum(w) = sum_j j l_j
        self.const = sum(abs(np.arange(1, s + 1) @ l_vec[num_post - s:]) for s in range(1, num_post + 1)) - self.S
        D = np.eye(num_pre)
        for c in range(num_pre - 1):
            D[c + 1, c] = -1.0
        self.D = D  # l_pre = D w
        Spre = sigma[:num_pre, :num_pre]
        Sprepost = sigma[:num_pre, num_pre:]
        self.Q = D.T @ Spre @ D
        self.q = 2 * D.T @ Sprepost @ l_vec
        self.c0 = float(l_vec @ sigma[num_pre:, num_pre:] @ l_vec)
        self.C = np.tril(np.ones((num_pre, num_pre)))  # cumulative sums of w

    def var(self, w):
        return float(w @ self.Q @ w + self.q @ w + self.c0)

    def bias(self, w):  # worst-case bias for M = 1
        return float(self.const + np.abs(self.C @ w).sum())

    def w_min_bias(self):
        w = np.zeros(self.K)
        w[-1] = self.S
        return w

    def w_min_var(self):
        # minimise w'Qw + q'w subject to 1'w = S (KKT system)
        K = self.K
        A = np.block([[2 * self.Q, np.ones((K, 1))], [np.ones((1, K)), np.zeros((1, 1))]])
        rhs = np.r_[-self.q, self.S]
        sol = np.linalg.lstsq(A, rhs, rcond=None)[0]
        return sol[:K]

    def min_bias_given_h(self, h, w_start):
        """min bias s.t. sd <= h, sum(w) = S: an SOCP, solved as (w, z) with |C w| <= z."""
        K = self.K
        x0 = np.r_[w_start, np.abs(self.C @ w_start) + 1e-12]
        cons = [
            {"type": "eq", "fun": lambda x: np.sum(x[:K]) - self.S, "jac": lambda x: np.r_[np.ones(K), np.zeros(K)]},
            {"type": "ineq", "fun": lambda x: x[K:] - self.C @ x[:K],
             "jac": lambda x: np.hstack([-self.C, np.eye(K)])},
            {"type": "ineq", "fun": lambda x: x[K:] + self.C @ x[:K],
             "jac": lambda x: np.hstack([self.C, np.eye(K)])},
            {"type": "ineq", "fun": lambda x: (h * h - self.var(x[:K])) / (h * h),
             "jac": lambda x: np.r_[-(2 * self.Q @ x[:K] + self.q) / (h * h), np.zeros(K)]},
        ]
        res = optimize.minimize(lambda x: np.sum(x[K:]), x0, jac=lambda x: np.r_[np.zeros(K), np.ones(K)],
                                constraints=cons, method="SLSQP", options={"ftol": 1e-13, "maxiter": 500})
        w = res.x[:K]
        return self.bias(w), w


_FLCI_CACHE: dict[tuple, tuple] = {}


def _flci_problem(S: np.ndarray, num_pre: int, num_post: int, l_vec: np.ndarray) -> tuple:
    """``(problem, w0, h0, wmin, h_min, solved)`` for this covariance and target, cached (a few
    recent ones); ``solved`` maps ``h`` to ``min_bias_given_h(h, start(h))``."""
    key = (S.tobytes(), S.shape, int(num_pre), int(num_post), l_vec.tobytes())
    hit = _FLCI_CACHE.get(key)
    if hit is None:
        P = _FLCIProblem(S, num_pre, num_post, l_vec)
        w0 = P.w_min_bias()
        wmin = P.w_min_var()
        hit = (P, w0, math.sqrt(P.var(w0)), wmin, math.sqrt(max(P.var(wmin), 0.0)), {})
        if len(_FLCI_CACHE) > 16:
            _FLCI_CACHE.clear()
        _FLCI_CACHE[key] = hit
    return hit


def flci_sd(betahat, sigma, *, num_pre: int, num_post: int, M: float, l_vec=None,
            alpha: float = 0.05) -> tuple[float, float]:
    d = flci_sd_details(betahat, sigma, num_pre=num_pre, num_post=num_post, M=M, l_vec=l_vec, alpha=alpha)
    return d["lower"], d["upper"]


def flci_sd_details(betahat, sigma, *, num_pre: int, num_post: int, M: float, l_vec=None,
                    alpha: float = 0.05) -> dict:
    """Optimal FLCI for ``theta = l_vec' tau_post`` under ``Delta^SD(M)`` (R ``findOptimalFLCI``).

    Parameters
    ----------
    betahat : array, length ``num_pre + num_post``
        Leads (earliest first, reference period omitted), then lags.
    sigma : array
        Their covariance.
    M : float
        Largest change in the slope of the differential trend between consecutive periods.
    l_vec : array, optional
        Weights on the post-period effects (default: the first post period).
    alpha : float

    Returns
    -------
    dict
        ``lower``, ``upper``, ``center`` (``v' betahat``), ``half_length``, ``sd`` (of the
        estimator), ``max_bias`` and ``weights`` ``v``. :func:`flci_sd` returns ``(lower, upper)``.
    """
    b, S, l_vec = _check(betahat, sigma, num_pre, num_post, l_vec)
    if M < 0:
        raise ValueError(f"M={M!r} must be >= 0")
    P, w0, h0, wmin, h_min, solved = _flci_problem(S, num_pre, num_post, l_vec)
    # min_bias_given_h(h) does not depend on M: its solutions are shared by every call with
    # this (sigma, num_pre, num_post, l_vec) (sensitivity_sd's M grid, breakdown_sd's bisection)
    cache: dict[float, tuple[float, np.ndarray]] = {}

    def solve(h):
        if h in cache:
            return cache[h]
        if h not in solved:
            start = w0 if h >= h0 else wmin + (w0 - wmin) * ((h - h_min) / max(h0 - h_min, 1e-300))
            solved[h] = P.min_bias_given_h(h, start)
        return solved[h]

    def half_length(h):
        bias = M * solve(h)[0]
        return cv_folded_normal(bias / h, alpha) * h

    if M == 0:  # every trend-neutral estimator is unbiased: take the most precise one
        h_star = h_min
        cache[h_min] = (P.bias(wmin), wmin)
    elif h0 - h_min <= 1e-12 * h0:
        h_star = h0
    else:
        grid = np.linspace(h_min * (1 + 1e-9), h0, 25)
        vals = [half_length(h) for h in grid]
        i = int(np.argmin(vals))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        opt = optimize.minimize_scalar(half_length, bounds=(lo, hi), method="bounded",
                                       options={"xatol": 1e-10 * h0})
        h_star = opt.x if opt.fun <= vals[i] else grid[i]
    chi = half_length(h_star)
    w = solve(h_star)[1]
    v = np.r_[P.D @ w, l_vec]
    center = float(v @ b)
    return {"lower": center - chi, "upper": center + chi, "center": center, "half_length": chi,
            "sd": float(h_star), "max_bias": M * P.bias(w), "weights": v}


def original_ci(betahat, sigma, *, num_pre: int, num_post: int, l_vec=None, alpha: float = 0.05):
    """The usual interval ``l' beta_post -+ z sd`` (R ``constructOriginalCS``)."""
    b, S, l_vec = _check(betahat, sigma, num_pre, num_post, l_vec)
    est = float(l_vec @ b[num_pre:])
    sd = math.sqrt(float(l_vec @ S[num_pre:, num_pre:] @ l_vec))
    z = stats.norm.ppf(1 - alpha / 2)
    return est - z * sd, est + z * sd


def sensitivity_sd(betahat, sigma, *, num_pre: int, num_post: int, Mvec, l_vec=None,
                   alpha: float = 0.05) -> pd.DataFrame:
    """FLCIs over a grid of ``M`` (R ``createSensitivityResults``): columns lb, ub, method, Delta, M."""
    rows = []
    for M in Mvec:
        lo, hi = flci_sd(betahat, sigma, num_pre=num_pre, num_post=num_post, M=float(M), l_vec=l_vec, alpha=alpha)
        rows.append({"lb": lo, "ub": hi, "method": "FLCI", "Delta": "DeltaSD", "M": float(M)})
    return pd.DataFrame(rows)


def breakdown_sd(betahat, sigma, *, num_pre: int, num_post: int, l_vec=None, alpha: float = 0.05,
                 tol: float = 1e-6) -> float:
    """The smallest ``M`` at which the FLCI contains 0 (``0.0`` if it already does at ``M = 0``)."""
    def excludes_zero(M):
        lo, hi = flci_sd(betahat, sigma, num_pre=num_pre, num_post=num_post, M=M, l_vec=l_vec, alpha=alpha)
        return lo > 0 or hi < 0

    if not excludes_zero(0.0):
        return 0.0
    b, S, _ = _check(betahat, sigma, num_pre, num_post, l_vec)
    hi = 10 * math.sqrt(float(np.max(np.diag(S)))) + float(np.max(np.abs(b)))
    while excludes_zero(hi):
        hi *= 2
    lo = 0.0
    while hi - lo > tol * max(hi, 1e-12):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excludes_zero(mid) else (lo, mid)
    return hi


# --------------------------------------------------------------------------- relative magnitudes


def _rm_constraints(num_pre: int, num_post: int, Mbar: float, s: int, max_positive: bool) -> np.ndarray:
    """``A`` with ``Delta^RM_{s,+/-}(Mbar) = {delta : A delta <= 0}`` (reference period dropped).

    Every first difference ``delta_{t+1} - delta_t`` is bounded in absolute value by the
    pre-period difference ending at ``s`` (``s = 0``: the one into the reference period),
    times ``Mbar`` for the post-period differences; ``max_positive`` says whether that
    pre-period difference is the largest positive or the largest negative one. The union
    over ``s`` and the sign is ``Delta^RM(Mbar)`` (Rambachan & Roth 2023, Section 2.4.1).
    """
    n = num_pre + num_post
    diff = np.zeros((n, n + 1))
    for r in range(n):
        diff[r, r], diff[r, r + 1] = -1.0, 1.0
    v = np.zeros(n + 1)
    v[num_pre + s - 1], v[num_pre + s] = -1.0, 1.0
    if not max_positive:
        v = -v
    bound = np.vstack([np.tile(v, (num_pre, 1)), np.tile(Mbar * v, (num_post, 1))])
    A = np.vstack([diff - bound, -diff - bound])
    A = A[(A * A).sum(1) > 1e-10]
    return np.delete(A, num_pre, axis=1)


def _gamma_basis(l_vec: np.ndarray) -> np.ndarray:
    """An invertible matrix whose first row is ``l'`` and whose other rows are unit vectors."""
    rows = [l_vec]
    for j in range(l_vec.size):
        e = np.eye(l_vec.size)[j]
        if np.linalg.matrix_rank(np.vstack([*rows, e])) > len(rows):
            rows.append(e)
        if len(rows) == l_vec.size:
            break
    return np.vstack(rows)


def _dual_vertices(X: np.ndarray, sd: np.ndarray, max_subsets: int = 50_000) -> np.ndarray:
    """Vertices of ``{lam >= 0 : sd'lam = 1, X'lam = 0}``, one per row.

    They are the dual of ARP's linear program ``eta(y) = min_{eta, xi} eta`` s.t.
    ``y - X xi <= eta sd``, so ``eta(y) = max_v lam_v'y`` (LP duality; the set is bounded
    because ``sd > 0``). The set is the slice ``sd'lam = 1`` of the cone
    ``{lam >= 0 : X'lam = 0}``, so its vertices are the cone's extreme rays ``r`` scaled to
    ``r / sd'r``: the rays depend on ``X`` only and are found once
    (:func:`_extreme_rays`, cached; in the relative-magnitudes sets ``X`` does not change
    with ``Mbar``, the period or the sign), then every ``sd`` costs one division. The
    vertices agree with :func:`_dual_vertices_all` (every basic solution for this ``sd``)
    to rounding (both are rounded to 12 decimals).
    """
    from math import comb

    M, k = X.shape
    if comb(M, k + 1) > max_subsets:
        raise NotImplementedError(
            f"{M} moments and {k} nuisance parameters: too many dual vertices to enumerate; "
            "use fewer post-periods")
    # the rays are a superset of the vertices' directions whenever the sign tolerance
    # 1e-12 (k + 1) max(sd) stays below 1e-6 (see _vertex_candidates); else the direct way
    sd = np.asarray(sd, float)
    if not (np.all(sd > 0) and 1e-12 * float(sd.max()) * (k + 1) <= 1e-6):
        return _dual_vertices_all(X, sd, max_subsets)
    R, size = _extreme_rays(X)
    if not len(R):
        return np.zeros((0, M))
    den = R @ sd
    lam = R / den[:, None]
    # the direct way's tests: |det B| = |sd'c| = den * size above its threshold, lam >= -1e-12
    scale = max(1.0, float(np.abs(X).max()) if X.size else 1.0, float(sd.max())) ** (k + 1)
    lam = lam[(den > 0) & (den * size > 1e-12 * scale) & (lam >= -1e-12).all(1)]
    if not len(lam):
        return np.zeros((0, M))
    return np.unique(np.round(np.clip(lam, 0, None), 12), axis=0)


def _vertices_on(X: np.ndarray, sd: np.ndarray, S: np.ndarray) -> np.ndarray:
    """The basic feasible solutions on the row subsets ``S`` (subsets x (k + 1))."""
    M, k = X.shape
    E = np.vstack([sd, X.T])  # (k + 1) x M
    if not len(S):
        return np.zeros((0, M))
    B = np.transpose(E[:, S], (1, 0, 2))  # subsets x (k + 1) x (k + 1)
    scale = max(1.0, float(np.abs(E).max())) ** (k + 1)
    ok = np.abs(np.linalg.det(B)) > 1e-12 * scale
    S, B = S[ok], B[ok]
    if not len(S):
        return np.zeros((0, M))
    lam_s = np.linalg.solve(B, np.broadcast_to(np.eye(k + 1)[0], (len(S), k + 1))[..., None])[..., 0]
    feas = (lam_s >= -1e-12).all(1)
    out = np.zeros((int(feas.sum()), M))
    np.put_along_axis(out, S[feas], np.clip(lam_s[feas], 0, None), axis=1)
    if not len(out):
        return np.zeros((0, M))
    V = np.unique(np.round(np.array(out), 12), axis=0)
    return V


def _dual_vertices_all(X: np.ndarray, sd: np.ndarray, max_subsets: int = 50_000) -> np.ndarray:
    """:func:`_dual_vertices` trying every ``k + 1`` subset of rows (the reference the
    candidate filter is tested against, and the fallback for extreme ``sd``)."""
    from itertools import combinations
    from math import comb

    M, k = X.shape
    if comb(M, k + 1) > max_subsets:
        raise NotImplementedError(
            f"{M} moments and {k} nuisance parameters: too many dual vertices to enumerate; "
            "use fewer post-periods")
    S = np.array(list(combinations(range(M), k + 1)), dtype=np.intp)  # subsets x (k + 1)
    return _vertices_on(X, sd, S)


_CANDIDATES: dict[tuple, np.ndarray] = {}


def _vertex_candidates(X: np.ndarray) -> np.ndarray:
    """The ``k + 1`` row subsets that can support a vertex of ``{lam >= 0 : sd'lam = 1, X'lam = 0}``
    for some ``sd > 0``; cached per ``X`` (in the relative-magnitudes sets ``X`` depends on the
    number of post-periods and ``l_vec`` only, not on ``Mbar``, the period or the sign).

    On a subset ``S`` the basic solution is ``lam = c / (sd'c)``, ``c`` the cofactors of the
    first row of ``B = [sd_S'; X_S']``: ``c`` spans the null space of ``X_S'`` and does not
    depend on ``sd``, and ``det B = sd'c``. :func:`_vertices_on` keeps ``S`` when
    ``|det B| > 1e-12 max(1, max|E|)^(k+1)``, which implies
    ``max|c| > 1e-12 max(1, max|X|)^k / (k + 1)``, and when ``lam >= -1e-12``, which implies
    ``c_i >= -1e-12 (k + 1) max(sd) max|c|`` (``c`` oriented so that ``sd'c > 0``). Here ``c``
    is computed once with ``sd = 1`` and the subset kept with ten times looser bounds on the
    first and the sign bound ``-1e-6 max|c|`` on the second: a superset whenever
    ``1e-12 (k + 1) max(sd) <= 1e-6`` (checked by the caller).
    """
    from itertools import combinations

    key = (X.shape, X.tobytes())
    hit = _CANDIDATES.get(key)
    if hit is not None:
        return hit
    M, k = X.shape
    S = np.array(list(combinations(range(M), k + 1)), dtype=np.intp)
    E = np.vstack([np.ones(M), X.T])
    B = np.transpose(E[:, S], (1, 0, 2))
    det = np.linalg.det(B)  # = 1'c
    thr = 1e-13 * max(1.0, float(np.abs(X).max()) if X.size else 1.0) ** k / (k + 1)
    ok = np.abs(det) > thr
    keep = np.zeros(len(S), bool)
    if ok.any():
        lam = np.linalg.solve(B[ok], np.broadcast_to(np.eye(k + 1)[0], (int(ok.sum()), k + 1))[..., None])[..., 0]
        # lam = c / 1'c: for c of one sign (up to 1e-6) lam >= -1e-6 max|lam|, whichever the sign
        keep[ok] = (lam >= -1e-6 * np.abs(lam).max(1, keepdims=True)).all(1)
    out = S[keep]
    out.setflags(write=False)
    if len(_CANDIDATES) > 64:
        _CANDIDATES.clear()
    _CANDIDATES[key] = out
    return out


_RAYS: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def _extreme_rays(X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The extreme rays of ``{lam >= 0 : X'lam = 0}``, one per row, scaled to sum to 1
    (from the basic solutions on :func:`_vertex_candidates` with ``sd = 1``), and for each the
    largest ``1'c`` over the row subsets that give it (``c`` the cofactors of
    :func:`_vertex_candidates`, so that ``det B = (sd'ray) 1'c`` for any ``sd``); cached per ``X``."""
    key = (X.shape, X.tobytes())
    hit = _RAYS.get(key)
    if hit is not None:
        return hit
    M, k = X.shape
    S = _vertex_candidates(X)
    R, size = np.zeros((0, M)), np.zeros(0)
    if len(S):
        B = np.transpose(np.vstack([np.ones(M), X.T])[:, S], (1, 0, 2))
        det = np.abs(np.linalg.det(B))
        lam = np.linalg.solve(B, np.broadcast_to(np.eye(k + 1)[0], (len(S), k + 1))[..., None])[..., 0]
        keep = (lam >= -1e-9).all(1)
        lam, S, det = lam[keep], S[keep], det[keep]
        full = np.zeros((len(S), M))
        np.put_along_axis(full, S, np.clip(lam, 0, None), axis=1)
        # one (unrounded) representative per ray: degenerate subsets repeat a ray
        _, first, which = np.unique(np.round(full, 9), axis=0, return_index=True, return_inverse=True)
        size = np.zeros(len(first))
        np.maximum.at(size, which.ravel(), det)
        R = full[first]
    R.setflags(write=False)
    size.setflags(write=False)
    if len(_RAYS) > 64:
        _RAYS.clear()
    _RAYS[key] = (R, size)
    return R, size


_DRAWS: dict[tuple, tuple[np.ndarray, ...]] = {}


def _normal_draws(seed, sims: int, M: int) -> tuple[np.ndarray, ...]:
    """``sims`` standard normal ``M``-vectors from ``default_rng(seed)``, in blocks of 5000 rows
    drawn in order; cached per ``(seed, sims, M)`` when ``seed`` is an int (every call of
    :func:`_arp_accept` with the same seed draws the same numbers)."""
    def draw():
        rng = np.random.default_rng(seed)
        return tuple(rng.standard_normal((min(5000, sims - i), M)) for i in range(0, sims, 5000))

    if not isinstance(seed, int | np.integer):
        return draw()
    key = (int(seed), int(sims), int(M))
    hit = _DRAWS.get(key)
    if hit is None:
        hit = draw()
        for z in hit:
            z.setflags(write=False)
        if len(_DRAWS) > 8:
            _DRAWS.clear()
        _DRAWS[key] = hit
    return hit


def _arp_accept(y: np.ndarray, a1: np.ndarray, X: np.ndarray, Sigma: np.ndarray, thetas: np.ndarray, *,
                alpha: float, hybrid: bool, kappa: float, sims: int, seed) -> np.ndarray:
    """ARP (2023) conditional or conditional-least-favourable hybrid test of
    ``E[y - a1 theta - X xi] <= 0`` for some nuisance ``xi``, at every ``theta``: accept (bool).

    The conditioning event is "the dual vertex ``gamma`` attains ``eta``"; with the
    vertices enumerated, the truncation points ``vlo``/``vup`` are exact (R computes them by
    bisection on linear programs; the two agree up to R's 1e-6 tolerance).
    """
    sd = np.sqrt(np.diag(Sigma))
    V = _dual_vertices(X, sd)
    if len(V) == 0:  # the dual is empty: the moments pin nothing, accept everywhere
        return np.ones(thetas.size, bool)
    lf_cv = np.inf
    mod_size = alpha
    if hybrid:
        L = np.linalg.cholesky(Sigma + 1e-14 * np.eye(len(sd)) * np.trace(Sigma))
        etas = np.concatenate([(z @ L.T @ V.T).max(1) for z in _normal_draws(seed, sims, len(sd))])
        lf_cv = float(np.quantile(etas, 1 - kappa))
        mod_size = (alpha - kappa) / (1 - kappa)
    Y = y[:, None] - a1[:, None] * thetas[None, :]  # M x G
    vals = V @ Y  # vertices x G
    best = vals.argmax(0)
    eta = vals[best, np.arange(thetas.size)]
    gamma = V[best]  # G x M
    SG = gamma @ Sigma  # G x M  (Sigma gamma, transposed)
    sig2 = np.einsum("gm,gm->g", SG, gamma)
    accept = np.ones(thetas.size, bool)
    tiny = sig2 < 1e-20
    accept[tiny] = eta[tiny] <= 0
    ok = ~tiny
    if hybrid:
        accept[ok & (eta > lf_cv)] = False
        ok &= eta <= lf_cv
    idx = np.flatnonzero(ok)
    if idx.size:
        b = SG[idx] / sig2[idx, None]  # G' x M
        sT = Y[:, idx].T - b * eta[idx, None]
        av = sT @ V.T  # G' x vertices
        bv = b @ V.T
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = av / (1 - bv)
        lo_m = bv < 1 - 1e-9
        up_m = bv > 1 + 1e-9
        vlo = np.where(lo_m, ratio, -np.inf).max(1)
        vup = np.where(up_m, ratio, np.inf).min(1)
        sigB = np.sqrt(sig2[idx])
        zlo, zup, stat = vlo / sigB, np.minimum(vup, lf_cv) / sigB, eta[idx] / sigB
        inside = (zlo <= stat + 1e-12) & (stat <= zup + 1e-12)
        res = np.ones(idx.size, bool)
        if inside.any():
            lo_i, up_i = zlo[inside], np.maximum(zup[inside], zlo[inside] + 1e-12)
            cval = np.maximum(0.0, stats.truncnorm.ppf(1 - mod_size, lo_i, up_i))
            res[inside] = ~(stat[inside] > cval)
        accept[idx] = res
    return accept


def _rm_grid_accept(b, S, num_pre, num_post, l_vec, Mbar, alpha, method, grid, sims, seed):
    post = slice(num_pre, num_pre + num_post)
    Gam_inv = np.linalg.inv(_gamma_basis(l_vec))
    accept = np.zeros(grid.size, bool)
    hybrid = method == "C-LF"
    for s in range(-(num_pre - 1), 1):
        for pos in (True, False):
            A = _rm_constraints(num_pre, num_post, Mbar, s, pos)
            rows = (np.flatnonzero(np.abs(A[:, post]).sum(1) > 0) if num_post > 1 else np.arange(A.shape[0]))
            AG = A[:, post] @ Gam_inv
            Y = A @ b
            SY = A @ S @ A.T
            accept |= _arp_accept(Y[rows], AG[rows, 0], AG[np.ix_(rows, np.arange(1, num_post))],
                                  SY[np.ix_(rows, rows)], grid, alpha=alpha, hybrid=hybrid, kappa=alpha / 10,
                                  sims=sims, seed=seed)
    return accept


def ci_rm(betahat, sigma, *, num_pre: int, num_post: int, Mbar: float, l_vec=None, alpha: float = 0.05,
          method: str = "C-LF", grid_points: int = 1000, grid_lb: float | None = None,
          grid_ub: float | None = None, sims: int = 20_000, seed: int = 0) -> tuple[float, float]:
    """Robust confidence set for ``theta = l_vec' tau_post`` under ``Delta^RM(Mbar)``.

    R ``computeConditionalCS_DeltaRM``: the post-period first differences of the trend
    violation are at most ``Mbar`` times the largest pre-period first difference. The
    set is the union over which pre-period difference is the largest (and its sign) of
    the Andrews-Roth-Pakes conditional (``method="Conditional"``) or conditional-least-
    favourable hybrid (``"C-LF"``, the default; first-stage size ``alpha / 10``,
    least-favourable critical value from ``sims`` normal draws: R takes 1000, whose 0.995
    quantile moves the interval ends by a grid step or two from seed to seed; 20,000 make
    them stable) tests, inverted over
    ``grid_points`` values of ``theta`` between ``grid_lb`` and ``grid_ub`` (default: 20
    standard deviations of ``l' betahat_post`` either side of 0, as R). Only the post-period
    moments enter the test when ``num_post > 1`` (R's ``postPeriodMomentsOnly``).

    Returns ``(lb, ub)``: the smallest and largest accepted grid value (``nan`` if none;
    an end at the grid's edge means the set is open there: widen the grid).
    """
    b, S, l_vec = _check(betahat, sigma, num_pre, num_post, l_vec)
    if Mbar < 0:
        raise ValueError(f"Mbar={Mbar!r} must be >= 0")
    if method not in ("C-LF", "Conditional"):
        raise ValueError(f"method={method!r}: choose 'C-LF' (hybrid) or 'Conditional'")
    sd_theta = math.sqrt(float(l_vec @ S[num_pre:, num_pre:] @ l_vec))
    lo = -20 * sd_theta if grid_lb is None else float(grid_lb)
    hi = 20 * sd_theta if grid_ub is None else float(grid_ub)
    grid = np.linspace(lo, hi, int(grid_points))
    acc = _rm_grid_accept(b, S, num_pre, num_post, l_vec, float(Mbar), alpha, method, grid, sims, seed)
    if not acc.any():
        return math.nan, math.nan
    return float(grid[acc].min()), float(grid[acc].max())


def sensitivity_rm(betahat, sigma, *, num_pre: int, num_post: int, Mbarvec, l_vec=None, alpha: float = 0.05,
                   method: str = "C-LF", **grid) -> pd.DataFrame:
    """:func:`ci_rm` over a grid of ``Mbar`` (R ``createSensitivityResults_relativeMagnitudes``):
    columns lb, ub, method, Delta, Mbar."""
    rows = []
    for Mbar in Mbarvec:
        lo, hi = ci_rm(betahat, sigma, num_pre=num_pre, num_post=num_post, Mbar=float(Mbar), l_vec=l_vec,
                       alpha=alpha, method=method, **grid)
        rows.append({"lb": lo, "ub": hi, "method": method, "Delta": "DeltaRM", "Mbar": float(Mbar)})
    return pd.DataFrame(rows)


def breakdown_rm(betahat, sigma, *, num_pre: int, num_post: int, l_vec=None, alpha: float = 0.05,
                 method: str = "C-LF", tol: float = 0.01, Mbar_max: float = 10.0, **grid) -> float:
    """The smallest ``Mbar`` (to ``tol``) whose robust set contains 0: how large the post-period
    violations of parallel trends may be, relative to the largest pre-period one, before the
    effect stops being significant. ``0.0`` if the set contains 0 already at ``Mbar = 0``;
    ``inf`` if it still excludes 0 at ``Mbar_max``. Assumes the sets grow with ``Mbar`` (they do:
    ``Delta^RM`` is nested)."""
    def covers_zero(Mbar):
        lo, hi = ci_rm(betahat, sigma, num_pre=num_pre, num_post=num_post, Mbar=Mbar, l_vec=l_vec, alpha=alpha,
                       method=method, **grid)
        return not (lo > 0 or hi < 0)

    if covers_zero(0.0):
        return 0.0
    if not covers_zero(Mbar_max):
        return math.inf
    lo, hi = 0.0, Mbar_max
    while hi - lo > tol:
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if covers_zero(mid) else (mid, hi)
    return hi
