"""Write the two EXAMPLE yearbook extracts in this folder (invented numbers, NOT statistics).

示例数据 EXAMPLE: every number below is made up by a formula to exercise
``govstats.ingest``; none is a real statistic of any place.

Run from the repository root::

    .venv/bin/python data/examples/make_yearbook_examples.py

Both files hold the same table (5 places x 4 indicators x 2016-2020, one cell left
blank on purpose), so reading either gives the same tidy data:

* ``yearbook_example_wide.csv``: GBK-encoded, wide (``地区,指标,2016,...,2020``), a
  ``#`` comment row with the EXAMPLE marker above the header;
* ``yearbook_example_long.xlsx``: long (``地区,年份`` + one column per indicator) on
  sheet ``数据 data`` (comment row with the marker on top), and a note sheet
  ``说明 README`` saying the same in words.

Places are written in different ways on purpose: Chinese names, pinyin and GB/T 2260
codes (330800 is Quzhou).
"""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
YEARS = [2016, 2017, 2018, 2019, 2020]
MARKER = "# 示例数据 EXAMPLE: 虚构数据，仅供测试，并非真实统计 / invented for testing; NOT real statistics"

# place id -> (spelling in the wide CSV, spelling in the long XLSX)
PLACES = {
    "hengyang": ("衡阳市", "衡阳"),
    "shaoyang": ("Shaoyang", "邵阳市"),
    "quzhou": ("330800", 330800),
    "dongcheng": ("东城区", "Dongcheng"),
    "futian": ("futian", "福田区"),
}
# invented starting levels per place: police, auxiliaries, satisfaction %, population (万人)
LEVELS = {
    "hengyang": (5000, 7000, 92.0, 600.0),
    "shaoyang": (4500, 8000, 91.0, 640.0),
    "quzhou": (2000, 3000, 95.0, 220.0),
    "dongcheng": (3000, 2500, 96.0, 75.0),
    "futian": (4000, 6000, 94.0, 150.0),
}
HEADERS = ["公安民警数（人）", "辅警人数(人)", "群众安全感满意率（%）", "常住人口（万人）"]
BLANK = ("dongcheng", "辅警人数(人)", 2016)  # left empty: counted as missing


def cell(place: str, header: str, year: int) -> str:
    """The invented value of one cell, as text ('' for the blank one)."""
    if (place, header, year) == BLANK:
        return ""
    k = year - 2016
    police, aux, satisfaction, population = LEVELS[place]
    if header.startswith("公安民警数"):
        return str(police + 25 * k)
    if header.startswith("辅警人数"):
        return str(aux + 110 * k)
    if header.startswith("群众安全感满意率"):
        return f"{satisfaction + 0.4 * k:.1f}"
    return f"{population + 1.5 * k:.1f}"


def write_wide_csv(path: Path) -> None:
    lines = [MARKER, ",".join(["地区", "指标", *map(str, YEARS)])]
    for place, (written, _) in PLACES.items():
        for header in HEADERS:
            lines.append(",".join([written, header, *(cell(place, header, y) for y in YEARS)]))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def write_long_xlsx(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "数据 data"
    ws.append([MARKER])
    ws.append(["地区", "年份", *HEADERS])
    for place, (_, written) in PLACES.items():
        for year in YEARS:
            values = [cell(place, h, year) for h in HEADERS]
            ws.append([written, year, *(float(v) if "." in v else (int(v) if v else None) for v in values)])
    notes = wb.create_sheet("说明 README")
    notes.append(["示例数据 EXAMPLE"])
    notes.append(["本文件为虚构的示例数据，仅用于测试 govstats.ingest，并非真实统计数据。"])
    notes.append(["This file is EXAMPLE data invented for testing govstats.ingest; it is NOT real statistics."])
    wb.save(path)


if __name__ == "__main__":
    write_wide_csv(HERE / "yearbook_example_wide.csv")
    write_long_xlsx(HERE / "yearbook_example_long.xlsx")
    print("wrote", HERE / "yearbook_example_wide.csv", "and", HERE / "yearbook_example_long.xlsx")
