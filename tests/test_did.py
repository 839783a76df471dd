"""Reform event studies: truth recovered, plain TWFE's bias shown, estimators pinned to pyfixest.

Outside references used here:

* a staggered-adoption DGP built below (numpy, seeded) whose effects differ by
  adoption cohort and grow with event time - the case where two-way FE is known to
  be biased (Sun & Abraham 2021; Goodman-Bacon 2021) - with its true effects known;
* the SIMULATED panel of :mod:`govstats.simulate` with dynamic effects (``phase_in``);
* pyfixest's ``SaturatedEventStudy`` (Sun-Abraham) and ``feols`` (binned TWFE);
* the imputation estimator computed independently by dummy-variable least squares
  (Borusyak, Jaravel & Spiess 2024: equal to did2s's post-period estimates).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from govstats import did
from govstats.did import EventStudySpec, event_study
from govstats.errors import DataValidationError, GovstatsError
from govstats.simulate import TrueEffects, simulate_panel

YEARS = np.arange(2000, 2016)
COHORTS = (2004, 2007, 2010, 0)  # 0 = never adopts
SLOPE = {2004: 0.30, 2007: 0.15, 2010: 0.05}  # heterogeneous, growing effects: tau = slope * (e + 1)


def staggered_panel(seed: int, n_units: int = 240, heterogeneous: bool = True, noise: float = 0.5) -> pd.DataFrame:
    """A staggered-adoption panel with a known effect for every treated observation (column ``tau``)."""
    rng = np.random.default_rng(seed)
    cohort = np.array(COHORTS)[np.arange(n_units) % len(COHORTS)]
    unit = np.repeat(np.arange(n_units), len(YEARS))
    year = np.tile(YEARS, n_units)
    g = cohort[unit]
    e = year - g
    treated = (g > 0) & (e >= 0)
    slope = np.array([SLOPE.get(int(c), 0.0) if heterogeneous else 0.15 for c in g])
    tau = np.where(treated, slope * (e + 1) if heterogeneous else 0.5, 0.0)
    alpha = 0.4 * (cohort == 2004) - 0.3 * (cohort == 0) + rng.normal(size=n_units)  # selection on levels
    lam = 0.1 * (YEARS - 2000) + rng.normal(scale=0.2, size=len(YEARS))
    x = rng.normal(size=len(unit)) + 0.05 * (year - 2000) * rng.normal(size=n_units)[unit]
    y = alpha[unit] + lam[year - 2000] + 0.3 * x + tau + rng.normal(scale=noise, size=len(unit))
    return pd.DataFrame({
        "unit": unit, "year": year, "cohort": pd.array(np.where(g > 0, g, -1), dtype="Int64"),
        "treat": treated.astype(int), "x": x, "y": y, "tau": tau,
    }).assign(cohort=lambda d: d["cohort"].mask(d["cohort"] < 0))


def truth_of(df: pd.DataFrame, spec: did.EventStudySpec) -> tuple[pd.Series, float]:
    """True mean effect by binned event time over adopters, and over all treated observations."""
    adopters = df[df["cohort"].notna()]
    e = (adopters["year"] - adopters["cohort"].astype(float)).clip(-spec.leads, spec.lags)
    by = adopters.groupby(e.to_numpy())["tau"].mean()
    return by, float(df.loc[df["treat"] == 1, "tau"].mean())


def wald_against_truth(res: did.EventStudyResults, estimator: str, truth: pd.Series, event_times) -> float:
    """p-value of H0: estimates = truth at ``event_times`` (estimator's own covariance, normal)."""
    est = res.tidy().query("estimator == @estimator").set_index("event_time")["estimate"]
    ev = list(event_times)
    diff = est.loc[ev].to_numpy() - truth.loc[ev].to_numpy()
    V = res.covariances[estimator].loc[ev, ev].to_numpy()
    W = float(diff @ np.linalg.solve(V, diff))
    return float(stats.chi2.sf(W, len(ev)))


SPEC = did.EventStudySpec("y", cohort="cohort", unit="unit", leads=4, lags=6, controls=("x",),
                          treatment="treat")


@pytest.fixture(scope="module")
def heterogeneous():
    df = staggered_panel(seed=11)
    return df, did.event_study(SPEC, df)


def test_robust_estimators_recover_heterogeneous_dynamic_effects(heterogeneous):
    df, res = heterogeneous
    truth, att = truth_of(df, SPEC)
    post = range(0, SPEC.lags + 1)
    for est in ("sun_abraham", "did2s"):
        assert wald_against_truth(res, est, truth, post) > 0.01, est
        rows = res.tidy().query("estimator == @est and event_time >= 0").set_index("event_time")
        covered = (rows["ci_lower"] <= truth.loc[rows.index]) & (truth.loc[rows.index] <= rows["ci_upper"])
        assert covered.mean() >= 5 / 7, (est, rows.assign(truth=truth))
        a = res.att.set_index("estimator").loc[est]
        assert a["ci_lower"] <= att <= a["ci_upper"], (est, a, att)
    # no pre-trends in the DGP: the robust pre-trend tests do not reject
    assert (res.pretrends.set_index("estimator").loc[["sun_abraham", "did2s"], "p_value"] > 0.01).all()


def test_plain_twfe_is_biased_under_heterogeneous_timing(heterogeneous):
    df, res = heterogeneous
    truth, att = truth_of(df, SPEC)
    static = res.att.set_index("estimator").loc["twfe_static"]
    assert not static["ci_lower"] <= att <= static["ci_upper"]
    assert static["estimate"] < att  # early, growing effects serve as controls: pulled down
    robust_error = res.att.set_index("estimator").loc[["sun_abraham", "did2s"], "estimate"] - att
    assert (robust_error.abs() < abs(static["estimate"] - att) / 3).all()
    # the dynamic TWFE coefficients are contaminated by other cohorts' effects
    assert wald_against_truth(res, "twfe", truth, range(0, SPEC.lags + 1)) < 0.01
    # ... and so are its leads: a spurious pre-trend where the DGP has none
    assert res.pretrends.set_index("estimator").loc["twfe", "p_value"] < 1e-4


def test_plain_twfe_is_fine_with_a_homogeneous_step():
    df = staggered_panel(seed=12, heterogeneous=False)
    res = did.event_study(did.EventStudySpec("y", cohort="cohort", unit="unit", leads=4, lags=6,
                                                 controls=("x",), estimators=("twfe",)), df)
    truth, att = truth_of(df, SPEC)
    static = res.att.set_index("estimator").loc["twfe_static"]
    assert static["ci_lower"] <= att <= static["ci_upper"]
    assert wald_against_truth(res, "twfe", truth, range(0, 7)) > 0.01


def test_sun_abraham_matches_pyfixest_saturated_event_study():
    import pyfixest as pf

    df = staggered_panel(seed=3, n_units=80)
    df["g"] = df["cohort"].fillna(0).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pyfixest: "SaturatedEventStudy is in beta"
        ref = pf.event_study(df, yname="y", idname="unit", tname="year", gname="g", estimator="saturated")
        agg = ref.aggregate()
    lo, hi = int(agg.index.min()), int(agg.index.max())
    res = did.event_study(did.EventStudySpec("y", cohort="cohort", unit="unit", leads=-lo, lags=hi,
                                                 estimators=("sun_abraham",)), df)
    mine = res.tidy().query("event_time != -1").set_index("event_time")
    np.testing.assert_allclose(mine.loc[agg.index.astype(int), "estimate"], agg["Estimate"].astype(float),
                               rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(mine.loc[agg.index.astype(int), "std_error"], agg["Std. Error"].astype(float),
                               rtol=1e-6)


def test_twfe_matches_pyfixest_feols_with_binned_event_dummies():
    import pyfixest as pf

    df = staggered_panel(seed=4, n_units=80)
    spec = did.EventStudySpec("y", cohort="cohort", unit="unit", leads=3, lags=4, controls=("x",),
                              estimators=("twfe",))
    res = did.event_study(spec, df)
    e = (df["year"] - df["cohort"].astype(float)).clip(-3, 4)
    df["bin"] = e.fillna(-1).astype(int)
    ref = pf.feols("y ~ i(bin, ref=-1) + x | unit + year", df, vcov={"CRV1": "unit"})
    names = [f"bin::{k}" for k in (-3, -2, 0, 1, 2, 3, 4)]
    mine = res.tidy().query("estimator == 'twfe' and event_time != -1")
    np.testing.assert_allclose(mine["estimate"], ref.coef()[names], rtol=1e-8)
    np.testing.assert_allclose(mine["std_error"], ref.se()[names], rtol=1e-6)


def test_did2s_equals_imputation_by_dummy_variable_least_squares():
    df = staggered_panel(seed=5, n_units=60)
    spec = did.EventStudySpec("y", cohort="cohort", unit="unit", leads=3, lags=4, controls=("x",),
                              estimators=("did2s",))
    res = did.event_study(spec, df)
    # independent computation: unit + year dummies and x fitted on untreated rows, Y(0) imputed
    D = pd.get_dummies(df[["unit", "year"]].astype(str), drop_first=True).astype(float)
    X = np.column_stack([np.ones(len(df)), D.to_numpy(), df["x"].to_numpy()])
    untreated = df["treat"].to_numpy() == 0
    beta, *_ = np.linalg.lstsq(X[untreated], df.loc[untreated, "y"].to_numpy(), rcond=None)
    effect = df["y"].to_numpy() - X @ beta
    treated = df[~untreated].assign(effect=effect[~untreated])
    e = (treated["year"] - treated["cohort"].astype(float)).clip(upper=4)
    expected = treated.groupby(e.to_numpy())["effect"].mean()
    mine = res.tidy().query("event_time >= 0").set_index("event_time")["estimate"]
    np.testing.assert_allclose(mine.loc[expected.index], expected, rtol=1e-7, atol=1e-9)
    att = res.att.set_index("estimator").loc["did2s", "estimate"]
    assert att == pytest.approx(treated["effect"].mean(), rel=1e-7)


def test_simulated_panel_dynamic_effects_recovered():
    sim = simulate_panel(places=["quzhou", "dongcheng", "futian"], units_per_place=60, seed=5,
                         effects=TrueEffects(phase_in=0.6))
    spec = did.EventStudySpec("satisfaction_index", cohort="grid_year", treatment="grid_reform", leads=3, lags=6,
                              controls=("grid_density",), estimators=("sun_abraham", "did2s"))
    res = did.event_study(spec, sim.data)
    assert res.simulated and res.label.startswith("SIMULATED")
    truth, att = did.true_effects(sim, "grid", res)
    t = truth.set_index("event_time")["true_effect"]
    # the truth's shape is the DGP's: tau (1 - phase_in^(e+1)), pooled at e >= lags
    assert t.loc[0] == pytest.approx(0.10 * (1 - 0.6), rel=1e-12)
    for est in ("sun_abraham", "did2s"):
        assert wald_against_truth(res, est, t, range(0, 7)) > 0.01, est
        a = res.att.set_index("estimator").loc[est]
        assert a["ci_lower"] <= att <= a["ci_upper"]


def test_few_clusters_get_the_wild_bootstrap_and_a_warning():
    sim = simulate_panel(seed=0)
    spec = did.EventStudySpec("satisfaction_index", cohort="grid_year", cluster="place_id", leads=6, lags=3,
                              controls=("aux_village_reform", "rapid_police_reform"), estimators=("twfe", "did2s"))
    with pytest.warns(UserWarning, match="Only 5 clusters"):
        res = did.event_study(spec, sim.data)
    assert res.n_clusters == 5 and any("Only 5 clusters" in w for w in res.warnings)
    tw = res.tidy().query("estimator == 'twfe' and event_time != -1")
    assert tw["boot_ci_lower"].notna().all()
    assert ((tw["boot_ci_lower"] <= tw["estimate"]) & (tw["estimate"] <= tw["boot_ci_upper"])).all()
    # t critical values on G - 1 = 4 degrees of freedom
    r = tw.iloc[0]
    assert (r["ci_upper"] - r["estimate"]) / r["std_error"] == pytest.approx(stats.t.ppf(0.975, 4))
    # five leads, but a clustered covariance with 5 clusters has rank <= 4
    pre = res.pretrends.set_index("estimator")
    assert (pre["n_leads"] == 5).all() and (pre["rank"] <= 4).all() and (pre["df2"] == 4).all()
    assert "rank" in pre.loc["twfe", "note"] and "over-rejects" in pre.loc["did2s", "note"]
    static = res.att.set_index("estimator").loc["twfe_static"]
    assert static["boot_ci_lower"] <= static["estimate"] <= static["boot_ci_upper"]


def test_bad_input_reports_every_problem_with_row_and_column():
    df = staggered_panel(seed=6, n_units=8)
    df = df.astype({"cohort": "Float64", "year": "float64"})
    df.loc[3, "cohort"] = 2005.0  # unit 0's adoption year changes (row 5)
    df.loc[20, "year"] = 2005.5  # not a whole year (row 22)
    df.loc[40, "treat"] = 1 - df.loc[40, "treat"]  # disagrees with the adoption year (row 42)
    df = pd.concat([df, df.iloc[[60]]], ignore_index=True)  # a duplicate unit-year (rows 62 and last)
    with pytest.raises(DataValidationError) as info:
        did.event_study(did.EventStudySpec("y", cohort="cohort", unit="unit", treatment="treat", leads=2,
                                               lags=2), df)
    table = info.value.table()
    assert {(5, "cohort"), (22, "year"), (42, "treat"), (62, "unit/year")} <= set(zip(table["row"], table["column"],
                                                                                     strict=True))
    assert len(df) + 1 in set(table["row"])  # the appended duplicate, last row of the file


def test_rows_that_cannot_be_used_are_rejected_with_a_reason():
    df = staggered_panel(seed=7, n_units=40)
    df.loc[5, "y"] = np.nan
    df.loc[df["unit"] == 1, "cohort"] = 2001  # one pre-reform year only
    df.loc[df["unit"] == 1, "treat"] = (df.loc[df["unit"] == 1, "year"] >= 2001).astype(int)
    res = did.event_study(did.EventStudySpec("y", cohort="cohort", unit="unit", leads=2, lags=2,
                                                 estimators=("did2s",)), df)
    acc = res.accounting
    assert acc.rows_in == len(df) == acc.rows_kept + acc.rows_rejected
    reasons = acc.rejected.set_index("row")["reason"]
    assert reasons.loc[7] == "missing y"
    assert (acc.rejected.loc[acc.rejected["unit"] == 1, "reason"] == "fewer than two observed years before the reform").all()
    assert any("fewer than two" in n for n in res.notes)


def test_spec_rejects_unknown_options():
    with pytest.raises(ValueError, match="'twfe', 'sun_abraham', 'did2s'"):
        did.EventStudySpec("y", cohort="g", estimators=("callaway",))
    with pytest.raises(ValueError, match="leads"):
        did.EventStudySpec("y", cohort="g", leads=1)


def test_plots_say_simulated_and_show_the_truth():
    import matplotlib.pyplot as plt

    sim = simulate_panel(places=["quzhou", "dongcheng", "futian"], units_per_place=10, seed=1)
    res = did.event_study(did.EventStudySpec("satisfaction_index", cohort="grid_year", leads=2, lags=2,
                                                       controls=("grid_density",)), sim.data)
    truth, att = did.true_effects(sim, "grid", res)
    fig = did.plot_event_study(res, truth)
    assert fig._suptitle.get_text().startswith("SIMULATED")
    assert any(t.get_text() == "SIMULATED" for t in fig.texts)
    assert len(fig.axes) == 3
    assert any(line.get_label() == "true effect" for line in fig.axes[0].get_lines())
    fig2 = did.plot_att(res, att)
    assert fig2._suptitle.get_text().startswith("SIMULATED")
    plt.close("all")
    real = sim.data.copy()
    real.attrs = {}
    res_real = did.event_study(did.EventStudySpec("satisfaction_index", cohort="grid_year", leads=2, lags=2,
                                                        estimators=("did2s",)), real)
    fig3 = did.plot_event_study(res_real)
    assert "SIMULATED" not in fig3._suptitle.get_text()
    plt.close("all")


def test_years_in_which_everyone_has_adopted_are_left_out():
    df = staggered_panel(seed=8, n_units=60)
    late = df["cohort"].isna()
    df.loc[late, "cohort"] = 2013  # no never-adopter: from 2013 on every unit is treated
    df["treat"] = (df["year"] >= df["cohort"]).astype(int)
    res = did.event_study(did.EventStudySpec("y", cohort="cohort", unit="unit", leads=3, lags=4,
                                                 treatment="treat"), df)
    rej = res.accounting.rejected
    assert set(rej["year"]) == {2013, 2014, 2015}
    assert set(rej["reason"]) == {"fewer than two untreated units in this year (its year effect needs them)"}
    assert any("2013, 2014, 2015" in n for n in res.notes)
    # the 2013 adopters are the not-yet-treated comparison within the kept years
    assert res.cohorts["cohort"].isna().sum() == 1 and res.cohorts["units"].sum() == 60
    assert set(res.tidy()["estimator"]) == {"twfe", "sun_abraham", "did2s"}
    truth, att = truth_of(df[df["year"] < 2013], res.spec)
    a = res.att.set_index("estimator")
    for est in ("sun_abraham", "did2s"):
        assert a.loc[est, "ci_lower"] <= att <= a.loc[est, "ci_upper"]


def test_simulated_cohort_heterogeneity_biases_twfe_but_not_the_robust_estimators():
    # the SIMULATED panel with effects that differ by adoption cohort (cohort_decay: early, pilot
    # adopters gain most) and build up over event time (phase_in); years from 2004 give the
    # 2008-2012 grid adopters of Quzhou and Dongcheng pre-reform years. The truth is the DGP's.
    sim = simulate_panel(places=["hengyang", "quzhou", "dongcheng"], units_per_place=100, seed=0,
                         years=range(2004, 2024), effects=TrueEffects(cohort_decay=0.25, phase_in=0.5, tau_grid=0.5))
    spec = did.EventStudySpec("satisfaction_index", cohort="grid_year", treatment="grid_reform", leads=4, lags=8,
                              controls=("aux_village_reform", "rapid_police_reform", "grid_density"))
    res = did.event_study(spec, sim.data)
    truth, att = did.true_effects(sim, "grid", res)
    t = truth.set_index("event_time")["true_effect"]
    ce = sim.truth.cohort_effects.query("reform == 'grid' and event_time == 3").set_index("cohort")["direct_effect"]
    assert ce.max() > 3 * ce.min()  # the effect does differ by cohort
    post = range(0, spec.lags + 1)
    a = res.att.set_index("estimator")
    for est in ("sun_abraham", "did2s"):
        assert wald_against_truth(res, est, t, post) > 0.01, est
        assert a.loc[est, "ci_lower"] <= att <= a.loc[est, "ci_upper"], (est, a.loc[est], att)
    # plain two-way FE: the static coefficient is far from the truth, the event-time curve rejected
    static = a.loc["twfe_static"]
    assert static["ci_upper"] < att
    robust_error = (a.loc[["sun_abraham", "did2s"], "estimate"] - att).abs()
    assert (robust_error < (att - static["estimate"]) / 3).all()
    assert wald_against_truth(res, "twfe", t, post) < 0.001


def test_results_accessors_agree_with_the_tidy_table(heterogeneous):
    _, res = heterogeneous
    tidy = res.tidy().set_index(["estimator", "event_time"])
    pd.testing.assert_series_equal(res.coef(), tidy["estimate"])
    pd.testing.assert_series_equal(res.se(), tidy["std_error"])
    pd.testing.assert_series_equal(res.pvalue(), tidy["p"])
    ci = res.confint()
    np.testing.assert_allclose(ci[["ci_lower", "ci_upper"]].to_numpy(), tidy[["ci_lower", "ci_upper"]].to_numpy(),
                               rtol=1e-12)
    # another level: t critical value on G - 1 degrees of freedom, from the same standard errors
    ci90 = res.confint(alpha=0.10).loc[("did2s", 0)]
    q = stats.t.ppf(0.95, res.n_clusters - 1)
    r = tidy.loc[("did2s", 0)]
    assert ci90["ci_upper"] - r["estimate"] == pytest.approx(q * r["std_error"], rel=1e-12)
    wide = res.tidy(wide=True)
    assert list(wide.columns[:2]) == ["twfe_estimate", "twfe_std_error"]
    assert wide.loc[0, "did2s_estimate"] == r["estimate"]


def test_a_bootstrap_that_cannot_reject_says_so():
    """Five city clusters with Rademacher weights: no p-value below 2/32 = 0.0625 exists."""
    sim = simulate_panel(seed=0)
    spec = did.EventStudySpec("satisfaction_index", cohort="grid_year", cluster="place_id", leads=2, lags=1,
                              estimators=("twfe",), weights_type="rademacher")
    with pytest.warns(UserWarning, match="smallest attainable wild-bootstrap p-value is 0.0625"):
        res = did.event_study(spec, sim.data)
    assert any("smallest attainable" in w for w in res.warnings)
    tw = res.tidy().query("estimator == 'twfe' and event_time != -1")
    assert (tw["boot_p"] >= 2 / 32).all() and np.isinf(tw["boot_ci_upper"]).all()


def test_weighted_event_studies_match_pyfixest_and_weighted_imputation():
    """Population weights: TWFE = pyfixest feols(weights=) with the same binned dummies; did2s =
    weighted imputation by dummy-variable WLS (an independent computation); Sun-Abraham rows are
    weight-share averages of the weighted cohort x event-time cells."""
    import pyfixest as pf

    df = staggered_panel(seed=6, n_units=60)
    df["pop"] = np.exp(np.random.default_rng(1).normal(size=df["unit"].nunique()))[df["unit"].to_numpy()]
    spec = did.EventStudySpec("y", cohort="cohort", unit="unit", leads=3, lags=4, controls=("x",),
                              estimators=("twfe", "did2s", "sun_abraham"), weights="pop")
    res = did.event_study(spec, df)
    tidy = res.tidy()
    e = (df["year"] - df["cohort"].astype(float)).clip(-3, 4)
    df["bin"] = e.fillna(-1).astype(int)
    ref = pf.feols("y ~ i(bin, ref=-1) + x | unit + year", df, vcov={"CRV1": "unit"}, weights="pop")
    names = [f"bin::{k}" for k in (-3, -2, 0, 1, 2, 3, 4)]
    mine = tidy.query("estimator == 'twfe' and event_time != -1")
    np.testing.assert_allclose(mine["estimate"], ref.coef()[names], rtol=1e-8)
    np.testing.assert_allclose(mine["std_error"], ref.se()[names], rtol=1e-6)
    # did2s: WLS of y on unit, year dummies and x over untreated rows, then weighted means of Y - Y(0)
    D = pd.get_dummies(df[["unit", "year"]].astype(str), drop_first=True).astype(float)
    X = np.column_stack([np.ones(len(df)), D.to_numpy(), df["x"].to_numpy()])
    w = df["pop"].to_numpy()
    u = df["treat"].to_numpy() == 0
    sw = np.sqrt(w[u])
    beta, *_ = np.linalg.lstsq(X[u] * sw[:, None], df.loc[u, "y"].to_numpy() * sw, rcond=None)
    effect = df["y"].to_numpy() - X @ beta
    tr = df[~u].assign(effect=effect[~u])
    ev = (tr["year"] - tr["cohort"].astype(float)).clip(upper=4).to_numpy()
    expected = tr.assign(ev=ev, we=tr["effect"] * tr["pop"]).groupby("ev")[["we", "pop"]].sum()
    expected = expected["we"] / expected["pop"]
    got = tidy.query("estimator == 'did2s' and event_time >= 0").set_index("event_time")["estimate"]
    # pyfixest's did2s demeans iteratively (its default tolerance): agreement to ~1e-6 relative
    np.testing.assert_allclose(got.loc[expected.index], expected, rtol=1e-5, atol=1e-8)
    assert any("does not take regression weights" in n for n in res.notes) or res.n_clusters >= 30
    unweighted = did.event_study(did.EventStudySpec("y", cohort="cohort", unit="unit", leads=3, lags=4,
                                                    controls=("x",), estimators=("sun_abraham",)), df)
    sa_w = tidy.query("estimator == 'sun_abraham' and event_time == 0")["estimate"].iloc[0]
    sa_u = unweighted.tidy().query("event_time == 0")["estimate"].iloc[0]
    assert sa_w != pytest.approx(sa_u, rel=1e-6)


def test_bad_event_study_weights_are_listed():
    df = staggered_panel(seed=7, n_units=40)
    df["pop"] = 1.0
    df.loc[[0, 5], "pop"] = [-2.0, 0.0]
    with pytest.raises(DataValidationError) as err:
        did.event_study(did.EventStudySpec("y", cohort="cohort", unit="unit", estimators=("twfe",),
                                           weights="pop"), df)
    assert len(err.value.problems) == 2


# --------------------------------------------------------------------------- issue 12: bad input, CS


def _tiny_panel(n_units=12, years=range(2001, 2009), seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_units):
        g = [np.nan, 2004, 2006][i % 3]
        for t in years:
            rows.append({"unit_id": i, "year": t, "place": i % 4, "g": g,
                         "y": rng.normal() + (0.5 if np.isfinite(g) and t >= g else 0.0)})
    return pd.DataFrame(rows)


def test_cohort_treated_from_the_start_says_what_to_do():
    df = _tiny_panel()
    df.loc[df["g"].notna(), "g"] = 2001  # every adopter treated in the first year
    with pytest.raises(GovstatsError, match="treated from its first or second observed period.*Add earlier years"):
        event_study(EventStudySpec("y", cohort="g", leads=2, lags=2, estimators=("did2s",)), df)
    # some adopters treated from the start: their rows are rejected with the reason, the rest estimated
    df = _tiny_panel()
    df.loc[df["unit_id"] == 1, "g"] = 2001
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = event_study(EventStudySpec("y", cohort="g", leads=2, lags=2, estimators=("did2s",)), df)
    assert (res.accounting.rejected["reason"] == "fewer than two observed years before the reform").sum() == 8


def test_one_cluster_says_what_to_do():
    df = _tiny_panel().assign(one=1)
    with pytest.raises(GovstatsError, match="one value.*Cluster on a finer column"):
        event_study(EventStudySpec("y", cohort="g", cluster="one", leads=2, lags=2, bootstrap="always"), df)


def test_cs_without_never_treated_says_which_units_are_controls():
    # no never-adopter: the years after the second-last adoption are left out (no untreated units),
    # so the last cohort is never treated within the sample and serves as the control group
    df = _tiny_panel()
    df = df[df["g"].notna()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = event_study(EventStudySpec("y", cohort="g", leads=2, lags=1, estimators=("cs",),
                                         bootstrap="never"), df)
    assert any("never treated within the sample" in n for n in res.notes)
    assert (res.tidy()["estimator"] == "cs").any()


def test_cs_estimator_matches_did_cs_and_robust_atts_get_the_wild_bootstrap():
    from govstats.did_cs import CSSpec, callaway_santanna
    from govstats.did_fewclusters import wild_bootstrap_att

    df = _tiny_panel(n_units=24)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = event_study(EventStudySpec("y", cohort="g", cluster="place", leads=2, lags=2,
                                         estimators=("sun_abraham", "did2s", "cs"), reps=999), df)
        ref = callaway_santanna(CSSpec("y", cohort="g", unit="unit_id", time="year", cluster="place", reps=0,
                                       base_period="universal"), df.assign(g=df["g"].fillna(0)))
    cs = res.tidy().query("estimator == 'cs' and event_time != -1").set_index("event_time")
    dyn = ref.tidy().set_index("event_time")
    for e in cs.index:
        assert cs.at[e, "estimate"] == pytest.approx(dyn.at[e, "estimate"], abs=1e-10)
    att = res.att.set_index("estimator")
    assert att.at["cs", "estimate"] == pytest.approx(float(ref.aggregate("simple")["estimate"].iloc[0]), abs=1e-10)
    # 4 places: every robust ATT carries the wild restricted bootstrap of did_fewclusters
    for est in ("sun_abraham", "did2s", "cs"):
        wb = wild_bootstrap_att(df.assign(g=df["g"].fillna(0)), est, reps=999, unit="unit_id", time="year",
                                cohort="g", cluster="place")
        assert att.at[est, "estimate"] == pytest.approx(wb["estimate"], abs=1e-10)
        assert att.at[est, "boot_p"] == pytest.approx(wb["boot_p"], abs=1e-12)
        assert att.at[est, "boot_ci_lower"] == pytest.approx(wb["boot_ci_lower"], abs=1e-8)
