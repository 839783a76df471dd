"""Time the heavy computations of notebooks/reform_event_study.ipynb, new code against the
code at a git revision (default ``main``), in the same run, on one core.

Run: ``.venv/bin/python benchmarks/bench_event_study.py [--rev main] [--repeats 3]``

For both report configurations in reports.yml (``reform_event_study_simulated``: unit
clusters; ``..._city_clusters``: ``cluster="place_id"`` and the five places, so the wild
cluster bootstrap runs) it times, as the notebook runs them (SIMULATED panel):

* ``setup``: ``did.event_study`` with TWFE, Sun-Abraham, did2s and Callaway-Sant'Anna;
* ``sd``: ``honestdid.sensitivity_sd`` (four M), ``original_ci`` and ``breakdown_sd``;
* ``rm``: ``honestdid.sensitivity_rm`` (Mbar 0..2) and ``breakdown_rm``.

Each side runs in its own process (the old one from ``git archive <rev>``) with one BLAS and
numba thread; pyfixest and diff-diff are imported before the clock starts (their import is
timed on its own: a cold notebook pays it once). Times are the minimum of ``--repeats`` runs,
with the module-level caches of govstats.honestdid emptied before each run (so a repeat
costs what a fresh kernel pays). The HonestDiD cells of both sides get the same ``(b, V)``
(the old side's), and the script checks that they give the same numbers. Both sides run with
``PYTHONHASHSEED=0``: pyfixest's did2s moves in the 7th digit with the string-hash seed, so
without it even two runs of the same code differ in the did2s rows.
"""

from __future__ import annotations

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "reform_event_study_simulated": {},
    "reform_event_study_simulated_city_clusters": {
        "cluster": "place_id", "places": ["hengyang", "shaoyang", "quzhou", "dongcheng", "futian"]},
}
ONE_CORE = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1",
            # pyfixest's did2s moves in the 7th digit with Python's string-hash seed (set order):
            # a fixed seed makes both sides' event studies comparable to the last bit
            "PYTHONHASHSEED": "0"}


def worker(config: str, repeats: int, out: str, inputs: str | None) -> None:
    """One side: the notebook's parameters cell with the run's parameters, then the timed cells."""
    import warnings

    t = time.perf_counter()
    import diff_diff  # noqa: F401
    import pyfixest as pf

    pf.did2s  # noqa: B018  (pyfixest imports its estimation modules lazily)
    t_import = time.perf_counter() - t
    import govstats as gs
    from govstats import did, honestdid

    p = {"reform": "grid", "outcome": "satisfaction_index", "places": ["hengyang", "quzhou", "dongcheng"],
         "units_per_place": 150, "first_year": 2004, "last_year": 2023, "seed": 20240601, "long_run_effect": 0.5,
         "phase_in": 0.5, "cohort_decay": 0.25, "effect_heterogeneity": 0.0, "leads": 4, "lags": 8,
         "cluster": "unit_id", "control_staffing": True, "reps": 9999}
    p.update(CONFIGS[config])
    sim = gs.simulate.simulate_panel(
        places=p["places"], units_per_place=p["units_per_place"], seed=p["seed"],
        years=range(p["first_year"], p["last_year"] + 1),
        effects=gs.simulate.TrueEffects(phase_in=p["phase_in"], cohort_decay=p["cohort_decay"],
                                        effect_heterogeneity=p["effect_heterogeneity"],
                                        **{f"tau_{p['reform']}": p["long_run_effect"]}))
    reform = p["reform"]
    staffing = ["police_per_10k", "auxiliary_per_10k", "mediators_per_10k", "grid_density"]
    controls = [f"{r}_reform" for r in gs.simulate.REFORMS if r != reform and sim.data[f"{r}_reform"].any()]
    controls += staffing if p["control_staffing"] else []
    spec = did.EventStudySpec(p["outcome"], cohort=f"{reform}_year", treatment=f"{reform}_reform",
                              cluster=p["cluster"], leads=p["leads"], lags=p["lags"], controls=controls,
                              reps=p["reps"], seed=0, estimators=("twfe", "sun_abraham", "did2s", "cs"))

    def clear_caches():
        for name in ("_FLCI_CACHE", "_CANDIDATES", "_RAYS", "_DRAWS"):
            getattr(honestdid, name, {}).clear()

    times: dict[str, list[float]] = {"setup": [], "sd": [], "rm": []}
    b = V = None
    for _ in range(repeats):
        clear_caches()
        t = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = did.event_study(spec, sim.data)
        times["setup"].append(time.perf_counter() - t)
        if b is None:
            cov = res.covariances["did2s"]
            pre = [e for e in cov.index if e < -1]
            post = [e for e in cov.index if e >= 0]
            b = res.coef()["did2s"].reindex(pre + post).to_numpy()
            V = cov.loc[pre + post, pre + post].to_numpy()
            if inputs:  # the other side's (b, V): the HonestDiD cells then see the very same input
                with open(inputs, "rb") as f:
                    b, V = pickle.load(f)["bV"]
        kw = {"num_pre": len(pre), "num_post": len(post)}
        sd0 = float(V[len(pre), len(pre)]) ** 0.5
        t = time.perf_counter()
        sens = honestdid.sensitivity_sd(b, V, Mvec=[0, 0.25 * sd0, 0.5 * sd0, sd0], **kw)
        orig = honestdid.original_ci(b, V, **kw)
        bd = honestdid.breakdown_sd(b, V, **kw)
        times["sd"].append(time.perf_counter() - t)
        t = time.perf_counter()
        sens_rm = honestdid.sensitivity_rm(b, V, Mbarvec=[0, 0.5, 1, 1.5, 2], **kw)
        bd_rm = honestdid.breakdown_rm(b, V, **kw)
        times["rm"].append(time.perf_counter() - t)
    with open(out, "wb") as f:
        pickle.dump({"times": times, "import": t_import, "bV": (b, V), "att": res.att, "tidy": res.tidy(),
                     "pretrends": res.pretrends, "sens": sens, "orig": orig, "bd": bd, "sens_rm": sens_rm,
                     "bd_rm": bd_rm}, f)


