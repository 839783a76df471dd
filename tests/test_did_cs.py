"""Callaway-Sant'Anna (govstats.did_cs) pinned to R ``did``'s printed output on ``mpdta``.

Sources (bcallaway11/did, version 2.5.1, commit 71ba8a5; the same text is on the
package's pkgdown site):

* README.md, "A short example": ``att_gt(..., xformla = ~1, est_method = "reg")`` and
  ``aggte(out, type = "dynamic" / "group")``.
* docs/reference/att_gt.md, examples ``out1`` (no covariates, DR), ``out2``
  (``xformla = ~lpop``, DR) and ``out3`` (``~lpop``, ``control_group = "notyettreated"``).
* docs/reference/aggte.md, examples: ``simple``, ``dynamic``, ``group``, ``calendar`` of ``out1``.

Point estimates are deterministic and printed to 4 decimals: pinned to +-0.5e-4 (+1e-9).
Printed standard errors come from R's multiplier bootstrap (biters = 1000, scale =
IQR / 1.349), so they carry Monte Carlo error: the IQR scale estimator has relative
standard deviation sqrt(1.36 / 1000) = 3.7% (normal theory), and the same cell printed
three times (README, did-basics, att_gt.md) reads 0.0246, 0.0243, 0.0258. Each printed
SE is pinned to our analytic influence-function SE within 4 Monte Carlo SDs (15%)
plus the printing's half unit, and the mean ratio over a table within 4 SDs of that mean.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govstats.did_cs import CSSpec, att_gt_unconditional, callaway_santanna
from govstats.errors import DataValidationError, GovstatsError

DATA = Path(__file__).parent / "data" / "did"
PT = 0.5e-4 + 1e-9
REL_MC = math.sqrt(1.36 / 1000)

# (group, time): estimate, printed bootstrap se
README_REG = {
    (2004, 2004): (-0.0105, 0.0246), (2004, 2005): (-0.0704, 0.0332), (2004, 2006): (-0.1373, 0.0397),
    (2004, 2007): (-0.1008, 0.0357), (2006, 2004): (0.0065, 0.0229), (2006, 2005): (-0.0028, 0.0197),
    (2006, 2006): (-0.0046, 0.0179), (2006, 2007): (-0.0412, 0.0192), (2007, 2004): (0.0305, 0.0154),
    (2007, 2005): (-0.0027, 0.0164), (2007, 2006): (-0.0311, 0.0184), (2007, 2007): (-0.0261, 0.0170),
}
OUT2_LPOP = {
    (2004, 2004): (-0.0145, 0.0222), (2004, 2005): (-0.0764, 0.0303), (2004, 2006): (-0.1404, 0.0382),
    (2004, 2007): (-0.1069, 0.0358), (2006, 2004): (-0.0005, 0.0231), (2006, 2005): (-0.0062, 0.0188),
    (2006, 2006): (0.0010, 0.0204), (2006, 2007): (-0.0413, 0.0210), (2007, 2004): (0.0267, 0.0140),
    (2007, 2005): (-0.0046, 0.0170), (2007, 2006): (-0.0284, 0.0187), (2007, 2007): (-0.0288, 0.0161),
}
OUT3_LPOP_NYT = {
    (2004, 2004): (-0.0212, 0.0217), (2004, 2005): (-0.0816, 0.0324), (2004, 2006): (-0.1382, 0.0368),
    (2004, 2007): (-0.1069, 0.0344), (2006, 2004): (-0.0075, 0.0233), (2006, 2005): (-0.0046, 0.0184),
    (2006, 2006): (0.0087, 0.0182), (2006, 2007): (-0.0413, 0.0205), (2007, 2004): (0.0269, 0.0136),
    (2007, 2005): (-0.0042, 0.0153), (2007, 2006): (-0.0284, 0.0191), (2007, 2007): (-0.0288, 0.0167),
}
# aggte.md (out1, DR, no covariates): level -> (estimate, se)
AGG_SIMPLE = {"overall": (-0.04, 0.0119)}
AGG_DYNAMIC = {"overall": (-0.0772, 0.0208), -3: (0.0305, 0.0154), -2: (-0.0006, 0.0129), -1: (-0.0245, 0.0145),
               0: (-0.0199, 0.0119), 1: (-0.0510, 0.0160), 2: (-0.1373, 0.0393), 3: (-0.1008, 0.0356)}
AGG_GROUP = {"overall": (-0.031, 0.0126), 2004: (-0.0797, 0.0300), 2006: (-0.0229, 0.0163),
             2007: (-0.0261, 0.0167)}
AGG_CALENDAR = {"overall": (-0.0417, 0.0175), 2004: (-0.0105, 0.0242), 2005: (-0.0704, 0.0319),
                2006: (-0.0488, 0.0206), 2007: (-0.0371, 0.0133)}


@pytest.fixture(scope="module")
def mpdta() -> pd.DataFrame:
    return pd.read_csv(DATA / "mpdta.csv")


def _spec(**kw) -> CSSpec:
    return CSSpec("lemp", cohort="first.treat", unit="countyreal", time="year", **kw)


def _check_se(ours: np.ndarray, printed: np.ndarray, digits_half: float = 0.5e-4) -> None:
    ours, printed = np.asarray(ours, float), np.asarray(printed, float)
    tol = 4 * REL_MC * ours + digits_half
    assert np.all(np.abs(printed - ours) <= tol), np.c_[ours, printed]
    ratio = printed / ours
    assert abs(ratio.mean() - 1) <= 4 * REL_MC / math.sqrt(len(ratio)) + 0.01, ratio


@pytest.mark.parametrize(
    ("kw", "table"),
    [
        ({"est_method": "reg"}, README_REG),
        ({"est_method": "dr"}, README_REG),  # out1 of att_gt.md: same points (no covariates)
        ({"est_method": "ipw"}, README_REG),
        ({"covariates": ("lpop",)}, OUT2_LPOP),
        ({"covariates": ("lpop",), "control_group": "not_yet_treated"}, OUT3_LPOP_NYT),
    ],
)
def test_att_gt_matches_r_did(mpdta, kw, table):
    res = callaway_santanna(_spec(reps=0, **kw), mpdta)
    got = res.att_gt.set_index(["group", "time"])
    assert len(got) == len(table)
    for key, (est, _) in table.items():
        assert got.loc[key, "estimate"] == pytest.approx(est, abs=PT), key
    if kw.get("est_method") != "ipw":
        _check_se(got.loc[list(table), "std_error"], [v[1] for v in table.values()])


@pytest.mark.parametrize(
    ("kind", "table", "se_levels"),
    [
        ("simple", AGG_SIMPLE, ["overall"]),
        ("dynamic", AGG_DYNAMIC, ["overall", -3, -2, -1, 0, 1, 2, 3]),
        ("group", AGG_GROUP, [2004, 2006, 2007]),
        ("calendar", AGG_CALENDAR, []),
    ],
)
def test_aggregations_match_r_aggte(mpdta, kind, table, se_levels):
    res = callaway_santanna(_spec(reps=0), mpdta)
    got = res.aggregate(kind).set_index("level")
    for level, (est, _) in table.items():
        assert got.loc[level, "estimate"] == pytest.approx(est, abs=PT), (kind, level)
    if se_levels:
        _check_se(got.loc[se_levels, "std_error"], [table[k][1] for k in se_levels])


def test_multiplier_bootstrap_matches_analytic_and_bands_are_wider(mpdta):
    res = callaway_santanna(_spec(reps=999, seed=3), mpdta)
    t = res.att_gt
    # the bootstrap estimates the analytic variance: same MC bound as R's printed SEs
    _check_se(t["std_error"], t["boot_se"])
    # uniform band: critical value above the pointwise 1.96, below Bonferroni's over 12 cells
    crit = (t["band_upper"] - t["estimate"]) / t["boot_se"]
    assert (crit > 1.96).all() and (crit < 3.2).all()
    # README's simultaneous band for (2004, 2006): [-0.2419, -0.0326], printed crit 2.63 vs ours
    printed_crit = (-0.0326 + 0.1373) / 0.0397
    assert float(crit.iloc[0]) == pytest.approx(printed_crit, rel=0.1)


def test_fast_path_equals_full_estimator(mpdta):
    wide = mpdta.pivot(index="countyreal", columns="year", values="lemp")
    g = mpdta.groupby("countyreal")["first.treat"].first().reindex(wide.index).to_numpy()
    att, _ = att_gt_unconditional(wide.to_numpy(), g, wide.columns.to_numpy())
    assert att == pytest.approx(AGG_SIMPLE["overall"][0], abs=PT)
    res = callaway_santanna(_spec(reps=0), mpdta)
    assert att == pytest.approx(res.aggregate("simple")["estimate"].iloc[0], abs=1e-12)


def test_clustered_bootstrap_with_few_clusters_uses_webb(mpdta):
    d = mpdta.assign(state=mpdta["countyreal"] // 1000)
    d = d[d["state"].isin(sorted(d["state"].unique())[:8])]
    res = callaway_santanna(_spec(reps=199, cluster="state"), d)
    assert res.n_clusters == 8 and res.weights_type == "webb"
    assert np.isfinite(res.att_gt["boot_se"]).all()


# ----------------------------------------------------------------------- bad input


def test_no_never_treated_group_says_use_not_yet_treated(mpdta):
    d = mpdta[mpdta["first.treat"] > 0]
    with pytest.raises(GovstatsError, match="not_yet_treated"):
        callaway_santanna(_spec(reps=0), d)
    res = callaway_santanna(_spec(reps=0, control_group="not_yet_treated"), d)
    assert res.att_gt["estimate"].notna().any()


def test_cohort_treated_in_first_period_is_named(mpdta):
    d = mpdta.copy()
    d.loc[d["countyreal"] == d["countyreal"].iloc[0], "first.treat"] = 2003
    with pytest.raises(GovstatsError, match=r"cohort\(s\) \[2003\].*first observed period.*Drop these units"):
        callaway_santanna(_spec(reps=0), d)


def test_bootstrap_with_one_cluster_says_what_to_do(mpdta):
    d = mpdta.assign(one=1)
    with pytest.raises(GovstatsError, match="one cluster.*reps=0"):
        callaway_santanna(_spec(reps=99, cluster="one"), d)


def test_bad_rows_are_collected(mpdta):
    d = mpdta.copy()
    d.loc[3, "lemp"] = np.nan
    d.loc[7, "first.treat"] = 2005  # unit's other rows say 2007
    with pytest.raises(DataValidationError) as err:
        callaway_santanna(_spec(reps=0), d)
    msg = str(err.value)
    assert "row 5" in msg and "lemp" in msg and "row 9" in msg and "first.treat" in msg
