"""govstats.multiverse against independent computations.

References: pyfixest, one ``feols`` call per specification with the real column
names (the fast path must equal it within 1e-10); dummy-variable OLS in numpy with
the CR1 rule written out from fixest's documentation; the Frisch-Waugh-Lovell
identity behind the joint test, checked on a bootstrap sample built here; a known
simulated truth (a real effect and a placebo with none).
"""

from __future__ import annotations

import dataclasses
import doctest
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govstats import datasets
from govstats import multiverse as mv
from govstats.errors import DataValidationError
from govstats.multiverse import MultiverseSpec, engine, joint_test, run_multiverse, runner
from govstats.multiverse import data as mv_data
from govstats.simulate import simulate_panel

pf = pytest.importorskip("pyfixest")

SINGLETON_SAMPLE = "(year >= 2016 and place_id != 'futian') or (year == 2012 and place_id == 'futian')"


@pytest.fixture(scope="module")
def panel(unbalanced_simulated_panel) -> pd.DataFrame:
    """SIMULATED panel, 30 units x 12 years, made unbalanced, with missing values and a placebo."""
    return unbalanced_simulated_panel


@pytest.fixture(scope="module")
def wide_spec() -> MultiverseSpec:
    return MultiverseSpec(
        outcomes={"index": "satisfaction_index", "pct": "satisfaction_pct"},
        treatments=["police_per_10k", "auxiliary_per_10k", "mediators_per_10k"],
        controls=["grid_density", "rapid_police_reform", "mediators_per_10k"],
        fixed_effects={"unit": "unit_id", "unit+year": "unit_id + year", "year": "year",
                       "unit+place-year": "unit_id + place_id^year", "none": "none"},
        clusters={"unit": "unit_id", "place": "place_id", "year": "year", "iid": "iid", "hetero": "hetero"},
        samples={"all": None, "no futian": "place_id != 'futian'", "2014+": "year >= 2014",
                 "singletons": SINGLETON_SAMPLE},
    )


@pytest.fixture(scope="module")
def wide(panel, wide_spec):
    return run_multiverse(wide_spec, panel)


def pyfixest_reference(row, spec: MultiverseSpec, data: pd.DataFrame):
    """One pyfixest.feols call for one table row, written from the choice labels."""
    o = dict(spec.outcomes)[row["outcome"]]
    t = dict(spec.treatments)[row["treatment"]]
    controls = [c for c in spec.control_columns if row[f"control: {c}"]]
    fe = next(f for f in spec.fixed_effects if f.label == row["fixed_effects"])
    cl = next(c for c in spec.clusters if c.label == row["cluster"])
    sample = dict(spec.samples)[row["sample"]]
    d = data if sample is None else data.query(sample)
    fml = f"{o} ~ " + " + ".join([t, *controls])
    if fe.terms:
        fml += " | " + " + ".join("^".join(term) for term in fe.terms)
    vcov = cl.kind if cl.kind in ("iid", "hetero") else {"CRV1": "+".join(cl.columns)}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = pf.feols(fml, d, vcov=vcov, fixef_tol=1e-12)
        return fit, t, fit.coef(), fit.se(), fit.pvalue()


# --------------------------------------------------------------------------- against pyfixest


def test_fast_path_equals_pyfixest_on_random_specifications(wide, wide_spec, panel):
    """One random specification of every (fixed effects, cluster, sample) combination: 100 calls."""
    tab = wide.tidy()
    assert (tab["engine"] == "fast").all()
    rng = np.random.default_rng(2024)
    picks = [rng.choice(g.index) for _, g in tab.groupby(["fixed_effects", "cluster", "sample"], observed=True)]
    assert len(picks) == 5 * 5 * 4
    for i in picks:
        row = tab.loc[i]
        fit, t, coef, se, p = pyfixest_reference(row, wide_spec, panel)
        np.testing.assert_allclose(row["estimate"], coef[t], rtol=1e-10, err_msg=str(row[:7].to_dict()))
        np.testing.assert_allclose(row["std_error"], se[t], rtol=1e-10, err_msg=str(row[:7].to_dict()))
        np.testing.assert_allclose(row["p_value"], p[t], rtol=1e-8, atol=1e-14)
        assert row["nobs"] == fit._N
        assert row["df"] == fit._df_t
        if row["cluster"] in ("unit", "place", "year"):
            assert row["n_clusters"] == fit._G[0]


def test_pyfixest_engine_is_one_feols_call_per_specification(panel):
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          controls=["grid_density"], fixed_effects=["unit_id + year", "none"],
                          clusters=["place_id", "hetero"])
    fast = run_multiverse(spec, panel, engine="fast").tidy()
    ref = run_multiverse(spec, panel, engine="pyfixest").tidy()
    assert (ref["engine"] == "pyfixest").all() and (fast["engine"] == "fast").all()
    for col in ("estimate", "std_error", "ci_lower", "ci_upper"):
        np.testing.assert_allclose(fast[col], ref[col], rtol=1e-10)
    assert fast["nobs"].tolist() == ref["nobs"].tolist()


def test_alpha_sets_the_intervals_as_pyfixest_confint(panel):
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          always_controls=["grid_density"], fixed_effects=["unit_id + year", "none"],
                          clusters=["place_id", "hetero", "iid"], alpha=0.1)
    res = run_multiverse(spec, panel)
    assert res.alpha == 0.1
    for _, row in res.tidy().iterrows():
        fit, t, *_ = pyfixest_reference(row, spec, panel)
        ci = fit.confint(alpha=0.1).loc[t].to_numpy()
        np.testing.assert_allclose([row["ci_lower"], row["ci_upper"]], ci, rtol=1e-9)


