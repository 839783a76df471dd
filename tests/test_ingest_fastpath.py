"""The fast paths of ``read_extract`` (issue 10, Speed) give what the general paths give.

* The quote-free CSV split (:func:`govstats.ingest._csv_grid_split`) against
  ``csv.reader`` (:func:`govstats.ingest._csv_grid_reader`, the reference: the standard
  library's CSV reader): the same grid for any text it accepts (hypothesis), and the same
  tidy data, rejections, notes, warnings and errors for every CSV file of the corpus
  (tests/test_ingest_corpus.py) and of the twelve shapes (tests/test_ingest_shapes.py),
  each read once with the split and once with it switched off.
* Schemas built without pandera's dask import (:func:`govstats.schemas.build_schemas`)
  are the schemas pandera builds itself, and pandera's dask typing is left as it was.
* The garbage collector, paused during ``read_extract``, is left as the caller had it.
"""

from __future__ import annotations

import csv
import gc
import io
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import test_ingest_corpus as corpus
import test_ingest_shapes as shapes
from hypothesis import given, settings
from hypothesis import strategies as st

import govstats.ingest as ingest
from govstats.errors import DataValidationError
from govstats.paths import examples_dir

# ----------------------------------------------------------------- the split itself

# characters the csv module treats specially, whitespace str.strip removes, line
# separators it does not split at, and ordinary cell text
ALPHABET = [",", ";", "\t", " ", "\u3000", "\xa0", "\x0b", "\x0c", "\x1c", "\u2028", "\n", "\r\n", "\r", '"',
            "#", "a", "1", "中", "万", "-", ""]


@settings(max_examples=400, deadline=None)
@given(parts=st.lists(st.sampled_from(ALPHABET), max_size=30), delimiter=st.sampled_from([",", ";", "\t"]))
def test_split_grid_is_the_csv_reader_grid(parts, delimiter):
    text = "".join(parts)
    fast = ingest._csv_grid_split(text, delimiter)
    if fast is None:  # texts the split leaves to csv.reader
        assert '"' in text or "\x00" in text or text.count("\r") != text.count("\r\n")
    else:
        assert fast == ingest._csv_grid_reader(text, delimiter)


def test_split_grid_takes_ordinary_exports_and_strips_only_where_needed():
    text = "# 示例数据 EXAMPLE, invented\r\n地区,年份, 公安民警数（人）\r\n衡阳市,2020,\u30003100 \r\n\r\n长沙市,2020,-\r\n"
    fast = ingest._csv_grid_split(text, ",")
    assert fast == ingest._csv_grid_reader(text, ",")
    assert fast == [["# 示例数据 EXAMPLE", "invented"], ["地区", "年份", "公安民警数（人）"],
                    ["衡阳市", "2020", "3100"], [], ["长沙市", "2020", "-"]]
    assert ingest._csv_grid_split('地区,年份\n"衡阳市",2020\n', ",") is None  # quoted: csv.reader
    assert ingest._csv_grid_split("a\rb\n", ",") is None  # a lone carriage return: csv.reader


# ----------------------------------------------- whole files, with and without the split


def _outcome(path, **kwargs):
    """(everything read_extract returns, or the problems it raises, comparable; the result or error)"""
    try:
        res = ingest.read_extract(path, **kwargs)
    except DataValidationError as exc:
        return ("error", str(exc), [(p.message, p.file, p.row, p.column, repr(p.value), p.hint)
                                    for p in exc.problems]), exc
    acc = res.accounting
    return ("ok", res.data, acc.rows_in, acc.rows_kept, acc.rows_rejected, acc.rejected,
            res.encoding, res.layout, res.source, res.notes, res.warnings), res


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True)
        else:
            assert x == y


class _Paths:
    """read_extract run twice on each file: with the quote-free split, and without it.

    Returns (or raises) what the run with the split gives, after checking that the run
    without it gives the same data, accounting, notes, warnings, or the same problems.
    """

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch
        self.split = ingest._csv_grid_split
        self.fast_files = 0

    def read(self, path, **kwargs):
        taken = []

        def counted(text, delimiter):
            grid = self.split(text, delimiter)
            taken.append(grid is not None)
            return grid

        self.monkeypatch.setattr(ingest, "_csv_grid_split", counted)
        fast, got = _outcome(path, **kwargs)
        self.fast_files += any(taken)
        self.monkeypatch.setattr(ingest, "_csv_grid_split", lambda text, delimiter: None)
        general, _ = _outcome(path, **kwargs)
        self.monkeypatch.setattr(ingest, "_csv_grid_split", self.split)
        _same(fast, general)
        if isinstance(got, Exception):
            raise got
        return got


