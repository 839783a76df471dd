"""Panel regressions: a formula, one frozen spec, one fit, one read-only results object.

``gs.fit("lcrmrte ~ lpolpc + lprbarr | county + year", crime, vcov={"CRV1": "county"})``
parses the formula into a frozen :class:`PanelSpec`, estimates it on a DataFrame indexed by
``(unit, time)`` and returns a :class:`PanelResults` that cannot be modified
(``.coef()``, ``.se()``, ``.tstat()``, ``.pvalue()``, ``.confint()``, ``.tidy()``,
``.summary()``, ``.vcov``). The vocabulary is pyfixest's (``docs/api.md``).
:func:`hausman_test` and :func:`effects_f_test` are the specification tests.

Formula
    ``y ~ x1 + x2 | fe1 + fe2`` (fixest syntax). The names after ``|`` are the data's index
    levels (``county + year``; ``unit`` and ``time`` also name them). The regressor part
    is formulaic syntax (``np.log(x)``, ``C(region)``, ``x1:x2``; ``0 +`` drops the
    intercept).

Estimators (``estimator=``; default ``"within"`` with a ``|`` part, else ``"pooled"``)
    ``"pooled"`` OLS; ``"within"`` fixed effects (one or both index levels, absorbed by
    :mod:`govstats.fixed_effects`); ``"random"`` unit effects (Swamy-Arora variance
    components exactly as R plm's ``random.method="swar"``, also on unbalanced panels:
    ``sigma2_e = RSS_within/(N-n-k)`` and ``sigma2_u = (q_B - (n-k-1) sigma2_e) /
    (N - tr[(Z_B'Z_B)^-1 Z_S'Z])`` with ``q_B`` the observation-weighted between residual
    sum of squares (plm's ``ercomp``); ``theta_i = 1 - sqrt(sigma2_e/(T_i sigma2_u +
    sigma2_e))``; Stata's ``xtreg, re`` equals it on balanced panels); ``"between"`` (OLS on
    unit or period means, unweighted, as plm); ``"first_difference"`` (differences between
    consecutive periods of a unit - for integer (year) periods, t and t - 1; for other
    labels, neighbours among the periods present; no difference across a gap; an
    intercept in the formula is kept, as in plm, and estimates a common trend).

Covariances (``vcov=``) and small-sample rules (``ssc=``)
    ``"iid"``, ``"hetero"``, ``{"CRV1": col}``, ``{"CRV3": col}``, ``{"CRV1": "a+b"}``
    (two-way), ``"DK"`` (Driscoll-Kraay). Default: clustered by the first fixed effect for
    ``"within"`` (pyfixest's default), ``"iid"`` otherwise (plm's). ``ssc="fixest"``
    (default), ``"plm"`` or ``"linearmodels"``: :mod:`govstats.covariance` gives each rule,
    and the printed label names the convention actually used.

Instrumental variables
    ``y ~ x | fe | endog1 + endog2 ~ z1 + z2`` (2SLS after the estimator's transformation;
    FE2SLS, B2SLS, G2SLS, EC2SLS). Every IV fit carries the first stage's Kleibergen-Paap
    (2006) rk LM and rk Wald F statistics under its ``vcov`` (:class:`KleibergenPaap`, as
    Stata's ``ivreg2``; Anderson LM / Cragg-Donald F with ``vcov="iid"``), shown in
    ``summary()``; :func:`first_stage`, :func:`anderson_rubin` and
    :func:`anderson_rubin_confint` are the other diagnostics.

Few clusters
    When the covariance is clustered and ``G`` is below ``few_clusters`` (default 30),
    :func:`fit` warns (:class:`FewClustersWarning`) and, unless ``bootstrap="never"``,
    runs :func:`govstats.inference.wild_cluster_bootstrap` (wild cluster restricted
    bootstrap, null imposed) for every coefficient; the bootstrap p-value and confidence
    interval are shown beside the clustered ones. For two-way clustering the bootstrap
    clusters on the dimension with fewer clusters.

Examples
--------
>>> import govstats as gs
>>> grunfeld = gs.datasets.load_grunfeld()
>>> res = gs.fit("invest ~ value + capital | firm", grunfeld, vcov="iid")
>>> res.coef().round(6).to_dict()
{'value': 0.110124, 'capital': 0.310065}
>>> res.se().round(6).to_dict()
{'value': 0.011857, 'capital': 0.017355}
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import scipy.linalg
from scipy import stats

from govstats import covariance as cv_
from govstats import fixed_effects as fx
from govstats._literals import (
    BootstrapMode,
    EstimatorKind,
    HausmanMethod,
    IVMethod,
    SmallSampleRule,
    WeightsKind,
    check_literal,
)
from govstats.covariance import Vcov, parse_vcov
from govstats.errors import DataValidationError, GovstatsError, Problem

__all__ = [
    "FewClustersWarning",
    "PanelResults",
    "PanelSpec",
    "SpecTestResult",
    "effects_f_test",
    "fit",
    "anderson_rubin",
    "anderson_rubin_confint",
    "first_stage",
    "hausman_test",
    "KleibergenPaap",
    "kleibergen_paap",
]

_N_FIXEF = {
    "pooled": (0,),
    "within": (1, 2),
    "random": (1,),
    "between": (1,),
    "first_difference": (0, 1),
}
_ESTIMATOR_LABEL = {
    "pooled": "Pooled OLS",
    "within": "Fixed effects (within)",
    "random": "Random effects (Swamy-Arora GLS)",
    "between": "Between",
    "first_difference": "First differences",
}


class FewClustersWarning(UserWarning):
    """Clustered standard errors with fewer clusters than ``few_clusters``."""


def _names(text: str, what: str, formula: str) -> tuple[str, ...]:
    out = tuple(t.strip() for t in text.split("+") if t.strip())
    if not out or not all(t.isidentifier() for t in out) or len(set(out)) != len(out):
        raise ValueError(f"formula={formula!r}: {what} must be column names joined by '+'")
    return out


def _split_formula(formula: str) -> tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """``y ~ x | fe1 + fe2 | endog ~ instruments`` -> (``y ~ x``, fixef, endog, instruments).

    pyfixest's three-part syntax; the fixed-effects part or the IV part may be left out
    (``y ~ x | endog ~ z`` is IV without fixed effects).
    """
    if not isinstance(formula, str) or "~" not in formula:
        raise ValueError(
            f"formula={formula!r} needs a '~' between the outcome and the regressors, "
            "e.g. 'lcrmrte ~ lprbarr + lpolpc | county + year'"
        )
    parts = [p.strip() for p in formula.split("|")]
    rhs = parts[0]
    fixef: tuple[str, ...] = ()
    endog: tuple[str, ...] = ()
    instruments: tuple[str, ...] = ()
    rest = parts[1:]
    if len(rest) > 2 or sum("~" in p for p in rest) > 1 or (len(rest) == 2 and "~" not in rest[1]):
        raise ValueError(
            f"formula={formula!r}: write 'y ~ x | fe1 + fe2', 'y ~ x | fe | endog ~ instruments' "
            "or 'y ~ x | endog ~ instruments' (pyfixest syntax)"
        )
    for part in rest:
        if "~" in part:
            lhs, _, rhs_iv = part.partition("~")
            endog = _names(lhs, "the endogenous regressors (left of '~' in the IV part)", formula)
            instruments = _names(rhs_iv, "the instruments (right of '~' in the IV part)", formula)
            if set(endog) & set(instruments):
                raise ValueError(f"formula={formula!r}: a variable cannot instrument itself")
        elif part not in ("", "0"):
            fixef = tuple(t.strip() for t in part.split("+"))
            if not all(t.isidentifier() for t in fixef) or len(set(fixef)) != len(fixef):
                raise ValueError(
                    f"formula={formula!r}: after '|' list the panel's index levels joined by '+', "
                    "e.g. '| county + year' (interactions such as a^b are not supported)"
                )
    return rhs, fixef, endog, instruments


# --------------------------------------------------------------------------- spec


@dataclass(frozen=True)
class PanelSpec:
    """Everything that defines one panel estimation; immutable. A formula parses into it.

    Parameters
    ----------
    formula : str
        ``"y ~ x1 + x2 | unit_level + time_level"`` (see the module notes).
    estimator : {"within", "pooled", "random", "between", "first_difference"}, optional
        Default ``"within"`` when the formula has a ``|`` part, else ``"pooled"``. Valid
        ``|`` parts: pooled - none; within - one or both index levels; random - the unit
        level; between - the unit or the time level; first_difference - none or the unit.
    vcov : str or dict, optional
        ``"iid"``, ``"hetero"``, ``{"CRV1": col}``, ``{"CRV3": col}``, ``{"CRV1": "a+b"}``,
        ``"DK"``. A cluster column may be an index level (or ``unit``/``time``) or a column
        of the data (e.g. the city of a district). Default: ``{"CRV1": <first fixed
        effect>}`` for ``"within"``, ``"iid"`` otherwise.
    vcov_kwargs : dict, optional
        ``{"lag": L}`` for Driscoll-Kraay (default ``floor(T ** 0.25)``).
    ssc : {"fixest", "plm", "linearmodels", "none"}
        Small-sample rule of the covariance (:mod:`govstats.covariance`).
    iv_method : {"g2sls", "ec2sls"}
        Random-effects instrumental variables: Balestra-Varadharajan-Krishnakumar G2SLS
        (R plm's default ``inst.method="bvk"``) or Baltagi's EC2SLS (``"baltagi"``).
    weights : str, optional
        Column of positive regression weights (analytic or population weights: weighted
        least squares, as pyfixest ``weights=`` and statsmodels WLS). Pooled and within
        estimators only.
    bootstrap : {"auto", "always", "never"}
        Wild cluster bootstrap: ``"auto"`` runs it when clustered with fewer than
        ``few_clusters`` clusters.
    reps : int, default 9999
        Bootstrap draws.
    weights_type : {"auto", "rademacher", "webb", "mammen", "norm"}
        Bootstrap weight distribution.
    seed : int or None, default 0
    few_clusters : int, default 30
    alpha : float, default 0.05
        ``1 - alpha`` confidence intervals.

    Examples
    --------
    >>> from govstats.models import PanelSpec
    >>> PanelSpec("lcrmrte ~ lprbarr + lpolpc | county + year").describe()
    'lcrmrte ~ lprbarr + lpolpc | county + year: Fixed effects (within), vcov CRV1 by county'
    """

    formula: str
    estimator: EstimatorKind | None = None
    vcov: Any = None
    vcov_kwargs: Mapping[str, Any] | None = None
    ssc: SmallSampleRule = "fixest"
    weights: str | None = None
    bootstrap: BootstrapMode = "auto"
    reps: int = 9999
    weights_type: WeightsKind = "auto"
    seed: int | None = 0
    few_clusters: int = 30
    alpha: float = 0.05
    iv_method: IVMethod = "g2sls"
    regressors: str = field(init=False, repr=False, compare=False)
    fixef: tuple[str, ...] = field(init=False, repr=False, compare=False)
    endog: tuple[str, ...] = field(init=False, repr=False, compare=False)
    instruments: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rhs, fixef, endog, instruments = _split_formula(self.formula)
        object.__setattr__(self, "regressors", rhs)
        object.__setattr__(self, "fixef", fixef)
        object.__setattr__(self, "endog", endog)
        object.__setattr__(self, "instruments", instruments)
        check_literal(self.iv_method, IVMethod, "iv_method")
        est = self.estimator if self.estimator is not None else ("within" if fixef else "pooled")
        check_literal(est, EstimatorKind, "estimator")
        object.__setattr__(self, "estimator", est)
        if len(fixef) not in _N_FIXEF[est]:
            need = {
                "pooled": "no '|' part",
                "within": "'| unit' , '| time' or '| unit + time' (the index levels)",
                "random": "the unit level after '|', e.g. '| county'",
                "between": "one index level after '|' (unit or time means)",
                "first_difference": "no '|' part or the unit level",
            }[est]
            raise ValueError(f"estimator={est!r} takes {need}; formula={self.formula!r}")
        if self.vcov is None:
            vc = Vcov("CRV1", (fixef[0],)) if est == "within" else Vcov("iid")
            if self.vcov_kwargs:
                vc = parse_vcov(vc.as_option(), self.vcov_kwargs)
        elif isinstance(self.vcov, Vcov):
            vc = self.vcov
        else:
            vc = parse_vcov(self.vcov, self.vcov_kwargs)
        object.__setattr__(self, "vcov", vc)
        check_literal(self.ssc, SmallSampleRule, "ssc")
        check_literal(self.bootstrap, BootstrapMode, "bootstrap")
        check_literal(self.weights_type, WeightsKind, "weights_type")
        if est == "between" and vc.kind in ("DK", "CRV3") or (est == "between" and len(vc.cluster) > 1):
            raise ValueError(
                f"vcov={vc.as_option()!r} does not go with estimator='between' (one observation per "
                "group); use 'iid', 'hetero' or {'CRV1': col}"
            )
        if endog:
            if len(instruments) < len(endog):
                raise ValueError(
                    f"formula={self.formula!r}: {len(endog)} endogenous regressor(s) "
                    f"({', '.join(endog)}) need at least as many instruments; found "
                    f"{len(instruments)} ({', '.join(instruments)}). Add excluded instruments after '~'"
                )
            if est == "first_difference":
                raise ValueError("instrumental variables are not offered with estimator='first_difference'")
            if vc.kind == "CRV3":
                raise ValueError("vcov CRV3 is not offered with instrumental variables; use CRV1")
        if self.weights is not None:
            if not isinstance(self.weights, str) or not self.weights:
                raise ValueError(f"weights={self.weights!r} must be a column name")
            if est not in ("pooled", "within"):
                raise ValueError(
                    f"weights are supported with estimator='pooled' or 'within', not {est!r}"
                )
        if not isinstance(self.reps, int | np.integer) or self.reps < 19:
            raise ValueError(f"reps={self.reps!r} must be an integer >= 19")
        if not isinstance(self.few_clusters, int | np.integer) or self.few_clusters < 2:
            raise ValueError(f"few_clusters={self.few_clusters!r} must be an integer >= 2")
        if not 0 < float(self.alpha) <= 0.5:
            raise ValueError(f"alpha={self.alpha!r} must be in (0, 0.5]; 0.05 gives 95% intervals")

    @classmethod
    def from_formula(cls, formula: str, **options: Any) -> PanelSpec:
        """The spec a formula and keyword options parse into (what :func:`fit` does)."""
        return cls(formula, **options)

    @property
    def cluster_vars(self) -> tuple[str, ...]:
        """Cluster variables (empty if not clustered)."""
        return self.vcov.cluster

    def describe(self) -> str:
        """One line: formula: estimator, covariance."""
        return f"{self.formula}: {_ESTIMATOR_LABEL[self.estimator]}, vcov {self.vcov.label_short}"


# --------------------------------------------------------------------------- results


def _readonly(a: np.ndarray) -> np.ndarray:
    a = np.array(a, dtype=float, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, repr=False)
class PanelResults:
    """Read-only results of :func:`fit`.

    Attributes cannot be reassigned and the arrays behind them are not writeable;
    ``coef()``, ``se()`` etc. return new pandas objects on every call, so changing one
    changes nothing here.

    Methods (pyfixest's names): ``coef()``, ``se()``, ``tstat()``, ``pvalue()``,
    ``confint(alpha=None)``, ``tidy()``, ``summary()``, ``resid()``, ``fitted()``; property
    ``vcov``. Attributes: ``nobs``, ``n_entities``, ``n_periods``, ``n_clusters``,
    ``cov_label`` (the exact covariance convention), ``rsquared``, ``bootstrap`` (one
    :class:`govstats.inference.BootstrapResult` per coefficient, or ``None``),
    ``warnings``, ``simulated`` (True when the data carried ``attrs["simulated"] = True``,
    as :mod:`govstats.simulate` output does; summaries, tables and plots then say
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
    effects: tuple[str, ...]  # index levels whose effects the estimator handled
    cluster_names: tuple[str, ...]
    simulated: bool
    wre: Any  # IV with few clusters: govstats.wre.WREResult for the endogenous coefficient, or None
    _residuals: np.ndarray = field(repr=False)
    _fitted: np.ndarray = field(repr=False)
    _resid_keys: tuple[np.ndarray, np.ndarray] = field(repr=False)
    #: IV: the Kleibergen-Paap rk statistics of the first stage (:class:`KleibergenPaap`), else None
    kleibergen_paap: Any = None

    # -- numbers (pyfixest names)
    def coef(self) -> pd.Series:
        """Estimated coefficients."""
        return pd.Series(self._params, index=list(self.param_names), name="Estimate", copy=True)

    @property
    def vcov(self) -> pd.DataFrame:
        """Covariance matrix of the coefficients (convention: ``cov_label``)."""
        names = list(self.param_names)
        return pd.DataFrame(self._cov, index=names, columns=names, copy=True)

    def se(self) -> pd.Series:
        """Standard errors (square roots of the diagonal of ``vcov``)."""
        return pd.Series(np.sqrt(np.diag(self._cov)), index=list(self.param_names), name="Std. Error")

    def tstat(self) -> pd.Series:
        """t statistics for H0: coefficient = 0."""
        return pd.Series(self._params / np.sqrt(np.diag(self._cov)), index=list(self.param_names),
                         name="t value")

    def pvalue(self) -> pd.Series:
        """Two-sided p-values, Student t with ``df_inference`` degrees of freedom."""
        t = self._params / np.sqrt(np.diag(self._cov))
        return pd.Series(2 * stats.t.sf(np.abs(t), self.df_inference), index=list(self.param_names),
                         name="Pr(>|t|)")

    def confint(self, alpha: float | None = None) -> pd.DataFrame:
        """``1 - alpha`` confidence intervals (t with ``df_inference`` df)."""
        alpha = self.spec.alpha if alpha is None else alpha
        q = stats.t.ppf(1 - alpha / 2, self.df_inference)
        se = np.sqrt(np.diag(self._cov))
        lo, hi = f"{100 * alpha / 2:g}%", f"{100 * (1 - alpha / 2):g}%"
        return pd.DataFrame({lo: self._params - q * se, hi: self._params + q * se},
                            index=list(self.param_names))

    def resid(self) -> pd.Series:
        """Residuals of the estimated (transformed) equation, indexed by (unit, time)."""
        return pd.Series(self._residuals, index=self._key_index(), name="residual", copy=True)

    def fitted(self) -> pd.Series:
        """Fitted values of the transformed equation (``X b``), indexed by (unit, time)."""
        return pd.Series(self._fitted, index=self._key_index(), name="fitted", copy=True)

    def _key_index(self) -> pd.MultiIndex:
        return pd.MultiIndex.from_arrays(list(self._resid_keys), names=[self.unit_name, self.time_name])

    @property
    def estimator_label(self) -> str:
        return _ESTIMATOR_LABEL[self.spec.estimator]

    @property
    def effects_label(self) -> str:
        return " + ".join(self.effects) if self.effects else "none"

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

    def tidy(self, alpha: float | None = None) -> pd.DataFrame:
        """One row per coefficient: estimate, SE, t, p, CI, and bootstrap p/CI if run.

        Columns as pyfixest's ``tidy()``: ``Estimate``, ``Std. Error``, ``t value``,
        ``Pr(>|t|)``, the two interval bounds; then ``boot p`` and the bootstrap interval.
        """
        ci = self.confint(alpha)
        out = pd.concat([self.coef(), self.se(), self.tstat(), self.pvalue(), ci], axis=1)
        out.index.name = "Coefficient"
        if self.bootstrap:
            out["boot p"] = [b.p_value for b in self.bootstrap]
            out["boot ci lower"] = [b.ci_low for b in self.bootstrap]
            out["boot ci upper"] = [b.ci_high for b in self.bootstrap]
        return out

    def wald_test(self, terms: list[str] | tuple[str, ...]) -> SpecTestResult:
        """Joint Wald test that the coefficients ``terms`` are zero, with this model's ``vcov``.

        ``F = b' V^-1 b / q`` with ``F(q, df_inference)`` p-value (pyfixest ``wald_test``'s
        F form).
        """
        missing = [t for t in terms if t not in self.param_names]
        if missing or not terms:
            raise GovstatsError(
                f"wald_test: {', '.join(map(repr, missing)) or 'no terms'} not among the coefficients "
                f"({', '.join(self.param_names)})"
            )
        idx = [self.param_names.index(t) for t in terms]
        b = self._params[idx]
        V = self._cov[np.ix_(idx, idx)]
        q = len(idx)
        F = float(b @ np.linalg.solve(V, b)) / q
        return SpecTestResult(
            f"Wald test: {' = '.join(terms)} = 0", F, (q, self.df_inference),
            float(stats.f.sf(F, q, self.df_inference)), "F", f"covariance: {self.se_type}",
        )

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
            lines.append("Variance components: " + ", ".join(
                f"{k} = {v:.6g}" if np.isscalar(v) else f"{k} = {v.min():.6g} to {v.max():.6g} (by unit)"
                for k, v in vc.items()))
        if self.dropped_collinear:
            lines.append("Dropped (collinear): " + ", ".join(self.dropped_collinear))
        lines.append("-" * 72)
        with pd.option_context("display.width", 200, "display.max_columns", 20):
            lines.append(self.tidy().to_string(float_format=lambda v: f"{v:.6g}"))
        lines.append("-" * 72)
        if self.kleibergen_paap is not None:
            lines.append("First stage:  " + self.kleibergen_paap.line())
        for w in self.warnings:
            lines.append("WARNING: " + w)
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        table = self.tidy().to_html(float_format=lambda v: f"{v:.6g}", border=0)
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
        if self.kleibergen_paap is not None:
            table += "First stage: " + html.escape(self.kleibergen_paap.line())
        warn = "".join(
            f'<div style="color:#a00;font-weight:bold">WARNING: {html.escape(w)}</div>'
            for w in self.warnings
        )
        return f"<div>{head}{table}{warn}</div>"

    # -- maketables plug-in format (govstats.tables uses it)
    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:
        ci = self.confint(0.05)
        out = pd.DataFrame(
            {
                "b": self._params,
                "se": self.se().to_numpy(),
                "t": self.tstat().to_numpy(),
                "p": self.pvalue().to_numpy(),
                "ci95l": ci.iloc[:, 0].to_numpy(),
                "ci95u": ci.iloc[:, 1].to_numpy(),
            },
            index=pd.Index(list(self.param_names), name="Coefficient"),
        )
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
        return {"vcov_type": self.se_type, "clustervar": ", ".join(self.cluster_names) or None}

    @property
    def __maketables_fixef_string__(self) -> str | None:
        if self.spec.estimator != "within":
            return None
        return "+".join(self.effects)

    @property
    def se_type(self) -> str:
        """Short standard-error type for tables ("CRV1 by county", "HC1", ...)."""
        vc = self.spec.vcov
        if not vc.cluster:
            return vc.label_short
        return f"{vc.kind} by " + " & ".join(self.cluster_names)


@dataclass(frozen=True)
class SpecTestResult:
    """A specification test: statistic, degrees of freedom, p-value, and what it is."""

    name: str
    statistic: float
    df: tuple[int, ...]
    pvalue: float
    distribution: str
    note: str = ""
    positive_definite: bool | None = None  # classic Hausman: was V_FE - V_RE positive definite?

    def __str__(self) -> str:
        df = ", ".join(str(d) for d in self.df)
        return (
            f"{self.name}: {self.distribution}({df}) = {self.statistic:.6g}, p = {self.pvalue:.4g}"
            + (f". {self.note}" if self.note else "")
        )


@dataclass(frozen=True)
class KleibergenPaap:
    """Kleibergen-Paap (2006) rk statistics of an IV model's first stage, as Stata's ``ivreg2``.

    ``lm``: the rk LM test of underidentification (H0: the first-stage coefficients of the
    excluded instruments have rank ``m - 1`` < ``m``, the model is not identified),
    ``chi2(lm_df)`` with ``lm_df = L - m + 1`` (``L`` excluded instruments, ``m`` endogenous
    regressors) and p-value ``lm_pvalue``. ``f``: the rk Wald F statistic of weak
    identification (no p-value; compare with Stock-Yogo values only as a rule of thumb).
    Both use the fit's ``vcov``; with ``vcov="iid"`` they are Anderson's canonical-correlation
    LM statistic ``N r_min^2`` and the Cragg-Donald F ``(N - K)/L r_min^2/(1 - r_min^2)``
    (``r_min`` the smallest partial canonical correlation), which is what ``ivreg2`` prints
    then. ``f`` is the rk Wald statistic divided by ``L`` and by the small-sample factor of
    the first-stage regression's covariance under the fit's ``ssc`` (``f_rule``), so with one
    endogenous regressor it equals the first-stage F of :func:`first_stage`.
    """

    lm: float
    lm_df: int
    lm_pvalue: float
    wald: float  # rk Wald chi2 (no small-sample factor)
    f: float
    r2_min: float  # smallest squared partial canonical correlation
    n_endog: int
    n_instruments: int  # excluded instruments after partialling out (L)
    vcov: str
    f_rule: str
    notes: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        if self.vcov == "iid":
            return "Anderson canon. corr. LM / Cragg-Donald Wald F"
        return "Kleibergen-Paap rk LM / rk Wald F"

    def line(self) -> str:
        """One line for summaries."""
        if self.vcov == "iid":
            text = (f"Anderson canon. corr. LM (underidentification) = {self.lm:.4g}, chi2({self.lm_df}) "
                    f"p = {self.lm_pvalue:.4g}; Cragg-Donald Wald F (weak identification) = {self.f:.4g}")
        else:
            text = (f"Kleibergen-Paap rk LM (underidentification) = {self.lm:.4g}, chi2({self.lm_df}) "
                    f"p = {self.lm_pvalue:.4g}; rk Wald F (weak identification) = {self.f:.4g} "
                    f"[{self.vcov}]")
        return text + "".join(f"; {n}" for n in self.notes)

    def __str__(self) -> str:
        return self.line()


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
    effects: str  # "none", "unit", "time", "twoway"
    cluster_keys: tuple[str, ...]  # "unit", "time" or a column name, per cluster variable
    w: np.ndarray | None = None  # regression weights of the rows used
    Z: np.ndarray | None = None  # IV: exogenous regressors then excluded instruments (X's rows)
    n_endog: int = 0  # IV: the last n_endog columns of X are endogenous


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


def _level_key(name: str, unit_name: str, time_name: str) -> str | None:
    if name in (unit_name, "unit"):
        return "unit"
    if name in (time_name, "time"):
        return "time"
    return None


def _resolve(spec: PanelSpec, unit_name: str, time_name: str, columns: pd.Index) -> tuple[str, tuple[str, ...]]:
    """Effects handled ("none"/"unit"/"time"/"twoway") and cluster keys, from the index names."""
    keys = []
    for fe in spec.fixef:
        k = _level_key(fe, unit_name, time_name)
        if k is None:
            raise GovstatsError(
                f"fixed effect {fe!r} in {spec.formula!r} is not an index level of the data (unit level "
                f"{unit_name!r}, time level {time_name!r}); govstats absorbs the panel's unit and time "
                f"effects - for other categories add C({fe}) to the regressors"
            )
        keys.append(k)
    effects = {(): "none", ("unit",): "unit", ("time",): "time"}.get(tuple(keys), "twoway")
    if spec.estimator in ("random", "first_difference") and keys not in ([], ["unit"]):
        raise GovstatsError(
            f"estimator={spec.estimator!r} handles unit effects: write '| {unit_name}' "
            f"(the unit level), not '| {' + '.join(spec.fixef)}'"
        )
    clusters = []
    for var in spec.cluster_vars:
        k = _level_key(var, unit_name, time_name)
        if k is None and var not in columns:
            raise GovstatsError(
                f"cluster variable {var!r} is neither an index level ({unit_name!r}, {time_name!r}) "
                f"nor a column of the data (columns: {', '.join(map(str, columns))})"
            )
        clusters.append(k or var)
    if spec.estimator == "between":
        other = "time" if effects == "unit" else "unit"
        if other in clusters:
            raise GovstatsError(
                f"between estimation on {effects} means cannot cluster by the {other} level; cluster "
                f"by the {effects} level or by a column that is constant within each {effects}"
            )
    return effects, tuple(clusters)


def _check_weights(data: pd.DataFrame, column: str, rows: np.ndarray) -> np.ndarray:
    """Weights of ``rows``: every one present, finite and positive, or all problems at once."""
    if column not in data.columns:
        raise GovstatsError(
            f"weights column {column!r} is not a column of the data "
            f"(columns: {', '.join(map(str, data.columns))})"
        )
    raw = data[column].iloc[rows]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isfinite(values) | (values <= 0)
    if bad.any():
        problems = [
            Problem(
                "regression weight is missing, not a number, zero or negative"
                if not np.isfinite(values[i]) else f"regression weight {values[i]:g} is not positive",
                row=int(rows[i]) + 2,
                column=column,
                value=raw.iloc[i],
                hint="weights must be positive numbers (e.g. populations); drop or fix these rows "
                "before fitting (row = position + 2, as if the frame were written to CSV)",
            )
            for i in np.flatnonzero(bad)
        ]
        raise DataValidationError(problems, what=f"weights column {column!r}")
    return values


def _design(spec: PanelSpec, data: pd.DataFrame) -> _Design:
    unit_name, time_name = _panel_index_names(data)
    _check_unique_index(data, "panel data passed to fit")
    n_in = len(data)
    effects, cluster_keys = _resolve(spec, unit_name, time_name, data.columns)
    cluster_cols = [v for v in cluster_keys if v not in ("unit", "time")]
    simple = _simple_terms(spec.regressors, data.columns)
    dtypes = data.dtypes
    if simple is not None and all(
        pd.api.types.is_numeric_dtype(dtypes[c]) and not pd.api.types.is_bool_dtype(dtypes[c])
        for c in (simple[0], *simple[1])
    ):
        # fast path (plain column names): what formulaic would build, without its overhead
        dependent, terms, intercept = simple
        if not data.index.is_monotonic_increasing:
            data = data[list(dict.fromkeys([dependent, *terms, *cluster_cols, *spec.endog, *spec.instruments,
                                            *([spec.weights] if spec.weights else [])]))].sort_index()
        block = data[[dependent, *terms]].to_numpy(dtype=float, na_value=np.nan)
        y = block[:, 0]
        X = np.empty((n_in, len(terms) + intercept))
        if intercept:
            X[:, 0] = 1.0
        X[:, intercept:] = block[:, 1:]
        names = ["Intercept", *terms] if intercept else list(terms)
        rows = np.arange(n_in)
    else:
        from formulaic import Formula, model_matrix

        try:
            needed = [v for v in Formula(spec.regressors).required_variables if v in data.columns]
        except Exception:  # let model_matrix report the error
            needed = list(data.columns)
        needed = list(dict.fromkeys([*needed, *cluster_cols, *spec.endog, *spec.instruments,
                                     *([spec.weights] if spec.weights else [])]))
        data = data[needed].sort_index()
        flat = data.reset_index()
        try:
            mm = model_matrix(spec.regressors, flat, na_action="drop")
        except Exception as exc:  # formulaic raises many types; give one clear message
            raise GovstatsError(
                f"could not evaluate formula {spec.regressors!r} on the data: {exc}. "
                f"Columns available: {', '.join(map(str, flat.columns))}"
            ) from exc
        lhs, rhs = mm.lhs, mm.rhs
        if lhs.shape[1] != 1:
            raise GovstatsError(f"formula {spec.regressors!r} must have exactly one outcome on the left")
        dependent = str(lhs.columns[0])
        names = [str(c) for c in rhs.columns]
        y = lhs.to_numpy(dtype=float).ravel()
        X = rhs.to_numpy(dtype=float)
        rows = np.asarray(rhs.index)
    w = None
    if spec.weights is not None:
        w = _check_weights(data, spec.weights, rows)
    Zi = None
    if spec.endog:
        absent = [c for c in (*spec.endog, *spec.instruments) if c not in data.columns]
        if absent:
            raise GovstatsError(
                f"IV variable(s) {', '.join(map(repr, absent))} of {spec.formula!r} are not columns of the data"
            )
        clash = [c for c in spec.endog if c in names]
        if clash:
            raise GovstatsError(
                f"{', '.join(clash)} is both an exogenous regressor and endogenous in {spec.formula!r}; "
                "list it only after '|' on the left of the IV part"
            )
        E = data[list(spec.endog)].iloc[rows].to_numpy(dtype=float, na_value=np.nan)
        Zi = data[list(spec.instruments)].iloc[rows].to_numpy(dtype=float, na_value=np.nan)
        Zi = np.column_stack([X, Zi])
        X = np.column_stack([X, E])
        names = [*names, *spec.endog]
    keep = np.isfinite(y) & np.isfinite(X).all(axis=1)
    if Zi is not None:
        keep &= np.isfinite(Zi).all(axis=1)
    for var in cluster_cols:
        keep &= data[var].iloc[rows].notna().to_numpy()
    if not keep.all():
        y, X, rows = y[keep], X[keep], rows[keep]
        w = w[keep] if w is not None else None
        Zi = Zi[keep] if Zi is not None else None
    dropped = n_in - len(rows)
    if len(rows) == 0:
        raise GovstatsError(f"no complete rows for formula {spec.regressors!r}")
    if dropped:
        warnings.warn(
            f"{dropped} of {n_in} rows have missing or non-finite values in the variables of "
            f"{spec.regressors!r} and are not used (results.dropped_missing)",
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
        effects=effects,
        cluster_keys=cluster_keys,
        w=w,
        Z=Zi,
        n_endog=len(spec.endog),
    )


# --------------------------------------------------------------------------- algebra


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
        # in column order, as R's lm: a column is dropped when it is a linear combination of
        # the columns before it (|R_jj| of the unpivoted QR is its part orthogonal to them)
        Xs = X[:, cand] / norms[cand]
        R = scipy.linalg.qr(Xs, mode="r")[0]
        d = np.abs(np.diag(R))
        ok = d > rel_tol * max(float(d.max()), 1e-300)
        dropped += [cand[j] for j in np.flatnonzero(~ok)]
        kept = [cand[j] for j in np.flatnonzero(ok)]
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
    fes: list[np.ndarray]  # codes of the absorbed FEs (within only)
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
    w: np.ndarray | None = None  # regression weights (y, X, resid above are scaled by sqrt(w))
    iv_X: np.ndarray | None = None  # IV: the structural regressors (X above is their projection)
    iv_W: np.ndarray | None = None  # IV: all instruments, transformed


def _project(Z: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Fitted values of the columns of ``X`` regressed on ``Z`` (the first stage of 2SLS)."""
    return Z @ np.linalg.lstsq(Z, X, rcond=None)[0]


def _varying(M: np.ndarray, raw: np.ndarray) -> np.ndarray:
    """Columns of a transformed matrix that are not (numerically) zero."""
    return np.sqrt((M**2).sum(axis=0)) > 1e-9 * np.maximum(1.0, np.sqrt((raw**2).sum(axis=0)))


def _swamy_arora(y: np.ndarray, X: np.ndarray, uc: np.ndarray, n: int,
                 Z: np.ndarray | None = None) -> tuple[dict[str, float], np.ndarray]:
    """Swamy-Arora variance components and per-observation theta, as R plm's ``ercomp`` (swar).

    ``X`` includes the intercept column. ``sigma2_e = RSS_within / (N - n - K_w)`` (``K_w``
    time-varying regressors). ``sigma2_u = (q_B - (n - K - 1) sigma2_e) / (N - tr[(Z_B'Z_B)^-1
    Z_S'Z])``, where the between regression is fitted on unit means repeated ``T_i`` times
    (plm's "Between"), ``q_B = sum_i T_i ebar_i^2`` from its residuals, ``Z_B'Z_B = sum_i T_i
    zbar_i zbar_i'`` and ``Z_S'Z = sum_i T_i^2 zbar_i zbar_i'``; on a balanced panel the
    denominator is ``T (n - K - 1)``, the textbook formula. A negative ``sigma2_u`` is set
    to 0 (as plm). With instruments ``Z`` both auxiliary regressions are 2SLS (plm's ``ercomp``
    for a model with instruments) and the residuals are ``y - X b``.
    """
    N = len(y)
    Ti = np.bincount(uc, minlength=n).astype(float)
    # within
    Xw = fx.demean(X, [uc])
    Xw = Xw[:, _varying(Xw, X)]
    yw = fx.demean(y, [uc])
    if Z is not None:
        Zw = fx.demean(Z, [uc])
        Zw = Zw[:, _varying(Zw, Z)]
        bw = np.linalg.lstsq(_project(Zw, Xw), yw, rcond=None)[0]
    else:
        bw = np.linalg.lstsq(Xw, yw, rcond=None)[0] if Xw.shape[1] else np.zeros(0)
    rss_w = float(((yw - Xw @ bw) ** 2).sum())
    dfw = N - n - Xw.shape[1]
    if dfw <= 0:
        raise GovstatsError("random effects: no residual degrees of freedom in the within regression")
    s2e = rss_w / dfw
    # between on means, weighted by T_i
    zbar = fx.group_mean(uc, X, n)
    ybar = fx.group_mean(uc, y, n)
    sw = np.sqrt(Ti)
    # the between regression keeps a maximal set of independent columns (time dummies, for one,
    # are constant in the unit means); K counts them, as plm's between model does
    _, R, piv = scipy.linalg.qr(zbar * sw[:, None], mode="economic", pivoting=True)
    dR = np.abs(np.diag(R))
    cols = np.sort(piv[: int((dR > 1e-9 * dR[0]).sum())])
    X, zbar = X[:, cols], zbar[:, cols]
    K = len(cols) - 1
    XB = zbar * sw[:, None]
    if Z is not None:
        XB = _project(fx.group_mean(uc, Z, n) * sw[:, None], XB)
    bB = np.linalg.lstsq(XB, ybar * sw, rcond=None)[0]
    ebar = fx.group_mean(uc, y - X @ bB, n)
    qB = float((Ti * ebar**2).sum())
    ZB = (zbar * Ti[:, None]).T @ zbar
    ZS = (zbar * (Ti**2)[:, None]).T @ zbar
    denom = N - float(np.trace(np.linalg.solve(ZB, ZS)))
    s2u = max((qB - (n - K - 1) * s2e) / denom, 0.0)
    theta_i = 1.0 - np.sqrt(s2e / (Ti * s2u + s2e))
    theta_obs = theta_i[uc]
    balanced = bool(np.all(Ti == Ti[0]))
    vc = {
        "sigma2_u": s2u,
        "sigma2_e": s2e,
        "sigma_u": math.sqrt(s2u),
        "sigma_e": math.sqrt(s2e),
        "rho": s2u / (s2u + s2e),
        # one theta on a balanced panel; on an unbalanced one theta_i by unit (set by the caller)
        "theta": float(theta_i[0]) if balanced else theta_i,
    }
    return vc, theta_obs


def _check_instruments(spec: PanelSpec, Z: np.ndarray, X: np.ndarray) -> None:
    """After the transformation the instruments must still identify the regressors (rank X_hat = rank X)."""
    r_x = np.linalg.matrix_rank(X)
    r_hat = np.linalg.matrix_rank(_project(Z, X))
    if r_hat < r_x:
        what = {"within": "absorbed by (collinear with) the fixed effects",
                "between": "constant across the groups", "random": "collinear",
                "pooled": "collinear"}[spec.estimator]
        raise GovstatsError(
            f"the instruments of {spec.formula!r} do not identify the model: after the "
            f"{spec.estimator} transformation the first-stage fitted values have rank {r_hat} < {r_x}, "
            f"so the excluded instruments ({', '.join(spec.instruments)}) are {what} or too few. "
            "Use instruments that still vary after the transformation (with fixed effects: within "
            "units, and within periods when there are time effects) or add instruments"
        )


def _transform(spec: PanelSpec, d: _Design) -> _Fit:
    est, eff = spec.estimator, d.effects
    y, X, names = d.y, d.X, list(d.names)
    uc, tc = d.unit_codes, d.time_codes
    nu = int(uc.max()) + 1
    nt = int(tc.max()) + 1
    cluster_source = d.flat
    keys = d.keys
    fes: list[np.ndarray] = []
    k_fe = k_fe_fixest = 0
    raw_y = raw_X = None
    vc = None
    theta_obs = None
    Zr = d.Z  # IV: instruments, transformed alongside X

    if est == "within":
        if d.has_intercept:
            j = names.index("Intercept")
            X = np.delete(X, j, axis=1)
            Zr = np.delete(Zr, j, axis=1) if Zr is not None else None
            names.pop(j)
        if eff in ("unit", "twoway"):
            fes.append(uc)
        if eff in ("time", "twoway"):
            fes.append(tc)
        raw_y, raw_X = y, X
        balanced = len(y) == nu * nt  # (unit, time) pairs are unique, so this is a full grid
        Z = fx.demean(np.column_stack([y, X] + ([Zr] if Zr is not None else [])), fes,
                      balanced=balanced, weights=d.w)
        y, X = Z[:, 0], Z[:, 1:1 + X.shape[1]]
        if Zr is not None:
            Zr = Z[:, 1 + X.shape[1]:]
        k_fe, k_fe_fixest = fx.k_fixed_effects(fes, balanced=balanced)
        kind = "within"
    elif est == "pooled":
        kind = "centered" if d.has_intercept else "uncentered"
    elif est == "between":
        codes, g = (uc, nu) if eff == "unit" else (tc, nt)
        y = fx.group_mean(codes, y, g)
        X = fx.group_mean(codes, X, g)
        Zr = fx.group_mean(codes, Zr, g) if Zr is not None else None
        first = pd.Series(np.arange(len(codes))).groupby(codes).first().to_numpy()
        for col in d.flat.columns:  # a cluster column must be constant within each group
            ccodes = pd.factorize(d.flat[col])[0]
            if not fx.is_nested(codes, ccodes):
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
        if not d.has_intercept:
            raise GovstatsError("random effects needs an intercept in the formula (remove '0 +' / '- 1')")
        vc, theta_obs = _swamy_arora(y, X, uc, nu, Zr)
        if not np.isscalar(vc["theta"]):  # unbalanced: theta by unit label
            labels = pd.unique(d.keys[0])
            vc["theta"] = pd.Series(np.asarray(vc["theta"]), index=np.sort(labels), name="theta")
        ybar = fx.group_mean(uc, y, nu)[uc]
        Xbar = fx.group_mean(uc, X, nu)[uc]
        y = y - theta_obs * ybar
        X = X - theta_obs[:, None] * Xbar
        if Zr is not None:
            Zbar = fx.group_mean(uc, Zr, nu)[uc]
            if spec.iv_method == "g2sls":  # Balestra-Varadharajan-Krishnakumar: Z* = Z - theta Zbar
                Zr = Zr - theta_obs[:, None] * Zbar
            else:  # Baltagi's EC2SLS: [within-transformed Z, unit means of Z]
                Zt = Zr - Zbar
                Zr = np.column_stack([Zt[:, _varying(Zt, Zr)], Zbar])
        kind = "centered (quasi-demeaned data)"
    else:  # pragma: no cover - validated in PanelSpec
        raise AssertionError(est)

    wtss = None
    if d.w is not None:  # weighted least squares: OLS on rows scaled by sqrt(w)
        ybar_w = float(d.w @ y / d.w.sum()) if kind.startswith("centered") else 0.0
        wtss = float(d.w @ (y - ybar_w) ** 2)
        sw = np.sqrt(d.w)
        y, X = y * sw, X * sw[:, None]
        if Zr is not None:  # weighted 2SLS: the instruments are weighted too
            Zr = Zr * sw[:, None]
    X_structural = None
    if Zr is not None:  # 2SLS: OLS of y on the first-stage fitted values
        _check_instruments(spec, Zr, X)
        X_structural = X
        X = _project(Zr, X)
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
    resid = y - (X if X_structural is None else X_structural[:, kept]) @ b
    if wtss is not None:
        tss = wtss
    elif kind.startswith("centered"):
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
        variance_components=vc, raw_y=raw_y, raw_X=raw_X, theta=theta_obs, w=d.w,
        iv_X=None if X_structural is None else X_structural[:, kept], iv_W=Zr,
    )


def _cluster_codes(f: _Fit, var: str) -> np.ndarray:
    if var == "unit":
        return f.unit_codes
    if var == "time":
        return f.time_codes
    codes, _ = pd.factorize(f.cluster_source[var], sort=True)
    return codes.astype(np.intp)


def _jackknife(f: _Fit, within: bool) -> Any:
    """Leave-one-cluster-out estimates for CRV3: exact refits (fixed effects re-absorbed)."""

    def run(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        G = fx.n_groups(codes)
        nested = within and all(fx.is_nested(c, codes) for c in f.fes)
        out = np.empty((G, len(f.b)))
        if not within or nested:  # the transformed data do not change when a cluster is left out
            XtX, Xty = f.X.T @ f.X, f.X.T @ f.y
            for g in range(G):
                m = codes == g
                Xg, yg = f.X[m], f.y[m]
                out[g] = np.linalg.lstsq(XtX - Xg.T @ Xg, Xty - Xg.T @ yg, rcond=None)[0]
            return f.b, out
        for g in range(G):
            keep = codes != g
            fes = [fx.factorize(c[keep])[0] for c in f.fes]
            wk = None if f.w is None else f.w[keep]
            Z = fx.demean(np.column_stack([f.raw_y[keep], f.raw_X[keep]]), fes, weights=wk)
            if wk is not None:
                Z = Z * np.sqrt(wk)[:, None]
            out[g] = np.linalg.lstsq(Z[:, 1:], Z[:, 0], rcond=None)[0]
        return f.b, out

    return run


def _covariance(spec: PanelSpec, f: _Fit, d: _Design, *, vcov: Vcov | None = None,
                ssc: str | None = None) -> cv_.CovResult:
    """The covariance ``vcov`` (default: the spec's) of a fitted model, via the registry."""
    vc = spec.vcov if vcov is None else vcov
    keys = d.cluster_keys if vcov is None else tuple(
        _level_key(v, d.unit_name, d.time_name) or v for v in vc.cluster
    )
    display = {"unit": d.unit_name, "time": d.time_name}
    inp = cv_.CovInputs(
        X=f.X, resid=f.resid, bread=f.bread, k_fe=f.k_fe, k_fe_fixest=f.k_fe_fixest, fes=f.fes,
        time_codes=f.time_codes,
        clusters=[_cluster_codes(f, k) for k in keys],
        cluster_names=[display.get(k, k) for k in keys],
        jackknife=_jackknife(f, spec.estimator == "within"),
    )
    return cv_.estimate(inp, vc, spec.ssc if ssc is None else ssc)


# --------------------------------------------------------------------------- fit


def fit(fml: str | PanelSpec, data: pd.DataFrame, *, estimator: EstimatorKind | None = None,
        vcov: Any = None, vcov_kwargs: Mapping[str, Any] | None = None, ssc: SmallSampleRule = "fixest",
        weights: str | None = None, iv_method: IVMethod = "g2sls",
        bootstrap: BootstrapMode = "auto", reps: int = 9999, weights_type: WeightsKind = "auto",
        seed: int | None = 0, few_clusters: int = 30, alpha: float = 0.05) -> PanelResults:
    """Estimate a panel regression and return read-only :class:`PanelResults`.

    Parameters
    ----------
    fml : str or PanelSpec
        ``"y ~ x1 + x2 | unit_level + time_level"`` (pyfixest syntax; see the module
        notes), or a :class:`PanelSpec` (then no other option may be given).
    data : DataFrame
        Indexed by a 2-level MultiIndex ``(unit, time)`` with one row per pair (the form
        :mod:`linearmodels` expects and :func:`govstats.panel.build_panel` returns).
        Variables of the formula (and a cluster column, if named) are columns. Rows with
        missing or non-finite values in them are not used; the count is in
        ``results.dropped_missing`` and in the summary.
    estimator, vcov, vcov_kwargs, ssc, weights, iv_method, bootstrap, reps, weights_type, seed, few_clusters, alpha
        See :class:`PanelSpec`.

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
        Clustered with fewer than ``few_clusters`` clusters.

    Examples
    --------
    >>> import govstats as gs
    >>> crime = gs.datasets.load_nc_crime()
    >>> r = gs.fit("lcrmrte ~ lprbarr + lpolpc | county + year", crime)
    >>> r.n_clusters, r.nobs, r.se_type
    (90, 630, 'CRV1 by county')
    """
    options = dict(estimator=estimator, vcov=vcov, vcov_kwargs=vcov_kwargs, ssc=ssc, weights=weights,
                   iv_method=iv_method,
                   bootstrap=bootstrap,
                   reps=reps, weights_type=weights_type, seed=seed, few_clusters=few_clusters, alpha=alpha)
    if isinstance(fml, PanelSpec):
        defaults = {k: v.default for k, v in PanelSpec.__dataclass_fields__.items() if k in options}
        changed = [k for k, v in options.items() if v != defaults[k]]
        if changed:
            raise TypeError(f"fit(spec, data) takes its options from the spec; got {', '.join(changed)} too")
        spec = fml
    elif isinstance(fml, str):
        spec = PanelSpec(fml, **options)
    else:
        raise TypeError(f"fit() takes a formula string or a PanelSpec, got {type(fml).__name__}")
    d = _design(spec, data)
    f = _transform(spec, d)
    cv = _covariance(spec, f, d)
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
            boot, boot_note = _run_bootstrap(spec, f, d, cv)
            msg += boot_note
        else:
            msg += "the wild cluster bootstrap was switched off (bootstrap='never'); do not trust these p-values"
        notes.append(msg)
        warnings.warn(msg, FewClustersWarning, stacklevel=2)
    elif spec.bootstrap == "always" and cv.n_clusters is not None:
        boot, boot_note = _run_bootstrap(spec, f, d, cv)
        notes.append(boot_note)
    kp = None
    if spec.endog:
        try:
            kp = _kleibergen_paap_of(spec, f, d)
        except (np.linalg.LinAlgError, ValueError, GovstatsError) as exc:  # a diagnostic never stops a fit
            nan = float("nan")
            kp = KleibergenPaap(nan, 0, nan, nan, nan, nan, len(spec.endog), 0, spec.vcov.label_short, "",
                                (f"Kleibergen-Paap statistics could not be computed: {exc}",))
    wre = None
    if boot is not None and not isinstance(boot, tuple):  # IV: the WRE bootstrap's result
        wre, boot = boot, None
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
        n_entities=_n_distinct(f.unit_codes) if spec.estimator != "between" or d.effects == "unit"
        else int(d.n_units_all),
        n_periods=_n_distinct(f.time_codes) if spec.estimator != "between" or d.effects == "time"
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
        wre=wre,
        warnings=tuple(notes),
        unit_name=d.unit_name,
        time_name=d.time_name,
        effects=tuple({"unit": d.unit_name, "time": d.time_name}[k] for k in
                      {"none": (), "unit": ("unit",), "time": ("time",), "twoway": ("unit", "time")}[d.effects]),
        cluster_names=tuple({"unit": d.unit_name, "time": d.time_name}.get(k, k) for k in d.cluster_keys),
        simulated=bool(data.attrs.get("simulated", False)),
        _residuals=_readonly(f.resid if f.w is None else f.resid / np.sqrt(f.w)),
        _fitted=_readonly((f.y - f.resid) if f.w is None else (f.y - f.resid) / np.sqrt(f.w)),
        _resid_keys=f.keys,
        kleibergen_paap=kp,
    )


def _n_distinct(codes: np.ndarray) -> int:
    return int(np.count_nonzero(np.bincount(codes))) if len(codes) else 0


def _run_bootstrap(spec: PanelSpec, f: _Fit, d: _Design, cv: cv_.CovResult) -> tuple[Any, str]:
    try:
        from govstats.inference import wild_cluster_bootstrap
    except ImportError as exc:
        return None, (
            f"the wild cluster bootstrap could not run (govstats.inference not importable: {exc}); "
            "treat the clustered p-values with great caution"
        )
    if spec.endog:
        return _run_wre(spec, f, d, cv)
    if f.w is not None and spec.estimator == "within":
        return None, (
            "the wild cluster bootstrap does not take regression weights together with fixed "
            "effects yet, so no bootstrap p-values are shown: treat the clustered p-values with "
            "great caution (or fit without weights to see the bootstrap)"
        )
    vars_ = d.cluster_keys
    codes = [_cluster_codes(f, v) for v in vars_]
    pick = int(np.argmin([c.max() for c in codes]))
    cluster = codes[pick]
    if spec.estimator == "within":
        y, X = f.raw_y, f.raw_X
        fe = f.fes[0] if len(f.fes) == 1 else np.column_stack(f.fes)
    else:
        y, X, fe = f.y, f.X, None
    Xdf = pd.DataFrame(X, columns=f.names)
    out = []
    for name in f.names:
        out.append(
            wild_cluster_bootstrap(
                y, Xdf, cluster, param=name, h0=0.0, reps=spec.reps,
                weights_type=spec.weights_type, seed=spec.seed, alpha=spec.alpha, fe=fe,
            )
        )
    first = out[0] if out else None
    shown = {"unit": d.unit_name, "time": d.time_name}.get(vars_[pick], vars_[pick])
    how = (
        f"wild cluster restricted bootstrap p-values and CIs are shown beside them (clusters = "
        f"{shown}, G = {int(cluster.max()) + 1}, weights = {getattr(first, 'weights_type', '?')}, "
        f"reps = {getattr(first, 'reps', '?')}{', full enumeration' if getattr(first, 'enumerated', False) else ''}"
        f", seed = {spec.seed}"
    )
    if spec.estimator in ("random",):
        how += "; for random effects the bootstrap is conditional on the estimated theta"
    return tuple(out), how + ")"


def _run_wre(spec: PanelSpec, f: _Fit, d: _Design, cv: cv_.CovResult) -> tuple[Any, str]:
    """WRE bootstrap (Davidson-MacKinnon) for the endogenous coefficient of an IV fit."""
    from govstats.wre import wre_bootstrap

    keys = d.cluster_keys
    if len(spec.endog) != 1 or len(keys) != 1:
        return None, (
            "the WRE bootstrap is offered for one endogenous regressor and one-way clustering; none "
            "was run: treat the clustered p-values with great caution"
        )
    j = f.names.index(spec.endog[0]) if spec.endog[0] in f.names else None
    if j is None:
        return None, "the endogenous regressor was dropped as collinear; no WRE bootstrap was run"
    X1 = np.delete(f.iv_X, j, axis=1)
    codes = _cluster_codes(f, keys[0])
    G = fx.n_groups(codes)
    res = wre_bootstrap(f.y, X1, f.iv_X[:, j], f.iv_W, codes, param=spec.endog[0], h0=0.0,
                        reps=spec.reps, weights_type=spec.weights_type, seed=spec.seed,
                        factor=float(cv.small_sample["factor"]), alpha=spec.alpha)
    shown = {"unit": d.unit_name, "time": d.time_name}.get(keys[0], keys[0])
    note = (f"WRE bootstrap p-value for {spec.endog[0]} (Davidson-MacKinnon 2010; clusters = {shown}, G = {G}, "
            f"{res.weights_type} weights, reps = {res.reps}{', full enumeration' if res.enumerated else ''}, "
            f"seed = {spec.seed}): p = {res.p_value:.4g}; the other coefficients have no bootstrap p-value")
    if res.warnings:
        note += "; " + "; ".join(res.warnings)
    return res, note  # a WREResult: fit() keeps it as results.wre


# --------------------------------------------------------------------------- tests


def _without_fixef(formula: str) -> str:
    return formula.split("|")[0].strip()


def _with_unit_effects(formula: str, data: pd.DataFrame) -> str:
    """``y ~ x`` -> ``y ~ x | <unit level>`` (specification tests default to unit effects)."""
    if "|" in formula:
        return formula
    unit_name, _ = _panel_index_names(data)
    return f"{formula} | {unit_name}"


def effects_f_test(formula: str, data: pd.DataFrame) -> SpecTestResult:
    """F test that the fixed effects in ``formula`` are jointly zero (pooled OLS against within).

    Without a ``|`` part the data's unit effects are tested.

    ``F = ((RSS_pooled - RSS_within)/df1) / (RSS_within/df2)`` with ``df1`` the number of
    extra effect parameters and ``df2 = N - k - k_fe``; R plm ``pFtest``.

    Examples
    --------
    >>> from govstats import datasets
    >>> from govstats.models import effects_f_test
    >>> t = effects_f_test("invest ~ value + capital | firm", datasets.load_grunfeld())
    >>> round(t.statistic, 3), t.df
    (49.177, (9, 188))
    """
    formula = _with_unit_effects(formula, data)
    fe = fit(formula, data, estimator="within", vcov="iid")
    po = fit(_without_fixef(formula), data, estimator="pooled", vcov="iid")
    if fe.nobs != po.nobs:
        raise GovstatsError("pooled and within fits used different rows")
    df2 = fe.df_inference
    df1 = po.df_inference - df2
    F = ((po.rss - fe.rss) / df1) / (fe.rss / df2)
    return SpecTestResult(
        name=f"F test for {fe.effects_label} effects",
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
    vcov: Any = "iid",
    ssc: SmallSampleRule = "fixest",
) -> SpecTestResult:
    """Hausman test of random against fixed unit effects; ``formula`` is ``"y ~ x | unit"``
    (without ``|`` the data's unit level is used).

    ``method="classic"``: ``|(b_FE - b_RE)' [V_FE - V_RE]^-1 (b_FE - b_RE)|`` on the common
    slopes with both covariances iid (Hausman 1978), exactly as R plm's ``phtest``, which
    reports the absolute value. When ``V_FE - V_RE`` is not positive definite the statistic
    is not a valid chi-squared statistic: the result says so (``note``,
    ``positive_definite=False``) and suggests the alternatives below.

    ``method="sigmamore"``: as classic, but ``V_FE`` is rescaled to the efficient (RE)
    model's residual variance, ``V_FE * s2_RE / s2_FE``, so that both covariances rest on
    one disturbance variance - the idea of Stata's ``hausman, sigmamore`` (this
    implementation is not checked against Stata's output).

    ``method="aux"``: the regression-based (Mundlak / Wooldridge 2010, 10.7.3) form: regress
    the RE quasi-demeaned outcome on the quasi-demeaned and the within-demeaned regressors
    and Wald-test the latter jointly, with ``vcov`` (``{"CRV1": unit}`` makes it robust to
    heteroskedasticity and serial correlation; ``ssc="none"`` gives plm's
    ``phtest(method="aux", vcov=vcovHC)`` default HC0 clustering).

    Returns
    -------
    SpecTestResult
        chi-squared statistic with ``k`` df (number of time-varying slopes).

    Examples
    --------
    >>> from govstats import datasets
    >>> from govstats.models import hausman_test
    >>> g = datasets.load_grunfeld()
    >>> round(hausman_test("invest ~ value + capital | firm", g).statistic, 4)
    2.3304
    """
    check_literal(method, HausmanMethod, "method")
    formula = _with_unit_effects(formula, data)
    if method in ("classic", "sigmamore"):
        if vcov != "iid":
            raise ValueError(
                "the classic Hausman test needs both models efficient under H0, so it only uses "
                "vcov='iid'; use method='aux' with vcov={'CRV1': unit_level} for a robust test"
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            fe = fit(formula, data, estimator="within", vcov="iid")
            re = fit(formula, data, estimator="random", vcov="iid")
        common = [n for n in fe.param_names if n in re.param_names and n != "Intercept"]
        d = (fe.coef()[common] - re.coef()[common]).to_numpy()
        V_fe = fe.vcov.loc[common, common].to_numpy()
        if method == "sigmamore":
            V_fe = V_fe * (re.rss / re.df_resid) / (fe.rss / fe.df_resid)
        V = V_fe - re.vcov.loc[common, common].to_numpy()
        eig = np.linalg.eigvalsh(V)
        stat = abs(float(d @ np.linalg.solve(V, d)))
        k = len(common)
        name = "Hausman test (classic)" if method == "classic" else "Hausman test (sigmamore)"
        note = ("H0: random effects consistent (RE and FE estimates differ only by chance); "
                + ("as R plm phtest (absolute value of the quadratic form)" if method == "classic"
                   else "V_FE rescaled to the RE residual variance"))
        pd_ok = bool(eig.min() > 0)
        if not pd_ok:
            note += (
                f". V_FE - V_RE is NOT positive definite (eigenvalues {', '.join(f'{e:.3g}' for e in eig)}): "
                "the statistic is not a valid chi-squared statistic and its p-value should not be "
                "trusted; use method='sigmamore', or method='aux' with vcov={'CRV1': unit_level}"
            )
        return SpecTestResult(name, stat, (k,), float(stats.chi2.sf(stat, k)), "chi2", note,
                              positive_definite=pd_ok)

    # auxiliary regression; the RE design carries the cluster column (when clustering)
    spec_re = PanelSpec(formula, "random", vcov=vcov, ssc=ssc, bootstrap="never")
    d_re = _design(spec_re, data)
    f_re = _transform(spec_re, d_re)
    spec_fe = PanelSpec(formula, "within", vcov="iid")
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
    cv = _covariance(spec_re, aux, d_re)
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


# --------------------------------------------------------------------------- IV diagnostics


def _iv_parts(formula: str) -> tuple[str, str, tuple[str, ...], tuple[str, ...]]:
    rhs, fixef, endog, instruments = _split_formula(formula)
    if not endog:
        raise ValueError(f"formula={formula!r} has no IV part ('| endog ~ instruments')")
    return rhs, " + ".join(fixef), endog, instruments


def _independent_columns(M: np.ndarray, scale: np.ndarray) -> list[int]:
    """Indices (in order) of a maximal set of linearly independent columns of ``M``."""
    if M.shape[1] == 0:
        return []
    norms = np.maximum(np.sqrt((scale**2).sum(axis=0)), 1e-300)
    Ms = M / norms
    _, R, piv = scipy.linalg.qr(Ms, mode="economic", pivoting=True)
    d = np.abs(np.diag(R))
    if d.size == 0 or d[0] <= 1e-12:
        return []
    return sorted(int(j) for j in piv[: int((d > 1e-9 * max(d[0], 1.0)).sum())])


def _rk_statistic(x: np.ndarray, z: np.ndarray, v: np.ndarray, meat: Any) -> tuple[float, int, int]:
    """Kleibergen-Paap (2006) rk statistic for H0: rank(Pi) = m - 1, scores ``v_j * z``.

    ``x`` (n x m) and ``z`` (n x L) have the exogenous regressors partialled out. With
    ``Q = R'R`` (Cholesky), ``Theta = R_zz^-T Q_zx R_xx^-1`` (canonical form of the first
    stage), ``Theta = U S V'``; ``A``, ``B`` the singular vectors of its smallest ``L - m + 1``
    and ``1`` singular values; ``lambda = A' Theta B``, whose covariance follows from that
    of ``vec(Z'v)/n`` (``meat`` of the scores ``v_j z``, ordered by ``j``) through
    ``(R_xx^-T kron R_zz^-T)``. Returns ``n lambda' Var(lambda)^+ lambda``, its degrees of
    freedom (``L - m + 1`` less any rank deficit of the covariance) and the deficit.
    """
    n, m = x.shape
    L = z.shape[1]
    qzz, qxx, qzx = z.T @ z / n, x.T @ x / n, z.T @ x / n
    irz = scipy.linalg.solve_triangular(scipy.linalg.cholesky(qzz), np.eye(L))
    irx = scipy.linalg.solve_triangular(scipy.linalg.cholesky(qxx), np.eye(m))
    theta = irz.T @ qzx @ irx
    U, _, Vt = np.linalg.svd(theta, full_matrices=True)
    A, B = U[:, m - 1:], Vt.T[:, m - 1:]
    sel = np.kron(B.T, A.T) @ np.kron(irx.T, irz.T)  # maps vec(Q_zx) to lambda
    lam = np.kron(B.T, A.T) @ theta.ravel(order="F")
    scores = np.column_stack([v[:, [j]] * z for j in range(m)])
    vlam = sel @ (meat(scores) / n) @ sel.T
    vlam = (vlam + vlam.T) / 2
    vals, vecs = np.linalg.eigh(vlam)
    pos = vals > vals.max() * np.finfo(float).eps * len(vals) if vals.size and vals.max() > 0 else vals > 0
    if not pos.any():
        return float("nan"), 0, len(vals)
    coef = vecs[:, pos].T @ lam
    return n * float((coef**2 / vals[pos]).sum()), int(pos.sum()), int((~pos).sum())


def _kleibergen_paap_of(spec: PanelSpec, f: _Fit, d: _Design) -> KleibergenPaap | None:
    """The Kleibergen-Paap rk statistics of a fitted IV model (transformed, weighted data)."""
    if not spec.endog or f.iv_X is None or f.iv_W is None:
        return None
    vc = spec.vcov
    label = vc.label_short
    nan = float("nan")
    endog = [e for e in spec.endog if e in f.names]
    if len(endog) < len(spec.endog):
        return KleibergenPaap(nan, 0, nan, nan, nan, nan, len(spec.endog), 0, label, "",
                              ("not computed: an endogenous regressor was dropped as collinear",))
    jx = [f.names.index(e) for e in endog]
    X1 = np.delete(f.iv_X, jx, axis=1)
    E = f.iv_X[:, jx]
    W = f.iv_W
    if X1.shape[1]:
        Q1 = np.linalg.qr(X1)[0]
        E = E - Q1 @ (Q1.T @ E)
        Wt = W - Q1 @ (Q1.T @ W)
    else:
        Wt = W
    keep = _independent_columns(Wt, W)
    Z = Wt[:, keep]
    n, m, L = len(E), E.shape[1], Z.shape[1]
    if L < m:  # pragma: no cover - _check_instruments has raised already
        return None
    # the first-stage regression [X1, Z]: residuals and its covariance's small-sample rule
    pihat = np.linalg.lstsq(Z, E, rcond=None)[0]
    V = E - Z @ pihat
    Xfs = np.column_stack([X1, Z])
    inp = cv_.CovInputs(
        X=Xfs, resid=V[:, 0], bread=np.linalg.pinv(Xfs.T @ Xfs), k_fe=f.k_fe, k_fe_fixest=f.k_fe_fixest,
        fes=f.fes, time_codes=f.time_codes, clusters=[_cluster_codes(f, k) for k in d.cluster_keys],
        cluster_names=[{"unit": d.unit_name, "time": d.time_name}.get(k, k) for k in d.cluster_keys],
    )
    cov = cv_.estimate(inp, vc, spec.ssc)
    # smallest partial canonical correlation
    qx = np.linalg.qr(E)[0]
    qz = np.linalg.qr(Z)[0]
    r = np.linalg.svd(qx.T @ qz, compute_uv=False)
    r2 = float(min(r[-1] ** 2 if len(r) == m else 0.0, 1.0))
    df = L - m + 1
    notes: list[str] = []
    if vc.kind == "iid":
        lm = n * r2
        dfr = int(cov.df)  # N - K of the first stage
        F = dfr / L * r2 / (1.0 - r2) if r2 < 1 else float("inf")
        wald = L * F
        rule = f"Cragg-Donald: (N-K)/L r^2/(1-r^2) with N-K = {dfr} (first-stage residual df)"
        return KleibergenPaap(float(lm), df, float(stats.chi2.sf(lm, df)), float(wald), float(F), r2, m, L,
                              "iid", rule)

    def meat(scores: np.ndarray) -> np.ndarray:
        return cv_.score_meat(scores, vc, inp.clusters, f.time_codes)

    lm, lm_df, deficit = _rk_statistic(E, Z, E, meat)
    wald, _, deficit_w = _rk_statistic(E, Z, V, meat)
    if deficit or deficit_w:
        notes.append(
            f"the covariance of the rk statistic is rank deficient (deficit {max(deficit, deficit_w)}; "
            "too few clusters or periods for the number of instruments): a generalised inverse was used "
            "and the degrees of freedom reduced; do not rely on these statistics"
        )
    fac = float(cov.small_sample["factor"])
    F = wald / (L * fac)
    rule = (f"rk Wald / (L * factor), L = {L}, factor {fac:.6g} = the small-sample factor of the "
            f"first-stage covariance ({cov.label})")
    return KleibergenPaap(float(lm), lm_df, float(stats.chi2.sf(lm, lm_df)) if lm_df else float("nan"),
                          float(wald), float(F), r2, m, L, label, rule, tuple(notes))


def kleibergen_paap(formula: str, data: pd.DataFrame, **options: Any) -> KleibergenPaap:
    """Kleibergen-Paap (2006) rk LM and rk Wald F statistics of an IV formula's first stage.

    Fits ``formula`` with ``options`` (as :func:`fit`; no bootstrap) and returns its
    :attr:`PanelResults.kleibergen_paap`: exogenous regressors and fixed effects are
    partialled out (the data as the estimator transforms them, weighted where weights are
    given), any number of endogenous regressors, covariance ``vcov`` (``"iid"``,
    ``"hetero"``, one- or two-way ``CRV1``, ``"DK"``). See :class:`KleibergenPaap`.

    Examples
    --------
    >>> import govstats as gs
    >>> crime = gs.datasets.load_nc_crime()
    >>> kp = gs.models.kleibergen_paap("lcrmrte ~ lprbconv | county | lpolpc ~ ltaxpc + lmix",
    ...                                crime, vcov={"CRV1": "county"})
    >>> kp.lm_df, kp.n_instruments
    (2, 2)
    """
    _iv_parts(formula)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        r = fit(formula, data, **{**options, "bootstrap": "never"})
    return r.kleibergen_paap


def first_stage(formula: str, data: pd.DataFrame, **options: Any) -> pd.DataFrame:
    """First-stage regressions of an IV formula and the F statistic of the excluded instruments.

    For each endogenous regressor, ``endog ~ exogenous + instruments | fixed effects`` is fitted
    with the same options (``vcov``, ``estimator`` among pooled/within...) and the excluded
    instruments are tested jointly (:meth:`PanelResults.wald_test`; with ``vcov="iid"`` the
    classic first-stage F, otherwise its robust Wald form, as pyfixest's first-stage F).

    Returns
    -------
    DataFrame
        One row per endogenous regressor: ``F``, ``df1``, ``df2``, ``p``, ``vcov``; then the
        model's Kleibergen-Paap statistics (:func:`kleibergen_paap`; the same on every row,
        they test all endogenous regressors jointly): ``KP rk LM``, ``KP LM df``, ``KP LM p``
        (underidentification) and ``KP rk Wald F`` (weak identification; with ``vcov="iid"``
        Anderson's LM and the Cragg-Donald F). With one endogenous regressor ``KP rk Wald F``
        equals ``F``. The :class:`KleibergenPaap` object is in ``.attrs["kleibergen_paap"]``.
    """
    rhs, fixef, endog, instruments = _iv_parts(formula)
    exog = rhs.partition("~")[2].strip()
    kp = kleibergen_paap(formula, data, **options)
    rows = []
    for e in endog:
        fml = f"{e} ~ {exog} + {' + '.join(instruments)}" + (f" | {fixef}" if fixef else "")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FewClustersWarning)
            r = fit(fml, data, **{**options, "bootstrap": "never"})
        t = r.wald_test(list(instruments))
        rows.append({"endogenous": e, "F": t.statistic, "df1": t.df[0], "df2": t.df[1], "p": t.pvalue,
                     "vcov": r.se_type, "KP rk LM": kp.lm, "KP LM df": kp.lm_df, "KP LM p": kp.lm_pvalue,
                     "KP rk Wald F": kp.f})
    out = pd.DataFrame(rows).set_index("endogenous")
    out.attrs["kleibergen_paap"] = kp
    return out


def anderson_rubin(formula: str, data: pd.DataFrame, beta0: float | Mapping[str, float] = 0.0,
                   **options: Any) -> SpecTestResult:
    """Anderson-Rubin test of ``H0: beta_endog = beta0``, robust to weak instruments.

    Regress ``y - endog @ beta0`` on the exogenous regressors and the excluded instruments (with
    the formula's fixed effects and the given ``vcov``) and test the instruments jointly; under
    H0 they have no effect whatever their strength (Anderson and Rubin 1949; the Wald form with a
    robust ``vcov`` is the heteroskedasticity/cluster-robust AR test).
    """
    rhs, fixef, endog, instruments = _iv_parts(formula)
    y, _, exog = rhs.partition("~")
    b0 = dict.fromkeys(endog, float(beta0)) if not isinstance(beta0, Mapping) else dict(beta0)
    if set(b0) != set(endog):
        raise ValueError(f"beta0 must give a value for each endogenous regressor: {', '.join(endog)}")
    work = data.copy()
    ytil = work[y.strip()].astype(float)
    for e in endog:
        ytil = ytil - b0[e] * work[e].astype(float)
    work["_ar_outcome"] = ytil
    fml = f"_ar_outcome ~ {exog.strip()} + {' + '.join(instruments)}" + (f" | {fixef}" if fixef else "")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewClustersWarning)
        r = fit(fml, work, **{**options, "bootstrap": "never"})
    t = r.wald_test(list(instruments))
    return SpecTestResult(
        "Anderson-Rubin test", t.statistic, t.df, t.pvalue, "F",
        f"H0: {', '.join(f'{e} = {b0[e]:g}' for e in endog)}; weak-instrument robust; {t.note}",
    )


def anderson_rubin_confint(formula: str, data: pd.DataFrame, *, alpha: float = 0.05,
                           grid: np.ndarray | None = None, **options: Any) -> pd.DataFrame:
    """Anderson-Rubin confidence set for one endogenous regressor, by inverting the test on a grid.

    The set is every ``beta0`` of ``grid`` (default: the 2SLS estimate +- 10 standard errors,
    2,001 points) where the AR p-value exceeds ``alpha``. It can be unbounded or a union of
    intervals when the instruments are weak: the result lists each interval and says when it
    touches the edge of the grid (then widen the grid). With more instruments than endogenous
    regressors it can also be empty: the test then rejects every value, i.e. the
    overidentifying restrictions (instruments without direct effects) are rejected.
    """
    _, _, endog, _ = _iv_parts(formula)
    if len(endog) != 1:
        raise ValueError("anderson_rubin_confint takes one endogenous regressor")
    e = endog[0]
    if grid is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fit(formula, data, **{**options, "bootstrap": "never"})
        b, se = float(r.coef()[e]), float(r.se()[e])
        grid = np.linspace(b - 10 * se, b + 10 * se, 2001)
    grid = np.asarray(grid, dtype=float)
    p = np.array([anderson_rubin(formula, data, float(g), **options).pvalue for g in grid])
    accept = p > alpha
    out = []
    i = 0
    while i < len(grid):
        if accept[i]:
            j = i
            while j + 1 < len(grid) and accept[j + 1]:
                j += 1
            out.append({"lower": grid[i], "upper": grid[j], "open_below": i == 0,
                        "open_above": j == len(grid) - 1})
            i = j + 1
        else:
            i += 1
    return pd.DataFrame(out, columns=["lower", "upper", "open_below", "open_above"])
