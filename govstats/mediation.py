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

* the panel is respected: fixed effects are partialled out (two-way by default), so
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
>>> res = mediation_analysis(df, MediationSpec("t", "m", "y", n_boot=199))
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

from govstats._literals import MediationEffects, check_literal
from govstats.errors import DataValidationError, GovstatsError, Problem, RowAccounting

__all__ = [
    "ASSUMPTION_TEXT",
    "EFFECT_NAMES",
    "MediationEffects",
    "MediationResults",
    "MediationSpec",
    "mediation_analysis",
    "plot_mediation",
    "plot_sensitivity",
]

# Option alias (to be moved to govstats/_literals.py).

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
    effects : {"twoway", "unit", "none"}
        Fixed effects partialled out of both models (``"none"``: an intercept only).
    cluster : str, optional
        Column whose values are resampled as whole blocks (default: ``unit``).
    contrast : (t0, t1), optional
        Treatment values compared. Default: ``(0, 1)`` for a 0/1 treatment, else one
        unit more than the mean, ``(mean, mean + 1)``.
    interaction : bool
        Add ``T x M`` to the outcome model (the ACME then depends on ``t``).
    n_boot : int
        Cluster-bootstrap draws.
    seed : int or None
    level : float
    few_clusters : int
        Below this many clusters the results warn that a block bootstrap is unreliable.

    Examples
    --------
    >>> MediationSpec("mediators_per_10k", "mediation_success_pct", "satisfaction_index").effects
    'twoway'
    """

    treatment: str
    mediator: str
    outcome: str
    controls: tuple[str, ...] = ()
    unit: str = "unit_id"
    time: str = "year"
    effects: MediationEffects = "twoway"
    cluster: str | None = None
    contrast: tuple[float, float] | None = None
    interaction: bool = False
    n_boot: int = 999
    seed: int | None = 0
    level: float = 0.95
    few_clusters: int = 30

    def __post_init__(self) -> None:
        controls = (self.controls,) if isinstance(self.controls, str) else tuple(self.controls)
        object.__setattr__(self, "controls", controls)
        check_literal(self.effects, MediationEffects, "effects")
        roles = [self.treatment, self.mediator, self.outcome, *controls]
        if len(set(roles)) != len(roles):
            raise ValueError(f"treatment, mediator, outcome and controls must be different columns: {roles}")
        if self.contrast is not None:
            c = tuple(float(v) for v in self.contrast)
            if len(c) != 2 or c[0] == c[1] or not all(map(math.isfinite, c)):
                raise ValueError(f"contrast={self.contrast!r} must be two different finite numbers (t0, t1)")
            object.__setattr__(self, "contrast", c)
        if not isinstance(self.n_boot, int | np.integer) or self.n_boot < 19:
            raise ValueError(f"n_boot={self.n_boot!r} must be an integer >= 19")
        if not 0.5 <= float(self.level) < 1:
            raise ValueError(f"level={self.level!r} must be in [0.5, 1)")

    @property
    def cluster_column(self) -> str:
        return self.cluster or self.unit


# --------------------------------------------------------------------------- core


def _demean(M: np.ndarray, fe: np.ndarray | None) -> np.ndarray:
    """Partial the fixed effects (n, k codes) out of every column of M; None = centre (intercept)."""
    if fe is None:
        return M - M.mean(axis=0)
    if fe.shape[1] == 1:
        codes = fe[:, 0]
        sums = np.zeros((int(codes.max()) + 1, M.shape[1]))
        np.add.at(sums, codes, M)
        counts = np.bincount(codes)
        return M - (sums / counts[:, None])[codes]
    from pyfixest.estimation import demean

    out, converged = demean(np.ascontiguousarray(M, dtype=float), np.ascontiguousarray(fe, dtype=np.uint64),
                            np.ones(M.shape[0]), tol=1e-12, maxiter=100_000)
    if not converged:  # pragma: no cover - pathological designs only
        raise RuntimeError("demeaning by the fixed effects did not converge")
    return out


def _ols(y: np.ndarray, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    return beta, y - X @ beta


def _fit(raw: np.ndarray, fe: np.ndarray | None, n_controls: int, interaction: bool, t0: float, t1: float) -> dict:
    """Both models on one data set. raw columns: T, M, Y, controls..."""
    T, M = raw[:, 0], raw[:, 1]
    cols = [raw, (T * M)[:, None]] if interaction else [raw]
    W = _demean(np.column_stack(cols), fe)
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
    mbar = {t: float(np.mean(M + a * (t - T))) for t in (t0, t1)}
    acme = {t: a * D * (b + d * t) for t in (t0, t1)}
    ade = {t: D * (c + d * mbar[t]) for t in (t0, t1)}
    total = acme[t1] + ade[t0]
    s1, s2 = float(np.sqrt(np.mean(e1 * e1))), float(np.sqrt(np.mean(e2 * e2)))
    rho_tilde = float(np.mean(e1 * e2) / (s1 * s2)) if s1 > 0 and s2 > 0 else math.nan
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
    table : DataFrame
        One row per effect (:data:`EFFECT_NAMES`): ``estimate``, ``std_error``
        (bootstrap), ``ci_lower``, ``ci_upper`` (percentile), ``p`` (bootstrap,
        ``2 min(P(>0), P(<0))`` as statsmodels).
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

    @property
    def table(self) -> pd.DataFrame:
        return self._table.copy()

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
        alpha = 1 - self.spec.level
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
            f"Contrast: {s.treatment} from {t0:.4g} to {t1:.4g}; fixed effects: {s.effects}; controls: "
            f"{', '.join(s.controls) or 'none'}; T x M interaction: {'yes' if s.interaction else 'no'}"
        )
        lines.append(
            f"N = {self.n_obs}, units = {self.n_units}; cluster bootstrap: {s.n_boot} draws of "
            f"{self.n_clusters} clusters ({s.cluster_column}), percentile {s.level:.0%} intervals"
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
    keys = [spec.unit, spec.time] if spec.effects == "twoway" else [spec.unit] if spec.effects == "unit" else []
    needed = list(dict.fromkeys([*values, *keys, spec.cluster_column]))
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
    if len(kept) < 10:
        raise GovstatsError("fewer than 10 usable rows for the mediation analysis: " + acc.summary())
    return kept.reset_index(drop=True), acc


def _codes(values) -> np.ndarray:
    codes, _ = pd.factorize(pd.Series(values).astype(str), sort=True)
    return codes.astype(np.int64)


def _fe_codes(unit_codes: np.ndarray, time_codes: np.ndarray, effects: str) -> np.ndarray | None:
    if effects == "none":
        return None
    if effects == "unit":
        return unit_codes[:, None]
    return np.column_stack([unit_codes, time_codes])


# --------------------------------------------------------------------------- public API


def mediation_analysis(data: pd.DataFrame, spec: MediationSpec) -> MediationResults:
    """Average direct and indirect effects with a cluster bootstrap and a sensitivity analysis.

    Parameters
    ----------
    data : DataFrame
        Long panel (or indexed by ``(unit, time)``). ``attrs["simulated"]`` marks the
        results SIMULATED.
    spec : MediationSpec

    Returns
    -------
    MediationResults

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=0)
    >>> spec = MediationSpec("mediators_per_10k", "mediation_success_pct", "satisfaction_index",
    ...                      controls=("grid_density",), n_boot=99)
    >>> res = mediation_analysis(sim.data, spec)
    >>> list(res.table.index[:2])
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
    time_codes = _codes(sample[spec.time]) if spec.effects == "twoway" else np.zeros(len(sample), dtype=np.int64)
    fe = _fe_codes(unit_codes, time_codes, spec.effects)
    nc = len(spec.controls)
    point = _fit(raw, fe, nc, spec.interaction, t0, t1)
    if fe is not None:
        w = _demean(raw[:, :1], fe)
        if float(w[:, 0] @ w[:, 0]) <= 1e-12 * max(float(T @ T), 1e-300):
            raise GovstatsError(
                f"{spec.treatment} does not vary within the fixed effects ({spec.effects}); nothing identifies "
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
    n_units = int(unit_codes.max()) + 1
    n_times = int(time_codes.max()) + 1
    unit_nested = bool((pd.Series(cl).groupby(unit_codes).nunique() == 1).all())
    time_nested = bool((pd.Series(cl).groupby(time_codes).nunique() == 1).all()) and spec.effects == "twoway"
    keys = ("a", "b", "c", "d", "s1", "s2", "rho_tilde", "r2_m", "r2_y")
    draws = np.empty((spec.n_boot, len(point["effects"])))
    boot = {k: np.empty(spec.n_boot) for k in keys}
    failed = 0
    for r in range(spec.n_boot):
        pick = rng.integers(0, G, size=G)
        idx = np.concatenate([rows_of[g] for g in pick])
        copy_no = np.repeat(np.arange(G), [len(rows_of[g]) for g in pick])
        # a fixed-effect group nested in the clusters and drawn twice counts as two groups
        ucodes = unit_codes[idx] + (n_units * copy_no if unit_nested else 0)
        tcodes = time_codes[idx] + (n_times * copy_no if time_nested else 0)
        fe_b = _fe_codes(np.unique(ucodes, return_inverse=True)[1], np.unique(tcodes, return_inverse=True)[1],
                         spec.effects)
        try:
            fit_b = _fit(raw[idx], fe_b, nc, spec.interaction, t0, t1)
        except np.linalg.LinAlgError:  # pragma: no cover - degenerate draw
            failed += 1
            draws[r] = np.nan
            for k in keys:
                boot[k][r] = np.nan
            continue
        draws[r] = fit_b["effects"]
        for k in keys:
            boot[k][r] = fit_b[k]
    alpha = 1 - spec.level
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
        warns.append(f"{failed} of {spec.n_boot} bootstrap draws were degenerate and left out")
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
        _boot=boot,
        label=str(getattr(data, "attrs", {}).get("label", "")),
    )


