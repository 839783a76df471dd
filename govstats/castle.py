"""Castle-doctrine laws and homicide (Cheng and Hoekstra 2013): a real staggered reform.

Between 2005 and 2009, 21 US states passed "castle doctrine" / "stand your ground" laws
that widen the legal use of lethal force in self-defence; 29 states did not. Cheng and
Hoekstra (2013, *Journal of Human Resources* 48(3), 821-854) estimate the effect on
homicide with two-way fixed effects on a state-year panel, weighted by population. That
panel, 50 states x 2000-2010, is observed data (FBI Uniform Crime Reports), committed as
``data/raw/castle.csv`` (provenance in ``data/raw/castle.provenance.md``: the ``castle``
data set of the PyPI package ``causaldata`` 0.1.5, MIT licence, which is the data file of
Cunningham's *Causal Inference: The Mixtape*).

What the module gives:

* :func:`load_castle` - the panel, indexed by ``(sid, year)``, checked, with the adoption
  year of every state under both timing conventions (below).
* :func:`mixtape_dd` - the full specification of Cunningham (2021), *The Mixtape*,
  chapter 9 (``castle_1.do`` / ``castle_1.R``): log homicide on the reform dummy with
  state and year effects, region-by-quarter dummies, time-varying controls and
  state-specific linear trends, population weights, state clusters. Its coefficient is
  the number the book's code prints (``0.0769``), pinned in ``tests/test_castle.py``.
* :func:`bacon_decomposition` - Goodman-Bacon's (2021) decomposition of the unweighted
  static two-way FE estimate into its 2x2 comparisons (``diff_diff.BaconDecomposition``).
* :func:`static_twfe`, :func:`event_study` and :func:`callaway_santanna` - the static
  two-way FE effect and the event studies of :mod:`govstats.did` (two-way FE, Sun-Abraham,
  Gardner's two-stage DiD) and :mod:`govstats.did_cs` on this panel, with police per
  capita (``l_police``, log police per 100,000 residents) as an optional covariate.

Timing. The data's ``post`` is 1 from the first *full* calendar year under the law; the
year the law took effect part-way (``lag0`` in the file) has ``post = 0``. So
``adoption="first_full_year"`` (default) takes the adoption year from ``post``: the event
study's reference year ``e = -1`` is then the partly treated year, as in the Mixtape's event
study (which leaves ``lag0`` out). ``adoption="first_partial_year"`` takes it from ``lag0``
(``e = 0`` is the partial year, and ``e = -1`` the last year wholly before the law). For two
states (Alaska and Arizona, sid 2 and 3) the file's ``lag0`` is in 2005, two years before
``post`` switches on, while the Mixtape copy's ``effyear`` for them is 2006; the data are
kept as published.

Examples
--------
>>> from govstats import castle
>>> df = castle.load_castle()
>>> df.shape[0], df.index.get_level_values("sid").nunique()
(550, 50)
>>> int(df.groupby(level="sid")["cohort"].first().notna().sum())  # states that adopt
21
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from govstats.errors import DataValidationError, GovstatsError, Problem

__all__ = [
    "ADOPTION_COLUMNS",
    "bacon_decomposition",
    "COVARIATES",
    "MIXTAPE_CONTROLS",
    "OUTCOME",
    "WEIGHTS",
    "callaway_santanna",
    "cohort_table",
    "event_spec",
    "event_study",
    "load_castle",
    "mixtape_dd",
    "mixtape_formula",
    "static_twfe",
]

Adoption = Literal["first_full_year", "first_partial_year"]

OUTCOME = "l_homicide"
WEIGHTS = "popwt"
UNIT = "sid"
TIME = "year"
#: adoption-year column for each timing convention (see the module docstring)
ADOPTION_COLUMNS: dict[str, str] = {"first_full_year": "cohort", "first_partial_year": "cohort_partial"}
#: covariates the event studies accept (``l_police``: log police per 100,000 residents)
COVARIATES = ("l_police", "unemployrt", "poverty", "l_income", "l_prisoner", "l_lagprisoner")
#: the Mixtape's ``$xvar``: time-varying controls of Cheng and Hoekstra's Table 4 column with controls
MIXTAPE_CONTROLS = ("l_police", "unemployrt", "poverty", "l_income", "l_prisoner", "l_lagprisoner",
                    "blackm_15_24", "whitem_15_24", "blackm_25_44", "whitem_25_44",
                    "l_exp_subsidy", "l_exp_pubwelfare")
YEARS = tuple(range(2000, 2011))
N_STATES = 50
_KEY = ("year", "sid", "state", "post", "lag0", OUTCOME, WEIGHTS, *MIXTAPE_CONTROLS)


def _path():
    from govstats import paths

    return paths.raw_dir() / "castle.csv"


def load_castle() -> pd.DataFrame:
    """The castle-doctrine panel: 50 states x 2000-2010, indexed by ``(sid, year)``. Observed data.

    Columns as in ``causaldata``'s ``castle`` (``l_homicide`` log homicides per 100,000,
    ``post`` the law dummy, ``popwt`` population weight, ``l_police`` log police per
    100,000, region-by-quarter dummies ``r20001..r20104``, state trends ``trend_1..51``,
    event-time dummies ``lead1..9`` / ``lag0..5``) plus ``state`` (the name), ``cohort``
    (first year with ``post = 1``; missing for the 29 states that never adopt) and
    ``cohort_partial`` (the year with ``lag0 = 1``).

    Every problem found (missing column or value, a state not observed once in every
    year, a ``post`` that switches off, a non-positive weight) is reported together in one
    :class:`~govstats.errors.DataValidationError` naming the row (header = row 1), column
    and value.
    """
    path = _path()
    if not path.is_file():
        raise GovstatsError(f"{path} is missing: it is committed with the repository (see castle.provenance.md)")
    df = pd.read_csv(path)
    problems: list[Problem] = []
    for col in _KEY:
        if col not in df.columns:
            problems.append(Problem("column not found", column=col, hint=f"in {path.name}"))
    DataValidationError.raise_if_any(problems, what=str(path))
    for col in _KEY:
        for pos in np.flatnonzero(df[col].isna().to_numpy())[:10]:
            problems.append(Problem("missing value", row=int(pos) + 2, column=col))
    for pos in np.flatnonzero(~df["post"].isin([0, 1]).to_numpy())[:10]:
        problems.append(Problem("not 0/1", row=int(pos) + 2, column="post", value=df.at[pos, "post"]))
    for pos in np.flatnonzero((df[WEIGHTS] <= 0).to_numpy())[:10]:
        problems.append(Problem("weight must be positive", row=int(pos) + 2, column=WEIGHTS, value=df.at[pos, WEIGHTS]))
    for pos in np.flatnonzero(df.duplicated(["sid", "year"], keep=False).to_numpy())[:10]:
        problems.append(Problem("duplicate (sid, year)", row=int(pos) + 2, column="sid/year",
                                value=(df.at[pos, "sid"], df.at[pos, "year"])))
    counts = df.groupby("sid")["year"].apply(lambda y: sorted(y.tolist()))
    for sid, years in counts.items():
        if tuple(years) != YEARS:
            problems.append(Problem(f"state not observed exactly once in each of {YEARS[0]}-{YEARS[-1]}",
                                    column="year", value=sid, hint=f"years present: {years}"))
    if counts.size != N_STATES:
        problems.append(Problem(f"expected {N_STATES} states, found {counts.size}", column="sid"))
    ordered = df.sort_values(["sid", "year"])
    switched_off = ordered.groupby("sid")["post"].diff().lt(0)
    for pos in ordered.index[switched_off.to_numpy()][:10]:
        problems.append(Problem("post goes from 1 back to 0: a law that stays on is needed", row=int(pos) + 2,
                                column="post", value=df.at[pos, "post"]))
    n_partial = df.groupby("sid")["lag0"].sum()
    for sid in n_partial.index[n_partial > 1]:
        problems.append(Problem("more than one year with lag0 = 1", column="lag0", value=sid))
    DataValidationError.raise_if_any(problems, what=str(path))
    cohort = df["sid"].map(df[df["post"] == 1].groupby("sid")["year"].min()).astype(float)
    partial = df["sid"].map(df[df["lag0"] == 1].groupby("sid")["year"].min()).astype(float)
    mismatch = cohort.isna() != partial.isna()
    if mismatch.any():
        raise GovstatsError(f"{path}: states {sorted(df.loc[mismatch, 'sid'].unique())} have post = 1 "
                            "but no year with lag0 = 1, or the reverse")
    df = pd.concat([df, pd.DataFrame({"cohort": cohort, "cohort_partial": partial})], axis=1)
    return df.set_index(["sid", "year"]).sort_index().copy()  # consolidated: reset_index stays cheap


def cohort_table(data: pd.DataFrame | None = None) -> pd.DataFrame:
    """States by adoption year (first full year and partial year), with their names."""
    df = (load_castle() if data is None else data).reset_index()
    first = df.drop_duplicates("sid")
    out = (first.assign(adopts=first["cohort"].fillna(0).astype(int))
           .groupby("adopts").agg(states=("sid", "size"), names=("state", lambda s: ", ".join(sorted(s))))
           .reset_index())
    out["adopts"] = out["adopts"].map(lambda y: "never (2000-2010)" if y == 0 else str(y))
    return out.rename(columns={"adopts": "first full year under the law"})


def mixtape_formula(data: pd.DataFrame | None = None) -> str:
    """The Mixtape's full DD equation (``castle_1.do``): region-quarter dummies, controls, state trends, ``post``."""
    df = load_castle() if data is None else data
    region = [c for c in df.columns if c.startswith("r20")]
    trends = [c for c in df.columns if c.startswith("trend_")]
    if len(region) != 44 or len(trends) != 51:
        raise GovstatsError(f"expected 44 region-quarter dummies and 51 state trends, found {len(region)} and "
                            f"{len(trends)}")
    rhs = [*region, *MIXTAPE_CONTROLS, *trends, "post"]
    return f"{OUTCOME} ~ " + " + ".join(rhs) + f" | {UNIT} + {TIME}"


