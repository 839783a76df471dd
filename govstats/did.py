"""Reform event studies under staggered adoption: plain two-way FE beside robust estimators.

A reform (一村一辅警, 城市快警, 网格化 ...) is adopted by different units in different
years. :func:`event_study` estimates the effect of the reform by *event time*
``e = year - adoption year`` with three estimators side by side, so a reader sees
when and why they differ:

``"twfe"`` - the plain two-way fixed-effects event study
    ``y_it = a_i + l_t + sum_{e != -1} b_e 1[E_it = e] + x_it'g + u_it`` with the
    endpoints binned (``e <= -leads`` and ``e >= lags`` pooled; Schmidheiny &
    Siegloch 2023), fitted by :func:`govstats.models.fit`. With staggered
    adoption and effects that differ across adoption cohorts, ``b_e`` mixes the
    effects of other event times and cohorts (Sun & Abraham 2021), and the
    *static* TWFE coefficient on the post-reform dummy (the ``att`` table) can
    even carry negative weights (Goodman-Bacon 2021; de Chaisemartin &
    D'Haultfoeuille 2020).
``"sun_abraham"`` - interaction-weighted estimator (Sun & Abraham 2021)
    One coefficient for every (cohort, event time) cell but ``e = -1``, never-treated
    units as the control group (if there are none, the last-adopting cohort, with
    the years from its adoption on left out), then cell estimates averaged within
    each event time with the cohorts' shares of the observations as weights. The
    same regression as pyfixest's ``SaturatedEventStudy`` (tests pin the two), plus
    control variables and the binned endpoints.
``"did2s"`` - Gardner's two-stage DiD (Gardner 2022; Butts & Gardner 2022)
    Unit and year effects (and controls) are estimated on untreated observations
    only, removed from every observation, and the residual is regressed on the
    event-time dummies: ``pyfixest.did2s`` with its GMM cluster-robust covariance.
    Its point estimates of the post-reform effects equal the imputation estimator
    of Borusyak, Jaravel & Spiess (2024).

``"cs"`` - Callaway & Sant'Anna (2021), not in the default set
    :func:`govstats.did_cs.callaway_santanna` (diff-diff, pinned to R ``did``) on the
    estimation sample: never-treated controls (not-yet-treated when no unit is never
    treated), no covariates (the spec's time-varying controls do not enter: CS conditions
    on pre-treatment covariates instead; a note says so), the universal base period so
    that the event-time estimates are relative to ``e = -1``; its dynamic aggregation by
    event time (event times outside the window are left out, not binned) and its simple
    ATT. Needs a balanced sample.

Inference. Confidence intervals are cluster-robust (``cluster``, default the unit)
with Student t critical values on ``G - 1`` degrees of freedom. When ``G`` is below
``few_clusters`` (30) the results warn, and the TWFE event-time coefficients and the
static TWFE effect also get the wild cluster restricted bootstrap
(:func:`govstats.inference.wild_cluster_bootstrap`; Webb weights, enumerated with
five clusters). The robust estimators' overall ATTs (the ``att`` table) get the wild
cluster restricted bootstrap-t of :class:`govstats.did_fewclusters.LinearATT`: the null
"no effect" imposed by fitting unit and year effects (and controls) to every
observation, ``y*`` = fitted + residual x one Webb weight per cluster, the estimator and
its CRV1 SE recomputed on ``y*``; the interval by test inversion. The size study
(``docs/size_study.md``) shows this and randomization inference hold size at G = 5
where the analytic intervals do not. Their event-time intervals stay analytic.

Pre-trend test: joint Wald test that every lead (``e <= -2``) is zero, with the
estimator's cluster-robust covariance, ``F = W / r`` on ``(r, G - 1)`` degrees of
freedom, ``r`` the rank of that covariance (at most ``G - 1``: with five clusters at
most four leads can be tested jointly; the table says when the rank is lower than
the number of leads).

Examples
--------
>>> from govstats.simulate import simulate_panel
>>> sim = simulate_panel(seed=1)
>>> spec = EventStudySpec("satisfaction_index", cohort="grid_year", leads=3, lags=3,
...                       controls=("aux_village_reform", "rapid_police_reform"),
...                       estimators=("twfe", "did2s"))
>>> res = event_study(spec, sim.data)
>>> sorted(res.tidy()["estimator"].unique())
['did2s', 'twfe']
>>> res.tidy().query("estimator == 'did2s'")["event_time"].tolist()
[-3, -2, -1, 0, 1, 2, 3]
>>> res.simulated
True
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from govstats._literals import EventBootstrap, EventEstimator, WeightsKind, check_literal
from govstats.errors import DataValidationError, GovstatsError, Problem, RowAccounting

__all__ = [
    "ESTIMATOR_LABELS",
    "EventEstimator",
    "EventStudyResults",
    "EventStudySpec",
    "event_study",
    "prepare_event_data",
    "true_effects",
]

_PLOTS = ("plot_att", "plot_event_study")


def __getattr__(name: str):
    # the figures live in govstats.did_plots; imported on first use (matplotlib is heavy)
    if name in _PLOTS:
        from govstats import did_plots

        return getattr(did_plots, name)
    raise AttributeError(f"module 'govstats.did' has no attribute {name!r}")


ESTIMATOR_LABELS = {
    "twfe": "Two-way FE (plain)",
    "twfe_static": "Two-way FE, one post-reform dummy (plain)",
    "sun_abraham": "Sun-Abraham interaction-weighted",
    "did2s": "Gardner two-stage DiD (did2s)",
    "cs": "Callaway-Sant'Anna (never-treated controls)",
}
_ESTIMATORS = ("twfe", "sun_abraham", "did2s")


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class EventStudySpec:
    """Everything that defines one reform event study; immutable.

    Parameters
    ----------
    outcome : str
        Outcome column (e.g. ``"satisfaction_index"``).
    cohort : str
        Column with each unit's adoption year (missing = never adopted), constant
        within a unit (e.g. ``"grid_year"`` of :func:`govstats.simulate.simulate_panel`).
    unit, time : str
        Unit and (integer) period columns. A frame indexed by ``(unit, time)`` works too.
    cluster : str, optional
        Cluster column for the standard errors (default: ``unit``).
    treatment : str, optional
        A 0/1 reform column to check against ``cohort`` (every row must have
        ``treatment == 1[time >= cohort]``); not used in estimation.
    leads, lags : int
        Event window: coefficients for ``e = -leads .. lags`` (``e = -1`` is the
        reference); ``e < -leads`` is pooled into ``-leads`` and ``e > lags`` into ``lags``.
    controls : sequence of str
        Time-varying control columns (e.g. other reforms' dummies; staffing levels
        when the target is the reform's direct effect).
    estimators : sequence of {"twfe", "sun_abraham", "did2s"}
    bootstrap : {"auto", "always", "never"}
        Wild cluster bootstrap of the TWFE coefficients: ``"auto"`` when there are
        fewer than ``few_clusters`` clusters.
    reps : int
        Wild-bootstrap draws (all distinct weight vectors are enumerated when there are
        at most ``reps`` of them).
    weights : str, optional
        Column of positive regression weights (e.g. population, as in Cheng and Hoekstra
        2013): TWFE and Sun-Abraham are weighted least squares (``gs.fit(weights=)``), the
        Sun-Abraham cohort shares are weight sums, and did2s passes them to
        ``pyfixest.did2s(weights=)``. The wild bootstrap does not take weights (it is not run).
    weights_type : {"auto", "rademacher", "webb", "mammen", "norm"}
        Wild-bootstrap weight distribution (``"auto"``: Webb below 12 clusters).
    seed : int or None
    few_clusters : int
    alpha : float
        ``1 -`` the confidence level: 0.05 gives 95% intervals.

    Examples
    --------
    >>> EventStudySpec("y", cohort="g").window
    (-5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5)
    """

    outcome: str
    cohort: str
    unit: str = "unit_id"
    time: str = "year"
    cluster: str | None = None
    treatment: str | None = None
    leads: int = 5
    lags: int = 5
    controls: tuple[str, ...] = ()
    estimators: tuple[str, ...] = _ESTIMATORS
    bootstrap: EventBootstrap = "auto"
    reps: int = 9999
    weights_type: WeightsKind = "auto"
    weights: str | None = None
    seed: int | None = 0
    few_clusters: int = 30
    alpha: float = 0.05

    def __post_init__(self) -> None:
        for name in ("controls", "estimators"):
            value = getattr(self, name)
            if isinstance(value, str):
                object.__setattr__(self, name, (value,))
            else:
                object.__setattr__(self, name, tuple(value))
        if not self.estimators:
            raise ValueError("estimators is empty; choose from " + ", ".join(map(repr, _ESTIMATORS)))
        for est in self.estimators:
            check_literal(est, EventEstimator, "estimators")
        check_literal(self.bootstrap, EventBootstrap, "bootstrap")
        check_literal(self.weights_type, WeightsKind, "weights_type")
        for name in ("leads", "lags"):
            v = getattr(self, name)
            if not isinstance(v, int | np.integer) or v < (2 if name == "leads" else 0):
                raise ValueError(
                    f"{name}={v!r} must be an integer >= {2 if name == 'leads' else 0} "
                    "(leads >= 2: e = -1 is the reference, so a pre-trend needs e = -2)"
                )
        if not 0 < float(self.alpha) <= 0.5:
            raise ValueError(f"alpha={self.alpha!r} must be in (0, 0.5] (0.05 gives 95% intervals)")
        if not isinstance(self.reps, int | np.integer) or self.reps < 19:
            raise ValueError(f"reps={self.reps!r} must be an integer >= 19")
        used = [self.outcome, self.cohort, self.unit, self.time, *self.controls]
        if len(set(used)) != len(used):
            raise ValueError(f"outcome, cohort, unit, time and controls must be different columns: {used}")

    @property
    def cluster_column(self) -> str:
        return self.cluster or self.unit

    @property
    def window(self) -> tuple[int, ...]:
        """Event times reported, reference ``-1`` included."""
        return tuple(range(-self.leads, self.lags + 1))

    @property
    def leads_tested(self) -> tuple[int, ...]:
        return tuple(range(-self.leads, -1))


# --------------------------------------------------------------------------- data


def _event_bin(e: np.ndarray, leads: int, lags: int) -> np.ndarray:
    """Event time clipped to the window (NaN stays NaN)."""
    return np.clip(e, -leads, lags)


def _rownum(pos) -> int:
    return int(pos) + 2  # spreadsheet convention: header = row 1


def prepare_event_data(spec: EventStudySpec, data: pd.DataFrame) -> tuple[pd.DataFrame, RowAccounting, list[str]]:
    """Validate the panel and add event-time columns; return (sample, accounting, notes).

    Problems that make the design meaningless (missing columns, a unit whose adoption
    year changes, non-integer years, duplicate unit-years, a treatment column that
    disagrees with the adoption year) are collected and raised together as one
    :class:`~govstats.errors.DataValidationError` naming row (header = row 1, so
    position + 2), column and raw value. Rows that cannot enter the estimation are
    *rejected* with a reason, never dropped silently: missing outcome, control or
    cluster; units with fewer than two untreated years (one is the reference
    ``e = -1``) and years with fewer than two untreated units (their year effect is
    estimated from untreated outcomes), repeatedly until every kept unit and year has two.

    Returns
    -------
    sample : DataFrame
        Kept rows with ``_cohort`` (adoption year, 0 = never), ``_event`` (event
        time, NaN for never-adopters), ``_treated`` (0/1) and ``_bin`` (event time
        clipped to the window).
    accounting : RowAccounting
        Rows in = kept + rejected; ``accounting.rejected`` has a ``reason`` column.
    notes : list of str

    Examples
    --------
    >>> df = pd.DataFrame({"unit_id": [1, 1, 1, 2, 2, 2, 3, 3, 3], "year": [2000, 2001, 2002] * 3,
    ...                    "y": [0.0, 0.1, 1.0, 0.0, 0.2, 0.1, 0.1, 0.1, 0.2],
    ...                    "g": [2002] * 3 + [None] * 6})
    >>> sample, acc, notes = prepare_event_data(EventStudySpec("y", cohort="g", leads=2, lags=1), df)
    >>> sample["_treated"].tolist()[:3], sample["_event"].tolist()[:3], acc.summary()
    ([0, 0, 1], [-2.0, -1.0, 0.0], 'event-study data: 9 rows in = 9 kept + 0 rejected')
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    df = data
    if isinstance(df.index, pd.MultiIndex) and {spec.unit, spec.time} <= set(df.index.names):
        df = df.reset_index()
    df = df.reset_index(drop=True)
    needed = [spec.outcome, spec.cohort, spec.unit, spec.time, *spec.controls]
    if spec.cluster:
        needed.append(spec.cluster)
    if spec.treatment:
        needed.append(spec.treatment)
    if spec.weights:
        needed.append(spec.weights)
    missing_cols = [c for c in dict.fromkeys(needed) if c not in df.columns]
    DataValidationError.raise_if_any(
        [
            Problem("column not found", column=c, hint="columns present: " + ", ".join(map(str, df.columns)))
            for c in missing_cols
        ],
        what="event-study data",
    )
    problems: list[Problem] = []
    numeric = [spec.outcome, spec.cohort, spec.time, *spec.controls]
    for c in dict.fromkeys(numeric):
        if not (pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])) and not (
            pd.api.types.is_bool_dtype(df[c]) and c in spec.controls
        ):
            bad = df[c][pd.to_numeric(df[c], errors="coerce").isna() & df[c].notna()]
            for pos in bad.index[:10]:
                problems.append(Problem("not a number", row=_rownum(pos), column=c, value=df.at[pos, c]))
            if len(bad) > 10:
                problems.append(Problem(f"... and {len(bad) - 10} more non-numbers", column=c))
    DataValidationError.raise_if_any(problems, what="event-study data")
    time = pd.to_numeric(df[spec.time]).to_numpy(dtype=float, na_value=np.nan)
    cohort = pd.to_numeric(df[spec.cohort]).to_numpy(dtype=float, na_value=np.nan)
    for col, vals in ((spec.time, time), (spec.cohort, cohort)):
        bad = np.flatnonzero(np.isfinite(vals) & (vals != np.round(vals)))
        problems += [
            Problem("not a whole year", row=_rownum(p), column=col, value=df.at[p, col],
                    hint="periods and adoption years must be integers (2016, not 2016.5)")
            for p in bad[:10]
        ]
    for p in np.flatnonzero(~np.isfinite(time))[:10]:
        problems.append(Problem("missing period", row=_rownum(p), column=spec.time, value=df.at[p, spec.time]))
    for p in np.flatnonzero(df[spec.unit].isna().to_numpy())[:10]:
        problems.append(Problem("missing unit", row=_rownum(p), column=spec.unit))
    dup = df.duplicated([spec.unit, spec.time], keep=False).to_numpy()
    for p in np.flatnonzero(dup)[:10]:
        problems.append(
            Problem("duplicate (unit, period): a panel has one row per unit and period", row=_rownum(p),
                    column=f"{spec.unit}/{spec.time}", value=(df.at[p, spec.unit], df.at[p, spec.time]))
        )
    # the adoption year must be one value per unit
    units = df[spec.unit]
    ck = pd.Series(np.where(np.isfinite(cohort), cohort, -1.0), index=df.index)
    first = ck.groupby(units).transform("first")
    for p in np.flatnonzero((ck != first).to_numpy())[:25]:
        problems.append(
            Problem("adoption year differs from the unit's first row", row=_rownum(p), column=spec.cohort,
                    value=df.at[p, spec.cohort],
                    hint=f"unit {units.iat[p]!r}: one adoption year per unit (missing = never adopted)")
        )
    if spec.treatment:
        tr = pd.to_numeric(df[spec.treatment], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        expected = (np.isfinite(cohort) & (time >= cohort)).astype(float)
        bad = np.flatnonzero(np.isfinite(tr) & np.isfinite(time) & (tr != expected))
        for p in bad[:25]:
            problems.append(
                Problem(f"reform indicator disagrees with the adoption year {df.at[p, spec.cohort]!r}",
                        row=_rownum(p), column=spec.treatment, value=df.at[p, spec.treatment],
                        hint="an event study needs a reform that stays on once adopted: "
                        f"{spec.treatment} = 1 exactly from the adoption year on")
            )
        if len(bad) > 25:
            problems.append(Problem(f"... and {len(bad) - 25} more rows disagree", column=spec.treatment))
    DataValidationError.raise_if_any(problems, what="event-study data")

    # rows that cannot be used: rejected with a reason
    reason = pd.Series("", index=df.index, dtype="str")
    if spec.weights:  # a weight must be a positive number wherever it is given (all problems at once)
        from govstats.models import _check_weights

        _check_weights(df, spec.weights, np.flatnonzero(df[spec.weights].notna().to_numpy()))
    for c in dict.fromkeys([spec.outcome, *spec.controls, spec.cluster_column,
                            *([spec.weights] if spec.weights else [])]):
        miss = df[c].isna().to_numpy().copy()
        if pd.api.types.is_float_dtype(df[c]):
            miss |= ~np.isfinite(df[c].to_numpy(dtype=float, na_value=np.nan))
        reason[miss & (reason == "")] = f"missing {c}"
    # Every unit and every year needs two usable untreated observations: a unit's one is
    # its reference year e = -1, and pyfixest's did2s first stage (fitted on untreated rows)
    # drops singleton fixed effects. Years late in the panel where (almost) every unit has
    # adopted go first, then units left with fewer than two untreated years; repeat until stable.
    treated_now = np.isfinite(cohort) & (time >= cohort)
    unit_reason = "fewer than two observed years before the reform"
    year_reason = "fewer than two untreated units in this year (its year effect needs them)"
    for _ in range(10):
        usable = (reason == "").to_numpy()
        untreated = pd.Series(usable & ~treated_now)
        per_year = untreated.groupby(time).sum()
        thin_years = np.isin(time, per_year.index[per_year < 2].to_numpy()) & usable
        reason[thin_years] = year_reason
        usable = (reason == "").to_numpy()
        per_unit = pd.Series(usable & ~treated_now).groupby(units.to_numpy()).transform("sum").to_numpy()
        thin_units = (per_unit < 2) & usable
        reason[thin_units] = unit_reason
        if not (thin_years.any() or thin_units.any()):
            break
    always = (reason == unit_reason).to_numpy()
    no_control = (reason == year_reason).to_numpy()
    kept_time = time[(reason == "").to_numpy()]
    last_year = np.nanmax(kept_time) if len(kept_time) else np.nanmax(time)
    if no_control.any():
        years_out = sorted({int(t) for t in time[no_control]})
    rejected_mask = (reason != "").to_numpy()
    kept = df.loc[~rejected_mask].copy()
    rejected = df.loc[rejected_mask].copy()
    rejected["reason"] = reason[rejected_mask]
    rejected["row"] = rejected.index.to_numpy() + 2
    accounting = RowAccounting("event-study data", rows_in=len(df), kept=kept, rejected=rejected)
    notes = []
    if always.any():
        n_units = units[always].nunique()
        notes.append(
            f"{n_units} unit(s) with fewer than two observed years before the reform left out "
            f"({int(always.sum())} rows; accounting.rejected lists them)"
        )
    if no_control.any():
        notes.append(
            f"year(s) {', '.join(map(str, years_out))} left out: fewer than two units had not yet adopted, "
            "too few to identify their year effects from untreated outcomes"
        )
    late = np.isfinite(cohort) & (cohort > last_year) & ~rejected_mask
    if late.any():
        notes.append(
            f"{units[late].nunique()} unit(s) adopt after {int(last_year)}, the last year kept: "
            "never treated within the sample"
        )
    kc = pd.to_numeric(kept[spec.cohort]).to_numpy(dtype=float, na_value=np.nan)
    kt = pd.to_numeric(kept[spec.time]).to_numpy(dtype=float)
    kc = np.where(np.isfinite(kc) & (kc <= last_year), kc, np.nan)
    kept["_cohort"] = np.where(np.isfinite(kc), kc, 0).astype(np.int64)
    kept["_event"] = kt - kc
    kept["_treated"] = (np.isfinite(kc) & (kt >= kc)).astype(np.int64)
    kept["_bin"] = _event_bin(kt - kc, spec.leads, spec.lags)
    kept[spec.time] = kt.astype(np.int64)
    if kept.empty:
        raise GovstatsError("no rows left for the event study: " + accounting.summary())
    if kept["_treated"].sum() == 0:
        if always.any():
            raise GovstatsError(
                f"no adopting unit is left: every unit that adopts the reform ({spec.cohort}) was treated from "
                f"its first or second observed period ({units[always].nunique()} units), so none has an untreated "
                "year to compare with. Add earlier years to the panel, or study a reform adopted later.")
        raise GovstatsError(f"no unit adopts the reform ({spec.cohort}) within the observed years")
    return kept.reset_index(drop=True), accounting, notes


def _dummy_name(e: int) -> str:
    return f"ev_m{-e}" if e < 0 else f"ev_p{e}"


def _event_dummies(sample: pd.DataFrame, spec: EventStudySpec) -> pd.DataFrame:
    """One 0/1 column per binned event time except the reference -1 (0 for never-adopters)."""
    b = sample["_bin"].to_numpy()
    cols = {}
    for e in spec.window:
        if e == -1:
            continue
        col = np.where(np.isfinite(b) & (b == e), 1.0, 0.0)
        if col.any():  # an event time nobody reaches in the sample has no coefficient
            cols[_dummy_name(e)] = col
    return pd.DataFrame(cols, index=sample.index)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, repr=False)
