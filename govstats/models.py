"""Panel regressions: one frozen spec, one fit, one read-only results object.

A :class:`PanelSpec` says everything about an estimation (formula, effects,
estimator, covariance, cluster variable, bootstrap settings); :func:`fit` applies
it to a DataFrame indexed by ``(unit, time)`` and returns a :class:`PanelResults`,
which cannot be modified. :func:`hausman_test` and :func:`effects_f_test` are the
specification tests; :func:`reproduce_published` puts published numbers beside
recomputed ones.

Estimators (``estimator=``)
    ``"pooled"`` OLS; ``"within"`` fixed effects (``effects`` = ``"unit"``,
    ``"time"`` or ``"twoway"``, absorbed by alternating projections, exact for
    balanced panels); ``"random"`` effects (Swamy-Arora variance components, as R
    plm's default ``random.method="swar"`` and Stata's ``xtreg, re``; the variance
    components and theta come from :class:`linearmodels.panel.RandomEffects`, the
    quasi-demeaned regression is solved here); ``"between"`` (OLS on unit or time
    means, unweighted, as plm); ``"first_difference"`` (differences between
    consecutive periods of a unit - for integer (year) periods, t and t - 1; for
    other labels, neighbours among the periods present; no difference is taken
    across a gap; an intercept in the formula is kept, as in plm and Wooldridge's
    textbook, and estimates a common trend).

Covariances (``cov=``) and their small-sample rules
    ``N`` observations used, ``k`` estimated slopes (including an intercept),
    ``k_fe`` absorbed fixed-effect parameters (units + periods - 1 for two-way,
    less one per extra disconnected component), ``G`` clusters.

    * ``"unadjusted"``: ``s^2 (X'X)^-1`` with ``s^2 = RSS / (N - k - k_fe)`` (plm,
      Stata ``xtreg, fe``).
    * ``"robust"``: HC1, ``N / (N - k - k_fe)`` (fixest ``"hetero"``, Stata
      ``areg, vce(robust)``). Note Stata's ``xtreg, fe vce(robust)`` clusters by
      unit instead; use ``cov="cluster"`` for that.
    * ``"cluster"``: CR1 with the **"sss"** factor
      ``G/(G-1) * (N-1)/(N-K)``, where ``K = k + k_fe`` minus the fixed effects
      nested in the cluster variable, plus one if any fixed effect is nested (the
      intercept that a nested fixed effect absorbs). This is fixest's default
      ``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE)`` (also pyfixest's
      default) and, for unit effects clustered by unit, Stata's ``xtreg, fe
      vce(cluster id)`` (which counts the constant it reports, so ``K = k + 1``)
      and R plm ``vcovHC(type="sss")``. Inference uses Student t with ``G - 1``
      degrees of freedom (Stata, fixest).
    * ``"cluster2"``: two-way clustering (Cameron-Gelbach-Miller)
      ``V1 + V2 - V12``, each term scaled by ``G_min/(G_min-1) * (N-1)/(N-K)``
      (fixest's default ``cluster.df="min"``); a fixed effect counts as nested if it
      is nested in either cluster variable; t with ``G_min - 1`` df.
    * ``"driscoll_kraay"``: Driscoll-Kraay (1998) with Bartlett weights
      ``1 - l/(L+1)``, ``L = bandwidth`` (default ``floor(T^(1/4))``), scaled by
      ``T/(T-1) * (N-1)/(N-k-k_fe)``, t with ``T - 1`` df (fixest/pyfixest
      ``vcov="DK"``).

    linearmodels' own clustered default differs (``K`` counts only the regressors
    it estimates, and ``G/(G-1)`` needs ``group_debias=True``); govstats computes the
    covariance itself from the fitted residuals, and the tests pin it to Gretl's
    printed Stata-convention standard errors, to pyfixest, and to dummy-variable OLS.

Few clusters
    When the covariance is clustered and ``G`` is below ``spec.few_clusters``
    (default 30), :func:`fit` warns (:class:`FewClustersWarning`) and, unless
    ``bootstrap="never"``, runs :func:`govstats.inference.wild_cluster_bootstrap`
    (wild cluster restricted bootstrap, null imposed) for every coefficient; the
    bootstrap p-value and confidence interval are shown beside the clustered ones.
    For two-way clustering the bootstrap clusters on the dimension with fewer
    clusters.

Examples
--------
>>> import govstats as gs
>>> from govstats import datasets, models
>>> grunfeld = datasets.load_grunfeld()
>>> spec = models.PanelSpec("invest ~ value + capital", estimator="within", effects="unit",
...                         cov="unadjusted")
>>> res = models.fit(spec, grunfeld)
>>> res.params.round(6).to_dict()
{'value': 0.110124, 'capital': 0.310065}
>>> res.std_errors.round(6).to_dict()
{'value': 0.011857, 'capital': 0.017355}
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse
import scipy.sparse.csgraph
from scipy import stats

from govstats._literals import (
    BootstrapMode,
    CovKind,
    EffectsKind,
    EstimatorKind,
    HausmanMethod,
    WeightsKind,
    check_literal,
)
from govstats.errors import DataValidationError, GovstatsError, Problem

__all__ = [
    "BootstrapMode",
    "CovKind",
    "EffectsKind",
    "EstimatorKind",
    "FewClustersWarning",
    "HausmanMethod",
    "PanelResults",
    "PanelSpec",
    "SpecTestResult",
    "effects_f_test",
    "fit",
    "hausman_test",
]

# Option aliases (to be moved to govstats/_literals.py).
BootstrapWeights = WeightsKind  # the bootstrap's own alias

_VALID_EFFECTS: dict[str, tuple[str, ...]] = {
    "pooled": ("none",),
    "within": ("unit", "time", "twoway"),
    "random": ("unit",),
    "between": ("unit", "time"),
    "first_difference": ("unit",),
}
_ESTIMATOR_LABEL = {
    "pooled": "Pooled OLS",
    "within": "Fixed effects (within)",
    "random": "Random effects (Swamy-Arora GLS)",
    "between": "Between",
    "first_difference": "First differences",
}
_EFFECTS_LABEL = {"none": "none", "unit": "unit", "time": "time", "twoway": "unit + time"}


class FewClustersWarning(UserWarning):
    """Clustered standard errors with fewer clusters than ``spec.few_clusters``."""


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class PanelSpec:
    """Everything that defines one panel estimation; immutable.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2"`` (formulaic syntax: ``np.log(x)``, ``C(region)``,
        ``x1:x2``; ``0 +`` drops the intercept). Fixed effects are set with
        ``effects``, not in the formula.
    estimator : {"within", "pooled", "random", "between", "first_difference"}
    effects : {"unit", "none", "time", "twoway"}
        Which effects the estimator handles. Valid combinations: pooled - none;
        within - unit, time, twoway; random - unit; between - unit, time;
        first_difference - unit (differencing removes them).
    cov : {"cluster", "unadjusted", "robust", "cluster2", "driscoll_kraay"}
        Covariance estimator; the module docstring gives each small-sample rule.
    cluster : str or tuple of two str, optional
        ``"unit"``, ``"time"`` or a column name of the data (e.g. a city column when
        the units are its districts). Default ``"unit"`` for ``cov="cluster"`` and
        ``("unit", "time")`` for ``cov="cluster2"``.
    bandwidth : int, optional
        Number of lags for Driscoll-Kraay (default ``floor(T ** 0.25)``).
    bootstrap : {"auto", "always", "never"}
        Wild cluster bootstrap: ``"auto"`` runs it when clustered with fewer than
        ``few_clusters`` clusters.
    bootstrap_B : int, default 9999
    bootstrap_weights : {"auto", "rademacher", "webb", "mammen", "norm"}
    seed : int or None, default 0
        Seed of the bootstrap (results are reproducible with an int).
    few_clusters : int, default 30
        Below this many clusters the results carry a warning and the bootstrap.
    level : float, default 0.95
        Confidence level of the intervals.

    Examples
    --------
    >>> from govstats.models import PanelSpec
    >>> PanelSpec("lcrmrte ~ lprbarr + lpolpc", effects="twoway").describe()
    'lcrmrte ~ lprbarr + lpolpc | Fixed effects (within), effects unit + time, cov cluster by unit'
    """

    formula: str
    estimator: EstimatorKind = "within"
    effects: EffectsKind = "unit"
    cov: CovKind = "cluster"
    cluster: str | tuple[str, str] | None = None
    bandwidth: int | None = None
    bootstrap: BootstrapMode = "auto"
    bootstrap_B: int = 9999
    bootstrap_weights: BootstrapWeights = "auto"
    seed: int | None = 0
    few_clusters: int = 30
    level: float = 0.95

    def __post_init__(self) -> None:
        if not isinstance(self.formula, str) or "~" not in self.formula:
            raise ValueError(
                f"formula={self.formula!r} needs a '~' between the outcome and the regressors, "
                "e.g. 'lcrmrte ~ lprbarr + lpolpc'"
            )
        check_literal(self.estimator, EstimatorKind, "estimator")
        check_literal(self.effects, EffectsKind, "effects")
        check_literal(self.cov, CovKind, "cov")
        check_literal(self.bootstrap, BootstrapMode, "bootstrap")
        check_literal(self.bootstrap_weights, BootstrapWeights, "bootstrap_weights")
        valid = _VALID_EFFECTS[self.estimator]
        if self.effects not in valid:
            raise ValueError(
                f"effects={self.effects!r} does not go with estimator={self.estimator!r}; "
                f"choose one of {', '.join(map(repr, valid))}"
            )
        if self.estimator == "between":
            if self.cov in ("cluster2", "driscoll_kraay"):
                raise ValueError(
                    f"cov={self.cov!r} does not go with estimator='between' (one observation per "
                    f"{'unit' if self.effects == 'unit' else 'period'}); use 'unadjusted', 'robust' or 'cluster'"
                )
            other = "unit" if self.effects == "time" else "time"
            if self.cov == "cluster" and (self.cluster or "unit") == other:
                raise ValueError(
                    f"between estimation on {self.effects} means cannot cluster by {other!r}; cluster by "
                    f"{self.effects!r} or by a column that is constant within each {self.effects}"
                )
        if self.cov == "cluster":
            if self.cluster is not None and not isinstance(self.cluster, str):
                raise ValueError(
                    f"cov='cluster' takes one cluster variable, got cluster={self.cluster!r}; "
                    "use cov='cluster2' for two-way clustering"
                )
        elif self.cov == "cluster2":
            if self.cluster is not None and not (
                isinstance(self.cluster, tuple | list)
                and len(self.cluster) == 2
                and all(isinstance(c, str) for c in self.cluster)
                and self.cluster[0] != self.cluster[1]
            ):
                raise ValueError(
                    f"cov='cluster2' needs two different cluster variables, got cluster={self.cluster!r}; "
                    "e.g. cluster=('unit', 'time')"
                )
            if isinstance(self.cluster, list):
                object.__setattr__(self, "cluster", tuple(self.cluster))
        elif self.cluster is not None:
            raise ValueError(f"cluster={self.cluster!r} is only used with cov='cluster' or 'cluster2'")
        if self.bandwidth is not None:
            if self.cov != "driscoll_kraay":
                raise ValueError("bandwidth is only used with cov='driscoll_kraay'")
            if not isinstance(self.bandwidth, int | np.integer) or self.bandwidth < 0:
                raise ValueError(f"bandwidth={self.bandwidth!r} must be a non-negative integer")
        if not isinstance(self.bootstrap_B, int | np.integer) or self.bootstrap_B < 19:
            raise ValueError(f"bootstrap_B={self.bootstrap_B!r} must be an integer >= 19")
        if not isinstance(self.few_clusters, int | np.integer) or self.few_clusters < 2:
            raise ValueError(f"few_clusters={self.few_clusters!r} must be an integer >= 2")
        if not 0.5 <= float(self.level) < 1:
            raise ValueError(f"level={self.level!r} must be in [0.5, 1)")

    @property
    def cluster_vars(self) -> tuple[str, ...]:
        """Cluster variables with the defaults filled in (empty if not clustered)."""
        if self.cov == "cluster":
            return (self.cluster or "unit",)  # type: ignore[return-value]
        if self.cov == "cluster2":
            return tuple(self.cluster or ("unit", "time"))  # type: ignore[arg-type]
        return ()

    def describe(self) -> str:
        """One line: formula | estimator, effects, covariance."""
        cov = self.cov
        if self.cluster_vars:
            cov += " by " + " and ".join(self.cluster_vars)
        return (
            f"{self.formula} | {_ESTIMATOR_LABEL[self.estimator]}, effects "
            f"{_EFFECTS_LABEL[self.effects]}, cov {cov}"
        )


# --------------------------------------------------------------------------- results


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, repr=False)
class PanelResults:
    """Read-only results of :func:`fit`.

    Attributes cannot be reassigned; the arrays behind them are not writeable;
    ``params``, ``std_errors`` etc. return new pandas objects on every access, so
    changing one changes nothing here.

    Key attributes: ``params``, ``std_errors``, ``tstats``, ``pvalues``,
    ``conf_int()``, ``cov``, ``nobs``, ``n_entities``, ``n_periods``,
    ``n_clusters``, ``cov_label`` (the exact covariance convention), ``rsquared``,
    ``bootstrap`` (one :class:`govstats.inference.BootstrapResult` per coefficient,
    or ``None``), ``warnings`` (what the summary shows in capitals), ``simulated``
    (True when the data carried ``attrs["simulated"] = True``, as
    :mod:`govstats.simulate` output does; summaries, tables and plots then say
    SIMULATED).
    """

    spec: PanelSpec
    dependent: str
    param_names: tuple[str, ...]
    _params: np.ndarray
    _cov: np.ndarray
    df_inference: int
    nobs: int
    n_entities: int
    n_periods: int
    n_clusters: int | tuple[int, ...] | None
    cov_label: str
    rsquared: float
    rsquared_kind: str
    rss: float
    df_resid: int
    dropped_missing: int
    dropped_collinear: tuple[str, ...]
    small_sample: Mapping[str, Any]
    variance_components: Mapping[str, float] | None
    bootstrap: tuple[Any, ...] | None
    warnings: tuple[str, ...]
    unit_name: str
    time_name: str
    simulated: bool
    _residuals: np.ndarray = field(repr=False)
    _fitted: np.ndarray = field(repr=False)
    _resid_keys: tuple[np.ndarray, np.ndarray] = field(repr=False)

    # -- numbers
    @property
    def params(self) -> pd.Series:
        """Estimated coefficients."""
        return pd.Series(self._params, index=list(self.param_names), name="coef", copy=True)

    @property
    def cov(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients (convention: ``cov_label``)."""
        names = list(self.param_names)
        return pd.DataFrame(self._cov, index=names, columns=names, copy=True)

    @property
    def std_errors(self) -> pd.Series:
        """Standard errors (square roots of the diagonal of ``cov``)."""
        return pd.Series(np.sqrt(np.diag(self._cov)), index=list(self.param_names), name="std_error")

    @property
    def tstats(self) -> pd.Series:
        """t statistics for H0: coefficient = 0."""
        return pd.Series(self._params / np.sqrt(np.diag(self._cov)), index=list(self.param_names),
                         name="t")

    @property
    def pvalues(self) -> pd.Series:
        """Two-sided p-values, Student t with ``df_inference`` degrees of freedom."""
        t = self._params / np.sqrt(np.diag(self._cov))
        return pd.Series(2 * stats.t.sf(np.abs(t), self.df_inference), index=list(self.param_names),
                         name="p")

    def conf_int(self, level: float | None = None) -> pd.DataFrame:
        """Confidence intervals (t with ``df_inference`` df); columns ``lower``, ``upper``."""
        level = self.spec.level if level is None else level
        q = stats.t.ppf(0.5 + level / 2, self.df_inference)
        se = np.sqrt(np.diag(self._cov))
        return pd.DataFrame(
            {"lower": self._params - q * se, "upper": self._params + q * se},
            index=list(self.param_names),
        )

    @property
    def residuals(self) -> pd.Series:
        """Residuals of the estimated (transformed) equation, indexed by (unit, time)."""
        return pd.Series(self._residuals, index=self._key_index(), name="residual", copy=True)

    @property
    def fitted_values(self) -> pd.Series:
        """Fitted values of the transformed equation (``X b``), indexed by (unit, time)."""
        return pd.Series(self._fitted, index=self._key_index(), name="fitted", copy=True)

    def _key_index(self) -> pd.MultiIndex:
        return pd.MultiIndex.from_arrays(list(self._resid_keys), names=[self.unit_name, self.time_name])

    @property
    def estimator_label(self) -> str:
        return _ESTIMATOR_LABEL[self.spec.estimator]

    @property
    def effects_label(self) -> str:
        return _EFFECTS_LABEL[self.spec.effects]

    @property
    def few_clusters(self) -> bool:
        """True if clustered with fewer clusters than ``spec.few_clusters``."""
        g = self._g_min
        return g is not None and g < self.spec.few_clusters

    @property
    def _g_min(self) -> int | None:
        if self.n_clusters is None:
            return None
        if isinstance(self.n_clusters, tuple):
            return min(self.n_clusters)
        return int(self.n_clusters)

    def coef_table(self) -> pd.DataFrame:
        """One row per coefficient: estimate, SE, t, p, CI, and bootstrap p/CI if run."""
        ci = self.conf_int()
        out = pd.DataFrame(
            {
                "coef": self._params,
                "std_error": np.sqrt(np.diag(self._cov)),
                "t": self.tstats.to_numpy(),
                "p": self.pvalues.to_numpy(),
                "ci_lower": ci["lower"].to_numpy(),
                "ci_upper": ci["upper"].to_numpy(),
            },
            index=pd.Index(list(self.param_names), name="term"),
        )
        if self.bootstrap:
            out["boot_p"] = [b.p_value for b in self.bootstrap]
            out["boot_ci_lower"] = [b.ci_low for b in self.bootstrap]
            out["boot_ci_upper"] = [b.ci_high for b in self.bootstrap]
        return out

    # -- display
    def summary(self) -> str:
        """Plain-text summary: model, sample, covariance convention, coefficients, warnings."""
        lines = []
        title = ("SIMULATED DATA - " if self.simulated else "") + f"{self.estimator_label}: {self.dependent}"
        lines.append(title)
        lines.append("=" * max(len(title), 72))
        lines.append(f"Formula:      {self.spec.formula}")
        lines.append(f"Effects:      {self.effects_label}")
        lines.append(
            f"Sample:       N = {self.nobs}, units = {self.n_entities}, periods = {self.n_periods}"
            + (f"; {self.dropped_missing} row(s) with missing/non-finite values not used"
               if self.dropped_missing else "")
        )
        lines.append(f"Covariance:   {self.cov_label}")
        lines.append(f"R-squared:    {self.rsquared:.5f} ({self.rsquared_kind})")
        if self.variance_components:
            vc = self.variance_components
            lines.append(
                "Variance components: "
                + ", ".join(f"{k} = {v:.6g}" for k, v in vc.items())
            )
        if self.dropped_collinear:
            lines.append("Dropped (collinear): " + ", ".join(self.dropped_collinear))
        lines.append("-" * 72)
        table = self.coef_table()
        fmt = table.copy()
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            lines.append(fmt.to_string(float_format=lambda v: f"{v:.6g}"))
        lines.append("-" * 72)
        for w in self.warnings:
            lines.append("WARNING: " + w)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        table = self.coef_table().to_html(float_format=lambda v: f"{v:.6g}", border=0)
        head = (
            ('<b style="color:#a00">SIMULATED DATA</b><br>' if self.simulated else "")
            + f"<b>{html.escape(self.estimator_label)}: {html.escape(self.dependent)}</b><br>"
            f"Formula: <code>{html.escape(self.spec.formula)}</code>; effects: "
            f"{html.escape(self.effects_label)}<br>"
            f"N = {self.nobs}, units = {self.n_entities}, periods = {self.n_periods}"
            + (f"; {self.dropped_missing} row(s) not used (missing values)" if self.dropped_missing else "")
            + f"<br>Covariance: {html.escape(self.cov_label)}<br>"
            f"R-squared: {self.rsquared:.5f} ({html.escape(self.rsquared_kind)})"
        )
        if self.dropped_collinear:
            head += "<br>Dropped (collinear): " + html.escape(", ".join(self.dropped_collinear))
        warn = "".join(
            f'<div style="color:#a00;font-weight:bold">WARNING: {html.escape(w)}</div>'
            for w in self.warnings
        )
        return f"<div>{head}{table}{warn}</div>"

    # -- maketables plug-in format (govstats.tables uses it)
    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:
        t = self.coef_table()
        out = pd.DataFrame(
            {
                "b": t["coef"],
                "se": t["std_error"],
                "t": t["t"],
                "p": t["p"],
                "ci95l": t["ci_lower"],
                "ci95u": t["ci_upper"],
            }
        )
        out.index.name = "Coefficient"
        return out

    def __maketables_stat__(self, key: str) -> Any:
        return {
            "N": self.nobs,
            "r2": self.rsquared,
            "se_type": self.se_type,
            "n_entities": self.n_entities,
            "n_periods": self.n_periods,
        }.get(key)

    @property
    def __maketables_depvar__(self) -> str:
        return self.dependent

    @property
    def __maketables_vcov_info__(self) -> dict[str, Any]:
        return {"vcov_type": self.se_type, "clustervar": ", ".join(self.spec.cluster_vars) or None}

    @property
    def __maketables_fixef_string__(self) -> str | None:
        if self.spec.estimator != "within":
            return None
        return {"unit": self.unit_name, "time": self.time_name,
                "twoway": f"{self.unit_name}+{self.time_name}"}.get(self.spec.effects)

    @property
    def se_type(self) -> str:
        """Short standard-error type for tables ("CR1 by county", "HC1", ...)."""
        c = self.spec.cov
        if c == "unadjusted":
            return "iid"
        if c == "robust":
            return "HC1"
        if c == "driscoll_kraay":
            return "Driscoll-Kraay"
        names = [self._cluster_display(v) for v in self.spec.cluster_vars]
        return "CR1 by " + " & ".join(names)

    def _cluster_display(self, var: str) -> str:
        return {"unit": self.unit_name, "time": self.time_name}.get(var, var)


