"""A SIMULATED (unit, year) panel calibrated to the documented facts.

The five documents give point-in-time facts, not an annual panel, so
regressions that need a panel with *known* true coefficients run on this
simulated one. Its data-generating process (DGP) is written down in
``docs/simulation_dgp.md`` and in :data:`DGP_TEXT`; its levels come from the
calibration table ``govstats/simulate_calibration.csv`` (every number with its
source file and a short phrase, and marked ``fact``, ``derived`` or
``assumption``). Effect sizes, standard deviations and the AR(1) coefficient
are ASSUMPTIONS (:class:`TrueEffects`), never facts.

Units are the sub-units (districts / counties / streets) of the five places in
the places registry, or ``units_per_place`` synthetic units per place for scale.
Every frame carries ``attrs["simulated"] = True`` and a label starting with
``SIMULATED``.

Examples
--------
>>> sim = simulate_panel(seed=1)
>>> sim.label.startswith("SIMULATED")
True
>>> sim.data.attrs["simulated"]
True
>>> sorted(sim.data["place_id"].unique())
['dongcheng', 'futian', 'hengyang', 'quzhou', 'shaoyang']
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import expit, logit

from govstats._literals import SatisfactionLink, check_literal

__all__ = [
    "DGP_TEXT",
    "PLACES",
    "REFORMS",
    "SimulatedPanel",
    "SimulationTruth",
    "TrueEffects",
    "calibration",
    "simulate_panel",
]

PLACES = ("hengyang", "shaoyang", "quzhou", "dongcheng", "futian")
#: Reforms: 一村一辅警 (one auxiliary officer per village), 城市快警 (rapid police), 网格化 (grid management).
REFORMS = ("aux_village", "rapid_police", "grid")

_UNIT_LEVELS = {"district", "county", "county_city", "subdistrict"}
_RURAL_LEVELS = {"county", "county_city"}
_CALIBRATION_FILE = Path(__file__).with_name("simulate_calibration.csv")

DGP_TEXT = """\
SIMULATED panel: data-generating process (all quantities per unit i, year t)

Population
  pop_i,2020 = census_p,2020 * s_i,   (s_i) ~ Dirichlet(5, ..., 5) within place p
  pop_it     = pop_i,2020 * (1 + g_p)^(t - 2020)
Reform adoption (r in aux_village, rapid_police, grid)
  A_ir = documented year (Shaoyang: aux_village 2016, rapid_police 2017),
         else drawn uniformly from the assumed range of the place, else never
  D_irt = 1[t >= A_ir],  e_irt = t - A_ir (event time)