def test_singletons_are_pyfixest_s(panel):
    """The core's iterated singleton rule (govstats.fixed_effects.singletons) against
    pyfixest's detect_singletons, on designs where dropping one singleton makes another."""
    from pyfixest.core.detect_singletons import detect_singletons

    from govstats import fixed_effects as fx

    rng = np.random.default_rng(12)
    for _ in range(200):
        n = int(rng.integers(5, 80))
        fes = [fx.factorize(rng.integers(0, int(rng.integers(2, n)), n))[0]
               for _ in range(int(rng.integers(1, 4)))]
        ref = np.asarray(detect_singletons(np.asfortranarray(np.column_stack(fes).astype(np.uint32))), bool)
        np.testing.assert_array_equal(fx.singletons(fes), ref)
    # and the multiverse drops what pyfixest drops (its nobs) in the singleton sample
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          fixed_effects=["unit_id + year", "unit_id + place_id^year"], clusters=["iid"],
                          samples={"singletons": SINGLETON_SAMPLE})
    for _, row in run_multiverse(spec, panel).tidy().iterrows():
        fit, *_ = pyfixest_reference(row, spec, panel)
        assert row["nobs"] == fit._N < len(panel.query(SINGLETON_SAMPLE))


# --------------------------------------------------------------------------- against dummy-variable OLS


def _dummy_ols(y, X, fe_list, cluster):
    """OLS with explicit dummies; CR1 with fixest's 'nested' K, written out from its docs."""
    cols = [X]
    if fe_list:
        for j, codes in enumerate(fe_list):
            D = np.eye(codes.max() + 1)[codes]
            cols.append(D if j == 0 else D[:, 1:])
    else:
        cols.append(np.ones((len(y), 1)))
    Z = np.column_stack(cols)
    b, *_ = np.linalg.lstsq(Z, y, rcond=None)
    e = y - Z @ b
    k = X.shape[1]
    # FWL: the slopes' bread is the inverse of the partialled-out X'X
    Xp = X - Z[:, k:] @ np.linalg.lstsq(Z[:, k:], X, rcond=None)[0]
    bread = np.linalg.inv(Xp.T @ Xp)
    G = cluster.max() + 1
    S = np.zeros((G, k))
    np.add.at(S, cluster, Xp * e[:, None])
    if fe_list:
        levels = [c.max() + 1 for c in fe_list]
        nested = [lv for c, lv in zip(fe_list, levels, strict=True)
                  if all(len(set(cluster[c == g])) == 1 for g in range(lv))]
        K = k + sum(levels) - (len(levels) - 1) - sum(nested) + len(nested)
    else:
        K = k + 1
    N = len(y)
    V = G / (G - 1) * (N - 1) / (N - K) * bread @ S.T @ S @ bread
    return b[0], np.sqrt(V[0, 0]), K


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    n_units=st.integers(6, 14),
    n_years=st.integers(3, 7),
    drop=st.floats(0.0, 0.25),
    k=st.integers(1, 3),
    fe=st.sampled_from(["none", "unit", "year", "unit + year", "unit + region^year"]),
    cluster=st.sampled_from(["unit", "region", "year"]),
    seed=st.integers(0, 10_000),
)
def test_fast_path_equals_dummy_variable_ols(n_units, n_years, drop, k, fe, cluster, seed):
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(n_units), n_years)
    year = np.tile(np.arange(n_years), n_units)
    keep = rng.random(len(unit)) >= drop
    keep[::n_years] = keep[1::n_years] = True  # every unit at least twice
    keep[:n_years] = keep[n_years: 2 * n_years] = True  # every year at least twice
    df = pd.DataFrame({"unit": unit, "year": year})[keep].reset_index(drop=True)
    df["region"] = df["unit"] % 3
    for j in range(3):
        df[f"x{j}"] = rng.normal(size=len(df)) + 0.3 * df["unit"]
    df["y"] = df["x0"] - 0.5 * df["x1"] + rng.normal(size=len(df)) + df["year"] * 0.1
    regs = [f"x{j}" for j in range(k)]
    fe_terms = [] if fe == "none" else [t.strip().split("^") for t in fe.split("+")]
    codes = [pd.factorize(df[t].astype(str).agg("-".join, axis=1), sort=True)[0] for t in fe_terms]
    single = np.zeros(len(df), dtype=bool)
    while True:  # fixed-effect groups of one observation, removed until none is left (fixest)
        new = single.copy()
        for c in codes:
            sizes = np.bincount(c[~single], minlength=c.max() + 1)
            new |= sizes[c] == 1
        if (new == single).all():
            break
        single = new
    spec = MultiverseSpec(outcomes=["y"], treatments=["x0"], always_controls=regs[1:],
                          fixed_effects=[fe], clusters=[cluster])
    row = run_multiverse(spec, df).tidy().iloc[0]
    kept = df[~single]
    fe_list = [pd.factorize(c[~single], sort=True)[0] for c in codes]
    b, se, _K = _dummy_ols(kept["y"].to_numpy(), kept[regs].to_numpy(), fe_list,
                           pd.factorize(kept[cluster], sort=True)[0])
    assert row["nobs"] == len(kept)
    np.testing.assert_allclose(row["estimate"], b, rtol=1e-9)
    np.testing.assert_allclose(row["std_error"], se, rtol=1e-9)


def test_fixed_effects_nested_in_the_clusters_count_once():
    """NC crime, county effects, clusters = region (counties nested in it): K = k + 1 (+ 6 years)."""
    crime = datasets.load_nc_crime().copy()
    crime["region"] = np.select([crime["west"] == 1, crime["central"] == 1], [0, 1], 2)
    spec = MultiverseSpec(outcomes=["lcrmrte"], treatments=["lpolpc"], always_controls=["lprbarr"],
                          fixed_effects=["unit", "unit + time"], clusters=["region", "unit"])
    tab = run_multiverse(spec, crime).tidy()
    flat = crime.reset_index()
    y, X = flat["lcrmrte"].to_numpy(), flat[["lpolpc", "lprbarr"]].to_numpy()
    county = pd.factorize(flat["county"], sort=True)[0]
    year = pd.factorize(flat["year"], sort=True)[0]
    region = flat["region"].to_numpy()
    expected_K = {("unit", "region"): 3, ("unit + time", "region"): 9, ("unit", "unit"): 3,
                  ("unit + time", "unit"): 9}
    for _, row in tab.iterrows():
        fes = [county] if row["fixed_effects"] == "unit" else [county, year]
        cl = region if row["cluster"] == "region" else county
        b, se, K = _dummy_ols(y, X, fes, cl)
        assert K == expected_K[(row["fixed_effects"], row["cluster"])]
        np.testing.assert_allclose([row["estimate"], row["std_error"]], [b, se], rtol=1e-9)
        assert row["df"] == (2 if row["cluster"] == "region" else 89)


