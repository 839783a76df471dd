"""Covariance estimators of panel regressions: one small unit each, in a registry keyed by name.

(The linearmodels pattern: ``linearmodels/panel/covariance.py``.) :func:`parse_vcov`
turns the pyfixest-style ``vcov=`` option into a :class:`Vcov`; :func:`estimate` looks
the estimator up in :data:`REGISTRY` and applies the small-sample rule chosen by
``ssc=``. The label each estimator prints is generated from the rule actually used.

Notation: ``N`` observations, ``k`` slopes estimated (an intercept counts; absorbed fixed
effects do not), ``k_fe`` absorbed fixed-effect parameters (units + periods - 1 for two-way,
less one per extra disconnected component), ``G`` clusters, ``T`` periods.

Small-sample rules (``ssc=``)
    ``"fixest"`` (default; Stata and fixest/pyfixest defaults)
        iid: ``s^2 = RSS/(N-k-k_fe)``. hetero: HC1, ``N/(N-k-k_fe)``. CRV1:
        ``G/(G-1) * (N-1)/(N-K)`` with ``K = k + k_fe`` less the levels of the fixed effects
        nested in the cluster variable(s), plus one per nested effect (fixest
        ``ssc(adj=TRUE, fixef.K="nested", cluster.adj=TRUE)``; Stata ``xtreg, fe
        vce(cluster)``); two-way CRV1 scales each of ``V1 + V2 - V12`` by the factor with
        ``G_min`` (fixest ``cluster.df="min"``). CRV3: the jackknife sum
        ``sum_g (b_(g) - b)(b_(g) - b)'`` times the CRV1 factor (pyfixest). DK:
        ``T/(T-1) * (N-1)/(N-k-k_fe)``. t with ``G-1`` (clustered), ``T-1`` (DK) or
        ``N-k-k_fe`` df.
    ``"plm"`` (R plm 2.6)
        iid as above. hetero: ``vcovHC(method="white1", type="HC1")``, factor
        ``N/(N-k)``. CRV1: ``vcovHC(type="sss", cluster="group")``, factor
        ``G/(G-1) * (N-1)/(N-k)`` - plm counts only the slopes it estimates, so its
        standard errors are a little smaller than Stata's. Other estimators are not
        offered with this rule.
    ``"linearmodels"`` (linearmodels ``PanelOLS.fit(debiased=True)`` defaults)
        iid: ``RSS/(N-k-d)``; hetero and CRV1: ``N/(N-k-d)`` with ``d`` the effects
        counted unless a single effect is nested in the clusters (``auto_df``), and no
        ``G/(G-1)`` (``group_debias=False``). t with ``N-k-d`` df.
    ``"none"``
        hetero and CRV1 without any factor (HC0 / CR0; R plm ``vcovHC``'s default
        ``type="HC0"``). t with ``G-1`` df (clustered) or ``N-k-k_fe`` df.

Examples
--------
>>> from govstats.covariance import parse_vcov
>>> parse_vcov({"CRV1": "county+year"})
Vcov(kind='CRV1', cluster=('county', 'year'), lag=None)
>>> parse_vcov("hetero").label_short
'HC1'
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from govstats import fixed_effects as fx
from govstats._literals import SmallSampleRule, VcovKind, check_literal
from govstats.errors import GovstatsError

__all__ = ["REGISTRY", "CovInputs", "CovResult", "Vcov", "estimate", "parse_vcov", "score_meat"]

_SSC_NAME = {
    "none": "no small-sample factor",
    "fixest": "Stata/fixest",
    "plm": "R plm",
    "linearmodels": "linearmodels",
}


@dataclass(frozen=True)
class Vcov:
    """A parsed ``vcov=`` option: the estimator's name, cluster variables, DK lag."""

    kind: VcovKind
    cluster: tuple[str, ...] = ()
    lag: int | None = None

    @property
    def label_short(self) -> str:
        if self.kind == "iid":
            return "iid"
        if self.kind == "hetero":
            return "HC1"
        if self.kind == "DK":
            return "Driscoll-Kraay"
        return f"{self.kind} by " + " & ".join(self.cluster)

    def as_option(self) -> str | dict[str, str]:
        """The pyfixest spelling of this choice (``"iid"``, ``{"CRV1": "a+b"}``...)."""
        if self.cluster:
            return {self.kind: "+".join(self.cluster)}
        return self.kind