def mixtape_dd(data: pd.DataFrame | None = None):
    """Cunningham (2021), *The Mixtape*, ch. 9: ``xtreg l_homicide i.year $region $xvar $lintrend post [aweight=popwt], fe vce(cluster sid)``.

    Weighted least squares with state and year effects; the collinear region dummies and
    state trends are dropped (as Stata and R ``lfe`` do). Returns a
    :class:`govstats.models.PanelResults`; ``.coef()["post"]`` is the DD estimate.
    """
    import warnings

    from govstats.models import fit

    df = load_castle() if data is None else data
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*collinear.*")
        return fit(mixtape_formula(df), df, weights=WEIGHTS, vcov={"CRV1": UNIT})


def _check_covariates(covariates: Sequence[str]) -> tuple[str, ...]:
    cov = (covariates,) if isinstance(covariates, str) else tuple(covariates)
    bad = [c for c in cov if c not in COVARIATES]
    if bad:
        raise ValueError(f"covariates {bad} not offered; choose from {list(COVARIATES)}")
    return cov


def static_twfe(data: pd.DataFrame | None = None, *, covariates: Sequence[str] = (), weighted: bool = True):
    """Static two-way FE: ``l_homicide ~ post [+ covariates] | sid + year``, population-weighted, state clusters."""
    from govstats.models import fit

    cov = _check_covariates(covariates)
    df = load_castle() if data is None else data
    rhs = " + ".join(["post", *cov])
    return fit(f"{OUTCOME} ~ {rhs} | {UNIT} + {TIME}", df, weights=WEIGHTS if weighted else None,
               vcov={"CRV1": UNIT})


