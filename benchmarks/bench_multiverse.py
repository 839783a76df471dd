"""Multiverse throughput: the fast path against one pyfixest call per specification, and on Dask.

One run prints, on the same SIMULATED panel (``simulate_panel(units_per_place=12,
years=2009-2023, seed=1)``: 60 units x 15 years = 900 rows):

1. **fast path**: ``run_multiverse(spec, data, engine="fast")`` on a multiverse of
   4,320 specifications (2 outcomes x 3 staffing/mediation treatments x 16 control
   subsets x 5 fixed-effect structures x 3 cluster levels x 3 samples), timed end to
   end (data checks, plan, demeaning, solves, the tidy table); median of
   ``--repeat`` runs after one warm-up;
2. **pyfixest loop**: a user's loop over a random ``--pyfixest-specs`` of those
   specifications, one ``pyfixest.feols(formula, data, vcov=...)`` call each, with
   the real column names, integer-coded ids (faster for pyfixest than strings) and
   the sample subsets cut beforehand (not timed); after one warm-up call;
3. the ratio, after checking that the loop's estimates and standard errors equal the
   fast path's (largest relative difference printed; must be below 1e-10);
   (1-3 with ``bootstrap="never"``: estimation only)
3b. **wild cluster bootstrap for every specification**: the same 4,320 specifications
   with ``bootstrap="always"`` and ``reps=9999`` (every specification gets a wild
   cluster restricted bootstrap p: 5 place clusters Webb-enumerated, 7,776 draws; 15
   year and 60 unit clusters Rademacher, 9,999 random draws), and with
   ``bootstrap="auto"`` (only the few-cluster ones), in this process with BLAS held to
   one thread (one of the two cores); against a loop over a random sample of
   ``--boot-specs`` specifications calling pyfixest's ``feols(...).wildboottest(reps=9999)``
   with the same weight type, **timed on the sample and extrapolated** to all 4,320
   (the output says so); the sample's p-values must agree within Monte Carlo error;
   the "unit + place x year" specifications are left out of the sample (pyfixest's
   dummy design for them is rank deficient);
4. **Dask**: a multiverse of 256,000 specifications (3 outcomes x 4 treatments x up to
   128 control subsets x 5 fixed-effect structures x 5 standard-error choices x 8
   samples: all, two later windows, and leave one place out)
   run in this process and on a ``LocalCluster`` with 2 worker processes (one
   thread each), with Dask's default worker environment and with glibc's malloc
   defaults restored; cluster start-up is timed separately; the tables must agree.

Run:  .venv/bin/python benchmarks/bench_multiverse.py [--repeat 3] [--pyfixest-specs 300] [--boot-specs 24]
      [--quick] [--no-dask] [--no-estimation]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import statistics
import time
import warnings

import dask
import numpy as np
import pandas as pd


def panel() -> pd.DataFrame:
    from govstats.simulate import simulate_panel

    data = simulate_panel(units_per_place=12, years=range(2009, 2024), seed=1).data.copy()
    data.attrs["simulated"] = True
    return data


def main_spec():
    from govstats.multiverse import MultiverseSpec

    return MultiverseSpec(
        outcomes=["satisfaction_index", "satisfaction_pct"],
        treatments=["police_per_10k", "auxiliary_per_10k", "mediators_per_10k"],
        controls=["grid_density", "aux_village_reform", "rapid_police_reform", "grid_reform"],
        fixed_effects={"unit": "unit_id", "unit + year": "unit_id + year", "year": "year",
                       "unit + place x year": "unit_id + place_id^year", "none": "none"},
        clusters={"unit": "unit_id", "place": "place_id", "year": "year"},
        samples={"all": None, "without Futian": "place_id != 'futian'", "2012 on": "year >= 2012"},
    )


def big_spec():
    from govstats.multiverse import MultiverseSpec
    from govstats.simulate import PLACES

    treatments = ["police_per_10k", "auxiliary_per_10k", "mediators_per_10k", "grid_density"]
    return MultiverseSpec(
        outcomes=["satisfaction_index", "satisfaction_pct", "mediation_success_pct"],
        treatments=treatments,
        controls=[*treatments, "aux_village_reform", "rapid_police_reform", "grid_reform",
                  "mediation_success_pct"],
        fixed_effects={"unit": "unit_id", "unit + year": "unit_id + year", "year": "year",
                       "unit + place x year": "unit_id + place_id^year", "none": "none"},
        clusters={"unit": "unit_id", "place": "place_id", "year": "year", "hetero": "hetero", "iid": "iid"},
        samples={"all": None, "2012 on": "year >= 2012", "2016 on": "year >= 2016"}
        | {f"without {p}": f"place_id != '{p}'" for p in PLACES},
    )


def _pyfixest_jobs(table: pd.DataFrame, spec, data: pd.DataFrame, rows: np.ndarray) -> list[tuple]:
    """One (formula, sample, cluster columns, treatment, table row) per specification, as a user writes them."""
    flat = data.copy()
    masks = {lab: (np.ones(len(flat), bool) if q is None else flat.eval(q).to_numpy()) for lab, q in spec.samples}
    for c in ("unit_id", "place_id"):
        flat[c] = pd.factorize(flat[c], sort=True)[0]
    samples = {lab: flat[m] for lab, m in masks.items()}
    outcomes, treatments = dict(spec.outcomes), dict(spec.treatments)
    fes = {f.label: f for f in spec.fixed_effects}
    clusters = {c.label: c for c in spec.clusters}
    jobs = []
    for i in rows:
        r = table.loc[i]
        ctrl = [c for c in spec.control_columns if r[f"control: {c}"]]
        fml = f"{outcomes[r['outcome']]} ~ " + " + ".join([treatments[r["treatment"]], *ctrl])
        fe = fes[r["fixed_effects"]]
        if fe.terms:
            fml += " | " + " + ".join("^".join(t) for t in fe.terms)
        jobs.append((fml, samples[r["sample"]], clusters[r["cluster"]].columns, treatments[r["treatment"]], r))
    return jobs


def pyfixest_loop(table: pd.DataFrame, spec, data: pd.DataFrame, rows: np.ndarray):
    """The loop a user would write: one feols call per specification."""
    import pyfixest as pf

    jobs = [(fml, d, {"CRV1": "+".join(cols)}, treat) for fml, d, cols, treat, _ in
            _pyfixest_jobs(table, spec, data, rows)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pf.feols(jobs[0][0], jobs[0][1], vcov=jobs[0][2])  # warm-up (numba/JIT, imports)
        out = np.empty((len(jobs), 2))
        t0 = time.perf_counter()
        for j, (fml, d, vcov, treat) in enumerate(jobs):
            fit = pf.feols(fml, d, vcov=vcov, fixef_tol=1e-12)
            out[j] = fit.coef()[treat], fit.se()[treat]
        seconds = time.perf_counter() - t0
    return seconds, out


def pyfixest_boot_loop(table: pd.DataFrame, spec, data: pd.DataFrame, rows: np.ndarray, reps: int):
    """The loop a user would write for bootstrap p-values: feols, then wildboottest, per specification."""
    import pyfixest as pf

    from govstats.inference import WEBB_BELOW_G

    jobs = [(fml, d, cols[0], treat, "webb" if r["n_clusters"] < WEBB_BELOW_G else "rademacher")  # govstats' "auto"
            for fml, d, cols, treat, r in _pyfixest_jobs(table, spec, data, rows)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fml, d, cl, treat, kind = jobs[0]
        pf.feols(fml, d, vcov={"CRV1": cl}).wildboottest(param=treat, reps=reps, seed=1, weights_type=kind)  # warm-up
        p = np.empty(len(jobs))
        t0 = time.perf_counter()
        for j, (fml, d, cl, treat, kind) in enumerate(jobs):
            fit = pf.feols(fml, d, vcov={"CRV1": cl}, fixef_tol=1e-12)
            p[j] = float(fit.wildboottest(param=treat, reps=reps, seed=j + 1, weights_type=kind)["Pr(>|t|)"])
        seconds = time.perf_counter() - t0
    return seconds, p


def bootstrap_section(spec, data, n_sample: int, repeat: int, reps: int = 9999) -> None:
    from govstats.multiverse import run_multiverse

    print()
    print(f"wild cluster bootstrap p for every specification: {spec.n_specifications:,} specifications x "
          f"reps = {reps:,} (BLAS held to one thread: one of the machine's cores)")
    t_all, res = timed(lambda: run_multiverse(spec, data, engine="fast", bootstrap="always", reps=reps), repeat)
    t_auto, res_auto = timed(lambda: run_multiverse(spec, data, engine="fast", bootstrap="auto", reps=reps), repeat)
    t_none, _ = timed(lambda: run_multiverse(spec, data, engine="fast", bootstrap="never"), repeat)
    table = res.tidy()
    assert table["boot_p"].notna().all()
    draws = table.groupby("n_clusters")["boot_reps"].first().to_dict()
    pool = np.flatnonzero((table["fixed_effects"] != "unit + place x year").to_numpy())
    rows = np.sort(np.random.default_rng(11).choice(pool, n_sample, replace=False))
    t_pf, p_pf = pyfixest_boot_loop(table, spec, data, rows, reps)
    p = table.loc[rows, "boot_p"].to_numpy()
    se = np.sqrt(2 * np.maximum(p * (1 - p), 1e-4) / reps)
    z = np.abs(p - p_pf) / se
    assert z.max() < 5, f"bootstrap p-values differ from pyfixest's beyond Monte Carlo error (max {z.max():.1f} se)"
    per_spec = t_pf / n_sample
    t_extra = per_spec * len(table)
    n_auto = res_auto.timing["n_bootstrapped"]
    lines = [("govstats, bootstrap='always' (every specification)", len(table), t_all),
             (f"govstats, bootstrap='auto' ({n_auto} with < 30 clusters)", len(table), t_auto),
             ("govstats, bootstrap='never' (estimation only)", len(table), t_none),
             ("pyfixest feols + wildboottest loop, timed sample", n_sample, t_pf),
             ("pyfixest loop EXTRAPOLATED to all (sample time / n x N)", len(table), t_extra)]
    print(f"{'':58s} {'specs':>7s} {'seconds':>9s}")
    for name, n, t in lines:
        print(f"{name:58s} {n:7,d} {t:9.2f}")
    print(f"ratio pyfixest loop (extrapolated from {n_sample} timed specifications) / govstats bootstrap='always': "
          f"{t_extra / t_all:,.0f}x;  target <= 30 s: {'met' if t_all <= 30 else 'NOT met'} ({t_all:.1f} s)")
    print(f"draws per specification by number of clusters: {draws}; agreement on the sample: largest "
          f"|p - p_pyfixest| = {np.abs(p - p_pf).max():.4f} ({z.max():.1f} Monte Carlo standard errors)")


def timed(fn, repeat: int):
    fn()
    times = []
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--pyfixest-specs", type=int, default=300)
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--no-dask", action="store_true")
    parser.add_argument("--boot-specs", type=int, default=24)
    parser.add_argument("--no-estimation", action="store_true", help="skip sections 1-3 (estimation only)")
    args = parser.parse_args()
    from govstats.multiverse import run_multiverse

    data = panel()
    spec = main_spec()
    n_pf = 40 if args.quick else args.pyfixest_specs
    print(f"panel: SIMULATED, {data['unit_id'].nunique()} units x {data['year'].nunique()} years = {len(data)} rows")
    print(f"multiverse: {spec.n_specifications:,} specifications")

    bootstrap_section(spec, data, 6 if args.quick else args.boot_specs, args.repeat)
    if args.no_estimation:
        return
    print()
    t_fast, res = timed(lambda: run_multiverse(spec, data, engine="fast", bootstrap="never"), args.repeat)
    table = res.tidy()
    assert (table["engine"] == "fast").all()
    rows = np.sort(np.random.default_rng(7).choice(len(table), n_pf, replace=False))
    t_pf, ref = pyfixest_loop(table, spec, data, rows)
    got = table.loc[rows, ["estimate", "std_error"]].to_numpy()
    rel = np.abs(got - ref) / np.abs(ref)
    assert rel.max() < 1e-10, f"fast path and pyfixest differ by {rel.max():.2e}"
    fast_rate = len(table) / t_fast
    pf_rate = n_pf / t_pf
    lines = [
        ("fast path (all specifications, end to end)", len(table), t_fast, fast_rate),
        ("pyfixest, one feols call per specification", n_pf, t_pf, pf_rate),
    ]
    print()
    print(f"{'':46s} {'specs':>9s} {'seconds':>9s} {'specs/s':>11s}")
    for name, n, t, rate in lines:
        print(f"{name:46s} {n:9,d} {t:9.3f} {rate:11,.0f}")
    print(f"ratio fast / pyfixest: {fast_rate / pf_rate:,.0f}x   (identical estimates: largest relative "
          f"difference {rel[:, 0].max():.1e} in estimates, {rel[:, 1].max():.1e} in standard errors, "
          f"over {n_pf} specifications)")

    if args.no_dask:
        return
    big = big_spec()
    if args.quick:
        big = dataclasses.replace(big, outcomes=big.outcomes[:1], fixed_effects=big.fixed_effects[:2])
    print()
    print(f"large multiverse: {big.n_specifications:,} specifications")
    t0 = time.perf_counter()
    local = run_multiverse(big, data, engine="fast", progress=False, bootstrap="never")
    t_local = time.perf_counter() - t0
    from distributed import Client, LocalCluster

    logging.getLogger("distributed").setLevel(logging.WARNING)  # start/stop chatter
    rows_out = [("fast path, this process", t_local)]
    for label, environ in (("Dask LocalCluster, 2 workers", {}),
                           ("  same, glibc malloc defaults", {"MALLOC_TRIM_THRESHOLD_": None})):
        with dask.config.set({f"distributed.nanny.pre-spawn-environ.{k}": v for k, v in environ.items()}):
            t0 = time.perf_counter()
            with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                              silence_logs=logging.WARNING) as cluster, Client(cluster) as client:
                t_start = time.perf_counter() - t0
                run_multiverse(big, data, engine="fast", scheduler=client, progress=False, bootstrap="never")
                t0 = time.perf_counter()
                on_dask = run_multiverse(big, data, engine="fast", scheduler=client, progress=False,
                                         bootstrap="never")
                rows_out.append((label, time.perf_counter() - t0))
        pd.testing.assert_frame_equal(on_dask.tidy(), local.tidy())
    n = big.n_specifications
    print(f"{'':46s} {'specs':>9s} {'seconds':>9s} {'specs/s':>11s}")
    for label, t in rows_out:
        print(f"{label:46s} {n:9,d} {t:9.3f} {n / t:11,.0f}")
    print(f"(LocalCluster start-up {t_start:.1f} s not included; tables identical to the in-process run; "
          f"{len(big.fixed_effects) * len(big.samples)} demeanings, tasks of up to 20,000 specifications. "
          "Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 in its workers, which makes numpy's large "
          "temporaries page-fault; the last line unsets it through dask.config)")


if __name__ == "__main__":
    main()
