"""The specification-curve joint test: cross-product draws against re-estimation, on the two
report notebooks' configurations.

Configurations (the notebooks' defaults, as ``govstats report`` runs them):

* ``multiverse_simulated``: SIMULATED panel (``simulate_panel(units_per_place=12,
  years=2009-2023, seed=20240601)``, 60 units x 15 years), the 864 specifications on
  ``police_per_10k`` (2 outcomes x 8 control subsets x 3 fixed-effect structures x 3
  cluster levels x 6 samples), units resampled, 499 draws;
* ``multiverse_nc_crime``: NC county crime panel (90 counties x 7 years), 3,072
  specifications (64 control subsets x 4 fixed-effect structures x 4 standard errors x 3
  samples), counties resampled, 499 draws.

Printed for each, in one run (BLAS held to one thread, as joint_test does):

1. **cross-products** (``joint_test(method="auto")``, the default): wall and CPU time of
   the whole call (re-estimating the observed curve included), min of ``--repeat``;
2. **re-estimation** (``method="resample"``, the path before): one run at ``--old-reps``
   draws (default 499; with fewer the time is extrapolated linearly, and said so), and
   the largest difference between the two paths' draws (same seed, same clusters drawn);
3. **pyfixest loop**: the obvious alternative, one ``pyfixest.feols`` call per
   specification on each resampled data set, timed on ``--pyfixest-draws`` draws
   (default 1) and **extrapolated** to 499 (the output says so).

Timings are noisy on a shared machine: the load average is printed before and after.

Run:  .venv/bin/python benchmarks/bench_joint_test.py [--repeat 3] [--old-reps 499] [--pyfixest-draws 1]
      [--only simulated|nc]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd

REPS = 499


def simulated():
    from govstats import multiverse, simulate

    seed = 20240601
    sim = simulate.simulate_panel(units_per_place=12, years=range(2009, 2024), seed=seed)
    spec = multiverse.MultiverseSpec(
        outcomes={"satisfaction (logit index)": "satisfaction_index", "satisfaction (%)": "satisfaction_pct"},
        treatments=["police_per_10k", "auxiliary_per_10k", "mediators_per_10k", "grid_density"],
        controls=["aux_village_reform", "rapid_police_reform", "grid_reform"],
        fixed_effects={"unit": "unit_id", "unit + year": "unit_id + year",
                       "unit + place x year": "unit_id + place_id^year"},
        clusters={"unit": "unit_id", "place (5 clusters)": "place_id", "year": "year"},
        samples={"all": None} | {f"without {p}": f"place_id != '{p}'" for p in sim.params["places"]},
    )
    res = multiverse.run_multiverse(spec, sim.data, bootstrap="never")
    return "multiverse_simulated", res.subset("treatment == 'police_per_10k'"), sim.data, "unit_id", seed


def nc_crime():
    from govstats import datasets, multiverse

    crime = datasets.load_nc_crime()
    spec = multiverse.MultiverseSpec(
        outcomes={"log crime rate": "lcrmrte"}, treatments={"log police per capita": "lpolpc"},
        controls=["lprbarr", "lprbconv", "lprbpris", "lavgsen", "ldensity", "lpctymle"],
        fixed_effects={"county": "unit", "county + year": "unit + time", "year": "time", "none (pooled)": "none"},
        clusters={"county": "unit", "year (7 clusters)": "time", "iid": "iid", "hetero (HC1)": "hetero"},
        samples={"all": None, "non-urban counties": "urban < 1", "1983-1987": "year > 1982"},
    )
    res = multiverse.run_multiverse(spec, crime, bootstrap="never")
    return "multiverse_nc_crime", res, crime, "county", 1


def timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def pyfixest_loop(res, data, resample: str, seed: int, draws: int) -> float:
    """One feols call per specification on each of the first ``draws`` resampled data sets."""
    import pyfixest as pf

    from govstats.multiverse.data import _flat

    flat, aliases = _flat(data)
    for alias, target in aliases.items():  # 'unit' and 'time' name the index levels
        flat[alias] = flat[target]
    spec = res.spec
    tab = res.tidy()
    col = aliases.get(resample, resample)
    relabel = {col} | {a for a, t in aliases.items() if t == col}
    codes, uniques = pd.factorize(flat[col], sort=True)
    G = len(uniques)
    order = np.argsort(codes, kind="stable")
    starts = np.searchsorted(codes[order], np.arange(G + 1))
    seeds = np.random.SeedSequence(seed).spawn(draws)
    outcomes, treatments = dict(spec.outcomes), dict(spec.treatments)
    fes = {f.label: f for f in spec.fixed_effects}
    cls = {c.label: c for c in spec.clusters}
    samples = dict(spec.samples)
    t0 = time.perf_counter()
    for ss in seeds:
        draw = np.random.default_rng(ss).integers(0, G, size=G)
        parts = []
        for j, g in enumerate(draw):
            part = flat.iloc[order[starts[g]: starts[g + 1]]].copy()
            for c in relabel:  # a drawn-twice cluster is new units
                part[c] = part[c].astype(str) + f"#{j}"
            parts.append(part)
        boot = pd.concat(parts, ignore_index=True)
        for _, row in tab.iterrows():
            controls = [c for c in spec.control_columns if row[f"control: {c}"]]
            fml = f"{outcomes[row['outcome']]} ~ " + " + ".join([treatments[row["treatment"]], *controls])
            fe = fes[row["fixed_effects"]]
            if fe.terms:
                fml += " | " + " + ".join("^".join(t) for t in fe.terms)
            cl = cls[row["cluster"]]
            vcov = cl.kind if cl.kind in ("iid", "hetero") else {"CRV1": "+".join(cl.columns)}
            s = samples[row["sample"]]
            d = boot if s is None else boot.query(s)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pf.feols(fml, d, vcov=vcov).se()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--old-reps", type=int, default=REPS)
    ap.add_argument("--pyfixest-draws", type=int, default=1)
    ap.add_argument("--only", choices=["simulated", "nc"], default=None)
    args = ap.parse_args()
    from threadpoolctl import threadpool_limits

    from govstats.multiverse import joint_test

    print(f"load average before: {os.getloadavg()}")
    makers = {"simulated": simulated, "nc": nc_crime}
    for key, make in makers.items():
        if args.only and key != args.only:
            continue
        name, res, data, resample, seed = make()
        kw = dict(resample=resample, seed=seed, progress=False)
        print(f"\n{name}: {res.n_specifications} specifications, {REPS} draws, clusters of {resample!r} resampled")
        with threadpool_limits(1, user_api="blas"):
            joint_test(res, data, reps=19, **kw)  # warm-up
            runs = [timed(lambda res=res, data=data, kw=kw: joint_test(res, data, reps=REPS, **kw))
                    for _ in range(args.repeat)]
            new = runs[-1][0]
            wall = min(r[1] for r in runs)
            cpu = min(r[2] for r in runs)
            print(f"  cross-products (method='auto'): wall {wall:6.2f} s, cpu {cpu:6.2f} s "
                  f"(min of {args.repeat}; all walls: {', '.join(f'{r[1]:.2f}' for r in runs)})")
            print(f"    path: {new.path}")
            old, w_old, c_old = timed(lambda res=res, data=data, kw=kw: joint_test(
                res, data, reps=args.old_reps, method="resample", **kw))
            scale = REPS / args.old_reps
            note = "" if args.old_reps == REPS else f" (timed on {args.old_reps} draws, EXTRAPOLATED to {REPS})"
            print(f"  re-estimation (method='resample'): wall {w_old * scale:6.2f} s, cpu {c_old * scale:6.2f} s{note}")
            k = min(args.old_reps, REPS)
            diff = np.nanmax(np.abs(new.draws.to_numpy()[:k] - old.draws.to_numpy()[:k]), axis=0)
            print(f"    largest |difference| of the draws' statistics: {dict(zip(new.draws.columns, diff, strict=True))}")
            print(f"    speed-up: {w_old * scale / wall:.0f}x wall, {c_old * scale / cpu:.0f}x cpu")
            if args.pyfixest_draws > 0:
                t = pyfixest_loop(res, data, resample, seed, args.pyfixest_draws)
                print(f"  pyfixest loop ({res.n_specifications} feols calls per draw): {t:.1f} s for "
                      f"{args.pyfixest_draws} draws, EXTRAPOLATED to {REPS}: {t / args.pyfixest_draws * REPS:.0f} s")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
