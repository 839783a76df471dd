"""The R plm reference numbers (govstats/data/reference/plm_reference.csv) and the four issue-9
defects pinned to them.

* The committed CSV is what the committed script plm_reference.R prints (rerun here when
  Rscript and plm are installed; skipped otherwise), on the committed inputs, which are
  govstats' own data.
* The CSV agrees with plm's own saved test output (tests/reference/plm_saved_output.csv) and
  the 3-decimal NC crime rows are that output rounded.
* Classic Hausman, plm's clustered "sss" rule and unbalanced Swamy-Arora random effects:
  the calls the lead makes pass (expected failures until then, issue 9).
"""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govstats import datasets
from govstats.reproduction import (
    GRUNFELD_UNBALANCED_DROP,
    NC_FORMULA,
    NC_HAUSMAN_FORMULA,
    PLM_FILE,
    PLM_REL_TOL,
    PLM_SCRIPT,
    export_plm_inputs,
    reference_path,
)

SAVED = Path(__file__).parent / "reference" / "plm_saved_output.csv"
KEY = ["dataset", "data", "model", "statistic", "term"]


def _plm_csv(path=None) -> pd.DataFrame:
    df = pd.read_csv(path or reference_path(PLM_FILE), dtype=str, keep_default_na=False)
    df["value"] = df["value"].astype(float)
    return df


PLM = _plm_csv()


def plm_value(model: str, statistic: str, term: str = "", *, data: str = "govstats") -> float:
    hit = PLM[(PLM["model"] == model) & (PLM["statistic"] == statistic) & (PLM["term"] == term)
              & (PLM["data"] == data)]
    assert len(hit) == 1, (model, statistic, term, data)
    return float(hit["value"].iloc[0])


def plm_series(model: str, statistic: str, *, data: str = "govstats") -> pd.Series:
    hit = PLM[(PLM["model"] == model) & (PLM["statistic"] == statistic) & (PLM["data"] == data)]
    assert len(hit) > 0, (model, statistic)
    return pd.Series(hit["value"].to_numpy(), index=hit["term"].to_numpy())


def _have_r_plm() -> bool:
    if shutil.which("Rscript") is None:
        return False
    r = subprocess.run(["Rscript", "-e", "quit(status = !requireNamespace('plm', quietly = TRUE))"],
                       capture_output=True, timeout=120)
    return r.returncode == 0


# --------------------------------------------------------------------------- the script


def test_committed_inputs_are_govstats_data(tmp_path):
    """The script's committed inputs are byte-for-byte what govstats loads today."""
    fresh = export_plm_inputs(tmp_path)
    for path in fresh.values():
        committed = reference_path(f"inputs/{path.name}")
        assert committed.read_bytes() == path.read_bytes(), f"{committed} is stale: rerun export_plm_inputs"


