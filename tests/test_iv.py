"""Panel instrumental variables (FE2SLS, B2SLS, G2SLS, EC2SLS) against R plm, pyfixest and statsmodels.

R plm's numbers come from the committed script govstats/data/reference/plm_iv_reference.R run
on govstats' own copy of the data (inputs/nc_crime_iv.csv); its output is committed beside it.
"""

from __future__ import annotations

import shutil
import subprocess
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import govstats as gs
from govstats.errors import GovstatsError
from govstats.reproduction import NC_IV_EXOG as EXOG
from govstats.reproduction import NC_IV_MODELS as MODELS
from govstats.reproduction import fit_nc_iv

IV = "lprbarr + lpolpc ~ ltaxpc + lmix"


def _reference_dir():
    return resources.files("govstats") / "data" / "reference"


@pytest.fixture(scope="module")
def plm_iv() -> pd.DataFrame:
    return pd.read_csv(_reference_dir() / "plm_iv_reference.csv")


@pytest.fixture(scope="module")
def crime() -> pd.DataFrame:
    return gs.datasets.load_nc_crime()


@pytest.mark.parametrize("model", list(MODELS))
def test_panel_iv_equals_r_plm(crime, plm_iv, model):
    ref = plm_iv[plm_iv["model"] == model]
    r = fit_nc_iv(model)
    for stat, got in (("coef", r.coef()), ("se", r.se())):
        want = ref[ref["statistic"] == stat].set_index("term")["value"]
        assert set(want.index) == set(got.index), (model, stat)
        np.testing.assert_allclose(got[want.index].to_numpy(), want.to_numpy(), rtol=1e-6, atol=1e-9)
    if model in ("g2sls", "ec2sls"):
        for comp in ("sigma2_e", "sigma2_u"):
            want = float(ref.loc[ref["statistic"] == comp, "value"].iloc[0])
            assert r.variance_components[comp] == pytest.approx(want, rel=1e-6)


def test_reproduction_table_has_every_iv_number():
    t = gs.reproduction.reproduce_plm_iv()
    assert len(t) == 198 and t["ok"].all()


