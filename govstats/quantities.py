"""Chinese quantity strings, as printed in documents and yearbooks, to analysable numbers.

A quantity such as ``3万多名`` carries four things: a number (3), a multiplier (万 =
10,000), a qualifier (多 = "more than") and a unit (名, a head count). :func:`parse_quantity`
keeps all four apart in a :class:`Quantity`; :func:`parse_quantities` does the same for a
whole column, parsing each distinct string once.

Definitions used throughout
---------------------------
Numbers
    Arabic digits with an optional decimal part and optional thousands separators
    (``1,056``); full-width forms (``１６００``, ``９５．８％``, ``1，056``) are folded to
    half-width by Unicode NFKC first. Chinese numerals (``七``, ``三十``, ``两``,
    ``一千六百``, ``二〇一六``, ``二十三点五``) are read by :mod:`cn2an` ("normal" mode); a
    numeral that opens with a place word is read with an implied 一 (``百人`` = 100 人,
    ``逾千人`` = more than 1000). A leading ``-`` makes the number negative.
Multipliers (``scale``)
    百 = 1e2, 千 = 1e3, 万 = 1e4, 亿 = 1e8, and their products 百万 = 1e6, 千万 = 1e7,
    万亿 = 1e12 ... when they follow a number: ``830万`` = 8,300,000 with ``scale`` 1e4. In
    a Chinese numeral only a closing 万/亿 counts as a multiplier (``三十万``: scale 1e4);
    十/百/千 inside it are digit places (``三千``: 3000, scale 1). A number written with
    several multiplier words (``3万5千``, ``1亿2000万``, ``三万五千``) is read whole by
    cn2an and has scale 1. 年 is never a multiplier (``2016年`` is the year 2016).
Qualifiers (``bound``)
    ``at_least``: 多, 余 (``1600多名``, ``15000余人``, ``3万多``, ``3年多``), 逾, 超过,
    以上, 不低于, 不少于, 至少, 最少, 达到或超过.
    ``lower`` is the stated number, ``upper`` is +inf: 多/余 do say the excess is below
    the next step (1600多 < 1700) but that cap is a reading, not a printed bound.
    ``at_most``: 以下, 以内, 之内, 不超过, 不到, 不足, 最多, 近, 将近, 接近. 近 ("nearly")
    means the true value is just under the stated one, so it is an upper bound.
    ``upper`` is the stated number, ``lower`` is NaN (not stated). Neither kind says
    whether the bound itself is included.
    ``approx``: 约, 大约, 近乎, 左右, 上下 (``约2000人``, ``2000人左右``); ``lower`` and
    ``upper`` are NaN.
    Qualifiers may stand before or after the number. Two qualifiers of different kinds
    (``约3万多``) are an error: the reader must decide what was meant.
Ranges (``bound == "range"``)
    Two numbers joined by ``-``, ``－``, ``—``, ``–``, ``~``, ``～``, ``至`` or ``到``:
    ``8至10人``, ``2006-2010年``, ``0.5-1.5万元/村``. ``value`` is the midpoint; ``lower``
    and ``upper`` are the ends. A bare first number takes the second's multiplier
    (``0.5-1.5万`` = 5,000-15,000) unless that would put it above the second end
    (``5000-1.5万`` = 5,000-15,000). A first end with its own unit keeps its own
    multiplier (``5000元至1.5万元``). ``scale`` is NaN when the two ends were scaled
    differently. A range carries no qualifier; ends must be in order.
Vague numerals
    A vague digit with a stated place is a range of the integers it can denote:
    ``十几`` = 11-19, ``二十几`` = 21-29, ``几十``/``数十`` = 20-90, ``几百``/``数百`` =
    200-900, ``数万`` = 20,000-90,000, ``十几万`` = 110,000-190,000 (几/数 = 2 to 9).
    Without a place word (``几个``, ``数个``, ``若干``) there is no order of magnitude and
    the text is rejected.
Units
    The text that follows the number, multiplier and qualifiers: ``名``, ``平方公里``,
    ``元/村``, ``种力量``, ``人(次)``; ``""`` if none. It must split entirely into
    known units and measure words (:data:`KNOWN_UNITS`, plus the caller's ``units=``):
    ``十佳`` (佳 is not a unit), ``52l0``, ``88OO`` and ``3O万`` are errors naming the
    text. A whole string in scientific notation, as spreadsheets export it
    (``5.21E+03``, ``1e3``), is read exactly (5210, 1000), never as 5.21 with a unit. Unit words that open with 千
    (千米, 千克, 千瓦 ...) keep it: ``5千米`` is 5 with unit ``千米``; so does a
    closing 点 (``三点要求`` is 3, unit ``点要求``). Normalised spellings:
    ``95.8%`` and ``百分之九十五点八`` -> ``"%"``; a rate per 10,000 people
    (``6.1/万人口``, ``6.1/万人``, ``6.1人/万人``, ``每万人6.1名``) -> ``"/万人口"``;
    per 1,000 people (``6‰``, ``千分之六``, ``每千人6个``, ``6/千人``) -> ``"/千人口"``;
    per 100,000 (``每10万人``) -> ``"/10万人口"``. A head-count word before the
    denominator (人, 名, 个, 位, 起, 件) is dropped; any other is kept (``元/万人口``).
    An ordinal keeps 第 in its unit: ``第一`` -> 1, unit ``"第"``.

Examples
--------
>>> q = parse_quantity("3万多名")
>>> q.value, q.lower, q.upper, q.bound, q.unit, q.scale
(30000.0, 30000.0, inf, 'at_least', '名', 10000.0)
>>> q = parse_quantity("0.5-1.5万元/村")
>>> q.value, q.lower, q.upper, q.bound, q.unit
(10000.0, 5000.0, 15000.0, 'range', '元/村')
>>> parse_quantity("每万人6.1名").unit
'/万人口'
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from numbers import Integral, Real

import numpy as np
import pandas as pd

from govstats._literals import BoundKind, ErrorsMode, check_literal
from govstats.errors import DataValidationError, GovstatsError, Problem

__all__ = [
    "EXPECTED_FORMS",
    "KNOWN_UNITS",
    "Quantity",
    "QuantityParseError",
    "parse_quantities",
    "parse_quantity",
]

#: What a quantity may look like; shown in every parse error.
EXPECTED_FORMS = (
    "a number (1056, 1,056, 2.1, 七, 三十, 两) with optional multiplier (百/千/万/亿), "
    "qualifier (多/余/逾/超过/以上/不低于 = at least; 近/不到/以下/以内/不超过 = at most; "
    "约/左右/上下 = about), range (8至10人, 0.5-1.5万元, 2006-2010年), vague place "
    "(十几, 几十, 数万) and unit (名, 平方公里, 元/村, %, 6.1/万人口, 每万人6.1名)"
)

# --------------------------------------------------------------------------- lexicon
#: The characters cn2an reads as part of a Chinese numeral in "normal" mode: digits
#: (零〇一二两三..., 壹贰叁...), place words (十百千万亿, 拾佰仟) and the decimal point 点.
#: cn2an's own list (``cn2an.Cn2An().check_key_dict["normal"]`` without 负), written out
#: so that cn2an, whose import compiles regular expressions for half a second, is
#: imported only when a cell holds a Chinese numeral; tests/test_quantities.py checks
#: that the two lists agree, so the tokenizer and the converter still do.
_CN_NUMERAL_CHARS = "零〇一壹幺二贰两三叁仨四肆五伍六陆七柒八捌九玖十拾百佰千仟万亿点"
_CN_PLACE_CHARS = "十拾百佰千仟万亿"
_CN_DIGIT_CHARS = "".join(c for c in _CN_NUMERAL_CHARS if c not in _CN_PLACE_CHARS + "点")

_MULTIPLIER_VALUES = {"百": 100, "千": 1_000, "万": 10_000, "亿": 100_000_000}
_MULTIPLIER = r"(?:[百千]?万亿|[百千]?亿|[百千]?万|[百千])"
_ARABIC = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"

_RUN = re.compile(f"[0-9.,{_CN_NUMERAL_CHARS}]+")
_ARABIC_SCALED = re.compile(f"(?P<num>{_ARABIC})(?P<mult>{_MULTIPLIER})?")
_ARABIC_COMPOUND = re.compile(rf"(?:{_ARABIC}[万亿千百])+(?:{_ARABIC})?")
_CN_CLOSING_MULTIPLIER = re.compile(r"(?P<mant>.+?)(?P<mult>万亿|亿|万)")
_LEADING_MULTIPLIER = re.compile(_MULTIPLIER)
_VAGUE_TENS = re.compile(f"(?P<tens>[{_CN_DIGIT_CHARS}]?[十拾])几(?P<mult>{_MULTIPLIER})?")
_VAGUE_PLACE = re.compile(f"[几数](?P<place>[十拾百佰千仟])?(?P<mult>{_MULTIPLIER})?")
_VAGUE_WORDS = ("若干", "几", "数", "好几", "多个")

_RANGE = re.compile(r"(?P<a>.+?)(?P<sep>—{1,2}|[~〜\-–―‐]|至|到)(?P<b>.+)")

# Longest first, so 近乎 is not read as 近 + 乎.
_PREFIX_QUALIFIERS: list[tuple[str, BoundKind]] = sorted(
    [
        ("约", "approx"),
        ("大约", "approx"),
        ("近乎", "approx"),
        ("逾", "at_least"),
        ("超过", "at_least"),
        ("不低于", "at_least"),
        ("不少于", "at_least"),
        ("至少", "at_least"),
        ("最少", "at_least"),
        ("达到或超过", "at_least"),
        ("近", "at_most"),
        ("将近", "at_most"),
        ("接近", "at_most"),
        ("不超过", "at_most"),
        ("不到", "at_most"),
        ("不足", "at_most"),
        ("最多", "at_most"),
    ],
    key=lambda item: -len(item[0]),
)
_SUFFIX_QUALIFIERS: list[tuple[str, BoundKind]] = sorted(
    [
        ("以上", "at_least"),
        ("多", "at_least"),
        ("余", "at_least"),
        ("以下", "at_most"),
        ("以内", "at_most"),
        ("之内", "at_most"),
        ("左右", "approx"),
        ("上下", "approx"),
    ],
    key=lambda item: -len(item[0]),
)
_INNER_MORE = "多余"  # 1600多名, 3万多名, 十多万: between number, multiplier and unit

_DENOMINATOR_UNITS = {
    "万": "/万人口",
    "1万": "/万人口",
    "10000": "/万人口",
    "千": "/千人口",
    "1000": "/千人口",
    "十万": "/10万人口",
    "10万": "/10万人口",
    "100000": "/10万人口",
}
_DENOMINATOR = "|".join(sorted(map(re.escape, _DENOMINATOR_UNITS), key=len, reverse=True))
_PER_POPULATION_PREFIX = re.compile(f"每(?P<den>{_DENOMINATOR})人口?")
_PER_POPULATION_UNIT = re.compile(f"(?P<noun>[^/]*)/(?P<den>{_DENOMINATOR})人口?")
_FRACTION_PREFIXES = {"百分之": "%", "千分之": "/千人口"}
_HEAD_COUNT_WORDS = {"", "人", "名", "个", "位", "起", "件"}

# Unit words that open with 千 (千米 = km, 千克 = kg, ...): after a number the 千 belongs
# to the unit, not to the number (5千米 = 5 千米, not 5000 米).
_KILO_UNITS = ("千米", "千克", "千瓦", "千伏", "千帕", "千焦", "千卡", "千赫")

_QUOTES = "\"'“”‘’「」『』"
_SPACE_NOT_IN_NUMBER = re.compile(r"(?<!\d)\s+|\s+(?!\d)")
# A unit never opens with a numeral, a decimal point, 多/余/几 or a bare multiplier
# (八百三十多万万: the 万 after 多 is a misplaced multiplier, not a unit), and never
# holds a stray digit (m2 is fine), a decimal point or a range dash.
_BAD_UNIT = re.compile(f"^[.,多余几{_CN_DIGIT_CHARS}]|^[万亿](?!元)|(?<![A-Za-z])\\d|[.~〜\\-–—―‐]")

#: Units and measure words a quantity may carry. A unit is accepted only when it can be
#: written entirely as a sequence of these words (and ``/``, brackets): ``元/村`` = 元 /
#: 村, ``种力量`` = 种 + 力量, ``大方面`` = 大 + 方面. Anything else after the number
#: (``十佳``, ``52l0``, ``1e3`` read as 1 + ``e3``) is an error naming the text. Users add
#: words with ``units=`` (the unit column of their codebook).
KNOWN_UNITS: frozenset[str] = frozenset(
    # measure words (量词) and counted units
    "个 名 人 位 件 起 次 人次 户 户次 家 所 座 支 台 辆 项 条 种 类 批 场 场次 届 期 份 篇 "
    "本 套 间 处 栋 幢 张 只 头 株 棵 级 层 片 块 组 队 站 宗 例 笔 部 门 艘 轮 遍 点 段 员 "
    "险 省 县 市 区 村 镇 乡 街道 社区 网格 格 倍 成 岁 年 个月 月 天 日 周 小时 分钟 秒 "
    "名次 人口 万人口 千人口 "
    # money, length, area, mass, energy
    "元 美元 吨 公斤 千克 克 米 公里 千米 平方米 平方公里 平方千米 亩 公顷 千瓦 千瓦时 度 "
    "km km2 m m2 kg t % ‰ "
    # counted things the source documents write after a number (三大方面, 七种力量, 五险,
    # 一社区一法律顾问, 两级县市, 元/村辅警, 三点要求)
    "大 小 一 方面 安全 力量 要求 法律顾问 辅警 县市 警 民警 调解员 网格员 志愿者 机构 单位 "
    "平台 中心 工作站 派出所 警务室 委员会 调解委员会".split()
)
_UNIT_PUNCT = "/()（）"


def _unit_words(extra: frozenset[str]) -> list[str]:
    return sorted(KNOWN_UNITS | extra, key=len, reverse=True)


def _is_known_unit(unit: str, extra: frozenset[str] = frozenset()) -> bool:
    """True when ``unit`` splits entirely into known words (longest first, with backtracking)."""
    if not unit or unit in extra or unit in KNOWN_UNITS:
        return True
    words = _unit_words(extra)
    ok = [False] * (len(unit) + 1)
    ok[len(unit)] = True
    for i in range(len(unit) - 1, -1, -1):
        if unit[i] in _UNIT_PUNCT:
            ok[i] = ok[i + 1]
            continue
        ok[i] = any(unit.startswith(w, i) and ok[i + len(w)] for w in words)
    return ok[0]


# A whole string that is a floating-point literal in scientific notation, as a
# spreadsheet exports it (5.21E+03). Read exactly (Decimal), never as 5.21 + unit 'E+03'.
_SCIENTIFIC = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)[eE][+-]?\d{1,3}")


# --------------------------------------------------------------------------- API types
@dataclass(frozen=True)
class Quantity:
    """One quantity as printed, split into number, bound, unit and multiplier.

    Attributes
    ----------
    raw : str
        The input exactly as given.
    value : float
        Point value in base units after the multiplier (``830万`` -> 8,300,000.0); for a
        range, the midpoint of ``lower`` and ``upper``.
    lower, upper : float
        Bounds in base units. exact: both equal ``value``; at_least: ``value`` and +inf;
        at_most: NaN and ``value``; approx: NaN and NaN; range: the two ends.
    bound : {"exact", "at_least", "at_most", "approx", "range"}
        What the qualifier says about the true value (see the module docstring).
    unit : str
        The unit text left after number, multiplier and qualifier (``"名"``,
        ``"平方公里"``, ``"元/村"``, ``"%"``, ``"/万人口"``); ``""`` if none.
    scale : float
        The multiplier applied (1e4 for 万, 1e8 for 亿, 1.0 if none); NaN for a range
        whose ends were scaled differently.

    Examples
    --------
    >>> parse_quantity("2.1万平方公里")
    Quantity(raw='2.1万平方公里', value=21000.0, lower=21000.0, upper=21000.0, bound='exact', unit='平方公里', scale=10000.0)
    """

    raw: str
    value: float
    lower: float
    upper: float
    bound: BoundKind
    unit: str
    scale: float


class QuantityParseError(GovstatsError, ValueError):
    """A string that is not a quantity this module can read.

    ``err.raw`` is the string as given, ``err.reason`` what is wrong with it and
    ``err.hint`` the forms that are expected.

    Examples
    --------
    >>> try:
    ...     parse_quantity("若干")
    ... except QuantityParseError as err:
    ...     print(err.reason)
    a vague amount (若干/几/数) with no place word (十/百/千/万) has no order of magnitude
    """

    def __init__(self, raw: object, reason: str, hint: str = EXPECTED_FORMS):
        self.raw = raw
        self.reason = reason
        self.hint = hint
        super().__init__(f"cannot read {raw!r} as a quantity: {reason}. Expected {hint}")


class _Fail(Exception):
    """Internal: a reason to reject the text (turned into QuantityParseError)."""

    def __init__(self, reason: str, hint: str = EXPECTED_FORMS):
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclass(frozen=True)
class _End:
    """One number as read: a point (low == high) or a vague range, in base units."""

    low: Decimal
    high: Decimal
    scale: Decimal
    multiplier_written: bool
    more: bool  # an inner 多/余
    vague: bool
    unit: str


# --------------------------------------------------------------------------- reading
def _normalise_text(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).strip().strip(_QUOTES)
    return _SPACE_NOT_IN_NUMBER.sub("", text)


def _multiplier_value(word: str) -> Decimal:
    return Decimal(math.prod(_MULTIPLIER_VALUES[c] for c in word))


def _cn2an(text: str, mode: str = "normal") -> Decimal:
    import cn2an  # here, not at the top: see _CN_NUMERAL_CHARS

    try:
        number = cn2an.cn2an(text, mode)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise _Fail(str(exc)) from None
    return Decimal(str(number))


def _read_run(run: str) -> tuple[Decimal, Decimal, bool]:
    """A run of digits/numeral characters -> (value in base units, scale, multiplier written)."""
    if m := _ARABIC_SCALED.fullmatch(run):
        number = Decimal(m["num"].replace(",", ""))
        if m["mult"]:
            scale = _multiplier_value(m["mult"])
            return number * scale, scale, True
        return number, Decimal(1), False
    if any(c.isdigit() for c in run):
        if not _ARABIC_COMPOUND.fullmatch(run):
            raise _Fail(f"{run!r} is not a well-formed number")
        return _cn2an(run, "smart"), Decimal(1), True  # 3万5千, 1亿2000万: spelled out in full
    implied = "一" + run if run[0] in _CN_PLACE_CHARS[2:] else run  # 百人, 逾千人: an implied 一
    try:
        m = _CN_CLOSING_MULTIPLIER.fullmatch(implied)
        if m:
            higher = "亿" if m["mult"] == "亿" else "万亿"
            if not any(c in m["mant"] for c in higher):
                scale = _multiplier_value(m["mult"])
                return _cn2an(m["mant"]) * scale, scale, True
        return _cn2an(implied), Decimal(1), False
    except _Fail as fail:
        raise _Fail(f"{run!r} is not a number cn2an can read ({fail.reason})") from None


def _read_vague(text: str) -> tuple[_End, str] | None:
    if m := _VAGUE_TENS.match(text):
        tens = _cn2an(m["tens"])
        low, high = tens + 1, tens + 9
    elif (m := _VAGUE_PLACE.match(text)) and (m["place"] or m["mult"]):
        place = _cn2an("一" + m["place"]) if m["place"] else Decimal(1)
        low, high = 2 * place, 9 * place
    else:
        return None
    scale = _multiplier_value(m["mult"]) if m["mult"] else Decimal(1)
    end = _End(low * scale, high * scale, scale, bool(m["mult"]), False, True, "")
    return end, text[m.end() :]


def _read_end(text: str) -> _End:
    """Read one number with its multiplier, inner 多/余 and unit."""
    sign = Decimal(1)
    if text.startswith("-"):
        sign, text = Decimal(-1), text[1:]
    vague = _read_vague(text)
    if vague is not None:
        end, unit = vague
        _check_unit(unit)
        return _End(end.low, end.high, end.scale, end.multiplier_written, False, True, unit)
    m = _RUN.match(text)
    if (
        m
        and len(m.group()) > 1
        and (m.group().endswith("点") or text.startswith(_KILO_UNITS, m.end() - 1))
    ):  # 三点意见 (points), 5千米 (km): the last character opens the unit
        m = _RUN.match(text, 0, m.end() - 1)
    if not m:
        if text.startswith(_VAGUE_WORDS):
            raise _Fail(
                "a vague amount (若干/几/数) with no place word (十/百/千/万) has no order of magnitude",
                "a definite number, or a range such as 2至9个",
            )
        raise _Fail("no number found")
    value, scale, written = _read_run(m.group())
    rest = text[m.end() :]
    more = False
    if rest[:1] and rest[0] in _INNER_MORE:
        more, rest = True, rest[1:]
    if not written and not rest.startswith(_KILO_UNITS) and (mm := _LEADING_MULTIPLIER.match(rest)):
        # 十多万, 10多万
        scale = _multiplier_value(mm.group())
        value, written, rest = value * scale, True, rest[mm.end() :]
    if not more and rest[:1] and rest[0] in _INNER_MORE:
        more, rest = True, rest[1:]
    _check_unit(rest)
    return _End(sign * value, sign * value, scale, written, more, False, rest)


def _check_unit(unit: str) -> None:
    if _BAD_UNIT.search(unit):
        raise _Fail(f"unexpected text {unit!r} after the number (not a unit)")


def _normalise_unit(unit: str) -> str:
    if unit == "‰":
        return "/千人口"
    if m := _PER_POPULATION_UNIT.fullmatch(unit):
        noun = "" if m["noun"] in _HEAD_COUNT_WORDS else m["noun"]
        return noun + _DENOMINATOR_UNITS[m["den"]]
    return unit


def _strip_affixes(text: str) -> tuple[str, list[tuple[str, BoundKind]], str | None, bool]:
    """Strip qualifiers, 每万人/百分之 and 第 from both ends; return what was found."""
    qualifiers: list[tuple[str, BoundKind]] = []
    special_unit: str | None = None
    ordinal = False
    changed = True
    while changed and text:
        changed = False
        for word, kind in _PREFIX_QUALIFIERS:
            if text.startswith(word):
                qualifiers.append((word, kind))
                text, changed = text[len(word) :], True
                break
        if special_unit is None and (m := _PER_POPULATION_PREFIX.match(text)):
            special_unit = "rate:" + _DENOMINATOR_UNITS[m["den"]]
            text, changed = text[m.end() :], True
        for word, unit in _FRACTION_PREFIXES.items():
            if special_unit is None and text.startswith(word):
                special_unit = "fraction:" + unit
                text, changed = text[len(word) :], True
        if not ordinal and text.startswith("第"):
            ordinal, text, changed = True, text[1:], True
    changed = True
    while changed and text:
        changed = False
        for word, kind in _SUFFIX_QUALIFIERS:
            if text.endswith(word):
                qualifiers.append((word, kind))
                text, changed = text[: -len(word)], True
                break
    return text, qualifiers, special_unit, ordinal


def _parse(
    text: str, units: frozenset[str] = frozenset()
) -> tuple[float, float, float, BoundKind, str, float]:
    normalised = _normalise_text(text)
    if _SCIENTIFIC.fullmatch(normalised):
        number = Decimal(normalised)
        return float(number), float(number), float(number), "exact", "", 1.0
    core, qualifiers, special_unit, ordinal = _strip_affixes(normalised)
    if not core:
        raise _Fail("a qualifier without a number" if qualifiers else "no number found")
    rng = _RANGE.fullmatch(core)
    if rng:
        a, b = _read_end(rng["a"]), _read_end(rng["b"])
        if a.vague or b.vague or a.more or b.more:
            raise _Fail("an end of a range carries 几/数/多/余; write the range as two numbers")
        if a.unit and a.unit != b.unit:
            raise _Fail(f"the ends of the range have different units ({a.unit!r}, {b.unit!r})")
        low, high, scale_a = a.low, b.high, a.scale
        if not a.multiplier_written and b.multiplier_written and not a.unit:
            if a.low * b.scale <= b.high:  # 0.5-1.5万: the 万 applies to both ends
                low, scale_a = a.low * b.scale, b.scale
        if low > high:
            raise _Fail(f"the range runs backwards ({low:f} > {high:f})")
        scale = float(b.scale) if scale_a == b.scale else math.nan
        unit, more, bound = b.unit, False, "range"
    else:
        end = _read_end(core)
        low, high, scale, unit, more = end.low, end.high, float(end.scale), end.unit, end.more
        bound = "range" if end.vague else "exact"
    kinds = {kind for _, kind in qualifiers} | ({"at_least"} if more else set())
    if len(kinds) > 1:
        words = [w for w, _ in qualifiers] + (["多/余"] if more else [])
        raise _Fail(f"qualifiers that contradict each other ({', '.join(words)})")
    if kinds and bound == "range":
        raise _Fail("a range (or vague 十几/几十) cannot also carry a qualifier")
    if kinds:
        bound = kinds.pop()
    if special_unit is not None:
        role, target = special_unit.split(":", 1)
        if role == "fraction":
            if unit:
                raise _Fail(f"unexpected text {unit!r} after a 百分之/千分之 number")
            unit = target
        else:
            if "/" in unit:
                raise _Fail(f"a 每万人/每千人 rate with a second denominator ({unit!r})")
            unit = ("" if unit in _HEAD_COUNT_WORDS else unit) + target
    else:
        unit = _normalise_unit(unit)
    head = unit
    for den in ("/10万人口", "/万人口", "/千人口"):
        if head.endswith(den):
            head = head[: -len(den)]
            break
    if not _is_known_unit(head, units):
        raise _Fail(
            f"unknown unit {head!r} after the number (not a known unit or measure word)",
            "a number with a known unit or measure word (个, 名, 人, 元, 万元, %, 平方公里, 人次 ...); "
            "declare other units in your codebook (units=)",
        )
    if ordinal:
        if bound != "exact":
            raise _Fail("an ordinal (第...) is always exact")
        unit = "第" + unit
    value = (low + high) / 2
    lower, upper = {
        "exact": (value, value),
        "range": (low, high),
        "at_least": (value, Decimal("Infinity")),
        "at_most": (Decimal("NaN"), value),
        "approx": (Decimal("NaN"), Decimal("NaN")),
    }[bound]
    return float(value), float(lower), float(upper), bound, unit, scale


def parse_quantity(text: str, *, units: Iterable[str] = ()) -> Quantity:
    """Parse one quantity as printed in a Chinese document into value, bound, unit and scale.

    Parameters
    ----------
    text : str
        The quantity as printed: ``"1600多名"``, ``"2.1万平方公里"``, ``"6.1/万人口"``,
        ``"七种力量"``, ``"8至10人"``, ``"９５．８％"``. The forms, and what 万, 多, 近 and
        the other words mean, are defined in the module docstring.

    Returns
    -------
    Quantity

    Raises
    ------
    QuantityParseError
        If the text is not one of the expected forms (``"若干"``, ``"数个"``,
        ``"1.2.3万"``, ``"多"``, ``"abc"``, an empty string). The message quotes the text
        and lists the expected forms.
    TypeError
        If ``text`` is not a string (use :func:`parse_quantities` for mixed columns).

    Other Parameters
    ----------------
    units : iterable of str
        Unit words accepted besides :data:`KNOWN_UNITS` (e.g. a user codebook's units).
        A unit that does not split into known words is an error (``十佳``, ``52l0``).
        A whole string in scientific notation (``5.21E+03``) is read exactly (5210).

    Examples
    --------
    >>> q = parse_quantity("1600多名")
    >>> q.value, q.bound, q.unit
    (1600.0, 'at_least', '名')
    >>> q = parse_quantity("十几个")
    >>> q.value, q.lower, q.upper, q.bound, q.unit
    (15.0, 11.0, 19.0, 'range', '个')
    >>> q = parse_quantity("百分之九十五点八")
    >>> q.value, q.unit
    (95.8, '%')
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_quantity expects a string, got {type(text).__name__}: {text!r}")
    try:
        value, lower, upper, bound, unit, scale = _parse(text, frozenset(units))
    except _Fail as fail:
        raise QuantityParseError(text, fail.reason, fail.hint) from None
    return Quantity(text, value, lower, upper, bound, unit, scale)


# --------------------------------------------------------------------------- vectorised
_FIELDS = ["value", "lower", "upper", "bound", "unit", "scale"]


def _cell_text(cell: object) -> str | None:
    """The text to parse for one distinct cell; None for a missing/empty cell."""
    if isinstance(cell, str):
        return cell if cell.strip() else None
    if isinstance(cell, bool | np.bool_):
        raise _Fail("a true/false value is not a quantity")
    if isinstance(cell, Integral):
        return str(int(cell))
    if isinstance(cell, Decimal):
        return format(cell, "f")
    if isinstance(cell, Real):
        if not math.isfinite(float(cell)):
            raise _Fail("an infinite number is not a quantity")
        return np.format_float_positional(float(cell), trim="-")
    raise _Fail(f"a {type(cell).__name__} is not a quantity")


def parse_quantities(
    values: pd.Series,
    *,
    errors: ErrorsMode = "raise",
    file: str | None = None,
    column: str | None = None,
    rows: pd.Series | None = None,
    units: Iterable[str] = (),
) -> pd.DataFrame:
    """Parse a column of quantities; each distinct string is parsed once.

    Parameters
    ----------
    values : pandas.Series
        Quantities as printed (strings; plain numbers are read as their decimal text).
        Missing cells (NaN, None, ``""``, blanks) give an all-NaN row and no error.
    errors : {"raise", "collect"}
        ``"raise"``: raise one :class:`~govstats.errors.DataValidationError` listing every
        unparseable cell. ``"collect"``: return the frame with an extra ``error`` column
        (None where parsed, the :class:`QuantityParseError` message where not; the
        numeric fields of such a row are NaN) so the caller can merge the problems with
        others.
    file, column : str, optional
        Where the values came from, for the problems' locations.
    rows : pandas.Series, optional
        Row number of each value in the file (spreadsheet convention, header = 1), in
        the same order as ``values``; without it problems name the index label.
    units : iterable of str
        Extra unit words, as in :func:`parse_quantity`.

    Returns
    -------
    pandas.DataFrame
        Same index as ``values``; columns ``raw`` (the input as given), ``value``,
        ``lower``, ``upper``, ``bound``, ``unit``, ``scale`` (see :class:`Quantity`),
        plus ``error`` with ``errors="collect"``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = parse_quantities(pd.Series(["1600多名", "2.1万平方公里", None, "1600多名"]))
    >>> df[["value", "upper", "bound", "unit", "scale"]]
         value    upper     bound  unit    scale
    0   1600.0      inf  at_least     名      1.0
    1  21000.0  21000.0     exact  平方公里  10000.0
    2      NaN      NaN       NaN   NaN      NaN
    3   1600.0      inf  at_least     名      1.0
    >>> parse_quantities(pd.Series(["3299个", "若干"]), errors="collect")["error"].isna().tolist()
    [True, False]
    """
    check_literal(errors, ErrorsMode, "errors")
    if not isinstance(values, pd.Series):
        values = pd.Series(values)
    if rows is not None and len(rows) != len(values):
        raise ValueError(f"rows has {len(rows)} entries but values has {len(values)}")
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    extra_units = frozenset(units)

    n = len(uniques) + 1  # the last slot is the missing row; code -1 indexes it
    numbers = np.full((n, 4), np.nan)  # value, lower, upper, scale
    bound = np.full(n, np.nan, dtype=object)
    unit = np.full(n, np.nan, dtype=object)
    error = np.full(n, None, dtype=object)
    reason = np.full(n, None, dtype=object)
    hint = np.full(n, "", dtype=object)
    # fast path: plain decimal numbers (most cells of a yearbook), read as parse_quantity
    # reads them (exact, no unit, scale 1) without the grammar
    plain = np.zeros(n, dtype=bool)
    if len(uniques):
        texts = pd.Series(np.asarray(uniques, dtype=object))
        is_text = texts.map(type).eq(str).to_numpy()
        simple = np.zeros(len(texts), dtype=bool)
        simple[is_text] = texts[is_text].str.fullmatch(r"-?[0-9]+(?:\.[0-9]+)?").to_numpy(dtype=bool)
        if simple.any():
            nums = texts[simple].astype(float).to_numpy()
            idx = np.flatnonzero(simple)
            numbers[idx, 0] = numbers[idx, 1] = numbers[idx, 2] = nums
            numbers[idx, 3] = 1.0
            bound[idx], unit[idx] = "exact", ""
            plain[idx] = True
    for k, cell in enumerate(uniques):
        if plain[k]:
            continue
        try:
            text = _cell_text(cell)
            if text is None:
                continue
            q = parse_quantity(text, units=extra_units)
        except _Fail as fail:
            err = QuantityParseError(cell, fail.reason, fail.hint)
        except QuantityParseError as exc:
            err = exc
        else:
            numbers[k] = (q.value, q.lower, q.upper, q.scale)
            bound[k], unit[k] = q.bound, q.unit
            continue
        error[k], reason[k], hint[k] = str(err), err.reason, err.hint

    frame = pd.DataFrame(
        {
            "raw": values,
            "value": numbers[codes, 0],
            "lower": numbers[codes, 1],
            "upper": numbers[codes, 2],
            "bound": _take_text(bound, codes, values.index),
            "unit": _take_text(unit, codes, values.index),
            "scale": numbers[codes, 3],
        },
        index=values.index,
    )
    bad = np.flatnonzero(np.not_equal(error, None)[codes])
    if errors == "collect":
        frame["error"] = pd.Series(error[codes], index=values.index, dtype=object)
        return frame
    if len(bad):
        row_labels = rows.to_numpy() if rows is not None else values.index.to_numpy()
        problems = [
            Problem(
                f"not a quantity: {reason[codes[i]]}",
                file=file,
                row=_plain(row_labels[i]),
                column=column,
                value=values.iloc[i],
                hint=f"expected {hint[codes[i]]}",
            )
            for i in bad
        ]
        what = (
            "quantities"
            + (f" in column {column!r}" if column else "")
            + (f" of {file}" if file else "")
        )
        raise DataValidationError(problems, what=what)
    return frame


def _take_text(per_unique: np.ndarray, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Spread one text field from the distinct values to every row (NaN for missing)."""
    return pd.Series(pd.array(per_unique, dtype="str").take(codes), index=index)


def _plain(label: object) -> object:
    """numpy scalars -> Python scalars, for readable problem locations."""
    return label.item() if isinstance(label, np.generic) else label
