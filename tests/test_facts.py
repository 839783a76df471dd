"""The facts layer: the committed table is clean and faithful; bad input is reported whole."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from govstats import facts as facts_mod
from govstats import paths
from govstats.errors import DataValidationError
from govstats.schemas import RAW_FACT_COLUMNS

SEEDS = paths.project_root().parent / "shared" / "seeds"
needs_seeds = pytest.mark.skipif(
    not SEEDS.is_dir(), reason="the source documents (../shared/seeds) are not beside this checkout"
)


@pytest.fixture(scope="module")
def raw() -> pd.DataFrame:
    return pd.read_csv(paths.raw_dir() / "facts.csv", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def clean() -> pd.DataFrame:
    return facts_mod.load_facts()


def test_committed_facts_load_without_rejections(raw, clean):
    result = facts_mod.check_facts()
    assert result.rows_rejected == 0, result.problems[:5]
    assert result.rows_in == len(raw) == len(clean)
    assert 90 <= len(clean) <= 200


def test_every_document_and_the_five_places_are_covered(clean):
    docs = set(clean["source_file"])
    assert len(docs) == 5
    for place in ("hengyang", "shaoyang", "quzhou", "dongcheng", "futian", "china"):
        assert clean["place_id"].eq(place).any(), place


def test_codebook_covers_exactly_the_indicators_used(clean):
    codebook = facts_mod.load_codebook()
    assert set(clean["indicator"]) == set(codebook["indicator"])


@needs_seeds
def test_phrases_and_quantities_are_read_from_the_documents(raw):
    """Each source phrase is a literal substring of its document, and the quantity's
    number is printed within a short distance of it (facts are read, not typed in)."""
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for row in raw.itertuples():
        text = texts[row.source_doc]
        assert row.source_phrase in text, (row.fact_id, row.source_phrase)
        number = re.match(r"^[^\d一二两三四五六七八九十百千万第]*([\d.]+|[一二两三四五六七八九十百千万第]+)", row.quantity)
        assert number, row.quantity
        starts = [m.start() for m in re.finditer(re.escape(row.source_phrase), text)]
        window = "".join(text[max(0, s - 40) : s + len(row.source_phrase) + 40] for s in starts)
        assert number.group(1) in window, (row.fact_id, row.quantity)


@needs_seeds
def test_stated_years_are_printed_in_the_document(raw):
    texts = {p.name: p.read_text(encoding="utf-8") for p in SEEDS.glob("*.txt")}
    for row in raw[raw["year"].ne("not stated")].itertuples():
        for year in row.year.split("-"):
            assert year in texts[row.source_doc], (row.fact_id, row.year)


def test_documented_numbers_parse_to_what_the_chinese_means(clean):
    """Spot values worked out by hand from the documents' wording."""
    def one(place, indicator):
        return clean.query("place_id == @place and indicator == @indicator").iloc[0]

    assert one("shaoyang", "population").value == 8_300_000  # 830万
    assert one("shaoyang", "area_km2").value == 21_000  # 2.1万平方公里
    mediators = one("quzhou.qujiang", "grassroots_mediators_count")  # 1600多名
    assert (mediators.value, mediators.bound) == (1600, "at_least")
    forces = one("dongcheng", "force_types_per_grid_count")  # 七种力量
    assert forces.value == 7
    subsidy = one("shaoyang", "provincial_subsidy_per_village_auxiliary_yuan")  # 0.5-1.5万元
    assert (subsidy.lower, subsidy.upper, subsidy.bound) == (5_000, 15_000, "range")
    assert one("shaoyang", "police_per_10k_people").unit == "/万人口"


def _write(tmp_path: Path, rows: list[list[str]], header=RAW_FACT_COLUMNS, encoding="utf-8") -> Path:
    path = tmp_path / "facts.csv"
    df = pd.DataFrame(rows, columns=header)
    path.write_bytes(df.to_csv(index=False).encode(encoding))
    return path


