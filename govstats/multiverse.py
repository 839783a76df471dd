"""Specification curves (multiverse analysis): every reasonable specification, at speed.

A single regression table hides how much a conclusion depends on choices: which
outcome, which staffing or mediation measure, which controls, which fixed
effects, which cluster level, which sample. A :class:`MultiverseSpec` declares
the options of each choice; :func:`run_multiverse` estimates every combination
and returns a :class:`MultiverseResults`: a tidy table (one row per
specification: its choices, the estimate of the treatment coefficient, its
standard error, t, p, confidence interval, N, number of clusters), summaries
(share significant, median estimate), the specification-curve figure, and the
joint test of Simonsohn, Simmons and Nelson (2020) (:func:`joint_test`).

Conventions (all as pyfixest's ``feols`` defaults, which follow R fixest)
    * Rows with a missing or non-finite value in a specification's variables are
      not used by that specification (``nobs`` says how many were); fixed-effect
      groups with a single observation (singletons) are dropped, as pyfixest's
      ``fixef_rm="singleton"``.
    * Without fixed effects the regression has an intercept.
    * ``"iid"``: ``s^2 (X'X)^-1``, ``s^2 = RSS/(N - K)``; ``"hetero"``: HC1,
      ``N/(N - K)``; a cluster column: CR1 with ``G/(G-1) * (N-1)/(N-K)``, where
      ``K`` counts the slopes plus the fixed-effect levels (``sum(levels) - (n_fe - 1)``)
      less the levels of fixed effects nested in the clusters plus one per nested
      fixed effect (fixest ``ssc(fixef.K="nested")``, pyfixest's default and the
      convention of :mod:`govstats.models`). p-values and intervals use Student t
      with ``G - 1`` degrees of freedom when clustered, ``N - K`` otherwise.

The fast path (Frisch-Waugh-Lovell)
    Specifications that share a fixed-effect structure and a sample (and the same
    rows with complete data) share one demeaning: the variables of all of them
    are demeaned once, ``C = Z'Z`` and, per cluster level, the per-cluster
    cross-products ``C_g = Z_g'Z_g`` are computed once. A specification with
    outcome ``y`` and regressors ``X`` (treatment first) is then a small solve:
    ``b = C[X,X]^-1 C[X,y]``; with ``r = (1, -b)`` on ``(y, X)`` and ``w`` the
    first column of ``C[X,X]^-1``, ``RSS = r'C r`` and the clustered variance of
    the treatment coefficient is ``c * sum_g (w' C_g r)^2`` (``c`` the CR1 factor).
    Specifications are solved in stacked batches (numpy), so the per-specification
    cost is a few microseconds. Every fast-path result equals pyfixest's within
    ``1e-10`` (``tests/test_multiverse.py`` checks random specifications).

Collinearity
    A control absorbed by the fixed effects (e.g. a time-invariant one with unit
    effects) or collinear with the others is dropped exactly as pyfixest drops it
    (its rule: a sequential Cholesky of ``X'X``, pivots below ``collin_tol = 1e-9``
    dropped), and ``note`` says how many were; a treatment that would be dropped is
    not estimated (``engine = "none"``, with a note).

What the fast path does not cover (``engine="auto"`` hands these to pyfixest, one
``feols`` call each; the ``engine`` column of the table says which was used)
    * two-way clustering (``"a + b"`` as a cluster option);
    * borderline collinearity: a Cholesky pivot within a factor of 100 of
      pyfixest's threshold, where rounding could tip its decision;
    * fixed effects whose alternating projections do not converge.
    Variables must be numeric columns: transform (logs, interactions, lags) into
    columns first. Weights, IV and non-linear models are not offered.

Scale-out
    ``run_multiverse(..., scheduler="tcp://host:8786")`` (or a
    ``distributed.Client``) runs the same computation on a Dask cluster: one task
    per (fixed effects, sample) demeaning, then tasks of ``chunk_size``
    specifications each, so hundreds of thousands of specifications make a few
    dozen tasks; results are identical to the in-process run. :func:`joint_test`
    distributes its bootstrap draws the same way. In process, one core already
    solves tens of thousands of specifications per second (BLAS is held to one
    thread while solving: the problems are small, and spinning BLAS threads slow
    them on a busy machine); Dask pays when there are more cores than one machine's.
    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes
    numpy's large temporaries page-fault (about 1.4 times slower here); setting
    ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_`` to ``None`` in the
    Dask configuration restores glibc's default.

Few clusters
    Clustering by place gives five clusters; CR1 t-tests over-reject badly with
    so few (see :mod:`govstats.inference`). The table's ``n_clusters`` column and
    :meth:`MultiverseResults.summary` (``share_few_clusters``) say how many
    specifications are affected; read their p-values with the wild cluster
    bootstrap of :func:`govstats.inference.wild_cluster_bootstrap`.

References
----------
Simonsohn, U., Simmons, J. P. and Nelson, L. D. (2020), "Specification curve
analysis", Nature Human Behaviour 4, 1208-1214.
Steegen, S., Tuerlinckx, F., Gelman, A. and Vanpaemel, W. (2016), "Increasing
transparency through a multiverse analysis", Perspectives on Psychological
Science 11(5), 702-712.

Examples
--------
>>> from govstats import datasets
>>> from govstats.multiverse import MultiverseSpec, run_multiverse
>>> crime = datasets.load_nc_crime()
>>> spec = MultiverseSpec(
...     outcomes=["lcrmrte"],
...     treatments=["lpolpc", "lprbarr"],
...     controls=["ldensity", "lwcon"],
...     fixed_effects={"county": "unit", "county + year": "unit + time"},
...     clusters={"county": "unit", "iid": "iid"},
... )
>>> spec.n_specifications
32
>>> res = run_multiverse(spec, crime)
>>> res.table.loc[0, ["treatment", "controls", "fixed_effects", "cluster"]].tolist()
['lpolpc', 'none', 'county', 'county']
>>> round(float(res.table.loc[0, "estimate"]), 6), int(res.table.loc[0, "nobs"])
(0.213173, 630)
"""

from __future__ import annotations

import contextlib
import itertools
import math
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse
from scipy import special, stats

from govstats._literals import EngineKind, JointAlternative, check_literal
from govstats.errors import DataValidationError, GovstatsError, Problem
from govstats.inference import FEW_CLUSTERS

__all__ = [
    "EngineKind",
    "JointAlternative",
    "JointTestResult",
    "MultiverseResults",
    "MultiverseSpec",
    "joint_test",
    "plot_specification_curve",
    "run_multiverse",
]

# Option aliases (to be moved to govstats/_literals.py).

#: pyfixest's ``fixef_tol`` in the fallback and in ``engine="pyfixest"`` (its default,
#: 1e-6, leaves errors of that order on unbalanced panels with several fixed effects).
PYFIXEST_FIXEF_TOL = 1e-12
# Alternating projections (several fixed effects) stop when the largest change is
# below this, on columns scaled to a maximum absolute value of 1.
_DEMEAN_TOL = 1e-13
# The fast path solves a specification only if its regressors are clearly not
# collinear: every Cholesky pivot of the scaled X'X (1 - R^2 of a regressor on the
# ones before it) >= _REL_PIVOT_TOL and every unscaled pivot >= _ABS_PIVOT_TOL,
# 100 times pyfixest's own absolute drop rule (collin_tol = 1e-9). Anything closer
# goes to pyfixest, which decides what to drop.
_REL_PIVOT_TOL = 1e-9
_ABS_PIVOT_TOL = 1e-7
_PYFIXEST_COLLIN_TOL = 1e-9  # pyfixest feols(collin_tol=) default
# Largest number of array cells built at once when batching specifications.
_MAX_CELLS = 2_000_000
# Progress bars appear by default above these sizes.
_PROGRESS_SPECS = 50_000
_PROGRESS_DRAWS = 100

_NO_FE = ("", "none", "0", "1")
_IID = ("iid",)
_HETERO = ("hetero", "hc1", "robust")


# =========================================================================== spec


@dataclass(frozen=True)
class _FixedEffects:
    label: str
    terms: tuple[tuple[str, ...], ...]  # each term: column names joined by ^ (interaction)

    @property
    def text(self) -> str:
        return " + ".join("^".join(t) for t in self.terms) if self.terms else "none"


@dataclass(frozen=True)
class _ClusterChoice:
    label: str
    kind: Literal["iid", "hetero", "cluster", "cluster2"]
    columns: tuple[str, ...]


def _labelled(value: Any, what: str, default_label: Callable[[Any], str]) -> tuple[tuple[str, Any], ...]:
    """Normalise a choice dimension to ((label, option), ...)."""
    if value is None:
        raise ValueError(f"{what} needs at least one option")
    if isinstance(value, str):
        items = [(default_label(value), value)]
    elif isinstance(value, Mapping):
        items = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, Sequence):
        items = []
        for v in value:
            if isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str):
                items.append(v)  # (label, option): the normalised form (dataclasses.replace)
            elif isinstance(v, _FixedEffects | _ClusterChoice):
                items.append((v.label, v))
            else:
                items.append((default_label(v), v))
    else:
        raise TypeError(
            f"{what} must be a list of options or a dict label -> option, got {type(value).__name__}"
        )
    if not items:
        raise ValueError(f"{what} needs at least one option")
    labels = [lab for lab, _ in items]
    dup = sorted({lab for lab in labels if labels.count(lab) > 1})
    if dup:
        raise ValueError(f"{what}: labels must be unique, repeated: {', '.join(map(repr, dup))}")
    return tuple(items)


def _column_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: options must be column names (non-empty strings), got {value!r}")
    return value.strip()


def _parse_fixed_effects(label: str, text: Any) -> _FixedEffects:
    if isinstance(text, _FixedEffects):
        return _FixedEffects(label, text.terms)
    if text is None:
        return _FixedEffects(label, ())
    if not isinstance(text, str):
        raise ValueError(
            f"fixed_effects option {label!r}: give a string such as 'unit + time' or "
            f"'unit_id + place_id^year', got {text!r}"
        )
    if text.strip().lower() in _NO_FE:
        return _FixedEffects(label, ())
    terms = []
    for raw in text.split("+"):
        parts = tuple(p.strip() for p in raw.split("^"))
        if not all(parts):
            raise ValueError(
                f"fixed_effects option {label!r}: cannot read {text!r}; write column names joined "
                "by '+' (several fixed effects) or '^' (an interaction), e.g. 'unit + place_id^year'"
            )
        terms.append(parts)
    if len(set(terms)) != len(terms):
        raise ValueError(f"fixed_effects option {label!r}: {text!r} repeats a fixed effect")
    return _FixedEffects(label, tuple(terms))