@pytest.mark.skipif(not _have_r_plm(), reason="needs Rscript with the plm package (apt-get install r-cran-plm)")
def test_plm_script_reproduces_the_committed_csv(tmp_path):
    """Rerun plm_reference.R on freshly exported govstats data: same rows, same numbers."""
    export_plm_inputs(tmp_path / "inputs")
    out = tmp_path / "plm_reference.csv"
    r = subprocess.run(["Rscript", str(reference_path(PLM_SCRIPT)), str(tmp_path / "inputs"), str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    new = _plm_csv(out)
    assert new[KEY + ["call"]].equals(PLM[KEY + ["call"]])
    # 10 significant digits printed: equal up to the last printed digit
    np.testing.assert_allclose(new["value"], PLM["value"], rtol=1e-9, atol=0)
    assert new["source"].str.startswith("R plm 2.6.2").all(), "the committed CSV was made with plm 2.6-2"


def test_govstats_grunfeld_is_plms_grunfeld():
    assert plm_value("data_check", "max_abs_diff_vs_plm_Grunfeld") == 0


def test_plm_reference_agrees_with_plms_own_saved_output():
    """Transcriptions of plm's .Rout.save files, to their printed digits (Grunfeld: govstats'
    copy = plm's; NC crime: plm's Crime)."""
    saved = pd.read_csv(SAVED, dtype=str, keep_default_na=False)
    assert len(saved) == 85
    for r in saved.itertuples():
        data = "govstats" if r.dataset == "grunfeld" else "plm"
        got = plm_value(r.model, r.statistic, r.term, data=data)
        tol = 0.5 * 10.0 ** -int(r.decimals)
        assert abs(got - float(r.value)) <= tol * (1 + 1e-9), (r.model, r.statistic, r.term, got, r.value)


def test_rounded_nc_crime_rows_are_plm_output_rounded():
    rounded = pd.read_csv(reference_path("nc_crime_within_plm_rounded.csv"), dtype=str, keep_default_na=False)
    assert len(rounded) == 32
    for r in rounded.itertuples():
        full = plm_value("nc_crime_within_twoway", r.statistic, r.term, data="plm")
        assert f"{round(full, 3):.3f}" == f"{float(r.value):.3f}", (r.statistic, r.term, full, r.value)


def test_plm_sss_is_hc0_times_the_factor_with_k_slopes_only():
    """plm's sss: HC0 x G/(G-1) (N-1)/(N-K) with K = estimated slopes (no constant, no effects).
    This is the whole difference from Stata/Gretl (K + 1): Gretl's capital 0.0527518."""
    for model, G, N, K in [("grunfeld_within_vcovhc", 10, 200, 2), ("nc_crime_within_twoway_vcovhc", 90, 630, 16),
                           ("nc_crime5_within_twoway_vcovhc", 90, 630, 5)]:
        hc0, sss = plm_series(model + "_hc0", "se"), plm_series(model + "_sss", "se")
        factor = G / (G - 1) * (N - 1) / (N - K)
        np.testing.assert_allclose(sss, hc0 * np.sqrt(factor), rtol=1e-8)
    stata = plm_series("grunfeld_within_vcovhc_hc0", "se") * np.sqrt(10 / 9 * 199 / (200 - 3))
    np.testing.assert_allclose(stata[["value", "capital"]], [0.0151945, 0.0527518], atol=5e-8)


def test_plm_hausman_prints_the_absolute_value_of_an_indefinite_form():
    q = plm_value("nc_crime_hausman_classic", "quadratic_form")
    assert q < 0 and plm_value("nc_crime_hausman_classic", "stat") == pytest.approx(-q, rel=1e-12)
    assert (plm_series("nc_crime_hausman_classic", "eigenvalue") < 0).sum() == 4
    for variant in ("sigmamore", "sigma2_e"):
        assert (plm_series(f"nc_crime_hausman_{variant}", "eigenvalue") > 0).all()


# --------------------------------------------------------------------------- the four defects of issue 9, fixed



@pytest.fixture(scope="module")
def crime():
    return datasets.load_nc_crime()


@pytest.fixture(scope="module")
def grunfeld():
    return datasets.load_grunfeld()


def test_classic_hausman_reports_plms_statistic_and_says_the_difference_is_indefinite(crime):
    from govstats.models import hausman_test

    h = hausman_test(NC_HAUSMAN_FORMULA, crime)
    assert h.statistic == pytest.approx(plm_value("nc_crime_hausman_classic", "stat"), rel=PLM_REL_TOL)
    assert h.pvalue == pytest.approx(plm_value("nc_crime_hausman_classic", "p"), rel=1e-4)
    assert h.df == (5,)
    assert "not positive definite" in h.note.lower() and h.positive_definite is False


def test_classic_hausman_sigmamore_variant(crime):
    """Both covariances on the RE model's disturbance variance (Stata's sigmamore): positive
    definite here, chi2(5) = 74.31."""
    from govstats.models import hausman_test

    h = hausman_test(NC_HAUSMAN_FORMULA, crime, method="sigmamore")
    assert h.statistic == pytest.approx(plm_value("nc_crime_hausman_sigmamore", "stat"), rel=PLM_REL_TOL)
    assert h.pvalue == pytest.approx(plm_value("nc_crime_hausman_sigmamore", "p"), rel=1e-4)
    assert "not positive definite" not in h.note


def test_clustered_se_with_plms_sss_rule_grunfeld(grunfeld):
    import govstats as gs

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # 10 clusters
        r = gs.fit("invest ~ value + capital | firm", grunfeld, vcov={"CRV1": "firm"}, ssc="plm",
                   bootstrap="never")
    want = plm_series("grunfeld_within_vcovhc_sss", "se")
    np.testing.assert_allclose(r.se()[want.index], want, rtol=PLM_REL_TOL)


def test_clustered_se_with_plms_sss_rule_nc_crime_twoway(crime):
    import govstats as gs

    for formula, model in [(NC_FORMULA, "nc_crime_within_twoway"), (NC_HAUSMAN_FORMULA, "nc_crime5_within_twoway")]:
        r = gs.fit(formula + " | county + year", crime, vcov={"CRV1": "county"}, ssc="plm")
        want = plm_series(model + "_vcovhc_sss", "se")
        np.testing.assert_allclose(r.se()[want.index], want, rtol=PLM_REL_TOL)


def test_random_effects_on_an_unbalanced_panel_follow_plms_swamy_arora(grunfeld):
    import govstats as gs

    r = gs.fit("invest ~ value + capital | firm", grunfeld.drop(GRUNFELD_UNBALANCED_DROP),
               estimator="random", vcov="iid")
    m = "grunfeld_unbal_random_swar"
    np.testing.assert_allclose(r.coef()[["Intercept", "value", "capital"]], plm_series(m, "coef"), rtol=PLM_REL_TOL)
    np.testing.assert_allclose(r.se()[["Intercept", "value", "capital"]], plm_series(m, "se"), rtol=PLM_REL_TOL)
    vc = r.variance_components
    assert vc["sigma2_u"] == pytest.approx(plm_value(m, "sigma2_u"), rel=PLM_REL_TOL)
    assert vc["sigma2_e"] == pytest.approx(plm_value(m, "sigma2_e"), rel=PLM_REL_TOL)
    theta = plm_series(m, "theta")  # one per firm; Diamond Match has 19 years
    np.testing.assert_allclose(pd.Series(vc["theta"])[theta.index], theta, rtol=PLM_REL_TOL)