@dataclass(frozen=True)
class SpecTestResult:
    """A specification test: statistic, degrees of freedom, p-value, and what it is."""

    name: str
    statistic: float
    df: tuple[int, ...]
    pvalue: float
    distribution: str
    note: str = ""

    def __str__(self) -> str:
        df = ", ".join(str(d) for d in self.df)
        return (
            f"{self.name}: {self.distribution}({df}) = {self.statistic:.6g}, p = {self.pvalue:.4g}"
            + (f". {self.note}" if self.note else "")
        )


# --------------------------------------------------------------------------- data prep


@dataclass
class _Design:
    y: np.ndarray
    X: np.ndarray
    names: list[str]
    dependent: str
    unit_codes: np.ndarray
    time_codes: np.ndarray
    n_units_all: int
    n_times_all: int
    flat: pd.DataFrame  # rows used; the cluster columns named in the spec (if any)
    keys: tuple[np.ndarray, np.ndarray]  # (unit, time) values of the rows used
    dropped_missing: int
    unit_name: str
    time_name: str
    has_intercept: bool


def _panel_index_names(data: pd.DataFrame) -> tuple[str, str]:
    if not isinstance(data.index, pd.MultiIndex) or data.index.nlevels != 2:
        raise GovstatsError(
            "fit() needs a DataFrame indexed by (unit, time): a 2-level MultiIndex. "
            "Use df.set_index(['place_id', 'year']) or govstats.panel.set_panel_index(df, "
            "unit='place_id', time='year')"
        )
    unit_name = data.index.names[0] or "unit"
    time_name = data.index.names[1] or "time"
    if unit_name == time_name:
        raise GovstatsError(f"the two index levels have the same name {unit_name!r}")
    return str(unit_name), str(time_name)


