"""Few-cluster inference for staggered adoption (govstats.did_fewclusters).

Outside references: pyfixest's did2s (estimate and SE of the imputation ATT), pyfixest's
feols with cohort-by-event-time cells (Sun-Abraham estimate and CRV1 SE), diff-diff's
Callaway-Sant'Anna (via govstats.did_cs), pyfixest's wildboottest (the restricted wild
bootstrap p-value in the two-period case, where every estimator is the TWFE coefficient),
and the size of each test under a true null (a simulated truth: no effect).
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from govstats.did_cs import CSSpec, callaway_santanna
from govstats.did_fewclusters import (
    imputation_att,
    linear_att,
    ri_adoption,
    simulate_null_panel,
    size_study,
    sun_abraham_att,
    wild_bootstrap_att,
)
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
    tab = size_study((5,), sims=120, ri_reps=59, boot_reps=99, cs_boot_reps=99, seed=7,
                     methods=("CS analytic (normal, diff-diff)", "CS randomization inference",
                              "did2s randomization inference"))
    r = tab.set_index("method")["rejection_rate"]
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / 120)
    assert r["CS randomization inference"] <= bound
    assert r["did2s randomization inference"] <= bound
    # the analytic normal interval over-rejects with 5 clusters (what the study is for)
    assert r["CS analytic (normal, diff-diff)"] > r["CS randomization inference"]


# --------------------------------------------------------------------------- linear ATTs and the wild bootstrap


def _staggered(G=8, seed=4, effect=0.7):
    df = simulate_null_panel(G, seed=seed)
    df["y"] = df["y"] + effect * ((df["g"] > 0) & (df["year"] >= df["g"]))
    df["d"] = ((df["g"] > 0) & (df["year"] >= df["g"])).astype(bool)
    df["post"] = df["d"].astype(float)
    return df


def test_linear_did2s_matches_pyfixest_estimate_and_se():
    import pyfixest as pf

    df = _staggered()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.did2s(df, yname="y", first_stage="~ 0 | unit + year", second_stage="~ post", treatment="d",
                       cluster="cluster")
    la = linear_att(df, "did2s")
    assert la.estimate == pytest.approx(float(fit.coef()["post"]), abs=1e-10)
    assert la.se == pytest.approx(float(fit.se()["post"]), rel=1e-8)


def test_linear_sun_abraham_matches_pyfixest_cells_regression():
    import pyfixest as pf

    df = _staggered()
    rel = np.where(df["g"] > 0, df["year"] - df["g"], -1)
    df["cell"] = np.where((df["g"] > 0) & (rel != -1), df["g"].astype(str) + "_" + rel.astype(str), "ref")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols("y ~ i(cell, ref='ref') | unit + year", df, vcov={"CRV1": "cluster"})
    b, V = fit.coef(), np.asarray(fit._vcov)
    cells = [n.split("::")[1].rstrip("]") for n in b.index]
    n_obs = df[df["cell"] != "ref"].groupby("cell").size()
    w = np.array([n_obs[c] if int(c.split("_")[1]) >= 0 else 0 for c in cells], float)
    w /= w.sum()
    la = linear_att(df, "sun_abraham")
    assert la.estimate == pytest.approx(float(w @ b.to_numpy()), abs=1e-10)
    assert la.se == pytest.approx(math.sqrt(w @ V @ w), rel=1e-8)
    y, g, periods = _wide(df)
    assert sun_abraham_att(y, g, periods) == pytest.approx(la.estimate, abs=1e-10)


def test_linear_cs_matches_diff_diff():
    df = _staggered()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = callaway_santanna(CSSpec("y", cohort="g", unit="unit", time="year", cluster="cluster", reps=0), df)
    assert linear_att(df, "cs").estimate == pytest.approx(float(res.aggregate("simple")["estimate"].iloc[0]),
                                                         abs=1e-10)
    # one cohort, one post period: no cohort weights to estimate, so the clustered influence-function
    # SE is exactly diff-diff's (with several cohorts diff-diff adds the weights' influence function)
    one = df[df["year"] <= 5].assign(g=lambda d: np.where(d["g"] > 0, 5, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r1 = callaway_santanna(CSSpec("y", cohort="g", unit="unit", time="year", cluster="cluster", reps=0), one)
    assert linear_att(one, "cs").se == pytest.approx(float(r1.aggregate("simple")["std_error"].iloc[0]), rel=1e-8)


def test_wild_restricted_bootstrap_matches_wildboottest_in_the_two_period_case():
    # two periods, one adopting cohort: every estimator's ATT is the TWFE coefficient on D and the
    # restricted model is TWFE without D, so the WCR p-value is pyfixest/wildboottest's
    import pyfixest as pf

    df = simulate_null_panel(7, seed=11)
    df = df[df["year"].isin([3, 4])].copy()
    df["g"] = np.where(df["g"] > 0, 4, 0)
    df["D"] = ((df["g"] > 0) & (df["year"] >= df["g"])).astype(float)
    df["y"] += 0.8 * df["D"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols("y ~ D | unit + year", df, vcov={"CRV1": "cluster"})
        wb = fit.wildboottest(param="D", reps=9999, seed=1, weights_type="rademacher")  # 2**7 enumerated
    for est in ("sun_abraham", "did2s", "cs"):
        la = linear_att(df, est)
        assert la.estimate == pytest.approx(float(fit.coef()["D"]), abs=1e-10)
        assert la.bootstrap(9999, "rademacher").p_value(0.0) == pytest.approx(float(wb["Pr(>|t|)"]), abs=1e-12)
    from govstats.inference import wild_cluster_bootstrap

    ref = wild_cluster_bootstrap(df["y"], df[["D"]], df["cluster"], param="D", fe=df[["unit", "year"]],
                                 weights_type="rademacher", reps=9999)
    lo, hi = linear_att(df, "sun_abraham").bootstrap(9999, "rademacher").confidence_interval(0.05, G=7)
    assert (lo, hi) == pytest.approx(tuple(ref.confint().iloc[0]), abs=1e-6)


def test_wild_bootstrap_att_detects_a_large_effect():
    df = simulate_null_panel(10, seed=5, cluster_sd=0.3)
    df["y"] += 3.0 * ((df["g"] > 0) & (df["year"] >= df["g"]))
    for est in ("sun_abraham", "did2s", "cs"):
        r = wild_bootstrap_att(df, est, reps=999)
        assert r["boot_p"] < 0.05
        assert r["boot_ci_lower"] < 3.0 < r["boot_ci_upper"] or abs(r["estimate"] - 3) > 1


def test_wild_bootstrap_and_estimators_bad_input():
    df = simulate_null_panel(5, seed=0)
    with pytest.raises(GovstatsError, match="one cluster.*finer column"):
        wild_bootstrap_att(df.assign(cluster=0), "did2s", reps=99)
    everyone = df[df["g"] > 0]
    with pytest.raises(GovstatsError, match="no never-treated unit.*did2s"):
        linear_att(everyone, "sun_abraham")
    first = df.assign(g=np.where(df["g"] > 0, 1, 0))
    with pytest.raises(GovstatsError, match="first observed period"):
        linear_att(first, "cs")
    with pytest.raises(ValueError, match="estimator="):
        linear_att(df, "twfe")


@pytest.mark.slow
def test_size_study_wild_bootstrap_and_ri_hold_size():
    # five places: the wild restricted bootstrap-t and randomization inference stay within 3 Monte
    # Carlo SEs of 5%, and the bootstrap corrects Sun-Abraham's analytic t(G-1), which over-rejects
    # (docs/size_study.md: 0.22 against 0.04 at G = 5 with 100 simulations)
    sims = 80
    tab = size_study((5,), sims=sims, ri_reps=59, boot_reps=399, cs_boot_reps=99, seed=3)
    r = tab.set_index("method")["rejection_rate"]
    bound = 0.05 + 3 * math.sqrt(0.05 * 0.95 / sims)
    for m in ("Sun-Abraham wild restricted bootstrap-t", "did2s wild restricted bootstrap-t",
              "CS wild restricted bootstrap-t", "Sun-Abraham randomization inference",
              "did2s randomization inference", "CS randomization inference"):
        assert r[m] <= bound, (m, r[m])
    assert r["Sun-Abraham wild restricted bootstrap-t"] < r["Sun-Abraham analytic t(G-1)"]
