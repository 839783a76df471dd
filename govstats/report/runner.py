"""Regenerate every configured report: validate, build, skip what is cached, run the rest.

Order of work in :func:`run_reports`:

1. load the configuration and check every parameter against its notebook
   (all problems at once, before anything runs);
2. make sure the kernels exist (the ``govstats`` kernel is registered if absent);
3. optionally build the processed data (:func:`build_processed_data`);
4. compute each run's cache key (:mod:`govstats.report.cache`) and skip runs
   whose key matches their last success;
5. execute the others, ``jobs`` at a time or on a Dask cluster, each in its own
   worker process;
6. write each finished run's notebook and HTML atomically, then the manifest and
   the index.

Why one fresh interpreter per run. papermill inside a ``multiprocessing`` pool
is known to hang or fail at kernel start: ZMQ contexts created before a
``fork`` are unsafe in the child (jupyter/jupyter_client#437, ipython/ipykernel#412),
and jupyter_client picks "free" TCP ports by binding and releasing them, so
kernels started at the same moment can be handed the same port
("Address already in use", nteract/papermill#511, jupyter/jupyter_client#487;
the in-process ``LocalPortCache`` of jupyter_client#490 cannot see other
processes). papermill also ``chdir``s the whole process to the run's working
directory, which is unsafe with threads. So each run is a new ``python -m
govstats.report.worker`` process (no fork of a process holding ZMQ state, its
own working directory), its kernel talks over IPC sockets in a private
directory (no ports to collide on; see :mod:`govstats.report.worker`), kernel
start has a timeout and one retry, and the parent can kill the whole run when
it exceeds its time. The same :func:`run_isolated` is what a Dask cluster
executes with ``--scheduler``.

Atomicity. Workers never write into ``reports/``. The parent writes each file
through a temporary file and :func:`os.replace` after the run finished; a run
that fails writes ``<name>.failed.html`` / ``.failed.ipynb`` and leaves the last
good ``<name>.html`` in place; an interrupted batch leaves every report as it
was.
"""

from __future__ import annotations

import contextlib
import fnmatch
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import govstats
from govstats import paths
from govstats._io import atomic_write_text
from govstats.errors import DataValidationError, Problem
from govstats.report.cache import (
    CACHE_FORMAT,
    CacheStore,
    FileHasher,
    _sha256_json,
    cache_key,
    changed_components,
    data_fingerprint,
    declared_input_hashes,
    dependency_versions,
    notebook_fingerprint,
    source_fingerprint,
)
from govstats.report.config import ReportConfig, RunSpec, as_plain, load_config
from govstats.report.index_html import render_index
from govstats.report.kernel import KernelIdentity, KernelNotFoundError, ensure_kernel
from govstats.report.manifest import build_manifest, environment_info, git_info, write_manifest
from govstats.report.pages import insert_stamp, stamp_html
from govstats.report.params import resolve_overrides, validate_parameters
from govstats.report.worker import RunOutcome, RunTask, _now

__all__ = [
    "PlannedRun",
    "ReportSummary",
    "build_processed_data",
    "default_jobs",
    "plan_runs",
    "run_isolated",
    "run_reports",
    "worker_environment",
]

_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"
_LIVE: set[subprocess.Popen] = set()
_LIVE_LOCK = threading.Lock()


def _stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# The thread-count variables of the numeric libraries a kernel loads (OpenBLAS, MKL, OpenMP,
# Apple Accelerate, numexpr, numba, and Rayon, which pyfixest's compiled demeaner uses).
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMBA_NUM_THREADS",
                    "RAYON_NUM_THREADS")