def event_spec(*, covariates: Sequence[str] = (), adoption: Adoption = "first_full_year", leads: int = 5,
               lags: int = 4, weighted: bool = True, estimators: Sequence[str] = ("twfe", "sun_abraham", "did2s"),
               alpha: float = 0.05):
    """The :class:`govstats.did.EventStudySpec` for log homicide (state clusters: 50, so no bootstrap)."""
    from govstats.did import EventStudySpec

    if adoption not in ADOPTION_COLUMNS:
        raise ValueError(f"adoption={adoption!r}; choose from {list(ADOPTION_COLUMNS)}")
    return EventStudySpec(
        OUTCOME, cohort=ADOPTION_COLUMNS[adoption], unit=UNIT, time=TIME,
        treatment="post" if adoption == "first_full_year" else None,
        leads=leads, lags=lags, controls=_check_covariates(covariates), estimators=tuple(estimators),
        weights=WEIGHTS if weighted else None, alpha=alpha,
    )


def event_study(data: pd.DataFrame | None = None, **spec_options):
    """:func:`govstats.did.event_study` on the castle panel; options as in :func:`event_spec`."""
    from govstats import did

    df = load_castle() if data is None else data
    return did.event_study(event_spec(**spec_options), df)


def callaway_santanna(data: pd.DataFrame | None = None, *, covariates: Sequence[str] = (),
                      adoption: Adoption = "first_full_year", control_group: str = "never_treated",
                      reps: int = 999, seed: int = 0, alpha: float = 0.05):
    """Callaway and Sant'Anna (2021) group-time effects (:func:`govstats.did_cs.callaway_santanna`).

    Unweighted: ``govstats.did_cs`` has no regression weights, so this estimates the average
    over states rather than over people (the two-way FE and did2s rows are weighted by
    population). Covariates enter as base-period values (doubly robust).
    """
    from govstats import did_cs

    df = (load_castle() if data is None else data).reset_index()
    col = ADOPTION_COLUMNS[adoption]
    df = df.assign(_g=df[col].fillna(0).astype(int)).copy()
    spec = did_cs.CSSpec(OUTCOME, cohort="_g", unit=UNIT, time=TIME, covariates=_check_covariates(covariates),
                         control_group=control_group, reps=reps, seed=seed, alpha=alpha)  # type: ignore[arg-type]
    return did_cs.callaway_santanna(spec, df)


