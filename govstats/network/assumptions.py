"""The network assumptions: resolution rates, referral shares and default coverage.

No document prints a resolution rate, so these numbers live in
``data/raw/network_assumptions.csv``, every row ``kind=assumption`` with a rationale,
and every escalation result built on them is a model scenario.
"""

from __future__ import annotations

from pathlib import Path
from typing import get_args

import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

from govstats import paths
from govstats._literals import AssumptionParameter
from govstats.errors import DataValidationError, Problem
from govstats.network._files import read_checked, resolve_places
from govstats.network.layouts import BODY_PATTERN, TIER_PATTERN

__all__ = ["ASSUMPTION_COLUMNS", "NetworkAssumptions", "load_assumptions"]

ASSUMPTION_COLUMNS = [
    "assumption_id",
    "place_id",
    "node",
    "parameter",
    "value",
    "unit",
    "kind",
    "rationale",
]


class NetworkAssumptions(pa.DataFrameModel):
    """``data/raw/network_assumptions.csv`` as read (text), one assumption per row."""

    assumption_id: Series[str] = pa.Field(str_matches=r"^a\d{2,}$", unique=True)
    place_id: Series[str] = pa.Field(str_length={"min_value": 1})
    node: Series[str] = pa.Field(str_matches=rf"^(tier|beside|{TIER_PATTERN})({BODY_PATTERN})?$")
    parameter: Series[str] = pa.Field(isin=list(get_args(AssumptionParameter)))
    value: Series[str]
    unit: Series[str] = pa.Field(isin=["share"])
    kind: Series[str] = pa.Field(isin=["assumption"])
    rationale: Series[str] = pa.Field(str_length={"min_value": 20})

    class Config:
        strict = True
        unique = ["place_id", "node", "parameter"]


def load_assumptions(path: str | Path | None = None) -> pd.DataFrame:
    """The network assumptions, validated; raises one error listing every problem.

    Each row sets one ``parameter`` (``resolution_rate``, ``referral_share`` or
    ``coverage``, all shares in [0, 1]) for one ``node`` of one place. ``place_id``
    ``*`` means every place; ``node`` is a tier key (``village``), a body beside a
    tier (``village.legal``), or ``tier``/``beside`` for every tier/every body beside
    one. Lookup takes the most specific row: (place, node), then (``*``, node), then
    (``*``, ``tier``/``beside``). Every row must say ``kind=assumption`` and give a
    rationale: these are not facts.

    Returns
    -------
    DataFrame
        The columns of the file, ``value`` as float, ``place_id`` resolved to the
        registry's id (or ``*``), plus ``row`` (spreadsheet row, header = 1).

    Examples
    --------
    >>> a = load_assumptions()
    >>> a.query("node == 'village' and parameter == 'resolution_rate'")["value"].item()
    0.6
    """
    path = Path(path) if path else paths.raw_dir() / "network_assumptions.csv"
    file = str(path)
    raw, rows, problems = read_checked(
        path,
        NetworkAssumptions,
        what="the network assumptions",
        key=["place_id", "node", "parameter"],
    )
    values = pd.to_numeric(raw["value"], errors="coerce")

    def problem(i: object, message: str, column: str, hint: str) -> None:
        problems.append(
            Problem(
                message,
                file=file,
                row=int(rows[i]),
                column=column,
                value=raw.at[i, column],
                hint=hint,
            )
        )

    for i in raw.index:
        v = values[i]
        if pd.isna(v) or not 0.0 <= v <= 1.0:
            problem(i, "value must be a share between 0 and 1", "value", "write 0.6, not 60% or 60")
        parameter, node = raw.at[i, "parameter"], raw.at[i, "node"]
        if parameter == "referral_share" and "." not in node and node != "beside":
            problem(
                i,
                "a referral share belongs to a body beside a tier",
                "node",
                "use '<tier>.<name>' (e.g. village.legal) or 'beside'",
            )
        if parameter == "coverage" and ("." in node or node == "beside"):
            problem(i, "coverage belongs to a tier", "node", "use a tier key or 'tier'")
    resolved = resolve_places(raw, "place_id", rows, problems, file=file, keep=("*",))
    DataValidationError.raise_if_any(problems, what=file)
    out = raw.assign(place_id=resolved, value=values.astype(float), row=rows.astype(int))
    return out.reset_index(drop=True)
