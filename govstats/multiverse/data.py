"""The data of a multiverse reduced to arrays, with every input problem reported at once.

:func:`_prepare` reads the columns a :class:`~govstats.multiverse.spec.MultiverseSpec`
names (index levels count as columns; ``unit`` and ``time`` name the two levels of a
``(unit, time)`` MultiIndex), checks them lazily (missing columns, non-numeric
variables, missing group labels, bad sample restrictions: all raised together as one
:class:`~govstats.errors.DataValidationError`) and returns a :class:`_Prepared`:
variables as floats (NaN where missing or non-finite), group ids as integer codes and
one boolean mask per sample. This is what the engine and the Dask workers receive.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from govstats import fixed_effects as fx
from govstats.errors import DataValidationError, GovstatsError, Problem
from govstats.models import _check_weights
from govstats.multiverse.spec import MultiverseSpec


@dataclass
class _Prepared:
    """The data reduced to arrays: variables, id codes, sample masks."""

    values: np.ndarray  # (N, V) float; NaN = missing or non-finite
    var_names: tuple[str, ...]
    ids: np.ndarray  # (N, I) int64 codes >= 0
    id_names: tuple[str, ...]
    samples: np.ndarray  # (S, N) bool
    simulated: bool
    weights: np.ndarray | None = None  # (N,) positive regression weights, or None
    _frame: pd.DataFrame | None = None
    _sample_frames: dict | None = None

    def var(self, name: str) -> int:
        return self.var_names.index(name)

    def id(self, name: str) -> int:
        return self.id_names.index(name)

    def frame(self) -> pd.DataFrame:
        """The arrays as a DataFrame with formula-safe names (v0.., g0..) for pyfixest."""
        if self._frame is None:
            cols = {f"v{j}": self.values[:, j] for j in range(self.values.shape[1])}
            cols |= {f"g{j}": self.ids[:, j] for j in range(self.ids.shape[1])}
            if self.weights is not None:
                cols["w"] = self.weights
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
    weights = None
    if spec.weights is not None:
        wcol = resolve(spec.weights)
        if wcol not in columns:
            problems.append(Problem("weights column is not a column of the data", column=spec.weights,
                                    hint=f"columns: {shown_cols}"))
        else:
            used = np.flatnonzero(np.any(masks, axis=0)) if masks else np.arange(len(flat))
            try:  # the models' check: every weight present, finite, positive; each bad row listed
                weights = np.full(len(flat), np.nan)
                weights[used] = _check_weights(flat, wcol, used)
            except DataValidationError as exc:
                problems.extend(exc.problems)
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
        ids[:, j] = fx.factorize(flat[resolve(name)])[0]
    empty = [label for (label, _), m in zip(spec.samples, masks, strict=True) if not m.any()]
    if empty:
        raise GovstatsError(f"sample(s) {', '.join(map(repr, empty))} select no rows")
    return _Prepared(
        values=values, var_names=tuple(var_names), ids=ids, id_names=tuple(id_names),
        samples=np.array(masks, dtype=bool).reshape(len(masks), n), simulated=simulated, weights=weights,
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