def _check_unique_index(data: pd.DataFrame, what: str) -> None:
    if data.index.is_unique:
        return
    dup = data.index.duplicated(keep=False)
    positions = np.flatnonzero(dup)
    problems = [
        Problem(
            "duplicate (unit, time) pair: a panel has at most one row per unit and period",
            row=int(p) + 2,
            column="/".join(str(n) for n in data.index.names),
            value=data.index[p],
            hint="aggregate or remove the duplicates before fitting (row = position + 2, "
            "as if the frame were written to CSV)",
        )
        for p in positions
    ]
    raise DataValidationError(problems, what=what)




def _simple_terms(formula: str, columns: pd.Index) -> tuple[str, list[str], bool] | None:
    """``y ~ a + b`` with plain numeric column names: (outcome, terms, intercept); else None."""
    lhs, _, rhs = formula.partition("~")
    dep = lhs.strip()
    if dep not in columns or not dep.isidentifier():
        return None
    intercept = True
    terms: list[str] = []
    for raw in rhs.replace("-", "+-").split("+"):
        tok = raw.strip().replace(" ", "")
        if not tok:
            continue
        if tok in ("0", "-1"):
            intercept = False
            continue
        if tok == "1":
            continue
        if not tok.isidentifier() or tok not in columns or tok in terms or tok == dep:
            return None
        terms.append(tok)
    return dep, terms, intercept