def _parse_cluster(label: str, text: Any) -> _ClusterChoice:
    if isinstance(text, _ClusterChoice):
        return _ClusterChoice(label, text.kind, text.columns)
    if not isinstance(text, str) or not text.strip():
        raise ValueError(
            f"clusters option {label!r}: give 'iid', 'hetero', a cluster column or two columns "
            f"'a + b', got {text!r}"
        )
    low = text.strip().lower()
    if low in _IID:
        return _ClusterChoice(label, "iid", ())
    if low in _HETERO:
        return _ClusterChoice(label, "hetero", ())
    cols = tuple(c.strip() for c in text.split("+"))
    if not all(cols) or len(cols) > 2 or len(set(cols)) != len(cols):
        raise ValueError(
            f"clusters option {label!r}: cannot read {text!r}; give one column or two different "
            "columns joined by '+'"
        )
    return _ClusterChoice(label, "cluster" if len(cols) == 1 else "cluster2", cols)


def _sample_label(v: Any) -> str:
    if v is None:
        return "all"
    if isinstance(v, str):
        return v
    raise ValueError(
        "samples given as a list must hold None or query strings; give a dict label -> "
        "(None, query string, boolean mask or callable) for other kinds"
    )


@dataclass(frozen=True, eq=False)
class MultiverseSpec:
    """The choice dimensions of a multiverse; immutable.

    Every combination of one option per dimension is a specification. The
    coefficient reported is the one on the treatment.

    Parameters
    ----------
    outcomes : list of str or dict label -> column
        Outcome definitions (dependent variables).
    treatments : list of str or dict label -> column
        The regressor whose coefficient each specification estimates (a staffing
        or mediation measure).
    controls : list of str or dict name -> list of str, optional
        A list: each column is an optional control, and every subset is tried
        (``2 ** len(controls)`` options, labelled ``"none"`` or ``"a + b"``). A dict:
        named control sets, one option each. A control equal to the
        specification's treatment or outcome is left out (list: subsets holding it
        are skipped; dict: it is removed from the set).
    fixed_effects : list of str or dict label -> str, default ``["unit + time"]``
        Fixed-effect structures in pyfixest syntax: columns joined by ``+``;
        ``a^b`` for the interaction (e.g. ``"unit_id + place_id^year"``);
        ``"none"`` for none (an intercept). With data indexed by ``(unit, time)``,
        ``unit`` and ``time`` name the two index levels.
    clusters : list of str or dict label -> str, default ``["unit"]``
        Standard errors: ``"iid"``, ``"hetero"`` (HC1), a cluster column (CR1), or
        ``"a + b"`` (two-way; estimated by pyfixest, not the fast path).
    samples : dict label -> sample, or list of query strings, optional
        Sample restrictions. A sample is ``None`` (all rows), a query string
        evaluated with :meth:`pandas.DataFrame.eval` on the data (index levels are
        columns), a boolean array with one value per row, or a callable taking the
        data (index levels as columns) and returning such an array. Default: all rows.
    always_controls : list of str, optional
        Controls included in every specification.
    level : float, default 0.95
        Confidence level of the intervals.

    Examples
    --------
    >>> spec = MultiverseSpec(outcomes=["y1", "y2"], treatments=["x"], controls=["c1", "c2"],
    ...                       fixed_effects=["unit", "unit + time"], clusters=["unit", "iid"],
    ...                       samples={"all": None, "late": "time >= 2010"})
    >>> spec.n_specifications  # 2 outcomes x 4 control subsets x 2 x 2 x 2
    64
    >>> spec.specifications().columns.tolist()[:7]
    ['spec_id', 'outcome', 'treatment', 'controls', 'fixed_effects', 'cluster', 'sample']
    """

    outcomes: Any
    treatments: Any
    controls: Any = ()
    fixed_effects: Any = ("unit + time",)
    clusters: Any = ("unit",)
    samples: Any = None
    always_controls: Sequence[str] = ()
    level: float = 0.95
    _control_sets: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        outcomes = tuple((lab, _column_name(v, "outcomes")) for lab, v in _labelled(self.outcomes, "outcomes", str))
        treatments = tuple(
            (lab, _column_name(v, "treatments")) for lab, v in _labelled(self.treatments, "treatments", str)
        )
        object.__setattr__(self, "outcomes", outcomes)
        object.__setattr__(self, "treatments", treatments)
        controls = self.controls
        if controls is None:
            controls = ()
        if isinstance(controls, str):
            controls = (controls,)
        if not isinstance(controls, Mapping) and len(controls) and all(
            isinstance(c, tuple) and len(c) == 2 and isinstance(c[1], tuple) for c in controls
        ):
            controls = dict(controls)  # named sets in the normalised form (dataclasses.replace)
        if isinstance(controls, Mapping):
            sets = []
            for name, cols in controls.items():
                if isinstance(cols, str):
                    cols = (cols,)
                if cols is None:
                    cols = ()
                sets.append((str(name), tuple(_column_name(c, "controls") for c in cols)))
            if not sets:
                raise ValueError("controls: a dict of control sets needs at least one set (use [] for none)")
            object.__setattr__(self, "controls", tuple(sets))
            object.__setattr__(self, "_control_sets", True)
        else:
            cols = tuple(_column_name(c, "controls") for c in controls)
            if len(set(cols)) != len(cols):
                raise ValueError(f"controls: {list(cols)} repeats a column")
            if len(cols) > 16:
                raise ValueError(
                    f"controls: {len(cols)} optional controls give 2**{len(cols)} subsets; give named "
                    "control sets (a dict) instead"
                )
            object.__setattr__(self, "controls", cols)
        always = (self.always_controls,) if isinstance(self.always_controls, str) else self.always_controls
        object.__setattr__(self, "always_controls", tuple(_column_name(c, "always_controls") for c in always))
        fes = _labelled(self.fixed_effects, "fixed_effects", lambda v: _parse_fixed_effects("", v).text)
        object.__setattr__(self, "fixed_effects", tuple(_parse_fixed_effects(lab, v) for lab, v in fes))
        cls = _labelled(self.clusters, "clusters", lambda v: str(v).strip())
        object.__setattr__(self, "clusters", tuple(_parse_cluster(lab, v) for lab, v in cls))
        samples = {"all": None} if self.samples is None else self.samples
        object.__setattr__(self, "samples", _labelled(samples, "samples", _sample_label))
        for lab, s in self.samples:
            if not (s is None or isinstance(s, str) or callable(s) or hasattr(s, "__len__")):
                raise ValueError(
                    f"samples option {lab!r}: give None, a query string, a boolean mask or a callable, "
                    f"got {type(s).__name__}"
                )
        if not 0.5 <= float(self.level) < 1:
            raise ValueError(f"level={self.level!r} must be in [0.5, 1)")
        opts = self._control_options()
        self._enumerate_base(opts)  # raises if nothing is left

    # -- enumeration
    def _control_options(self) -> list[tuple[str, tuple[str, ...]]]:
        if self._control_sets:
            return list(self.controls)
        cols = self.controls
        out = []
        for r in range(len(cols) + 1):
            for combo in itertools.combinations(cols, r):
                out.append((" + ".join(combo) if combo else "none", combo))
        return out

    def _enumerate_base(self, options) -> list[tuple[int, int, int, tuple[str, ...]]]:
        """(outcome, treatment, control option, control columns) combinations, in order."""
        base = []
        for o, (_, ocol) in enumerate(self.outcomes):
            for t, (_, tcol) in enumerate(self.treatments):
                if tcol == ocol:
                    continue
                for c, (_, cols) in enumerate(options):
                    if not self._control_sets and (tcol in cols or ocol in cols):
                        continue
                    ctrl = tuple(dict.fromkeys(x for x in (*cols, *self.always_controls) if x not in (tcol, ocol)))
                    base.append((o, t, c, ctrl))
        if not base:
            raise ValueError("no specification left: every treatment equals every outcome")
        return base

    @property
    def n_specifications(self) -> int:
        """Number of specifications (the product of the dimensions, less skipped combinations)."""
        return len(self._enumerate_base(self._control_options())) * len(self.fixed_effects) * len(
            self.clusters
        ) * len(self.samples)

    @property
    def control_columns(self) -> tuple[str, ...]:
        """Every control column that appears in some specification, in order of first mention."""
        cols = [c for _, s in self.controls for c in s] if self._control_sets else list(self.controls)
        return tuple(dict.fromkeys([*cols, *self.always_controls]))

    @property
    def dimensions(self) -> dict[str, list[str]]:
        """Option labels of each choice dimension."""
        return {
            "outcome": [lab for lab, _ in self.outcomes],
            "treatment": [lab for lab, _ in self.treatments],
            "controls": [lab for lab, _ in self._control_options()],
            "fixed_effects": [fe.label for fe in self.fixed_effects],
            "cluster": [c.label for c in self.clusters],
            "sample": [lab for lab, _ in self.samples],
        }

    def _codes(self) -> dict[str, np.ndarray]:
        """Integer codes of every specification's choices (spec_id order)."""
        opts = self._control_options()
        base = self._enumerate_base(opts)
        F, K, S = len(self.fixed_effects), len(self.clusters), len(self.samples)
        rep = F * K * S
        b = np.repeat(np.arange(len(base)), rep)
        rest = np.tile(np.arange(rep), len(base))
        arr = np.array([(o, t, c) for o, t, c, _ in base], dtype=np.int64).reshape(-1, 3)
        return {
            "base": b,
            "outcome": arr[b, 0],
            "treatment": arr[b, 1],
            "controls": arr[b, 2],
            "fixed_effects": rest // (K * S),
            "cluster": (rest // S) % K,
            "sample": rest % S,
        }

    def specifications(self) -> pd.DataFrame:
        """One row per specification: ``spec_id`` and the label of every choice.

        Columns ``spec_id, outcome, treatment, controls, fixed_effects, cluster,
        sample`` (categoricals), then one boolean column ``control: <column>`` per
        control column (True when the specification includes it).
        """
        codes = self._codes()
        base = self._enumerate_base(self._control_options())
        dims = self.dimensions
        out = {"spec_id": np.arange(len(codes["base"]))}
        for name in ("outcome", "treatment", "controls", "fixed_effects", "cluster", "sample"):
            out[name] = pd.Categorical.from_codes(codes[name], categories=pd.Index(dims[name], dtype=object))
        frame = pd.DataFrame(out)
        for col in self.control_columns:
            flags = np.array([col in ctrl for *_, ctrl in base], dtype=bool)
            frame[f"control: {col}"] = flags[codes["base"]]
        return frame

    def describe(self) -> str:
        """One line per dimension: its options."""
        lines = [f"{self.n_specifications} specifications:"]
        for name, labels in self.dimensions.items():
            shown = ", ".join(labels[:8]) + (f", ... ({len(labels)} in all)" if len(labels) > 8 else "")
            lines.append(f"  {name} ({len(labels)}): {shown}")
        return "\n".join(lines)


# =========================================================================== data


@dataclass
class _Prepared:
    """The data reduced to arrays: variables, id codes, sample masks."""

    values: np.ndarray  # (N, V) float; NaN = missing or non-finite
    var_names: tuple[str, ...]
    ids: np.ndarray  # (N, I) int64 codes >= 0
    id_names: tuple[str, ...]
    samples: np.ndarray  # (S, N) bool
    simulated: bool
    _frame: pd.DataFrame | None = None
    _sample_frames: dict | None = None

    @property
    def n_rows(self) -> int:
        return self.values.shape[0]

    def var(self, name: str) -> int:
        return self.var_names.index(name)

    def id(self, name: str) -> int:
        return self.id_names.index(name)

    def frame(self) -> pd.DataFrame:
        """The arrays as a DataFrame with formula-safe names (v0.., g0..) for pyfixest."""
        if self._frame is None:
            cols = {f"v{j}": self.values[:, j] for j in range(self.values.shape[1])}
            cols |= {f"g{j}": self.ids[:, j] for j in range(self.ids.shape[1])}
            self._frame = pd.DataFrame(cols)
            self._sample_frames = {}
        return self._frame

    def sample_frame(self, s: int) -> pd.DataFrame:
        frame = self.frame()
        if s not in self._sample_frames:
            self._sample_frames[s] = frame.loc[self.samples[s]].reset_index(drop=True)
        return self._sample_frames[s]

    def __getstate__(self):  # do not ship cached frames to Dask workers
        state = dict(self.__dict__)
        state["_frame"] = None
        state["_sample_frames"] = None
        return state


def _flat(data: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Index levels as columns; aliases 'unit' and 'time' for a (unit, time) MultiIndex."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    aliases: dict[str, str] = {}
    if isinstance(data.index, pd.MultiIndex):
        flat = data.reset_index()
        names = [str(c) for c in flat.columns[: data.index.nlevels]]
        if data.index.nlevels == 2:
            for alias, name in zip(("unit", "time"), names, strict=True):
                if alias not in flat.columns:
                    aliases[alias] = name
    elif data.index.name is not None and data.index.name not in data.columns:
        flat = data.reset_index()
    else:
        flat = data.reset_index(drop=True)
    return flat, aliases


def _prepare(spec: MultiverseSpec, data: pd.DataFrame, *, extra_ids: Sequence[str] = ()) -> _Prepared:
    flat, aliases = _flat(data)
    simulated = bool(data.attrs.get("simulated", False))
    resolve = lambda name: aliases.get(name, name)  # noqa: E731
    var_names = list(dict.fromkeys(
        [c for _, c in spec.outcomes] + [c for _, c in spec.treatments] + list(spec.control_columns)
    ))
    id_names = list(dict.fromkeys(
        [n for fe in spec.fixed_effects for t in fe.terms for n in t]
        + [n for c in spec.clusters for n in c.columns]
        + list(extra_ids)
    ))
    problems: list[Problem] = []
    columns = set(map(str, flat.columns))
    shown_cols = ", ".join(map(str, flat.columns))
    hint_alias = (" ('unit' and 'time' name the index levels of data indexed by (unit, time))"
                  if not aliases else f" (aliases: {', '.join(f'{a} = {n}' for a, n in aliases.items())})")
    for name in var_names:
        col = resolve(name)
        if col not in columns:
            problems.append(Problem("variable is not a column of the data", column=name,
                                    hint=f"columns: {shown_cols}"))
        elif not (pd.api.types.is_numeric_dtype(flat[col]) or pd.api.types.is_bool_dtype(flat[col])):
            bad = flat[col].dropna()
            problems.append(Problem(
                f"variable is not numeric (dtype {flat[col].dtype})", column=name,
                value=bad.iloc[0] if len(bad) else None,
                hint="convert it to numbers first (govstats.quantities parses Chinese quantities)",
            ))
    for name in id_names:
        col = resolve(name)
        if col not in columns:
            problems.append(Problem("fixed-effect or cluster variable is not a column of the data",
                                    column=name, hint=f"columns: {shown_cols}{hint_alias}"))
            continue
        miss = np.flatnonzero(flat[col].isna().to_numpy())
        for pos in miss:
            problems.append(Problem(
                "missing value in a fixed-effect or cluster variable", row=int(pos) + 2, column=name,
                value=flat[col].iloc[pos],
                hint="fill it or drop the row before the multiverse (row = position + 2, as in a CSV)",
            ))
    masks = []
    for label, s in spec.samples:
        mask, problem = _sample_mask(label, s, flat, data)
        if problem is not None:
            problems.append(problem)
        masks.append(mask)
    DataValidationError.raise_if_any(problems, what="data passed to the multiverse")
    n = len(flat)
    if n == 0:
        raise GovstatsError("the data have no rows")
    values = np.empty((n, len(var_names)))
    for j, name in enumerate(var_names):
        values[:, j] = flat[resolve(name)].to_numpy(dtype=float, na_value=np.nan)
    values[~np.isfinite(values)] = np.nan
    ids = np.empty((n, len(id_names)), dtype=np.int64)
    for j, name in enumerate(id_names):
        ids[:, j] = pd.factorize(flat[resolve(name)], sort=True)[0]
    empty = [label for (label, _), m in zip(spec.samples, masks, strict=True) if not m.any()]
    if empty:
        raise GovstatsError(f"sample(s) {', '.join(map(repr, empty))} select no rows")
    return _Prepared(
        values=values, var_names=tuple(var_names), ids=ids, id_names=tuple(id_names),
        samples=np.array(masks, dtype=bool).reshape(len(masks), n), simulated=simulated,
    )


def _sample_mask(label: str, s: Any, flat: pd.DataFrame, data: pd.DataFrame) -> tuple[np.ndarray, Problem | None]:
    n = len(flat)
    full = np.ones(n, dtype=bool)
    try:
        if s is None:
            return full, None
        if isinstance(s, str):
            out = flat.eval(s)
        elif callable(s):
            out = s(flat)
        else:
            out = s
        if isinstance(out, pd.Series):
            if out.index.equals(data.index) or out.index.equals(flat.index):
                out = out.to_numpy()
            else:
                return full, Problem(
                    f"sample {label!r}: the boolean Series has an index that matches neither the data "
                    "nor its rows", column="samples", hint="pass a numpy array with one value per row")
        arr = np.asarray(out)
        if arr.shape != (n,) or arr.dtype != bool:
            return full, Problem(
                f"sample {label!r} must give one True/False per row ({n}); got shape {arr.shape}, "
                f"dtype {arr.dtype}", column="samples", value=s if isinstance(s, str) else None,
                hint="a query such as \"place_id != 'futian'\" or \"year >= 2012\"")
        return arr.copy(), None
    except Exception as exc:  # pandas raises many types for a bad query
        return full, Problem(f"sample {label!r} could not be evaluated: {exc}", column="samples",
                             value=s if isinstance(s, str) else None,
                             hint=f"columns available: {', '.join(map(str, flat.columns))}")


# =========================================================================== plan


@dataclass
class _Piece:
    """Specifications of one block with the same number of regressors k."""

    spec_ids: np.ndarray  # positions in the plan's spec list
    lidx: np.ndarray  # (B, k + 1): block-local variable positions (outcome, treatment, controls)
    lcl: np.ndarray  # (B,): position in the block's cluster list


@dataclass
class _BlockPlan:
    fe: int
    sample: int
    miss_vars: tuple[int, ...]  # global variable indices whose missing rows this block excludes
    vars: np.ndarray  # global variable indices, block-local order
    clusters: tuple[int, ...]  # cluster choice indices
    pieces: list[_Piece]

    @property
    def n_specs(self) -> int:
        return int(sum(len(p.spec_ids) for p in self.pieces))


@dataclass
class _Plan:
    """Which specifications share a demeaning, and their regressor indices; data-independent
    apart from the pattern of missing values."""

    spec_ids: np.ndarray  # global spec ids, plan order
    idx: np.ndarray  # (n, kmax + 1) global variable indices, -1 padded
    k: np.ndarray  # (n,) number of regressors
    fe: np.ndarray
    cluster: np.ndarray
    sample: np.ndarray
    fe_terms: list[list[tuple[int, ...]]]  # per FE choice: id indices of each term
    cluster_kind: list[str]
    cluster_ids: list[tuple[int, ...]]
    blocks: list[_BlockPlan]
    fallback: np.ndarray  # plan positions the fast path does not cover (two-way clusters)


def _make_plan(spec: MultiverseSpec, prep: _Prepared, spec_ids: np.ndarray | None = None) -> _Plan:
    codes = spec._codes()
    base = spec._enumerate_base(spec._control_options())
    n_all = len(codes["base"])
    spec_ids = np.arange(n_all) if spec_ids is None else np.asarray(spec_ids, dtype=np.int64)
    kmax = max(len(ctrl) for *_, ctrl in base) + 1
    base_idx = np.full((len(base), kmax + 1), -1, dtype=np.int64)
    base_k = np.empty(len(base), dtype=np.int64)
    for m, (o, t, _c, ctrl) in enumerate(base):
        cols = [spec.outcomes[o][1], spec.treatments[t][1], *ctrl]
        base_idx[m, : len(cols)] = [prep.var(c) for c in cols]
        base_k[m] = len(cols) - 1
    b = codes["base"][spec_ids]
    fe = codes["fixed_effects"][spec_ids]
    cl = codes["cluster"][spec_ids]
    sm = codes["sample"][spec_ids]
    V = len(prep.var_names)
    # missing pattern: which variables with missing rows (within the sample) each spec uses
    miss = np.array([np.isnan(prep.values[m]).any(axis=0) for m in prep.samples]).reshape(len(prep.samples), V)
    uses = np.zeros((len(base), V), dtype=bool)
    rows = np.repeat(np.arange(len(base)), kmax + 1)
    valid = base_idx.ravel() >= 0
    uses[rows[valid], base_idx.ravel()[valid]] = True
    pattern = uses[:, None, :] & miss[None, :, :]  # (M, S, V)
    packed = np.packbits(pattern, axis=2).reshape(len(base) * len(prep.samples), -1)
    _, pat_code = np.unique(packed, axis=0, return_inverse=True)
    pat_code = pat_code.reshape(len(base), len(prep.samples))
    key = np.column_stack([fe, sm, pat_code[b, sm]])
    ukeys, block_of = np.unique(key, axis=0, return_inverse=True)
    block_of = block_of.ravel()
    kinds = [c.kind for c in spec.clusters]
    fallback_mask = np.array([kinds[c] == "cluster2" for c in cl], dtype=bool) if len(cl) else np.zeros(0, bool)
    order = np.argsort(block_of, kind="stable")
    bounds = np.searchsorted(block_of[order], np.arange(len(ukeys) + 1))
    blocks = []
    idx_all = base_idx[b]
    k_all = base_k[b]
    for j, (f, s, _p) in enumerate(ukeys):
        members = order[bounds[j]: bounds[j + 1]]
        members = members[~fallback_mask[members]]
        if len(members) == 0:
            continue
        used = np.unique(idx_all[members][idx_all[members] >= 0])
        mv = tuple(int(v) for v in used if miss[s, v])
        g2l = np.full(V, -1, dtype=np.int64)
        g2l[used] = np.arange(len(used))
        bclusters = tuple(int(c) for c in np.unique(cl[members]))
        c2l = np.full(len(spec.clusters), -1, dtype=np.int64)
        c2l[list(bclusters)] = np.arange(len(bclusters))
        pieces = []
        for kk in np.unique(k_all[members]):
            sel = members[k_all[members] == kk]
            lidx = g2l[idx_all[sel, : kk + 1]]
            lcl = c2l[cl[sel]]
            pieces.append(_Piece(sel, lidx, lcl))
        blocks.append(_BlockPlan(int(f), int(s), mv, used, bclusters, pieces))
    fe_terms = [[tuple(prep.id(n) for n in term) for term in f.terms] for f in spec.fixed_effects]
    return _Plan(
        spec_ids=spec_ids, idx=idx_all, k=k_all, fe=fe, cluster=cl, sample=sm, fe_terms=fe_terms,
        cluster_kind=kinds, cluster_ids=[tuple(prep.id(n) for n in c.columns) for c in spec.clusters],
        blocks=blocks, fallback=np.flatnonzero(fallback_mask),
    )


# =========================================================================== fast path


class _NotConverged(GovstatsError):
    pass


def _combine(ids: np.ndarray, term: tuple[int, ...], rows: np.ndarray) -> np.ndarray:
    """Codes 0..L-1 of an (interacted) id term on the given rows."""
    codes = ids[rows, term[0]]
    for j in term[1:]:
        other = ids[rows, j]
        codes = codes * (int(other.max()) + 1 if len(other) else 1) + other
    return np.unique(codes, return_inverse=True)[1].ravel()


def _indicator(codes: np.ndarray, n_groups: int) -> scipy.sparse.csr_matrix:
    n = len(codes)
    return scipy.sparse.csr_matrix((np.ones(n), (codes, np.arange(n))), shape=(n_groups, n))


def _demean(Z: np.ndarray, fe_codes: list[np.ndarray]) -> np.ndarray:
    if not fe_codes:
        return Z - Z.mean(axis=0)
    if len(fe_codes) == 1:
        codes = fe_codes[0]
        G = int(codes.max()) + 1
        D = _indicator(codes, G)
        counts = np.asarray(D.sum(axis=1)).ravel()
        return Z - (D @ Z / counts[:, None])[codes]
    from pyfixest.core.demean import demean

    scale = np.abs(Z).max(axis=0)
    scale[scale == 0] = 1.0
    flist = np.column_stack(fe_codes).astype(np.uint64)
    out, ok = demean(np.ascontiguousarray(Z / scale), flist, np.ones(len(Z)), tol=_DEMEAN_TOL, maxiter=100_000)
    if not ok:
        raise _NotConverged("alternating projections did not converge")
    return np.asarray(out) * scale


def _is_nested(fe_codes: np.ndarray, cluster_codes: np.ndarray) -> bool:
    """Every level of the fixed effect lies inside one cluster."""
    g = int(fe_codes.max()) + 1
    first = np.empty(g, dtype=cluster_codes.dtype)
    first[fe_codes[::-1]] = cluster_codes[::-1]
    return bool(np.array_equal(first[fe_codes], cluster_codes))


@dataclass
class _ClusterData:
    kind: str
    G: int
    offset: int  # K = k + offset
    Cg: np.ndarray | None  # (G, p, p) per-cluster cross-products


@dataclass
class _BlockData:
    N: int
    n_missing: int
    n_singletons: int
    C: np.ndarray  # (p, p)
    Z: np.ndarray | None  # (N, p), kept for HC1
    clusters: list[_ClusterData]
    failed: str = ""


def _block_data(prep: _Prepared, plan: _Plan, bp: _BlockPlan) -> _BlockData:
    mask = prep.samples[bp.sample]
    n_sample = int(mask.sum())
    if bp.miss_vars:
        mask = mask & ~np.isnan(prep.values[:, list(bp.miss_vars)]).any(axis=1)
    rows = np.flatnonzero(mask)
    n_missing = n_sample - len(rows)
    terms = plan.fe_terms[bp.fe]
    n_single = 0
    fe_codes: list[np.ndarray] = []
    if terms and len(rows):
        fe_codes = [_combine(prep.ids, t, rows) for t in terms]
        from pyfixest.core.detect_singletons import detect_singletons

        single = np.asarray(detect_singletons(np.column_stack(fe_codes)), dtype=bool)
        if single.any():
            n_single = int(single.sum())
            rows = rows[~single]
            fe_codes = [_combine(prep.ids, t, rows) for t in terms]
    N = len(rows)
    p = len(bp.vars)
    if N == 0:
        return _BlockData(0, n_missing, n_single, np.zeros((p, p)), None, [], failed="no observations")
    try:
        Z = _demean(prep.values[np.ix_(rows, bp.vars)], fe_codes)
    except _NotConverged as exc:
        return _BlockData(N, n_missing, n_single, np.zeros((p, p)), None, [], failed=str(exc))
    C = Z.T @ Z
    levels = [int(c.max()) + 1 for c in fe_codes]
    k_fe_adj = sum(levels) - (len(levels) - 1) if levels else 0
    clusters = []
    need_z = False
    for c in bp.clusters:
        kind = plan.cluster_kind[c]
        if not terms:
            offset = 1  # the intercept
        else:
            offset = k_fe_adj
        if kind == "cluster":
            ccodes = np.unique(prep.ids[rows, plan.cluster_ids[c][0]], return_inverse=True)[1].ravel()
            G = int(ccodes.max()) + 1
            if terms:
                nested = [lv for code, lv in zip(fe_codes, levels, strict=True) if _is_nested(code, ccodes)]
                offset = k_fe_adj - sum(nested) + len(nested)
            clusters.append(_ClusterData(kind, G, offset, _cluster_crossproducts(Z, ccodes, G)))
        else:
            need_z |= kind == "hetero"
            clusters.append(_ClusterData(kind, N, offset, None))
    return _BlockData(N, n_missing, n_single, C, Z if need_z else None, clusters)


def _cluster_crossproducts(Z: np.ndarray, codes: np.ndarray, G: int) -> np.ndarray:
    n, p = Z.shape
    out = np.zeros((G, p * p))
    step = max(1, _MAX_CELLS // max(p * p, 1))
    for start in range(0, n, step):
        Zc = Z[start: start + step]
        outer = (Zc[:, :, None] * Zc[:, None, :]).reshape(len(Zc), p * p)
        out += _indicator(codes[start: start + step], G) @ outer
    return out.reshape(G, p, p)


@dataclass
class _Estimates:
    """Per-specification output arrays (plan order)."""

    estimate: np.ndarray
    std_error: np.ndarray
    df: np.ndarray
    nobs: np.ndarray
    n_clusters: np.ndarray
    engine: np.ndarray  # 0 fast, 1 pyfixest, -1 not estimated
    note: np.ndarray  # object: "" or a reason

    @classmethod
    def empty(cls, n: int) -> _Estimates:
        return cls(
            estimate=np.full(n, np.nan), std_error=np.full(n, np.nan), df=np.full(n, np.nan),
            nobs=np.zeros(n, dtype=np.int64), n_clusters=np.full(n, np.nan),
            engine=np.full(n, -1, dtype=np.int8), note=np.full(n, "", dtype=object),
        )

    def put(self, pos: np.ndarray, other: _Estimates) -> None:
        for name in ("estimate", "std_error", "df", "nobs", "n_clusters", "engine", "note"):
            getattr(self, name)[pos] = getattr(other, name)


_NOTE_COLLINEAR = "collinear or absorbed regressor"
_NOTE_TWOWAY = "two-way clustering"


def _scatter(li: np.ndarray, values: np.ndarray, p: int) -> np.ndarray:
    """(b, k+1) values at block-local positions li -> dense (b, p) rows (zeros elsewhere)."""
    out = np.zeros((len(li), p))
    out[np.arange(len(li))[:, None], li] = values
    return out


def _pyfixest_drops(A: np.ndarray, tol: float = _PYFIXEST_COLLIN_TOL) -> tuple[np.ndarray, bool]:
    """Which regressors pyfixest drops as collinear, and whether every decision is clear.

    pyfixest's rule (``find_collinear_variables(X'X, collin_tol)``): a Cholesky
    factorisation of ``X'X`` in column order; a column whose squared residual norm,
    after projection on the kept columns before it, is below ``tol`` is dropped.
    ``clear`` is False when a kept pivot is below 100 ``tol`` or a dropped one above
    ``tol / 100`` (then rounding could tip the decision, and pyfixest itself decides).
    """
    k = A.shape[0]
    R = np.zeros((k, k))
    dropped = np.zeros(k, dtype=bool)
    clear = True
    for j in range(k):
        kept = np.flatnonzero(~dropped[:j])
        v = A[j, j] - float(R[kept, j] @ R[kept, j])
        if v < tol:
            dropped[j] = True
            clear &= v < tol / 100
            continue
        clear &= v >= tol * 100
        R[j, j] = math.sqrt(v)
        R[j, j + 1:] = (A[j, j + 1:] - R[kept, j] @ R[kept, j + 1:]) / R[j, j]
    return dropped, bool(clear)


def _solve_piece(bd: _BlockData, piece: _Piece) -> tuple[_Estimates, np.ndarray]:
    """Estimates for one piece; second value: True where the fast path could not solve.

    Specifications with collinear regressors get pyfixest's treatment when its decision
    is clear: the controls it would drop are dropped and the rest solved here; if it
    would drop the treatment, the specification is not estimated.
    """
    est, todo, collinear = _solve_clear(bd, piece)
    if not collinear.any():
        return est, todo
    reduced: dict[int, list[tuple[int, np.ndarray]]] = {}
    lidx = piece.lidx
    for i in np.flatnonzero(collinear):
        A = bd.C[lidx[i, 1:, None], lidx[i, None, 1:]]
        dropped, clear = _pyfixest_drops(A)
        if not clear:
            todo[i] = True
        elif dropped[0]:
            est.note[i] = "not estimated: the treatment is collinear with the fixed effects or controls"
            est.nobs[i] = bd.N
        else:
            keep = np.concatenate([[0], 1 + np.flatnonzero(~dropped)])
            reduced.setdefault(len(keep), []).append((i, lidx[i, keep]))
            est.note[i] = f"{int(dropped.sum())} control(s) dropped as collinear"
    for rows in reduced.values():
        which = np.array([i for i, _ in rows])
        sub = _Piece(piece.spec_ids[which], np.array([li for _, li in rows]), piece.lcl[which])
        e, t, col = _solve_clear(bd, sub)
        notes = est.note[which]
        est.put(which, e)
        est.note[which] = notes
        todo[which[t | col]] = True
    return est, todo


def _solve_clear(bd: _BlockData, piece: _Piece) -> tuple[_Estimates, np.ndarray, np.ndarray]:
    """Solve the specifications whose regressors are clearly not collinear.

    Returns the estimates, ``todo`` (not solved for another reason: no residual degrees
    of freedom, fixed effects that failed) and ``collinear`` (not solved: a pivot check failed).
    """
    B = len(piece.spec_ids)
    est = _Estimates.empty(B)
    todo = np.zeros(B, dtype=bool)
    collinear = np.zeros(B, dtype=bool)
    if bd.failed:
        todo[:] = True
        return est, todo, collinear
    lidx = piece.lidx
    k = lidx.shape[1] - 1
    p = bd.C.shape[0]
    Cfull = bd.C[lidx[:, :, None], lidx[:, None, :]]  # (B, k+1, k+1): (y, X) x (y, X)
    A = Cfull[:, 1:, 1:]
    c = Cfull[:, 1:, 0]
    d2 = np.einsum("bii->bi", A)
    ok = (d2 >= _ABS_PIVOT_TOL).all(axis=1)
    d = np.sqrt(np.where(d2 > 0, d2, 1.0))
    As = A / d[:, :, None] / d[:, None, :]
    piv = np.zeros((B, k))
    try:
        L = np.linalg.cholesky(As)
        piv = np.einsum("bii->bi", L) ** 2
    except np.linalg.LinAlgError:
        for i in range(B):
            try:
                piv[i] = np.diag(np.linalg.cholesky(As[i])) ** 2
            except np.linalg.LinAlgError:
                piv[i] = 0.0
    ok &= (piv >= _REL_PIVOT_TOL).all(axis=1) & (piv * d2 >= _ABS_PIVOT_TOL).all(axis=1)
    collinear[~ok] = True
    df_k = k + np.array([c.offset for c in bd.clusters], dtype=np.int64)[piece.lcl]
    todo[ok & (bd.N - df_k <= 0)] = True
    ok &= bd.N - df_k > 0
    if not ok.any():
        return est, todo, collinear
    pos = np.flatnonzero(ok)
    rhs = np.zeros((len(pos), k, 2))
    rhs[:, :, 0] = c[pos]
    rhs[:, 0, 1] = 1.0
    sol = np.linalg.solve(A[pos], rhs)
    beta, w = sol[:, :, 0], sol[:, :, 1]
    r = np.concatenate([np.ones((len(pos), 1)), -beta], axis=1)  # residual = Z[:, (y, X)] @ r
    wv = np.concatenate([np.zeros((len(pos), 1)), w], axis=1)
    var = np.full(len(pos), np.nan)
    dfs = np.full(len(pos), np.nan)
    G = np.full(len(pos), np.nan)
    N = bd.N
    lcl = piece.lcl[pos]
    dk = df_k[pos]
    for j, cd in enumerate(bd.clusters):
        sel = np.flatnonzero(lcl == j)
        if not len(sel):
            continue
        if cd.kind == "iid":
            rss = np.einsum("bi,bij,bj->b", r[sel], Cfull[pos[sel]], r[sel])
            var[sel] = rss / (N - dk[sel]) * w[sel, 0]
            dfs[sel] = N - dk[sel]
        elif cd.kind == "hetero":
            # residual and w-weighted regressor of every observation: Z @ (scattered r, w)
            step = max(1, _MAX_CELLS // (3 * N + 2 * p))
            for a in range(0, len(sel), step):
                ss = sel[a: a + step]
                R, W = _scatter(lidx[pos[ss]], r[ss], p), _scatter(lidx[pos[ss]], wv[ss], p)
                eh = (bd.Z @ R.T) * (bd.Z @ W.T)  # (N, b)
                var[ss] = N / (N - dk[ss]) * np.einsum("nb,nb->b", eh, eh)
            dfs[sel] = N - dk[sel]
        else:
            Gj = cd.G
            if Gj < 2:
                continue
            # w' C_g r for every cluster g: vec(w r') (scattered to p x p) times the stacked C_g
            Cg2 = cd.Cg.reshape(Gj, p * p)
            step = max(1, _MAX_CELLS // (p * p + Gj))
            rows = None
            for a in range(0, len(sel), step):
                ss = sel[a: a + step]
                li = lidx[pos[ss]]
                b = len(ss)
                M = np.zeros((b, p, p))
                if rows is None or len(rows) != b:
                    rows = np.arange(b)[:, None, None]
                M[rows, li[:, :, None], li[:, None, :]] = wv[ss][:, :, None] * r[ss][:, None, :]
                T = M.reshape(b, p * p) @ Cg2.T  # (b, G)
                fac = Gj / (Gj - 1) * (N - 1) / (N - dk[ss])
                var[ss] = fac * np.einsum("bg,bg->b", T, T)
            dfs[sel] = Gj - 1
            G[sel] = Gj
    est.estimate[pos] = beta[:, 0]
    est.std_error[pos] = np.sqrt(np.where(var >= 0, var, np.nan))
    est.df[pos] = dfs
    est.nobs[pos] = N
    est.n_clusters[pos] = G
    est.engine[pos] = 0
    return est, todo, collinear


# =========================================================================== pyfixest


@dataclass
class _SpecRows:
    """What pyfixest needs to know about some specifications (global variable/choice indices)."""

    idx: np.ndarray  # (n, kmax + 1): outcome, treatment, controls; -1 padded
    k: np.ndarray
    fe: np.ndarray
    cluster: np.ndarray
    sample: np.ndarray

    @classmethod
    def from_plan(cls, plan: _Plan, positions: np.ndarray) -> _SpecRows:
        return cls(plan.idx[positions], plan.k[positions], plan.fe[positions], plan.cluster[positions],
                   plan.sample[positions])

    @classmethod
    def from_piece(cls, bp: _BlockPlan, piece: _Piece, which: np.ndarray) -> _SpecRows:
        n = len(which)
        return cls(bp.vars[piece.lidx[which]], np.full(n, piece.lidx.shape[1] - 1), np.full(n, bp.fe),
                   np.asarray(bp.clusters, dtype=np.int64)[piece.lcl[which]], np.full(n, bp.sample))


def _formula(plan: _Plan, rows: _SpecRows, i: int) -> tuple[str, Any]:
    idx = rows.idx[i, : rows.k[i] + 1]
    fml = f"v{idx[0]} ~ " + " + ".join(f"v{v}" for v in idx[1:])
    terms = plan.fe_terms[rows.fe[i]]
    if terms:
        fml += " | " + " + ".join("^".join(f"g{j}" for j in t) for t in terms)
    c = rows.cluster[i]
    kind = plan.cluster_kind[c]
    if kind in ("iid", "hetero"):
        vcov: Any = kind
    else:
        vcov = {"CRV1": "+".join(f"g{j}" for j in plan.cluster_ids[c])}
    return fml, vcov


def _fit_pyfixest(prep: _Prepared, plan: _Plan, rows: _SpecRows, reason: str = "") -> _Estimates:
    """One pyfixest.feols call per specification (the reference and the fallback)."""
    import pyfixest as pf

    n_rows = len(rows.k)
    out = _Estimates.empty(n_rows)
    for n in range(n_rows):
        fml, vcov = _formula(plan, rows, n)
        data = prep.sample_frame(int(rows.sample[n]))
        treat = f"v{rows.idx[n, 1]}"
        prefix = reason + ": " if reason else ""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # pyfixest warns about singletons, collinearity...
            try:
                try:
                    fit = pf.feols(fml, data, vcov=vcov, fixef_tol=PYFIXEST_FIXEF_TOL, copy_data=False)
                except Exception as exc:
                    if "converge" not in str(exc).lower():
                        raise
                    fit = pf.feols(fml, data, vcov=vcov, copy_data=False)
                    prefix += "pyfixest at its default fixef_tol (tight tolerance did not converge); "
                coef = fit.coef()
                se = fit.se()
            except Exception as exc:  # pyfixest raises many types (all collinear, no rows...)
                if "all variables are collinear" in " ".join(str(exc).lower().split()):
                    out.note[n] = prefix + "not estimated: pyfixest dropped the treatment (collinear)"
                else:
                    msg = " ".join(str(exc).split())
                    out.note[n] = prefix + f"not estimated: pyfixest failed ({type(exc).__name__}: {msg})"
                continue
        if treat not in coef.index:
            out.note[n] = prefix + "not estimated: pyfixest dropped the treatment (collinear)"
            out.nobs[n] = int(fit._N)
            continue
        out.estimate[n] = float(coef[treat])
        out.std_error[n] = float(se[treat])
        out.df[n] = float(fit._df_t)
        out.nobs[n] = int(fit._N)
        if fit._is_clustered:
            out.n_clusters[n] = float(np.min(fit._G))
        out.engine[n] = 1
        dropped = [c for c in (fit._collin_vars or []) if c != treat]
        note = prefix.rstrip("; :")
        if dropped:
            note = (note + "; " if note else "") + f"{len(dropped)} control(s) dropped as collinear"
        out.note[n] = note
    return out


# =========================================================================== runner


def _solve_block_pieces(prep: _Prepared, plan: _Plan, bd: _BlockData, bp: _BlockPlan,
                        pieces: Sequence[_Piece], engine: str) -> tuple[np.ndarray, _Estimates]:
    """Solve pieces of one block; returns (plan positions, estimates)."""
    positions = np.concatenate([p.spec_ids for p in pieces]) if pieces else np.zeros(0, np.int64)
    est = _Estimates.empty(len(positions))
    start = 0
    reason = _NOTE_COLLINEAR if not bd.failed else f"fixed effects: {bd.failed}"
    for piece in pieces:
        e, todo = _solve_piece(bd, piece)
        sl = np.arange(start, start + len(piece.spec_ids))
        start += len(piece.spec_ids)
        if todo.any():
            which = np.flatnonzero(todo)
            if engine == "fast":
                e.note[which] = f"not estimated by the fast path ({reason}; engine='fast')"
            else:
                e.put(which, _fit_pyfixest(prep, plan, _SpecRows.from_piece(bp, piece, which), reason))
        est.put(sl, e)
    return positions, est


def _chunks(plan: _Plan, chunk_size: int) -> list[tuple[int, list[_Piece]]]:
    """(block index, pieces) work units of at most ``chunk_size`` specifications."""
    out = []
    for j, bp in enumerate(plan.blocks):
        current: list[_Piece] = []
        size = 0
        for piece in bp.pieces:
            for a in range(0, len(piece.spec_ids), chunk_size):
                sl = slice(a, a + chunk_size)
                part = _Piece(piece.spec_ids[sl], piece.lidx[sl], piece.lcl[sl])
                if size + len(part.spec_ids) > chunk_size and current:
                    out.append((j, current))
                    current, size = [], 0
                current.append(part)
                size += len(part.spec_ids)
        if current:
            out.append((j, current))
    return out


def _one_blas_thread():
    """Keep BLAS to one thread while solving: the problems are small and many, and BLAS threads
    that spin between calls slow them several-fold on a busy machine (parallelism comes from
    Dask instead). No-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _run_local(prep: _Prepared, plan: _Plan, engine: str, chunk_size: int, progress: bool,
               desc: str = "multiverse") -> _Estimates:
    with _one_blas_thread():
        return _run_local_inner(prep, plan, engine, chunk_size, progress, desc)


def _run_local_inner(prep: _Prepared, plan: _Plan, engine: str, chunk_size: int, progress: bool,
                     desc: str) -> _Estimates:
    n = len(plan.spec_ids)
    est = _Estimates.empty(n)
    blocks: dict[int, _BlockData] = {}
    bar = _progress(n, progress, desc)
    try:
        if engine == "pyfixest":
            step = max(1, min(chunk_size, 200))
            for a in range(0, n, step):
                pos = np.arange(a, min(n, a + step))
                est.put(pos, _fit_pyfixest(prep, plan, _SpecRows.from_plan(plan, pos)))
                bar.update(len(pos))
            return est
        for j, pieces in _chunks(plan, chunk_size):
            if j not in blocks:
                blocks[j] = _block_data(prep, plan, plan.blocks[j])
            pos, e = _solve_block_pieces(prep, plan, blocks[j], plan.blocks[j], pieces, engine)
            est.put(pos, e)
            bar.update(len(pos))
        pos = plan.fallback
        if len(pos):
            est.put(pos, _fallback_twoway(prep, plan, _SpecRows.from_plan(plan, pos), engine))
            bar.update(len(pos))
    finally:
        bar.close()
    return est


def _fallback_twoway(prep: _Prepared, plan: _Plan, rows: _SpecRows, engine: str) -> _Estimates:
    if engine == "fast":
        est = _Estimates.empty(len(rows.k))
        est.note[:] = f"not estimated by the fast path ({_NOTE_TWOWAY}; engine='fast')"
        return est
    return _fit_pyfixest(prep, plan, rows, _NOTE_TWOWAY)


def _progress(total: int, show: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="spec" if "draw" not in desc else "draw", disable=not show,
                mininterval=0.5, leave=False)


def _client(scheduler: Any):
    from distributed import Client

    if isinstance(scheduler, str):
        return Client(scheduler), True
    if isinstance(scheduler, Client):
        return scheduler, False
    raise TypeError(
        f"scheduler must be a Dask scheduler address ('tcp://host:8786') or a distributed.Client, "
        f"got {type(scheduler).__name__}"
    )


def _light(plan: _Plan) -> _Plan:
    """The plan without its per-specification arrays: what every task needs (choice -> ids)."""
    empty = np.zeros(0, dtype=np.int64)
    return _Plan(spec_ids=empty, idx=empty.reshape(0, 0), k=empty, fe=empty, cluster=empty, sample=empty,
                 fe_terms=plan.fe_terms, cluster_kind=plan.cluster_kind, cluster_ids=plan.cluster_ids,
                 blocks=[], fallback=empty)


def _bare(bp: _BlockPlan) -> _BlockPlan:
    return _BlockPlan(bp.fe, bp.sample, bp.miss_vars, bp.vars, bp.clusters, [])


def _dask_block(prep, plan, bp):
    with _one_blas_thread():
        return _block_data(prep, plan, bp)


def _dask_chunk(prep, plan, bd, bp, pieces, engine):
    with _one_blas_thread():
        return _solve_block_pieces(prep, plan, bd, bp, pieces, engine)


def _dask_rows(prep, plan, positions, rows, engine, kind):
    if kind == "pyfixest":
        return positions, _fit_pyfixest(prep, plan, rows)
    return positions, _fallback_twoway(prep, plan, rows, engine)


def _run_dask(prep: _Prepared, plan: _Plan, engine: str, chunk_size: int, progress: bool,
              scheduler: Any) -> _Estimates:
    from distributed import as_completed

    client, own = _client(scheduler)
    n = len(plan.spec_ids)
    est = _Estimates.empty(n)
    futures = []
    try:
        prep_f, plan_f = client.scatter([prep, _light(plan)], broadcast=True, hash=False)
        if engine == "pyfixest":
            for a in range(0, n, chunk_size):
                pos = np.arange(a, min(n, a + chunk_size))
                futures.append(client.submit(_dask_rows, prep_f, plan_f, pos, _SpecRows.from_plan(plan, pos),
                                             engine, "pyfixest", pure=False))
        else:
            block_f = {}
            for j, pieces in _chunks(plan, chunk_size):
                bp = _bare(plan.blocks[j])
                if j not in block_f:
                    block_f[j] = client.submit(_dask_block, prep_f, plan_f, bp, pure=False)
                futures.append(client.submit(_dask_chunk, prep_f, plan_f, block_f[j], bp, pieces, engine,
                                             pure=False))
            if len(plan.fallback):
                pos = plan.fallback
                futures.append(client.submit(_dask_rows, prep_f, plan_f, pos, _SpecRows.from_plan(plan, pos),
                                             engine, "twoway", pure=False))
        bar = _progress(n, progress, "multiverse (dask)")
        try:
            for fut in as_completed(futures):
                pos, e = fut.result()
                est.put(pos, e)
                bar.update(len(pos))
        finally:
            bar.close()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        if own:
            client.close()
    return est


# =========================================================================== results


def _pvalues(t: np.ndarray, df: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return 2 * stats.t.sf(np.abs(t), df)


@dataclass(frozen=True, repr=False)
class MultiverseResults:
    """Read-only results of :func:`run_multiverse`.

    Attributes
    ----------
    spec : MultiverseSpec
    table : DataFrame
        One row per specification (a new copy on every access): ``spec_id``, the
        choices (``outcome, treatment, controls, fixed_effects, cluster, sample``
        and ``control: <column>`` flags), ``estimate, std_error, t, p_value,
        ci_lower, ci_upper, nobs, n_clusters, df, engine`` (``"fast"``,
        ``"pyfixest"`` or ``"none"``) and ``note`` (why a specification went to
        pyfixest or was not estimated).
    simulated : bool
        True when the data carried ``attrs["simulated"] = True``; figures and
        summaries then say SIMULATED.
    timing : dict
        ``seconds`` of estimation, ``specs_per_second``, ``engine`` and ``scheduler``.
    """

    spec: MultiverseSpec
    _table: pd.DataFrame
    simulated: bool
    timing: dict
    level: float

    @property
    def table(self) -> pd.DataFrame:
        return self._table.copy()

    @property
    def n_specifications(self) -> int:
        return len(self._table)

    def subset(self, query: str) -> MultiverseResults:
        """The specifications selected by a :meth:`pandas.DataFrame.query` on the table,
        e.g. ``res.subset("outcome == 'satisfaction_index' and cluster != 'place'")``;
        summaries, the figure and :func:`joint_test` then use only those."""
        tab = self._table.query(query)
        if tab.empty:
            raise GovstatsError(f"no specification matches {query!r}")
        return MultiverseResults(self.spec, tab.reset_index(drop=True), self.simulated, dict(self.timing),
                                 self.level)

    def summary(self, by: str | Sequence[str] | None = None, *, alpha: float = 0.05) -> pd.DataFrame:
        """Share significant, median estimate and spread; overall or by choice.

        Columns: ``n_specifications, n_estimated, median_estimate, mean_estimate,
        min_estimate, max_estimate, share_positive, share_significant,
        share_significant_positive, share_significant_negative,
        share_few_clusters`` (clustered with fewer than 30 clusters, where CR1
        p-values are unreliable). Shares are over estimated specifications;
        significance is ``p < alpha``.
        """
        tab = self._table
        groups = [("all", tab)] if by is None else list(tab.groupby(by, observed=True, sort=False))
        rows = []
        for key, g in groups:
            e = g[g["estimate"].notna()]
            n = len(e)
            sig = e["p_value"] < alpha
            row = {
                "n_specifications": len(g),
                "n_estimated": n,
                "median_estimate": float(e["estimate"].median()) if n else np.nan,
                "mean_estimate": float(e["estimate"].mean()) if n else np.nan,
                "min_estimate": float(e["estimate"].min()) if n else np.nan,
                "max_estimate": float(e["estimate"].max()) if n else np.nan,
                "share_positive": float((e["estimate"] > 0).mean()) if n else np.nan,
                "share_significant": float(sig.mean()) if n else np.nan,
                "share_significant_positive": float((sig & (e["estimate"] > 0)).mean()) if n else np.nan,
                "share_significant_negative": float((sig & (e["estimate"] < 0)).mean()) if n else np.nan,
                "share_few_clusters": float((e["n_clusters"] < FEW_CLUSTERS).mean()) if n else np.nan,
            }
            rows.append((key, row))
        if by is None:
            out = pd.DataFrame([rows[0][1]], index=pd.Index(["all"], name="specifications"))
        else:
            names = [by] if isinstance(by, str) else list(by)
            keys = [k if isinstance(k, tuple) else (k,) for k, _ in rows]
            idx = pd.MultiIndex.from_tuples(keys, names=names) if len(names) > 1 else pd.Index(
                [k[0] for k in keys], name=names[0])
            out = pd.DataFrame([r for _, r in rows], index=idx)
        out.attrs["simulated"] = self.simulated
        return out

    def notes(self) -> list[str]:
        """Plain-language notes: fallbacks, specifications not estimated, few clusters, SIMULATED."""
        tab = self._table
        out = []
        if self.simulated:
            out.append("SIMULATED DATA: every estimate below comes from a simulated panel")
        n_pf = int((tab["engine"] == "pyfixest").sum())
        if n_pf:
            out.append(f"{n_pf} specification(s) estimated by pyfixest (not covered by the fast path; "
                       "see the 'note' column)")
        n_none = int((tab["engine"] == "none").sum())
        if n_none:
            out.append(f"{n_none} specification(s) not estimated (see the 'note' column)")
        few = int((tab["n_clusters"] < FEW_CLUSTERS).sum())
        if few:
            out.append(
                f"{few} specification(s) cluster with fewer than {FEW_CLUSTERS} clusters: their CR1 "
                "p-values over-reject; use govstats.inference.wild_cluster_bootstrap for those you report"
            )
        return out

    def plot(self, **kwargs):
        """The specification-curve figure; see :func:`plot_specification_curve`."""
        return plot_specification_curve(self, **kwargs)

    def __repr__(self) -> str:
        s = self.summary().iloc[0]
        head = ("SIMULATED DATA - " if self.simulated else "") + f"Multiverse: {len(self._table)} specifications"
        lines = [head,
                 f"median estimate {s['median_estimate']:.4g}, share significant (p < 0.05) "
                 f"{s['share_significant']:.1%} ({s['share_significant_positive']:.1%} positive, "
                 f"{s['share_significant_negative']:.1%} negative)",
                 f"estimated in {self.timing.get('seconds', float('nan')):.2f} s "
                 f"({self.timing.get('specs_per_second', float('nan')):,.0f} specifications per second, "
                 f"engine {self.timing.get('engine')})"]
        lines += ["NOTE: " + n for n in self.notes()]
        return "\n".join(lines)


def _results_table(spec: MultiverseSpec, plan: _Plan, est: _Estimates) -> pd.DataFrame:
    choices = spec.specifications().iloc[plan.spec_ids].reset_index(drop=True)
    t = est.estimate / est.std_error
    p = _pvalues(t, est.df)
    with np.errstate(invalid="ignore"):
        q = stats.t.ppf(0.5 + spec.level / 2, est.df)
    tab = choices
    tab["estimate"] = est.estimate
    tab["std_error"] = est.std_error
    tab["t"] = t
    tab["p_value"] = p
    tab["ci_lower"] = est.estimate - q * est.std_error
    tab["ci_upper"] = est.estimate + q * est.std_error
    tab["nobs"] = est.nobs
    tab["n_clusters"] = est.n_clusters
    tab["df"] = est.df
    tab["engine"] = pd.Categorical.from_codes(est.engine.astype(np.int64) + 1,
                                              categories=["none", "fast", "pyfixest"])
    tab["note"] = pd.array(est.note.astype(str), dtype="string")
    return tab


def run_multiverse(
    spec: MultiverseSpec,
    data: pd.DataFrame,
    *,
    engine: EngineKind = "auto",
    scheduler: Any = None,
    chunk_size: int = 20_000,
    progress: bool | None = None,
) -> MultiverseResults:
    """Estimate every specification of ``spec`` on ``data``.

    Parameters
    ----------
    spec : MultiverseSpec
    data : DataFrame
        A panel indexed by ``(unit, time)`` (as :func:`govstats.models.fit` takes; the
        index levels are then also columns, and ``unit``/``time`` name them) or a
        flat frame with the id columns. ``attrs["simulated"]`` is carried to the results.
    engine : {"auto", "fast", "pyfixest"}
        ``"auto"``: the fast path, pyfixest for what it does not cover. ``"fast"``:
        never pyfixest (uncovered specifications are not estimated; ``note`` says
        why). ``"pyfixest"``: one ``pyfixest.feols`` call per specification (the
        reference; slow).
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster: a scheduler address (``"tcp://host:8786"``) or a
        client. Default: in this process.
    chunk_size : int, default 20000
        Specifications per task (and per progress-bar step).
    progress : bool, optional
        Show a tqdm progress bar; default: when there are more than 50,000
        specifications.

    Returns
    -------
    MultiverseResults

    Raises
    ------
    DataValidationError
        Every missing column, non-numeric variable, missing id value and bad
        sample restriction, all at once.

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> from govstats.multiverse import MultiverseSpec, run_multiverse
    >>> sim = simulate_panel(units_per_place=4, years=range(2012, 2024), seed=2)
    >>> spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
    ...                       controls=["grid_density"], fixed_effects=["unit_id + year"],
    ...                       clusters=["unit_id", "place_id"])
    >>> res = run_multiverse(spec, sim.data)
    >>> res.simulated, len(res.table), res.table["n_clusters"].tolist()
    (True, 4, [20.0, 5.0, 20.0, 5.0])
    """
    if not isinstance(spec, MultiverseSpec):
        raise TypeError("spec must be a govstats.multiverse.MultiverseSpec")
    check_literal(engine, EngineKind, "engine")
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer")
    prep = _prepare(spec, data)
    t0 = time.perf_counter()
    plan = _make_plan(spec, prep)
    n = len(plan.spec_ids)
    show = n > _PROGRESS_SPECS if progress is None else bool(progress)
    if scheduler is None:
        est = _run_local(prep, plan, engine, int(chunk_size), show)
    else:
        est = _run_dask(prep, plan, engine, int(chunk_size), show, scheduler)
    seconds = time.perf_counter() - t0
    table = _results_table(spec, plan, est)
    timing = {
        "seconds": seconds,
        "specs_per_second": n / seconds if seconds > 0 else float("inf"),
        "engine": engine,
        "scheduler": None if scheduler is None else str(getattr(scheduler, "scheduler", scheduler)),
        "n_fast": int((est.engine == 0).sum()),
        "n_pyfixest": int((est.engine == 1).sum()),
        "n_blocks": len(plan.blocks),
    }
    return MultiverseResults(spec, table, prep.simulated, timing, float(spec.level))


# =========================================================================== joint inference


@dataclass(frozen=True, repr=False)
class JointTestResult:
    """Joint inference over a specification curve (Simonsohn, Simmons and Nelson 2020).

    Attributes
    ----------
    table : DataFrame
        One row per statistic (``median_estimate``, ``n_significant``,
        ``stouffer_z``): ``observed``, ``null_median`` and ``null_p95`` of its
        bootstrap distribution under the null, and ``p_value``.
    draws : DataFrame
        One row per bootstrap draw: the three statistics (and the two directional
        counts) computed under the null.
    n_specifications : int
        Specifications entering the statistics (those the engine estimated).
    B, seed, resample, alternative, alpha, simulated
        As passed to :func:`joint_test`; ``simulated`` from the data.
    """

    table: pd.DataFrame
    draws: pd.DataFrame
    B: int
    seed: int | None
    resample: str
    alternative: str
    alpha: float
    n_specifications: int
    simulated: bool

    def __repr__(self) -> str:
        head = ("SIMULATED DATA - " if self.simulated else "") + (
            f"Specification-curve joint test ({self.n_specifications} specifications, B = {self.B} "
            f"bootstrap draws under the null, clusters of {self.resample!r} resampled, "
            f"{self.alternative})")
        with pd.option_context("display.width", 120):
            return head + "\n" + self.table.to_string(float_format=lambda v: f"{v:.4g}")


def _curve_statistics(est: np.ndarray, t: np.ndarray, df: np.ndarray, alpha: float) -> np.ndarray:
    """median, n significant positive, n significant negative, Stouffer Z (over finite entries)."""
    ok = np.isfinite(est) & np.isfinite(t) & np.isfinite(df)
    if not ok.any():
        return np.full(4, np.nan)
    e, tt, d = est[ok], t[ok], df[ok]
    p = 2 * stats.t.sf(np.abs(tt), d)
    sig = p < alpha
    z = special.ndtri(np.clip(stats.t.cdf(tt, d), 1e-300, 1 - 1e-16))
    return np.array([np.median(e), float((sig & (tt > 0)).sum()), float((sig & (tt < 0)).sum()),
                     z.sum() / math.sqrt(len(z))])


def _oriented(s: np.ndarray, alternative: str) -> np.ndarray:
    """(median, n significant, Stouffer Z) oriented so that large = evidence against H0."""
    s = np.atleast_2d(s)
    if alternative == "greater":
        return np.column_stack([s[:, 0], s[:, 1], s[:, 3]])
    if alternative == "less":
        return np.column_stack([-s[:, 0], s[:, 2], -s[:, 3]])
    return np.column_stack([np.abs(s[:, 0]), np.maximum(s[:, 1], s[:, 2]), np.abs(s[:, 3])])


def _nested_in(ids: np.ndarray, r: int) -> np.ndarray:
    """For every id column: is it nested in id column r (each level inside one r-level)?"""
    out = np.zeros(ids.shape[1], dtype=bool)
    for j in range(ids.shape[1]):
        out[j] = _is_nested(ids[:, j], ids[:, r])
    return out


def _resample(prep: _Prepared, r: int, nested: np.ndarray, rng: np.random.Generator) -> _Prepared:
    """A cluster bootstrap sample: clusters of id column r drawn with replacement; id columns
    nested in r get a new level for every copy (a drawn-twice unit is two units)."""
    codes = prep.ids[:, r]
    G = int(codes.max()) + 1
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=G)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    draw = rng.integers(0, G, size=G)
    sizes = counts[draw]
    copy = np.repeat(np.arange(G), sizes)
    offsets = np.arange(sizes.sum()) - np.repeat(np.cumsum(sizes) - sizes, sizes)
    rows = order[np.repeat(starts[draw], sizes) + offsets]
    ids = prep.ids[rows].copy()
    ids[:, nested] = ids[:, nested] * G + copy[:, None]
    return _Prepared(values=prep.values[rows], var_names=prep.var_names, ids=ids, id_names=prep.id_names,
                     samples=prep.samples[:, rows], simulated=prep.simulated)


def _draw_statistics(prep: _Prepared, plan: _Plan, b_obs: np.ndarray, r: int, nested: np.ndarray,
                     seeds: Sequence[np.random.SeedSequence], engine: str, alpha: float) -> np.ndarray:
    out = np.empty((len(seeds), 4))
    for i, ss in enumerate(seeds):
        draw = _resample(prep, r, nested, np.random.default_rng(ss))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            est = _run_local(draw, plan, engine, 10**9, False)
        e0 = est.estimate - b_obs  # the null imposed: y* = y - b x  =>  b* = b(draw) - b
        out[i] = _curve_statistics(e0, e0 / est.std_error, est.df, alpha)
    return out


def joint_test(
    results: MultiverseResults,
    data: pd.DataFrame,
    *,
    B: int = 500,
    seed: int | None = 0,
    resample: str = "unit",
    alternative: JointAlternative = "two-sided",
    alpha: float = 0.05,
    engine: EngineKind = "auto",
    scheduler: Any = None,
    draws_per_task: int = 10,
    progress: bool | None = None,
) -> JointTestResult:
    """Is the specification curve as a whole consistent with no effect?

    The bootstrap under the null of Simonsohn, Simmons and Nelson (2020): for
    every specification the null is imposed by replacing the outcome with
    ``y - b x`` (``b`` its own estimate); clusters of ``resample`` are drawn with
    replacement; every specification is re-estimated on every draw and three
    statistics of the curve are recomputed. Because OLS is linear in ``y``, the
    estimate on ``y - b x`` in a draw is the draw's estimate minus ``b`` and its
    residuals (hence standard error) are unchanged, so each draw is one ordinary
    multiverse run, recentred.

    Statistics (oriented so that large values are evidence against the null)
        * ``median_estimate``: the median estimate across specifications;
        * ``n_significant``: the number of specifications with ``p < alpha`` in the
          dominant direction;
        * ``stouffer_z``: ``sum_s z_s / sqrt(n)``, ``z_s = Phi^-1(F_t(t_s))``
          (Stouffer's combination of the specifications' one-sided p-values).

        ``alternative="greater"`` uses the median, the positive significant count
        and Z; ``"less"`` their mirror images; ``"two-sided"`` the absolute
        median, the larger of the two counts and ``|Z|`` (for the observed curve and
        each draw alike). ``p_value = (1 + #{draws >= observed}) / (B + 1)``
        (Simonsohn et al. report the plain share, which can be 0).

    Parameters
    ----------
    results : MultiverseResults
        From :func:`run_multiverse` on ``data`` (or its :meth:`~MultiverseResults.subset`).
    data : DataFrame
        The same data; the observed curve is recomputed and checked against ``results``.
    B : int, default 500
        Bootstrap draws.
    seed : int or None, default 0
        Seed; with an int the result does not depend on ``scheduler`` or ``draws_per_task``.
    resample : str, default "unit"
        The id column whose clusters are drawn (``"unit"``: the panel unit).
    alternative : {"two-sided", "greater", "less"}
    alpha : float, default 0.05
    engine : {"auto", "fast", "pyfixest"}
        As in :func:`run_multiverse`, for the draws.
    scheduler : str or distributed.Client, optional
        Distribute the draws on a Dask cluster.
    draws_per_task : int, default 10
    progress : bool, optional
        Progress bar; default when ``B >= 100``.

    Returns
    -------
    JointTestResult

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> from govstats.multiverse import MultiverseSpec, run_multiverse, joint_test
    >>> sim = simulate_panel(units_per_place=4, years=range(2012, 2024), seed=2)
    >>> spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
    ...                       controls=["grid_density"], fixed_effects=["unit_id + year"],
    ...                       clusters=["unit_id"])
    >>> res = run_multiverse(spec, sim.data)
    >>> jt = joint_test(res, sim.data, B=49, resample="unit_id", seed=1)
    >>> jt.table.index.tolist()
    ['median_estimate', 'n_significant', 'stouffer_z']
    """
    check_literal(alternative, JointAlternative, "alternative")
    check_literal(engine, EngineKind, "engine")
    if not isinstance(B, int | np.integer) or B < 19:
        raise ValueError(f"B={B!r} must be an integer >= 19")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha={alpha!r} must be in (0, 1)")
    spec = results.spec
    flat_names = set(_flat(data)[0].columns) | set(_flat(data)[1])
    if resample not in flat_names:
        raise GovstatsError(f"resample={resample!r} is not a column (or index level) of the data")
    prep = _prepare(spec, data, extra_ids=(resample,))
    table = results._table
    spec_ids = table["spec_id"].to_numpy()
    plan = _make_plan(spec, prep, spec_ids)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        obs = _run_local(prep, plan, engine, 10**9, False)
    b_given = table["estimate"].to_numpy(dtype=float)
    both = np.isfinite(obs.estimate) & np.isfinite(b_given)
    same = np.isclose(obs.estimate[both], b_given[both], rtol=1e-8, atol=1e-12)
    if not same.all():
        raise GovstatsError(
            f"{int((~same).sum())} estimate(s) in the results differ from a re-estimation on these data; "
            "pass the data the results were computed on"
        )
    b_obs = obs.estimate
    observed = _curve_statistics(b_obs, b_obs / obs.std_error, obs.df, alpha)
    r = prep.id(resample)
    nested = _nested_in(prep.ids, r)
    seeds = np.random.SeedSequence(seed).spawn(int(B))
    show = B >= _PROGRESS_DRAWS if progress is None else bool(progress)
    batches = [seeds[a: a + draws_per_task] for a in range(0, len(seeds), max(1, int(draws_per_task)))]
    draws = np.empty((0, 4))
    bar = _progress(int(B), show, "joint test draws")
    try:
        if scheduler is None:
            parts = []
            for batch in batches:
                parts.append(_draw_statistics(prep, plan, b_obs, r, nested, batch, engine, alpha))
                bar.update(len(batch))
            draws = np.vstack(parts)
        else:
            from distributed import as_completed

            client, own = _client(scheduler)
            try:
                prep_f, plan_f = client.scatter([prep, plan], broadcast=True, hash=False)
                futs = {client.submit(_draw_statistics, prep_f, plan_f, b_obs, r, nested, batch, engine, alpha,
                                      pure=False): i for i, batch in enumerate(batches)}
                parts_d: dict[int, np.ndarray] = {}
                for fut in as_completed(list(futs)):
                    parts_d[futs[fut]] = fut.result()
                    bar.update(len(parts_d[futs[fut]]))
                draws = np.vstack([parts_d[i] for i in range(len(batches))])
            finally:
                if own:
                    client.close()
    finally:
        bar.close()
    obs_o = _oriented(observed, alternative)[0]
    draws_o = _oriented(draws, alternative)
    valid = np.isfinite(draws_o)
    pvals = [(1 + int((draws_o[valid[:, j], j] >= obs_o[j] - 1e-12 * abs(obs_o[j])).sum()))
             / (1 + int(valid[:, j].sum())) for j in range(3)]
    names = ["median_estimate", "n_significant", "stouffer_z"]
    out = pd.DataFrame(
        {
            "observed": obs_o,
            "null_median": np.nanmedian(draws_o, axis=0),
            "null_p95": np.nanpercentile(draws_o, 95, axis=0),
            "p_value": pvals,
        },
        index=pd.Index(names, name="statistic"),
    )
    out.attrs["simulated"] = prep.simulated
    draw_frame = pd.DataFrame(
        {"median_estimate": draws[:, 0], "n_significant_positive": draws[:, 1],
         "n_significant_negative": draws[:, 2], "stouffer_z": draws[:, 3]}
    )
    return JointTestResult(out, draw_frame, int(B), seed, resample, alternative, float(alpha),
                           int(np.isfinite(b_obs).sum()), prep.simulated)


# =========================================================================== figure


def plot_specification_curve(
    results: MultiverseResults,
    *,
    alpha: float = 0.05,
    title: str | None = None,
    dimensions: Sequence[str] | None = None,
    figsize: tuple[float, float] | None = None,
):
    """The classic specification-curve figure.

    Top: estimates sorted from smallest to largest with their confidence
    intervals (significant positive blue, significant negative red, others grey;
    a line at zero and one at the median). Bottom: which choice each
    specification made, one row per option of every dimension with more than one
    option (and one per optional control), dots aligned with the curve above.
    With the data simulated, the title starts with SIMULATED and the figure
    carries a watermark (:func:`govstats.plotting.mark_simulated`).

    Parameters
    ----------
    results : MultiverseResults
    alpha : float, default 0.05
        Significance level for the colours.
    title : str, optional
    dimensions : list of str, optional
        Dimensions shown in the lower panel (default: every one with two or more options).
    figsize : tuple, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from govstats import datasets
    >>> from govstats.multiverse import MultiverseSpec, run_multiverse
    >>> res = run_multiverse(MultiverseSpec(outcomes=["lcrmrte"], treatments=["lpolpc"],
    ...                                     controls=["lprbarr", "ldensity"]), datasets.load_nc_crime())
    >>> fig = plot_specification_curve(res)
    >>> fig.axes[1].get_yticklabels()[0].get_text()
    'controls: lprbarr'
    """
    import matplotlib.pyplot as plt

    from govstats.plotting import mark_simulated, set_theme

    family = set_theme(style="whitegrid")
    tab = results._table
    tab = tab[tab["estimate"].notna()].sort_values("estimate", kind="stable").reset_index(drop=True)
    n = len(tab)
    if n == 0:
        raise GovstatsError("no estimated specification to plot")
    x = np.arange(n)
    est = tab["estimate"].to_numpy()
    lo, hi = tab["ci_lower"].to_numpy(), tab["ci_upper"].to_numpy()
    sig = tab["p_value"].to_numpy() < alpha
    colour = np.where(sig & (est > 0), "#1f5fa8", np.where(sig & (est < 0), "#b2182b", "#8c8c8c"))
    # choice rows
    dims = [d for d in ("outcome", "treatment", "controls", "fixed_effects", "cluster", "sample")
            if tab[d].nunique() > 1] if dimensions is None else list(dimensions)
    rows: list[tuple[str, np.ndarray]] = []
    control_cols = [c for c in tab.columns if c.startswith("control: ")]
    for d in dims:
        if d == "controls" and not results.spec._control_sets and control_cols:
            for c in control_cols:
                flags = tab[c].to_numpy(dtype=bool)
                if 0 < flags.sum() < n:
                    rows.append((f"controls: {c[len('control: '):]}", flags))
            continue
        for opt in tab[d].cat.categories if hasattr(tab[d], "cat") else sorted(tab[d].unique()):
            flags = (tab[d] == opt).to_numpy()
            if flags.any():
                rows.append((f"{d.replace('_', ' ')}: {opt}", flags))
    n_rows = max(len(rows), 1)
    if figsize is None:
        figsize = (11, 3.6 + 0.24 * n_rows)
    fig, (ax1, ax2) = plt.subplots(
        2, 1, sharex=True, figsize=figsize,
        gridspec_kw={"height_ratios": [3.2, max(0.8, 0.24 * n_rows)], "hspace": 0.05},
    )
    if n <= 400:
        ax1.vlines(x, lo, hi, colors=colour, alpha=0.45, linewidth=1.2)
        ax1.scatter(x, est, c=colour, s=12, zorder=3)
    elif n <= 5000:
        ax1.vlines(x, lo, hi, colors=colour, alpha=0.12, linewidth=0.6)
        ax1.scatter(x, est, c=colour, s=3, zorder=3, linewidths=0)
    else:
        ax1.fill_between(x, lo, hi, color="#8c8c8c", alpha=0.25, linewidth=0, step="mid")
        ax1.scatter(x, est, c=colour, s=1, zorder=3, linewidths=0)
    # a few very wide intervals (few clusters) would flatten the curve: the axis shows every
    # estimate and the middle 90% of interval ends; wider intervals run off the panel
    ends = np.concatenate([lo, hi])
    ends = ends[np.isfinite(ends)]
    if len(ends):
        low = min(float(est.min()), float(np.quantile(ends, 0.05)), 0.0)
        high = max(float(est.max()), float(np.quantile(ends, 0.95)), 0.0)
        pad = 0.05 * (high - low or 1.0)
        ax1.set_ylim(low - pad, high + pad)
        if (lo < low - pad).any() or (hi > high + pad).any():
            ax1.text(0.99, 0.02, "some intervals run off the panel", transform=ax1.transAxes,
                     ha="right", va="bottom", fontsize=7, color="#666666")
    ax1.axhline(0, color="black", linewidth=0.8)
    med = float(np.median(est))
    ax1.axhline(med, color="#444444", linewidth=0.8, linestyle="--")
    ax1.set_ylabel(f"estimate ({results.level:.0%} CI)")
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", linestyle="", color=c, label=lab) for c, lab in (
        ("#1f5fa8", f"positive, p < {alpha:g}"), ("#b2182b", f"negative, p < {alpha:g}"),
        ("#8c8c8c", "not significant"))]
    handles.append(Line2D([], [], color="#444444", linestyle="--", label=f"median {med:.3g}"))
    ax1.legend(handles=handles, loc="upper left", fontsize=8, frameon=True)
    if rows:
        M = np.array([f for _, f in rows])
        if n <= 400:
            for i, (_, flags) in enumerate(rows):
                xs = np.flatnonzero(flags)
                ax2.scatter(xs, np.full(len(xs), i), c=colour[xs], s=10, marker="o", linewidths=0)
        elif n <= 5000:
            for i, (_, flags) in enumerate(rows):
                xs = np.flatnonzero(flags)
                ax2.vlines(xs, i - 0.35, i + 0.35, colors=colour[xs], linewidth=0.5)
        else:
            ax2.imshow(M, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=1.6,
                       extent=(-0.5, n - 0.5, n_rows - 0.5, -0.5))
        ax2.set_yticks(range(len(rows)), [lab for lab, _ in rows], fontsize=8)
        ax2.set_ylim(len(rows) - 0.5, -0.5)
        prev = None
        for i, (lab, _) in enumerate(rows):
            dim = lab.split(":")[0]
            if prev is not None and dim != prev:
                ax2.axhline(i - 0.5, color="#bbbbbb", linewidth=0.6)
            prev = dim
    ax2.set_xlabel(f"specification (sorted by estimate), {n} in all")
    ax2.grid(False)
    ax2.set_xlim(-0.5, n - 0.5)
    treat = ", ".join(map(str, tab["treatment"].unique()[:3]))
    if title is None:
        title = f"Specification curve: coefficient on {treat} ({n} specifications)"
    fig.suptitle(title)
    if family is None:
        fig.text(0.01, 0.01, "note: no CJK font found; Chinese labels may not render", fontsize=8)
    mark_simulated(fig, simulated=results.simulated)
    height = fig.get_size_inches()[1]
    fig.subplots_adjust(left=0.25, right=0.98, top=1 - 0.6 / height, bottom=0.62 / height)
    return fig
