"""The simulated panel: deterministic, labelled SIMULATED, calibrated, and its truth recoverable."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from govstats.simulate import REFORMS, TrueEffects, calibration, simulate_panel

SEEDS_DIR = Path(__file__).resolve().parents[2] / "shared" / "seeds"
REFERENCE_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference"
SLOPES = ["police_per_10k", "auxiliary_per_10k", "mediators_per_10k", "grid_density"]


def test_deterministic_given_seed_and_labelled():
    a = simulate_panel(seed=11)
    b = simulate_panel(seed=11)
    c = simulate_panel(seed=12)
    pd.testing.assert_frame_equal(a.data, b.data)
    assert not a.data["satisfaction_pct"].equals(c.data["satisfaction_pct"])
    assert a.label.startswith("SIMULATED") and a.data.attrs["simulated"] is True
    assert a.data.attrs["label"] == a.label
    assert a.panel().index.names == ["unit_id", "year"] and a.panel().attrs["simulated"] is True
    assert not a.data.duplicated(["unit_id", "year"]).any()


def test_units_are_registry_sub_units_and_sizes_scale():
    sim = simulate_panel(seed=0)
    counts = sim.data.groupby("place_id")["unit_id"].nunique().to_dict()
    # documented: Dongcheng 17 streets; Shaoyang 12 county-level divisions
    assert counts["dongcheng"] == 17 and counts["shaoyang"] == 12
    assert "shaoyang.wugang" in set(sim.data["unit_id"])
    assert sim.data["year"].min() == 2008 and sim.data["year"].max() == 2023
    big = simulate_panel(units_per_place=400, years=range(2010, 2020), seed=0)
    assert big.data.shape[0] == 5 * 400 * 10
    assert big.data["unit_id"].str.contains(r"\.sim\d{4}$").all()


@pytest.mark.skipif(
    not (SEEDS_DIR.is_dir() and REFERENCE_DIR.is_dir()),
    reason="the source documents and reference tables (../shared) are not beside this checkout",
)
def test_calibration_table_facts_point_to_their_sources():
    cal = calibration()
    assert set(cal["kind"]) == {"fact", "derived", "assumption"}
    facts = cal[cal["kind"] == "fact"]
    # the file's free-text source column holds unquoted commas: read the first five columns
    census = pd.read_csv(REFERENCE_DIR / "population_census.csv", usecols=range(5), index_col=False)
    for _, row in facts.iterrows():
        if row["source_file"].endswith("population_census.csv"):
            en = {"hengyang": "Hengyang", "shaoyang": "Shaoyang", "quzhou": "Quzhou",
                  "dongcheng": "Dongcheng", "futian": "Futian"}[row["place_id"]]
            pops = census.loc[(census["place_en"] == en) & (census["reference_date"] == "2020-11-01"),
                              "resident_population"]
            assert float(row["value"]) == float(pops.item())
        else:
            text = (SEEDS_DIR / row["source_file"]).read_text(encoding="utf-8")
            assert row["source_phrase"] and row["source_phrase"] in text, row["parameter"]
            number = row["value"].split(".")[0] if row["value"].endswith(".0") else row["value"]
            assert number in row["source_phrase"] or number in text, row["parameter"]
    assumptions = cal[cal["kind"] == "assumption"]
    assert {"police_per_10k_before_reform", "aux_per_10k_baseline"} <= set(assumptions["parameter"])


def test_calibration_levels_hold_by_construction():
    weighted, rural = [], []
    for seed in range(20):
        d = simulate_panel(places=["shaoyang"], seed=seed).data
        pre = d[d["year"] < 2016]  # before 一村一辅警 (2016) and 城市快警 (2017)
        weighted.append(np.average(pre["police_per_10k"], weights=pre["population"]))
        r = pre[pre["rural"]]
        rural.append(np.average(r["police_per_10k"], weights=r["population"]))
    assert np.mean(weighted) == pytest.approx(6.1, abs=0.03)  # 6.1/万人口
    assert np.mean(rural) == pytest.approx(5.8, abs=0.03)  # 5.8/万人口
    assert max(abs(np.array(weighted) - 6.1)) < 0.25
    d = simulate_panel(seed=3).data
    sy = d[d["place_id"] == "shaoyang"]
    assert (sy.groupby("unit_id")["aux_village_year"].first() == 2016).all()
    assert (sy.groupby("unit_id")["rapid_police_year"].first() == 2017).all()
    # 3299 village officers: the jump in auxiliary officers at 2016, summed over units
    by_year = sy.assign(n_aux=sy["auxiliary_per_10k"] * sy["population"] / 1e4).groupby("year")["n_aux"].sum()
    assert by_year[2016] - by_year[2015] == pytest.approx(3299, rel=0.05)
    # rapid police: 33 platforms x 24 auxiliaries join in 2017
    assert by_year[2017] - by_year[2016] == pytest.approx(33 * 24, rel=0.25)
    # Qujiang's simulated mediators in 2010 number the documented 1600
    qj = d[(d["unit_id"] == "quzhou.qujiang") & (d["year"] == 2010)]
    assert (qj["mediators_per_10k"] * qj["population"] / 1e4).item() == pytest.approx(1600, rel=0.15)
    # the 2021 mean satisfaction is the national 98.6% on the link scale
    s21 = d.loc[d["year"] == 2021, "satisfaction_pct"]
    assert np.mean(np.log(s21 / (100 - s21))) == pytest.approx(np.log(98.6 / 1.4), abs=1e-9)
    assert (d["satisfaction_pct"] < 100).all()
    never = d[d["place_id"].isin(["futian"])]
    assert never[[f"{r}_reform" for r in REFORMS]].to_numpy().sum() == 0


def test_two_way_fe_recovers_true_slopes():
    pf = pytest.importorskip("pyfixest")
    sim = simulate_panel(units_per_place=60, seed=5)
    fit = pf.feols(
        "satisfaction_index ~ police_per_10k + auxiliary_per_10k + mediators_per_10k + grid_density"
        " + aux_village_reform + rapid_police_reform + grid_reform | unit_id + year",
        sim.data,
        vcov={"CRV1": "unit_id"},
    )
    truth = sim.truth.coefficients | {f"{r}_reform": sim.truth.effects.tau(r) for r in REFORMS}
    z = (fit.coef() - pd.Series(truth)) / fit.se()
    assert (z.abs() < 3).all(), z
    # and the logit link is exact: logit(satisfaction) is the linear index
    s = sim.data["satisfaction_pct"] / 100
    np.testing.assert_allclose(np.log(s / (1 - s)), sim.data["satisfaction_index"], atol=1e-8)


def test_linear_link_gives_percentage_points():
    sim = simulate_panel(seed=2, effects=TrueEffects(link="linear"))
    np.testing.assert_allclose(sim.data["satisfaction_pct"], sim.data["satisfaction_index"])
    assert sim.data.loc[sim.data["year"] == 2021, "satisfaction_pct"].mean() == pytest.approx(98.6)
    assert sim.truth.outcome_scale == "percentage points"


def test_event_time_truth_for_dynamic_effects():
    eff = TrueEffects(phase_in=0.5, effect_heterogeneity=0.0)
    sim = simulate_panel(seed=4, effects=eff)
    assert sim.truth.event_effect("aux_village", -1) == 0.0
    assert sim.truth.event_effect("aux_village", 0) == pytest.approx(0.15 * 0.5)
    assert sim.truth.event_effect("aux_village", 2) == pytest.approx(0.15 * (1 - 0.5**3))
    # total = direct + channel, channel = beta_aux x the 3299-officer jump (mean over units)
    row = sim.truth.event_effects.query("reform == 'aux_village' and event_time == 1").iloc[0]
    assert row["total_effect"] == pytest.approx(row["direct_effect"] + row["channel_effect"])
    assert row["channel_effect"] > 0
    d = sim.data
    ev = d["aux_village_event_time"]
    assert ev[d["aux_village_reform"] == 1].min() == 0 and ev[d["aux_village_reform"] == 0].max() < 0


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown places"):
        simulate_panel(places=["atlantis"])
    with pytest.raises(ValueError, match="consecutive"):
        simulate_panel(years=[2010, 2012])
    with pytest.raises(ValueError, match="link"):
        TrueEffects(link="probit")
    with pytest.raises(ValueError, match="rho"):
        TrueEffects(rho=1.0)


def test_written_dgp_document_matches_the_code():
    from govstats.simulate import DGP_TEXT

    doc = (Path(__file__).resolve().parents[1] / "docs" / "simulation_dgp.md").read_text(encoding="utf-8")
    assert DGP_TEXT in doc
    for name, value in TrueEffects().__dict__.items():
        assert f"| `{name}` | {value} |" in doc


# --------------------------------------------------------------------------- the two options (off by default)

SATISFACTION = ["satisfaction_pct", "satisfaction_index"]


def test_new_options_are_off_by_default_and_touch_only_satisfaction():
    base = simulate_panel(seed=9, units_per_place=8)
    assert TrueEffects().cohort_decay == 0.0 and TrueEffects().beta_mediation_success == 0.0
    for eff in (TrueEffects(cohort_decay=0.3), TrueEffects(beta_mediation_success=0.7)):
        on = simulate_panel(seed=9, units_per_place=8, effects=eff)
        rest = [c for c in base.data.columns if c not in SATISFACTION]
        pd.testing.assert_frame_equal(on.data[rest], base.data[rest])  # no extra random draws
        assert not np.allclose(on.data["satisfaction_index"], base.data["satisfaction_index"])
    # the latent mediator is the logit of the success share
    s = base.data["mediation_success_pct"] / 100
    np.testing.assert_allclose(np.log(s / (1 - s)), base.data["mediation_success_index"], atol=1e-9)


def test_cohort_effects_follow_the_written_formula():
    decay, phase, tau = 0.25, 0.5, 0.4
    sim = simulate_panel(places=["hengyang", "quzhou", "dongcheng"], units_per_place=20, seed=4,
                         effects=TrueEffects(cohort_decay=decay, phase_in=phase, tau_grid=tau))
    adopt = sim.truth.adoption.dropna(subset=["grid_year"])
    years = adopt["grid_year"].astype(int)
    # k = (1 - d)^(A - A_first), scaled to mean 1 over the adopting units (independent computation)
    raw = (1 - decay) ** (years - years.min())
    np.testing.assert_allclose(adopt["grid_cohort_multiplier"], raw / raw.mean(), rtol=1e-12)
    assert adopt["grid_cohort_multiplier"].mean() == pytest.approx(1.0)
    assert adopt["grid_multiplier"].equals(adopt["grid_cohort_multiplier"])  # no unit heterogeneity here
    ce = sim.truth.cohort_effects.query("reform == 'grid'")
    first, last = years.min(), years.max()
    k = dict(zip(years, adopt["grid_cohort_multiplier"], strict=True))
    for g, e in [(first, 0), (first, 3), (last, 2)]:
        assert sim.truth.cohort_effect("grid", g, e) == pytest.approx(tau * (1 - phase ** (e + 1)) * k[g])
    assert sim.truth.cohort_effect("grid", last, -2) == 0.0
    assert sim.truth.cohort_effect("grid", first, 2) > 2 * sim.truth.cohort_effect("grid", last, 2)
    # event-time truth = cohort truths weighted by the cohorts' shares of the adopters observed there
    agg = ce.assign(w=ce["weight"] * ce["direct_effect"]).groupby("event_time")["w"].sum()
    ev = sim.truth.event_effects.query("reform == 'grid'").set_index("event_time")
    np.testing.assert_allclose(agg.loc[ev.index], ev["direct_effect"], atol=1e-12)
    np.testing.assert_allclose(ce.groupby("event_time")["weight"].sum(), 1.0)
    # the ATT: every treated observation once
    d = sim.data
    treated = d[d["grid_reform"] == 1]
    mult = sim.truth.adoption.set_index("unit_id")["grid_multiplier"]
    effect = tau * (1 - phase ** (treated["grid_event_time"].astype(float) + 1)) * mult.loc[treated["unit_id"]].to_numpy()
    assert sim.truth.att("grid") == pytest.approx(effect.mean())


def test_satisfaction_minus_the_known_truth_is_the_ar1_noise():
    eff = TrueEffects(cohort_decay=0.25, phase_in=0.5, effect_heterogeneity=0.2, beta_mediation_success=0.5)
    sim = simulate_panel(units_per_place=40, seed=6, effects=eff)
    d, tr = sim.data, sim.truth
    explained = tr.intercept + tr.unit_effects.loc[d["unit_id"]].to_numpy() + tr.year_effects.loc[d["year"]].to_numpy()
    explained = explained + sum(b * d[k] for k, b in tr.coefficients.items())
    explained = explained + eff.beta_mediation_success * d["mediation_success_index"]
    adoption = tr.adoption.set_index("unit_id")
    for r in REFORMS:
        e = d[f"{r}_event_time"].astype(float).fillna(-1).to_numpy()
        m = adoption[f"{r}_multiplier"].loc[d["unit_id"]].to_numpy()
        explained = explained + np.where(d[f"{r}_reform"] == 1, eff.effect(r, e) * m, 0.0)
    noise = (d["satisfaction_index"] - explained).to_numpy()
    # eps = rho eps_{t-1} + sd_noise z: stationary sd sd_noise / sqrt(1 - rho^2), lag-1 autocorrelation rho
    assert noise.std() == pytest.approx(eff.sd_noise / np.sqrt(1 - eff.rho**2), rel=0.05)
    lagged = pd.Series(noise).groupby(d["unit_id"].to_numpy()).shift()
    assert np.corrcoef(noise[lagged.notna()], lagged.dropna())[0, 1] == pytest.approx(eff.rho, abs=0.05)
    assert abs(np.corrcoef(noise, d["grid_reform"])[0, 1]) < 0.05


def test_two_way_fe_recovers_the_mediator_paths():
    pf = pytest.importorskip("pyfixest")
    eff = TrueEffects(beta_mediation_success=0.5)
    sim = simulate_panel(units_per_place=60, seed=8, effects=eff)
    reforms = " + aux_village_reform + rapid_police_reform + grid_reform"
    staffing = " + ".join(SLOPES)
    fits = {
        "mediator": pf.feols(f"mediation_success_index ~ {staffing} | unit_id + year", sim.data,
                             vcov={"CRV1": "unit_id"}),
        "outcome": pf.feols(f"satisfaction_index ~ {staffing} + mediation_success_index{reforms} | unit_id + year",
                            sim.data, vcov={"CRV1": "unit_id"}),
        "total": pf.feols(f"satisfaction_index ~ {staffing}{reforms} | unit_id + year", sim.data,
                          vcov={"CRV1": "unit_id"}),
    }
    truth = {
        "mediator": pd.Series(sim.truth.mediation_slopes),
        "outcome": pd.Series(sim.truth.coefficients | {"mediation_success_index": 0.5}),
        "total": pd.Series(sim.truth.total_coefficients),
    }
    for name, fit in fits.items():
        t = truth[name]
        z = (fit.coef().loc[t.index] - t) / fit.se().loc[t.index]
        assert (z.abs() < 3).all(), (name, z)
    assert sim.truth.total_coefficients["mediators_per_10k"] == pytest.approx(0.03 + 0.08 * 0.5)
    m = sim.truth.mediation_effects("mediators_per_10k", change=2.0)
    assert m["ACME (average)"] == pytest.approx(2 * 0.08 * 0.5) and m["ADE (average)"] == pytest.approx(2 * 0.03)
    assert m["Total effect"] == pytest.approx(m["ACME (average)"] + m["ADE (average)"])
    assert simulate_panel(seed=1).truth.mediation_effects()["ACME (average)"] == 0.0  # no arrow by default
    # the grid reform now also acts through mediation success: channel = (b_G + g_G b_S) x the density jump
    jump = sim.truth.event_effects.query("reform == 'grid' and event_time == 1")["channel_effect"].item()
    base = simulate_panel(units_per_place=60, seed=8).truth.event_effects
    jump0 = base.query("reform == 'grid' and event_time == 1")["channel_effect"].item()
    assert jump == pytest.approx(jump0 * (0.02 + 0.05 * 0.5) / 0.02)


def test_new_options_are_checked():
    with pytest.raises(ValueError, match="cohort_decay"):
        TrueEffects(cohort_decay=1.0)
    with pytest.raises(KeyError, match="treatment"):
        TrueEffects().mediation_paths("satisfaction_index")