# --------------------------------------------------------------------------- plots


def plot_mediation(results: MediationResults, truth: dict | None = None, *, title: str | None = None):
    """Total effect split into its direct and indirect parts, with bootstrap intervals.

    Parameters
    ----------
    results : MediationResults
    truth : dict, optional
        True values by effect name (e.g. ``{"ACME (average)": 0.0, "ADE (average)": 0.03,
        "Total effect": 0.03}``), drawn as black diamonds.
    title : str, optional

    Returns
    -------
    matplotlib Figure

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=0)
    >>> res = mediation_analysis(sim.data, MediationSpec("mediators_per_10k", "mediation_success_pct",
    ...                          "satisfaction_index", n_boot=49))
    >>> fig = plot_mediation(res)
    """
    import matplotlib.pyplot as plt

    from govstats.plotting import mark_simulated, set_theme

    set_theme(style="whitegrid")
    rows = ["Total effect", "ADE (average)", "ACME (average)"]
    labels = {"Total effect": "total effect", "ADE (average)": "direct (ADE)",
              "ACME (average)": f"indirect, through {results.spec.mediator} (ACME)"}
    colors = {"Total effect": "#444444", "ADE (average)": "#0072b2", "ACME (average)": "#d55e00"}
    t = results.table.loc[rows]
    fig, ax = plt.subplots(figsize=(8.5, 3.4))
    for i, name in enumerate(rows[::-1]):
        r = t.loc[name]
        ax.barh(i, r["estimate"], color=colors[name], alpha=0.35, height=0.6)
        ax.plot([r["ci_lower"], r["ci_upper"]], [i, i], color=colors[name], linewidth=2.5)
        ax.plot(r["estimate"], i, "o", color=colors[name], markersize=7)
        if truth and name in truth:
            ax.plot(truth[name], i, "D", color="black", markersize=7, label="true value" if i == 0 else None)
    if truth:
        handles, lbls = ax.get_legend_handles_labels()
        if not handles:
            ax.plot([], [], "D", color="black", label="true value")
        ax.legend(loc="lower right", fontsize=8)
    ax.axvline(0, color="grey", linewidth=0.8)
    ax.set_yticks(range(len(rows)), [labels[n] for n in rows[::-1]])
    t0, t1 = results.contrast
    ax.set_xlabel(f"change in {results.spec.outcome} when {results.spec.treatment} goes from {t0:.3g} to {t1:.3g} "
                  f"(bars: {results.spec.level:.0%} cluster-bootstrap CI)", fontsize=9)
    fig.suptitle(title or f"How much of the effect runs through {results.spec.mediator}?")
    mark_simulated(fig, simulated=results.simulated)
    fig.tight_layout()
    return fig