Staffing (per 10,000 people); u^x_it are AR(1): u_it = rho u_i,t-1 + sqrt(1 - rho^2) z_it
  police_it = L_i (1 + 0.08 d_i)(1 + cv u^P_it) + J^P_i D_i,rapid_police,t
  aux_it    = 3.0 (1 + 0.15 d2_i)(1 + cv u^A_it) + J^V_i D_i,aux_village,t + J^R_i D_i,rapid_police,t
  med_it    = M_i (1 + cv u^M_it)
  grid_it   = G_p (1 + 0.10 d4_i) 1.03^(t - 2020) (1 + cv u^G_it) 1.25^(D_i,grid,t - D_i,grid,2020)
  L_i: Shaoyang rural units 5.8, urban units the level keeping the population-weighted place
  mean at 6.1; other places an assumed level. d_i: standardised unit deviations with
  population-weighted mean 0 within the place. J^P = 33*8 police, J^R = 33*24 auxiliaries per
  place population (Shaoyang's platforms; Hengyang at the same per-capita intensity);
  J^V = 3299 village officers spread by population (rural weight 1, urban 0.2).
Satisfaction (link scale: logit of the share, or percentage points when link = "linear")
  eta_it = c + alpha_i + lambda_t + b_P police_it + b_A aux_it + b_M med_it + b_G grid_it
           + sum_r tau_r(e_irt) m_ir D_irt + b_S mu_it + eps_it
  tau_r(e) = tau_r (1 - phase_in^(e + 1)) for e >= 0 (phase_in = 0: a step)
  m_ir = (1 + h z_ir) k_r(A_ir)   (effect heterogeneity across units, h = 0 by default)
  k_r(A) = (1 - cohort_decay)^(A - A_r,first) / mean over the units adopting r of the same
           (cohort heterogeneity: each later adoption year shrinks the effect by the share
           cohort_decay; A_r,first the earliest adoption year of r in the panel; the mean of k
           over adopting units is 1, so tau_r stays their average; cohort_decay = 0: k = 1)
  b_S = beta_mediation_success (mediation success -> satisfaction; 0 by default: no arrow)
  alpha_i = sd_unit (corr d_i + sqrt(1 - corr^2) z_i)   (correlated with police staffing)
  lambda_t = 0.05 (t - 2021) + sd_year z_t
  eps_it = rho eps_i,t-1 + sd_noise z_it  (stationary start)
  c sets the 2021 mean of eta to logit(0.986) (national 98.6%, 2021) or to 98.6
  satisfaction_pct = 100 expit(eta_it)  (logit)   |   eta_it  (linear)
  satisfaction_index = eta_it  (exactly linear in the parameters: FE OLS recovers b and tau)
Mediation success (a mediator outcome for issue 5)
  mu_it = c_m + alpha^m_i + lambda^m_t + g_M med_it + g_G grid_it + eps^m_it
  alpha^m_i = 0.3 z_i,  lambda^m_t = 0.05 z_t,  eps^m_it = rho eps^m_i,t-1 + 0.15 z_it (stationary)
  mediation_success_pct = 100 expit(mu_it),  c_m sets the mean to logit(0.95) (assumption)
  mediation_success_index = mu_it  (the latent mediator: linear in the parameters)
  Treatment x (x = med or grid) -> mu -> eta, per unit of x (b_x, g_x the slopes above):
    indirect (ACME) = g_x b_S,  direct (ADE) = b_x,  total = b_x + g_x b_S
"""


@dataclass(frozen=True)
class TrueEffects:
    """True parameters of the simulated DGP (all ASSUMPTIONS, none is a documented fact).

    Coefficients are on the link scale of the satisfaction outcome: the logit of
    the satisfaction share when ``link="logit"``, percentage points when
    ``link="linear"``. ``satisfaction_index`` is always exactly linear in them.

    Two options are off by default (0), so that a given seed gives the panel it
    always gave:

    ``cohort_decay``
        Cohort-heterogeneous effects: a unit adopting a reform one year later
        than another gets an effect smaller by this share (negative: larger),
        ``k_r(A) = (1 - cohort_decay)^(A - A_first)`` scaled to mean 1 over the
        adopting units (so ``tau_r`` stays the adopters' average). With
        ``phase_in > 0`` the effect then differs by cohort *and* event time,
        the setting in which plain two-way FE event studies are biased.
    ``beta_mediation_success``
        The arrow mediation success -> satisfaction: the slope of the
        satisfaction index on the latent mediation-success index ``mu``
        (column ``mediation_success_index``, the logit of the success share).
        Mediators per 10k and grid density then act on satisfaction also
        through mediation success (indirect effect ``gamma * beta_mediation_success``).

    Examples
    --------
    >>> TrueEffects().effect("aux_village", 0)
    0.15
    >>> TrueEffects(phase_in=0.5).effect("aux_village", [-1, 0, 1])
    array([0.    , 0.075 , 0.1125])
    >>> TrueEffects(beta_mediation_success=0.5).mediation_paths("mediators_per_10k")
    {'a': 0.08, 'b': 0.5, 'c': 0.03}
    """

    beta_police: float = 0.05
    beta_aux: float = 0.04
    beta_mediators: float = 0.03
    beta_grid: float = 0.02
    tau_aux_village: float = 0.15
    tau_rapid_police: float = 0.10
    tau_grid: float = 0.10
    phase_in: float = 0.0
    effect_heterogeneity: float = 0.0
    cohort_decay: float = 0.0
    sd_unit: float = 0.30
    sd_year: float = 0.10
    sd_noise: float = 0.15
    rho: float = 0.5
    staffing_noise_cv: float = 0.05
    corr_unit_staffing: float = 0.6
    gamma_mediators: float = 0.08
    gamma_grid: float = 0.05
    beta_mediation_success: float = 0.0
    link: SatisfactionLink = "logit"

    def __post_init__(self) -> None:
        check_literal(self.link, SatisfactionLink, "link")
        if not 0 <= self.phase_in < 1:
            raise ValueError(f"phase_in must be in [0, 1), got {self.phase_in}")
        if not -1 < self.rho < 1:
            raise ValueError(f"rho must be in (-1, 1), got {self.rho}")
        if not -1 <= self.corr_unit_staffing <= 1:
            raise ValueError("corr_unit_staffing must be in [-1, 1]")
        if not -1 < self.cohort_decay < 1:
            raise ValueError(f"cohort_decay must be in (-1, 1), got {self.cohort_decay}")

    @property
    def coefficients(self) -> dict[str, float]:
        """True slopes of the satisfaction equation, by regressor column."""
        return {
            "police_per_10k": self.beta_police,
            "auxiliary_per_10k": self.beta_aux,
            "mediators_per_10k": self.beta_mediators,
            "grid_density": self.beta_grid,
        }

    @property
    def mediation_slopes(self) -> dict[str, float]:
        """True slopes of the latent mediation-success index ``mu`` on the staffing columns."""
        return {
            "police_per_10k": 0.0,
            "auxiliary_per_10k": 0.0,
            "mediators_per_10k": self.gamma_mediators,
            "grid_density": self.gamma_grid,
        }

    @property
    def total_coefficients(self) -> dict[str, float]:
        """Slopes of the satisfaction index on staffing when mediation success is NOT held fixed.

        ``b_x + gamma_x * beta_mediation_success``; equal to :attr:`coefficients`
        when there is no mediator arrow.
        """
        return {k: b + self.mediation_slopes[k] * self.beta_mediation_success for k, b in self.coefficients.items()}

    def mediation_paths(self, treatment: str) -> dict[str, float]:
        """True paths for ``treatment -> mediation_success_index -> satisfaction_index``.

        ``a`` (treatment -> mediator), ``b`` (mediator -> outcome), ``c`` (direct),
        per unit of each, as :func:`govstats.mediation.mediation_analysis` names them.
        """
        if treatment not in self.coefficients:
            raise KeyError(f"unknown treatment {treatment!r}; staffing columns are {list(self.coefficients)}")
        return {
            "a": self.mediation_slopes[treatment],
            "b": self.beta_mediation_success,
            "c": self.coefficients[treatment],
        }

    def tau(self, reform: str) -> float:
        """Long-run direct effect of a reform on the satisfaction link scale."""
        if reform not in REFORMS:
            raise KeyError(f"unknown reform {reform!r}; reforms are {REFORMS}")
        return float(getattr(self, f"tau_{reform}"))

    def effect(self, reform: str, event_time):
        """Direct effect (mean over units) at event time ``e = year - adoption year``."""
        e = np.asarray(event_time, dtype=float)
        out = np.where(e >= 0, self.tau(reform) * (1.0 - self.phase_in ** (np.maximum(e, 0) + 1)), 0.0)
        return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class SimulationTruth:
    """Everything that is true in a simulated panel.

    Attributes
    ----------
    effects : TrueEffects
    coefficients : dict
        True slopes of ``satisfaction_index`` on the staffing columns, holding
        mediation success fixed (direct slopes).
    intercept : float
        ``c`` in the DGP.
    unit_effects : Series
        ``alpha_i`` by unit_id.
    year_effects : Series
        ``lambda_t`` by year.
    adoption : DataFrame
        One row per unit: adoption year of each reform (``<NA>`` = never), the
        unit's effect multiplier ``m`` for each reform (``{reform}_multiplier``,
        cohort factor included) and its cohort factor ``k`` alone
        (``{reform}_cohort_multiplier``; 1 unless ``cohort_decay != 0``).
    event_effects : DataFrame
        reform, event_time, n_units, direct_effect (mean over adopting units,
        multiplier included), channel_effect (mean effect through the staffing
        jumps the reform causes, ``b`` times the jumps, through mediation success
        too when ``beta_mediation_success != 0``) and total_effect = direct +
        channel, over the event times observed in the panel. An event study that
        controls for staffing targets ``direct_effect``; one that does not targets
        ``total_effect``. The mean over adopting units at each event time weights
        the cohorts by their number of units observed there: the weights of the
        Sun-Abraham interaction-weighted estimator (cohort shares of the cell)
        and the estimand of did2s / imputation (every treated observation
        counts once). :meth:`att` averages over all treated observations.
        The estimation sample of an event study may leave rows out (years in
        which every unit has adopted, units without two pre-reform years) and
        bins the endpoints: :func:`govstats.did.true_effects` averages the same
        unit-level effects over that sample.
    cohort_effects : DataFrame
        The same by reform, adoption ``cohort`` and event_time: n_units,
        ``weight`` (the cohort's share of the adopters observed at that event
        time, i.e. its weight in ``event_effects``), cohort_multiplier (``k``),
        direct_effect, channel_effect, total_effect.
    rho, sd_unit, sd_year, sd_noise : float
    link : str
    outcome_scale : str
    total_coefficients : dict
        Slopes of ``satisfaction_index`` on staffing with mediation success not
        held fixed (``b_x + gamma_x beta_mediation_success``).
    mediation_slopes : dict
        True slopes of ``mediation_success_index`` on the staffing columns.
    """

    effects: TrueEffects
    coefficients: dict
    intercept: float
    unit_effects: pd.Series
    year_effects: pd.Series
    adoption: pd.DataFrame
    event_effects: pd.DataFrame
    rho: float
    sd_unit: float
    sd_year: float
    sd_noise: float
    link: str
    outcome_scale: str
    cohort_effects: pd.DataFrame = field(default_factory=pd.DataFrame)
    total_coefficients: dict = field(default_factory=dict)
    mediation_slopes: dict = field(default_factory=dict)

    def event_effect(self, reform: str, event_time: int, *, kind: str = "direct") -> float:
        """True mean effect of ``reform`` at ``event_time`` (kind: direct, channel, total)."""
        tab = self.event_effects
        row = tab[(tab["reform"] == reform) & (tab["event_time"] == event_time)]
        if row.empty:
            raise KeyError(f"no units observed at event time {event_time} of {reform!r}")
        return float(row[f"{kind}_effect"].iloc[0])

    def cohort_effect(self, reform: str, cohort: int, event_time: int, *, kind: str = "direct") -> float:
        """True mean effect of ``reform`` in adoption ``cohort`` at ``event_time``.

        Examples
        --------
        >>> sim = simulate_panel(places=["quzhou"], seed=0, effects=TrueEffects(cohort_decay=0.5))
        >>> cohorts = sorted(sim.truth.cohort_effects.query("reform == 'grid'")["cohort"].unique())
        >>> early, late = (sim.truth.cohort_effect("grid", g, 0) for g in (cohorts[0], cohorts[-1]))
        >>> bool(round(late / early, 6) == 0.5 ** (cohorts[-1] - cohorts[0]))
        True
        """
        tab = self.cohort_effects
        row = tab[(tab["reform"] == reform) & (tab["cohort"] == cohort) & (tab["event_time"] == event_time)]
        if row.empty:
            raise KeyError(f"cohort {cohort} of {reform!r} is not observed at event time {event_time}")
        return float(row[f"{kind}_effect"].iloc[0])

    def att(self, reform: str, *, kind: str = "direct") -> float:
        """True average effect over every treated (unit, year) of ``reform`` in the panel.

        The estimand of the ATT rows of :func:`govstats.did.event_study` (did2s and
        Sun-Abraham both weight every treated observation equally) on the full
        panel; :func:`govstats.did.true_effects` gives it on an estimation sample.

        Examples
        --------
        >>> sim = simulate_panel(seed=0)
        >>> round(sim.truth.att("grid"), 12)  # a step of tau_grid, the same in every cohort
        0.1
        """
        tab = self.event_effects
        post = tab[(tab["reform"] == reform) & (tab["event_time"] >= 0)]
        if post.empty:
            raise KeyError(f"no unit adopts {reform!r} within the panel")
        return float(np.average(post[f"{kind}_effect"], weights=post["n_units"]))

    def mediation_effects(self, treatment: str = "mediators_per_10k", *, change: float = 1.0) -> dict[str, float]:
        """True direct and indirect effects, keyed as :data:`govstats.mediation.EFFECT_NAMES`.

        For ``treatment -> mediation_success_index -> satisfaction_index`` and a
        change of the treatment by ``change`` (``t1 - t0`` of the analysis'
        contrast; 1 by default, as :func:`govstats.mediation.mediation_analysis`
        uses for a continuous treatment). The DGP is linear in these columns with
        additive unit and year effects, so the effects are the same for every
        contrast of that size and whatever fixed effects are partialled out:
        ACME = a b change, ADE = c change (``a``, ``b``, ``c`` from
        :meth:`TrueEffects.mediation_paths`). The analysis' linear models are
        correctly specified with ``mediation_success_index`` as the mediator
        and the other staffing column that moves mediation success (grid
        density for mediators, and vice versa; a mediator-outcome confounder)
        among the controls. With ``mediation_success_pct`` (``100 expit(mu)``)
        the effects are the same, but the linear models only approximate them.

        Examples
        --------
        >>> sim = simulate_panel(seed=0, effects=TrueEffects(beta_mediation_success=0.5))
        >>> {k: round(v, 3) for k, v in sim.truth.mediation_effects().items() if "average" in k}
        {'Prop. mediated (average)': 0.571, 'ACME (average)': 0.04, 'ADE (average)': 0.03}
        """
        p = self.effects.mediation_paths(treatment)
        acme = p["a"] * p["b"] * change
        ade = p["c"] * change
        total = acme + ade
        return {
            "ACME (control)": acme,
            "ACME (treated)": acme,
            "ADE (control)": ade,
            "ADE (treated)": ade,
            "Total effect": total,
            "Prop. mediated (average)": acme / total if total != 0 else math.nan,
            "ACME (average)": acme,
            "ADE (average)": ade,
        }


@dataclass(frozen=True)
class SimulatedPanel:
    """A simulated panel, its truth and its written-down DGP.

    Attributes
    ----------
    data : DataFrame
        Long form, one row per (unit_id, year); ``attrs["simulated"] = True``.
    truth : SimulationTruth
    dgp : str
        The DGP equations (same text as ``docs/simulation_dgp.md``).
    label : str
        Starts with "SIMULATED"; put it in every title built on this panel.
    calibration : DataFrame
        The calibration table used (facts, derived numbers and assumptions).
    seed : int
    """

    data: pd.DataFrame
    truth: SimulationTruth
    dgp: str
    label: str
    calibration: pd.DataFrame
    seed: int
    params: dict = field(default_factory=dict)

    def panel(self) -> pd.DataFrame:
        """The data with the (unit_id, year) MultiIndex linearmodels expects."""
        out = self.data.set_index(["unit_id", "year"])
        out.attrs.update(self.data.attrs)
        return out


@cache
def _calibration_cached() -> pd.DataFrame:
    return pd.read_csv(_CALIBRATION_FILE, dtype=str, keep_default_na=False)


def calibration() -> pd.DataFrame:
    """The calibration table: parameter, place_id, value, unit, kind, source_file, source_phrase, fact_id, note.

    ``kind`` is ``fact`` (read from a source document or the census reference,
    with the short phrase it comes from), ``derived`` (computed from facts; the
    note says how) or ``assumption`` (not documented; chosen for the simulation).

    Examples
    --------
    >>> cal = calibration()
    >>> cal.loc[(cal.parameter == "police_per_10k_before_reform") & (cal.place_id == "shaoyang"), "value"].item()
    '6.1'
    """
    return _calibration_cached().copy()


def _value(cal: pd.DataFrame, parameter: str, place_id: str) -> str:
    rows = cal[(cal["parameter"] == parameter) & (cal["place_id"].isin([place_id, "all"]))]
    if rows.empty:
        raise KeyError(f"calibration table has no {parameter!r} for {place_id!r}")
    exact = rows[rows["place_id"] == place_id]
    return (exact if not exact.empty else rows)["value"].iloc[0]


def _num(cal, parameter, place_id, default=None) -> float:
    try:
        return float(_value(cal, parameter, place_id))
    except KeyError:
        if default is None:
            raise
        return default


def _year_range(cal, parameter, place_id) -> tuple[int, int] | None:
    try:
        text = _value(cal, parameter, place_id)
    except KeyError:
        return None
    lo, _, hi = text.partition("-")
    return int(lo), int(hi or lo)


def _units(places: Sequence[str], units_per_place: int | None, rng: np.random.Generator) -> pd.DataFrame:
    from govstats.places import registry

    reg = registry().reset_index()
    rows = []
    for p in places:
        kids = reg[(reg["parent_id"] == p) & reg["level"].isin(_UNIT_LEVELS)]
        if kids.empty:
            raise ValueError(f"the places registry lists no sub-units of {p!r}")
        rural_share = float(kids["level"].isin(_RURAL_LEVELS).mean())
        if units_per_place is None:
            for _, k in kids.iterrows():
                rows.append(
                    {
                        "place_id": p,
                        "unit_id": k["place_id"],
                        "unit_name": k["name_zh"],
                        "unit_level": k["level"],
                        "rural": k["level"] in _RURAL_LEVELS,
                    }
                )
        else:
            rural = rng.random(units_per_place) < rural_share
            for j in range(units_per_place):
                rows.append(
                    {
                        "place_id": p,
                        "unit_id": f"{p}.sim{j + 1:04d}",
                        "unit_name": f"simulated unit {j + 1} of {p}",
                        "unit_level": "synthetic",
                        "rural": bool(rural[j]),
                    }
                )
    return pd.DataFrame(rows)


def _ar1(rng: np.random.Generator, shape: tuple[int, int], rho: float) -> np.ndarray:
    """Stationary AR(1) paths with unit variance along axis 1."""
    z = rng.standard_normal(shape)
    out = np.empty(shape)
    out[:, 0] = z[:, 0]
    scale = np.sqrt(1.0 - rho * rho)
    for t in range(1, shape[1]):
        out[:, t] = rho * out[:, t - 1] + scale * z[:, t]
    return out


def _cohort_multiplier(adoption_year: np.ndarray, decay: float) -> np.ndarray:
    """Cohort factor k of each unit: (1 - decay)^(A - A_first), mean 1 over adopters; 1 for never-adopters."""
    k = np.ones(len(adoption_year))
    adopters = adoption_year >= 0
    if decay != 0 and adopters.any():
        a = adoption_year[adopters]
        raw = (1.0 - decay) ** (a - a.min()).astype(float)
        k[adopters] = raw / raw.mean()
    return k


def _centred(rng: np.random.Generator, place_codes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Standard-normal unit deviations with weighted mean 0 within each group."""
    z = rng.standard_normal(len(place_codes))
    for p in np.unique(place_codes):
        m = place_codes == p
        z[m] -= np.average(z[m], weights=weights[m])
    return z


def simulate_panel(
    *,
    places: Sequence[str] | None = None,
    years: Sequence[int] = range(2008, 2024),
    units_per_place: int | None = None,
    seed: int = 0,
    effects: TrueEffects | None = None,
) -> SimulatedPanel:
    """Simulate the calibrated (unit, year) panel; every output says SIMULATED.

    Parameters
    ----------
    places : list of place ids, optional
        Subset of ``PLACES`` (default all five).
    years : sequence of int
        Years to simulate (default 2008-2023).
    units_per_place : int, optional
        None: the places' sub-units from the registry (57 units). An int: that
        many synthetic units per place (for scale: up to thousands).
    seed : int
        Seed; the same seed and arguments give the same panel.
    effects : TrueEffects, optional
        True parameters (assumptions); default ``TrueEffects()``.

    Returns
    -------
    SimulatedPanel

    Examples
    --------
    >>> sim = simulate_panel(places=["shaoyang"], years=range(2014, 2019), seed=3)
    >>> sim.data.groupby("year")["aux_village_reform"].mean().tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0]
    >>> sim.truth.coefficients["police_per_10k"]
    0.05
    """
    eff = effects or TrueEffects()
    places = list(PLACES if places is None else places)
    unknown = [p for p in places if p not in PLACES]
    if unknown:
        raise ValueError(f"unknown places {unknown}; simulate_panel knows {list(PLACES)}")
    years = np.asarray(list(years), dtype=int)
    if len(years) < 2 or np.any(np.diff(years) != 1):
        raise ValueError("years must be at least two consecutive years")
    if units_per_place is not None and units_per_place < 1:
        raise ValueError("units_per_place must be a positive integer or None")
    rng = np.random.default_rng(seed)
    cal = calibration()
    units = _units(places, units_per_place, rng)
    U, T = len(units), len(years)
    pcode = units["place_id"].to_numpy()
    rural = units["rural"].to_numpy(dtype=bool)
    dt = years - 2020

    # population
    pop2020 = np.empty(U)
    growth = np.empty(U)
    for p in places:
        m = pcode == p
        pop2020[m] = _num(cal, "resident_population_2020", p) * rng.dirichlet(np.full(m.sum(), 5.0))
        growth[m] = _num(cal, "population_growth_per_year", p)
    pop = pop2020[:, None] * (1.0 + growth[:, None]) ** dt[None, :]

    # adoption years
    adoption = {}
    fixed = {("shaoyang", "aux_village"): "aux_village_reform_year", ("shaoyang", "rapid_police"): "rapid_police_reform_year"}
    for r in REFORMS:
        a = np.full(U, -1, dtype=int)  # -1 = never
        for p in places:
            m = pcode == p
            if (p, r) in fixed:
                a[m] = int(_num(cal, fixed[(p, r)], p))
                continue
            rng_years = _year_range(cal, f"{r}_reform_year_range", p)
            if rng_years is not None:
                a[m] = rng.integers(rng_years[0], rng_years[1] + 1, size=m.sum())
        adoption[r] = a
    D = {r: (adoption[r][:, None] >= 0) & (years[None, :] >= adoption[r][:, None]) for r in REFORMS}

    # staffing
    cv = eff.staffing_noise_cv
    # deviations centred within (place, rural) cells, so that documented levels hold exactly
    cell = np.char.add(pcode.astype(str), np.where(rural, ":rural", ":urban"))
    dev_police = _centred(rng, cell, pop2020)
    dev_aux = _centred(rng, pcode, pop2020)
    dev_grid = _centred(rng, pcode, pop2020)
    level = np.empty(U)
    med_level = np.empty(U)
    grid_level = np.empty(U)
    jump_police = np.zeros(U)
    jump_rapid_aux = np.zeros(U)
    jump_village = np.zeros(U)
    sy_pop = _num(cal, "resident_population_2020", "shaoyang")
    platforms = _num(cal, "rapid_police_platforms", "shaoyang")
    rp_police = platforms * _num(cal, "rapid_police_police_per_platform", "shaoyang") / sy_pop * 1e4
    rp_aux = platforms * _num(cal, "rapid_police_aux_per_platform", "shaoyang") / sy_pop * 1e4
    villages_per_person = _num(cal, "villages_count", "shaoyang") / sy_pop
    for p in places:
        m = pcode == p
        target = _num(cal, "police_per_10k_before_reform", p)
        rural_level = _num(cal, "police_per_10k_rural_before_reform", p, default=target)
        P, Pr = pop2020[m].sum(), pop2020[m & rural].sum()
        if 0 < Pr < P:
            urban_level = (target * P - rural_level * Pr) / (P - Pr)
            level[m] = np.where(rural[m], rural_level, urban_level)
        else:
            level[m] = target
        med_level[m] = _num(cal, "mediators_per_10k_baseline", p) * (1 + 0.2 * _centred(rng, pcode[m], pop2020[m]))
        grid_level[m] = _num(cal, "grid_density_per_10k", p, default=_num(cal, "grid_density_per_10k", "dongcheng"))
        if p in ("shaoyang", "hengyang"):
            jump_police[m] = rp_police
            jump_rapid_aux[m] = rp_aux
            # 3299 village officers (Hengyang: same count per person), rural weight 1, urban 0.2
            w = pop2020[m] * np.where(rural[m], 1.0, 0.2)
            n_villages = villages_per_person * P
            jump_village[m] = n_villages * w / w.sum() / pop2020[m] * 1e4
    # Qujiang's mediators: scaled so that its 2010 count is the documented 1600
    qj = units["unit_id"].to_numpy() == "quzhou.qujiang"
    if qj.any():
        pop2010 = pop2020[qj] * (1 + growth[qj]) ** (2010 - 2020)
        med_level[qj] = _num(cal, "grassroots_mediators", "quzhou.qujiang") / pop2010 * 1e4

    police_base = level[:, None] * (1 + 0.08 * dev_police[:, None]) * (1 + cv * _ar1(rng, (U, T), eff.rho))
    police = police_base + jump_police[:, None] * D["rapid_police"]
    aux_base = _num(cal, "aux_per_10k_baseline", "all") * (1 + 0.15 * dev_aux[:, None]) * (
        1 + cv * _ar1(rng, (U, T), eff.rho)
    )
    aux = aux_base + jump_village[:, None] * D["aux_village"] + jump_rapid_aux[:, None] * D["rapid_police"]
    mediators = med_level[:, None] * (1 + cv * _ar1(rng, (U, T), eff.rho))
    grid_growth = _num(cal, "grid_density_growth_per_year", "all")
    grid_jump = _num(cal, "grid_reform_density_jump", "all")
    adopted_by_2020 = (adoption["grid"] >= 0) & (adoption["grid"] <= 2020)
    grid_base = (
        grid_level[:, None]
        * (1 + 0.10 * dev_grid[:, None])
        * (1 + grid_growth) ** dt[None, :]
        * (1 + cv * _ar1(rng, (U, T), eff.rho))
        / np.where(adopted_by_2020, 1 + grid_jump, 1.0)[:, None]
    )
    grid = grid_base * np.where(D["grid"], 1 + grid_jump, 1.0)

    # satisfaction
    c = eff.corr_unit_staffing
    alpha = eff.sd_unit * (c * dev_police / max(dev_police.std(), 1e-12) + np.sqrt(1 - c * c) * rng.standard_normal(U))
    lam = 0.05 * (years - 2021) + eff.sd_year * rng.standard_normal(T)
    mult = {r: 1 + eff.effect_heterogeneity * rng.standard_normal(U) for r in REFORMS}
    cohort_mult = {r: _cohort_multiplier(adoption[r], eff.cohort_decay) for r in REFORMS}
    if eff.cohort_decay != 0:
        mult = {r: mult[r] * cohort_mult[r] for r in REFORMS}
    eps = eff.sd_noise / np.sqrt(1 - eff.rho**2) * _ar1(rng, (U, T), eff.rho)

    # mediation success (issue 5's mediator), before satisfaction, which it may feed
    alpha_m = 0.3 * rng.standard_normal(U)
    lam_m = 0.05 * rng.standard_normal(T)
    eps_m = 0.15 / np.sqrt(1 - eff.rho**2) * _ar1(rng, (U, T), eff.rho)
    mu_wo_c = alpha_m[:, None] + lam_m[None, :] + eff.gamma_mediators * mediators + eff.gamma_grid * grid + eps_m
    mu = logit(0.95) - mu_wo_c.mean() + mu_wo_c

    coef = eff.coefficients
    staffing = {"police_per_10k": police, "auxiliary_per_10k": aux, "mediators_per_10k": mediators, "grid_density": grid}
    event = {r: np.where(D[r], years[None, :] - adoption[r][:, None], -(10**6)) for r in REFORMS}
    direct = {r: np.where(D[r], eff.effect(r, event[r]) * mult[r][:, None], 0.0) for r in REFORMS}
    channel = {
        "aux_village": coef["auxiliary_per_10k"] * jump_village[:, None] * D["aux_village"],
        "rapid_police": (coef["police_per_10k"] * jump_police[:, None] + coef["auxiliary_per_10k"] * jump_rapid_aux[:, None])
        * D["rapid_police"],
        "grid": eff.total_coefficients["grid_density"] * (grid - grid_base) * D["grid"],
    }
    eta_wo_c = alpha[:, None] + lam[None, :] + eps
    eta_wo_c = eta_wo_c + sum(coef[k] * v for k, v in staffing.items()) + sum(direct.values())
    if eff.beta_mediation_success != 0:
        eta_wo_c = eta_wo_c + eff.beta_mediation_success * mu
    ref_col = int(np.argmin(np.abs(years - 2021)))
    target = _num(cal, "satisfaction_pct_2021", "china")
    target = logit(target / 100) if eff.link == "logit" else target
    intercept = float(target - eta_wo_c[:, ref_col].mean())
    eta = intercept + eta_wo_c
    satisfaction = 100 * expit(eta) if eff.link == "logit" else eta

    label = (
        "SIMULATED panel (not real data): "
        f"{U} units of {', '.join(places)}, {years[0]}-{years[-1]}, seed {seed}; "
        "levels calibrated to documented facts, effects assumed"
    )
    rep = lambda a: np.repeat(a, T)  # noqa: E731
    tile = lambda a: np.tile(a, U)  # noqa: E731
    flat = lambda a: np.asarray(a).reshape(-1)  # noqa: E731
    cols = {
        "place_id": rep(pcode),
        "unit_id": rep(units["unit_id"].to_numpy()),
        "unit_name": rep(units["unit_name"].to_numpy()),
        "unit_level": rep(units["unit_level"].to_numpy()),
        "rural": rep(rural),
        "year": tile(years),
        "population": np.round(flat(pop)).astype(np.int64),
        "police_per_10k": flat(police),
        "auxiliary_per_10k": flat(aux),
        "mediators_per_10k": flat(mediators),
        "grid_density": flat(grid),
    }
    for r in REFORMS:
        never = np.repeat(adoption[r] < 0, T)
        cols[f"{r}_reform"] = flat(D[r]).astype(np.int64)
        adopted_year = pd.array(rep(adoption[r]), dtype="Int64")
        adopted_year[never] = pd.NA
        cols[f"{r}_year"] = adopted_year
        event_time = pd.array(flat(years[None, :] - adoption[r][:, None]), dtype="Int64")
        event_time[never] = pd.NA
        cols[f"{r}_event_time"] = event_time
    cols["satisfaction_pct"] = flat(satisfaction)
    cols["satisfaction_index"] = flat(eta)
    cols["mediation_success_pct"] = flat(100 * expit(mu))
    cols["mediation_success_index"] = flat(mu)
    data = pd.DataFrame(cols)
    data.attrs["simulated"] = True
    data.attrs["label"] = label

    unit_ids = units["unit_id"].to_numpy()
    adoption_tab = pd.DataFrame({"unit_id": unit_ids, "place_id": pcode})
    for r in REFORMS:
        adoption_tab[f"{r}_year"] = pd.array(np.where(adoption[r] >= 0, adoption[r], -1), dtype="Int64")
        adoption_tab.loc[adoption[r] < 0, f"{r}_year"] = pd.NA
        adoption_tab[f"{r}_multiplier"] = mult[r]
        adoption_tab[f"{r}_cohort_multiplier"] = cohort_mult[r]
    ev_rows = []
    cohort_rows = []
    for r in REFORMS:
        treated = adoption[r] >= 0
        if not treated.any():
            continue
        e_all = years[None, :] - adoption[r][treated][:, None]
        for e in np.unique(e_all):
            sel = e_all == e
            d_e = direct[r][treated][sel].mean() if e >= 0 else 0.0
            ch_e = channel[r][treated][sel].mean() if e >= 0 else 0.0
            ev_rows.append(
                {
                    "reform": r,
                    "event_time": int(e),
                    "n_units": int(sel.sum()),
                    "direct_effect": float(d_e),
                    "channel_effect": float(ch_e),
                    "total_effect": float(d_e + ch_e),
                }
            )
        g_all = np.broadcast_to(adoption[r][treated][:, None], e_all.shape)
        for g in np.unique(adoption[r][treated]):
            in_g = adoption[r][treated] == g
            for e in np.unique(e_all[in_g]):
                sel = (g_all == g) & (e_all == e)
                d_e = direct[r][treated][sel].mean() if e >= 0 else 0.0
                ch_e = channel[r][treated][sel].mean() if e >= 0 else 0.0
                cohort_rows.append(
                    {
                        "reform": r,
                        "cohort": int(g),
                        "event_time": int(e),
                        "n_units": int(sel.sum()),
                        "weight": float(sel.sum() / (e_all == e).sum()),
                        "cohort_multiplier": float(cohort_mult[r][treated][in_g][0]),
                        "direct_effect": float(d_e),
                        "channel_effect": float(ch_e),
                        "total_effect": float(d_e + ch_e),
                    }
                )
    truth = SimulationTruth(
        effects=eff,
        coefficients=dict(coef),
        intercept=intercept,
        unit_effects=pd.Series(alpha, index=pd.Index(unit_ids, name="unit_id"), name="alpha"),
        year_effects=pd.Series(lam, index=pd.Index(years, name="year"), name="lambda"),
        adoption=adoption_tab,
        event_effects=pd.DataFrame(ev_rows),
        rho=eff.rho,
        sd_unit=eff.sd_unit,
        sd_year=eff.sd_year,
        sd_noise=eff.sd_noise,
        link=eff.link,
        outcome_scale="logit of the satisfaction share" if eff.link == "logit" else "percentage points",
        cohort_effects=pd.DataFrame(cohort_rows),
        total_coefficients=eff.total_coefficients,
        mediation_slopes=eff.mediation_slopes,
    )
    return SimulatedPanel(
        data=data,
        truth=truth,
        dgp=DGP_TEXT,
        label=label,
        calibration=cal,
        seed=seed,
        params={f.name: getattr(eff, f.name) for f in fields(eff)}
        | {"places": places, "years": (int(years[0]), int(years[-1])), "units_per_place": units_per_place},
    )
