"""The places registry: one canonical id for every way a place is written.

The documents, yearbooks and public tables name the same place many ways:
``'衡阳市'``, ``'衡阳'``, ``'Hengyang'``, ``'hengyang shi'``, ``'Héngyáng'``, the
GB/T 2260 code ``430400`` (as text or as a number). :func:`resolve` turns any of
them into the registry's ``place_id`` (``'hengyang'``); :func:`resolve_many` does
the same for a whole column and reports every name it cannot place at once.

The registry lives in ``data/raw/places.csv`` (how each row was checked:
``data/raw/PLACES_SOURCES.md``); population and area figures, each with its
source, live in ``data/raw/place_measures.csv`` and are read by
:func:`population` and :func:`place_measures`.

How a name is matched
---------------------
A name is first *normalised* (:func:`normalise_name`): Unicode NFKC, case-folded,
diacritics removed (``Héngyáng`` -> ``hengyang``), spaces, hyphens, apostrophes,
dots and underscores dropped. Its *core* is the normalised name with one
administrative suffix removed: 市 区 县 省 镇 乡 街道 新区 自治区 ... and
shi qu xian sheng city district county subdistrict jiedao province ... .

Lookup tries, in order, and stops at the first step that finds a place:

1. the ``place_id`` itself (``'hengyang.leiyang'``);
2. the normalised name against every place's full names, pinyin, English name,
   GB/T 2260 code and aliases (``'衡阳县'`` is the county, ``'Hengyang'`` the city);
3. the normalised name against every place's *core* names and short name
   (``'福田'``, ``'Futian'``, ``'耒阳'``);
4. the core of the name against the same (``'Hengyang City'``, ``'leiyang shi'``);
5. a qualified name, a known place followed by a place inside it
   (``'深圳福田区'``, ``'衢州市衢江区'``, ``'Shenzhen Futian'``).

Ambiguity rule. When a step finds several places, the one at the *highest
administrative level* wins: nation > province = municipality > prefecture_city >
district = county = county_city > subdistrict = town > other. So ``'福田'`` is
福田区 (district), not 福田街道 (subdistrict), and ``'衡阳'`` is 衡阳市, not 衡阳县.
When the highest level is shared (``'Changning'`` is both 常宁市 in Hengyang and
长宁区 in Shanghai), :class:`AmbiguousPlaceError` is raised listing the
candidates: write the Chinese name, qualify the name (``'上海长宁区'``), or pass
``within=``. ``within='futian'`` restricts every step to the places *inside*
Futian (its descendants, not Futian itself), so
``resolve('福田', within='futian')`` is the subdistrict.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import numbers
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import get_args

import numpy as np
import pandas as pd

from govstats._literals import MeasureName, PlaceLevel, PopulationKind, check_literal
from govstats.errors import (
    DataValidationError,
    GovstatsError,
    Problem,
    UnknownPlaceError,
)
from govstats.paths import raw_dir

__all__ = [
    "AmbiguousPlaceError",
    "MeasureName",
    "PopulationFigure",
    "PopulationKind",
    "PopulationNotAvailableError",
    "children",
    "history",
    "normalise_name",
    "parent",
    "place_measures",
    "population",
    "registry",
    "resolve",
    "resolve_many",
]

# Options of this module (to be moved to govstats/_literals.py).

REGISTRY_COLUMNS = [
    "place_id",
    "name_zh",
    "short_zh",
    "pinyin",
    "name_en",
    "level",
    "parent_id",
    "gb2260",
    "aliases",
    "note",
]
MEASURE_COLUMNS = [
    "place_id",
    "measure",
    "value",
    "unit",
    "kind",
    "reference_date",
    "source",
    "note",
]
MEASURE_UNITS = {"population": "persons", "area": "km2"}

#: Administrative rank used by the ambiguity rule (smaller = higher level).
LEVEL_RANK: dict[str, int] = {
    "nation": 0,
    "province": 1,
    "municipality": 1,
    "prefecture_city": 2,
    "district": 3,
    "county": 3,
    "county_city": 3,
    "subdistrict": 4,
    "town": 4,
    "other": 5,
}
assert set(LEVEL_RANK) == set(get_args(PlaceLevel)), "LEVEL_RANK must rank every PlaceLevel"

_ZH_SUFFIXES = (
    "特别行政区",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "蒙古族藏族自治州",
    "自治州",
    "苗族自治县",
    "自治县",
    "街道办事处",
    "街道",
    "新区",
    "省",
    "市",
    "区",
    "县",
    "镇",
    "乡",
)
_LATIN_SUFFIXES = (
    "specialadministrativeregion",
    "autonomousprefecture",
    "autonomousregion",
    "autonomouscounty",
    "municipality",
    "subdistrict",
    "newdistrict",
    "prefecture",
    "zizhizhou",
    "zizhixian",
    "zizhiqu",
    "district",
    "province",
    "newarea",
    "county",
    "jiedao",
    "sheng",
    "xinqu",
    "city",
    "town",
    "xian",
    "shi",
    "qu",
)
_SUFFIXES = sorted(_ZH_SUFFIXES + _LATIN_SUFFIXES, key=len, reverse=True)
# the longest suffix that ends the name (the alternation lists longer suffixes first,
# and a match starting earlier is a longer suffix of the same name)
_SUFFIX_RE = re.compile("(?:" + "|".join(map(re.escape, _SUFFIXES)) + ")$")
_NEEDS_NFD = re.compile(r"[\u00c0-\u024f\u0300-\u036f\u1e00-\u1eff]")
_DROPPED_CHARS = re.compile(r"[\s\-\u2010-\u2015_'\u2018\u2019`\u00b4\u00b7\u30fb.]")
_PLACE_ID = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$")
_GB2260 = re.compile(r"^[1-9]\d{5}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_EXPLICIT_COLUMNS = ("place_id", "gb2260", "aliases")


# --------------------------------------------------------------------------- names


def normalise_name(text: object) -> str:
    """Normalise a place name for matching.

    NFKC (full-width letters and digits become ASCII), case-folding, diacritics
    removed, then spaces, hyphens and dashes, apostrophes, middle dots, dots and
    underscores dropped. Chinese characters are kept as they are.

    Parameters
    ----------
    text : object
        The name as written; converted with ``str``.

    Returns
    -------
    str
        The normalised name (possibly empty).

    Examples
    --------
    >>> normalise_name("Héngyáng Shì")
    'hengyangshi'
    >>> normalise_name("Ｇé'ěrmù")
    'geermu'
    >>> normalise_name(" 衡阳 市 ")
    '衡阳市'
    """
    s = unicodedata.normalize("NFKC", str(text)).casefold()
    if _NEEDS_NFD.search(s):  # Latin letters with diacritics (tone marks)
        s = unicodedata.normalize("NFD", s)
        s = "".join(ch for ch in s if not unicodedata.combining(ch))
        s = unicodedata.normalize("NFC", s)
    return _DROPPED_CHARS.sub("", s)


def _core(norm: str) -> str:
    """The normalised name with one administrative suffix removed ('' if none)."""
    m = _SUFFIX_RE.search(norm)
    if m is None:
        return ""
    rest = norm[: m.start()]
    min_len = 3 if rest.isascii() else 2
    return rest if len(rest) >= min_len else ""


def _as_text(name: object) -> str | None:
    """A name or code as text; GB/T 2260 codes given as numbers get their six digits."""
    if name is None or isinstance(name, bool):
        return None
    if isinstance(name, str):
        return name
    if isinstance(name, numbers.Integral):
        return f"{int(name):06d}" if 0 <= int(name) < 1_000_000 else str(int(name))
    if isinstance(name, numbers.Real):
        value = float(name)
        if math.isnan(value):
            return None
        if value.is_integer():
            return _as_text(int(value))
        return str(name)
    try:
        if pd.isna(name):
            return None
    except (TypeError, ValueError):
        pass
    return str(name)


# --------------------------------------------------------------------------- errors


class AmbiguousPlaceError(UnknownPlaceError):
    """A name that fits several places of the same (highest) administrative level.

    A subclass of :class:`~govstats.errors.UnknownPlaceError`, so code that handles
    unknown names handles it too. ``err.candidates`` holds the place ids;
    ``err.suggestions`` their readable names.
    """

    def __init__(self, name: object, candidates: Sequence[str], labels: Sequence[str]):
        super().__init__(name, labels)
        self.candidates = list(candidates)
        msg = (
            f"ambiguous place {name!r}: it fits " + ", ".join(repr(x) for x in labels) + ". "
            "Write the Chinese name, qualify it with a place above it (e.g. '上海长宁区'), "
            "or pass within= (govstats.places.registry() lists every place)"
        )
        self.args = (msg,)


class PopulationNotAvailableError(GovstatsError, LookupError):
    """No sourced population figure of the requested kind for a place."""

    def __str__(self) -> str:
        return str(self.args[0])


# --------------------------------------------------------------------------- loading


@dataclass
class _Index:
    """Everything resolve() needs, built once per registry file version."""

    frame: pd.DataFrame
    level: dict[str, str]
    parent: dict[str, str | None]
    children: dict[str, list[str]]
    exact: dict[str, set[str]] = field(default_factory=dict)
    core: dict[str, set[str]] = field(default_factory=dict)
    fuzzy: dict[str, set[str]] = field(default_factory=dict)
    historic: dict[str, set[str]] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    history: pd.DataFrame = field(default_factory=pd.DataFrame)
    nat: dict[str, dict[str, str]] = field(default_factory=dict)  # table -> key -> "code|code"
    code_pid: dict[str, str] = field(default_factory=dict)

    def get(self, table: str, key: str) -> set[str]:
        """Place ids under ``key`` in a lookup table (runtime rows and packaged keys)."""
        out = set(getattr(self, table).get(key, ()))
        codes = self.nat.get(table, {}).get(key)
        if codes:
            out.update(self.code_pid[c] for c in codes.split("|") if c in self.code_pid)
        return out

    def label(self, place_id: str) -> str:
        row = self.frame.loc[place_id]
        return f"{row['name_zh']} / {row['name_en']} [{place_id}]"

    def label_long(self, place_id: str) -> str:
        """The label with the GB/T 2260 code and the parent: tells 朝阳区 from 朝阳区."""
        row = self.frame.loc[place_id]
        text = self.label(place_id)
        code, par = row["gb2260"], row["parent_id"]
        extra = []
        if isinstance(code, str) and code:
            extra.append(f"code {code}")
        if isinstance(par, str) and par in self.frame.index and par != "china":
            extra.append(f"in {self.frame.at[par, 'name_zh']}")
        return text + (f" ({', '.join(extra)})" if extra else "")

    def descendants(self, place_id: str) -> set[str]:
        out: set[str] = set()
        stack = list(self.children.get(place_id, []))
        while stack:
            pid = stack.pop()
            if pid not in out:
                out.add(pid)
                stack.extend(self.children.get(pid, []))
        return out


_CACHE: dict[tuple[str, str], tuple[tuple[int, ...], object]] = {}


def _stamp(path: Path) -> tuple[int, int]:
    st = path.stat()
    return (st.st_mtime_ns, st.st_size)


def _cached(kind: str, path: Path, build):
    if not path.exists():
        return build(path)  # raises the "file not found" validation error
    key = (kind, str(path))
    stamp = _stamp(path)
    hit = _CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    value = build(path)
    _CACHE[key] = (stamp, value)
    return value


def _registry_path(registry_file: str | Path | None) -> Path:
    return Path(registry_file) if registry_file is not None else raw_dir() / "places.csv"


def _measures_path(measures_file: str | Path | None) -> Path:
    return Path(measures_file) if measures_file is not None else raw_dir() / "place_measures.csv"


def _read_text_csv(path: Path, columns: list[str], what: str) -> pd.DataFrame:
    """Read a committed CSV as text (no NA guessing, codes keep their zeros)."""
    if not path.exists():
        raise DataValidationError(
            [Problem("file not found", file=str(path), hint=f"expected the {what} here")],
            what=what,
        )
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    problems = [
        Problem(
            "required column missing",
            file=str(path),
            column=col,
            hint="see the header of the committed file",
        )
        for col in columns
        if col not in frame.columns
    ]
    problems += [
        Problem(
            "unexpected column",
            file=str(path),
            column=str(col),
            hint="expected: " + ", ".join(columns),
        )
        for col in frame.columns
        if col not in columns
    ]
    DataValidationError.raise_if_any(problems, what=f"{what} {path}")
    return frame[columns].apply(lambda s: s.str.strip())


def _split_aliases(raw: str) -> list[str]:
    return [a.strip() for a in raw.split("|")] if raw.strip() else []


def _load_registry(path: Path, base: _Index | None = None) -> _Index:
    """Read and validate a registry file (every problem at once) and build its index.

    With ``base`` (the packaged registry), the file *adds* places to it: a parent may
    be a base place, and an id may not repeat a base id.
    """
    what = "places registry"
    raw = _read_text_csv(path, REGISTRY_COLUMNS, what)
    file = str(path)
    problems: list[Problem] = []
    levels = set(get_args(PlaceLevel))

    first_row: dict[str, int] = {}
    ids = raw["place_id"].tolist()
    base_ids = set(base.level) if base is not None else set()
    for i, pid in enumerate(ids):
        if pid in base_ids:
            problems.append(Problem(
                "place_id is already in the packaged registry", file, i + 2, "place_id", pid,
                "choose a new id for your place; existing places need no row",
            ))
    ids_known = set(ids) | base_ids
    for i, rec in enumerate(raw.to_dict("records")):
        row = i + 2
        pid = rec["place_id"]
        if not _PLACE_ID.match(pid):
            problems.append(
                Problem(
                    "place_id must be lower-case ascii words joined by '_', sub-units prefixed "
                    "by their parent's id and a dot",
                    file,
                    row,
                    "place_id",
                    pid,
                    "e.g. 'hengyang' or 'hengyang.leiyang'",
                )
            )
        if pid in first_row:
            problems.append(
                Problem(
                    f"duplicate place_id (first used on row {first_row[pid]})",
                    file,
                    row,
                    "place_id",
                    pid,
                    "every place needs its own id",
                )
            )
        else:
            first_row[pid] = row
        for col in ("name_zh", "name_en"):
            if not rec[col]:
                problems.append(
                    Problem(f"{col} is empty", file, row, col, rec[col], "every place needs one")
                )
        if rec["pinyin"] and not re.fullmatch(r"[a-z]+", normalise_name(rec["pinyin"])):
            problems.append(
                Problem(
                    "pinyin must be Latin letters (tone marks allowed)",
                    file,
                    row,
                    "pinyin",
                    rec["pinyin"],
                )
            )
        if rec["level"] not in levels:
            problems.append(
                Problem(
                    "unknown level",
                    file,
                    row,
                    "level",
                    rec["level"],
                    "choose one of " + ", ".join(sorted(levels)),
                )
            )
        parent_id = rec["parent_id"]
        if not parent_id:
            if rec["level"] != "nation":
                problems.append(
                    Problem(
                        "parent_id is empty",
                        file,
                        row,
                        "parent_id",
                        parent_id,
                        "only the nation has no parent; give the id of the place above this one",
                    )
                )
        elif parent_id not in ids_known:
            close = difflib.get_close_matches(parent_id, ids, n=3)
            problems.append(
                Problem(
                    "parent_id is not a place_id of the registry",
                    file,
                    row,
                    "parent_id",
                    parent_id,
                    ("did you mean " + ", ".join(map(repr, close)) + "?")
                    if close
                    else "add the parent place first",
                )
            )
        elif "." in pid and pid.rsplit(".", 1)[0] != parent_id:
            problems.append(
                Problem(
                    f"a sub-unit id must start with its parent's id ({parent_id!r})",
                    file,
                    row,
                    "place_id",
                    pid,
                    f"e.g. '{parent_id}.{pid.rsplit('.', 1)[1]}'",
                )
            )
        if rec["gb2260"] and not _GB2260.match(rec["gb2260"]):
            problems.append(
                Problem(
                    "gb2260 must be a six-digit GB/T 2260 code, or empty",
                    file,
                    row,
                    "gb2260",
                    rec["gb2260"],
                    "leave it empty when the code was not verified (subdistricts have none)",
                )
            )
        if "" in _split_aliases(rec["aliases"]):
            problems.append(
                Problem(
                    "empty alias (two '|' in a row, or a '|' at an end)",
                    file,
                    row,
                    "aliases",
                    rec["aliases"],
                )
            )

    # parent chains must end at the nation (no loops)
    parent_of = dict(zip(raw["place_id"], raw["parent_id"], strict=True))
    for i, pid in enumerate(ids):
        seen, cur = {pid}, parent_of.get(pid, "")
        while cur and cur in parent_of:
            if cur in seen:
                problems.append(
                    Problem(
                        "parent chain loops back on itself",
                        file,
                        i + 2,
                        "parent_id",
                        parent_of[pid],
                    )
                )
                break
            seen.add(cur)
            cur = parent_of[cur]

    # an alias, a code or an id may point at one place only (two places may share a
    # *name*: that is resolved, or refused, by the ambiguity rule at lookup time)
    uses: dict[str, list[tuple[str, int, str, str]]] = {}  # key -> [(place_id, row, column, raw)]
    for i, rec in enumerate(raw.to_dict("records")):
        row, pid = i + 2, rec["place_id"]
        if first_row.get(pid) != row:
            continue  # a duplicate row, already reported
        forms = [
            ("place_id", pid),
            ("name_zh", rec["name_zh"]),
            ("pinyin", rec["pinyin"]),
            ("name_en", rec["name_en"]),
            ("gb2260", rec["gb2260"]),
        ]
        forms += [("aliases", a) for a in _split_aliases(rec["aliases"]) if a]
        for col, value in forms:
            key = normalise_name(value)
            if key:
                uses.setdefault(key, []).append((pid, row, col, value))
    for entries in uses.values():
        if len({e[0] for e in entries}) < 2:
            continue
        for pid, row, col, value in entries:
            if col not in _EXPLICIT_COLUMNS:
                continue
            others = [e for e in entries if e[0] != pid]
            where = "; ".join(f"{o[0]!r} (row {o[1]}, column {o[2]!r})" for o in others)
            problems.append(
                Problem(
                    f"{col} value also names {where}; an alias or code may point at one place only",
                    file,
                    row,
                    col,
                    value,
                    "remove it from one of the places",
                )
            )

    DataValidationError.raise_if_any(problems, what=f"{what} {file}")

    if base is not None:
        merged = pd.concat([base.frame.reset_index().fillna(""), raw], ignore_index=True)
        return _build_index(merged, base.ended, base.history, base.nat, base.code_pid,
                            indexed=set(base.frame.index), base=base)
    return _build_index(raw, set(), pd.DataFrame(), {}, {})


def _build_index(raw: pd.DataFrame, ended: set[str], history: pd.DataFrame,
                 nat: dict[str, dict[str, str]], code_pid: dict[str, str],
                 indexed: set[str] = frozenset(), base: _Index | None = None) -> _Index:
    """The lookup index. Rows whose id is in ``indexed`` are looked up through the
    packaged keys (``nat``) or ``base``'s tables; the others are normalised here."""
    frame = raw.set_index("place_id")
    for col in ("short_zh", "pinyin", "parent_id", "gb2260", "aliases", "note"):
        frame[col] = frame[col].mask(frame[col] == "")
    parent_of = dict(zip(raw["place_id"], raw["parent_id"], strict=True))
    index = _Index(
        frame=frame,
        level=dict(zip(raw["place_id"], raw["level"], strict=True)),
        parent={p: (q or None) for p, q in parent_of.items()},
        children={},
    )
    index.ended = ended
    index.history = history
    index.nat = nat
    index.code_pid = code_pid
    if base is not None:
        for name in ("exact", "core", "fuzzy", "historic"):
            setattr(index, name, {k: set(v) for k, v in getattr(base, name).items()})
    for pid, par in index.parent.items():
        if par:
            index.children.setdefault(par, []).append(pid)

    def add(table: dict[str, set[str]], key: str, pid: str) -> None:
        if key:
            table.setdefault(key, set()).add(pid)

    cols = [raw[c].tolist() for c in ("place_id", "name_zh", "pinyin", "name_en", "gb2260", "aliases", "short_zh")]
    for pid, name_zh, pinyin, name_en, code, aliases, short_zh in zip(*cols, strict=True):
        if pid in indexed:
            continue
        forms = [pid, name_zh, pinyin, name_en, code, *_split_aliases(aliases or "")]
        if pid in ended:  # a place that no longer exists answers to its names only as history
            for form in forms:
                norm = normalise_name(form)
                add(index.historic, norm, pid)
                add(index.historic, _core(norm), pid)
                add(index.fuzzy, norm, pid)
            continue
        for form in forms:
            norm = normalise_name(form)
            add(index.exact, norm, pid)
            add(index.core, _core(norm), pid)
            add(index.fuzzy, norm, pid)
        short = normalise_name(short_zh or "")
        add(index.core, short, pid)
        add(index.fuzzy, short, pid)
        for norm in [normalise_name(name_zh), normalise_name(pinyin or ""), normalise_name(name_en)]:
            add(index.core, norm, pid)
            add(index.fuzzy, _core(norm), pid)
    return index