def _csv_variants(case):
    """The case's CSV bytes as the corpus writes them, and with CRLF line ends."""
    lf = corpus._csv_bytes(case.rows, case.encoding)
    return {"lf": lf, "crlf": lf.replace(b"\n", b"\r\n")}


CSV_CASES = [c for c in corpus.CORPUS if not isinstance(c.rows, dict) and c.mangle is None and c.rows]


@pytest.mark.parametrize("case", CSV_CASES, ids=[c.id for c in CSV_CASES])
def test_every_corpus_csv_reads_the_same_with_and_without_the_split(case, tmp_path, monkeypatch):
    paths = _Paths(monkeypatch)
    kwargs = dict(case.kwargs)
    if kwargs.get("codebook") == "CODEBOOK":
        cb = tmp_path / "my_codebook.csv"
        cb.write_text("indicator,name_zh,unit,min,max\npatrol_cars_count,巡逻车辆数,count,0,500\n", encoding="utf-8")
        kwargs["codebook"] = cb
    variants = _csv_variants(case)
    for variant, data in variants.items():
        folder = tmp_path / variant
        folder.mkdir()
        path = folder / case.name
        path.write_bytes(data)
        try:
            paths.read(path, **kwargs)
        except DataValidationError:
            pass  # the same problems both ways (compared in paths.read)
    # every file without a quote (or a lone carriage return) took the split
    assert paths.fast_files == sum(b'"' not in d and d.count(b"\r") == d.count(b"\r\n") for d in variants.values())


def test_the_damaged_and_empty_corpus_files_through_both_paths(tmp_path, monkeypatch):
    """The corpus's own checks of its damaged and empty files, each read both ways."""
    paths = _Paths(monkeypatch)
    monkeypatch.setattr(corpus, "read_extract", paths.read)
    cases = [c for c in corpus.CORPUS if not isinstance(c.rows, dict) and (c.mangle is not None or not c.rows)]
    assert cases
    for case in cases:
        folder = tmp_path / case.id
        folder.mkdir()
        corpus.test_corpus_case(case, folder)


def test_tab_and_semicolon_files_read_the_same_with_and_without_the_split(tmp_path, monkeypatch):
    paths = _Paths(monkeypatch)
    rows = [["# 示例数据 EXAMPLE", "invented numbers"], ["地区", "年份", "公安民警数（人）", "常住人口（万人）"],
            ["衡阳市", "2019", "5210", "664.5"], ["衡阳市 ", "2020", " 5300", "-"], [], ["邵阳市", "2020", "", "1,656.1"]]
    for k, delimiter in enumerate(["\t", ";"]):
        buf = io.StringIO()
        csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
        path = tmp_path / f"x{k}.csv"
        path.write_bytes(buf.getvalue().encode("gbk"))
        res = paths.read(path)
        assert res.accounting.rows_in == 6 and res.accounting.rows_kept == 4
    assert paths.fast_files == 2


def test_the_twelve_shapes_through_both_paths(tmp_path, monkeypatch):
    paths = _Paths(monkeypatch)
    monkeypatch.setattr(shapes, "read_extract", paths.read)
    tests = [f for name, f in vars(shapes).items()
             if name.startswith("test_shape_") and callable(f) and not hasattr(f, "pytestmark")]
    assert len(tests) >= 12
    for k, test in enumerate(tests):
        folder = tmp_path / str(k)
        folder.mkdir()
        test(folder) if test.__code__.co_argcount else test()
    # the parametrised shapes, with their parameters
    for k, args in enumerate(m.args for f in (shapes.test_shape_09_a_mis_decoded_file_is_an_encoding_problem,
                                              shapes.test_shape_11_malformed_numbers_never_load)
                             for m in f.pytestmark if m.name == "parametrize"):
        names = [n.strip() for n in args[0].split(",")] if isinstance(args[0], str) else list(args[0])
        test = (shapes.test_shape_09_a_mis_decoded_file_is_an_encoding_problem if "mangle" in names
                else shapes.test_shape_11_malformed_numbers_never_load)
        for j, values in enumerate(args[1]):
            folder = tmp_path / f"p{k}-{j}"
            folder.mkdir()
            test(folder, *(values if len(names) > 1 else (values,)))
    assert paths.fast_files >= 12


