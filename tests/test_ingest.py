"""Tests of govstats.ingest: yearbook extracts (CSV/XLSX, UTF-8/GBK, wide/long) to tidy form.

The reference for every number is the table the test itself writes (a known truth): the
values are written to a file in one layout/encoding and must come back unchanged, scaled
by the header's multiplier where the header says so (万 = 10,000).
"""

from __future__ import annotations

import csv
import io
import math

import openpyxl
import pandas as pd
import pytest

from govstats.errors import DataValidationError
from govstats.ingest import TIDY_COLUMNS, read_extract
from govstats.paths import examples_dir, raw_dir

YEARS = [2016, 2017, 2018]
# place as written -> place id (the places registry is the reference for these spellings)
PLACES = {"衡阳市": "hengyang", "Shaoyang": "shaoyang", "330800": "quzhou"}
HEADERS = {
    "公安民警数（人）": ("police_officers_count", 1.0, "人"),
    "辅警人数(人)": ("auxiliary_police_count", 1.0, "人"),
    "群众安全感满意率（%）": ("security_satisfaction_pct", 1.0, "%"),
    "常住人口（万人）": ("population_resident", 1e4, "人"),
}
# the known truth: (place as written, header, year) -> cell text as written
TRUTH = {
    (p, h, y): (
        f"{90 + 0.5 * i + 0.1 * (y - 2016):.1f}"
        if "%" in h
        else f"{600.5 + 10 * i + (y - 2016):.1f}"
        if "万人" in h
        else str(1000 * (i + 1) + 7 * j + (y - 2016))
    )
    for i, p in enumerate(PLACES)
    for j, h in enumerate(HEADERS)
    for y in YEARS
}
KEY = ["place_id", "indicator", "year"]
CONTENT = ["place_id", "indicator", "year", "year_start", "year_end", "value", "lower", "upper", "bound", "unit", "scale"]


def wide_rows(truth=TRUTH) -> list[list[str]]:
    rows = [["地区", "指标", *map(str, YEARS)]]
    for p in PLACES:
        for h in HEADERS:
            rows.append([p, h, *(truth[(p, h, y)] for y in YEARS)])
    return rows


def long_rows(truth=TRUTH) -> list[list[str]]:
    rows = [["地区", "年份", *HEADERS]]
    for p in PLACES:
        for y in YEARS:
            rows.append([p, str(y), *(truth[(p, h, y)] for h in HEADERS)])
    return rows


def fully_long_rows(truth=TRUTH) -> list[list[str]]:
    rows = [["place", "indicator", "year", "value"]]
    for (p, h, y), v in truth.items():
        rows.append([p, h, str(y), v])
    return rows


def write_csv(path, rows, encoding="utf-8"):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path, sheets: dict[str, list[list[object]]]):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def numeric(text: str) -> object:
    """What a user typing the text into Excel stores: a number when it is one."""
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text


def expected_frame(truth=TRUTH) -> pd.DataFrame:
    """The tidy frame the truth table must give, computed here independently."""
    recs = []
    for (p, h, y), v in truth.items():
        if v == "":
            continue
        ind, scale, unit = HEADERS[h]
        value = float(v) * scale
        recs.append(
            {
                "place_id": PLACES[p],
                "indicator": ind,
                "year": str(y),
                "year_start": y,
                "year_end": y,
                "value": value,
                "lower": value,
                "upper": value,
                "bound": "exact",
                "unit": unit,
                "scale": scale,
            }
        )
    df = pd.DataFrame(recs).sort_values(KEY).reset_index(drop=True)
    return df.astype({"year_start": "Int64", "year_end": "Int64"})


def content(df: pd.DataFrame) -> pd.DataFrame:
    out = df[CONTENT].sort_values(KEY).reset_index(drop=True)
    return out.astype({c: "str" for c in ["place_id", "indicator", "year", "bound", "unit"]})


def problems_of(excinfo) -> pd.DataFrame:
    return excinfo.value.table()


# --------------------------------------------------------------------------- encodings


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_each_encoding_gives_the_same_tidy_frame(tmp_path, encoding, reported):
    res = read_extract(write_csv(tmp_path / "extract.csv", wide_rows(), encoding))
    assert res.encoding == reported
    pd.testing.assert_frame_equal(content(res.data), content(expected_frame()))
    # the whole frame (raw text, provenance) is identical too, not only the numbers
    (tmp_path / "ref").mkdir()
    ref = read_extract(write_csv(tmp_path / "ref" / "extract.csv", wide_rows(), "utf-8"))
    pd.testing.assert_frame_equal(res.data.drop(columns="source_file"), ref.data.drop(columns="source_file"))


