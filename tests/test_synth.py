"""Synthetic control / synthetic DiD against R synthdid, the published Proposition 99 table and a simulated truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govstats import synth, textbook
from govstats.errors import DataValidationError, GovstatsError

REFS = textbook.load_references()
PROP99 = REFS[REFS["dataset"] == "prop99"]
SPEC = synth.SynthSpec(outcome="packs_per_capita", treated="California", first_treated=1989)


@pytest.fixture(scope="module")
def prop99():
    return synth.load_prop99()


@pytest.fixture(scope="module")
def point_estimates(prop99):
    return {e: synth.fit(SPEC, prop99, estimator=e, inference="none") for e in ("sdid", "sc", "did")}


def test_prop99_panel_shape(prop99):
    assert prop99.shape == (1209, 2)
    assert prop99.index.get_level_values("state").nunique() == 39
    treated = prop99[prop99["treated"] == 1]
    assert set(treated.index.get_level_values("state")) == {"California"}
    assert treated.index.get_level_values("year").min() == 1989


COEF_ROWS = PROP99[PROP99["statistic"] == "coef"]


@pytest.mark.parametrize("i", COEF_ROWS.index.tolist(),
                         ids=[f"{r.model}-{r.decimals}dp" for r in COEF_ROWS.itertuples()])
def test_prop99_point_estimates(i, point_estimates):
    row = COEF_ROWS.loc[i]
    est = row["model"].removeprefix("prop99_")
    got = point_estimates[est].att
    assert abs(got - row["value"]) <= row["tolerance"], (got, row["value"], row["source"])


SE_ROWS = PROP99[PROP99["statistic"] == "se"]


@pytest.mark.slow
@pytest.mark.parametrize("i", SE_ROWS.index.tolist(), ids=[r.model for r in SE_ROWS.itertuples()])
def test_prop99_placebo_standard_errors(i, prop99):
    row = SE_ROWS.loc[i]
    res = synth.fit(SPEC, prop99, estimator=row["model"].removeprefix("prop99_"))
    assert len(res.placebo) == 38
    assert abs(res.se()["ATT"] - row["value"]) <= row["tolerance"], (res.se()["ATT"], row["value"])


def test_weights_are_on_the_simplex(point_estimates):
    for est, res in point_estimates.items():
        assert res.unit_weights.min() >= 0
        assert res.unit_weights.sum() == pytest.approx(1.0)
        if est == "sc":
            assert (res.time_weights == 0).all()
        else:
            assert res.time_weights.sum() == pytest.approx(1.0)
    assert np.allclose(point_estimates["did"].unit_weights, 1 / 38)


def test_paths_gap_averages_to_the_estimate(point_estimates):
    for res in point_estimates.values():
        post = res.paths.loc[res.paths.index >= 1989, "gap"]
        assert post.mean() == pytest.approx(res.att, abs=1e-9)


def test_did_equals_two_way_fixed_effects(prop99):
    """DID with uniform weights = the TWFE coefficient on the treatment dummy (linearmodels)."""
    from linearmodels.panel import PanelOLS

    twfe = PanelOLS(prop99["packs_per_capita"], prop99[["treated"]], entity_effects=True,
                    time_effects=True).fit()
    res = synth.fit(SPEC, prop99, estimator="did", inference="none")
    assert res.att == pytest.approx(twfe.params["treated"], rel=1e-10)


def _simulated(effect: float, seed: int = 3, n_units: int = 15, years=range(2005, 2021)):
    rng = np.random.default_rng(seed)
    years = list(years)
    factor = np.cumsum(rng.normal(0, 1, len(years)))
    rows = []
    for u in range(n_units):
        load = rng.uniform(0.5, 1.5)
        level = rng.normal(50, 5)
        for t, year in enumerate(years):
            y = level + load * factor[t] + rng.normal(0, 0.3)
            if u == 0 and year >= 2016:
                y += effect
            rows.append((f"unit{u}", year, y))
    return pd.DataFrame(rows, columns=["unit", "year", "y"]).set_index(["unit", "year"])


def test_recovers_a_known_simulated_effect():
    data = _simulated(effect=-4.0)
    spec = synth.SynthSpec(outcome="y", treated="unit0", first_treated=2016)
    for est in ("sdid", "sc"):
        res = synth.fit(spec, data, estimator=est)
        assert abs(res.att + 4.0) < 1.0, (est, res.att)
        if est == "sdid":  # more extreme than every placebo (SC's placebo for an extreme donor is not)
            assert res.pvalue()["ATT"] == pytest.approx(1 / 15)


def test_placebo_random_draws_are_seeded():
    data = _simulated(effect=0.0)
    spec = synth.SynthSpec(outcome="y", treated="unit0", first_treated=2016)
    a = synth.fit(spec, data, estimator="sc", reps=7, seed=11)
    b = synth.fit(spec, data, estimator="sc", reps=7, seed=11)
    assert len(a.placebo) == 7
    pd.testing.assert_series_equal(a.placebo, b.placebo)
    assert "Estimate" in a.tidy().columns and "Synthetic control" in a.summary()


def test_missing_treated_unit_is_named():
    data = _simulated(effect=0.0)
    with pytest.raises(DataValidationError, match="treated unit 'Shaoyang' is not in the data"):
        synth.fit(synth.SynthSpec("y", "Shaoyang", 2016), data)


def test_too_few_pre_periods():
    data = _simulated(effect=0.0)
    with pytest.raises(DataValidationError, match="1 period\\(s\\) before the first treated period 2006"):
        synth.fit(synth.SynthSpec("y", "unit0", 2006), data)


def test_donor_gaps_are_listed_all_at_once():
    data = _simulated(effect=0.0).drop([("unit3", 2010), ("unit5", 2012)])
    with pytest.raises(DataValidationError) as err:
        synth.fit(synth.SynthSpec("y", "unit0", 2016), data)
    text = str(err.value)
    assert "donor 'unit3' has no 'y' value for period(s) [2010]" in text
    assert "donor 'unit5'" in text and "balanced panel" in text


def test_bad_layout_and_estimator():
    data = _simulated(effect=0.0)
    with pytest.raises(GovstatsError, match=r"indexed by \(unit, time\)"):
        synth.fit(synth.SynthSpec("y", "unit0", 2016), data.reset_index())
    with pytest.raises(GovstatsError, match="estimator must be one of"):
        synth.fit(synth.SynthSpec("y", "unit0", 2016), data, estimator="mc")  # type: ignore[arg-type]
    with pytest.raises(DataValidationError, match="donor"):
        synth.fit(synth.SynthSpec("y", "unit0", 2016, donors=("unit1",)), data)


def test_frank_wolfe_loops_give_the_same_iterates_exactly():
    """The numba-compiled Frank-Wolfe loop and the numpy one (used without numba) are the
    plain-Python scalar loop, bit for bit (no fast-math)."""
    from govstats import synth

    loops = [synth._fw_loop, synth._fw_loop_numpy]
    if synth._fw_loop_compiled() is not None:
        loops.append(synth._fw_loop_compiled())
    rng = np.random.default_rng(7)
    for n, t0, zeta in [(40, 30, 0.1), (12, 39, 1e-3), (25, 8, 2.0)]:
        A = np.cumsum(rng.normal(size=(n, t0)), axis=0)
        b = rng.normal(size=n)
        G, c = A.T @ A, A.T @ b
        eta = n * zeta**2
        MT = np.ascontiguousarray((G + eta * np.eye(t0) - c[:, None]).T)
        runs = []
        for loop in loops:
            x = np.full(t0, 1.0 / t0)
            hg = G @ x - c + eta * x
            steps = loop(MT, np.diag(G).copy(), c, hg, x, float(x @ x), float(c @ x),
                         float(x @ G @ x), eta, zeta, float(b @ b), float(n), 1e-16, 3000)
            runs.append((steps, x, hg))
        assert runs[0][0] > 2
        for other in runs[1:]:
            assert other[0] == runs[0][0]
            np.testing.assert_array_equal(other[1], runs[0][1])
            np.testing.assert_array_equal(other[2], runs[0][2])
