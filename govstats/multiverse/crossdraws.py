"""The joint test's bootstrap draws from per-cluster cross-products, without re-estimating.

A draw of :func:`~govstats.multiverse.joint.joint_test` resamples whole clusters of
the ``resample`` column. For every block of the plan (a fixed-effect structure and a
sample) this module splits the fixed effects in two:

* **inner** effects: a term with an id column nested in the resampled clusters (the unit
  when units are resampled). A drawn-twice cluster gives them new levels, so the
  within transformation of a cluster's rows does not depend on what else is drawn:
  ``Z0`` (the variables demeaned by the inner effects) is computed once;
* **outer** effects (year, place x year; the intercept when there is no fixed effect):
  their levels are shared across clusters, so they are explicit dummy columns ``D``
  (demeaned by the inner effects), partialled out per draw (Frisch-Waugh-Lovell).

A draw with ``c_g`` copies of cluster ``g`` then needs only count-weighted sums:
``S = sum_g c_g [D_g'D_g, D_g'Z0_g]`` gives ``Pi = (D'D)^- D'Z0`` and the residualised
rows ``Z~ = Z0 - D Pi`` (the same rows in every copy), ``C = Z~' diag(c) Z~``, and, per
cluster choice, the per-cluster cross-products of ``Z~`` (each drawn copy of a cluster
is a distinct cluster) or, for cluster columns not nested in the resampled clusters,
their count-weighted sums. Every specification is then solved as in
:func:`govstats.multiverse.engine._solve_clear` (same pivot checks, same collinearity
rule as pyfixest, same CR1/HC1/iid formulas), vectorised over draws and specifications.
``N``, the fixed-effect count ``K`` (levels present in the draw, nested-in-cluster
rule) and ``G`` come from the counts.

Where this does not reproduce the resampled run exactly, the draw (or the whole block)
is re-estimated the old way, on the resampled rows (``_resample`` with the same seed):
a draw with a singleton level of an outer effect, no rows, a specification with no
residual degrees of freedom or a borderline collinearity decision; a block with more
outer dummy cells than ``_MAX_CELLS_S`` or whose inner demeaning does not converge.
``_run`` returns which blocks and draws took which path.

The ``(D'D)^-`` of a draw: ``D'D`` is singular by construction (the dummies sum to the
inner effects); with ``N0`` an orthonormal basis of its null space on the full data
(which stays null in every draw) and ``e_l`` the levels absent from the draw,
``(D'D + N0 N0' + sum e_l e_l')^-1`` is a generalised inverse when that matrix is
nonsingular (checked by its Cholesky pivots; otherwise an eigen-decomposition).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from govstats import fixed_effects as fx
from govstats.multiverse.data import _Prepared
from govstats.multiverse.engine import (
    _ABS_PIVOT_TOL,
    _DEMEAN_TOL,
    _PYFIXEST_COLLIN_TOL,
    _REL_PIVOT_TOL,
    _block_rows,
    _BlockPlan,
    _cluster_crossproducts,
    _fe_codes,
    _Piece,
    _Plan,
)

# Largest number of cells of the per-cluster outer-dummy cross-products of a block (G x L x L).
_MAX_CELLS_S = 20_000_000
# Rough number of array cells per draw chunk (the chunk of draws processed at once).
_CHUNK_CELLS = 12_000_000
# Cholesky pivots of the scaled D'D + N0 N0' below this count as singular (eigh is used instead).
_GINV_PIVOT_TOL = 1e-10


@dataclass
class _Nest:
    """Is a fixed-effect term nested in a cluster column, draw by draw (from the counts)."""

    kind: str  # "always", "never", "bad" (nested iff no drawn cluster is bad), "copies", "incidence"
    m: np.ndarray | None = None  # bad: (G,); copies: (G, L); incidence: (G, L * Cl)
    shape: tuple[int, int] = (0, 0)  # incidence: (L, Cl)

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        R = counts.shape[0]
        if self.kind == "always":
            return np.ones(R, dtype=bool)
        if self.kind == "never":
            return np.zeros(R, dtype=bool)
        v = counts @ self.m
        if self.kind == "bad":
            return v == 0
        if self.kind == "copies":
            return (v <= 1).all(axis=1)
        L, Cl = self.shape
        return ((v.reshape(R, L, Cl) > 0).sum(axis=2) <= 1).all(axis=1)


@dataclass
class _ClusterSetup:
    kind: str  # "iid", "hetero", "cluster"
    inner: bool = False  # cluster column copied with the resampled clusters
    cell: np.ndarray | None = None  # per row: cell ((cluster, level) pair if inner, level if outer)
    n_cells: int = 0
    cell_g: np.ndarray | None = None  # inner: resampled cluster of each cell
    levels: np.ndarray | None = None  # inner: (G,) cluster levels per resampled cluster; outer: (G, Cl) rows
    nests: list[_Nest] = field(default_factory=list)  # one per fixed-effect term
    pad: np.ndarray | None = None  # (cells, largest cell) row indices of every cell, padded with n
    # when the rows do not vary by draw (no outer effect): inner: (cells, p * p) cross-products;
    # outer: (K, Cl * p * p) cross-products of the (resampled cluster, level) cells, each in its
    # level's slot, and the resampled cluster of each of them
    Q0: np.ndarray | None = None
    k_g: np.ndarray | None = None
    H0: np.ndarray | None = None  # hetero, no outer effect: (G, q * q) per-cluster fourth moments


@dataclass
class _BlockSetup:
    rows: np.ndarray
    gid: np.ndarray  # resampled cluster of every row
    Z0: np.ndarray  # (n, p): demeaned by the inner effects (scaled by sqrt(weight))
    Dt: np.ndarray | None  # (n, L) outer dummies demeaned by the inner effects
    SDD: np.ndarray | None  # (G, L, L)
    SDZ: np.ndarray | None  # (G, L, p)
    N0: np.ndarray | None  # (L, m) null-space basis of D'D on the full data
    n_terms: int
    inner_levels: list[np.ndarray]  # per inner term: (G,) levels per resampled cluster
    outer_rows: list[np.ndarray]  # per outer term (incl. the intercept): (G, L_t) rows per level
    outer_is_intercept: bool
    term_inner: list[bool]  # per term of the plan (plan order)
    term_pos: list[int]  # per term: its index in inner_levels or outer_rows
    clusters: list[_ClusterSetup]
    xcache: dict = field(default_factory=dict)  # piece -> its distinct regressor sets


def _pad_index(cell: np.ndarray, n_cells: int) -> np.ndarray:
    """(cells, largest cell): the rows of every cell, padded with ``len(cell)`` (a zero row)."""
    n = len(cell)
    order = np.argsort(cell, kind="stable")
    sizes = np.bincount(cell, minlength=n_cells)
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    pad = np.full((n_cells, int(sizes.max()) if n else 0), n, dtype=np.int64)
    pos = np.arange(n) - np.repeat(starts, sizes)
    pad[cell[order], pos] = order
    return pad


def _cell_products(Zx: np.ndarray, pad: np.ndarray, Zwx: np.ndarray | None = None) -> np.ndarray:
    """Zx (R, n + 1, p), its last row zero -> (R, p * p, cells): sum over each cell's rows of
    z z' (of zw z' with Zwx, the rows times their weights)."""
    R, _, p = Zx.shape
    Zp = Zx[:, pad]  # (R, cells, s, p)
    Zw = Zp if Zwx is None else Zwx[:, pad]
    Q = np.matmul(Zw.transpose(0, 1, 3, 2), Zp).reshape(R, pad.shape[0], p * p)
    return np.ascontiguousarray(Q.transpose(0, 2, 1))


def _sym_features(Z: np.ndarray, axis: int = -1) -> np.ndarray:
    """The products z_a z_b, a <= b (the distinct entries of z z') along ``axis`` (-1: (..., p) ->
    (..., q); 0: (p, ...) -> (q, ...), faster for long rows)."""
    if axis == 0:
        p = Z.shape[0]
        out = np.empty((p * (p + 1) // 2, *Z.shape[1:]))
        pos = 0
        for a in range(p):
            out[pos: pos + p - a] = Z[a][None] * Z[a:]
            pos += p - a
        return out
    p = Z.shape[-1]
    out = np.empty((*Z.shape[:-1], p * (p + 1) // 2))
    pos = 0
    for a in range(p):
        out[..., pos: pos + p - a] = Z[..., a: a + 1] * Z[..., a:]
        pos += p - a
    return out


def _sym_weights(w: np.ndarray, r: np.ndarray) -> np.ndarray:
    """f with f'(features of z) = (z'w)(z'r): w_a r_b + w_b r_a for a < b, w_a r_a on the diagonal."""
    a, b = np.triu_indices(w.shape[-1])
    f = w[..., a] * r[..., b] + w[..., b] * r[..., a]
    f[..., a == b] *= 0.5
    return f


def _distinct_pairs(a: np.ndarray, b: np.ndarray, Gb: int) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (a, b) code pairs."""
    u = np.unique(a.astype(np.int64) * Gb + b)
    return u // Gb, u % Gb


def _setup_block(prep: _Prepared, plan: _Plan, bp: _BlockPlan, r: int, nested: np.ndarray,
                 G: int) -> _BlockSetup | str:
    """Draw-independent pieces of one block, or why the block cannot take the cross-product path."""
    rows = _block_rows(prep, bp)
    terms = plan.fe_terms[bp.fe]
    term_inner = [any(bool(nested[j]) for j in t) for t in terms]
    inner_t = [t for t, i in zip(terms, term_inner, strict=True) if i]
    outer_t = [t for t, i in zip(terms, term_inner, strict=True) if not i]
    if inner_t and len(rows):
        # singletons of the inner effects are singletons in every draw (drop them, iterated);
        # those of the outer effects depend on the draw (checked per draw)
        rows = rows[~fx.singletons(_fe_codes(prep.ids, inner_t, rows))]
    if not len(rows):
        return "no observations"
    gid = prep.ids[rows, r]
    wts = None if prep.weights is None else prep.weights[rows]
    inner_codes = _fe_codes(prep.ids, inner_t, rows)
    outer_codes = _fe_codes(prep.ids, outer_t, rows) if terms else [np.zeros(len(rows), dtype=np.intp)]
    L = sum(fx.n_groups(c) for c in outer_codes)
    if G * L * L > _MAX_CELLS_S:
        return f"{L} outer fixed-effect levels (too many dummy columns)"
    X = prep.values[np.ix_(rows, bp.vars)]
    p = X.shape[1]
    try:
        Z0 = fx.demean(X, inner_codes, tol=_DEMEAN_TOL, weights=wts) if inner_codes else X.copy()
        Dt = None
        if L:
            D = np.column_stack([fx.indicator(c).T.toarray() for c in outer_codes])
            Dt = fx.demean(D, inner_codes, tol=_DEMEAN_TOL, weights=wts) if inner_codes else D
    except fx.NotConvergedError as exc:
        return str(exc)
    if wts is not None:
        sw = np.sqrt(wts)[:, None]
        Z0 = Z0 * sw
        Dt = None if Dt is None else Dt * sw
    SDD = SDZ = N0 = None
    if Dt is not None:
        SDD = _cluster_crossproducts(Dt, gid, G)
        SDZ = _cluster_crossproducts(Z0, gid, G, Dt)
        lam, U = np.linalg.eigh(SDD.sum(axis=0))
        N0 = U[:, lam <= max(float(lam.max()), 1e-300) * 1e-10]
    inner_levels = []
    for c in inner_codes:
        gg, _ = _distinct_pairs(gid, c, fx.n_groups(c))
        inner_levels.append(np.bincount(gg, minlength=G).astype(float))
    outer_rows = []
    for c in outer_codes:
        Lt = fx.n_groups(c)
        outer_rows.append(np.bincount(gid.astype(np.int64) * Lt + c, minlength=G * Lt).reshape(G, Lt).astype(float))
    term_pos = []
    ni = no = 0
    for i in term_inner:
        term_pos.append(ni if i else no)
        ni += i
        no += not i
    clusters = []
    all_codes = _fe_codes(prep.ids, terms, rows)
    for c in bp.clusters:
        kind = plan.cluster_kind[c]
        if kind != "cluster":
            cs = _ClusterSetup(kind)
            if kind == "hetero" and Dt is None:
                K = _sym_features(Z0)
                q = K.shape[1]
                cs.H0 = _cell_products(np.vstack([K, np.zeros((1, q))])[None], _pad_index(gid, G))[0].T
            clusters.append(cs)
            continue
        cid = plan.cluster_ids[c][0]
        ccodes, Cl = fx.factorize(prep.ids[rows, cid])
        cs = _ClusterSetup(kind, inner=bool(nested[cid]))
        if cs.inner:
            cs.cell, cs.n_cells = fx.factorize(gid.astype(np.int64) * Cl + ccodes)
            first = np.zeros(cs.n_cells, dtype=np.int64)
            first[cs.cell[::-1]] = gid[::-1]
            cs.cell_g = first
            cs.levels = np.bincount(first, minlength=G).astype(float)
            cs.pad = _pad_index(cs.cell, cs.n_cells)
            if Dt is None:
                cs.Q0 = _cell_products(np.vstack([Z0, np.zeros((1, p))])[None], cs.pad)[0]
        else:
            cs.cell, cs.n_cells = ccodes, Cl
            cs.levels = np.bincount(gid.astype(np.int64) * Cl + ccodes, minlength=G * Cl).reshape(G, Cl).astype(float)
            cs.pad = _pad_index(cs.cell, cs.n_cells)
            if Dt is None:
                key, K = fx.factorize(gid.astype(np.int64) * Cl + ccodes)
                kc = np.zeros(K, dtype=np.int64)
                kc[key] = ccodes
                kg = np.zeros(K, dtype=np.int64)
                kg[key] = gid
                pp = p * p
                Qk = _cell_products(np.vstack([Z0, np.zeros((1, p))])[None], _pad_index(key, K))[0].T
                E = np.zeros((K, Cl * pp))
                E[np.arange(K)[:, None], kc[:, None] * pp + np.arange(pp)[None, :]] = Qk
                cs.Q0, cs.k_g = E, kg
        for t, codes in enumerate(all_codes):
            Lt = fx.n_groups(codes)
            if term_inner[t]:
                # a level of an inner effect lies in one resampled cluster: its nesting does not
                # depend on the draw, only whether a cluster with a straddling level is drawn
                lv, cc = _distinct_pairs(codes, ccodes, Cl)
                straddle = np.bincount(lv, minlength=Lt) > 1
                bad = np.zeros(G)
                if straddle.any():
                    lev_g = np.zeros(Lt, dtype=np.int64)
                    lev_g[codes[::-1]] = gid[::-1]
                    bad[np.unique(lev_g[straddle])] = 1.0
                cs.nests.append(_Nest("bad", bad) if bad.any() else _Nest("always"))
            elif cs.inner:
                # an outer level is nested iff the drawn copies hold it in one cluster level in all
                key = fx.combine(gid, codes)
                gk = np.zeros(fx.n_groups(key), dtype=np.int64)
                gk[key] = gid
                lk = np.zeros(fx.n_groups(key), dtype=np.int64)
                lk[key] = codes
                kc, _ = _distinct_pairs(key, ccodes, Cl)
                per_key = np.bincount(kc, minlength=fx.n_groups(key)).astype(float)
                m = np.zeros((G, Lt))
                np.add.at(m, (gk, lk), per_key)
                cs.nests.append(_Nest("copies", m))
            elif fx.is_nested(codes, ccodes):
                cs.nests.append(_Nest("always"))
            else:
                inc = np.zeros((G, Lt * Cl))
                inc[gid, codes.astype(np.int64) * Cl + ccodes] = 1.0
                cs.nests.append(_Nest("incidence", inc, (Lt, Cl)))
        clusters.append(cs)
    return _BlockSetup(rows, gid, Z0, Dt, SDD, SDZ, N0, len(terms), inner_levels, outer_rows, not terms,
                       term_inner, term_pos, clusters)


# ------------------------------------------------------------------ vectorised small solves


def _cholesky(As: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cholesky factors of a stack (n, k, k) -> (factors in batch-last layout (k, k, n), squared
    pivots (n, k)); non-positive pivots are reported as they are (the factor is then garbage but
    finite). Batch-last: every step is a vector operation over the stack."""
    n, k, _ = As.shape
    A = np.ascontiguousarray(As.transpose(1, 2, 0))
    Lf = np.zeros_like(A)
    piv = np.empty((k, n))
    for j in range(k):
        v = A[j, j] - (Lf[j, :j] ** 2).sum(axis=0)
        piv[j] = v
        s = np.sqrt(np.where(v > 0, v, 1.0))
        Lf[j, j] = s
        if j + 1 < k:
            Lf[j + 1:, j] = (A[j + 1:, j] - (Lf[j + 1:, :j] * Lf[j, :j][None]).sum(axis=1)) / s
    return Lf, piv.T


def _cho_solve(Lf: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Solve L L' x = b: Lf (k, k, n) from :func:`_cholesky`, b (n, k, m) -> (n, k, m)."""
    k = Lf.shape[0]
    bt = np.ascontiguousarray(b.transpose(1, 2, 0))  # (k, m, n)
    y = np.empty_like(bt)
    for j in range(k):
        y[j] = (bt[j] - (Lf[j, :j, None] * y[:j]).sum(axis=0)) / Lf[j, j]
    x = np.empty_like(bt)
    for j in range(k - 1, -1, -1):
        x[j] = (y[j] - (Lf[j + 1:, j, None] * x[j + 1:]).sum(axis=0)) / Lf[j, j]
    return x.transpose(2, 0, 1)


def _pyfixest_drops_many(A: np.ndarray, tol: float = _PYFIXEST_COLLIN_TOL) -> tuple[np.ndarray, np.ndarray]:
    """``engine._pyfixest_drops`` for a stack (n, k, k): (dropped (n, k), clear (n,))."""
    n, k, _ = A.shape
    R = np.zeros_like(A)
    dropped = np.zeros((n, k), dtype=bool)
    clear = np.ones(n, dtype=bool)
    for j in range(k):
        v = A[:, j, j] - np.einsum("ni,ni->n", R[:, :j, j], R[:, :j, j])
        drop = v < tol
        dropped[:, j] = drop
        clear &= np.where(drop, v < tol / 100, v >= tol * 100)
        s = np.sqrt(np.where(drop, 1.0, v))
        R[:, j, j] = np.where(drop, 0.0, s)
        if j + 1 < k:
            rest = (A[:, j, j + 1:] - np.einsum("ni,nim->nm", R[:, :j, j], R[:, :j, j + 1:])) / s[:, None]
            R[:, j, j + 1:] = np.where(drop[:, None], 0.0, rest)
    return dropped, clear


# ------------------------------------------------------------------ one chunk of draws


@dataclass
class _Out:
    """Per-draw, per-specification results of a chunk (plan order) and the draws to redo."""

    estimate: np.ndarray
    std_error: np.ndarray
    df: np.ndarray
    redo: np.ndarray  # (R, n_blocks) bool: re-estimate this block on the resampled rows


def _ginv_solve(S: np.ndarray, B: np.ndarray, W: np.ndarray) -> np.ndarray:
    """(S)^- B for stacks of singular PSD S (R, L, L), with W (R, L, L) spanning its null space."""
    M = S + W
    d = np.sqrt(np.einsum("rii->ri", M))
    d[d == 0] = 1.0
    Ms = M / d[:, :, None] / d[:, None, :]
    Bs = B / d[:, :, None]
    L = M.shape[1]
    if L <= 12:  # vectorised over draws beats LAPACK's per-matrix calls for small matrices
        Lf, piv = _cholesky(Ms)
        good = (piv >= _GINV_PIVOT_TOL).all(axis=1)
        out = _cho_solve(Lf, Bs)
    else:
        out = np.empty_like(Bs)
        good = np.ones(len(M), dtype=bool)
        try:
            Lf = np.linalg.cholesky(Ms)
        except np.linalg.LinAlgError:
            Lf = np.zeros_like(Ms)
            for i in range(len(Ms)):
                try:
                    Lf[i] = np.linalg.cholesky(Ms[i])
                except np.linalg.LinAlgError:
                    good[i] = False
        good &= (np.einsum("rii->ri", Lf) ** 2 >= _GINV_PIVOT_TOL).all(axis=1)
        if good.any():
            out[good] = np.linalg.solve(Ms[good], Bs[good])
    out /= d[:, :, None]
    for i in np.flatnonzero(~good):
        lam, U = np.linalg.eigh(S[i])
        keep = lam > max(float(lam.max()), 1e-300) * 1e-10
        out[i] = U[:, keep] @ ((U[:, keep].T @ B[i]) / lam[keep][:, None])
    return out


def _block_chunk(bs: _BlockSetup, bp: _BlockPlan, counts: np.ndarray, out: _Out, j: int) -> None:
    R = counts.shape[0]
    n, p = bs.Z0.shape
    mult = counts[:, bs.gid]  # (R, n) copies of every row
    N = mult.sum(axis=1)
    redo = N <= 0
    # levels of every term in the draw; singletons of the outer effects
    levels_t = []
    if not bs.outer_is_intercept:
        for t in range(bs.n_terms):
            if bs.term_inner[t]:
                levels_t.append(counts @ bs.inner_levels[bs.term_pos[t]])
            else:
                lc = counts @ bs.outer_rows[bs.term_pos[t]]
                redo |= (lc == 1).any(axis=1)
                levels_t.append((lc > 0).sum(axis=1).astype(float))
        k_fe = np.sum(levels_t, axis=0) - (bs.n_terms - 1)
    else:
        k_fe = np.ones(R)
    shared = bs.Dt is None
    if shared:
        Zt = np.broadcast_to(bs.Z0, (R, n, p))
    else:
        L = bs.Dt.shape[1]
        S = np.tensordot(counts, bs.SDD, axes=1)
        SZ = np.tensordot(counts, bs.SDZ, axes=1)
        W = np.broadcast_to(bs.N0 @ bs.N0.T, (R, L, L)).copy()
        absent = np.concatenate([counts @ o == 0 for o in bs.outer_rows], axis=1)
        W[:, np.arange(L), np.arange(L)] += absent
        Pi = _ginv_solve(S, SZ, W)
        Zt = bs.Z0[None] - bs.Dt @ Pi  # (R, n, p)
    Zw = Zt * mult[:, :, None]
    C = np.matmul(Zw.transpose(0, 2, 1), Zt)
    pp = p * p
    Zx = Zwx = None
    if not shared and any(cs.kind == "cluster" for cs in bs.clusters):
        Zx = np.concatenate([Zt, np.zeros((R, 1, p))], axis=1)
        Zwx = np.concatenate([Zw, np.zeros((R, 1, p))], axis=1)
    cl_info = []
    for cs in bs.clusters:
        if cs.kind == "hetero":
            # fourth moments: sum_i m_i (z_i'w)^2 (z_i'r)^2 = f' H f, f from (w, r)
            if shared:
                H = counts @ cs.H0
            else:
                Kt = _sym_features(np.ascontiguousarray(Zt.transpose(2, 0, 1)), axis=0)  # (q, R, n)
                H = np.matmul((Kt * mult[None]).transpose(1, 0, 2), Kt.transpose(1, 2, 0))
            q = int(round(math.sqrt(H[0].size)))
            cl_info.append((k_fe, None, H.reshape(R, q, q), None))
            continue
        if cs.kind != "cluster":
            cl_info.append((k_fe, None, None, None))
            continue
        if cs.inner:
            Gd = counts @ cs.levels
        else:
            Gd = ((counts @ cs.levels) > 0).sum(axis=1).astype(float)
        offset = k_fe.copy()
        if not bs.outer_is_intercept:
            for t, nest in enumerate(cs.nests):
                offset -= np.where(nest(counts), levels_t[t] - 1, 0.0)
        if cs.inner:
            # cell cross-products (each drawn copy of a cell is a cluster: weight = copies)
            Q = cs.Q0[None] if shared else _cell_products(Zx, cs.pad)
            wt = counts[:, cs.cell_g]
        else:
            # a level's cross-products summed over the drawn copies
            if shared:
                Q = np.ascontiguousarray((counts[:, cs.k_g] @ cs.Q0).reshape(R, cs.n_cells, pp).transpose(0, 2, 1))
            else:
                Q = _cell_products(Zx, cs.pad, Zwx)
            wt = None
        cl_info.append((offset, Gd, Q, wt))
    # every specification of the block in one solve: regressor lists padded to the longest
    # with an extra variable that is its own identity block (the same arithmetic as unpadded)
    merged = _merged(bs, bp, p)
    pe = p + merged.lidx.shape[1]
    Cext = np.zeros((R, pe, pe))
    Cext[:, :p, :p] = C
    Cext[:, np.arange(p, pe), np.arange(p, pe)] = 1.0
    _solve_piece_draws(merged, Cext, C, mult, N, cl_info, bs, p, out, redo)
    out.redo[:, j] |= redo


def _solve_x(C: np.ndarray, xidx: np.ndarray, draws: np.ndarray, ys: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray]:
    """Solve for regressor sets: C (R, p, p), xidx (m, k) block-local regressor positions,
    draws (m,), ys (o,) the outcomes -> (sol (m, k, o + 1): (X'X)^-1 [X'y for every outcome, e1],
    ok (m,)) with the pivot checks of ``engine._solve_clear``."""
    m, k = xidx.shape
    o = len(ys)
    A = C[draws[:, None, None], xidx[:, :, None], xidx[:, None, :]]
    d2 = np.einsum("nii->ni", A)
    ok = (d2 >= _ABS_PIVOT_TOL).all(axis=1)
    d = np.sqrt(np.where(d2 > 0, d2, 1.0))
    As = A / d[:, :, None] / d[:, None, :]
    Lf, piv = _cholesky(As)
    with np.errstate(invalid="ignore"):
        ok &= (piv >= _REL_PIVOT_TOL).all(axis=1) & (piv * d2 >= _ABS_PIVOT_TOL).all(axis=1)
    rhs = np.zeros((m, k, o + 1))
    rhs[:, :, :o] = C[draws[:, None, None], xidx[:, :, None], ys[None, None, :]] / d[:, :, None]
    rhs[:, 0, o] = 1.0 / d[:, 0]
    return _cho_solve(Lf, rhs) / d[:, :, None], ok


def _merged(bs: _BlockSetup, bp: _BlockPlan, p: int) -> _Piece:
    """All the block's specifications as one piece, regressors padded with variables ``p, p + 1...``
    (each its own identity block)."""
    if "merged" not in bs.xcache:
        kmax = max(pc.lidx.shape[1] for pc in bp.pieces)
        lidx = np.empty((sum(len(pc.spec_ids) for pc in bp.pieces), kmax), dtype=np.int64)
        lidx[:] = p + np.arange(kmax)
        a = 0
        for pc in bp.pieces:
            lidx[a: a + len(pc.spec_ids), : pc.lidx.shape[1]] = pc.lidx
            a += len(pc.spec_ids)
        bs.xcache["merged"] = _Piece(np.concatenate([pc.spec_ids for pc in bp.pieces]), lidx,
                                     np.concatenate([pc.lcl for pc in bp.pieces]))
    return bs.xcache["merged"]


def _solve_piece_draws(piece: _Piece, C: np.ndarray, Creal: np.ndarray, mult, N, cl_info, bs: _BlockSetup,
                       p: int, out: _Out, redo: np.ndarray) -> None:
    """Solve a piece in every draw. C (R, pe, pe): the block's cross-products and the padding
    variables p... pe - 1; Creal (R, p, p)."""
    R = C.shape[0]
    pe = C.shape[1]
    lidx = piece.lidx
    B, k1 = lidx.shape
    k = k1 - 1
    # specifications of the piece that share their regressors share one solve per draw
    if "x" not in bs.xcache:
        ux, xinv = np.unique(lidx[:, 1:], axis=0, return_inverse=True)
        bs.xcache["x"] = (ux, xinv.ravel())
    ux, xinv = bs.xcache["x"]
    U = len(ux)
    xi = np.broadcast_to(ux[None], (R, U, k)).reshape(R * U, k)
    xdraw = np.repeat(np.arange(R), U)
    ys, yinv = np.unique(lidx[:, 0], return_inverse=True)
    o = len(ys)
    sol, ok = _solve_x(C, xi, xdraw, ys)
    # per regressor set and draw: the regressors kept (pyfixest's collinearity rule)
    kept = np.ones((R * U, k), dtype=bool)
    bad = np.flatnonzero(~ok)
    estimable = ok.copy()
    if len(bad):
        A = C[xdraw[bad][:, None, None], xi[bad][:, :, None], xi[bad][:, None, :]]
        dropped, clear = _pyfixest_drops_many(A)
        redo[xdraw[bad[~clear]]] = True
        use = clear & ~dropped[:, 0]  # a dropped treatment: not estimated
        sub, pats = bad[use], dropped[use]
        if len(sub):
            code = pats.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
            ucode, first, pinv = np.unique(code, return_index=True, return_inverse=True)
            pinv = pinv.ravel()
            for q, pat in enumerate(pats[first]):
                items = sub[pinv == q]
                keep = np.flatnonzero(~pat)
                s2, ok2 = _solve_x(C, xi[items][:, keep], xdraw[items], ys)
                redo[xdraw[items[~ok2]]] = True
                it = items[ok2]
                full = np.zeros((len(it), k, o + 1))
                full[:, keep] = s2[ok2]
                sol[it] = full
                kept[it] = ~pat
                estimable[it] = True
    # expand to specifications: item (draw, spec) -> its regressor-set item
    item_x = (np.arange(R)[:, None] * U + xinv[None, :]).reshape(R * B)
    yloc = np.broadcast_to(lidx[None, :, 0], (R, B)).reshape(R * B)
    ycol = np.broadcast_to(yinv.ravel()[None, :], (R, B)).reshape(R * B)
    beta = sol[item_x, :, ycol]  # (R*B, k) (zeros for dropped controls)
    w = sol[item_x, :, o]  # the last column: (X'X)^-1 e1
    valid = estimable[item_x]
    k_eff = (kept & (xi < p))[item_x].sum(axis=1)  # the padding is not a regressor
    li_x = np.broadcast_to(lidx[None, :, 1:], (R, B, k)).reshape(R * B, k)
    rr = np.arange(R * B)[:, None]
    wsc = np.zeros((R * B, pe))
    wsc[rr, li_x] = w
    rsc = np.zeros((R * B, pe))
    rsc[rr, li_x] = -beta
    rsc[np.arange(R * B), yloc] += 1.0
    wsc, rsc = wsc[:, :p], rsc[:, :p]
    estimate = beta[:, 0]
    w0 = w[:, 0]
    var = np.full(R * B, np.nan)
    dfs = np.full(R * B, np.nan)
    for c, (offset, Gd, Q, wt) in enumerate(cl_info):
        sel_b = np.flatnonzero(piece.lcl == c)
        if not len(sel_b):
            continue
        Bc = len(sel_b)
        it = np.arange(R)[:, None] * B + sel_b[None, :]  # (R, Bc)
        dk = k_eff[it] + offset[:, None]
        resid_df = N[:, None] - dk
        redo |= ((resid_df <= 0) & valid[it]).any(axis=1)
        ws = wsc[it]  # (R, Bc, p)
        rs = rsc[it]
        kind = bs.clusters[c].kind
        with np.errstate(divide="ignore", invalid="ignore"):
            if kind == "iid":
                rss = np.einsum("rbp,rbp->rb", rs @ Creal, rs)
                v = rss / resid_df * w0[it]
                d = resid_df.astype(float)
            elif kind == "hetero":
                f = _sym_weights(ws, rs)  # (R, Bc, q)
                meat = np.einsum("rbq,rbq->rb", f @ Q, f)
                v = N[:, None] / resid_df * meat
                d = resid_df.astype(float)
            else:
                M = (ws[:, :, :, None] * rs[:, :, None, :]).reshape(R, Bc, p * p)
                T = M @ Q  # (R, Bc, cells)
                T *= T
                meat = T.sum(axis=2) if wt is None else np.matmul(T, wt[:, :, None])[:, :, 0]
                fac = Gd[:, None] / (Gd[:, None] - 1) * (N[:, None] - 1) / resid_df
                v = fac * meat
                few = np.broadcast_to((Gd < 2)[:, None], (R, Bc))
                v = np.where(few, np.nan, v)
                d = np.where(few, np.nan, (Gd - 1)[:, None])
        var[it] = v
        dfs[it] = d
    se = np.sqrt(np.where(var >= 0, var, np.nan))
    gpos = piece.spec_ids  # plan positions
    out.estimate[:, gpos] = np.where(valid, estimate, np.nan).reshape(R, B)
    out.std_error[:, gpos] = np.where(valid, se, np.nan).reshape(R, B)
    out.df[:, gpos] = np.where(valid, dfs, np.nan).reshape(R, B)


def _chunk_draws(setups: list[_BlockSetup | str], plan: _Plan, counts: np.ndarray) -> _Out:
    R = counts.shape[0]
    n = len(plan.spec_ids)
    out = _Out(np.full((R, n), np.nan), np.full((R, n), np.nan), np.full((R, n), np.nan),
               np.zeros((R, len(plan.blocks)), dtype=bool))
    for j, (bs, bp) in enumerate(zip(setups, plan.blocks, strict=True)):
        if isinstance(bs, str):
            out.redo[:, j] = True
            continue
        _block_chunk(bs, bp, counts, out, j)
    return out


def _chunk_size(setups: list[_BlockSetup | str]) -> int:
    per_draw = 1
    for bs in setups:
        if isinstance(bs, str):
            continue
        n, p = bs.Z0.shape
        L = 0 if bs.Dt is None else bs.Dt.shape[1]
        q = p * (p + 1) // 2
        per_draw = max(per_draw, 6 * n * p + 4 * L * L + 2 * n * q)
    return max(1, min(256, _CHUNK_CELLS // per_draw))


def _setups(prep: _Prepared, plan: _Plan, r: int, nested: np.ndarray) -> list[_BlockSetup | str]:
    G = fx.n_groups(prep.ids[:, r])
    return [_setup_block(prep, plan, bp, r, nested, G) for bp in plan.blocks]


def _counts(seeds, G: int) -> np.ndarray:
    """(draws, G): copies of every cluster in each draw (the draws of joint._resample)."""
    out = np.zeros((len(seeds), G))
    for i, ss in enumerate(seeds):
        out[i] = np.bincount(np.random.default_rng(ss).integers(0, G, size=G), minlength=G)
    return out

