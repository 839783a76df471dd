"""The WRE bootstrap for IV (govstats.wre): against WildBootTests.jl / Stata boottest's printed
output on nlsw88, its algebra against gs.fit, and its size by simulation."""

from __future__ import annotations

import warnings
from importlib import resources

import numpy as np
import pandas as pd
import pytest

import govstats as gs
from govstats import wre
from govstats.fixed_effects import factorize


def _iv_panel(seed: int, G: int = 8, n_g: int = 30, beta: float = 0.0, strength: float = 0.6) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(G), n_g)
    n = len(g)
    z1, z2, x1 = rng.normal(size=(3, n))
    cz = rng.normal(size=G)[g]  # cluster-level shocks: errors correlated within clusters
    e = rng.normal(size=n) + cz
    v = 0.7 * e + rng.normal(size=n)  # endogeneity
    y2 = strength * (z1 + z2) + 0.3 * x1 + v
    y = 1.0 + beta * y2 + 0.5 * x1 + e
    t = np.tile(np.arange(n_g), G)
    return pd.DataFrame({"g": g, "t": t, "y": y, "y2": y2, "x1": x1, "z1": z1, "z2": z2}).set_index(["g", "t"])


@pytest.mark.parametrize("weights", [None, "w"])
def test_t_stat_of_the_data_is_the_fit_s_clustered_t(weights):
    d = _iv_panel(1)
    d["w"] = np.exp(d["x1"])  # regression weights: the WRE works on the weighted (sqrt(w)-scaled) model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = gs.fit("y ~ x1 | y2 ~ z1 + z2", d, vcov={"CRV1": "g"}, reps=99, weights=weights)
    assert r.wre is not None
    assert r.wre.t_stat == pytest.approx(float(r.tstat()["y2"]), rel=1e-10)


def test_each_bootstrap_t_equals_gs_fit_on_the_bootstrap_sample():
    """The vectorised draws equal a 2SLS fit of the constructed bootstrap sample by gs.fit."""
    d = _iv_panel(2, G=6)
    y, y2 = d["y"].to_numpy(), d["y2"].to_numpy()
    X1 = np.column_stack([np.ones(len(d)), d["x1"]])
    W = np.column_stack([X1, d[["z1", "z2"]]])
    codes, G = factorize(d.index.get_level_values(0))
    N, K = len(d), 3
    factor = G / (G - 1) * (N - 1) / (N - K)
    h0 = 0.2
    # the bootstrap DGP of the module notes, for three weight vectors
    g_r = np.linalg.lstsq(X1, y - h0 * y2, rcond=None)[0]
    u_r = y - h0 * y2 - X1 @ g_r
    coef = np.linalg.lstsq(np.column_stack([W, u_r]), y2, rcond=None)[0]
    fitted2 = W @ coef[:-1]
    v_r = y2 - fitted2
    rng = np.random.default_rng(0)
    for wg in (np.ones(G), rng.choice([-1.0, 1.0], G), rng.normal(size=G)):
        w = wg[codes]
        y2s = fitted2 + v_r * w
        ys = h0 * y2s + X1 @ g_r + u_r * w
        PW = W @ np.linalg.pinv(W)
        t_vec = wre._t_stats(ys[:, None], X1, y2s[:, None], W, PW, codes, G, factor, h0)[0]
        boot = d.assign(y=ys, y2=y2s)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = gs.fit("y ~ x1 | y2 ~ z1 + z2", boot, vcov={"CRV1": "g"}, bootstrap="never")
        t_fit = (float(r.coef()["y2"]) - h0) / float(r.se()["y2"])
        assert t_vec == pytest.approx(t_fit, rel=1e-8)
    # the all-ones draw reproduces the data: its t is the data's t
    res = wre.wre_bootstrap(y, X1, y2, W, codes, h0=h0, reps=64, weights_type="rademacher", factor=factor)
    assert res.enumerated and res.reps == 64
    assert res.p_value >= 2 / 64  # the two constant-sign draws tie with |t|


