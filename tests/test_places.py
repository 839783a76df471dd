"""Tests of the places registry and govstats.places.

Outside references used here:
- GB/T 2260 codes: cn/GB2260 ``mca/202112.tsv`` (Ministry of Civil Affairs list),
  see data/raw/PLACES_SOURCES.md;
- counts of sub-units printed in the documents: 邵阳 全市12个县市区 (doc 001),
  东城区17个街道 (doc 003);
- census populations: ../shared/reference/population_census.csv, read here, not retyped.
"""

from __future__ import annotations

import csv
import datetime as dt
import doctest
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import govstats.places as places
from govstats.errors import DataValidationError, UnknownPlaceError
from govstats.paths import raw_dir
from govstats.places import (
    AmbiguousPlaceError,
    PopulationNotAvailableError,
    children,
    normalise_name,
    parent,
    place_measures,
    population,
    registry,
    resolve,
    resolve_many,
)

SHARED = Path(__file__).resolve().parents[2] / "shared"
REFERENCE_CENSUS = SHARED / "reference" / "population_census.csv"
SEEDS = SHARED / "seeds"

# (place_id, GB/T 2260 code per cn/GB2260 mca/202112.tsv, forms a user may write)
FIVE_PLACES = [
    (
        "hengyang",
        "430400",
        ["衡阳市", "衡阳", "Hengyang", "Hengyang City", "hengyang shi", "Héngyáng", "Héngyáng Shì"],
    ),
    (
        "shaoyang",
        "430500",
        ["邵阳市", "邵阳", "Shaoyang", "Shaoyang City", "shaoyang shi", "Shàoyáng", "SHAOYANG"],
    ),
    (
        "quzhou",
        "330800",
        ["衢州市", "衢州", "Quzhou", "Quzhou City", "quzhou shi", "Qúzhōu", "Qu-zhou"],
    ),
    (
        "dongcheng",
        "110101",
        [
            "东城区",
            "东城",
            "Dongcheng",
            "Dongcheng District",
            "dongcheng qu",
            "Dōngchéng",
            "北京东城区",
        ],
    ),
    (
        "futian",
        "440304",
        ["福田区", "福田", "Futian", "Futian District", "futian qu", "Fútián", "深圳福田区"],
    ),
]


def _reference_census() -> list[dict[str, str]]:
    """The shared census table, read robustly.

    Its ``source`` field holds unquoted commas on some rows ("..., 2021-05-19)"), so
    a row can have more fields than the header: the five leading fields and the
    final ``note`` are fixed, ``source`` is everything in between.
    """
    if not REFERENCE_CENSUS.exists():
        pytest.skip(f"reference table not found: {REFERENCE_CENSUS}")
    with REFERENCE_CENSUS.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    assert head[-2:] == ["source", "note"] and len(head) == 7
    return [dict(zip(head, [*r[:5], ",".join(r[5:-1]), r[-1]], strict=True)) for r in rows[1:]]


# --------------------------------------------------------------------------- resolving


@pytest.mark.parametrize(("place_id", "code", "forms"), FIVE_PLACES)
def test_every_written_form_of_the_five_places_resolves(place_id, code, forms):
    assert resolve(place_id) == place_id
    assert resolve(code) == place_id
    assert resolve(int(code)) == place_id
    assert resolve(np.int64(code)) == place_id
    assert resolve(float(code)) == place_id  # a code column read as numbers
    for form in forms:
        assert resolve(form) == place_id, form


@pytest.mark.parametrize(("place_id", "code", "forms"), FIVE_PLACES)
def test_registry_code_matches_gb2260(place_id, code, forms):
    assert registry().loc[place_id, "gb2260"] == code


def test_normalisation_of_width_case_diacritics_and_separators():
    assert normalise_name("Ｈéng－yáng  SHÌ") == "hengyangshi"
    assert normalise_name("Gé'ěrmù") == normalise_name("Ge’ermu") == "geermu"
    assert resolve("  HENG YANG ") == "hengyang"
    assert resolve("ｈｅｎｇｙａｎｇ") == "hengyang"
    assert resolve("Lěiyáng Shì") == resolve("leiyang") == resolve("耒阳") == "hengyang.leiyang"


