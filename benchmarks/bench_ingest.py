"""A national county-level yearbook extract through ``read_extract`` (issue 10, Speed).

Run: ``.venv/bin/python benchmarks/bench_ingest.py [--places 2850] [--profile]``

The file: every county-level division listed today (GB/T 2260 codes, the first
``--places``; about 2,850), 20 years x 18 indicators, values invented (EXAMPLE), written
as a GBK CSV with the yearbook columns ``行政区划代码, 地区, 年份`` and one column per
indicator (``公安民警数（人）`` ...), about 1 million value cells. Printed: ingest wall
and CPU time (target <= 5 s on 2 cores; the run is single-process) of a second file in
the process and of the first call (which also pays pandera's one-time schema building),
peak traced memory (tracemalloc, a further run: tracing slows the code), the ratio against a bare ``pandas.read_csv`` of the same file (the
floor: reading text without checking anything), and one million place names (the
county names of the file, mostly repeats) through ``places.resolve_many`` (target
<= 1 s). ``--profile`` prints the top of a cProfile of one ingest.

``--layout long`` writes the same cells one per row (行政区划代码, 地区, 年份, 指标, 数值),
as database exports do: 41 MiB instead of 6 MiB, 6 million cell texts to split instead of
1.2 million; the 5 s target is stated for the yearbook's wide table.

Also printed: which CSV path read the file. A file without quote characters (as here,
and most yearbook exports) is split at its line breaks and delimiters
(``ingest._csv_grid_split``); any other file goes through ``csv.reader``
(``ingest._csv_grid_reader``). Both give the same grid (tests/test_ingest_fastpath.py
checks this on random texts and on every CSV file of the ingest corpus and shapes).
``--general`` times the ``csv.reader`` path instead, for comparison.

The first call also pays one-time costs that a second call does not: importing the
quantity parser and pandera's first validation (registering its pandas backend, which
imports hypothesis when it is installed, as in the test environment: about 0.3 s that a
user's environment does not pay). cn2an, whose import compiles regular expressions for
about 0.5 s, is imported only for a cell with a Chinese numeral (this file has none), and
pandera's import of dask.dataframe (about 1 s) is avoided:
``govstats.schemas.build_schemas``.

The steady time is the median of ``--repeat`` calls (default 5; all are printed): on a
shared 2-core virtual machine single calls vary by +-20% from one minute to the next.
Compare revisions by running both in alternation, each in its own process.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

INDICATORS = ["公安民警数（人）", "辅警人数（人）", "人民调解委员会（个）", "人民调解员（人）", "调解民间纠纷（件）",
              "刑事案件立案数（起）", "治安案件查处数（起）", "公共安全支出（万元）", "群众安全感（%）",
              "常住人口（万人）", "户籍人口（万人）", "网格员（人）", "调解成功率（%）"]
# five more, declared in a user codebook (issue 10: users declare new indicators)
EXTRA = ["巡逻车辆（辆）", "视频监控点（个）", "社区警务室（个）", "报警电话（起）", "消防站（个）"]
CODEBOOK = ("indicator,name_zh,unit\npatrol_cars_count,巡逻车辆,count\ncctv_points_count,视频监控点,count\n"
            "police_rooms_count,社区警务室,count\nalarm_calls_count,报警电话,count\nfire_stations_count,消防站,count\n")


def counties(n: int) -> pd.DataFrame:
    """Code and name of the first ``n`` county-level divisions listed today."""
    from govstats import places

    reg = places.registry()
    reg = reg[reg["gb2260"].notna() & ~reg["gb2260"].fillna("").str.endswith("00")]
    return reg[["gb2260", "name_zh"]].head(n).rename_axis("place_id").reset_index()


def write_extract(folder: Path, n: int, layout: str = "wide") -> tuple[Path, Path, pd.DataFrame]:
    units = counties(n)
    years = np.arange(2001, 2021)
    rng = np.random.default_rng(1)
    k = len(units) * len(years)
    df = pd.DataFrame({
        "行政区划代码": np.repeat(units["gb2260"].to_numpy(), len(years)),
        "地区": np.repeat(units["name_zh"].to_numpy(), len(years)),
        "年份": np.tile(years, len(units)).astype(str),
    })
    for h in INDICATORS + EXTRA:  # a level per place, drifting a few percent a year
        level = np.repeat(rng.uniform(0.2, 1.0, len(units)), len(years)) * (1 + rng.normal(0, 0.03, k))
        if "%" in h:
            df[h] = np.round(60 + 39 * level, 1).astype(str)
        elif "万" in h:
            df[h] = np.round(200 * level, 2).astype(str)
        else:
            df[h] = np.round(5000 * level).astype(int).astype(str)
    if layout == "long":  # one row per cell: 行政区划代码, 地区, 年份, 指标, 数值
        df = df.melt(id_vars=["行政区划代码", "地区", "年份"], var_name="指标", value_name="数值")
    path = folder / "national_county_EXAMPLE.csv"
    with open(path, "w", encoding="gbk", newline="") as fh:
        fh.write("# 示例数据 EXAMPLE: 虚构数据 / invented numbers, not statistics\n")
        df.to_csv(fh, index=False)
    cb = folder / "codebook.csv"
    cb.write_text(CODEBOOK, encoding="utf-8")
    return path, cb, units


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--places", type=int, default=2850)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--skip-memory", action="store_true")
    ap.add_argument("--general", action="store_true", help="read the CSV with csv.reader (no quote-free split)")
    ap.add_argument("--repeat", type=int, default=5, help="steady calls timed (the median is reported)")
    ap.add_argument("--layout", choices=["wide", "long"], default="wide",
                    help="wide: a column per indicator (the target's file); long: a row per cell "
                         "(指标 and 数值 columns; the same cells in a file about 7 times larger)")
    args = ap.parse_args()
    from govstats import ingest, places
    from govstats.ingest import read_extract

    split, taken = ingest._csv_grid_split, []

    def counted_split(text, delimiter):  # which path read the file
        grid = None if args.general else split(text, delimiter)
        taken.append(grid is not None)
        return grid

    ingest._csv_grid_split = counted_split

    places._index()  # the registry load is benchmarked in bench_places.py
    with tempfile.TemporaryDirectory() as d:
        path, cb, units = write_extract(Path(d), args.places, args.layout)
        size = path.stat().st_size / 2**20
        t = time.perf_counter()
        pd.read_csv(path, encoding="gbk", dtype=str, comment="#")
        floor = time.perf_counter() - t
        t, c = time.perf_counter(), time.process_time()
        res = read_extract(path, codebook=cb)
        cold, cold_cpu = time.perf_counter() - t, time.process_time() - c
        # further calls in the same process: without the one-time cost of the first call
        # (pandera registers its backends; imports)
        steady = []
        for _ in range(max(args.repeat, 1)):
            t, c = time.perf_counter(), time.process_time()
            res = read_extract(path, codebook=cb)
            steady.append((time.perf_counter() - t, time.process_time() - c))
        ours, cpu = (float(np.median([s[k] for s in steady])) for k in (0, 1))
        cells = res.accounting.rows_in
        assert cells == res.accounting.rows_kept + res.accounting.rows_rejected
        print(f"read_extract ({args.layout}): {len(units):,} places x 20 years x {len(INDICATORS) + len(EXTRA)} indicators = "
              f"{cells:,} cells, GBK CSV {size:.0f} MiB: {ours:.2f} s wall, {cpu:.2f} s CPU, median of "
              f"{len(steady)} (all: {', '.join(f'{w:.2f}' for w, _ in steady)} s) (target <= 5 s); "
              f"first call in a fresh process {cold:.2f} s wall, {cold_cpu:.2f} s CPU; "
              f"pandas.read_csv floor {floor:.2f} s, ratio {ours / floor:.1f} ({cold / floor:.1f} first call); "
              f"{res.accounting.rows_kept:,} kept, {res.accounting.rows_rejected:,} rejected")
        print("CSV path: " + ("quote-free split (_csv_grid_split)" if all(taken) else
                              "csv.reader (_csv_grid_reader)" if not any(taken) else "mixed"))
        if not args.skip_memory:
            tracemalloc.start()
            read_extract(path, codebook=cb)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            print(f"peak traced memory of one read_extract: {peak:.0f} MiB (file {size:.0f} MiB)")
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            read_extract(path, codebook=cb)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
    rng = np.random.default_rng(0)
    codes = units["gb2260"].to_numpy(dtype=object)
    t = time.perf_counter()
    out = places.resolve_many(pd.Series(rng.choice(codes, 1_000_000)))
    t_codes = time.perf_counter() - t
    assert out.notna().all()
    # names that name one place in all China (朝阳区 does not: those need a parent column)
    ok = []
    for name, pid in zip(units["name_zh"], units["place_id"], strict=True):
        try:
            ok.append(places.resolve(name) == pid)
        except places.UnknownPlaceError:
            ok.append(False)
    unique = units[ok]
    names = pd.Series(rng.choice(unique["name_zh"].to_numpy(dtype=object), 1_000_000))
    t = time.perf_counter()
    out = places.resolve_many(names)
    t_names = time.perf_counter() - t
    assert out.notna().all()
    t = time.perf_counter()
    names.map(dict(zip(unique["name_zh"], unique["place_id"], strict=True)))
    floor = time.perf_counter() - t
    print(f"resolve_many, 1,000,000 Chinese names ({len(unique):,} distinct, names shared by two places left out): "
          f"{t_names:.2f} s (target <= 1 s; pandas map with a ready dict {floor:.2f} s); "
          f"1,000,000 codes: {t_codes:.2f} s")


if __name__ == "__main__":
    main()