def test_too_few_clusters_to_reject_is_said():
    d = _iv_panel(3, G=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = gs.fit("y ~ x1 | y2 ~ z1 + z2", d, vcov={"CRV1": "g"}, weights_type="rademacher")
    assert r.wre.p_min == pytest.approx(2 / 16)
    assert r.wre.warnings and "smallest attainable p-value" in r.wre.warnings[0]
    assert any("WRE bootstrap" in w for w in r.warnings)


@pytest.mark.slow
def test_wre_size_is_close_to_nominal_with_ten_clusters():
    """Known truth: beta = 0. Over 300 simulated panels with G = 10 the 5% WRE test rejects
    at a rate within binomial error of 5% (sd 1.3 points): accepted 1.5% to 9.5%."""
    rejections = 0
    sims = 300
    for s in range(sims):
        d = _iv_panel(1000 + s, G=10, n_g=20)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = gs.fit("y ~ x1 | y2 ~ z1 + z2", d, vcov={"CRV1": "g"}, reps=199, seed=s)
        rejections += r.wre.p_value <= 0.05
    assert 0.015 <= rejections / sims <= 0.095


def _reference_dir():
    return resources.files("govstats") / "data" / "reference"


@pytest.fixture(scope="module")
def nlsw88() -> pd.DataFrame:
    """Stata's nlsw88 extract as WildBootTests.jl's test suite reads it (float32 columns, rows with
    any of the six variables missing dropped: 1,855 rows, 12 industries)."""
    d = pd.read_csv(_reference_dir() / "inputs" / "nlsw88_wre.csv",
                    dtype={c: np.float32 for c in ("wage", "tenure", "ttl_exp")})
    for c in ("wage", "tenure", "ttl_exp"):
        d[c] = d[c].astype(np.float64)
    d["t"] = 0
    return d.set_index(["idcode", "t"])


@pytest.fixture(scope="module")
def boottest_ref() -> pd.DataFrame:
    return pd.read_csv(_reference_dir() / "wre_boottest_reference.csv").set_index(["case", "statistic"])


def test_wre_reproduces_boottest_clustered_nlsw88(nlsw88, boottest_ref):
    """ivregress 2sls wage ttl_exp collgrad (tenure = union), cluster(industry); boottest tenure,
    ptype(equaltail) reps(9999): t = 2.6040, p = 0.0444 (WildBootTests.jl's log). G = 12, so both
    tools enumerate all 4,096 Rademacher sign vectors and the p-value has no Monte Carlo error."""
    ref = boottest_ref.loc["nlsw88_2sls_cluster_industry", "value"]
    y, y2 = nlsw88["wage"].to_numpy(), nlsw88["tenure"].to_numpy()
    X1 = np.column_stack([np.ones(len(y)), nlsw88["ttl_exp"], nlsw88["collgrad"]])
    W = np.column_stack([X1, nlsw88["union"]])
    w = wre.wre_bootstrap(y, X1, y2, W, nlsw88["industry"].to_numpy(), reps=9999,
                          weights_type="rademacher", ptype="equaltail")
    assert w.enumerated and w.reps == 4096 and w.n_clusters == 12
    assert abs(w.t_stat - ref["t"]) <= 0.5e-4  # boottest small=false: CR0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = gs.fit("wage ~ ttl_exp + collgrad | tenure ~ union", nlsw88, vcov={"CRV1": "industry"},
                   ssc="none", bootstrap="never")
    assert w.t_stat == pytest.approx(float(r.tstat()["tenure"]), rel=1e-10)  # the t gs.fit reports
    t, tb = w.t_stat, w.t_boot
    above = int((tb > t + 1e-9 * abs(t)).sum())
    below = int((tb < t - 1e-9 * abs(t)).sum())
    ties = len(tb) - above - below
    assert ties == 1  # the all-ones draw reproduces the data
    assert abs(2 * min(above, below) / w.reps - ref["p_equaltail"]) <= 0.5e-4
    # govstats counts the tied draw on both sides (conservative): its equal-tailed p is 2 draws higher
    assert w.p_value == pytest.approx((2 * min(above, below) + 2) / 4096, abs=1e-12)


def test_wre_robust_t_and_p_match_boottest_nlsw88(nlsw88, boottest_ref):
    """ivregress 2sls ..., robust; boottest tenure, ptype(equaltail) reps(99): t = 3.5823 (HC0,
    small=false: every observation its own cluster) and p = 0.0000 (no draw of 99 as extreme).
    With 999 draws govstats' p must be small too (if the true p were 0.03, 99 draws with none
    beyond t would have probability 0.05)."""
    ref = boottest_ref.loc["nlsw88_2sls_robust", "value"]
    y, y2 = nlsw88["wage"].to_numpy(), nlsw88["tenure"].to_numpy()
    X1 = np.column_stack([np.ones(len(y)), nlsw88["ttl_exp"], nlsw88["collgrad"]])
    W = np.column_stack([X1, nlsw88["union"]])
    res = wre.wre_bootstrap(y, X1, y2, W, np.arange(len(y)), reps=999, weights_type="rademacher",
                            ptype="equaltail", seed=1)
    assert abs(res.t_stat - ref["t"]) <= 0.5e-4
    assert res.p_value <= 0.01
    assert ref["p_equaltail"] == 0.0


def test_wre_with_more_than_1000_clusters_draws_without_overflow():
    # 2.0**G overflows past G = 1023; such a design must still bootstrap (random draws)
    import numpy as np

    from govstats.wre import wre_bootstrap

    rng = np.random.default_rng(0)
    n = 2400
    z = rng.normal(size=(n, 1))
    y2 = z[:, 0] + rng.normal(size=n)
    y = rng.normal(size=n)  # true coefficient 0
    X1 = np.ones((n, 1))
    r = wre_bootstrap(y, X1, y2, np.column_stack([X1, z]), np.repeat(np.arange(1200), 2), reps=99, seed=1)
    assert len(r.t_boot) == 99 and 0.0 <= r.p_value <= 1.0
