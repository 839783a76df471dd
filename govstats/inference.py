"""Few-cluster inference: wild cluster restricted bootstrap, CRV3, randomization inference.

Five places are five clusters. With so few clusters the usual cluster-robust
(CR1) t-test rejects a true null far too often, so govstats reports, beside the
clustered p-value, the p-value and confidence interval of the **wild cluster
restricted bootstrap** (WCR; Cameron, Gelbach & Miller 2008), computed with the
"fast and wild" algorithm of Roodman, MacKinnon, Nielsen & Webb (2019).

Conventions (each one checked in ``tests/test_inference.py`` against an outside
reference):

* **t-statistic.** CR1 with the Stata / fixest / R plm ``"sss"`` small-sample
  factor ``G/(G-1) * (N-1)/(N-K)``. ``K`` follows fixest's default
  ``ssc(fixef.K = "nested")`` (pyfixest ``k_fixef="nonnested"``): without fixed
  effects ``K`` is the number of columns of ``X``; with fixed effects
  ``K = k_X + 1 + sum over FE *not* nested in the clusters of (levels - 1)``,
  i.e. fixed effects nested in the cluster variable count as a single intercept.
  The bootstrap p-value and the confidence interval do not depend on this factor
  (it scales the original and every bootstrap t alike); only the reported t does.
* **Bootstrap.** Null imposed (restricted residuals), cluster-level weights, the
  bootstrap t uses the bootstrap sample's own CR1 variance ("WCR11" in the
  naming of MacKinnon, Nielsen & Webb 2023; boottest's and fwildclusterboot's
  default; wildboottest's ``bootstrap_type="11"``).
* **p-value and ties.** Symmetric by default: the share of bootstrap draws with
  ``|t*| >= |t|``, ties counted (a draw within a relative ``1e-9`` of ``|t|`` is a
  tie). A weight vector that is the same in every cluster (``v = +1`` and
  ``v = -1``; with Webb weights all six constant vectors) rebuilds the original
  sample up to sign, so its ``|t*|`` equals ``|t|`` exactly: under full
  enumeration the original draw is one of the draws and counts (MacKinnon &
  Webb 2017). WildBootTests.jl (boottest's engine) counts strictly, so its p is
  lower by the tied draws' share; wildboottest / pyfixest count ties when
  floating-point rounding lands them on or above ``|t|``.
  ``"equal-tailed"`` gives ``2 * min(P(t* >= t), P(t* <= t))``, ties counted
  likewise.
* **Smallest attainable p-value.** The constant weight vectors always tie, so
  the p-value can never be below their share of the draws: ``2 / 2**G`` with
  Rademacher weights enumerated (0.0625 with five clusters: a 5% test can never
  reject), ``6 / 6**G`` with Webb's. When that floor is above ``alpha`` the
  bootstrap warns (``UserWarning``; the text is also kept in
  ``BootstrapResult.p_min_warning``) and the confidence interval is the whole
  line.
* **Enumeration.** When the weight distribution has at most ``reps`` distinct
  vectors (``2**G`` Rademacher, ``6**G`` Webb) every vector is used once and the
  result is deterministic; ``reps`` then reports the enumeration size.
* **Weights "auto".** Webb's six-point weights when ``G < 12``, Rademacher
  otherwise. Rademacher weights give only ``2**G`` distinct bootstrap samples
  (``2**(G-1)`` distinct ``|t*|``), too few to resolve a 5% test when ``G`` is
  below about 10-12 (Webb 2023, "Reworking wild bootstrap-based inference for
  clustered errors", Canadian Journal of Economics; MacKinnon & Webb 2017, JAE;
  Roodman et al. 2019 §3.4).
* **Confidence interval.** By test inversion, as Stata's boottest does: the set
  of ``h0`` whose bootstrap p-value exceeds ``alpha``, with the *same*
  draws for every ``h0``. Its bounds are located by bracketing outward from the
  CR1 interval and bisection to ``1e-10`` of the standard error.

Fixed effects (``fe=``) are partialled out exactly: fixed effects nested in the
clusters by within-demeaning (Frisch-Waugh-Lovell; exact for the bootstrap
because the bootstrap weights are constant within clusters), every other fixed
effect as explicit dummy columns, so results equal those of the full
dummy-variable regression. Demeaning, nesting, indicators and cluster sums come
from the fixed-effects core, :mod:`govstats.fixed_effects`.

References
----------
Cameron, Gelbach & Miller (2008), Review of Economics and Statistics 90(3).
Roodman, MacKinnon, Nielsen & Webb (2019), "Fast and wild: Bootstrap inference
in Stata using boottest", Stata Journal 19(1).
MacKinnon, Nielsen & Webb (2023), "Cluster-robust inference: A guide to
empirical practice", Journal of Econometrics 232(2).
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from govstats import fixed_effects as fx
from govstats._literals import PValueKind, RIStatistic, WeightsKind, check_literal
from govstats.errors import DataValidationError, Problem

__all__ = [
    "FEW_CLUSTERS",
    "WEBB_BELOW_G",
    "BootstrapDraws",
    "BootstrapResult",
    "PValueKind",
    "RandomizationResult",
    "WeightsKind",
    "WildClusterBootstrap",
    "cr1_se",
    "crv3_se",
    "draw_weights",
    "few_clusters_message",
    "p_min_message",
    "randomization_inference",
    "wild_cluster_bootstrap",
    "wild_cluster_bootstrap_params",
]


#: "auto" weights are Webb's six-point weights below this many clusters.
WEBB_BELOW_G = 12
#: Below this many clusters a clustered p-value is shown with the bootstrap one and a warning.
FEW_CLUSTERS = 30

_WEBB_VALUES = np.array(
    [-math.sqrt(1.5), -1.0, -math.sqrt(0.5), math.sqrt(0.5), 1.0, math.sqrt(1.5)]
)
_SQRT5 = math.sqrt(5.0)
_MAMMEN_VALUES = np.array([-(_SQRT5 - 1) / 2, (_SQRT5 + 1) / 2])
_MAMMEN_PROBS = np.array([(_SQRT5 + 1) / (2 * _SQRT5), (_SQRT5 - 1) / (2 * _SQRT5)])
# |t*| within this relative distance of |t| is a tie (the constant weight vectors
# reproduce |t| exactly up to rounding) and counts as reaching it.
_TIE_RTOL = 1e-9
# Largest number of cells (clusters x draws) handled in one block.
_BLOCK_CELLS = 4_000_000


def few_clusters_message(n_clusters: int) -> str | None:
    """The warning to show beside a clustered p-value when clusters are few.

    Parameters
    ----------
    n_clusters : int
        Number of clusters ``G``.

    Returns
    -------
    str or None
        ``None`` when ``G >= FEW_CLUSTERS`` (30), otherwise a one-line warning.

    Examples
    --------
    >>> few_clusters_message(5)[:30]
    'Only 5 clusters: the clustered'
    >>> few_clusters_message(50) is None
    True
    """
    if n_clusters >= FEW_CLUSTERS:
        return None
    return (
        f"Only {n_clusters} clusters: the clustered (CR1) t-test over-rejects with fewer than "
        f"about {FEW_CLUSTERS} clusters; read the wild cluster bootstrap p-value instead."
    )


# --------------------------------------------------------------------------- design


@dataclass(frozen=True)
class _Design:
    """Regression design after fixed effects are partialled out."""

    y: np.ndarray  # (n,)
    Z: np.ndarray  # (n, K_design): X columns, then non-nested FE dummies (and intercept)
    names: list[str]  # names of the first k_x columns of Z (the user's X)
    k_x: int
    cluster: np.ndarray  # (n,) codes 0..G-1
    G: int
    k_ssc: int  # K in (N-1)/(N-K)
    nested_fe: list[np.ndarray]  # codes of the FE nested in the clusters (demeaned)
    fe_note: str

    @property
    def n_obs(self) -> int:
        return len(self.y)

    @property
    def ssc(self) -> float:
        n, G = self.n_obs, self.G
        return G / (G - 1) * (n - 1) / (n - self.k_ssc)

    def cluster_sum(self, M: np.ndarray) -> np.ndarray:
        """Sum the rows of ``M`` (n,) or (n, k) within clusters -> (G,) or (G, k)."""
        return fx.group_sum(self.cluster, M, self.G)


def _as_names_and_matrix(X) -> tuple[list[str], np.ndarray]:
    if isinstance(X, pd.Series):
        return [str(X.name) if X.name is not None else "x0"], X.to_numpy(dtype=float)[:, None]
    if isinstance(X, pd.DataFrame):
        problems = [
            Problem(
                "regressor is not numeric",
                column=str(c),
                value=str(X[c].dtype),
                hint="convert it to numbers (or to dummy columns) before fitting",
            )
            for c in X.columns
            if not (pd.api.types.is_numeric_dtype(X[c]) or pd.api.types.is_bool_dtype(X[c]))
        ]
        DataValidationError.raise_if_any(problems, what="regressors X")
        return [str(c) for c in X.columns], X.to_numpy(dtype=float)
    arr = np.asarray(X, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"X must be 1- or 2-dimensional, got shape {arr.shape}")
    return [f"x{i}" for i in range(arr.shape[1])], arr


def _codes(values, what: str) -> tuple[np.ndarray, list[Problem]]:
    s = pd.Series(np.asarray(values) if not isinstance(values, pd.Series) else values.to_numpy())
    problems = []
    missing = np.flatnonzero(s.isna().to_numpy())
    for pos in missing[:10]:
        problems.append(
            Problem(f"missing {what}", row=int(pos) + 1, column=what, hint="row number counts from 1")
        )
    if len(missing) > 10:
        problems.append(Problem(f"... and {len(missing) - 10} more missing {what} values", column=what))
    if problems:  # raised with every other problem by the caller
        return np.zeros(len(s), dtype=np.intp), problems
    return fx.factorize(s)[0], problems


def _fe_columns(fe, n: int) -> list[tuple[str, object]]:
    if fe is None:
        return []
    if isinstance(fe, pd.DataFrame):
        return [(str(c), fe[c]) for c in fe.columns]
    if isinstance(fe, pd.Series):
        return [(str(fe.name or "fe0"), fe)]
    arr = np.asarray(fe)
    if arr.ndim == 1:
        return [("fe0", arr)]
    if arr.ndim == 2:
        return [(f"fe{j}", arr[:, j]) for j in range(arr.shape[1])]
    raise ValueError(f"fe must be (n,) or (n, m), got shape {arr.shape}")


def _prepare_design(y, X, cluster, fe) -> _Design:
    names, Xm = _as_names_and_matrix(X)
    yv = np.asarray(y.to_numpy() if isinstance(y, pd.Series | pd.DataFrame) else y, dtype=float)
    yv = yv.reshape(-1)
    n = len(yv)
    problems: list[Problem] = []
    if Xm.shape[0] != n:
        raise ValueError(f"y has {n} rows but X has {Xm.shape[0]}")
    if len(cluster) != n:
        raise ValueError(f"y has {n} rows but cluster has {len(cluster)}")
    for pos in np.flatnonzero(~np.isfinite(yv))[:10]:
        problems.append(Problem("missing or infinite outcome", row=int(pos) + 1, column="y", value=yv[pos]))
    bad_rows, bad_cols = np.nonzero(~np.isfinite(Xm))
    for r, c in list(zip(bad_rows, bad_cols, strict=True))[:10]:
        problems.append(
            Problem("missing or infinite regressor", row=int(r) + 1, column=names[c], value=Xm[r, c])
        )
    ccodes, p = _codes(cluster, "cluster")
    problems += p
    fe_cols = _fe_columns(fe, n)
    fe_codes = []
    for name, col in fe_cols:
        if len(col) != n:
            raise ValueError(f"y has {n} rows but fixed effect {name!r} has {len(col)}")
        codes, p = _codes(col, f"fixed effect {name}")
        problems += p
        fe_codes.append((name, codes))
    DataValidationError.raise_if_any(problems, what="regression data (rows count from 1)")
    G = int(ccodes.max()) + 1
    if G < 2:
        raise ValueError("the wild cluster bootstrap needs at least 2 clusters; found 1")

    nested = [(nm, c) for nm, c in fe_codes if fx.is_nested(c, ccodes)]
    others = [(nm, c) for nm, c in fe_codes if not fx.is_nested(c, ccodes)]
    blocks = [Xm]
    if fe_codes and not nested:
        blocks.append(np.ones((n, 1)))
    for _, c in others:  # dummy columns, first level left out
        blocks.append(fx.indicator(c).T.toarray()[:, 1:])
    Z = np.hstack(blocks)
    nested_fe = [c for _, c in nested]
    if nested_fe:
        both = fx.demean(np.column_stack([yv, Z]), nested_fe)
        yv, Z = both[:, 0], both[:, 1:]
    k_ssc = Z.shape[1] + (1 if nested else 0)
    _check_rank(Z, names)
    note = "none"
    if fe_codes:
        parts = [f"{nm} (nested in clusters: within-demeaned)" for nm, _ in nested]
        parts += [f"{nm} (not nested: dummy columns)" for nm, _ in others]
        note = "; ".join(parts)
    return _Design(
        y=yv,
        Z=Z,
        names=names,
        k_x=len(names),
        cluster=ccodes,
        G=G,
        k_ssc=k_ssc,
        nested_fe=nested_fe,
        fe_note=note,
    )


def _check_rank(Z: np.ndarray, names: Sequence[str]) -> None:
    if Z.shape[0] <= Z.shape[1]:
        raise ValueError(f"{Z.shape[0]} observations cannot identify {Z.shape[1]} coefficients")
    _, r, piv = scipy.linalg.qr(Z, mode="economic", pivoting=True)
    diag = np.abs(np.diag(r))
    tol = diag.max() * max(Z.shape) * np.finfo(float).eps * 10
    rank = int((diag > tol).sum())
    if rank < Z.shape[1]:
        dropped = [int(j) for j in piv[rank:]]
        labels = [names[j] if j < len(names) else f"fixed-effect dummy #{j - len(names)}" for j in dropped]
        raise DataValidationError(
            [
                Problem(
                    "regressor is collinear with the other regressors or the fixed effects",
                    column=lab,
                    hint="drop it, or check that it varies within the fixed-effect groups",
                )
                for lab in labels
            ],
            what="regressors X",
        )


def _param_index(design: _Design, param) -> int:
    if isinstance(param, int | np.integer) and not isinstance(param, bool):
        if not 0 <= int(param) < design.k_x:
            raise IndexError(f"param={param} is out of range for {design.k_x} regressors")
        return int(param)
    if param in design.names:
        return design.names.index(param)
    raise KeyError(f"param {param!r} is not a column of X; columns are {design.names}")


# --------------------------------------------------------------------------- weights


def _n_distinct(kind: str, G: int) -> float:
    if kind not in ("rademacher", "webb") or G > 1000:
        return math.inf  # 2.0**1024 overflows; no B that large is ever asked for
    return {"rademacher": 2.0**G, "webb": 6.0**G}[kind]


def draw_weights(
    weights_type: Literal["rademacher", "webb", "mammen", "norm"],
    n_clusters: int,
    reps: int,
    *,
    seed: int | None = 0,
) -> tuple[np.ndarray, bool]:
    """Bootstrap weights, one column per draw, enumerated when that is possible.

    Parameters
    ----------
    weights_type : {"rademacher", "webb", "mammen", "norm"}
        Rademacher: +-1 with probability 1/2. Webb six-point: +-sqrt(1/2), +-1,
        +-sqrt(3/2), each with probability 1/6. Mammen two-point:
        -(sqrt5-1)/2 or (sqrt5+1)/2. Normal: standard normal.
    n_clusters : int
        Number of clusters ``G``.
    reps : int
        Number of draws wanted.
    seed : int or None
        Seed of ``numpy.random.default_rng`` (unused when enumerated).

    Returns
    -------
    weights : ndarray, shape (G, reps_used)
        ``reps_used = 2**G`` (Rademacher) or ``6**G`` (Webb) when that is ``<= reps``
        (every distinct vector once, deterministic), else ``reps``.
    enumerated : bool

    Examples
    --------
    >>> V, enumerated = draw_weights("rademacher", 3, 999)
    >>> V.shape, enumerated
    ((3, 8), True)
    >>> draw_weights("webb", 12, 999, seed=1)[0].shape
    (12, 999)
    """
    check_literal(weights_type, Literal["rademacher", "webb", "mammen", "norm"], "weights_type")
    kind, B = weights_type, int(reps)
    G = int(n_clusters)
    if B < 1:
        raise ValueError(f"reps must be at least 1, got {reps}")
    if _n_distinct(kind, G) <= B:
        values = [-1.0, 1.0] if kind == "rademacher" else _WEBB_VALUES
        V = np.array(list(itertools.product(values, repeat=G)), dtype=float).T
        return V, True
    rng = np.random.default_rng(seed)
    if kind == "rademacher":
        V = rng.integers(0, 2, size=(G, B)).astype(float) * 2.0 - 1.0
    elif kind == "webb":
        V = _WEBB_VALUES[rng.integers(0, 6, size=(G, B))]
    elif kind == "mammen":
        V = rng.choice(_MAMMEN_VALUES, size=(G, B), p=_MAMMEN_PROBS)
    else:
        V = rng.standard_normal(size=(G, B))
    return V, False


def _resolve_weights(weights_type: str, G: int) -> str:
    check_literal(weights_type, WeightsKind, "weights_type")
    if weights_type == "auto":
        return "webb" if G < WEBB_BELOW_G else "rademacher"
    return weights_type


# --------------------------------------------------------------------------- the bootstrap


def _count_exceed(t_boot: np.ndarray, t: float, kind: str) -> float:
    """Bootstrap p-value from the draws' t-statistics; ties with ``t`` count (module notes)."""
    tol = _TIE_RTOL * max(abs(t), 1e-300)
    if kind == "symmetric":
        return float(np.mean(np.abs(t_boot) >= abs(t) - tol))
    upper = np.mean(t_boot >= t - tol)
    lower = np.mean(t_boot <= t + tol)
    return float(min(1.0, 2.0 * min(upper, lower)))


