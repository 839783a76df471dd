"""Read a user's statistical-yearbook extract (CSV or XLSX) into the tidy long form.

Yearbook extracts come in many shapes. :func:`read_extract` accepts

* **files**: CSV (comma, tab or semicolon separated) or XLSX;
* **encodings** (CSV): UTF-8, UTF-8 with BOM, GBK / GB18030. Without ``encoding=`` the
  reader tries ``utf-8-sig`` and then ``gb18030`` (a superset of GBK and GB2312) and
  reports which one it used in :attr:`IngestResult.encoding`;
* **layouts** (``layout="auto"`` tells them apart from the header):

  - *wide*: years as columns, ``地区,指标,2016,2017,...`` (``2017年`` and periods such
    as ``2006-2010`` also work); without an indicator column the sheet name (XLSX, one
    sheet per indicator) or the file name (CSV) is the indicator header;
  - *long*, one column per indicator: ``地区,年份,公安民警数（人）,群众安全感满意率（%）``;
  - *fully long*: ``place,indicator,year,value`` (``地区,指标,年份,数值``), optionally with
    a unit column (``单位``/``unit``). Reported as layout ``"long"``.

Headers
    An indicator header is a name with an optional unit in full- or half-width brackets:
    ``公安民警数（人）``, ``辅警人数(人)``, ``群众安全感满意率（%）``. The name is matched
    (after NFKC normalisation, case folding and removal of spaces) against the caller's
    ``indicator_map``, then the codebook's ``name_zh`` column (``data/raw/codebook.csv``,
    when present) and a built-in table of common yearbook headers
    (:data:`DEFAULT_HEADER_INDICATORS`); a header that already is an indicator name
    (``police_officers_count``) passes through. The unit applies to every value under
    it: a multiplier in the unit is applied to the values, so ``常住人口（万人）`` with a
    cell ``664.5`` gives value 6,645,000 (万 = 10,000), unit ``人`` and scale 1e4;
    ``（%）`` gives unit ``%``.

Cells
    Each value cell is parsed with :func:`govstats.quantities.parse_quantities`, so
    ``1056``, ``1,056``, ``3.2万``, ``1600多`` or ``95.8%`` all work and keep their bound
    kind. Blank cells, and the yearbook "not available" marks ``-``, ``—``, ``…``,
    ``NA``, ``N/A`` (:data:`MISSING_MARKS`), are *missing*: not an error, counted in the
    accounting as rejected with the reason. (In Chinese yearbooks ``…`` can mean "less
    than the table's smallest unit"; it is still not a number, so it is recorded as
    missing with its mark, not guessed.) XLSX cells formatted as percentages (stored as
    0.958) are read as written on screen (``95.8%``).

Yearbook table shapes
    Title rows above the header (``表3-12 ...``, ``单位：人``) and footnote rows below the
    data (``注：``, ``资料来源：``) are skipped and listed in the notes. XLSX merged cells
    are read as their value repeated over the merged range (a place merged over its
    years, a title merged across the table). A *two-row header* -- an indicator in the
    first row over its years in the second, merged or with blank cells right of the
    indicator (an unmerged export, CSV too) -- is a wide table with one indicator per
    group of year columns; its cells are named ``'公安民警数（人） / 2020'``.

Comment rows and note sheets (the ``示例数据 EXAMPLE`` marker)
    Rows *above the header* that are blank or whose first non-blank cell starts with
    ``#`` are comments (e.g. ``# 示例数据 EXAMPLE ...``); they are skipped and listed in
    :attr:`IngestResult.notes`. A ``#`` below the header is data (yearbooks prefix
    sub-items with ``#``). XLSX sheets named ``说明``, ``备注``, ``README``, ``notes``,
    ``about`` or starting with ``示例数据`` are notes, skipped unless asked for by
    ``sheet=``. Columns headed ``备注``/``note``/``source``/``来源`` are notes too.

Rows
    Row numbers are the ones a spreadsheet shows: the first line of the file is row 1,
    so with no comment rows the header is row 1 and the first data row is row 2.
    Entirely blank rows below the header carry no data and are skipped (counted in the
    notes).

Everything wrong with the input is collected and raised at once as one
:class:`govstats.errors.DataValidationError` whose problems name the file (and sheet),
row, column and raw value: unparseable cells, unknown places, duplicate
(place, indicator, year) keys (naming both cells), mixed units for one indicator,
undecodable bytes (naming the encodings tried and the byte offset), an empty file, no
data rows, a missing place or year column, unnamed columns holding data, year headers
that are not years and unknown indicator headers (with the closest known headers and
how to map them with ``indicator_map``).

Examples
--------
>>> import govstats.ingest as ingest
>>> from govstats.paths import examples_dir
>>> res = ingest.read_extract(examples_dir() / "yearbook_example_wide.csv")
>>> res.encoding, res.layout
('gb18030', 'wide')
>>> sorted(res.data.place_id.unique())
['dongcheng', 'futian', 'hengyang', 'quzhou', 'shaoyang']
"""

from __future__ import annotations

import bisect
import csv
import difflib
import functools
import gc
import io
import itertools
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from govstats import paths
from govstats._literals import IngestLayout, check_literal
from govstats.errors import DataValidationError, Problem, RowAccounting, UnknownPlaceError

__all__ = [
    "DEFAULT_HEADER_INDICATORS",
    "MISSING_MARKS",
    "TIDY_COLUMNS",
    "IngestLayout",
    "IngestResult",
    "read_extract",
]

#: ``layout=`` option of :func:`read_extract` (to move to ``govstats._literals``).

#: Columns of :attr:`IngestResult.data`, in order.
TIDY_COLUMNS = [
    "place_id",
    "place_as_written",
    "indicator",
    "year",
    "year_start",
    "year_end",
    "quantity",
    "value",
    "lower",
    "upper",
    "bound",
    "unit",
    "scale",
    "source_file",
    "source_ref",
    "source_row",
    "source_column",
]

#: Common yearbook headers (unit stripped) and the indicator each one means. The
#: codebook's ``name_zh`` column, when ``data/raw/codebook.csv`` exists, extends and
#: overrides this table; ``indicator_map=`` overrides both.
DEFAULT_HEADER_INDICATORS: dict[str, str] = {
    "公安民警数": "police_officers_count",
    "辅警人数": "auxiliary_police_count",
    "人民调解员数": "mediators_count",
    "网格员数": "grid_workers_count",
    "群众安全感满意率": "security_satisfaction_pct",
    "常住人口": "population_resident",
    "户籍人口": "population_registered",
    "调解纠纷数": "disputes_mediated_count",
    "调解成功率": "mediation_success_pct",
}

#: Cell texts (after NFKC, case folded) that mean "not available": missing, not errors.
MISSING_MARKS = frozenset({"", "-", "--", "—", "——", "...", "......", "na", "n/a", "#n/a"})

# Header names (normalised: NFKC, casefold, no spaces, unit bracket removed) by role.
_PLACE_HEADERS = frozenset(
    "地区 地区名称 地名 地方 城市 城市名称 区县 县区 县市区 市县 行政区 行政区划 行政区划名称 "
    "区划 区划名称 place place_name placename place_id "
    "region city district county location 省份 省 省区 省市 省别 省市区 地级市 地市 市州 "
    "市 县 县(市、区) 县(市,区) 县市 province prefecture".split()
)
#: Columns holding a GB/T 2260 code: the code decides the place.
_CODE_HEADERS = frozenset("行政区划代码 区划代码 地区代码 代码 编码 区划编码 code gb2260 adcode division_code".split())
#: A footnote row below the data starts with one of these.
_FOOTNOTE = re.compile(r"^\s*(注|附注|说明|资料来源|数据来源|来源|备注|note|notes|source|sources)\s*\d*\s*[:：]",
                       re.IGNORECASE)
_YEAR_HEADERS = frozenset("年份 年度 年 时间 year".split())
_INDICATOR_HEADERS = frozenset("指标 指标名称 统计指标 项目 indicator indicator_name variable item".split())
_VALUE_HEADERS = frozenset("数值 值 数据 value values".split())
_UNIT_HEADERS = frozenset("单位 计量单位 unit units".split())
_NOTE_HEADERS = frozenset(
    "备注 注 注释 说明 来源 数据来源 note notes remark remarks comment comments source".split()
)
_NOTE_SHEET = re.compile(r"^(说明|备注|注释|readme|notes?\b|about\b|示例数据)", re.IGNORECASE)
_UNNAMED = re.compile(r"^(unnamed:\s*\d+(_level_\d+)?)?$", re.IGNORECASE)
_HEADER_UNIT = re.compile(r"^(?P<name>.*?)\s*\((?P<unit>[^()]*)\)\s*$")
_YEAR = re.compile(r"^(?P<start>\d{4})(?:\s*[-~—–至到]\s*(?P<end>\d{4}))?(?:年度?)?$")
# Measure words that mean the same thing for counts of people.
_UNIT_SYNONYMS = {"名": "人", "位": "人"}

_MAX_BAD_BYTES = 50  # undecodable byte sequences listed one by one
_XLSX_MAGIC = b"PK\x03\x04"
_XLS_MAGIC = b"\xd0\xcf\x11\xe0"


@dataclass(frozen=True, eq=False)
class IngestResult:
    """A yearbook extract in tidy long form, with its accounting.

    Attributes
    ----------
    data : DataFrame
        One row per (place, indicator, year) cell, columns :data:`TIDY_COLUMNS`:
        ``place_id`` (canonical, from :mod:`govstats.places`), ``place_as_written``,
        ``indicator``, ``year`` (``'2016'`` or a period ``'2006-2010'``, spelled as the
        facts layer spells it: a ``年`` suffix and full-width digits dropped; the header
        or cell as written is in ``source_column``/``source_ref``), ``year_start`` and
        ``year_end`` (Int64; equal for a single year), ``quantity`` (the raw cell text),
        ``value``/``lower``/``upper``/``bound``/``unit``/``scale`` (from
        :func:`govstats.quantities.parse_quantities`, with the header's unit and
        multiplier applied), ``source_file``, ``source_ref`` (``"row 5, column '2017'"``,
        prefixed with the sheet for XLSX), ``source_row`` (spreadsheet row) and
        ``source_column`` (the header as written). Sorted by place, indicator and year.
    accounting : RowAccounting
        Value cells in = cells kept (``data``) + cells rejected; the rejected cells
        (blank or marked not available) are in ``accounting.rejected`` with a
        ``reason`` column.
    encoding : str
        ``'utf-8'``, ``'utf-8-sig'`` (UTF-8 with BOM), ``'gb18030'`` (covers GBK), the
        caller's ``encoding=``, or ``'n/a (xlsx)'``.
    layout : str
        ``'wide'``, ``'long'``, or ``'mixed (...)'`` when sheets differ.
    source : str
        The path as given.
    notes : tuple of str
        What was skipped on purpose: comment rows, title rows, footnotes (注：,
        资料来源：), note sheets, note columns, blank rows; and each cell rejected as
        implausible, with its reason.
    warnings : tuple of str
        Values kept but worth a look: a year-on-year change of a factor of ten or more
        (often a unit slip, 人 vs 万人).
    """

    data: pd.DataFrame
    accounting: RowAccounting
    encoding: str
    layout: str
    source: str
    notes: tuple[str, ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """A few lines saying what was read and what was left out.

        Examples
        --------
        >>> from govstats.paths import examples_dir
        >>> res = read_extract(examples_dir() / "yearbook_example_long.xlsx")
        >>> print(res.summary().splitlines()[0])  # doctest: +ELLIPSIS
        yearbook_example_long.xlsx: long layout, n/a (xlsx)
        """
        d = self.data
        acc = self.accounting
        reasons = (
            acc.rejected["reason"].value_counts().to_dict()
            if acc.rows_rejected and "reason" in acc.rejected
            else {}
        )
        lines = [
            f"{Path(self.source).name}: {self.layout} layout, {self.encoding}",
            f"cells: {acc.rows_in} in = {acc.rows_kept} kept + {acc.rows_rejected} rejected"
            + (" (" + ", ".join(f"{n} {r}" for r, n in reasons.items()) + ")" if reasons else ""),
        ]
        if len(d):
            years = f"{int(d['year_start'].min())}-{int(d['year_end'].max())}"
            lines.append(
                f"{d['place_id'].nunique()} places, {d['indicator'].nunique()} indicators "
                f"({', '.join(sorted(d['indicator'].unique()))}), years {years}"
            )
        lines += [f"note: {n}" for n in self.notes]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)