# --------------------------------------------------------------------------- rows used


def test_missing_values_and_singletons_reduce_nobs_as_pyfixest(wide):
    tab = wide.tidy()
    n_all = 360 - 25
    with_grid = tab["control: grid_density"]
    full = tab[(tab["sample"] == "all") & (tab["fixed_effects"] == "unit")]
    assert set(full.loc[~with_grid, "nobs"]) == {n_all}
    assert set(full.loc[with_grid, "nobs"]) == {n_all - 12}
    # the singleton sample: Futian units seen once (2012) are dropped with unit effects, kept without
    single = tab[(tab["sample"] == "singletons") & ~with_grid]
    by_fe = single.groupby("fixed_effects", observed=True)["nobs"].first()
    assert by_fe["year"] > by_fe["unit"]


def test_two_way_clustering_and_absorbed_treatments_go_to_pyfixest(panel):
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k", "rural"],
                          fixed_effects={"unit": "unit_id", "year": "year"},
                          clusters={"unit": "unit_id", "two-way": "unit_id + year"})
    tab = run_multiverse(spec, panel).tidy().set_index(["treatment", "fixed_effects", "cluster"])
    two = tab.loc[("police_per_10k", "unit", "two-way")]
    assert two["engine"] == "pyfixest" and "two-way" in two["note"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pf.feols("satisfaction_index ~ police_per_10k | unit_id", panel, vcov={"CRV1": "unit_id+year"})
    np.testing.assert_allclose(two["std_error"], ref.se()["police_per_10k"], rtol=1e-10)
    absorbed = tab.loc[("rural", "unit", "unit")]  # time-invariant: absorbed by unit effects
    assert absorbed["engine"] == "none" and np.isnan(absorbed["estimate"])
    assert "treatment is collinear" in absorbed["note"]
    assert tab.loc[("rural", "year", "unit"), "engine"] == "fast"
    fast_only = run_multiverse(spec, panel, engine="fast").tidy()
    assert (fast_only["engine"] != "pyfixest").all()
    assert fast_only["note"].str.contains("engine='fast'").sum() == 4  # the two-way ones


def test_controls_absorbed_by_the_fixed_effects_are_dropped_as_pyfixest_drops_them(panel):
    """'rural' is constant within units: with unit effects pyfixest drops it, and so does the fast path."""
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          controls=["rural", "grid_density"], fixed_effects=["unit_id", "year"],
                          clusters=["place_id"])
    tab = run_multiverse(spec, panel).tidy()
    assert (tab["engine"] == "fast").all()
    dropped = tab["control: rural"] & (tab["fixed_effects"] == "unit_id")
    assert tab.loc[dropped, "note"].eq("1 control(s) dropped as collinear").all()
    for i, row in tab.iterrows():
        fit, t, coef, se, _p = pyfixest_reference(row, spec, panel)
        assert ("rural" in fit._collin_vars) == bool(dropped[i])
        np.testing.assert_allclose([row["estimate"], row["std_error"]], [coef[t], se[t]], rtol=1e-10)
        assert row["df"] == fit._df_t


def test_collinearity_rule_is_pyfixest_s():
    from pyfixest.core.collinear import find_collinear_variables

    rng = np.random.default_rng(3)
    for trial in range(200):
        X = rng.normal(size=(50, 5)) * rng.choice([1e-6, 1e-3, 1, 10], 5)
        if trial % 2:
            X[:, rng.integers(1, 5)] = X[:, :2] @ rng.normal(size=2)  # an exact combination
        A = np.ascontiguousarray(X.T @ X)
        dropped, clear = engine._pyfixest_drops(A)
        if clear:
            np.testing.assert_array_equal(dropped, find_collinear_variables(A, 1e-9)[0])


# --------------------------------------------------------------------------- input errors


def test_every_input_problem_is_reported_at_once(panel):
    bad = panel.copy()
    bad["police_per_10k"] = bad["police_per_10k"].astype(str)
    bad.loc[3, "unit_id"] = None
    spec = MultiverseSpec(outcomes=["satisfaction_index", "no_such_outcome"], treatments=["police_per_10k"],
                          fixed_effects=["unit_id"], clusters=["unit_id"],
                          samples={"all": None, "bad": "no_such_column > 1"})
    with pytest.raises(DataValidationError) as err:
        run_multiverse(spec, bad)
    probs = err.value.table()
    assert len(probs) == 4
    assert set(probs["column"]) == {"no_such_outcome", "police_per_10k", "unit_id", "samples"}
    assert probs.loc[probs["column"] == "unit_id", "row"].item() == 5  # header = row 1, position 3
    assert "not numeric" in probs.loc[probs["column"] == "police_per_10k", "message"].item()


def test_spec_options_are_checked():
    with pytest.raises(ValueError, match="labels must be unique"):
        MultiverseSpec(outcomes=["y"], treatments=["x"], clusters=["u", "u"])
    with pytest.raises(ValueError, match="cannot read"):
        MultiverseSpec(outcomes=["y"], treatments=["x"], fixed_effects=["unit + "])
    with pytest.raises(ValueError, match="two different columns"):
        MultiverseSpec(outcomes=["y"], treatments=["x"], clusters=["a + b + c"])
    with pytest.raises(ValueError, match="alpha"):
        MultiverseSpec(outcomes=["y"], treatments=["x"], alpha=0.7)
    with pytest.raises(ValueError, match="engine='gpu' is not valid"):
        run_multiverse(MultiverseSpec(outcomes=["y"], treatments=["x"]), pd.DataFrame(), engine="gpu")