def test_fe2sls_equals_pyfixest_with_clustered_errors(crime):
    pf = pytest.importorskip("pyfixest")
    exog_tv = "lprbarr + " + EXOG.replace("west + central + urban + ", "")
    iv = "lpolpc ~ ltaxpc + lmix"  # pyfixest takes one endogenous regressor
    ref = pf.feols(f"lcrmrte ~ {exog_tv} | county | {iv}", crime.reset_index(), vcov={"CRV1": "county"})
    r = gs.fit(f"lcrmrte ~ {exog_tv} | county | {iv}", crime, vcov={"CRV1": "county"})
    names = list(ref.coef().index)
    np.testing.assert_allclose(r.coef()[names].to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(r.se()[names].to_numpy(), ref.se().to_numpy(), rtol=1e-6)


def test_iv_bad_input_says_what_to_do(crime):
    with pytest.raises(ValueError, match="need at least as many instruments"):
        gs.fit("lcrmrte ~ lprbconv | county | lprbarr + lpolpc ~ ltaxpc", crime)
    data = crime.assign(region_code=crime["west"] * 2 + crime["central"])
    with pytest.raises(GovstatsError, match="do not identify the model"):
        gs.fit("lcrmrte ~ lprbconv | county | lpolpc ~ region_code", data)
    with pytest.raises(GovstatsError, match="not columns of the data"):
        gs.fit("lcrmrte ~ lprbconv | county | lpolpc ~ nosuch", crime)


@pytest.mark.skipif(shutil.which("Rscript") is None, reason="Rscript (r-cran-plm) not installed")
def test_committed_plm_iv_output_is_what_the_script_prints(tmp_path, plm_iv):
    ok = subprocess.run(["Rscript", "-e", "library(plm)"], capture_output=True)
    if ok.returncode != 0:
        pytest.skip("R package plm not installed")
    out = tmp_path / "plm_iv.csv"
    script = _reference_dir() / "plm_iv_reference.R"
    subprocess.run(["Rscript", str(script), str(_reference_dir() / "inputs" / "nc_crime_iv.csv"), str(out)],
                   check=True, capture_output=True)
    fresh = pd.read_csv(out)
    pd.testing.assert_frame_equal(fresh[["model", "statistic", "term", "value"]],
                                  plm_iv[["model", "statistic", "term", "value"]])


@pytest.mark.parametrize("vcov", ["iid", "hetero", {"CRV1": "county"}])
def test_first_stage_f_equals_pyfixest(crime, vcov):
    pf = pytest.importorskip("pyfixest")
    fml = "lcrmrte ~ lprbarr + lprbconv | county | lpolpc ~ ltaxpc + lmix"
    m = pf.feols(fml, crime.reset_index(), vcov=vcov)
    m.IV_Diag()
    got = gs.models.first_stage(fml, crime, vcov=vcov)
    assert got.loc["lpolpc", "F"] == pytest.approx(m._f_stat_1st_stage, rel=1e-8)


def test_anderson_rubin_is_the_reduced_form_f_test_of_statsmodels(crime):
    """AR(beta0) = F test that the instruments are irrelevant for y - beta0 * endog (OLS, iid)."""
    import statsmodels.formula.api as smf

    fml = "lcrmrte ~ lprbconv + lprbpris | lpolpc ~ ltaxpc + lmix"
    for b0 in (0.0, 0.5):
        flat = crime.reset_index().assign(ytil=lambda d, b=b0: d["lcrmrte"] - b * d["lpolpc"])
        ols = smf.ols("ytil ~ lprbconv + lprbpris + ltaxpc + lmix", flat).fit()
        ref = ols.f_test("ltaxpc = 0, lmix = 0")
        got = gs.models.anderson_rubin(fml, crime, b0, vcov="iid")
        assert got.statistic == pytest.approx(float(np.squeeze(ref.fvalue)), rel=1e-10)
        assert got.pvalue == pytest.approx(float(ref.pvalue), rel=1e-8)


def test_anderson_rubin_set_contains_the_just_identified_estimate(crime):
    """Just identified, AR(b_2SLS) = 0, so the set always contains the 2SLS estimate."""
    fml = "lcrmrte ~ lprbconv + lprbpris | lpolpc ~ ltaxpc"
    b = float(gs.fit(fml, crime, vcov="iid").coef()["lpolpc"])
    assert gs.models.anderson_rubin(fml, crime, b, vcov="iid").statistic == pytest.approx(0.0, abs=1e-10)
    ci = gs.models.anderson_rubin_confint(fml, crime, vcov="iid", grid=np.linspace(b - 2.0, b + 2.0, 41))
    assert ((ci["lower"] <= b) & (b <= ci["upper"])).any()


@pytest.fixture(scope="module")
def weighted_crime(crime) -> pd.DataFrame:
    """NC crime with a population-like weight (density times a constant; any positive column does)."""
    return crime.assign(pop=np.exp(crime["ldensity"]) * 1000.0)


@pytest.mark.parametrize("vcov", ["hetero", {"CRV1": "county"}])
def test_weighted_fe2sls_equals_pyfixest(weighted_crime, vcov):
    pf = pytest.importorskip("pyfixest")
    fml = "lcrmrte ~ lprbconv + lprbpris | county + year | lpolpc ~ ltaxpc + lmix"
    ref = pf.feols(fml, weighted_crime.reset_index(), vcov=vcov, weights="pop")
    r = gs.fit(fml, weighted_crime, vcov=vcov, weights="pop", bootstrap="never")
    names = list(ref.coef().index)
    np.testing.assert_allclose(r.coef()[names].to_numpy(), ref.coef().to_numpy(), rtol=1e-8)
    np.testing.assert_allclose(r.se()[names].to_numpy(), ref.se().to_numpy(), rtol=1e-6)


def test_weighted_pooled_2sls_two_endogenous_equals_linearmodels(weighted_crime):
    from linearmodels.iv import IV2SLS

    flat = weighted_crime.reset_index()
    flat["const"] = 1.0
    exog = ["const", "lprbconv", "lprbpris"]
    ref = IV2SLS(flat["lcrmrte"], flat[exog], flat[["lprbarr", "lpolpc"]], flat[["ltaxpc", "lmix"]],
                 weights=flat["pop"]).fit(cov_type="robust", debiased=True)
    r = gs.fit("lcrmrte ~ lprbconv + lprbpris | lprbarr + lpolpc ~ ltaxpc + lmix", weighted_crime,
               vcov="hetero", weights="pop")
    got = r.coef().rename({"Intercept": "const"})
    np.testing.assert_allclose(got[ref.params.index].to_numpy(), ref.params.to_numpy(), rtol=1e-8)
    # linearmodels' robust 'debiased' factor is N/(N-K), the HC1 factor of ssc='fixest'
    se = r.se().rename({"Intercept": "const"})
    np.testing.assert_allclose(se[ref.std_errors.index].to_numpy(), ref.std_errors.to_numpy(), rtol=1e-8)


def test_iv_bad_weights_are_listed_with_row_column_and_value(weighted_crime):
    from govstats.errors import DataValidationError

    fml = "lcrmrte ~ lprbconv | county | lpolpc ~ ltaxpc + lmix"
    data = weighted_crime.copy()
    data.iloc[3, data.columns.get_loc("pop")] = -5.0
    data.iloc[10, data.columns.get_loc("pop")] = np.nan
    with pytest.raises(DataValidationError) as err:
        gs.fit(fml, data, weights="pop")
    msg = str(err.value)
    # both problems at once, each with its row, column and raw value, and what to do
    assert "-5" in msg and "not positive" in msg and "missing" in msg
    assert "'pop'" in msg or "pop" in msg
    assert "weights must be positive numbers" in msg
    assert len(err.value.problems) == 2
    with pytest.raises(ValueError, match="weights are supported with estimator='pooled' or 'within'"):
        gs.fit("lcrmrte ~ lprbconv | county | lpolpc ~ ltaxpc + lmix", weighted_crime, estimator="random",
               weights="pop")


def test_iv_instruments_absorbed_by_time_effects_say_what_to_do(crime):
    """An instrument that only varies over time is absorbed by year effects."""
    data = crime.assign(trend=crime.index.get_level_values("year").astype(float) ** 2)
    with pytest.raises(GovstatsError, match="do not identify the model") as err:
        gs.fit("lcrmrte ~ lprbconv | county + year | lpolpc ~ trend", data)
    assert "absorbed by (collinear with) the fixed effects" in str(err.value)
    assert "add instruments" in str(err.value)
