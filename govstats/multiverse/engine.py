"""The multiverse engine: one demeaning per block, then every specification as a small solve.

Conventions (all as pyfixest's ``feols`` defaults, which follow R fixest)
    * Rows with a missing or non-finite value in a specification's variables are
      not used by that specification (``nobs`` says how many were); fixed-effect
      groups with a single observation (singletons) are dropped, as pyfixest's
      ``fixef_rm="singleton"``.
    * Without fixed effects the regression has an intercept.
    * ``"iid"``: ``s^2 (X'X)^-1``, ``s^2 = RSS/(N - K)``; ``"hetero"``: HC1,
      ``N/(N - K)``; a cluster column: CR1 with ``G/(G-1) * (N-1)/(N-K)``, where
      ``K`` counts the slopes plus the fixed-effect levels (``sum(levels) - (n_fe - 1)``)
      less the levels of fixed effects nested in the clusters plus one per nested
      fixed effect (fixest ``ssc(fixef.K="nested")``, pyfixest's default and the
      convention of :mod:`govstats.models`). p-values and intervals use Student t
      with ``G - 1`` degrees of freedom when clustered, ``N - K`` otherwise.

The fast path (Frisch-Waugh-Lovell)
    Specifications that share a fixed-effect structure and a sample (and the same
    rows with complete data) form a block and share one demeaning
    (:func:`govstats.fixed_effects.demean`): the variables of all of them are
    demeaned once, ``C = Z'Z`` and, per cluster level, the per-cluster cross-products
    ``C_g = Z_g'Z_g`` are computed once. A specification with outcome ``y`` and
    regressors ``X`` (treatment first) is then a small solve:
    ``b = C[X,X]^-1 C[X,y]``; with ``r = (1, -b)`` on ``(y, X)`` and ``w`` the
    first column of ``C[X,X]^-1``, ``RSS = r'C r`` and the clustered variance of
    the treatment coefficient is ``c * sum_g (w' C_g r)^2`` (``c`` the CR1 factor).
    Specifications are solved in stacked batches (numpy), so the per-specification
    cost is a few microseconds. Every fast-path result equals pyfixest's within
    ``1e-10`` (``tests/test_multiverse.py`` checks random specifications).

Collinearity
    A control absorbed by the fixed effects (e.g. a time-invariant one with unit
    effects) or collinear with the others is dropped exactly as pyfixest drops it
    (its rule: a sequential Cholesky of ``X'X``, pivots below ``collin_tol = 1e-9``
    dropped), and ``note`` says how many were; a treatment that would be dropped is
    not estimated (``engine = "none"``, with a note).

What the fast path does not cover (``engine="auto"`` hands these to pyfixest, one
``feols`` call each; the ``engine`` column of the table says which was used)
    * two-way clustering (``"a + b"`` as a cluster option);
    * borderline collinearity: a Cholesky pivot within a factor of 100 of
      pyfixest's threshold, where rounding could tip its decision;
    * fixed effects whose alternating projections do not converge.
    Variables must be numeric columns: transform (logs, interactions, lags) into
    columns first. IV and non-linear models are not offered.

Regression weights (``MultiverseSpec(weights=column)``)
    Weighted least squares with analytic weights, as pyfixest's ``feols(weights=)``:
    the block is demeaned with the weights (``M - D (D'WD)^-1 D'W M``) and its rows
    scaled by ``sqrt(weight)``; every formula above then holds unchanged (``N`` counts
    rows). Pinned to pyfixest in ``tests/test_multiverse.py``.

The wild cluster bootstrap of every specification (``run_multiverse(bootstrap=)``)
    The wild cluster restricted bootstrap (WCR11: null ``treatment = 0`` imposed,
    cluster-level weights, each draw's own CR1 variance; the conventions of
    :mod:`govstats.inference`, ties counted) for every one-way clustered
    specification, from the same cross-products: with ``x~ = X~ w`` and ``u~`` the
    restricted residual (outcome on the controls), a draw ``v`` gives the coefficient
    ``sum_g c0_g v_g`` with ``c0_g = x~_g'u~_g`` and cluster scores
    ``c0_g v_g - (H v)_g``, ``H[g, h] = x~_g' P[g, h] u~_h``, ``P`` the projection on
    the regressors and the fixed effects. Fixed effects nested in the clusters drop
    out of ``H``; the others (and the intercept) enter through ``Q``, an orthonormal
    basis of their dummies after demeaning by the nested ones, so
    ``H = (X~_g'x~_g)'(X~'X~)^-1(X~_h'u~_h) + (Q_g'x~_g)'(Q_h'u~_h)``: per block one
    ``Q_g'Z_g`` per cluster next to ``C_g``, per specification a ``G x G`` matrix and
    one product with the ``G x reps`` weights, shared by every specification with the
    same clusters (Roodman, MacKinnon, Nielsen and Webb 2019). This equals the
    bootstrap of the regression with explicit dummies (pyfixest's
    ``Feols.wildboottest``, the wildboottest package: exactly under full enumeration,
    tested). No bootstrap p (``boot_note`` says why): ``"iid"``/``"hetero"``
    (nothing to resample by cluster), two-way clustering (no one-way bootstrap),
    specifications estimated by pyfixest, and under ``bootstrap="auto"``
    specifications with ``few_clusters`` (30) clusters or more.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from govstats import fixed_effects as fx
from govstats.inference import (
    _TIE_RTOL,
    FEW_CLUSTERS,
    _constant_draws,
    _resolve_weights,
    draw_weights,
)
from govstats.multiverse.data import _Prepared
from govstats.multiverse.spec import MultiverseSpec

#: pyfixest's ``fixef_tol`` in the fallback and in ``engine="pyfixest"`` (its default,
#: 1e-6, leaves errors of that order on unbalanced panels with several fixed effects).
PYFIXEST_FIXEF_TOL = 1e-12
# Alternating projections (several fixed effects) stop when the largest change is
# below this, on columns scaled to a maximum absolute value of 1.
_DEMEAN_TOL = 1e-13
# The fast path solves a specification only if its regressors are clearly not
# collinear: every Cholesky pivot of the scaled X'X (1 - R^2 of a regressor on the
# ones before it) >= _REL_PIVOT_TOL and every unscaled pivot >= _ABS_PIVOT_TOL,
# 100 times pyfixest's own absolute drop rule (collin_tol = 1e-9). Anything closer
# goes to pyfixest, which decides what to drop.
_REL_PIVOT_TOL = 1e-9
_ABS_PIVOT_TOL = 1e-7
_PYFIXEST_COLLIN_TOL = 1e-9  # pyfixest feols(collin_tol=) default
# Largest number of array cells built at once when batching specifications.
_MAX_CELLS = 2_000_000
_NOTE_COLLINEAR = "collinear or absorbed regressor"
_NOTE_TWOWAY = "two-way clustering"
# The bootstrap projects out fixed effects not nested in the clusters as explicit dummy
# columns (rows x levels); above this many cells a block gets no bootstrap p (with a note).
_MAX_BOOT_FE_CELLS = 50_000_000
# The bootstrap variance is expanded into rank-m products when their cost (2m + 1 + m^2/G
# per cluster and draw) is below this share of the direct G x G product's.
_EXPANDED_BELOW = 0.5


@dataclass(frozen=True)
class _BootOptions:
    """How run_multiverse bootstraps (see the module notes)."""

    mode: str = "never"  # "auto" (clusters < few_clusters), "always", "never"
    reps: int = 9999
    weights_type: str = "auto"
    seed: int | None = 0
    few_clusters: int = FEW_CLUSTERS


@dataclass
class _Piece:
    """Specifications of one block with the same number of regressors k."""

    spec_ids: np.ndarray  # positions in the plan's spec list
    lidx: np.ndarray  # (B, k + 1): block-local variable positions (outcome, treatment, controls)
    lcl: np.ndarray  # (B,): position in the block's cluster list


@dataclass
class _BlockPlan:
    fe: int
    sample: int
    miss_vars: tuple[int, ...]  # global variable indices whose missing rows this block excludes
    vars: np.ndarray  # global variable indices, block-local order
    clusters: tuple[int, ...]  # cluster choice indices
    pieces: list[_Piece]


@dataclass
class _Plan:
    """Which specifications share a demeaning, and their regressor indices; data-independent
    apart from the pattern of missing values."""

    spec_ids: np.ndarray  # global spec ids, plan order
    idx: np.ndarray  # (n, kmax + 1) global variable indices, -1 padded
    k: np.ndarray  # (n,) number of regressors
    fe: np.ndarray
    cluster: np.ndarray
    sample: np.ndarray
    fe_terms: list[list[tuple[int, ...]]]  # per FE choice: id indices of each term
    cluster_kind: list[str]
    cluster_ids: list[tuple[int, ...]]
    blocks: list[_BlockPlan]
    fallback: np.ndarray  # plan positions the fast path does not cover (two-way clusters)
    boot: _BootOptions = _BootOptions()
    weighted: bool = False


def _make_plan(spec: MultiverseSpec, prep: _Prepared, spec_ids: np.ndarray | None = None,
               boot: _BootOptions | None = None) -> _Plan:
    codes = spec._codes()
    base = spec._enumerate_base(spec._control_options())
    n_all = len(codes["base"])
    spec_ids = np.arange(n_all) if spec_ids is None else np.asarray(spec_ids, dtype=np.int64)
    kmax = max(len(ctrl) for *_, ctrl in base) + 1
    base_idx = np.full((len(base), kmax + 1), -1, dtype=np.int64)
    base_k = np.empty(len(base), dtype=np.int64)
    for m, (o, t, _c, ctrl) in enumerate(base):
        cols = [spec.outcomes[o][1], spec.treatments[t][1], *ctrl]
        base_idx[m, : len(cols)] = [prep.var(c) for c in cols]
        base_k[m] = len(cols) - 1
    b = codes["base"][spec_ids]
    fe = codes["fixed_effects"][spec_ids]
    cl = codes["cluster"][spec_ids]
    sm = codes["sample"][spec_ids]
    V = len(prep.var_names)
    # missing pattern: which variables with missing rows (within the sample) each spec uses
    miss = np.array([np.isnan(prep.values[m]).any(axis=0) for m in prep.samples]).reshape(len(prep.samples), V)
    uses = np.zeros((len(base), V), dtype=bool)
    rows = np.repeat(np.arange(len(base)), kmax + 1)
    valid = base_idx.ravel() >= 0
    uses[rows[valid], base_idx.ravel()[valid]] = True
    pattern = uses[:, None, :] & miss[None, :, :]  # (M, S, V)
    packed = np.packbits(pattern, axis=2).reshape(len(base) * len(prep.samples), -1)
    _, pat_code = np.unique(packed, axis=0, return_inverse=True)
    pat_code = pat_code.reshape(len(base), len(prep.samples))
    key = np.column_stack([fe, sm, pat_code[b, sm]])
    ukeys, block_of = np.unique(key, axis=0, return_inverse=True)
    block_of = block_of.ravel()
    kinds = [c.kind for c in spec.clusters]
    fallback_mask = np.array([kinds[c] == "cluster2" for c in cl], dtype=bool) if len(cl) else np.zeros(0, bool)
    order = np.argsort(block_of, kind="stable")
    bounds = np.searchsorted(block_of[order], np.arange(len(ukeys) + 1))
    blocks = []
    idx_all = base_idx[b]
    k_all = base_k[b]
    for j, (f, s, _p) in enumerate(ukeys):
        members = order[bounds[j]: bounds[j + 1]]
        members = members[~fallback_mask[members]]
        if len(members) == 0:
            continue
        used = np.unique(idx_all[members][idx_all[members] >= 0])
        mv = tuple(int(v) for v in used if miss[s, v])
        g2l = np.full(V, -1, dtype=np.int64)
        g2l[used] = np.arange(len(used))
        bclusters = tuple(int(c) for c in np.unique(cl[members]))
        c2l = np.full(len(spec.clusters), -1, dtype=np.int64)
        c2l[list(bclusters)] = np.arange(len(bclusters))
        pieces = []
        for kk in np.unique(k_all[members]):
            sel = members[k_all[members] == kk]
            lidx = g2l[idx_all[sel, : kk + 1]]
            lcl = c2l[cl[sel]]
            pieces.append(_Piece(sel, lidx, lcl))
        blocks.append(_BlockPlan(int(f), int(s), mv, used, bclusters, pieces))
    fe_terms = [[tuple(prep.id(n) for n in term) for term in f.terms] for f in spec.fixed_effects]
    return _Plan(
        spec_ids=spec_ids, idx=idx_all, k=k_all, fe=fe, cluster=cl, sample=sm, fe_terms=fe_terms,
        cluster_kind=kinds, cluster_ids=[tuple(prep.id(n) for n in c.columns) for c in spec.clusters],
        blocks=blocks, fallback=np.flatnonzero(fallback_mask), boot=boot or _BootOptions(),
        weighted=prep.weights is not None,
    )


@dataclass
class _ClusterData:
    kind: str
    G: int
    offset: int  # K = k + offset
    Cg: np.ndarray | None  # (G, p, p) per-cluster cross-products
    # the wild cluster restricted bootstrap (None: not bootstrapped, boot_note says why)
    Eg: np.ndarray | None = None  # (G, r, p): Q_g'Z_g, Q an orthonormal basis of the outside dummies
    V: np.ndarray | None = None  # (G, reps) bootstrap weights, shared by the block's specifications
    boot_note: str = ""


@dataclass
class _BlockData:
    """One block's demeaned cross-products: what every specification of the block needs."""

    N: int  # rows used: in the sample, complete, not singletons
    C: np.ndarray  # (p, p)
    Z: np.ndarray | None  # (N, p), kept for HC1
    clusters: list[_ClusterData]
    failed: str = ""


