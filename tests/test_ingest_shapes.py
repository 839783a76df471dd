"""The twelve yearbook-table shapes of issue 10, one small EXAMPLE table each.

Numbers are invented (EXAMPLE); the reference for each expected result is the table the
test writes itself (a known truth) and, for places, the GB/T 2260 code lists
(cn/GB2260 ``mca/202112.tsv``): 430100 长沙市, 430121 长沙县, 110105 朝阳区 (北京),
220104 朝阳区 (长春), 430521 邵东县 -> 430582 邵东市.
"""

from __future__ import annotations

import csv
import io

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govstats.errors import DataValidationError
from govstats.ingest import read_extract

HUNAN_14 = ["长沙市", "株洲市", "湘潭市", "衡阳市", "邵阳市", "岳阳市", "常德市", "张家界市", "益阳市",
            "郴州市", "永州市", "怀化市", "娄底市", "湘西土家族苗族自治州"]
HUNAN_CODES = ["430100", "430200", "430300", "430400", "430500", "430600", "430700", "430800", "430900",
               "431000", "431100", "431200", "431300", "433100"]


def write(path, rows, encoding="utf-8"):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def messages(exc) -> list[str]:
    return [p.message for p in exc.value.problems]


# 1 -------------------------------------------------------------------------------
def test_shape_01_provincial_table_with_title_rows_and_footnotes(tmp_path):
    rows = [["表3-12 各市州公共安全主要指标（EXAMPLE 示例数据）", "", "", ""],
            ["", "", "", ""],
            ["地区", "2019", "2020", "2021"]]
    rows += [[p, str(100 + i), str(110 + i), str(120 + i)] for i, p in enumerate(HUNAN_14)]
    rows += [["注：本表数据为示例。", "", "", ""], ["资料来源：EXAMPLE 统计年鉴", "", "", ""]]
    res = read_extract(write(tmp_path / "公安民警数.csv", rows, "gbk"))
    assert res.data["place_id"].nunique() == 14
    assert set(res.data["indicator"]) == {"police_officers_count"}
    codes = pd.Series(HUNAN_CODES)
    # the place ids are those of the GB/T 2260 codes of the 14 prefecture-level units
    from govstats.places import resolve

    assert sorted(res.data["place_id"].unique()) == sorted(resolve(c) for c in codes)
    assert res.accounting.rows_in == 42 == res.accounting.rows_kept
    assert any("title row" in n and "表3-12" in n for n in res.notes)
    assert any("footnote" in n and "资料来源" in n for n in res.notes)
    first = res.data.query("place_as_written == '长沙市' and year == '2019'")
    assert first["source_row"].tolist() == [4]  # spreadsheet row of the first data row


# 2 -------------------------------------------------------------------------------
def test_shape_02_traditional_characters(tmp_path):
    rows = [["地區", "年份", "公安民警數（人）"], ["衡陽市", "2020", "5210"], ["邵陽市", "2020", "6100"]]
    res = read_extract(write(tmp_path / "x.csv", rows))
    assert res.data["place_id"].tolist() == ["hengyang", "shaoyang"]


# 3 -------------------------------------------------------------------------------
def test_shape_03_county_level_units_of_a_prefecture_outside_our_five(tmp_path):
    counties = ["芙蓉区", "天心区", "岳麓区", "开福区", "雨花区", "望城区", "长沙县", "浏阳市", "宁乡市"]
    rows = [["区县", "年份", "辅警人数（人）"]] + [[c, "2021", str(300 + i)] for i, c in enumerate(counties)]
    res = read_extract(write(tmp_path / "x.csv", rows))
    from govstats.places import children, parent

    assert set(res.data["place_id"]) == set(children("长沙市"))
    assert {parent(p) for p in res.data["place_id"]} == {"gb430100"}


# 4 -------------------------------------------------------------------------------
def test_shape_04_a_district_name_two_cities_share(tmp_path):
    rows = [["城市", "区县", "年份", "常住人口（万人）"], ["北京市", "朝阳区", "2020", "345.2"],
            ["长春市", "朝阳区", "2020", "80.1"]]
    res = read_extract(write(tmp_path / "x.csv", rows))
    assert res.data["place_id"].tolist() == ["gb110105", "gb220104"]
    # without the parent column it is refused, naming both candidates with codes and parents
    with pytest.raises(DataValidationError) as exc:
        read_extract(write(tmp_path / "y.csv", [[r[1], r[2], r[3]] for r in rows]))
    hint = exc.value.problems[0].hint
    assert "110105" in hint and "220104" in hint and "北京市" in hint and "长春市" in hint
    # or by within=
    res = read_extract(write(tmp_path / "z.csv", [[r[1], r[2], r[3]] for r in rows[:2]]), place_within="北京市")
    assert res.data["place_id"].tolist() == ["gb110105"]


