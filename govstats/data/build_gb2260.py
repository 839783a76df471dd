"""Build ``govstats/data/gb2260.csv.gz`` from a snapshot of the cn/GB2260 repository.

Usage (from the repository root)::

    python -m govstats.data.build_gb2260 /path/to/cn+GB2260/repo [--commit SHA]

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
  (pypinyin), ``name_en`` written from the toneless pinyin (prefectures and provinces
  bare, county-level units with County/District/City), ``name_trad`` in traditional
  characters (OpenCC ``s2t``), empty when equal to ``name``.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import re
import subprocess
from collections import defaultdict
from pathlib import Path

OUT = Path(__file__).with_name("gb2260.csv.gz")
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
    from pypinyin import Style, lazy_pinyin

    vintages = read_vintages(repo, commit)
    order = list(vintages)
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
    # codes: first and last vintage of each code
    first = {}
    last = {}
    for v in order:
        for code in vintages[v]:
            first.setdefault(code, v)
            last[code] = v
    newest = order[-1]
    succ: dict[str, tuple[str, str]] = {}
    for i in range(len(order) - 1):
        a, b = order[i], order[i + 1]
        ended = [c for c in vintages[a] if c not in vintages[b]]
        began = [c for c in vintages[b] if c not in vintages[a]]
        taken = set()
        for c in ended:  # (a) same province, level, short name
            na = vintages[a][c]
            hits = [
                d for d in began
                if d[:2] == c[:2] and tier(c) == tier(d)
                and short_name(vintages[b][d]) == short_name(na) and d not in taken
            ]
            if len(hits) == 1:
                succ[c] = (hits[0], f"renamed or re-coded: {c} {na} listed last in {a}, "
                           f"{hits[0]} {vintages[b][hits[0]]} first in {b}")
                taken.add(hits[0])
        by_pref_end = defaultdict(list)
        by_pref_new = defaultdict(list)
        for c in ended:
            if c not in succ and tier(c) == 2:
                by_pref_end[c[:4]].append(c)
        for d in began:
            if d not in taken and tier(d) == 2:
                by_pref_new[d[:4]].append(d)
        for p, cs in by_pref_end.items():
            ds = by_pref_new.get(p, [])
            if len(cs) == 1 and len(ds) == 1:
                c, d = cs[0], ds[0]
                succ[c] = (d, f"inferred one-to-one: {c} {vintages[a][c]} was the only county-level "
                           f"code of prefecture {p}00 to end after {a}, {d} {vintages[b][d]} the only one "
                           f"to begin in {b}")
    for old, (new, why) in MERGERS.items():
        succ[old] = (new, "merger: " + why)

    def continuing(code: str) -> str:
        seen = set()
        while code in succ and code not in seen and last.get(code) != newest:
            seen.add(code)
            code = succ[code][0]
        return code

    cc = OpenCC("s2t")
    rows = []
    for (code, name), rec in sorted(periods.items(), key=lambda kv: (kv[0][0], kv[1]["first"])):
        lvl = level_of(code, name)
        short = short_name(name)
        syll = lazy_pinyin(name, style=Style.TONE)
        pinyin = "".join(syll)
        plain_short = "".join(lazy_pinyin(short)).capitalize()
        kind = {"district": " District", "county_city": " City", "county": " County"}.get(lvl, "")
        if lvl == "prefecture_city" and re.search("(自治州|地区|盟)$", name):
            kind = {"自治州": " Autonomous Prefecture", "地区": " Prefecture", "盟": " League"}[
                re.search("(自治州|地区|盟)$", name)[1]]
        if name.endswith("旗"):
            kind = " Banner"
        trad = cc.convert(name)
        place_code = continuing(code) if rec["last"] != newest or code in succ else code
        ended_code = last[code] != newest
        change = succ[code][1] if ended_code and code in succ else ""
        rows.append({
            "code": code,
            "name": name,
            "level": lvl,
            "parent_code": rec["parent_code"],
            "valid_from": rec["first"],
            "valid_to": "" if rec["last"] == newest else rec["last"],
            "place_code": place_code if ended_code else code,
            "change": change,
            "short": short if short != name else "",
            "pinyin": pinyin[:1].upper() + pinyin[1:],
            "name_en": plain_short + kind,
            "name_trad": trad if trad != name else "",
        })
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("repo", type=Path, help="git directory of a cn/GB2260 snapshot")
    ap.add_argument("--commit", default=DEFAULT_COMMIT)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    rows = build(args.repo, args.commit)
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    # mtime=0: the same input gives byte-identical output
    with gzip.GzipFile(args.out, "wb", mtime=0) as fh:
        fh.write(buf.getvalue().encode("utf-8"))
    print(f"{args.out}: {len(rows)} rows from cn/GB2260 @ {args.commit}")


if __name__ == "__main__":
    main()
