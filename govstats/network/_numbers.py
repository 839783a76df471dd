"""A number with its bounds and its source, and how it is stored on a graph's nodes and edges.

Every sized attribute ``x`` of a network is stored as ``x`` with ``x_source``, ``x_kind``,
``x_bound`` and ``x_detail`` beside it (and ``x_lower``/``x_upper`` when it has bounds), so
that :func:`~govstats.network.trace` can list every number with where it came from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class _Num:
    """A number with its bounds and where it came from."""

    value: float
    kind: str  # fact, derived, registry, assumption, parameter, definition
    source: str  # fact ids (';'), assumption id, registry reference, parameter name
    detail: str = ""
    lower: float = math.nan
    upper: float = math.nan
    note: str = ""

    @property
    def bound(self) -> str | None:
        if self.kind in ("assumption", "parameter"):
            return None
        lo = self.value if math.isnan(self.lower) else self.lower
        hi = self.value if math.isnan(self.upper) else self.upper
        if lo == hi == self.value:
            return "exact"
        if math.isinf(hi):
            return "at_least"
        return "range"


def _lo(n: _Num) -> float:
    return n.value if math.isnan(n.lower) else n.lower


def _hi(n: _Num) -> float:
    return n.value if math.isnan(n.upper) else n.upper


def _ratio(a: _Num, b: _Num, scale: float = 1.0) -> tuple[float, float, float]:
    """Value and bounds of ``a / b * scale`` for positive quantities."""
    if not (b.value > 0):
        return math.nan, math.nan, math.nan
    lo = _lo(a) / _hi(b) * scale if _hi(b) > 0 else math.nan
    hi = _hi(a) / _lo(b) * scale if _lo(b) > 0 else math.inf
    return a.value / b.value * scale, lo, hi


def _sources(*nums: _Num | None) -> str:
    out: list[str] = []
    for n in nums:
        if n is not None:
            for s in n.source.split(";"):
                if s and s not in out:
                    out.append(s)
    return ";".join(out)


def _set(attrs: dict, name: str, num: _Num | None) -> None:
    """Store a sized attribute with its source, kind and bound beside it."""
    if num is None:
        attrs[name] = math.nan
        attrs[f"{name}_source"] = "not available"
        attrs[f"{name}_kind"] = "missing"
        attrs[f"{name}_bound"] = None
        attrs[f"{name}_detail"] = "not printed in the documents"
        return
    attrs[name] = num.value
    attrs[f"{name}_source"] = num.source
    attrs[f"{name}_kind"] = num.kind
    attrs[f"{name}_bound"] = num.bound
    attrs[f"{name}_detail"] = num.detail
    if not math.isnan(num.lower) or not math.isnan(num.upper):
        attrs[f"{name}_lower"] = _lo(num)
        attrs[f"{name}_upper"] = _hi(num)


def _num(attrs: Mapping, name: str) -> _Num:
    return _Num(
        attrs[name],
        attrs[f"{name}_kind"],
        attrs[f"{name}_source"],
        attrs.get(f"{name}_detail", ""),
        attrs.get(f"{name}_lower", math.nan),
        attrs.get(f"{name}_upper", math.nan),
    )