def plot_sensitivity(results: MediationResults, *, rho_max: float = 0.9, title: str | None = None):
    """The ACME against the mediator-outcome error correlation rho, with its bootstrap band.

    Sequential ignorability is ``rho = 0``; the dashed line marks the ``rho`` at which
    the indirect effect would vanish. ``rho`` runs over ``[-rho_max, rho_max]`` (the
    curve diverges towards +-1).

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> sim = simulate_panel(seed=0)
    >>> res = mediation_analysis(sim.data, MediationSpec("mediators_per_10k", "mediation_success_pct",
    ...                          "satisfaction_index", n_boot=49))
    >>> fig = plot_sensitivity(res)
    """
    import matplotlib.pyplot as plt

    from govstats.plotting import mark_simulated, set_theme

    set_theme(style="whitegrid")
    s = results.sensitivity(np.linspace(-rho_max, rho_max, 181))
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    ax.fill_between(s["rho"], s["ci_lower"], s["ci_upper"], color="#d55e00", alpha=0.2, linewidth=0,
                    label=f"{results.spec.level:.0%} cluster-bootstrap band")
    ax.plot(s["rho"], s["acme"], color="#d55e00", linewidth=2, label="ACME(rho)")
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.axvline(0, color="black", linewidth=0.8, linestyle=":")
    rz = s.attrs["rho_at_zero"]
    ax.axvline(rz, color="black", linestyle="--", linewidth=1.2, label=f"ACME = 0 at rho = {rz:.2f}")
    ax.annotate("sequential\nignorability", (0, ax.get_ylim()[1]), xytext=(4, -4), textcoords="offset points",
                va="top", fontsize=8)
    ax.set_xlabel("rho: correlation of the mediator-model and outcome-model errors")
    ax.set_ylabel("indirect effect (ACME)")
    ax.legend(loc="lower left", fontsize=8)
    fig.suptitle(title or "How strong would an unobserved mediator-outcome confounder have to be?")
    mark_simulated(fig, simulated=results.simulated)
    fig.tight_layout()
    return fig