def parse_vcov(vcov: Any, vcov_kwargs: Mapping[str, Any] | None = None) -> Vcov:
    """Parse pyfixest's ``vcov`` spelling.

    ``"iid"``, ``"hetero"`` (also ``"HC1"``), ``"DK"``, ``{"CRV1": "col"}``,
    ``{"CRV3": "col"}``, ``{"CRV1": "a+b"}`` (two-way). ``vcov_kwargs={"lag": L}`` sets
    the Driscoll-Kraay lag (default ``floor(T ** 0.25)``).
    """
    kw = dict(vcov_kwargs or {})
    unknown = set(kw) - {"lag"}
    if unknown:
        raise ValueError(f"vcov_kwargs takes only 'lag', got {sorted(unknown)}")
    lag = kw.get("lag")
    if isinstance(vcov, str):
        name = {"HC1": "hetero"}.get(vcov, vcov)
        if name in ("CRV1", "CRV3"):
            raise ValueError(f"vcov={vcov!r} needs a cluster variable: vcov={{{vcov!r}: 'column'}}")
        check_literal(name, VcovKind, "vcov")
        out = Vcov(name)  # type: ignore[arg-type]
    elif isinstance(vcov, Mapping) and len(vcov) == 1:
        (name, col), = vcov.items()
        if name not in ("CRV1", "CRV3"):
            raise ValueError(f"vcov={vcov!r}: a dict vcov is {{'CRV1': col}} or {{'CRV3': col}}")
        if not isinstance(col, str) or not col.strip():
            raise ValueError(f"vcov={vcov!r}: the cluster variable must be a column name")
        cols = tuple(c.strip() for c in col.split("+"))
        if len(cols) > 2 or len(set(cols)) != len(cols) or not all(cols):
            raise ValueError(f"vcov={vcov!r}: one cluster variable, or two different ones as 'a+b'")
        if name == "CRV3" and len(cols) != 1:
            raise ValueError("CRV3 takes one cluster variable")
        out = Vcov(name, cols)  # type: ignore[arg-type]
    else:
        raise ValueError(
            f"vcov={vcov!r} is not valid; use 'iid', 'hetero', 'DK', {{'CRV1': col}}, "
            "{'CRV3': col} or {'CRV1': 'a+b'}"
        )
    if lag is not None:
        if out.kind != "DK":
            raise ValueError("vcov_kwargs={'lag': ...} is only used with vcov='DK'")
        if not isinstance(lag, int | np.integer) or lag < 0:
            raise ValueError(f"lag={lag!r} must be a non-negative integer")
        out = Vcov("DK", (), int(lag))
    return out


@dataclass
class CovInputs:
    """What a covariance estimator needs from a fitted model (transformed data)."""

    X: np.ndarray  # regressors after the transformation (demeaned, quasi-demeaned...)
    resid: np.ndarray
    bread: np.ndarray  # (X'X)^-1
    k_fe: int  # absorbed parameters (rank)
    k_fe_fixest: int  # fixest count of absorbed parameters
    fes: list[np.ndarray]  # codes of the absorbed effects (within only)
    time_codes: np.ndarray
    clusters: list[np.ndarray] = field(default_factory=list)  # codes per cluster variable
    cluster_names: list[str] = field(default_factory=list)  # for labels
    jackknife: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]] | None = None  # CRV3: (b, b_(g))

    @property
    def N(self) -> int:
        return self.X.shape[0]

    @property
    def k(self) -> int:
        return self.X.shape[1]