# ------------------------------------------------------------------------ the schemas


def test_schemas_built_without_the_dask_import_are_pandera_s_own():
    code = textwrap.dedent(f"""
        import sys
        import pandera.api.dataframe.model as model
        import pandera.typing as pt
        from govstats.ingest import read_extract
        from govstats.schemas import Codebook, TidyObservations

        read_extract({str(examples_dir() / "yearbook_example_wide.csv")!r})
        assert "pandera.typing.dask" not in sys.modules and "dask.dataframe" not in sys.modules
        assert not hasattr(pt, "dask")
        built = [TidyObservations.to_schema(), Codebook.to_schema()]
        # pandera's own way: its dask typing imported, the schemas built again
        import pandera.typing.dask as real
        assert real.__file__.endswith("dask.py")
        model.MODEL_CACHE.clear()
        assert [TidyObservations.to_schema(), Codebook.to_schema()] == built
        assert pt.get_index_types() >= {{pt.Index}}
        if real.DASK_INSTALLED:
            assert real.Index in pt.get_index_types() and real.Series in pt.get_series_types()
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


def test_with_another_thread_the_schemas_are_built_the_usual_way():
    code = textwrap.dedent("""
        import sys, threading
        from govstats.schemas import TidyObservations, build_schemas

        stop = threading.Event()
        t = threading.Thread(target=stop.wait)
        t.start()
        build_schemas(TidyObservations)
        stop.set()
        t.join()
        assert sys.modules["pandera.typing.dask"].__file__.endswith("dask.py")
        print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and out.stdout.strip().endswith("ok"), out.stderr[-3000:]


# ------------------------------------------------------------------------------- gc


@pytest.mark.parametrize("enabled", [True, False])
def test_read_extract_leaves_the_garbage_collector_as_it_was(tmp_path, enabled):
    bad = tmp_path / "bad.csv"
    bad.write_text("地区,年份,公安民警数（人）\n衡阳市,2020,52l0\n", encoding="utf-8")
    was = gc.isenabled()
    try:
        gc.enable() if enabled else gc.disable()
        ingest.read_extract(examples_dir() / "yearbook_example_wide.csv")
        assert gc.isenabled() is enabled
        with pytest.raises(DataValidationError):
            ingest.read_extract(bad)
        assert gc.isenabled() is enabled
    finally:
        gc.enable() if was else gc.disable()


def test_no_missing_mark_has_a_digit():
    """read_extract skips the missing-mark check for texts with a digit: keep it valid."""
    assert not any(ingest._DIGIT.search(m) for m in ingest.MISSING_MARKS)
    assert ingest._is_missing(" N/A ") and not ingest._is_missing("0")


# ------------------------------------- the schema check on one row per distinct value


@pytest.mark.parametrize("unique_keys", [False, True])
def test_schema_check_on_representative_rows_finds_every_failing_value_a_full_validation_finds(unique_keys):
    """``_schema_problems`` validates one row per distinct value (plus every row failing
    the row-wise bounds check); pandera on every row must find no failing value it misses."""
    import pandera

    from govstats.schemas import TidyObservations, problems_from_schema

    kept = ingest.read_extract(examples_dir() / "yearbook_example_wide.csv").data.copy()
    assert len(kept) > 20
    kept["indicator"] = kept["indicator"].astype(object)
    kept.loc[[5, 9], "indicator"] = "Not-Snake"  # a column check, failing in two rows
    kept.loc[92, "lower"] = kept.loc[92, "value"] + 5  # the row-wise check, in a row first in no column
    kept.loc[7, "year_end"] = kept.loc[7, "year_start"] - 1  # a cross-column check on years
    kept.loc[11, "place_id"] = ""  # str_length
    kept.loc[13, "bound"] = "roughly"  # isin
    kept["indicator"] = kept["indicator"].astype("str")
    codes, distinct = ingest._key_codes(kept)
    assert not ingest._duplicate_problems(kept, kept, codes)  # so unique_keys=True is true
    fast = ingest._schema_problems(kept, kept, codes, distinct, unique_keys=unique_keys)
    try:
        TidyObservations.validate(kept, lazy=True)
        full = []
    except pandera.errors.SchemaErrors as exc:
        full = problems_from_schema(exc, file=str(kept["source_file"].iloc[0]), rows=kept["source_row"], data=kept)

    def failing(problems):
        return {(p.message, p.column, str(p.value)) for p in problems}

    assert len(failing(full)) >= 5
    assert failing(fast) == failing(full)
    # each failing value is named at its first row
    first_row = {}
    for p in full:
        key = (p.message, p.column, str(p.value))
        first_row[key] = min(first_row.get(key, p.row), p.row)
    assert {(p.message, p.column, str(p.value)): p.row for p in fast} == first_row


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-5, 40), max_size=60), st.integers(0, 2**40))
def test_first_rows_is_pandas_not_duplicated(values, shift):
    """``_first_rows`` against ``pandas.Series.duplicated`` (both the table and the hash paths)."""
    import numpy as np

    for key in (np.array(values, dtype=np.int64), np.array(values, dtype=np.int64) * (shift + 1)):
        assert (ingest._first_rows(key) == ~pd.Series(key, dtype="int64").duplicated().to_numpy()).all()


