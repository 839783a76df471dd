"""Time the report figures (build + save + inline display), this tree against another revision.

Usage::

    .venv/bin/python benchmarks/bench_figures.py                 # vs main, every run, min of 3
    .venv/bin/python benchmarks/bench_figures.py --compare HEAD~1 --only place_profiles --repeat 5
    .venv/bin/python benchmarks/bench_figures.py --profile mediation_network   # cProfile, this tree

What is timed is what a report run does for its figures: the code of the notebooks' figure
cells (copied below, with the model fits left out), run cell by cell in an IPython shell with
matplotlib's inline backend, as papermill's kernel runs them, so the inline display of each
figure (``display(fig)`` in :func:`govstats.plotting.save_figure`, or the backend's flush at
the end of a cell) is part of it, and so are the files written (300-dpi PNG and PDF).

The inputs (fitted results, networks, tables) are made once per run of ``reports.yml`` by
executing its notebook's cells with the run's parameters, bootstrap and Monte Carlo draws
cut down (they change numbers, not the figures' make-up), and cached in
``~/.cache/govstats/bench_figures`` (``--refresh`` remakes them). Each run's figures are then
timed in a fresh process (first use of the CJK font, seaborn's theme, ... included, as in a
report's kernel), for the code at ``--compare`` (exported with ``git archive``, no checkout
changes) and for this tree, alternating, ``--repeat`` times; the minimum CPU time counts
(the machine is shared). Numbers are CPU seconds of the figure process.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "govstats" / "bench_figures"
INLINE = "module://matplotlib_inline.backend_inline"


# notebook stem -> names its figure cells read, and the figure cells (name, code) as in the notebook
FIGURES: dict[str, tuple[list[str], list[tuple[str, str]]]] = {
    "place_profiles": (["comparison", "language"], [
        ("per_capita", """
fig = gs.plotting.per_capita_chart(comparison, title=gs.plotting.bilingual("Staff, volunteers and grids per 10,000 residents", "每万常住人口的工作人员、志愿者和网格", language), language=language)
gs.plotting.save_figure(fig, "per_capita")
"""),
    ]),
    "mediation_network": (["networks", "caseload", "language", "comparison", "sensitivity"], [
        ("network_* (one per place)", """
for place_id, graph in networks.items():
    network.draw_network(graph, caseload=caseload, language=language)
    display(Markdown(gs.plotting.save_figure(plt.gcf(), f"network_{place_id}")))
"""),
        ("where_disputes_end", """
fig = network.resolution_chart(comparison, language=language)
gs.plotting.save_figure(fig, "where_disputes_end")
"""),
        ("sensitivity_village_rate", """
fig = network.sensitivity_chart(sensitivity, language=language)
gs.plotting.save_figure(fig, "sensitivity_village_rate")
"""),
    ]),
    "panel_regression": (["result", "labels", "truth", "outcome", "estimator"], [
        ("coefficients", """
ax = gs.tables.coef_plot(result, labels=labels, truth=truth,
                        title=f"{labels.get(outcome, outcome)}: {estimator}, effects {result.effects_label}")
gs.plotting.save_figure(ax.figure, "coefficients")
"""),
    ]),
    "reform_event_study": (["res", "truth", "true_att", "control_staffing", "reform", "outcome", "sens",
                            "sens_rm", "orig"], [
        ("event_study", """
fig = did.plot_event_study(res, truth if control_staffing else None,
                           title=f"{reform} reform and {outcome}, by year since adoption")
gs.plotting.save_figure(fig, "event_study")
"""),
        ("att", """
fig = did.plot_att(res, true_att if control_staffing else None)
gs.plotting.save_figure(fig, "att")
"""),
        ("sensitivity M (inline only)", "fig = plot_sensitivity(sens, orig, simulated=True)\n"),
        ("sensitivity Mbar (inline only)", "fig = plot_sensitivity(sens_rm, orig, parameter='Mbar', simulated=True)\n"),
    ]),
    "causal_mediation": (["res", "truth", "labels", "treatment", "mediator"], [
        ("direct_indirect", """
fig = mediation.plot_mediation(res, truth, labels=labels,
                               title=f"SIMULATED: how much of the effect of {labels.get(treatment, treatment)} "
                               f"runs through {labels.get(mediator, mediator)}?")
gs.plotting.save_figure(fig, "direct_indirect")
"""),
        ("sensitivity_rho", """
