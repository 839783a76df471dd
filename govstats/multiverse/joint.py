"""The joint test of a specification curve (Simonsohn, Simmons and Nelson 2020).

Is the curve as a whole consistent with no effect? :func:`joint_test` imposes the null
specification by specification, resamples clusters with replacement and re-runs the
whole multiverse on every draw (with the engine of :mod:`govstats.multiverse.engine`,
in this process or on Dask).

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
from typing import Any

import numpy as np
import pandas as pd
from scipy import special, stats

from govstats import fixed_effects as fx
from govstats._literals import EngineKind, JointAlternative, check_literal
from govstats.errors import GovstatsError
from govstats.multiverse.data import _flat, _prepare, _Prepared
from govstats.multiverse.engine import _make_plan, _Plan
from govstats.multiverse.results import MultiverseResults
from govstats.multiverse.runner import _client, _progress, _run_local

__all__ = ["JointTestResult", "joint_test"]

# A progress bar appears by default from this many draws.
_PROGRESS_DRAWS = 100


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

    def tidy(self) -> pd.DataFrame:
        """One row per statistic: ``observed, null_median, null_p95, p_value`` (a copy)."""
        return self._table.copy()

    def summary(self) -> str:
        head = ("SIMULATED DATA - " if self.simulated else "") + (
            f"Specification-curve joint test ({self.n_specifications} specifications, {self.reps} "
            f"bootstrap draws under the null, clusters of {self.resample!r} resampled, "
            f"{self.alternative}, alpha = {self.alpha:g})")
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
    batches = [seeds[a: a + draws_per_task] for a in range(0, len(seeds), max(1, int(draws_per_task)))]
    draws = np.empty((0, 4))
    bar = _progress(int(reps), show, "joint test draws")
    try:
        if scheduler is None:
            parts = []
            for batch in batches:
                parts.append(_draw_statistics(prep, plan, b_obs, r, nested, batch, engine, alpha))
                bar.update(len(batch))
            draws = np.vstack(parts)
        else:
            from distributed import as_completed

            client, own = _client(scheduler)
            try:
                prep_f, plan_f = client.scatter([prep, plan], broadcast=True, hash=False)
                futs = {client.submit(_draw_statistics, prep_f, plan_f, b_obs, r, nested, batch, engine, alpha,
                                      pure=False): i for i, batch in enumerate(batches)}
                parts_d: dict[int, np.ndarray] = {}
                for fut in as_completed(list(futs)):
                    parts_d[futs[fut]] = fut.result()
                    bar.update(len(parts_d[futs[fut]]))
                draws = np.vstack([parts_d[i] for i in range(len(batches))])
            finally:
                if own:
                    client.close()
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
                           int(np.isfinite(b_obs).sum()), prep.simulated)