def _design(spec: PanelSpec, data: pd.DataFrame) -> _Design:
    unit_name, time_name = _panel_index_names(data)
    _check_unique_index(data, "panel data passed to fit")
    n_in = len(data)
    cluster_cols = [v for v in spec.cluster_vars if v not in ("unit", "time")]
    for var in cluster_cols:
        if var not in data.columns:
            raise GovstatsError(
                f"cluster variable {var!r} is not a column of the data "
                f"(columns: {', '.join(map(str, data.columns))})"
            )
    simple = _simple_terms(spec.formula, data.columns)
    if simple is not None and all(
        pd.api.types.is_numeric_dtype(data[c]) and not pd.api.types.is_bool_dtype(data[c])
        for c in (simple[0], *simple[1])
    ):
        # fast path (plain column names): what formulaic would build, without its overhead
        dependent, terms, intercept = simple
        if not data.index.is_monotonic_increasing:
            data = data[[dependent, *terms, *cluster_cols]].sort_index()
        y = data[dependent].to_numpy(dtype=float, na_value=np.nan)
        X = np.empty((n_in, len(terms) + intercept))
        if intercept:
            X[:, 0] = 1.0
        for j, c in enumerate(terms):
            X[:, j + intercept] = data[c].to_numpy(dtype=float, na_value=np.nan)
        names = ["Intercept", *terms] if intercept else list(terms)
        rows = np.arange(n_in)
    else:
        from formulaic import Formula, model_matrix

        try:
            needed = [v for v in Formula(spec.formula).required_variables if v in data.columns]
        except Exception:  # let model_matrix report the error
            needed = list(data.columns)
        needed = list(dict.fromkeys([*needed, *cluster_cols]))
        data = data[needed].sort_index()
        flat = data.reset_index()
        try:
            mm = model_matrix(spec.formula, flat, na_action="drop")
        except Exception as exc:  # formulaic raises many types; give one clear message
            raise GovstatsError(
                f"could not evaluate formula {spec.formula!r} on the data: {exc}. "
                f"Columns available: {', '.join(map(str, flat.columns))}"
            ) from exc
        lhs, rhs = mm.lhs, mm.rhs
        if lhs.shape[1] != 1:
            raise GovstatsError(f"formula {spec.formula!r} must have exactly one outcome on the left")
        dependent = str(lhs.columns[0])
        names = [str(c) for c in rhs.columns]
        y = lhs.to_numpy(dtype=float).ravel()
        X = rhs.to_numpy(dtype=float)
        rows = np.asarray(rhs.index)
    keep = np.isfinite(y) & np.isfinite(X).all(axis=1)
    for var in cluster_cols:
        keep &= data[var].iloc[rows].notna().to_numpy()
    if not keep.all():
        y, X, rows = y[keep], X[keep], rows[keep]
    dropped = n_in - len(rows)
    if len(rows) == 0:
        raise GovstatsError(f"no complete rows for formula {spec.formula!r}")
    if dropped:
        warnings.warn(
            f"{dropped} of {n_in} rows have missing or non-finite values in the variables of "
            f"{spec.formula!r} and are not used (results.dropped_missing)",
            UserWarning,
            stacklevel=3,
        )
    idx = data.index
    unit_vals = idx.get_level_values(0).to_numpy()[rows] if dropped else idx.get_level_values(0).to_numpy()
    time_vals = idx.get_level_values(1).to_numpy()[rows] if dropped else idx.get_level_values(1).to_numpy()
    unit_codes, units = pd.factorize(unit_vals, sort=True)
    time_codes, times = pd.factorize(time_vals, sort=True)
    flat = data[cluster_cols].iloc[rows].reset_index(drop=True) if cluster_cols else pd.DataFrame(
        index=pd.RangeIndex(len(rows))
    )
    return _Design(
        y=y,
        X=X,
        names=names,
        dependent=dependent,
        unit_codes=unit_codes.astype(np.intp),
        time_codes=time_codes.astype(np.intp),
        n_units_all=len(units),
        n_times_all=len(times),
        flat=flat,
        keys=(unit_vals, time_vals),
        dropped_missing=dropped,
        unit_name=unit_name,
        time_name=time_name,
        has_intercept="Intercept" in names,
    )


# --------------------------------------------------------------------------- algebra


def _group_sum(codes: np.ndarray, M: np.ndarray, n_groups: int) -> np.ndarray:
    if M.ndim == 1:
        return np.bincount(codes, weights=M, minlength=n_groups)
    return np.column_stack(
        [np.bincount(codes, weights=M[:, j], minlength=n_groups) for j in range(M.shape[1])]
    ) if M.shape[1] else np.zeros((n_groups, 0))