# --------------------------------------------------------------------------- national layer

NATIONAL_FILE = Path(__file__).with_name("data") / "gb2260.csv.gz"
NATIONAL_KEYS_FILE = Path(__file__).with_name("data") / "gb2260_keys.csv.gz"
_COUNTY_EN = {"district": "District", "county": "County", "county_city": "City"}


def _read_gz_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, compression="gzip")


def _read_keys(path: Path) -> list[list[str]]:
    """The packaged lookup keys (table, key, codes); keys hold no commas or quotes."""
    import gzip

    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    return [line.split(",") for line in text.splitlines()[1:]]


def _load_base(path: Path) -> _Index:
    """places.csv (validated) on top of the packaged GB/T 2260 layer (continuing places merged)."""
    local = _load_registry(path).frame.reset_index().fillna("")
    hist = _read_gz_csv(NATIONAL_FILE)
    keys = _read_keys(NATIONAL_KEYS_FILE)
    local_by_code = {c: pid for pid, c in zip(local["place_id"], local["gb2260"], strict=True) if c}
    place_codes = hist["place_code"].tolist()
    code_pid = {pc: local_by_code.get(pc, f"gb{pc}") for pc in set(place_codes)}
    hist["place_id"] = [code_pid[pc] for pc in place_codes]
    # the row that describes each place: its own newest period
    own = hist[hist["code"] == hist["place_code"].str.slice(0, 6)]
    own = own.assign(_to=own["valid_to"].replace("", "9999-99")).sort_values(["_to", "valid_from"], kind="mergesort")
    own = own.loc[~own["place_code"].duplicated(keep="last")]
    ended = set(own.loc[own["valid_to"] != "", "place_id"])
    new = own[~own["place_id"].isin(set(local_by_code.values()))]
    code_to_pid = dict(zip(hist["code"], hist["place_id"], strict=True))
    code_to_pid.update(local_by_code)
    short = new["short"]
    auto = new["name"].str.endswith("自治州") & short.ne("")
    county_auto = new["name"].str.endswith(("自治县", "自治旗")) & short.ne("")
    aliases = (short + "州").where(auto, "")
    aliases = aliases.where(~county_auto, short + new["name"].str.slice(-1))
    rows = pd.DataFrame({
        "place_id": new["place_id"],
        "name_zh": new["name"],
        "short_zh": short,
        "pinyin": new["pinyin"],
        "name_en": new["name_en"],
        "level": new["level"],
        "parent_id": [("china" if not pc else code_to_pid.get(pc, f"gb{pc}")) for pc in new["parent_code"]],
        "gb2260": new["code"].where(new["valid_to"].eq(""), ""),
        "aliases": aliases,
        "note": "GB/T 2260 (cn/GB2260 mca lists)" + new["valid_to"].map(lambda v: f"; listed until {v}" if v else ""),
    })
    merged = pd.concat([local, rows], ignore_index=True)
    nat: dict[str, dict[str, str]] = {}
    for table, key, codes in keys:
        nat.setdefault(table, {})[key] = codes
    return _build_index(merged, ended, hist, nat, code_pid, indexed=set(rows["place_id"]))