def test_gb18030_only_characters_are_read(tmp_path):
    # 𠮷 (U+20BB7) exists in GB18030 but not in GBK: the reader must not stop at GBK.
    rows = [r + ["备注"] if i == 0 else r + ["𠮷"] for i, r in enumerate(wide_rows())]
    path = write_csv(tmp_path / "x.csv", rows, "gb18030")
    with pytest.raises(UnicodeEncodeError):
        "𠮷".encode("gbk")
    res = read_extract(path)
    assert res.encoding == "gb18030"
    assert len(res.data) == len(TRUTH)


def test_explicit_encoding_is_used_and_reported(tmp_path):
    res = read_extract(write_csv(tmp_path / "x.csv", wide_rows(), "gbk"), encoding="gbk")
    assert res.encoding == "gbk"
    pd.testing.assert_frame_equal(content(res.data), content(expected_frame()))


# --------------------------------------------------------------------------- layouts


def test_wide_long_and_fully_long_give_the_same_frame(tmp_path):
    wide = read_extract(write_csv(tmp_path / "wide.csv", wide_rows()))
    long = read_extract(write_csv(tmp_path / "long.csv", long_rows()))
    fully = read_extract(write_csv(tmp_path / "fully.csv", fully_long_rows()))
    assert (wide.layout, long.layout, fully.layout) == ("wide", "long", "long")
    for res in (wide, long, fully):
        pd.testing.assert_frame_equal(content(res.data), content(expected_frame()))
        assert list(res.data.columns) == TIDY_COLUMNS
    pd.testing.assert_frame_equal(wide.data[["quantity"]], long.data[["quantity"]])


def test_xlsx_equals_csv(tmp_path):
    csv_res = read_extract(write_csv(tmp_path / "x.csv", long_rows()))
    rows = [long_rows()[0]] + [[numeric(c) for c in r] for r in long_rows()[1:]]
    xlsx_res = read_extract(write_xlsx(tmp_path / "x.xlsx", {"Sheet1": rows}))
    assert xlsx_res.encoding == "n/a (xlsx)"
    pd.testing.assert_frame_equal(content(xlsx_res.data), content(csv_res.data))
    assert xlsx_res.data["source_ref"].str.startswith("sheet 'Sheet1', row ").all()


def test_xlsx_one_sheet_per_indicator(tmp_path):
    sheets = {}
    for h in HEADERS:
        rows = [["地区", *map(str, YEARS)]]
        rows += [[p, *(numeric(TRUTH[(p, h, y)]) for y in YEARS)] for p in PLACES]
        sheets[h] = rows
    sheets["说明"] = [["示例数据 EXAMPLE"]]  # a note sheet: skipped
    res = read_extract(write_xlsx(tmp_path / "x.xlsx", sheets))
    assert res.layout == "wide"
    pd.testing.assert_frame_equal(content(res.data), content(expected_frame()))
    assert any("说明" in n for n in res.notes)
    # a single sheet by name or position
    one = read_extract(tmp_path / "x.xlsx", sheet="常住人口（万人）")
    assert set(one.data["indicator"]) == {"population_resident"}
    assert read_extract(tmp_path / "x.xlsx", sheet=0).data["indicator"].unique().tolist() == ["police_officers_count"]


def test_xlsx_percent_formatted_cell_reads_as_shown(tmp_path):
    path = tmp_path / "p.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["地区", "年份", "群众安全感满意率（%）"])
    ws.append(["衡阳市", 2020, 0.958])
    ws["C2"].number_format = "0.0%"
    wb.save(path)
    row = read_extract(path).data.iloc[0]
    assert row["quantity"] == "95.8%"
    assert row["value"] == pytest.approx(95.8)
    assert row["unit"] == "%"


def test_forced_layout_mismatch_is_an_error(tmp_path):
    path = write_csv(tmp_path / "long.csv", long_rows())
    with pytest.raises(DataValidationError, match="layout='wide'"):
        read_extract(path, layout="wide")
    with pytest.raises(DataValidationError, match="no year column"):
        read_extract(write_csv(tmp_path / "wide.csv", wide_rows()), layout="long")
    with pytest.raises(ValueError, match="layout='sideways' is not valid"):
        read_extract(path, layout="sideways")