def _constant_draws(V: np.ndarray) -> int:
    """Weight vectors equal in every cluster: they rebuild the original sample up to sign."""
    return int(np.count_nonzero(np.all(V == V[:1], axis=0)))


def p_min_message(p_min: float, alpha: float, *, n_clusters: int, weights_type: str, reps: int,
                  enumerated: bool) -> str | None:
    """The warning when the smallest attainable bootstrap p-value is above ``alpha``.

    Examples
    --------
    >>> p_min_message(2 / 32, 0.05, n_clusters=5, weights_type="rademacher", reps=32,
    ...               enumerated=True)[:60]
    'the smallest attainable wild-bootstrap p-value is 0.0625 (5 c'
    >>> p_min_message(6 / 7776, 0.05, n_clusters=5, weights_type="webb", reps=7776, enumerated=True) is None
    True
    """
    if not p_min > alpha:
        return None
    how = "all of them enumerated" if enumerated else "drawn at random"
    advice = (
        " Use weights_type='webb' (6**G distinct draws)." if weights_type == "rademacher"
        else " Use more draws (reps) or more clusters."
    )
    return (
        f"the smallest attainable wild-bootstrap p-value is {p_min:.4g} ({n_clusters} clusters, "
        f"{reps} {weights_type} draws, {how}; the draws with the same weight in every cluster "
        f"always reproduce |t|), above alpha = {alpha:g}: the test can never reject at that level "
        f"and the confidence interval is unbounded.{advice}"
    )


