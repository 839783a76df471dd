"""Derived indicators: per-capita values against census denominators, bounds, checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from govstats import facts as facts_mod
from govstats import indicators, paths

CENSUS = paths.raw_dir() / "place_measures.csv"


@pytest.fixture(scope="module")
def facts() -> pd.DataFrame:
    return facts_mod.load_facts()


@pytest.fixture(scope="module")
def per10k(facts):
    return indicators.per_10k(facts)


def census(place: str, date: str) -> float:
    """Read the census figure straight from the committed measures file (its source is
    ../shared/reference/population_census.csv), never retyped."""
    m = pd.read_csv(CENSUS, dtype=str)
    row = m[(m.place_id == place) & (m.measure == "population") & (m.reference_date == date)]
    assert len(row) == 1
    return float(row.value.iloc[0])


def value(df, place, indicator):
    rows = df[(df.place_id == place) & (df.indicator == indicator)]
    assert len(rows) == 1, (place, indicator, rows)
    return rows.iloc[0]


def test_rapid_police_per_10k_uses_the_2020_census_for_a_2017_fact(facts, per10k):
    row = value(per10k.values, "shaoyang", "rapid_police_staff_per_10k_people")
    staff = value(facts, "shaoyang", "rapid_police_staff_count").value
    assert row.value == pytest.approx(staff / census("shaoyang", "2020-11-01") * 1e4, rel=1e-12)
    assert "2020-11-01" in row.denominator and "2017" in row.denominator
    assert row.inputs == value(facts, "shaoyang", "rapid_police_staff_count").fact_id


def test_quzhou_facts_use_the_2010_census_of_the_documents_period(facts, per10k):
    row = value(per10k.values, "quzhou", "peace_promoters_per_10k_people")
    assert row.value == pytest.approx(30_000 / census("quzhou", "2010-11-01") * 1e4, rel=1e-12)
    # "3万多名" is a lower bound, and so is anything divided from it
    assert row.bound == "at_least" and np.isinf(row.upper)
    assert "2006-2010" in row.denominator


def test_document_denominator_uses_the_printed_population(facts):
    doc = indicators.per_10k(facts, denominator="document").values
    row = value(doc, "shaoyang", "village_auxiliary_police_per_10k_people")
    assert row.value == pytest.approx(3299 / 8_300_000 * 1e4, rel=1e-12)  # 830万, document 001
    assert ";" in row.inputs  # the count and the population fact


def test_rates_printed_as_rates_are_kept_not_recomputed(per10k):
    row = value(per10k.values, "shaoyang", "police_per_10k_people")
    assert row.value == 6.1 and row.method == "as printed"


def test_places_without_a_verified_population_are_listed_not_guessed(per10k):
    skipped = per10k.skipped.set_index("fact_id")
    qujiang = per10k.skipped[per10k.skipped.place_id == "quzhou.qujiang"]
    assert len(qujiang) == 1 and "population" in qujiang.reason.iloc[0]
    assert not per10k.values.place_id.str.contains(r"\.").any()
    assert len(skipped) >= 1


def test_ratio_bounds_propagate():
    a = pd.Series({"value": 600.0, "lower": 600.0, "upper": np.inf, "bound": "at_least"})
    b = pd.Series({"value": 589.0, "lower": 589.0, "upper": 589.0, "bound": "exact"})
    v, lo, hi, kind = indicators._ratio(a, b, 1.0)
    assert (v, lo, kind) == (600 / 589, 600 / 589, "at_least") and np.isinf(hi)
    r = pd.Series({"value": 3.5, "lower": 2.0, "upper": 5.0, "bound": "range"})
    v, lo, hi, kind = indicators._ratio(b, r, 1.0)
    assert (lo, hi, kind) == (589 / 5, 589 / 2, "range")


def test_consistency_checks_from_the_documents(facts):
    checks = indicators.consistency_checks(facts).set_index("check")
    # 33 platforms x (8 police + 24 auxiliaries) = 1056, as document 001 prints
    assert checks.loc["rapid police staffing arithmetic (Shaoyang)", "status"] == "consistent"
    assert "1,056" in checks.loc["rapid police staffing arithmetic (Shaoyang)", "computed"]
    assert checks.loc["one auxiliary officer per village (Shaoyang)", "status"] == "consistent"
    # 5600 outlets at 6 per 1000 people implies 861k-1,018k people; the 2010 census says 919,000
    dc = checks.loc["population implied by commercial outlets (Dongcheng)"]
    assert dc.status == "consistent" and "919,000" in dc.expected
    assert checks.loc["grids per community within the printed range (Dongcheng)", "status"] == "consistent"
    staff = checks.loc["rural-station staff increase vs village auxiliaries (Shaoyang)"]
    assert "x2.93" in staff.computed  # 19.9 / 6.8
    assert set(checks.status) <= {"consistent", "inconsistent", "informational", "not checkable"}
    assert (checks.inputs.str.len() > 0).all()


def test_a_broken_fact_makes_its_check_fail(facts):
    """The arithmetic check is live: change one printed number and it says inconsistent."""
    broken = facts.copy()
    broken.loc[broken.indicator.eq("rapid_police_staff_count"), "value"] = 1000.0
    checks = indicators.consistency_checks(broken).set_index("check")
    assert checks.loc["rapid police staffing arithmetic (Shaoyang)", "status"] == "inconsistent"
    missing = facts[~facts.indicator.eq("villages_count")]
    checks = indicators.consistency_checks(missing).set_index("check")
    assert checks.loc["one auxiliary officer per village (Shaoyang)", "status"] == "not checkable"


def test_build_writes_processed_files_with_row_accounting(tmp_path, capsys):
    from govstats.build import build_processed_data

    counts = build_processed_data(tmp_path)
    assert counts["facts_in"] == counts["facts_kept"] + counts["facts_rejected"]
    for name in ("facts_clean", "facts_rejected", "indicators_per_10k", "indicators_ratios", "consistency_checks"):
        assert (tmp_path / f"{name}.csv").is_file()
    assert "rows in =" in capsys.readouterr().out
    assert len(pd.read_csv(tmp_path / "facts_clean.csv")) == counts["facts_kept"]
