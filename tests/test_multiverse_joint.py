"""The joint test's cross-product draws against re-estimation on the resampled rows.

``joint_test(method="auto")`` solves every draw from count-weighted per-cluster
cross-products (:mod:`govstats.multiverse.crossdraws`); ``method="resample"`` builds
each draw's rows (``joint._resample``) and re-runs the engine on them, the path pinned
to pyfixest in ``tests/test_multiverse.py``. Here the two must agree specification by
specification and draw by draw (same seed, hence the same clusters drawn): estimates and
standard errors within 1e-9 (relative), degrees of freedom exactly, the same
specifications not estimated; and one draw is checked against pyfixest itself, on the
resampled rows written out here.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from govstats import datasets
from govstats.multiverse import MultiverseSpec, joint, joint_test, run_multiverse
from govstats.multiverse.data import _prepare
from govstats.multiverse.engine import _make_plan

pf = pytest.importorskip("pyfixest")

# year 2012 holds one unit's rows only: an outer (year) level that is a singleton in the
# data, absent from a draw without that unit, and two rows in a draw with it twice
LONE_YEAR = "year >= 2016 or (year == 2012 and unit_id == 'futian.sim0001')"


@pytest.fixture(scope="module")
def sim(unbalanced_simulated_panel) -> pd.DataFrame:
    """SIMULATED panel, 30 units x 12 years, unbalanced, a few missing values (conftest)."""
    return unbalanced_simulated_panel


@pytest.fixture(scope="module")
def crime() -> pd.DataFrame:
    return datasets.load_nc_crime()


def _both(results, data, resample: str, reps: int, seed: int = 3, engine: str = "auto"):
    """(estimate, std_error, df, redo) of the cross-product path and of re-estimation, every draw."""
    prep = _prepare(results.spec, data, extra_ids=(resample,))
    plan = _make_plan(results.spec, prep, results._table["spec_id"].to_numpy())
    r = prep.id(resample)
    nested = joint._nested_in(prep.ids, r)
    seeds = np.random.SeedSequence(seed).spawn(reps)
    est, se, df, redo, setups = joint._cross_draws(prep, plan, r, nested, seeds)
    ref = joint._resampled_estimates(prep, plan, r, nested, seeds, np.ones_like(redo), engine)
    # block-draws flagged for re-estimation are left NaN by the cross-product path
    # (joint_test re-estimates them): compare the others
    keep = np.ones(est.shape, dtype=bool)
    for j, bp in enumerate(plan.blocks):
        pos = np.concatenate([pc.spec_ids for pc in bp.pieces])
        keep[np.ix_(redo[:, j], pos)] = False
    assert keep.mean() > 0.5
    return (est, se, df, keep), ref, redo, setups


def _assert_same(new, ref, redo):
    est, se, df, keep = new
    e2, s2, d2 = ref
    np.testing.assert_array_equal(np.isnan(est[keep]), np.isnan(e2[keep]))
    np.testing.assert_array_equal(np.isnan(se[keep]), np.isnan(s2[keep]))
    np.testing.assert_allclose(est[keep], e2[keep], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(se[keep], s2[keep], rtol=1e-9, atol=1e-13)
    np.testing.assert_array_equal(df[keep], d2[keep])


SIM_CASES = {
    # resample, fixed effects, clusters, controls, samples
    "unit resampled, unit FE": ("unit_id", ["unit_id"], ["unit_id", "place_id", "year", "iid", "hetero"],
                                ["grid_density", "rapid_police_reform"], None),
    "unit resampled, unit + year FE, no controls": ("unit_id", ["unit_id + year"], ["unit_id", "place_id", "year",
                                                                                      "iid", "hetero"], [], None),
    "unit resampled, every FE, samples": (
        "unit_id", ["unit_id", "unit_id + year", "unit_id + place_id^year", "year", "none"],
        ["unit_id", "place_id", "year", "hetero"], ["grid_density"],
        {"all": None, "no futian": "place_id != 'futian'", "2016+": "year >= 2016"}),
    # units nested in the resampled places: unit clusters are (place copy, unit) cells
    "place resampled": ("place_id", ["unit_id + year", "year"], ["unit_id", "place_id", "year", "iid"],
                        ["grid_density"], None),
    # the unit effect not nested in the resampled years: explicit dummies, year copies
    "year resampled (unit FE not nested)": ("year", ["unit_id", "unit_id + year"], ["unit_id", "year", "hetero"],
                                            ["grid_density"], None),
}


@pytest.mark.parametrize("case", list(SIM_CASES))
def test_cross_products_equal_resampling_on_the_simulated_panel(case, sim):
    resample, fes, clusters, controls, samples = SIM_CASES[case]
    spec = MultiverseSpec(outcomes=["satisfaction_index", "satisfaction_pct"],
                          treatments=["police_per_10k", "placebo"], controls=controls,
                          fixed_effects=fes, clusters=clusters, samples=samples)
    res = run_multiverse(spec, sim)
    new, ref, redo, setups = _both(res, sim, resample, reps=6)
    assert not any(isinstance(s, str) for s in setups)
    # re-estimated: only draws with a singleton place x year cell (one unit of a place drawn)
    assert redo.mean() < 0.1 if "every FE" in case else not redo.any()
    _assert_same(new, ref, redo)


def test_cross_products_equal_resampling_on_nc_crime(crime):
    spec = MultiverseSpec(outcomes=["lcrmrte"], treatments=["lpolpc"],
                          controls=["lprbarr", "lprbconv", "ldensity"],
                          fixed_effects={"county": "unit", "county + year": "unit + time", "year": "time",
                                         "none": "none"},
                          clusters={"county": "unit", "year": "time", "iid": "iid", "hetero": "hetero"},
                          samples={"all": None, "1983-1987": "year > 1982"})
    res = run_multiverse(spec, crime)
    for resample in ("county", "year"):  # counties nest the county effects; years do not
        new, ref, redo, _ = _both(res, crime, resample, reps=10, seed=8)
        assert not redo.any()
        _assert_same(new, ref, redo)


def test_collinear_controls_and_singletons_are_handled_like_the_engine(sim):
    """Leave-one-place-out drops a reform control that only that place has (pyfixest's rule);
    a year seen in one unit only is a singleton in some draws (re-estimated) and two rows in others."""
    sim2 = sim.assign(futian_only=np.where(sim["place_id"] == "futian", sim["grid_density"], 0.0))
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          controls=["futian_only", "rapid_police_reform"],
                          fixed_effects=["unit_id + year", "year"], clusters=["unit_id", "year", "iid"],
                          samples={"no futian": "place_id != 'futian'", "lone year": LONE_YEAR})
    res = run_multiverse(spec, sim2)
    assert res.tidy()["note"].str.contains("dropped as collinear").any()
    new, ref, redo, _ = _both(res, sim2, "unit_id", reps=19, seed=1)
    assert redo.any() and not redo.all()  # some draws hold the lone year's unit once
    _assert_same(new, ref, redo)
    jt_new = joint_test(res, sim2, reps=19, resample="unit_id", seed=1)
    jt_old = joint_test(res, sim2, reps=19, resample="unit_id", seed=1, method="resample")
    np.testing.assert_allclose(jt_new.draws.to_numpy(), jt_old.draws.to_numpy(), rtol=1e-10, atol=1e-12)
    assert "re-estimated on resampled rows" in jt_new.path and jt_new.path.startswith("cross-products")


def test_joint_test_draws_equal_the_resampling_path(sim):
    spec = MultiverseSpec(outcomes=["satisfaction_index"],
                          treatments=["police_per_10k"], controls=["grid_density", "rapid_police_reform"],
                          fixed_effects=["unit_id", "unit_id + year", "unit_id + place_id^year"],
                          clusters=["unit_id", "place_id", "year", "hetero"],
                          samples={"all": None, "no futian": "place_id != 'futian'"})
    res = run_multiverse(spec, sim)
    for alt in ("two-sided", "less"):
        a = joint_test(res, sim, reps=19, resample="unit_id", seed=5, alternative=alt)
        b = joint_test(res, sim, reps=19, resample="unit_id", seed=5, alternative=alt, method="resample")
        np.testing.assert_allclose(a.draws.to_numpy(), b.draws.to_numpy(), rtol=1e-10, atol=1e-12)
        pd.testing.assert_frame_equal(a.tidy(), b.tidy(), rtol=1e-10)
    # two-way clustering is re-estimated on every draw (pyfixest), and said so
    spec2 = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                           fixed_effects=["unit_id + year"], clusters=["unit_id", "place_id + year"])
    res2 = run_multiverse(spec2, sim)
    a = joint_test(res2, sim, reps=19, resample="unit_id", seed=5)
    b = joint_test(res2, sim, reps=19, resample="unit_id", seed=5, method="resample")
    np.testing.assert_allclose(a.draws.to_numpy(), b.draws.to_numpy(), rtol=1e-10, atol=1e-12)
    assert "two-way clustered" in a.path


def test_weighted_draws_equal_the_resampling_path(sim):
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          controls=["rapid_police_reform"], fixed_effects=["unit_id", "unit_id + year", "year"],
                          clusters=["unit_id", "place_id", "hetero"], weights="population")
    res = run_multiverse(spec, sim)
    new, ref, redo, _ = _both(res, sim, "unit_id", reps=10, seed=2)
    assert not redo.any()
    _assert_same(new, ref, redo)


def test_one_draw_against_pyfixest_on_the_resampled_rows(sim):
    """The cross-product path's first draw equals pyfixest on that draw's rows, written out here
    (units drawn twice relabelled)."""
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          always_controls=["grid_density"], fixed_effects=["unit_id + year"],
                          clusters=["unit_id", "place_id", "hetero"])
    res = run_multiverse(spec, sim)
    (est, se, _, _), _, _, _ = _both(res, sim, "unit_id", reps=1, seed=21)
    units = np.sort(sim["unit_id"].unique())
    draw = np.random.default_rng(np.random.SeedSequence(21).spawn(1)[0]).integers(0, len(units), len(units))
    boot = pd.concat([sim[sim["unit_id"] == units[g]].assign(unit_id=f"{units[g]}#{j}")
                      for j, g in enumerate(draw)], ignore_index=True)
    tab = res.tidy()
    for i, row in tab.iterrows():
        cl = {"unit_id": {"CRV1": "unit_id"}, "place_id": {"CRV1": "place_id"}, "hetero": "hetero"}[row["cluster"]]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = pf.feols("satisfaction_index ~ police_per_10k + grid_density | unit_id + year", boot, vcov=cl,
                           fixef_tol=1e-12)
        np.testing.assert_allclose(est[0, i], fit.coef()["police_per_10k"], rtol=1e-9)
        np.testing.assert_allclose(se[0, i], fit.se()["police_per_10k"], rtol=1e-9)


def test_method_is_checked(sim):
    spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
                          fixed_effects=["unit_id"], clusters=["unit_id"])
    res = run_multiverse(spec, sim)
    with pytest.raises(ValueError, match="method="):
        joint_test(res, sim, reps=19, resample="unit_id", method="fast")
    jt = joint_test(res, sim, reps=19, resample="unit_id", engine="pyfixest")
    assert jt.path == "every draw re-estimated on its resampled rows"