GOOD = ["f001_001", "邵阳市", "villages_count", "3299个", "not stated", "prefecture_city", "001_86b922e5d293e563.txt", "3299个行政村", ""]


def test_bad_rows_are_all_reported_at_once_and_none_lost(tmp_path):
    rows = [
        GOOD,
        ["f001_002", "邵阳市", "population", "1.2.3万", "not stated", "prefecture_city", "001_86b922e5d293e563.txt", "830万人口", ""],
        ["f001_003", "Shaoyangg", "area_km2", "2.1万平方公里", "not stated", "prefecture_city", "001_86b922e5d293e563.txt", "2.1万平方公里", ""],
        ["f001_004", "邵阳", "villages_count", "3300个", "not stated", "prefecture_city", "001_86b922e5d293e563.txt", "3299个行政村", ""],
        ["f001_005", "邵阳市", "police_per_10k_people", "5063名", "not stated", "prefecture_city", "001_86b922e5d293e563.txt", "警力比", ""],
        ["f001_006", "邵阳市", "rapid_police_platforms_count", "33个", "2017年", "prefecture_city", "001_86b922e5d293e563.txt", "33个快警平台", ""],
        ["f001_007", "邵阳市", "rapid_police_staff_count", "1056人", "2017", "district", "001_86b922e5d293e563.txt", "民辅警共1056人", ""],
    ]
    result = facts_mod.check_facts(_write(tmp_path, rows))
    assert result.rows_in == 7 and result.rows_kept + result.rows_rejected == 7
    assert result.rows_kept == 0  # row 2 duplicates row 5's key, so both go
    by_row = {}
    for p in result.problems:
        by_row.setdefault(p.row, []).append(p)
    assert any(p.column == "quantity" and p.value == "1.2.3万" for p in by_row[3])
    unknown = [p for p in by_row[4] if p.column == "place_as_written"]
    assert unknown and unknown[0].value == "Shaoyangg" and "shaoyang" in unknown[0].hint.lower()
    assert any("duplicate key" in p.message and "row(s) 2" in p.message for p in by_row[5])
    assert any("mixed units" in p.message and p.value == "5063名" for p in by_row[6])
    assert any(p.column == "year" and p.value == "2017年" for p in by_row[7])
    assert any(p.column == "level" and p.value == "district" for p in by_row[8])
    assert set(result.rejected["row"]) == {2, 3, 4, 5, 6, 7, 8}
    with pytest.raises(DataValidationError) as err:
        facts_mod.load_facts(_write(tmp_path, rows))
    message = str(err.value)
    assert "facts.csv" in message and "row 4" in message and "'Shaoyangg'" in message


def test_missing_and_extra_columns_name_the_columns(tmp_path):
    header = [c for c in RAW_FACT_COLUMNS if c != "year"] + ["comment"]
    rows = [[v for c, v in zip(RAW_FACT_COLUMNS, GOOD, strict=True) if c != "year"] + ["x"]]
    result = facts_mod.check_facts(_write(tmp_path, rows, header=header))
    messages = " ".join(p.message for p in result.problems)
    assert "missing column 'year'" in messages and "unexpected column 'comment'" in messages
    assert result.rows_rejected == 1 and result.rows_kept == 0


def test_empty_file_and_wrong_encoding_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(DataValidationError, match="the file is empty"):
        facts_mod.check_facts(empty)
    gbk = _write(tmp_path, [GOOD], encoding="gbk")
    with pytest.raises(DataValidationError, match=r"not valid UTF-8 at byte \d+"):
        facts_mod.check_facts(gbk)


def test_unit_family_reads_both_vocabularies():
    assert facts_mod.unit_family("/万人口") == facts_mod.unit_family("per_10k_people", codebook=True)
    assert facts_mod.unit_family("万元/村") == "yuan"
    assert facts_mod.unit_family("美元") == "usd" == facts_mod.unit_family("usd", codebook=True)
    assert facts_mod.unit_family("名") == "count" == facts_mod.unit_family("persons", codebook=True)
