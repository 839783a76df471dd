"""Build data/raw/national_series.csv from two public mirrors of the NBS annual data portal.

Run once by hand (the output is committed; data/raw/ is immutable):

    python data/raw/make_national_series.py ZHUANG_REPO YIYUEZHUO_REPO

where ZHUANG_REPO is a git checkout of github.com/zhuang1234/National-Data and
YIYUEZHUO_REPO one of github.com/yiyuezhuo/National-Data (commits in
national_series.provenance.md). Values come from zhuang1234 where it has them
(2010-2021/2022, the newer snapshot) and from yiyuezhuo for earlier years; every year both
mirrors cover is compared and the result written into the ``cross_check`` column.
Nothing is interpolated or extrapolated: a year absent from both mirrors is absent.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pandas as pd

ZHUANG_COMMIT = "4b467dda7a0fbef29f937a60f08db0e6420da6a6"
YIYUEZHUO_COMMIT = "60fd721359dae33b1a873b17eb4186316ae0e19b"
DIR = "公共管理、社会保障及其他"

# series -> (NBS table, column, folder-relative path without extension, unit as printed, multiplier to base unit, base unit)
SERIES = {
    "people_mediation_committees": ("律师、公证和调解工作基本情况", "人民调解委员会", f"{DIR}/律师、公证和调解工作基本情况", "万个", 1e4, "committees"),
    "people_mediators": ("律师、公证和调解工作基本情况", "调解人员", f"{DIR}/律师、公证和调解工作基本情况", "万人", 1e4, "persons"),
    "disputes_mediated": ("律师、公证和调解工作基本情况", "调解民间纠纷", f"{DIR}/律师、公证和调解工作基本情况", "万件", 1e4, "disputes"),
    "criminal_cases_filed": ("公安机关立案的刑事案件", "公安机关立案的刑事案件合计", f"{DIR}/公安机关立案的刑事案件", "起", 1.0, "cases"),
    "public_order_cases_accepted": ("公安机关受理和查处治安案件数", "公安机关受理治安案件数合计", f"{DIR}/公安机关受理和查处治安案件数/公安机关受理治安案件数", "起", 1.0, "cases"),
    "population_year_end": ("总人口", "年末总人口", "人口/总人口", "万人", 1e4, "persons"),
}


def _show(repo: Path, commit: str, path: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "show", f"{commit}:{path}"], check=True,
                          capture_output=True).stdout


def _year_index(frame: pd.DataFrame) -> pd.DataFrame:
    frame.index = [int(str(i).removesuffix("年")) for i in frame.index]
    return frame


def main(zhuang: Path, yiyuezhuo: Path) -> None:
    rows = []
    for series, (table, column, rel, unit, mult, base) in SERIES.items():
        z = _year_index(pd.read_excel(io.BytesIO(_show(zhuang, ZHUANG_COMMIT, f"data_year/zb/{rel}.xlsx")), index_col=0))[column].dropna()
        y = _year_index(pd.read_csv(io.BytesIO(_show(yiyuezhuo, YIYUEZHUO_COMMIT, f"data/zb/{rel}.csv")), index_col=0))[column].dropna()
        for year in sorted(set(z.index) | set(y.index)):
            in_z, in_y = year in z.index, year in y.index
            value = float(z[year] if in_z else y[year])
            if in_z and in_y:
                a, b = float(z[year]), float(y[year])
                decimals = min(len(repr(a).split(".")[1]) if "." in repr(a) else 0,
                               len(repr(b).split(".")[1]) if "." in repr(b) else 0)
                if a == b:
                    check = "both mirrors agree"
                elif round(a, decimals) == round(b, decimals) or abs(a - b) <= 0.05 * 10 ** -max(decimals - 1, 0):
                    check = f"agree to the coarser printed precision (zhuang1234 {a:g}, yiyuezhuo {b:g})"
                else:
                    check = f"DIFFER: zhuang1234 {a:g}, yiyuezhuo {b:g} (zhuang1234 kept: later NBS revision)"
            else:
                check = "one mirror only (" + ("zhuang1234" if in_z else "yiyuezhuo") + ")"
            rows.append({
                "series": series, "year": year, "value": round(value * mult), "unit": base,
                "value_as_printed": value, "unit_as_printed": unit,
                "nbs_table": table, "nbs_column": column,
                "mirror": "zhuang1234/National-Data" if in_z else "yiyuezhuo/National-Data",
                "mirror_path": f"data_year/zb/{rel}.xlsx" if in_z else f"data/zb/{rel}.csv",
                "mirror_commit": ZHUANG_COMMIT if in_z else YIYUEZHUO_COMMIT,
                "cross_check": check,
            })
    out = pd.DataFrame(rows)
    out.to_csv(Path(__file__).with_name("national_series.csv"), index=False)
    print(out.groupby("series")["year"].agg(["min", "max", "count"]))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
