"""pandera schemas at every boundary of the data flow, inheriting stage by stage.

``RawFacts`` (the committed CSV, all text) -> ``TidyObservations`` (the long form that
facts, ingested yearbook extracts and panels share) -> ``CleanFacts`` (tidy plus the
facts' provenance columns) -> ``IndicatorValues`` (derived, per-capita values with
their inputs).

:func:`problems_from_schema` turns pandera's lazy failure table into
:class:`govstats.errors.Problem` rows naming file, spreadsheet row, column and raw
value, so schema failures merge with every other problem found in the same pass.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import get_args

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from govstats._literals import BoundKind, PlaceLevel
from govstats.errors import Problem

__all__ = [
    "CATEGORIES",
    "Codebook",
    "CleanFacts",
    "IndicatorValues",
    "RawFacts",
    "TidyObservations",
    "build_schemas",
    "problems_from_schema",
]

YEAR_AS_STATED = r"^(\d{4}(-\d{4})?|not stated)$"
SNAKE_CASE = r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$"
CATEGORIES = (
    "staffing",
    "policing",
    "mediation",
    "grid",
    "governance",
    "satisfaction",
    "programme",
    "context",
    "finance",
    "crime",
    "infrastructure",
    "volunteers",
)

RAW_FACT_COLUMNS = [
    "fact_id",
    "place_as_written",
    "indicator",
    "quantity",
    "year",
    "level",
    "source_doc",
    "source_phrase",
    "note",
]


class RawFacts(pa.DataFrameModel):
    """The facts table as committed in ``data/raw/facts.csv``: text, exactly as read."""

    fact_id: Series[str] = pa.Field(str_matches=r"^f\d{3}_\d{3}$", unique=True)
    place_as_written: Series[str] = pa.Field(str_length={"min_value": 1})
    indicator: Series[str] = pa.Field(str_matches=SNAKE_CASE)
    quantity: Series[str] = pa.Field(str_length={"min_value": 1})
    year: Series[str] = pa.Field(str_matches=YEAR_AS_STATED)
    level: Series[str] = pa.Field(isin=list(get_args(PlaceLevel)))
    source_doc: Series[str] = pa.Field(str_matches=r"^\d{3}_[0-9a-f]{16}\.txt$")
    source_phrase: Series[str] = pa.Field(str_length={"min_value": 1, "max_value": 40})
    note: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = True
        ordered = False


class Codebook(pa.DataFrameModel):
    """One row per indicator: what it measures, in English and Chinese, and its unit."""

    indicator: Series[str] = pa.Field(str_matches=SNAKE_CASE, unique=True)
    category: Series[str] = pa.Field(isin=list(CATEGORIES))
    unit: Series[str] = pa.Field(str_length={"min_value": 1})
    name_zh: Series[str] = pa.Field(str_length={"min_value": 1})
    description_en: Series[str] = pa.Field(str_length={"min_value": 1})
    description_zh: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True


class TidyObservations(pa.DataFrameModel):
    """The long form every source is brought to: one row per (place, indicator, year).

    ``year`` is the year or period as stated (``'2016'``, ``'2006-2010'``,
    ``'not stated'``); ``year_start``/``year_end`` are its numeric ends (missing when not
    stated). ``quantity`` is the raw text; ``value``/``lower``/``upper``/``bound``/
    ``unit``/``scale`` are what :mod:`govstats.quantities` made of it.
    """

    place_id: Series[str] = pa.Field(str_length={"min_value": 1})
    indicator: Series[str] = pa.Field(str_matches=SNAKE_CASE)
    year: Series[str] = pa.Field(str_matches=YEAR_AS_STATED)
    year_start: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1900, le=2100)
    year_end: Series[pd.Int64Dtype] = pa.Field(nullable=True, ge=1900, le=2100)
    quantity: Series[str] = pa.Field(nullable=True)
    value: Series[float] = pa.Field(nullable=True)
    lower: Series[float] = pa.Field(nullable=True)
    upper: Series[float] = pa.Field(nullable=True)
    bound: Series[str] = pa.Field(isin=list(get_args(BoundKind)), nullable=True)
    unit: Series[str] = pa.Field(nullable=True)
    scale: Series[float] = pa.Field(nullable=True)
    source_file: Series[str]
    source_ref: Series[str]

    class Config:
        strict = False
        unique = ["place_id", "indicator", "year"]

    @pa.dataframe_check(error="year_end is before year_start")
    @classmethod
    def period_is_ordered(cls, df: pd.DataFrame) -> Series[bool]:
        ok = df["year_end"].isna() | df["year_start"].isna() | (df["year_end"] >= df["year_start"])
        return ok.astype(bool)

    @pa.dataframe_check(error="lower > value or value > upper")
    @classmethod
    def bounds_bracket_value(cls, df: pd.DataFrame) -> Series[bool]:
        lo_ok = df["lower"].isna() | df["value"].isna() | (df["lower"] <= df["value"] + 1e-9)
        hi_ok = df["upper"].isna() | df["value"].isna() | (df["value"] <= df["upper"] + 1e-9)
        return (lo_ok & hi_ok).astype(bool)


class CleanFacts(TidyObservations):
    """Tidy observations from the documents, with the facts' own provenance columns."""

    fact_id: Series[str] = pa.Field(unique=True)
    place_as_written: Series[str]
    level: Series[str] = pa.Field(isin=list(get_args(PlaceLevel)))
    source_phrase: Series[str]
    category: Series[str] = pa.Field(isin=list(CATEGORIES))
    codebook_unit: Series[str]