@dataclass(frozen=True)
class BootstrapDraws:
    """Per-draw sufficient statistics: the bootstrap t of every draw, for any ``h0``.

    With ``delta = estimate - h0`` every draw's bootstrap t-statistic is
    ``(n0 + delta n1) / sqrt(ssc (caa + 2 delta cab + delta^2 cbb))``, so a new
    ``h0`` costs O(reps), which makes test inversion cheap (Roodman et al. 2019).
    Build one with :meth:`WildClusterBootstrap.draws`.
    """

    n0: np.ndarray
    n1: np.ndarray
    caa: np.ndarray
    cab: np.ndarray
    cbb: np.ndarray
    estimate: float
    se_unscaled: float  # sqrt(sum_g c0_g^2): the CR1 se without the ssc factor
    ssc: float
    n_constant: int = 0  # draws with the same weight in every cluster (always ties)

    @property
    def reps(self) -> int:
        return len(self.n0)

    @property
    def p_min(self) -> float:
        """Smallest attainable p-value: the share of draws that tie with ``|t|`` whatever ``h0``."""
        return self.n_constant / self.reps

    def t_stat(self, h0: float) -> float:
        """Original CR1 t-statistic for H0: param = h0."""
        return (self.estimate - h0) / (math.sqrt(self.ssc) * self.se_unscaled)

    def t_stats(self, h0: float) -> np.ndarray:
        """The ``reps`` bootstrap t-statistics under H0: param = h0 (ssc applied)."""
        d = self.estimate - h0
        var = self.caa + 2.0 * d * self.cab + d * d * self.cbb
        with np.errstate(divide="ignore", invalid="ignore"):
            return (self.n0 + d * self.n1) / np.sqrt(self.ssc * np.maximum(var, 0.0))

    def p_value(self, h0: float, p_value_type: PValueKind = "symmetric") -> float:
        """Bootstrap p-value of H0: param = h0 with these draws."""
        return _count_exceed(self.t_stats(h0), self.t_stat(h0), p_value_type)

    def confidence_interval(
        self, alpha: float = 0.05, p_value_type: PValueKind = "symmetric", *, G: int | None = None
    ) -> tuple[float, float]:
        """Bounds of ``{h0 : p(h0) > alpha}`` by bracketing and bisection.

        When the smallest attainable p-value is above ``alpha`` no ``h0`` is rejected and
        the interval is ``(-inf, inf)`` (returned at once, without searching).
        """
        if not 0 < alpha < 1:
            raise ValueError(f"alpha must be in (0, 1), got {alpha}")
        if self.p_min > alpha:
            return (-math.inf, math.inf)
        est = self.estimate
        se = math.sqrt(self.ssc) * self.se_unscaled
        if not np.isfinite(se) or se == 0:
            return (math.nan, math.nan)
        df = (G - 1) if G else 30
        step = float(stats.t.ppf(1 - alpha / 2, df)) * se
        bounds = []
        for side in (-1.0, 1.0):
            inner, outer = est, est + side * step
            k = 0
            while self.p_value(outer, p_value_type) > alpha:
                inner = outer
                outer = est + side * step * 2.0 ** (k + 1)
                k += 1
                if k > 60:
                    outer = math.inf * side
                    break
            if math.isinf(outer):
                bounds.append(outer)
                continue
            # bisection; the tolerance never drops below the spacing of floats near the
            # bound (a tiny SE would otherwise ask for more precision than exists), and
            # 200 halvings bound the loop whatever happens
            xtol = max(1e-10 * se, 4 * np.spacing(max(abs(inner), abs(outer))))
            for _ in range(200):
                if abs(outer - inner) <= xtol:
                    break
                mid = 0.5 * (inner + outer)
                if self.p_value(mid, p_value_type) > alpha:
                    inner = mid
                else:
                    outer = mid
            bounds.append(0.5 * (inner + outer))
        return (bounds[0], bounds[1])


