"""Build ``govstats/data/gb2260.csv.gz`` from a snapshot of the cn/GB2260 repository.

Usage (from the repository root)::

    python -m govstats.data.build_gb2260 /path/to/cn+GB2260/repo [--commit SHA]
    python -m govstats.data.build_gb2260 --refresh-names   # romanised names only

The snapshot is a git directory of https://github.com/cn/GB2260 (the files are read
with ``git show COMMIT:mca/YYYYMM.tsv``, so no work tree is needed). Every Ministry of
Civil Affairs list ``mca/*.tsv`` of that commit is one *vintage*; its date is the file
name (``mca/202112.tsv`` carries the Revision ``202012`` inside but already has 2021
changes, see ``data/raw/PLACES_SOURCES.md``).

What is written, one row per (code, name) period:

``code, name, level, parent_code, valid_from, valid_to, place_code, change, short,
pinyin, name_en, name_trad``

* ``level``: ``province``/``municipality`` (code ``xx0000``), ``prefecture_city``
  (``xxxx00``), ``district`` (name ends 区), ``county_city`` (ends 市) or ``county``.
* ``parent_code``: the prefecture (``xxxx00``) when the same vintage lists it,
  else the province; the province's parent is the nation (empty).
* ``valid_from``/``valid_to``: the first and last vintage (``YYYY-MM``) that lists the
  code with that name; ``valid_to`` is empty when the newest vintage lists it.
* ``place_code``: the code of the *continuing place* (its newest code). A code that
  ends is joined to a code that begins in the next vintage when (a) both are in the
  same province, at the same level, and have the same name without its
  administrative suffix (邵东县 430521 -> 邵东市 430582), or (b) they are the only
  county-level code that ended and the only one that began in the same prefecture
  between the two vintages (株洲县 430221 -> 渌口区 430212), or (c) a merger listed in
  :data:`MERGERS` (the code lists show only that a code ended, not where it went).
  ``change`` says which rule joined the row (``''`` when the row is the place's own
  newest code).
* ``short``: the name without its administrative suffix and ethnic-group names
  (海西蒙古族藏族自治州 -> 海西, 城步苗族自治县 -> 城步); ``pinyin`` with tone marks
  (pypinyin, with the place readings of :data:`PLACE_READINGS` and
  :data:`CHAR_READINGS`: 长治 Chángzhì, not pypinyin's Zhǎngzhì), ``name_en`` written from the toneless
  pinyin with ü kept and an apostrophe before a syllable starting a/o/e (Lu'an, Xi'an) (prefectures and provinces
  bare, county-level units with County/District/City), ``name_trad`` in traditional
  characters (OpenCC ``s2t``), empty when equal to ``name``; ``pinyin_alt`` the other
  toneless readings of a short name with polyphonic characters (朝阳: chaoyang besides
  pypinyin's zhaoyang), ``|``-separated.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import math
import re
import subprocess
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).with_name("gb2260.csv.gz")
KEYS_OUT = Path(__file__).with_name("gb2260_keys.csv.gz")
DEFAULT_COMMIT = "8bd12eee4f2b096f09f855459db317ecfbc5ba21"

#: Mergers the code lists cannot show (a code ends; the absorbing code continues).
#: old code -> (absorbing code, source of the statement).
MERGERS = {
    "110103": ("110101", "崇文区 merged into 东城区 (2010); stated in issue 10 and "
               "../shared/reference/population_census.csv; mca/201012.tsv no longer lists 110103"),
    "110104": ("110102", "宣武区 merged into 西城区 (2010), the same State Council decision; "
               "mca/201012.tsv no longer lists 110104"),
}

ETHNIC = (
    "蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 拉祜 水 "
    "东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 "
    "鄂温克 德昂 保安 裕固 京 独龙 鄂伦春 赫哲 门巴 珞巴 基诺 俄罗斯 乌孜别克 塔塔尔"
).split()
_ETHNIC_TAIL = re.compile("(?:" + "|".join(sorted((e + "族" for e in ETHNIC), key=len, reverse=True)) + ")+$")
_SUFFIXES = ("特别行政区", "自治区", "自治州", "自治县", "自治旗", "地区", "林区", "特区",
             "新区", "矿区", "省", "市", "区", "县", "旗", "盟")
_PLACEHOLDERS = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划", "省直辖行政单位"}


def short_name(name: str) -> str:
    """衡阳市 -> 衡阳; 海西蒙古族藏族自治州 -> 海西; names of two characters stay whole."""
    for suffix in _SUFFIXES:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            stem = name[: -len(suffix)]
            if suffix.startswith("自治"):
                m = _ETHNIC_TAIL.search(stem)
                if m and m.start() >= 2:
                    stem = stem[: m.start()]
            return stem
    return name


def level_of(code: str, name: str) -> str:
    if code.endswith("0000"):
        return "municipality" if name.endswith("市") else "province"
    if code.endswith("00"):
        return "prefecture_city"
    if name.endswith("区"):
        return "district"
    if name.endswith("市"):
        return "county_city"
    return "county"


def tier(code: str) -> int:
    """0 province, 1 prefecture, 2 county level (from the code's pattern)."""
    return 0 if code.endswith("0000") else 1 if code.endswith("00") else 2


def read_vintages(repo: Path, commit: str) -> dict[str, dict[str, str]]:
    files = subprocess.run(
        ["git", "--git-dir", str(repo), "ls-tree", "--name-only", commit, "mca/"],
        check=True, capture_output=True, text=True,
    ).stdout.split()
    out: dict[str, dict[str, str]] = {}
    for f in sorted(files):
        m = re.fullmatch(r"mca/(\d{4})(\d{2})\.tsv", f)
        if not m:
            continue
        text = subprocess.run(
            ["git", "--git-dir", str(repo), "show", f"{commit}:{f}"],
            check=True, capture_output=True, text=True,
        ).stdout
        rows = csv.DictReader(io.StringIO(text), delimiter="\t")
        listed = {r["Code"].strip(): r["Name"].strip() for r in rows}
        out[f"{m[1]}-{m[2]}"] = {c: n for c, n in listed.items() if n not in _PLACEHOLDERS}
    return out


def build(repo: Path, commit: str) -> list[dict[str, str]]:
    from opencc import OpenCC

    vintages = read_vintages(repo, commit)
    order = list(vintages)
    newest = order[-1]
    # (code, name) periods
    periods: dict[tuple[str, str], dict] = {}
    for v in order:
        listed = vintages[v]
        for code, name in listed.items():
            key = (code, name)
            rec = periods.setdefault(key, {"code": code, "name": name, "first": v, "last": v})
            rec["last"] = v
            pref = code[:4] + "00"
            prov = code[:2] + "0000"
            if code.endswith("0000"):
                rec["parent_code"] = ""
            elif code.endswith("00") or pref not in listed:
                rec["parent_code"] = prov
            else:
                rec["parent_code"] = pref
    # links between (code, name) periods: a period that ends continues as one that
    # begins in the next vintage
    vpos = {v: i for i, v in enumerate(order)}
    ends_at: dict[str, list[tuple[str, str]]] = defaultdict(list)
    starts_at: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for key, rec in periods.items():
        if rec["last"] != order[-1]:
            ends_at[rec["last"]].append(key)
        if rec["first"] != order[0]:
            starts_at[rec["first"]].append(key)
    link: dict[tuple[str, str], tuple[tuple[str, str], str]] = {}
    for i in range(len(order) - 1):
        a, b = order[i], order[i + 1]
        ended, began = ends_at[a], starts_at[b]
        taken: set[tuple[str, str]] = set()
        for old in ended:  # (a) same province and tier, same name without its suffix
            hits = [new for new in began if new[0][:2] == old[0][:2] and tier(new[0]) == tier(old[0])
                    and short_name(new[1]) == short_name(old[1]) and new not in taken]
            if len(hits) == 1:
                new = hits[0]
                link[old] = (new, f"renamed or re-coded: {old[0]} {old[1]} listed last in {a}, "
                             f"{new[0]} {new[1]} first in {b}")
                taken.add(new)
        for old in ended:  # the same code, a new name (襄樊市 -> 襄阳市)
            if old in link:
                continue
            hits = [new for new in began if new[0] == old[0] and new not in taken]
            if len(hits) == 1:
                link[old] = (hits[0], f"renamed: {old[0]} {old[1]} listed last in {a}, "
                             f"{hits[0][1]} under the same code from {b}")
                taken.add(hits[0])
        by_pref_end = defaultdict(list)
        by_pref_new = defaultdict(list)
        for old in ended:
            if old not in link and tier(old[0]) == 2:
                by_pref_end[old[0][:4]].append(old)
        for new in began:
            if new not in taken and tier(new[0]) == 2:
                by_pref_new[new[0][:4]].append(new)
        for pref, olds in by_pref_end.items():
            news = by_pref_new.get(pref, [])
            if len(olds) == 1 and len(news) == 1:
                old, new = olds[0], news[0]
                link[old] = (new, f"inferred one-to-one: {old[0]} {old[1]} was the only county-level "
                             f"code of prefecture {pref}00 to end after {a}, {new[0]} {new[1]} the only one "
                             f"to begin in {b}")
    for old_code, (new_code, why) in MERGERS.items():
        olds = [k for k in periods if k[0] == old_code and k not in link]
        news = [k for k in periods if k[0] == new_code and periods[k]["last"] == order[-1]]
        for old in olds:
            link[old] = (news[0], "merger: " + why)
    del vpos

    # a period that ends unjoined while its code lives on under another name is another
    # place (a reused code): it gets its own key, code_lastyear
    later_periods = defaultdict(list)
    for key, rec in periods.items():
        later_periods[key[0]].append(rec["last"])

    def own_key(key: tuple[str, str]) -> str:
        rec = periods[key]
        if rec["last"] != newest and any(last > rec["last"] for last in later_periods[key[0]]):
            return f"{key[0]}_{rec['last'][:4]}"
        return key[0]

    def continuing(key: tuple[str, str]) -> str:
        seen = set()
        while key in link and key not in seen:
            seen.add(key)
            key = link[key][0]
        return own_key(key)

    cc = OpenCC("s2t")
    rows = []
    for (code, name), rec in sorted(periods.items(), key=lambda kv: (kv[0][0], kv[1]["first"])):
        lvl = level_of(code, name)
        short = short_name(name)
        trad = cc.convert(name)
        key = (code, name)
        change = link[key][1] if key in link else ""
        rows.append({
            "code": code,
            "name": name,
            "level": lvl,
            "parent_code": rec["parent_code"],
            "valid_from": rec["first"],
            "valid_to": "" if rec["last"] == newest else rec["last"],
            "place_code": continuing(key),
            "change": change,
            "short": short if short != name else "",
            **names(name, short, lvl),
            "name_trad": trad if trad != name else "",
        })
    return [{k: r[k] for k in COLUMNS} for r in rows]


COLUMNS = ["code", "name", "level", "parent_code", "valid_from", "valid_to", "place_code", "change", "short",
           "pinyin", "name_en", "name_trad", "pinyin_alt"]


def names(name: str, short: str, lvl: str) -> dict[str, str]:
    """``pinyin`` (tone marks), ``name_en`` and ``pinyin_alt`` of one name."""
    pinyin = "".join(readings(name, tones=True))
    plain_short = english(short)
    kind = {"district": " District", "county_city": " City", "county": " County"}.get(lvl, "")
    if lvl == "prefecture_city" and re.search("(自治州|地区|盟)$", name):
        kind = {"自治州": " Autonomous Prefecture", "地区": " Prefecture", "盟": " League"}[
            re.search("(自治州|地区|盟)$", name)[1]]
    if name.endswith("旗"):
        kind = " Banner"
    return {
        "pinyin": pinyin[:1].upper() + pinyin[1:],
        "name_en": plain_short + kind,
        "pinyin_alt": "|".join(alternate_readings(short, normalise_ascii(plain_short))),
    }


def refresh_names(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Recompute the romanised names of built rows (after a change to the readings)."""
    return [{**r, **names(r["name"], r["short"] or r["name"], r["level"])} for r in rows]


#: Place-name readings that pypinyin's everyday readings get wrong, with their standard
#: Hanyu Pinyin (the romanisation of place names under GB/T 17693 and the MCA's lists),
#: keyed by the name without its suffix (or the whole name when it is one character
#: plus 县). Checked against the places' standard romanisations in tests/test_places.py.
PLACE_READINGS = {
    "繁峙": "fán shì", "荥经": "yíng jīng", "荥阳": "xíng yáng", "珲春": "hún chūn",
    "中牟": "zhōng móu", "牟平": "mù píng", "六合": "lù hé", "六安": "lù ān", "单县": "shàn xiàn",
    "洪洞": "hóng tóng", "浚县": "xùn xiàn", "涡阳": "guō yáng", "筠连": "jūn lián",
    "蚌山": "bèng shān", "蚌埠": "bèng bù", "称多": "chèn duō", "长子": "zhǎng zǐ",
    "厦门": "xià mén", "重庆": "chóng qìng", "番禺": "pān yú", "铅山": "yán shān",
    "乐亭": "lào tíng", "乐清": "yuè qīng", "莘县": "shēn xiàn", "蔚县": "yù xiàn",
    "尉犁": "yù lí", "黄陂": "huáng pí", "枞阳": "zōng yáng", "柞水": "zhà shuǐ",
    "大埔": "dà bù", "莎车": "shā chē", "犍为": "qián wéi", "歙县": "shè xiàn",
    "临朐": "lín qú", "泌阳": "bì yáng", "盱眙": "xū yí", "东阿": "dōng ē", "阿城": "ā chéng",
    "沈阳": "shěn yáng", "沈丘": "shěn qiū", "台州": "tāi zhōu", "天台": "tiān tāi",
}
#: Characters whose place-name reading is the same wherever they occur in a name
#: (长 cháng: 长沙, 长治, 长宁, 天长; 都 dū: 成都, 郫都, 都匀; 朝 cháo: 朝阳, 朝天);
#: exceptions are in PLACE_READINGS (长子 Zhǎngzǐ).
CHAR_READINGS = {"长": "cháng", "都": "dū", "朝": "cháo"}


def readings(name: str, *, tones: bool = False) -> list[str]:
    """Syllables of a place name, place readings first (长治 -> chang, zhi).

    pypinyin reads each name as a phrase; a known place reading (:data:`PLACE_READINGS`,
    matched on the longest name inside ``name``) and the fixed characters of
    :data:`CHAR_READINGS` override it. Without tones, ü stays ü (吕梁 -> lü, liang).
    """
    from pypinyin import Style, lazy_pinyin

    syll = lazy_pinyin(name, style=Style.TONE)
    if len(syll) != len(name):  # a character pypinyin passes through whole: keep its phrase reading
        out = syll
    else:
        out = list(syll)
        for i, ch in enumerate(name):
            if ch in CHAR_READINGS and name[i : i + 2] not in PLACE_READINGS:
                out[i] = CHAR_READINGS[ch]
        for key in sorted(PLACE_READINGS, key=len, reverse=True):
            start = name.find(key)
            if start >= 0:
                out[start : start + len(key)] = PLACE_READINGS[key].split()
                break
    return out if tones else [toneless(x) for x in out]


def toneless(syllable: str) -> str:
    """``'lǚ'`` -> ``'lü'``, ``'cháng'`` -> ``'chang'`` (tone marks off, ü kept)."""
    import unicodedata

    out = []
    for ch in unicodedata.normalize("NFD", syllable):
        if unicodedata.combining(ch) and ch != "\u0308":
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def english(short: str) -> str:
    """The English form of a short name: toneless pinyin run together, capitalised, with an
    apostrophe before a syllable that starts with a, o or e (六安 -> Lu'an, 西安 -> Xi'an)."""
    syll = readings(short)
    if not syll:
        return ""
    text = syll[0]
    for x in syll[1:]:
        text += ("'" if x[:1] in "aoeāáǎàōóǒòēéěè" else "") + x
    return text[:1].upper() + text[1:]


def normalise_ascii(text: str) -> str:
    """``"Lu'an"`` -> ``'luan'``, ``'Lüliang'`` -> ``'luliang'`` (as ``normalise_name``)."""
    import unicodedata

    t = unicodedata.normalize("NFD", text.casefold())
    return "".join(ch for ch in t if ch.isascii() and ch.isalpha())


def alternate_readings(short: str, first: str, limit: int = 8) -> list[str]:
    """Other toneless readings of a short name with polyphonic characters (长宁: changning)."""
    import itertools

    from pypinyin import Style, pinyin

    options = pinyin(short, style=Style.NORMAL, heteronym=True)
    out = []
    if math.prod(len(o) for o in options) <= limit:
        out = ["".join(c) for c in itertools.product(*options)]
    # pypinyin's everyday reading when the place reading differs (长治: zhangzhi), and the
    # keyboard spelling of ü (吕梁: lvliang)
    out.append("".join(x.replace("ü", "v") for x in readings(short)))
    out = [x.replace("ü", "v") for x in out]
    return [x for x in dict.fromkeys(out) if x != first and x.isascii()]


def lookup_keys(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """Normalised lookup keys -> place codes, so that loading needs no normalisation.

    Tables as in :mod:`govstats.places`: ``exact`` (full names, pinyin, English, code,
    traditional name of places listed today), ``core`` (the same without an
    administrative suffix, and short names), ``historic`` (every former name, short
    name and traditional name; each code for the place it named last) and ``fuzzy``
    (for suggestions; not written: suggestions search ``exact`` and ``historic``).
    """
    from govstats.places import _core, normalise_name

    tables: dict[str, dict[str, set[str]]] = {t: defaultdict(set) for t in ("exact", "core", "historic", "fuzzy")}

    def add(table: str, key: str, pc: str) -> None:
        if key:
            tables[table][key].add(pc)

    own: dict[str, dict[str, str]] = {}
    for r in rows:
        if r["code"] == r["place_code"][:6]:
            cur = own.get(r["place_code"])
            if cur is None or (r["valid_to"] or "9999") >= (cur["valid_to"] or "9999"):
                own[r["place_code"]] = r
    for pc, r in own.items():
        if r["valid_to"]:
            continue
        forms = [r["name"], r["pinyin"], r["name_en"], r["code"], r["name_trad"]]
        short = r["short"] or ""
        if r["name"].endswith("自治州") and short:
            forms.append(short + "州")
        if r["name"].endswith(("自治县", "自治旗")) and short:
            forms.append(short + r["name"][-1])
        for f in forms:
            n = normalise_name(f)
            add("exact", n, pc)
            add("core", _core(n), pc)
            add("fuzzy", n, pc)
        for f in (short, *r["pinyin_alt"].split("|")):
            add("core", normalise_name(f), pc)
            add("fuzzy", normalise_name(f), pc)
        for f in (r["name"], r["pinyin"], r["name_en"]):
            n = normalise_name(f)
            add("core", n, pc)
            add("fuzzy", _core(n), pc)
    latest_of_code: dict[str, tuple[str, str]] = {}
    for r in rows:
        pc = r["place_code"]
        for f in (r["name"], r["name_trad"], r["short"], *r["pinyin_alt"].split("|")):
            n = normalise_name(f)
            add("historic", n, pc)
            add("historic", _core(n), pc)
            add("fuzzy", n, pc)
        stamp = r["valid_to"] or "9999"
        if r["code"] not in latest_of_code or stamp > latest_of_code[r["code"]][0]:
            latest_of_code[r["code"]] = (stamp, pc)
    for code, (_, pc) in latest_of_code.items():
        add("historic", code, pc)
    # suggestions search the exact and historic keys; the fuzzy table is not shipped
    return [
        {"table": t, "key": k, "codes": "|".join(sorted(v))}
        for t, table in tables.items()
        if t != "fuzzy"
        for k, v in sorted(table.items())
    ]


def write_gz(path: Path, rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    # mtime=0: the same input gives byte-identical output
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(buf.getvalue().encode("utf-8"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path, nargs="?", help="git directory of a cn/GB2260 snapshot")
    ap.add_argument("--commit", default=DEFAULT_COMMIT)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--refresh-names", action="store_true",
                    help="recompute pinyin/English names of the existing --out file (no snapshot needed)")
    args = ap.parse_args(argv)
    if args.refresh_names:
        with gzip.open(args.out, "rt", encoding="utf-8") as fh:
            rows = refresh_names(list(csv.DictReader(fh)))
    elif args.repo is None:
        ap.error("a cn/GB2260 snapshot is needed (or --refresh-names)")
    else:
        rows = build(args.repo, args.commit)
    write_gz(args.out, rows)
    keys = lookup_keys(rows)
    write_gz(args.out.with_name(KEYS_OUT.name), keys)
    print(f"{args.out}: {len(rows)} rows, {len(keys)} lookup keys, from cn/GB2260 @ {args.commit}")


if __name__ == "__main__":
    main()
