"""The facts layer: numbers read from the five source documents, cleaned, with provenance.

``data/raw/facts.csv`` holds every numeric fact exactly as printed (quantity text, year
as stated, source document and the short phrase it was read from); ``codebook.csv``
defines each indicator in English and Chinese. :func:`check_facts` validates the table
lazily (every problem at once, each naming file, row, column and raw value) and parses
it into the tidy long form shared with ingested yearbook extracts; :func:`load_facts`
does the same and raises if anything is wrong.

Examples
--------
>>> import govstats as gs
>>> facts = gs.facts.load_facts()
>>> facts.loc[facts.indicator.eq("villages_count") & facts.place_id.eq("shaoyang"), "value"].item()
3299.0
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from govstats import paths
from govstats.errors import DataValidationError, Problem, RowAccounting
from govstats.schemas import (
    RAW_FACT_COLUMNS,
    CleanFacts,
    Codebook,
    RawFacts,
    problems_from_schema,
)

__all__ = [
    "FACT_KEY",
    "check_facts",
    "load_codebook",
    "load_facts",
    "read_csv_text",
    "unit_family",
]

FACT_KEY = ["place_id", "indicator", "year"]


def read_csv_text(path: Path, *, what: str) -> pd.DataFrame:
    """Read a committed CSV as text (no type guessing, empty cells stay empty strings).

    Raises DataValidationError for a missing, empty or undecodable file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found at {path}; is this a govstats checkout?")
    raw = path.read_bytes()
    if not raw.strip():
        raise DataValidationError([Problem("the file is empty", file=str(path))], what=what)
    try:
        raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataValidationError(
            [
                Problem(
                    f"not valid UTF-8 at byte {exc.start}",
                    file=str(path),
                    hint="save the file as UTF-8 (govstats.ingest reads GBK yearbook files)",
                )
            ],
            what=what,
        ) from None
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def load_codebook(path: str | Path | None = None) -> pd.DataFrame:
    """The indicator codebook, validated (unique snake_case names, known categories)."""
    path = Path(path) if path else paths.raw_dir() / "codebook.csv"
    df = read_csv_text(path, what="the codebook")
    try:
        return Codebook.validate(df, lazy=True)
    except pa.errors.SchemaErrors as exc:
        rows = pd.Series(df.index + 2, index=df.index)
        raise DataValidationError(
            problems_from_schema(exc, file=str(path), rows=rows, data=df, key=["indicator"]),
            what=str(path),
        ) from None


# Unit families: the parsed unit text of a quantity and the codebook's canonical unit
# must agree on the family, or the same indicator would mix, say, counts and rates.
_PARSED_UNIT_FAMILIES = [
    (re.compile(r"^%$"), "percent"),
    (re.compile(r"^/万人口$"), "per_10k_people"),
    (re.compile(r"^/千人口$"), "per_1k_people"),
    (re.compile(r"美元"), "usd"),
    (re.compile(r"元"), "yuan"),
    (re.compile(r"平方(公里|千米)"), "km2"),
    (re.compile(r"^(公里|千米)"), "km"),
    (re.compile(r"^分钟"), "minutes"),
    (re.compile(r"^(个)?年$"), "years"),
    (re.compile(r"^倍$"), "ratio"),
    (re.compile(r"^第$|^位$|^名次$"), "rank"),
]
_CODEBOOK_UNIT_FAMILIES = [
    (re.compile(r"^percent"), "percent"),
    (re.compile(r"^per_10k_people$"), "per_10k_people"),
    (re.compile(r"^per_1k_people$"), "per_1k_people"),
    (re.compile(r"^usd"), "usd"),
    (re.compile(r"^yuan"), "yuan"),
    (re.compile(r"^km2$"), "km2"),
    (re.compile(r"^km$"), "km"),
    (re.compile(r"^minutes?$"), "minutes"),
    (re.compile(r"^years?$"), "years"),
    (re.compile(r"^ratio$"), "ratio"),
    (re.compile(r"^rank$"), "rank"),
]
# A rate whose denominator is printed beside the number rather than after it
# ("千人拥有...6个") parses as a count; the phrase must then name the denominator.
_RATE_DENOMINATOR_IN_PHRASE = {"per_10k_people": "万人", "per_1k_people": "千人"}


def unit_family(unit: str, *, codebook: bool = False) -> str:
    """The family of a unit: percent, per_10k_people, per_1k_people, usd, yuan, km2, km,
    minutes, years (calendar years and durations), ratio, rank, or count.

    ``codebook=False`` reads a unit as :mod:`govstats.quantities` leaves it (``'名'``,
    ``'%'``, ``'/万人口'``, ``'万元/村'``); ``codebook=True`` reads the codebook's
    canonical English units (``'persons'``, ``'percent'``, ``'per_10k_people'``).
    Everything that is neither is a count (persons, villages, grids, ...).

    Examples
    --------
    >>> unit_family("名"), unit_family("/万人口"), unit_family("per_10k_people", codebook=True)
    ('count', 'per_10k_people', 'per_10k_people')
    """
    table = _CODEBOOK_UNIT_FAMILIES if codebook else _PARSED_UNIT_FAMILIES
    text = "" if unit is None or (isinstance(unit, float) and np.isnan(unit)) else str(unit)
    for pattern, family in table:
        if pattern.search(text):
            return family
    return "count"


