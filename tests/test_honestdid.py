"""HonestDiD smoothness FLCIs and relative-magnitude sets (govstats.honestdid) pinned to the R README.

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

Relative magnitudes: the same README, ``createSensitivityResults_relativeMagnitudes(...,
Mbarvec = seq(0.5, 2, by = 0.5))`` (method C-LF), printed to 3 significant digits. R inverts
the test on a grid of 1000 points over +-20 sd of the first post coefficient (a step of
3.7e-4, coarser than the printing), so an end is a grid point: with the same grid we must
land on the very grid point R printed (half a printed unit). R's least-favourable critical
value is a 0.995 quantile of 1000 draws; ours takes 20,000 (the ends then stop moving with the
seed), and the test checks that too.
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
    breakdown_rm,
    breakdown_sd,
    ci_rm,
    cv_folded_normal,
    flci_sd,
    flci_sd_details,
    original_ci,
    sensitivity_rm,
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


README_RM = [  # Mbar, lb, ub as printed (method C-LF, Delta RM)
    (0.5, 0.0240, 0.0672),
    (1.0, 0.0170, 0.0720),
    (1.5, 0.00824, 0.0797),
    (2.0, -0.000916, 0.0881),
]


def test_relative_magnitudes_match_honestdid_readme(medicaid):
    b, V = medicaid
    tab = sensitivity_rm(b, V, num_pre=5, num_post=2, Mbarvec=[m for m, _, _ in README_RM])
    assert list(tab.columns) == ["lb", "ub", "method", "Delta", "Mbar"]
    for (_, lb, ub), (_, row) in zip(README_RM, tab.iterrows(), strict=True):
        assert row["lb"] == pytest.approx(lb, abs=_half_unit(lb))
        assert row["ub"] == pytest.approx(ub, abs=_half_unit(ub))


def test_relative_magnitudes_do_not_move_with_the_seed(medicaid):
    b, V = medicaid
    ends = {ci_rm(b, V, num_pre=5, num_post=2, Mbar=1.5, seed=s) for s in (1, 2)}
    assert len(ends) == 1


def test_relative_magnitudes_breakdown_and_nesting(medicaid):
    b, V = medicaid
    # README: "the breakdown value for a significant effect is Mbar = 2" (1.5 excludes 0, 2 covers it)
    bd = breakdown_rm(b, V, num_pre=5, num_post=2, tol=0.02)
    assert 1.5 < bd <= 2.0
    # Mbar = 0 is exact parallel trends after the reference period: the set sits inside Mbar = 0.5's
    lo0, hi0 = ci_rm(b, V, num_pre=5, num_post=2, Mbar=0.0)
    assert 0.0240 - 1e-9 <= lo0 < hi0 <= 0.0672 + 5e-4


def test_relative_magnitudes_conditional_method_and_bad_input(medicaid):
    b, V = medicaid
    lo_c, hi_c = ci_rm(b, V, num_pre=5, num_post=2, Mbar=1.0, method="Conditional", grid_points=200)
    assert 0 < lo_c < b[5] < hi_c
    with pytest.raises(ValueError, match="Mbar=-1"):
        ci_rm(b, V, num_pre=5, num_post=2, Mbar=-1)
    with pytest.raises(ValueError, match="method="):
        ci_rm(b, V, num_pre=5, num_post=2, Mbar=1, method="FLCI")


def test_relative_magnitudes_cover_a_simulated_truth():
    # a simulated truth: no pre-trend, no effect, tiny noise; the set at Mbar = 1 contains 0
    rng = np.random.default_rng(3)
    V = np.eye(5) * 1e-4
    b = rng.multivariate_normal(np.zeros(5), V)
    lo, hi = ci_rm(b, V, num_pre=3, num_post=2, Mbar=1.0, l_vec=[0.5, 0.5])
    assert lo <= 0 <= hi


def test_relative_magnitude_plot_labels_mbar(medicaid):
    import matplotlib

    matplotlib.use("Agg")
    from govstats.did_plots import plot_sensitivity

    b, V = medicaid
    tab = sensitivity_rm(b, V, num_pre=5, num_post=2, Mbarvec=[0.5, 1.0], grid_points=200)
    fig = plot_sensitivity(tab, original_ci(b, V, num_pre=5, num_post=2), parameter="Mbar")
    ax = fig.axes[0]
    assert ax.get_xlabel().startswith("Mbar")
    assert "C-LF" in [t.get_text() for t in ax.get_legend().get_texts()][1]