def _block_rows(prep: _Prepared, bp: _BlockPlan) -> np.ndarray:
    """Row positions of a block: its sample, complete cases of its variables, finite weights."""
    mask = prep.samples[bp.sample]
    if bp.miss_vars:
        mask = mask & ~np.isnan(prep.values[:, list(bp.miss_vars)]).any(axis=1)
    if prep.weights is not None:
        mask = mask & np.isfinite(prep.weights)
    return np.flatnonzero(mask)


def _block_data(prep: _Prepared, plan: _Plan, bp: _BlockPlan) -> _BlockData:
    """Rows of the block (sample, complete cases, singletons dropped), demeaned once."""
    rows = _block_rows(prep, bp)
    terms = plan.fe_terms[bp.fe]
    fe_codes: list[np.ndarray] = []
    if terms and len(rows):
        fe_codes = _fe_codes(prep.ids, terms, rows)
        single = fx.singletons(fe_codes)
        if single.any():
            rows = rows[~single]
            fe_codes = _fe_codes(prep.ids, terms, rows)
    N = len(rows)
    p = len(bp.vars)
    if N == 0:
        return _BlockData(0, np.zeros((p, p)), None, [], failed="no observations")
    # no fixed effect: the intercept, a fixed effect with one level
    absorbed = fe_codes or [np.zeros(N, dtype=np.intp)]
    wts = None if prep.weights is None else prep.weights[rows]
    try:
        # weighted least squares: demean with weights, then scale rows by sqrt(weight)
        Z = fx.demean(prep.values[np.ix_(rows, bp.vars)], absorbed, tol=_DEMEAN_TOL, weights=wts)
    except fx.NotConvergedError as exc:
        return _BlockData(N, np.zeros((p, p)), None, [], failed=str(exc))
    if wts is not None:
        Z *= np.sqrt(wts)[:, None]
    C = Z.T @ Z
    k_fe = fx.k_fixest(absorbed)  # fixest's count; 1 for the intercept
    clusters = []
    need_z = False
    for c in bp.clusters:
        kind = plan.cluster_kind[c]
        offset = k_fe
        if kind == "cluster":
            ccodes, G = fx.factorize(prep.ids[rows, plan.cluster_ids[c][0]])
            if terms:  # fixed effects nested in the clusters count one parameter each
                nested = [fx.n_groups(code) for code in fe_codes if fx.is_nested(code, ccodes)]
                offset = k_fe - sum(nested) + len(nested)
            cd = _ClusterData(kind, G, offset, _cluster_crossproducts(Z, ccodes, G))
            _boot_setup(cd, plan.boot, Z, absorbed, ccodes, wts)
            clusters.append(cd)
        else:
            need_z |= kind == "hetero"
            note = "" if plan.boot.mode == "never" else f"no bootstrap: not clustered ({kind})"
            clusters.append(_ClusterData(kind, N, offset, None, boot_note=note))
    return _BlockData(N, C, Z if need_z else None, clusters)


