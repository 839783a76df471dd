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

Not implemented: the relative-magnitudes restriction ``Delta^RM(Mbar)`` and its
conditional / hybrid ARP confidence sets (R ``createSensitivityResults_relativeMagnitudes``).

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
from scipy import optimize, stats

__all__ = ["breakdown_sd", "cv_folded_normal", "flci_sd", "flci_sd_details", "original_ci", "sensitivity_sd"]


def cv_folded_normal(b: float, alpha: float = 0.05) -> float:
    """The ``1 - alpha`` quantile of ``|N(b, 1)|`` (exact; R HonestDiD simulates it)."""
    b = abs(float(b))
    if b == 0:
        return float(stats.norm.ppf(1 - alpha / 2))

    def f(c):
        return stats.norm.cdf(c - b) - stats.norm.cdf(-c - b) - (1 - alpha)

    hi = b + stats.norm.ppf(1 - alpha) + 10
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
    P = _FLCIProblem(S, num_pre, num_post, l_vec)
    w0 = P.w_min_bias()
    h0 = math.sqrt(P.var(w0))
    wmin = P.w_min_var()
    h_min = math.sqrt(max(P.var(wmin), 0.0))

    cache: dict[float, tuple[float, np.ndarray]] = {}

    def half_length(h):
        if h not in cache:
            start = w0 if h >= h0 else wmin + (w0 - wmin) * ((h - h_min) / max(h0 - h_min, 1e-300))
            cache[h] = P.min_bias_given_h(h, start)
        bias = M * cache[h][0]
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
    w = cache[h_star][1] if h_star in cache else w0
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