def _index(registry_file: str | Path | None = None) -> _Index:
    base = _cached("registry", (raw_dir() / "places.csv").resolve(), _load_base)
    if registry_file is None:
        return base
    return _cached(f"user_registry:{id(base)}", Path(registry_file).resolve(),
                   lambda p: _load_user_registry(p, base))


def _load_user_registry(path: Path, base: _Index) -> _Index:
    """A user's registry file: with a ``nation`` row it is a complete registry that takes
    the place of ``data/raw/places.csv`` (the GB/T 2260 layer stays beneath it); without
    one it *adds* places (townships, development zones) to the packaged registry."""
    if path.exists():
        head = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        if "level" in head.columns and (head["level"].str.strip() == "nation").any():
            return _load_base(path)
    return _load_registry(path, base)


def registry(registry_file: str | Path | None = None, *, ended: bool = False) -> pd.DataFrame:
    """The places registry, validated, indexed by ``place_id``.

    Read from ``data/raw/places.csv`` (or ``registry_file``) and cached until the
    file changes. Every problem in the file is reported at once in one
    :class:`~govstats.errors.DataValidationError` naming file, row (header = row 1),
    column and raw value: malformed or duplicate ``place_id``, a sub-unit id not
    prefixed by its parent's id, unknown ``parent_id`` or ``level``, a parent chain
    that loops, a ``gb2260`` that is not six digits, an alias or code that points
    at two places (after :func:`normalise_name`).

    Parameters
    ----------
    registry_file : str or Path, optional
        Another registry file with the same columns (tests, a user's own list).

    Returns
    -------
    pandas.DataFrame
        Columns ``name_zh, short_zh, pinyin, name_en, level, parent_id, gb2260,
        aliases, note`` (text; empty cells missing). ``gb2260`` stays text so that
        leading zeros would survive. Safe to modify: it is a copy.

    Examples
    --------
    >>> reg = registry()
    >>> reg.loc["hengyang", ["name_zh", "level", "gb2260"]].tolist()
    ['衡阳市', 'prefecture_city', '430400']
    >>> int((reg["parent_id"] == "dongcheng").sum())
    17
    """
    index = _index(registry_file)
    if ended:
        return index.frame.copy()
    return index.frame.loc[~index.frame.index.isin(index.ended)].copy()