class IndicatorValues(pa.DataFrameModel):
    """Derived indicators (per 10k people, shares), each carrying its inputs.

    ``inputs`` lists the fact ids the value was computed from (``;``-separated);
    ``denominator`` says which population was divided by, with its source.
    """

    place_id: Series[str]
    indicator: Series[str] = pa.Field(str_matches=SNAKE_CASE)
    year: Series[str] = pa.Field(str_matches=YEAR_AS_STATED)
    value: Series[float] = pa.Field(nullable=True)
    lower: Series[float] = pa.Field(nullable=True)
    upper: Series[float] = pa.Field(nullable=True)
    bound: Series[str] = pa.Field(isin=list(get_args(BoundKind)))
    unit: Series[str]
    method: Series[str]
    inputs: Series[str] = pa.Field(str_length={"min_value": 1})
    denominator: Series[str] = pa.Field(nullable=True)

    class Config:
        strict = False
        unique = ["place_id", "indicator", "year"]


def problems_from_schema(
    error: pa.errors.SchemaErrors,
    *,
    file: str | None,
    rows: pd.Series | None = None,
    data: pd.DataFrame | None = None,
    key: list[str] | None = None,
) -> list[Problem]:
    """Convert pandera's lazy failure table into :class:`Problem` objects.

    Column checks give one problem per failing cell. Frame-wide checks (duplicate keys,
    cross-column checks), which pandera reports once per column per row, are folded
    into one problem per row.

    Parameters
    ----------
    error : pandera.errors.SchemaErrors
        Raised by ``Model.validate(df, lazy=True)``.
    file : str or None
        The file the frame came from.
    rows : Series, optional
        Spreadsheet row number for each index label of the validated frame. Without it
        the index label is reported as the row.
    data : DataFrame, optional
        The validated frame; used to show the key of duplicate rows.
    key : list of str, optional
        The unique key columns, shown for duplicates (default: every column pandera named).
    """

    def row_of(idx: object) -> object:
        if idx is None or (isinstance(idx, float) and pd.isna(idx)):
            return None
        if rows is not None and idx in rows.index:
            return int(rows.loc[idx])
        return idx

    problems: list[Problem] = []
    cases = error.failure_cases
    frame_wide = cases["schema_context"].eq("DataFrameSchema") & ~cases["check"].isin(
        ["column_in_schema", "column_in_dataframe"]
    )
    for case in cases[~frame_wide].itertuples(index=False):
        column = case.column if isinstance(case.column, str) else None
        check = str(case.check)
        value = case.failure_case
        if check == "column_in_schema":
            problems.append(
                Problem(
                    f"unexpected column {value!r}",
                    file=file,
                    column=str(value),
                    hint="remove it or rename it to one of the expected columns",
                )
            )
        elif check == "column_in_dataframe":
            problems.append(
                Problem(
                    f"missing column {value!r}",
                    file=file,
                    column=str(value),
                    hint="add the column (the expected columns are in govstats.schemas)",
                )
            )
        else:
            problems.append(
                Problem(
                    f"fails check {check}",
                    file=file,
                    row=row_of(case.index),
                    column=column,
                    value=value,
                )
            )
    wide = cases[frame_wide]
    for (check, idx), group in wide.groupby(["check", "index"], sort=True, dropna=False):
        named = [c for c in group["column"] if isinstance(c, str)]
        if check == "multiple_fields_uniqueness":
            cols = key or named
            shown = (
                {c: data.loc[idx, c] for c in cols}
                if data is not None and idx in data.index
                else dict(zip(group["column"], group["failure_case"], strict=False))
            )
            text = ", ".join(f"{c}={v!r}" for c, v in shown.items())
            problems.append(
                Problem(
                    f"duplicate key ({text}): another row has the same key",
                    file=file,
                    row=row_of(idx),
                    hint="each key may appear once; keep one row or make the keys differ",
                )
            )
        else:
            problems.append(Problem(str(check), file=file, row=row_of(idx)))
    return problems


def build_schemas(*models: type[pa.DataFrameModel]) -> None:
    """Build the pandera schemas of ``models`` now, without importing dask.

    pandera builds a model's schema on its first use. To sort the annotations it asks
    :func:`pandera.typing.get_index_types` and friends which dataframe libraries are
    installed, and that imports ``pandera.typing.dask``, hence ``dask.dataframe``: about
    1 s (more under load) on the first validation in a process, for a library none of
    these models uses. Here the schemas are built while ``pandera.typing.dask`` answers
    "dask is not installed" -- the models' fields are pandas ``Series`` and never a dask
    type, so the schemas are the ones pandera builds otherwise (a test compares them) --
    and then everything is put back: the stand-in module leaves ``sys.modules`` and the
    cached answers are cleared, so the next question (a user's own dask model) imports
    the real module and gets the full answer.

    Done only while this is the process's only thread (another thread could import
    pandera's dask typing during the build and keep the stand-in); otherwise, or when
    dask is already imported, the schemas are simply built as pandera builds them.
    pandera keeps a built schema per model and thread, so later validations in this
    thread reuse it.
    """
    import pandera.typing as pt

    stub = None
    if ("pandera.typing.dask" not in sys.modules and "dask.dataframe" not in sys.modules
            and threading.active_count() == 1):
        stub = types.ModuleType("pandera.typing.dask", "stand-in while govstats builds its schemas")
        stub.DASK_INSTALLED = False  # type: ignore[attr-defined]
        sys.modules["pandera.typing.dask"] = stub
    try:
        for model in models:
            model.to_schema()
    finally:
        if stub is not None:
            if sys.modules.get("pandera.typing.dask") is stub:
                del sys.modules["pandera.typing.dask"]
            if getattr(pt, "dask", None) is stub:
                delattr(pt, "dask")
            for cached in (pt.get_index_types, pt.get_series_types, pt.get_dataframe_types):
                cached.cache_clear()