# --------------------------------------------------------------------------- helpers


def _norm(text: str) -> str:
    """Matching key of a header: NFKC, simplified characters (公安民警數 -> 公安民警数),
    case folded, without whitespace."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).casefold()
    if not t.isascii():
        from govstats.places import _to_simplified

        t = _to_simplified(t)
    return t


def _split_header(text: str) -> tuple[str, str]:
    """``'公安民警数（人）'`` -> ``('公安民警数', '人')``; no bracket -> unit ``''``."""
    t = unicodedata.normalize("NFKC", text).strip()
    m = _HEADER_UNIT.match(t)
    if m and m.group("name").strip():
        return m.group("name").strip(), m.group("unit").strip()
    return t, ""


def _role(header: str) -> str | None:
    key = _norm(_split_header(header)[0])
    for role, names in (
        ("code", _CODE_HEADERS),
        ("place", _PLACE_HEADERS),
        ("year", _YEAR_HEADERS),
        ("indicator", _INDICATOR_HEADERS),
        ("value", _VALUE_HEADERS),
        ("unit", _UNIT_HEADERS),
        ("note", _NOTE_HEADERS),
    ):
        if key in names:
            return role
    return None


def _parse_year(text: str) -> tuple[str, int, int] | None:
    """``'2017'``/``'2017年'`` -> ``('2017', 2017, 2017)``; ``'2006-2010'`` a period."""
    t = unicodedata.normalize("NFKC", str(text)).strip()
    m = _YEAR.match(t)
    if not m:
        return None
    start = int(m.group("start"))
    end = int(m.group("end") or start)
    if not (1900 <= start <= end <= 2100):
        return None
    return (f"{start}" if start == end else f"{start}-{end}"), start, end


def _column_letter(position: int) -> str:
    """0 -> 'A', 26 -> 'AA' (spreadsheet column names)."""
    letters = ""
    n = position + 1
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _cell_text(cell: object) -> str:
    """An XLSX cell as the text a user sees (ints without '.0', percentages with '%')."""
    value = cell.value if hasattr(cell, "value") else cell
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if "%" in str(getattr(cell, "number_format", "")):
            return f"{value * 100:.12g}%"
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value).strip()


def _canonical_unit(unit: str) -> str:
    return _UNIT_SYNONYMS.get(unit, unit)


_DIGIT = re.compile(r"[0-9]")


def _is_missing(text: str) -> bool:
    return _norm(text) in MISSING_MARKS


# --------------------------------------------------------------------------- decoding


def _invalid_spans(data: bytes, encoding: str, limit: int = _MAX_BAD_BYTES) -> list[tuple[int, int]]:
    """Byte spans that do not decode (both codecs used here are stateless)."""
    spans: list[tuple[int, int]] = []
    pos = 0
    while pos < len(data) and len(spans) < limit:
        try:
            data[pos:].decode(encoding)
            break
        except UnicodeDecodeError as exc:
            spans.append((pos + exc.start, pos + exc.end))
            pos += exc.end
    return spans


def _decode(data: bytes, encoding: str | None, file: str) -> tuple[str | None, str, list[Problem]]:
    """Decode CSV bytes; return (text, encoding used, problems)."""

    def line_of(offset: int) -> int:
        return data.count(b"\n", 0, offset) + 1

    def problems_for(spans, tried: str, why: str, hint: str) -> list[Problem]:
        listed = [
            Problem(
                f"byte {data[a:b]!r} at byte offset {a} cannot be decoded ({tried}){why}",
                file=file,
                row=line_of(a),
                value=data[max(0, a - 6) : b + 6],
                hint=hint,
            )
            for a, b in spans
        ]
        if len(spans) == _MAX_BAD_BYTES:
            listed.append(
                Problem(
                    f"more undecodable bytes after byte offset {spans[-1][1]} are not listed",
                    file=file,
                    hint=hint,
                )
            )
        return listed

    if encoding is not None:
        try:
            return data.decode(encoding), encoding, []
        except (UnicodeDecodeError, LookupError) as exc:
            if isinstance(exc, LookupError):
                raise ValueError(f"encoding={encoding!r} is not a known text encoding") from None
            spans = _invalid_spans(data, encoding)
            return None, encoding, problems_for(
                spans,
                f"tried {encoding}, as asked",
                "",
                "check the file's encoding; leave encoding=None to let govstats try utf-8-sig and gb18030",
            )
    try:
        text = data.decode("utf-8-sig")
        return text, ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"), []
    except UnicodeDecodeError:
        pass
    replaced = data.decode("utf-8", errors="replace")
    n_bad = replaced.count("\ufffd")  # one per invalid byte sequence
    good_non_ascii = len(replaced) - len(replaced.encode("ascii", "ignore")) - n_bad
    if good_non_ascii >= 4 and good_non_ascii >= 4 * n_bad:
        utf8_spans = _invalid_spans(data, "utf-8")
        # Mostly valid UTF-8 with a few bad bytes: a damaged UTF-8 file, not GBK. Decoding
        # it as GB18030 would turn every Chinese character into nonsense.
        return None, "utf-8", problems_for(
            utf8_spans,
            "tried utf-8-sig",
            f"; the other {good_non_ascii} non-ASCII characters are valid UTF-8, so the file "
            "looks like damaged UTF-8",
            "fix or delete the byte; if the file really is GBK/GB18030 pass encoding='gb18030'",
        )
    try:
        return data.decode("gb18030"), "gb18030", []
    except UnicodeDecodeError:
        pass
    return None, "gb18030", problems_for(
        _invalid_spans(data, "gb18030"),
        "tried utf-8-sig, then gb18030",
        "",
        "save the file as UTF-8 or GBK/GB18030, or pass the right encoding=",
    )


_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN1_HIGH = re.compile(r"[\u0080-\u00ff]")


def _mojibake_problems(text: str, file: str) -> list[Problem]:
    """Text that was decoded with the wrong encoding and saved again (乱码), named as such.

    Three shapes: GBK bytes read as Latin-1/cp1252 (``µØÇø`` for 地区); UTF-8 bytes read
    as GBK (``鍦板尯`` for 地区); and text whose characters were already replaced
    (``锟斤拷``, U+FFFD), which cannot be recovered.
    """
    sample = text[:20000]
    first_line = next((ln for ln in sample.splitlines() if ln.strip()), "")
    if "锟斤拷" in sample or "\ufffd" in sample:
        pos = min(i for i in (sample.find("锟斤拷"), sample.find("\ufffd")) if i >= 0)
        return [Problem(
            "encoding problem (mojibake): the text holds replacement characters (锟斤拷 or U+FFFD); "
            "it was decoded with the wrong encoding and saved, and the original characters are lost",
            file=file, row=sample.count("\n", 0, pos) + 1, value=sample[max(0, pos - 10): pos + 10],
            hint="export the table again from its source (the yearbook's XLSX or the original CSV); "
            "this file cannot be repaired",
        )]
    if len(_LATIN1_HIGH.findall(first_line)) >= 4 and not _CJK.search(first_line):
        for codec in ("latin-1", "cp1252"):
            try:
                fixed = first_line.encode(codec).decode("gb18030")
            except (UnicodeEncodeError, UnicodeDecodeError):
                continue
            if _CJK.search(fixed):
                return [Problem(
                    f"encoding problem (mojibake): the header reads {first_line[:40]!r}, which is "
                    f"GBK/GB18030 text decoded as {codec} and saved again; it should read {fixed[:40]!r}",
                    file=file, row=1, value=first_line[:60],
                    hint="likely original encoding: GBK (GB18030). Re-export from the source, or repair it: "
                    f"text.encode({codec!r}).decode('gb18030')",
                )]
    if len(_CJK.findall(first_line)) >= 2:
        try:
            fixed = first_line.encode("gb18030").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            fixed = None
        if fixed and fixed != first_line and _CJK.search(fixed):
            return [Problem(
                f"encoding problem (mojibake): the header reads {first_line[:40]!r}, which is UTF-8 "
                f"text decoded as GBK and saved again; it should read {fixed[:40]!r}",
                file=file, row=1, value=first_line[:60],
                hint="likely original encoding: UTF-8. Re-export from the source, or repair it: "
                "text.encode('gb18030').decode('utf-8')",
            )]
    return []


# --------------------------------------------------------------------------- sheets


@dataclass
class _Sheet:
    file_label: str  # Problem.file: the path, plus the sheet for XLSX
    ref_prefix: str  # "" or "sheet 'x', "
    default_indicator: str  # sheet name (XLSX) or file stem (CSV)
    grid: list[list[str]]  # row i is spreadsheet row i + 1


def _csv_delimiter(text: str) -> str:
    first = next((ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")), "")
    delimiter = max([",", "\t", ";"], key=first.count) if first else ","
    if first.count(delimiter) == 0:
        delimiter = ","
    return delimiter


def _csv_grid(text: str) -> list[list[str]]:
    """The cells of a CSV text, row by row, each stripped of surrounding whitespace.

    Most yearbook exports quote nothing; their cells are then exactly the lines split at
    the delimiter (:func:`_csv_grid_split`, a few times faster than ``csv.reader``).
    Anything the ``csv`` module would read differently (a quote, a NUL, a lone carriage
    return, a line longer than its field size limit) goes through ``csv.reader``.
    """
    delimiter = _csv_delimiter(text)
    fast = _csv_grid_split(text, delimiter)
    return fast if fast is not None else _csv_grid_reader(text, delimiter)


def _csv_grid_reader(text: str, delimiter: str) -> list[list[str]]:
    """The general path: ``csv.reader`` (quoted cells, embedded delimiters and line breaks)."""
    return [[c.strip() for c in row] for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]


def _csv_grid_split(text: str, delimiter: str) -> list[list[str]] | None:
    """The grid ``csv.reader`` gives for a text without quotes, or None for other texts.

    Without a quote character ``csv.reader`` only splits lines (at ``\\n``, ``\\r\\n``
    and a lone ``\\r``) and the lines at the delimiter; a blank line is a row without
    cells. Texts with a quote, a NUL or a lone ``\\r`` (where ``csv`` merges line breaks)
    are left to the reader. Only the lines with a cell that starts or ends with
    whitespace are stripped.
    """
    if '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        if text.count("\r") != text.count("\r\n"):
            return None
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the line break that ends the last line
    if lines and max(map(len, lines)) > csv.field_size_limit():
        return None  # csv.reader refuses such a field
    grid = [line.split(delimiter) if line else [] for line in lines]
    # the lines where a cell starts or ends with whitespace: each run of whitespace (other
    # than line breaks and a whitespace delimiter) is looked at once, by what is on either
    # side of it (a line break, the delimiter, or the text's ends)
    bounds = {"\n", delimiter}
    space = "[^\\S\\n\\t]+" if delimiter == "\t" else "[^\\S\\n]+"
    n_text = len(text)
    edges = [s for m in re.finditer(space, text) for s, e in (m.span(),)
             if s == 0 or e == n_text or text[s - 1] in bounds or text[e] in bounds]
    if edges:
        starts = list(itertools.accumulate((len(line) + 1 for line in lines), initial=0))
        for i in {bisect.bisect_right(starts, pos) - 1 for pos in edges}:
            grid[i] = [c.strip() for c in grid[i]]
    return grid


def _xlsx_sheets(path: Path, source: str, sheet: str | int | None, notes: list[str]) -> tuple[list[_Sheet], list[Problem]]:
    import openpyxl

    wb = openpyxl.load_workbook(path, data_only=True)
    names = wb.sheetnames
    if sheet is None:
        chosen = [n for n in names if not _NOTE_SHEET.match(unicodedata.normalize("NFKC", n).strip())]
        skipped = [n for n in names if n not in chosen]
        if skipped:
            notes.append("note sheet(s) skipped: " + ", ".join(map(repr, skipped)))
        if not chosen:
            return [], [
                Problem(
                    "no data sheet: every sheet is a note sheet",
                    file=source,
                    value=names,
                    hint="name the sheet to read with sheet=",
                )
            ]
    elif isinstance(sheet, int) and not isinstance(sheet, bool):
        if not 0 <= sheet < len(names):
            return [], [Problem(f"no sheet number {sheet}", file=source, value=sheet, hint=f"the sheets are {names}")]
        chosen = [names[sheet]]
    else:
        if sheet not in names:
            return [], [Problem(f"no sheet named {sheet!r}", file=source, value=sheet, hint=f"the sheets are {names}")]
        chosen = [sheet]
    out = []
    for name in chosen:
        ws = wb[name]
        grid = [[_cell_text(c) for c in row]
                for row in ws.iter_rows(min_row=1, min_col=1, max_col=max(ws.max_column, 1))]
        filled = _fill_merged(grid, ws.merged_cells.ranges)
        if filled:
            notes.append(f"{source}, sheet {name!r}: merged cell(s) {', '.join(filled)} "
                         "read as their value repeated over the merged range")
        out.append(_Sheet(f"{source}, sheet {name!r}", f"sheet {name!r}, ", name, grid))
    wb.close()
    return out, []


def _fill_merged(grid: list[list[str]], ranges) -> list[str]:
    """Repeat each merged range's value (its top-left cell) over the range, in place.

    openpyxl keeps the value of a merged range in its top-left cell only; a yearbook's
    merged cells (an indicator over its years, a place over its years) mean that value
    for every cell they cover. Returns the ranges filled (``'B1:D1'``).
    """
    filled = []
    for rng in sorted(ranges, key=lambda r: (r.min_row, r.min_col)):
        r0, c0, r1, c1 = rng.min_row - 1, rng.min_col - 1, rng.max_row - 1, rng.max_col - 1
        if r0 >= len(grid):
            continue
        value = grid[r0][c0] if c0 < len(grid[r0]) else ""
        if not value:
            continue
        for r in range(r0, min(r1, len(grid) - 1) + 1):
            row = grid[r]
            if len(row) <= c1:
                row.extend([""] * (c1 + 1 - len(row)))
            for c in range(c0, c1 + 1):
                row[c] = value
        filled.append(rng.coord)
    return filled


def _two_row_header(grid: list[list[str]], h: int) -> list[str] | None:
    """The indicator row of a two-row header (an indicator over its years), or None.

    Row ``h`` names the place (and code) columns and, over groups of columns, an
    indicator; row ``h + 1`` has a year under each of those columns and nothing (or the
    same text, from a vertically merged cell) under the place columns. Blank cells of
    row ``h`` right of an indicator are that indicator (an unmerged export of merged
    cells). Returns row ``h`` with those blanks filled.
    """
    if h + 1 >= len(grid):
        return None
    top, below = grid[h], grid[h + 1]
    width = max(len(top), len(below))
    top = top + [""] * (width - len(top))
    below = below + [""] * (width - len(below))
    filled, current, years = [], "", 0
    for j in range(width):
        t, b = top[j], below[j]
        role = _role(t) if t else None
        if t and (role is not None or _parse_year(t)):
            if b and b != t:  # a data row: the place column holds a name
                return None
            current = ""
            filled.append(t)
            continue
        if t:
            current = t
        if b:
            if not _parse_year(b) or not current:
                return None
            years += 1
        filled.append(current if b else t)
    return filled if years >= 2 else None


# --------------------------------------------------------------------------- indicators


_CODEBOOK_CACHE: dict[tuple[str, int, int], pd.DataFrame] = {}


def _codebook_names(path: Path) -> pd.DataFrame:
    """indicator and name_zh of the validated codebook, re-read when the file changes."""
    from govstats.facts import load_codebook

    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key not in _CODEBOOK_CACHE:
        _CODEBOOK_CACHE.clear()
        _CODEBOOK_CACHE[key] = load_codebook(path)[["indicator", "name_zh"]]
    return _CODEBOOK_CACHE[key]


_INDICATOR_TABLE = Path(__file__).with_name("data") / "yearbook_indicators.csv"
#: Suffixes that yearbooks add to or leave off an indicator name (人民调解员 / 人民调解员数).
_COUNT_SUFFIX = re.compile(r"(总人数|人数|个数|总数|数量|数)$")


def _loose(key: str) -> str:
    """A normalised header without a trailing 数/人数/个数/数量 ('' if nothing would be left)."""
    stripped = _COUNT_SUFFIX.sub("", key)
    return stripped if len(stripped) >= 2 else key


@dataclass(frozen=True)
class IndicatorRule:
    """Plausibility bounds of one indicator, from the codebook.

    ``minimum``/``maximum`` (NaN: none) bound every value; ``whole`` requires an exact
    value to be a whole number. Derived from the codebook's unit kind unless the
    codebook states ``min``/``max``/``whole``: counts and persons >= 0 and whole,
    percent 0-100, a calendar ``year`` 1900-2100, rank >= 1, every other kind >= 0.
    """

    indicator: str
    unit_kind: str
    minimum: float
    maximum: float
    whole: bool


def _rule_for(indicator: str, kind: str, lo: str = "", hi: str = "", whole: str = "") -> IndicatorRule:
    k = (kind or "").strip()
    if k in ("count", "persons", "person_times", "events", "unit") or k.startswith(("count_", "persons_")):
        d = (0.0, math.nan, k in ("count", "persons", "person_times", "events", "unit"))
    elif k.startswith("percent"):
        d = (0.0, 100.0, False)
    elif k == "year":
        d = (1900.0, 2100.0, True)
    elif k == "rank":
        d = (1.0, math.nan, True)
    elif k:
        d = (0.0, math.nan, False)
    else:
        d = (math.nan, math.nan, False)
    minimum = float(lo) if str(lo).strip() else d[0]
    maximum = float(hi) if str(hi).strip() else d[1]
    w = str(whole).strip().casefold()
    return IndicatorRule(indicator, k, minimum, maximum, (w in ("true", "1", "yes")) if w else d[2])


def _read_codebook_file(path: Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    missing = [c for c in ("indicator", "name_zh", "unit") if c not in frame.columns]
    if missing:
        raise DataValidationError(
            [Problem(f"codebook column {c!r} missing", file=str(path), column=c,
                     hint="a codebook has columns indicator, name_zh, unit and optionally "
                     "synonyms (|-separated), min, max, whole") for c in missing],
            what=f"codebook {path}",
        )
    for c in ("synonyms", "min", "max", "whole"):
        if c not in frame.columns:
            frame[c] = ""
    return frame


class _IndicatorMatcher:
    """Header name -> indicator: caller's map, user codebook, raw codebook, yearbook table."""

    def __init__(self, indicator_map: Mapping[str, str] | None, codebook: str | Path | None = None):
        by_name: dict[str, str] = {}
        loose: dict[str, set[str]] = {}
        self.known_headers: dict[str, str] = {}
        self.rules: dict[str, IndicatorRule] = {}
        indicators: set[str] = set()

        def add(name: str, ind: str) -> None:
            key = _norm(_split_header(name)[0])
            if not key:
                return
            by_name[key] = ind
            loose.setdefault(_loose(key), set()).add(ind)
            self.known_headers[name] = ind

        tables = [_read_codebook_file(_INDICATOR_TABLE)]
        codebook_path = paths.raw_dir() / "codebook.csv"
        if codebook_path.is_file():
            cb = _codebook_names(codebook_path)
            tables.append(cb.assign(synonyms="", min="", max="", whole=""))
        if codebook is not None:
            tables.append(_read_codebook_file(Path(codebook)))
        for table in tables:  # later tables override earlier ones
            for rec in table.to_dict("records"):
                ind = rec["indicator"]
                indicators.add(ind)
                add(rec["name_zh"], ind)
                for syn in str(rec.get("synonyms", "")).split("|"):
                    if syn.strip():
                        add(syn.strip(), ind)
                self.rules[ind] = _rule_for(ind, rec.get("unit", ""), rec.get("min", ""),
                                            rec.get("max", ""), rec.get("whole", ""))
        for name, ind in DEFAULT_HEADER_INDICATORS.items():
            if _norm(name) not in by_name:
                add(name, ind)
                indicators.add(ind)
        self.user_full: dict[str, str] = {}
        self.user_name: dict[str, str] = {}
        for key, ind in (indicator_map or {}).items():
            name, unit = _split_header(key)
            if unit:
                self.user_full[_norm(key)] = ind
            else:
                self.user_name[_norm(name)] = ind
            indicators.add(ind)
        self.by_name = by_name
        self.by_loose = {k: next(iter(v)) for k, v in loose.items() if len(v) == 1}
        self.indicators = indicators

    def match(self, header: str) -> str | None:
        name, _ = _split_header(header)
        full = _norm(header)
        key = _norm(name)
        if full in self.user_full:
            return self.user_full[full]
        if key in self.user_name:
            return self.user_name[key]
        if key in self.by_name:
            return self.by_name[key]
        if _loose(key) in self.by_loose:
            return self.by_loose[_loose(key)]
        plain = name.strip()
        if plain in self.indicators:
            return plain
        return None

    def suggest(self, header: str) -> list[str]:
        """The closest known headers, each with the indicator id it maps to."""
        name, _ = _split_header(header)
        key = _loose(_norm(name))
        names = {_loose(_norm(h)): h for h in self.known_headers}
        out: list[str] = []
        for k in difflib.get_close_matches(key, list(names), n=6, cutoff=0.4):
            label = f"{names[k]} -> {self.known_headers[names[k]]}"
            if label not in out:
                out.append(label)
        for ind in difflib.get_close_matches(name, sorted(self.indicators), n=3, cutoff=0.5):
            out.append(ind)
        return out[:5]

    def closest_indicator(self, header: str) -> str:
        for s in self.suggest(header):
            return s.split(" -> ")[-1]
        return "indicator_name"