# 5 -------------------------------------------------------------------------------
def test_shape_05_a_code_column_decides(tmp_path):
    rows = [["行政区划代码", "地区", "年份", "公安民警数（人）"], ["110105", "朝阳区", "2020", "900"],
            ["220104", "朝阳区", "2020", "400"], ["430400", "衡阳", "2020", "5000"]]
    res = read_extract(write(tmp_path / "x.csv", rows))
    assert res.data.sort_values("source_row")["place_id"].tolist() == ["gb110105", "gb220104", "hengyang"]
    assert res.data.sort_values("source_row")["place_as_written"].tolist() == ["朝阳区", "朝阳区", "衡阳"]
    # a name that names another place than its code is an error
    rows[3][1] = "邵阳"
    with pytest.raises(DataValidationError) as exc:
        read_extract(write(tmp_path / "y.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (4, "地区", "邵阳") and "shaoyang" in p.message


# 6 -------------------------------------------------------------------------------
def test_shape_06_a_county_renamed_mid_series(tmp_path):
    rows = [["地区", "年份", "公安民警数（人）"], ["邵东县", "2018", "700"], ["430521", "2018", "700"],
            ["邵东市", "2020", "720"]]
    rows.pop(2)
    res = read_extract(write(tmp_path / "x.csv", rows))
    assert res.data["place_id"].unique().tolist() == ["shaoyang.shaodong"]
    from govstats.places import history

    h = history("邵东市")
    assert h[["code", "name"]].values.tolist()[-2:] == [["430521", "邵东县"], ["430582", "邵东市"]]


# 7 -------------------------------------------------------------------------------
def test_shape_07_an_excel_export_in_scientific_notation(tmp_path):
    rows = [["地区", "年份", "公安民警数"], ["衡阳市", "2020", "5.21E+03"], ["邵阳市", "2020", "6.1e3"]]
    res = read_extract(write(tmp_path / "x.csv", rows))
    assert res.data["value"].tolist() == [5210.0, 6100.0]


# 8 -------------------------------------------------------------------------------
def test_shape_08_implausible_values_are_rejected_with_a_reason(tmp_path):
    rows = [["地区", "年份", "公安民警数（人）", "群众安全感（%）"], ["衡阳市", "2020", "-5,210", "96.1"],
            ["邵阳市", "2020", "6100", "196.1"], ["衢州市", "2020", "3000.5", "95"]]
    res = read_extract(write(tmp_path / "x.csv", rows))
    acc = res.accounting
    assert acc.rows_in == 6 == acc.rows_kept + acc.rows_rejected and acc.rows_rejected == 3
    reasons = dict(zip(acc.rejected["quantity"], acc.rejected["reason"], strict=True))
    assert "negative" in reasons["-5,210"]
    assert "above the codebook maximum 100" in reasons["196.1"]
    assert "not a whole number" in reasons["3000.5"]
    assert "implausible" in res.summary()


def test_shape_08b_user_codebook_declares_a_new_indicator_with_bounds(tmp_path):
    cb = tmp_path / "my_codebook.csv"
    cb.write_text("indicator,name_zh,unit,min,max\npatrol_cars_count,巡逻车辆数,count,0,500\n", encoding="utf-8")
    rows = [["地区", "年份", "巡逻车辆（辆）"], ["衡阳市", "2020", "120"], ["邵阳市", "2020", "900"]]
    res = read_extract(write(tmp_path / "x.csv", rows), codebook=cb)
    assert res.data["indicator"].tolist() == ["patrol_cars_count"]
    assert res.accounting.rejected["reason"].str.contains("maximum 500").tolist() == [True]


# 9 -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mangle", "fragment"),
    [
        (lambda t: t.encode("gbk").decode("latin-1").encode("utf-8"), "decoded as latin-1"),
        (lambda t: t.encode("gbk").decode("utf-8", errors="replace").encode("utf-8"), "replacement"),
        # the classic 锟斤拷: U+FFFD written as UTF-8 and read back as GBK
        (lambda t: t.replace("衡阳市", "\ufffd\ufffd".encode("utf-8").decode("gbk")).encode("gbk"), "replacement"),
        (lambda t: t.encode("utf-8").decode("gbk", errors="replace").encode("utf-8"), "replacement"),
    ],
    ids=["gbk-read-as-latin1", "gbk-read-as-utf8", "gbk-with-kunjinkao", "utf8-read-as-gbk-lossy"],
)
def test_shape_09_a_mis_decoded_file_is_an_encoding_problem(tmp_path, mangle, fragment):
    text = "地区,年份,公安民警数（人）\n衡阳市,2020,5210\n邵阳市,2020,6100\n"
    path = tmp_path / "x.csv"
    path.write_bytes(mangle(text))
    with pytest.raises(DataValidationError) as exc:
        read_extract(path)
    (p,) = exc.value.problems
    assert "encoding problem (mojibake)" in p.message and fragment in p.message
    assert "no place column" not in str(exc.value)


def test_shape_09b_utf8_read_as_gbk_is_named_with_the_repair():
    from govstats.ingest import _mojibake_problems

    header = "地区,年份"
    mangled = header.encode("utf-8").decode("gbk")
    (p,) = _mojibake_problems(mangled + "\n", "f.csv")
    assert "UTF-8 text decoded as GBK" in p.message and header in p.message


# 10 ------------------------------------------------------------------------------
def test_shape_10_common_headers_with_any_bracket_and_unit(tmp_path):
    rows = [["地区", "年份", "人民调解员（人）", "人民调解委员会(个)", "公共安全支出（万元）", "群众安全感（%）",
             "刑事案件立案数（起）", "治安案件查处数(起)", "调解民间纠纷（件）"],
            ["衡阳市", "2020", "9000", "3100", "152000", "96.5", "12000", "30000", "41000"]]
    res = read_extract(write(tmp_path / "x.csv", rows))
    d = res.data.set_index("indicator")
    assert d.at["mediators_count", "value"] == 9000
    assert d.at["mediation_committees_count", "value"] == 3100
    assert d.at["public_security_spending", "value"] == 152000 * 10_000
    assert d.at["security_satisfaction_pct", "unit"] == "%"
    assert {"criminal_cases_filed_count", "public_order_cases_count", "disputes_mediated_count"} <= set(d.index)


# 11 ------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["52l0", "88OO", "3O万", "十佳", "1e3e"])
def test_shape_11_malformed_numbers_never_load(tmp_path, cell):
    rows = [["地区", "年份", "公安民警数"], ["衡阳市", "2020", cell], ["邵阳市", "2020", "6100"]]
    with pytest.raises(DataValidationError) as exc:
        read_extract(write(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (2, "公安民警数", cell)


# 12 ------------------------------------------------------------------------------
def test_shape_12_a_ragged_row_is_named_malformed(tmp_path):
    text = "地区,年份,公安民警数（人）,辅警人数（人）\n衡阳市,2020,5000,3000\n邵阳市,2020,6100\n衢州市,2020,1,2,3\n"
    path = tmp_path / "x.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataValidationError) as exc:
        read_extract(path)
    t = exc.value.table()
    malformed = t[t["message"].str.startswith("malformed row")]
    assert malformed["row"].tolist() == [3, 4]
    assert "short, ragged row" in malformed["message"].iloc[0]
    assert "more cells than headers" in malformed["message"].iloc[1]
    assert not t["message"].str.contains("blank").any()  # not reported as blank cells


# property: corrupt one cell of a valid file -------------------------------------
VALID = [["地区", "年份", "公安民警数（人）", "群众安全感（%）"], ["衡阳市", "2019", "5210", "95.5"],
         ["衡阳市", "2020", "5300", "96.0"], ["邵阳市", "2020", "6100", "94.2"]]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(row=st.integers(1, 3), col=st.integers(2, 3), junk=st.text(alphabet="0123456789.,-eElOo佳万%约多 ", min_size=1, max_size=6))
def test_corrupting_one_cell_gives_the_clean_value_or_a_rejection_naming_it(tmp_path, row, col, junk):
    rows = [list(r) for r in VALID]
    rows[row][col] = junk
    path = write(tmp_path / "p.csv", rows)
    try:
        res = read_extract(path)
    except DataValidationError as exc:
        # an error names exactly this cell
        assert [(p.row, p.column) for p in exc.problems] == [(row + 1, VALID[0][col])]
        return
    cell = res.accounting.kept.query(f"source_row == {row + 1} and source_column == '{VALID[0][col]}'")
    gone = res.accounting.rejected.query(f"source_row == {row + 1} and source_column == '{VALID[0][col]}'")
    assert len(cell) + len(gone) == 1
    if len(cell):  # kept: the value is what the text says, within the codebook's bounds
        from govstats.quantities import parse_quantity

        q = parse_quantity(junk)
        assert cell["value"].iloc[0] == q.value
        assert 0 <= q.value <= (100 if col == 3 else float("inf"))
    else:
        assert gone["reason"].iloc[0]