def _group_mean(codes: np.ndarray, M: np.ndarray, n_groups: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=n_groups).astype(float)
    counts[counts == 0] = 1.0
    s = _group_sum(codes, M, n_groups)
    return s / counts if M.ndim == 1 else s / counts[:, None]


def _demean(M: np.ndarray, fes: Sequence[tuple[np.ndarray, int]], *, tol: float = 1e-12,
            maxiter: int = 10_000, balanced: bool = False) -> np.ndarray:
    """Project out fixed effects by alternating projections.

    Exact in one sweep for one fixed effect and for two crossed effects on a
    balanced panel (``balanced=True``: every unit observed once in every period);
    otherwise iterated until the largest group mean removed is below ``tol``
    times the data's scale.
    """
    M = np.array(M, dtype=float, copy=True)
    if len(fes) == 1 or balanced:
        for codes, g in fes:
            M -= _group_mean(codes, M, g)[codes]
        return M
    scale = max(float(np.abs(M).max()), 1.0)
    for _ in range(maxiter):
        change = 0.0
        for codes, g in fes:
            means = _group_mean(codes, M, g)
            M -= means[codes]
            change = max(change, float(np.abs(means).max()))
        if change <= tol * scale:
            return M
    raise GovstatsError(
        f"fixed effects did not converge in {maxiter} alternating projections; "
        "the panel may be badly connected"
    )


def _n_components(u: np.ndarray, t: np.ndarray, nu: int, nt: int) -> int:
    graph = scipy.sparse.coo_matrix((np.ones(len(u)), (u, t + 0)), shape=(nu, nt)).tocsr()
    adj = scipy.sparse.bmat([[None, graph], [graph.T, None]])
    n, _ = scipy.sparse.csgraph.connected_components(adj, directed=False)
    return int(n)


def _is_nested(fe_codes: np.ndarray, cluster_codes: np.ndarray) -> bool:
    """True if every level of the fixed effect lies inside one cluster."""
    g = int(fe_codes.max()) + 1
    first = np.empty(g, dtype=cluster_codes.dtype)
    first[fe_codes[::-1]] = cluster_codes[::-1]  # last write wins: the first occurrence
    return bool(np.array_equal(first[fe_codes], cluster_codes))


def _solve_ols(X: np.ndarray, y: np.ndarray, names: list[str], *, rel_tol: float = 1e-9
               ) -> tuple[np.ndarray, np.ndarray, list[int], list[int]]:
    """OLS with detection of collinear columns (dropped, reported). Returns b, (X'X)^-1, kept, dropped."""
    k = X.shape[1]
    if k == 0:
        return np.zeros(0), np.zeros((0, 0)), [], []
    norms = np.sqrt((X**2).sum(axis=0))
    zero = norms <= 1e-12 * max(1.0, float(np.abs(X).max()) if X.size else 1.0)
    cand = [j for j in range(k) if not zero[j]]
    dropped = [j for j in range(k) if zero[j]]
    if cand and not dropped:
        # fast check: the scaled Gram matrix is well conditioned -> full rank, no QR needed
        Xs = X / norms
        gram = Xs.T @ Xs
        if float(np.linalg.eigvalsh(gram)[0]) > 1e-10:
            bread = scipy.linalg.cho_solve(scipy.linalg.cho_factor(X.T @ X), np.eye(k))
            return bread @ (X.T @ y), bread, list(range(k)), []
    if cand:
        Xs = X[:, cand] / norms[cand]
        _, R, piv = scipy.linalg.qr(Xs, mode="economic", pivoting=True)
        d = np.abs(np.diag(R))
        rank = int((d > rel_tol * d[0]).sum()) if d.size else 0
        keep_local = sorted(piv[:rank].tolist())
        dropped += [cand[j] for j in piv[rank:]]
        kept = [cand[j] for j in keep_local]
    else:
        kept = []
    Xk = X[:, kept]
    xtx = Xk.T @ Xk
    try:
        c = scipy.linalg.cho_factor(xtx)
        bread = scipy.linalg.cho_solve(c, np.eye(len(kept)))
    except np.linalg.LinAlgError:  # pragma: no cover - guarded by the rank check
        bread = np.linalg.pinv(xtx)
    b = bread @ (Xk.T @ y)
    return b, bread, kept, sorted(dropped)


@dataclass
class _Fit:
    """Internal fit before covariance: transformed data and OLS solution."""

    y: np.ndarray
    X: np.ndarray
    names: list[str]
    b: np.ndarray
    bread: np.ndarray
    resid: np.ndarray
    unit_codes: np.ndarray
    time_codes: np.ndarray
    n_units: int
    n_times: int
    cluster_source: pd.DataFrame  # one row per used observation, for cluster columns
    fes: list[tuple[np.ndarray, int]]  # absorbed FEs (within only)
    k_fe: int  # absorbed parameters (rank)
    k_fe_fixest: int  # fixest count: sum(levels) - (n_fe - 1)
    dropped_collinear: list[str]
    keys: tuple[np.ndarray, np.ndarray]
    tss: float
    rsquared_kind: str
    variance_components: dict[str, float] | None = None
    raw_y: np.ndarray | None = None  # for the bootstrap (within: untransformed)
    raw_X: np.ndarray | None = None
    theta: np.ndarray | None = None


