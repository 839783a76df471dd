"""Reading the network's CSV files: text, a pandera model, every problem at once."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from govstats import places
from govstats.errors import DataValidationError, GovstatsError, Problem
from govstats.facts import read_csv_text
from govstats.schemas import problems_from_schema


def read_checked(
    path: Path, model: type[pa.DataFrameModel], *, what: str, key: list[str]
) -> tuple[pd.DataFrame, pd.Series, list[Problem]]:
    """The file as text, its spreadsheet row numbers and the model's problems.

    Raises at once (with the schema's problems) when a column the model needs is missing,
    since no row can be checked further; otherwise the caller adds its own problems and
    raises them all together.
    """
    file = str(path)
    raw = read_csv_text(path, what=what)
    rows = pd.Series(raw.index + 2, index=raw.index)
    problems: list[Problem] = []
    try:
        model.validate(raw, lazy=True)
    except pa.errors.SchemaErrors as exc:
        problems += problems_from_schema(exc, file=file, rows=rows, data=raw, key=key)
    if not set(model.to_schema().columns) <= set(raw.columns):
        DataValidationError.raise_if_any(problems, what=file)
    return raw, rows, problems


def resolve_places(
    raw: pd.DataFrame,
    column: str,
    rows: pd.Series,
    problems: list[Problem],
    *,
    file: str,
    keep: tuple[str, ...] = (),
) -> list[str | None]:
    """The column's place names as registry ids; an unknown name becomes a problem.

    Values in ``keep`` (``'*'``, or ``''`` for an optional column) are passed through.
    """
    resolved: list[str | None] = []
    for i in raw.index:
        name = raw.at[i, column]
        if name in keep:
            resolved.append(name)
            continue
        try:
            resolved.append(places.resolve(name))
        except GovstatsError as exc:
            resolved.append(None)
            problems.append(
                Problem(str(exc), file=file, row=int(rows[i]), column=column, value=name)
            )
    return resolved
