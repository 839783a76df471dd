"""The joint test of a specification curve (Simonsohn, Simmons and Nelson 2020).

Is the curve as a whole consistent with no effect? :func:`joint_test` imposes the null
specification by specification, resamples clusters with replacement and re-estimates
the whole multiverse on every draw. By default a draw is solved from count-weighted
per-cluster cross-products (:mod:`govstats.multiverse.crossdraws`: the numbers of the
engine of :mod:`govstats.multiverse.engine` run on the resampled rows, to rounding, at a
small fraction of the cost); what that does not cover exactly is re-estimated on the
resampled rows (``method="resample"`` does so for every draw, in this process or on Dask).

References
----------
Simonsohn, U., Simmons, J. P. and Nelson, L. D. (2020), "Specification curve
analysis", Nature Human Behaviour 4, 1208-1214.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from scipy import special, stats

from govstats import fixed_effects as fx
from govstats._literals import EngineKind, JointAlternative, check_literal
from govstats.errors import GovstatsError
from govstats.multiverse import crossdraws
from govstats.multiverse.data import _flat, _prepare, _Prepared
from govstats.multiverse.engine import (
    _block_data,
    _fallback_twoway,
    _make_plan,
    _Plan,
    _solve_block_pieces,
    _SpecRows,
)
from govstats.multiverse.results import MultiverseResults
from govstats.multiverse.runner import _client, _one_blas_thread, _progress, _run_local

__all__ = ["JointTestResult", "joint_test"]

# A progress bar appears by default from this many draws.
_PROGRESS_DRAWS = 100

#: How the draws are computed: "auto" from per-cluster cross-products where that is exact
#: (:mod:`govstats.multiverse.crossdraws`), re-estimating on the resampled rows elsewhere;
#: "resample": every draw re-estimated on its resampled rows (the reference).
JointMethod = Literal["auto", "resample"]


@dataclass(frozen=True, repr=False)
class JointTestResult:
    """Joint inference over a specification curve (Simonsohn, Simmons and Nelson 2020).

    Attributes
    ----------
    draws : DataFrame
        One row per bootstrap draw: the three statistics (and the two directional
        counts) computed under the null.
    n_specifications : int
        Specifications entering the statistics (those the engine estimated).
    reps, seed, resample, alternative, alpha, simulated
        As passed to :func:`joint_test`; ``simulated`` from the data.

    Methods
    -------
    tidy()
        One row per statistic (``median_estimate``, ``n_significant``,
        ``stouffer_z``): ``observed``, ``null_median`` and ``null_p95`` of its
        bootstrap distribution under the null, and ``p_value``.
    summary()
        The same as text, with what was resampled.
    """

    _table: pd.DataFrame
    draws: pd.DataFrame
    reps: int
    seed: int | None
    resample: str
    alternative: str
    alpha: float
    n_specifications: int
    simulated: bool
    path: str = ""

    def tidy(self) -> pd.DataFrame:
        """One row per statistic: ``observed, null_median, null_p95, p_value`` (a copy)."""
        return self._table.copy()

    def summary(self) -> str:
        head = ("SIMULATED DATA - " if self.simulated else "") + (
            f"Specification-curve joint test ({self.n_specifications} specifications, {self.reps} "
            f"bootstrap draws under the null, clusters of {self.resample!r} resampled, "
            f"{self.alternative}, alpha = {self.alpha:g})")
        if self.path:
            head += f"\nDraws: {self.path}"
        with pd.option_context("display.width", 120):
            return head + "\n" + self._table.to_string(float_format=lambda v: f"{v:.4g}")

    def __repr__(self) -> str:
        return self.summary()


def _curve_statistics(est: np.ndarray, t: np.ndarray, df: np.ndarray, alpha: float) -> np.ndarray:
    """median, n significant positive, n significant negative, Stouffer Z (over finite entries)."""
    ok = np.isfinite(est) & np.isfinite(t) & np.isfinite(df)
    if not ok.any():
        return np.full(4, np.nan)
    e, tt, d = est[ok], t[ok], df[ok]
    p = 2 * stats.t.sf(np.abs(tt), d)
    sig = p < alpha
    z = special.ndtri(np.clip(stats.t.cdf(tt, d), 1e-300, 1 - 1e-16))
    return np.array([np.median(e), float((sig & (tt > 0)).sum()), float((sig & (tt < 0)).sum()),
                     z.sum() / math.sqrt(len(z))])


def _oriented(s: np.ndarray, alternative: str) -> np.ndarray:
    """(median, n significant, Stouffer Z) oriented so that large = evidence against H0."""
    s = np.atleast_2d(s)
    if alternative == "greater":
        return np.column_stack([s[:, 0], s[:, 1], s[:, 3]])
    if alternative == "less":
        return np.column_stack([-s[:, 0], s[:, 2], -s[:, 3]])
    return np.column_stack([np.abs(s[:, 0]), np.maximum(s[:, 1], s[:, 2]), np.abs(s[:, 3])])


def _nested_in(ids: np.ndarray, r: int) -> np.ndarray:
    """For every id column: is it nested in id column r (each level inside one r-level)?"""
    out = np.zeros(ids.shape[1], dtype=bool)
    for j in range(ids.shape[1]):
        out[j] = fx.is_nested(ids[:, j], ids[:, r])
    return out


def _resample(prep: _Prepared, r: int, nested: np.ndarray, rng: np.random.Generator) -> _Prepared:
    """A cluster bootstrap sample: clusters of id column r drawn with replacement; id columns
    nested in r get a new level for every copy (a drawn-twice unit is two units)."""
    codes = prep.ids[:, r]
    G = fx.n_groups(codes)
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=G)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    draw = rng.integers(0, G, size=G)
    sizes = counts[draw]
    copy = np.repeat(np.arange(G), sizes)
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    rows = order[np.repeat(starts[draw], sizes) + offsets]
    ids = prep.ids[rows].copy()
    ids[:, nested] = ids[:, nested] * G + copy[:, None]
    return _Prepared(values=prep.values[rows], var_names=prep.var_names, ids=ids, id_names=prep.id_names,
                     samples=prep.samples[:, rows], simulated=prep.simulated,
                     weights=None if prep.weights is None else prep.weights[rows])


def _draw_statistics(prep: _Prepared, plan: _Plan, b_obs: np.ndarray, r: int, nested: np.ndarray,
                     seeds: Sequence[np.random.SeedSequence], engine: str, alpha: float) -> np.ndarray:
    out = np.empty((len(seeds), 4))
    for i, ss in enumerate(seeds):
        draw = _resample(prep, r, nested, np.random.default_rng(ss))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = _run_local(draw, plan, engine, 10**9, False)
        e0 = est.estimate - b_obs  # the null imposed: y* = y - b x  =>  b* = b(draw) - b
        out[i] = _curve_statistics(e0, e0 / est.std_error, est.df, alpha)
    return out


def _curve_statistics_many(est: np.ndarray, t: np.ndarray, df: np.ndarray, alpha: float) -> np.ndarray:
    """:func:`_curve_statistics` of every row of (draws, specifications) arrays -> (draws, 4)."""
    ok = np.isfinite(est) & np.isfinite(t) & np.isfinite(df)
    n_ok = ok.sum(axis=1)
    tt = np.where(ok, t, 0.0)
    d = np.where(ok, df, 1.0)
    # scipy's t.sf(x) and t.cdf(x) are special.stdtr(df, -x) and stdtr(df, x): called directly
    lower = special.stdtr(d, -np.abs(tt))
    p = 2 * lower
    sig = ok & (p < alpha)
    cdf = lower.copy()
    pos = tt > 0
    cdf[pos] = special.stdtr(d[pos], tt[pos])
    z = np.where(ok, special.ndtri(np.clip(cdf, 1e-300, 1 - 1e-16)), 0.0)
    out = np.full((len(est), 4), np.nan)
    has = n_ok > 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out[:, 0] = np.nanmedian(np.where(ok, est, np.nan), axis=1)
    out[:, 1] = (sig & (tt > 0)).sum(axis=1)
    out[:, 2] = (sig & (tt < 0)).sum(axis=1)
    out[:, 3] = z.sum(axis=1) / np.sqrt(np.maximum(n_ok, 1))
    out[~has] = np.nan
    return out


def _resampled_estimates(prep: _Prepared, plan: _Plan, r: int, nested: np.ndarray,
                         seeds: Sequence[np.random.SeedSequence], redo: np.ndarray, engine: str
                         ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Re-estimate the blocks flagged in ``redo`` (draws x blocks) and the two-way clustered
    specifications on each draw's resampled rows -> (estimate, std_error, df), NaN elsewhere."""
    n = len(plan.spec_ids)
    shape = (len(seeds), n)
    est, se, df = np.full(shape, np.nan), np.full(shape, np.nan), np.full(shape, np.nan)
    with warnings.catch_warnings(), _one_blas_thread():
        warnings.simplefilter("ignore")
        for i, ss in enumerate(seeds):
            blocks = np.flatnonzero(redo[i])
            if not len(blocks) and not len(plan.fallback):
                continue
            draw = _resample(prep, r, nested, np.random.default_rng(ss))
            for j in blocks:
                bp = plan.blocks[j]
                pos, e = _solve_block_pieces(draw, plan, _block_data(draw, plan, bp), bp, bp.pieces, engine)
                est[i, pos], se[i, pos], df[i, pos] = e.estimate, e.std_error, e.df
            if len(plan.fallback):
                pos = plan.fallback
                e = _fallback_twoway(draw, plan, _SpecRows.from_plan(plan, pos), engine)
                est[i, pos], se[i, pos], df[i, pos] = e.estimate, e.std_error, e.df
    return est, se, df


