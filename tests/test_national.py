"""National series: the checks printed in issue 11, the mirrors' cross-check, coverage errors."""

from __future__ import annotations

import pytest

from govstats import national


def test_issue_checks_committees_and_mediators():
    # issue 11: committees 79.8万 (2015) -> 70.76万 (2020); mediators 391.1万 -> 320.9万
    assert national.value("people_mediation_committees", 2015) == 798_000
    assert round(national.value("people_mediation_committees", 2020) / 1e4, 2) == 70.76
    assert round(national.value("people_mediators", 2015) / 1e4, 1) == 391.1
    assert round(national.value("people_mediators", 2020) / 1e4, 1) == 320.9


def test_coverage_and_provenance_columns():
    df = national.load_national_series()
    span = df.groupby("series")["year"].agg(["min", "max", "count"])
    assert span.loc["people_mediators"].tolist() == [1984, 2021, 38]
    assert span.loc["criminal_cases_filed"].tolist() == [1995, 2021, 27]
    assert span.loc["public_order_cases_accepted"].tolist() == [2006, 2021, 16]
    assert df["mirror_commit"].str.len().eq(40).all()
    assert {"nbs_table", "mirror", "mirror_path", "cross_check"} <= set(df.columns)


def test_mirrors_agree_where_they_overlap_except_revised_population():
    df = national.load_national_series()
    both = df[~df["cross_check"].str.startswith("one mirror")]
    assert len(both) == 30  # 6 series x 2010-2014
    differ = both[both["cross_check"].str.startswith("DIFFER")]
    assert set(differ["series"]) == {"population_year_end"}
    assert sorted(differ["year"]) == [2011, 2012, 2013, 2014]


def test_year_outside_coverage_is_an_error():
    with pytest.raises(national.CoverageError, match="covers 2006-2021"):
        national.value("public_order_cases_accepted", 2005)
    with pytest.raises(national.CoverageError, match="never extrapolat"):
        national.value("people_mediators", 2022)
    with pytest.raises(national.CoverageError, match="never extrapolated"):
        national.ratios(range(2020, 2024))
    with pytest.raises(national.CoverageError, match="unknown national series"):
        national.series("police_officers")


def test_ratios_are_ratios_of_the_stored_values():
    r = national.ratios([2015, 2020])
    assert r.loc[2015, "mediators_per_committee"] == pytest.approx(391.1 / 79.8)
    assert r.loc[2020, "mediators_per_10k_residents"] == pytest.approx(
        national.value("people_mediators", 2020) / national.value("population_year_end", 2020) * 1e4)


def test_places_beside_the_national_ratio_of_their_census_year():
    import govstats as gs

    per10k = gs.indicators.per_10k(gs.facts.load_facts()).values
    b = national.beside_places(per10k)
    assert len(b) == len(per10k)
    with_census = b[b["national_year"].notna()]
    assert set(with_census["national_year"].astype(int)) <= {2010, 2020}
    r = national.ratios()
    for row in with_census.itertuples():
        assert row.national_mediators_per_10k_residents == pytest.approx(
            r.loc[int(row.national_year), "mediators_per_10k_residents"])
    assert (b.loc[b["national_year"].isna(), "note"] != "").all()


def test_national_codebook_describes_every_count_series():
    import pandas as pd

    from govstats import paths

    book = pd.read_csv(paths.raw_dir() / "national_codebook.csv")
    main = pd.read_csv(paths.raw_dir() / "codebook.csv")
    assert list(book.columns) == list(main.columns)
    assert set(book["indicator"]) == {f"national_{s}" for s in national.SERIES if s != "population_year_end"}
    assert not set(book["indicator"]) & set(main["indicator"])
