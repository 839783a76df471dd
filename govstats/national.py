"""China's national yearly series: people's mediation, criminal and public-order cases, population.

Observed official statistics (NBS annual data = *China Statistical Yearbook* tables),
from ``data/raw/national_series.csv``; its provenance, cross-check between two public
mirrors and licence position are in ``data/raw/national_series.provenance.md``; the
codebook entries (English and Chinese descriptions) in ``data/raw/national_codebook.csv``
(kept apart from ``codebook.csv``, which lists exactly the documents' indicators).

A year outside a series' coverage is an error (:class:`CoverageError`), never an
extrapolation or interpolation.

Examples
--------
>>> from govstats import national
>>> national.value("people_mediation_committees", 2015)
798000
>>> national.value("people_mediators", 2020)
3208940
"""

from __future__ import annotations

import pandas as pd

from govstats.errors import GovstatsError

__all__ = ["SERIES", "CoverageError", "beside_places", "load_national_series", "ratios", "series", "value", "wide"]

SERIES = (
    "people_mediation_committees",
    "people_mediators",
    "disputes_mediated",
    "criminal_cases_filed",
    "public_order_cases_accepted",
    "population_year_end",
)


class CoverageError(GovstatsError):
    """A year (or series) the national data do not cover."""


def load_national_series() -> pd.DataFrame:
    """The tidy national series, one row per (series, year), with provenance columns."""
    from govstats import paths

    path = paths.raw_dir() / "national_series.csv"
    df = pd.read_csv(path)
    unknown = sorted(set(df["series"]) - set(SERIES))
    if unknown:
        raise GovstatsError(f"{path}: unknown series {unknown}")
    if df.duplicated(["series", "year"]).any():
        raise GovstatsError(f"{path}: duplicated (series, year) rows")
    return df


def series(name: str) -> pd.Series:
    """One series by year (values in base units: committees, persons, disputes, cases)."""
    if name not in SERIES:
        raise CoverageError(f"unknown national series {name!r}; known: {list(SERIES)}")
    df = load_national_series()
    s = df[df["series"] == name].set_index("year")["value"].sort_index()
    s.name = name
    return s


def value(name: str, year: int) -> int:
    """One value; a year outside the series' coverage raises :class:`CoverageError`."""
    s = series(name)
    if year not in s.index:
        gaps = sorted(set(range(s.index.min(), s.index.max() + 1)) - set(s.index))
        raise CoverageError(
            f"{name}: no national figure for {year}; the series covers {s.index.min()}-{s.index.max()}"
            + (f" except {gaps}" if gaps else "")
            + " (govstats never extrapolates or interpolates national series)")
    return int(s[year])


def wide(years: range | list[int] | None = None) -> pd.DataFrame:
    """All series side by side by year; with ``years``, every year must be covered by every series."""
    df = load_national_series().pivot(index="year", columns="series", values="value")
    if years is None:
        return df
    years = list(years)
    missing = {s: [y for y in years if y not in df.index or pd.isna(df.loc[y, s])] for s in df.columns}
    missing = {s: ys for s, ys in missing.items() if ys}
    if missing:
        raise CoverageError(f"years not covered: {missing} (never extrapolated)")
    return df.loc[years]


def ratios(years: range | list[int] | None = None) -> pd.DataFrame:
    """Mediators per committee, disputes per mediator, per-10k-resident rates, by year.

    Only years where every input is observed are returned (no gap is filled). Ratios
    describe; none of them is a causal claim.
    """
    w = wide()
    out = pd.DataFrame(index=w.index)
    out["mediators_per_committee"] = w["people_mediators"] / w["people_mediation_committees"]
    out["disputes_per_mediator"] = w["disputes_mediated"] / w["people_mediators"]
    out["mediators_per_10k_residents"] = w["people_mediators"] / w["population_year_end"] * 1e4
    out["disputes_mediated_per_10k_residents"] = w["disputes_mediated"] / w["population_year_end"] * 1e4
    out["criminal_cases_per_10k_residents"] = w["criminal_cases_filed"] / w["population_year_end"] * 1e4
    out["public_order_cases_per_10k_residents"] = w["public_order_cases_accepted"] / w["population_year_end"] * 1e4
    out["disputes_mediated_per_criminal_case"] = w["disputes_mediated"] / w["criminal_cases_filed"]
    if years is not None:
        years = list(years)
        bad = [y for y in years if y not in out.index]
        if bad:
            raise CoverageError(f"years {bad} outside the national series (never extrapolated)")
        out = out.loc[years]
    return out


def beside_places(per10k: pd.DataFrame) -> pd.DataFrame:
    """Each place's per-10k figure beside the national ratio for the same census year.

    ``per10k`` is :attr:`govstats.indicators.per_10k(...).values`. The year is the census
    whose population the place figure was divided by (its ``denominator`` names
    ``resident_census_2010`` or ``resident_census_2020``, chosen from the fact's or
    document's period); the national columns are mediators, disputes mediated, criminal
    cases and public-order cases per 10k residents in that year. Rows whose denominator
    names no census (figures printed per 10k by the document, base not stated) get no
    national figure and say so: a year outside coverage is never filled in.
    """
    out = per10k[["place_id", "indicator", "value", "bound", "denominator"]].copy()
    year = out["denominator"].str.extract(r"resident_census_(\d{4})")[0]
    out["national_year"] = pd.to_numeric(year, errors="coerce").astype("Int64")
    r = ratios()
    cols = ["mediators_per_10k_residents", "disputes_mediated_per_10k_residents",
            "criminal_cases_per_10k_residents", "public_order_cases_per_10k_residents"]
    for c in cols:
        out[f"national_{c}"] = [r.loc[int(y), c] if pd.notna(y) and int(y) in r.index else float("nan")
                                for y in out["national_year"]]
    out["note"] = ["" if pd.notna(y) else "no census base: the document's own per-10k figure, period not stated"
                   for y in out["national_year"]]
    return out.reset_index(drop=True)
