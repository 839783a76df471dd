"""Causal mediation in a panel: how much of staffing's effect runs through dispute mediation?

Path: treatment ``T`` (e.g. mediators per 10,000 people) -> mediator ``M`` (e.g. the
mediation success rate) -> outcome ``Y`` (residents' satisfaction). Two linear models
with the same fixed effects and controls ``X``::

    mediator model   M_it = a T_it + X_it'g_m + unit_i + year_t + e2_it
    outcome model    Y_it = c T_it + b M_it (+ d T_it M_it) + X_it'g_y + unit_i + year_t + e3_it

For a change of the treatment from ``t0`` to ``t1`` (``D = t1 - t0``) the effects of
Imai, Keele & Tingley (2010) are, for these models, in closed form:

* ACME(t) (average causal mediation effect, the indirect effect) =
  ``E[Y(t, M(t1)) - Y(t, M(t0))] = a D (b + d t)``;
* ADE(t) (average direct effect) = ``E[Y(t1, M(t)) - Y(t0, M(t))] = D (c + d mbar(t))``,
  ``mbar(t)`` the mean mediator when every treatment is set to ``t``;
* total effect = ACME(t1) + ADE(t0) = ACME(t0) + ADE(t1).

statsmodels' :class:`~statsmodels.stats.mediation.Mediation` computes the same
quantities by simulation (Imai, Keele & Tingley's algorithm) for a 0/1 contrast,
resampling rows; the tests pin :func:`mediation_analysis` to it where both apply.
Here instead:

* the panel is respected: fixed effects are partialled out (``fixef="unit + time"`` by
  default, through :func:`govstats.fixed_effects.demean`), so
  only within-unit variation identifies ``a``, ``b`` and ``c``;
* confidence intervals come from a **cluster bootstrap**: whole clusters (units by
  default, or cities) are resampled with replacement, each resampled unit keeping
  its own fixed effect, and both models are refitted in every draw (percentile
  intervals);
* any contrast ``(t0, t1)`` of a continuous treatment is allowed;
* the identifying assumption is stated in every output, with the sensitivity
  analysis of Imai, Keele & Yamamoto (2010): how the ACME changes if the mediator
  and outcome errors are correlated (``rho != 0``), which sequential ignorability rules out.

Sensitivity (Imai, Keele & Yamamoto 2010, Statistical Science 25(1), Theorem 2;
R ``mediation::medsens``), for models without the ``T x M`` interaction::

    ACME(rho) = D a (s1 / s2) (rho~ - rho sqrt((1 - rho~^2) / (1 - rho^2)))

with ``s1``, ``s2`` the residual standard deviations of the outcome regressed on the
treatment and controls only (``e1``) and of the mediator model (``e2``), and
``rho~ = corr(e1, e2)``. ``ACME(0) = a b D`` exactly, and the ACME is zero at
``rho = rho~``; equivalently when the product of the shares of the *residual*
variances of mediator and outcome that an unobserved confounder explains is
``rho~^2`` (``R~2_M R~2_Y``), or of the *total* (within) variances
``rho~^2 (1 - R2_M)(1 - R2_Y)``.

Examples
--------
>>> rng = np.random.default_rng(0)
>>> n = 400
>>> df = pd.DataFrame({"unit_id": np.repeat(np.arange(40), 10), "year": np.tile(np.arange(10), 40)})
>>> df["t"] = rng.normal(size=n)
>>> df["m"] = 0.5 * df["t"] + rng.normal(size=n)
>>> df["y"] = 0.3 * df["t"] + 0.4 * df["m"] + rng.normal(size=n)
>>> res = mediation_analysis(MediationSpec("t", "m", "y", reps=199), df)
>>> round(res.effect("ACME (average)"), 3) == round(res.paths["a"] * res.paths["b"], 3)
True
>>> "SEQUENTIAL IGNORABILITY" in res.summary()
True
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from govstats import fixed_effects as fx
from govstats._literals import MediationFixef, check_literal
from govstats.errors import DataValidationError, GovstatsError, Problem, RowAccounting

__all__ = [
    "ASSUMPTION_TEXT",
    "EFFECT_NAMES",
    "MediationFixef",
    "MediationResults",
    "MediationSpec",
    "mediation_analysis",
]

_PLOTS = ("plot_mediation", "plot_sensitivity")


def __getattr__(name: str):
    # the figures live in govstats.mediation_plots; imported on first use (matplotlib is heavy)
    if name in _PLOTS:
        from govstats import mediation_plots

        return getattr(mediation_plots, name)
    raise AttributeError(f"module 'govstats.mediation' has no attribute {name!r}")

#: Effect names, as statsmodels' MediationResults.summary() labels them.
EFFECT_NAMES = (
    "ACME (control)",
    "ACME (treated)",
    "ADE (control)",
    "ADE (treated)",
    "Total effect",
    "Prop. mediated (average)",
    "ACME (average)",
    "ADE (average)",
)

ASSUMPTION_TEXT = (
    "SEQUENTIAL IGNORABILITY (Imai, Keele & Yamamoto 2010), within units: (1) given the controls "
    "and the fixed effects, changes in the treatment are as good as random - no unobserved "
    "time-varying cause of the treatment also moves the mediator or the outcome; (2) given the "
    "treatment, the controls and the fixed effects, changes in the mediator are as good as random - "
    "no unobserved mediator-outcome confounder, and no observed one that the treatment itself "
    "affects. Neither part can be tested from the data; the sensitivity analysis shows how far a "
    "violation of (2) (errors correlated with rho != 0) moves the indirect effect."
)


@dataclass(frozen=True)
class MediationSpec:
    """Everything that defines one mediation analysis; immutable.

    Parameters
    ----------
    treatment, mediator, outcome : str
        Column names (e.g. ``"mediators_per_10k"``, ``"mediation_success_pct"``,
        ``"satisfaction_index"``).
    controls : sequence of str
        Pre-treatment or otherwise unaffected controls in both models
        (e.g. a mediator-outcome confounder such as grid density).
    unit, time : str
        Panel columns (a frame indexed by ``(unit, time)`` works too).
    fixef : {"unit + time", "unit", "time", "none"}
        Fixed effects partialled out of both models (``"none"``: an intercept only).
    cluster : str, optional
        Column whose values are resampled as whole blocks (default: ``unit``).
    contrast : (t0, t1), optional
        Treatment values compared. Default: ``(0, 1)`` for a 0/1 treatment, else one
        unit more than the mean, ``(mean, mean + 1)``.
    interaction : bool
        Add ``T x M`` to the outcome model (the ACME then depends on ``t``).
    reps : int
        Cluster-bootstrap draws.
    seed : int or None
    alpha : float
        ``1 -`` the confidence level: 0.05 gives 95% percentile intervals.
    few_clusters : int
        Below this many clusters the results warn that a block bootstrap is unreliable.
    weights : str, optional
        Column of positive regression weights (e.g. population): both models are weighted
        least squares (as pyfixest ``weights=`` / statsmodels WLS), the mediator's mean over
        the sample is weighted, and the bootstrap resamples clusters with their weights.

    Examples
    --------
    >>> MediationSpec("mediators_per_10k", "mediation_success_pct", "satisfaction_index").fixef
    'unit + time'
    """

    treatment: str
    mediator: str
    outcome: str
    controls: tuple[str, ...] = ()
    unit: str = "unit_id"
    time: str = "year"
    fixef: MediationFixef = "unit + time"
    cluster: str | None = None
    contrast: tuple[float, float] | None = None
    interaction: bool = False
    reps: int = 999
    seed: int | None = 0
    alpha: float = 0.05
    few_clusters: int = 30
    weights: str | None = None

    def __post_init__(self) -> None:
        controls = (self.controls,) if isinstance(self.controls, str) else tuple(self.controls)
        object.__setattr__(self, "controls", controls)
        check_literal(self.fixef, MediationFixef, "fixef")
        roles = [self.treatment, self.mediator, self.outcome, *controls]
        if len(set(roles)) != len(roles):
            raise ValueError(f"treatment, mediator, outcome and controls must be different columns: {roles}")
        if self.contrast is not None:
            c = tuple(float(v) for v in self.contrast)
            if len(c) != 2 or c[0] == c[1] or not all(map(math.isfinite, c)):
                raise ValueError(f"contrast={self.contrast!r} must be two different finite numbers (t0, t1)")
            object.__setattr__(self, "contrast", c)
        if not isinstance(self.reps, int | np.integer) or self.reps < 19:
            raise ValueError(f"reps={self.reps!r} must be an integer >= 19")
        if not 0 < float(self.alpha) <= 0.5:
            raise ValueError(f"alpha={self.alpha!r} must be in (0, 0.5] (0.05 gives 95% intervals)")

    @property
    def cluster_column(self) -> str:
        return self.cluster or self.unit

    @property
    def fixef_columns(self) -> list[str]:
        """The panel columns whose fixed effects are partialled out."""
        return {"unit + time": [self.unit, self.time], "unit": [self.unit], "time": [self.time],
                "none": []}[self.fixef]


# --------------------------------------------------------------------------- core


def _ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return beta, y - X @ beta


def _fit(raw: np.ndarray, fe: list[np.ndarray], n_controls: int, interaction: bool, t0: float, t1: float,
         weights: np.ndarray | None = None) -> dict:
    """Both models on one data set. raw columns: T, M, Y, controls...; ``fe``: code arrays
    (``fixef="none"``: one group, an intercept); ``weights``: WLS (rows scaled by sqrt(w)
    after weighted demeaning, weighted sample moments)."""
    T, M = raw[:, 0], raw[:, 1]
    cols = [raw, (T * M)[:, None]] if interaction else [raw]
    W = fx.demean(np.column_stack(cols), fe, weights=weights)
    if weights is not None:
        W = W * np.sqrt(weights)[:, None]
    Tw, Mw, Yw = W[:, 0], W[:, 1], W[:, 2]
    C = W[:, 3 : 3 + n_controls]
    TMw = W[:, 3 + n_controls] if interaction else None
    # mediator model: M ~ T + C
    Xm = np.column_stack([Tw, C])
    bm, e2 = _ols(Mw, Xm)
    a = bm[0]
    # outcome model: Y ~ T + M (+ TM) + C
    Xy = np.column_stack([Tw, Mw, *([TMw] if interaction else []), C])
    by, e3 = _ols(Yw, Xy)
    c, b = by[0], by[1]
    d = by[2] if interaction else 0.0
    # reduced form: Y ~ T + C (sensitivity)
    _, e1 = _ols(Yw, Xm)
    D = t1 - t0
    wn = np.ones(len(T)) / len(T) if weights is None else weights / weights.sum()
    mbar = {t: float(wn @ (M + a * (t - T))) for t in (t0, t1)}
    acme = {t: a * D * (b + d * t) for t in (t0, t1)}
    ade = {t: D * (c + d * mbar[t]) for t in (t0, t1)}
    total = acme[t1] + ade[t0]
    wsum = float(len(T) if weights is None else weights.sum())  # residuals are sqrt(w)-scaled
    s1, s2 = float(np.sqrt(e1 @ e1 / wsum)), float(np.sqrt(e2 @ e2 / wsum))
    rho_tilde = float((e1 @ e2) / wsum / (s1 * s2)) if s1 > 0 and s2 > 0 else math.nan
    r2_m = 1 - float(e2 @ e2) / float(Mw @ Mw) if float(Mw @ Mw) > 0 else math.nan
    r2_y = 1 - float(e3 @ e3) / float(Yw @ Yw) if float(Yw @ Yw) > 0 else math.nan
    acme_avg = 0.5 * (acme[t0] + acme[t1])
    return {
        "effects": np.array([
            acme[t0], acme[t1], ade[t0], ade[t1], total,
            acme_avg / total if total != 0 else math.nan,
            acme_avg, 0.5 * (ade[t0] + ade[t1]),
        ]),
        "a": a, "b": b, "c": c, "d": d, "s1": s1, "s2": s2, "rho_tilde": rho_tilde,
        "r2_m": r2_m, "r2_y": r2_y, "D": D,
    }


def _acme_rho(a, s1, s2, rho_tilde, D, rho: np.ndarray) -> np.ndarray:
    rho = np.asarray(rho, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return D * a * (s1 / s2) * (rho_tilde - rho * np.sqrt((1 - rho_tilde**2) / (1 - rho**2)))


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, repr=False)
class MediationResults:
    """Read-only results of :func:`mediation_analysis`.

    Attributes
    ----------
    spec : MediationSpec
    paths : dict
        ``a`` (T -> M), ``b`` (M -> Y), ``c`` (T -> Y direct), ``d`` (T x M).
    contrast : (t0, t1)
    n_obs, n_units, n_clusters : int
    accounting : RowAccounting
    assumption : str
        The sequential-ignorability statement (also in every summary).
    warnings : tuple of str
    simulated : bool
    """

    spec: MediationSpec
    _table: pd.DataFrame
    paths: dict
    contrast: tuple[float, float]
    n_obs: int
    n_units: int
    n_clusters: int
    accounting: RowAccounting
    assumption: str
    warnings: tuple[str, ...]
    simulated: bool
    _point: dict = field(repr=False)
    _boot: dict = field(repr=False)
    label: str = ""

    def tidy(self) -> pd.DataFrame:
        """The effects table: one row per effect (:data:`EFFECT_NAMES`).

        Columns ``estimate``, ``std_error`` (bootstrap), ``ci_lower``, ``ci_upper``
        (percentile, level ``1 - spec.alpha``), ``p`` (bootstrap, ``2 min(P(>0), P(<0))``
        as statsmodels).
        """
        return self._table.copy()

    def coef(self) -> pd.Series:
        """Point estimates by effect name."""
        return self._table["estimate"].copy()

    def se(self) -> pd.Series:
        """Cluster-bootstrap standard errors by effect name."""
        return self._table["std_error"].copy()

    def pvalue(self) -> pd.Series:
        """Bootstrap p-values by effect name (``2 min(P(draw > 0), P(draw < 0))``)."""
        return self._table["p"].copy()

    def confint(self, alpha: float | None = None) -> pd.DataFrame:
        """Percentile intervals of the cluster-bootstrap draws (``alpha`` default ``spec.alpha``)."""
        a = self.spec.alpha if alpha is None else float(alpha)
        if not 0 < a < 1:
            raise ValueError(f"alpha={alpha!r} must be in (0, 1)")
        lo, hi = np.nanquantile(self._boot["effects"], [a / 2, 1 - a / 2], axis=0)
        return pd.DataFrame({"ci_lower": lo, "ci_upper": hi}, index=self._table.index)

    def effect(self, name: str) -> float:
        """Point estimate of one effect, by its :data:`EFFECT_NAMES` label."""
        return float(self._table.loc[name, "estimate"])

    @property
    def rho_at_zero(self) -> float:
        """Error correlation at which the ACME would be zero (``rho~``)."""
        return float(self._point["rho_tilde"])

    def sensitivity(self, rho=None) -> pd.DataFrame:
        """ACME as a function of the mediator-outcome error correlation ``rho``.

        Parameters
        ----------
        rho : array-like, optional
            Values in (-1, 1); default 199 points from -0.99 to 0.99.

        Returns
        -------
        DataFrame
            ``rho``, ``acme``, ``ci_lower``, ``ci_upper`` (cluster-bootstrap
            percentile band). ``attrs`` hold ``rho_at_zero``,
            ``r2_residual_product_at_zero`` (``rho~^2``) and
            ``r2_total_product_at_zero`` (``rho~^2 (1 - R2_M)(1 - R2_Y)``, within R2).

        Raises
        ------
        GovstatsError
            With ``interaction=True`` (the closed form assumes no ``T x M`` term).
        """
        if self.spec.interaction:
            raise GovstatsError(
                "the sensitivity analysis (Imai, Keele & Yamamoto 2010, Theorem 2) assumes no treatment x "
                "mediator interaction; refit with interaction=False"
            )
        grid = np.linspace(-0.99, 0.99, 199) if rho is None else np.asarray(rho, dtype=float)
        if np.any(np.abs(grid) >= 1):
            raise ValueError("rho must lie strictly between -1 and 1")
        p = self._point
        acme = _acme_rho(p["a"], p["s1"], p["s2"], p["rho_tilde"], p["D"], grid)
        bt = self._boot
        curves = _acme_rho(bt["a"][:, None], bt["s1"][:, None], bt["s2"][:, None], bt["rho_tilde"][:, None],
                           p["D"], grid[None, :])
        alpha = self.spec.alpha
        lo, hi = np.nanquantile(curves, [alpha / 2, 1 - alpha / 2], axis=0)
        out = pd.DataFrame({"rho": grid, "acme": acme, "ci_lower": lo, "ci_upper": hi})
        rt = p["rho_tilde"]
        out.attrs.update(
            rho_at_zero=rt,
            r2_residual_product_at_zero=rt**2,
            r2_total_product_at_zero=rt**2 * (1 - p["r2_m"]) * (1 - p["r2_y"]),
        )
        return out

    def summary(self) -> str:
        t0, t1 = self.contrast
        s = self.spec
        title = ("SIMULATED DATA - " if self.simulated else "") + (
            f"Causal mediation: {s.treatment} -> {s.mediator} -> {s.outcome}"
        )
        lines = [title, "=" * max(72, len(title))]
        if self.label:
            lines.append(self.label)
        lines.append(
            f"Contrast: {s.treatment} from {t0:.4g} to {t1:.4g}; fixed effects: {s.fixef}; controls: "
            f"{', '.join(s.controls) or 'none'}; T x M interaction: {'yes' if s.interaction else 'no'}"
        )
        lines.append(
            f"N = {self.n_obs}, units = {self.n_units}; cluster bootstrap: {s.reps} draws of "
            f"{self.n_clusters} clusters ({s.cluster_column}), percentile {1 - s.alpha:.0%} intervals"
        )
        lines.append(
            "Paths: " + ", ".join(f"{k} = {v:.4g}" for k, v in self.paths.items())
            + " (a: T->M, b: M->Y, c: T->Y direct, d: T x M)"
        )
        lines.append("-" * 72)
        lines.append(self._table.to_string(float_format=lambda v: f"{v:.4g}"))
        lines.append("-" * 72)
        if not s.interaction:
            lines.append(
                f"Sensitivity: the ACME would be zero if the mediator and outcome errors were correlated "
                f"with rho = {self.rho_at_zero:.3f} (see .sensitivity())"
            )
        lines.append(self.assumption)
        lines += [f"WARNING: {w}" for w in self.warnings]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        s = self.spec
        head = ('<b style="color:#a00">SIMULATED DATA</b><br>' if self.simulated else "") + (
            f"<b>Causal mediation: {html.escape(s.treatment)} &rarr; {html.escape(s.mediator)} &rarr; "
            f"{html.escape(s.outcome)}</b><br>contrast {self.contrast[0]:.4g} &rarr; {self.contrast[1]:.4g}; "
            f"N = {self.n_obs}, clusters = {self.n_clusters} ({html.escape(s.cluster_column)})"
        )
        table = self._table.to_html(float_format=lambda v: f"{v:.4g}", border=0)
        assumption = f"<p><b>Assumption.</b> {html.escape(self.assumption)}</p>"
        warns = "".join(
            f'<div style="color:#a00;font-weight:bold">WARNING: {html.escape(w)}</div>' for w in self.warnings
        )
        return f"<div>{head}{table}{assumption}{warns}</div>"


# --------------------------------------------------------------------------- data


def _prepare(data: pd.DataFrame, spec: MediationSpec) -> tuple[pd.DataFrame, RowAccounting]:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, not {type(data).__name__}")
    df = data
    if isinstance(df.index, pd.MultiIndex) and {spec.unit, spec.time} <= set(df.index.names):
        df = df.reset_index()
    df = df.reset_index(drop=True)
    values = [spec.treatment, spec.mediator, spec.outcome, *spec.controls]
    needed = list(dict.fromkeys([*values, *spec.fixef_columns, spec.cluster_column,
                                 *([spec.weights] if spec.weights else [])]))
    missing = [c for c in needed if c not in df.columns]
    DataValidationError.raise_if_any(
        [Problem("column not found", column=c, hint="columns present: " + ", ".join(map(str, df.columns)))
         for c in missing],
        what="mediation data",
    )
    problems = []
    for c in values:
        if pd.api.types.is_bool_dtype(df[c]):
            continue
        conv = pd.to_numeric(df[c], errors="coerce")
        bad = np.flatnonzero((conv.isna() & df[c].notna()).to_numpy())
        problems += [Problem("not a number", row=int(p) + 2, column=c, value=df.at[p, c]) for p in bad[:10]]
        if len(bad) > 10:
            problems.append(Problem(f"... and {len(bad) - 10} more non-numbers", column=c))
    DataValidationError.raise_if_any(problems, what="mediation data")
    reason = pd.Series("", index=df.index, dtype="str")
    for c in needed:
        if c in values:
            v = pd.to_numeric(df[c]).to_numpy(dtype=float, na_value=np.nan)
            miss = ~np.isfinite(v)
        else:
            miss = df[c].isna().to_numpy().copy()
        reason[miss & (reason == "").to_numpy()] = f"missing {c}"
    bad = (reason != "").to_numpy()
    kept = df.loc[~bad].copy()
    rejected = df.loc[bad].copy()
    rejected["reason"] = reason[bad]
    rejected["row"] = rejected.index.to_numpy() + 2
    acc = RowAccounting("mediation data", rows_in=len(df), kept=kept, rejected=rejected)
    if spec.weights:  # every weight of a kept row must be a positive number (all problems at once)
        from govstats.models import _check_weights

        _check_weights(df, spec.weights, np.flatnonzero(~bad))
    if len(kept) < 10:
        raise GovstatsError("fewer than 10 usable rows for the mediation analysis: " + acc.summary())
    return kept.reset_index(drop=True), acc


def _codes(values) -> np.ndarray:
    # labels as text, sorted: cluster codes (and so the bootstrap draws) do not depend on dtype
    return fx.factorize(pd.Series(values).astype(str))[0]


# --------------------------------------------------------------------------- public API


def mediation_analysis(spec: MediationSpec, data: pd.DataFrame) -> MediationResults:
    """Average direct and indirect effects with a cluster bootstrap and a sensitivity analysis.

    Parameters
    ----------
    spec : MediationSpec
    data : DataFrame
        Long panel (or indexed by ``(unit, time)``). ``attrs["simulated"]`` marks the
        results SIMULATED.

    Returns
    -------
    MediationResults

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=0)
    >>> spec = MediationSpec("mediators_per_10k", "mediation_success_pct", "satisfaction_index",
    ...                      controls=("grid_density",), reps=99)
    >>> res = mediation_analysis(spec, sim.data)
    >>> list(res.tidy().index[:2])
    ['ACME (control)', 'ACME (treated)']
    >>> res.simulated
    True
    """
    sample, accounting = _prepare(data, spec)
    raw = np.column_stack(
        [pd.to_numeric(sample[c]).to_numpy(dtype=float) for c in (spec.treatment, spec.mediator, spec.outcome,
                                                                   *spec.controls)]
    )
    T = raw[:, 0]
    if spec.contrast is not None:
        t0, t1 = spec.contrast
    elif set(np.unique(T)) <= {0.0, 1.0}:
        t0, t1 = 0.0, 1.0
    else:
        t0 = float(T.mean())
        t1 = t0 + 1.0
    unit_codes = _codes(sample[spec.unit])
    fe_names = ["unit" if c == spec.unit else "time" for c in spec.fixef_columns]
    fe_codes = {"unit": unit_codes}
    if "time" in fe_names:
        fe_codes["time"] = _codes(sample[spec.time])
    # no fixed effects: one group, whose mean sweep is the intercept
    fe = [fe_codes[k] for k in fe_names] or [np.zeros(len(sample), dtype=np.intp)]
    nc = len(spec.controls)
    wts = (pd.to_numeric(sample[spec.weights]).to_numpy(dtype=float) if spec.weights else None)
    point = _fit(raw, fe, nc, spec.interaction, t0, t1, wts)
    if fe_names:
        w = fx.demean(raw[:, :1], fe)
        if float(w[:, 0] @ w[:, 0]) <= 1e-12 * max(float(T @ T), 1e-300):
            raise GovstatsError(
                f"{spec.treatment} does not vary within the fixed effects ({spec.fixef}); nothing identifies "
                "its effect"
            )

    # cluster bootstrap: whole clusters with replacement; a unit drawn twice is two units
    cl = _codes(sample[spec.cluster_column])
    G = int(cl.max()) + 1
    if G < 2:
        raise GovstatsError(f"cluster column {spec.cluster_column!r} has one value: need at least 2 clusters")
    order = np.argsort(cl, kind="stable")
    starts = np.searchsorted(cl[order], np.arange(G + 1))
    rows_of = [order[starts[g] : starts[g + 1]] for g in range(G)]
    rng = np.random.default_rng(spec.seed)
    n_units = fx.n_groups(unit_codes)
    # a fixed-effect group nested in the clusters and drawn twice counts as two groups
    nested = [fx.is_nested(c, cl) for c in fe]
    keys = ("a", "b", "c", "d", "s1", "s2", "rho_tilde", "r2_m", "r2_y")
    draws = np.empty((spec.reps, len(point["effects"])))
    boot = {k: np.empty(spec.reps) for k in keys}
    failed = 0
    for r in range(spec.reps):
        pick = rng.integers(0, G, size=G)
        idx = np.concatenate([rows_of[g] for g in pick])
        copy_no = np.repeat(np.arange(G), [len(rows_of[g]) for g in pick])
        fe_b = [fx.combine(c[idx], copy_no) if is_nested else fx.factorize(c[idx])[0]
                for c, is_nested in zip(fe, nested, strict=True)]
        try:
            fit_b = _fit(raw[idx], fe_b, nc, spec.interaction, t0, t1, None if wts is None else wts[idx])
        except np.linalg.LinAlgError:  # pragma: no cover - degenerate draw
            failed += 1
            draws[r] = np.nan
            for k in keys:
                boot[k][r] = np.nan
            continue
        draws[r] = fit_b["effects"]
        for k in keys:
            boot[k][r] = fit_b[k]
    alpha = spec.alpha
    lo, hi = np.nanquantile(draws, [alpha / 2, 1 - alpha / 2], axis=0)
    pos = np.nanmean(draws > 0, axis=0)
    neg = np.nanmean(draws < 0, axis=0)
    table = pd.DataFrame(
        {
            "estimate": point["effects"],
            "std_error": np.nanstd(draws, axis=0, ddof=1),
            "ci_lower": lo,
            "ci_upper": hi,
            "p": np.minimum(1.0, 2 * np.minimum(pos, neg)),
        },
        index=pd.Index(EFFECT_NAMES, name="effect"),
    )
    warns = []
    if G < spec.few_clusters:
        warns.append(
            f"Only {G} clusters ({spec.cluster_column}): a bootstrap that resamples so few whole clusters gives "
            "unreliable intervals (often too narrow); cluster by a finer unit if the design allows, and read "
            "the intervals as rough."
        )
        warnings.warn(warns[-1], UserWarning, stacklevel=2)
    if failed:
        warns.append(f"{failed} of {spec.reps} bootstrap draws were degenerate and left out")
    return MediationResults(
        spec=spec,
        _table=table,
        paths={k: float(point[k]) for k in ("a", "b", "c", "d")},
        contrast=(float(t0), float(t1)),
        n_obs=len(sample),
        n_units=n_units,
        n_clusters=G,
        accounting=accounting,
        assumption=ASSUMPTION_TEXT,
        warnings=tuple(warns),
        simulated=bool(getattr(data, "attrs", {}).get("simulated", False)),
        _point={k: float(point[k]) for k in (*keys, "D")},
        _boot={**boot, "effects": draws},
        label=str(getattr(data, "attrs", {}).get("label", "")),
    )