def _transform(spec: PanelSpec, d: _Design) -> _Fit:
    est, eff = spec.estimator, spec.effects
    y, X, names = d.y, d.X, list(d.names)
    uc, tc = d.unit_codes, d.time_codes
    nu = int(uc.max()) + 1
    nt = int(tc.max()) + 1
    cluster_source = d.flat
    keys = d.keys
    fes: list[tuple[np.ndarray, int]] = []
    k_fe = k_fe_fixest = 0
    raw_y = raw_X = None
    vc = None
    theta_obs = None

    if est == "within":
        if d.has_intercept:
            j = names.index("Intercept")
            X = np.delete(X, j, axis=1)
            names.pop(j)
        if eff in ("unit", "twoway"):
            fes.append((uc, nu))
        if eff in ("time", "twoway"):
            fes.append((tc, nt))
        raw_y, raw_X = y, X
        balanced = len(y) == nu * nt  # (unit, time) pairs are unique, so this is a full grid
        Z = _demean(np.column_stack([y, X]), fes, balanced=balanced)
        y, X = Z[:, 0], Z[:, 1:]
        k_fe_fixest = sum(g for _, g in fes) - (len(fes) - 1)
        k_fe = k_fe_fixest
        if len(fes) == 2 and not balanced:
            k_fe -= _n_components(uc, tc, nu, nt) - 1
        kind = "within"
    elif est == "pooled":
        kind = "centered" if d.has_intercept else "uncentered"
    elif est == "between":
        codes, g = (uc, nu) if eff == "unit" else (tc, nt)
        y = _group_mean(codes, y, g)
        X = _group_mean(codes, X, g)
        first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
        for col in d.flat.columns:  # a cluster column must be constant within each group
            ccodes = pd.factorize(d.flat[col])[0]
            if not _is_nested(codes, ccodes):
                raise GovstatsError(
                    f"cluster column {col!r} varies within a {eff}; between estimation needs a "
                    f"cluster variable that is constant within each {eff}"
                )
        cluster_source = d.flat.iloc[first].reset_index(drop=True)
        keys = (d.keys[0][first], d.keys[1][first])
        if eff == "unit":
            uc, tc = np.arange(g), np.zeros(g, dtype=np.intp)
        else:
            uc, tc = np.zeros(g, dtype=np.intp), np.arange(g)
        kind = "centered" if d.has_intercept else "uncentered"
    elif est == "first_difference":
        prev_ok = np.zeros(len(y), dtype=bool)
        tv = d.keys[1]
        if np.issubdtype(np.asarray(tv).dtype, np.integer):  # calendar years: t - 1 must exist
            step_ok = np.diff(np.asarray(tv, dtype=np.int64)) == 1
        else:  # other period labels: adjacent among the periods present in the data
            step_ok = tc[1:] == tc[:-1] + 1
        prev_ok[1:] = (uc[1:] == uc[:-1]) & step_ok
        cur = np.flatnonzero(prev_ok)
        if len(cur) == 0:
            raise GovstatsError("first differences need at least one unit observed in two consecutive periods")
        y = y[cur] - y[cur - 1]
        X = X[cur] - X[cur - 1]
        if d.has_intercept:
            X[:, names.index("Intercept")] = 1.0
        uc, tc = uc[cur], tc[cur]
        cluster_source = d.flat.iloc[cur].reset_index(drop=True)
        keys = (d.keys[0][cur], d.keys[1][cur])
        kind = "centered" if d.has_intercept else "uncentered"
    elif est == "random":
        from linearmodels.panel import RandomEffects

        if not d.has_intercept:
            raise GovstatsError("random effects needs an intercept in the formula (remove '0 +' / '- 1')")
        # linearmodels needs a numeric or datetime time level: use the integer codes
        lm_index = pd.MultiIndex.from_arrays([uc, tc], names=["unit", "time"])
        dep = pd.Series(y, index=lm_index, name=d.dependent)
        exog = pd.DataFrame(X, index=lm_index, columns=names)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lm = RandomEffects(dep, exog).fit()
        theta_obs = lm.theta.reindex(pd.Index(uc)).to_numpy().ravel()
        if theta_obs.shape[0] != len(y):  # theta per entity
            th = lm.theta.to_numpy().ravel()
            theta_obs = th[uc]
        ybar = _group_mean(uc, y, nu)[uc]
        Xbar = _group_mean(uc, X, nu)[uc]
        y = y - theta_obs * ybar
        X = X - theta_obs[:, None] * Xbar
        vdec = lm.variance_decomposition
        s2u, s2e = float(vdec["Effects"]), float(vdec["Residual"])
        vc = {
            "sigma2_u": s2u,
            "sigma2_e": s2e,
            "sigma_u": math.sqrt(max(s2u, 0.0)),
            "sigma_e": math.sqrt(s2e),
            "rho": s2u / (s2u + s2e),
            "theta": float(np.median(theta_obs)),
        }
        kind = "centered (quasi-demeaned data)"
    else:  # pragma: no cover - validated in PanelSpec
        raise AssertionError(est)

    b, bread, kept, dropped = _solve_ols(X, y, names)
    dropped_names = [names[j] for j in dropped]
    if dropped_names:
        warnings.warn(
            "collinear or constant after the transformation, dropped: " + ", ".join(dropped_names)
            + (" (time-invariant regressors are absorbed by unit fixed effects)" if est == "within" else ""),
            UserWarning,
            stacklevel=3,
        )
    X = X[:, kept]
    names = [names[j] for j in kept]
    if raw_X is not None:
        raw_X = raw_X[:, kept]
    resid = y - X @ b
    if kind.startswith("centered"):
        tss = float(((y - y.mean()) ** 2).sum())
    else:
        tss = float((y**2).sum())
    if est == "within":
        kind = "within R-squared (demeaned data)"
    return _Fit(
        y=y, X=X, names=names, b=b, bread=bread, resid=resid,
        unit_codes=np.asarray(uc), time_codes=np.asarray(tc), n_units=nu, n_times=nt,
        cluster_source=cluster_source, fes=fes, k_fe=k_fe, k_fe_fixest=k_fe_fixest,
        dropped_collinear=dropped_names, keys=keys, tss=tss, rsquared_kind=kind,
        variance_components=vc, raw_y=raw_y, raw_X=raw_X, theta=theta_obs,
    )


def _cluster_codes(f: _Fit, var: str) -> np.ndarray:
    if var == "unit":
        return f.unit_codes
    if var == "time":
        return f.time_codes
    codes, _ = pd.factorize(f.cluster_source[var], sort=True)
    return codes.astype(np.intp)


@dataclass
class _CovOut:
    V: np.ndarray
    df: int
    label: str
    n_clusters: int | tuple[int, ...] | None
    small_sample: dict[str, Any]


def _covariance(spec: PanelSpec, f: _Fit, *, small_sample: bool = True,
                unit_label: str = "unit", time_label: str = "time") -> _CovOut:
    X, e, bread = f.X, f.resid, f.bread
    N, k = X.shape
    k_full = k + f.k_fe
    cov = spec.cov
    if cov == "unadjusted":
        df = N - k_full
        if df <= 0:
            raise GovstatsError(f"no residual degrees of freedom (N = {N}, parameters = {k_full})")
        s2 = float(e @ e) / df
        return _CovOut(
            s2 * bread, df,
            f"unadjusted (homoskedastic): s^2 (X'X)^-1 with s^2 = RSS/(N-k-k_fe) = RSS/{df}",
            None, {"N": N, "K": k_full, "factor": 1.0 / df},
        )
    scores = X * e[:, None]
    if cov == "robust":
        df = N - k_full
        fac = N / df if small_sample else 1.0
        V = fac * bread @ (scores.T @ scores) @ bread
        return _CovOut(
            V, df,
            f"heteroskedasticity-robust HC1: factor N/(N-k-k_fe) = {N}/{df} (fixest 'hetero', Stata areg robust)"
            if small_sample else "heteroskedasticity-robust HC0 (no small-sample factor)",
            None, {"N": N, "K": k_full, "factor": fac},
        )
    if cov == "driscoll_kraay":
        T = f.n_times
        if T < 2:
            raise GovstatsError("Driscoll-Kraay standard errors need at least 2 periods")
        L = int(math.floor(T**0.25)) if spec.bandwidth is None else int(spec.bandwidth)
        h = _group_sum(f.time_codes, scores, T)
        S = h.T @ h
        for lag in range(1, L + 1):
            w = 1.0 - lag / (L + 1.0)
            G_l = h[lag:].T @ h[:-lag]
            S += w * (G_l + G_l.T)
        df_k = N - k_full
        fac = (T / (T - 1)) * ((N - 1) / df_k) if small_sample else 1.0
        V = fac * bread @ S @ bread
        return _CovOut(
            V, T - 1,
            f"Driscoll-Kraay (Bartlett kernel, {L} lag(s), T = {T} periods): factor "
            f"T/(T-1)*(N-1)/(N-k-k_fe) (fixest/pyfixest 'DK'); t with T-1 = {T - 1} df",
            None, {"N": N, "K": k_full, "T": T, "lags": L, "factor": fac},
        )
    # clustered
    vars_ = spec.cluster_vars
    codes_list = [_cluster_codes(f, v) for v in vars_]
    Gs = tuple(int(c.max()) + 1 for c in codes_list)
    # fixest "nested" K
    nested_levels = 0
    n_nested = 0
    for fe_codes, g in f.fes:
        if any(_is_nested(fe_codes, c) for c in codes_list):
            nested_levels += g
            n_nested += 1
    K = k + f.k_fe_fixest - nested_levels + n_nested if f.fes else k
    if cov == "cluster":
        c = codes_list[0]
        G = Gs[0]
        if G < 2:
            raise GovstatsError(f"clustering by {vars_[0]!r} needs at least 2 clusters, found {G}")
        sums = _group_sum(c, scores, G)
        meat = sums.T @ sums
        fac = (G / (G - 1)) * ((N - 1) / (N - K)) if small_sample else 1.0
        V = fac * bread @ meat @ bread
        name = {"unit": unit_label, "time": time_label}.get(vars_[0], vars_[0])
        label = (
            f"clustered by {name} (G={G}), CR1 small-sample factor G/(G-1)*(N-1)/(N-K) with "
            f"N={N}, K={K} (fixed effects nested in the clusters not counted), as Stata "
            f"xtreg,fe vce(cluster) / fixest default / R plm vcovHC type='sss'; t with G-1 = {G - 1} df"
            if small_sample else f"clustered by {name} (G={G}), CR0 (no small-sample factor, as plm vcovHC HC0)"
        )
        return _CovOut(V, G - 1, label, G, {"N": N, "K": K, "G": G, "factor": fac})
    # two-way
    c1, c2 = codes_list
    inter, _ = pd.factorize(pd.Series(c1.astype(np.int64) * (int(c2.max()) + 1) + c2))
    G12 = int(inter.max()) + 1
    Gmin = min(Gs)
    if Gmin < 2:
        raise GovstatsError(f"two-way clustering needs at least 2 clusters in each dimension, found {Gs}")
    fac = (Gmin / (Gmin - 1)) * ((N - 1) / (N - K)) if small_sample else 1.0
    meat = np.zeros((k, k))
    for codes, G, sign in ((c1, Gs[0], 1.0), (c2, Gs[1], 1.0), (inter, G12, -1.0)):
        sums = _group_sum(codes, scores, G)
        meat += sign * (sums.T @ sums)
    V = fac * bread @ meat @ bread
    names = [{"unit": unit_label, "time": time_label}.get(v, v) for v in vars_]
    label = (
        f"two-way clustered by {names[0]} (G={Gs[0]}) and {names[1]} (G={Gs[1]}), V1+V2-V12 each "
        f"scaled by Gmin/(Gmin-1)*(N-1)/(N-K) with Gmin={Gmin}, N={N}, K={K} (fixest default "
        f"cluster.df='min'); t with Gmin-1 = {Gmin - 1} df"
    )
    return _CovOut(V, Gmin - 1, label, Gs, {"N": N, "K": K, "G": Gs, "factor": fac})