def _cross_draws(prep: _Prepared, plan: _Plan, r: int, nested: np.ndarray,
                 seeds: Sequence[np.random.SeedSequence]
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list]:
    """The draws' (estimate, std_error, df) from per-cluster cross-products
    (:mod:`govstats.multiverse.crossdraws`), and redo (draws x blocks): what to re-estimate."""
    with _one_blas_thread():
        setups = crossdraws._setups(prep, plan, r, nested)
        counts = crossdraws._counts(seeds, fx.n_groups(prep.ids[:, r]))
        step = crossdraws._chunk_size(setups)
        parts = []
        for a in range(0, len(seeds), step):
            parts.append(crossdraws._chunk_draws(setups, plan, counts[a: a + step]))
    est = np.vstack([o.estimate for o in parts])
    se = np.vstack([o.std_error for o in parts])
    df = np.vstack([o.df for o in parts])
    redo = np.vstack([o.redo for o in parts])
    return est, se, df, redo, setups


def _map(fn: Any, shared: tuple, batches: list, scheduler: Any, bar: Any, args: Any) -> list:
    """``fn(*shared, *args(batch))`` for every batch, in order: here, or on Dask (``shared`` scattered)."""
    if scheduler is None:
        parts = []
        for batch in batches:
            parts.append(fn(*shared, *args(batch)))
            bar.update(len(batch))
        return parts
    from distributed import as_completed

    client, own = _client(scheduler)
    try:
        shared_f = client.scatter(list(shared), broadcast=True, hash=False)
        futs = {client.submit(fn, *shared_f, *args(batch), pure=False): i for i, batch in enumerate(batches)}
        out: dict[int, Any] = {}
        for fut in as_completed(list(futs)):
            out[futs[fut]] = fut.result()
            bar.update(len(batches[futs[fut]]))
        return [out[i] for i in range(len(batches))]
    finally:
        if own:
            client.close()


