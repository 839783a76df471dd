"""Kleibergen-Paap rk statistics (govstats.models.kleibergen_paap) against outside references.

1. ``ivreg2r`` 0.1.0 (an R port of Stata's ivreg2/ranktest) on linearmodels' simulated data
   file ``tests/iv/results/simulated-data.dta`` (shipped in the linearmodels 7.1 wheel): the
   numbers are in ``govstats/data/reference/kp_ivreg2r_reference.csv`` with their provenance.
2. linearmodels 7.1 ``linearmodels.iv.common.kleibergen_paap`` / ``kleibergen_paap_f`` /
   ``cragg_donald_f`` run in the test on the NC crime panel (two endogenous regressors),
   with the fixed effects as explicit dummies (the textbook LSDV form of what govstats
   partials out by demeaning).
3. With one endogenous regressor the rk Wald F is the first-stage F (pinned to pyfixest in
   tests/test_iv.py).
"""

from __future__ import annotations

import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import govstats as gs

lm_common = pytest.importorskip("linearmodels.iv.common")
if not hasattr(lm_common, "kleibergen_paap_f"):  # pragma: no cover - linearmodels < 7.1
    pytest.skip("linearmodels >= 7.1 has the Kleibergen-Paap reference functions", allow_module_level=True)

IV2 = "lprbarr + lpolpc ~ ltaxpc + lmix"
EXOG = ["lprbconv", "lprbpris", "lavgsen", "ldensity"]


@pytest.fixture(scope="module")
def crime() -> pd.DataFrame:
    return gs.datasets.load_nc_crime()


