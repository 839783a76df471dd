"""Synthetic control and synthetic difference-in-differences for one treated unit.

Single-place reforms are the usual design in this field (Shaoyang's village officers in
2016, Dongcheng's grid): one unit is treated from one period on and a handful of others
are not. Three estimators of the average effect on the treated unit over the
post-treatment periods, written as in Arkhangelsky, Athey, Hirshberg, Imbens and Wager
(2021), "Synthetic Difference-in-Differences", *American Economic Review* 111(12),
4088-4118, and following the reference R implementation ``synth-inference/synthdid``
(``R/synthdid.R``, ``R/solver.R``, ``R/vcov.R``) step by step:

``"sdid"``
    Unit weights ``omega`` (non-negative, summing to one) that make the weighted donors
    track the treated unit before treatment *up to a constant* (an intercept), with a
    ridge penalty ``zeta_omega**2 * T0 * ||omega||**2`` where
    ``zeta_omega = (N1 * T1) ** (1/4) * sigma`` and ``sigma`` is the standard deviation
    of the donors' pre-period first differences; time weights ``lambda`` on the
    pre-periods that make them predict the donors' post-period mean (with an intercept
    and a negligible penalty); then the weighted double difference
    ``tau = (ybar_treated,post - lambda'y_treated,pre) - (omega'Y_donors,post_mean - omega'Y_donors,pre lambda)``.
``"sc"``
    Synthetic control (Abadie, Diamond and Hainmueller 2010) on the outcome path: unit
    weights without intercept and with a negligible penalty (``eta = 1e-6``), no time
    weights: ``tau`` is the mean post-period gap between the treated unit and its
    synthetic copy.
``"did"``
    Plain difference-in-differences: uniform weights on donors and on pre-periods.

Weights are found by the Frank-Wolfe algorithm with exact line search, with synthdid's
defaults: 100 iterations, then the weights at or below a quarter of the largest are set
to zero ("sparsified") and the solver restarts from there for up to 10,000 iterations,
stopping when the objective falls by less than ``(1e-5 * sigma)**2``.

Inference: with one treated unit the only design-based option is the **placebo**
(in-space) method of Arkhangelsky et al., Algorithm 4 (Abadie et al.'s in-space
placebos): each donor in turn is treated as if it had been the treated unit, the
estimator is re-run on the donors alone (weights re-estimated, started from the
original ones), and the standard error is the standard deviation of those placebo
effects. R's ``vcov(method = "placebo")`` draws 200 random permutations; the placebo
effect depends only on which donor plays the treated unit, so with ``reps=None`` (the
default) govstats enumerates every donor once, which is the limit of R's draws
(``sqrt((r - 1) / r) * sd`` as ``r`` grows). ``reps=r`` draws like R does, with
``seed``. The permutation p-value is ``(1 + #{|tau_j| >= |tau|}) / (N0 + 1)``.

Examples
--------
>>> from govstats import synth
>>> prop99 = synth.load_prop99()
>>> spec = synth.SynthSpec(outcome="packs_per_capita", treated="California", first_treated=1989)
>>> res = synth.fit(spec, prop99, estimator="sdid", inference="none")
>>> float(round(res.coef()["ATT"], 1))  # Table 1 SDID -15.6, as printed by the authors' R vignette
-15.6
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from govstats.errors import DataValidationError, GovstatsError, Problem

__all__ = [
    "SynthEstimator",
    "SynthResults",
    "SynthSpec",
    "fit",
    "load_prop99",
    "synth_panel_from_frame",
]

SynthEstimator = Literal["sdid", "sc", "did"]
_ESTIMATORS: tuple[str, ...] = ("sdid", "sc", "did")
_MIN_PRE_PERIODS = 2  # sigma needs first differences; SC needs at least two pre-periods to fit
_MIN_DONORS = 2


@dataclass(frozen=True)
class SynthSpec:
    """What to estimate: one outcome, one treated unit, the first treated period.

    Parameters
    ----------
    outcome : str
        Column of the outcome.
    treated : str
        Label of the treated unit in the data's unit level.
    first_treated : int
        First period in which the treated unit is treated (Proposition 99: 1989).
    donors : sequence of str, optional
        Units allowed as donors; default every other unit in the data.
    """

    outcome: str
    treated: str
    first_treated: int
    donors: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.donors is not None:
            object.__setattr__(self, "donors", tuple(str(d) for d in self.donors))


@dataclass(frozen=True)
class _Weights:
    omega: np.ndarray
    lambda_: np.ndarray


@dataclass(frozen=True)
class _Opts:
    zeta_omega: float
    zeta_lambda: float
    omega_intercept: bool
    update_omega: bool
    update_lambda: bool
    min_decrease: float
    max_iter: int = 10_000
    max_iter_pre_sparsify: int = 100


# --------------------------------------------------------------------------- solver
def _sc_weight_fw(Y: np.ndarray, zeta: float, *, intercept: bool, start: np.ndarray | None,
                  min_decrease: float, max_iter: int) -> np.ndarray:
    """synthdid's ``sc.weight.fw``: the last column of ``Y`` is the target.

    Frank-Wolfe with exact line search for ``||Ax - b||^2 + eta ||x||^2`` over the unit
    simplex, ``eta = nrow * zeta^2``. Same iterates as R's ``fw.step`` (which
    recomputes ``Ax`` each step); here every step works on the Gram matrix ``A'A`` so a
    step costs one small matrix-vector product.
    """
    n, t1 = Y.shape
    t0 = t1 - 1
    x = np.full(t0, 1.0 / t0) if start is None else start.astype(float).copy()
    if intercept:
        Y = Y - Y.mean(axis=0)
    A, b = Y[:, :t0], Y[:, t0]
    G = A.T @ A
    c = A.T @ b
    bb = float(b @ b)
    eta = n * zeta**2
    threshold = min_decrease**2
    # Everything the step needs is kept up to date incrementally after x -> (1-s)x + s e_i:
    # hg = Gx - c + eta x (half the gradient), and the scalars x'x, c'x, x'Gx.
    M = G + eta * np.eye(t0) - c[:, None]  # column i: what hg moves towards when x -> e_i
    g_diag = np.diag(G).copy()
    Gx = G @ x
    hg = Gx - c + eta * x
    loop = _fw_loop_compiled() or _fw_loop_numpy
    loop(np.ascontiguousarray(M.T), g_diag, c, hg, x, float(x @ x), float(c @ x), float(x @ Gx),
         float(eta), float(zeta), bb, float(n), float(threshold), int(max_iter))
    return x


def _fw_loop(MT, g_diag, c, hg, x, xx, cx, xGx, eta, zeta, bb, n, threshold, max_iter):
    """The Frank-Wolfe iterations of :func:`_sc_weight_fw`, updating ``x`` (and ``hg``) in place.

    ``MT[i]`` is column ``i`` of ``M``. Plain Python; :func:`_fw_loop_compiled` is the same
    code compiled by numba (identical iterates: the same operations in the same order, no
    fast-math), tested equal to this one.
    """
    prev = np.inf
    prev2 = np.inf
    t = 0
    t0 = x.shape[0]
    while t < max_iter and (t < 2 or prev2 - prev > threshold):
        t += 1
        i = 0  # np.argmin: the first smallest value, or the first NaN
        best = hg[0]
        if not np.isnan(best):
            for j in range(1, t0):
                v = hg[j]
                if np.isnan(v):
                    i = j
                    break
                if v < best:
                    best = v
                    i = j
        xi = x[i]
        gxi = hg[i] + c[i] - eta * xi  # (Gx)_i
        dd = 1.0 - 2.0 * xi + xx  # ||e_i - x||^2
        if dd > 0.0:
            hg_d = hg[i] - (xGx - cx + eta * xx)  # hg.(e_i - x)
            ad2 = g_diag[i] - 2.0 * gxi + xGx  # ||A(e_i - x)||^2
            denom = ad2 + eta * dd
            step = min(1.0, max(0.0, -hg_d / denom)) if denom > 0 else 0.0
            if step > 0.0:
                r = 1.0 - step
                xGx = r * r * xGx + 2.0 * step * r * gxi + step * step * g_diag[i]
                xx = r * r * xx + 2.0 * step * r * xi + step * step
                cx = r * cx + step * c[i]
                Mi = MT[i]
                for j in range(t0):
                    hg[j] = hg[j] * r + step * Mi[j]
                    x[j] = x[j] * r
                x[i] += step
        val = zeta**2 * xx + (xGx - 2.0 * cx + bb) / n
        prev2 = prev
        prev = val
    return t


def _fw_loop_numpy(MT, g_diag, c, hg, x, xx, cx, xGx, eta, zeta, bb, n, threshold, max_iter):
    """:func:`_fw_loop` with numpy vector steps, for when numba is absent (the same operations
    in the same order, so the same iterates; tested). Several times slower than the compiled loop,
    much faster than the scalar loop in plain Python."""
    prev = prev2 = np.inf
    t = 0
    while t < max_iter and (t < 2 or prev2 - prev > threshold):
        t += 1
        i = int(np.argmin(hg))
        xi = float(x[i])
        gxi = float(hg[i]) + float(c[i]) - eta * xi  # (Gx)_i
        dd = 1.0 - 2.0 * xi + xx  # ||e_i - x||^2
        if dd > 0.0:
            hg_d = float(hg[i]) - (xGx - cx + eta * xx)  # hg.(e_i - x)
            ad2 = float(g_diag[i]) - 2.0 * gxi + xGx  # ||A(e_i - x)||^2
            denom = ad2 + eta * dd
            step = min(1.0, max(0.0, -hg_d / denom)) if denom > 0 else 0.0
            if step > 0.0:
                r = 1.0 - step
                xGx = r * r * xGx + 2.0 * step * r * gxi + step * step * float(g_diag[i])
                xx = r * r * xx + 2.0 * step * r * xi + step * step
                cx = r * cx + step * float(c[i])
                hg *= r
                hg += step * MT[i]
                x *= r
                x[i] += step
        val = zeta**2 * xx + (xGx - 2.0 * cx + bb) / n
        prev2, prev = prev, val
    return t


@functools.cache
def _fw_loop_compiled():
    """:func:`_fw_loop` compiled by numba (cached on disk), or None without numba."""
    try:
        import numba
    except ImportError:  # pragma: no cover - numba comes with pyfixest
        return None
    return numba.njit(cache=True, nogil=True)(_fw_loop)


def _sparsify(v: np.ndarray) -> np.ndarray:
    v = np.where(v <= v.max() / 4, 0.0, v)
    return v / v.sum()


def _collapsed(Y: np.ndarray, n0: int, t0: int) -> np.ndarray:
    top = np.column_stack([Y[:n0, :t0], Y[:n0, t0:].mean(axis=1)])
    bottom = np.append(Y[n0:, :t0].mean(axis=0), Y[n0:, t0:].mean())
    return np.vstack([top, bottom])


def _solve(Yc_rows: np.ndarray, zeta: float, intercept: bool, start: np.ndarray | None,
           opts: _Opts) -> np.ndarray:
    first = _sc_weight_fw(Yc_rows, zeta, intercept=intercept, start=start,
                          min_decrease=opts.min_decrease, max_iter=opts.max_iter_pre_sparsify)
    return _sc_weight_fw(Yc_rows, zeta, intercept=intercept, start=_sparsify(first),
                         min_decrease=opts.min_decrease, max_iter=opts.max_iter)


def _estimate(Y: np.ndarray, n0: int, t0: int, weights: _Weights, opts: _Opts) -> tuple[float, _Weights]:
    n1, t1 = Y.shape[0] - n0, Y.shape[1] - t0
    Yc = _collapsed(Y, n0, t0)
    lam, om = weights.lambda_, weights.omega
    if opts.update_lambda:
        lam = _solve(Yc[:n0, :], opts.zeta_lambda, True, lam, opts)
    if opts.update_omega:
        om = _solve(Yc[:, :t0].T, opts.zeta_omega, opts.omega_intercept, om, opts)
    row = np.concatenate([-om, np.full(n1, 1.0 / n1)])
    col = np.concatenate([-lam, np.full(t1, 1.0 / t1)])
    return float(row @ Y @ col), _Weights(om, lam)


def _setup(Y: np.ndarray, n0: int, t0: int, estimator: str) -> tuple[_Weights | None, _Opts]:
    n1, t1 = Y.shape[0] - n0, Y.shape[1] - t0
    sigma = float(np.std(np.diff(Y[:n0, :t0], axis=1), ddof=1))
    min_decrease = 1e-5 * sigma
    if estimator == "sdid":
        eta_omega = (n1 * t1) ** 0.25
        return None, _Opts(eta_omega * sigma, 1e-6 * sigma, True, True, True, min_decrease)
    if estimator == "sc":
        return (_Weights(None, np.zeros(t0)),  # type: ignore[arg-type]
                _Opts(1e-6 * sigma, 1e-6 * sigma, False, True, False, min_decrease))
    return (_Weights(np.full(n0, 1.0 / n0), np.full(t0, 1.0 / t0)),
            _Opts(0.0, 0.0, True, False, False, min_decrease))


# --------------------------------------------------------------------------- results
@dataclass(frozen=True)
class SynthResults:
    """Read-only results of :func:`fit`.

    Attributes
    ----------
    estimator : str
        ``"sdid"``, ``"sc"`` or ``"did"``.
    att : float
        Average effect on the treated unit over the post-treatment periods.
    unit_weights : pandas.Series
        ``omega`` by donor (sums to one).
    time_weights : pandas.Series
        ``lambda`` by pre-treatment period (sums to one; all zero for ``"sc"``).
    paths : pandas.DataFrame
        By period: ``treated``, ``synthetic`` (weighted donors, shifted by the
        time-weighted pre-period gap for sdid and did) and ``gap``; the mean post-period
        ``gap`` equals ``att``.
    placebo : pandas.Series
        Placebo effect with each donor in the treated unit's place (empty if
        ``inference="none"``).
    """

    spec: SynthSpec
    estimator: str
    att: float
    unit_weights: pd.Series
    time_weights: pd.Series
    paths: pd.DataFrame
    placebo: pd.Series
    reps: int | None
    alpha: float = 0.05
    n_pre: int = 0
    n_post: int = 0
    notes: tuple[str, ...] = field(default_factory=tuple)

    def coef(self) -> pd.Series:
        return pd.Series({"ATT": self.att}, name="Estimate")

    def se(self) -> pd.Series:
        """Placebo standard error (NaN if no placebo was run)."""
        p = self.placebo.to_numpy()
        if len(p) < 2:
            return pd.Series({"ATT": np.nan}, name="Std. Error")
        if self.reps is None:  # every donor once: the limit of R's random draws
            se = float(np.std(p, ddof=0))
        else:  # R: sqrt((r - 1) / r) * sd(draws)
            se = float(np.sqrt((len(p) - 1) / len(p)) * np.std(p, ddof=1))
        return pd.Series({"ATT": se}, name="Std. Error")

    def tstat(self) -> pd.Series:
        return (self.coef() / self.se()).rename("t value")

    def pvalue(self) -> pd.Series:
        """In-space permutation p-value (1 + #{|placebo| >= |ATT|}) / (N0 + 1)."""
        p = self.placebo.to_numpy()
        if len(p) == 0:
            return pd.Series({"ATT": np.nan}, name="Pr(>|t|)")
        k = int(np.sum(np.abs(p) >= abs(self.att) - 1e-12))
        return pd.Series({"ATT": (1 + k) / (len(p) + 1)}, name="Pr(>|t|)")

    def confint(self, alpha: float | None = None) -> pd.DataFrame:
        """Normal interval ``ATT +- z * placebo SE``, as in the synthdid vignette."""
        a = self.alpha if alpha is None else alpha
        z = stats.norm.ppf(1 - a / 2)
        se = self.se()["ATT"]
        return pd.DataFrame({f"{a / 2:.1%}": [self.att - z * se],
                             f"{1 - a / 2:.1%}": [self.att + z * se]}, index=["ATT"])

    def tidy(self, alpha: float | None = None) -> pd.DataFrame:
        out = pd.concat([self.coef(), self.se(), self.tstat(), self.pvalue()], axis=1)
        out = pd.concat([out, self.confint(alpha)], axis=1)
        out.index.name = "Coefficient"
        return out

    def summary(self) -> str:
        names = {"sdid": "Synthetic difference-in-differences",
                 "sc": "Synthetic control", "did": "Difference-in-differences"}
        n_donors = int((self.unit_weights > 0).sum())
        lines = [
            f"{names[self.estimator]}: {self.spec.outcome}, treated unit {self.spec.treated} "
            f"from {self.spec.first_treated}",
            f"{len(self.unit_weights)} donors ({n_donors} with positive weight), "
            f"{self.n_pre} pre-periods, {self.n_post} post-periods",
            f"Inference: in-space placebo over {len(self.placebo)} "
            + ("donors (every donor once)" if self.reps is None else f"random draws (reps={self.reps})"),
            self.tidy().to_string(float_format=lambda v: f"{v:.4g}"),
            *self.notes,
        ]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()


# --------------------------------------------------------------------------- data
def _problems_for_panel(spec: SynthSpec, data: pd.DataFrame) -> tuple[list[Problem], str, str]:
    problems: list[Problem] = []
    if not isinstance(data.index, pd.MultiIndex) or data.index.nlevels != 2:
        raise GovstatsError(
            "synth.fit needs a DataFrame indexed by (unit, time), e.g. "
            "data.set_index(['state', 'year']); got index levels "
            f"{list(getattr(data.index, 'names', [None]))}"
        )
    unit_name, time_name = data.index.names
    if spec.outcome not in data.columns:
        raise GovstatsError(f"outcome column {spec.outcome!r} not in the data; columns: {list(data.columns)}")
    return problems, str(unit_name), str(time_name)


def synth_panel_from_frame(spec: SynthSpec, data: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The wide outcome matrix (donors first, treated unit last; periods as columns) and T0.

    Raises
    ------
    GovstatsError
        The data is not indexed by (unit, time) or the outcome column is missing.
    DataValidationError
        Every problem at once: the treated unit missing; fewer than two pre-periods or
        no post-period; fewer than two donors; a donor (or the treated unit) with a
        missing period or a missing outcome (each unit and period named).
    """
    problems, unit_name, time_name = _problems_for_panel(spec, data)
    y = data[spec.outcome]
    units = data.index.get_level_values(0).astype(str)
    y = pd.Series(y.to_numpy(dtype=float, na_value=np.nan),
                  index=pd.MultiIndex.from_arrays([units, data.index.get_level_values(1)],
                                                  names=[unit_name, time_name]))
    if y.index.duplicated().any():
        dups = y.index[y.index.duplicated()].unique()[:5].tolist()
        problems.append(Problem(f"duplicate (unit, period) rows, e.g. {dups}", column=time_name,
                                hint="keep one row per unit and period"))
    all_units = pd.Index(units).unique()
    if spec.treated not in all_units:
        problems.append(Problem(
            f"treated unit {spec.treated!r} is not in the data's {unit_name!r} level",
            column=unit_name, value=spec.treated,
            hint=f"name one of the {len(all_units)} units present, e.g. {list(all_units[:5])}"))
    donors = [u for u in (spec.donors or all_units) if u != spec.treated]
    missing_donors = [d for d in donors if d not in all_units]
    if missing_donors:
        problems.append(Problem(f"donor(s) not in the data: {missing_donors}", column=unit_name,
                                value=missing_donors, hint="list only units present in the data"))
        donors = [d for d in donors if d in all_units]
    if len(donors) < _MIN_DONORS:
        problems.append(Problem(
            f"{len(donors)} donor unit(s); synthetic control needs at least {_MIN_DONORS} "
            "untreated units to weight (and placebo inference needs more)", column=unit_name))
    periods = np.sort(pd.Index(y.index.get_level_values(1)).unique().to_numpy())
    pre = periods[periods < spec.first_treated]
    post = periods[periods >= spec.first_treated]
    if len(pre) < _MIN_PRE_PERIODS:
        problems.append(Problem(
            f"{len(pre)} period(s) before the first treated period {spec.first_treated}; "
            f"at least {_MIN_PRE_PERIODS} are needed to fit weights (and many more to trust them)",
            column=time_name, value=spec.first_treated,
            hint="extend the panel backwards or check first_treated"))
    if len(post) == 0:
        problems.append(Problem(f"no period at or after the first treated period {spec.first_treated}",
                                column=time_name, value=spec.first_treated))
    if problems:
        raise DataValidationError(problems)
    wide = y.unstack(time_name).reindex(index=[*donors, spec.treated], columns=periods)
    gaps: list[Problem] = []
    for unit, row in wide.iterrows():
        miss = row.index[row.isna()].tolist()
        if miss:
            role = "treated unit" if unit == spec.treated else "donor"
            gaps.append(Problem(
                f"{role} {unit!r} has no {spec.outcome!r} value for period(s) {miss}",
                column=spec.outcome, value=unit,
                hint="the synthetic control needs a balanced panel: fill the gap from the source, "
                     "or drop this unit from donors (SynthSpec(donors=...))"))
    if gaps:
        raise DataValidationError(gaps)
    return wide, len(pre)


# --------------------------------------------------------------------------- fit
def fit(spec: SynthSpec, data: pd.DataFrame, *, estimator: SynthEstimator = "sdid",
        inference: Literal["placebo", "none"] = "placebo", reps: int | None = None,
        seed: int | None = None, alpha: float = 0.05) -> SynthResults:
    """Estimate the effect on one treated unit by SDID, synthetic control or DiD.

    Parameters
    ----------
    spec : SynthSpec
    data : pandas.DataFrame
        Long panel indexed by (unit, time).
    estimator : {"sdid", "sc", "did"}
    inference : {"placebo", "none"}
        In-space placebo (Arkhangelsky et al. Algorithm 4) or none.
    reps : int or None
        ``None``: every donor plays the treated unit once (exact). An int: that many
        random permutations, as R's ``vcov(method = "placebo", replications = reps)``.
    seed : int or None
        Seed for ``reps`` draws.
    alpha : float
        0.05 gives 95% intervals.
    """
    if estimator not in _ESTIMATORS:
        raise GovstatsError(f"estimator must be one of {_ESTIMATORS}; got {estimator!r}")
    wide, t0 = synth_panel_from_frame(spec, data)
    Y = wide.to_numpy(dtype=float)
    n0 = Y.shape[0] - 1
    init, opts = _setup(Y, n0, t0, estimator)
    tau, w = _estimate(Y, n0, t0, init if init is not None else _Weights(None, None), opts)  # type: ignore[arg-type]

    placebo_vals: list[float] = []
    placebo_idx: list[str] = []
    if inference == "placebo":
        rng = np.random.default_rng(seed)
        if reps is None:
            draws = [np.array([j for j in range(n0) if j != k] + [k]) for k in range(n0)]
        else:
            draws = [rng.permutation(n0) for _ in range(int(reps))]
        Yd = Y[:n0]
        for ind in draws:
            om0 = w.omega[ind[:-1]]
            om0 = om0 / om0.sum() if om0.sum() != 0 else np.full(len(om0), 1.0 / len(om0))
            est, _ = _estimate(Yd[ind], n0 - 1, t0, _Weights(om0, w.lambda_), opts)
            placebo_vals.append(est)
            placebo_idx.append(str(wide.index[ind[-1]]))
    elif inference != "none":
        raise GovstatsError(f"inference must be 'placebo' or 'none'; got {inference!r}")

    periods = wide.columns
    donors_y = Y[:n0]
    treated_y = Y[n0]
    synthetic = w.omega @ donors_y
    offset = 0.0 if estimator == "sc" else float(w.lambda_ @ (treated_y[:t0] - synthetic[:t0]))
    paths = pd.DataFrame({"treated": treated_y, "synthetic": synthetic + offset}, index=periods)
    paths["gap"] = paths["treated"] - paths["synthetic"]
    paths.index.name = wide.columns.name
    notes = ()
    if n0 < 20 and inference == "placebo":
        notes = (f"Note: {n0} donors give only {n0} placebo effects; the placebo SE and "
                 f"permutation p-value (smallest possible {1 / (n0 + 1):.3f}) are coarse.",)
    return SynthResults(
        spec=spec, estimator=estimator, att=tau,
        unit_weights=pd.Series(w.omega, index=wide.index[:n0], name="omega"),
        time_weights=pd.Series(w.lambda_, index=periods[:t0], name="lambda"),
        paths=paths,
        placebo=pd.Series(placebo_vals, index=pd.Index(placebo_idx, name="placebo_unit"),
                          name="placebo_att", dtype=float),
        reps=reps, alpha=alpha, n_pre=t0, n_post=len(periods) - t0, notes=notes,
    )


def compare(spec: SynthSpec, data: pd.DataFrame, *, estimators: Sequence[str] = _ESTIMATORS,
            reps: int | None = None, seed: int | None = None, alpha: float = 0.05) -> pd.DataFrame:
    """DID, SC and SDID side by side (Arkhangelsky et al. Table 1 layout): estimate and placebo SE."""
    rows = {}
    for est in estimators:
        r = fit(spec, data, estimator=est, reps=reps, seed=seed, alpha=alpha)  # type: ignore[arg-type]
        rows[est.upper()] = r.tidy(alpha).iloc[0]
    return pd.DataFrame(rows).T


# --------------------------------------------------------------------------- data
def load_prop99() -> pd.DataFrame:
    """California Proposition 99 panel: cigarette sales per capita, 39 states, 1970-2000.

    Abadie, Diamond and Hainmueller (2010) data as shipped with the R package synthdid
    (``data/california_prop99.csv``; BSD-3-Clause, Stanford University 2019), committed
    under ``data/raw/california_prop99.csv`` with its provenance in
    ``data/raw/california_prop99.provenance.md``. Indexed by (state, year); columns
    ``packs_per_capita`` (packs per person per year) and ``treated`` (1 for California
    from 1989). Observed data.
    """
    from govstats import paths

    raw = paths.raw_dir() / "california_prop99.csv"
    df = pd.read_csv(raw, sep=";")
    expected = {"State", "Year", "PacksPerCapita", "treated"}
    if set(df.columns) != expected:
        raise GovstatsError(f"{raw}: expected columns {sorted(expected)}, got {list(df.columns)}")
    df = df.rename(columns={"State": "state", "Year": "year", "PacksPerCapita": "packs_per_capita"})
    df["year"] = df["year"].astype(int)
    out = df.set_index(["state", "year"]).sort_index()
    if out.shape != (39 * 31, 2):
        raise GovstatsError(f"{raw}: expected 39 states x 31 years = 1209 rows, got {len(out)}")
    return out


# --------------------------------------------------------------------------- simulated and user data
#: Hunan's 14 prefecture-level divisions (13 prefecture-level cities and Xiangxi
#: autonomous prefecture), as (id, Chinese name). Names only; no statistics.
HUNAN_PREFECTURES: tuple[tuple[str, str], ...] = (
    ("changsha", "长沙市"), ("zhuzhou", "株洲市"), ("xiangtan", "湘潭市"), ("hengyang", "衡阳市"),
    ("shaoyang", "邵阳市"), ("yueyang", "岳阳市"), ("changde", "常德市"), ("zhangjiajie", "张家界市"),
    ("yiyang", "益阳市"), ("chenzhou", "郴州市"), ("yongzhou", "永州市"), ("huaihua", "怀化市"),
    ("loudi", "娄底市"), ("xiangxi", "湘西土家族苗族自治州"),
)


@dataclass(frozen=True)
class SimulatedSingleReform:
    """A SIMULATED panel with one treated unit and a known true effect.

    Attributes
    ----------
    data : pandas.DataFrame
        Indexed by (place_id, year); ``outcome`` and ``treated`` columns.
    true_effect : float
        The effect added to the treated unit in every treated year (drawn, see
        :func:`simulate_single_reform`).
    label : str
        Starts with "SIMULATED"; put it in every title built on this panel.
    dgp : str
        The data-generating process in words.
    """

    data: pd.DataFrame
    true_effect: float
    treated: str
    first_treated: int
    label: str
    dgp: str


def simulate_single_reform(*, treated: str = "shaoyang", first_treated: int = 2016,
                           years: Sequence[int] = range(2008, 2024), seed: int = 0,
                           effect_mean: float = 3.0, effect_sd: float = 1.0) -> SimulatedSingleReform:
    """SIMULATED panel of Hunan's 14 prefecture-level divisions with one reforming city.

    Data-generating process (assumptions, not estimates), for city i and year t::

        y_it = a_i + b_i * f_t + e_it + tau * 1[i = treated, t >= first_treated]
        a_i ~ N(70, 4^2)    city level of a 0-100 security-satisfaction index
        f_t  = random walk with N(0.4, 0.6^2) steps (a common trend)
        b_i ~ U(0.6, 1.4)   city loading on the common trend
        e_it ~ N(0, 0.5^2)
        tau  ~ N(effect_mean, effect_sd^2), drawn once per seed: the true effect

    The treated city's loading is inside the donors' range, so a synthetic control can
    match it. Every label says SIMULATED.
    """
    ids = [p for p, _ in HUNAN_PREFECTURES]
    if treated not in ids:
        raise GovstatsError(f"treated must be one of Hunan's prefecture-level divisions {ids}; got {treated!r}")
    years = list(years)
    rng = np.random.default_rng(seed)
    tau = float(rng.normal(effect_mean, effect_sd))
    level = rng.normal(70, 4, len(ids))
    loading = rng.uniform(0.6, 1.4, len(ids))
    trend = np.cumsum(rng.normal(0.4, 0.6, len(years)))
    noise = rng.normal(0, 0.5, (len(ids), len(years)))
    y = level[:, None] + loading[:, None] * trend[None, :] + noise
    treat = np.zeros_like(y, dtype=int)
    treat[ids.index(treated), [t >= first_treated for t in years]] = 1
    y = y + tau * treat
    idx = pd.MultiIndex.from_product([ids, years], names=["place_id", "year"])
    data = pd.DataFrame({"security_satisfaction_index": y.ravel(), "treated": treat.ravel()}, index=idx)
    label = (f"SIMULATED panel (not real data): 14 Hunan prefecture-level divisions, {years[0]}-{years[-1]}, "
             f"{treated} reformed in {first_treated}, true effect {tau:.2f} index points (seed {seed})")
    dgp = ("y_it = a_i + b_i f_t + e_it + tau 1[treated, t >= first_treated]; a_i ~ N(70, 16), "
           "b_i ~ U(0.6, 1.4), f_t random walk with N(0.4, 0.36) steps, e_it ~ N(0, 0.25), "
           f"tau ~ N({effect_mean}, {effect_sd}^2) = {tau:.3f}")
    return SimulatedSingleReform(data, tau, treated, first_treated, label, dgp)


def panel_from_extract(extract: pd.DataFrame, indicator: str) -> pd.DataFrame:
    """One indicator of a :func:`govstats.ingest.read_extract` result as a (place_id, year) panel.

    Uses ``year_start`` as the year; a cell that covers a range of years is an error
    (a single-year panel is needed), as is a duplicated (place, year).
    """
    sub = extract[extract["indicator"] == indicator]
    if sub.empty:
        raise GovstatsError(f"indicator {indicator!r} not in the extract; it has "
                            f"{sorted(extract['indicator'].unique())}")
    multi = sub[sub["year_start"] != sub["year_end"]]
    if len(multi):
        rows = multi["source_row"].tolist()[:5]
        raise DataValidationError([Problem(
            f"{indicator!r} is given for a range of years, not one year", file=str(multi["source_file"].iloc[0]),
            row=int(rows[0]) if rows else None, value=multi["year"].iloc[0],
            hint="synthetic control needs one value per place and year")])
    out = sub.assign(year=sub["year_start"].astype(int)).set_index(["place_id", "year"])[["value"]]
    dup = out.index[out.index.duplicated()]
    if len(dup):
        raise DataValidationError([Problem(f"duplicated (place, year) {list(dup[:5])} for {indicator!r}",
                                           hint="keep one value per place and year")])
    return out.rename(columns={"value": indicator}).sort_index()
