"""The choice dimensions of a multiverse: :class:`MultiverseSpec` and its option parsing.

A :class:`MultiverseSpec` declares the options of every choice (outcome, treatment,
controls, fixed effects, standard errors, sample); every combination of one option per
dimension is a specification. Options are checked when the spec is made, so a typo
fails before any data is read.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd

__all__ = ["MultiverseSpec"]

_NO_FE = ("", "none", "0", "1")


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
    if low == "iid":
        return _ClusterChoice(label, "iid", ())
    if low == "hetero":
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
    alpha : float, default 0.05
        Confidence intervals are ``1 - alpha`` (0.05: 95%); also the significance level
        of :meth:`MultiverseResults.summary_table`, the figure and the joint test.
    weights : str, optional
        A column of regression weights (analytic/population weights, e.g.
        ``"population"``): every specification is weighted least squares, as
        pyfixest's ``feols(..., weights=)``. Every weight in the rows of some sample
        must be a positive number; missing, zero or negative weights are one error
        that lists every bad row.

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
    alpha: float = 0.05
    weights: str | None = None
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
        if self.weights is not None:
            object.__setattr__(self, "weights", _column_name(self.weights, "weights"))
        if not 0 < float(self.alpha) <= 0.5:
            raise ValueError(f"alpha={self.alpha!r} must be in (0, 0.5] (0.05 gives 95% intervals)")
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