def bacon_decomposition(data: pd.DataFrame | None = None, *, adoption: Adoption = "first_full_year"):
    """Goodman-Bacon (2021) decomposition of the *unweighted* static two-way FE estimate.

    ``diff_diff.BaconDecomposition`` (exact weights) with never-adopting states as the
    never-treated group. Returns ``(summary, comparisons)``: one row per comparison type
    (``weight``, ``avg_estimate``, ``contribution``; the contributions add up to
    ``summary.attrs["twfe"]``) and one row per 2x2 comparison. The decomposition is of the
    unweighted regression only: with population weights there is no such decomposition.
    """
    from diff_diff import BaconDecomposition

    if adoption not in ADOPTION_COLUMNS:
        raise ValueError(f"adoption={adoption!r}; choose from {list(ADOPTION_COLUMNS)}")
    df = (load_castle() if data is None else data).reset_index()
    df = df.assign(_first=df[ADOPTION_COLUMNS[adoption]].fillna(0).astype(int))
    res = BaconDecomposition().fit(df, OUTCOME, UNIT, TIME, "_first")
    types = {
        "treated vs never treated": (res.total_weight_treated_vs_never, res.weighted_avg_treated_vs_never),
        "earlier vs later treated": (res.total_weight_earlier_vs_later, res.weighted_avg_earlier_vs_later),
        "later vs earlier treated (already-treated controls)": (res.total_weight_later_vs_earlier,
                                                                  res.weighted_avg_later_vs_earlier),
    }
    summary = pd.DataFrame(
        [{"comparison": k, "weight": float(w or 0.0), "avg_estimate": float(e) if e is not None else np.nan}
         for k, (w, e) in types.items()])
    summary["contribution"] = summary["weight"] * summary["avg_estimate"].fillna(0.0)
    summary.attrs["twfe"] = float(res.twfe_estimate)
    return summary, res.to_dataframe()
