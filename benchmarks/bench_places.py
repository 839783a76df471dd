"""Places registry and yearbook ingest at national scale (issue 10).

Run: ``.venv/bin/python benchmarks/bench_places.py [--cells-only]`` (prints one table).

1. Loading the packaged registry (data/raw/places.csv + the GB/T 2260 layer,
   ``govstats/data/gb2260.csv.gz`` and its precomputed lookup keys) in a fresh
   process, best of ``--repeat`` runs; target: a few hundred milliseconds.
2. ``resolve_many`` on one million place names (the ~2,850 county-level names,
   mostly repeats); target <= 1 s. Floor: ``pandas.Series.map`` with a ready dict.
3. ``read_extract`` of a national county-level extract, 2,850 places x 20 years x
   18 indicators (~1 million cells, GBK CSV, invented values); target <= 5 s, with
   the peak memory (tracemalloc) and the ratio against a bare ``pandas.read_csv``
   of the same file (the floor).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

LOAD = (
    "import time; from govstats import places; t = time.perf_counter(); c = time.process_time(); "
    "places._index(); print(time.perf_counter() - t, time.process_time() - c)"
)


def bench_load(repeat: int) -> tuple[float, float]:
    """Best wall time and best CPU time (CPU time is less disturbed by a busy machine)."""
    runs = [tuple(map(float, subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True,
                                             check=True).stdout.split())) for _ in range(repeat)]
    return min(r[0] for r in runs), min(r[1] for r in runs)


def county_names() -> list[str]:
    from govstats import places

    reg = places.registry()
    codes = reg["gb2260"].dropna()
    names = []
    for code in codes:
        if not code.endswith("00"):
            names.append(str(code))  # codes are unambiguous; names repeat across China
    return names


def bench_resolve(names: list[str]) -> tuple[float, float]:
    from govstats import places

    rng = np.random.default_rng(0)
    values = pd.Series(rng.choice(np.array(names, dtype=object), size=1_000_000))
    t = time.perf_counter()
    out = places.resolve_many(values)
    t_ours = time.perf_counter() - t
    assert out.notna().all()
    mapping = dict(zip(names, names, strict=True))
    t = time.perf_counter()
    values.map(mapping)
    return t_ours, time.perf_counter() - t


def bench_ingest(names: list[str], folder: Path) -> tuple[float, float, float, int]:
    from govstats.ingest import read_extract

    indicators = ["公安民警数（人）", "辅警人数（人）", "人民调解委员会（个）", "人民调解员（人）", "调解民间纠纷（件）",
                  "刑事案件立案数（起）", "治安案件查处数（起）", "公共安全支出（万元）", "群众安全感（%）",
                  "常住人口（万人）", "户籍人口（万人）", "网格员（人）", "调解成功率（%）", "公安民警人数（人）",
                  "警务辅助人员（人）", "人民调解组织（个）", "刑事立案数（起）", "查处治安案件（起）"]
    rng = np.random.default_rng(1)
    years = list(range(2001, 2021))
    rows = []
    for code in names[:2850]:
        for y in years:
            vals = rng.integers(1, 99, size=len(indicators))
            rows.append([code, str(y), *map(str, vals)])
    df = pd.DataFrame(rows, columns=["行政区划代码", "年份", *indicators])
    # the same indicator twice under two spellings would be a duplicate key; keep 18 distinct
    path = folder / "national_EXAMPLE.csv"
    df.iloc[:, :2 + 13].join(df.iloc[:, 2 + 13:].set_axis(
        ["巡逻车辆（辆）", "视频监控点（个）", "社区警务室（个）", "报警电话（起）", "消防站（个）"][: len(indicators) - 13], axis=1
    )).to_csv(path, index=False, encoding="gbk")
    cb = folder / "codebook.csv"
    cb.write_text(
        "indicator,name_zh,unit\npatrol_cars_count,巡逻车辆,count\ncctv_points_count,视频监控点,count\n"
        "police_rooms_count,社区警务室,count\nalarm_calls_count,报警电话,count\nfire_stations_count,消防站,count\n",
        encoding="utf-8",
    )
    t = time.perf_counter()
    pd.read_csv(path, encoding="gbk", dtype=str)
    floor = time.perf_counter() - t
    tracemalloc.start()
    t = time.perf_counter()
    res = read_extract(path, codebook=cb)
    ours = time.perf_counter() - t
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return ours, floor, peak, res.accounting.rows_in


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-ingest", action="store_true")
    args = ap.parse_args()
    load = bench_load(args.repeat)
    names = county_names()
    ours, floor = bench_resolve(names)
    print(f"registry load (fresh process, best of {args.repeat}): {load[0] * 1000:.0f} ms wall, "
          f"{load[1] * 1000:.0f} ms CPU")
    print(f"resolve_many, 1,000,000 names ({len(names)} distinct): {ours:.2f} s "
          f"(pandas map floor {floor:.2f} s, ratio {ours / floor:.1f})")
    if not args.skip_ingest:
        with tempfile.TemporaryDirectory() as d:
            t, f, peak, cells = bench_ingest(names, Path(d))
        print(f"read_extract, {cells:,} cells GBK CSV: {t:.2f} s (pandas.read_csv floor {f:.2f} s, "
              f"ratio {t / f:.1f}), peak traced memory {peak:.0f} MiB")


if __name__ == "__main__":
    main()