def _year_bounds(year: pd.Series) -> tuple[pd.Series, pd.Series]:
    parts = year.str.extract(r"^(\d{4})(?:-(\d{4}))?$")
    start = pd.to_numeric(parts[0], errors="coerce").astype("Int64")
    end = pd.to_numeric(parts[1].fillna(parts[0]), errors="coerce").astype("Int64")
    return start, end


def _resolve_places(names: pd.Series, rows: pd.Series, file: str) -> tuple[pd.Series, list[Problem]]:
    """Place ids for every name (None where unknown) and the problems of the unknown ones.

    :func:`govstats.places.resolve_many` raises one error for all unplaceable rows; its
    problems are kept and the remaining rows resolved, so facts and ingest report unknown
    places the same way.
    """
    from govstats import places

    try:
        return places.resolve_many(names, file=file, column="place_as_written", rows=rows), []
    except DataValidationError as exc:
        bad = rows.isin({p.row for p in exc.problems})
        ids = pd.Series(None, index=names.index, dtype=object, name="place_id")
        if (~bad).any():
            ids[~bad] = places.resolve_many(names[~bad], rows=rows[~bad])
        return ids, list(exc.problems)


def check_facts(
    path: str | Path | None = None, *, codebook: pd.DataFrame | None = None
) -> RowAccounting:
    """Validate and parse the facts table; return kept and rejected rows, never raise on data.

    Every problem is collected in one pass: schema violations (ids, years, levels,
    phrase length, missing or extra columns), unparseable quantities, unknown places,
    indicators missing from the codebook, units that do not match the codebook's unit
    family (e.g. a count recorded under a per-10k indicator) and duplicate
    (place, indicator, year) keys. A row with any problem is rejected; rows in = kept +
    rejected, always.

    Returns
    -------
    RowAccounting
        ``kept`` is a :class:`govstats.schemas.CleanFacts` frame; ``rejected`` the raw
        rows that failed (with a ``problems`` column); ``problems`` the full list.
    """
    from govstats.quantities import parse_quantities

    path = Path(path) if path else paths.raw_dir() / "facts.csv"
    file = str(path)
    raw = read_csv_text(path, what="the facts table")
    rows = pd.Series(raw.index + 2, index=raw.index, name="row")
    problems: list[Problem] = []

    missing = [c for c in RAW_FACT_COLUMNS if c not in raw.columns]
    extra = [c for c in raw.columns if c not in RAW_FACT_COLUMNS]
    problems += [
        Problem(f"missing column {c!r}", file=file, column=c, hint="the header must be: " + ",".join(RAW_FACT_COLUMNS))
        for c in missing
    ]
    problems += [
        Problem(f"unexpected column {c!r}", file=file, column=c, hint="remove it or rename it")
        for c in extra
    ]
    if missing or extra or raw.empty:
        if raw.empty and not (missing or extra):
            problems.append(Problem("no data rows under the header", file=file))
        return RowAccounting(file, len(raw), raw.iloc[0:0], raw.assign(problems="file"), problems)

    raw = raw[RAW_FACT_COLUMNS]
    try:
        RawFacts.validate(raw.replace({"note": {"": None}}), lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems += problems_from_schema(exc, file=file, rows=rows, data=raw)

    codebook = load_codebook() if codebook is None else codebook
    cb = codebook.set_index("indicator")
    unknown_ind = ~raw["indicator"].isin(cb.index)
    problems += [
        Problem(
            "indicator not in the codebook",
            file=file,
            row=int(rows[i]),
            column="indicator",
            value=raw.at[i, "indicator"],
            hint="add it to data/raw/codebook.csv with English and Chinese descriptions",
        )
        for i in raw.index[unknown_ind]
    ]

    parsed = parse_quantities(raw["quantity"], errors="collect", file=file, column="quantity", rows=rows)
    problems += [
        Problem(str(parsed.at[i, "error"]), file=file, row=int(rows[i]), column="quantity", value=raw.at[i, "quantity"])
        for i in parsed.index[parsed["error"].notna()]
    ]

    place_id, place_problems = _resolve_places(raw["place_as_written"], rows, file)
    problems += place_problems
    from govstats.places import registry

    registry_level = place_id.map(registry()["level"])
    wrong_level = place_id.notna() & registry_level.ne(raw["level"])
    problems += [
        Problem(
            f"level {raw.at[i, 'level']!r} but {place_id[i]!r} is a {registry_level[i]} in the places registry",
            file=file,
            row=int(rows[i]),
            column="level",
            value=raw.at[i, "level"],
            hint="use the registry's level, or fix the place",
        )
        for i in raw.index[wrong_level]
    ]

    # units: each parsed unit must belong to the codebook unit's family
    fam_parsed = parsed["unit"].map(unit_family)
    fam_codebook = raw["indicator"].map(lambda i: unit_family(cb.at[i, "unit"], codebook=True) if i in cb.index else None)
    rate_in_phrase = pd.Series(
        [
            fam_parsed[i] == "count"
            and _RATE_DENOMINATOR_IN_PHRASE.get(fam_codebook[i], "\0") in raw.at[i, "source_phrase"]
            for i in raw.index
        ],
        index=raw.index,
        dtype=bool,
    )
    bad_unit = (
        parsed["error"].isna() & fam_codebook.notna() & fam_parsed.ne(fam_codebook) & ~rate_in_phrase
    )
    problems += [
        Problem(
            f"unit {parsed.at[i, 'unit']!r} is a {fam_parsed[i]} but indicator "
            f"{raw.at[i, 'indicator']!r} is in {cb.at[raw.at[i, 'indicator'], 'unit']!r} "
            f"({fam_codebook[i]}): mixed units for one indicator",
            file=file,
            row=int(rows[i]),
            column="quantity",
            value=raw.at[i, "quantity"],
            hint="record it under an indicator with the right unit, or fix the codebook unit",
        )
        for i in raw.index[bad_unit]
    ]

    year_start, year_end = _year_bounds(raw["year"])
    tidy = pd.DataFrame(
        {
            "fact_id": raw["fact_id"],
            "place_id": place_id.astype("str"),
            "place_as_written": raw["place_as_written"],
            "indicator": raw["indicator"],
            "year": raw["year"],
            "year_start": year_start,
            "year_end": year_end,
            "quantity": raw["quantity"],
            "value": parsed["value"].astype(float),
            "lower": parsed["lower"].astype(float),
            "upper": parsed["upper"].astype(float),
            "bound": parsed["bound"],
            "unit": parsed["unit"],
            "scale": parsed["scale"].astype(float),
            "codebook_unit": raw["indicator"].map(cb["unit"]).fillna(""),
            "category": raw["indicator"].map(cb["category"]).fillna(""),
            "level": raw["level"],
            "source_file": raw["source_doc"],
            "source_ref": raw["fact_id"],
            "source_phrase": raw["source_phrase"],
            "note": raw["note"].replace("", None),
            "source_row": rows,
        }
    )

    key = tidy[FACT_KEY].astype(str)
    dup = key.duplicated(keep=False) & place_id.notna()
    for _, group in tidy[dup].groupby(FACT_KEY, sort=False):
        for i in group.index:
            others = [str(int(r)) for r in group["source_row"] if r != rows[i]]
            problems.append(
                Problem(
                    f"duplicate key (place {group.at[i, 'place_id']!r}, indicator "
                    f"{group.at[i, 'indicator']!r}, year {group.at[i, 'year']!r}); also in row(s) "
                    + ", ".join(others),
                    file=file,
                    row=int(rows[i]),
                    column="indicator",
                    value=raw.at[i, "fact_id"],
                    hint="record each fact once, or tell the two apart by year or indicator",
                )
            )

    bad_rows = {p.row for p in problems if p.row is not None}
    is_bad = rows.isin(bad_rows)
    kept = tidy[~is_bad].reset_index(drop=True)
    if not kept.empty:
        try:
            kept = CleanFacts.validate(kept, lazy=True)
        except pa.errors.SchemaErrors as exc:  # pragma: no cover - upstream checks catch these
            more = problems_from_schema(exc, file=file, rows=kept["source_row"], data=kept)
            problems += more
            bad_rows |= {p.row for p in more if p.row is not None}
            is_bad = rows.isin(bad_rows)
            kept = tidy[~is_bad].reset_index(drop=True)
    by_row: dict[int, list[str]] = {}
    for p in problems:
        if p.row is not None:
            by_row.setdefault(p.row, []).append(p.message)
    rejected = raw[is_bad].assign(
        row=rows[is_bad], problems=[" | ".join(by_row.get(int(r), [])) for r in rows[is_bad]]
    )
    return RowAccounting(file, len(raw), kept, rejected, problems)


def load_facts(path: str | Path | None = None) -> pd.DataFrame:
    """The clean facts table; raises DataValidationError listing every problem.

    Columns: those of :class:`govstats.schemas.CleanFacts` (``place_id``,
    ``indicator``, ``year``, ``value``, ``lower``, ``upper``, ``bound``, ``unit``,
    ``fact_id``, ``source_file``, ``source_phrase``, ...). ``value`` is in base units
    (``830万`` is 8,300,000); ``bound`` says whether it is exact, a lower bound
    (``多``/``余``), an upper bound (``近``), approximate (``约``) or a range.
    """
    result = check_facts(path)
    DataValidationError.raise_if_any(result.problems, what=result.source)
    out = result.kept
    out.attrs["accounting"] = result.summary()
    return out