# --------------------------------------------------------------------------- fit


def fit(spec: PanelSpec, data: pd.DataFrame) -> PanelResults:
    """Estimate ``spec`` on ``data`` and return read-only :class:`PanelResults`.

    Parameters
    ----------
    spec : PanelSpec
    data : DataFrame
        Indexed by a 2-level MultiIndex ``(unit, time)`` with one row per pair (the
        form :mod:`linearmodels` expects and :func:`govstats.panel.build_panel`
        returns). Variables of the formula (and a cluster column, if named) are
        columns. Rows with missing or non-finite values in them are not used; the
        count is in ``results.dropped_missing`` and in the summary.

    Returns
    -------
    PanelResults

    Raises
    ------
    DataValidationError
        Duplicate ``(unit, time)`` pairs (all of them listed).
    GovstatsError
        No MultiIndex, a formula that cannot be evaluated, too few clusters.

    Warns
    -----
    FewClustersWarning
        Clustered with fewer than ``spec.few_clusters`` clusters.

    Examples
    --------
    >>> from govstats import datasets
    >>> from govstats.models import PanelSpec, fit
    >>> crime = datasets.load_nc_crime()
    >>> r = fit(PanelSpec("lcrmrte ~ lprbarr + lpolpc", effects="twoway"), crime)
    >>> r.n_clusters, r.nobs
    (90, 630)
    """
    if not isinstance(spec, PanelSpec):
        raise TypeError("spec must be a govstats.models.PanelSpec")
    d = _design(spec, data)
    f = _transform(spec, d)
    cv = _covariance(spec, f, unit_label=d.unit_name, time_label=d.time_name)
    rss = float(f.resid @ f.resid)
    rsq = 1.0 - rss / f.tss if f.tss > 0 else float("nan")
    notes: list[str] = []
    boot = None
    g_min = None
    if cv.n_clusters is not None:
        g_min = min(cv.n_clusters) if isinstance(cv.n_clusters, tuple) else int(cv.n_clusters)
    if g_min is not None and g_min < spec.few_clusters:
        msg = (
            f"only {g_min} clusters (< {spec.few_clusters}): cluster-robust standard errors and "
            "t-tests over-reject with few clusters; "
        )
        if spec.bootstrap != "never":
            boot, boot_note = _run_bootstrap(spec, f, d)
            msg += boot_note
        else:
            msg += "the wild cluster bootstrap was switched off (bootstrap='never'); do not trust these p-values"
        notes.append(msg)
        warnings.warn(msg, FewClustersWarning, stacklevel=2)
    elif spec.bootstrap == "always" and cv.n_clusters is not None:
        boot, boot_note = _run_bootstrap(spec, f, d)
        notes.append(boot_note)
    if d.dropped_missing:
        notes.append(f"{d.dropped_missing} row(s) with missing or non-finite values were not used")
    if f.dropped_collinear:
        notes.append("dropped as collinear/constant: " + ", ".join(f.dropped_collinear))

    return PanelResults(
        spec=spec,
        dependent=d.dependent,
        param_names=tuple(f.names),
        _params=_readonly(f.b),
        _cov=_readonly((cv.V + cv.V.T) / 2),
        df_inference=int(cv.df),
        nobs=int(len(f.y)),
        n_entities=_n_distinct(f.unit_codes) if spec.estimator != "between" or spec.effects == "unit"
        else int(d.n_units_all),
        n_periods=_n_distinct(f.time_codes) if spec.estimator != "between" or spec.effects == "time"
        else int(d.n_times_all),
        n_clusters=cv.n_clusters,
        cov_label=cv.label,
        rsquared=float(rsq),
        rsquared_kind=f.rsquared_kind,
        rss=rss,
        df_resid=int(len(f.y) - f.X.shape[1] - f.k_fe),
        dropped_missing=int(d.dropped_missing),
        dropped_collinear=tuple(f.dropped_collinear),
        small_sample=MappingProxyType(dict(cv.small_sample)),
        variance_components=MappingProxyType(f.variance_components) if f.variance_components else None,
        bootstrap=boot,
        warnings=tuple(notes),
        unit_name=d.unit_name,
        time_name=d.time_name,
        simulated=bool(data.attrs.get("simulated", False)),
        _residuals=_readonly(f.resid),
        _fitted=_readonly(f.X @ f.b),
        _resid_keys=f.keys,
    )


def _n_distinct(codes: np.ndarray) -> int:
    return int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0