# --------------------------------------------------------------------------- units


def test_wan_ren_header_scales_values_by_ten_thousand(tmp_path):
    rows = [["地区", "年份", "常住人口（万人）", "常住人口(人)"], ["衡阳市", "2020", "664.5", ""], ["衡阳市", "2019", "", "6650000"]]
    res = read_extract(write_csv(tmp_path / "x.csv", rows))
    d = res.data.set_index("year")
    assert d.at["2020", "value"] == pytest.approx(664.5 * 1e4)
    assert d.at["2020", "scale"] == 1e4
    assert d.at["2020", "unit"] == "人"
    assert d.at["2019", "value"] == 6650000 and d.at["2019", "scale"] == 1.0 and d.at["2019", "unit"] == "人"


def test_header_multiplier_scales_bounds_too(tmp_path):
    rows = [["地区", "年份", "常住人口（万人）"], ["衡阳市", "2020", "664多"]]
    row = read_extract(write_csv(tmp_path / "x.csv", rows)).data.iloc[0]
    assert row["bound"] == "at_least"
    assert row["value"] == pytest.approx(6_640_000) and row["lower"] == pytest.approx(6_640_000)
    assert math.isinf(row["upper"])


def test_cells_with_their_own_units_and_multipliers(tmp_path):
    rows = [["地区", "年份", "公安民警数", "常住人口"], ["衡阳市", "2020", "1,056人", "664.5万"], ["衡阳市", "2019", "1600多名", "6650000"]]
    d = read_extract(write_csv(tmp_path / "x.csv", rows)).data.set_index(["indicator", "year"])
    assert d.at[("police_officers_count", "2020"), "value"] == 1056
    assert d.at[("police_officers_count", "2019"), "bound"] == "at_least"
    # 名 and 人 are the same count of people: one unit, recorded as the quantities parser gives it
    assert d.at[("population_resident", "2020"), "value"] == pytest.approx(6_645_000)
    assert d.at[("population_resident", "2020"), "scale"] == 1e4


# --------------------------------------------------------------------------- headers and places


def test_codebook_name_zh_headers_are_recognised(tmp_path):
    codebook = pd.read_csv(raw_dir() / "codebook.csv", dtype=str)
    sample = codebook[codebook["category"].eq("grid")].iloc[:2]
    rows = [["地区", "年份", *sample["name_zh"]], ["衡阳市", "2020", *["10"] * len(sample)]]
    res = read_extract(write_csv(tmp_path / "x.csv", rows))
    assert sorted(res.data["indicator"]) == sorted(sample["indicator"])


def test_english_indicator_headers_pass_through(tmp_path):
    rows = [["place", "year", "police_officers_count", "security_satisfaction_pct (%)"], ["Hengyang", "2020", "5000", "95.1"]]
    d = read_extract(write_csv(tmp_path / "x.csv", rows)).data.set_index("indicator")
    assert d.at["police_officers_count", "value"] == 5000
    assert d.at["security_satisfaction_pct", "unit"] == "%"


def test_unknown_header_suggests_close_ones_and_indicator_map_fixes_it(tmp_path):
    rows = [["地区", "年份", "在岗公安民警（人）"], ["衡阳市", "2020", "5000"]]
    path = write_csv(tmp_path / "x.csv", rows)
    with pytest.raises(DataValidationError) as exc:
        read_extract(path)
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (1, "在岗公安民警（人）", "在岗公安民警（人）")
    # the hint names the real indicator id, not a placeholder
    assert "police_officers_count" in p.hint and "indicator_map" in p.hint
    assert "indicator_map={'在岗公安民警': 'police_officers_count'}" in p.hint
    res = read_extract(path, indicator_map={"在岗公安民警": "police_officers_count"})
    assert res.data["indicator"].tolist() == ["police_officers_count"]
    assert res.data["unit"].tolist() == ["人"]
    # a key with a unit matches that unit only
    res = read_extract(path, indicator_map={"在岗公安民警（人）": "police_officers_count"})
    assert len(res.data) == 1


