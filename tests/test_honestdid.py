"""HonestDiD smoothness FLCIs (govstats.honestdid) pinned to the R package's README.

Source: asheshrambachan/HonestDiD README.md (version 0.2.8, commit 6813f02), "Example
usage - Medicaid expansions": a TWFE event study of ``dins`` on ``i(year, D, ref = 2013)``
with state and year effects, clustered by state, on the 2014 expansion states and the
never-expanders, years before 2016 (fixest::feols; here pyfixest.feols, the same
estimator and CRV1 small-sample rule), then ``createSensitivityResults(numPrePeriods = 5,
numPostPeriods = 2, Mvec = seq(0, 0.05, by = 0.01))``, printed as a tibble to 3
significant digits, and "the breakdown value for a significant effect is M ~ 0.03".

Tolerance: half a printed unit, plus R's own Monte Carlo error: R computes the
folded-normal critical value from 10^6 simulated draws (``.qfoldednormal``, seed 0), whose
0.95 quantile has standard error sqrt(0.05 * 0.95 / 10^6) / f(q) (f the folded density at
q); times the estimator's sd this moves both ends of the interval by about 2e-5. We
allow 3 such standard errors (our critical value is exact).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from govstats.honestdid import (
    breakdown_sd,
    cv_folded_normal,
    flci_sd,
    flci_sd_details,
    original_ci,
    sensitivity_sd,
)

DATA = Path(__file__).parent / "data" / "did"

README_SD = [  # M, lb, ub as printed
    (0.00, 0.0259, 0.0607),
    (0.01, 0.0132, 0.0787),
    (0.02, 0.00286, 0.0907),
    (0.03, -0.00714, 0.101),
    (0.04, -0.0171, 0.111),
    (0.05, -0.0271, 0.121),
]


def _half_unit(x: float) -> float:
    """Half a unit in the last of 3 significant digits, as a tibble prints."""
    return 0.5 * 10 ** (math.floor(math.log10(abs(x))) - 2)


@pytest.fixture(scope="module")
def medicaid():
    import pyfixest as pf

    e = pd.read_csv(DATA / "ehec.csv")
    d = e[(e["year"] < 2016) & (e["yexp2"].isna() | (e["yexp2"] != 2015))].copy()
    d["D"] = (d["yexp2"] == 2014).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols("dins ~ i(year, D, ref=2013) | stfips + year", d, vcov={"CRV1": "stfips"})
    return fit.coef().to_numpy(), np.asarray(fit._vcov)


def test_cv_folded_normal_is_the_quantile():
    assert cv_folded_normal(0.0) == pytest.approx(stats.norm.ppf(0.975), abs=1e-12)
    b, c = 1.3, cv_folded_normal(1.3, 0.1)
    assert stats.norm.cdf(c - b) - stats.norm.cdf(-c - b) == pytest.approx(0.9, abs=1e-12)


@pytest.mark.parametrize(("M", "lb", "ub"), README_SD)
def test_flci_matches_honestdid_readme(medicaid, M, lb, ub):
    b, V = medicaid
    d = flci_sd_details(b, V, num_pre=5, num_post=2, M=M)
    cv = d["half_length"] / d["sd"]
    bb = d["max_bias"] / d["sd"]
    dens = stats.norm.pdf(cv - bb) + stats.norm.pdf(cv + bb)
    mc = d["sd"] * math.sqrt(0.05 * 0.95 / 1e6) / dens
    assert d["lower"] == pytest.approx(lb, abs=_half_unit(lb) + 3 * mc)
    assert d["upper"] == pytest.approx(ub, abs=_half_unit(ub) + 3 * mc)


def test_sensitivity_table_and_breakdown(medicaid):
    b, V = medicaid
    tab = sensitivity_sd(b, V, num_pre=5, num_post=2, Mvec=[0.0, 0.03])
    assert list(tab.columns) == ["lb", "ub", "method", "Delta", "M"]
    assert tab["lb"].iloc[0] > 0 > tab["lb"].iloc[1]
    # README: the grid's first M whose interval covers 0 is 0.03 ("M ~ 0.03")
    bd = breakdown_sd(b, V, num_pre=5, num_post=2)
    assert 0.02 < bd <= 0.03
    lo, hi = flci_sd(b, V, num_pre=5, num_post=2, M=bd * 1.001)
    assert lo <= 0 <= hi


def test_original_ci_is_the_usual_interval(medicaid):
    b, V = medicaid
    lo, hi = original_ci(b, V, num_pre=5, num_post=2)
    z = stats.norm.ppf(0.975)
    assert (lo + hi) / 2 == pytest.approx(b[5], abs=1e-12)
    assert (hi - lo) / 2 == pytest.approx(z * math.sqrt(V[5, 5]), rel=1e-12)


def test_intervals_widen_with_M_and_nest_the_identified_set():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(6, 6))
    V = A @ A.T * 1e-3 + np.eye(6) * 1e-3
    b = np.r_[0.0, 0.01, -0.01, 0.0, 0.2, 0.3]
    widths = [np.diff(flci_sd(b, V, num_pre=4, num_post=2, M=M, l_vec=[0.5, 0.5]))[0] for M in (0, 0.01, 0.05)]
    assert widths[0] < widths[1] < widths[2]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="num_pre \\+ num_post"):
        flci_sd(np.zeros(3), np.eye(3), num_pre=2, num_post=2, M=0)
    with pytest.raises(ValueError, match="M=-1"):
        flci_sd(np.zeros(4), np.eye(4), num_pre=2, num_post=2, M=-1)


def test_sensitivity_plot_says_simulated(medicaid):
    import matplotlib

    matplotlib.use("Agg")
    from govstats.did_plots import plot_sensitivity

    b, V = medicaid
    tab = sensitivity_sd(b, V, num_pre=5, num_post=2, Mvec=[0.0, 0.02])
    fig = plot_sensitivity(tab, original_ci(b, V, num_pre=5, num_post=2), simulated=True)
    assert fig.axes[0].get_title().startswith("SIMULATED")