def run_side(src: Path, config: str, repeats: int, out: Path, inputs: Path | None) -> dict:
    env = {**os.environ, **ONE_CORE, "PYTHONPATH": str(src)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", config, "--repeats", str(repeats),
           "--out", str(out)] + (["--inputs", str(inputs)] if inputs else [])
    subprocess.run(cmd, env=env, check=True, cwd=src)
    with open(out, "rb") as f:
        return pickle.load(f)


def compare(old: dict, new: dict) -> list[str]:
    import numpy as np

    lines = []
    same_hd = (old["sens"].equals(new["sens"]) and old["sens_rm"].equals(new["sens_rm"])
               and old["bd"] == new["bd"] and old["bd_rm"] == new["bd_rm"] and old["orig"] == new["orig"])
    lines.append(f"  HonestDiD numbers (same b, V): {'identical' if same_hd else 'DIFFER'}")
    if not same_hd:
        for k in ("sens", "sens_rm"):
            d = (old[k][["lb", "ub"]] - new[k][["lb", "ub"]]).abs().to_numpy().max()
            lines.append(f"    {k}: max |diff| {d:.3g}")
        lines.append(f"    breakdown_sd {old['bd']!r} vs {new['bd']!r}; breakdown_rm {old['bd_rm']!r} vs {new['bd_rm']!r}")
    for k in ("att", "tidy", "pretrends"):
        x, y = old[k], new[k]
        if x.equals(y):
            lines.append(f"  event_study {k}: identical")
            continue
        num = x.select_dtypes("number").columns
        d = np.nanmax(np.abs((x[num] - y[num]).to_numpy(dtype=float)) / np.maximum(1.0, np.abs(x[num].to_numpy(
            dtype=float))))
        lines.append(f"  event_study {k}: DIFFER, max |diff| / max(1, |old|) = {d:.2g}")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rev", default="main", help="git revision of the old code (default main)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--only", choices=list(CONFIGS), help="one configuration")
    ap.add_argument("--worker")
    ap.add_argument("--out")
    ap.add_argument("--inputs")
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.repeats, a.out, a.inputs)
        return
    print("load before:", os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        old_src = Path(tmp) / "old"
        old_src.mkdir()
        archive = subprocess.run(["git", "archive", a.rev, "govstats"], cwd=ROOT, check=True, capture_output=True)
        subprocess.run(["tar", "-x", "-C", str(old_src)], input=archive.stdout, check=True)
        (old_src / "data").symlink_to(ROOT / "data")  # the place registry the simulation reads
        for config in [a.only] if a.only else CONFIGS:
            old = run_side(old_src, config, a.repeats, Path(tmp) / f"old_{config}.pkl", None)
            new = run_side(ROOT, config, a.repeats, Path(tmp) / f"new_{config}.pkl", Path(tmp) / f"old_{config}.pkl")
            print(f"\n{config} (SIMULATED panel; min of {a.repeats}, seconds; first run in brackets)")
            print(f"  {'cell':<8}{'old (' + a.rev + ')':>20}{'new':>20}{'speed-up':>10}")
            tot_o = tot_n = 0.0
            for cell in ("setup", "sd", "rm"):
                to, tn = min(old["times"][cell]), min(new["times"][cell])
                tot_o, tot_n = tot_o + to, tot_n + tn
                print(f"  {cell:<8}{to:>10.2f} [{old['times'][cell][0]:6.2f}]{tn:>10.2f} [{new['times'][cell][0]:6.2f}]"
                      f"{to / tn:>9.1f}x")
            print(f"  {'total':<8}{tot_o:>20.2f}{tot_n:>20.2f}{tot_o / tot_n:>9.1f}x")
            print(f"  (import pyfixest + diff-diff, not in the cells above: old {old['import']:.2f} s, "
                  f"new {new['import']:.2f} s)")
            print("\n".join(compare(old, new)))
    print("\nload after:", os.getloadavg())


if __name__ == "__main__":
    main()