def test_place_spellings_resolve_to_one_id(tmp_path):
    rows = [["地区", "年份", "公安民警数（人）"], ["衡阳市", "2016", "1"], ["Hengyang", "2017", "2"], ["430400", "2018", "3"], ["衡阳", "2019", "4"]]
    res = read_extract(write_csv(tmp_path / "x.csv", rows))
    assert res.data["place_id"].unique().tolist() == ["hengyang"]
    assert res.data["place_as_written"].tolist() == ["衡阳市", "Hengyang", "430400", "衡阳"]


# --------------------------------------------------------------------------- bad input


def test_unparseable_cell(tmp_path):
    rows = long_rows()
    rows[2][2] = "abc"
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.file, p.row, p.column, p.value) == (str(tmp_path / "x.csv"), 3, "公安民警数（人）", "abc")


def test_unknown_place_with_suggestion(tmp_path):
    rows = long_rows()
    rows[4][0] = "Hengyan"
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (5, "地区", "Hengyan")
    assert "Hengyang" in str(p) or "衡阳" in str(p)


def test_duplicate_key_names_both_rows(tmp_path):
    rows = long_rows() + [["Hengyang", "2016", "1", "2", "3", "4"]]  # 衡阳市 2016 is row 2
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    probs = exc.value.problems
    assert len(probs) == len(HEADERS)  # one per duplicated cell
    last_row = len(rows)
    for p in probs:
        assert p.row == last_row and "duplicate" in p.message and "row 2," in p.message


def test_mixed_units_cell_against_header(tmp_path):
    rows = long_rows()
    rows[3][2] = "33个"
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (4, "公安民警数（人）", "33个")
    assert "mixed units" in p.message


def test_mixed_units_within_one_indicator(tmp_path):
    rows = [["地区", "指标", "年份", "数值", "单位"], ["衡阳市", "公安民警数", "2016", "5000", "人"], ["衡阳市", "公安民警数", "2017", "5010", "人"], ["Shaoyang", "公安民警数", "2017", "40", "个"]]
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.value) == (4, "40") and "mixed units" in p.message and "'个'" in p.message


def test_scaled_and_unitless_columns_of_one_indicator_conflict(tmp_path):
    rows = [["地区", "年份", "常住人口（万人）", "常住人口"], ["衡阳市", "2020", "664.5", ""], ["衡阳市", "2019", "", "663.0"]]
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (3, "常住人口", "663.0") and "mixed units" in p.message


def test_damaged_utf8_names_the_byte_offset(tmp_path):
    text = "\n".join(",".join(r) for r in long_rows()) + "\n"
    data = bytearray(text.encode("utf-8"))
    offset = data.index(b"Shaoyang") + 2
    data[offset] = 0xFF
    (tmp_path / "x.csv").write_bytes(bytes(data))
    with pytest.raises(DataValidationError) as exc:
        read_extract(tmp_path / "x.csv")
    (p,) = exc.value.problems
    assert f"byte offset {offset}" in p.message and "utf-8" in p.message
    assert p.row == text[: len(text.encode()[:offset].decode())].count("\n") + 1


def test_bytes_neither_utf8_nor_gb18030(tmp_path):
    bad = b"\x80\xff"
    data = "地区,年份\n".encode("gbk") + bad + b",2016\n"
    (tmp_path / "x.csv").write_bytes(data)
    with pytest.raises(DataValidationError) as exc:
        read_extract(tmp_path / "x.csv")
    msgs = [p.message for p in exc.value.problems]
    assert all("gb18030" in m and "utf-8-sig" in m for m in msgs)
    assert exc.value.problems[0].row == 2
    assert f"byte offset {data.index(bad)}" in msgs[0]


@pytest.mark.parametrize("content_bytes", [b"", b"  \n\n", b"\xef\xbb\xbf"])
def test_empty_file(tmp_path, content_bytes):
    (tmp_path / "x.csv").write_bytes(content_bytes)
    with pytest.raises(DataValidationError, match="empty"):
        read_extract(tmp_path / "x.csv")


def test_only_comment_rows_means_no_header(tmp_path):
    (tmp_path / "x.csv").write_text("# 示例数据 EXAMPLE\n", encoding="utf-8")
    with pytest.raises(DataValidationError, match="no header row"):
        read_extract(tmp_path / "x.csv")


def test_no_data_rows(tmp_path):
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", [long_rows()[0]]))
    (p,) = exc.value.problems
    assert p.row == 1 and "no data rows" in p.message