fig = mediation.plot_sensitivity(res)
gs.plotting.save_figure(fig, "sensitivity_rho")
"""),
    ]),
    "multiverse_simulated": (["res", "focus", "index_focus", "focus_treatment", "sim"], [
        ("spec_curve", """
fig = focus.plot(title=f"SIMULATED: coefficient on {focus_treatment}, {focus.n_specifications} specifications")
gs.plotting.save_figure(fig, "spec_curve")
"""),
        ("spec_curve_truth", """
fig_truth = index_focus.plot(title=f"SIMULATED: coefficient on {focus_treatment}, logit index only, {index_focus.n_specifications} specifications")
gs.plotting.mark_truth(fig_truth.axes[0], sim.truth.coefficients[focus_treatment])
gs.plotting.save_figure(fig_truth, "spec_curve_truth")
"""),
        ("spec_curve_all", """
fig_all = res.plot(title=f"SIMULATED: all {res.n_specifications} specifications, every staffing measure")
gs.plotting.save_figure(fig_all, "spec_curve_all")
"""),
    ]),
    "multiverse_nc_crime": (["res"], [
        ("spec_curve", """
fig = res.plot(title=f"Police per capita and crime, NC counties 1981-87: {res.n_specifications} specifications")
gs.plotting.save_figure(fig, "spec_curve")
"""),
    ]),
    "synthetic_control": (["results", "simulated"], [
        ("did / sc / sdid (one per estimator)", """
for est, res in results.items():
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.5))
    synth_plots.plot_paths(res, ax=axes[0], simulated=simulated)
    synth_plots.plot_unit_weights(res, ax=axes[1], simulated=simulated)
    synth_plots.plot_placebo(res, ax=axes[2], simulated=simulated)
    fig.tight_layout()
    display(Markdown(gs.plotting.save_figure(fig, est)))
"""),
    ]),
    "national_mediation": (["ratios"], [
        ("national_ratios", """
fig, axes = plt.subplots(1, 3, figsize=(17, 4.5))
ratios["mediators_per_committee"].plot(ax=axes[0], marker="o", title="People's mediators per committee")
ratios["disputes_per_mediator"].plot(ax=axes[1], marker="o", title="Disputes mediated per mediator per year")
ratios[["disputes_mediated_per_10k_residents", "criminal_cases_per_10k_residents",
        "public_order_cases_per_10k_residents"]].plot(ax=axes[2], marker="o",
                                                     title="Per 10k residents: mediated disputes and police cases")
gs.plotting.legend_outside(axes[2], None, ["disputes mediated", "criminal cases", "public-order cases"], where="below")
for ax in axes:
    ax.set_xlabel("year")
fig.suptitle("China, national totals (NBS; observed)")
fig.tight_layout()
gs.plotting.save_figure(fig, "national_ratios")
"""),
    ]),
    "castle_event_study": (["res"], [
        ("castle_event_study", """
fig = did.plot_event_study(res, title="Castle-doctrine laws and log homicide, by year since adoption (observed)")
gs.plotting.save_figure(fig, "castle_event_study")
"""),
        ("castle_att", """
fig = did.plot_att(res, title="Castle-doctrine laws: average effect on log homicide (observed)")
gs.plotting.save_figure(fig, "castle_att")
"""),
    ]),
}

# draws that change the numbers, not the figures' make-up: fewer, so that the inputs come quickly
FEWER_DRAWS = {"reps": 19, "boot_reps": 99, "cs_reps": 0}
KEEP_REPS = {"synthetic_control"}  # reps=None: every donor once (the placebo histogram's size)


def _runs(only: list[str]) -> list:
    sys.path.insert(0, str(REPO))
    from govstats.report.config import load_config

    runs = [r for r in load_config(REPO / "reports.yml").runs if r.notebook.stem in FIGURES]
    if only:
        runs = [r for r in runs if r.name in only or r.notebook.stem in only or r.entry in only]
    return runs


def _shell():
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Shell(InteractiveShell):
        def enable_gui(self, gui=None):  # the kernel's inline backend needs no event loop
            pass

    shell = Shell.instance()
    shell.display_pub = CapturingDisplayPublisher()
    shell.display_pub.shell = shell
    return shell


def _run(shell, code: str) -> None:
    result = shell.run_cell(code, store_history=False, silent=False)
    if not result.success:
        raise SystemExit(f"cell failed:\n{code}\n{result.error_in_exec or result.error_before_exec}")


# ---------------------------------------------------------------- inputs (one process per run)


def prepare_run(name: str, out: Path) -> None:
    """Execute the run's notebook (fewer draws) and pickle what its figure cells read."""
    import cloudpickle
    import matplotlib

    matplotlib.use("Agg")
    run = next(r for r in _runs([]) if r.name == name)
    stem = run.notebook.stem
    nb = json.loads(run.notebook.read_text(encoding="utf-8"))
    cells = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    params = dict(run.parameters)
    if stem not in KEEP_REPS:
        defaults = cells[0]
        params.update({k: v for k, v in FEWER_DRAWS.items() if f"\n{k} =" in f"\n{defaults}"})
    shell = _shell()
    os.environ["GOVSTATS_RUN"] = f"bench-prepare-{name}"
    _run(shell, cells[0])
    _run(shell, "\n".join(f"{k} = {v!r}" for k, v in params.items()))
    os.environ["GOVSTATS_ROOT"] = str(REPO)
    import govstats.paths

    tmp = Path(tempfile.mkdtemp(prefix="bench-figures-prepare-"))
    govstats.paths.reports_dir = lambda: tmp  # figures of the preparing run go nowhere
    for code in cells[1:]:
        _run(shell, code)
    shutil.rmtree(tmp, ignore_errors=True)
    names, _ = FIGURES[stem]
    ns = {k: shell.user_ns[k] for k in names}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(cloudpickle.dumps(ns))


