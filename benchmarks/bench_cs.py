"""Callaway-Sant'Anna on mpdta with the multiplier bootstrap: govstats vs csdid (the other
Python port compared with R did). Run: .venv/bin/python benchmarks/bench_cs.py

Both: DR, never-treated controls, no covariates, 999 bootstrap draws (csdid: biters=999,
cband), plus the dynamic aggregation. Best of 3 after a warm-up; ratio = csdid / govstats.
csdid is not a govstats dependency: `pip install csdid` to run this.
"""

import time
import warnings
from pathlib import Path

import pandas as pd

from govstats.did_cs import CSSpec, callaway_santanna

data = pd.read_csv(Path(__file__).resolve().parents[1] / "tests" / "data" / "did" / "mpdta.csv")


def ours():
    r = callaway_santanna(CSSpec("lemp", cohort="first.treat", unit="countyreal", reps=999), data)
    return r.aggregate("dynamic")


def theirs():
    from csdid.att_gt import ATTgt

    a = ATTgt(yname="lemp", tname="year", idname="countyreal", gname="first.treat", data=data,
              control_group=["nevertreated"], biters=999, cband=True)
    a.fit(est_method="dr", bstrap=True)
    a.aggte(typec="dynamic", biters=999)
    return a


def best(fn, n=3):
    fn()
    out = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import contextlib
    import io

    t_ours = best(ours)
    with contextlib.redirect_stdout(io.StringIO()):
        t_theirs = best(theirs)
print(f"govstats (diff-diff engine): {t_ours:.3f} s; csdid 0.4.3: {t_theirs:.3f} s; ratio csdid/govstats = {t_theirs / t_ours:.1f}")