def _fe_codes(ids: np.ndarray, terms: list[tuple[int, ...]], rows: np.ndarray) -> list[np.ndarray]:
    """Codes of every fixed-effect term (an id column or an interaction ``a^b``) on ``rows``."""
    return [fx.combine(*(ids[rows, j] for j in term)) for term in terms]


def _cluster_crossproducts(Z: np.ndarray, codes: np.ndarray, G: int, Q: np.ndarray | None = None) -> np.ndarray:
    """``C_g = Z_g'Z_g`` (or ``Q_g'Z_g``) for every cluster ``g`` -> (G, q, p), in row chunks."""
    Q = Z if Q is None else Q
    n, p = Z.shape
    q = Q.shape[1]
    out = np.zeros((G, q * p))
    step = max(1, _MAX_CELLS // max(q * p, 1))
    for start in range(0, n, step):
        Zc, Qc = Z[start: start + step], Q[start: start + step]
        outer = (Qc[:, :, None] * Zc[:, None, :]).reshape(len(Zc), q * p)
        out += fx.group_sum(codes[start: start + step], outer, G)
    return out.reshape(G, q, p)


def _boot_setup(cd: _ClusterData, boot: _BootOptions, Z: np.ndarray, absorbed: list[np.ndarray],
                ccodes: np.ndarray, wts: np.ndarray | None) -> None:
    """Weights and the outside-dummy cross-products of the wild cluster restricted bootstrap.

    Fixed effects nested in the clusters drop out of the bootstrap (their projection of
    ``u * v`` is ``v`` times their projection of ``u``, which is zero). The others (and the
    intercept when there are no fixed effects) are dummy columns ``D``; with ``D~`` their
    part outside the nested effects (demeaned by them, weighted) and ``Q`` an orthonormal
    basis of ``D~``, each specification needs ``Q_g'Z_g`` per cluster (module notes).
    """
    G = cd.G
    if boot.mode == "never":
        return
    if boot.mode == "auto" and G >= boot.few_clusters:
        cd.boot_note = f"no bootstrap: {G} clusters (bootstrap='auto' bootstraps below few_clusters={boot.few_clusters})"
        return
    if G < 2:
        cd.boot_note = "no bootstrap: one cluster"
        return
    N, p = Z.shape
    outside = [c for c in absorbed if not fx.is_nested(c, ccodes)]
    nested = [c for c in absorbed if fx.is_nested(c, ccodes)]
    L = sum(fx.n_groups(c) for c in outside)
    if N * L > _MAX_BOOT_FE_CELLS:
        cd.boot_note = (f"no bootstrap: {L} fixed-effect levels not nested in the clusters on {N} rows "
                        "(too many for the fast bootstrap; use govstats.inference.wild_cluster_bootstrap)")
        return
    if outside:
        D = np.column_stack([fx.indicator(c).T.toarray() for c in outside])
        if nested:
            try:
                D = fx.demean(D, nested, tol=_DEMEAN_TOL, weights=wts)
            except fx.NotConvergedError as exc:
                cd.boot_note = f"no bootstrap: {exc}"
                return
        if wts is not None:
            D *= np.sqrt(wts)[:, None]
        lam, U = np.linalg.eigh(D.T @ D)
        keep = lam > max(float(lam.max()), 1e-300) * 1e-10
        Q = D @ (U[:, keep] / np.sqrt(lam[keep]))
        cd.Eg = _cluster_crossproducts(Z, ccodes, G, Q)
    else:
        cd.Eg = np.zeros((G, 0, p))
    kind = _resolve_weights(boot.weights_type, G)
    cd.V, _ = draw_weights(kind, G, boot.reps, seed=boot.seed)


@dataclass
class _Estimates:
    """Per-specification output arrays (plan order)."""

    estimate: np.ndarray
    std_error: np.ndarray
    df: np.ndarray
    nobs: np.ndarray
    n_clusters: np.ndarray
    engine: np.ndarray  # 0 fast, 1 pyfixest, -1 not estimated
    note: np.ndarray  # object: "" or a reason
    boot_p: np.ndarray  # wild cluster restricted bootstrap p-value; NaN when not bootstrapped
    boot_reps: np.ndarray  # draws used (0: none)
    boot_p_min: np.ndarray  # smallest attainable bootstrap p (constant draws / reps)
    boot_note: np.ndarray  # object: "" or why there is no bootstrap p

    _FIELDS = ("estimate", "std_error", "df", "nobs", "n_clusters", "engine", "note", "boot_p", "boot_reps",
               "boot_p_min", "boot_note")

    @classmethod
    def empty(cls, n: int) -> _Estimates:
        return cls(
            estimate=np.full(n, np.nan), std_error=np.full(n, np.nan), df=np.full(n, np.nan),
            nobs=np.zeros(n, dtype=np.int64), n_clusters=np.full(n, np.nan),
            engine=np.full(n, -1, dtype=np.int8), note=np.full(n, "", dtype=object),
            boot_p=np.full(n, np.nan), boot_reps=np.zeros(n, dtype=np.int64), boot_p_min=np.full(n, np.nan),
            boot_note=np.full(n, "", dtype=object),
        )

    def put(self, pos: np.ndarray, other: _Estimates) -> None:
        for name in self._FIELDS:
            getattr(self, name)[pos] = getattr(other, name)


def _scatter(li: np.ndarray, values: np.ndarray, p: int) -> np.ndarray:
    """(b, k+1) values at block-local positions li -> dense (b, p) rows (zeros elsewhere)."""
    out = np.zeros((len(li), p))
    out[np.arange(len(li))[:, None], li] = values
    return out


def _pyfixest_drops(A: np.ndarray, tol: float = _PYFIXEST_COLLIN_TOL) -> tuple[np.ndarray, bool]:
    """Which regressors pyfixest drops as collinear, and whether every decision is clear.

    pyfixest's rule (``find_collinear_variables(X'X, collin_tol)``): a Cholesky
    factorisation of ``X'X`` in column order; a column whose squared residual norm,
    after projection on the kept columns before it, is below ``tol`` is dropped.
    ``clear`` is False when a kept pivot is below 100 ``tol`` or a dropped one above
    ``tol / 100`` (then rounding could tip the decision, and pyfixest itself decides).
    """
    k = A.shape[0]
    R = np.zeros((k, k))
    dropped = np.zeros(k, dtype=bool)
    clear = True
    for j in range(k):
        kept = np.flatnonzero(~dropped[:j])
        v = A[j, j] - float(R[kept, j] @ R[kept, j])
        if v < tol:
            dropped[j] = True
            clear &= v < tol / 100
            continue
        clear &= v >= tol * 100
        R[j, j] = math.sqrt(v)
        R[j, j + 1:] = (A[j, j + 1:] - R[kept, j] @ R[kept, j + 1:]) / R[j, j]
    return dropped, bool(clear)


def _solve_piece(bd: _BlockData, piece: _Piece) -> tuple[_Estimates, np.ndarray]:
    """Estimates for one piece; second value: True where the fast path could not solve.

    Specifications with collinear regressors get pyfixest's treatment when its decision
    is clear: the controls it would drop are dropped and the rest solved here; if it
    would drop the treatment, the specification is not estimated.
    """
    est, todo, collinear = _solve_clear(bd, piece)
    if not collinear.any():
        return est, todo
    reduced: dict[int, list[tuple[int, np.ndarray]]] = {}
    lidx = piece.lidx
    for i in np.flatnonzero(collinear):
        A = bd.C[lidx[i, 1:, None], lidx[i, None, 1:]]
        dropped, clear = _pyfixest_drops(A)
        if not clear:
            todo[i] = True
        elif dropped[0]:
            est.note[i] = "not estimated: the treatment is collinear with the fixed effects or controls"
            est.nobs[i] = bd.N
        else:
            keep = np.concatenate([[0], 1 + np.flatnonzero(~dropped)])
            reduced.setdefault(len(keep), []).append((i, lidx[i, keep]))
            est.note[i] = f"{int(dropped.sum())} control(s) dropped as collinear"
    for rows in reduced.values():
        which = np.array([i for i, _ in rows])
        sub = _Piece(piece.spec_ids[which], np.array([li for _, li in rows]), piece.lcl[which])
        e, t, col = _solve_clear(bd, sub)
        notes = est.note[which]
        est.put(which, e)
        est.note[which] = notes
        todo[which[t | col]] = True
    return est, todo


def _solve_clear(bd: _BlockData, piece: _Piece) -> tuple[_Estimates, np.ndarray, np.ndarray]:
    """Solve the specifications whose regressors are clearly not collinear.

    Returns the estimates, ``todo`` (not solved for another reason: no residual degrees
    of freedom, fixed effects that failed) and ``collinear`` (not solved: a pivot check failed).
    """
    B = len(piece.spec_ids)
    est = _Estimates.empty(B)
    todo = np.zeros(B, dtype=bool)
    collinear = np.zeros(B, dtype=bool)
    if bd.failed:
        todo[:] = True
        return est, todo, collinear
    lidx = piece.lidx
    k = lidx.shape[1] - 1
    p = bd.C.shape[0]
    Cfull = bd.C[lidx[:, :, None], lidx[:, None, :]]  # (B, k+1, k+1): (y, X) x (y, X)
    A = Cfull[:, 1:, 1:]
    c = Cfull[:, 1:, 0]
    d2 = np.einsum("bii->bi", A)
    ok = (d2 >= _ABS_PIVOT_TOL).all(axis=1)
    d = np.sqrt(np.where(d2 > 0, d2, 1.0))
    As = A / d[:, :, None] / d[:, None, :]
    piv = np.zeros((B, k))
    try:
        L = np.linalg.cholesky(As)
        piv = np.einsum("bii->bi", L) ** 2
    except np.linalg.LinAlgError:
        for i in range(B):
            try:
                piv[i] = np.diag(np.linalg.cholesky(As[i])) ** 2
            except np.linalg.LinAlgError:
                piv[i] = 0.0
    ok &= (piv >= _REL_PIVOT_TOL).all(axis=1) & (piv * d2 >= _ABS_PIVOT_TOL).all(axis=1)
    collinear[~ok] = True
    df_k = k + np.array([c.offset for c in bd.clusters], dtype=np.int64)[piece.lcl]
    todo[ok & (bd.N - df_k <= 0)] = True
    ok &= bd.N - df_k > 0
    if not ok.any():
        return est, todo, collinear
    pos = np.flatnonzero(ok)
    rhs = np.zeros((len(pos), k, 2))
    rhs[:, :, 0] = c[pos]
    rhs[:, 0, 1] = 1.0
    sol = np.linalg.solve(A[pos], rhs)
    beta, w = sol[:, :, 0], sol[:, :, 1]
    r = np.concatenate([np.ones((len(pos), 1)), -beta], axis=1)  # residual = Z[:, (y, X)] @ r
    wv = np.concatenate([np.zeros((len(pos), 1)), w], axis=1)
    var = np.full(len(pos), np.nan)
    dfs = np.full(len(pos), np.nan)
    G = np.full(len(pos), np.nan)
    boot_p = np.full(len(pos), np.nan)
    boot_reps = np.zeros(len(pos), dtype=np.int64)
    boot_pmin = np.full(len(pos), np.nan)
    boot_note = np.full(len(pos), "", dtype=object)
    N = bd.N
    lcl = piece.lcl[pos]
    dk = df_k[pos]
    for j, cd in enumerate(bd.clusters):
        sel = np.flatnonzero(lcl == j)
        if not len(sel):
            continue
        boot_note[sel] = cd.boot_note
        if cd.kind == "iid":
            rss = np.einsum("bi,bij,bj->b", r[sel], Cfull[pos[sel]], r[sel])
            var[sel] = rss / (N - dk[sel]) * w[sel, 0]
            dfs[sel] = N - dk[sel]
        elif cd.kind == "hetero":
            # residual and w-weighted regressor of every observation: Z @ (scattered r, w)
            step = max(1, _MAX_CELLS // (3 * N + 2 * p))
            for a in range(0, len(sel), step):
                ss = sel[a: a + step]
                R, W = _scatter(lidx[pos[ss]], r[ss], p), _scatter(lidx[pos[ss]], wv[ss], p)
                eh = (bd.Z @ R.T) * (bd.Z @ W.T)  # (N, b)
                var[ss] = N / (N - dk[ss]) * np.einsum("nb,nb->b", eh, eh)
            dfs[sel] = N - dk[sel]
        else:
            Gj = cd.G
            if Gj < 2:
                continue
            # w' C_g r for every cluster g: vec(w r') (scattered to p x p) times the stacked C_g
            Cg2 = cd.Cg.reshape(Gj, p * p)
            step = max(1, _MAX_CELLS // (p * p + Gj))
            rows = None
            for a in range(0, len(sel), step):
                ss = sel[a: a + step]
                li = lidx[pos[ss]]
                b = len(ss)
                M = np.zeros((b, p, p))
                if rows is None or len(rows) != b:
                    rows = np.arange(b)[:, None, None]
                M[rows, li[:, :, None], li[:, None, :]] = wv[ss][:, :, None] * r[ss][:, None, :]
                T = M.reshape(b, p * p) @ Cg2.T  # (b, G)
                fac = Gj / (Gj - 1) * (N - 1) / (N - dk[ss])
                var[ss] = fac * np.einsum("bg,bg->b", T, T)
            dfs[sel] = Gj - 1
            G[sel] = Gj
            if cd.V is not None:
                step = max(1, _MAX_CELLS // (Gj * cd.V.shape[1]))
                for a in range(0, len(sel), step):
                    ss = sel[a: a + step]
                    t0, tb = _wcr_tstats(cd, lidx[pos[ss]], A[pos[ss]], Cfull[pos[ss]], beta[ss], w[ss])
                    boot_p[ss] = np.mean(np.abs(tb) >= (np.abs(t0) * (1 - _TIE_RTOL))[:, None], axis=1)
                boot_reps[sel] = cd.V.shape[1]
                boot_pmin[sel] = _constant_draws(cd.V) / cd.V.shape[1]
    est.boot_p[pos], est.boot_reps[pos], est.boot_p_min[pos], est.boot_note[pos] = (
        boot_p, boot_reps, boot_pmin, boot_note)
    est.estimate[pos] = beta[:, 0]
    est.std_error[pos] = np.sqrt(np.where(var >= 0, var, np.nan))
    est.df[pos] = dfs
    est.nobs[pos] = N
    est.n_clusters[pos] = G
    est.engine[pos] = 0
    return est, todo, collinear


def _wcr_tstats(cd: _ClusterData, lidx: np.ndarray, A: np.ndarray, Cfull: np.ndarray, beta: np.ndarray,
                w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The wild cluster restricted bootstrap (WCR11, null: treatment coefficient = 0) of a batch.

    Returns the CR1 t-statistics without their small-sample factor (which scales ``t``
    and every ``t*`` alike) and the bootstrap t-statistics, shape (b, reps), for the
    weights ``cd.V``. With ``u~`` the restricted residual (the outcome on the controls),
    ``X~`` the demeaned regressors and ``x~ = X~ w`` (``w`` = first column of
    ``(X~'X~)^-1``), draw ``v`` gives the treatment coefficient ``sum_g c0_g v_g``,
    ``c0_g = x~_g'u~_g``, and cluster scores ``c0_g v_g - (H v)_g``, where
    ``H[g, h] = x~_g' P[g, h] u~_h`` and ``P`` projects on the regressors and every
    fixed effect: ``P = P_X~ + Q Q'`` plus the nested effects (which drop out). So
    ``H = (X~_g'x~_g)' (X~'X~)^-1 (X~_h'u~_h) + (Q_g'x~_g)'(Q_h'u~_h)``: everything
    from ``C_g`` and ``Q_g'Z_g`` (Roodman, MacKinnon, Nielsen and Webb 2019).
    """
    b, k1 = lidx.shape
    k = k1 - 1
    Cg = cd.Cg
    G, p, _ = Cg.shape
    rt = np.zeros((b, k1))  # restricted residual on (y, X): y - controls @ gamma
    rt[:, 0] = 1.0
    if k > 1:
        rt[:, 2:] = -np.linalg.solve(A[:, 1:, 1:], Cfull[:, 2:, 0:1])[:, :, 0]
    r = np.concatenate([np.ones((b, 1)), -beta], axis=1)
    wv = np.concatenate([np.zeros((b, 1)), w], axis=1)
    Rd, Rtd, Wd = _scatter(lidx, r, p), _scatter(lidx, rt, p), _scatter(lidx, wv, p)
    CgW = np.einsum("gpq,bq->bgp", Cg, Wd)  # Z_g'x~_g
    CgR = np.einsum("gpq,bq->bgp", Cg, Rtd)  # Z_g'u~_g
    T = np.einsum("bgp,bp->bg", CgW, Rd)  # original scores x~_g'u^_g
    c0 = np.einsum("bgp,bp->bg", CgW, Rtd)
    rows = np.arange(b)[:, None]
    aX = CgW[rows, :, lidx[:, 1:]].transpose(0, 2, 1)  # (b, G, k): X~_g'x~_g
    bX = CgR[rows, :, lidx[:, 1:]].transpose(0, 2, 1)  # (b, G, k): X~_g'u~_g
    U = aX @ np.linalg.inv(A)  # H = U W'
    W = bX
    if cd.Eg is not None and cd.Eg.shape[1]:
        U = np.concatenate([U, np.einsum("grp,bp->bgr", cd.Eg, Wd)], axis=2)
        W = np.concatenate([W, np.einsum("grp,bp->bgr", cd.Eg, Rtd)], axis=2)
    V = cd.V
    B = V.shape[1]
    m = U.shape[2]
    num = c0 @ V  # (b, B)
    if _expanded(G, m):
        # many clusters: sum_g (c0_g v_g - u_g'(W'v))^2 expanded into rank-m products,
        # O(m G reps) per specification instead of O(G^2 reps)
        P = (W.transpose(0, 2, 1).reshape(b * m, G) @ V).reshape(b, m, B)  # W'v
        Pc = ((U * c0[:, :, None]).transpose(0, 2, 1).reshape(b * m, G) @ V).reshape(b, m, B)
        UtU = U.transpose(0, 2, 1) @ U
        den = (c0 * c0) @ (V * V) - 2 * np.einsum("bmr,bmr->br", P, Pc) + np.einsum("bmr,bmr->br", P, UtU @ P)
    else:
        H = U @ W.transpose(0, 2, 1)  # (b, G, G)
        S = (H.reshape(b * G, G) @ V).reshape(b, G, B)
        np.subtract(c0[:, :, None] * V[None], S, out=S)
        den = np.einsum("bgr,bgr->br", S, S)
    with np.errstate(divide="ignore", invalid="ignore"):
        t0 = beta[:, 0] / np.sqrt(np.einsum("bg,bg->b", T, T))
        tb = num / np.sqrt(den)
    return t0, tb


def _expanded(G: int, m: int) -> bool:
    """Use the rank-m form of the bootstrap variance (cheaper than G x G when m is small next to G)."""
    return 2 * m + 1 + m * m / G < _EXPANDED_BELOW * G


# pyfixest: the reference, and the fallback for what the fast path does not cover


@dataclass
class _SpecRows:
    """What pyfixest needs to know about some specifications (global variable/choice indices)."""

    idx: np.ndarray  # (n, kmax + 1): outcome, treatment, controls; -1 padded
    k: np.ndarray
    fe: np.ndarray
    cluster: np.ndarray
    sample: np.ndarray

    @classmethod
    def from_plan(cls, plan: _Plan, positions: np.ndarray) -> _SpecRows:
        return cls(plan.idx[positions], plan.k[positions], plan.fe[positions], plan.cluster[positions],
                   plan.sample[positions])

    @classmethod
    def from_piece(cls, bp: _BlockPlan, piece: _Piece, which: np.ndarray) -> _SpecRows:
        n = len(which)
        return cls(bp.vars[piece.lidx[which]], np.full(n, piece.lidx.shape[1] - 1), np.full(n, bp.fe),
                   np.asarray(bp.clusters, dtype=np.int64)[piece.lcl[which]], np.full(n, bp.sample))


def _formula(plan: _Plan, rows: _SpecRows, i: int) -> tuple[str, Any]:
    idx = rows.idx[i, : rows.k[i] + 1]
    fml = f"v{idx[0]} ~ " + " + ".join(f"v{v}" for v in idx[1:])
    terms = plan.fe_terms[rows.fe[i]]
    if terms:
        fml += " | " + " + ".join("^".join(f"g{j}" for j in t) for t in terms)
    c = rows.cluster[i]
    kind = plan.cluster_kind[c]
    if kind in ("iid", "hetero"):
        vcov: Any = kind
    else:
        vcov = {"CRV1": "+".join(f"g{j}" for j in plan.cluster_ids[c])}
    return fml, vcov


def _fit_pyfixest(prep: _Prepared, plan: _Plan, rows: _SpecRows, reason: str = "") -> _Estimates:
    """One pyfixest.feols call per specification (the reference and the fallback)."""
    import pyfixest as pf

    n_rows = len(rows.k)
    out = _Estimates.empty(n_rows)
    wname = None if prep.weights is None else "w"
    if plan.boot.mode != "never":
        for n in range(n_rows):
            kind = plan.cluster_kind[rows.cluster[n]]
            out.boot_note[n] = (
                f"no bootstrap: not clustered ({kind})" if kind in ("iid", "hetero")
                else "no bootstrap: two-way clustering (the fast bootstrap is one-way)" if kind == "cluster2"
                else "no bootstrap: estimated by pyfixest, not the fast path")
    for n in range(n_rows):
        fml, vcov = _formula(plan, rows, n)
        data = prep.sample_frame(int(rows.sample[n]))
        treat = f"v{rows.idx[n, 1]}"
        prefix = reason + ": " if reason else ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyfixest warns about singletons, collinearity...
            try:
                try:
                    fit = pf.feols(fml, data, vcov=vcov, fixef_tol=PYFIXEST_FIXEF_TOL, copy_data=False,
                                   weights=wname)
                except Exception as exc:
                    if "converge" not in str(exc).lower():
                        raise
                    fit = pf.feols(fml, data, vcov=vcov, copy_data=False, weights=wname)
                    prefix += "pyfixest at its default fixef_tol (tight tolerance did not converge); "
                coef = fit.coef()
                se = fit.se()
            except Exception as exc:  # pyfixest raises many types (all collinear, no rows...)
                if "all variables are collinear" in " ".join(str(exc).lower().split()):
                    out.note[n] = prefix + "not estimated: pyfixest dropped the treatment (collinear)"
                else:
                    msg = " ".join(str(exc).split())
                    out.note[n] = prefix + f"not estimated: pyfixest failed ({type(exc).__name__}: {msg})"
                continue
        if treat not in coef.index:
            out.note[n] = prefix + "not estimated: pyfixest dropped the treatment (collinear)"
            out.nobs[n] = int(fit._N)
            continue
        out.estimate[n] = float(coef[treat])
        out.std_error[n] = float(se[treat])
        out.df[n] = float(fit._df_t)
        out.nobs[n] = int(fit._N)
        if fit._is_clustered:
            out.n_clusters[n] = float(np.min(fit._G))
        out.engine[n] = 1
        dropped = [c for c in (fit._collin_vars or []) if c != treat]
        note = prefix.rstrip("; :")
        if dropped:
            note = (note + "; " if note else "") + f"{len(dropped)} control(s) dropped as collinear"
        out.note[n] = note
    return out


def _solve_block_pieces(prep: _Prepared, plan: _Plan, bd: _BlockData, bp: _BlockPlan,
                        pieces: Sequence[_Piece], engine: str) -> tuple[np.ndarray, _Estimates]:
    """Solve pieces of one block; returns (plan positions, estimates)."""
    positions = np.concatenate([p.spec_ids for p in pieces]) if pieces else np.zeros(0, np.int64)
    est = _Estimates.empty(len(positions))
    start = 0
    reason = _NOTE_COLLINEAR if not bd.failed else f"fixed effects: {bd.failed}"
    for piece in pieces:
        e, todo = _solve_piece(bd, piece)
        sl = np.arange(start, start + len(piece.spec_ids))
        start += len(piece.spec_ids)
        if todo.any():
            which = np.flatnonzero(todo)
            if engine == "fast":
                e.note[which] = f"not estimated by the fast path ({reason}; engine='fast')"
            else:
                e.put(which, _fit_pyfixest(prep, plan, _SpecRows.from_piece(bp, piece, which), reason))
        est.put(sl, e)
    return positions, est


def _fallback_twoway(prep: _Prepared, plan: _Plan, rows: _SpecRows, engine: str) -> _Estimates:
    if engine == "fast":
        est = _Estimates.empty(len(rows.k))
        est.note[:] = f"not estimated by the fast path ({_NOTE_TWOWAY}; engine='fast')"
        if plan.boot.mode != "never":
            est.boot_note[:] = "no bootstrap: two-way clustering (the fast bootstrap is one-way)"
        return est
    return _fit_pyfixest(prep, plan, rows, _NOTE_TWOWAY)