def default_jobs() -> int:
    """The number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _package_parent() -> str:
    return str(Path(govstats.__file__).resolve().parent.parent)


# ---------------------------------------------------------------- one run


def _kill(proc: subprocess.Popen) -> None:
    with contextlib.suppress(OSError):
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:  # pragma: no cover
            proc.kill()
    with contextlib.suppress(Exception):
        proc.wait(timeout=30)


def _kill_live_workers() -> None:
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        _kill(proc)


def worker_environment(task: RunTask) -> dict[str, str]:
    """The environment of a run's worker and kernel: this process's, plus ``GOVSTATS_ROOT``,
    ``GOVSTATS_RUN``, a ``PYTHONPATH`` that finds this ``govstats``, matplotlib's inline
    backend, ``PYTHONHASHSEED=0`` (unless set), and, when ``task.threads`` is set, the numeric libraries' thread counts
    (:data:`THREAD_VARIABLES`; values the user exported are kept)."""
    env = dict(os.environ)
    env["GOVSTATS_ROOT"] = task.project_root
    env["GOVSTATS_RUN"] = task.name  # figure files are named after the run
    env["PYTHONPATH"] = os.pathsep.join(p for p in (task.pythonpath, env.get("PYTHONPATH"))
                                        if p)
    env["MPLBACKEND"] = _INLINE_BACKEND  # figures inline even if the caller set Agg
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
    # str hashes fix the iteration order of sets; pyfixest's did2s builds its design through
    # one, so its estimates move in the 7th digit from one process to the next without this
    # (reports must be byte-identical on rerun). A seed the user exported is kept.
    env.setdefault("PYTHONHASHSEED", "0")
    if task.threads:
        for var in THREAD_VARIABLES:
            env.setdefault(var, str(task.threads))
    return env


def run_isolated(task: RunTask) -> RunOutcome:
    """Execute one run in a fresh ``python -m govstats.report.worker`` process.

    The worker's kernel gets ``GOVSTATS_ROOT``, a ``PYTHONPATH`` that finds this
    ``govstats``, and matplotlib's inline backend. The worker is killed (with
    its process group) after :attr:`RunTask.hard_timeout` seconds. This is the
    function both the local pool and a Dask cluster execute.

    Parameters
    ----------
    task : RunTask

    Returns
    -------
    RunOutcome
        Never raises for a failing or crashing run; the outcome says so.
    """
    started_at, t0 = _now(), time.monotonic()
    with tempfile.TemporaryDirectory(prefix="govstats-run-") as tmp:
        task_path, outcome_path, log_path = (Path(tmp) / n for n in
                                             ("task.json", "outcome.json", "worker.log"))
        task_path.write_text(task.to_json(), encoding="utf-8")
        env = worker_environment(task)
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "govstats.report.worker", str(task_path), str(outcome_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=task.cwd,
                start_new_session=os.name == "posix",
            )
            with _LIVE_LOCK:
                _LIVE.add(proc)
            try:
                returncode = proc.wait(timeout=task.hard_timeout)
            except subprocess.TimeoutExpired:
                _kill(proc)
                returncode = None
            except BaseException:
                _kill(proc)
                raise
            finally:
                with _LIVE_LOCK:
                    _LIVE.discard(proc)
        log_tail = log_path.read_text(encoding="utf-8", errors="replace")[-4000:]
        duration = round(time.monotonic() - t0, 3)
        if returncode is None:
            return RunOutcome.crashed(
                task, started_at, duration,
                f"the run did not finish within {task.hard_timeout:g} s and was killed",
                log_tail, kind="timeout",
            )
        if outcome_path.exists():
            outcome = RunOutcome.from_json(outcome_path.read_text(encoding="utf-8"))
            outcome.log_tail = log_tail
            return outcome
        return RunOutcome.crashed(
            task, started_at, duration,
            f"the run worker exited with code {returncode} without a result", log_tail,
        )


# ---------------------------------------------------------------- executors


def _execute_local(tasks: Sequence[RunTask], jobs: int,
                   on_done: Callable[[RunTask, RunOutcome], None]) -> None:
    pool = ThreadPoolExecutor(max_workers=max(1, jobs), thread_name_prefix="govstats-run")
    futures = {pool.submit(run_isolated, t): t for t in tasks}
    try:
        for fut in as_completed(futures):
            task = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # a bug in run_isolated must not stop the batch
                outcome = RunOutcome.crashed(task, _now(), 0.0, f"{type(exc).__name__}: {exc}")
            on_done(task, outcome)
    except BaseException:
        for fut in futures:
            fut.cancel()
        _kill_live_workers()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _execute_dask(tasks: Sequence[RunTask], scheduler: Any,
                  on_done: Callable[[RunTask, RunOutcome], None]) -> None:
    from distributed import Client
    from distributed import as_completed as dask_as_completed

    own = isinstance(scheduler, str)
    client = Client(scheduler) if own else scheduler
    futures = {}
    try:
        for t in tasks:
            key = f"govstats-report-{t.name}-{uuid.uuid4().hex[:8]}"
            futures[client.submit(run_isolated, t, key=key, pure=False, retries=0)] = t
        for fut in dask_as_completed(list(futures)):
            task = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # worker lost, pickling error...
                outcome = RunOutcome.crashed(task, _now(), 0.0,
                                             f"Dask: {type(exc).__name__}: {exc}", kind="dask")
            on_done(task, outcome)
    except BaseException:
        with contextlib.suppress(Exception):
            client.cancel(list(futures))
        raise
    finally:
        if own:
            client.close()


# ---------------------------------------------------------------- build step


def build_processed_data(log: Callable[[str], None] = _stderr) -> bool:
    """Call ``govstats.build.build_processed_data()`` if that module exists.

    Returns
    -------
    bool
        False (with a message) when ``govstats.build`` does not exist yet.
    """
    try:
        module = importlib.import_module("govstats.build")
    except ModuleNotFoundError as exc:
        if exc.name != "govstats.build":
            raise
        log("govstats.build does not exist yet; skipping the data build")
        return False
    module.build_processed_data()
    return True


def _build_if_needed(log: Callable[[str], None], *, force: bool, versions: dict[str, str],
                     source_dir: str | Path | None) -> None:
    """Build the processed data unless its inputs are unchanged since the last build.

    The build reads ``data/raw`` (every file under it), the govstats source and the
    installed packages; when none changed and every file the last build left in
    ``data/processed`` is still there, byte for byte, the build is skipped.
    ``--force`` and ``govstats build-data`` always build.
    """
    cache, raw, processed = paths.cache_dir(), paths.raw_dir(), paths.processed_dir()
    hasher = FileHasher(cache / "file_hashes.json")

    def tree(root: Path) -> dict[str, str]:
        if not root.is_dir():
            return {}
        return {p.relative_to(root).as_posix(): hasher.sha256(p)
                for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith(".")}

    key = cache_key({
        "raw": tree(raw),
        "govstats_source": source_fingerprint(
            source_dir or Path(govstats.__file__).resolve().parent),
        "dependencies": _sha256_json(versions),
    })
    record_path = cache / "build.json"
    try:
        prior = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        prior = {}
    if not force and prior.get("key") == key and prior.get("outputs") and (
        tree(processed) == prior["outputs"]
    ):
        log("processed data up to date (data/raw and govstats unchanged): build skipped")
        hasher.save()
        return
    if build_processed_data(log):
        atomic_write_text(record_path, json.dumps({"key": key, "outputs": tree(processed)},
                                                  indent=1))
    hasher.save()


# ---------------------------------------------------------------- the batch


@dataclass
class ReportSummary:
    """What one ``govstats report`` did.

    Attributes
    ----------
    records : list of dict
        The manifest entries, one per configured run, in configuration order.
    executed, cached, failed : list of str
        Run names executed now, skipped as cache hits, failed now.
    manifest_path, index_path : Path
    elapsed_s : float
    warnings : list of str
    """

    records: list[dict[str, Any]]
    executed: list[str] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    manifest_path: Path | None = None
    index_path: Path | None = None
    elapsed_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 when every selected run succeeded, 1 otherwise."""
        return 1 if self.failed else 0

    def record(self, name: str) -> dict[str, Any]:
        for r in self.records:
            if r["name"] == name:
                return r
        raise KeyError(name)