def test_enumeration_counts_and_control_rules():
    spec = MultiverseSpec(outcomes=["y1", "y2"], treatments=["a", "b"], controls=["b", "c"],
                          fixed_effects=["unit", "unit + time"], clusters=["unit", "iid", "time"],
                          samples={"all": None, "late": "time > 3"})
    choices = spec.specifications()
    # treatment a: 4 subsets of {b, c}; treatment b: 2 subsets of {c} (b cannot control for itself)
    assert spec.n_specifications == len(choices) == 2 * (4 + 2) * 2 * 3 * 2
    assert not (choices["treatment"].eq("b") & choices["control: b"]).any()
    named = MultiverseSpec(outcomes=["y"], treatments=["a", "b"],
                           controls={"none": [], "both": ["b", "c"]})
    ch = named.specifications()
    assert len(ch) == 4
    row = ch[(ch["treatment"] == "b") & (ch["controls"] == "both")].iloc[0]
    assert not row["control: b"] and row["control: c"]


def test_a_sample_can_be_a_query_a_mask_or_a_callable(panel):
    late = panel.eval("year >= 2016").to_numpy()
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          fixed_effects=["unit_id + year"], clusters=["unit_id"],
                          samples={"query": "year >= 2016", "mask": late, "callable": lambda d: d["year"] >= 2016})
    tab = run_multiverse(spec, panel).tidy()
    assert tab["estimate"].nunique() == 1 and tab["nobs"].tolist() == [int(late.sum())] * 3
    with pytest.raises(DataValidationError, match="one True/False per row"):
        run_multiverse(MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                                      fixed_effects=["unit_id"], clusters=["unit_id"],
                                      samples={"short": late[:10]}), panel)


# --------------------------------------------------------------------------- results object


def test_results_are_read_only_and_summaries_follow_the_table(wide):
    t = wide.tidy()
    t.loc[0, "estimate"] = 1e9
    assert wide.tidy().loc[0, "estimate"] != 1e9
    with pytest.raises(AttributeError):
        wide.simulated = False
    s = wide.summary_table().iloc[0]
    est = wide.tidy().dropna(subset=["estimate"])
    assert s["share_significant"] == pytest.approx((est["p_value"] < 0.05).mean())
    assert s["median_estimate"] == pytest.approx(est["estimate"].median())
    assert s["share_few_clusters"] == pytest.approx((est["n_clusters"] < 30).mean())
    by = wide.summary_table(by="cluster")
    assert by.loc["place", "share_few_clusters"] == 1.0 and by.loc["year", "share_few_clusters"] == 1.0
    assert by.loc["iid", "share_few_clusters"] == 0.0
    # 30 units, 24 without Futian: clustering by unit has few clusters only in that sample
    few_units = est[(est["cluster"] == "unit") & (est["n_clusters"] < 30)]
    assert set(few_units["sample"]) == {"no futian", "singletons"}
    assert (few_units.loc[few_units["sample"] == "no futian", "n_clusters"] == 24).all()
    sub = wide.subset("outcome == 'index' and cluster == 'unit'")
    assert sub.n_specifications == (wide.tidy().eval("outcome == 'index' and cluster == 'unit'")).sum()
    assert any("SIMULATED" in n for n in wide.notes())


def test_summary_is_text_and_old_spellings_are_gone(wide, panel):
    text = wide.summary()
    assert isinstance(text, str) and text.startswith("SIMULATED DATA - Multiverse: ")
    assert f"{wide.n_specifications} specifications" in text and repr(wide) == text
    assert not hasattr(wide, "table") and not hasattr(wide, "level")
    with pytest.raises(TypeError, match="level"):
        MultiverseSpec(outcomes=["y"], treatments=["x"], level=0.95)
    res = wide.subset("outcome == 'index' and fixed_effects == 'unit+year' and cluster == 'unit'")
    with pytest.raises(TypeError, match="'B'"):
        joint_test(res, panel, B=19, resample="unit_id")


def test_figure_says_simulated_only_for_simulated_data(wide):
    import matplotlib.pyplot as plt

    fig = wide.subset("outcome == 'index' and sample == 'all'").plot()
    assert fig._suptitle.get_text().startswith("SIMULATED")
    assert any(t.get_text() == "SIMULATED" for t in fig.texts)
    plt.close(fig)
    crime = datasets.load_nc_crime()
    spec = MultiverseSpec(outcomes={"犯罪率 (log)": "lcrmrte"}, treatments=["lpolpc"],
                          controls=["lprbarr", "ldensity"], clusters=["unit", "iid"])
    res = run_multiverse(spec, crime)
    assert not res.simulated
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a CJK label without a CJK font warns "Glyph ... missing"
        fig = res.plot(title="警力与犯罪 police and crime")
        fig.canvas.draw()
    assert "SIMULATED" not in fig._suptitle.get_text()
    assert not any(t.get_text() == "SIMULATED" for t in fig.texts)
    plt.close(fig)


# --------------------------------------------------------------------------- joint inference