# --------------------------------------------------------------------------- resolving


def _pick(index: _Index, name: object, candidates: Iterable[str]) -> str:
    cands = sorted(set(candidates))
    best = min(LEVEL_RANK[index.level[c]] for c in cands)
    top = [c for c in cands if LEVEL_RANK[index.level[c]] == best]
    if len(top) == 1:
        return top[0]
    raise AmbiguousPlaceError(name, top, [index.label_long(c) for c in top])


def _lookup(index: _Index, name: object, text: str, scope: set[str] | None, historic: bool = False) -> str | None:
    """Steps 1-4 of the matching rule (or, with ``historic``, former names); None when nothing matches."""

    def within(cands: set[str] | None) -> set[str]:
        if not cands:
            return set()
        return cands if scope is None else cands & scope

    stripped = text.strip()
    if stripped in index.level and (scope is None or stripped in scope):
        return stripped
    norm = normalise_name(stripped)
    if not norm:
        return None
    steps = (
        (("historic", _core(norm)),)  # former names without their suffix
        if historic
        else (
            ("exact", norm),
            ("core", norm),
            ("historic", norm),  # a former name written in full (株洲县, 崇文区, 430521)
            ("core", _core(norm)),
        )
    )
    for table, key in steps:
        found = within(index.get(table, key) if key else set())
        if found:
            return _pick(index, name, found)
    return None


