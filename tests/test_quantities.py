"""Chinese quantity strings -> value, bound, unit, scale.

The reference for the table of cases (tests/data/quantity_cases.csv) is what the Chinese
means, worked out by hand; most phrasings come from the source documents (the comment
names the document and a few characters of the phrase). Property tests build strings
from known numbers, multipliers and qualifiers and check the parse recovers them.
"""

from __future__ import annotations

import doctest
import math
import unicodedata
from decimal import Decimal
from pathlib import Path
from unittest import mock

import cn2an
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govstats import quantities
from govstats.errors import DataValidationError, GovstatsError
from govstats.quantities import Quantity, QuantityParseError, parse_quantities, parse_quantity

CASES_CSV = Path(__file__).parent / "data" / "quantity_cases.csv"
FIELDS = ["value", "lower", "upper", "bound", "unit", "scale"]


def _number(text: str) -> float:
    return math.nan if text == "" else float(text)


def load_cases() -> pd.DataFrame:
    return pd.read_csv(CASES_CSV, dtype=str, keep_default_na=False)


CASES = load_cases()


def same(a: object, b: object) -> bool:
    """Equal, with NaN == NaN and floats equal to 1e-12 relative."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=0.0)
    return a == b


def fields(q: Quantity) -> tuple:
    return tuple(getattr(q, f) for f in FIELDS)


def assert_same_fields(got: tuple, expected: tuple, label: str) -> None:
    for name, g, e in zip(FIELDS, got, expected, strict=True):
        assert same(g, e), f"{label}: {name} is {g!r}, expected {e!r}"


# ------------------------------------------------------------------ table of cases
def test_case_table_is_big_and_well_formed():
    assert len(CASES) >= 70
    assert list(CASES.columns) == ["raw", *FIELDS, "comment"]
    assert not CASES["raw"].duplicated().any()
    assert set(CASES["bound"]) <= {"exact", "at_least", "at_most", "approx", "range"}
    assert (CASES["comment"].str.len() > 0).all()


@pytest.mark.parametrize("case", CASES.to_dict("records"), ids=list(CASES["raw"]))
def test_parse_quantity_matches_hand_worked_case(case):
    q = parse_quantity(case["raw"])
    assert q.raw == case["raw"]
    expected = (
        _number(case["value"]),
        _number(case["lower"]),
        _number(case["upper"]),
        case["bound"],
        case["unit"],
        _number(case["scale"]),
    )
    assert_same_fields(fields(q), expected, case["raw"])


@pytest.mark.parametrize("case", CASES.to_dict("records"), ids=list(CASES["raw"]))
def test_case_obeys_the_bound_contract(case):
    q = parse_quantity(case["raw"])
    if q.bound == "exact":
        assert q.lower == q.value == q.upper
    elif q.bound == "at_least":
        assert q.lower == q.value and q.upper == math.inf
    elif q.bound == "at_most":
        assert math.isnan(q.lower) and q.upper == q.value
    elif q.bound == "approx":
        assert math.isnan(q.lower) and math.isnan(q.upper)
    else:
        assert q.lower <= q.value <= q.upper
        assert q.value == pytest.approx((q.lower + q.upper) / 2, rel=1e-12)


def test_full_width_forms_of_every_case_parse_identically():
    for raw in CASES["raw"]:
        wide = to_full_width(raw)
        assert_same_fields(fields(parse_quantity(wide)), fields(parse_quantity(raw)), wide)


# ------------------------------------------------------------------ errors
ERROR_CASES = [
    ("数个", "order of magnitude"),
    ("几个", "order of magnitude"),
    ("若干", "order of magnitude"),
    ("abc", "no number"),
    ("1.2.3万", "'1.2.3万' is not a well-formed number"),
    ("1,05", "not a well-formed number"),
    ("多", "qualifier without a number"),
    ("将近", "qualifier without a number"),
    ("", "no number"),
    ("   ", "no number"),
    ("约3万多人", "contradict"),
    ("超过3000人以下", "contradict"),
    ("约8至10人", "cannot also carry a qualifier"),
    ("十几个左右", "cannot also carry a qualifier"),
    ("3万多至5万", "write the range as two numbers"),
    ("5-3", "runs backwards"),
    ("5人至10个", "different units"),
    ("百分之九十的人", "after a 百分之"),
    ("每万人6.1/千人", "second denominator"),
    ("第3名以上", "ordinal"),
    ("1 056", "unexpected text"),
    ("十十", "cn2an"),
    ("12三", "not a well-formed number"),
    ("6.8名提升到19.9名", "different units"),
    ("八百三十多万万", "not a unit"),  # a multiplier after 多 where a unit belongs
]


@pytest.mark.parametrize(
    ("text", "fragment"), ERROR_CASES, ids=[t or "<empty>" for t, _ in ERROR_CASES]
)
def test_unparseable_text_raises_with_the_string_and_expected_forms(text, fragment):
    with pytest.raises(QuantityParseError) as info:
        parse_quantity(text)
    err = info.value
    assert isinstance(err, GovstatsError) and isinstance(err, ValueError)
    assert err.raw == text
    assert repr(text) in str(err)
    assert fragment in err.reason
    assert "Expected" in str(err) and err.hint in str(err)


def test_non_string_input_is_a_type_error():
    with pytest.raises(TypeError, match="expects a string"):
        parse_quantity(1600)  # type: ignore[arg-type]


# ------------------------------------------------------------------ properties
DIGITS = st.builds(
    lambda units, places: Decimal(units).scaleb(-places),
    st.integers(min_value=0, max_value=99_999_999),
    st.integers(min_value=0, max_value=4),
)
MULTIPLIERS = {"": 1, "百": 100, "千": 1_000, "万": 10_000, "亿": 100_000_000, "万亿": 10**12}
UNITS = ["", "名", "个", "人", "元", "平方公里", "元/村", "种力量", "年", "%", "人(次)"]
PREFIXES = [(w, k) for w, k in quantities._PREFIX_QUALIFIERS]
SUFFIXES = [
    ("以上", "at_least"),
    ("以下", "at_most"),
    ("以内", "at_most"),
    ("左右", "approx"),
    ("上下", "approx"),
]
SEPARATORS = ["-", "—", "~", "至", "到", "－", "～"]


def to_full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def format_number(x: Decimal, thousands: bool) -> str:
    return format(x, ",f") if thousands else format(x, "f")


@st.composite
def single_quantities(draw):
    x = draw(DIGITS)
    mult = draw(st.sampled_from(sorted(MULTIPLIERS)))
    unit = draw(st.sampled_from(UNITS))
    number = format_number(x, draw(st.booleans()))
    style = draw(st.sampled_from(["none", "prefix", "inner_before", "inner_after", "suffix"]))
    if style == "none":
        text, kind = f"{number}{mult}{unit}", "exact"
    elif style == "prefix":
        word, kind = draw(st.sampled_from(PREFIXES))
        text = f"{word}{number}{mult}{unit}"
    elif style == "suffix":
        word, kind = draw(st.sampled_from(SUFFIXES))
        text = f"{number}{mult}{unit}{word}"
    else:
        more = draw(st.sampled_from("多余"))
        inner = f"{more}{mult}" if style == "inner_before" else f"{mult}{more}"
        text, kind = f"{number}{inner}{unit}", "at_least"
    return text, x, mult, unit, kind


@given(single_quantities())
@settings(max_examples=400, deadline=None)
def test_formatting_then_parsing_round_trips(case):
    text, x, mult, unit, kind = case
    q = parse_quantity(text)
    scale = MULTIPLIERS[mult]
    assert q.scale == scale
    assert q.value == pytest.approx(float(x * scale), rel=1e-9, abs=0)
    assert q.bound == kind
    assert q.unit == unit
    if not math.isnan(q.lower):
        assert q.lower <= q.value
    if not math.isnan(q.upper):
        assert q.value <= q.upper


@st.composite
def range_quantities(draw):
    a, b = sorted([draw(DIGITS), draw(DIGITS)])
    mult = draw(st.sampled_from(sorted(MULTIPLIERS)))
    unit = draw(st.sampled_from(UNITS))
    sep = draw(st.sampled_from(SEPARATORS))
    written = draw(st.sampled_from(["shared", "both", "both_with_unit"]))
    first = {
        "shared": format_number(a, False),
        "both": f"{a:f}{mult}",
        "both_with_unit": f"{a:f}{mult}{unit}",
    }[written]
    return f"{first}{sep}{b:f}{mult}{unit}", a, b, mult, unit


@given(range_quantities())
@settings(max_examples=300, deadline=None)
def test_ranges_round_trip_and_share_the_multiplier(case):
    text, a, b, mult, unit = case
    q = parse_quantity(text)
    scale = MULTIPLIERS[mult]
    assert q.bound == "range" and q.unit == unit and q.scale == scale
    assert q.lower == pytest.approx(float(a * scale), rel=1e-9, abs=0)
    assert q.upper == pytest.approx(float(b * scale), rel=1e-9, abs=0)
    assert q.value == pytest.approx(float((a + b) * scale / 2), rel=1e-9, abs=0)
    assert q.lower <= q.value <= q.upper


@given(st.one_of(single_quantities(), range_quantities()))
@settings(max_examples=200, deadline=None)
def test_full_width_parses_identically_to_half_width(case):
    text = case[0]
    wide = to_full_width(text)
    assert_same_fields(fields(parse_quantity(wide)), fields(parse_quantity(text)), wide)


@given(st.integers(min_value=0, max_value=10**12 - 1), st.sampled_from(["", "个", "名", "人"]))
@settings(max_examples=300, deadline=None)
def test_chinese_numerals_agree_with_cn2an_in_the_other_direction(n, unit):
    # an2cn (Arabic -> Chinese) is cn2an's other half; reading its output must give n back.
    text = cn2an.an2cn(n) + unit
    q = parse_quantity(text)
    assert q.value == n and q.bound == "exact" and q.unit == unit


# ------------------------------------------------------------------ parse_quantities
POOL = [*CASES["raw"], *[t for t, _ in ERROR_CASES], None, np.nan, ""]


def expected_row(cell: object) -> tuple[tuple, object]:
    if cell is None or (isinstance(cell, float) and math.isnan(cell)) or not str(cell).strip():
        return (math.nan, math.nan, math.nan, math.nan, math.nan, math.nan), None
    try:
        return fields(parse_quantity(cell)), None
    except QuantityParseError as err:
        return (math.nan, math.nan, math.nan, math.nan, math.nan, math.nan), str(err)


@given(st.lists(st.sampled_from(POOL), min_size=0, max_size=40))
@settings(max_examples=100, deadline=None)
def test_series_equals_element_wise_parse(cells):
    values = pd.Series(cells, dtype=object)
    frame = parse_quantities(values, errors="collect")
    assert list(frame.columns) == ["raw", *FIELDS, "error"]
    assert frame.index.equals(values.index)
    for i, cell in enumerate(cells):
        row = frame.iloc[i]
        expected, message = expected_row(cell)
        got = tuple(row[f] if not pd.isna(row[f]) else math.nan for f in FIELDS)
        assert_same_fields(got, expected, repr(cell))
        assert row["error"] == message


def test_frame_keeps_the_index_and_has_the_documented_columns_and_types():
    values = pd.Series(["1600多名", "830万", None], index=["a", "b", "c"])
    frame = parse_quantities(values)
    assert list(frame.index) == ["a", "b", "c"]
    assert list(frame.columns) == ["raw", *FIELDS]
    for col in ["value", "lower", "upper", "scale"]:
        assert frame[col].dtype == np.float64
    assert frame.loc["a", "bound"] == "at_least" and frame.loc["b", "unit"] == ""
    assert frame.loc["c"].drop("raw").isna().all()


def test_missing_cells_give_all_nan_rows_and_no_error():
    values = pd.Series([None, np.nan, pd.NA, "", "  ", "3299个"], dtype=object)
    frame = parse_quantities(values, errors="collect")
    assert frame.loc[:4, FIELDS].isna().all().all()
    assert frame["error"].isna().all()
    assert frame.loc[5, "value"] == 3299.0
    parse_quantities(values)  # and "raise" does not raise


def test_raise_lists_every_bad_cell_with_file_row_column_value_and_hint():
    values = pd.Series(["3299个", "若干", "abc", "若干", "1600多名"])
    rows = pd.Series([2, 3, 4, 5, 6])
    with pytest.raises(DataValidationError) as info:
        parse_quantities(values, file="facts.csv", column="quantity", rows=rows)
    problems = info.value.problems
    assert [(p.row, p.value) for p in problems] == [(3, "若干"), (4, "abc"), (5, "若干")]
    for p in problems:
        assert p.file == "facts.csv" and p.column == "quantity"
        assert p.message.startswith("not a quantity:")
        assert "expected" in p.hint
    assert "3 problems" in str(info.value) and "facts.csv" in str(info.value)


def test_raise_without_rows_names_the_index_label():
    values = pd.Series(["1", "数个"], index=[10, 20])
    with pytest.raises(DataValidationError) as info:
        parse_quantities(values)
    assert [p.row for p in info.value.problems] == [20]


def test_collect_returns_the_message_and_nan_numbers_for_bad_cells():
    frame = parse_quantities(pd.Series(["数个", "5人"]), errors="collect")
    assert frame["error"].iloc[1] is None
    assert "'数个'" in frame["error"].iloc[0] and "Expected" in frame["error"].iloc[0]
    assert frame.iloc[0][FIELDS].isna().all()


def test_numbers_in_an_object_column_are_read_as_their_decimal_text():
    frame = parse_quantities(
        pd.Series([1600, 6.8, 1e-05, True, math.inf], dtype=object), errors="collect"
    )
    assert frame["value"].iloc[:3].tolist() == [1600.0, 6.8, 1e-05]
    assert frame["error"].iloc[:3].isna().all() and frame["error"].iloc[3:].notna().all()


def test_bad_options_fail_at_once():
    with pytest.raises(ValueError, match="errors='ignore'"):
        parse_quantities(pd.Series(["1"]), errors="ignore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="rows has 1 entries"):
        parse_quantities(pd.Series(["1", "2"]), rows=pd.Series([2]))


def test_each_distinct_string_is_parsed_once():
    distinct = ["1600多名", "3299个", "2.1万平方公里", "数个"]
    values = pd.Series(distinct * 250 + [None] * 10)
    with mock.patch.object(quantities, "parse_quantity", wraps=quantities.parse_quantity) as spy:
        frame = parse_quantities(values, errors="collect")
    assert spy.call_count == len(distinct)
    assert sorted(c.args[0] for c in spy.call_args_list) == sorted(distinct)
    assert frame["value"].iloc[:3].tolist() == [1600.0, 3299.0, 21000.0]


def test_hundred_thousand_rows_with_two_hundred_distinct_strings():
    """Correctness at size; the speed is measured in benchmarks/bench_quantities.py."""
    pool = [f"{i}{m}多名" for i in range(1, 101) for m in ("", "万")]
    values = pd.Series(pool * 500)
    frame = parse_quantities(values)
    assert len(frame) == len(values) and frame.index.equals(values.index)
    assert frame["value"].iloc[101] == 510_000.0
    assert frame["value"].iloc[200 + 101] == 510_000.0


def test_docstring_examples_run():
    result = doctest.testmod(quantities, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


FUZZ_ALPHABET = (
    "0123456789.,-~%‰/ 万亿千百十几数多余约近超过以上下内左右至到每人口名个元年第点"
    "两一二三四五六七八九零〇()—～－％１２"
)


@given(st.text(alphabet=FUZZ_ALPHABET, max_size=10))
@settings(max_examples=500, deadline=None)
def test_any_text_either_parses_consistently_or_raises_quantity_parse_error(text):
    try:
        q = parse_quantity(text)
    except QuantityParseError:
        return
    assert q.bound in {"exact", "at_least", "at_most", "approx", "range"}
    assert not math.isnan(q.value)
    assert math.isnan(q.lower) or q.lower <= q.value
    assert math.isnan(q.upper) or q.value <= q.upper
    assert not any(c.isdigit() for c in q.unit.replace("10万", ""))


# ------------------------------------------------------------------ never guess (issue 10)
@pytest.mark.parametrize(
    ("text", "value"),
    [("5.21E+03", 5210.0), ("1e3", 1000.0), ("5.2e3", 5200.0), ("-1.5E-02", -0.015), ("２．５Ｅ＋０２", 250.0)],
)
def test_scientific_notation_of_a_whole_cell_is_read_exactly(text, value):
    # the reference is the float literal itself: Python's Decimal reads it exactly
    q = parse_quantity(text)
    assert (q.value, q.bound, q.unit, q.scale) == (value, "exact", "", 1.0)
    assert q.value == float(Decimal(unicodedata.normalize("NFKC", text)))


@pytest.mark.parametrize("text", ["52l0", "88OO", "3O万", "十佳", "5.2e3人", "1e3e", "12abc", "7佳人", "1,000x"])
def test_text_after_a_number_that_is_no_known_unit_is_an_error_naming_it(text):
    with pytest.raises(QuantityParseError) as info:
        parse_quantity(text)
    assert "unit" in info.value.reason or "not a well-formed number" in info.value.reason
    assert repr(text) in str(info.value)


def test_units_argument_extends_the_known_units():
    with pytest.raises(QuantityParseError, match="unknown unit '佳'"):
        parse_quantity("十佳")
    q = parse_quantity("十佳", units=["佳"])
    assert (q.value, q.unit) == (10.0, "佳")
    frame = parse_quantities(pd.Series(["3佳", "4个"]), errors="collect", units={"佳"})
    assert frame["error"].isna().all()


@settings(max_examples=200, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**6),
    st.sampled_from(sorted(set("abcdefghijklmnopqrstuvwxyzOIl佳优好新") - {"m", "t"})),
)
def test_a_stray_letter_in_a_number_is_never_read_as_a_unit(n, letter):
    text = f"{n}{letter}"
    with pytest.raises(QuantityParseError):
        parse_quantity(text)
