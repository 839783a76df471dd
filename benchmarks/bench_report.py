"""Time ``govstats report``: cold full run, warm run (nothing changed), and --jobs 1 vs 2.

Usage::

    .venv/bin/python benchmarks/bench_report.py            # fixture notebooks, temp project
    .venv/bin/python benchmarks/bench_report.py --runs 8 --seconds 2
    .venv/bin/python benchmarks/bench_report.py --config reports.yml   # the real configuration
    .venv/bin/python benchmarks/bench_report.py --compare main          # before/after, one run
    .venv/bin/python benchmarks/bench_report.py --compare main --only place_profiles --only national

Every timing is the wall-clock time of the command a user types
(``python -m govstats report ...`` in a fresh process), so interpreter start and
imports are included. In fixture mode the project is a temporary directory
(``GOVSTATS_ROOT``) holding ``runs`` copies of ``tests/notebooks/slow.ipynb``
that each keep one core busy for ``seconds`` of CPU time: the speed-up then
measures the runner on real parallel work, not on sleeping kernels.

Targets (issue 4): warm run under 2 s, speed-up with 2 jobs at least 1.7x.

``--compare REV`` times the cold run of the real configuration (``reports.yml``, or
the runs ``--only`` selects) for the code at git revision REV ("before", exported
with ``git archive``; no checkout changes) and for the working tree ("after", copied),
each in its own temporary project, alternating ``--repeat`` times so that outside load
hits both alike (issue 14, target: the reports cold in at most 30 s on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_CPU: list[float] = []  # CPU seconds of each timed command, in order


def _fixture_project(root: Path, runs: int, seconds: float) -> Path:
    (root / "nb").mkdir(parents=True)
    shutil.copy(REPO / "tests" / "notebooks" / "slow.ipynb", root / "nb" / "slow.ipynb")
    labels = ", ".join(f"r{i}" for i in range(runs))
    config = root / "reports.yml"
    config.write_text(
        "runs:\n"
        "  - notebook: nb/slow.ipynb\n"
        f"    parameters: {{seconds: {seconds}, mode: cpu}}\n"
        f"    grid: {{label: [{labels}]}}\n"
    )
    return config


def _timed(config: Path, env: dict[str, str], *extra: str) -> float:
    cmd = [sys.executable, "-m", "govstats", "report", "--config", str(config), "--no-build",
           "--no-progress", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    # cwd: the project. ``python -m`` puts the working directory first on sys.path, ahead of
    # PYTHONPATH, so run from this checkout every --compare side imported this checkout's
    # govstats (the "before" tree was never measured until this was fixed)
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=config.parent)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    # CPU seconds of the command and every process it waited for (workers, kernels): less
    # sensitive than wall time to other work on a shared machine
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    _CPU.append(cpu)
    print(f"    {done.stdout.strip()} [{elapsed:.1f} s wall, {cpu:.1f} CPU s]")
    return elapsed


def _tree_copy(dest: Path, rev: str | None) -> Path:
    """The project at ``rev`` (``git archive``) or the working tree (``rev`` None) in ``dest``."""
    dest.mkdir(parents=True)
    if rev is None:
        ignore = shutil.ignore_patterns(".venv", ".git", "reports", ".govstats-cache", "processed",
                                        "__pycache__", ".pytest_cache", ".ruff_cache", "*.egg-info")
        shutil.copytree(REPO, dest, dirs_exist_ok=True, ignore=ignore)
    else:
        archive = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev],
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    (dest / "reports").mkdir(exist_ok=True)
    return dest


def compare(rev: str, only: list[str], repeat: int, jobs: int | None) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="govstats-bench-compare-"))
    trees = {"before": _tree_copy(tmp / "before", rev), "after": _tree_copy(tmp / "after", None)}
    extra = [a for o in only for a in ("--only", o)] + (["--jobs", str(jobs)] if jobs else [])
    envs = {}
    for label, tree in trees.items():
        env = dict(os.environ)
        env["PYTHONPATH"] = str(tree)  # that tree's govstats, in the runner and its kernels
        env["GOVSTATS_ROOT"] = str(tree)
        envs[label] = env
        built = subprocess.run([sys.executable, "-m", "govstats", "build-data"], env=env,
                               cwd=tree, capture_output=True, text=True)
        if built.returncode != 0:
            sys.exit(f"build-data failed in {tree}:\n{built.stdout}\n{built.stderr}")
    times: dict[str, list[float]] = {"before": [], "after": []}
    cpus: dict[str, list[float]] = {"before": [], "after": []}
    try:
        for i in range(repeat):
            for label in (("before", "after") if i % 2 == 0 else ("after", "before")):
                print(f"{label} ({rev if label == 'before' else 'working tree'}), cold --force:")
                times[label].append(_timed(trees[label] / "reports.yml", envs[label], "--force",
                                           *extra))
                cpus[label].append(_CPU[-1])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print()
    print(f"load average at the end {os.getloadavg()[0]:.2f}; runs: "
          + "; ".join(f"{k} {', '.join(f'{t:.1f}' for t in v)} s" for k, v in times.items()))
    print("CPU seconds (all processes): "
          + "; ".join(f"{k} {', '.join(f'{t:.1f}' for t in v)}" for k, v in cpus.items()))
    best = {k: min(v) for k, v in times.items()}
    print(f"cold, before ({rev})  {best['before']:7.2f} s")
    print(f"cold, after (tree)   {best['after']:7.2f} s   target <= 30 s: "
          f"{'met' if best['after'] <= 30 else 'NOT met'}; after/before {best['after'] / best['before']:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, help="benchmark this configuration in place")
    parser.add_argument("--runs", type=int, default=6, help="fixture runs (default 6)")
    parser.add_argument("--seconds", type=float, default=2.0,
                        help="CPU seconds per fixture run (default 2)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="interleaved --jobs 1 / --jobs 2 pairs; the minimum counts (default 2)")
    parser.add_argument("--compare", metavar="REV",
                        help="cold run of reports.yml at git revision REV vs the working tree")
    parser.add_argument("--only", action="append", default=[],
                        help="with --compare: time only these runs (repeatable)")
    parser.add_argument("--jobs", type=int, help="with --compare: --jobs for both")
    args = parser.parse_args()
    if args.compare:
        compare(args.compare, args.only, args.repeat, args.jobs)
        return

    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    tmp = None
    if args.config is None:
        tmp = Path(tempfile.mkdtemp(prefix="govstats-bench-"))
        config = _fixture_project(tmp / "project", args.runs, args.seconds)
        env["GOVSTATS_ROOT"] = str(config.parent)
        what = f"{args.runs} fixture runs x {args.seconds:g} CPU s"
    else:
        config = args.config.resolve()
        what = str(config)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"govstats report benchmark: {what}; {cores} cores available; "
          f"load average {os.getloadavg()[0]:.2f} (other work on the machine skews timings)")
    try:
        print("cold full run (default --jobs):")
        cold = _timed(config, env, "--force")
        print("warm run (nothing changed):")
        warm = min(_timed(config, env) for _ in range(3))
        serial_times, parallel_times = [], []
        for _ in range(args.repeat):  # interleaved, so a burst of outside load hits both
            print("--jobs 1 --force:")
            serial_times.append(_timed(config, env, "--force", "--jobs", "1"))
            print("--jobs 2 --force:")
            parallel_times.append(_timed(config, env, "--force", "--jobs", "2"))
        serial, parallel = min(serial_times), min(parallel_times)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    speedup = serial / parallel
    print()
    print(f"load average at the end {os.getloadavg()[0]:.2f}; "
          f"--jobs 1 runs {', '.join(f'{t:.1f}' for t in serial_times)} s, "
          f"--jobs 2 runs {', '.join(f'{t:.1f}' for t in parallel_times)} s")
    print(f"cold full run      {cold:7.2f} s")
    print(f"warm (no change)   {warm:7.2f} s   target < 2 s: {'met' if warm < 2 else 'NOT met'}")
    print(f"--jobs 1 (best)    {serial:7.2f} s")
    print(f"--jobs 2 (best)    {parallel:7.2f} s")
    print(f"speed-up 2 vs 1    {speedup:7.2f} x  target >= 1.7x: "
          f"{'met' if speedup >= 1.7 else 'NOT met'}")


if __name__ == "__main__":
    main()
