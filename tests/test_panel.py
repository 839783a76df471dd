"""govstats.panel: building (place, year) panels from tidy long data, and transforms."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govstats.errors import DataValidationError, GovstatsError
from govstats.panel import (
    balance_panel,
    build_panel,
    lag,
    lead,
    log_transform,
    missingness,
    per_capita,
    set_panel_index,
)


def tidy(rows: list[dict]) -> pd.DataFrame:
    base = {"year_end": None, "bound": "exact", "unit": "人", "source_file": "facts.csv",
            "source_ref": "x"}
    df = pd.DataFrame([{**base, **r} for r in rows])
    for c in ("year_start", "year_end"):
        df[c] = pd.array(df[c], dtype="Int64")
    df["value"] = df["value"].astype(float)
    return df


@pytest.fixture
def long() -> pd.DataFrame:
    return tidy([
        {"place_id": "shaoyang", "indicator": "aux_officers", "year_start": 2016, "value": 3299, "source_row": 2},
        {"place_id": "shaoyang", "indicator": "aux_officers", "year_start": 2017, "value": 3300, "source_row": 3},
        {"place_id": "hengyang", "indicator": "aux_officers", "year_start": 2016, "value": 2900, "source_row": 4},
        {"place_id": "quzhou", "indicator": "mediators", "year_start": None, "value": 1600, "source_row": 5},
        {"place_id": "quzhou", "indicator": "mediators", "year_start": 2006, "year_end": 2010,
         "value": 1500, "source_row": 6},
        {"place_id": "quzhou", "indicator": "aux_officers", "year_start": 2016, "value": 1600,
         "bound": "at_least", "source_row": 7},
        {"place_id": "hengyang", "indicator": "police", "year_start": 2017, "value": None, "source_row": 8},
    ])


def test_every_row_is_kept_or_rejected_with_a_reason(long):
    built = build_panel(long)
    acc = built.accounting
    assert acc.rows_in == 7 and acc.rows_kept == 3 and acc.rows_rejected == 4
    reasons = dict(zip(acc.rejected["row"], acc.rejected["reason"], strict=True))
    assert reasons[5].startswith("no year")
    assert reasons[6].startswith("multi-year period")
    assert reasons[7].startswith("value is a bound")
    assert reasons[8] == "no value"
    rows = sorted(p.row for p in acc.problems)
    assert rows == [5, 6, 7, 8]
    p7 = next(p for p in acc.problems if p.row == 7)
    assert p7.file == "facts.csv" and p7.column == "bound" and p7.value == "at_least"


def test_panel_has_the_linearmodels_index_and_float_columns(long):
    data = build_panel(long).data
    assert data.index.names == ["place_id", "year"]
    assert data.index.is_monotonic_increasing
    assert data.loc[("shaoyang", 2017), "aux_officers"] == 3300.0
    assert data.dtypes.eq(float).all()


def test_missing_report_says_which_unit_year_lacks_which_variable(long):
    built = build_panel(long)
    miss = built.missing.set_index(["place_id", "year", "variable"])["reason"]
    assert miss[("hengyang", 2017, "aux_officers")] == "no row"
    # the grid is the kept places x kept years; quzhou's rejected rows never enter it
    assert "quzhou" not in built.data.index.get_level_values(0)
    bal = built.balance()
    assert bal.loc["aux_officers", "observed"] == 3 and bal.loc["aux_officers", "cells"] == 4
    assert not bal.loc["aux_officers", "balanced"]


def test_rejected_row_is_named_as_the_reason_for_a_missing_cell():
    long = tidy([
        {"place_id": "a", "indicator": "x", "year_start": 2016, "value": 1.0},
        {"place_id": "b", "indicator": "x", "year_start": 2016, "value": 5.0, "bound": "at_least"},
        {"place_id": "b", "indicator": "y", "year_start": 2016, "value": 2.0},
    ])
    miss = build_panel(long).missing.sort_values(["place_id", "variable"])
    assert miss.to_dict("records") == [
        {"place_id": "a", "year": 2016, "variable": "y", "reason": "missing value"},
        {"place_id": "b", "year": 2016, "variable": "x", "reason": "row rejected: value is a bound, not a point value"},
    ]


def test_periods_can_be_dated_at_start_or_end(long):
    start = build_panel(long, periods="start").data
    end = build_panel(long, periods="end").data
    assert start.loc[("quzhou", 2006), "mediators"] == 1500
    assert end.loc[("quzhou", 2010), "mediators"] == 1500


def test_indicator_selection_is_accounted_for(long):
    built = build_panel(long, indicators=["aux_officers"])
    assert list(built.data.columns) == ["aux_officers"]
    assert built.accounting.rows_in == 7
    assert (built.accounting.rejected["reason"] == "indicator not requested").sum() == 3


def test_duplicates_and_mixed_units_raise_with_all_problems():
    long = tidy([
        {"place_id": "a", "indicator": "x", "year_start": 2016, "value": 1.0, "source_row": 2},
        {"place_id": "a", "indicator": "x", "year_start": 2016, "value": 2.0, "source_row": 3},
        {"place_id": "b", "indicator": "y", "year_start": 2016, "value": 2.0, "unit": "人", "source_row": 4},
        {"place_id": "c", "indicator": "y", "year_start": 2016, "value": 2.0, "unit": "万人", "source_row": 5},
    ])
    with pytest.raises(DataValidationError) as err:
        build_panel(long)
    probs = err.value.problems
    assert len(probs) == 4
    dup = [p for p in probs if "duplicate" in p.message]
    assert {p.row for p in dup} == {2, 3} and "also in row(s) 3" in dup[0].message
    assert any("several units" in p.message and p.row == 5 for p in probs)


def test_missing_columns_are_reported():
    with pytest.raises(DataValidationError, match="required column 'value' is missing"):
        build_panel(pd.DataFrame({"place_id": ["a"], "indicator": ["x"], "year_start": [2016]}))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b", "c"]),
            st.sampled_from(["x", "y"]),
            st.one_of(st.none(), st.integers(2010, 2014)),
            st.one_of(st.none(), st.floats(0.1, 1e6)),
            st.sampled_from(["exact", "approx", "at_least", "range"]),
        ),
        min_size=1,
        max_size=25,
        unique_by=lambda t: (t[0], t[1], t[2]),
    )
)
def test_rows_in_equal_kept_plus_rejected_and_values_survive(rows):
    long = tidy([
        {"place_id": p, "indicator": i, "year_start": y, "value": v, "bound": b}
        for p, i, y, v, b in rows
    ])
    built = build_panel(long)
    acc = built.accounting
    assert acc.rows_kept + acc.rows_rejected == len(rows)
    assert int(built.data.notna().sum().sum()) == acc.rows_kept
    for p, i, y, v, b in rows:
        if y is not None and v is not None and b in ("exact", "approx"):
            assert built.data.loc[(p, y), i] == pytest.approx(v)


# --------------------------------------------------------------------------- transforms


@pytest.fixture
def small() -> pd.DataFrame:
    df = pd.DataFrame({
        "place_id": ["a", "a", "a", "b", "b"],
        "year": [2015, 2016, 2018, 2015, 2016],
        "x": [1.0, 2.0, 4.0, 10.0, 20.0],
        "pop": [1e6, 1e6, 1.1e6, 5e5, 5e5],
    })
    return set_panel_index(df)


def test_lag_and_lead_follow_the_calendar_not_the_rows(small):
    assert lag(small, "x")["x_lag1"].tolist()[:3] == [pytest.approx(np.nan, nan_ok=True), 1.0,
                                                        pytest.approx(np.nan, nan_ok=True)]
    assert lag(small, "x", 2).loc[("a", 2018), "x_lag2"] == 2.0  # 2016's value, across the gap
    assert lead(small, "x").loc[("a", 2015), "x_lead1"] == 2.0
    assert np.isnan(lead(small, "x").loc[("a", 2016), "x_lead1"])  # 2017 is missing
    assert np.isnan(lag(small, "x").loc[("b", 2015), "x_lag1"])  # never borrows from unit a


def test_per_capita_and_logs(small):
    pc = per_capita(small, "x", "pop")
    assert pc.name == "x_per_10000"
    assert pc.loc[("a", 2015)] == pytest.approx(1.0 / 1e6 * 1e4)
    by_unit = per_capita(small, "x", pd.Series({"a": 2e6, "b": 1e6}), per=100)
    assert by_unit.loc[("b", 2016)] == pytest.approx(20 / 1e6 * 100)
    assert log_transform(small, ["x"])["lx"].loc[("b", 2016)] == pytest.approx(np.log(20))
    bad = small.assign(x=[1.0, 0.0, -1.0, 1.0, 1.0])
    with pytest.raises(DataValidationError) as err:
        log_transform(bad, "x")
    assert len(err.value.problems) == 2
    assert log_transform(bad, "x", on_nonpositive="nan")["lx"].isna().sum() == 2
    with pytest.raises(GovstatsError, match="positive"):
        per_capita(small, "x", pd.Series({"a": 0.0, "b": 1.0}))


def test_balance_and_missingness(small):
    assert len(balance_panel(small, "fill")) == 6  # a, b x 2015, 2016, 2018
    assert balance_panel(small, "drop_units").index.get_level_values(0).unique().tolist() == ["a"]
    assert balance_panel(small, "drop_periods").index.get_level_values(1).unique().tolist() == [2015, 2016]
    miss = missingness(small, ["x"])
    assert miss.to_dict("records") == [{"place_id": "b", "year": 2018, "variable": "x", "reason": "no row"}]


def test_set_panel_index_rejects_duplicates():
    df = pd.DataFrame({"place_id": ["a", "a"], "year": [2016, 2016], "x": [1.0, 2.0]})
    with pytest.raises(DataValidationError) as err:
        set_panel_index(df)
    assert [p.row for p in err.value.problems] == [2, 3]


def test_a_built_panel_can_be_fitted():
    from govstats.models import fit

    rng = np.random.default_rng(0)
    rows = []
    for p in ["a", "b", "c", "d"]:
        for y in range(2010, 2016):
            x = rng.normal()
            rows += [
                {"place_id": p, "indicator": "x", "year_start": y, "value": x},
                {"place_id": p, "indicator": "y", "year_start": y, "value": 2 * x + rng.normal(scale=0.01)},
            ]
    built = build_panel(tidy(rows))
    r = fit("y ~ x | place_id", built.data, vcov="iid")
    assert r.coef()["x"] == pytest.approx(2.0, abs=0.02)