def _wild_fit(y, X, cluster, fe):
    """The coefficient-independent part of :class:`WildClusterBootstrap`: the design, ``A =
    (Z'Z)^-1``, the estimates and the residuals."""
    d = _prepare_design(y, X, cluster, fe)
    Z, yv = d.Z, d.y
    ZtZ = Z.T @ Z
    cho = scipy.linalg.cho_factor(ZtZ)
    A = scipy.linalg.cho_solve(cho, np.eye(Z.shape[1]))
    A = 0.5 * (A + A.T)
    beta = A @ (Z.T @ yv)
    uhat = yv - Z @ beta
    return d, A, beta, uhat


class WildClusterBootstrap:
    """The wild cluster restricted bootstrap for one coefficient, precomputed.

    Holds the cluster-level sufficient statistics of Roodman et al. (2019):
    after an O(N K) set-up, each bootstrap draw costs O(G K), independent of N.
    Most users want :func:`wild_cluster_bootstrap`; this class is for reusing
    one set-up with several weight matrices or null values.

    Parameters
    ----------
    y : array-like, shape (n,)
    X : DataFrame or array, shape (n, k)
        Regressors; include an intercept column yourself when ``fe`` is None.
    cluster : array-like, shape (n,)
        Cluster labels.
    param : str or int
        Column of ``X`` to test.
    fe : None, array-like (n,) or (n, m), or DataFrame
        Fixed effects to partial out (see the module notes).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(8), 20)
    >>> X = pd.DataFrame({"const": 1.0, "x": rng.normal(size=160)})
    >>> y = 1 + 0.5 * X["x"] + rng.normal(size=8)[g] + rng.normal(size=160)
    >>> wcb = WildClusterBootstrap(y, X, g, param="x")
    >>> V, _ = draw_weights("rademacher", wcb.n_clusters, 999)
    >>> draws = wcb.draws(V)
    >>> draws.reps
    256
    >>> round(draws.t_stat(0.0), 6) == round(wcb.t_stat(0.0), 6)
    True
    """

    def __init__(self, y, X, cluster, *, param, fe=None, _fit=None):
        # _fit: (design, A, beta, uhat) of _WildFit, shared by the coefficients of one
        # regression (see for_params); the result is the same as when it is computed here
        d, A, beta, uhat = _wild_fit(y, X, cluster, fe) if _fit is None else _fit
        self.design = d
        self.param_index = _param_index(d, param)
        self.param = d.names[self.param_index]
        Z = d.Z
        j = self.param_index
        q = A[:, j]  # (X'X)^-1 R
        qj = q[j]  # R'(X'X)^-1 R
        Zq = Z @ q
        S0 = d.cluster_sum(Z * uhat[:, None])  # (G, K): X_g' u_hat_g
        S1 = d.cluster_sum(Z * Zq[:, None]) / qj  # (G, K): X_g'X_g d, d = A R / (R'AR)
        self._c0 = S0 @ q  # (G,)
        self._c1 = S1 @ q
        Wm = (S1 * qj) @ A  # rows w_g = A X_g'X_g A R
        self._W, self._S0, self._S1 = Wm, S0, S1
        self.beta = beta
        self.estimate = float(beta[j])
        self._se_unscaled = float(np.sqrt(np.sum(self._c0**2)))
        self.ssc = d.ssc

    @classmethod
    def for_params(cls, y, X, cluster, params, *, fe=None) -> list[WildClusterBootstrap]:
        """One set-up per coefficient in ``params`` of the same regression: the design, its
        fixed-effect partialling and ``(Z'Z)^-1`` are computed once and shared (each equals
        ``WildClusterBootstrap(y, X, cluster, param=p, fe=fe)``)."""
        fit = _wild_fit(y, X, cluster, fe)
        return [cls(None, None, None, param=p, _fit=fit) for p in params]

    @property
    def n_clusters(self) -> int:
        return self.design.G

    @property
    def n_obs(self) -> int:
        return self.design.n_obs

    @property
    def se_cr1(self) -> float:
        """CR1 standard error with the sss factor (Stata / fixest / plm convention)."""
        return math.sqrt(self.ssc) * self._se_unscaled

    def t_stat(self, h0: float = 0.0) -> float:
        return (self.estimate - h0) / self.se_cr1

    def _H_times(self, S: np.ndarray, V: np.ndarray) -> np.ndarray:
        # H V with H[g, h] = w_g' s_h; factored as W (S' V) when that is cheaper.
        G, K = S.shape
        if K < G:
            return self._W @ (S.T @ V)
        return (self._W @ S.T) @ V

    def draws(self, V: np.ndarray) -> BootstrapDraws:
        """Sufficient statistics of the bootstrap t for the weights ``V`` (G, reps).

        With ``a_g = c0_g v_g - w_g' S0' v`` (and ``b`` likewise from ``c1``, ``S1``) the
        draw's variance terms are ``sum_g a_g^2``, ``sum_g a_g b_g``, ``sum_g b_g^2``. When
        the design has few columns ``K`` next to ``G`` they are expanded into
        ``O(K)``-row products (one matrix product with ``V`` and one with ``V**2``)
        instead of ``G``-row intermediates.
        """
        V = np.asarray(V, dtype=float)
        G = self.n_clusters
        if V.ndim != 2 or V.shape[0] != G:
            raise ValueError(f"weights must have shape ({G}, reps), got {V.shape}")
        B = V.shape[1]
        K = self._S0.shape[1]
        out = {k: np.empty(B) for k in ("n0", "n1", "caa", "cab", "cbb")}
        block = max(1, _BLOCK_CELLS // G)
        c0, c1 = self._c0[:, None], self._c1[:, None]
        if 4 * K + 2 < G:  # expanded form
            W = self._W
            M = np.vstack([self._c0, self._c1, self._S0.T, self._S1.T, (W * c0).T, (W * c1).T])  # (2+4K, G)
            M2 = np.vstack([self._c0**2, self._c0 * self._c1, self._c1**2])  # (3, G)
            WtW = W.T @ W
        for start in range(0, B, block):
            Vb = V[:, start : start + block]
            sl = slice(start, start + Vb.shape[1])
            if 4 * K + 2 < G:
                P = M @ Vb
                Q = M2 @ (Vb * Vb)
                u0, u1 = P[2 : 2 + K], P[2 + K : 2 + 2 * K]
                p0, p1 = P[2 + 2 * K : 2 + 3 * K], P[2 + 3 * K :]
                Wu0, Wu1 = WtW @ u0, WtW @ u1
                out["n0"][sl], out["n1"][sl] = P[0], P[1]
                out["caa"][sl] = Q[0] - 2 * np.einsum("kb,kb->b", p0, u0) + np.einsum("kb,kb->b", u0, Wu0)
                out["cab"][sl] = (Q[1] - np.einsum("kb,kb->b", p0, u1) - np.einsum("kb,kb->b", p1, u0)
                                  + np.einsum("kb,kb->b", u0, Wu1))
                out["cbb"][sl] = Q[2] - 2 * np.einsum("kb,kb->b", p1, u1) + np.einsum("kb,kb->b", u1, Wu1)
                continue
            a = c0 * Vb - self._H_times(self._S0, Vb)
            b = c1 * Vb - self._H_times(self._S1, Vb)
            out["n0"][sl] = self._c0 @ Vb
            out["n1"][sl] = self._c1 @ Vb
            out["caa"][sl] = np.einsum("gb,gb->b", a, a)
            out["cab"][sl] = np.einsum("gb,gb->b", a, b)
            out["cbb"][sl] = np.einsum("gb,gb->b", b, b)
        return BootstrapDraws(
            **out, estimate=self.estimate, se_unscaled=self._se_unscaled, ssc=self.ssc,
            n_constant=_constant_draws(V),
        )


@dataclass(frozen=True)
class BootstrapResult:
    """Result of a wild cluster restricted bootstrap test of one coefficient.

    Attributes
    ----------
    param : str
        Tested coefficient.
    estimate : float
        OLS / within estimate.
    t_stat : float
        CR1 t-statistic of H0: param = h0 (sss small-sample factor).
    p_value : float
        Bootstrap p-value (``p_value_type``; ties with ``|t|`` counted, see the module notes).
    ci_low, ci_high : float
        ``1 - alpha`` confidence interval by test inversion (NaN when not asked for;
        infinite when ``p_min > alpha``).
    alpha : float
        Test level; the interval's confidence level is ``1 - alpha``.
    reps : int
        Draws used; the number of distinct weight vectors when ``enumerated``.
    enumerated : bool
        Every distinct weight vector used once (deterministic result).
    weights_type : str
        Weight distribution actually used ("auto" resolved).
    n_clusters : int
    seed : int or None
        Seed of the draws; None when enumerated (no randomness).
    h0 : float
        Null value.
    se_cr1 : float
        CR1 standard error (sss factor).
    p_value_cr1 : float
        The conventional clustered p-value, t(G-1) reference distribution
        (Stata / fixest), for showing beside the bootstrap one.
    ssc : float
        The small-sample factor ``G/(G-1) (N-1)/(N-K)``.
    n_obs : int
    k_ssc : int
        ``K`` in the small-sample factor.
    p_value_type : str
        "symmetric" or "equal-tailed".
    fixed_effects : str
        How fixed effects were partialled out ("none" if there were none).
    p_min : float
        Smallest attainable bootstrap p-value with these draws (the share of weight
        vectors that are the same in every cluster, which always tie with ``|t|``).
    p_min_warning : str or None
        The warning issued when ``p_min > alpha`` (the test can never reject).
    """

    param: str
    estimate: float
    t_stat: float
    p_value: float
    ci_low: float
    ci_high: float
    alpha: float
    reps: int
    enumerated: bool
    weights_type: str
    n_clusters: int
    seed: int | None
    h0: float
    se_cr1: float = math.nan
    p_value_cr1: float = math.nan
    ssc: float = math.nan
    n_obs: int = 0
    k_ssc: int = 0
    p_value_type: str = "symmetric"
    fixed_effects: str = "none"
    p_min: float = 0.0
    p_min_warning: str | None = None
    draws: BootstrapDraws | None = field(default=None, repr=False, compare=False)

    @property
    def warnings(self) -> tuple[str, ...]:
        """The few-clusters warning (below 30 clusters) and the ``p_min`` warning, if any."""
        return tuple(w for w in (few_clusters_message(self.n_clusters), self.p_min_warning) if w)

    def _series(self, value: float, name: str) -> pd.Series:
        return pd.Series([value], index=pd.Index([self.param], name="coefficient"), name=name)

    def coef(self) -> pd.Series:
        """The estimate, indexed by the coefficient's name."""
        return self._series(self.estimate, "estimate")

    def se(self) -> pd.Series:
        """The CR1 standard error (sss factor)."""
        return self._series(self.se_cr1, "std_error")

    def tstat(self) -> pd.Series:
        """The CR1 t-statistic of H0: param = h0."""
        return self._series(self.t_stat, "t_stat")

    def pvalue(self) -> pd.Series:
        """The bootstrap p-value."""
        return self._series(self.p_value, "p_value")

    def confint(self, alpha: float | None = None) -> pd.DataFrame:
        """Test-inversion interval at level ``1 - alpha`` (default the result's ``alpha``).

        Another ``alpha`` is inverted from the same draws (needs the draws kept on the result).
        """
        if alpha is None or float(alpha) == self.alpha:
            lo, hi = self.ci_low, self.ci_high
        elif self.draws is None:
            raise ValueError("this result keeps no bootstrap draws; rerun wild_cluster_bootstrap(alpha=...)")
        else:
            lo, hi = self.draws.confidence_interval(float(alpha), self.p_value_type, G=self.n_clusters)
        return pd.DataFrame({"ci_lower": [lo], "ci_upper": [hi]},
                            index=pd.Index([self.param], name="coefficient"))

    def tidy(self) -> pd.DataFrame:
        """One row: estimate, CR1 se and t, both p-values, the bootstrap interval and its settings."""
        return pd.DataFrame(
            {
                "estimate": [self.estimate], "std_error": [self.se_cr1], "t_stat": [self.t_stat],
                "p_value_cr1": [self.p_value_cr1], "p_value": [self.p_value],
                "ci_lower": [self.ci_low], "ci_upper": [self.ci_high], "h0": [self.h0],
                "reps": [self.reps], "enumerated": [self.enumerated], "weights_type": [self.weights_type],
                "n_clusters": [self.n_clusters], "p_min": [self.p_min],
            },
            index=pd.Index([self.param], name="coefficient"),
        )

    def summary(self) -> str:
        """Plain-text summary with both p-values and every warning."""
        draws = f"{self.reps} {'enumerated' if self.enumerated else 'random'} {self.weights_type} draws"
        lines = [
            f"Wild cluster restricted bootstrap (WCR11), H0: {self.param} = {self.h0:g}",
            f"  estimate {self.estimate:.6g}   CR1 se {self.se_cr1:.6g}   t {self.t_stat:.4f}",
            f"  clustered p-value (t, G-1 = {self.n_clusters - 1} df): {self.p_value_cr1:.4f}",
            f"  bootstrap p-value ({self.p_value_type}, ties counted, {draws}): {self.p_value:.4f}",
        ]
        if not math.isnan(self.ci_low):
            lines.append(
                f"  {1 - self.alpha:.0%} CI by test inversion: [{self.ci_low:.6g}, {self.ci_high:.6g}]"
            )
        lines.append(
            f"  N = {self.n_obs}, G = {self.n_clusters}, ssc = G/(G-1)*(N-1)/(N-K) with K = {self.k_ssc}"
        )
        lines += ["  WARNING: " + w for w in self.warnings]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


def wild_cluster_bootstrap(
    y,
    X,
    cluster,
    *,
    param,
    h0: float = 0.0,
    reps: int = 9999,
    weights_type: WeightsKind = "auto",
    seed: int | None = 0,
    alpha: float = 0.05,
    ci: bool = True,
    fe=None,
    p_value_type: PValueKind = "symmetric",
) -> BootstrapResult:
    """Wild cluster restricted bootstrap p-value and test-inversion CI for one coefficient.

    Parameters
    ----------
    y : array-like, shape (n,)
        Outcome.
    X : DataFrame (n, k) or array
        Regressors (named columns if a DataFrame). Include an intercept column
        when ``fe`` is None; with ``fe`` the intercept is absorbed.
    cluster : array-like, shape (n,)
        Cluster labels (any hashable values).
    param : str or int
        Column name (or position) of the coefficient to test.
    h0 : float
        Null value of the coefficient.
    reps : int
        Number of bootstrap draws; when the weight distribution has at most
        ``reps`` distinct vectors they are all used once instead (enumeration).
    weights_type : {"auto", "rademacher", "webb", "mammen", "norm"}
        "auto" = Webb when ``G < 12``, Rademacher otherwise.
    seed : int or None
        Seed for the draws (irrelevant when enumerated).
    alpha : float
        Test level: the interval is the ``1 - alpha`` test-inversion interval, and a
        ``UserWarning`` says so when no p-value at or below ``alpha`` is attainable.
    ci : bool
        Compute the confidence interval (False skips it: NaN bounds).
    fe : None, (n,) or (n, m) codes, or DataFrame
        Fixed effects partialled out exactly (nested ones by demeaning,
        others as dummies).
    p_value_type : {"symmetric", "equal-tailed"}

    Returns
    -------
    BootstrapResult

    Warns
    -----
    UserWarning
        When the smallest attainable p-value (``p_min``) is above ``alpha``, e.g.
        Rademacher weights with five clusters (``2 / 2**5 = 0.0625``).

    Examples
    --------
    Five clusters, a true effect of zero; Webb weights are enumerated
    (6**5 = 7776 <= reps), so the result is exact and needs no seed:

    >>> rng = np.random.default_rng(1)
    >>> g = np.repeat(np.arange(5), 30)
    >>> X = pd.DataFrame({"const": 1.0, "x": rng.normal(size=150)})
    >>> y = 2.0 + rng.normal(size=5)[g] + rng.normal(size=150)
    >>> res = wild_cluster_bootstrap(y, X, g, param="x")
    >>> res.weights_type, res.enumerated, res.reps
    ('webb', True, 7776)
    >>> res.ci_low < res.estimate < res.ci_high
    True
    """
    check_literal(p_value_type, PValueKind, "p_value_type")
    if not 0 < float(alpha) < 1:
        raise ValueError(f"alpha={alpha!r} must be in (0, 1) (0.05 gives a 95% interval)")
    wcb = WildClusterBootstrap(y, X, cluster, param=param, fe=fe)
    G = wcb.n_clusters
    kind = _resolve_weights(weights_type, G)
    V, enumerated = draw_weights(kind, G, reps, seed=seed)
    return _wild_result(wcb, V, enumerated, kind, h0=h0, seed=seed, alpha=alpha, ci=ci, p_value_type=p_value_type,
                        stacklevel=3)


def wild_cluster_bootstrap_params(
    y,
    X,
    cluster,
    *,
    params,
    h0: float = 0.0,
    reps: int = 9999,
    weights_type: WeightsKind = "auto",
    seed: int | None = 0,
    alpha: float = 0.05,
    ci: bool = True,
    fe=None,
    p_value_type: PValueKind = "symmetric",
) -> dict[str, BootstrapResult]:
    """:func:`wild_cluster_bootstrap` for several coefficients of one regression: ``{param:
    result}``, each result the same as ``wild_cluster_bootstrap(..., param=param)`` (the same
    draws), with the design, its factorization and the weights computed once."""
    check_literal(p_value_type, PValueKind, "p_value_type")
    if not 0 < float(alpha) < 1:
        raise ValueError(f"alpha={alpha!r} must be in (0, 1) (0.05 gives a 95% interval)")
    params = list(params)
    if not params:
        return {}
    out = {}
    V = enumerated = kind = None
    for wcb in WildClusterBootstrap.for_params(y, X, cluster, params, fe=fe):
        if V is None:
            kind = _resolve_weights(weights_type, wcb.n_clusters)
            V, enumerated = draw_weights(kind, wcb.n_clusters, reps, seed=seed)
        out[wcb.param] = _wild_result(wcb, V, enumerated, kind, h0=h0, seed=seed, alpha=alpha, ci=ci,
                                      p_value_type=p_value_type, stacklevel=3)
    return out


def _wild_result(wcb: WildClusterBootstrap, V, enumerated, kind, *, h0, seed, alpha, ci, p_value_type,
                 stacklevel) -> BootstrapResult:
    G = wcb.n_clusters
    draws = wcb.draws(V)
    p = draws.p_value(h0, p_value_type)
    msg = p_min_message(draws.p_min, alpha, n_clusters=G, weights_type=kind, reps=draws.reps,
                        enumerated=enumerated)
    if msg:
        warnings.warn(msg, UserWarning, stacklevel=stacklevel)
    lo = hi = math.nan
    if ci:
        lo, hi = draws.confidence_interval(alpha, p_value_type, G=G)
    t = wcb.t_stat(h0)
    return BootstrapResult(
        param=wcb.param,
        estimate=wcb.estimate,
        t_stat=t,
        p_value=p,
        ci_low=lo,
        ci_high=hi,
        alpha=float(alpha),
        reps=draws.reps,
        enumerated=enumerated,
        weights_type=kind,
        n_clusters=G,
        seed=None if enumerated else seed,
        h0=float(h0),
        se_cr1=wcb.se_cr1,
        p_value_cr1=float(2 * stats.t.sf(abs(t), G - 1)),
        ssc=wcb.ssc,
        n_obs=wcb.n_obs,
        k_ssc=wcb.design.k_ssc,
        p_value_type=p_value_type,
        fixed_effects=wcb.design.fe_note,
        p_min=draws.p_min,
        p_min_warning=msg,
        draws=draws,
    )


# --------------------------------------------------------------------------- CR1, CRV3


def cr1_se(y, X, cluster, *, fe=None) -> pd.Series:
    """CR1 cluster-robust standard errors with the sss small-sample factor.

    ``V = G/(G-1) (N-1)/(N-K) (X'X)^-1 (sum_g X_g'u_g u_g'X_g) (X'X)^-1`` with
    ``K`` counted as in the module notes (fixest's default ``fixef.K="nested"``).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(6), 10)
    >>> X = pd.DataFrame({"const": 1.0, "x": rng.normal(size=60)})
    >>> y = X["x"] + rng.normal(size=60)
    >>> list(cr1_se(y, X, g).index)
    ['const', 'x']
    """
    d = _prepare_design(y, X, cluster, fe)
    A = np.linalg.inv(d.Z.T @ d.Z)
    beta = A @ (d.Z.T @ d.y)
    u = d.y - d.Z @ beta
    V = d.ssc * A @ fx.cluster_meat(d.Z * u[:, None], d.cluster, d.G) @ A
    return pd.Series(np.sqrt(np.diag(V))[: d.k_x], index=d.names, name="se_cr1")


def crv3_se(y, X, cluster, *, fe=None) -> pd.Series:
    """Jackknife (CRV3) cluster-robust standard errors.

    ``V3 = (G-1)/G * sum_g (b_(g) - b)(b_(g) - b)'`` where ``b_(g)`` is the
    estimate with cluster ``g`` left out and ``b`` the full-sample estimate
    (MacKinnon, Nielsen & Webb 2023, "CV3"; wildboottest's CRV3; pyfixest's
    ``vcov={"CRV3": ...}`` is the same sum times its CR1 factor, so equal to
    this one with ``ssc(k_adj=False, G_adj=False)`` up to the factor (G-1)/G).
    Fixed effects nested in the clusters are left out with their cluster;
    others are kept as dummies, so each ``b_(g)`` is the exact leave-one-
    cluster-out fit.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> g = np.repeat(np.arange(6), 10)
    >>> X = pd.DataFrame({"const": 1.0, "x": rng.normal(size=60)})
    >>> y = X["x"] + rng.normal(size=60)
    >>> se3 = crv3_se(y, X, g)
    >>> bool(se3["x"] > 0)
    True
    """
    d = _prepare_design(y, X, cluster, fe)
    Z, yv = d.Z, d.y
    ZtZ, Zty = Z.T @ Z, Z.T @ yv
    beta = np.linalg.solve(ZtZ, Zty)
    ZgZg = d.cluster_sum(np.einsum("ni,nj->nij", Z, Z).reshape(len(yv), -1)).reshape(
        d.G, Z.shape[1], Z.shape[1]
    )
    Zgyg = d.cluster_sum(Z * yv[:, None])
    jack = np.empty((d.G, Z.shape[1]))
    for g in range(d.G):
        try:
            jack[g] = np.linalg.solve(ZtZ - ZgZg[g], Zty - Zgyg[g])
        except np.linalg.LinAlgError:
            jack[g] = np.linalg.lstsq(ZtZ - ZgZg[g], Zty - Zgyg[g], rcond=None)[0]
    dev = jack - beta
    V3 = (d.G - 1) / d.G * dev.T @ dev
    return pd.Series(np.sqrt(np.diag(V3))[: d.k_x], index=d.names, name="se_crv3")


# --------------------------------------------------------------------------- randomization inference


@dataclass(frozen=True)
class RandomizationResult:
    """Randomization (permutation) inference for a cluster-level treatment.

    Attributes
    ----------
    param : str
    estimate : float
        Coefficient of the treatment in the actual assignment.
    statistic : str
        "t" (CR1 t-statistic, the randomization-t) or "coef".
    observed : float
        The statistic in the actual assignment.
    p_value : float
        Enumerated: share of assignments with ``|stat| >= |observed|`` (the
        actual one included). Random: ``(1 + count) / (reps + 1)``.
    n_assignments : int
        Assignments used.
    enumerated : bool
        Every distinct assignment used once.
    seed : int or None
    """

    param: str
    estimate: float
    statistic: str
    observed: float
    p_value: float
    n_assignments: int
    enumerated: bool
    seed: int | None

    def pvalue(self) -> pd.Series:
        """The randomization p-value, indexed by the treatment's name."""
        return pd.Series([self.p_value], index=pd.Index([self.param], name="coefficient"), name="p_value")

    def coef(self) -> pd.Series:
        """The treatment coefficient in the actual assignment."""
        return pd.Series([self.estimate], index=pd.Index([self.param], name="coefficient"), name="estimate")

    def tidy(self) -> pd.DataFrame:
        """One row: estimate, statistic, observed value, p-value and the assignments used."""
        return pd.DataFrame(
            {"estimate": [self.estimate], "statistic": [self.statistic], "observed": [self.observed],
             "p_value": [self.p_value], "n_assignments": [self.n_assignments], "enumerated": [self.enumerated]},
            index=pd.Index([self.param], name="coefficient"),
        )

    def summary(self) -> str:
        how = "all enumerated" if self.enumerated else f"random, seed {self.seed}"
        return (
            f"Randomization inference ({'randomization-t' if self.statistic == 't' else 'coefficient'}), "
            f"{self.param}: estimate {self.estimate:.6g}, observed statistic {self.observed:.4f}, "
            f"p = {self.p_value:.4f} ({self.n_assignments} assignments, {how})"
        )


def _multiset_permutations(items: list) -> Iterator[tuple]:
    """Distinct orderings of ``items`` (which may repeat), lexicographic in first-seen order."""
    keys = list(dict.fromkeys(items))
    counts = [items.count(k) for k in keys]
    n = len(items)
    out: list = []

    def rec() -> Iterator[tuple]:
        if len(out) == n:
            yield tuple(out)
            return
        for i, k in enumerate(keys):
            if counts[i]:
                counts[i] -= 1
                out.append(k)
                yield from rec()
                out.pop()
                counts[i] += 1

    yield from rec()


def _n_multiset_permutations(items: list) -> int:
    n = math.factorial(len(items))
    for k in set(items):
        n //= math.factorial(items.count(k))
    return n


def randomization_inference(
    y,
    X,
    cluster,
    *,
    param,
    time=None,
    fe=None,
    reps: int = 9999,
    seed: int | None = 0,
    statistic: RIStatistic = "t",
) -> RandomizationResult:
    """Randomization inference: reassign the treatment across clusters.

    The treatment column ``X[param]`` is a cluster-level assignment: constant
    within each cluster (``time=None``), or a path over ``time`` shared by
    all observations of the cluster (staggered adoption). Each re-assignment
    gives cluster ``g`` the treatment (path) of cluster ``pi(g)``; the model
    (other regressors and fixed effects unchanged) is refitted and the
    statistic recomputed. When the number of distinct assignments
    ``G! / prod(n_v!)`` is at most ``reps`` all of them are enumerated.

    Parameters
    ----------
    y, X, cluster, fe
        As in :func:`wild_cluster_bootstrap`.
    param : str or int
        The treatment column of ``X``.
    time : array-like (n,), optional
        Time index, when the treatment varies within clusters over time.
        Every cluster must then be observed at the same set of times.
    reps : int
        Random assignments when enumeration would need more than ``reps``.
    seed : int or None
    statistic : {"t", "coef"}
        Randomization-t (CR1 t-statistic, recommended: MacKinnon & Webb 2020)
        or the coefficient itself.

    Returns
    -------
    RandomizationResult

    Examples
    --------
    Four one-observation clusters, two treated: C(4, 2) = 6 assignments.

    >>> X = pd.DataFrame({"const": 1.0, "d": [1.0, 1.0, 0.0, 0.0]})
    >>> r = randomization_inference([5.0, 7.0, 1.0, 2.0], X, [0, 1, 2, 3], param="d",
    ...                             statistic="coef")
    >>> r.n_assignments, r.enumerated, r.p_value
    (6, True, 0.3333333333333333)
    """
    check_literal(statistic, RIStatistic, "statistic")
    d = _prepare_design(y, X, cluster, fe)
    j = _param_index(d, param)
    name = d.names[j]
    _, Xraw = _as_names_and_matrix(X)
    treat = Xraw[:, j]
    codes = d.cluster
    G = d.G

    # each cluster's treatment "path": a tuple over the time points
    if time is None:
        time_codes = np.zeros(len(treat), dtype=np.int64)
        times: list = [0]
    else:
        time_codes, _ = _codes(time, "time")
        times = list(range(int(time_codes.max()) + 1))
    cell = pd.DataFrame({"g": codes, "t": time_codes, "d": treat})
    spread = cell.groupby(["g", "t"])["d"].agg(["min", "max", "size"])
    problems = [
        Problem(
            "treatment varies within a cluster" + (" and time period" if time is not None else ""),
            column=name,
            value=f"cluster #{g}, period #{t}: {row['min']}..{row['max']}",
            hint="randomization inference permutes a cluster-level assignment; pass time= for staggered adoption",
        )
        for (g, t), row in spread.iterrows()
        if row["min"] != row["max"]
    ]
    per_cluster = spread.reset_index().groupby("g")["t"].nunique()
    problems += [
        Problem(
            "cluster not observed in every period",
            value=f"cluster #{g}: {k} of {len(times)} periods",
            hint="randomization inference over paths needs every cluster at the same times",
        )
        for g, k in per_cluster.items()
        if k != len(times)
    ]
    DataValidationError.raise_if_any(problems, what="treatment assignment")
    path_table = spread["min"].unstack("t").sort_index()
    paths = [tuple(row) for row in path_table.to_numpy()]

    n_distinct = _n_multiset_permutations(paths)
    enumerated = n_distinct <= reps
    if enumerated:
        assignments = list(_multiset_permutations(paths))
    else:
        rng = np.random.default_rng(seed)
        assignments = [tuple(paths[i] for i in rng.permutation(G)) for _ in range(reps)]
    path_arr_idx = {p: i for i, p in enumerate(dict.fromkeys(paths))}
    path_values = np.array(list(path_arr_idx.keys()), dtype=float)  # (n_paths, T)
    assign_idx = np.array([[path_arr_idx[p] for p in a] for a in assignments])  # (P, G)

    # FWL: residualise y and each assigned treatment on the other columns of Z
    Z = d.Z
    others = np.delete(Z, j, axis=1)
    Q = np.linalg.qr(others)[0] if others.shape[1] else np.zeros((len(d.y), 0))

    def resid(M: np.ndarray) -> np.ndarray:
        if d.nested_fe:
            M = fx.demean(M, d.nested_fe)
        return M - Q @ (Q.T @ M)

    y_t = d.y  # already demeaned by the nested FE
    y_t = y_t - Q @ (Q.T @ y_t)
    stat_all = np.empty(len(assignments))
    coef_all = np.empty(len(assignments))
    block = max(1, 2_000_000 // max(len(y_t), 1))
    for start in range(0, len(assignments), block):
        idx = assign_idx[start : start + block]  # (P, G)
        D = path_values[idx[:, codes], time_codes].T  # (n, P)
        Dt = resid(D)
        dd = np.einsum("np,np->p", Dt, Dt)
        b = (Dt.T @ y_t) / dd
        coef_all[start : start + len(idx)] = b
        if statistic == "t":
            e = y_t[:, None] - Dt * b
            sc = fx.group_sum(codes, Dt * e, G)
            se = np.sqrt(d.ssc * np.einsum("gp,gp->p", sc, sc)) / dd
            stat_all[start : start + len(idx)] = b / se
        else:
            stat_all[start : start + len(idx)] = b

    # the observed statistic: refit at the actual assignment
    obs_D = treat[:, None]
    obs_Dt = resid(obs_D)
    obs_dd = float(obs_Dt[:, 0] @ obs_Dt[:, 0])
    obs_b = float(obs_Dt[:, 0] @ y_t) / obs_dd
    if statistic == "t":
        e = y_t - obs_Dt[:, 0] * obs_b
        sc = fx.group_sum(codes, obs_Dt[:, 0] * e, G)
        observed = obs_b / (math.sqrt(d.ssc * float(sc @ sc)) / obs_dd)
    else:
        observed = obs_b
    tol = 1e-9 * max(abs(observed), 1e-300)
    count = int(np.sum(np.abs(stat_all) >= abs(observed) - tol))
    if enumerated:
        p = count / len(assignments)
    else:
        p = (1 + count) / (len(assignments) + 1)
    return RandomizationResult(
        param=name,
        estimate=obs_b,
        statistic=statistic,
        observed=float(observed),
        p_value=float(p),
        n_assignments=len(assignments),
        enumerated=enumerated,
        seed=None if enumerated else seed,
    )