def test_unknown_name_suggests_the_closest_places():
    with pytest.raises(UnknownPlaceError) as info:
        resolve("Hengyan")
    err = info.value
    assert err.name == "Hengyan"
    assert "[hengyang]" in err.suggestions[0]
    assert isinstance(err, KeyError)
    with pytest.raises(UnknownPlaceError) as info:
        resolve("衡杨")  # one wrong character
    assert any("[hengyang]" in s for s in info.value.suggestions)
    with pytest.raises(UnknownPlaceError):
        resolve("")
    with pytest.raises(UnknownPlaceError):
        resolve(None)


def test_ambiguous_short_name_goes_to_the_higher_level():
    # 福田区 (district) and 福田街道 (subdistrict inside it) share the short name 福田
    assert resolve("福田") == "futian"
    assert resolve("Futian") == "futian"
    assert resolve("福田街道") == "futian.futian"
    assert resolve("Futian Subdistrict") == "futian.futian"
    assert resolve("福田", within="futian") == "futian.futian"
    assert resolve("福田", within="深圳") == "futian"
    # 衡阳市 (prefecture-level city) and 衡阳县 (county inside it)
    assert resolve("衡阳") == "hengyang"
    assert resolve("衡阳县") == resolve("Hengyang County") == "hengyang.hengyang_county"
    assert resolve("衡阳", within="hengyang") == "hengyang.hengyang_county"


def test_same_level_ambiguity_is_refused_not_guessed():
    # 常宁市 (Hengyang) and 长宁区 (Shanghai) are both Chángníng, both county-level
    with pytest.raises(AmbiguousPlaceError) as info:
        resolve("Changning")
    # with the national registry more county-level places read Changning (长宁县 in
    # Sichuan, 昌宁县 in Yunnan); the two of our registry are among the candidates
    assert {"hengyang.changning", "shanghai.changning"} <= set(info.value.candidates)
    assert isinstance(info.value, UnknownPlaceError)
    assert resolve("常宁") == resolve("Changning", within="hengyang") == "hengyang.changning"
    assert resolve("长宁区") == resolve("上海长宁区") == "shanghai.changning"
    with pytest.raises(AmbiguousPlaceError):  # 长宁区 (Shanghai) or 长宁县 (Sichuan)
        resolve("长宁")


def test_within_restricts_to_descendants():
    assert resolve("东四", within="dongcheng") == "dongcheng.dongsi"
    with pytest.raises(UnknownPlaceError):
        resolve("华强北", within="dongcheng")
    with pytest.raises(UnknownPlaceError):
        resolve("福田", within="福田街道")  # a subdistrict has nothing inside it


def test_qualified_names():
    assert resolve("衢州市衢江区") == "quzhou.qujiang"
    assert resolve("Shenzhen Futian") == "futian"
    assert resolve("天津滨海新区") == "tianjin.binhai"
    assert resolve("青海格尔木市") == "haixi.golmud"


def test_national_and_document_forms():
    for form in ["全国", "我国", "中国", "China"]:
        assert resolve(form) == "china"
    assert resolve("邵东县") == "shaoyang.shaodong"  # the name before 2019
    assert resolve("凭祥市") == "chongzuo.pingxiang"


# --------------------------------------------------------------------------- resolve_many


def test_resolve_many_keeps_index_and_resolves_each_distinct_value_once(monkeypatch):
    calls: list[object] = []
    real = places._resolve_in

    def counting(index, name, scope):
        calls.append(name)
        return real(index, name, scope)

    monkeypatch.setattr(places, "_resolve_in", counting)
    values = pd.Series(["衡阳", "衡阳", "Quzhou", 440304, "衡阳", "Quzhou"], index=list("abcdef"))
    out = resolve_many(values)
    assert out.tolist() == ["hengyang", "hengyang", "quzhou", "futian", "hengyang", "quzhou"]
    assert out.index.tolist() == list("abcdef")
    assert out.name == "place_id"
    assert sorted(map(str, calls)) == sorted(["衡阳", "Quzhou", "440304"])


