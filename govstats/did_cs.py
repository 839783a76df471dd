"""Callaway & Sant'Anna (2021) group-time ATTs, on diff-diff's implementation.

:func:`callaway_santanna` estimates ``ATT(g, t)`` for every adoption cohort ``g`` and
period ``t`` with never-treated or not-yet-treated units as controls, by outcome
regression (``"reg"``), inverse probability weighting (``"ipw"``) or the doubly robust
estimator of Sant'Anna & Zhao (2020) (``"dr"``), and aggregates them the four ways of
R ``did::aggte``: ``simple``, ``dynamic`` (event time), ``group`` and ``calendar``.

The estimation is ``diff_diff.CallawaySantAnna`` (diff-diff, MIT licence): its
point estimates reproduce R ``did`` on ``mpdta`` to every printed digit
(``tests/test_did_cs.py`` pins them to the did package's README and reference pages).
govstats adds the panel checks and errors of :mod:`govstats.did`, the calendar
aggregation (diff-diff has none), the shared vocabulary (``alpha``, ``reps``, ``seed``,
``weights_type``, ``.tidy()``) and few-cluster inference: with a ``cluster`` column the
multiplier bootstrap draws one weight per cluster (a wild cluster bootstrap of the
influence functions, R ``did``'s ``clustervars``), Webb weights below 12 clusters.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> units = np.repeat(np.arange(60), 5); years = np.tile(np.arange(2001, 2006), 60)
>>> g = np.repeat(np.r_[[0] * 20, [2003] * 20, [2004] * 20], 5)
>>> y = rng.normal(size=300) + 1.0 * ((g > 0) & (years >= g))
>>> df = pd.DataFrame({"unit_id": units, "year": years, "g": g, "y": y})
>>> res = callaway_santanna(CSSpec("y", cohort="g", reps=199), df)
>>> round(float(res.aggregate("simple")["estimate"].iloc[0]), 1)
1.0
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from scipy import stats

from govstats._literals import check_literal
from govstats.errors import DataValidationError, GovstatsError, Problem

__all__ = ["CSResults", "CSSpec", "callaway_santanna", "att_gt_unconditional"]

ControlGroup = Literal["never_treated", "not_yet_treated"]
CSMethod = Literal["dr", "ipw", "reg"]
CSWeights = Literal["auto", "rademacher", "mammen", "webb"]
Aggregation = Literal["simple", "dynamic", "group", "calendar"]
BasePeriod = Literal["varying", "universal"]


@dataclass(frozen=True)
class CSSpec:
    """One Callaway-Sant'Anna estimation; immutable.

    Parameters
    ----------
    outcome, cohort, unit, time : str
        Columns. ``cohort`` is the first treated period; 0 or missing = never treated.
    covariates : sequence of str
        Pre-treatment covariates (base-period values, as R ``did`` with a balanced panel).
    control_group : {"never_treated", "not_yet_treated"}
    est_method : {"dr", "ipw", "reg"}
    cluster : str, optional
        Cluster column for the multiplier bootstrap (default: the unit).
    reps : int
        Multiplier-bootstrap draws (0: analytic influence-function standard errors only).
    weights_type : {"auto", "rademacher", "mammen", "webb"}
        ``"auto"``: Webb below 12 clusters, Rademacher otherwise.
    seed : int or None
    alpha : float
    base_period : {"varying", "universal"}
        Pre-treatment comparisons: ``"varying"`` (R ``did``'s default: each pre-period
        ``ATT(g, t)`` compares ``t`` with ``t - 1``) or ``"universal"`` (every period against
        ``g - 1``, so the event-time estimates are relative to ``e = -1`` like a regression
        event study's). Post-treatment ``ATT(g, t)`` are the same either way.
    """

    outcome: str
    cohort: str
    unit: str = "unit_id"
    time: str = "year"
    covariates: tuple[str, ...] = ()
    control_group: ControlGroup = "never_treated"
    est_method: CSMethod = "dr"
    cluster: str | None = None
    reps: int = 999
    weights_type: CSWeights = "auto"
    seed: int | None = 0
    alpha: float = 0.05
    anticipation: int = 0
    base_period: BasePeriod = "varying"

    def __post_init__(self) -> None:
        cov = self.covariates
        object.__setattr__(self, "covariates", (cov,) if isinstance(cov, str) else tuple(cov))
        check_literal(self.control_group, ControlGroup, "control_group")
        check_literal(self.est_method, CSMethod, "est_method")
        check_literal(self.weights_type, CSWeights, "weights_type")
        check_literal(self.base_period, BasePeriod, "base_period")
        if not 0 < float(self.alpha) <= 0.5:
            raise ValueError(f"alpha={self.alpha!r} must be in (0, 0.5] (0.05 gives 95% intervals)")
        if not isinstance(self.reps, int | np.integer) or (self.reps != 0 and self.reps < 19):
            raise ValueError(f"reps={self.reps!r} must be 0 (analytic standard errors) or an integer >= 19")


@dataclass(frozen=True, repr=False)
class CSResults:
    """Results of :func:`callaway_santanna`.

    ``att_gt`` has one row per (group, time) with the analytic (influence-function)
    ``std_error`` and, when bootstrapped, ``boot_se`` and the uniform band
    ``band_lower``/``band_upper``. :meth:`aggregate` gives the four aggregations.
    """

    spec: CSSpec
    att_gt: pd.DataFrame
    _aggregates: dict = field(default_factory=dict)
    n_units: int = 0
    n_clusters: int = 0
    weights_type: str = ""
    warnings: tuple[str, ...] = ()
    simulated: bool = False
    boot_overall: np.ndarray | None = None
    dynamic_vcov: pd.DataFrame | None = None  # analytic covariance of the event-time estimates

    def boot_pvalue(self) -> float:
        """Wild (multiplier) bootstrap p-value of the simple ATT = 0: the share of centred
        draws ``|ATT* - ATT|`` at least ``|ATT|`` (``nan`` without a bootstrap)."""
        if self.boot_overall is None:
            return math.nan
        att = float(self.aggregate("simple")["estimate"].iloc[0])
        draws = np.asarray(self.boot_overall, float)
        return float(np.mean(np.abs(draws - att) >= abs(att)))

    def aggregate(self, type: Aggregation = "dynamic") -> pd.DataFrame:
        """The ``type`` aggregation: an ``overall`` row then one row per event time/group/period.

        Columns ``level`` (``"overall"`` or the event time / group / period), ``estimate``,
        ``std_error`` (analytic; none for calendar), ``ci_lower``/``ci_upper`` (normal) and,
        when bootstrapped, ``boot_se``, ``band_lower``/``band_upper`` (uniform band).
        """
        check_literal(type, Aggregation, "type")
        return self._aggregates[type].copy()

    def tidy(self) -> pd.DataFrame:
        """The dynamic (event-study) aggregation without its overall row."""
        t = self.aggregate("dynamic")
        t = t[t["level"] != "overall"].rename(columns={"level": "event_time"})
        t["event_time"] = t["event_time"].astype(int)
        return t.reset_index(drop=True)

    def coef(self) -> pd.Series:
        return self.tidy().set_index("event_time")["estimate"]

    def se(self) -> pd.Series:
        t = self.tidy().set_index("event_time")
        return t["boot_se"] if "boot_se" in t else t["std_error"]

    def summary(self) -> str:
        head = "SIMULATED DATA. " if self.simulated else ""
        s = self.aggregate("simple").iloc[0]
        return (
            f"{head}Callaway-Sant'Anna ({self.spec.est_method}, {self.spec.control_group} controls): "
            f"overall ATT {s['estimate']:.4f} (se {s['std_error']:.4f}); {self.n_units} units, "
            f"{self.n_clusters} clusters"
        )

    def __repr__(self) -> str:
        return self.summary()


def _rownum(pos) -> int:
    return int(pos) + 2


def _validate(spec: CSSpec, data: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    df = data.reset_index() if isinstance(data.index, pd.MultiIndex) else data.reset_index(drop=True)
    needed = [spec.outcome, spec.cohort, spec.unit, spec.time, *spec.covariates]
    if spec.cluster:
        needed.append(spec.cluster)
    DataValidationError.raise_if_any(
        [Problem("column not found", column=c, hint="columns present: " + ", ".join(map(str, df.columns)))
         for c in dict.fromkeys(needed) if c not in df.columns],
        what="Callaway-Sant'Anna data",
    )
    problems: list[Problem] = []
    for c in dict.fromkeys([spec.outcome, spec.time, *spec.covariates]):
        v = pd.to_numeric(df[c], errors="coerce")
        for p in np.flatnonzero(v.isna().to_numpy())[:10]:
            problems.append(Problem("missing or not a number", row=_rownum(p), column=c, value=df.at[p, c],
                                    hint="Callaway-Sant'Anna needs a balanced panel: fill or drop the unit"))
    g = pd.to_numeric(df[spec.cohort], errors="coerce")
    for p in np.flatnonzero((g.isna() & df[spec.cohort].notna()).to_numpy())[:10]:
        problems.append(Problem("adoption period not a number", row=_rownum(p), column=spec.cohort,
                                value=df.at[p, spec.cohort]))
    g = g.fillna(0)
    first = g.groupby(df[spec.unit]).transform("first")
    for p in np.flatnonzero((g != first).to_numpy())[:10]:
        problems.append(Problem("adoption period differs within the unit", row=_rownum(p), column=spec.cohort,
                                value=df.at[p, spec.cohort], hint="one adoption period per unit (0 = never)"))
    for p in np.flatnonzero(df.duplicated([spec.unit, spec.time], keep=False).to_numpy())[:10]:
        problems.append(Problem("duplicate (unit, period)", row=_rownum(p), column=f"{spec.unit}/{spec.time}",
                                value=(df.at[p, spec.unit], df.at[p, spec.time])))
    DataValidationError.raise_if_any(problems, what="Callaway-Sant'Anna data")
    out = pd.DataFrame({
        "_unit": df[spec.unit].to_numpy(), "_time": pd.to_numeric(df[spec.time]).astype(np.int64).to_numpy(),
        "_g": g.astype(np.int64).to_numpy(), "_y": pd.to_numeric(df[spec.outcome]).astype(float).to_numpy(),
        "_cl": (df[spec.cluster] if spec.cluster else df[spec.unit]).to_numpy(),
    })
    for i, c in enumerate(spec.covariates):
        out[f"_x{i}"] = pd.to_numeric(df[c]).astype(float).to_numpy()
    periods = np.sort(out["_time"].unique())
    n_per_unit = out.groupby("_unit").size()
    if (n_per_unit != len(periods)).any():
        bad = n_per_unit[n_per_unit != len(periods)]
        raise DataValidationError(
            [Problem(f"unit observed in {n} of {len(periods)} periods", column=spec.unit, value=u,
                     hint="Callaway-Sant'Anna here needs a balanced panel: drop or complete the unit")
             for u, n in bad.head(25).items()],
            what="Callaway-Sant'Anna data")
    first_period = periods[0]
    early = out.loc[(out["_g"] > 0) & (out["_g"] <= first_period + spec.anticipation)]
    if len(early):
        cohorts = sorted(early["_g"].unique().tolist())
        raise GovstatsError(
            f"cohort(s) {cohorts} are treated in the first observed period ({first_period}): they have no "
            f"untreated period, so no ATT(g, t) can be estimated for them ({early['_unit'].nunique()} units). "
            f"Drop these units (e.g. data[data[{spec.cohort!r}] > {first_period}] or == 0) or add earlier periods."
        )
    late = out["_g"] > periods[-1]
    if late.any():  # adopt after the sample ends: never treated within it (R did does the same)
        out.loc[late, "_g"] = 0
    never = out["_g"] == 0
    if spec.control_group == "never_treated" and not never.any():
        raise GovstatsError(
            "control_group='never_treated' but no unit is never treated (every unit has an adoption period "
            f"within {periods[0]}-{periods[-1]}): use control_group='not_yet_treated', or drop the periods "
            "from the last cohort's adoption on so that cohort serves as never treated"
        )
    return out


def _weights_for(spec: CSSpec, G: int) -> str:
    if spec.weights_type != "auto":
        return spec.weights_type
    return "webb" if G < 12 else "rademacher"


def callaway_santanna(spec: CSSpec, data: pd.DataFrame) -> CSResults:
    """Estimate ATT(g, t) and its four aggregations (see the module docstring).

    Raises
    ------
    GovstatsError
        No never-treated unit when ``control_group="never_treated"``; a cohort treated in
        the first period; a bootstrap (``reps > 0``) with one cluster.
    DataValidationError
        Missing columns or values, an adoption period that changes within a unit,
        duplicate unit-periods, an unbalanced panel.
    """
    import diff_diff as dd

    d = _validate(spec, data)
    G = int(d["_cl"].nunique())
    if spec.reps and G < 2:
        raise GovstatsError(
            f"a bootstrap was asked for (reps={spec.reps}) but the data have one cluster "
            f"({spec.cluster or spec.unit}): nothing varies between draws. Use reps=0 for analytic "
            "standard errors, or cluster on a finer column."
        )
    wt = _weights_for(spec, G)
    cs = dd.CallawaySantAnna(
        control_group=spec.control_group, estimation_method=spec.est_method, alpha=spec.alpha,
        n_bootstrap=int(spec.reps), bootstrap_weights=wt, seed=spec.seed, anticipation=spec.anticipation,
        cluster="_cl" if spec.cluster else None, cband=True, base_period=spec.base_period,
    )
    covs = [f"_x{i}" for i in range(len(spec.covariates))] or None
    warns: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = cs.fit(d, outcome="_y", unit="_unit", time="_time", first_treat="_g", covariates=covs,
                   aggregate="all")
    warns += [str(w.message).splitlines()[0] for w in caught if issubclass(w.category, UserWarning)]
    z = stats.norm.ppf(1 - spec.alpha / 2)
    boot = r.bootstrap_results if spec.reps else None
    rows = []
    for (g, t), v in sorted(r.group_time_effects.items()):
        row = {"group": int(g), "time": int(t), "estimate": float(v["effect"]), "std_error": float(v["se"]),
               "n_treated": int(v.get("n_treated", 0))}
        rows.append(row)
    att_gt = pd.DataFrame(rows)
    # analytic SEs of every cell: one unbootstrapped fit (diff-diff replaces se by the bootstrap se)
    if spec.reps:
        cs0 = dd.CallawaySantAnna(control_group=spec.control_group, estimation_method=spec.est_method,
                                  alpha=spec.alpha, n_bootstrap=0, anticipation=spec.anticipation,
                                  cluster="_cl" if spec.cluster else None, base_period=spec.base_period)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r0 = cs0.fit(d, outcome="_y", unit="_unit", time="_time", first_treat="_g", covariates=covs,
                         aggregate="all")
        att_gt["boot_se"] = att_gt["std_error"]
        att_gt["std_error"] = [float(r0.group_time_effects[(g, t)]["se"]) for g, t in zip(att_gt["group"], att_gt["time"], strict=True)]
    else:
        r0 = r
    att_gt["ci_lower"] = att_gt["estimate"] - z * att_gt["std_error"]
    att_gt["ci_upper"] = att_gt["estimate"] + z * att_gt["std_error"]
    if boot is not None and boot.group_time_cis is not None:
        crit = float(boot.cband_crit_value) if boot.cband_crit_value is not None else z
        att_gt["band_lower"] = att_gt["estimate"] - crit * att_gt["boot_se"]
        att_gt["band_upper"] = att_gt["estimate"] + crit * att_gt["boot_se"]

    def table(effects0: dict, effects: dict, overall: tuple[float, float, float | None]) -> pd.DataFrame:
        out = [{"level": "overall", "estimate": overall[0], "std_error": overall[1],
                **({"boot_se": overall[2]} if spec.reps else {})}]
        crit = None
        for k in sorted(effects0):
            v0 = effects0[k]
            row = {"level": int(k), "estimate": float(v0["effect"]), "std_error": float(v0["se"])}
            if spec.reps:
                v = effects[k]
                row["boot_se"] = float(v["se"])
                if v.get("cband_conf_int") is not None and v["se"] > 0:
                    lo, hi = v["cband_conf_int"]
                    crit = (hi - lo) / (2 * v["se"])
                    row["band_lower"], row["band_upper"] = float(lo), float(hi)
            out.append(row)
        t = pd.DataFrame(out)
        t["ci_lower"] = t["estimate"] - z * t["std_error"]
        t["ci_upper"] = t["estimate"] + z * t["std_error"]
        if spec.reps and "band_lower" not in t and crit is None:
            t["band_lower"] = t["band_upper"] = math.nan
        return t.astype({"level": object})

    es0 = {k: v for k, v in r0.event_study_effects.items() if np.isfinite(v["se"])}
    es = r.event_study_effects
    ov_boot = float(r.overall_se) if spec.reps else None
    # R aggte(type = "dynamic")'s overall: the mean of the post event-time effects
    post = [k for k in es0 if k >= 0]
    dyn_overall = float(np.mean([es0[k]["effect"] for k in post]))
    dyn_se = math.nan
    if getattr(r0, "event_study_vcov", None) is not None and r0.event_study_vcov_index is not None:
        idx = list(r0.event_study_vcov_index)
        w = np.array([1.0 / len(post) if k in post else 0.0 for k in idx])
        dyn_se = float(math.sqrt(w @ np.asarray(r0.event_study_vcov) @ w))
    boot_dyn = None
    if spec.reps and boot is not None and getattr(boot, "overall_att_es_se", None) is not None:
        boot_dyn = float(boot.overall_att_es_se)
    aggregates = {
        "simple": table({}, {}, (float(r0.overall_att), float(r0.overall_se), ov_boot)),
        "dynamic": table(es0, es, (dyn_overall, dyn_se, boot_dyn)),
    }
    ge0 = r0.group_effects
    ge = r.group_effects
    sizes = d.loc[d["_g"] > 0].groupby("_g")["_unit"].nunique()
    gk = sorted(ge0)
    wg = np.array([sizes[k] for k in gk], dtype=float)
    wg /= wg.sum()
    # group overall: group effects weighted by cohort size (R aggte type = "group")
    grp_overall = float(sum(w * ge0[k]["effect"] for w, k in zip(wg, gk, strict=True)))
    aggregates["group"] = table(ge0, ge, (grp_overall, math.nan, None))
    aggregates["calendar"] = _calendar(att_gt, sizes, z)
    simulated = bool(getattr(data, "attrs", {}).get("simulated", False))
    dvcov = None
    if getattr(r0, "event_study_vcov", None) is not None and r0.event_study_vcov_index is not None:
        idx = [int(k) for k in r0.event_study_vcov_index]
        dvcov = pd.DataFrame(np.asarray(r0.event_study_vcov, float), index=idx, columns=idx)
    return CSResults(spec=spec, att_gt=att_gt, _aggregates=aggregates, n_units=int(d["_unit"].nunique()),
                     n_clusters=G, weights_type=wt if spec.reps else "", warnings=tuple(warns),
                     simulated=simulated,
                     boot_overall=None if boot is None else np.asarray(boot.bootstrap_distribution, float),
                     dynamic_vcov=dvcov)


def _calendar(att_gt: pd.DataFrame, sizes: pd.Series, z: float) -> pd.DataFrame:
    """R aggte(type = "calendar"): for each period t, ATT(g, t) over the cohorts already
    treated (g <= t), weighted by cohort size; overall = the mean over periods.
    Point estimates only (its standard error needs the weights' influence functions)."""
    post = att_gt[att_gt["time"] >= att_gt["group"]].copy()
    post["w"] = post["group"].map(sizes).astype(float)
    rows = []
    for t, grp in post.groupby("time"):
        rows.append({"level": int(t), "estimate": float(np.average(grp["estimate"], weights=grp["w"])),
                     "std_error": math.nan})
    out = pd.DataFrame(rows)
    overall = {"level": "overall", "estimate": float(out["estimate"].mean()), "std_error": math.nan}
    out = pd.concat([pd.DataFrame([overall]), out], ignore_index=True).astype({"level": object})
    out["ci_lower"] = out["ci_upper"] = math.nan
    return out


# --------------------------------------------------------------------------- fast path


def att_gt_unconditional(y: np.ndarray, g: np.ndarray, periods: np.ndarray) -> tuple[float, np.ndarray]:
    """Simple ATT of Callaway-Sant'Anna without covariates, never-treated controls, varying base.

    ``y`` is a units x periods array, ``g`` each unit's first treated period (0 = never).
    Returns ``(simple ATT, per-unit influence-function-free cell means)``: the overall
    ATT is the average of post-treatment ``ATT(g, t)`` weighted by cohort size, each
    ``ATT(g, t) = (mean_g y_t - mean_g y_{g-1}) - (mean_C y_t - mean_C y_{g-1})``.
    Used by randomization inference, where thousands of refits are needed; tests check
    it equals :func:`callaway_santanna`.
    """
    never = g == 0
    if not never.any():
        raise GovstatsError("no never-treated unit: the unconditional fast path needs one")
    yc = y[never]
    num = 0.0
    den = 0.0
    pos = {int(p): i for i, p in enumerate(periods)}
    cells = []
    for c in np.unique(g[g > 0]):
        if int(c) - 1 not in pos:
            continue
        b = pos[int(c) - 1]
        mg = y[g == c]
        n = mg.shape[0]
        for t in range(pos.get(int(c), len(periods)), len(periods)):
            att = (mg[:, t] - mg[:, b]).mean() - (yc[:, t] - yc[:, b]).mean()
            cells.append(att)
            num += n * att
            den += n
    return (num / den if den else math.nan), np.array(cells)
