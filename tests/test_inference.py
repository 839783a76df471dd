"""Few-cluster inference pinned to outside references.

References used (none of them is this module's own output):
- the independent ``wildboottest`` package (and pyfixest's wrapper of it), fed the
  same weight vectors: bootstrap t-statistics to 1e-10, hence identical p-values;
- pyfixest's CR1 t-statistics (fixest's ``ssc`` convention) and its CRV3 errors;
- a naive wild bootstrap written out below (one full dummy-variable OLS per draw);
- an explicit leave-one-cluster-out loop for CRV3;
- Stata boottest output recorded with its data (tests/reference/bootstrap_lwdid_stata.md);
- permutation distributions computed by hand for randomization inference.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import pandas as pd
import pytest

from govstats.errors import DataValidationError
from govstats.inference import (
    WEBB_BELOW_G,
    WildClusterBootstrap,
    cr1_se,
    crv3_se,
    draw_weights,
    few_clusters_message,
    randomization_inference,
    wild_cluster_bootstrap,
)

wildboottest = pytest.importorskip("wildboottest.wildboottest")
pf = pytest.importorskip("pyfixest")


# ----------------------------------------------------------------------------- data


def lwdid_data() -> pd.DataFrame:
    """The data of the recorded Stata boottest run, rebuilt by its own generator."""
    rs = np.random.RandomState(42)  # same stream as np.random.seed(42)
    rows = []
    for c in range(10):
        treated = c < 5
        effect = rs.normal(0, 2)
        for _ in range(100):
            rows.append({"cluster": c, "d": int(treated), "y": 10 + 2 * treated + effect + rs.normal(0, 1)})
    return pd.DataFrame(rows)


def panel(n_places=6, units=4, years=8, seed=5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(n_places):
        for u in range(units):
            ue = rng.normal()
            for t in range(years):
                rows.append(
                    {
                        "place": p,
                        "unit": p * 100 + u,
                        "year": 2010 + t,
                        "x": rng.normal() + 0.3 * ue,
                        "z": rng.normal(),
                        "y": ue + 0.2 * t + rng.normal(),
                    }
                )
    return pd.DataFrame(rows)


def dummy_design(df: pd.DataFrame, regressors: list[str], fe: list[str]) -> pd.DataFrame:
    """Explicit dummy-variable design: regressors, intercept, FE dummies (first level dropped)."""
    parts = [df[regressors].astype(float), pd.Series(1.0, index=df.index, name="const")]
    for f in fe:
        parts.append(pd.get_dummies(df[f], prefix=f, drop_first=True, dtype=float))
    return pd.concat(parts, axis=1)


def wildboottest_t(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, j: int, V: np.ndarray):
    """Bootstrap t-stats and t of the wildboottest package for given weights V (G, B)."""
    R = np.zeros(X.shape[1])
    R[j] = 1.0
    wb = wildboottest.WildboottestCL(X=X, Y=y, cluster=cluster, R=R, B=V.shape[1], seed=1, parallel=False)
    wb.get_scores(bootstrap_type="11", impose_null=True)
    wb.v, wb.B = V, V.shape[1]
    wb.get_numer()
    wb.get_denom()
    wb.get_tboot()
    wb.get_vcov()
    wb.get_tstat()
    return np.asarray(wb.t_boot, dtype=float).ravel(), float(np.ravel(wb.t_stat)[0])


def p_symmetric(t_boot: np.ndarray, t: float) -> float:
    """Share of |t*| >= |t|, ties counted: the draws v = +1, -1 reproduce |t| exactly
    (up to rounding, hence the 1e-9) and count, as does the original sample when
    every weight vector is enumerated."""
    return float(np.mean(np.abs(t_boot) >= abs(t) * (1 - 1e-9)))


def uncounted_ties(t_boot: np.ndarray, t: float) -> int:
    """Exact ties that a strict floating-point ``|t*| > |t|`` (wildboottest) misses by rounding."""
    t_boot = np.abs(np.asarray(t_boot, dtype=float))
    tie = np.abs(t_boot - abs(t)) <= 1e-9 * abs(t)
    return int(np.sum(tie & ~(t_boot > abs(t))))


def naive_wcr_t(X: np.ndarray, y: np.ndarray, cluster: np.ndarray, j: int, h0: float, V: np.ndarray):
    """Textbook WCR11, one full OLS and CR1 variance per draw (slow, obviously right)."""
    n, k = X.shape
    G = V.shape[0]
    codes = pd.factorize(cluster, sort=True)[0]
    ssc = G / (G - 1) * (n - 1) / (n - k)

    def ols_cr1(yy):
        b = np.linalg.lstsq(X, yy, rcond=None)[0]
        u = yy - X @ b
        A = np.linalg.inv(X.T @ X)
        S = np.zeros((G, k))
        np.add.at(S, codes, X * u[:, None])
        return b, np.sqrt(ssc * (A @ S.T @ S @ A)[j, j])

    b, se = ols_cr1(y)
    keep = [i for i in range(k) if i != j]
    yr = y - h0 * X[:, j]
    br = np.linalg.lstsq(X[:, keep], yr, rcond=None)[0]
    fitted = X[:, keep] @ br + h0 * X[:, j]
    ur = y - fitted
    out = np.empty(V.shape[1])
    for col in range(V.shape[1]):
        ystar = fitted + V[codes, col] * ur
        bs, ses = ols_cr1(ystar)
        out[col] = (bs[j] - h0) / ses
    return out, (b[j] - h0) / se


# ----------------------------------------------------------------------------- wildboottest / pyfixest


def test_enumerated_rademacher_matches_wildboottest_and_pyfixest():
    df = lwdid_data()
    X = pd.DataFrame({"const": 1.0, "d": df["d"].astype(float)})
    res = wild_cluster_bootstrap(df["y"], X, df["cluster"], param="d", weights_type="rademacher", reps=9999)
    assert res.enumerated and res.reps == 2**10 and res.seed is None
    V, enumerated = draw_weights("rademacher", 10, 9999)
    t_boot, t = wildboottest_t(X.to_numpy(), df["y"].to_numpy(), df["cluster"].to_numpy(), 1, V)
    mine = WildClusterBootstrap(df["y"], X, df["cluster"], param="d").draws(V).t_stats(0.0)
    np.testing.assert_allclose(mine, t_boot, rtol=1e-10, atol=1e-12)
    assert res.t_stat == pytest.approx(t, rel=1e-12)
    assert res.p_value == p_symmetric(t_boot, t)
    # pyfixest's wrapper (which enumerates because 2**10 < 2048): its printed p-value, plus
    # the exact ties its strict floating-point comparison missed
    fit = pf.feols("y ~ d", df, vcov={"CRV1": "cluster"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, t_pf = fit.wildboottest(param="d", reps=2048, seed=1, return_bootstrapped_t_stats=True)
    t_ref = float(ref["t value"])
    assert res.p_value == pytest.approx(float(ref["Pr(>|t|)"]) + uncounted_ties(t_pf, t_ref) / 2**10, abs=1e-12)
    assert res.t_stat == pytest.approx(t_ref, rel=1e-12)


def five_cluster_data(seed: int = 2) -> pd.DataFrame:
    """Five clusters and a strong effect: |t| beats every non-constant Rademacher draw."""
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(5), 40)
    x = rng.normal(size=len(g))
    y = 1 + 0.8 * x + rng.normal(size=5)[g] + rng.normal(size=len(g))
    return pd.DataFrame({"y": y, "x": x, "g": g})


def test_five_clusters_rademacher_counts_ties_as_wildboottest_and_pyfixest():
    """The issue-9 defect: G = 5, Rademacher, all 32 draws enumerated. The draws v = +1 and
    v = -1 reproduce |t|; counted, p = 2/32 = 0.0625 (govstats printed 0.0 before)."""
    import statsmodels.api as sm

    df = five_cluster_data()
    X = df[["x"]].assign(const=1.0)
    with pytest.warns(UserWarning, match=r"smallest attainable wild-bootstrap p-value is 0\.0625"):
        res = wild_cluster_bootstrap(df["y"], X, df["g"], param="x", weights_type="rademacher", reps=9999)
    assert res.enumerated and res.reps == 32
    # wildboottest itself (enumerates because 2**5 < B) and pyfixest's wrapper of it
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_wb = wildboottest.wildboottest(sm.OLS(df["y"], sm.add_constant(df[["x"]])), B=9999, cluster=df["g"],
                                           param="x", show=False)
        fit = pf.feols("y ~ x", df, vcov={"CRV1": "g"})
        ref_pf, t_pf = fit.wildboottest(param="x", reps=9999, seed=1, return_bootstrapped_t_stats=True)
    assert float(ref_wb["p-value"].iloc[0]) == res.p_value == 0.0625
    assert float(ref_pf["Pr(>|t|)"]) == res.p_value
    # the rule, on pyfixest's own bootstrap t's: exactly the two constant draws tie, nothing exceeds
    t_pf, t_ref = np.abs(np.asarray(t_pf, dtype=float)), abs(float(ref_pf["t value"]))
    assert np.sum(np.abs(t_pf - t_ref) <= 1e-9 * t_ref) == 2 and np.sum(t_pf > t_ref * (1 + 1e-9)) == 0
    assert res.p_value == p_symmetric(t_pf, t_ref)
    # the floor is stated and kept on the result; no h0 can be rejected, so the CI is the line
    assert res.p_min == 2 / 32 and res.p_min_warning and "alpha = 0.05" in res.p_min_warning
    assert res.p_min_warning in res.warnings and "WARNING: the smallest attainable" in res.summary()
    assert (res.ci_low, res.ci_high) == (-np.inf, np.inf)
    # at alpha = 0.10 the floor is below alpha: no warning, and the bisection ends on finite bounds
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res10 = wild_cluster_bootstrap(df["y"], X, df["g"], param="x", weights_type="rademacher", alpha=0.10)
    assert res10.p_min_warning is None and np.isfinite(res10.ci_low) and np.isfinite(res10.ci_high)
    assert res10.ci_low < res10.estimate < res10.ci_high
    # Webb weights: 6**5 draws, the six constant ones tie; floor 6/7776, far below 5%
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        webb = wild_cluster_bootstrap(df["y"], X, df["g"], param="x")
    assert webb.weights_type == "webb" and webb.p_min == pytest.approx(6 / 6**5)
    assert webb.p_value < 0.05 and np.isfinite(webb.ci_low) and np.isfinite(webb.ci_high)


def test_constant_weight_draws_tie_with_t_in_wildboottest_too():
    """Whatever the design, wildboottest's bootstrap t of v = +1 and v = -1 equals |t| (to rounding):
    they are ties, and govstats counts them."""
    for seed in range(4):
        df = five_cluster_data(seed)
        X = df[["x"]].assign(const=1.0).to_numpy()[:, [1, 0]]
        V, _ = draw_weights("rademacher", 5, 32)
        t_boot, t = wildboottest_t(X, df["y"].to_numpy(), df["g"].to_numpy(), 1, V)
        const = np.all(V == V[:1], axis=0)
        np.testing.assert_allclose(np.abs(t_boot[const]), abs(t), rtol=1e-10)
        draws = WildClusterBootstrap(df["y"], X, df["g"], param=1).draws(V)
        assert draws.n_constant == 2 and draws.p_value(0.0) == p_symmetric(t_boot, t) >= 2 / 32


def test_lwdid_stata_boottest_reference():
    """Stata boottest on the same data (tests/reference/bootstrap_lwdid_stata.md)."""
    df = lwdid_data()
    committed = {0: 12.85516400485128, 700: 11.427658956085008, 999: 13.791274235050352}
    for row, value in committed.items():
        assert df["y"].iloc[row] == value  # the data Stata saw, rebuilt exactly
    X = pd.DataFrame({"const": 1.0, "d": df["d"].astype(float)})
    res = wild_cluster_bootstrap(df["y"], X, df["cluster"], param="d", weights_type="rademacher", reps=9999)
    assert round(res.t_stat, 4) == 0.7287
    for p_stata, lo, hi in [(0.4915, -2.079, 4.174), (0.5020, -2.047, 4.144)]:
        assert abs(res.p_value - p_stata) < 0.03
        assert abs(res.ci_low - lo) < 0.06
        assert abs(res.ci_high - hi) < 0.06


def test_webb_enumeration_with_two_way_fe_matches_wildboottest_on_dummies():
    df = panel(n_places=5, units=3, years=6)
    res = wild_cluster_bootstrap(
        df["y"], df[["x", "z"]], df["place"], param="x", fe=df[["unit", "year"]], reps=9999
    )
    assert res.weights_type == "webb" and res.enumerated and res.reps == 6**5
    V, _ = draw_weights("webb", 5, 9999)
    Xd = dummy_design(df, ["x", "z"], ["unit", "year"])
    t_boot, t = wildboottest_t(Xd.to_numpy(), df["y"].to_numpy(), df["place"].to_numpy(), 0, V)
    mine = WildClusterBootstrap(df["y"], df[["x", "z"]], df["place"], param="x", fe=df[["unit", "year"]])
    # wildboottest counts every dummy in K; govstats counts nested FE as one (fixest).
    # The factor scales t and every t* alike, so compare without it:
    n, k_all = Xd.shape
    scale = np.sqrt((5 / 4 * (n - 1) / (n - k_all)) / mine.ssc)
    np.testing.assert_allclose(mine.draws(V).t_stats(0.0), t_boot * scale, rtol=1e-9, atol=1e-10)
    assert res.t_stat == pytest.approx(t * scale, rel=1e-10)
    assert res.p_value == p_symmetric(t_boot, t)


@pytest.mark.parametrize(
    "fml,fe",
    [
        ("y ~ x + z | unit + year", ["unit", "year"]),  # unit nested in place, year not
        ("y ~ x + z | unit", ["unit"]),
        ("y ~ x + z | year", ["year"]),
        ("y ~ x + z | place + year", ["place", "year"]),
        ("y ~ x + z", []),
    ],
)
def test_t_stat_and_p_value_match_pyfixest(fml, fe):
    df = panel()
    fit = pf.feols(fml, df, vcov={"CRV1": "place"})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, t_boot = fit.wildboottest(param="x", reps=999, seed=1, return_bootstrapped_t_stats=True)
    X = df[["x", "z"]] if fe else df[["x", "z"]].assign(const=1.0)
    res = wild_cluster_bootstrap(
        df["y"], X, df["place"], param="x", fe=df[fe] if fe else None, weights_type="rademacher", reps=999
    )
    assert res.t_stat == pytest.approx(float(fit.tstat()["x"]), rel=1e-10)  # fixest ssc convention
    assert res.se_cr1 == pytest.approx(float(fit.se()["x"]), rel=1e-10)
    assert res.enumerated and res.reps == 64
    assert res.p_value == p_symmetric(np.asarray(t_boot), float(ref["t value"]))
    assert res.p_value_cr1 == pytest.approx(float(fit.pvalue()["x"]), rel=1e-8)  # t(G-1)


@pytest.mark.parametrize("G", [14, 40])  # 40 > 4K + 2: the expanded (K-row) form of the draws
def test_random_rademacher_draws_reproduce_wildboottest(G):
    """Same random weights as wildboottest draws them -> same t*, same p-value."""
    rng = np.random.default_rng(3)
    B, seed = 999, 11
    g = np.repeat(np.arange(G), rng.integers(5, 40, size=G))
    X = np.column_stack([np.ones(len(g)), rng.normal(size=len(g)), rng.normal(size=len(g))])
    y = X @ [1.0, 0.2, -0.5] + rng.normal(size=G)[g] + rng.normal(size=len(g))
    V = np.random.default_rng(seed).choice([-1, 1], size=G * B, replace=True).reshape(G, B)
    t_boot, t = wildboottest_t(X, y, g, 1, V.astype(float))
    draws = WildClusterBootstrap(y, X, g, param=1).draws(V)
    np.testing.assert_allclose(draws.t_stats(0.0), t_boot, rtol=1e-10)
    assert draws.p_value(0.0) == p_symmetric(t_boot, t)
    # equal-tailed p-value, defined as in wildboottest / fwildclusterboot, ties counted
    tol = 1e-9 * abs(t)
    ref_eq = 2 * min(np.mean(t_boot >= t - tol), np.mean(t_boot <= t + tol))
    assert draws.p_value(0.0, "equal-tailed") == pytest.approx(ref_eq, abs=1e-15)


def test_naive_bootstrap_with_dummies_and_nonzero_null():
    """Fast algorithm with FE partialled out == textbook loop on the dummy design, any h0."""
    df = panel(n_places=4, units=3, years=5, seed=9)
    fe = df[["unit", "year"]]
    wcb = WildClusterBootstrap(df["y"], df[["x", "z"]], df["place"], param="x", fe=fe)
    V, enumerated = draw_weights("webb", 4, 9999)
    assert enumerated and V.shape == (4, 1296)
    Xd = dummy_design(df, ["x", "z"], ["unit", "year"]).to_numpy()
    for h0 in (0.0, 0.35, -1.2):
        ref_boot, ref_t = naive_wcr_t(Xd, df["y"].to_numpy(), df["place"].to_numpy(), 0, h0, V)
        draws = wcb.draws(V)
        # naive K counts every dummy; the fast one counts nested FE as one (fixest):
        # the ssc factor differs, so compare after removing it (it cancels in p-values)
        scale = np.sqrt((4 / 3 * (len(df) - 1) / (len(df) - Xd.shape[1])) / draws.ssc)
        np.testing.assert_allclose(draws.t_stats(h0), ref_boot * scale, rtol=1e-9)
        assert draws.t_stat(h0) == pytest.approx(ref_t * scale, rel=1e-10)
        assert draws.p_value(h0) == p_symmetric(ref_boot, ref_t)


def test_confidence_interval_is_where_the_reference_p_value_crosses_alpha():
    df = lwdid_data()
    X = pd.DataFrame({"const": 1.0, "d": df["d"].astype(float)})
    res = wild_cluster_bootstrap(df["y"], X, df["cluster"], param="d", weights_type="rademacher")
    V, _ = draw_weights("rademacher", 10, 9999)
    eps = 1e-6 * res.se_cr1
    y, c = df["y"].to_numpy(), df["cluster"].to_numpy()

    def ref_p(h0):  # H0: beta = h0  <=>  regress y - h0 d on X and test 0 (wildboottest)
        t_boot, t = wildboottest_t(X.to_numpy(), y - h0 * df["d"].to_numpy(), c, 1, V)
        return p_symmetric(t_boot, t)

    assert ref_p(res.ci_low + eps) > 0.05 >= ref_p(res.ci_low - eps)
    assert ref_p(res.ci_high - eps) > 0.05 >= ref_p(res.ci_high + eps)


# ----------------------------------------------------------------------------- weights and options


def test_auto_weights_rule_and_enumeration_sizes():
    for G, kind, enumerated, B_used in [
        (WEBB_BELOW_G - 1, "webb", False, 9999),
        (WEBB_BELOW_G, "rademacher", True, 2**WEBB_BELOW_G),
        (14, "rademacher", False, 9999),
        (5, "webb", True, 7776),
        (4, "webb", True, 1296),
    ]:
        rng = np.random.default_rng(G)
        g = np.repeat(np.arange(G), 6)
        X = np.column_stack([np.ones(len(g)), rng.normal(size=len(g))])
        res = wild_cluster_bootstrap(rng.normal(size=len(g)), X, g, param=1, ci=False)
        assert (res.weights_type, res.enumerated, res.reps) == (kind, enumerated, B_used)
    V, enumerated = draw_weights("webb", 2, 36)
    assert enumerated and {tuple(v) for v in V.T} == set(
        itertools.product([-np.sqrt(1.5), -1.0, -np.sqrt(0.5), np.sqrt(0.5), 1.0, np.sqrt(1.5)], repeat=2)
    )
    assert not draw_weights("webb", 2, 35)[1]
    V, _ = draw_weights("mammen", 3, 20000, seed=0)
    assert abs(V.mean()) < 0.03 and abs((V**2).mean() - 1) < 0.03 and abs((V**3).mean() - 1) < 0.1


def test_seeded_results_are_reproducible():
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(20), 10)
    X = np.column_stack([np.ones(200), rng.normal(size=200)])
    y = rng.normal(size=200) + rng.normal(size=20)[g]
    a = wild_cluster_bootstrap(y, X, g, param=1, reps=499, seed=7)
    b = wild_cluster_bootstrap(y, X, g, param=1, reps=499, seed=7)
    c = wild_cluster_bootstrap(y, X, g, param=1, reps=499, seed=8)
    assert a == b and a.seed == 7 and not a.enumerated
    assert (a.p_value, a.ci_low) != (c.p_value, c.ci_low)


def test_result_is_frozen_and_summary_warns_with_few_clusters():
    df = lwdid_data()
    X = pd.DataFrame({"const": 1.0, "d": df["d"].astype(float)})
    res = wild_cluster_bootstrap(df["y"], X, df["cluster"], param="d")
    with pytest.raises(AttributeError):
        res.p_value = 0.0  # type: ignore[misc]
    text = res.summary()
    assert "WARNING" in text and "clustered p-value" in text and "bootstrap p-value" in text
    assert few_clusters_message(30) is None and "29 clusters" in few_clusters_message(29)


# ----------------------------------------------------------------------------- CR1 / CRV3


def test_cr1_se_matches_pyfixest():
    df = panel()
    fit = pf.feols("y ~ x + z | unit + year", df, vcov={"CRV1": "place"})
    se = cr1_se(df["y"], df[["x", "z"]], df["place"], fe=df[["unit", "year"]])
    np.testing.assert_allclose(se.to_numpy(), fit.se()[["x", "z"]].to_numpy(), rtol=1e-10)


def test_crv3_matches_leave_one_cluster_out_loop_and_pyfixest():
    df = panel(n_places=6, units=3, years=6, seed=2)
    se3 = crv3_se(df["y"], df[["x", "z"]], df["place"], fe=df[["unit", "year"]])
    # explicit loop: drop a cluster, refit the full dummy regression
    Xd = dummy_design(df, ["x", "z"], ["unit", "year"])
    b_full = np.linalg.lstsq(Xd.to_numpy(), df["y"].to_numpy(), rcond=None)[0][:2]
    jack = []
    for g in sorted(df["place"].unique()):
        keep = df["place"] != g
        Xk = Xd[keep].loc[:, Xd[keep].abs().sum() > 0]
        jack.append(np.linalg.lstsq(Xk.to_numpy(), df.loc[keep, "y"].to_numpy(), rcond=None)[0][:2])
    dev = np.array(jack) - b_full
    G = 6
    ref = np.sqrt(np.diag((G - 1) / G * dev.T @ dev))
    np.testing.assert_allclose(se3.to_numpy(), ref, rtol=1e-9)
    # pyfixest: the same sum times its ssc; with ssc switched off, times (G-1)/G here
    fit = pf.feols(
        "y ~ x + z | unit + year", df, vcov={"CRV3": "place"}, ssc=pf.ssc(k_adj=False, G_adj=False)
    )
    np.testing.assert_allclose(se3.to_numpy(), fit.se()[["x", "z"]].to_numpy() * np.sqrt((G - 1) / G), rtol=1e-8)


# ----------------------------------------------------------------------------- randomization inference


def test_randomization_inference_enumeration_by_hand():
    # 4 one-observation clusters, 2 treated; the C(4,2) = 6 differences in means:
    # {0,1}: 6.0-1.5 = 4.5 (actual)  {0,2}: 3.0-4.5 = -1.5  {0,3}: 3.5-4.0 = -0.5
    # {1,2}: 4.0-3.5 = 0.5  {1,3}: 4.5-3.0 = 1.5  {2,3}: 1.5-6.0 = -4.5
    X = pd.DataFrame({"const": 1.0, "d": [1.0, 1.0, 0.0, 0.0]})
    r = randomization_inference([5.0, 7.0, 1.0, 2.0], X, ["a", "b", "c", "d"], param="d", statistic="coef")
    assert r.enumerated and r.n_assignments == 6
    assert r.observed == pytest.approx(4.5) and r.estimate == pytest.approx(4.5)
    assert r.p_value == pytest.approx(2 / 6)  # |4.5| and |-4.5|


def test_randomization_inference_staggered_paths_by_hand():
    # clusters A, B, C over two periods; only A is treated, in period 1.
    # y: A = (1, 5), B = (2, 3), C = (1, 2). Difference in means treated - untreated:
    # A treated: 5 - (1+2+3+1+2)/5 = 3.2 (actual); B: 3 - 11/5 = 0.8; C: 2 - 12/5 = -0.4
    y = [1.0, 5.0, 2.0, 3.0, 1.0, 2.0]
    X = pd.DataFrame({"const": 1.0, "d": [0.0, 1.0, 0.0, 0.0, 0.0, 0.0]})
    cl, time = ["A", "A", "B", "B", "C", "C"], [0, 1, 0, 1, 0, 1]
    r = randomization_inference(y, X, cl, param="d", time=time, statistic="coef")
    assert r.n_assignments == 3 and r.observed == pytest.approx(3.2)
    assert r.p_value == pytest.approx(1 / 3)
    with pytest.raises(DataValidationError, match="varies within a cluster"):
        randomization_inference(y, X, cl, param="d", statistic="coef")


def test_randomization_inference_random_draws_approach_enumeration():
    rng = np.random.default_rng(4)
    G = 10
    g = np.repeat(np.arange(G), 8)
    d = (g < 5).astype(float)
    y = 0.4 * d + rng.normal(size=G)[g] + rng.normal(size=len(g))
    X = pd.DataFrame({"const": 1.0, "d": d, "w": rng.normal(size=len(g))})
    exact = randomization_inference(y, X, g, param="d", reps=1000)
    assert exact.enumerated and exact.n_assignments == 252  # C(10, 5)
    approx = randomization_inference(y, X, g, param="d", reps=200, seed=1)
    assert not approx.enumerated and approx.n_assignments == 200
    assert abs(approx.p_value - exact.p_value) < 4 * np.sqrt(0.25 / 200)
    # the observed randomization-t is the CR1 t-statistic
    assert exact.observed == pytest.approx(wild_cluster_bootstrap(y, X, g, param="d", ci=False).t_stat)


# ----------------------------------------------------------------------------- bad input


def test_bad_input_gives_all_problems_at_once():
    X = pd.DataFrame({"const": 1.0, "x": [1.0, np.nan, 3.0, 4.0, 5.0, 6.0]})
    y = [1.0, 2.0, np.nan, 4.0, 5.0, 6.0]
    cl = [1, 1, 2, None, 3, 3]
    with pytest.raises(DataValidationError) as err:
        wild_cluster_bootstrap(y, X, cl, param="x")
    text = str(err.value)
    assert "3 problems" in text and "outcome" in text and "'x'" in text and "cluster" in text
    with pytest.raises(KeyError, match="not a column"):
        wild_cluster_bootstrap([1.0, 2, 3, 4], X.iloc[:4].fillna(0), [1, 1, 2, 2], param="nope")
    with pytest.raises(ValueError, match="at least 2 clusters"):
        wild_cluster_bootstrap([1.0, 2, 3, 4], X.iloc[:4].fillna(0), [1, 1, 1, 1], param="x")
    Xc = pd.DataFrame({"const": 1.0, "x": [1.0, 2, 3, 4, 5, 6], "x2": [2.0, 4, 6, 8, 10, 12]})
    with pytest.raises(DataValidationError, match="collinear"):
        wild_cluster_bootstrap([1.0, 3, 2, 5, 4, 6], Xc, [1, 1, 2, 2, 3, 3], param="x")
    with pytest.raises(ValueError, match="weights_type='gauss'"):
        wild_cluster_bootstrap([1.0, 3, 2, 5, 4, 6], Xc[["const", "x"]], [1, 1, 2, 2, 3, 3], param="x",
                               weights_type="gauss")


# ----------------------------------------------------------------------------- size


def _rejection_rates(G: int, reps: int, seed: int) -> tuple[float, float]:
    """Share of true nulls rejected at 5%: (WCR bootstrap, CR1 t-test with G-1 df)."""
    sizes = np.geomspace(5, 160, G).astype(int)
    rng = np.random.default_rng(seed)
    rejected = np.zeros((reps, 2), dtype=bool)
    for r in range(reps):
        g = np.repeat(np.arange(G), sizes)
        n = len(g)
        x = rng.normal(size=G)[g] + 0.5 * rng.normal(size=n)
        u = rng.normal(size=G)[g] + rng.normal(size=n)
        y = 1.0 + u * (1 + 0.5 * np.abs(x))  # true slope 0
        res = wild_cluster_bootstrap(y, np.column_stack([np.ones(n), x]), g, param=1, ci=False)
        rejected[r] = (res.p_value <= 0.05, res.p_value_cr1 <= 0.05)
    wcr, cr1 = rejected.mean(axis=0)
    print(f"G = {G}, {reps} datasets with a true null: WCR rejects {wcr:.3f}, CR1 t-test {cr1:.3f}")
    return float(wcr), float(cr1)


def test_wcr_size_fast():
    wcr, cr1 = _rejection_rates(G=8, reps=200, seed=123)
    assert 0.015 <= wcr <= 0.11
    assert cr1 > wcr + 0.05


@pytest.mark.slow
@pytest.mark.parametrize("G", [5, 8])
def test_wcr_size_near_nominal_cr1_over_rejects(G):
    wcr, cr1 = _rejection_rates(G=G, reps=1000, seed=2024 + G)
    assert 0.02 <= wcr <= 0.09
    assert cr1 > 0.12


def test_ci_terminates_when_the_se_is_below_float_precision_of_the_estimate():
    """Regression: bisection used a tolerance of 1e-10*SE, finer than the float spacing
    near a large estimate, and looped forever."""
    rng = np.random.default_rng(3)
    G, n = 6, 120
    cluster = np.repeat(np.arange(G), n // G)
    x = rng.normal(size=n)
    y = 1e6 * x + 1e-9 * rng.normal(size=n)
    X = pd.DataFrame({"const": 1.0, "x": x})
    res = wild_cluster_bootstrap(y, X, cluster, param="x", h0=1e6, reps=999, seed=1)
    assert np.isfinite(res.ci_low) and np.isfinite(res.ci_high)
    assert res.ci_low <= 1e6 <= res.ci_high or abs(res.ci_high - res.ci_low) < 1e-3


def test_draw_weights_many_clusters_do_not_overflow():
    # 2.0**1024 overflows a float; G > 1000 clusters must still draw (not enumerate).
    from govstats.inference import draw_weights

    V, enumerated = draw_weights("rademacher", 1500, 9, seed=1)
    assert V.shape == (1500, 9) and not enumerated
    assert set(V.ravel()) <= {-1.0, 1.0}