def _lookup_qualified(index: _Index, name: object, norm: str, scope: set[str] | None) -> str | None:
    """Step 5: '<place><place inside it>', longest leading place first."""
    for cut in range(len(norm) - 1, 0, -1):
        head, tail = norm[:cut], norm[cut:]
        try:
            outer = _lookup(index, name, head, None)
            if outer is None:
                continue
            inside = index.descendants(outer)
            if scope is not None:
                inside &= scope
            found = _lookup(index, name, tail, inside)
        except AmbiguousPlaceError:
            continue
        if found is not None:
            return found
    return None


def _suggest(index: _Index, norm: str, scope: set[str] | None, n: int = 5) -> list[str]:
    pool = (*index.fuzzy, *index.nat.get("exact", {}), *index.nat.get("historic", {}))
    keys = [k for k in pool if k[:1] == norm[:1]] if norm else []
    out: list[str] = []
    for query in (norm, _core(norm)):
        if not query:
            continue
        for key in difflib.get_close_matches(query, keys, n=10, cutoff=0.5):
            found = index.get("fuzzy", key) | index.get("exact", key) | index.get("historic", key)
            for pid in sorted(found, key=lambda p: (LEVEL_RANK[index.level[p]], p)):
                if (scope is None or pid in scope) and pid not in out and pid not in index.ended:
                    out.append(pid)
    return [index.label_long(pid) for pid in out[:n]]


_T2S = None


def _to_simplified(text: str) -> str:
    """Traditional -> simplified characters (OpenCC t2s)."""
    global _T2S
    if _T2S is None:
        from opencc import OpenCC

        _T2S = OpenCC("t2s")
    return _T2S.convert(text)