def test_null_imposed_estimate_is_the_recentred_estimate_on_a_bootstrap_sample(panel):
    """FWL: on any sample, regressing y - b x gives (estimate - b) and the same standard error."""
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          always_controls=["rapid_police_reform"], fixed_effects=["unit_id + year"],
                          clusters=["unit_id"])
    b = run_multiverse(spec, panel).tidy().loc[0, "estimate"]
    rng = np.random.default_rng(8)
    units = panel["unit_id"].unique()
    draw = rng.choice(units, len(units))
    boot = pd.concat([panel[panel["unit_id"] == u].assign(unit_id=f"{u}#{j}") for j, u in enumerate(draw)],
                     ignore_index=True)
    boot["y_null"] = boot["satisfaction_index"] - b * boot["police_per_10k"]
    spec2 = MultiverseSpec(outcomes=["satisfaction_index", "y_null"], treatments=["police_per_10k"],
                           always_controls=["rapid_police_reform"], fixed_effects=["unit_id + year"],
                           clusters=["unit_id"])
    t = run_multiverse(spec2, boot).tidy().set_index("outcome")
    np.testing.assert_allclose(t.loc["y_null", "estimate"], t.loc["satisfaction_index", "estimate"] - b,
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(t.loc["y_null", "std_error"], t.loc["satisfaction_index", "std_error"],
                               rtol=1e-9)


@pytest.fixture(scope="module")
def joint_spec() -> MultiverseSpec:
    return MultiverseSpec(
        outcomes=["satisfaction_index", "satisfaction_pct"],
        treatments=["police_per_10k", "placebo"],
        controls=["rapid_police_reform", "aux_village_reform"],
        fixed_effects=["unit_id + year"],
        clusters=["unit_id"],
    )


def test_joint_test_rejects_a_true_effect_and_not_a_placebo(joint_spec):
    sim = simulate_panel(units_per_place=12, years=range(2009, 2024), seed=1)  # 60 units x 15 years
    data = sim.data.assign(placebo=np.random.default_rng(3).normal(size=len(sim.data)))
    res = run_multiverse(joint_spec, data)
    real = joint_test(res.subset("treatment == 'police_per_10k'"), data, reps=99, resample="unit_id", seed=4)
    placebo = joint_test(res.subset("treatment == 'placebo'"), data, reps=99, resample="unit_id", seed=4)
    # the simulated truth: police staffing raises satisfaction (beta 0.05); the placebo is noise
    assert (real.tidy()["p_value"] <= 0.02).all()
    assert (placebo.tidy()["p_value"] > 0.1).all()
    assert real.simulated and real.n_specifications == 8
    assert len(real.draws) == 99


def test_joint_test_draws_do_not_depend_on_batching(panel, joint_spec):
    res = run_multiverse(joint_spec, panel).subset("outcome == 'satisfaction_index'")
    a = joint_test(res, panel, reps=19, resample="unit_id", seed=9, draws_per_task=3)
    b = joint_test(res, panel, reps=19, resample="unit_id", seed=9, draws_per_task=19)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    with pytest.raises(Exception, match="differ from a re-estimation"):
        joint_test(res, panel.assign(satisfaction_index=panel["satisfaction_pct"]), reps=19, resample="unit_id")


# --------------------------------------------------------------------------- Dask


def test_dask_localcluster_gives_the_local_results(panel, joint_spec):
    distributed = pytest.importorskip("distributed")
    res = run_multiverse(joint_spec, panel, bootstrap="always", reps=199)
    assert res.tidy()["boot_p"].notna().all()
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        on_dask = run_multiverse(joint_spec, panel, scheduler=client, chunk_size=3, bootstrap="always", reps=199)
        jt_dask = joint_test(res, panel, reps=19, resample="unit_id", seed=2, scheduler=client, draws_per_task=4)
    pd.testing.assert_frame_equal(on_dask.tidy(), res.tidy())
    jt = joint_test(res, panel, reps=19, resample="unit_id", seed=2)
    pd.testing.assert_frame_equal(jt_dask.draws, jt.draws)


def test_joint_test_keeps_the_regression_weights(panel, joint_spec):
    spec = dataclasses.replace(joint_spec, weights="population")
    res = run_multiverse(spec, panel)
    jt = joint_test(res, panel, reps=19, resample="unit_id", seed=4)
    assert jt.tidy().loc["median_estimate", "observed"] == pytest.approx(res.tidy()["estimate"].median())
    plain = joint_test(run_multiverse(joint_spec, panel), panel, reps=19, resample="unit_id", seed=4)
    assert not np.allclose(jt.draws["median_estimate"], plain.draws["median_estimate"])


def test_work_units_survive_pickling(panel, joint_spec):
    """What Dask ships between processes (prepared arrays, plan, block cross-products) pickles."""
    import cloudpickle

    prep = mv_data._prepare(joint_spec, panel)
    prep.frame()  # cached frames are not shipped
    plan = engine._make_plan(joint_spec, prep)
    bd = engine._block_data(prep, plan, plan.blocks[0])
    light, bare = runner._light(plan), runner._bare(plan.blocks[0])
    prep2, light2, bd2, bare2 = pickle.loads(cloudpickle.dumps((prep, light, bd, bare)))
    assert prep2._frame is None
    _, e1 = engine._solve_block_pieces(prep, plan, bd, plan.blocks[0], plan.blocks[0].pieces, "fast")
    _, e2 = engine._solve_block_pieces(prep2, light2, bd2, bare2, plan.blocks[0].pieces, "fast")
    np.testing.assert_array_equal(e1.estimate, e2.estimate)
    # the task functions travel by reference to their module, as Dask ships them
    for fn in (runner._dask_block, runner._dask_chunk, runner._dask_rows, mv.joint._draw_statistics):
        assert pickle.loads(cloudpickle.dumps(fn)) is fn


@pytest.mark.parametrize("module", ["__init__", "spec", "runner", "joint", "plots"])
def test_docstring_examples_run(module):
    import importlib

    mod = mv if module == "__init__" else importlib.import_module(f"govstats.multiverse.{module}")
    result = doctest.testmod(mod, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------- the wild cluster bootstrap per specification
# References: pyfixest's Feols.wildboottest (which builds the fixed-effect dummies and calls
# the wildboottest package) and the wildboottest package itself on dummy designs built
# here. Under full enumeration (every Rademacher vector once) both sides use the same draws
# and the p-values must agree exactly; with random Webb draws, within Monte Carlo error.

wbt = pytest.importorskip("wildboottest.wildboottest")


@pytest.fixture(scope="module")
def coded(panel) -> pd.DataFrame:
    """The panel with integer-coded ids (wildboottest needs numeric cluster labels)."""
    df = panel.copy()
    df["place"] = pd.factorize(df["place_id"], sort=True)[0]
    df["unit"] = pd.factorize(df["unit_id"], sort=True)[0]
    df["place_year"] = df["place"] * 10_000 + df["year"]
    df.attrs["simulated"] = True
    return df


@pytest.fixture(scope="module")
def boot_spec() -> MultiverseSpec:
    return MultiverseSpec(
        outcomes=["satisfaction_index", "placebo"],
        treatments=["police_per_10k", "auxiliary_per_10k"],
        controls=["grid_density", "rapid_police_reform"],
        fixed_effects={"unit": "unit", "unit+year": "unit + year", "year": "year", "none": "none",
                       "unit+place-year": "unit + place_year"},
        clusters={"place": "place", "year": "year", "unit": "unit", "iid": "iid"},
        samples={"all": None, "2014+": "year >= 2014"},
    )


@pytest.fixture(scope="module")
def enumerated(coded, boot_spec):
    # Rademacher with reps >= 2**12: every weight vector once for 5 (place) and 12 (year) clusters
    return run_multiverse(boot_spec, coded, reps=4096, weights_type="rademacher")


def _formula(row, spec: MultiverseSpec) -> tuple[str, str, pd.DataFrame | None]:
    o = dict(spec.outcomes)[row["outcome"]]
    t = dict(spec.treatments)[row["treatment"]]
    controls = [c for c in spec.control_columns if row[f"control: {c}"]]
    fe = next(f for f in spec.fixed_effects if f.label == row["fixed_effects"])
    fml = f"{o} ~ " + " + ".join([t, *controls])
    if fe.terms:
        fml += " | " + " + ".join("^".join(term) for term in fe.terms)
    return fml, t, [n for term in fe.terms for n in term]


def _p_ties(t_boot, t) -> float:
    """Share of |t*| >= |t|, ties counted (govstats' rule; the draws v = +1 and -1 reproduce |t|)."""
    return float(np.mean(np.abs(np.ravel(t_boot)) >= abs(t) * (1 - 1e-9)))


def _wildboottest_enumerated(y, X, cluster, j):
    """wildboottest on an explicit design, every Rademacher vector once (B > 2**G)."""
    G = len(np.unique(cluster))
    R = np.zeros(X.shape[1])
    R[j] = 1.0
    wb = wbt.WildboottestCL(X=X, Y=y, cluster=cluster, R=R, B=2**G + 1, seed=3, parallel=False)
    wb.get_scores(bootstrap_type="11", impose_null=True)
    _, _, full = wb.get_weights(weights_type="rademacher")
    assert full
    wb.get_numer()
    wb.get_denom()
    wb.get_tboot()
    wb.get_vcov()
    wb.get_tstat()
    return np.ravel(wb.t_boot), float(np.ravel(wb.t_stat)[0])


def _full_rank_design(df, regressors, fe_cols, weights=None):
    """Regressors (treatment first), then fixed-effect dummies or an intercept, collinear
    dummies dropped by a pivoted QR; rows scaled by sqrt(weight) for WLS."""
    import scipy.linalg

    X = df[regressors].to_numpy(dtype=float)
    if fe_cols:
        D = pd.get_dummies(df[fe_cols].astype(str), dtype=float).to_numpy()
    else:
        D = np.ones((len(df), 1))
    _, R, piv = scipy.linalg.qr(np.column_stack([X, D]), mode="economic", pivoting=True)
    rank = int((np.abs(np.diag(R)) > 1e-9 * abs(R[0, 0])).sum())
    keep = np.sort(piv[:rank])
    assert set(range(X.shape[1])) <= set(keep)  # the regressors are never dropped
    Z = np.column_stack([X, D])[:, keep]
    if weights is not None:
        Z = Z * np.sqrt(weights)[:, None]
    return Z


def test_bootstrap_p_equals_pyfixest_wildboottest_under_full_enumeration(enumerated, boot_spec, coded):
    """A random sample of bootstrapped specifications (place: 5 clusters, year: 12), each against
    pyfixest's Feols.wildboottest with every Rademacher vector enumerated: the same draws, so the
    p-value counted with ties from pyfixest's bootstrap t's equals boot_p exactly, and pyfixest's
    own p (strict >, floating point) differs at most by the tied constant draws."""
    tab = enumerated.tidy()
    boot = tab[tab["boot_p"].notna()]
    assert set(boot["cluster"]) == {"place", "year"}
    assert set(boot["n_clusters"]) == {5.0, 10.0, 12.0}  # 2014+: ten years
    assert (boot["boot_reps"] == 2 ** boot["n_clusters"]).all()
    rng = np.random.default_rng(13)
    # pyfixest's one-hot design keeps collinear dummies with unit + place-year: tested below instead
    pool = boot[boot["fixed_effects"] != "unit+place-year"]
    picks = [rng.choice(g.index) for _, g in pool.groupby(["fixed_effects", "cluster"], observed=True)]
    picks += list(rng.choice(pool.index, 2, replace=False))
    assert len(picks) == 10
    n_strict_equal = 0
    for i in picks:
        row = tab.loc[i]
        fml, t, _ = _formula(row, boot_spec)
        d = coded if row["sample"] == "all" else coded.query("year >= 2014")
        cl = row["cluster"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = pf.feols(fml, d, vcov={"CRV1": cl})
            out, t_boot = fit.wildboottest(param=t, reps=int(row["boot_reps"]) + 1, seed=1,
                                           weights_type="rademacher", return_bootstrapped_t_stats=True)
        t_pf = float(np.ravel(out["t value"])[0])
        assert len(np.ravel(t_boot)) == row["boot_reps"]
        msg = str(row[:7].to_dict())
        assert row["boot_p"] == _p_ties(t_boot, t_pf), msg
        p_pf = float(out["Pr(>|t|)"])
        assert 0 <= row["boot_p"] - p_pf <= row["boot_p_min"] + 1e-12, msg
        n_strict_equal += row["boot_p"] == p_pf
    assert n_strict_equal >= 5  # most designs: rounding lands the ties on |t| for pyfixest too


def test_bootstrap_p_with_several_nested_fixed_effects_equals_wildboottest(enumerated, boot_spec, coded):
    """unit + place-year effects (both nested in place, place-year not in year): against the
    wildboottest package on a full-rank dummy design, every Rademacher vector enumerated."""
    tab = enumerated.tidy()
    rows = tab[(tab["fixed_effects"] == "unit+place-year") & tab["boot_p"].notna() & (tab["sample"] == "all")]
    rng = np.random.default_rng(4)
    for i in [rng.choice(g.index) for _, g in rows.groupby("cluster", observed=True)]:
        row = tab.loc[i]
        _, t, fe_cols = _formula(row, boot_spec)
        o = dict(boot_spec.outcomes)[row["outcome"]]
        regs = [t, *[c for c in boot_spec.control_columns if row[f"control: {c}"]]]
        d = coded.dropna(subset=[o, *regs])
        t_boot, t0 = _wildboottest_enumerated(d[o].to_numpy(), _full_rank_design(d, regs, fe_cols),
                                              d[row["cluster"]].to_numpy(), 0)
        assert row["boot_p"] == _p_ties(t_boot, t0)
        assert row["nobs"] == len(d)


def test_bootstrap_p_agrees_with_pyfixest_webb_draws_within_monte_carlo_error(coded):
    """Random Webb draws (12 clusters: 6**12 vectors, 9,999 drawn) on both sides with different
    seeds: the p-values differ by Monte Carlo error only (4.5 standard errors of a difference)."""
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          always_controls=["rapid_police_reform"], fixed_effects=["unit", "unit + year", "none"],
                          clusters=["year", "unit"])
    # 30 unit clusters: bootstrap="always"; they take the expanded (rank-m) variance formula
    assert engine._expanded(30, 2) and not engine._expanded(12, 2 + 30)
    tab = run_multiverse(spec, coded, reps=9999, weights_type="webb", seed=5, bootstrap="always").tidy()
    assert (tab["boot_reps"] == 9999).all()
    for _, row in tab.iterrows():
        fml, t, _ = _formula(row, spec)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = pf.feols(fml, coded, vcov={"CRV1": row["cluster"]}).wildboottest(
                param=t, reps=9999, seed=123, weights_type="webb")
        p_pf, p = float(out["Pr(>|t|)"]), row["boot_p"]
        se = np.sqrt(2 * max(p * (1 - p), 1e-4) / 9999)
        assert abs(p - p_pf) <= 4.5 * se + 6 / 9999, (row[:7].to_dict(), p, p_pf)


def test_expanded_and_direct_bootstrap_variances_agree(coded, monkeypatch):
    """The two algebraic forms of the bootstrap variance (G x G, or rank-m products for many
    clusters) give the same p-values (the pyfixest tests above pin each form on its own)."""
    spec = MultiverseSpec(outcomes=["satisfaction_index", "placebo"], treatments=["police_per_10k"],
                          controls=["grid_density", "rapid_police_reform"],
                          fixed_effects=["unit", "unit + year", "year", "none"], clusters=["unit", "year", "place"])
    out = {}
    for label, share in (("direct", 0.0), ("expanded", 1e9)):
        monkeypatch.setattr(engine, "_EXPANDED_BELOW", share)
        out[label] = run_multiverse(spec, coded, bootstrap="always", reps=999, seed=2).tidy()["boot_p"]
    assert out["direct"].notna().all()
    np.testing.assert_array_equal(out["direct"], out["expanded"])


def test_weighted_bootstrap_equals_wildboottest_on_the_weighted_design(coded):
    """WLS: the bootstrap of the weighted regression is the bootstrap of the regression with rows
    scaled by sqrt(weight) (weights constant within the draw's clusters), fixed-effect dummies
    included; pyfixest's wildboottest refuses weights, so the reference is the wildboottest
    package on that scaled dummy design."""
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          controls={"c": ["rapid_police_reform"]},
                          fixed_effects={"unit+year": "unit + year", "year": "year", "none": "none"},
                          clusters=["place", "year"], weights="population")
    tab = run_multiverse(spec, coded, reps=4096, weights_type="rademacher").tidy()
    assert tab["boot_p"].notna().all()
    for _, row in tab.iterrows():
        _, t, fe_cols = _formula(row, spec)
        Z = _full_rank_design(coded, [t, "rapid_police_reform"], fe_cols, weights=coded["population"].to_numpy())
        y = coded["satisfaction_index"].to_numpy() * np.sqrt(coded["population"].to_numpy())
        t_boot, t0 = _wildboottest_enumerated(y, Z, coded[row["cluster"]].to_numpy(), 0)
        assert row["boot_p"] == _p_ties(t_boot, t0), row[:7].to_dict()


def test_which_specifications_get_a_bootstrap_p_and_why(enumerated, coded, boot_spec):
    tab = enumerated.tidy()
    by = tab.groupby("cluster", observed=True)
    assert by["boot_p"].apply(lambda s: s.notna().all()).to_dict() == {
        "place": True, "year": True, "unit": False, "iid": False}
    notes = by["boot_note"].agg(lambda s: set(s)).to_dict()
    assert notes["unit"] == {"no bootstrap: 30 clusters (bootstrap='auto' bootstraps below few_clusters=30)"}
    assert notes["iid"] == {"no bootstrap: not clustered (iid)"}
    assert notes["place"] == notes["year"] == {""}
    assert (tab.loc[tab["boot_p"].isna(), "boot_reps"] == 0).all()
    # Rademacher with 5 clusters can never give p < 0.05 (2 of 32 draws always tie): said in the notes
    assert (tab.loc[tab["cluster"] == "place", "boot_p"] >= 2 / 32).all()
    assert any("can never reach p < 0.05" in n for n in enumerated.notes())
    # always: the 30 unit clusters too (same values as a run with few_clusters above 30); never: none
    sub = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                         fixed_effects=["unit + year"], clusters=["unit", "place", "place + year", "hetero"])
    always = run_multiverse(sub, coded, bootstrap="always", reps=999, seed=3).tidy()
    raised = run_multiverse(sub, coded, few_clusters=31, reps=999, seed=3).tidy()
    assert always["boot_p"].notna().tolist() == [True, True, False, False]
    np.testing.assert_array_equal(always["boot_p"], raised["boot_p"])
    assert always["boot_note"].tolist()[2:] == ["no bootstrap: two-way clustering (the fast bootstrap is one-way)",
                                                "no bootstrap: not clustered (hetero)"]
    never = run_multiverse(sub, coded, bootstrap="never")
    assert never.tidy()["boot_p"].isna().all() and (never.tidy()["boot_note"] == "").all()
    assert never.summary_table()["n_bootstrapped"].iloc[0] == 0
    with pytest.raises(ValueError, match="bootstrap"):
        run_multiverse(sub, coded, bootstrap="sometimes")
    with pytest.raises(ValueError, match="reps"):
        run_multiverse(sub, coded, reps=0)
    with pytest.raises(ValueError, match="weights_type"):
        run_multiverse(sub, coded, weights_type="gauss")