def test_missing_place_and_year_columns_reported_together(tmp_path):
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", [["名称", "公安民警数（人）"], ["衡阳市", "5"]]))
    msgs = sorted(p.message for p in exc.value.problems)
    assert msgs == ["no place column", "no year column and no year headers"]


def test_unnamed_column_with_data(tmp_path):
    rows = [r + [""] for r in long_rows()]
    rows[3][-1] = "stray"
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (4, "(unnamed column G)", "stray")
    # the same column, empty (trailing commas), is harmless and noted
    res = read_extract(write_csv(tmp_path / "y.csv", [r + [""] for r in long_rows()]))
    assert any("empty column" in n for n in res.notes)


def test_year_headers_that_are_not_years(tmp_path):
    rows = [["地区", "指标", "2016", "2017年", "二〇一八", "20l9"], ["衡阳市", "公安民警数（人）", "1", "2", "3", "4"]]
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    bad = {(p.row, p.column) for p in exc.value.problems}
    assert bad == {(1, "二〇一八"), (1, "20l9")}


def test_bad_year_values_in_long_layout(tmp_path):
    rows = long_rows()
    rows[2][1] = "17年"
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value, p.message) == (3, "年份", "17年", "not a year")


def test_every_problem_is_collected_in_one_error(tmp_path):
    rows = [r + ["", "巡逻车辆（辆）"] if i == 0 else r + ["", "1"] for i, r in enumerate(long_rows())]
    rows[2][2] = "abc"  # unparseable
    rows[3][0] = "Hengyan"  # unknown place
    rows[5][3] = "33个"  # unit against header
    rows[6][6] = "stray"  # unnamed column with data
    rows.append(list(rows[7]))  # duplicate of row 8 (the same place spelling)
    path = write_csv(tmp_path / "x.csv", rows, "gbk")
    with pytest.raises(DataValidationError) as exc:
        read_extract(path)
    t = problems_of(exc)
    found = {(r, c) for r, c in zip(t["row"], t["column"], strict=True)}
    assert {(3, "公安民警数（人）"), (4, "地区"), (6, "辅警人数(人)"), (7, "(unnamed column G)"), (1, "巡逻车辆（辆）")} <= found
    dup_rows = t.loc[t["message"].str.startswith("duplicate"), "row"]
    assert set(dup_rows) == {len(rows)} and len(dup_rows) == len(HEADERS)
    assert (t["file"] == str(path)).all()


# --------------------------------------------------------------------------- accounting


def test_blank_and_not_available_cells_are_missing_not_errors(tmp_path):
    truth = dict(TRUTH)
    blanks = {("衡阳市", "公安民警数（人）", 2017): "", ("330800", "辅警人数(人)", 2016): "—", ("Shaoyang", "常住人口（万人）", 2018): "…"}
    truth.update(blanks)
    res = read_extract(write_csv(tmp_path / "x.csv", wide_rows(truth)))
    acc = res.accounting
    assert acc.rows_in == len(TRUTH) == acc.rows_kept + acc.rows_rejected
    assert acc.rows_rejected == len(blanks)
    assert sorted(acc.rejected["reason"]) == sorted(["blank", "not available ('—')", "not available ('…')"])
    expected = expected_frame({k: v for k, v in truth.items() if k not in blanks})
    pd.testing.assert_frame_equal(content(res.data), content(expected))
    assert "3 rejected" in res.summary()


def test_source_provenance_points_at_the_cell(tmp_path):
    path = write_csv(tmp_path / "x.csv", [["# a comment row"], *wide_rows()])
    res = read_extract(path)
    # 衡阳市 / 公安民警数 is the first data row: spreadsheet row 3 below the comment and header
    row = res.data.set_index(["place_id", "indicator", "year"]).loc[("hengyang", "police_officers_count", "2017")]
    assert (row["source_row"], row["source_column"], row["source_ref"]) == (3, "2017", "row 3, column '2017'")
    assert row["quantity"] == TRUTH[("衡阳市", "公安民警数（人）", 2017)]
    assert res.notes and "a comment row" in res.notes[0]


# --------------------------------------------------------------------------- shipped examples