def _scope(index: _Index, within: object, registry_file) -> set[str] | None:
    if within is None:
        return None
    return index.descendants(resolve(within, registry_file=registry_file))


def _resolve_in(index: _Index, name: object, scope: set[str] | None) -> str:
    text = _as_text(name)
    if text is None or not text.strip():
        raise UnknownPlaceError(name, [])
    simplified = text if text.isascii() else _to_simplified(text)  # traditional: 衡陽 -> 衡阳
    found = None
    if simplified != text:
        found = _lookup(index, name, simplified, scope)
    if found is None:
        found = _lookup(index, name, text, scope)
    if found is None:
        found = _lookup_qualified(index, name, normalise_name(text), scope)
    if found is None and simplified != text:
        found = _lookup_qualified(index, name, normalise_name(simplified), scope)
    if found is None:  # former names and codes: 邵东县, 430521, 崇文区
        found = _lookup(index, name, text, scope, historic=True)
    if found is None and simplified != text:
        found = _lookup(index, name, simplified, scope, historic=True)
    if found is None:
        raise UnknownPlaceError(name, _suggest(index, normalise_name(text), scope))
    return found


def resolve(
    name: object,
    *,
    within: object = None,
    registry_file: str | Path | None = None,
) -> str:
    """The ``place_id`` of a place written any of the usual ways.

    Accepts the Chinese full or short name (``'衡阳市'``, ``'衡阳'``), English
    (``'Hengyang'``, ``'Hengyang City'``), pinyin with or without tone marks and
    spaces (``'Héngyáng'``, ``'hengyang shi'``), the GB/T 2260 code as text or
    number (``'430400'``, ``430400``), an alias, the ``place_id`` itself, or a
    qualified name (``'深圳福田区'``). See the module docstring for the order of
    the matching steps and the ambiguity rule (the higher administrative level
    wins; a tie raises :class:`AmbiguousPlaceError`).

    Parameters
    ----------
    name : str or int
        The name or code as written.
    within : str, optional
        A place (any form) whose descendants alone may match, e.g.
        ``within='futian'`` makes ``'福田'`` the subdistrict 福田街道.
    registry_file : str or Path, optional
        Another registry file (default ``data/raw/places.csv``).

    Returns
    -------
    str
        The place id.

    Raises
    ------
    UnknownPlaceError
        Nothing matches; ``err.suggestions`` holds the closest known names.
    AmbiguousPlaceError
        Several places of the same level match.

    Examples
    --------
    >>> resolve("衡阳市"), resolve("hengyang shi"), resolve(430400)
    ('hengyang', 'hengyang', 'hengyang')
    >>> resolve("福田"), resolve("福田", within="futian")
    ('futian', 'futian.futian')
    >>> resolve("深圳福田区")
    'futian'
    >>> resolve("Hengyan")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    govstats.errors.UnknownPlaceError: unknown place 'Hengyan'; did you mean '衡阳市 / Hengyang [hengyang] (code 430400, in 湖南省)', ...
    """
    index = _index(registry_file)
    return _resolve_in(index, name, _scope(index, within, registry_file))


def resolve_many(
    values: pd.Series | Sequence[object],
    *,
    file: str | Path | None = None,
    column: str | None = None,
    rows: Sequence[int] | None = None,
    within: object = None,
    registry_file: str | Path | None = None,
) -> pd.Series:
    """Resolve a column of place names; report every unplaceable one at once.

    Each distinct value is resolved once. Values that are missing, unknown or
    ambiguous are collected and raised together in one
    :class:`~govstats.errors.DataValidationError`, one problem per row, naming the
    file, the spreadsheet row, the column and the raw value, with the closest
    known names (or the candidates) in the hint.

    Parameters
    ----------
    values : pandas.Series or sequence
        The names as written.
    file : str or Path, optional
        The file the values came from (for the error message).
    column : str, optional
        The column name; defaults to ``values.name``.
    rows : sequence of int, optional
        The spreadsheet row of each value. Default: position + 2 (header is row
        1), right for a column read in order from a CSV or XLSX file.
    within : str, optional
        Restrict matches to the descendants of this place (see :func:`resolve`).
    registry_file : str or Path, optional
        Another registry file.

    Returns
    -------
    pandas.Series
        Place ids, same index as ``values``, named ``'place_id'``.

    Examples
    --------
    >>> import pandas as pd
    >>> resolve_many(pd.Series(["衡阳", "Quzhou", "440304", "全国"])).tolist()
    ['hengyang', 'quzhou', 'futian', 'china']
    >>> try:
    ...     resolve_many(pd.Series(["衡阳", "Hengyan"]), file="facts.csv", column="place")
    ... except Exception as err:
    ...     print(err.problems[0].location(), "|", err.problems[0].value)
    facts.csv, row 3, column 'place' | Hengyan
    """
    series = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    if column is None and series.name is not None:
        column = str(series.name)
    row_numbers = range(2, len(series) + 2) if rows is None else [int(r) for r in rows]
    if len(row_numbers) != len(series):
        raise ValueError(f"rows has {len(row_numbers)} entries for {len(series)} values")
    index = _index(registry_file)
    scope = _scope(index, within, registry_file)
    file_text = str(file) if file is not None else None

    # each distinct value is resolved once (a national column repeats a few thousand names)
    codes, uniques = pd.factorize(series.astype(object), use_na_sentinel=True)
    results: list[tuple[str | None, Problem | None]] = []
    missing_problem = Problem("missing place name", hint="write the place's name or code")
    for raw_value in list(uniques):
        if _as_text(raw_value) is None or not str(raw_value).strip():
            results.append((None, missing_problem))
            continue
        try:
            results.append((_resolve_in(index, raw_value, scope), None))
        except AmbiguousPlaceError as err:
            results.append((None, Problem(
                "ambiguous place name",
                hint="it fits " + ", ".join(err.suggestions)
                + "; write the Chinese name or qualify it (e.g. '上海长宁区'), add a parent column "
                "(省/市) or a code column, or pass within=",
            )))
        except UnknownPlaceError as err:
            hint = ("did you mean " + ", ".join(err.suggestions) + "?") if err.suggestions else ""
            hint += (" " if hint else "") + "(govstats.places.registry() lists every known place)"
            results.append((None, Problem("unknown place name", hint=hint)))
    results.append((None, missing_problem))  # code -1: NaN / None
    ids = np.array([r[0] for r in results], dtype=object)
    out = ids[codes]
    problems: list[Problem] = []
    bad = [k for k, r in enumerate(results) if r[1] is not None]
    if bad:
        bad_codes = np.array([k if k < len(uniques) else -1 for k in bad])
        values_list = series.tolist()
        for i in np.flatnonzero(np.isin(codes, bad_codes)):
            template = results[codes[i]][1]
            problems.append(Problem(template.message, file_text, row_numbers[i], column, values_list[i], template.hint))
    where = f"place names in {file_text or 'input'}" + (f", column {column!r}" if column else "")
    DataValidationError.raise_if_any(problems, what=where)
    return pd.Series(out, index=series.index, name="place_id", dtype="str")


