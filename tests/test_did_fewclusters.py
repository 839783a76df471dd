"""Few-cluster inference for staggered adoption (govstats.did_fewclusters).

Outside references: pyfixest's did2s point estimate (the imputation ATT), diff-diff's
Callaway-Sant'Anna (via govstats.did_cs) for the fast CS statistic, the exact size of
randomization inference under a true null (a simulated truth: no effect).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from govstats.did_cs import CSSpec, callaway_santanna
from govstats.did_fewclusters import imputation_att, ri_adoption, simulate_null_panel, size_study
from govstats.errors import GovstatsError


def _wide(df):
    w = df.pivot(index="unit", columns="year", values="y")
    g = df.groupby("unit")["g"].first().reindex(w.index).to_numpy()
    return w.to_numpy(), g, w.columns.to_numpy()


def test_imputation_att_equals_pyfixest_did2s():
    import pyfixest as pf

    df = simulate_null_panel(8, seed=4)
    df["y"] = df["y"] + 0.7 * ((df["g"] > 0) & (df["year"] >= df["g"]))
    df["d"] = ((df["g"] > 0) & (df["year"] >= df["g"])).astype(bool)
    df["post"] = df["d"].astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.did2s(df, yname="y", first_stage="~ 0 | unit + year", second_stage="~ post", treatment="d",
                       cluster="cluster")
    y, g, periods = _wide(df)
    assert imputation_att(y, g, periods) == pytest.approx(float(fit.coef()["post"]), abs=1e-9)


def test_ri_statistic_is_the_cs_simple_att():
    df = simulate_null_panel(6, seed=2)
    ri = ri_adoption(df, statistic="cs", reps=19, seed=0)
    res = callaway_santanna(CSSpec("y", cohort="g", unit="unit", time="year", reps=0), df)
    assert ri.estimate == pytest.approx(float(res.aggregate("simple")["estimate"].iloc[0]), abs=1e-10)
    # G = 6 places, 2 never (date 0) + 4 adopting: 6! / (2! * ...) distinct assignments
    dates = df.groupby("cluster")["g"].first().value_counts().to_numpy()
    assert ri.n_assignments == math.factorial(6) // math.prod(math.factorial(int(c)) for c in dates)


def test_ri_detects_a_large_effect_and_not_a_null():
    df = simulate_null_panel(10, seed=5, cluster_sd=0.3)
    big = df.assign(y=df["y"] + 5.0 * ((df["g"] > 0) & (df["year"] >= df["g"])))
    assert ri_adoption(big, statistic="imputation", reps=199, seed=1).pvalue < 0.05


@pytest.mark.slow
def test_ri_pvalue_is_uniform_under_the_null():
    # under the null the p-value is uniform: over 40 panels about 5% below 0.05
    ps = [ri_adoption(simulate_null_panel(6, seed=100 + s), statistic="cs", reps=39, seed=s).pvalue
          for s in range(40)]
    assert np.mean(np.array(ps) <= 0.05) <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / 40)


def test_ri_bad_input():
    df = simulate_null_panel(5, seed=0)
    mixed = df.copy()
    mixed.loc[mixed["unit"] == 0, "g"] = 7 if (mixed.loc[mixed["unit"] == 1, "g"] != 7).all() else 4
    with pytest.raises(GovstatsError, match="different adoption dates.*cluster=unit"):
        ri_adoption(mixed, reps=9)
    with pytest.raises(GovstatsError, match="at least 2 clusters"):
        ri_adoption(df.assign(cluster=0, g=np.where(df["g"] > 0, 5, 0)), reps=9)


@pytest.mark.slow
def test_size_study_randomization_inference_holds_size_at_five_clusters():
    tab = size_study((5,), sims=120, ri_reps=59, boot_reps=99, seed=7)
    r = tab.set_index("method")["rejection_rate"]
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / 120)
    assert r["CS randomization inference"] <= bound
    assert r["imputation/did2s randomization inference"] <= bound
    # the analytic normal interval over-rejects with 5 clusters (what the study is for)
    assert r["CS analytic (normal)"] > r["CS randomization inference"]