def test_shipped_examples_are_labelled_and_agree():
    wide_path = examples_dir() / "yearbook_example_wide.csv"
    long_path = examples_dir() / "yearbook_example_long.xlsx"
    assert "示例数据 EXAMPLE" in wide_path.read_bytes().decode("gbk").splitlines()[0]
    wb = openpyxl.load_workbook(long_path)
    assert "示例数据 EXAMPLE" in str(wb.worksheets[0]["A1"].value)
    assert any("示例数据 EXAMPLE" in str(c.value) for ws in wb.worksheets[1:] for row in ws.iter_rows() for c in row)
    readme = (examples_dir() / "README.md").read_text(encoding="utf-8")
    assert "EXAMPLE" in readme and "NOT real statistics" in readme and "并非真实统计" in readme

    wide, long = read_extract(wide_path), read_extract(long_path)
    assert (wide.encoding, wide.layout, long.layout) == ("gb18030", "wide", "long")
    pd.testing.assert_frame_equal(content(wide.data), content(long.data))
    assert sorted(wide.data["place_id"].unique()) == ["dongcheng", "futian", "hengyang", "quzhou", "shaoyang"]
    assert wide.data["year_start"].min() == 2016 and wide.data["year_end"].max() == 2020
    for res in (wide, long):
        assert res.accounting.rows_in == 5 * 4 * 5 == res.accounting.rows_kept + 1
        assert any("示例数据 EXAMPLE" in n for n in res.notes)


# --------------------------------------------------------------------------- more cases


def test_header_and_cell_multipliers_together_are_an_error(tmp_path):
    rows = [["地区", "年份", "常住人口（万人）"], ["衡阳市", "2020", "3.2万"], ["衡阳市", "2019", "3.1"]]
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    (p,) = exc.value.problems
    assert (p.row, p.column, p.value) == (2, "常住人口（万人）", "3.2万") and "multiplier" in p.message


def test_cells_of_a_row_with_a_bad_year_are_still_checked(tmp_path):
    rows = [["地区", "年份", "公安民警数（人）"], ["衡阳市", "17年", "abc"]]
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "x.csv", rows))
    assert {(p.row, p.column) for p in exc.value.problems} == {(2, "年份"), (2, "公安民警数（人）")}


def test_place_within_restricts_names_to_descendants(tmp_path):
    registry = pd.read_csv(raw_dir() / "places.csv", dtype=str, keep_default_na=False)
    subs = registry[registry["parent_id"].eq("futian") & registry["short_zh"].isin(["福田", "南园"])]
    expected = dict(zip(subs["short_zh"], subs["place_id"], strict=True))
    rows = [["地区", "年份", "公安民警数（人）"], ["福田", "2020", "10"], ["南园", "2020", "20"]]
    path = write_csv(tmp_path / "x.csv", rows)
    res = read_extract(path, place_within="futian")
    assert dict(zip(res.data["place_as_written"], res.data["place_id"], strict=True)) == expected
    # outside the scope, a place is unknown
    rows.append(["衡阳市", "2020", "30"])
    with pytest.raises(DataValidationError) as exc:
        read_extract(write_csv(tmp_path / "y.csv", rows), place_within="futian")
    (p,) = exc.value.problems
    assert (p.row, p.value) == (4, "衡阳市")


def test_tab_separated_text_is_read(tmp_path):
    text = "\n".join("\t".join(r) for r in long_rows()) + "\n"
    (tmp_path / "x.txt").write_text(text, encoding="utf-8")
    pd.testing.assert_frame_equal(content(read_extract(tmp_path / "x.txt").data), content(expected_frame()))