def prepare(runs: list, refresh: bool) -> dict[str, Path]:
    paths = {}
    for run in runs:
        path = CACHE / f"{run.name}.pkl"
        if refresh or not path.is_file():
            print(f"preparing inputs of {run.name} ...", flush=True)
            t0 = time.monotonic()
            subprocess.run([sys.executable, __file__, "--prepare-run", run.name, "--out", str(path)],
                           check=True, env={**os.environ, "MPLBACKEND": "Agg"})
            print(f"  {time.monotonic() - t0:.0f} s", flush=True)
        paths[run.name] = path
    return paths


# ---------------------------------------------------------------- timing (one process per run and tree)


def time_run(tree: Path, stem: str, inputs: Path, out: Path, profile: Path | None = None) -> None:
    """In this process: load the inputs, then time each figure cell of the run (CPU and wall)."""
    sys.path.insert(0, str(tree))
    import pickle

    _, cells = FIGURES[stem]
    shell = _shell()
    shell.enable_matplotlib("inline")
    # the notebook's own imports, as its first cells run them (what they import is not timed)
    nb = json.loads((tree / "notebooks" / f"{stem}.ipynb").read_text(encoding="utf-8"))
    _run(shell, "\n".join(line for c in nb["cells"] if c["cell_type"] == "code"
                          for line in "".join(c["source"]).splitlines()
                          if line.startswith(("import ", "from "))))
    import govstats
    import govstats.paths

    assert Path(govstats.__file__).resolve().is_relative_to(tree.resolve()), govstats.__file__
    figures_dir = Path(tempfile.mkdtemp(prefix="bench-figures-"))
    govstats.paths.reports_dir = lambda: figures_dir
    shell.user_ns.update(pickle.loads(inputs.read_bytes()))
    timings = []
    profiler = None
    if profile is not None:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    for label, code in cells:
        before = len(shell.display_pub.outputs)
        c0, w0 = time.process_time(), time.perf_counter()
        _run(shell, code)
        cpu, wall = time.process_time() - c0, time.perf_counter() - w0
        images = sum("image/png" in o["data"] for o in shell.display_pub.outputs[before:])
        timings.append({"figure": label, "cpu": cpu, "wall": wall, "images": images})
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    import hashlib

    files = sorted((p.name, hashlib.sha256(p.read_bytes()).hexdigest()[:12])
                   for p in (figures_dir / "figures").glob("*"))
    shutil.rmtree(figures_dir, ignore_errors=True)
    out.write_text(json.dumps({"timings": timings, "files": files}), encoding="utf-8")


def _time_in_subprocess(tree: Path, run, inputs: Path, profile: Path | None = None) -> dict:
    name = run.name
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out.json"
        cmd = [sys.executable, __file__, "--time-run", run.notebook.stem, "--tree", str(tree), "--inputs", str(inputs),
               "--out", str(out)]
        if profile is not None:
            cmd += ["--profile-out", str(profile)]
        env = {**os.environ, "MPLBACKEND": INLINE, "GOVSTATS_RUN": name, "GOVSTATS_ROOT": str(tree),
               "PYTHONPATH": str(tree)}
        subprocess.run(cmd, check=True, env=env, cwd=tree)
        return json.loads(out.read_text(encoding="utf-8"))


