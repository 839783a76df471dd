"""Errors that say what went wrong, where, and what to do next.

Every data boundary in govstats validates *lazily*: it collects every problem it
finds and raises one :class:`DataValidationError` listing all of them, each with
the file, the row, the column and the raw value. Nothing is dropped silently;
functions that reject rows return them (see :class:`RowAccounting`).

Row numbers follow the spreadsheet convention: the header is row 1, so the first
data row of a CSV or XLSX file is row 2. A user can type the number into the
"go to line" box of an editor or spreadsheet and land on the bad cell.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas is imported lazily: the report CLI imports this module on every run
    import pandas as pd

__all__ = [
    "DataValidationError",
    "GovstatsError",
    "Problem",
    "RowAccounting",
    "UnknownPlaceError",
]


class GovstatsError(Exception):
    """Base class of every error raised on purpose by govstats."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one cell (or row, or file) of the input.

    Attributes
    ----------
    message : str
        What is wrong, in words a user who never read the code understands.
    file : str or None
        The file the value came from, as the user named it.
    row : int or None
        Spreadsheet row (header = 1, first data row = 2); ``None`` for a
        whole-file problem (empty file, missing column).
    column : str or None
        The column as written in the file's header.
    value : object
        The raw value exactly as read (before any cleaning).
    hint : str
        What to do about it; may be empty.
    """

    message: str
    file: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None
    hint: str = ""

    def location(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column!r}")
        return ", ".join(parts) if parts else "input"

    def __str__(self) -> str:
        text = f"{self.location()}: {self.message}"
        if self.value is not None and not (isinstance(self.value, float) and self.value != self.value):
            text += f" (raw value: {self.value!r})"
        if self.hint:
            text += f"; {self.hint}"
        return text


class DataValidationError(GovstatsError, ValueError):
    """All the problems found in one input, raised together.

    ``err.problems`` is the list of :class:`Problem`; ``err.table()`` returns
    them as a DataFrame (file, row, column, value, message, hint) to filter or
    save. The message lists up to ``max_listed`` problems and says how many more
    there are.
    """

    max_listed = 25

    def __init__(self, problems: Sequence[Problem], *, what: str = "input"):
        if not problems:
            raise ValueError("DataValidationError needs at least one problem")
        self.problems = list(problems)
        self.what = what
        super().__init__(self._render())

    def _render(self) -> str:
        n = len(self.problems)
        head = f"{n} problem{'s' if n != 1 else ''} in {self.what}:"
        lines = [f"  - {p}" for p in self.problems[: self.max_listed]]
        if n > self.max_listed:
            lines.append(
                f"  ... and {n - self.max_listed} more (err.table() lists them all)"
            )
        return "\n".join([head, *lines])

    def table(self) -> pd.DataFrame:
        """The problems as a DataFrame, one row each."""
        import pandas as pd

        return pd.DataFrame(
            [
                {
                    "file": p.file,
                    "row": p.row,
                    "column": p.column,
                    "value": p.value,
                    "message": p.message,
                    "hint": p.hint,
                }
                for p in self.problems
            ],
            columns=["file", "row", "column", "value", "message", "hint"],
        )

    @classmethod
    def raise_if_any(cls, problems: Iterable[Problem], *, what: str = "input") -> None:
        """Raise one error carrying every problem, if there is at least one."""
        problems = list(problems)
        if problems:
            raise cls(problems, what=what)


class UnknownPlaceError(GovstatsError, KeyError):
    """A place name, pinyin or code that the places registry does not know.

    ``err.name`` is the name as given, ``err.suggestions`` the closest known
    names (possibly empty).
    """

    def __init__(self, name: object, suggestions: Sequence[str] = ()):
        self.name = name
        self.suggestions = list(suggestions)
        msg = f"unknown place {name!r}"
        if self.suggestions:
            msg += "; did you mean " + ", ".join(repr(s) for s in self.suggestions) + "?"
        msg += " (govstats.places.registry() lists every known place and its aliases)"
        super().__init__(msg)

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return self.args[0]


def _empty_frame() -> pd.DataFrame:
    import pandas as pd

    return pd.DataFrame()


@dataclass
class RowAccounting:
    """Rows in = rows kept + rows rejected, with the rejected rows kept.

    Returned beside cleaned data by every function that can reject rows, so a
    caller can always check (and report) that nothing was lost.
    """

    source: str
    rows_in: int
    kept: pd.DataFrame
    rejected: pd.DataFrame = field(default_factory=_empty_frame)
    problems: list[Problem] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.kept) + len(self.rejected) != self.rows_in:
            raise AssertionError(
                f"{self.source}: {self.rows_in} rows in but {len(self.kept)} kept + "
                f"{len(self.rejected)} rejected; a row was lost (this is a govstats bug)"
            )

    @property
    def rows_kept(self) -> int:
        return len(self.kept)

    @property
    def rows_rejected(self) -> int:
        return len(self.rejected)

    def summary(self) -> str:
        return (
            f"{self.source}: {self.rows_in} rows in = {self.rows_kept} kept + "
            f"{self.rows_rejected} rejected"
        )