@dataclass
class PlannedRun:
    """A run, its cache key and components, its last record, and why it must run.

    ``reasons`` is empty for a cache hit.
    """

    run: RunSpec
    components: dict[str, Any]
    key: str
    prior: dict[str, Any] | None
    reasons: list[str]
    data_files: dict[str, str]


def _select(runs: Sequence[RunSpec], only: Iterable[str]) -> list[RunSpec]:
    patterns = list(only)
    if not patterns:
        return list(runs)
    chosen = [r for r in runs
              if any(fnmatch.fnmatchcase(r.name, p) or fnmatch.fnmatchcase(r.entry, p)
                     for p in patterns)]
    if not chosen:
        raise ValueError(
            f"--only {' '.join(patterns)} matches no run; runs: {', '.join(r.name for r in runs)}"
        )
    return chosen


def _resolve_kernels(config: ReportConfig, runs: Sequence[RunSpec],
                     log: Callable[[str], None]) -> dict[str, KernelIdentity]:
    found: dict[str, KernelIdentity] = {}
    problems = []
    for run in runs:
        if run.kernel in found:
            continue
        try:
            found[run.kernel] = ensure_kernel(run.kernel, log=log)
        except KernelNotFoundError as exc:
            problems.append(Problem(f"run {run.name!r}: {exc}", file=str(config.path),
                                    row=run.line, column="kernel", value=run.kernel))
    DataValidationError.raise_if_any(problems, what=f"kernels in {config.path}")
    return found