def test_resolve_many_reports_every_bad_value_at_once():
    values = pd.Series(["衡阳", "Hengyan", None, "Changning", "Hengyan"], name="place_as_written")
    with pytest.raises(DataValidationError) as info:
        resolve_many(values, file="facts.csv")
    table = info.value.table()
    assert table["row"].tolist() == [3, 4, 5, 6]  # header is row 1
    assert set(table["file"]) == {"facts.csv"}
    assert set(table["column"]) == {"place_as_written"}
    assert table.loc[0, "value"] == "Hengyan"
    assert "[hengyang]" in table.loc[0, "hint"]
    assert "missing" in table.loc[1, "message"]
    assert "ambiguous" in table.loc[2, "message"]
    assert "[shanghai.changning]" in table.loc[2, "hint"]


def test_resolve_many_uses_given_row_numbers():
    with pytest.raises(DataValidationError) as info:
        resolve_many(["衡阳", "nowhere"], file="x.xlsx", column="地区", rows=[10, 11])
    problem = info.value.problems[0]
    assert (problem.file, problem.row, problem.column, problem.value) == (
        "x.xlsx",
        11,
        "地区",
        "nowhere",
    )


def test_every_place_in_the_facts_table_resolves():
    path = raw_dir() / "facts.csv"
    facts = pd.read_csv(path, dtype=str, keep_default_na=False)
    place_ids = resolve_many(facts["place_as_written"], file=path, column="place_as_written")
    # the level the facts table records must be the registry's level of that place
    registry_level = place_ids.map(registry()["level"])
    mismatch = facts.loc[registry_level != facts["level"], ["place_as_written", "level"]]
    assert mismatch.empty, mismatch.assign(registry_level=registry_level[mismatch.index])


# --------------------------------------------------------------------------- hierarchy


def test_sub_unit_counts_match_the_documents_and_gb2260():
    assert len(children("衡阳")) == 12  # GB2260: 5 districts, 5 counties, 2 county-level cities
    assert len(children("邵阳")) == 12  # doc 001: 全市12个县市区
    assert len(children("衢州")) == 6  # GB2260: 2 districts, 3 counties, 1 county-level city
    assert len(children("东城区")) == 17  # doc 003: 东城区17个街道
    assert len(children("福田区")) == 10  # NBS codes 440304001-011 without 003
    reg = registry()
    subs = reg[reg["level"] == "subdistrict"]
    assert subs["gb2260"].isna().all()  # subdistricts have no GB/T 2260 code


def test_parent_and_children():
    assert parent("福田区") == "shenzhen"
    assert parent("shenzhen") == "guangdong"
    assert parent("guangdong") == "china"
    assert parent("china") is None
    assert "futian.huaqiangbei" in children("shenzhen", recursive=True)
    assert "futian.huaqiangbei" not in children("shenzhen")


def test_registry_is_valid_and_a_copy():
    reg = registry()
    assert reg.index.is_unique
    codes = reg["gb2260"].dropna()
    assert codes.str.fullmatch(r"\d{6}").all() and codes.is_unique
    reg.loc["hengyang", "name_zh"] = "changed"
    assert registry().loc["hengyang", "name_zh"] == "衡阳市"


# --------------------------------------------------------------------------- validation

HEADER = "place_id,name_zh,short_zh,pinyin,name_en,level,parent_id,gb2260,aliases,note\n"
GOOD_ROWS = [
    "china,中华人民共和国,中国,Zhōngguó,China,nation,,,全国,",
    "hunan,湖南省,湖南,Húnán Shěng,Hunan,province,china,430000,,",
    "hengyang,衡阳市,衡阳,Héngyáng Shì,Hengyang,prefecture_city,hunan,430400,衡阳,",
]


