"""Derived indicators: per-10k-people staffing, ratios and shares, and consistency checks.

Every derived value carries its inputs: ``inputs`` lists the fact ids it was computed
from, ``denominator`` names the population used (which census or document figure, its
reference date and source), and ``bound`` propagates the inputs' bounds (a count printed
as ``1600多`` gives a per-capita value that is itself only a lower bound).

Denominators follow ``../shared/reference/README.md``: the census closest to the period
a fact describes. A fact's own year is used when printed; otherwise the period of the
document it comes from (``data/raw/document_periods.csv``); when neither is known the
latest census is used and the ``denominator`` text says so.

Definitions
-----------
per 10k people
    ``value / population * 10_000``.
bounds of a ratio ``a / b``
    ``[a.lower / b.upper, a.upper / b.lower]``; exact inputs give an exact ratio.

Examples
--------
>>> import govstats as gs
>>> facts = gs.facts.load_facts()
>>> derived = gs.indicators.per_10k(facts)
>>> row = derived.values.query("place_id == 'shaoyang' and indicator == 'rapid_police_staff_per_10k_people'")
>>> round(row.value.item(), 2)  # 1056 officers / 6,563,520 residents (2020 census) * 10k
1.61
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

from govstats import paths
from govstats.errors import DataValidationError, GovstatsError
from govstats.schemas import IndicatorValues, problems_from_schema

__all__ = [
    "PER_CAPITA_INDICATORS",
    "RATIO_SPECS",
    "Derived",
    "RatioSpec",
    "consistency_checks",
    "document_periods",
    "document_reference_year",
    "per_10k",
    "period_reference_year",
    "ratios",
]

Denominator = Literal["closest_census", "document"]

PER_CAPITA_INDICATORS = frozenset(
    {
        # police and auxiliary officers
        "police_officers_count",
        "auxiliary_police_count",
        "village_auxiliary_police_count",
        "rapid_police_staff_count",
        "grid_police_officers_count",
        # mediators and legal staff
        "mediators_count",
        "grassroots_mediators_count",
        "grid_judicial_staff_count",
        # grids and grid workers
        "grids_count",
        "grid_workers_count",
        "grid_assistants_count",
        "grid_fire_officers_count",
        # governance cadres and volunteers
        "governance_fulltime_cadres_count",
        "governance_parttime_cadres_count",
        "division_level_cadres_in_community_party_count",
        "peace_promoters_count",
        "volunteer_patrol_members_count",
        "volunteers_count",
        "party_member_volunteers_count",
    }
)
"""Counts (of staff, volunteers and grid cells) turned into per-10k-people rates.