def test_bootstrap_share_in_the_summaries_follows_the_table(enumerated):
    tab = enumerated.tidy()
    e = tab[tab["estimate"].notna() & tab["boot_p"].notna()]
    s = enumerated.summary_table().iloc[0]
    assert s["n_bootstrapped"] == len(e)
    assert s["share_significant_boot"] == pytest.approx((e["boot_p"] < 0.05).mean())
    assert s["share_significant_cr1_of_bootstrapped"] == pytest.approx((e["p_value"] < 0.05).mean())
    by = enumerated.summary_table(by="cluster")
    assert np.isnan(by.loc["iid", "share_significant_boot"]) and by.loc["iid", "n_bootstrapped"] == 0
    assert "wild cluster bootstrap" in enumerated.summary()


def test_figure_marks_the_bootstrap(enumerated):
    import matplotlib.pyplot as plt

    res = enumerated.subset("outcome == 'satisfaction_index' and sample == 'all' and treatment == 'police_per_10k'")
    fig = res.plot()
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert labels[-2:] == ["wild bootstrap: p < 0.05", "wild bootstrap: p >= 0.05"]
    tab = res.tidy()
    n_sig = int((tab["boot_p"] < 0.05).sum())
    assert n_sig > 0
    rings = [c for c in fig.axes[0].collections
             if hasattr(c, "get_facecolors") and len(c.get_offsets()) == n_sig and len(c.get_facecolors()) == 0]
    assert len(rings) == 1
    plt.close(fig)