@dataclass
class CovResult:
    V: np.ndarray
    df: int
    label: str
    n_clusters: int | tuple[int, ...] | None
    small_sample: dict[str, Any]


def _df_resid(inp: CovInputs) -> int:
    df = inp.N - inp.k - inp.k_fe
    if df <= 0:
        raise GovstatsError(f"no residual degrees of freedom (N = {inp.N}, parameters = {inp.k + inp.k_fe})")
    return df


def _sandwich(inp: CovInputs, meat: np.ndarray) -> np.ndarray:
    return inp.bread @ meat @ inp.bread


def _lm_effects_counted(inp: CovInputs) -> int:
    """linearmodels' ``d``: effects counted unless one effect is nested in the clusters."""
    if len(inp.fes) == 1 and inp.clusters and all(fx.is_nested(inp.fes[0], c) for c in inp.clusters):
        return 0
    return inp.k_fe


class IID:
    """Homoskedastic: ``s^2 (X'X)^-1``."""

    rules = ("fixest", "plm", "linearmodels")

    def __call__(self, inp: CovInputs, ssc: str, vc: Vcov) -> CovResult:
        df = _df_resid(inp)
        s2 = float(inp.resid @ inp.resid) / df
        return CovResult(
            s2 * inp.bread, df,
            f"iid (homoskedastic): s^2 (X'X)^-1 with s^2 = RSS/(N-k-k_fe) = RSS/{df} "
            f"({_SSC_NAME[ssc]} convention)",
            None, {"N": inp.N, "K": inp.k + inp.k_fe, "factor": 1.0 / df, "ssc": ssc},
        )


class Hetero:
    """Heteroskedasticity-robust HC1 (HC0 with ``ssc="none"``)."""

    rules = ("fixest", "plm", "linearmodels", "none")

    def __call__(self, inp: CovInputs, ssc: str, vc: Vcov) -> CovResult:
        df = _df_resid(inp)
        N = inp.N
        scores = inp.X * inp.resid[:, None]
        if ssc == "none":
            return CovResult(
                _sandwich(inp, scores.T @ scores), df,
                "heteroskedasticity-robust HC0 (no small-sample factor; R plm vcovHC type='HC0')",
                None, {"N": N, "K": inp.k + inp.k_fe, "factor": 1.0, "ssc": ssc},
            )
        if ssc == "plm":
            K = inp.k
            rule = "N/(N-k) (R plm vcovHC(method='white1', type='HC1'), slopes only)"
        elif ssc == "linearmodels":
            K = inp.k + _lm_effects_counted(inp)
            rule = "N/(N-k-d) (linearmodels PanelOLS cov_type='robust', debiased=True)"
        else:
            K = inp.k + inp.k_fe
            rule = "N/(N-k-k_fe) (fixest/pyfixest 'hetero', Stata areg robust)"
        fac = N / (N - K)
        return CovResult(
            fac * _sandwich(inp, scores.T @ scores), df,
            f"heteroskedasticity-robust HC1: factor {rule} = {N}/{N - K}",
            None, {"N": N, "K": K, "factor": fac, "ssc": ssc},
        )