def _header_unit(unit_text: str) -> tuple[str, float]:
    """Unit text of a header -> (unit after the multiplier, multiplier)."""
    if not unit_text:
        return "", 1.0
    from govstats.quantities import QuantityParseError, parse_quantity

    try:
        q = parse_quantity("1" + unit_text)
    except QuantityParseError:  # a unit the parser does not know is kept as written
        return unit_text, 1.0
    if q.bound == "exact" and math.isclose(q.value, q.scale):
        return q.unit, float(q.scale)
    return unit_text, 1.0


# --------------------------------------------------------------------------- tables


_CELL_FIELDS = (
    "table",
    "place_as_written",
    "indicator",
    "header_unit",
    "header_scale",
    "year",
    "year_start",
    "year_end",
    "quantity",
    "source_file",
    "source_ref",
    "source_row",
    "source_column",
    "file_label",
)


@dataclass
class _Cells:
    """Value cells gathered from every sheet: one block of whole columns per table."""

    blocks: list[dict[str, np.ndarray]] = field(default_factory=list)
    #: per block, the key columns as (levels, codes): the column is ``levels[codes]``
    coded_blocks: list[dict[str, tuple[np.ndarray, np.ndarray]]] = field(default_factory=list)

    def add_block(self, coded: dict[str, tuple[np.ndarray, np.ndarray]], **columns: np.ndarray) -> None:
        """Add a table's cells: ``columns`` as arrays; ``coded`` columns as (levels, codes)."""
        self.blocks.append(columns | {k: levels[codes] for k, (levels, codes) in coded.items()})
        self.coded_blocks.append(coded)

    def coded(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """A coded column over every block: (levels, codes), ``frame()[name]`` is ``levels[codes]``."""
        if not self.coded_blocks:
            return _same(0, None), np.zeros(0, dtype=np.int64)
        levels = [b[name][0] for b in self.coded_blocks]
        offsets = np.cumsum([0] + [len(lv) for lv in levels[:-1]])
        return (np.concatenate(levels).astype(object),
                np.concatenate([b[name][1] + o for b, o in zip(self.coded_blocks, offsets, strict=True)]))

    def frame(self) -> pd.DataFrame:
        if not self.blocks:
            df = pd.DataFrame({k: [] for k in _CELL_FIELDS})
        else:
            # text columns stay object arrays here (no per-string conversion to the str
            # dtype); the tidy columns are converted once, in _assemble
            # dtype=object: no conversion, and the arrays are not copied into one block (a
            # frame built from a dict would stack the object columns into one 2-D array)
            cols = {k: (self.blocks[0][k] if len(self.blocks) == 1 else np.concatenate([b[k] for b in self.blocks]))
                    for k in _CELL_FIELDS}
            df = pd.concat([pd.Series(v, dtype=object if v.dtype == object else None, name=k, copy=False)
                            for k, v in cols.items()], axis=1)
        return df.astype({"year_start": "Int64", "year_end": "Int64", "source_row": "Int64", "header_scale": float})


def _same(n: int, text: str) -> np.ndarray:
    """``n`` references to one string (``np.full`` would copy it ``n`` times)."""
    out = np.empty(n, dtype=object)
    out.fill(text)
    return out


def _read_table(
    t: int,
    sh: _Sheet,
    layout: str,
    matcher: _IndicatorMatcher,
    source_file: str,
    cells: _Cells,
    place_rows: list[dict],
    problems: list[Problem],
    notes: list[str],
) -> str | None:
    """Turn one sheet into value cells; return the layout found (None if unusable)."""
    file = sh.file_label
    grid = sh.grid
    # comment rows above the header
    h = 0
    comments = []
    while h < len(grid):
        nonblank = [c for c in grid[h] if c]
        if nonblank and not nonblank[0].startswith("#"):
            break
        if nonblank:
            comments.append(",".join(nonblank))
        h += 1
    if comments:
        notes.append(f"{file}: {len(comments)} comment row(s) above the header skipped: " + " / ".join(comments))
    if h == len(grid):
        problems.append(Problem("the file is empty (no header row)" if not comments else "no header row below the comments", file=file))
        return None
    # title rows (表3-12 ..., 单位：人): the header is the first row that names a place,
    # code, year or indicator column, or has years as headers
    for k in range(h, min(h + 12, len(grid))):
        cells_k = [c for c in grid[k] if c]
        roles_k = [_role(c) for c in cells_k]
        if len(cells_k) >= 2 and (
            any(r in ("place", "code", "year", "indicator") for r in roles_k)
            or sum(1 for c in cells_k if _parse_year(c)) >= 2
        ):
            if k > h:
                titles = [" ".join(dict.fromkeys(c for c in grid[i] if c)) for i in range(h, k) if any(grid[i])]
                notes.append(f"{file}: title row(s) above the header (row {k + 1}) skipped: " + " / ".join(titles))
                h = k
            break
    # a two-row header: an indicator over its years (merged cells, or blanks to its right)
    top = _two_row_header(grid, h)
    top_row = h + 1
    if top is not None:
        below = grid[h + 1] + [""] * (len(top) - len(grid[h + 1]))
        # the header row is the year row; place/code headers come from the row above
        grid = [*grid[: h + 1], [b or t for t, b in zip(top, below, strict=True)], *grid[h + 2 :]]
        notes.append(f"{file}: two-row header (rows {h + 1}-{h + 2}): indicators in row {h + 1} over the years in row {h + 2}")
        h += 1
    header_row = h + 1
    # footnotes below the data (注：..., 资料来源：...)
    end = len(grid)
    # the first row whose first filled cell opens a footnote; each distinct first cell is
    # looked at once (a place starts many rows)
    firsts = [row[0] if row and row[0] else next((c for c in row if c), "") for row in grid[h + 1:]]
    notes_at = {c for c in dict.fromkeys(firsts) if c and _FOOTNOTE.match(unicodedata.normalize("NFKC", c))}
    if notes_at:
        end = h + 1 + next(i for i, c in enumerate(firsts) if c in notes_at)
    if end < len(grid):
        foot = [(k + 1, " ".join(dict.fromkeys(c for c in grid[k] if c))) for k in range(end, len(grid)) if any(grid[k])]
        notes.append(f"{file}: footnote row(s) below the data read as notes: "
                     + " / ".join(f"row {r}: {t}" for r, t in foot))
        for r, _t in foot:
            row_cells = [c for c in grid[r - 1] if c]
            if len(row_cells) >= 3 and any(_parse_year(c) is None and c[:1].isdigit() for c in row_cells[1:]):
                problems.append(Problem("a row that looks like data below a footnote", file=file, row=r,
                                        value=row_cells, hint="move footnotes (注：...) below all the data"))
    header_len = len(grid[h])
    while header_len and not grid[h][header_len - 1]:
        header_len -= 1
    width = max(map(len, grid[h:end]))
    header = grid[h] + [""] * (width - len(grid[h]))
    rows_below = grid[h + 1 : end]
    # the rows that hold something, padded to the width (spreadsheet row number, cells)
    body = [(h + 2 + i, r if len(r) == width else r + [""] * (width - len(r)))
            for i, r in enumerate(rows_below) if any(r)]
    n_blank = len(rows_below) - len(body)
    long_rows: set[int] = set()  # rows with more cells than headers: reported once, as malformed
    if not sh.ref_prefix:  # CSV: a row with too few or too many cells is malformed
        n_header = len(grid[h])
        for i in [i for i, r in enumerate(rows_below) if len(r) != n_header]:
            r = rows_below[i]
            filled = len(r)
            while filled and not r[filled - 1]:
                filled -= 1
            if filled and len(r) != len(grid[h]) and (len(r) < header_len or filled > header_len):
                if filled > header_len:
                    long_rows.add(h + 2 + i)
                problems.append(
                    Problem(
                        f"malformed row: {len(r)} cell(s) but the header has {len(grid[h])}"
                        + (" (a short, ragged row)" if len(r) < header_len else " (more cells than headers)"),
                        file=file,
                        row=h + 2 + i,
                        value=r,
                        hint="every row needs one cell per header; leave a cell empty (,,) for a missing value",
                    )
                )
    if n_blank:
        notes.append(f"{file}: {n_blank} blank row(s) skipped")

    # the column as a user names it: with a two-row header, indicator / year
    shown = list(header)
    if top is not None:
        for j, text in enumerate(header):
            if j < len(top) and top[j] and top[j] != text and _parse_year(text):
                shown[j] = f"{top[j]} / {text}"

    def colname(j: int) -> str:
        return shown[j] if header[j] and not _UNNAMED.match(header[j]) else f"(unnamed column {_column_letter(j)})"

    roles: dict[int, str | None] = {}
    unnamed = []
    for j, head in enumerate(header):
        if not head or _UNNAMED.match(head):
            first = next(((r, c[j]) for r, c in body if c[j] and r not in long_rows), None)
            if first is not None:
                problems.append(
                    Problem(
                        "a column with no header holds data",
                        file=file,
                        row=first[0],
                        column=colname(j),
                        value=first[1],
                        hint="give the column a header (a place, year or indicator name) or delete it",
                    )
                )
            unnamed.append(j)
            continue
        roles[j] = _role(head)
    if unnamed and all(not any(c[j] for _, c in body) for j in unnamed):
        notes.append(f"{file}: {len(unnamed)} empty column(s) without a header ignored")
    if not body:
        problems.append(Problem("no data rows under the header", file=file, row=header_row))
        return None

    def first_of(role: str) -> int | None:
        return next((j for j, r in roles.items() if r == role), None)

    year_j, ind_j = first_of("year"), first_of("indicator")
    value_j, unit_j = first_of("value"), first_of("unit")
    # a place over several columns (省份, 城市, 区县): the last names the place, the ones
    # before it say where to look; a code column (行政区划代码) decides when present
    place_cols = [j for j, r in roles.items() if r == "place"]
    code_j = first_of("code")
    name_j = place_cols[-1] if place_cols else None
    qual_js = place_cols[:-1]
    place_j = code_j if code_j is not None else name_j
    notes_cols = [header[j] for j, r in roles.items() if r == "note"]
    if notes_cols:
        notes.append(f"{file}: column(s) not read as data: " + ", ".join(map(repr, notes_cols)))
    if qual_js:
        notes.append(f"{file}: place named by {header[name_j]!r} within " + ", ".join(repr(header[j]) for j in qual_js))
    if code_j is not None and name_j is not None:
        notes.append(f"{file}: the code column {header[code_j]!r} decides the place; {header[name_j]!r} is checked against it")
    others = [j for j, r in roles.items() if r is None]
    year_like = [j for j in others if _parse_year(header[j])]

    if layout == "auto":
        found = "long" if year_j is not None else ("wide" if year_like else None)
    else:
        found = layout
    if place_j is None:
        problems.append(
            Problem(
                "no place column",
                file=file,
                row=header_row,
                value=[x for x in header if x],
                hint="name the place column 地区 (or 地名, 城市, 区县, place, region)",
            )
        )
    if found is None or (found == "long" and year_j is None):
        problems.append(
            Problem(
                "no year column and no year headers",
                file=file,
                row=header_row,
                value=[x for x in header if x],
                hint="long layout needs a 年份 (year) column; wide layout needs years as headers (2016, 2017年, ...)",
            )
        )
        return None
    if found == "wide" and year_j is not None:
        problems.append(
            Problem(
                "layout='wide' but the table has a year column",
                file=file,
                row=header_row,
                column=header[year_j],
                hint="use layout='long' (or 'auto') for a table with a 年份 column",
            )
        )
        return None
    fully_long = found == "long" and ind_j is not None
    if fully_long and value_j is None:
        problems.append(
            Problem(
                "the table has an indicator column but no value column",
                file=file,
                row=header_row,
                value=[x for x in header if x],
                hint="name the value column 数值 (or value)",
            )
        )

    # value columns and what each of them means
    if found == "wide":
        value_cols = []
        for j in others:
            parsed = _parse_year(header[j])
            if parsed is None:
                problems.append(
                    Problem(
                        "this header is not a year (wide layout: one column per year)",
                        file=file,
                        row=header_row,
                        column=header[j],
                        value=header[j],
                        hint="year headers look like 2016, 2016年 or 2006-2010; a column per "
                        "indicator needs a 年份 column instead (long layout)",
                    )
                )
            else:
                value_cols.append((j, parsed))
    elif fully_long:
        value_cols = [(value_j, None)] if value_j is not None else []
        for j in others:
            problems.append(
                Problem(
                    "unexpected column in a place/indicator/year/value table",
                    file=file,
                    row=header_row,
                    column=header[j],
                    value=header[j],
                    hint="remove it, or name it 备注 (note) if it is a comment",
                )
            )
    else:  # long, one column per indicator
        if unit_j is not None:
            problems.append(
                Problem(
                    "a unit column is ambiguous when each indicator has its own column",
                    file=file,
                    row=header_row,
                    column=header[unit_j],
                    hint="put the unit in each header, e.g. 公安民警数（人）",
                )
            )
        value_cols = [(j, None) for j in others]
        if value_j is not None:
            value_cols.append((value_j, None))

    # indicator of each header (long) or of each row (wide with 指标 / fully long)
    def indicator_of(text: str, row: int, column: str, seen: dict) -> tuple[str | None, str, float]:
        name, unit_text = _split_header(text)
        ind = matcher.match(text)
        if ind is None:
            if (column, text) in seen:
                seen[(column, text)].append(row)
                return None, "", 1.0
            seen[(column, text)] = [row]
            return None, "", 1.0
        unit, scale = _header_unit(unit_text)
        return ind, unit, scale

    unknown: dict[tuple[str, str], list[int]] = {}
    col_ind: dict[int, tuple[str | None, str, float]] = {}
    if found == "long" and not fully_long:
        for j, _ in value_cols:
            col_ind[j] = indicator_of(header[j], header_row, header[j], unknown)
    elif found == "wide" and top is not None:
        for j, _ in value_cols:
            col_ind[j] = indicator_of(top[j], top_row, top[j], unknown) if top[j] else (None, "", 1.0)
            if not top[j]:
                problems.append(Problem("a year column with no indicator above it (two-row header)",
                                        file=file, row=top_row, column=colname(j),
                                        hint="write the indicator over its years in the first header row"))
    elif found == "wide" and ind_j is None:
        label = "sheet name" if sh.ref_prefix else "file name"
        ind = indicator_of(sh.default_indicator, header_row, f"({label})", unknown)
        for j, _ in value_cols:
            col_ind[j] = ind

    quoted = {j: repr(colname(j)) for j, _ in value_cols}
    # the checks, the place, the year and the indicator of every row, as whole columns of
    # the body's cells (row i, column j; the distinct years parsed once) ...
    per_row_ind = (ind_j is not None and found == "wide") or fully_long
    place_column = header[place_j] if place_j is not None else ""
    qualified = code_j is None and bool(qual_js)
    coded_name = code_j is not None and name_j is not None
    name_column = header[name_j] if name_j is not None else ""
    if place_j is None:
        body = []  # no place column: reported above; no cells
    n, m = len(body), len(value_cols)
    rows_r = np.array([r for r, _ in body], dtype=np.int64)
    grid_ = np.empty((n, width), dtype=object)  # every body row has ``width`` cells
    if n:
        grid_[:] = [c for _, c in body]
        place_col = grid_[:, place_j]
        blank = place_col == ""
        for r in rows_r[blank].tolist():
            problems.append(Problem("the place is blank in a row that holds data", file=file, row=r,
                                    column=header[place_j], hint="write the place in every row"))
        named = ~blank
        place_rows.append({  # the columns of _PLACE_ROW
            "table": t, "row": rows_r[named], "place": place_col[named], "file": file, "column": place_column,
            "within": ([tuple((header[j], row[j]) for j in qual_js if row[j]) for row in grid_[named].tolist()]
                       if qualified else [()] * int(named.sum())),
            "name": grid_[named, name_j] if coded_name else _same(int(named.sum()), ""),
            "name_column": name_column,
        })
        rows_written = place_col
        if name_j is not None:
            rows_written = np.where(grid_[:, name_j] == "", place_col, grid_[:, name_j])
    # a row with a bad year: its cells are still checked
    if year_j is not None and n:
        year_codes, year_texts = pd.factorize(grid_[:, year_j])
        parsed_years = [_parse_year(y) for y in year_texts]
        not_years = [k for k, y in enumerate(parsed_years) if y is None]
        for i in np.flatnonzero(np.isin(year_codes, not_years)).tolist():
            text_y = year_texts[year_codes[i]]
            problems.append(
                Problem(
                    "not a year" if text_y else "the year is blank in a row that holds data",
                    file=file,
                    row=int(rows_r[i]),
                    column=header[year_j],
                    value=text_y or None,
                    hint="write a year such as 2016 or 2016年 (a period: 2006-2010)",
                )
            )
        year_levels = ([None if y is None else y[0] for y in parsed_years],
                       *([np.nan if y is None else y[k] for y in parsed_years] for k in (1, 2)))
    # the indicator of each row (a 指标 column): each distinct (indicator, unit) text pair
    # is read once; its rows share the result (a national long table repeats a few dozen)
    pair_ind: list[tuple] = []  # per distinct pair: (indicator, unit, scale)
    pair_codes = np.zeros(n, dtype=np.int64)  # per row: its pair
    if per_row_ind and n:
        ind_codes_, ind_texts = pd.factorize(grid_[:, ind_j])
        unit_codes_, unit_texts = pd.factorize(grid_[:, unit_j]) if unit_j is not None else (
            np.zeros(n, dtype=np.int64), np.array([""], dtype=object))
        pair_codes, pairs = pd.factorize(ind_codes_ * len(unit_texts) + unit_codes_)
        first_row = rows_r[_first_rows(pair_codes)]  # the first row of each pair, in pair order
        mismatched = []  # pairs whose unit column disagrees with the indicator name's unit
        unknown_texts: dict[tuple[str, str], list[int]] = {}  # (column, text) -> its first row
        for k, (pair, r) in enumerate(zip(pairs.tolist(), first_row.tolist(), strict=True)):
            ind_text, unit_text = ind_texts[pair // len(unit_texts)], unit_texts[pair % len(unit_texts)]
            row_ind = (None, "", 1.0)
            if ind_text:
                row_ind = indicator_of(ind_text, r, header[ind_j], unknown_texts)
            if unit_j is not None and unit_text and row_ind[0] is not None:
                u, sc = _header_unit(unit_text)
                if row_ind[1] and (_canonical_unit(u), sc) != (_canonical_unit(row_ind[1]), row_ind[2]):
                    mismatched.append(k)
                row_ind = (row_ind[0], u, sc)
            pair_ind.append(row_ind)
        blank = np.flatnonzero(grid_[:, ind_j] == "")
        for i in blank.tolist():
            problems.append(
                Problem("the indicator is blank in a row that holds data", file=file, row=int(rows_r[i]),
                        column=header[ind_j])
            )
        for i in np.flatnonzero(np.isin(pair_codes, mismatched)).tolist():
            ind_text, unit_text = grid_[i, ind_j], grid_[i, unit_j]
            problems.append(
                Problem(
                    f"the unit column says {unit_text!r} but the indicator name says "
                    f"{_split_header(ind_text)[1]!r}",
                    file=file,
                    row=int(rows_r[i]),
                    column=header[unit_j],
                    value=unit_text,
                    hint="state the unit once, or make the two agree",
                )
            )
        # an unknown indicator is reported at its first row, naming the rows after it (the
        # pairs come in the order of their first rows, so the texts do too)
        text_code = {text: c for c, text in enumerate(ind_texts)}
        for key in unknown_texts:
            unknown[key] = rows_r[ind_codes_ == text_code[key[1]]].tolist()
    # ... and the value cells as whole columns: cell (row i, value column k) is item
    # i * m + k, the order a reader goes through the table
    if n and m:
        js = [j for j, _ in value_cols]
        quantity = grid_[:, js]
        # indicator, header unit and scale: per row, or per column (codes into the levels)
        if per_row_ind:
            ind_levels, ind_codes = pair_ind, np.repeat(pair_codes, m)
        else:
            ind_levels, ind_codes = [col_ind[j] for j in js], np.tile(np.arange(m), n)
        # the year: the m column years (None for a column without one), then the row years
        row_levels, row_codes = (year_levels, year_codes) if year_j is not None else (
            ([None], [np.nan], [np.nan]), np.zeros(n, dtype=np.int64))
        col_years = [year for _, year in value_cols]
        year_lv = [np.array([y[k] if y is not None else (None if k == 0 else np.nan) for y in col_years]
                            + list(row_levels[k]), dtype=object if k == 0 else float) for k in range(3)]
        per_column = np.array([y is not None for y in col_years], dtype=bool)
        yr_codes = np.where(per_column[None, :], np.arange(m)[None, :], m + row_codes[:, None]).ravel()
        cols_q = [quoted[j] for j in js]
        prefix = sh.ref_prefix
        cells.add_block(
            coded={
                "indicator": (np.array([x[0] for x in ind_levels], dtype=object), ind_codes),
                "header_unit": (np.array([x[1] for x in ind_levels], dtype=object), ind_codes),
                "year": (year_lv[0], yr_codes),
            },
            table=np.full(n * m, t),
            place_as_written=np.repeat(rows_written, m),
            header_scale=np.array([x[2] for x in ind_levels], dtype=float)[ind_codes],
            year_start=year_lv[1][yr_codes],
            year_end=year_lv[2][yr_codes],
            quantity=quantity.ravel(),
            source_file=_same(n * m, source_file),
            source_ref=np.add.outer(np.array([f"{prefix}row {r}, column " for r in rows_r.tolist()], dtype=object),
                                    np.array(cols_q, dtype=object)).ravel(),
            source_row=np.repeat(rows_r, m),
            source_column=np.tile(np.array([shown[j] for j in js], dtype=object), n),
            file_label=_same(n * m, file),
        )
    for (column, text), rows in unknown.items():
        problems.append(
            Problem(
                "unknown indicator header" + (f" (also in rows {', '.join(map(str, rows[1:]))})" if len(rows) > 1 else ""),
                file=file,
                row=rows[0],
                column=column,
                value=text,
                hint=(
                    ("closest known headers: " + ", ".join(matcher.suggest(text)) + ". " if matcher.suggest(text) else "")
                    + f"Map it with read_extract(..., indicator_map={{{_split_header(text)[0]!r}: "
                    f"{matcher.closest_indicator(text)!r}}}), or declare a new indicator in a codebook "
                    "file passed as read_extract(..., codebook=...)"
                ),
            )
        )
    if found == "long" and fully_long:
        return "long"
    return found


# --------------------------------------------------------------------------- places


#: The columns of a place block, as _read_table records them (one block per table).
_PLACE_ROW = ["table", "row", "place", "file", "column", "within", "name", "name_column"]


def _resolve_places(
    place_rows: list[dict], within: str | None, registry_file: str | Path | None = None
) -> tuple[pd.DataFrame, list[Problem]]:
    """The place id of every place cell, as a frame (table, row, pid); problems for unknown names."""
    from govstats import places
    from govstats.places import AmbiguousPlaceError

    problems: list[Problem] = []
    found = pd.DataFrame({"table": np.empty(0, np.int64), "row": np.empty(0, np.int64), "pid": _same(0, None)})
    if not place_rows:
        return found, problems
    pr = pd.concat([pd.DataFrame(block, columns=_PLACE_ROW) for block in place_rows], ignore_index=True)
    pids = _same(len(pr), None)

    def one(name: str, scope: str | None) -> str | None:
        try:
            return places.resolve(name, within=scope, registry_file=registry_file)
        except UnknownPlaceError:
            return None

    scopes: dict[tuple, tuple[str | None, Problem | None]] = {}

    def scope_of(quals: tuple, file: str, row: int) -> tuple[str | None, Problem | None]:
        if quals not in scopes:
            scope, problem = within, None
            for column, text in quals:
                try:
                    scope = places.resolve(text, within=scope, registry_file=registry_file)
                except UnknownPlaceError as err:
                    problem = Problem(
                        ("ambiguous" if isinstance(err, AmbiguousPlaceError) else "unknown")
                        + " place in a column that qualifies the place name",
                        file=file, row=row, column=column, value=text, hint=str(err),
                    )
                    break
            scopes[quals] = (scope, problem)
        return scopes[quals]

    # the groups of rows resolved together: per table (one file and place column each), and
    # within it per qualifying places (省份/城市 columns), in order of first appearance
    groups = []
    start = 0
    for block in place_rows:
        k = len(block["row"])
        if any(block["within"]):
            by_quals: dict[tuple, list[int]] = {}
            for i, quals in enumerate(block["within"], start=start):
                by_quals.setdefault(quals, []).append(i)
            groups += [(block["file"], block["column"], q, np.array(at)) for q, at in by_quals.items()]
        elif k:
            groups.append((block["file"], block["column"], (), np.arange(start, start + k)))
        start += k
    for file, column, quals, at in groups:
        group_rows = pr["row"].to_numpy()[at]
        scope, problem = scope_of(quals, file, int(group_rows[0]))
        if problem is not None:
            problems.append(problem)
            continue
        values = pd.Series(pr["place"].to_numpy()[at], dtype="str")
        try:
            resolved = places.resolve_many(
                values, file=file, column=column, rows=group_rows, within=scope, registry_file=registry_file,
            )
        except DataValidationError as exc:
            # every unknown name is in exc.problems; resolve the known ones one by one
            problems += exc.problems
            resolved = values.map({name: one(name, scope) for name in values.unique()})
        pids[at] = resolved.to_numpy(dtype=object, na_value=None)
    pr["pid"] = pids
    # a code column decides; a name beside it must not name another place
    checked: dict[tuple[str, str], str | None] = {}
    reg = places.registry(registry_file=registry_file) if pr["name"].astype(bool).any() else None
    named = pr[pr["name"].astype(bool) & pr["pid"].notna()]
    # each distinct (name, code's place) is checked once; the rows where they disagree named
    pairs = named[["name", "pid"]].drop_duplicates()
    coded = pd.unique(pairs["pid"].to_numpy(dtype=object))
    own_names: dict[str, set[str]] = {}
    if reg is not None:
        coded = reg.loc[[p for p in coded if p in reg.index], ["name_zh", "short_zh"]]
        own_names = {pid: {places.normalise_name(x) for x in names if isinstance(x, str)}
                     for pid, names in zip(coded.index, coded.to_numpy(dtype=object).tolist(), strict=True)}
    for name, pid in pairs.itertuples(index=False):
        key = (name, pid)
        if pid in own_names and places.normalise_name(name) in own_names[pid]:
            checked[key] = None  # the name is the coded place's own (full or short) name
            continue
        by_name = one(name, None)
        try:
            inside = places.resolve(name, within=places.parent(pid, registry_file=registry_file),
                                    registry_file=registry_file)
        except (UnknownPlaceError, TypeError):
            inside = None
        checked[key] = None if pid in (by_name, inside) or (by_name is None and inside is None) else (inside or by_name)
    wrong = named[["name", "pid"]].merge(  # each row's pair looked up among the distinct pairs
        pd.DataFrame([(*k, v is not None) for k, v in checked.items()], columns=["name", "pid", "wrong"]),
        on=["name", "pid"], how="left")["wrong"].to_numpy(dtype=bool) if len(named) else np.zeros(0, dtype=bool)
    for rec in named[wrong].to_dict("records"):
        other = checked[(rec["name"], rec["pid"])]
        pid = rec["pid"]
        if other is not None:
            problems.append(
                Problem(
                    f"the code {rec['place']!r} is place {pid!r} but the name says {other!r}",
                    file=rec["file"], row=rec["row"], column=rec["name_column"], value=rec["name"],
                    hint="correct the code or the name (the code decides when they agree)",
                )
            )
    return pr.loc[pr["pid"].notna(), ["table", "row", "pid"]], problems


# --------------------------------------------------------------------------- main


def _gc_paused(func):
    """Run ``func`` with the cyclic garbage collector paused (restored afterwards).

    Reading a national extract allocates millions of objects (cell texts, row lists) and
    few reference cycles; the collector would walk every live container again and again
    while they are built (a few tenths of a second per call) and find nothing to free.
    Reference counting still frees everything as usual; a collection that was enabled is
    enabled again on return, as it was, even when ``func`` raises.
    """

    @functools.wraps(func)
    def paused(*args, **kwargs):
        enabled = gc.isenabled()
        gc.disable()
        try:
            return func(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return paused


@_gc_paused
def read_extract(
    path: str | Path,
    *,
    sheet: str | int | None = None,
    layout: IngestLayout = "auto",
    indicator_map: dict[str, str] | None = None,
    encoding: str | None = None,
    place_within: str | None = None,
    codebook: str | Path | None = None,
    units: tuple[str, ...] | list[str] = (),
    registry_file: str | Path | None = None,
) -> IngestResult:
    """Read a yearbook extract (CSV or XLSX) into the tidy long form.

    Parameters
    ----------
    path : str or Path
        A ``.csv`` (or other delimited text) or ``.xlsx`` file; the kind is read from the
        file's first bytes, not its name.
    sheet : str or int, optional
        XLSX only: the sheet to read (name or 0-based position). Default: every sheet
        that is not a note sheet (one sheet per indicator works this way).
    layout : {"auto", "wide", "long"}
        ``"auto"`` decides from the header: a year column (``年份``/``year``) means long,
        years as headers mean wide. Forcing a layout turns a mismatch into an error.
    indicator_map : dict, optional
        Header -> indicator name, for headers the built-in table and the codebook do not
        know, e.g. ``{"在编民警": "police_officers_count"}``. A key with a unit
        (``"在编民警（人）"``) matches only that unit; a key without matches any.
    encoding : str, optional
        CSV only. Default: try ``utf-8-sig``, then ``gb18030`` (which covers GBK).
    place_within : str, optional
        A place id; names are resolved among its descendants (``"futian"`` makes
        ``福田`` the subdistrict, not the district), see :func:`govstats.places.resolve`.
    codebook : str or Path, optional
        The user's own codebook (CSV: ``indicator, name_zh, unit`` and optionally
        ``synonyms`` (``|``-separated header spellings), ``min``, ``max``, ``whole``):
        new indicators with their plausibility bounds (see :class:`IndicatorRule`).
    units : sequence of str, optional
        Extra unit words accepted in cells (see :func:`govstats.quantities.parse_quantity`).
    registry_file : str or Path, optional
        The user's own places file (townships, development zones), added to the
        packaged registry (see :func:`govstats.places.resolve`).

    Returns
    -------
    IngestResult
        ``data`` (tidy long, one row per non-missing cell), ``accounting`` (cells in =
        kept + rejected as missing), ``encoding``, ``layout``, ``source``, ``notes``.

    Raises
    ------
    DataValidationError
        Listing every problem found in the file at once (see the module docstring).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "x.csv").write_text("地区,年份,常住人口（万人）\\n衡阳市,2020,664.5\\n", encoding="gbk")
    >>> res = read_extract(d / "x.csv")
    >>> res.data[["place_id", "indicator", "year", "value", "unit", "scale"]].to_dict("records")
    [{'place_id': 'hengyang', 'indicator': 'population_resident', 'year': '2020', 'value': 6645000.0, 'unit': '人', 'scale': 10000.0}]
    >>> res.encoding
    'gb18030'
    """
    check_literal(layout, IngestLayout, "layout")
    path = Path(path)
    source = str(path)
    data = path.read_bytes()
    problems: list[Problem] = []
    notes: list[str] = []
    what = f"yearbook extract {source}"

    if data[:4] == _XLS_MAGIC:
        raise DataValidationError(
            [Problem("old binary .xls files are not read", file=source, hint="save it as .xlsx or .csv")], what=what
        )
    if data[:4] == _XLSX_MAGIC:
        if encoding is not None:
            notes.append(f"encoding={encoding!r} ignored: XLSX files carry their own encoding")
        used_encoding = "n/a (xlsx)"
        sheets, sheet_problems = _xlsx_sheets(path, source, sheet, notes)
        DataValidationError.raise_if_any(sheet_problems, what=what)
    else:
        if sheet is not None:
            raise ValueError(f"sheet={sheet!r} is only for XLSX files; {source} is a text file")
        if not data.strip() or data.strip() == b"\xef\xbb\xbf":
            raise DataValidationError([Problem("the file is empty", file=source)], what=what)
        text, used_encoding, decode_problems = _decode(data, encoding, source)
        DataValidationError.raise_if_any(decode_problems, what=what)
        if used_encoding == "utf-8-sig":
            text = text.removeprefix("\ufeff")
        DataValidationError.raise_if_any(_mojibake_problems(text, source), what=what)
        sheets = [_Sheet(source, "", path.stem, _csv_grid(text))]

    # the schemas this call validates with, built before their first use without
    # pandera's import of dask (see govstats.schemas.build_schemas)
    from govstats.schemas import Codebook, TidyObservations, build_schemas

    build_schemas(Codebook, TidyObservations)
    matcher = _IndicatorMatcher(indicator_map, codebook)
    cells = _Cells()
    place_rows: list[dict] = []
    layouts = []
    for t, sh in enumerate(sheets):
        if not any(any(c for c in row) for row in sh.grid):
            problems.append(Problem("the sheet is empty" if sh.ref_prefix else "the file is empty", file=sh.file_label))
            continue
        found = _read_table(t, sh, layout, matcher, source, cells, place_rows, problems, notes)
        if found:
            layouts.append(found)
    sheets = sh = None  # the grids of cell texts: the cells hold what they need
    df = cells.frame()
    coded_cells = {name: cells.coded(name) for name in ("indicator", "header_unit", "year")}
    cells = None  # df holds the cells now (their arrays are freed as df's columns are converted)
    place_ids, place_problems = _resolve_places(place_rows, place_within, registry_file)
    problems += place_problems
    # each cell's place: (table, row) looked up for the whole column at once
    place_keys = pd.Index((place_ids["table"].to_numpy(dtype=np.int64) << 32)
                          + place_ids["row"].to_numpy(dtype=np.int64))
    at = place_keys.get_indexer((df["table"].to_numpy(dtype=np.int64) << 32) + df["source_row"].to_numpy(dtype=np.int64))
    place_levels, place_at = np.append(place_ids["pid"].to_numpy(dtype=object), None), at
    df["place_id"] = place_levels[place_at]

    codes, distinct = pd.factorize(df["quantity"].to_numpy(dtype=object))  # each distinct text once
    # a text with a digit is no "not available" mark (NFKC keeps digits; no mark has one)
    missing_text = np.array([_DIGIT.search(q) is None and _is_missing(q) for q in distinct], dtype=bool)
    missing = pd.Series(missing_text[codes], index=df.index)
    # the present cells (positions in df) as codes into the distinct texts that are not missing
    present = np.flatnonzero(~missing.to_numpy())
    texts = distinct[~missing_text]
    at = (np.cumsum(~missing_text) - 1)[codes[present]]
    # each cell's header unit ('' for none) as codes into the few the tables state
    hu_levels, hu_at = coded_cells["header_unit"]
    hu_levels = np.where(pd.isna(hu_levels), "", hu_levels).astype(object)
    hu_at = hu_at[present]
    parsed = _parse_cells(df, present, texts, at, hu_levels[hu_at], problems, tuple(units))
    tidy = _assemble(df, parsed)

    kept = tidy[~missing] if len(present) < len(df) else tidy  # the rows of kept: present
    # the key columns of kept as (levels, codes), the way the cells were built
    indicator_levels, indicator_at = coded_cells["indicator"]
    year_levels, year_at = coded_cells["year"]
    codes, distinct_keys = _key_codes(kept, coded={
        "place_id": (place_levels, place_at[present]),
        "indicator": (indicator_levels, indicator_at[present]),
        "year": (year_levels, year_at[present]),
        "bound": (parsed["levels"]["bound"], at),
        # the header's unit where it states one, else the cell's
        "unit": (np.concatenate([hu_levels, parsed["levels"]["unit"]]),
                 np.where((hu_levels != "")[hu_at], hu_at, len(hu_levels) + at)),
    })
    problems += _unit_problems(kept, df, codes, distinct_keys, (hu_levels == "")[hu_at])
    duplicates = _duplicate_problems(kept, df, codes)
    problems += duplicates
    problems += _schema_problems(kept, df, codes, distinct_keys, unique_keys=not duplicates)
    problems.sort(key=lambda p: (p.file or "", p.row or 0))
    DataValidationError.raise_if_any(problems, what=what)

    rejected = tidy.loc[missing, TIDY_COLUMNS].assign(
        reason=[("blank" if not q else f"not available ({q!r})") for q in df.loc[missing, "quantity"]]
    )
    implausible = _implausible(kept, matcher.rules, codes["indicator"].to_numpy(), distinct_keys["indicator"])
    if len(implausible):
        bad = kept.loc[implausible.index, TIDY_COLUMNS].assign(reason=implausible)
        rejected = pd.concat([rejected, bad])
        at = implausible.index.to_numpy()  # df has a RangeIndex: labels are positions
        for file, ref, quantity, why in zip(df["file_label"].to_numpy()[at], df["source_ref"].to_numpy()[at],
                                            df["quantity"].to_numpy()[at], implausible.tolist(), strict=True):
            notes.append(f"rejected {file}, {ref}: {quantity!r} {why}")
    # the cells kept, sorted by place, indicator, year (a stable sort on the integer
    # codes: the order of the strings, missing last), taken in one go
    stay = np.flatnonzero(~kept.index.isin(implausible.index))
    # one int64 per cell (place, indicator, year_start, year_end; a missing year after
    # every year, as 3000) and a stable argsort: the lexicographic order, in one sort
    years = {y: np.nan_to_num(kept[y].to_numpy(dtype=float, na_value=np.nan)[stay], nan=3000.0).astype(np.int64)
             for y in ("year_start", "year_end")}
    keys = {c: codes[c].to_numpy()[stay] for c in ("place_id", "indicator")} | years
    spans = [int(k.max() - k.min()) + 1 if len(k) else 1 for k in keys.values()]
    if math.prod(spans) < 2**62:  # the combined key fits in an int64
        order = np.argsort(_combined_key(list(keys.values())), kind="stable")
    else:
        order = np.lexsort(list(keys.values())[::-1])
    n_cells = len(df)
    del df, tidy, parsed, codes  # before the last copy of the cells: a lower peak of memory
    kept = kept[TIDY_COLUMNS].iloc[stay[order]].reset_index(drop=True)
    warnings = _jump_warnings(kept, _combined_key([keys["place_id"][order], keys["indicator"][order]]))
    accounting = RowAccounting(source, n_cells, kept, rejected.reset_index(drop=True))
    found_layouts = sorted(set(layouts))
    layout_text = found_layouts[0] if len(found_layouts) == 1 else f"mixed ({', '.join(found_layouts)})"
    return IngestResult(kept, accounting, used_encoding, layout_text, source, tuple(notes), tuple(warnings))


def _parse_cells(df: pd.DataFrame, present: np.ndarray, texts: np.ndarray, at: np.ndarray,
                 header_units: np.ndarray, problems: list[Problem], units: tuple[str, ...] = ()
                 ) -> dict[str, np.ndarray]:
    """Parse the cells that are not missing and apply each header's unit and multiplier.

    ``present``: the positions in ``df`` of the cells that are not missing; ``texts``: the
    distinct texts among them; ``at``: per present cell, the position of its text in
    ``texts``. Each text is parsed once (a yearbook repeats values a lot) and the results
    spread to the cells with one take per column. Returns the columns value, lower,
    upper, scale (float) and bound, unit (object) over all of ``df``'s rows: NaN and None
    where the cell is missing. ``header_units``: per present cell, its header's unit (''
    for none).
    """
    from govstats.quantities import parse_quantities

    n = len(df)
    out = {c: np.full(n, np.nan) for c in ("value", "lower", "upper", "scale")}
    out.update(bound=_same(n, None), unit=_same(n, None), levels={"bound": _same(0, None), "unit": _same(0, "")})
    if not len(present):
        return out
    q = parse_quantities(pd.Series(texts, dtype="str"), errors="collect", units=units)
    error = q["error"].to_numpy(dtype=object, na_value=None)
    failed = np.array([e is not None for e in error], dtype=bool)[at]
    hint = "write a number such as 1056, 95.8%, 3.2万 or 1600多; leave the cell blank if missing"
    for i, k in zip(present[failed].tolist(), at[failed].tolist(), strict=True):
        problems.append(Problem(f"cannot read this value: {error[k]}", hint=hint, **_where(df, i)))
    # units as plain arrays ('' for none): compared element-wise, canonical forms only
    # where both the header and the cell state one
    hu_ = header_units
    cu_ = q["unit"].to_numpy(dtype=object, na_value="")[at]
    hs = df["header_scale"].to_numpy(dtype=float)[present]
    cs = q["scale"].to_numpy(dtype=float)[at]
    both = np.flatnonzero(~failed & (hu_ != "") & (cu_ != ""))
    canon = {u: _canonical_unit(u) for u in set(hu_[both]) | set(cu_[both])}
    for k in [k for k, a, b in zip(both.tolist(), hu_[both], cu_[both], strict=True) if canon[a] != canon[b]]:
        problems.append(
            Problem(
                f"mixed units: the cell is in {cu_[k]!r} but its header says {hu_[k]!r}",
                hint="write the number alone under a header that states the unit",
                **_where(df, int(present[k])),
            )
        )
    for i in present[~failed & (hs != 1.0) & (cs != 1.0)].tolist():
        problems.append(
            Problem(
                "both the header and the cell carry a multiplier (e.g. 万)",
                hint="state the multiplier once: in the header unit, e.g. （万人）, or in the cell",
                **_where(df, i),
            )
        )
    for c in ("value", "lower", "upper"):
        # 65.18 (万人) * 10,000 is 651800.0000000001 in binary floating point: a product
        # within 1e-9 (relative) of a whole number is that whole number
        product = q[c].to_numpy(dtype=float)[at] * hs
        whole = np.round(product)
        with np.errstate(invalid="ignore"):  # an open bound (inf) is not snapped
            snap = (hs != 1.0) & (np.abs(product - whole) <= 1e-9 * np.maximum(np.abs(product), 1.0))
        out[c][present] = np.where(snap, whole, product)
    out["scale"][present] = cs * hs
    bound_levels = q["bound"].to_numpy(dtype=object, na_value=None)
    out["bound"][present] = bound_levels[at]
    out["unit"][present] = np.where(hu_ != "", hu_, cu_)
    # the distinct texts' bound and unit, for the key codes (see _key_codes)
    out["levels"] = {"bound": bound_levels, "unit": q["unit"].to_numpy(dtype=object, na_value="")}
    return out


def _assemble(df: pd.DataFrame, parsed: dict[str, np.ndarray]) -> pd.DataFrame:
    """The tidy columns (TIDY_COLUMNS), typed; ``df``'s own text columns are converted in
    place and shared with the result (one array per column, not two)."""
    for c in ("place_id", "place_as_written", "indicator", "year", "quantity", "source_file", "source_ref",
              "source_column"):
        df[c] = df[c].astype("str")
    for c in ("year_start", "year_end", "source_row"):
        df[c] = df[c].astype("Int64")
    for c in ("value", "lower", "upper", "scale"):
        df[c] = parsed[c]
    for c in ("bound", "unit"):
        df[c] = pd.Series(parsed[c], index=df.index, dtype="str")
    return df[TIDY_COLUMNS]


def _where(df: pd.DataFrame, i) -> dict:
    return {
        "file": df.at[i, "file_label"],
        "row": int(df.at[i, "source_row"]),
        "column": df.at[i, "source_column"],
        "value": df.at[i, "quantity"],
    }


def _unit_problems(kept: pd.DataFrame, df: pd.DataFrame, codes: pd.DataFrame,
                   distinct: dict[str, list], header_unit_blank: np.ndarray) -> list[Problem]:
    """One indicator, one unit: flag cells whose unit differs from the indicator's usual one.

    ``header_unit_blank``: per row of ``kept``, whether its header states no unit.
    """
    problems: list[Problem] = []
    ok = pd.Series(codes["indicator"].to_numpy() < len(distinct["indicator"]), index=kept.index)  # notna
    # whole columns first: only an indicator with two stated units, or with a scaled
    # header and a cell without any unit, can have a problem; only those are gone through
    units_seen = distinct["unit"]
    canon_codes, _ = pd.factorize(np.array([_canonical_unit(u) for u in units_seen] + [""], dtype=object))
    unit_code = canon_codes[codes["unit"].to_numpy()]  # a missing unit has the last code: ''
    unstated = unit_code == canon_codes[-1]
    at = kept.index.to_numpy()  # df has a RangeIndex: labels are positions
    scaled = df["header_scale"].to_numpy(dtype=float)[at] != 1.0
    unstated_header = unstated & header_unit_blank
    ind_code = codes["indicator"].to_numpy()
    n_ind = len(distinct["indicator"])
    has = ok.to_numpy() & (ind_code < n_ind)
    width = len(canon_codes) + 1  # the (indicator, stated unit) pairs seen, counted per indicator
    pairs = ind_code[has & ~unstated] * width + unit_code[has & ~unstated]
    n_units = (np.bincount(pairs, minlength=(n_ind + 1) * width) > 0).reshape(-1, width).sum(axis=1)
    any_scaled = np.bincount(ind_code[has & scaled], minlength=n_ind) > 0
    any_unstated = np.bincount(ind_code[has & unstated_header], minlength=n_ind) > 0
    suspect = np.asarray(distinct["indicator"], dtype=object)[
        (n_units[:n_ind] > 1) | (any_scaled[:n_ind] & any_unstated[:n_ind])]
    if not len(suspect):
        return problems
    all_units = kept["unit"].fillna("")
    canon = {u: _canonical_unit(u) for u in all_units.unique()}
    for ind, group in kept[ok & kept["indicator"].isin(list(suspect))].groupby("indicator", sort=False):
        units = all_units[group.index].map(canon)
        stated = units[units.ne("")]
        if stated.nunique() > 1:
            counts = stated.value_counts(sort=False)
            main = counts.idxmax()
            first_main = stated.index[stated.eq(main)][0]
            for i in stated.index[stated.ne(main)]:
                problems.append(
                    Problem(
                        f"mixed units for indicator {ind!r}: this cell is in {units[i]!r} but "
                        f"{counts[main]} cell(s) are in {main!r} (first: {df.at[first_main, 'source_ref']})",
                        hint="convert the cells to one unit, or map the headers to different indicators",
                        **_where(df, i),
                    )
                )
        scaled = df.loc[group.index, "header_scale"].ne(1.0)
        unstated = units.eq("") & df.loc[group.index, "header_unit"].fillna("").eq("")
        if scaled.any() and unstated.any():
            first_scaled = group.index[scaled][0]
            for i in group.index[unstated]:
                problems.append(
                    Problem(
                        f"mixed units for indicator {ind!r}: no unit is stated here, but "
                        f"{df.at[first_scaled, 'source_column']!r} ({df.at[first_scaled, 'source_ref']}) "
                        "scales its values by its header unit",
                        hint="state the unit in this header too, e.g. （万人） or （人）",
                        **_where(df, i),
                    )
                )
    return problems


def _key_codes(kept: pd.DataFrame, coded: dict[str, tuple[np.ndarray, np.ndarray]] | None = None
               ) -> tuple[pd.DataFrame, dict[str, list]]:
    """Integer codes of the key text columns, in the strings' order (missing last).

    Duplicates, distinct values and sorting are found on these: hashing a million
    integers is cheap, a million strings is not (about 0.1 s per column of a million).
    ``coded``: each column as (levels, codes), ``kept[c]`` being ``levels[codes]``, as
    the cells were built; then only the few levels are hashed. Without it, the columns of
    ``kept`` themselves (tests/test_ingest_fastpath.py checks the two agree).
    """
    out = pd.DataFrame(index=kept.index)
    distinct: dict[str, list] = {}
    for c in ("place_id", "indicator", "year", "bound", "unit"):
        if coded is None:
            # the str column's own object array (NaN where missing, coded -1 as None is)
            codes, uniques = pd.factorize(kept[c].to_numpy(dtype=object), sort=True)
        else:
            levels, at = coded[c]
            codes, uniques = pd.factorize(levels, sort=True)
            codes = codes[at]
        out[c] = np.where(codes < 0, len(uniques), codes)
        distinct[c] = list(uniques)
    return out, distinct


def _combined_key(cols: Sequence[np.ndarray]) -> np.ndarray:
    """One int64 per row, equal exactly when the rows' whole-number columns ``cols`` all are."""
    key = np.zeros(len(cols[0]) if len(cols) else 0, dtype=np.int64)
    for c in cols:
        col = np.asarray(c, dtype=np.int64)
        if len(col):
            lo = col.min()
            key = key * (int(col.max() - lo) + 1) + (col - lo)
    return key


def _first_rows(key: np.ndarray) -> np.ndarray:
    """True at the first row of each distinct value of the int64 ``key`` (``~duplicated()``).

    A key spanning few values (codes, combined codes) is done with one pass of
    ``np.minimum.at`` over a table of its span; others with pandas' hash table.
    """
    n = len(key)
    mask = np.zeros(n, dtype=bool)
    if not n:
        return mask
    lo = int(key.min())
    span = int(key.max()) - lo + 1
    if span > 8 * n + 1024:
        return ~pd.Series(key).duplicated().to_numpy()
    first = np.full(span, n, dtype=np.int64)
    np.minimum.at(first, key - lo, np.arange(n, dtype=np.int64))
    mask[first[first < n]] = True
    return mask


def _duplicate_problems(kept: pd.DataFrame, df: pd.DataFrame, codes: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    key = ["place_id", "indicator", "year_start", "year_end"]
    complete = (kept["place_id"].notna() & kept["indicator"].notna() & kept["year_start"].notna()).to_numpy()
    usable = kept if complete.all() else kept[complete]
    combined = _combined_key([codes["place_id"].to_numpy()[complete], codes["indicator"].to_numpy()[complete],
                              usable["year_start"].fillna(0), usable["year_end"].fillna(0)])
    dup = ~_first_rows(combined)
    if dup.any():
        dup |= np.isin(combined, combined[dup])  # every row of a duplicated key, the first one too
    for _, group in usable[dup].groupby(key, sort=False):
        first = group.index[0]
        for i in group.index[1:]:
            problems.append(
                Problem(
                    f"duplicate key (place {kept.at[i, 'place_id']!r}, indicator {kept.at[i, 'indicator']!r}, "
                    f"year {kept.at[i, 'year']!r}): the same cell is also at {df.at[first, 'file_label']}, "
                    f"{df.at[first, 'source_ref']} (value {df.at[first, 'quantity']!r})",
                    hint="keep one of the two cells (the same place may be written two ways, e.g. 衡阳市 and Hengyang)",
                    **_where(df, i),
                )
            )
    return problems


def _schema_problems(kept: pd.DataFrame, df: pd.DataFrame, codes: pd.DataFrame, distinct: dict[str, list],
                     unique_keys: bool = False) -> list[Problem]:
    """Validate the cells that passed every other check against TidyObservations.

    ``codes``, ``distinct``: the key codes (:func:`_key_codes`). ``unique_keys``: no two
    cells share a place, indicator and year (as :func:`_duplicate_problems` found); else
    only the first cell of each key is validated (the duplicates are reported there).
    """
    from govstats.schemas import TidyObservations, problems_from_schema

    year_start = kept["year_start"].to_numpy(dtype=float, na_value=np.nan)
    value = kept["value"].to_numpy(dtype=float)
    usable = np.flatnonzero((codes["place_id"].to_numpy() < len(distinct["place_id"]))  # not missing
                            & (codes["indicator"].to_numpy() < len(distinct["indicator"]))
                            & ~np.isnan(year_start) & ~np.isnan(value))
    if not len(usable):
        return []
    # Duplicates and unknown names are reported above; check only the rest here.
    year_end = kept["year_end"].to_numpy(dtype=float, na_value=np.nan)[usable]
    col = {c: codes[c].to_numpy()[usable] for c in ("place_id", "indicator", "year", "bound", "unit")}
    col["year_start"] = year_start[usable].astype(np.int64)
    col["year_end"] = np.nan_to_num(year_end, nan=-1.0).astype(np.int64)  # whole years or missing
    lo, v, hi = kept["lower"].to_numpy(dtype=float)[usable], value[usable], kept["upper"].to_numpy(dtype=float)[usable]
    at = usable
    if not unique_keys:
        first = _first_rows(_combined_key([col["place_id"], col["indicator"], col["year"]]))
        at, col = usable[first], {c: x[first] for c, x in col.items()}
        lo, v, hi = lo[first], v[first], hi[first]
    # The column checks are on columns with few distinct values (numbers are only typed):
    # the first row of each distinct value finds every failing value, named at that row.
    # The one row-wise check (lower <= value <= upper) is computed here for every row.
    rows = [at[~((np.isnan(lo) | (lo <= v + 1e-9)) & (np.isnan(hi) | (v <= hi + 1e-9)))]]
    for cols in (["place_id"], ["indicator"], ["year", "year_start", "year_end"], ["bound"], ["unit"]):
        rows.append(at[_first_rows(_combined_key([col[c] for c in cols]))])
    clean = kept.iloc[np.unique(np.concatenate(rows))]  # kept's index is increasing: the rows in order
    try:
        TidyObservations.validate(clean, lazy=True)
    except pa.errors.SchemaErrors as exc:
        return problems_from_schema(exc, file=str(df["source_file"].iloc[0]), rows=clean["source_row"], data=clean)
    return []


def _implausible(kept: pd.DataFrame, rules: Mapping[str, IndicatorRule], ind_codes: np.ndarray,
                 distinct: Sequence[str]) -> pd.Series:
    """Reason per cell outside its indicator's codebook bounds (index = cells to reject).

    ``ind_codes``, ``distinct``: the indicator column as codes into its distinct values
    (a code past the end: missing), as :func:`_key_codes` gives them.
    """
    reasons: dict = {}
    # each indicator's rule looked up once (a missing indicator has none)
    distinct = list(distinct)
    ruled = np.append(np.array([i in rules for i in distinct], dtype=bool), False)[ind_codes]
    ok = np.flatnonzero(kept["value"].notna().to_numpy() & ruled)
    if not len(ok):
        return pd.Series(reasons, dtype=object)
    k = {c: kept[c].to_numpy()[ok] for c in ("indicator", "bound")}
    k.update({c: kept[c].to_numpy(dtype=float)[ok] for c in ("value", "lower", "upper")})
    value, lower, upper = k["value"], k["lower"], k["upper"]
    lo = np.where(np.isnan(lower), value, lower)
    hi = np.where(np.isnan(upper) | np.isinf(upper), value, upper)
    inds = k["indicator"]
    codes = ind_codes[ok]
    ruled_rules = [rules.get(i, IndicatorRule(i, "", math.nan, math.nan, False)) for i in distinct]
    minimum = np.array([r.minimum for r in ruled_rules], dtype=float)[codes]
    maximum = np.array([r.maximum for r in ruled_rules], dtype=float)[codes]
    whole = np.array([r.whole for r in ruled_rules], dtype=bool)[codes]
    below = ~np.isnan(minimum) & (lo < minimum)
    above = ~below & ~np.isnan(maximum) & (hi > maximum)
    fraction = ~below & ~above & whole & (k["bound"] == "exact") & (value != np.round(value))
    for j in np.flatnonzero(below | above | fraction):
        rule, v, ind = rules[inds[j]], value[j], inds[j]
        kind = f" ({rule.unit_kind})" if rule.unit_kind else ""
        if below[j]:
            what = "negative" if rule.minimum == 0 else f"below {rule.minimum:g}"
            why = f"implausible: {v:g} is {what}; the codebook bounds {ind}{kind} below by {rule.minimum:g}"
        elif above[j]:
            why = f"implausible: {v:g} is above the codebook maximum {rule.maximum:g} of {ind}{kind}"
        else:
            why = f"implausible: {v:g} is not a whole number, but {ind}{kind} counts whole units"
        reasons[kept.index[ok[j]]] = why
    return pd.Series(reasons, dtype=object)


def _jump_warnings(kept: pd.DataFrame, series: np.ndarray, factor: float = 10.0) -> list[str]:
    """Year-on-year changes by a factor of ``factor`` or more (kept, but flagged).

    ``kept`` is sorted by place, indicator and year; ``series``: one integer per row,
    equal exactly for the rows of one place and indicator.
    """
    years = kept["year_start"].to_numpy(dtype=float, na_value=np.nan)
    values = kept["value"].to_numpy(dtype=float)
    single = np.flatnonzero((years == kept["year_end"].to_numpy(dtype=float, na_value=np.nan)) & (values > 0))
    if not len(single):
        return []
    series, years, values = series[single], years[single].astype(np.int64), values[single]
    ratio = values / np.roll(values, 1)
    jump = (series == np.roll(series, 1)) & (years == np.roll(years, 1) + 1) & ((ratio >= factor) | (ratio <= 1 / factor))
    jump[0] = False
    out: list[str] = []
    at = np.flatnonzero(jump)
    place, ind, refs = (kept[c].iloc[single[at]].tolist() for c in ("place_id", "indicator", "source_ref"))
    for i, k in enumerate(at.tolist()):
        out.append(
            f"{place[i]} {ind[i]}: {values[k - 1]:g} in {years[k - 1]} -> {values[k]:g} in {years[k]} "
            f"(x{ratio[k]:.3g}; {refs[i]}); check the unit (人 vs 万人?)"
        )
    return out