# --------------------------------------------------------------------------- regression weights


def test_weights_equal_pyfixest_feols_weights(coded):
    """Every standard-error kind (two-way clustering goes to pyfixest with the weights), missing
    values and a sample restriction, against pyfixest feols(weights=) one call each."""
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k", "auxiliary_per_10k"],
                          controls=["grid_density", "rapid_police_reform"],
                          fixed_effects=["unit", "unit + year", "year", "none", "unit + place_year"],
                          clusters=["place", "year", "iid", "hetero", "place + year"],
                          samples={"all": None, "2014+": "year >= 2014"}, weights="population")
    tab = run_multiverse(spec, coded, bootstrap="never").tidy()
    assert set(tab["engine"]) == {"fast", "pyfixest"}
    rng = np.random.default_rng(21)
    picks = [rng.choice(g.index) for _, g in tab.groupby(["fixed_effects", "cluster"], observed=True)]
    for i in picks:
        row = tab.loc[i]
        fml, t, _ = _formula(row, spec)
        cl = next(c for c in spec.clusters if c.label == row["cluster"])
        vcov = cl.kind if cl.kind in ("iid", "hetero") else {"CRV1": "+".join(cl.columns)}
        d = coded if row["sample"] == "all" else coded.query("year >= 2014")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = pf.feols(fml, d, vcov=vcov, weights="population", fixef_tol=1e-12)
        msg = str(row[:7].to_dict())
        np.testing.assert_allclose(row["estimate"], fit.coef()[t], rtol=1e-10, err_msg=msg)
        np.testing.assert_allclose(row["std_error"], fit.se()[t], rtol=1e-10, err_msg=msg)
        assert row["nobs"] == fit._N
    unweighted = run_multiverse(dataclasses.replace(spec, weights=None), coded, bootstrap="never").tidy()
    assert not np.allclose(unweighted["estimate"], tab["estimate"])


def test_bad_weights_are_listed_row_by_row(coded):
    bad = coded.copy()
    bad["population"] = bad["population"].astype(float)
    bad.loc[[4, 9, 17], "population"] = [-3.0, np.nan, 0.0]
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"], weights="population",
                          fixed_effects=["unit + year"], clusters=["place"])
    with pytest.raises(DataValidationError) as err:
        run_multiverse(spec, bad)
    rows = err.value.table()
    assert rows["row"].tolist() == [6, 11, 19]
    assert (rows["column"] == "population").all()
    assert "regression weight -3 is not positive" in str(err.value)
    # rows outside every sample are not checked; a missing weights column is reported with the rest
    clean = ~bad.index.isin([4, 9, 17])
    ok = dataclasses.replace(spec, samples={"clean": clean})
    assert run_multiverse(ok, bad).tidy()["nobs"].iloc[0] == clean.sum()
    with pytest.raises(DataValidationError, match="weights column is not a column"):
        run_multiverse(dataclasses.replace(spec, weights="pop"), coded)
