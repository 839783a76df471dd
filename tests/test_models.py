"""govstats.models against independent computations: pyfixest, linearmodels, dummy-variable OLS,
a known simulated truth. (Published numbers: tests/test_models_reference.py.)"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from govstats import datasets
from govstats.errors import DataValidationError, GovstatsError
from govstats.models import (
    FewClustersWarning,
    PanelSpec,
    effects_f_test,
    fit,
    hausman_test,
)

GF = "invest ~ value + capital"
GFE = GF + " | firm"
NC_X = ["lprbarr", "lprbconv", "lprbpris", "lavgsen", "lpolpc"]
NCF = "lcrmrte ~ " + " + ".join(NC_X)
NCFE = NCF + " | county"
NCFE2 = NCF + " | county + year"


@pytest.fixture(scope="module")
def grunfeld() -> pd.DataFrame:
    return datasets.load_grunfeld()


@pytest.fixture(scope="module")
def crime() -> pd.DataFrame:
    return datasets.load_nc_crime()


def quiet_fit(fml, data: pd.DataFrame, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        return fit(fml, data, **kw)


# --------------------------------------------------------------------------- spec


def test_spec_rejects_unknown_options_with_the_valid_list():
    with pytest.raises(ValueError, match="estimator='fe' is not valid; choose one of"):
        PanelSpec(GF, estimator="fe")
    with pytest.raises(ValueError, match="vcov='hc3' is not valid"):
        PanelSpec(GFE, vcov="hc3")
    with pytest.raises(ValueError, match="ssc='stata' is not valid"):
        PanelSpec(GFE, ssc="stata")


@pytest.mark.parametrize(
    ("estimator", "fml"),
    [("pooled", GFE), ("within", GF), ("random", GF + " | firm + year"), ("between", GF)],
)
def test_spec_rejects_fixed_effects_that_do_not_go_with_the_estimator(estimator, fml):
    with pytest.raises(ValueError, match=f"estimator='{estimator}' takes"):
        PanelSpec(fml, estimator=estimator)


def test_formula_parses_into_the_spec_with_pyfixest_defaults():
    spec = PanelSpec(NCFE2)
    assert spec.estimator == "within" and spec.fixef == ("county", "year")
    assert spec.vcov.as_option() == {"CRV1": "county"}  # pyfixest: cluster by the first effect
    assert PanelSpec(NCF).estimator == "pooled" and PanelSpec(NCF).vcov.kind == "iid"
    iv = PanelSpec(NCF + " | county | lpolpc ~ ltaxpc")
    assert (iv.fixef, iv.endog, iv.instruments) == (("county",), ("lpolpc",), ("ltaxpc",))
    with pytest.raises(ValueError, match="pyfixest syntax"):
        PanelSpec(NCF + " | county | lpolpc ~ ltaxpc | year")


def test_fixed_effects_must_be_index_levels(crime):
    with pytest.raises(GovstatsError, match="not an index level"):
        fit(NCF + " | region", crime)
    with pytest.raises(GovstatsError, match="handles unit effects"):
        fit(NCF + " | year", crime, estimator="random")


def test_spec_validates_vcov_lag_and_formula():
    with pytest.raises(ValueError, match="two different ones"):
        PanelSpec(GFE, vcov={"CRV1": "firm+firm"})
    with pytest.raises(ValueError, match="CRV3 takes one cluster variable"):
        PanelSpec(GFE, vcov={"CRV3": "firm+year"})
    with pytest.raises(ValueError, match="needs a cluster variable"):
        PanelSpec(GFE, vcov="CRV1")
    with pytest.raises(ValueError, match="only used with vcov='DK'"):
        PanelSpec(GFE, vcov={"CRV1": "firm"}, vcov_kwargs={"lag": 2})
    with pytest.raises(ValueError, match="needs a '~'"):
        PanelSpec("invest value")
    assert PanelSpec(GFE, vcov={"CRV1": "firm + year"}).cluster_vars == ("firm", "year")


def test_between_rejects_covariances_it_cannot_have(grunfeld):
    with pytest.raises(ValueError, match="does not go with estimator='between'"):
        PanelSpec(GFE, "between", vcov="DK")
    with pytest.raises(GovstatsError, match="cannot cluster by the unit level"):
        fit(GF + " | year", grunfeld, estimator="between", vcov={"CRV1": "firm"})
    data = grunfeld.copy()
    data["half"] = np.arange(len(data)) % 2  # varies within firms
    with pytest.raises(GovstatsError, match="constant within each unit"):
        fit(GFE, data, estimator="between", vcov={"CRV1": "half"}, bootstrap="never")


def test_spec_is_frozen():
    spec = PanelSpec(GFE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.vcov = "hetero"  # type: ignore[misc]


# --------------------------------------------------------------------------- results are read-only


def test_results_cannot_be_changed(grunfeld):
    r = fit(GFE, grunfeld, vcov="iid")
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.nobs = 1  # type: ignore[misc]
    with pytest.raises(ValueError, match="read-only"):
        r._params[0] = 1.0
    p = r.coef()
    p.iloc[0] = 99.0  # a copy: the results do not change
    assert r.coef().iloc[0] != 99.0
    assert not r._cov.flags.writeable


# --------------------------------------------------------------------------- within = dummy-variable OLS


def test_within_equals_dummy_variable_ols_coefficients_and_clustered_se(grunfeld):
    """Within estimator == OLS with firm dummies (statsmodels), coefficients and CR1 SEs.

    statsmodels' clustered covariance uses G/(G-1)(N-1)/(N-K) with K counting every
    dummy (K = 2 slopes + 10 firm intercepts = 12); govstats (Stata xtreg,fe / fixest)
    does not count the firm effects nested in the firm clusters but keeps one for the
    intercept (K = 3). So SE_govstats = SE_dummies * sqrt((N-12)/(N-3)).
    """
    flat = grunfeld.reset_index()
    dv = smf.ols("invest ~ value + capital + C(firm)", flat).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(flat["firm"])[0]}
    )
    r = quiet_fit(GFE, grunfeld, bootstrap="never")
    np.testing.assert_allclose(r.coef().to_numpy(), dv.params[["value", "capital"]].to_numpy(), rtol=1e-10)
    N = 200
    scale = np.sqrt((N - 12) / (N - 3))
    np.testing.assert_allclose(
        r.se().to_numpy(), dv.bse[["value", "capital"]].to_numpy() * scale, rtol=1e-9
    )
    # unadjusted: s^2 = RSS/(N - k - k_fe) is the dummy regression's own s^2
    ru = fit(GFE, grunfeld, vcov="iid")
    dvu = smf.ols("invest ~ value + capital + C(firm)", flat).fit()
    np.testing.assert_allclose(ru.se().to_numpy(), dvu.bse[["value", "capital"]].to_numpy(), rtol=1e-9)


def test_twoway_within_equals_dummy_variable_ols_on_unbalanced_panel(grunfeld):
    unbal = grunfeld.drop([("Diamond Match", 1954), ("IBM", 1940), ("Chrysler", 1950)])
    flat = unbal.reset_index()
    dv = smf.ols("invest ~ value + capital + C(firm) + C(year)", flat).fit()
    r = fit(GF + " | firm + year", unbal, vcov="iid")
    np.testing.assert_allclose(r.coef().to_numpy(), dv.params[["value", "capital"]].to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(r.se().to_numpy(), dv.bse[["value", "capital"]].to_numpy(), rtol=1e-7)


# --------------------------------------------------------------------------- against pyfixest (fixest conventions)


@pytest.mark.parametrize(
    ("cov", "pf_vcov"),
    [
        ("iid", "iid"),
        ("hetero", "hetero"),
        ({"CRV1": "county"}, {"CRV1": "county"}),
        ({"CRV1": "county+year"}, {"CRV1": "county+year"}),
        ("DK", "DK"),
    ],
)
@pytest.mark.parametrize(("effects", "fe"), [("unit", "county"), ("twoway", "county+year")])
def test_covariances_match_pyfixest(crime, cov, pf_vcov, effects, fe):
    """Same covariance as pyfixest (fixest conventions).

    For clustered covariances pyfixest is asked for K = k (``k_fixef="none"``) and
    rescaled to fixest's default "nested" K, which is checked here from its rule
    (slopes + non-nested FE levels + 1 per nested FE; fixest ``ssc()`` docs). Reason:
    pyfixest 0.60's own nested-FE detection (a numba ``prange`` loop) was seen to
    flag the year effects as nested in county clusters in some processes and not in
    others, so its default is not a stable reference.
    """
    pf = pytest.importorskip("pyfixest")
    kw = {"vcov_kwargs": {"time_id": "year", "panel_id": "county"}} if pf_vcov == "DK" else {}
    clustered = isinstance(pf_vcov, dict)
    if clustered:
        kw["ssc"] = pf.ssc(k_fixef="none")
    ref = pf.feols(f"{NCF} | {fe}", crime.reset_index(), vcov=dict(pf_vcov) if clustered else pf_vcov, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)  # cluster2: 7 years
        r = fit(f"{NCF} | {fe}", crime, vcov=cov, bootstrap="never")
    ref_se = ref.se().to_numpy()
    if clustered:
        N, k = 630, 5
        two = "+" in cov["CRV1"]
        expected_K = {(False, "unit"): k + 1, (False, "twoway"): k + 1 + (7 - 1),
                      (True, "unit"): k + 1, (True, "twoway"): k + 1}[(two, effects)]
        # (both effects nested in one of the two cluster variables: one intercept remains)
        assert r.small_sample["K"] == expected_K
        ref_se = ref_se * np.sqrt((N - k) / (N - expected_K))
    np.testing.assert_allclose(r.coef().to_numpy(), ref.coef().to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.se().to_numpy(), ref_se, rtol=1e-10)
    if not clustered:
        np.testing.assert_allclose(r.pvalue().to_numpy(), ref.pvalue().to_numpy(), rtol=1e-8, atol=1e-14)


def test_cluster_by_a_coarser_column_matches_pyfixest(crime):
    pf = pytest.importorskip("pyfixest")
    data = crime.copy()
    data["region"] = np.select([data["west"] == 1, data["central"] == 1], ["west", "central"], "other")
    ref = pf.feols(f"{NCF} | county + year", data.reset_index(), vcov={"CRV1": "region"},
                   ssc=pf.ssc(k_fixef="none"))
    with pytest.warns(FewClustersWarning, match="only 3 clusters"):
        r = fit(NCFE2, data, vcov={"CRV1": "region"}, bootstrap="never")
    # counties are nested in regions (one intercept), years are not (6 more): K = 5 + 1 + 6
    assert r.small_sample["K"] == 12
    np.testing.assert_allclose(r.se().to_numpy(), ref.se().to_numpy() * np.sqrt(625 / 618), rtol=1e-10)
    # p-values: t with G - 1 = 2 df, as pyfixest
    np.testing.assert_allclose(r.df_inference, 2)
    assert r.n_clusters == 3
    assert r.few_clusters


# --------------------------------------------------------------------------- against linearmodels


def test_clustered_se_equals_linearmodels_with_stata_options(grunfeld):
    """linearmodels reproduces Stata xtreg,fe vce(cluster) with a constant, debiased=True and
    group_debias=True; its default (no constant, no G/(G-1)) is smaller."""
    from linearmodels import PanelOLS

    r = quiet_fit(GFE, grunfeld, bootstrap="never")
    lm = PanelOLS.from_formula("invest ~ 1 + value + capital + EntityEffects", grunfeld).fit(
        cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True
    )
    np.testing.assert_allclose(r.se().to_numpy(), lm.std_errors[["value", "capital"]].to_numpy(), rtol=1e-10)
    lm_default = PanelOLS.from_formula("invest ~ value + capital + EntityEffects", grunfeld).fit(
        cov_type="clustered", cluster_entity=True
    )
    assert (lm_default.std_errors.to_numpy() < r.se().to_numpy()).all()


def test_first_difference_between_random_equal_linearmodels(crime):
    from linearmodels import BetweenOLS, FirstDifferenceOLS, RandomEffects

    f0 = "lcrmrte ~ 0 + " + " + ".join(NC_X)
    r = fit(f0 + " | county", crime, estimator="first_difference", vcov="iid")
    lm = FirstDifferenceOLS.from_formula("lcrmrte ~ " + " + ".join(NC_X), crime).fit()
    np.testing.assert_allclose(r.coef().to_numpy(), lm.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.se().to_numpy(), lm.std_errors.to_numpy(), rtol=1e-10)
    assert r.nobs == 540

    r = fit(NCFE, crime, estimator="between", vcov="iid")
    lm = BetweenOLS.from_formula("lcrmrte ~ 1 + " + " + ".join(NC_X), crime).fit()
    np.testing.assert_allclose(r.coef().to_numpy(), lm.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(r.se().to_numpy(), lm.std_errors.to_numpy(), rtol=1e-10)

    r = fit(NCFE, crime, estimator="random", vcov="iid")
    lm = RandomEffects.from_formula("lcrmrte ~ 1 + " + " + ".join(NC_X), crime).fit()
    np.testing.assert_allclose(r.coef().to_numpy(), lm.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r.se().to_numpy(), lm.std_errors.to_numpy(), rtol=1e-9)


def test_first_differences_never_span_a_gap(crime):
    gap = crime.drop(index=[(1, 1984), (3, 1985)])
    r = fit("lcrmrte ~ 0 + lprbarr | county", gap, estimator="first_difference", vcov="iid")
    # 540 differences in the full panel; each missing year removes the two around it
    assert r.nobs == 540 - 2 - 2
    keys = set(r.resid().index)
    assert (1, 1984) not in keys and (1, 1985) not in keys and (1, 1986) in keys


# --------------------------------------------------------------------------- known truth


def _simulated_panel(seed: int, n_units: int = 60, n_t: int = 8, beta=(0.5, -0.3)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_t)
    year = np.tile(np.arange(2010, 2010 + n_t), n_units)
    alpha = rng.normal(size=n_units)
    x1 = rng.normal(size=n_units * n_t) + alpha[unit]  # correlated with the unit effect
    x2 = rng.normal(size=n_units * n_t)
    e = np.zeros(n_units * n_t)
    for i in range(n_units):  # AR(1) errors within unit
        u = rng.normal(size=n_t)
        for t in range(1, n_t):
            u[t] += 0.5 * u[t - 1]
        e[i * n_t:(i + 1) * n_t] = u
    y = beta[0] * x1 + beta[1] * x2 + 2 * alpha[unit] + 0.3 * (year - 2010) + e
    df = pd.DataFrame({"unit": unit, "year": year, "y": y, "x1": x1, "x2": x2})
    return df.set_index(["unit", "year"])


def test_within_recovers_true_coefficients_where_pooled_ols_is_biased():
    data = _simulated_panel(7)
    r = fit("y ~ x1 + x2 | unit + year", data, bootstrap="never")
    for name, truth in (("x1", 0.5), ("x2", -0.3)):
        assert abs(r.coef()[name] - truth) < 3 * r.se()[name]
    pooled = fit("y ~ x1 + x2", data, vcov={"CRV1": "unit"}, bootstrap="never")
    assert pooled.coef()["x1"] - 0.5 > 5 * pooled.se()["x1"]  # omitted unit effect bias


def test_clustered_intervals_cover_the_truth_at_about_the_nominal_rate():
    """60 clusters, AR(1) errors: 95% CR1 intervals cover beta about 95% of the time."""
    reps = 200
    hits = 0
    for s in range(reps):
        r = fit("y ~ x1 + x2 | unit + year", _simulated_panel(1000 + s), bootstrap="never")
        ci = r.confint()
        hits += ci.at["x1", "2.5%"] <= 0.5 <= ci.at["x1", "97.5%"]
    # binomial(200, 0.95): sd ~ 0.015; accept 0.90-0.99
    assert 0.90 <= hits / reps <= 0.99


# --------------------------------------------------------------------------- data problems


def test_duplicate_unit_time_pairs_are_listed_all_at_once(grunfeld):
    bad = pd.concat([grunfeld, grunfeld.iloc[[0, 5]]])
    with pytest.raises(DataValidationError) as err:
        fit(GFE, bad)
    assert len(err.value.problems) == 4  # both copies of both duplicated pairs
    assert "duplicate (unit, time)" in str(err.value)


def test_missing_values_are_counted_warned_and_shown(grunfeld):
    data = grunfeld.copy()
    data.iloc[[0, 7, 30], data.columns.get_loc("value")] = np.nan
    with pytest.warns(UserWarning, match="3 of 200 rows"):
        r = fit(GFE, data, vcov="iid")
    assert r.nobs == 197 and r.dropped_missing == 3
    assert "3 row(s) with missing" in r.summary()


def test_time_invariant_regressor_is_dropped_visibly(crime):
    with pytest.warns(UserWarning, match="dropped: west"):
        r = fit(NCF + " + west | county", crime, vcov="iid")
    assert "west" not in r.param_names
    assert r.dropped_collinear == ("west",)
    assert "Dropped (collinear): west" in r.summary()


def test_fit_needs_a_panel_index(grunfeld):
    with pytest.raises(GovstatsError, match="2-level MultiIndex"):
        fit(GFE, grunfeld.reset_index())
    with pytest.raises(GovstatsError, match="could not evaluate formula"):
        fit("invest ~ nosuchvar | firm", grunfeld)


# --------------------------------------------------------------------------- tests


def test_classic_hausman_refuses_robust_covariance(grunfeld):
    with pytest.raises(ValueError, match="method='aux'"):
        hausman_test(GFE, grunfeld, vcov={"CRV1": "firm"})


def test_aux_hausman_sss_is_the_hc0_statistic_divided_by_the_factor(grunfeld):
    hc0 = hausman_test(GFE, grunfeld, method="aux", vcov={"CRV1": "firm"}, ssc="none")
    sss = hausman_test(GFE, grunfeld, method="aux", vcov={"CRV1": "firm"})
    G, N, K = 10, 200, 5  # aux regression: intercept, 2 quasi-demeaned, 2 within-demeaned
    assert sss.statistic == pytest.approx(hc0.statistic / (G / (G - 1) * (N - 1) / (N - K)), rel=1e-10)


def test_specification_tests_default_to_unit_effects(grunfeld):
    assert effects_f_test(GF, grunfeld).statistic == effects_f_test(GFE, grunfeld).statistic
    assert hausman_test(GF, grunfeld).statistic == hausman_test(GFE, grunfeld).statistic


# --------------------------------------------------------------------------- few clusters


def test_few_clusters_warn_and_show_the_bootstrap_beside_the_clustered_p(grunfeld):
    pytest.importorskip("govstats.inference")
    with pytest.warns(FewClustersWarning, match="only 10 clusters"):
        r = fit(GFE, grunfeld, reps=999)
    assert r.bootstrap is not None and len(r.bootstrap) == 2
    table = r.tidy()
    assert {"boot p", "boot ci lower", "boot ci upper"} <= set(table.columns)
    for b, t in zip(r.bootstrap, r.tstat(), strict=True):
        assert b.t_stat == pytest.approx(t, rel=1e-8)  # same CR1 convention on both sides
        assert b.n_clusters == 10
    assert "WARNING: only 10 clusters" in r.summary()
    assert "WARNING" in r._repr_html_()


def test_many_clusters_do_not_trigger_the_bootstrap(crime):
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewClustersWarning)
        r = fit(NCFE2, crime)
    assert r.bootstrap is None and r.n_clusters == 90 and not r.warnings


def test_bootstrap_never_still_warns(grunfeld):
    with pytest.warns(FewClustersWarning, match="switched off"):
        r = fit(GFE, grunfeld, bootstrap="never")
    assert r.bootstrap is None
    assert any("do not trust" in w for w in r.warnings)


def test_simulated_data_are_labelled(grunfeld):
    data = grunfeld.copy()
    data.attrs["simulated"] = True
    r = fit(GFE, data, vcov="iid")
    assert r.simulated
    assert r.summary().startswith("SIMULATED")


def test_regression_hausman_accepts_a_cluster_column():
    """Clustering on a column that copies the unit id gives the same statistic as 'unit'
    (regression test: the auxiliary design used to drop non-index cluster columns)."""
    from govstats.datasets import load_grunfeld
    from govstats.models import hausman_test

    g = load_grunfeld()
    g = g.assign(firm_copy=g.index.get_level_values(0).astype(str))
    by_unit = hausman_test(GFE, g, method="aux", vcov={"CRV1": "firm"})
    by_column = hausman_test(GFE, g, method="aux", vcov={"CRV1": "firm_copy"})
    assert by_column.statistic == pytest.approx(by_unit.statistic, rel=1e-12)


# --------------------------------------------------------------------------- small-sample rules and CRV3


@pytest.mark.parametrize(
    ("vcov", "lm_kw"),
    [
        ("iid", {"cov_type": "unadjusted"}),
        ("hetero", {"cov_type": "robust"}),
        ({"CRV1": "county"}, {"cov_type": "clustered", "cluster_entity": True}),
        ({"CRV1": "year"}, {"cov_type": "clustered", "cluster_time": True}),
    ],
)
@pytest.mark.parametrize("fe", ["county", "county + year"])
def test_ssc_linearmodels_equals_linearmodels_panelols_defaults(crime, vcov, lm_kw, fe):
    """ssc='linearmodels' is linearmodels' PanelOLS.fit() default (debiased=True, auto_df)."""
    from linearmodels import PanelOLS

    effects = " + EntityEffects" + (" + TimeEffects" if "year" in fe else "")
    lm = PanelOLS.from_formula("lcrmrte ~ " + " + ".join(NC_X) + effects, crime).fit(**lm_kw)
    r = quiet_fit(f"{NCF} | {fe}", crime, vcov=vcov, ssc="linearmodels", bootstrap="never")
    np.testing.assert_allclose(r.coef().to_numpy(), lm.params.to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(r.se().to_numpy(), lm.std_errors.to_numpy(), rtol=1e-8)
    assert "linearmodels" in r.cov_label


def test_crv3_matches_pyfixest(crime):
    pf = pytest.importorskip("pyfixest")
    for fe in ("county", "county + year"):
        ref = pf.feols(f"{NCF} | {fe}", crime.reset_index(), vcov={"CRV3": "county"})
        r = fit(f"{NCF} | {fe}", crime, vcov={"CRV3": "county"})
        np.testing.assert_allclose(r.se().to_numpy(), ref.se().to_numpy(), rtol=1e-6)
        assert "CRV3" in r.cov_label


def test_ssc_plm_is_offered_only_where_it_is_defined(crime):
    with pytest.raises(GovstatsError, match="offered with ssc="):
        fit(NCFE, crime, vcov="DK", ssc="plm")
    with pytest.raises(GovstatsError, match="one-way clustering only"):
        fit(NCFE2, crime, vcov={"CRV1": "county+year"}, ssc="plm", bootstrap="never")


def test_labels_name_the_convention_used(grunfeld):
    fixest = quiet_fit(GFE, grunfeld, bootstrap="never")
    plm = quiet_fit(GFE, grunfeld, bootstrap="never", ssc="plm")
    assert "R plm" not in fixest.cov_label and "fixest" in fixest.cov_label
    assert "R plm vcovHC type='sss'" in plm.cov_label and "fixest" not in plm.cov_label
    # plm counts only the 2 slopes, Stata/fixest 2 slopes + 1 (nested unit effects): ratio sqrt((N-3)/(N-2))
    np.testing.assert_allclose(plm.se() / fixest.se(), np.sqrt(197 / 198), rtol=1e-12)


def test_classic_hausman_reports_plm_absolute_value_and_says_when_not_positive_definite(crime):
    h = hausman_test(NCFE, crime)
    assert h.statistic > 0 and h.positive_definite is False
    assert "NOT positive definite" in h.note
    g = hausman_test(GFE, datasets.load_grunfeld())
    assert g.positive_definite is True and "NOT" not in g.note


def test_sigmamore_rescales_the_within_covariance(crime):
    s = hausman_test(NCFE, crime, method="sigmamore")
    assert s.statistic > 0 and np.isfinite(s.pvalue)
    assert s.name == "Hausman test (sigmamore)"


# --------------------------------------------------------------------------- regression weights


@pytest.fixture(scope="module")
def weighted_crime(crime):
    data = crime.copy()
    data["pop"] = np.exp(data["ldensity"]) * 1000.0  # a positive weight that varies by county and year
    return data


@pytest.mark.parametrize("vcov", ["iid", "hetero", {"CRV1": "county"}])
@pytest.mark.parametrize("fe", ["county", "county + year"])
def test_weighted_within_matches_pyfixest(weighted_crime, vcov, fe):
    pf = pytest.importorskip("pyfixest")
    kw = {"ssc": pf.ssc(k_fixef="none")} if isinstance(vcov, dict) else {}
    ref = pf.feols(f"{NCF} | {fe}", weighted_crime.reset_index(), vcov=vcov, weights="pop", **kw)
    r = fit(f"{NCF} | {fe}", weighted_crime, vcov=vcov, weights="pop")
    np.testing.assert_allclose(r.coef().to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    ref_se = ref.se().to_numpy()
    if isinstance(vcov, dict):  # pyfixest asked for K = k; govstats uses fixest's nested K
        K = r.small_sample["K"]
        ref_se = ref_se * np.sqrt((630 - 5) / (630 - K))
    np.testing.assert_allclose(r.se().to_numpy(), ref_se, rtol=1e-7)


def test_weighted_pooled_matches_statsmodels_wls(weighted_crime):
    import statsmodels.api as sm

    flat = weighted_crime.reset_index()
    X = sm.add_constant(flat[NC_X])
    ref = sm.WLS(flat["lcrmrte"], X, weights=flat["pop"]).fit()
    r = fit(NCF, weighted_crime, vcov="iid", weights="pop")
    np.testing.assert_allclose(r.coef().to_numpy(), ref.params.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r.se().to_numpy(), ref.bse.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(r.rsquared, ref.rsquared, rtol=1e-9)
    hc1 = sm.WLS(flat["lcrmrte"], X, weights=flat["pop"]).fit(cov_type="HC1")
    rh = fit(NCF, weighted_crime, vcov="hetero", weights="pop")
    np.testing.assert_allclose(rh.se().to_numpy(), hc1.bse.to_numpy(), rtol=1e-9)


def test_bad_weights_are_all_listed(weighted_crime):
    data = weighted_crime.copy()
    data.iloc[[3, 10], data.columns.get_loc("pop")] = [-5.0, np.nan]
    with pytest.raises(DataValidationError) as err:
        fit(NCFE, data, weights="pop")
    assert len(err.value.problems) == 2
    assert "not positive" in str(err.value) and "-5" in str(err.value)
    with pytest.raises(GovstatsError, match="weights column 'nope'"):
        fit(NCFE, data, weights="nope")
    with pytest.raises(ValueError, match="weights are supported with"):
        fit(NCFE, weighted_crime, estimator="random", weights="pop")
