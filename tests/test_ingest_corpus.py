"""A table-driven corpus of real-shape yearbook files (issue 10, items 1-5).

Every case is one small file in a shape Chinese statistical yearbooks print, written here
with invented numbers (EXAMPLE, 示例数据: not statistics), and the result it must give:
either the tidy cells ``(place_id, indicator, year, value)`` with the cells rejected as
missing or implausible ``(row, column, raw value, reason fragment)``, or the errors
``(sheet, row, column, raw value)``, every one of which must also name the file.

References for the expectations: the tables themselves (a known truth: the value written
is the value expected, times the header's multiplier); place ids from the GB/T 2260 code
lists (cn/GB2260 ``mca/202112.tsv``; ``gb`` + code for places outside the five, e.g.
430100 长沙市, 430102 芙蓉区, 430121 长沙县, 430181 浏阳市, 430212 渌口区 (formerly 株洲县
430221), 433100 湘西土家族苗族自治州, 110105 朝阳区 (北京), 220104 朝阳区 (长春)); the
five places' ids from ``data/raw/places.csv``; the codebook's units and bounds
(``data/raw/codebook.csv``, ``govstats/data/yearbook_indicators.csv``).

Cases per item of the issue: ``reg`` 1 (places), ``shp`` 2 (table shapes, XLSX merged
cells and two-row headers), ``qty`` 3 (quantities), ``pla`` 4 (plausibility), ``enc`` 5
(encoding and row shape). ``CORPUS`` has 55 cases (17 reg, 16 shp, 9 qty, 7 pla, 6 enc).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from govstats.errors import DataValidationError
from govstats.ingest import read_extract

POL = "police_officers_count"
AUX = "auxiliary_police_count"
SAT = "security_satisfaction_pct"
POP = "population_resident"
MED = "mediators_count"
COM = "mediation_committees_count"
NOTE = ["# 示例数据 EXAMPLE: 虚构数据，仅供测试 / invented numbers, not statistics"]


@dataclass
class Case:
    id: str
    rows: list[list] | dict[str, list[list]]  # CSV rows, or XLSX sheet -> rows
    tidy: list[tuple] | None = None  # (place_id, indicator, year, value)
    rejected: list[tuple] = field(default_factory=list)  # (row, column, raw, reason fragment)
    errors: list[tuple] | None = None  # (sheet or None, row, column, raw value)
    name: str = "extract.csv"
    encoding: str = "utf-8"
    merges: dict[str, list[str]] = field(default_factory=dict)
    kwargs: dict = field(default_factory=dict)
    mangle: object = None  # bytes -> bytes, for damaged files
    notes: tuple[str, ...] = ()  # fragments the notes must contain
    warnings: tuple[str, ...] = ()  # fragments the summary's warnings must contain
    says: tuple[str, ...] = ()  # fragments the error message must contain


def _csv_bytes(rows, encoding):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode(encoding)


def write_case(case: Case, directory: Path) -> Path:
    path = directory / case.name
    if isinstance(case.rows, dict):
        wb = openpyxl.Workbook()
        wb.remove(wb.active)
        for sheet, rows in case.rows.items():
            ws = wb.create_sheet(sheet)
            for row in rows:
                ws.append(row)
            for rng in case.merges.get(sheet, []):
                ws.merge_cells(rng)
        wb.save(path)
        return path
    data = _csv_bytes(case.rows, case.encoding)
    path.write_bytes(case.mangle(data) if case.mangle else data)
    return path


HUNAN = {"长沙市": "gb430100", "株洲市": "gb430200", "湘潭市": "gb430300", "衡阳市": "hengyang",
         "邵阳市": "shaoyang", "岳阳市": "gb430600", "常德市": "gb430700", "张家界市": "gb430800",
         "益阳市": "gb430900", "郴州市": "gb431000", "永州市": "gb431100", "怀化市": "gb431200",
         "娄底市": "gb431300", "湘西土家族苗族自治州": "gb433100"}

CORPUS: list[Case] = [
    # ------------------------------------------------------------------ 1: places
    Case("reg01-14-prefectures-title-and-footnotes",
         [["表3-12 各市州公安民警数（EXAMPLE 示例数据）", "", ""], ["单位：人", "", ""], ["地区", "2020", "2021"],
          *[[p, str(100 + i), str(200 + i)] for i, p in enumerate(HUNAN)],
          ["注：示例数据。", "", ""], ["资料来源：EXAMPLE", "", ""]],
         tidy=[(pid, POL, y, float(base + i)) for i, pid in enumerate(HUNAN.values())
               for y, base in (("2020", 100), ("2021", 200))],
         name="公安民警数.csv", encoding="gbk", notes=("title row", "footnote")),
    Case("reg02-short-names",
         [["地区", "年份", "公安民警数（人）"], ["长沙", "2020", "8000"], ["株洲", "2020", "4000"]],
         tidy=[("gb430100", POL, "2020", 8000.0), ("gb430200", POL, "2020", 4000.0)]),
    Case("reg03-traditional-characters",
         [["地區", "年份", "公安民警數（人）"], ["衡陽市", "2020", "5210"], ["長沙市", "2020", "8000"]],
         tidy=[("hengyang", POL, "2020", 5210.0), ("gb430100", POL, "2020", 8000.0)]),
    Case("reg04-pinyin-with-and-without-tones-and-english",
         [["place", "year", "公安民警数（人）"], ["Chángshā", "2020", "8000"], ["Zhuzhou", "2020", "4000"],
          ["Hengyang City", "2020", "5210"]],
         tidy=[("gb430100", POL, "2020", 8000.0), ("gb430200", POL, "2020", 4000.0),
               ("hengyang", POL, "2020", 5210.0)]),
    Case("reg05-county-level-units-outside-the-five",
         [["区县", "年份", "辅警人数（人）"], ["芙蓉区", "2021", "300"], ["长沙县", "2021", "310"],
          ["浏阳市", "2021", "320"]],
         tidy=[("gb430102", AUX, "2021", 300.0), ("gb430121", AUX, "2021", 310.0), ("gb430181", AUX, "2021", 320.0)]),
    Case("reg06-shared-district-name-with-a-parent-column",
         [["城市", "区县", "年份", "常住人口（万人）"], ["北京市", "朝阳区", "2020", "345.2"],
          ["长春市", "朝阳区", "2020", "80.1"]],
         tidy=[("gb110105", POP, "2020", 3_452_000.0), ("gb220104", POP, "2020", 801_000.0)]),
    Case("reg07-shared-district-name-refused-without-a-parent",
         [["区县", "年份", "常住人口（万人）"], ["朝阳区", "2020", "345.2"]],
         errors=[(None, 2, "区县", "朝阳区")], says=("110105", "220104", "北京市", "长春市")),
    Case("reg08-shared-district-name-with-within",
         [["区县", "年份", "常住人口（万人）"], ["朝阳区", "2020", "80.1"]],
         kwargs={"place_within": "长春市"}, tidy=[("gb220104", POP, "2020", 801_000.0)]),
    Case("reg09-province-city-county-in-three-columns",
         [["省份", "城市", "区县", "年份", "辅警人数（人）"], ["湖南省", "长沙市", "芙蓉区", "2021", "300"],
          ["吉林省", "长春市", "朝阳区", "2021", "200"]],
         tidy=[("gb430102", AUX, "2021", 300.0), ("gb220104", AUX, "2021", 200.0)]),
    Case("reg10-code-column-decides",
         [["行政区划代码", "地区", "年份", "公安民警数（人）"], ["110105", "朝阳区", "2020", "900"],
          ["220104", "朝阳区", "2020", "400"]],
         tidy=[("gb110105", POL, "2020", 900.0), ("gb220104", POL, "2020", 400.0)]),
    Case("reg11-code-and-name-disagree",
         [["行政区划代码", "地区", "年份", "公安民警数（人）"], ["430400", "邵阳", "2020", "5000"]],
         errors=[(None, 2, "地区", "邵阳")]),
    Case("reg12-county-renamed-mid-series",
         [["地区", "年份", "公安民警数（人）"], ["邵东县", "2018", "700"], ["邵东市", "2020", "720"]],
         tidy=[("shaoyang.shaodong", POL, "2018", 700.0), ("shaoyang.shaodong", POL, "2020", 720.0)]),
    Case("reg13-county-became-a-district",
         [["地区", "年份", "公安民警数（人）"], ["株洲县", "2017", "300"], ["渌口区", "2019", "310"],
          ["430221", "2016", "290"]],
         tidy=[("gb430212", POL, "2017", 300.0), ("gb430212", POL, "2019", 310.0), ("gb430212", POL, "2016", 290.0)]),
    Case("reg14-merged-district-2010",
         [["地区", "年份", "公安民警数（人）"], ["崇文区", "2008", "1000"], ["东城区", "2012", "3000"]],
         tidy=[("dongcheng", POL, "2008", 1000.0), ("dongcheng", POL, "2012", 3000.0)]),
    Case("reg15-autonomous-prefecture-short-form",
         [["地区", "年份", "公安民警数（人）"], ["湘西州", "2020", "2500"]],
         tidy=[("gb433100", POL, "2020", 2500.0)]),
    Case("reg16-unknown-place",
         [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "5000"], ["示例市", "2020", "10"]],
         errors=[(None, 3, "地区", "示例市")]),
    Case("reg17-two-unknown-qualifiers-and-places-collected",
         [["城市", "区县", "年份", "公安民警数（人）"], ["示例市", "朝阳区", "2020", "5"],
          ["长沙市", "不存在区", "2020", "6"]],
         errors=[(None, 2, "城市", "示例市"), (None, 3, "区县", "不存在区")]),
    # ------------------------------------------------------------------ 2: table shapes
    Case("shp01-common-headers-any-bracket-and-unit",
         [["地区", "年份", "人民调解员（人）", "人民调解委员会(个)", "公共安全支出（万元）", "群众安全感（%）"],
          ["衡阳市", "2020", "9000", "3100", "15.2", "96.5"]],
         tidy=[("hengyang", MED, "2020", 9000.0), ("hengyang", COM, "2020", 3100.0),
               ("hengyang", "public_security_spending", "2020", 152_000.0), ("hengyang", SAT, "2020", 96.5)]),
    Case("shp02-fully-long-with-unit-column",
         [["地区", "指标", "年份", "数值", "单位"], ["衡阳市", "常住人口", "2020", "664.5", "万人"],
          ["衡阳市", "公安民警数", "2020", "5210", "人"]],
         tidy=[("hengyang", POP, "2020", 6_645_000.0), ("hengyang", POL, "2020", 5210.0)]),
    Case("shp03-wide-with-indicator-column",
         [NOTE, ["地区", "指标", "2019", "2020"], ["衡阳市", "公安民警数（人）", "5100", "5210"],
          ["衡阳市", "辅警人数(人)", "7000", "7100"]],
         tidy=[("hengyang", POL, "2019", 5100.0), ("hengyang", POL, "2020", 5210.0),
               ("hengyang", AUX, "2019", 7000.0), ("hengyang", AUX, "2020", 7100.0)], notes=("comment row",)),
    Case("shp04-years-written-with-nian-and-a-period",
         [["地区", "2016年", "2006-2010"], ["衡阳市", "5000", "4800"]],
         name="公安民警数.csv",
         tidy=[("hengyang", POL, "2016", 5000.0), ("hengyang", POL, "2006-2010", 4800.0)]),
    Case("shp05-wan-ren-header-scales-values",
         [["地区", "年份", "常住人口（万人）", "户籍人口(万人)"], ["衡阳市", "2020", "664.5", "800"]],
         tidy=[("hengyang", POP, "2020", 6_645_000.0), ("hengyang", "population_registered", "2020", 8_000_000.0)]),
    Case("shp06-tab-separated-with-cases-headers",
         [["地区\t年份\t刑事案件立案数（起）\t治安案件查处数(起)"], ["衡阳市\t2020\t12000\t30000"]],
         tidy=[("hengyang", "criminal_cases_filed_count", "2020", 12000.0),
               ("hengyang", "public_order_cases_count", "2020", 30000.0)]),
    Case("shp07-xlsx-two-row-header-merged-indicator-over-years",
         {"表1": [["地区", "公安民警数（人）", None, "辅警人数（人）", None], [None, 2019, 2020, 2019, 2020],
                  ["衡阳市", 5100, 5210, 7000, 7100], ["邵阳市", 4500, 4600, 8000, 8100]]},
         merges={"表1": ["A1:A2", "B1:C1", "D1:E1"]}, name="x.xlsx",
         tidy=[("hengyang", POL, "2019", 5100.0), ("hengyang", POL, "2020", 5210.0),
               ("hengyang", AUX, "2019", 7000.0), ("hengyang", AUX, "2020", 7100.0),
               ("shaoyang", POL, "2019", 4500.0), ("shaoyang", POL, "2020", 4600.0),
               ("shaoyang", AUX, "2019", 8000.0), ("shaoyang", AUX, "2020", 8100.0)],
         notes=("two-row header", "merged cell")),
    Case("shp08-xlsx-two-row-header-with-merged-title-and-footnote",
         {"表3-12": [["表3-12 公共安全（EXAMPLE 示例数据）", None, None, None], ["地区", "群众安全感（%）", None, None],
                     ["地区", "2019年", "2020年", "2021年"], ["长沙市", 95.1, 95.5, 96.0],
                     ["注：示例数据。", None, None, None]]},
         merges={"表3-12": ["A1:D1", "B2:D2", "A5:D5"]}, name="x.xlsx",
         tidy=[("gb430100", SAT, "2019", 95.1), ("gb430100", SAT, "2020", 95.5), ("gb430100", SAT, "2021", 96.0)],
         notes=("title row", "footnote", "two-row header")),
    Case("shp09-csv-two-row-header-unmerged-export",
         [["地区", "公安民警数（人）", "", "群众安全感（%）", ""], ["", "2019", "2020", "2019", "2020"],
          ["衡阳市", "5100", "5210", "95.0", "95.5"]],
         tidy=[("hengyang", POL, "2019", 5100.0), ("hengyang", POL, "2020", 5210.0),
               ("hengyang", SAT, "2019", 95.0), ("hengyang", SAT, "2020", 95.5)]),
    Case("shp10-xlsx-merged-place-over-its-years-long",
         {"数据": [["地区", "年份", "公安民警数（人）"], ["衡阳市", 2019, 5100], [None, 2020, 5210],
                  ["邵阳市", 2019, 4500], [None, 2020, 4600]]},
         merges={"数据": ["A2:A3", "A4:A5"]}, name="x.xlsx",
         tidy=[("hengyang", POL, "2019", 5100.0), ("hengyang", POL, "2020", 5210.0),
               ("shaoyang", POL, "2019", 4500.0), ("shaoyang", POL, "2020", 4600.0)]),
    Case("shp11-xlsx-one-sheet-per-indicator-and-a-note-sheet",
         {"公安民警数（人）": [["地区", 2019, 2020], ["衡阳市", 5100, 5210]],
          "辅警人数（人）": [["地区", 2019, 2020], ["衡阳市", 7000, 7100]],
          "说明 README": [["示例数据 EXAMPLE"]]}, name="x.xlsx",
         tidy=[("hengyang", POL, "2019", 5100.0), ("hengyang", POL, "2020", 5210.0),
               ("hengyang", AUX, "2019", 7000.0), ("hengyang", AUX, "2020", 7100.0)], notes=("note sheet",)),
    Case("shp12-unknown-header-names-the-closest-indicator",
         [["地区", "年份", "巡逻民警（人）"], ["衡阳市", "2020", "5000"]],
         errors=[(None, 1, "巡逻民警（人）", "巡逻民警（人）")], says=("police_officers_count", "indicator_map")),
    Case("shp13-indicator-map-fixes-the-header",
         [["地区", "年份", "巡逻民警（人）"], ["衡阳市", "2020", "5000"]],
         kwargs={"indicator_map": {"巡逻民警": POL}}, tidy=[("hengyang", POL, "2020", 5000.0)]),
    Case("shp14-xlsx-two-row-header-unknown-indicator",
         {"表1": [["地区", "巡逻里程（公里）", None], [None, 2019, 2020], ["衡阳市", 10, 20]]},
         merges={"表1": ["A1:A2", "B1:C1"]}, name="x.xlsx",
         errors=[("表1", 1, "巡逻里程（公里）", "巡逻里程（公里）")]),
    Case("shp15-xlsx-two-row-header-bad-cell-named-by-indicator-and-year",
         {"表1": [["地区", "公安民警数（人）", None], [None, 2019, 2020], ["衡阳市", 5100, "52l0"]]},
         merges={"表1": ["A1:A2", "B1:C1"]}, name="x.xlsx",
         errors=[("表1", 3, "公安民警数（人） / 2020", "52l0")]),
    Case("shp16-footnote-above-more-data-is-flagged",
         [["地区", "2020", "2021"], ["衡阳市", "5100", "5210"], ["注：示例", "", ""], ["邵阳市", "4500", "4600"]],
         name="公安民警数.csv", errors=[(None, 4, None, ["邵阳市", "4500", "4600"])]),
    # ------------------------------------------------------------------ 3: quantities
    Case("qty01-excel-scientific-notation-read-exactly",
         [["地区", "年份", "公安民警数"], ["衡阳市", "2020", "5.21E+03"], ["邵阳市", "2020", "6.1e3"]],
         tidy=[("hengyang", POL, "2020", 5210.0), ("shaoyang", POL, "2020", 6100.0)]),
    Case("qty02-letter-l-for-one", [["地区", "年份", "公安民警数"], ["衡阳市", "2020", "52l0"]],
         errors=[(None, 2, "公安民警数", "52l0")]),
    Case("qty03-letter-o-for-zero", [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "88OO"]],
         errors=[(None, 2, "公安民警数（人）", "88OO")]),
    Case("qty04-letter-o-before-wan", [["地区", "年份", "公安民警数"], ["衡阳市", "2020", "3O万"]],
         errors=[(None, 2, "公安民警数", "3O万")]),
    Case("qty05-not-a-unit", [["地区", "年份", "公安民警数"], ["衡阳市", "2020", "十佳"]],
         errors=[(None, 2, "公安民警数", "十佳")]),
    Case("qty06-thousands-separator-wan-and-approximate",
         [["地区", "年份", "公安民警数（人）", "辅警人数（人）", "人民调解员（人）"],
          ["衡阳市", "2020", "1,056", "3.2万", "1600多"]],
         tidy=[("hengyang", POL, "2020", 1056.0), ("hengyang", AUX, "2020", 32000.0),
               ("hengyang", MED, "2020", 1600.0)]),
    Case("qty07-missing-marks-are-counted-not-dropped",
         [["地区", "2018", "2019", "2020", "2021"], ["衡阳市", "5000", "-", "…", ""]],
         name="公安民警数.csv", tidy=[("hengyang", POL, "2018", 5000.0)],
         rejected=[(2, "2019", "-", "not available"), (2, "2020", "…", "not available"), (2, "2021", "", "blank")]),
    Case("qty08-unit-in-cell-disagrees-with-header",
         [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "95%"]],
         errors=[(None, 2, "公安民警数（人）", "95%")]),
    Case("qty09-xlsx-number-and-scientific-text",
         {"数据": [["地区", "年份", "公安民警数（人）"], ["衡阳市", 2020, 5210.0], ["邵阳市", 2020, "6.1E+03"]]},
         name="x.xlsx", tidy=[("hengyang", POL, "2020", 5210.0), ("shaoyang", POL, "2020", 6100.0)]),
    # ------------------------------------------------------------------ 4: plausibility
    Case("pla01-negative-count-rejected",
         [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "-5,210"], ["邵阳市", "2020", "6100"]],
         tidy=[("shaoyang", POL, "2020", 6100.0)], rejected=[(2, "公安民警数（人）", "-5,210", "negative")]),
    Case("pla02-percentage-above-100-rejected",
         [["地区", "年份", "群众安全感（%）"], ["衡阳市", "2020", "196.1"], ["邵阳市", "2020", "96.1"]],
         tidy=[("shaoyang", SAT, "2020", 96.1)], rejected=[(2, "群众安全感（%）", "196.1", "maximum 100")]),
    Case("pla03-fractional-count-rejected",
         [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "3000.5"]],
         tidy=[], rejected=[(2, "公安民警数（人）", "3000.5", "not a whole number")]),
    Case("pla04-order-of-magnitude-jump-is-a-warning-not-a-drop",
         [["地区", "2019", "2020", "2021"], ["衡阳市", "5100", "51000", "5200"]],
         name="公安民警数.csv",
         tidy=[("hengyang", POL, "2019", 5100.0), ("hengyang", POL, "2020", 51000.0), ("hengyang", POL, "2021", 5200.0)],
         warnings=("hengyang",)),
    Case("pla05-user-codebook-bounds",
         [["地区", "年份", "巡逻车辆（辆）"], ["衡阳市", "2020", "120"], ["邵阳市", "2020", "900"]],
         kwargs={"codebook": "CODEBOOK"}, tidy=[("hengyang", "patrol_cars_count", "2020", 120.0)],
         rejected=[(3, "巡逻车辆（辆）", "900", "maximum 500")]),
    Case("pla06-year-outside-the-window",
         [["地区", "年份", "公安民警数（人）"], ["衡阳市", "1850", "5000"]],
         errors=[(None, 2, "年份", "1850")]),
    Case("pla07-duplicate-key-names-both-cells",
         [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "5000"], ["衡阳", "2020", "5001"]],
         errors=[(None, 3, "公安民警数（人）", "5001")], says=("row 2",)),
    # ------------------------------------------------------------------ 5: encoding and row shape
    Case("enc01-gbk", [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "5210"]], encoding="gbk",
         tidy=[("hengyang", POL, "2020", 5210.0)]),
    Case("enc02-utf8-with-bom", [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "5210"]],
         encoding="utf-8-sig", tidy=[("hengyang", POL, "2020", 5210.0)]),
    Case("enc03-gb18030-character-outside-gbk",
         [["地区", "年份", "公安民警数（人）", "备注"], ["衡阳市", "2020", "5210", "示例𠀀"]],
         encoding="gb18030", tidy=[("hengyang", POL, "2020", 5210.0)]),
    Case("enc04-gbk-read-as-latin1-is-mojibake", [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2020", "5210"]],
         encoding="gbk", mangle=lambda b: b.decode("latin-1").encode("utf-8"), errors=[(None, None, None, None)],
         says=("encoding problem (mojibake)", "latin-1")),
    Case("enc05-short-and-long-rows",
         [["地区", "年份", "公安民警数（人）", "辅警人数（人）"], ["衡阳市", "2020", "5000", "3000"],
          ["邵阳市", "2020", "6100"], ["衢州市", "2020", "1", "2", "3"]],
         errors=[(None, 3, None, ["邵阳市", "2020", "6100"]), (None, 4, None, ["衢州市", "2020", "1", "2", "3"])],
         says=("malformed row", "short, ragged row", "more cells than headers")),
    Case("enc06-empty-file", [], errors=[(None, None, None, None)], says=("empty",)),
]


def test_corpus_is_at_least_forty_cases_covering_every_item():
    assert len(CORPUS) >= 40
    assert len({c.id for c in CORPUS}) == len(CORPUS)
    assert {c.id[:3] for c in CORPUS} == {"reg", "shp", "qty", "pla", "enc"}


@pytest.mark.parametrize("case", CORPUS, ids=[c.id for c in CORPUS])
def test_corpus_case(case: Case, tmp_path):
    path = write_case(case, tmp_path)
    kwargs = dict(case.kwargs)
    if kwargs.get("codebook") == "CODEBOOK":
        cb = tmp_path / "my_codebook.csv"
        cb.write_text("indicator,name_zh,unit,min,max\npatrol_cars_count,巡逻车辆数,count,0,500\n", encoding="utf-8")
        kwargs["codebook"] = cb
    if case.errors is not None:
        with pytest.raises(DataValidationError) as exc:
            read_extract(path, **kwargs)
        got = exc.value.problems
        for fragment in case.says:
            assert fragment in str(exc.value), str(exc.value)
        assert all(p.file is not None and case.name in p.file for p in got), [p.file for p in got]
        if case.errors == [(None, None, None, None)]:
            assert len(got) == 1
            return
        found = (
            ((p.file.split("sheet ")[-1].strip("'") if ", sheet " in p.file else None), p.row, p.column, p.value)
            for p in got
        )
        found = list(found)
        assert sorted(found, key=str) == sorted(case.errors, key=str), found
        return
    res = read_extract(path, **kwargs)
    got = sorted(zip(res.data["place_id"], res.data["indicator"], res.data["year"], res.data["value"], strict=True))
    want = sorted(case.tidy)
    assert [g[:3] for g in got] == [w[:3] for w in want]
    assert [g[3] for g in got] == pytest.approx([w[3] for w in want], rel=1e-12)
    acc = res.accounting
    assert acc.rows_in == acc.rows_kept + acc.rows_rejected
    rej = acc.rejected
    assert acc.rows_kept == len(case.tidy) and acc.rows_rejected == len(case.rejected)
    got_rej = sorted(zip(rej["source_row"].astype(int), rej["source_column"], rej["quantity"], rej["reason"], strict=True))
    for (row, column, raw, why), (grow, gcol, graw, greason) in zip(sorted(case.rejected), got_rej, strict=True):
        assert (row, column, raw) == (grow, gcol, graw) and why in greason, (grow, gcol, graw, greason)
    for fragment in case.notes:
        assert any(fragment in n for n in res.notes), res.notes
    for fragment in case.warnings:
        assert any(fragment in w for w in res.warnings), res.warnings


# property: corrupt one cell of a valid two-row-header XLSX file -------------------
TWO_ROW = next(c for c in CORPUS if c.id.startswith("shp07"))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(2, 3), col=st.integers(1, 4),
       junk=st.text(alphabet="0123456789.,-eEl O佳万%约多+", min_size=1, max_size=6))
@example(row=2, col=1, junk="1-10")  # a range of counts: kept as its midpoint, 5.5, with its ends
def test_corrupting_one_cell_of_a_merged_header_xlsx(tmp_path, row, col, junk):
    from govstats.quantities import parse_quantity

    rows = [list(r) for r in TWO_ROW.rows["表1"]]
    rows[row][col] = junk
    path = write_case(Case("p", {"表1": rows}, merges=TWO_ROW.merges, name="p.xlsx"), tmp_path)
    indicator = "公安民警数（人）" if col <= 2 else "辅警人数（人）"
    column = f"{indicator} / {2019 + (col - 1) % 2}"
    try:
        res = read_extract(path)
    except DataValidationError as exc:
        assert [(p.file, p.row, p.column, p.value) for p in exc.problems] == [
            (f"{path}, sheet '表1'", row + 1, column, junk.strip())]
        return
    here = f"source_row == {row + 1} and source_column == '{column}'"
    kept, gone = res.accounting.kept.query(here), res.accounting.rejected.query(here)
    assert len(kept) + len(gone) == 1 and res.accounting.rows_in == 8
    if len(kept):  # kept: exactly what the text says, a non-negative count, whole when exact
        q = parse_quantity(junk)  # (a range such as 1-10 is kept as its midpoint, 5.5, with its ends)
        assert kept["value"].iloc[0] == q.value and q.value >= 0
        assert float(q.value).is_integer() or q.bound != "exact"
    elif gone["reason"].iloc[0].startswith(("blank", "not available")):  # a yearbook's "n/a" mark
        assert junk.strip() in {"", "-", "--", "...", "......"}
    else:  # implausible: readable, but outside the codebook's bounds (negative or not whole)
        q = parse_quantity(junk)
        assert q.value < 0 or not float(q.value).is_integer() or q.bound != "exact"