def _export(rev: str, dest: Path) -> Path:
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def _copy_tree(dest: Path) -> Path:
    """The working tree's tracked files as they are now (edits during the run do not leak in)."""
    listed = subprocess.run(["git", "-C", str(REPO), "ls-files", "-z"], check=True,
                            capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--compare", default="main", help="git revision timed as 'before' (default main)")
    parser.add_argument("--only", action="append", default=[], help="runs or notebook stems (repeatable)")
    parser.add_argument("--repeat", type=int, default=3, help="alternating repetitions; the minimum counts")
    parser.add_argument("--refresh", action="store_true", help="remake the cached inputs")
    parser.add_argument("--profile", metavar="RUN", help="cProfile this tree's figures of RUN and print the top")
    parser.add_argument("--prepare-run", help=argparse.SUPPRESS)
    parser.add_argument("--time-run", help=argparse.SUPPRESS)
    parser.add_argument("--tree", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--inputs", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--profile-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_run:
        prepare_run(args.prepare_run, args.out)
        return
    if args.time_run:
        time_run(args.tree, args.time_run, args.inputs, args.out, args.profile_out)
        return
    if args.profile:
        import pstats

        inputs = prepare(_runs([args.profile])[:1], args.refresh)
        stats = Path(tempfile.mkdtemp()) / "figures.prof"
        run = _runs([args.profile])[0]
        result = _time_in_subprocess(REPO, run, inputs[run.name], stats)
        for t in result["timings"]:
            print(f"{t['figure']:40s} {t['cpu']:6.2f} s CPU")
        pstats.Stats(str(stats)).sort_stats("cumulative").print_stats(45)
        pstats.Stats(str(stats)).sort_stats("tottime").print_stats(25)
        return

    runs = _runs(args.only)
    inputs = prepare(runs, args.refresh)
    tmp = Path(tempfile.mkdtemp(prefix="bench-figures-trees-"))
    trees = {"before": _export(args.compare, tmp / "before"), "after": _copy_tree(tmp / "after")}
    # per run and figure: CPU seconds of each repetition
    cpu: dict[str, dict[tuple[str, str], list[float]]] = {"before": {}, "after": {}}
    checks: dict[str, dict[str, tuple]] = {"before": {}, "after": {}}
    try:
        for i in range(args.repeat):
            for run in runs:
                for label in (("before", "after") if i % 2 == 0 else ("after", "before")):
                    result = _time_in_subprocess(trees[label], run, inputs[run.name])
                    for t in result["timings"]:
                        cpu[label].setdefault((run.name, t["figure"]), []).append(t["cpu"])
                    checks[label][run.name] = ([tuple(f) for f in result["files"]],
                                               [t["images"] for t in result["timings"]])
                print(f"  {run.name}: " + "; ".join(
                    f"{key[1]} {cpu['before'][key][-1]:.2f} -> {cpu['after'][key][-1]:.2f} s"
                    for key in cpu["after"] if key[0] == run.name), flush=True)
            print(f"repetition {i + 1} of {args.repeat} done (load {os.getloadavg()[0]:.2f})", flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"CPU seconds, min of {args.repeat}; before = {args.compare}, after = this working tree; "
          f"load average {os.getloadavg()[0]:.2f}")
    print(f"{'run':45s} {'figure':36s} {'before':>7s} {'after':>7s} {'ratio':>6s}")
    total = {"before": 0.0, "after": 0.0}
    for key in cpu["after"]:
        b, a = min(cpu["before"][key]), min(cpu["after"][key])
        total["before"] += b
        total["after"] += a
        print(f"{key[0][:45]:45s} {key[1][:36]:36s} {b:7.2f} {a:7.2f} {b / a:5.2f}x")
    print(f"{'total':82s} {total['before']:7.2f} {total['after']:7.2f} "
          f"{total['before'] / total['after']:5.2f}x")
    for run_name in checks["after"]:
        (after_files, after_images), (before_files, before_images) = (checks["after"][run_name],
                                                                      checks["before"][run_name])
        changed = sorted({n for n, _ in set(after_files) ^ set(before_files)})
        if changed:
            print(f"{run_name}: files with other bytes than before (or missing): {', '.join(changed)}")
        if after_images != before_images:
            print(f"WARNING {run_name}: inline images per cell {before_images} before, {after_images} after")
    print("(files not listed above have the same bytes before and after; inline images counted per cell)")


if __name__ == "__main__":
    main()