def parent(place: object, *, registry_file: str | Path | None = None) -> str | None:
    """The id of the place directly above ``place`` (``None`` for the nation).

    Examples
    --------
    >>> parent("福田区"), parent("futian.huaqiangbei"), parent("china")
    ('shenzhen', 'futian', None)
    """
    index = _index(registry_file)
    return index.parent[_resolve_in(index, place, None)]


def children(
    place: object, *, recursive: bool = False, registry_file: str | Path | None = None
) -> list[str]:
    """The ids of the places directly under ``place`` (all descendants if ``recursive``).

    In registry order (the order of ``data/raw/places.csv``).

    Examples
    --------
    >>> len(children("hengyang")), len(children("dongcheng")), len(children("futian"))
    (12, 17, 10)
    >>> children("quzhou.qujiang")
    ['quzhou.qujiang.zhangtan']
    """
    index = _index(registry_file)
    pid = _resolve_in(index, place, None)
    wanted = index.descendants(pid) if recursive else set(index.children.get(pid, []))
    return [p for p in index.frame.index if p in wanted and p not in index.ended]


def history(place: object, *, registry_file: str | Path | None = None) -> pd.DataFrame:
    """The GB/T 2260 codes and names a place has had, oldest first.

    One row per (code, name) period of the code lists (``govstats/data/gb2260.csv.gz``,
    built from cn/GB2260 by ``govstats/data/build_gb2260.py``): ``code``, ``name``,
    ``level``, ``valid_from``/``valid_to`` (first and last list, ``YYYY-MM``; empty
    ``valid_to``: listed in the newest list) and ``change`` (how the period was joined to
    the continuing place: renamed or re-coded, merger, inferred one-to-one).

    Examples
    --------
    >>> history("邵东市")[["code", "name", "valid_from", "valid_to"]].values.tolist()[-2:]
    [['430521', '邵东县', '1984-12', '2019-04'], ['430582', '邵东市', '2019-12', '']]
    """
    index = _index(registry_file)
    pid = _resolve_in(index, place, None)
    h = index.history
    cols = ["code", "name", "level", "valid_from", "valid_to", "change"]
    if h.empty:
        return pd.DataFrame(columns=cols)
    mine = h[h["place_id"] == pid].sort_values(["valid_from", "code"], kind="mergesort")
    return mine[cols].reset_index(drop=True)


# --------------------------------------------------------------------------- measures


def _load_measures(path: Path, registry_file: str | Path | None) -> pd.DataFrame:
    what = "place measures"
    raw = _read_text_csv(path, MEASURE_COLUMNS, what)
    index = _index(registry_file)
    file = str(path)
    problems: list[Problem] = []
    seen: dict[tuple[str, ...], int] = {}
    for i, rec in enumerate(raw.to_dict("records")):
        row = i + 2
        if rec["place_id"] not in index.level:
            problems.append(
                Problem(
                    "place_id is not in the places registry", file, row, "place_id", rec["place_id"]
                )
            )
        measure = rec["measure"]
        if measure not in MEASURE_UNITS:
            problems.append(
                Problem("unknown measure", file, row, "measure", measure, "use population or area")
            )
        elif rec["unit"] != MEASURE_UNITS[measure]:
            problems.append(
                Problem(
                    f"unit of a {measure} must be {MEASURE_UNITS[measure]!r}",
                    file,
                    row,
                    "unit",
                    rec["unit"],
                )
            )
        try:
            value = float(rec["value"])
            ok = (
                math.isfinite(value)
                and value > 0
                and (measure != "population" or value.is_integer())
            )
        except ValueError:
            ok = False
        if not ok:
            problems.append(
                Problem(
                    "value must be a positive number (a whole number for population)",
                    file,
                    row,
                    "value",
                    rec["value"],
                    "write plain digits: 8300000, not 830万",
                )
            )
        if not _SNAKE.match(rec["kind"]):
            problems.append(
                Problem(
                    "kind must be a snake_case label",
                    file,
                    row,
                    "kind",
                    rec["kind"],
                    "e.g. resident_census_2020, registered_document, document",
                )
            )
        if rec["reference_date"]:
            try:
                if not _ISO_DATE.match(rec["reference_date"]):
                    raise ValueError
                dt.date.fromisoformat(rec["reference_date"])
            except ValueError:
                problems.append(
                    Problem(
                        "reference_date must be YYYY-MM-DD or empty",
                        file,
                        row,
                        "reference_date",
                        rec["reference_date"],
                    )
                )
        if not rec["source"]:
            problems.append(
                Problem(
                    "source is empty",
                    file,
                    row,
                    "source",
                    rec["source"],
                    "every figure needs its source",
                )
            )
        key = (rec["place_id"], measure, rec["kind"], rec["reference_date"])
        if key in seen:
            problems.append(
                Problem(
                    f"same place, measure, kind and date as row {seen[key]}",
                    file,
                    row,
                    "kind",
                    rec["kind"],
                )
            )
        else:
            seen[key] = row
    DataValidationError.raise_if_any(problems, what=f"{what} {file}")
    frame = raw.copy()
    frame["value"] = frame["value"].astype(float)
    for col in ("reference_date", "note"):
        frame[col] = frame[col].mask(frame[col] == "")
    return frame


