"""What a report page shows instead of raw pandas output: full tables and plain sentences.

- :func:`full_table`: every row of a table (pandas' own display shows 10 of 89),
  numbers formatted by :func:`govstats.tables.format_number` (``2,122,661``, never
  ``2.122661e+06``), inside a collapsible ``<details>`` block that scrolls sideways
  when wide;
- :func:`timing`: a run's timings as one sentence instead of a printed Series.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

__all__ = ["full_table", "timing"]


class _HTML:
    """Minimal rich-display object (IPython's HTML without importing IPython here)."""

    def __init__(self, text: str):
        self.data = text

    def _repr_html_(self) -> str:
        return self.data

    def __repr__(self) -> str:  # plain-text front ends
        return f"<table: {len(self.data)} characters of HTML>"


def full_table(table: Any, summary: str | None = None, *, digits: int = 3,
               open_rows: int = 15, formats: Mapping[str, Any] | None = None) -> _HTML:
    """Every row of ``table`` in a collapsible block, numbers formatted for reading.

    Parameters
    ----------
    table : DataFrame or pandas Styler
        A DataFrame is formatted by :func:`govstats.tables.formatted`; a Styler is
        shown as styled.
    summary : str, optional
        The line a reader clicks to open the block; ``"(n rows)"`` is appended.
    open_rows : int
        Tables with at most this many rows start open.
    formats : mapping, optional
        Per-column formats passed to :func:`govstats.tables.formatted`.

    Examples
    --------
    >>> import pandas as pd
    >>> page = full_table(pd.DataFrame({"n": range(89)}), "Every number")._repr_html_()
    >>> page.count("<tr>") >= 89, "<summary>Every number (89 rows)</summary>" in page
    (True, True)
    """
    from govstats.tables import formatted

    styler = table if hasattr(table, "to_html") and hasattr(table, "data") else formatted(
        table, digits, formats=formats)
    frame = styler.data
    rows = len(frame)
    label = f"{html.escape(summary) if summary else 'Table'} ({rows:,} row{'s' if rows != 1 else ''})"
    opened = " open" if rows <= open_rows else ""
    body = styler.to_html()
    return _HTML(f"<details class='govstats-full'{opened}><summary>{label}</summary>"
                 f"<div style='overflow-x:auto;max-width:100%'>{body}</div></details>")


def timing(times: Mapping[str, Any], *, what: str = "Run time") -> Any:
    """Timings as one Markdown sentence (``Run time: seconds 1.23, specs per second 3,456``).

    Examples
    --------
    >>> timing({"seconds": 1.234, "specs_per_second": 3456.7}).data
    'Run time: seconds 1.234 · specs per second 3,456.700'
    """
    from IPython.display import Markdown

    from govstats.tables import format_number

    parts = [f"{str(k).replace('_', ' ')} {format_number(v)}" for k, v in times.items()]
    return Markdown(f"{what}: " + " · ".join(parts))