def _run_bootstrap(spec: PanelSpec, f: _Fit, d: _Design) -> tuple[tuple[Any, ...] | None, str]:
    try:
        from govstats.inference import wild_cluster_bootstrap
    except ImportError as exc:
        return None, (
            f"the wild cluster bootstrap could not run (govstats.inference not importable: {exc}); "
            "treat the clustered p-values with great caution"
        )
    vars_ = spec.cluster_vars
    codes = [_cluster_codes(f, v) for v in vars_]
    pick = int(np.argmin([c.max() for c in codes]))
    cluster = codes[pick]
    if spec.estimator == "within":
        y, X = f.raw_y, f.raw_X
        fe_codes = [c for c, _ in f.fes]
        fe = fe_codes[0] if len(fe_codes) == 1 else np.column_stack(fe_codes)
    else:
        y, X, fe = f.y, f.X, None
    Xdf = pd.DataFrame(X, columns=f.names)
    out = []
    for name in f.names:
        out.append(
            wild_cluster_bootstrap(
                y, Xdf, cluster, param=name, h0=0.0, B=spec.bootstrap_B,
                weights=spec.bootstrap_weights, seed=spec.seed, ci_level=spec.level, fe=fe,
            )
        )
    first = out[0] if out else None
    shown = {"unit": d.unit_name, "time": d.time_name}.get(vars_[pick], vars_[pick])
    how = (
        f"wild cluster restricted bootstrap p-values and CIs are shown beside them (clusters = "
        f"{shown}, G = {int(cluster.max()) + 1}, weights = {getattr(first, 'weights', '?')}, "
        f"B = {getattr(first, 'B', '?')}{', full enumeration' if getattr(first, 'enumerated', False) else ''}"
        f", seed = {spec.seed}"
    )
    if spec.estimator in ("random",):
        how += "; for random effects the bootstrap is conditional on the estimated theta"
    return tuple(out), how + ")"


# --------------------------------------------------------------------------- tests


def effects_f_test(formula: str, data: pd.DataFrame, *, effects: EffectsKind = "unit") -> SpecTestResult:
    """F test that the fixed effects are jointly zero (pooled OLS against within).

    ``F = ((RSS_pooled - RSS_within)/df1) / (RSS_within/df2)`` with ``df1`` the
    number of extra effect parameters and ``df2 = N - k - k_fe``; R plm ``pFtest``.

    Examples
    --------
    >>> from govstats import datasets
    >>> from govstats.models import effects_f_test
    >>> t = effects_f_test("invest ~ value + capital", datasets.load_grunfeld())
    >>> round(t.statistic, 3), t.df
    (49.177, (9, 188))
    """
    check_literal(effects, EffectsKind, "effects")
    if effects == "none":
        raise ValueError("effects='none' has no effects to test; choose 'unit', 'time' or 'twoway'")
    fe = fit(PanelSpec(formula, "within", effects, cov="unadjusted"), data)
    po = fit(PanelSpec(formula, "pooled", "none", cov="unadjusted"), data)
    if fe.nobs != po.nobs:
        raise GovstatsError("pooled and within fits used different rows")
    df2 = fe.df_inference
    df1 = po.df_inference - df2
    F = ((po.rss - fe.rss) / df1) / (fe.rss / df2)
    return SpecTestResult(
        name=f"F test for {_EFFECTS_LABEL[effects]} effects",
        statistic=float(F),
        df=(int(df1), int(df2)),
        pvalue=float(stats.f.sf(F, df1, df2)),
        distribution="F",
        note="H0: all effects are zero (pooled OLS is adequate); as R plm pFtest",
    )


def hausman_test(
    formula: str,
    data: pd.DataFrame,
    *,
    method: HausmanMethod = "classic",
    cov: Literal["unadjusted", "robust", "cluster"] = "unadjusted",
    cluster: str = "unit",
    small_sample: bool = True,
) -> SpecTestResult:
    """Hausman test of random against fixed (unit) effects.

    ``method="classic"``: ``(b_FE - b_RE)' [V_FE - V_RE]^-1 (b_FE - b_RE)`` on the
    common slopes, both covariances unadjusted (Hausman 1978; R plm ``phtest``
    default). It is only valid under the RE assumptions (homoskedastic, no serial
    correlation), so it only takes ``cov="unadjusted"``.

    ``method="aux"``: the regression-based (Mundlak / Wooldridge 2010, 10.7.3) form:
    regress the RE quasi-demeaned outcome on the quasi-demeaned regressors and
    the within-demeaned regressors and Wald-test the latter jointly; with
    ``cov="cluster"`` it is robust to heteroskedasticity and serial correlation
    (R plm ``phtest(method="aux", vcov=vcovHC)``; ``small_sample=False`` gives plm's
    default HC0 clustering, True the sss factor).

    Returns
    -------
    SpecTestResult
        chi-squared statistic with ``k`` df (number of time-varying slopes).

    Examples
    --------
    >>> from govstats import datasets
    >>> from govstats.models import hausman_test
    >>> g = datasets.load_grunfeld()
    >>> round(hausman_test("invest ~ value + capital", g).statistic, 4)
    2.3304
    """
    check_literal(method, HausmanMethod, "method")
    check_literal(cov, Literal["unadjusted", "robust", "cluster"], "cov")
    if method == "classic":
        if cov != "unadjusted":
            raise ValueError(
                "the classic Hausman test needs both models efficient under H0, so it only uses "
                "unadjusted covariances; use method='aux' with cov='cluster' for a robust test"
            )
        fe = fit(PanelSpec(formula, "within", "unit", cov="unadjusted"), data)
        re = fit(PanelSpec(formula, "random", "unit", cov="unadjusted"), data)
        common = [n for n in fe.param_names if n in re.param_names and n != "Intercept"]
        d = (fe.params[common] - re.params[common]).to_numpy()
        V = (fe.cov.loc[common, common] - re.cov.loc[common, common]).to_numpy()
        note = "H0: random effects consistent (RE and FE estimates differ only by chance); as R plm phtest"
        eig = np.linalg.eigvalsh(V)
        if eig.min() <= 0:
            stat = float(d @ np.linalg.pinv(V) @ d)
            note += "; V_FE - V_RE is not positive definite, a generalised inverse was used"
        else:
            stat = float(d @ np.linalg.solve(V, d))
        k = len(common)
        return SpecTestResult("Hausman test (classic)", stat, (k,), float(stats.chi2.sf(stat, k)), "chi2", note)

    # auxiliary regression
    # the RE design carries the cluster column (when clustering) for the covariance below
    spec_re = PanelSpec(formula, "random", "unit", cov=cov,
                        cluster=cluster if cov == "cluster" else None, bootstrap="never")
    d_ = _design(spec_re, data)
    f_re = _transform(spec_re, d_)
    spec_fe = PanelSpec(formula, "within", "unit", cov="unadjusted")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f_fe = _transform(spec_fe, _design(spec_fe, data))
    tilde_names = [n + "_within" for n in f_fe.names]
    Xaux = np.column_stack([f_re.X, f_fe.X])
    b, bread, kept, dropped = _solve_ols(Xaux, f_re.y, f_re.names + tilde_names)
    if dropped:
        raise GovstatsError("auxiliary Hausman regression is collinear; check the regressors")
    aux = _Fit(
        y=f_re.y, X=Xaux, names=f_re.names + tilde_names, b=b, bread=bread, resid=f_re.y - Xaux @ b,
        unit_codes=f_re.unit_codes, time_codes=f_re.time_codes, n_units=f_re.n_units,
        n_times=f_re.n_times, cluster_source=f_re.cluster_source, fes=[], k_fe=0, k_fe_fixest=0,
        dropped_collinear=[], keys=f_re.keys, tss=1.0, rsquared_kind="",
    )
    cspec = PanelSpec(formula, "pooled", "none", cov=cov, cluster=cluster if cov == "cluster" else None,
                      bootstrap="never")
    cv = _covariance(cspec, aux, small_sample=small_sample)
    sel = np.arange(len(f_re.names), Xaux.shape[1])
    g = b[sel]
    Vg = cv.V[np.ix_(sel, sel)]
    stat = float(g @ np.linalg.solve(Vg, g))
    k = len(sel)
    return SpecTestResult(
        "Hausman test (regression-based)",
        stat, (k,), float(stats.chi2.sf(stat, k)), "chi2",
        f"H0: coefficients on the within-demeaned regressors are zero; covariance: {cv.label}",
    )