class EventStudyResults:
    """Read-only results of :func:`event_study`.

    Attributes
    ----------
    spec : EventStudySpec
    att : DataFrame
        Average effect over the treated observations: ``twfe_static`` (one
        post-reform dummy), ``sun_abraham`` (all post cells, weighted by their
        observations) and ``did2s`` (second stage on the treatment dummy).
    pretrends : DataFrame
        Joint Wald test of the leads per estimator.
    cohorts : DataFrame
        Adoption cohorts: number of units and observations.
    accounting : RowAccounting
    n_clusters : int
    notes, warnings : tuple of str
    simulated : bool
    """

    spec: EventStudySpec
    _estimates: pd.DataFrame
    _att: pd.DataFrame
    _pretrends: pd.DataFrame
    _cohorts: pd.DataFrame
    _sample: pd.DataFrame
    accounting: RowAccounting
    n_clusters: int
    notes: tuple[str, ...]
    warnings: tuple[str, ...]
    simulated: bool
    label: str = ""
    covariances: Mapping[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def att(self) -> pd.DataFrame:
        return self._att.copy()

    @property
    def pretrends(self) -> pd.DataFrame:
        return self._pretrends.copy()

    @property
    def cohorts(self) -> pd.DataFrame:
        return self._cohorts.copy()

    @property
    def sample(self) -> pd.DataFrame:
        """Keys of the estimation sample: unit, time, cohort, event time, treated, bin."""
        return self._sample.copy()

    def tidy(self, wide: bool = False) -> pd.DataFrame:
        """The event-time estimates.

        Parameters
        ----------
        wide : bool
            False (default): one row per (estimator, event time) with ``estimate``,
            ``std_error``, ``ci_lower``, ``ci_upper`` (level ``1 - spec.alpha``, t on
            ``G - 1`` df), ``p``, ``n_obs`` (observations at that binned event time among
            adopters) and, for TWFE when bootstrapped, ``boot_p``, ``boot_ci_lower``,
            ``boot_ci_upper``. The reference ``e = -1`` is 0 by construction (no
            standard error). True: one row per event time, an ``estimate`` and a
            ``std_error`` column per estimator, side by side.
        """
        if not wide:
            return self._estimates.copy()
        table = self._estimates.pivot(index="event_time", columns="estimator", values=["estimate", "std_error"])
        table.columns = [f"{est}_{what}" for what, est in table.columns]
        order = [f"{e}_{w}" for e in self.spec.estimators for w in ("estimate", "std_error")]
        return table[[c for c in order if c in table.columns]]

    def _column(self, name: str) -> pd.Series:
        return self._estimates.set_index(["estimator", "event_time"])[name].copy()

    def coef(self) -> pd.Series:
        """Estimates indexed by (estimator, event time)."""
        return self._column("estimate")

    def se(self) -> pd.Series:
        """Cluster-robust standard errors indexed by (estimator, event time)."""
        return self._column("std_error")

    def pvalue(self) -> pd.Series:
        """Clustered p-values (t on ``G - 1`` df) indexed by (estimator, event time)."""
        return self._column("p")

    def confint(self, alpha: float | None = None) -> pd.DataFrame:
        """Cluster-robust intervals ``estimate -+ t(1 - alpha/2, G - 1) se`` (default ``spec.alpha``)."""
        a = self.spec.alpha if alpha is None else float(alpha)
        if not 0 < a < 1:
            raise ValueError(f"alpha={alpha!r} must be in (0, 1)")
        b, se = self.coef(), self.se()
        q = _t_crit(a, self.n_clusters)
        out = pd.DataFrame({"ci_lower": b - q * se, "ci_upper": b + q * se})
        ref = out.index.get_level_values("event_time") == -1
        out.loc[ref, ["ci_lower", "ci_upper"]] = 0.0
        return out

    def summary(self) -> str:
        lines = []
        title = ("SIMULATED DATA - " if self.simulated else "") + (
            f"Event study of {self.spec.cohort} on {self.spec.outcome}"
        )
        lines += [title, "=" * max(72, len(title))]
        if self.label:
            lines.append(self.label)
        lines.append(
            f"Window e = -{self.spec.leads}..{self.spec.lags} (reference e = -1; endpoints binned); "
            f"controls: {', '.join(self.spec.controls) or 'none'}"
        )
        lines.append(f"Clusters: {self.n_clusters} ({self.spec.cluster_column}); {self.accounting.summary()}")
        lines.append("-" * 72)
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            lines.append(self.tidy(wide=True).to_string(float_format=lambda v: f"{v:.4g}"))
            lines.append("-" * 72)
            lines.append("Average effect on the treated observations:")
            lines.append(self._att.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
            lines.append("Pre-trend tests (leads jointly zero):")
            lines.append(self._pretrends.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        lines += [f"NOTE: {n}" for n in self.notes]
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        head = ('<b style="color:#a00">SIMULATED DATA</b><br>' if self.simulated else "") + (
            f"<b>Event study of {html.escape(self.spec.cohort)} on {html.escape(self.spec.outcome)}</b><br>"
            f"{html.escape(self.accounting.summary())}; clusters: {self.n_clusters}"
        )
        fmt = lambda v: f"{v:.4g}"  # noqa: E731
        body = (
            self.tidy(wide=True).to_html(float_format=fmt, border=0)
            + "<b>Average effect on the treated observations</b>"
            + self._att.to_html(index=False, float_format=fmt, border=0)
            + "<b>Pre-trend tests</b>"
            + self._pretrends.to_html(index=False, float_format=fmt, border=0)
        )
        notes = "".join(f"<div>NOTE: {html.escape(n)}</div>" for n in self.notes)
        warns = "".join(
            f'<div style="color:#a00;font-weight:bold">WARNING: {html.escape(w)}</div>' for w in self.warnings
        )
        return f"<div>{head}{body}{notes}{warns}</div>"


# --------------------------------------------------------------------------- estimation helpers


def _t_crit(alpha: float, G: int) -> float:
    return float(stats.t.ppf(1 - alpha / 2, max(G - 1, 1)))


def _wald(b: np.ndarray, V: np.ndarray, G: int) -> dict:
    if len(b) == 0:
        return {"statistic": math.nan, "df1": 0, "df2": G - 1, "p_value": math.nan, "n_leads": 0, "rank": 0}
    w, U = np.linalg.eigh((V + V.T) / 2)
    tol = max(w.max(), 0) * len(w) * 1e-10
    keep = w > tol
    r = int(keep.sum())
    if r == 0:
        return {"statistic": math.nan, "df1": 0, "df2": G - 1, "p_value": math.nan, "n_leads": len(b), "rank": 0}
    z = U[:, keep].T @ b
    W = float(np.sum(z * z / w[keep]))
    F = W / r
    return {
        "statistic": F,
        "df1": r,
        "df2": G - 1,
        "p_value": float(stats.f.sf(F, r, max(G - 1, 1))),
        "n_leads": len(b),
        "rank": r,
    }


def _degenerate(est: float, se: float | None) -> bool:
    """A standard error that is zero up to rounding: the coefficient rests on one cluster's data."""
    return se is None or not np.isfinite(se) or se <= 1e-7 * max(abs(est), 1e-7)


def _row(estimator, e, est, se, alpha, G, n_obs):
    if _degenerate(est, se):
        se = math.nan  # identified within a single cluster: the clustered variance is 0, not small
    q = _t_crit(alpha, G)
    p = float(2 * stats.t.sf(abs(est / se), max(G - 1, 1))) if np.isfinite(se) else math.nan
    return {
        "estimator": estimator,
        "event_time": int(e),
        "estimate": float(est),
        "std_error": float(se),
        "ci_lower": float(est - q * se),
        "ci_upper": float(est + q * se),
        "p": p,
        "n_obs": int(n_obs),
    }


def _reference_row(estimator, n_obs):
    return {
        "estimator": estimator, "event_time": -1, "estimate": 0.0, "std_error": math.nan,
        "ci_lower": 0.0, "ci_upper": 0.0, "p": math.nan, "n_obs": int(n_obs),
    }


def _panel_frame(frame: pd.DataFrame, spec: EventStudySpec) -> pd.DataFrame:
    out = frame.set_index([spec.unit, spec.time])
    return out


def _fit_twfe(frame: pd.DataFrame, regressors: list[str], spec: EventStudySpec):
    from govstats.models import fit

    cols = (["_y", *regressors] + ([spec.cluster_column] if spec.cluster_column != spec.unit else [])
            + ([spec.weights] if spec.weights else []))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the few-clusters warning is raised once, by event_study
        return fit(
            f"_y ~ {' + '.join(regressors)} | {spec.unit} + {spec.time}",
            _panel_frame(frame[[spec.unit, spec.time, *dict.fromkeys(cols)]], spec),
            vcov={"CRV1": spec.cluster_column}, bootstrap="never", alpha=spec.alpha, weights=spec.weights,
            few_clusters=spec.few_clusters,
        )


def _bootstrap(frame: pd.DataFrame, regressors: list[str], params: list[str], spec: EventStudySpec) -> dict:
    """Wild cluster restricted bootstrap p-value and CI for each coefficient in ``params``."""
    from govstats.inference import wild_cluster_bootstrap_params

    X = frame[regressors].astype(float)
    fe = frame[[spec.unit, spec.time]]
    y = frame["_y"].to_numpy(dtype=float)
    cluster = frame[spec.cluster_column].to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a too-coarse bootstrap is reported once, by event_study
        # one design, factorization and weight matrix for every coefficient (the same results
        # as one wild_cluster_bootstrap call per coefficient)
        res = wild_cluster_bootstrap_params(y, X, cluster, params=params, fe=fe, reps=spec.reps,
                                            weights_type=spec.weights_type, seed=spec.seed, alpha=spec.alpha)
    return {name: (r.p_value, r.ci_low, r.ci_high, r.p_min_warning) for name, r in res.items()}


# --------------------------------------------------------------------------- estimators


def _twfe(sample, spec, G, do_boot, controls, notes, warns):
    dummies = _event_dummies(sample, spec)
    frame = pd.concat([sample, dummies], axis=1)
    names = list(dummies.columns)
    res = _fit_twfe(frame, names + controls, spec)
    b, V = res.coef(), res.vcov
    if res.dropped_collinear:
        notes.append("twfe: collinear with the fixed effects, left out: " + ", ".join(res.dropped_collinear))
    counts = sample.loc[sample["_cohort"] > 0].groupby("_bin").size()
    kept_regs = [r for r in names + controls if r in b.index]
    se_all = res.se()
    testable = [n for n in names if n in b.index and not _degenerate(b[n], se_all[n])]
    boot = _bootstrap(frame, kept_regs, testable, spec) if do_boot else {}
    if len(testable) < len([n for n in names if n in b.index]):
        notes.append("twfe: some event times are observed in one cluster only; their clustered standard "
                     "error is zero by construction and is shown as missing (no interval)")
    rows = []
    for e in spec.window:
        n = int(counts.get(e, 0))
        if e == -1:
            rows.append(_reference_row("twfe", n))
            continue
        nm = _dummy_name(e)
        if nm not in b.index:
            continue
        row = _row("twfe", e, b[nm], math.sqrt(V.loc[nm, nm]), spec.alpha, G, n)
        if nm in boot:
            row["boot_p"], row["boot_ci_lower"], row["boot_ci_upper"], _ = boot[nm]
        rows.append(row)
    leads = [_dummy_name(e) for e in spec.leads_tested if _dummy_name(e) in b.index]
    pre = _wald(b[leads].to_numpy(), V.loc[leads, leads].to_numpy(), G)
    present = [e for e in spec.window if e != -1 and _dummy_name(e) in b.index]
    cov = V.loc[[_dummy_name(e) for e in present], [_dummy_name(e) for e in present]].copy()
    cov.index = cov.columns = present
    # static TWFE: one post-reform dummy
    frame["post"] = sample["_treated"].astype(float)
    st = _fit_twfe(frame, ["post", *controls], spec)
    att = _row("twfe_static", 0, st.coef()["post"], st.se()["post"], spec.alpha, G,
               int(sample["_treated"].sum()))
    att.pop("event_time")
    if do_boot and not _degenerate(st.coef()["post"], st.se()["post"]):
        regs = [r for r in ["post", *controls] if r in st.coef().index]
        boot["post"] = _bootstrap(frame, regs, ["post"], spec)["post"]
        att["boot_p"], att["boot_ci_lower"], att["boot_ci_upper"], _ = boot["post"]
    for msg in dict.fromkeys(v[3] for v in boot.values() if v[3]):
        warns.append("twfe wild bootstrap: " + msg)
        warnings.warn(warns[-1], UserWarning, stacklevel=3)
    return rows, pre, att, cov


def _sun_abraham(sample, spec, G, controls, notes):
    data = sample
    never = data["_cohort"] == 0
    if not never.any():
        last = int(data["_cohort"].max())
        data = data[data[spec.time] < last].copy()
        notes.append(
            f"sun_abraham: no never-adopting unit; the last cohort ({last}) is the control group and the "
            f"years from {last} on are left out ({len(sample) - len(data)} rows)"
        )
        never = data["_cohort"] == last
    treated_cells = data.loc[~never & data["_event"].notna()]
    grouped = treated_cells.groupby(["_cohort", "_event"])
    cells = grouped.size().rename("n").reset_index()
    # cohort shares: observations, or the sum of the regression weights when weighted
    cells["share"] = (grouped[spec.weights].sum().to_numpy(dtype=float) if spec.weights
                      else cells["n"].to_numpy(dtype=float))
    cells = cells[cells["_event"] != -1]
    cells["name"] = [f"sa_g{int(g)}_{_dummy_name(int(e))}" for g, e in zip(cells["_cohort"], cells["_event"],
                                                                              strict=True)]
    cohort_v = data["_cohort"].to_numpy()
    event_v = data["_event"].to_numpy()
    never_v = never.to_numpy()
    cols = {}
    for g, e, nm in zip(cells["_cohort"], cells["_event"], cells["name"], strict=True):
        cols[nm] = ((cohort_v == g) & (event_v == e) & ~never_v).astype(float)
    frame = pd.concat([data, pd.DataFrame(cols, index=data.index)], axis=1)
    res = _fit_twfe(frame, list(cells["name"]) + controls, spec)
    b = res.coef()
    V = res.vcov
    lost = cells.loc[~cells["name"].isin(b.index)]
    if len(lost):
        notes.append(
            f"sun_abraham: {len(lost)} (cohort, event time) cell(s) collinear with the fixed effects and "
            f"controls, left out of the averages: {', '.join(lost['name'])}"
        )
        cells = cells.loc[cells["name"].isin(b.index)].copy()
    cells["bin"] = _event_bin(cells["_event"].to_numpy(dtype=float), spec.leads, spec.lags)
    rows = []
    W = np.zeros((len(spec.window), len(cells)))
    names = list(cells["name"])
    bvec = b[names].to_numpy()
    Vm = V.loc[names, names].to_numpy()
    counts = sample.loc[sample["_cohort"] > 0].groupby("_bin").size()
    for i, e in enumerate(spec.window):
        if e == -1:
            rows.append(_reference_row("sun_abraham", int(counts.get(-1, 0))))
            continue
        m = (cells["bin"] == e).to_numpy()
        if not m.any():
            continue
        w = np.where(m, cells["share"].to_numpy(dtype=float), 0.0)
        w /= w.sum()
        W[i] = w
        rows.append(_row("sun_abraham", e, float(w @ bvec), math.sqrt(float(w @ Vm @ w)), spec.alpha, G,
                         int(cells.loc[m, "n"].sum())))
    leads = [i for i, e in enumerate(spec.window) if e in spec.leads_tested and W[i].any()]
    pre = _wald(W[leads] @ bvec, W[leads] @ Vm @ W[leads].T, G)
    post = (cells["_event"] >= 0).to_numpy()
    w = np.where(post, cells["share"].to_numpy(dtype=float), 0.0)
    w /= w.sum()
    att = _row("sun_abraham", 0, float(w @ bvec), math.sqrt(float(w @ Vm @ w)), spec.alpha, G, int(cells.loc[post, "n"].sum()))
    att.pop("event_time")
    ok = [i for i, e in enumerate(spec.window) if e != -1 and W[i].any()]
    cov = pd.DataFrame(W[ok] @ Vm @ W[ok].T, index=[spec.window[i] for i in ok], columns=[spec.window[i] for i in ok])
    return rows, pre, att, cov


def _did2s(sample, spec, G, controls):
    import pyfixest as pf

    dummies = _event_dummies(sample, spec)
    names = list(dummies.columns)
    frame = pd.concat([sample, dummies], axis=1)
    frame["post"] = frame["_treated"].astype(float)
    frame["_d"] = frame["_treated"].astype(bool)
    keep = ["_y", spec.unit, spec.time, "_d", "post", *names, *controls, spec.cluster_column,
            *([spec.weights] if spec.weights else [])]
    frame = frame[list(dict.fromkeys(keep))].copy()
    first = f"~ {' + '.join(controls) if controls else '0'} | {spec.unit} + {spec.time}"
    counts = sample.loc[sample["_cohort"] > 0].groupby("_bin").size()
    present = [nm for nm in names if frame[nm].any()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit_es = pf.did2s(frame, yname="_y", first_stage=first, second_stage="~ " + " + ".join(present),
                          treatment="_d", cluster=spec.cluster_column, weights=spec.weights)
        fit_att = pf.did2s(frame, yname="_y", first_stage=first, second_stage="~ post", treatment="_d",
                           cluster=spec.cluster_column)
    b = fit_es.coef()
    V = pd.DataFrame(np.asarray(fit_es._vcov), index=b.index, columns=b.index)
    rows = []
    for e in spec.window:
        n = int(counts.get(e, 0))
        if e == -1:
            rows.append(_reference_row("did2s", n))
            continue
        nm = _dummy_name(e)
        if nm not in b.index:
            continue
        rows.append(_row("did2s", e, b[nm], math.sqrt(V.loc[nm, nm]), spec.alpha, G, n))
    leads = [_dummy_name(e) for e in spec.leads_tested if _dummy_name(e) in b.index]
    pre = _wald(b[leads].to_numpy(), V.loc[leads, leads].to_numpy(), G)
    att = _row("did2s", 0, float(fit_att.coef()["post"]), math.sqrt(float(np.asarray(fit_att._vcov)[0, 0])),
               spec.alpha, G, int(sample["_treated"].sum()))
    att.pop("event_time")
    ev = [nm for nm in b.index]
    cov = V.loc[ev, ev].copy()
    inv = {_dummy_name(e): e for e in spec.window}
    cov.index = cov.columns = [inv[n] for n in ev]
    return rows, pre, att, cov


def _cs(sample, spec, G, notes):
    from govstats.did_cs import CSSpec, callaway_santanna

    never = bool((sample["_cohort"] == 0).any())
    if spec.controls:
        notes.append("cs: the time-varying controls do not enter Callaway-Sant'Anna (it conditions on "
                      "pre-treatment covariates); its estimates are unconditional")
    if not never:
        notes.append("cs: no never-adopting unit; the not-yet-adopted units are the controls")
    cl = spec.cluster_column
    d = sample[list(dict.fromkeys([spec.unit, spec.time, cl]))].copy()
    d["_y"] = sample["_y"].to_numpy()
    d["_g"] = sample["_cohort"].to_numpy()
    cspec = CSSpec("_y", cohort="_g", unit=spec.unit, time=spec.time, cluster=cl if cl != spec.unit else None,
                   control_group="never_treated" if never else "not_yet_treated", reps=0, alpha=spec.alpha,
                   base_period="universal")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = callaway_santanna(cspec, d)
    dyn = res.tidy().set_index("event_time")
    counts = sample.loc[sample["_cohort"] > 0].groupby("_event").size()
    outside = [int(e) for e in dyn.index if e < -spec.leads or e > spec.lags]
    if outside:
        notes.append(f"cs: event times {outside} lie outside the window and are left out (not binned)")
    rows = []
    for e in spec.window:
        if e == -1:
            rows.append(_reference_row("cs", int(counts.get(-1, 0))))
        elif e in dyn.index:
            rows.append(_row("cs", e, float(dyn.at[e, "estimate"]), float(dyn.at[e, "std_error"]), spec.alpha, G,
                             int(counts.get(e, 0))))
    present = [r["event_time"] for r in rows if r["event_time"] != -1]
    V = res.dynamic_vcov
    if V is not None and set(present) <= set(V.index):
        cov = V.loc[present, present].copy()
    else:
        cov = pd.DataFrame(np.diag([dyn.at[e, "std_error"] ** 2 for e in present]), index=present, columns=present)
        notes.append("cs: diff-diff gave no event-time covariance; the pre-trend test uses the variances only")
    leads = [e for e in spec.leads_tested if e in present]
    pre = _wald(dyn.loc[leads, "estimate"].to_numpy(), cov.loc[leads, leads].to_numpy(), G)
    s = res.aggregate("simple").iloc[0]
    att = _row("cs", 0, float(s["estimate"]), float(s["std_error"]), spec.alpha, G, int(sample["_treated"].sum()))
    att.pop("event_time")
    return rows, pre, att, cov


def _robust_att_bootstrap(sample, spec, est, controls, notes) -> dict:
    """Wild cluster restricted bootstrap-t p-value and interval of a robust estimator's overall ATT."""
    from govstats.did_fewclusters import _linear_att_long

    data = sample
    if est == "sun_abraham" and not (sample["_cohort"] == 0).any():
        last = int(sample["_cohort"].max())
        data = sample[sample[spec.time] < last]
        data = data.assign(_cohort=np.where(data["_cohort"] == last, 0, data["_cohort"]))
    ctl = data[controls].to_numpy(dtype=float) if controls and est != "cs" else None
    try:
        la = _linear_att_long(data["_y"].to_numpy(), data[spec.unit].to_numpy(), data[spec.time].to_numpy(),
                              data["_cohort"].to_numpy(), data[spec.cluster_column].to_numpy(), est,
                              controls=ctl)
        draws = la.bootstrap(spec.reps, spec.weights_type, spec.seed)
        lo, hi = draws.confidence_interval(spec.alpha, G=la.n_clusters)
        return {"boot_p": draws.p_value(0.0), "boot_ci_lower": lo, "boot_ci_upper": hi}
    except (GovstatsError, ValueError, np.linalg.LinAlgError) as exc:
        notes.append(f"{est}: no wild bootstrap interval for the ATT ({str(exc).splitlines()[0]})")
        return {"boot_p": math.nan, "boot_ci_lower": math.nan, "boot_ci_upper": math.nan}


# --------------------------------------------------------------------------- public API


def event_study(spec: EventStudySpec, data: pd.DataFrame) -> EventStudyResults:
    """Estimate a reform event study with every estimator in ``spec.estimators``.

    Parameters
    ----------
    spec : EventStudySpec
    data : DataFrame
        Long panel (one row per unit and period), or indexed by ``(unit, time)``.
        ``data.attrs["simulated"]`` (set by :mod:`govstats.simulate`) marks the
        results SIMULATED.

    Returns
    -------
    EventStudyResults

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=2)
    >>> res = event_study(EventStudySpec("satisfaction_index", cohort="grid_year",
    ...                   leads=3, lags=3, controls=("aux_village_reform", "rapid_police_reform"),
    ...                   estimators=("sun_abraham",)), sim.data)
    >>> list(res.att["estimator"])
    ['twfe_static', 'sun_abraham']
    """
    sample, accounting, notes = prepare_event_data(spec, data)
    sample = sample.copy()
    sample["_y"] = pd.to_numeric(sample[spec.outcome]).astype(float)
    controls = []
    for c in spec.controls:
        sample[f"ctl_{len(controls)}"] = pd.to_numeric(sample[c]).astype(float)
        controls.append(f"ctl_{len(controls)}")
    if spec.weights:
        sample[spec.weights] = pd.to_numeric(sample[spec.weights]).astype(float)
    G = int(sample[spec.cluster_column].nunique())
    if G < 2:
        raise GovstatsError(
            f"cluster column {spec.cluster_column!r} has one value: neither a cluster-robust standard error nor "
            "a wild cluster bootstrap exists with one cluster. Cluster on a finer column (cluster=None uses the "
            f"unit, {spec.unit!r}).")
    few = G < spec.few_clusters
    do_boot = (spec.bootstrap == "always" or (spec.bootstrap == "auto" and few)) and not spec.weights
    if spec.weights and spec.bootstrap != "never" and (few or spec.bootstrap == "always"):
        notes.append("the wild cluster bootstrap does not take regression weights: no bootstrap intervals")
    warns = []
    if few:
        from govstats.inference import few_clusters_message

        warns.append(
            few_clusters_message(G)
            + (" The TWFE rows carry wild cluster bootstrap intervals (boot_ci_*)." if do_boot else "")
            + (" The robust estimators' overall ATTs carry wild restricted bootstrap intervals (att table); "
               "their event-time intervals are analytic and may be too narrow." if do_boot else
               " The robust estimators' intervals are analytic and may be too narrow.")
        )
        warnings.warn(warns[-1], UserWarning, stacklevel=2)
    rows: list[dict] = []
    pre_rows: list[dict] = []
    att_rows: list[dict] = []
    covs: dict[str, pd.DataFrame] = {}
    for est in spec.estimators:
        try:
            if est == "twfe":
                r, pre, att, cov = _twfe(sample, spec, G, do_boot, controls, notes, warns)
            elif est == "sun_abraham":
                r, pre, att, cov = _sun_abraham(sample, spec, G, controls, notes)
            elif est == "cs":
                r, pre, att, cov = _cs(sample, spec, G, notes)
            else:
                r, pre, att, cov = _did2s(sample, spec, G, controls)
            if est != "twfe" and do_boot:
                att.update(_robust_att_bootstrap(sample, spec, est, controls, notes))
        except (ValueError, RuntimeError, np.linalg.LinAlgError, GovstatsError) as exc:
            # too little data for this estimator (collinear design, singular matrix): say so, go on
            first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            warns.append(f"{ESTIMATOR_LABELS[est]} could not be computed on this sample: {first_line}")
            warnings.warn(warns[-1], UserWarning, stacklevel=2)
            continue
        if est == "twfe":
            att_rows.insert(0, att)
        else:
            att_rows.append(att)
        rows += r
        pre_rows.append({"estimator": est, **pre})
        covs[est] = cov
    if "twfe" not in spec.estimators:  # the plain static TWFE is always shown beside the robust ATTs
        try:
            st = _fit_twfe(sample.assign(post=sample["_treated"].astype(float)), ["post", *controls], spec)
            att = _row("twfe_static", 0, st.coef()["post"], st.se()["post"], spec.alpha, G,
                       int(sample["_treated"].sum()))
            att.pop("event_time")
            att_rows.insert(0, att)
        except (ValueError, RuntimeError, np.linalg.LinAlgError, GovstatsError) as exc:
            warns.append(f"{ESTIMATOR_LABELS['twfe_static']} could not be computed on this sample: {exc}")
    if not rows:
        raise GovstatsError("no estimator could be computed on this sample:\n" + "\n".join(warns))
    for p in pre_rows:
        parts = []
        if p["n_leads"] and p["rank"] < p["n_leads"]:
            parts.append(f"covariance of the {p['n_leads']} leads has rank {p['rank']} (G - 1 = {G - 1}): "
                         f"tested {p['rank']}")
        if few:
            parts.append(f"only {G} clusters: this clustered Wald test over-rejects"
                         + ("; read the TWFE leads' bootstrap p-values" if do_boot else ""))
        p["note"] = "; ".join(parts)
    estimates = pd.DataFrame(rows)
    for c in ("boot_p", "boot_ci_lower", "boot_ci_upper"):
        if c not in estimates.columns and do_boot:
            estimates[c] = math.nan
    att_df = pd.DataFrame(att_rows)
    att_df.insert(1, "label", att_df["estimator"].map(ESTIMATOR_LABELS))
    cohorts = (
        sample.groupby("_cohort")
        .agg(units=(spec.unit, "nunique"), observations=(spec.unit, "size"))
        .rename_axis("cohort")
        .reset_index()
    )
    cohorts["cohort"] = cohorts["cohort"].astype("Int64")
    cohorts.loc[cohorts["cohort"] == 0, "cohort"] = pd.NA
    keys = sample[[spec.unit, spec.time, spec.cluster_column, "_cohort", "_event", "_treated", "_bin"]].rename(
        columns={"_cohort": "cohort", "_event": "event_time", "_treated": "treated", "_bin": "bin"}
    )
    keys = keys.loc[:, ~keys.columns.duplicated()]
    simulated = bool(getattr(data, "attrs", {}).get("simulated", False))
    return EventStudyResults(
        spec=spec,
        _estimates=estimates,
        _att=att_df,
        _pretrends=pd.DataFrame(pre_rows),
        _cohorts=cohorts,
        _sample=keys,
        accounting=accounting,
        n_clusters=G,
        notes=tuple(notes),
        warnings=tuple(warns),
        simulated=simulated,
        label=str(getattr(data, "attrs", {}).get("label", "")),
        covariances=covs,
    )


# --------------------------------------------------------------------------- truth (simulated panels)


def true_effects(sim, reform: str, results: EventStudyResults) -> tuple[pd.DataFrame, float]:
    """The true direct effects of a simulated reform on the estimation sample of ``results``.

    For :func:`govstats.simulate.simulate_panel` output: each adopting unit's
    direct effect at event time ``e`` is ``tau_r(e) * m_ir`` (the DGP); averaged
    over the sample's adopter observations in each binned event time (the same
    binning and weights as the estimates), and over all treated observations for
    the ATT. This is the estimand of an event study that controls for the staffing
    levels (the reform's channel through staffing is then held fixed) and for the
    other reforms.

    Returns
    -------
    by_event_time : DataFrame
        ``event_time``, ``true_effect``.
    att : float
        Mean true effect over the treated observations.

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=2)
    >>> res = event_study(EventStudySpec("satisfaction_index", cohort="grid_year", leads=2,
    ...                   lags=2, estimators=("did2s",), controls=("aux_village_reform",)), sim.data)
    >>> truth, att = true_effects(sim, "grid", res)
    >>> truth["true_effect"].round(3).tolist(), round(att, 3)
    ([0.0, 0.0, 0.1, 0.1, 0.1], 0.1)
    """
    spec = results.spec
    s = results.sample
    adoption = sim.truth.adoption.set_index("unit_id")
    mult = adoption[f"{reform}_multiplier"].reindex(s[spec.unit]).to_numpy(dtype=float)
    e = s["event_time"].to_numpy(dtype=float)
    eff = np.where(s["treated"].to_numpy() == 1, sim.truth.effects.effect(reform, np.nan_to_num(e, nan=-1)) * mult, 0.0)
    s = s.assign(_effect=eff)
    adopters = s[s["cohort"] > 0]
    by = adopters.groupby("bin")["_effect"].mean()
    table = pd.DataFrame({"event_time": list(spec.window)})
    table["true_effect"] = [float(by.get(k, math.nan)) if k != -1 else 0.0 for k in spec.window]
    att = float(s.loc[s["treated"] == 1, "_effect"].mean())
    return table, att