def _reports_files_exist(reports: Path, name: str) -> bool:
    return (reports / f"{name}.html").is_file() and (reports / f"{name}.ipynb").is_file()


def _reasons(prior: dict | None, key: str, components: dict, force: bool, reports: Path,
             name: str) -> list[str]:
    if force:
        return ["forced"]
    if not prior or not prior.get("ok_key"):
        return ["no earlier successful run"]
    if prior["ok_key"] != key:
        return changed_components(prior.get("ok_components"), components) or ["cache format"]
    if not _reports_files_exist(reports, name):
        return ["report files missing"]
    return []


def _as_config(config: ReportConfig | str | Path | None) -> ReportConfig:
    if isinstance(config, ReportConfig):
        return config
    return load_config(config if config is not None else paths.project_root() / "reports.yml")


def _prepare(config: ReportConfig | str | Path | None, only: Sequence[str],
             log: Callable[[str], None], parameters: Mapping[str, Any] | None = None,
             ) -> tuple[ReportConfig, list[RunSpec], dict[str, KernelIdentity]]:
    config = _as_config(config)
    validate_parameters(config, cache_dir=paths.cache_dir() / "params")
    if parameters and not only:
        raise ValueError("one-off parameters (-p) need --only NAME: they apply to the runs it "
                         "selects")
    selected = _select(config.runs, only)
    if parameters:
        overrides = {k: v if isinstance(v, tuple) else (json.dumps(v), v)
                     for k, v in parameters.items()}
        selected = resolve_overrides(config, selected, overrides,
                                     cache_dir=paths.cache_dir() / "params")
    return config, selected, _resolve_kernels(config, selected, log)


def _plan(config: ReportConfig, selected: Sequence[RunSpec], kernels: dict[str, KernelIdentity],
          *, force: bool, show_code: bool | None, source_dir: str | Path | None,
          versions: dict[str, str]) -> tuple[list[PlannedRun], list[str]]:
    reports, cache = paths.reports_dir(), paths.cache_dir()
    src_fp = source_fingerprint(source_dir or Path(govstats.__file__).resolve().parent)
    deps_fp = _sha256_json(versions)
    hasher = FileHasher(cache / "file_hashes.json")
    store = CacheStore(cache)
    nb_fps: dict[Path, str] = {}
    warnings: list[str] = []
    plans: list[PlannedRun] = []
    for run in selected:
        if run.notebook not in nb_fps:
            nb_fps[run.notebook] = notebook_fingerprint(run.notebook)
        data_files, unmatched = data_fingerprint(run.data, config.base_dir, hasher)
        for pattern in unmatched:
            warnings.append(f"run {run.name!r}: data pattern {pattern!r} matches no file")
        components = {
            "format": CACHE_FORMAT,
            "notebook": nb_fps[run.notebook],
            "parameters": as_plain(run.parameters),
            "kernel": kernels[run.kernel].as_dict(),
            "govstats_source": src_fp,
            "data": {"patterns": list(run.data), "files": data_files},
            "dependencies": deps_fp,
            "rendering": {"show_code": run.show_code if show_code is None else show_code},
        }
        prior = store.load(run.name)
        # Files the notebook declared at run time (provenance.declare) are hashed again now:
        # a changed population file is a miss even when no data glob names it.
        previous = ((prior or {}).get("ok_components") or {}).get("declared_inputs") or {}
        components["declared_inputs"] = declared_input_hashes(previous, hasher)
        key = cache_key(components)
        plans.append(PlannedRun(run, components, key, prior,
                                _reasons(prior, key, components, force, reports, run.name),
                                data_files))
    hasher.save()
    return plans, warnings