def _write(tmp_path: Path, rows: list[str], name: str = "places.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_a_small_valid_registry_file_works(tmp_path):
    path = _write(tmp_path, GOOD_ROWS)
    assert resolve("衡阳", registry_file=path) == "hengyang"
    # a file with a nation row takes the place of data/raw/places.csv; the GB/T 2260
    # layer stays beneath it
    reg = registry(path)
    assert reg.shape[1] == 9 and {"china", "hunan", "hengyang"} <= set(reg.index)
    assert reg.shape[0] > 3000
    # the cache notices an edited file
    _write(
        tmp_path,
        [
            *GOOD_ROWS,
            "hengyang.leiyang,耒阳市,耒阳,Lěiyáng Shì,Leiyang City,county_city,hengyang,430481,,",
        ],
    )
    assert resolve("耒阳", registry_file=path) == "hengyang.leiyang"


def test_broken_registry_reports_all_problems_at_once(tmp_path):
    rows = [
        *GOOD_ROWS,  # rows 2-4
        "hengyang,衡阳县,衡阳县,Héngyáng Xiàn,Hengyang County,county,hengyang,430421,,",  # 5: duplicate id
        "shaoyang,邵阳市,邵阳,Shàoyáng Shì,Shaoyang,prefecture_city,hunan,430500,衡阳,",  # 6: alias of hengyang
        "quzhou,衢州市,衢州,Qúzhōu Shì,Quzhou,prefecture_city,zhejiang,33080,,",  # 7: bad code; unknown parent
        "hengyang.leiyang,耒阳市,耒阳,Lěiyáng Shì,Leiyang City,county_city,hengyng,430481,,",  # 8: unknown parent
        "shaoyang.wugang,武冈市,武冈,Wǔgāng Shì,Wugang City,county_city,hengyang,430581,,",  # 9: wrong prefix
        "nowhere,某地,,,Nowhere,village,hunan,,,",  # 10: unknown level
    ]
    path = _write(tmp_path, rows)
    with pytest.raises(DataValidationError) as info:
        registry(path)
    table = info.value.table()
    found = set(zip(table["row"], table["column"], table["value"], strict=True))
    assert (5, "place_id", "hengyang") in found
    assert (6, "aliases", "衡阳") in found
    assert (7, "gb2260", "33080") in found
    assert (7, "parent_id", "zhejiang") in found
    assert (8, "parent_id", "hengyng") in found
    assert (9, "place_id", "shaoyang.wugang") in found
    assert (10, "level", "village") in found
    assert set(table["file"]) == {str(path)}
    alias_problem = table[(table["row"] == 6) & (table["column"] == "aliases")].iloc[0]
    assert "'hengyang'" in alias_problem["message"]
    hint = table[(table["row"] == 8)].iloc[0]["hint"]
    assert "hengyang" in hint  # did you mean 'hengyang'?
    assert "row 5" in str(info.value) and "row 10" in str(info.value)


def test_registry_missing_column_and_missing_file(tmp_path):
    path = tmp_path / "places.csv"
    path.write_text("place_id,name_zh\nchina,中国\n", encoding="utf-8")
    with pytest.raises(DataValidationError) as info:
        registry(path)
    assert {"level", "gb2260"} <= set(info.value.table()["column"])
    with pytest.raises(DataValidationError, match="file not found"):
        registry(tmp_path / "absent.csv")


def test_loop_in_parent_chain_is_caught(tmp_path):
    rows = [
        *GOOD_ROWS,
        "aa,甲,,,A,other,bb,,,",
        "bb,乙,,,B,other,aa,,,",
    ]
    with pytest.raises(DataValidationError, match="loops"):
        registry(_write(tmp_path, rows))


# --------------------------------------------------------------------------- population


def test_population_picks_the_census_closest_to_the_year():
    census = {(r["place_en"], r["reference_date"][:4]): r for r in _reference_census()}
    quzhou_2010 = census[("Quzhou", "2010")]
    quzhou_2020 = census[("Quzhou", "2020")]

    fig = population("衢州", 2008)
    assert fig.value == int(quzhou_2010["resident_population"])
    assert fig.reference_date == dt.date.fromisoformat(quzhou_2010["reference_date"])
    assert fig.source == quzhou_2010["source"]
    assert fig.kind == "resident_census_2010"

    assert population("quzhou", 2019).value == int(quzhou_2020["resident_population"])
    assert population("quzhou", 2015).value == int(
        quzhou_2010["resident_population"]
    )  # tie: earlier
    assert population("quzhou").value == int(quzhou_2020["resident_population"])  # latest
    assert population("Hengyang", 2010).value == int(
        census[("Hengyang", "2020")]["resident_population"]
    )


def test_every_reference_census_figure_is_in_place_measures():
    measures = place_measures()
    for row in _reference_census():
        pid = resolve(row["place_zh"])
        got = measures[
            (measures["place_id"] == pid)
            & (measures["measure"] == "population")
            & (measures["reference_date"] == row["reference_date"])
        ]
        assert len(got) == 1, row
        assert got["value"].iloc[0] == int(row["resident_population"])
        assert got["source"].iloc[0] == row["source"]
        assert got["kind"].iloc[0].startswith("resident_census_")


@pytest.mark.skipif(not SEEDS.is_dir(), reason="the source documents (../shared/seeds) are not beside this checkout")
def test_registered_population_is_the_document_figure_not_the_census():
    text = (SEEDS / "001_86b922e5d293e563.txt").read_text(encoding="utf-8")
    printed = re.search(r"(\d+)万人口", text)
    assert printed is not None
    fig = population("邵阳", kind="registered")
    assert fig.value == int(printed.group(1)) * 10_000
    assert fig.reference_date is None and fig.kind == "registered_document"
    assert population("邵阳").value != fig.value  # resident default is the census


def test_missing_population_says_what_exists():
    with pytest.raises(PopulationNotAvailableError) as info:
        population("耒阳市", 2020)
    msg = str(info.value)
    assert "hengyang.leiyang" in msg and "no population figure" in msg
    assert "quzhou" in msg and "futian" in msg
    with pytest.raises(PopulationNotAvailableError, match="resident_census_2020"):
        population("衡阳", kind="registered")
    with pytest.raises(ValueError, match="kind"):
        population("衡阳", kind="census")


def test_broken_measures_file_reports_all_problems(tmp_path):
    path = tmp_path / "measures.csv"
    path.write_text(
        "place_id,measure,value,unit,kind,reference_date,source,note\n"
        "hengyang,population,6645243,persons,resident_census_2020,2020-11-01,bulletin,\n"
        "nowhere,population,10,persons,resident_census_2020,2020-11-01,bulletin,\n"
        "shaoyang,population,830万,persons,registered_document,,doc 001,\n"
        "quzhou,area,8844,persons,document,2020-13-01,,\n",
        encoding="utf-8",
    )
    with pytest.raises(DataValidationError) as info:
        place_measures(measures_file=path)
    found = set(zip(info.value.table()["row"], info.value.table()["column"], strict=True))
    assert {
        (3, "place_id"),
        (4, "value"),
        (5, "unit"),
        (5, "reference_date"),
        (5, "source"),
    } <= found


def test_docstring_examples_run():
    result = doctest.testmod(places, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 10 and result.failed == 0


# --------------------------------------------------------------------------- national registry (issue 10)
REFERENCE = Path(__file__).parent / "reference"


def test_national_registry_counts_per_level_match_the_code_list():
    from govstats.places import NATIONAL_FILE

    expected = pd.read_csv(REFERENCE / "gb2260_mca_202112_counts.csv").set_index("level")["count"]
    reg = registry()
    codes = reg["gb2260"].dropna()
    got = {
        "province": int(codes.str.endswith("0000").sum()),
        "prefecture": int((codes.str.endswith("00") & ~codes.str.endswith("0000")).sum()),
        "county": int((~codes.str.endswith("00")).sum()),
    }
    assert got == expected.to_dict()
    # every current code of the packaged lists is one registry place
    hist = pd.read_csv(NATIONAL_FILE, dtype=str, keep_default_na=False)
    assert set(hist.loc[hist["valid_to"] == "", "code"]) == set(codes)
    assert hist["valid_from"].nunique() >= 60  # vintages 1980-12 ... 2021-12


@pytest.mark.parametrize(
    ("old", "new", "old_code", "new_code", "last_old", "first_new"),
    [
        ("邵东县", "邵东市", "430521", "430582", "2019-04", "2019-12"),  # mca/201904 vs 201912
        ("株洲县", "渌口区", "430221", "430212", "2018-01", "2018-12"),  # mca/201801 vs 201812
        ("崇文区", "东城区", "110103", "110101", "2009-12", "1980-12"),  # merger 2010
    ],
)
def test_renamed_and_merged_divisions_are_one_continuing_place(old, new, old_code, new_code, last_old, first_new):
    from govstats.places import history

    assert resolve(old) == resolve(new) == resolve(old_code) == resolve(new_code)
    h = history(new).set_index("code")
    assert h.at[old_code, "valid_to"] == last_old
    assert h.at[new_code, "valid_from"] == first_new and h.at[new_code, "valid_to"] == ""


def test_a_shared_district_name_is_refused_with_codes_and_parents():
    with pytest.raises(AmbiguousPlaceError) as info:
        resolve("朝阳区")
    text = str(info.value)
    assert "110105" in text and "220104" in text and "北京市" in text and "长春市" in text
    assert resolve("朝阳区", within="北京") == resolve("110105")
    assert resolve("朝阳区", within="长春市") == resolve(220104)
    assert resolve("北京朝阳区") == resolve("110105")


@pytest.mark.parametrize(
    ("written", "code"),
    [("衡陽市", "430400"), ("衡陽", "430400"), ("長沙市", "430100"), ("Chángshā", "430100"),
     ("changsha shi", "430100"), ("Changsha", "430100"), ("长沙县", "430121"), ("湘西州", "433100"),
     ("湘西土家族苗族自治州", "433100"), ("海西州", "632800"), ("城步县", "430529")],
)
def test_traditional_pinyin_and_short_forms_resolve(written, code):
    assert resolve(written) == resolve(code)


def test_users_add_places_in_their_own_file_on_top_of_the_packaged_registry(tmp_path):
    path = tmp_path / "mine.csv"
    path.write_text(
        "place_id,name_zh,short_zh,pinyin,name_en,level,parent_id,gb2260,aliases,note\n"
        "changsha_econ_zone,长沙经济技术开发区,长沙经开区,,Changsha Economic Development Zone,other,gb430100,,,EXAMPLE\n",
        encoding="utf-8",
    )
    assert resolve("长沙经开区", registry_file=path) == "changsha_econ_zone"
    assert resolve("衡阳", registry_file=path) == "hengyang"  # the packaged places are still there
    assert "changsha_econ_zone" in children("长沙市", registry_file=path)
    with pytest.raises(UnknownPlaceError):
        resolve("长沙经开区")  # data/raw is untouched


# English names from the place reading of each character ---------------------------
# Reference: the standard Hanyu Pinyin romanisations of these divisions (the spelling of
# place names under GB/T 17693 / the MCA's division lists, as used on the places' own
# English-language government sites): polyphonic characters read as in the place name,
# apostrophe before a syllable starting with a, o or e. The codes are GB/T 2260's.
POLYPHONES = [
    ("430100", "Changsha"), ("220100", "Changchun"), ("140400", "Changzhi"), ("310105", "Changning District"),
    ("140428", "Zhangzi County"), ("341181", "Tianchang City"), ("500000", "Chongqing"), ("350200", "Xiamen"),
    ("340300", "Bengbu"), ("341500", "Lu'an"), ("610100", "Xi'an"), ("370900", "Tai'an"), ("610600", "Yan'an"),
    ("511800", "Ya'an"), ("360800", "Ji'an"), ("320116", "Luhe District"), ("520200", "Liupanshui"),
    ("110105", "Chaoyang District"), ("211300", "Chaoyang"), ("510812", "Chaotian District"),
    ("510100", "Chengdu"), ("510117", "Pidu District"), ("522701", "Duyun City"), ("500230", "Fengdu County"),
    ("141024", "Hongtong County"), ("371722", "Shanxian County"), ("341621", "Guoyang County"),
    ("511527", "Junlian County"), ("140924", "Fanshi County"), ("222404", "Hunchun City"),
    ("410122", "Zhongmou County"), ("370612", "Muping District"), ("511822", "Yingjing County"),
    ("410182", "Xingyang City"), ("130225", "Laoting County"), ("330382", "Yueqing City"), ("511100", "Leshan"),
    ("440113", "Panyu District"), ("361124", "Yanshan County"), ("371524", "Dong'e County"),
    ("141100", "Lüliang"), ("610727", "Lüeyang County"), ("331000", "Taizhou"), ("210100", "Shenyang"),
    ("420116", "Huangpi District"), ("371522", "Shenxian County"), ("130726", "Yuxian County"),
]


@pytest.mark.parametrize(("code", "english"), POLYPHONES, ids=[e for _, e in POLYPHONES])
def test_english_names_use_the_place_reading_of_polyphonic_characters(code, english):
    row = places.registry().query(f"gb2260 == '{code}'")
    assert row["name_en"].tolist() == [english]
    # the English name and its keyboard spelling resolve (within the parent: 朝阳区 is
    # Chaoyang District in Beijing and in Changchun, 潮阳区 in Shantou)
    pid = places.resolve(code)
    for written in (english, english.replace("ü", "v").replace("'", "")):
        assert places.resolve(written, within=places.parent(pid)) == pid