def place_measures(
    *, measures_file: str | Path | None = None, registry_file: str | Path | None = None
) -> pd.DataFrame:
    """Population and area figures, each with its kind, date and source.

    Read from ``data/raw/place_measures.csv`` and validated (known ``place_id``,
    ``measure`` in population/area with units persons/km2, positive values,
    ISO dates, a source on every row; all problems at once).

    Returns
    -------
    pandas.DataFrame
        Columns ``place_id, measure, value, unit, kind, reference_date, source,
        note``; ``value`` is float, ``reference_date`` ISO text or missing.

    Examples
    --------
    >>> m = place_measures()
    >>> m.query("place_id == 'shaoyang' and measure == 'area'")[["value", "unit", "kind"]].values.tolist()
    [[21000.0, 'km2', 'document']]
    """
    path = _measures_path(measures_file).resolve()
    reg_path = _registry_path(registry_file).resolve()
    if not path.exists():
        return _load_measures(path, registry_file)  # raises the "file not found" error
    key = ("measures", f"{path}|{reg_path}")
    _index(registry_file)  # validates the registry first
    stamp = (*_stamp(path), *_stamp(reg_path))
    hit = _CACHE.get(key)
    if hit is None or hit[0] != stamp:
        hit = (stamp, _load_measures(path, registry_file))
        _CACHE[key] = hit
    return hit[1].copy()


@dataclass(frozen=True)
class PopulationFigure:
    """One sourced population figure of one place.

    Attributes
    ----------
    place_id : str
    value : int
        Persons.
    reference_date : datetime.date or None
        The census reference date (1 November of the census year); ``None`` when
        the source states no date (a document's own figure).
    kind : str
        E.g. ``'resident_census_2020'`` (7th census, resident population),
        ``'registered_document'`` (a document's 户籍 figure).
    source : str
        The publication the figure comes from.
    note : str
        Caveats (rounding, boundary changes).
    """

    place_id: str
    value: int
    reference_date: dt.date | None
    kind: str
    source: str
    note: str = ""

    @property
    def year(self) -> int | None:
        """The year of the reference date, if any."""
        return None if self.reference_date is None else self.reference_date.year


def population(
    place: object,
    year: int | None = None,
    kind: PopulationKind = "resident",
    *,
    measures_file: str | Path | None = None,
    registry_file: str | Path | None = None,
) -> PopulationFigure:
    """The sourced population of a place closest in time to ``year``.

    Rule: among the figures of the requested kind with a reference date, take the
    one whose reference year is closest to ``year``; on a tie (``year`` halfway
    between two censuses, e.g. 2015 between 2010 and 2020) take the *earlier*
    figure, the one that was already published at the time. With ``year=None``
    the latest figure is returned. Figures without a date (a document's own
    number) are used only when no dated figure of that kind exists.

    Parameters
    ----------
    place : str or int
        Any form :func:`resolve` accepts.
    year : int, optional
        The year the per-capita fact refers to.
    kind : {'resident', 'registered'}
        ``'resident'``: census resident population (常住人口); ``'registered'``:
        household-registration (户籍) figures.
    measures_file, registry_file : str or Path, optional
        Other data files (default ``data/raw/place_measures.csv`` and ``places.csv``).

    Returns
    -------
    PopulationFigure

    Raises
    ------
    PopulationNotAvailableError
        No figure of that kind for the place; the message lists what exists.

    Examples
    --------
    >>> fig = population("衢州", 2008)
    >>> fig.value, fig.reference_date.isoformat(), fig.kind
    (2122661, '2010-11-01', 'resident_census_2010')
    >>> population("quzhou", 2019).value
    2276184
    >>> population("邵阳", kind="registered").value
    8300000
    """
    check_literal(kind, PopulationKind, "kind")
    if year is not None and (isinstance(year, bool) or not isinstance(year, numbers.Integral)):
        raise TypeError(f"year must be an int or None, not {year!r}")
    index = _index(registry_file)
    pid = _resolve_in(index, place, None)
    measures = place_measures(measures_file=measures_file, registry_file=registry_file)
    pops = measures[measures["measure"] == "population"]
    mine = pops[(pops["place_id"] == pid) & pops["kind"].str.startswith(f"{kind}_")]
    if mine.empty:
        have = pops[pops["place_id"] == pid]["kind"].tolist()
        others = sorted(set(pops.loc[pops["kind"].str.startswith(f"{kind}_"), "place_id"]))
        msg = f"no {kind} population figure for {index.label(pid)}"
        msg += f"; it has: {', '.join(have)}" if have else "; it has no population figure at all"
        msg += f". {kind.capitalize()} figures exist for: {', '.join(others) or 'no place'}"
        msg += (
            ". Populations of sub-units were not verified and are left out on purpose "
            "(data/raw/PLACES_SOURCES.md); add a sourced row to data/raw/place_measures.csv"
        )
        raise PopulationNotAvailableError(msg)
    dated = mine[mine["reference_date"].notna()]
    if dated.empty:
        chosen = mine.iloc[0]
    else:
        years = dated["reference_date"].str.slice(0, 4).astype(int)
        if year is None:
            order = sorted(zip(years, range(len(dated)), strict=True), key=lambda t: -t[0])
        else:
            order = sorted(
                zip(years, range(len(dated)), strict=True),
                key=lambda t: (abs(t[0] - int(year)), t[0]),
            )
        chosen = dated.iloc[order[0][1]]
    ref = chosen["reference_date"]
    return PopulationFigure(
        place_id=pid,
        value=int(chosen["value"]),
        reference_date=None if pd.isna(ref) else dt.date.fromisoformat(ref),
        kind=str(chosen["kind"]),
        source=str(chosen["source"]),
        note="" if pd.isna(chosen["note"]) else str(chosen["note"]),
    )