class CRV1:
    """Cluster-robust (one- or two-way) with a CR1 small-sample factor (CR0 with ``ssc="none"``)."""

    rules = ("fixest", "plm", "linearmodels", "none")

    def __call__(self, inp: CovInputs, ssc: str, vc: Vcov) -> CovResult:
        N, k = inp.N, inp.k
        codes_list = inp.clusters
        Gs = tuple(fx.n_groups(c) for c in codes_list)
        if min(Gs) < 2:
            raise GovstatsError(
                f"clustering by {' and '.join(inp.cluster_names)} needs at least 2 clusters in each "
                f"dimension, found {Gs}"
            )
        scores = inp.X * inp.resid[:, None]
        if len(codes_list) == 1:
            meat = fx.cluster_meat(scores, codes_list[0], Gs[0])
        else:
            c1, c2 = codes_list
            meat = (fx.cluster_meat(scores, c1, Gs[0]) + fx.cluster_meat(scores, c2, Gs[1])
                    - fx.cluster_meat(scores, fx.combine(c1, c2)))
        G = min(Gs)
        if ssc == "fixest":
            nested = [c for c in inp.fes if any(fx.is_nested(c, cl) for cl in codes_list)]
            K = k + inp.k_fe_fixest - sum(fx.n_groups(c) for c in nested) + len(nested) \
                if inp.fes else k
            fac = G / (G - 1) * (N - 1) / (N - K)
            rule = (f"G/(G-1)*(N-1)/(N-K) with N={N}, K={K} (fixed effects nested in the clusters "
                    "not counted; Stata xtreg,fe vce(cluster) / fixest and pyfixest default)")
            df = G - 1
        elif ssc == "none":
            K = k
            fac = 1.0
            rule = "none: CR0 (R plm vcovHC default type='HC0')"
            df = G - 1
        elif ssc == "plm":
            if len(codes_list) != 1:
                raise GovstatsError("ssc='plm' offers one-way clustering only (plm vcovHC cluster='group')")
            K = k
            fac = G / (G - 1) * (N - 1) / (N - K)
            rule = f"G/(G-1)*(N-1)/(N-k) with N={N}, k={K} slopes (R plm vcovHC type='sss')"
            df = G - 1
        else:  # linearmodels
            K = k + _lm_effects_counted(inp)
            fac = N / (N - K)
            rule = (f"N/(N-k-d) with N={N}, k+d={K}, no G/(G-1) (linearmodels PanelOLS "
                    "cov_type='clustered', debiased=True, group_debias=False)")
            df = N - K
        V = fac * _sandwich(inp, meat)
        names = inp.cluster_names
        if len(codes_list) == 1:
            label = f"clustered by {names[0]} (G={Gs[0]}), CR1 factor {rule}; t with {df} df"
            n_cl: int | tuple[int, ...] = Gs[0]
        else:
            label = (f"two-way clustered by {names[0]} (G={Gs[0]}) and {names[1]} (G={Gs[1]}), "
                     f"V1+V2-V12 scaled by {rule} using Gmin={G} (fixest cluster.df='min'); t with {df} df")
            n_cl = Gs
        return CovResult(V, df, label, n_cl, {"N": N, "K": K, "G": n_cl, "factor": fac, "ssc": ssc})


class CRV3:
    """Cluster jackknife: ``sum_g (b_(g) - b)(b_(g) - b)'`` times the CR1 factor (pyfixest)."""

    rules = ("fixest",)

    def __call__(self, inp: CovInputs, ssc: str, vc: Vcov) -> CovResult:
        if inp.jackknife is None:  # pragma: no cover - models always supplies it
            raise GovstatsError("CRV3 needs the leave-one-cluster-out estimates")
        codes = inp.clusters[0]
        G = fx.n_groups(codes)
        if G < 2:
            raise GovstatsError(f"CRV3 needs at least 2 clusters, found {G}")
        b, jack = inp.jackknife(codes)
        cr1 = CRV1()(inp, "fixest", vc)
        fac = cr1.small_sample["factor"]
        dev = jack - b
        V = fac * dev.T @ dev
        return CovResult(
            V, G - 1,
            f"clustered by {inp.cluster_names[0]} (G={G}), CRV3 jackknife sum_g (b_(g)-b)(b_(g)-b)' "
            f"times the CR1 factor {fac:.6g} (pyfixest CRV3); t with {G - 1} df",
            G, {"N": inp.N, "K": cr1.small_sample["K"], "G": G, "factor": fac, "ssc": ssc},
        )