def _fit(fml, data, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gs.fit(fml, data, bootstrap="never", **kw)


# --------------------------------------------------------------------------- ivreg2r's numbers


def _simulated_data() -> pd.DataFrame:
    import linearmodels

    path = Path(linearmodels.__file__).parent / "tests" / "iv" / "results" / "simulated-data.dta"
    if not path.exists():  # pragma: no cover - a linearmodels build without its test data
        pytest.skip("linearmodels' simulated-data.dta is not installed")
    d = pd.read_stata(path)
    d.index = pd.MultiIndex.from_arrays([np.arange(len(d)), np.zeros(len(d), dtype=int)], names=["obs", "t"])
    return d


_MODELS = {  # linearmodels' test_rank_tests.simulated_inputs: (endog, controls, excluded instruments)
    "A": ("x1 + x2", "x3 + x4 + x5", "z1 + z2"),
    "B": ("x1", "x3 + x4 + x5", "z1 + z2"),
    "C": ("x1 + x2", "x3 + x4", "z1 + z2 + x5"),
}
_VCOV = {"iid": "iid", "robust": "hetero", "clustered": {"CRV1": "cluster_id"}}


def _ivreg2r_cases():
    ref = pd.read_csv(resources.files("govstats") / "data" / "reference" / "kp_ivreg2r_reference.csv")
    return ref


@pytest.mark.parametrize("case", sorted(set(_ivreg2r_cases()["case"])))
def test_kp_equals_ivreg2r(case):
    ref = _ivreg2r_cases().query("case == @case").set_index("statistic")["value"]
    model, cov = case.split("|")
    weighted = cov.endswith("_w")
    endog, controls, instr = _MODELS[model]
    d = _simulated_data()
    kp = gs.models.kleibergen_paap(f"y_robust ~ {controls} | {endog} ~ {instr}", d,
                                   vcov=_VCOV[cov.removesuffix("_w")],
                                   weights="weights" if weighted else None)
    assert kp.lm == pytest.approx(ref["underid"], rel=1e-7)
    assert kp.lm_df == int(ref["underid_df"])
    assert kp.f == pytest.approx(ref["weak_id_robust"], rel=1e-7)
    if cov.startswith("iid"):
        assert kp.f == pytest.approx(ref["weak_id"], rel=1e-7)  # the Cragg-Donald F


# --------------------------------------------------------------------------- linearmodels, NC crime


def _lm_arrays(crime: pd.DataFrame, fe: str | None, weights: str | None = None):
    flat = crime.reset_index()
    endog = flat[["lprbarr", "lpolpc"]].to_numpy(float)
    instr = flat[["ltaxpc", "lmix"]].to_numpy(float)
    exog = flat[EXOG].to_numpy(float)
    if fe is None:
        exog = np.column_stack([np.ones(len(flat)), exog])
    else:
        exog = np.column_stack([exog, pd.get_dummies(flat[fe], dtype=float).to_numpy()])
    if weights is not None:
        rw = np.sqrt(flat[weights].to_numpy(float))[:, None]
        endog, instr, exog = endog * rw, instr * rw, exog * rw
    return endog, instr, exog, flat


@pytest.mark.parametrize("vcov", ["iid", "hetero", {"CRV1": "county"}])
def test_pooled_two_endogenous_equals_linearmodels(crime, vcov):
    endog, instr, exog, flat = _lm_arrays(crime, None)
    fml = f"lcrmrte ~ {' + '.join(EXOG)} | {IV2}"
    kp = _fit(fml, crime, vcov=vcov).kleibergen_paap
    if vcov == "iid":
        ref_lm = lm_common.kleibergen_paap(endog, instr, exog, "unadjusted")
        ref_f = lm_common.cragg_donald_f(endog, instr, exog)
    else:
        kind, cfg = ("robust", None) if vcov == "hetero" else ("clustered", {"clusters": flat["county"].to_numpy()})
        ref_lm = lm_common.kleibergen_paap(endog, instr, exog, kind, cfg)
        ref_f = lm_common.kleibergen_paap_f(endog, instr, exog, kind, cfg)
    assert kp.n_endog == 2 and kp.n_instruments == 2
    assert kp.lm == pytest.approx(ref_lm.stat, rel=1e-8)
    assert kp.lm_df == ref_lm.df == 1
    assert kp.lm_pvalue == pytest.approx(ref_lm.pval, rel=1e-8)
    assert kp.f == pytest.approx(ref_f, rel=1e-8)


def test_within_hetero_and_iid_equal_linearmodels_with_dummies(crime):
    """County fixed effects partialled out = county dummies among the exogenous regressors."""
    endog, instr, exog, _ = _lm_arrays(crime, "county")
    fml = f"lcrmrte ~ {' + '.join(EXOG)} | county | {IV2}"
    kp = _fit(fml, crime, vcov="hetero").kleibergen_paap
    assert kp.lm == pytest.approx(lm_common.kleibergen_paap(endog, instr, exog, "robust").stat, rel=1e-7)
    assert kp.f == pytest.approx(lm_common.kleibergen_paap_f(endog, instr, exog, "robust"), rel=1e-7)
    kp = _fit(fml, crime, vcov="iid").kleibergen_paap  # Cragg-Donald F (Anderson's LM: pooled test above)
    assert kp.f == pytest.approx(lm_common.cragg_donald_f(endog, instr, exog), rel=1e-7)


def test_within_clustered_by_county_rk_wald_equals_linearmodels(crime):
    """Clustered by county with county effects: the LM statistic and the rk Wald chi2 equal
    linearmodels'. The F differs only by the small-sample factor: govstats (ssc='fixest', Stata
    xtreg/fixest) does not count the 90 county effects nested in the clusters, ivreg2 with dummies
    does: F_lm = W (N-K_all)(G-1) / (G (N-1) L)."""
    endog, instr, exog, flat = _lm_arrays(crime, "county")
    cfg = {"clusters": flat["county"].to_numpy()}
    kp = _fit(f"lcrmrte ~ {' + '.join(EXOG)} | county | {IV2}", crime, vcov={"CRV1": "county"}).kleibergen_paap
    ref_lm = lm_common.kleibergen_paap(endog, instr, exog, "clustered", cfg)
    assert kp.lm == pytest.approx(ref_lm.stat, rel=1e-7) and kp.lm_df == ref_lm.df
    N, G, L = len(flat), 90, 2
    K_all = L + exog.shape[1]
    wald_lm = lm_common.kleibergen_paap_f(endog, instr, exog, "clustered", cfg) * L * G * (N - 1) / ((N - K_all) * (G - 1))
    assert kp.wald == pytest.approx(wald_lm, rel=1e-7)
    K_fixest = len(EXOG) + L + 1  # county effects nested in the clusters count as one parameter
    assert kp.f == pytest.approx(kp.wald / L / (G / (G - 1) * (N - 1) / (N - K_fixest)), rel=1e-12)


def test_weighted_within_equals_linearmodels(crime):
    data = crime.assign(pop=np.exp(crime["ldensity"]) * 1000)
    endog, instr, exog, flat = _lm_arrays(data, "county", weights="pop")
    kp = _fit(f"lcrmrte ~ {' + '.join(EXOG)} | county | {IV2}", data, vcov="hetero", weights="pop").kleibergen_paap
    assert kp.lm == pytest.approx(lm_common.kleibergen_paap(endog, instr, exog, "robust").stat, rel=1e-7)
    assert kp.f == pytest.approx(lm_common.kleibergen_paap_f(endog, instr, exog, "robust"), rel=1e-7)


# --------------------------------------------------------------------------- one endogenous regressor


@pytest.mark.parametrize("vcov", ["iid", "hetero", {"CRV1": "county"}, {"CRV1": "county+year"}, "DK"])
def test_one_endogenous_rk_wald_f_is_the_first_stage_f(crime, vcov):
    fml = "lcrmrte ~ lprbarr + lprbconv | county + year | lpolpc ~ ltaxpc + lmix"
    fs = gs.models.first_stage(fml, crime, vcov=vcov)
    assert fs.loc["lpolpc", "KP rk Wald F"] == pytest.approx(fs.loc["lpolpc", "F"], rel=1e-9)
    assert fs.loc["lpolpc", "KP LM df"] == 2


def test_summary_and_first_stage_table_show_kp(crime):
    fml = f"lcrmrte ~ {' + '.join(EXOG)} | county | {IV2}"
    r = _fit(fml, crime, vcov={"CRV1": "county"})
    assert "Kleibergen-Paap rk LM" in r.summary() and "rk Wald F" in r.summary()
    assert "Kleibergen-Paap" in r._repr_html_()
    fs = gs.models.first_stage(fml, crime, vcov={"CRV1": "county"})
    assert list(fs.index) == ["lprbarr", "lpolpc"]
    assert (fs["KP rk Wald F"] == r.kleibergen_paap.f).all()
    assert "Cragg-Donald" in _fit(fml, crime, vcov="iid").summary()


@pytest.mark.slow
def test_irrelevant_second_instrument_set_is_not_identified():
    """Known truth: y2b depends on no instrument, so rank(Pi) = 1 < 2 and the rk LM test should
    not reject (over 200 simulated samples it rejects at about its 5% level)."""
    rej = 0
    sims = 200
    for s in range(sims):
        rng = np.random.default_rng(s)
        n = 400
        z = rng.normal(size=(n, 3))
        e = rng.normal(size=n)
        y2a = z @ np.array([0.8, 0.5, 0.3]) + rng.normal(size=n) * np.exp(0.4 * z[:, 0])
        y2b = rng.normal(size=n) + 0.5 * e
        d = pd.DataFrame({"y": y2a + y2b + e, "y2a": y2a, "y2b": y2b, "z1": z[:, 0], "z2": z[:, 1], "z3": z[:, 2]})
        d.index = pd.MultiIndex.from_arrays([np.arange(n), np.zeros(n, dtype=int)], names=["i", "t"])
        kp = _fit("y ~ 1 | y2a + y2b ~ z1 + z2 + z3", d, vcov="hetero").kleibergen_paap
        rej += kp.lm_pvalue < 0.05
    assert kp.lm_df == 2
    assert rej / sims < 0.10  # binomial sd at 5% is 1.5 points


def test_one_endogenous_two_way_clustered_rk_wald_f_equals_pyfixest_wald(crime):
    """Two-way clustering (county and year): the rk Wald F is pyfixest's Wald chi2 of the excluded
    instruments in the first-stage regression, divided by their number (same CRV1 covariance)."""
    pf = pytest.importorskip("pyfixest")
    vcov = {"CRV1": "county+year"}
    fs = pf.feols("lpolpc ~ lprbarr + lprbconv + ltaxpc + lmix | county", crime.reset_index(), vcov=vcov)
    R = np.zeros((2, 4))
    R[0, 2] = R[1, 3] = 1.0
    chi2 = float(fs.wald_test(R=R)["statistic"])
    kp = _fit("lcrmrte ~ lprbarr + lprbconv | county | lpolpc ~ ltaxpc + lmix", crime, vcov=vcov).kleibergen_paap
    assert kp.f == pytest.approx(chi2 / 2, rel=1e-8)