def plan_runs(
    config: ReportConfig | str | Path | None = None,
    *,
    only: Sequence[str] = (),
    force: bool = False,
    show_code: bool | None = None,
    source_dir: str | Path | None = None,
    log: Callable[[str], None] | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> list[PlannedRun]:
    """What :func:`run_reports` would do, without running anything.

    Each :class:`PlannedRun` has the run, its cache key and components, and
    ``reasons``: empty for a cache hit, otherwise why it must run (``forced``,
    ``no earlier successful run``, ``report files missing``, or the names of
    the changed components: ``notebook``, ``parameters``, ``kernel``,
    ``govstats_source``, ``data``, ``dependencies``, ``rendering``).
    Parameters are as for :func:`run_reports`.
    """
    log = log or _stderr
    config, selected, kernels = _prepare(config, only, log, parameters)
    plans, _ = _plan(config, selected, kernels, force=force, show_code=show_code,
                     source_dir=source_dir, versions=dependency_versions())
    return plans


def run_reports(
    config: ReportConfig | str | Path | None = None,
    *,
    jobs: int | None = None,
    force: bool = False,
    scheduler: Any = None,
    only: Sequence[str] = (),
    show_code: bool | None = None,
    build: bool = False,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    source_dir: str | Path | None = None,
    parameters: Mapping[str, Any] | None = None,
) -> ReportSummary:
    """Regenerate the reports of a configuration.

    Parameters
    ----------
    config : ReportConfig or path, optional
        Default: ``reports.yml`` at the project root (``govstats.paths.project_root``).
    jobs : int, optional
        Runs executed at the same time on this machine (default: the cores).
    force : bool
        Rerun every selected run even when its cache key is unchanged.
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster instead of locally (the workers need this
        ``govstats`` and the same file system).
    only : list of str
        Glob patterns on run (or entry) names; other runs keep their last record.
    show_code : bool, optional
        Override every run's ``show_code``.
    build : bool
        Build the processed data after validation, before any run, unless
        ``data/raw``, the govstats source and the packages are unchanged since
        the last build (``force`` always builds).
    progress : bool
        Show a tqdm progress bar.
    log : callable, optional
        Receives one line per message (default: standard error).
    source_dir : path, optional
        The package directory whose files form the ``govstats_source`` cache
        component (default: this ``govstats``).
    parameters : mapping, optional
        One-off parameters for the runs ``only`` selects (``govstats report
        --only NAME -p key value``): validated against each notebook like the
        configuration, run as ``<run>__<key>-<value>`` with their own reports
        and cache record. Values are plain values or ``(raw text, value)``
        pairs from :func:`govstats.report.params.parse_cli_parameters`.

    Returns
    -------
    ReportSummary

    Raises
    ------
    DataValidationError
        Configuration, parameter or kernel problems, all at once, before any run.
    """
    t_start = time.monotonic()
    log = log or _stderr
    config, selected, kernels = _prepare(config, only, log, parameters)
    reports, cache = paths.reports_dir(), paths.cache_dir()
    reports.mkdir(parents=True, exist_ok=True)
    cache.mkdir(parents=True, exist_ok=True)
    with _batch_lock(cache):
        for stale in reports.glob(".*.tmp"):  # left by a machine crash mid-write
            with contextlib.suppress(OSError):
                stale.unlink()
        versions = dependency_versions()
        if build:
            _build_if_needed(log, force=force, versions=versions, source_dir=source_dir)
        plans, warnings = _plan(config, selected, kernels, force=force, show_code=show_code,
                                source_dir=source_dir, versions=versions)
        for w in warnings:
            log(f"warning: {w}")
        return _execute_plans(config, plans, kernels, versions, jobs, scheduler, progress,
                              warnings, t_start)


@contextlib.contextmanager
def _batch_lock(cache: Path):
    """One batch at a time per project: two would overwrite each other's files."""
    if os.name != "posix":  # pragma: no cover
        yield
        return
    import fcntl

    with (cache / "batch.lock").open("a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise RuntimeError(
                f"another `govstats report` is running on {cache.parent}; wait for it to finish"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _expected_seconds(plan: PlannedRun) -> float:
    prior = plan.prior or {}
    for record in (prior.get("latest"), prior.get("ok")):
        if isinstance(record, dict) and isinstance(record.get("duration_s"), int | float):
            return float(record["duration_s"])
    return float("inf")


def _execute_plans(config: ReportConfig, plans: list[PlannedRun],
                   kernels: dict[str, KernelIdentity], versions: dict[str, str],
                   jobs: int | None, scheduler: Any, progress: bool, warnings: list[str],
                   t_start: float) -> ReportSummary:
    root, reports, store = paths.project_root(), paths.reports_dir(), CacheStore(paths.cache_dir())
    environment = environment_info(versions)
    git = git_info(root)
    records: dict[str, dict[str, Any]] = {}
    summary = ReportSummary(records=[], warnings=warnings)
    for p in plans:
        if not p.reasons:
            records[p.run.name] = {**p.prior["ok"], "cache_hit": True, "rerun_reasons": [],
                                   "batch": "cache hit"}
            summary.cached.append(p.run.name)
            if p.prior.get("latest") != p.prior["ok"]:
                # The inputs are back to those of the last success (e.g. a failing parameter
                # was reverted): that report is current, the failure artefacts are not.
                for suffix in (".failed.html", ".failed.ipynb"):
                    (reports / f"{p.run.name}{suffix}").unlink(missing_ok=True)
                store.save(p.run.name, {**p.prior, "latest": p.prior["ok"]})

    # Longest first (by the last recorded run time; never-run ones first, in configuration
    # order): the batch then ends with short runs on every core, not one long run on one.
    to_run = sorted((p for p in plans if p.reasons), key=_expected_seconds, reverse=True)
    by_name = {p.run.name: p for p in to_run}
    pythonpath = _package_parent()
    n_jobs = min(jobs or default_jobs(), max(1, len(to_run)))
    tasks = [
        RunTask(
            name=p.run.name,
            notebook=str(p.run.notebook),
            parameters=as_plain(p.run.parameters),
            kernel=p.run.kernel,
            cwd=str(p.run.notebook.parent),
            timeout=p.run.timeout,
            start_timeout=p.run.start_timeout,
            show_code=p.components["rendering"]["show_code"],
            project_root=str(root),
            pythonpath=pythonpath,
            # local runs share this machine's cores; on a Dask cluster each worker decides
            threads=None if scheduler is not None else max(1, default_jobs() // max(1, n_jobs)),
        )
        for p in to_run
    ]

    bar = None
    if tasks and progress:
        from tqdm import tqdm

        bar = tqdm(total=len(tasks), desc="govstats report", unit="run", file=sys.stderr)

    def on_done(task: RunTask, outcome: RunOutcome) -> None:
        plan = by_name[task.name]
        record = _commit(plan, outcome, reports, store, git, environment, kernels)
        records[task.name] = record
        summary.executed.append(task.name)
        if record["status"] != "ok":
            summary.failed.append(task.name)
        if bar is not None:
            bar.set_postfix_str(f"{task.name}: {record['status']}", refresh=False)
            bar.update(1)

    interrupted = False
    try:
        if tasks:
            if scheduler is not None:
                _execute_dask(tasks, scheduler, on_done)
            else:
                _execute_local(tasks, jobs or default_jobs(), on_done)
    except BaseException:
        interrupted = True
        raise
    finally:
        if bar is not None:
            bar.close()
        # Even an interrupted batch indexes what finished, and only that as "ran now".
        summary.records = _all_records(config, records, store,
                                       planned=[p.run for p in plans], interrupted=interrupted)
        manifest = build_manifest(
            summary.records,
            config_path=os.path.relpath(config.path, root),
            git=git,
            environment=environment,
            govstats_version=govstats.__version__,
            interrupted=interrupted,
        )
        summary.manifest_path = reports / "manifest.json"
        summary.index_path = reports / "index.html"
        write_manifest(summary.manifest_path, manifest)
        atomic_write_text(summary.index_path, render_index(manifest))
        summary.elapsed_s = round(time.monotonic() - t_start, 3)
    return summary


def _commit(plan: PlannedRun, outcome: RunOutcome, reports: Path, store: CacheStore,
            git: dict, environment: dict,
            kernels: dict[str, KernelIdentity]) -> dict[str, Any]:
    run = plan.run
    name = run.name
    record: dict[str, Any] = {
        "name": name,
        "entry": run.entry,
        "notebook": run.notebook_label,
        "description": run.description,
        "parameters": as_plain(run.parameters),
        "status": outcome.status,
        "cache_hit": False,
        "rerun_reasons": plan.reasons,
        "executed_at": outcome.started_at,
        "duration_s": outcome.duration_s,
        "attempts": outcome.attempts,
        "html": None,
        "ipynb": None,
        "failed_html": None,
        "error": outcome.error,
        "simulated": outcome.provenance.get("simulated"),
        "sources": outcome.provenance.get("sources", []),
        "notes": outcome.provenance.get("notes", []),
        "git": dict(git),
        "python": environment["python"],
        "kernel": {**kernels[run.kernel].as_dict(), "python_reported": outcome.kernel_python},
        "packages": environment["packages"],
        "data_files": plan.data_files,
        "declared_inputs": outcome.provenance.get("inputs", {}),
        "cache_key": plan.key,
        "batch": "ran now",
    }
    failed_html, failed_nb = reports / f"{name}.failed.html", reports / f"{name}.failed.ipynb"
    if outcome.html is not None:
        # The one block that differs between reruns: version, commit, date, parameters.
        outcome.html = insert_stamp(outcome.html, stamp_html(
            {**record, "status": outcome.status if outcome.error is None else "failed"},
            version=govstats.__version__))
    if outcome.status == "ok" and outcome.html is not None and outcome.notebook_json is not None:
        atomic_write_text(reports / f"{name}.ipynb", outcome.notebook_json)
        atomic_write_text(reports / f"{name}.html", outcome.html)
        for stale in (failed_html, failed_nb):
            stale.unlink(missing_ok=True)
        record.update(html=f"{name}.html", ipynb=f"{name}.ipynb")
        # The key the next plan recomputes: the same components, with the inputs this run
        # declared (hashed by the kernel when it read them).
        components = {**plan.components, "declared_inputs": record["declared_inputs"]}
        record["cache_key"] = cache_key(components)
        store.save(name, {"ok_key": record["cache_key"], "ok_components": components,
                          "ok": record, "latest": record})
        return record

    record["status"] = "failed"
    if outcome.notebook_json is not None:
        atomic_write_text(failed_nb, outcome.notebook_json)
    if outcome.html is not None:
        atomic_write_text(failed_html, outcome.html)
        record["failed_html"] = failed_html.name
    if outcome.error and outcome.error.get("kind") in {"crash", "timeout", "dask", "kernel"}:
        record["log_tail"] = outcome.log_tail
    prior = plan.prior or {}
    if prior.get("ok") and _reports_files_exist(reports, name):
        record["html"] = f"{name}.html"
        record["ipynb"] = f"{name}.ipynb"
        record["last_good_executed_at"] = prior["ok"].get("executed_at")
    store.save(name, {**{k: v for k, v in prior.items() if k.startswith("ok")}, "latest": record})
    return record


def _all_records(config: ReportConfig, records: dict[str, dict], store: CacheStore, *,
                 planned: Sequence[RunSpec] = (), interrupted: bool = False) -> list[dict]:
    """One record per configured run (plus one-off runs of this batch), saying for each
    what this batch did: ``batch`` is ``ran now``, ``cache hit``, ``not run: interrupted``
    (selected, but the batch stopped first) or ``not selected``. Runs this batch did not
    execute keep their previous result, marked as such, with its time."""
    out = []
    planned_names = {r.name for r in planned}
    known = {r.name for r in config.runs}
    extra = [r for r in planned if r.name not in known]  # one-off runs (-p)
    for run in [*config.runs, *extra]:
        if run.name in records:
            out.append(records[run.name])
            continue
        prior = store.load(run.name) or {}
        latest = prior.get("latest")
        batch = ("not run: interrupted" if interrupted and run.name in planned_names
                 else "not selected")
        if latest:
            out.append({**latest, "cache_hit": False, "rerun_reasons": [], "selected":
                        run.name in planned_names, "batch": batch,
                        "previous_executed_at": latest.get("executed_at")})
        else:
            out.append({
                "name": run.name,
                "entry": run.entry,
                "notebook": run.notebook_label,
                "description": run.description,
                "parameters": as_plain(run.parameters),
                "status": "not run",
                "cache_hit": False,
                "simulated": None,
                "batch": batch,
            })
    return out