# ------------------------------------- key codes from the cells' levels = from the columns


@pytest.mark.parametrize("case", corpus.CORPUS, ids=[c.id for c in corpus.CORPUS])
def test_key_codes_from_the_cells_levels_are_the_codes_of_the_columns(case, tmp_path, monkeypatch):
    """read_extract codes its key columns from the few levels the cells were built from;
    factorizing the columns themselves (the reference) must give the same codes and
    distinct values, on every corpus file (CSV and XLSX, clean and with errors)."""
    import numpy as np

    original, compared = ingest._key_codes, []

    def both(kept, coded=None):
        fast, fast_distinct = original(kept, coded=coded)
        reference, ref_distinct = original(kept)
        assert fast.index.equals(reference.index) and list(fast.columns) == list(reference.columns)
        for c in reference.columns:
            # the levels may hold values no kept row has: the codes may differ by a gap, but
            # name the same value (missing last) and keep the strings' order
            f, r = fast[c].to_numpy(), reference[c].to_numpy()
            assert np.issubdtype(f.dtype, np.integer)
            named = [fast_distinct[c][k] if k < len(fast_distinct[c]) else None for k in f]
            assert named == [ref_distinct[c][k] if k < len(ref_distinct[c]) else None for k in r]
            pairs = sorted(set(zip(f.tolist(), r.tolist(), strict=True)))
            assert [b for _, b in pairs] == sorted(b for _, b in pairs)  # one order
        compared.append(len(kept))
        return fast, fast_distinct

    monkeypatch.setattr(ingest, "_key_codes", both)
    path = corpus.write_case(case, tmp_path)
    kwargs = dict(case.kwargs)
    if kwargs.get("codebook") == "CODEBOOK":
        cb = tmp_path / "my_codebook.csv"
        cb.write_text("indicator,name_zh,unit,min,max\npatrol_cars_count,巡逻车辆数,count,0,500\n", encoding="utf-8")
        kwargs["codebook"] = cb
    try:
        ingest.read_extract(path, **kwargs)
    except DataValidationError:
        pass
    if case.errors is None:
        assert compared and compared[0] > 0


def test_a_long_table_reads_each_indicator_once_and_still_names_every_row(tmp_path):
    """A 指标 column: each distinct (indicator, unit) pair is read once, but every row with a
    blank indicator, an unknown indicator or a unit that contradicts the name is named."""
    path = tmp_path / "long.csv"
    path.write_text(
        "地区,年份,指标,单位,数值\n"
        "衡阳市,2019,未知指标,人,1\n"        # row 2: unknown
        "衡阳市,2020,未知指标,人,2\n"        # row 3: unknown again
        "邵阳市,2019,,人,3\n"                # row 4: blank indicator
        "邵阳市,2020,公安民警数（人）,人,4\n"  # row 5: fine
        "衡阳市,2021,公安民警数（人）,万人,5\n"  # row 6: the unit column contradicts the name
        "衡阳市,2022,未知指标,个,6\n"        # row 7: unknown, with another unit
        "邵阳市,2021,公安民警数（人）,万人,7\n",  # row 8: the same contradiction again
        encoding="utf-8")
    with pytest.raises(DataValidationError) as exc:
        ingest.read_extract(path)
    got = [(p.row, p.column, p.message) for p in exc.value.problems]
    assert got == [
        (2, "指标", "unknown indicator header (also in rows 3, 7)"),
        (4, "指标", "the indicator is blank in a row that holds data"),
        (6, "单位", "the unit column says '万人' but the indicator name says '人'"),
        (8, "单位", "the unit column says '万人' but the indicator name says '人'"),
    ]