def test_sheet_and_file_kind_errors(tmp_path):
    path = write_xlsx(tmp_path / "x.xlsx", {"data": long_rows()})
    with pytest.raises(DataValidationError, match="no sheet named 'nope'"):
        read_extract(path, sheet="nope")
    with pytest.raises(DataValidationError, match="no sheet number 3"):
        read_extract(path, sheet=3)
    with pytest.raises(ValueError, match="only for XLSX"):
        read_extract(write_csv(tmp_path / "x.csv", long_rows()), sheet="data")
    (tmp_path / "old.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100))
    with pytest.raises(DataValidationError, match=r"\.xls files are not read"):
        read_extract(tmp_path / "old.xls")
    empty = write_xlsx(tmp_path / "empty.xlsx", {"data": []})
    with pytest.raises(DataValidationError, match="the sheet is empty"):
        read_extract(empty)


def test_large_gbk_file_is_not_mistaken_for_damaged_utf8(tmp_path):
    # Regression: GBK bytes decode as valid UTF-8 by chance now and then (here ~300
    # characters); that must be weighed against ALL invalid sequences, not a capped list.
    registry = pd.read_csv(raw_dir() / "places.csv", dtype=str, keep_default_na=False)
    rows = [["地区", "年份", "公安民警数（人）"]]
    rows += [[name, str(y), str(i)] for i, name in enumerate(registry["name_zh"]) for y in (2016, 2017, 2018)]
    path = write_csv(tmp_path / "x.csv", rows, "gbk")
    decoded = path.read_bytes().decode("utf-8", errors="replace")
    assert sum(ord(c) > 127 and c != "\ufffd" for c in decoded) > 4 * 50  # the case that failed
    res = read_extract(path)
    assert res.encoding == "gb18030" and len(res.data) == len(rows) - 1


def _national_extract(tmp_path, corrupt: dict[tuple[int, str], str]):
    """A county-level extract in the national yearbook shape (code, name, year, one column
    per indicator; GBK), 40 counties x 3 years, values invented; ``corrupt`` replaces the
    cells at (spreadsheet row, header). Returns the path and the truth per cell."""
    from govstats import places

    reg = places.registry()
    reg = reg[reg["gb2260"].notna() & ~reg["gb2260"].fillna("").str.endswith("00")].head(40)
    heads = ["公安民警数（人）", "辅警人数（人）", "群众安全感满意率（%）", "常住人口（万人）"]
    lines, truth, row = [["# 示例数据 EXAMPLE: invented numbers"], ["行政区划代码", "地区", "年份", *heads]], {}, 2
    for k, (pid, code, name) in enumerate(zip(reg.index, reg["gb2260"], reg["name_zh"], strict=True)):
        for y in YEARS:
            row += 1
            cells = [str(100 + k + y - 2016), str(50 + k), f"{80 + k / 10:.1f}", f"{30 + k}.5"]
            cells = [corrupt.get((row, h), c) for h, c in zip(heads, cells, strict=True)]
            truth.update({(row, h): (pid, c) for h, c in zip(heads, cells, strict=True)})
            lines.append([code, name, str(y), *cells])
    path = tmp_path / "national_EXAMPLE.csv"
    path.write_text("\n".join(",".join(r) for r in lines) + "\n", encoding="gbk")
    return path, truth


def test_national_code_and_name_extract_accounts_for_every_cell(tmp_path):
    corrupt = {(3, "公安民警数（人）"): "", (10, "辅警人数（人）"): "-", (11, "辅警人数（人）"): "-5",
               (50, "群众安全感满意率（%）"): "100.5", (122, "常住人口（万人）"): "…"}
    path, truth = _national_extract(tmp_path, corrupt)
    res = read_extract(path)
    acc = res.accounting
    assert acc.rows_in == len(truth) == 40 * 3 * 4 and acc.rows_in == acc.rows_kept + acc.rows_rejected
    rej = acc.rejected
    assert sorted(zip(rej["source_row"].astype(int), rej["source_column"], rej["quantity"], strict=True)) == sorted(
        (r, h, q) for (r, h), q in corrupt.items())
    assert set(rej["source_ref"]) == {f"row {r}, column {h!r}" for r, h in corrupt}
    d = res.data
    for rec in d.itertuples():
        pid, text = truth[(rec.source_row, rec.source_column)]
        scale = 1e4 if "万人" in rec.source_column else 1.0
        assert rec.place_id == pid and rec.quantity == text and rec.value == pytest.approx(float(text) * scale)
    key = d[["place_id", "indicator", "year_start"]]
    assert key.equals(key.sort_values(["place_id", "indicator", "year_start"], kind="mergesort"))


def test_national_code_and_name_extract_names_each_bad_cell(tmp_path):
    corrupt = {(7, "公安民警数（人）"): "abc", (90, "常住人口（万人）"): "3.2万"}
    path, _ = _national_extract(tmp_path, corrupt)
    with pytest.raises(DataValidationError) as exc:
        read_extract(path)
    got = sorted((p.file, p.row, p.column, p.value) for p in exc.value.problems)
    assert got == sorted((str(path), r, h, q) for (r, h), q in corrupt.items())