def _path_note(setups: list, redo: np.ndarray, n_twoway: int) -> str:
    n_blocks = len(setups)
    n_fast = sum(not isinstance(s, str) for s in setups)
    reasons = sorted({s for s in setups if isinstance(s, str)})
    fast_blocks = [j for j, s in enumerate(setups) if not isinstance(s, str)]
    redone = int(redo[:, fast_blocks].sum()) if fast_blocks else 0
    note = (f"cross-products for {n_fast} of {n_blocks} blocks (fixed effects x sample)"
            f"; {redone} of {redo.shape[0] * n_fast} block-draws re-estimated on resampled rows")
    if n_fast < n_blocks:
        note += f"; {n_blocks - n_fast} block(s) re-estimated on every draw ({'; '.join(reasons)})"
    if n_twoway:
        note += f"; {n_twoway} two-way clustered specification(s) re-estimated on every draw"
    return note


def joint_test(
    results: MultiverseResults,
    data: pd.DataFrame,
    *,
    reps: int = 500,
    seed: int | None = 0,
    resample: str = "unit",
    alternative: JointAlternative = "two-sided",
    alpha: float | None = None,
    engine: EngineKind = "auto",
    scheduler: Any = None,
    draws_per_task: int = 10,
    progress: bool | None = None,
    method: JointMethod = "auto",
) -> JointTestResult:
    """Is the specification curve as a whole consistent with no effect?

    The bootstrap under the null of Simonsohn, Simmons and Nelson (2020): for
    every specification the null is imposed by replacing the outcome with
    ``y - b x`` (``b`` its own estimate); clusters of ``resample`` are drawn with
    replacement; every specification is re-estimated on every draw and three
    statistics of the curve are recomputed. Because OLS is linear in ``y``, the
    estimate on ``y - b x`` in a draw is the draw's estimate minus ``b`` and its
    residuals (hence standard error) are unchanged, so each draw is one ordinary
    multiverse run, recentred.

    Statistics (oriented so that large values are evidence against the null)
        * ``median_estimate``: the median estimate across specifications;
        * ``n_significant``: the number of specifications with ``p < alpha`` in the
          dominant direction;
        * ``stouffer_z``: ``sum_s z_s / sqrt(n)``, ``z_s = Phi^-1(F_t(t_s))``
          (Stouffer's combination of the specifications' one-sided p-values).

        ``alternative="greater"`` uses the median, the positive significant count
        and Z; ``"less"`` their mirror images; ``"two-sided"`` the absolute
        median, the larger of the two counts and ``|Z|`` (for the observed curve and
        each draw alike). ``p_value = (1 + #{draws >= observed}) / (reps + 1)``
        (Simonsohn et al. report the plain share, which can be 0).

    Parameters
    ----------
    results : MultiverseResults
        From :func:`run_multiverse` on ``data`` (or its :meth:`~MultiverseResults.subset`).
    data : DataFrame
        The same data; the observed curve is recomputed and checked against ``results``.
    reps : int, default 500
        Bootstrap draws.
    seed : int or None, default 0
        Seed; with an int the result does not depend on ``scheduler`` or ``draws_per_task``.
    resample : str, default "unit"
        The id column whose clusters are drawn (``"unit"``: the panel unit).
    alternative : {"two-sided", "greater", "less"}
    alpha : float, optional
        Significance level of ``n_significant``; default: the results' ``alpha``.
    engine : {"auto", "fast", "pyfixest"}
        As in :func:`run_multiverse`, for the draws.
    scheduler : str or distributed.Client, optional
        Distribute the draws on a Dask cluster.
    draws_per_task : int, default 10
    progress : bool, optional
        Progress bar; default when ``reps >= 100``.
    method : {"auto", "resample"}, default "auto"
        ``"auto"``: each draw's specifications are solved from per-cluster
        cross-products, count-weighted (:mod:`govstats.multiverse.crossdraws`: the same
        numbers as re-estimating on the resampled rows, to rounding); a block or draw
        where that is not exact (a singleton in the draw, a borderline collinearity,
        two-way clustering, ``engine="pyfixest"``...) is re-estimated on its resampled
        rows, on ``scheduler`` if given. ``"resample"``: every draw re-estimated on its
        resampled rows (the reference; much slower). ``path`` of the result says which ran.

    Returns
    -------
    JointTestResult

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> from govstats.multiverse import MultiverseSpec, run_multiverse, joint_test
    >>> sim = simulate_panel(units_per_place=4, years=range(2012, 2024), seed=2)
    >>> spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
    ...                       controls=["grid_density"], fixed_effects=["unit_id + year"],
    ...                       clusters=["unit_id"])
    >>> res = run_multiverse(spec, sim.data)
    >>> jt = joint_test(res, sim.data, reps=49, resample="unit_id", seed=1)
    >>> jt.tidy().index.tolist()
    ['median_estimate', 'n_significant', 'stouffer_z']
    """
    check_literal(alternative, JointAlternative, "alternative")
    check_literal(engine, EngineKind, "engine")
    check_literal(method, JointMethod, "method")
    if not isinstance(reps, int | np.integer) or reps < 19:
        raise ValueError(f"reps={reps!r} must be an integer >= 19")
    alpha = results.alpha if alpha is None else float(alpha)
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be in (0, 1)")
    spec = results.spec
    flat_names = set(_flat(data)[0].columns) | set(_flat(data)[1])
    if resample not in flat_names:
        raise GovstatsError(f"resample={resample!r} is not a column (or index level) of the data")
    prep = _prepare(spec, data, extra_ids=(resample,))
    table = results._table
    spec_ids = table["spec_id"].to_numpy()
    plan = _make_plan(spec, prep, spec_ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = _run_local(prep, plan, engine, 10**9, False)
    b_given = table["estimate"].to_numpy(dtype=float)
    both = np.isfinite(obs.estimate) & np.isfinite(b_given)
    same = np.isclose(obs.estimate[both], b_given[both], rtol=1e-8, atol=1e-12)
    if not same.all():
        raise GovstatsError(
            f"{int((~same).sum())} estimate(s) in the results differ from a re-estimation on these data; "
            "pass the data the results were computed on"
        )
    b_obs = obs.estimate
    observed = _curve_statistics(b_obs, b_obs / obs.std_error, obs.df, alpha)
    r = prep.id(resample)
    nested = _nested_in(prep.ids, r)
    seeds = np.random.SeedSequence(seed).spawn(int(reps))
    show = reps >= _PROGRESS_DRAWS if progress is None else bool(progress)
    step = max(1, int(draws_per_task))
    bar = _progress(int(reps), show, "joint test draws")
    path = "every draw re-estimated on its resampled rows"
    try:
        if method == "resample" or engine == "pyfixest":
            batches = [seeds[a: a + step] for a in range(0, len(seeds), step)]
            parts = _map(_draw_statistics, (prep, plan), batches, scheduler, bar,
                         lambda batch: (b_obs, r, nested, batch, engine, alpha))
            draws = np.vstack(parts)
        else:
            est, se, df, redo, setups = _cross_draws(prep, plan, r, nested, seeds)
            path = _path_note(setups, redo, len(plan.fallback))
            todo = np.flatnonzero(redo.any(axis=1) | (len(plan.fallback) > 0))
            bar.update(int(reps) - len(todo))
            if len(todo):
                batches = [todo[a: a + step] for a in range(0, len(todo), step)]
                parts = _map(_resampled_estimates, (prep, plan), batches, scheduler, bar,
                             lambda idx: (r, nested, [seeds[i] for i in idx], redo[idx], engine))
                block_pos = [np.concatenate([pc.spec_ids for pc in bp.pieces]) for bp in plan.blocks]
                for idx, (e2, s2, d2) in zip(batches, parts, strict=True):
                    for i_loc, i in enumerate(idx):
                        pos = np.concatenate([*(block_pos[j] for j in np.flatnonzero(redo[i])),
                                              plan.fallback]).astype(np.int64)
                        est[i, pos], se[i, pos], df[i, pos] = e2[i_loc, pos], s2[i_loc, pos], d2[i_loc, pos]
            with np.errstate(divide="ignore", invalid="ignore"):
                e0 = est - b_obs[None, :]
                draws = _curve_statistics_many(e0, e0 / se, df, alpha)
    finally:
        bar.close()
    obs_o = _oriented(observed, alternative)[0]
    draws_o = _oriented(draws, alternative)
    valid = np.isfinite(draws_o)
    pvals = [(1 + int((draws_o[valid[:, j], j] >= obs_o[j] - 1e-12 * abs(obs_o[j])).sum()))
             / (1 + int(valid[:, j].sum())) for j in range(3)]
    names = ["median_estimate", "n_significant", "stouffer_z"]
    out = pd.DataFrame(
        {
            "observed": obs_o,
            "null_median": np.nanmedian(draws_o, axis=0),
            "null_p95": np.nanpercentile(draws_o, 95, axis=0),
            "p_value": pvals,
        },
        index=pd.Index(names, name="statistic"),
    )
    out.attrs["simulated"] = prep.simulated
    draw_frame = pd.DataFrame(
        {"median_estimate": draws[:, 0], "n_significant_positive": draws[:, 1],
         "n_significant_negative": draws[:, 2], "stouffer_z": draws[:, 3]}
    )
    return JointTestResult(out, draw_frame, int(reps), seed, resample, alternative, float(alpha),
                           int(np.isfinite(b_obs).sum()), prep.simulated, path)