An explicit list rather than "every person count": awards and visits per capita mean
nothing. Yearbook indicators from :mod:`govstats.ingest` use the same names.
"""


@dataclass(frozen=True)
class Derived:
    """Derived values and, beside them, what could not be derived and why."""

    values: pd.DataFrame
    skipped: pd.DataFrame

    def summary(self) -> str:
        return f"{len(self.values)} derived values; {len(self.skipped)} facts not derived (see .skipped)"


@dataclass(frozen=True)
class RatioSpec:
    """``numerator / denominator * scale`` for every place that has both facts."""

    name: str
    numerator: str
    denominator: str
    unit: str
    scale: float = 1.0
    description: str = ""


RATIO_SPECS: tuple[RatioSpec, ...] = (
    RatioSpec(
        "village_auxiliary_coverage_pct",
        "village_auxiliary_police_count",
        "villages_count",
        "percent",
        100.0,
        "resident auxiliary officers per administrative village, as a share "
        "(100% = one per village, the 一村一辅警 target)",
    ),
    RatioSpec(
        "grids_per_community_computed",
        "grids_count",
        "communities_count",
        "count_per_community",
        description="grid cells per community",
    ),
    RatioSpec(
        "communities_per_subdistrict",
        "communities_count",
        "subdistricts_count",
        "count_per_subdistrict",
        description="communities per subdistrict (街道)",
    ),
    RatioSpec(
        "grid_police_per_grid",
        "grid_police_officers_count",
        "grids_count",
        "persons_per_grid",
        description="police officers assigned to grids, per grid",
    ),
    RatioSpec(
        "grid_assistants_per_grid",
        "grid_assistants_count",
        "grids_count",
        "persons_per_grid",
        description="grid assistants per grid",
    ),
    RatioSpec(
        "community_party_cadres_per_community",
        "division_level_cadres_in_community_party_count",
        "communities_count",
        "persons_per_community",
        description="division-level cadres sent into community party organisations, per community",
    ),
)


def document_periods(path=None) -> pd.DataFrame:
    """The period each document describes, with the basis for saying so."""
    from govstats.facts import read_csv_text

    return read_csv_text(path or paths.raw_dir() / "document_periods.csv", what="document periods")


def period_reference_year(period: str) -> int | None:
    """The middle year of ``'2016'`` or ``'2006-2010'`` (rounded up); None for 'not stated'."""
    if not period or period == "not stated":
        return None
    lo, _, hi = period.partition("-")
    return int(math.floor((int(lo) + int(hi or lo)) / 2 + 0.5))


def document_reference_year(
    place_id: str, source_doc: str | None = None, periods: pd.DataFrame | None = None
) -> tuple[int | None, str]:
    """The year a place's document describes, for choosing the closest census.

    Looks up ``data/raw/document_periods.csv`` by place (and document, when given; a
    document with a single period applies to every place in it). Returns the year and
    the basis in words; ``(None, ...)`` when the period is unknown (callers then use the
    latest census and say so).
    """
    periods = document_periods() if periods is None else periods
    match = periods[periods["place_id"].eq(place_id)]
    if source_doc is not None:
        match = match[match["source_doc"].eq(source_doc)]
        if match.empty:
            in_doc = periods[periods["source_doc"].eq(source_doc)]
            match = in_doc if len(in_doc) == 1 else in_doc.iloc[0:0]
    year = period_reference_year(match["period"].iloc[0]) if len(match) else None
    if year is None:
        return None, "no year printed and the document's period is unknown: latest census"
    return year, f"the document's period ({match['period'].iloc[0]})"


def _reference_year(fact: pd.Series, periods: pd.DataFrame) -> tuple[int | None, str]:
    if not pd.isna(fact["year_start"]):
        return period_reference_year(fact["year"]), f"the fact's year ({fact['year']})"
    return document_reference_year(fact["place_id"], fact["source_file"], periods)


def _bounds(fact: pd.Series) -> tuple[float, float]:
    lower = fact["lower"] if not pd.isna(fact["lower"]) else (fact["value"] if fact["bound"] == "exact" else np.nan)
    upper = fact["upper"] if not pd.isna(fact["upper"]) else (fact["value"] if fact["bound"] == "exact" else np.nan)
    return float(lower), float(upper)


def _bound_kind(lower: float, upper: float, value: float, inputs_bounds: list[str]) -> str:
    if all(b == "exact" for b in inputs_bounds):
        return "exact"
    if any(b == "approx" for b in inputs_bounds) or (np.isnan(lower) and np.isnan(upper)):
        return "approx"
    if np.isfinite(lower) and np.isfinite(upper):
        return "range" if upper > lower else "exact"
    if np.isfinite(lower) and (np.isinf(upper) or np.isnan(upper)):
        return "at_least"
    if np.isfinite(upper):
        return "at_most"
    return "approx"


def _validate(values: pd.DataFrame) -> pd.DataFrame:
    try:
        return IndicatorValues.validate(values, lazy=True)
    except pa.errors.SchemaErrors as exc:  # a bug in this module, not in the user's data
        raise DataValidationError(
            problems_from_schema(exc, file="derived indicators", data=values), what="derived indicators"
        ) from None


_VALUE_COLUMNS = ["place_id", "indicator", "year", "value", "lower", "upper", "bound", "unit", "method", "inputs", "denominator"]


def per_10k(
    facts: pd.DataFrame,
    *,
    denominator: Denominator = "closest_census",
    indicators: frozenset[str] = PER_CAPITA_INDICATORS,
) -> Derived:
    """Per-10k-people rates of the staffing, mediation, grid and volunteer counts.

    Parameters
    ----------
    facts : DataFrame
        Clean facts (:func:`govstats.facts.load_facts`).
    denominator : {"closest_census", "document"}
        ``closest_census``: the resident census population closest to the fact's year
        (or its document's period); ``document``: the population the same document
        prints for the place (e.g. Shaoyang's ``830万``), when it prints one.
    indicators : set of str
        The count indicators to convert (default :data:`PER_CAPITA_INDICATORS`).

    Returns
    -------
    Derived
        ``values``: one row per converted fact (indicator ``<thing>_per_10k_people``),
        with ``inputs`` (fact id) and ``denominator`` (population, kind, date, source).
        Rates printed as such in the documents are included unchanged (method
        ``as printed``). ``skipped``: person counts that could not be converted and why
        (no verified population for the place, e.g. sub-units and other places).
    """
    from govstats import places

    periods = document_periods()
    rows: list[dict] = []
    skipped: list[dict] = []
    is_person_count = facts["indicator"].isin(indicators)
    for _, fact in facts[facts["codebook_unit"].eq("per_10k_people")].iterrows():
        rows.append(
            {
                **{k: fact[k] for k in ("place_id", "indicator", "year", "value", "lower", "upper", "bound")},
                "unit": "per_10k_people",
                "method": "as printed",
                "inputs": fact["fact_id"],
                "denominator": "as printed in the document (population base not stated)",
            }
        )
    for _, fact in facts[is_person_count].iterrows():
        ref_year, basis = _reference_year(fact, periods)
        if denominator == "document":
            pop_facts = facts[
                facts["place_id"].eq(fact["place_id"])
                & facts["source_file"].eq(fact["source_file"])
                & facts["indicator"].isin(["population", "population_registered", "population_resident"])
            ]
            if pop_facts.empty:
                skipped.append({"fact_id": fact["fact_id"], "place_id": fact["place_id"], "indicator": fact["indicator"], "reason": "the document prints no population for this place"})
                continue
            pop = pop_facts.iloc[0]
            pop_value, pop_text = float(pop["value"]), f"{pop['quantity']} as printed ({pop['indicator']}, fact {pop['fact_id']})"
            inputs = f"{fact['fact_id']};{pop['fact_id']}"
        else:
            try:
                figure = places.population(fact["place_id"], year=ref_year)
            except (GovstatsError, KeyError, LookupError) as exc:
                skipped.append({"fact_id": fact["fact_id"], "place_id": fact["place_id"], "indicator": fact["indicator"], "reason": f"no verified population: {exc}"})
                continue
            pop_value = float(figure.value)
            pop_text = f"{figure.kind} {figure.reference_date}: {pop_value:,.0f} ({figure.source}); chosen by {basis}"
            inputs = fact["fact_id"]
        lower, upper = _bounds(fact)
        rows.append(
            {
                "place_id": fact["place_id"],
                "indicator": fact["indicator"].removesuffix("_count") + "_per_10k_people",
                "year": fact["year"],
                "value": fact["value"] / pop_value * 1e4,
                "lower": lower / pop_value * 1e4,
                "upper": upper / pop_value * 1e4,
                "bound": fact["bound"],
                "unit": "per_10k_people",
                "method": f"{fact['indicator']} / population * 10000",
                "inputs": inputs,
                "denominator": pop_text,
            }
        )
    values = pd.DataFrame(rows, columns=_VALUE_COLUMNS)
    skipped_df = pd.DataFrame(skipped, columns=["fact_id", "place_id", "indicator", "reason"])
    return Derived(_validate(values), skipped_df)


def _ratio(a: pd.Series, b: pd.Series, scale: float) -> tuple[float, float, float, str]:
    a_lo, a_hi = _bounds(a)
    b_lo, b_hi = _bounds(b)
    value = a["value"] / b["value"] * scale
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = a_lo / b_hi * scale if b_hi else np.nan
        upper = a_hi / b_lo * scale if b_lo else np.nan
    return value, lower, upper, _bound_kind(lower, upper, value, [a["bound"], b["bound"]])


def ratios(facts: pd.DataFrame, specs: tuple[RatioSpec, ...] = RATIO_SPECS) -> Derived:
    """Ratios and coverage shares between facts of the same place (see :data:`RATIO_SPECS`).

    A ratio is computed when a place has exactly one fact for each side; when the two
    facts state different years the row says so in ``method``. ``skipped`` lists places
    with only one side.
    """
    rows, skipped = [], []
    for spec in specs:
        num = facts[facts["indicator"].eq(spec.numerator)]
        den = facts[facts["indicator"].eq(spec.denominator)]
        for place_id in sorted(set(num["place_id"]) | set(den["place_id"])):
            a, b = num[num["place_id"].eq(place_id)], den[den["place_id"].eq(place_id)]
            if len(a) != 1 or len(b) != 1:
                skipped.append({"fact_id": ";".join([*a["fact_id"], *b["fact_id"]]), "place_id": place_id, "indicator": spec.name, "reason": f"needs one {spec.numerator} and one {spec.denominator} fact; found {len(a)} and {len(b)}"})
                continue
            a, b = a.iloc[0], b.iloc[0]
            value, lower, upper, bound = _ratio(a, b, spec.scale)
            years = a["year"] if a["year"] == b["year"] else "not stated"
            method = f"{spec.numerator} / {spec.denominator}" + (f" * {spec.scale:g}" if spec.scale != 1 else "")
            if a["year"] != b["year"]:
                method += f" (years differ: {a['year']} / {b['year']})"
            rows.append({"place_id": place_id, "indicator": spec.name, "year": years, "value": value, "lower": lower, "upper": upper, "bound": bound, "unit": spec.unit, "method": method, "inputs": f"{a['fact_id']};{b['fact_id']}", "denominator": None})
    values = pd.DataFrame(rows, columns=_VALUE_COLUMNS)
    return Derived(_validate(values), pd.DataFrame(skipped, columns=["fact_id", "place_id", "indicator", "reason"]))


def _one(facts: pd.DataFrame, place_id: str, indicator: str) -> pd.Series | None:
    match = facts[facts["place_id"].eq(place_id) & facts["indicator"].eq(indicator)]
    return match.iloc[0] if len(match) == 1 else None


def _missing(*facts: pd.Series | None) -> bool:
    return any(f is None for f in facts)


def _check(name: str, status: str, expected: str, computed: str, inputs: list, note: str) -> dict:
    return {
        "check": name,
        "status": status,
        "expected": expected,
        "computed": computed,
        "inputs": ";".join(str(i["fact_id"]) for i in inputs if i is not None),
        "note": note,
    }


def consistency_checks(facts: pd.DataFrame) -> pd.DataFrame:
    """Arithmetic the documents allow us to check, with the result of each check.

    ``status`` is ``consistent``, ``inconsistent`` (the printed numbers disagree under
    the stated reading), ``informational`` (a derived quantity worth seeing, no verdict)
    or ``not checkable`` (a needed fact is missing).
    """
    from govstats import places

    out = []

    # 1. Shaoyang rapid police: platforms x (police + auxiliaries per platform) = staff
    plat, pol, aux, staff = (
        _one(facts, "shaoyang", i)
        for i in ("rapid_police_platforms_count", "police_per_platform", "auxiliary_police_per_platform", "rapid_police_staff_count")
    )
    if _missing(plat, pol, aux, staff):
        out.append(_check("rapid police staffing arithmetic (Shaoyang)", "not checkable", "", "", [plat, pol, aux, staff], "a needed fact is missing"))
    else:
        implied = plat["value"] * (pol["value"] + aux["value"])
        out.append(
            _check(
                "rapid police staffing arithmetic (Shaoyang)",
                "consistent" if implied == staff["value"] else "inconsistent",
                f"{staff['value']:,.0f} officers printed",
                f"{plat['value']:.0f} platforms x ({pol['value']:.0f} + {aux['value']:.0f}) = {implied:,.0f}",
                [plat, pol, aux, staff],
                "exact arithmetic",
            )
        )

    # 2. one auxiliary officer per village: villages x per-village = village auxiliaries
    vil, per, vaux = (_one(facts, "shaoyang", i) for i in ("villages_count", "auxiliary_police_per_village", "village_auxiliary_police_count"))
    if _missing(vil, per, vaux):
        out.append(_check("one auxiliary officer per village (Shaoyang)", "not checkable", "", "", [vil, per, vaux], "a needed fact is missing"))
    else:
        implied = vil["value"] * per["value"]
        out.append(
            _check(
                "one auxiliary officer per village (Shaoyang)",
                "consistent" if implied == vaux["value"] else "inconsistent",
                f"{vaux['value']:,.0f} village auxiliary officers printed",
                f"{vil['value']:,.0f} villages x {per['value']:.0f} = {implied:,.0f}",
                [vil, per, vaux],
                "exact arithmetic",
            )
        )

    # 3. Dongcheng: 5600 outlets at 6 per 1000 people implies a population
    outlets, rate = (_one(facts, "dongcheng", i) for i in ("community_commercial_outlets_count", "community_commercial_outlets_per_1k_people"))
    if _missing(outlets, rate):
        out.append(_check("population implied by commercial outlets (Dongcheng)", "not checkable", "", "", [outlets, rate], "a needed fact is missing"))
    else:
        # the rate is printed as a whole number, so it lies in [r - 0.5, r + 0.5)
        lo = outlets["value"] / (rate["value"] + 0.5) * 1000
        hi = outlets["value"] / (rate["value"] - 0.5) * 1000
        point = outlets["value"] / rate["value"] * 1000
        periods = document_periods()
        ref_year, basis = _reference_year(outlets, periods)
        census = places.population("dongcheng", year=ref_year)
        inside = lo <= census.value <= hi
        out.append(
            _check(
                "population implied by commercial outlets (Dongcheng)",
                "consistent" if inside else "inconsistent",
                f"census {census.reference_date}: {census.value:,.0f} ({census.kind}; chosen by {basis})",
                f"{outlets['value']:,.0f} / {rate['value']:g} per 1000 = {point:,.0f} "
                f"(rate rounded to a whole number: {lo:,.0f} to {hi:,.0f})",
                [outlets, rate],
                f"relative difference of the point value from the census: {point / census.value - 1:+.1%}",
            )
        )

    # 4. Dongcheng grids per community within the printed range
    grids, comm, gpc = (_one(facts, "dongcheng", i) for i in ("grids_count", "communities_count", "grids_per_community"))
    if _missing(grids, comm, gpc):
        out.append(_check("grids per community within the printed range (Dongcheng)", "not checkable", "", "", [grids, comm, gpc], "a needed fact is missing"))
    else:
        mean = grids["value"] / comm["value"]
        ok = gpc["lower"] <= mean <= gpc["upper"]
        out.append(
            _check(
                "grids per community within the printed range (Dongcheng)",
                "consistent" if ok else "inconsistent",
                f"{gpc['quantity']} grids per community",
                f"{grids['value']:.0f} grids / {comm['value']:.0f} communities = {mean:.2f} on average",
                [grids, comm, gpc],
                "the printed range bounds each community; the mean must lie inside it",
            )
        )

    # 5. Shaoyang rural-station staffing 6.8 -> 19.9 against the village auxiliaries
    before, after, stations = (_one(facts, "shaoyang", i) for i in ("rural_station_avg_staff_before_reform", "rural_station_avg_staff_after_reform", "rural_police_stations_count"))
    if _missing(before, after, stations, vaux):
        out.append(_check("rural-station staff increase vs village auxiliaries (Shaoyang)", "not checkable", "", "", [before, after, stations, vaux], "a needed fact is missing"))
    else:
        added = (after["value"] - before["value"]) * stations["value"]
        share = added / vaux["value"]
        out.append(
            _check(
                "rural-station staff increase vs village auxiliaries (Shaoyang)",
                "informational",
                f"{vaux['value']:,.0f} village auxiliary officers",
                f"({after['value']:g} - {before['value']:g}) x {stations['value']:.0f} stations = {added:,.0f} "
                f"added staff = {share:.0%} of the village auxiliaries; x{after['value'] / before['value']:.2f} per station",
                [before, after, stations, vaux],
                "consistent with the reform only if about this share of village auxiliaries is counted "
                "at rural stations; the document does not say which staff the averages count",
            )
        )

    # 6. Shaoyang police ratio under the two population figures
    ratio, pop_doc = _one(facts, "shaoyang", "police_per_10k_people"), _one(facts, "shaoyang", "population")
    if _missing(ratio, pop_doc):
        out.append(_check("police implied by the police ratio (Shaoyang)", "not checkable", "", "", [ratio, pop_doc], "a needed fact is missing"))
    else:
        census = places.population("shaoyang", year=2020)
        doc_police = ratio["value"] * pop_doc["value"] / 1e4
        census_police = ratio["value"] * census.value / 1e4
        out.append(
            _check(
                "police implied by the police ratio (Shaoyang)",
                "informational",
                "no police count is printed",
                f"{ratio['value']:g}/10k x {pop_doc['value']:,.0f} (document) = {doc_police:,.0f}; "
                f"x {census.value:,.0f} (census {census.reference_date}) = {census_police:,.0f}",
                [ratio, pop_doc],
                f"the choice of population base changes the implied count by {doc_police / census_police - 1:+.0%}: "
                "per-capita comparisons must say which base they use",
            )
        )
    # 7. residents per grid cell, where a place-wide grid count is printed
    periods = document_periods()
    for _, grid_fact in facts[facts["indicator"].eq("grids_count")].iterrows():
        try:
            ref_year, basis = _reference_year(grid_fact, periods)
            census = places.population(grid_fact["place_id"], year=ref_year)
        except (GovstatsError, KeyError, LookupError):
            continue
        per_grid = census.value / grid_fact["value"]
        out.append(
            _check(
                f"residents per grid cell ({grid_fact['place_id']})",
                "informational",
                f"census {census.reference_date}: {census.value:,.0f} (chosen by {basis})",
                f"{census.value:,.0f} / {grid_fact['quantity']} = {per_grid:,.1f} residents per grid",
                [grid_fact],
                "a handful of residents per territorial grid cell is implausible: the printed "
                "count may mean something else (e.g. grids of several kinds) or be a misprint"
                if per_grid < 50
                else "",
            )
        )
    return pd.DataFrame(out, columns=["check", "status", "expected", "computed", "inputs", "note"])
