"""The event study's TWFE wild bootstrap shares one design across coefficients: same numbers.

``govstats.inference.wild_cluster_bootstrap_params`` fits the regression, partials out the
fixed effects and draws the weights once for every coefficient; each result must equal a
separate ``wild_cluster_bootstrap`` call (the reference, itself pinned to wildboottest in
tests/test_inference*.py) to the last bit.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from govstats.inference import wild_cluster_bootstrap, wild_cluster_bootstrap_params


def _panel(G=5, units=4, T=7, seed=0):
    """SIMULATED panel: G clusters of units, unit and year effects, a few regressors."""
    rng = np.random.default_rng(seed)
    n = G * units * T
    unit = np.repeat(np.arange(G * units), T)
    year = np.tile(np.arange(T), G * units)
    cluster = unit // units
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.normal(size=n) + 0.3 * cluster,
                      "d": ((unit % units) < 2) & (year >= 3)}).astype(float)
    y = (0.5 * X["x1"] - 0.2 * X["d"] + rng.normal(size=G * units)[unit] + rng.normal(size=T)[year]
         + rng.normal(size=G)[cluster] + rng.normal(size=n))
    fe = pd.DataFrame({"unit": unit, "year": year})
    return y.to_numpy(), X, cluster, fe


@pytest.mark.parametrize("G,reps,weights_type", [(5, 9999, "auto"), (14, 499, "rademacher"), (6, 299, "mammen")])
def test_params_equal_one_call_per_coefficient(G, reps, weights_type):
    y, X, cluster, fe = _panel(G=G, seed=G)
    kw = {"fe": fe, "reps": reps, "weights_type": weights_type, "seed": 3, "alpha": 0.1}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        many = wild_cluster_bootstrap_params(y, X, cluster, params=["x1", "d", "x2"], **kw)
        for name in ("x1", "d", "x2"):
            one = wild_cluster_bootstrap(y, X, cluster, param=name, **kw)
            got = many[name]
            for f in ("param", "estimate", "t_stat", "p_value", "ci_low", "ci_high", "reps", "enumerated",
                      "weights_type", "n_clusters", "seed", "se_cr1", "p_value_cr1", "ssc", "k_ssc", "p_min",
                      "p_min_warning"):
                assert getattr(got, f) == getattr(one, f), (name, f)
            for f in ("n0", "n1", "caa", "cab", "cbb"):
                np.testing.assert_array_equal(getattr(got.draws, f), getattr(one.draws, f))
    assert list(many) == ["x1", "d", "x2"]


def test_params_bad_input_as_the_single_call():
    y, X, cluster, fe = _panel()
    assert wild_cluster_bootstrap_params(y, X, cluster, params=[], fe=fe) == {}
    with pytest.raises(KeyError, match="nope"):
        wild_cluster_bootstrap_params(y, X, cluster, params=["x1", "nope"], fe=fe)
    with pytest.raises(ValueError, match="alpha"):
        wild_cluster_bootstrap_params(y, X, cluster, params=["x1"], fe=fe, alpha=2)


def test_event_study_twfe_bootstrap_equals_one_call_per_coefficient():
    from govstats import did
    from govstats.simulate import simulate_panel

    sim = simulate_panel(places=["hengyang", "quzhou", "dongcheng", "shaoyang", "futian"], units_per_place=6, seed=4,
                         years=range(2008, 2021))
    spec = did.EventStudySpec("satisfaction_index", cohort="grid_year", cluster="place_id", leads=3, lags=3,
                              controls=("aux_village_reform",), reps=999, estimators=("twfe",))
    sample, _, _ = did.prepare_event_data(spec, sim.data)
    sample = sample.assign(_y=sample[spec.outcome].astype(float), ctl_0=sample["aux_village_reform"].astype(float))
    dummies = did._event_dummies(sample, spec)
    frame = pd.concat([sample, dummies], axis=1)
    regs = [*dummies.columns, "ctl_0"]
    got = did._bootstrap(frame, regs, list(dummies.columns), spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name in dummies.columns:
            r = wild_cluster_bootstrap(frame["_y"].to_numpy(), frame[regs].astype(float),
                                       frame["place_id"].to_numpy(), param=name, fe=frame[["unit_id", "year"]],
                                       reps=999, seed=0)
            assert got[name] == (r.p_value, r.ci_low, r.ci_high, r.p_min_warning)
