"""Causal mediation: known indirect effects recovered, pinned to statsmodels, sensitivity checked.

Outside references used here:

* panel DGPs built below (numpy, seeded) with known paths ``a`` (T -> M), ``b``
  (M -> Y) and ``c`` (T -> Y), so ACME = a b D and ADE = c D are known, with unit
  effects that make a pooled analysis wrong;
* statsmodels' ``Mediation`` (the Imai-Keele-Tingley simulation algorithm), for a
  0/1 exposure, where both apply;
* the SIMULATED panel of :mod:`govstats.simulate`, in which mediation success does
  not enter satisfaction (true ACME = 0) and mediators per 10k raise satisfaction
  directly by ``beta_mediators``;
* Imai, Keele & Yamamoto (2010), Theorem 2: ACME(rho), checked against a DGP whose
  mediator and outcome errors are correlated with a known rho.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from govstats.errors import DataValidationError, GovstatsError
from govstats.mediation import EFFECT_NAMES, MediationSpec, mediation_analysis
from govstats.simulate import simulate_panel

A, B, C = 0.6, 0.5, 0.3


def mediation_panel(seed: int, n_units: int = 120, n_years: int = 8, rho: float = 0.0, binary: bool = False,
                    persistence: float = 0.0) -> pd.DataFrame:
    """T -> M -> Y with unit effects correlated with all three; errors of M and Y correlated by ``rho``."""
    rng = np.random.default_rng(seed)
    n = n_units * n_years
    unit = np.repeat(np.arange(n_units), n_years)
    year = np.tile(np.arange(n_years), n_units)
    u = rng.normal(size=n_units)[unit]  # unit effect entering T, M and Y
    lam = rng.normal(size=n_years)[year]
    z = rng.normal(size=n)
    T = (z + u > 0).astype(float) if binary else 2.0 + u + 0.5 * lam + z
    e = rng.multivariate_normal([0, 0], [[1, rho], [rho, 1]], size=n)
    if persistence:  # AR(1) shocks within units (same for T's within-unit variation)
        for k in range(1, n_years):
            rows = np.flatnonzero(year == k)
            e[rows] = persistence * e[rows - 1] + np.sqrt(1 - persistence**2) * e[rows]
            if not binary:
                T[rows] = T[rows] + persistence * (T[rows - 1] - 2.0 - u[rows - 1])
    x = rng.normal(size=n)
    M = A * T + 0.2 * x + 1.5 * u + lam + e[:, 0]
    Y = C * T + B * M + 0.1 * x - 2.0 * u + 0.5 * lam + e[:, 1]
    return pd.DataFrame({"unit_id": unit, "year": year, "t": T, "m": M, "y": Y, "x": x})


def covers(res, name, value) -> bool:
    r = res.tidy().loc[name]
    return bool(r["ci_lower"] <= value <= r["ci_upper"])


def test_known_indirect_and_direct_effects_recovered_within_units():
    df = mediation_panel(seed=1)
    res = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), reps=399, contrast=(2.0, 3.0)), df)
    assert res.contrast == (2.0, 3.0) and res.n_clusters == 120
    assert covers(res, "ACME (average)", A * B)
    assert covers(res, "ADE (average)", C)
    assert covers(res, "Total effect", C + A * B)
    assert covers(res, "Prop. mediated (average)", A * B / (C + A * B))
    # ignoring the panel structure (pooled OLS) is confounded by the unit effects
    pooled = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), fixef="none", reps=199), df)
    assert not covers(pooled, "ACME (average)", A * B)


def test_matches_statsmodels_mediation_for_a_binary_exposure():
    import statsmodels.api as sm
    from statsmodels.stats.mediation import Mediation

    df = mediation_panel(seed=2, n_units=100, n_years=3, binary=True)
    res = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), fixef="none", reps=199), df)
    Xm = sm.add_constant(df[["t", "x"]]).to_numpy()
    Xy = sm.add_constant(df[["t", "m", "x"]]).to_numpy()
    med = Mediation(sm.OLS(df["y"].to_numpy(), Xy), sm.OLS(df["m"].to_numpy(), Xm), (1, 1), 2)
    ref = med.fit(method="parametric", n_rep=1000, rng=0)
    table = ref.summary()
    draws = {
        "ACME (control)": ref.indirect_effects[0].mean(0), "ACME (treated)": ref.indirect_effects[1].mean(0),
        "ADE (control)": ref.direct_effects[0].mean(0), "ADE (treated)": ref.direct_effects[1].mean(0),
    }
    draws["Total effect"] = ref.total_effect
    for name, d in draws.items():
        mc_se = d.std() / np.sqrt(len(d))  # Monte Carlo error of statsmodels' simulated mean
        assert res.effect(name) == pytest.approx(table.loc[name, "Estimate"], abs=4 * mc_se), name
    # interval widths agree roughly (parametric simulation vs bootstrap)
    for name in ("ACME (average)", "ADE (average)"):
        w_ref = table.loc[name, "Upper CI bound"] - table.loc[name, "Lower CI bound"]
        w = res.tidy().loc[name, "ci_upper"] - res.tidy().loc[name, "ci_lower"]
        assert w == pytest.approx(w_ref, rel=0.3), name


def test_matches_statsmodels_with_fixed_effects_as_dummies():
    import statsmodels.api as sm
    from statsmodels.stats.mediation import Mediation

    df = mediation_panel(seed=3, n_units=15, n_years=5)
    res = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), contrast=(0.0, 1.0), reps=99), df)
    D = pd.get_dummies(df[["unit_id", "year"]].astype(str), drop_first=True).astype(float)
    Xm = pd.concat([sm.add_constant(df[["t", "x"]]), D], axis=1).to_numpy()
    Xy = pd.concat([sm.add_constant(df[["t", "m", "x"]]), D], axis=1).to_numpy()
    ref = Mediation(sm.OLS(df["y"].to_numpy(), Xy), sm.OLS(df["m"].to_numpy(), Xm), (1, 1), 2).fit(n_rep=200, rng=1)
    for name, d in (("ACME (control)", ref.indirect_effects[0].mean(0)), ("ADE (control)", ref.direct_effects[0].mean(0))):
        assert res.effect(name) == pytest.approx(d.mean(), abs=4 * d.std() / np.sqrt(len(d))), name


@pytest.mark.slow
def test_matches_statsmodels_with_treatment_mediator_interaction():
    import statsmodels.formula.api as smf
    from statsmodels.stats.mediation import Mediation

    df = mediation_panel(seed=4, n_units=60, n_years=2, binary=True)
    df["y"] = df["y"] + 0.4 * df["t"] * df["m"]
    res = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), fixef="none", interaction=True,
                                               reps=99), df)
    med = Mediation(smf.ols("y ~ t * m + x", df), smf.ols("m ~ t + x", df), "t", "m")
    ref = med.fit(n_rep=150, rng=0)
    pairs = {"ACME (control)": ref.indirect_effects[0], "ACME (treated)": ref.indirect_effects[1],
             "ADE (control)": ref.direct_effects[0], "ADE (treated)": ref.direct_effects[1]}
    for name, arr in pairs.items():
        d = arr.mean(0)
        assert res.effect(name) == pytest.approx(d.mean(), abs=4 * d.std() / np.sqrt(len(d))), name
    assert res.effect("ACME (treated)") - res.effect("ACME (control)") == pytest.approx(
        res.paths["a"] * res.paths["d"], rel=1e-10)


def test_sensitivity_identities():
    df = mediation_panel(seed=5, n_units=60)
    res = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), reps=99, contrast=(1.0, 3.0)), df)
    s = res.sensitivity([-0.5, 0.0, res.rho_at_zero, 0.5])
    # ACME(0) is the product of the paths times the contrast; zero at rho~
    assert s["acme"].iloc[1] == pytest.approx(res.paths["a"] * res.paths["b"] * 2.0, rel=1e-10)
    assert s["acme"].iloc[1] == pytest.approx(res.effect("ACME (average)"), rel=1e-10)
    assert s["acme"].iloc[2] == pytest.approx(0.0, abs=1e-10)
    assert s["acme"].iloc[0] > s["acme"].iloc[1] > s["acme"].iloc[3]
    assert s.attrs["r2_residual_product_at_zero"] == pytest.approx(res.rho_at_zero**2)
    assert 0 < s.attrs["r2_total_product_at_zero"] < s.attrs["r2_residual_product_at_zero"]
    with pytest.raises(ValueError, match="between -1 and 1"):
        res.sensitivity([1.0])


def test_sensitivity_recovers_the_truth_when_errors_are_correlated():
    rho = 0.5
    df = mediation_panel(seed=6, n_units=150, rho=rho)
    res = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), reps=399), df)
    assert not covers(res, "ACME (average)", A * B)  # sequential ignorability fails: biased at rho = 0
    s = res.sensitivity([rho]).iloc[0]
    assert s["ci_lower"] <= A * B <= s["ci_upper"]
    assert abs(s["acme"] - A * B) < 0.25 * abs(res.effect("ACME (average)") - A * B)


def test_bootstrap_resamples_whole_clusters():
    df = mediation_panel(seed=7, n_units=80, n_years=10, persistence=0.9)
    df["row_id"] = np.arange(len(df))
    spec = dict(controls=("x",), reps=299)
    by_unit = mediation_analysis(MediationSpec("t", "m", "y", **spec), df)
    by_row = mediation_analysis(MediationSpec("t", "m", "y", cluster="row_id", **spec), df)
    assert by_unit.n_clusters == 80 and by_row.n_clusters == len(df)
    assert by_unit.effect("ACME (average)") == by_row.effect("ACME (average)")
    # serially correlated shocks: treating rows as independent understates the uncertainty
    assert by_unit.tidy().loc["ACME (average)", "std_error"] > 1.3 * by_row.tidy().loc["ACME (average)", "std_error"]


def test_simulated_panel_truth_recovered():
    sim = simulate_panel(seed=3, units_per_place=30)
    spec = MediationSpec("mediators_per_10k", "mediation_success_pct", "satisfaction_index",
                         controls=("police_per_10k", "auxiliary_per_10k", "grid_density"), reps=199)
    res = mediation_analysis(spec, sim.data)
    assert res.simulated and res.summary().startswith("SIMULATED")
    beta = sim.truth.effects.beta_mediators
    # the DGP has no arrow from mediation success to satisfaction: ACME = 0; the direct effect is beta
    assert covers(res, "ACME (average)", 0.0)
    assert covers(res, "ADE (average)", beta)
    assert covers(res, "Total effect", beta)
    assert res.paths["a"] > 0  # more mediators, more success (gamma_mediators > 0)


def test_assumption_is_stated_and_few_clusters_warned():
    sim = simulate_panel(seed=0)
    with pytest.warns(UserWarning, match="Only 5 clusters"):
        res = mediation_analysis(MediationSpec("mediators_per_10k", "mediation_success_pct",
                                                         "satisfaction_index", cluster="place_id", reps=49), sim.data)
    assert "SEQUENTIAL IGNORABILITY" in res.summary() and "SEQUENTIAL IGNORABILITY" in res._repr_html_()
    assert "rho =" in res.summary()
    assert list(res.tidy().index) == list(EFFECT_NAMES)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inter = mediation_analysis(MediationSpec("mediators_per_10k", "mediation_success_pct",
                                                           "satisfaction_index", interaction=True, reps=29), sim.data)
    with pytest.raises(GovstatsError, match="interaction"):
        inter.sensitivity()


def test_bad_input_is_reported_and_missing_rows_are_accounted():
    df = mediation_panel(seed=8, n_units=10, n_years=4)
    df = df.astype({"m": object, "y": object})
    df.loc[3, "m"] = "n/a?"
    df.loc[7, "y"] = "十"
    with pytest.raises(DataValidationError) as info:
        mediation_analysis(MediationSpec("t", "m", "y", controls=("z",)), df)
    assert {p.column for p in info.value.problems} == {"z"}
    with pytest.raises(DataValidationError) as info:
        mediation_analysis(MediationSpec("t", "m", "y", reps=19), df)
    got = {(p.row, p.column, p.value) for p in info.value.problems}
    assert got == {(5, "m", "n/a?"), (9, "y", "十")}
    clean = mediation_panel(seed=8, n_units=10, n_years=4)
    clean.loc[[2, 11], "m"] = np.nan
    res = mediation_analysis(MediationSpec("t", "m", "y", reps=19), clean)
    acc = res.accounting
    assert acc.rows_in == 40 and acc.rows_kept == 38 == res.n_obs
    assert acc.rejected["row"].tolist() == [4, 13] and set(acc.rejected["reason"]) == {"missing m"}
    with pytest.raises(ValueError, match="contrast"):
        MediationSpec("t", "m", "y", contrast=(1.0, 1.0))


def test_plots_say_simulated():
    import matplotlib.pyplot as plt

    from govstats.mediation_plots import plot_mediation, plot_sensitivity

    sim = simulate_panel(seed=0)
    res = mediation_analysis(MediationSpec("mediators_per_10k", "mediation_success_pct",
                                                     "satisfaction_index", reps=49), sim.data)
    fig = plot_mediation(res, truth={"ACME (average)": 0.0, "ADE (average)": 0.03, "Total effect": 0.03})
    assert fig._suptitle.get_text().startswith("SIMULATED")
    assert any(t.get_text() == "SIMULATED" for t in fig.texts)
    fig2 = plot_sensitivity(res)
    assert fig2._suptitle.get_text().startswith("SIMULATED")
    line = [ln for ln in fig2.axes[0].get_lines() if ln.get_label().startswith("ACME = 0")][0]
    assert line.get_xdata()[0] == pytest.approx(res.rho_at_zero)
    plt.close("all")


def test_simulated_mediator_arrow_indirect_and_direct_effects_recovered():
    # SIMULATED panel with the arrow mediation success -> satisfaction switched on: the true
    # indirect effect of mediators per 10k is gamma_mediators x beta_mediation_success (non-zero)
    from govstats.simulate import TrueEffects

    sim = simulate_panel(seed=1, units_per_place=40, effects=TrueEffects(beta_mediation_success=0.5))
    spec = MediationSpec("mediators_per_10k", "mediation_success_index", "satisfaction_index",
                         controls=("police_per_10k", "auxiliary_per_10k", "grid_density"), reps=199)
    res = mediation_analysis(spec, sim.data)
    t0, t1 = res.contrast
    truth = sim.truth.mediation_effects("mediators_per_10k", change=t1 - t0)
    assert truth["ACME (average)"] == pytest.approx(0.08 * 0.5)  # gamma_mediators x beta_mediation_success
    for name in ("ACME (average)", "ACME (control)", "ADE (average)", "Total effect"):
        assert covers(res, name, truth[name]), (name, res.tidy().loc[name], truth[name])
    assert res.tidy().loc["ACME (average)", "ci_lower"] > 0  # a non-zero indirect effect is detected
    paths = sim.truth.effects.mediation_paths("mediators_per_10k")
    assert res.paths["b"] == pytest.approx(paths["b"], abs=0.1)


def test_results_accessors_and_confint_from_the_draws():
    df = mediation_panel(seed=9, n_units=30, n_years=5)
    res = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), reps=99), df)
    tidy = res.tidy()
    pd.testing.assert_series_equal(res.coef(), tidy["estimate"])
    pd.testing.assert_series_equal(res.se(), tidy["std_error"])
    pd.testing.assert_series_equal(res.pvalue(), tidy["p"])
    pd.testing.assert_frame_equal(res.confint(), tidy[["ci_lower", "ci_upper"]])
    wide, narrow = res.confint(alpha=0.01), res.confint(alpha=0.5)
    assert (wide["ci_lower"] <= narrow["ci_lower"]).all() and (narrow["ci_upper"] <= wide["ci_upper"]).all()
    # fixed effects named as in the formula interface; "unit" alone differs from "unit + time"
    unit_only = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), fixef="unit", reps=19), df)
    assert unit_only.effect("ACME (average)") != res.effect("ACME (average)")
    with pytest.raises(ValueError, match="fixef='twoway'"):
        MediationSpec("t", "m", "y", fixef="twoway")


def test_weighted_paths_equal_statsmodels_wls_with_fixed_effect_dummies():
    """With weights, the mediator and outcome models are WLS (statsmodels, unit and year dummies):
    a, b, c equal the WLS coefficients and the ACME is a * b per unit of treatment."""
    import statsmodels.api as sm

    df = mediation_panel(seed=5, n_units=20, n_years=5)
    df["pop"] = np.exp(np.random.default_rng(9).normal(size=len(df)))
    res = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), contrast=(0.0, 1.0), reps=49,
                                           weights="pop"), df)
    D = pd.get_dummies(df[["unit_id", "year"]].astype(str), drop_first=True).astype(float)
    Xm = pd.concat([sm.add_constant(df[["t", "x"]]), D], axis=1)
    Xy = pd.concat([sm.add_constant(df[["t", "m", "x"]]), D], axis=1)
    wm = sm.WLS(df["m"], Xm, weights=df["pop"]).fit()
    wy = sm.WLS(df["y"], Xy, weights=df["pop"]).fit()
    assert res.paths["a"] == pytest.approx(wm.params["t"], rel=1e-9)
    assert res.paths["b"] == pytest.approx(wy.params["m"], rel=1e-9)
    assert res.paths["c"] == pytest.approx(wy.params["t"], rel=1e-9)
    assert res.effect("ACME (control)") == pytest.approx(wm.params["t"] * wy.params["m"], rel=1e-9)
    unweighted = mediation_analysis(MediationSpec("t", "m", "y", controls=("x",), contrast=(0.0, 1.0), reps=49), df)
    assert unweighted.paths["a"] != pytest.approx(res.paths["a"], rel=1e-6)


def test_bad_weights_are_listed():
    df = mediation_panel(seed=6, n_units=20, n_years=5)
    df["pop"] = 1.0
    df.loc[[2, 7], "pop"] = [-1.0, 0.0]
    with pytest.raises(DataValidationError) as err:
        mediation_analysis(MediationSpec("t", "m", "y", reps=49, weights="pop"), df)
    assert len(err.value.problems) == 2
