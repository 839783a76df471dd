"""Estimates pinned to outside references (tests/reference/*.csv, provenance in README.md).

Every row is one printed number: Baltagi's published tables (3 decimals), R plm's printed
output (6-7 digits), Gretl's Stata-convention clustered standard errors. The tolerance is
half a unit in the last printed digit unless the reference file says otherwise and why.
"""

from __future__ import annotations

import pytest

from govstats.models import load_references, reproduce_published

REFS = load_references()


@pytest.fixture(scope="module")
def reproduced():
    return reproduce_published()


def test_reference_files_are_complete():
    for col in ("dataset", "model", "statistic", "value", "decimals", "source", "where"):
        assert (REFS[col].astype(str).str.len() > 0).all(), col
    # published tables, R plm output, Gretl (Stata convention) are all represented
    src = " ".join(REFS["source"])
    assert "Baltagi (2013) Table 2.1" in src and "R plm" in src and "Gretl" in src
    assert "Baltagi (2006)" in src


@pytest.mark.parametrize("i", range(len(REFS)), ids=[
    f"{r.model}:{r.statistic}[{r.term}]:{r.file.split('.')[0]}" for r in REFS.itertuples()
])
def test_reference_number_is_reproduced(reproduced, i):
    row = reproduced.iloc[i]
    assert row["ok"], (
        f"{row['model']} {row['quantity']}: published {row['published']!r}, recomputed "
        f"{row['recomputed']!r}, difference {row['difference']:.3g} > tolerance {row['tolerance']:.3g} "
        f"({row['source']})"
    )


def test_reproduction_table_has_the_columns_the_notebook_shows(reproduced):
    assert list(reproduced.columns[:8]) == [
        "dataset", "model", "quantity", "published", "recomputed", "difference", "tolerance", "ok",
    ]
    assert set(reproduced["dataset"]) == {"grunfeld", "nc_crime"}