class DriscollKraay:
    """Driscoll-Kraay (1998): Bartlett-weighted sums of the per-period score sums."""

    rules = ("fixest",)

    def __call__(self, inp: CovInputs, ssc: str, vc: Vcov) -> CovResult:
        T = fx.n_groups(inp.time_codes)
        if T < 2:
            raise GovstatsError("Driscoll-Kraay standard errors need at least 2 periods")
        L = int(math.floor(T**0.25)) if vc.lag is None else int(vc.lag)
        h = fx.group_sum(inp.time_codes, inp.X * inp.resid[:, None], T)
        S = h.T @ h
        for lag in range(1, L + 1):
            w = 1.0 - lag / (L + 1.0)
            G_l = h[lag:].T @ h[:-lag]
            S += w * (G_l + G_l.T)
        df_k = _df_resid(inp)
        N = inp.N
        fac = (T / (T - 1)) * ((N - 1) / df_k)
        return CovResult(
            fac * _sandwich(inp, S), T - 1,
            f"Driscoll-Kraay (Bartlett kernel, {L} lag(s), T = {T} periods): factor "
            f"T/(T-1)*(N-1)/(N-k-k_fe) (fixest/pyfixest 'DK'); t with T-1 = {T - 1} df",
            None, {"N": N, "K": inp.k + inp.k_fe, "T": T, "lags": L, "factor": fac, "ssc": ssc},
        )


REGISTRY: dict[str, Any] = {
    "iid": IID(),
    "hetero": Hetero(),
    "CRV1": CRV1(),
    "CRV3": CRV3(),
    "DK": DriscollKraay(),
}


def estimate(inp: CovInputs, vc: Vcov, ssc: str = "fixest") -> CovResult:
    """Covariance ``vc`` of a fitted model under small-sample rule ``ssc``."""
    check_literal(ssc, SmallSampleRule, "ssc")
    est = REGISTRY[vc.kind]
    if ssc not in est.rules:
        raise GovstatsError(
            f"vcov={vc.as_option()!r} is offered with ssc={', '.join(map(repr, est.rules))} only, "
            f"not ssc={ssc!r}"
        )
    out = est(inp, ssc, vc)
    out.V = (out.V + out.V.T) / 2
    return out


def score_meat(scores: np.ndarray, vc: Vcov, clusters: list[np.ndarray] | None = None,
               time_codes: np.ndarray | None = None) -> np.ndarray:
    """The covariance estimator ``vc``'s meat of a score matrix, with no small-sample factor.

    ``scores`` is ``n x q`` (one row per observation). ``"hetero"``: ``S'S``; ``{"CRV1": c}``:
    ``sum_g s_g s_g'`` over the clusters (two-way: ``M1 + M2 - M12``); ``"DK"``: the
    Bartlett-weighted sums of the per-period score sums (lag ``vc.lag``, default
    ``floor(T ** 0.25)``), as :class:`DriscollKraay`. The same meats the estimators above
    use, for statistics that are not a coefficient covariance (the Kleibergen-Paap rank test
    of :mod:`govstats.models`). ``"iid"`` and ``"CRV3"`` have no meat of this form.
    """
    if vc.kind == "hetero":
        return scores.T @ scores
    if vc.kind == "CRV1":
        codes = list(clusters or [])
        if len(codes) == 1:
            return fx.cluster_meat(scores, codes[0], fx.n_groups(codes[0]))
        c1, c2 = codes
        return (fx.cluster_meat(scores, c1, fx.n_groups(c1)) + fx.cluster_meat(scores, c2, fx.n_groups(c2))
                - fx.cluster_meat(scores, fx.combine(c1, c2)))
    if vc.kind == "DK":
        if time_codes is None:  # pragma: no cover - models always passes them
            raise GovstatsError("Driscoll-Kraay needs the period of each observation")
        T = fx.n_groups(time_codes)
        L = int(math.floor(T**0.25)) if vc.lag is None else int(vc.lag)
        h = fx.group_sum(time_codes, scores, T)
        S = h.T @ h
        for lag in range(1, L + 1):
            G_l = h[lag:].T @ h[:-lag]
            S += (1.0 - lag / (L + 1.0)) * (G_l + G_l.T)
        return S
    raise GovstatsError(f"vcov={vc.as_option()!r} has no score meat (use 'hetero', CRV1 or 'DK')")
