"""The fixed-effects core: group sums and means, demeaning, nesting, singletons, cluster meat.

Every estimator in govstats (``models``, ``inference``, ``did``, ``mediation``,
``multiverse``) partials fixed effects out and builds cluster-robust "meat" through
these functions, so the algebra exists once.

Definitions
-----------
codes
    Integer group labels ``0 .. G-1`` (from :func:`factorize`), one per observation.
demeaning
    Removing the fixed effects from a column ``v``: ``v - D (D'D)^-1 D' v`` with ``D``
    the dummy matrix of all fixed effects. One fixed effect (or two crossed on a
    balanced grid): one sweep of group means. Otherwise alternating projections, done
    by pyfixest's compiled demeaning (``pyfixest.estimation.demean``), which
    ``benchmarks/bench_fit.py`` times against the pure-NumPy sweep kept here for the
    one-effect case.
nested
    A fixed effect is nested in a cluster variable when every level of the effect lies
    inside one cluster (counties in their own clusters; a city's districts in the city).
    Small-sample rules do not count nested effects (fixest ``fixef.K = "nested"``).
singletons
    Observations alone in a level of some fixed effect: their residual is zero whatever
    the coefficients, so fixest and pyfixest drop them (``fixef_rm = "singleton"``);
    :func:`singletons` finds them (iteratively: dropping one can create another).
meat
    ``sum_g s_g s_g'`` with ``s_g`` the sum of the scores ``x_i e_i`` in cluster ``g``.

Examples
--------
>>> import numpy as np
>>> from govstats import fixed_effects as fx
>>> unit = np.array([0, 0, 1, 1]); year = np.array([0, 1, 0, 1])
>>> fx.demean(np.array([[1.0], [3.0], [5.0], [11.0]]), [unit, year]).ravel().tolist()
[1.0, -1.0, -1.0, 1.0]
>>> fx.is_nested(unit, np.array([7, 7, 8, 8])), fx.is_nested(year, np.array([7, 7, 8, 8]))
(True, False)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse
import scipy.sparse.csgraph

from govstats.errors import GovstatsError

__all__ = [
    "NotConvergedError",
    "cluster_meat",
    "cluster_sums",
    "combine",
    "demean",
    "factorize",
    "group_mean",
    "group_sum",
    "indicator",
    "is_balanced",
    "is_nested",
    "k_fixed_effects",
    "k_fixest",
    "n_components",
    "n_groups",
    "singletons",
]

DEMEAN_TOL = 1e-12  # relative: largest group mean removed, over the column's scale
DEMEAN_MAXITER = 100_000


class NotConvergedError(GovstatsError):
    """Alternating projections did not converge (a badly connected design)."""


def factorize(values) -> tuple[np.ndarray, int]:
    """Integer codes ``0 .. G-1`` (sorted by value) and ``G``; missing values are an error."""
    arr = values.to_numpy() if isinstance(values, pd.Series | pd.Index) else np.asarray(values)
    codes, uniques = pd.factorize(arr, sort=True)
    if (codes < 0).any():
        raise GovstatsError(
            f"{int((codes < 0).sum())} missing group label(s); drop or fill them before fitting"
        )
    return codes.astype(np.intp), len(uniques)


def n_groups(codes: np.ndarray) -> int:
    """Number of groups of ``codes`` (``max + 1``; 0 for no observations)."""
    return int(codes.max()) + 1 if len(codes) else 0


def combine(*codes: np.ndarray) -> np.ndarray:
    """Codes of the interaction of several groupings (``a^b`` in fixest syntax)."""
    out = np.zeros(len(codes[0]), dtype=np.int64)
    for c in codes:
        out = out * (n_groups(c) or 1) + c
    return pd.factorize(out, sort=True)[0].astype(np.intp)


def indicator(codes: np.ndarray, G: int | None = None) -> scipy.sparse.csr_matrix:
    """Sparse ``G x n`` matrix with a one where observation ``i`` is in group ``g``."""
    n = len(codes)
    G = n_groups(codes) if G is None else G
    return scipy.sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(G, n))


def group_sum(codes: np.ndarray, M: np.ndarray, G: int | None = None) -> np.ndarray:
    """Sum of the rows of ``M`` (n,) or (n, k) within each group -> (G,) or (G, k)."""
    G = n_groups(codes) if G is None else G
    M = np.asarray(M, dtype=float)
    if M.ndim == 1:
        return np.bincount(codes, weights=M, minlength=G)
    if M.shape[1] <= 64:  # one bincount per column beats a sparse product at these widths
        out = np.empty((G, M.shape[1]))
        for j in range(M.shape[1]):
            out[:, j] = np.bincount(codes, weights=M[:, j], minlength=G)
        return out
    return np.asarray(indicator(codes, G) @ M)


def group_mean(codes: np.ndarray, M: np.ndarray, G: int | None = None,
               weights: np.ndarray | None = None) -> np.ndarray:
    """(Weighted) mean of the rows of ``M`` within each group (empty groups give 0)."""
    G = n_groups(codes) if G is None else G
    if weights is None:
        counts = np.bincount(codes, minlength=G).astype(float)
        s = group_sum(codes, M, G)
    else:
        counts = np.bincount(codes, weights=weights, minlength=G)
        s = group_sum(codes, M * (weights if np.ndim(M) == 1 else weights[:, None]), G)
    counts[counts == 0] = 1.0
    return s / counts if s.ndim == 1 else s / counts[:, None]


def is_balanced(fes: Sequence[np.ndarray]) -> bool:
    """Two crossed effects observed once in every cell (a full, balanced grid)."""
    if len(fes) != 2:
        return False
    a, b = fes
    Ga, Gb = n_groups(a), n_groups(b)
    if len(a) != Ga * Gb:
        return False
    return len(np.unique(a.astype(np.int64) * Gb + b)) == len(a)


def demean(M: np.ndarray, fes: Sequence[np.ndarray], *, tol: float = DEMEAN_TOL,
           maxiter: int = DEMEAN_MAXITER, balanced: bool | None = None,
           weights: np.ndarray | None = None) -> np.ndarray:
    """Project the fixed effects ``fes`` (a list of code arrays) out of every column of ``M``.

    No fixed effect: ``M`` is returned (a copy). One effect, or two crossed effects on a
    balanced grid without weights: one exact sweep of (weighted) group means. Otherwise
    pyfixest's compiled alternating projections, with each column scaled to unit maximum
    first so that ``tol`` is relative. ``weights``: the weighted projection
    ``M - D (D'WD)^-1 D'W M`` (weighted least squares).

    Raises
    ------
    NotConvergedError
        Alternating projections did not converge in ``maxiter`` sweeps.
    """
    M = np.array(M, dtype=float, copy=True)
    fes = [np.asarray(c) for c in fes]
    if not fes or M.size == 0:
        return M
    if weights is not None:
        balanced = False  # one sweep is exact for equal weights only
    elif balanced is None:
        balanced = is_balanced(fes)
    if len(fes) == 1 or balanced:
        for codes in fes:
            M -= group_mean(codes, M, weights=weights)[codes]
        return M
    # pyfixest's compiled demeaner itself (pyfixest.estimation re-exports this same function,
    # but importing pyfixest.estimation costs seconds: every estimator module and its deps)
    from pyfixest.core import demean as pf_demean

    vec = M.ndim == 1
    M2 = M[:, None] if vec else M
    scale = np.abs(M2).max(axis=0)
    scale[scale == 0] = 1.0
    flist = np.ascontiguousarray(np.column_stack(fes), dtype=np.uint64)
    out, converged = pf_demean(
        np.ascontiguousarray(M2 / scale), flist,
        np.ones(len(M2)) if weights is None else np.ascontiguousarray(weights, dtype=float),
        tol=tol, maxiter=maxiter
    )
    if not converged:
        raise NotConvergedError(
            f"fixed effects did not converge in {maxiter} alternating projections; the panel "
            "may be badly connected (check for units seen in one period only)"
        )
    out = np.asarray(out) * scale
    return out[:, 0] if vec else out


def is_nested(fe_codes: np.ndarray, cluster_codes: np.ndarray) -> bool:
    """True if every level of the fixed effect lies inside one cluster."""
    fe_codes = np.asarray(fe_codes)
    cluster_codes = np.asarray(cluster_codes)
    if len(fe_codes) == 0:
        return True
    first = np.empty(n_groups(fe_codes), dtype=cluster_codes.dtype)
    first[fe_codes[::-1]] = cluster_codes[::-1]  # last write wins: the first occurrence
    return bool(np.array_equal(first[fe_codes], cluster_codes))


def n_components(a: np.ndarray, b: np.ndarray) -> int:
    """Connected components of the bipartite graph linking levels of two effects."""
    Ga, Gb = n_groups(a), n_groups(b)
    graph = scipy.sparse.coo_matrix((np.ones(len(a)), (a, b)), shape=(Ga, Gb)).tocsr()
    adj = scipy.sparse.bmat([[None, graph], [graph.T, None]])
    n, _ = scipy.sparse.csgraph.connected_components(adj, directed=False)
    return int(n)


def k_fixest(fes: Sequence[np.ndarray]) -> int:
    """fixest's count of absorbed parameters, ``sum(levels) - (n_effects - 1)`` (no graph work)."""
    return sum(n_groups(c) for c in fes) - (len(fes) - 1) if fes else 0


def k_fixed_effects(fes: Sequence[np.ndarray], *, balanced: bool | None = None) -> tuple[int, int]:
    """Parameters absorbed by the fixed effects: ``(rank, fixest count)``.

    The fixest count is ``sum(levels) - (n_effects - 1)`` (one reference level per extra
    effect), what fixest and pyfixest use in ``(N-1)/(N-K)``. The rank subtracts one more
    per extra connected component of two effects (an unbalanced, disconnected panel);
    it is the degrees-of-freedom count of plm and Stata ``areg``.
    """
    if not fes:
        return 0, 0
    fixest = sum(n_groups(c) for c in fes) - (len(fes) - 1)
    rank = fixest
    if len(fes) == 2 and not (is_balanced(fes) if balanced is None else balanced):
        rank -= n_components(fes[0], fes[1]) - 1
    return rank, fixest


def singletons(fes: Sequence[np.ndarray]) -> np.ndarray:
    """Boolean mask of singleton observations (alone in a level of some effect), iterated."""
    fes = [np.asarray(c) for c in fes]
    n = len(fes[0]) if fes else 0
    drop = np.zeros(n, dtype=bool)
    while True:
        keep = ~drop
        new = np.zeros(n, dtype=bool)
        for c in fes:
            counts = np.bincount(c[keep], minlength=n_groups(c))
            new |= keep & (counts[c] == 1)
        if not new.any():
            return drop
        drop |= new


def cluster_sums(scores: np.ndarray, codes: np.ndarray, G: int | None = None) -> np.ndarray:
    """Per-cluster sums of the score rows ``x_i e_i`` -> (G, k)."""
    return group_sum(codes, scores, G)


def cluster_meat(scores: np.ndarray, codes: np.ndarray, G: int | None = None) -> np.ndarray:
    """``sum_g s_g s_g'`` with ``s_g`` the score sum of cluster ``g`` -> (k, k)."""
    s = cluster_sums(scores, codes, G)
    if s.ndim == 1:
        s = s[:, None]
    return s.T @ s
