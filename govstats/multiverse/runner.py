"""Running a multiverse: in this process or on a Dask cluster, with progress bars.

:func:`run_multiverse` is the entry point. In process, the blocks of the plan are
demeaned one after another and their specifications solved in chunks; one core already
solves tens of thousands of specifications per second (BLAS is held to one thread while
solving: the problems are small, and spinning BLAS threads slow them on a busy machine).

Scale-out
    ``run_multiverse(spec, data, scheduler="tcp://host:8786")`` (or a
    ``distributed.Client``) runs the same computation on a Dask cluster: one task
    per block demeaning, then tasks of ``chunk_size`` specifications each, so
    hundreds of thousands of specifications make a few dozen tasks; results are
    identical to the in-process run. :func:`~govstats.multiverse.joint.joint_test`
    distributes its bootstrap draws the same way. Dask pays when there are more cores
    than one machine's. The task functions (``_dask_*``) live at module level so that
    workers unpickle them by reference.
    Dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which makes
    numpy's large temporaries page-fault (about 1.4 times slower here); setting
    ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_`` to ``None`` in the
    Dask configuration restores glibc's default.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

import numpy as np
import pandas as pd

from govstats._literals import BootstrapMode, EngineKind, WeightsKind, check_literal
from govstats.inference import FEW_CLUSTERS
from govstats.multiverse.data import _prepare, _Prepared
from govstats.multiverse.engine import (
    _block_data,
    _BlockData,
    _BlockPlan,
    _BootOptions,
    _Estimates,
    _fallback_twoway,
    _fit_pyfixest,
    _make_plan,
    _Piece,
    _Plan,
    _solve_block_pieces,
    _SpecRows,
)
from govstats.multiverse.results import MultiverseResults, _results_table
from govstats.multiverse.spec import MultiverseSpec

__all__ = ["run_multiverse"]

# A progress bar appears by default above this many specifications.
_PROGRESS_SPECS = 50_000


def _chunks(plan: _Plan, chunk_size: int) -> list[tuple[int, list[_Piece]]]:
    """(block index, pieces) work units of at most ``chunk_size`` specifications."""
    out = []
    for j, bp in enumerate(plan.blocks):
        current: list[_Piece] = []
        size = 0
        for piece in bp.pieces:
            for a in range(0, len(piece.spec_ids), chunk_size):
                sl = slice(a, a + chunk_size)
                part = _Piece(piece.spec_ids[sl], piece.lidx[sl], piece.lcl[sl])
                if size + len(part.spec_ids) > chunk_size and current:
                    out.append((j, current))
                    current, size = [], 0
                current.append(part)
                size += len(part.spec_ids)
        if current:
            out.append((j, current))
    return out


def _one_blas_thread():
    """Keep BLAS to one thread while solving: the problems are small and many, and BLAS threads
    that spin between calls slow them several-fold on a busy machine (parallelism comes from
    Dask instead). No-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl is a dependency
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _run_local(prep: _Prepared, plan: _Plan, engine: str, chunk_size: int, progress: bool,
               desc: str = "multiverse") -> _Estimates:
    with _one_blas_thread():
        return _run_local_inner(prep, plan, engine, chunk_size, progress, desc)


def _run_local_inner(prep: _Prepared, plan: _Plan, engine: str, chunk_size: int, progress: bool,
                     desc: str) -> _Estimates:
    n = len(plan.spec_ids)
    est = _Estimates.empty(n)
    blocks: dict[int, _BlockData] = {}
    bar = _progress(n, progress, desc)
    try:
        if engine == "pyfixest":
            step = max(1, min(chunk_size, 200))
            for a in range(0, n, step):
                pos = np.arange(a, min(n, a + step))
                est.put(pos, _fit_pyfixest(prep, plan, _SpecRows.from_plan(plan, pos)))
                bar.update(len(pos))
            return est
        for j, pieces in _chunks(plan, chunk_size):
            if j not in blocks:
                blocks[j] = _block_data(prep, plan, plan.blocks[j])
            pos, e = _solve_block_pieces(prep, plan, blocks[j], plan.blocks[j], pieces, engine)
            est.put(pos, e)
            bar.update(len(pos))
        pos = plan.fallback
        if len(pos):
            est.put(pos, _fallback_twoway(prep, plan, _SpecRows.from_plan(plan, pos), engine))
            bar.update(len(pos))
    finally:
        bar.close()
    return est


def _progress(total: int, show: bool, desc: str):
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="spec" if "draw" not in desc else "draw", disable=not show,
                mininterval=0.5, leave=False)


def _client(scheduler: Any):
    from distributed import Client

    if isinstance(scheduler, str):
        return Client(scheduler), True
    if isinstance(scheduler, Client):
        return scheduler, False
    raise TypeError(
        f"scheduler must be a Dask scheduler address ('tcp://host:8786') or a distributed.Client, "
        f"got {type(scheduler).__name__}"
    )


def _light(plan: _Plan) -> _Plan:
    """The plan without its per-specification arrays: what every task needs (choice -> ids)."""
    empty = np.zeros(0, dtype=np.int64)
    return _Plan(spec_ids=empty, idx=empty.reshape(0, 0), k=empty, fe=empty, cluster=empty, sample=empty,
                 fe_terms=plan.fe_terms, cluster_kind=plan.cluster_kind, cluster_ids=plan.cluster_ids,
                 blocks=[], fallback=empty, boot=plan.boot, weighted=plan.weighted)


def _bare(bp: _BlockPlan) -> _BlockPlan:
    return _BlockPlan(bp.fe, bp.sample, bp.miss_vars, bp.vars, bp.clusters, [])


def _dask_block(prep, plan, bp):
    with _one_blas_thread():
        return _block_data(prep, plan, bp)


def _dask_chunk(prep, plan, bd, bp, pieces, engine):
    with _one_blas_thread():
        return _solve_block_pieces(prep, plan, bd, bp, pieces, engine)


def _dask_rows(prep, plan, positions, rows, engine, kind):
    if kind == "pyfixest":
        return positions, _fit_pyfixest(prep, plan, rows)
    return positions, _fallback_twoway(prep, plan, rows, engine)


def _run_dask(prep: _Prepared, plan: _Plan, engine: str, chunk_size: int, progress: bool,
              scheduler: Any) -> _Estimates:
    from distributed import as_completed

    client, own = _client(scheduler)
    n = len(plan.spec_ids)
    est = _Estimates.empty(n)
    futures = []
    try:
        prep_f, plan_f = client.scatter([prep, _light(plan)], broadcast=True, hash=False)
        if engine == "pyfixest":
            for a in range(0, n, chunk_size):
                pos = np.arange(a, min(n, a + chunk_size))
                futures.append(client.submit(_dask_rows, prep_f, plan_f, pos, _SpecRows.from_plan(plan, pos),
                                             engine, "pyfixest", pure=False))
        else:
            block_f = {}
            for j, pieces in _chunks(plan, chunk_size):
                bp = _bare(plan.blocks[j])
                if j not in block_f:
                    block_f[j] = client.submit(_dask_block, prep_f, plan_f, bp, pure=False)
                futures.append(client.submit(_dask_chunk, prep_f, plan_f, block_f[j], bp, pieces, engine,
                                             pure=False))
            if len(plan.fallback):
                pos = plan.fallback
                futures.append(client.submit(_dask_rows, prep_f, plan_f, pos, _SpecRows.from_plan(plan, pos),
                                             engine, "twoway", pure=False))
        bar = _progress(n, progress, "multiverse (dask)")
        try:
            for fut in as_completed(futures):
                pos, e = fut.result()
                est.put(pos, e)
                bar.update(len(pos))
        finally:
            bar.close()
    except BaseException:
        client.cancel(futures)
        raise
    finally:
        if own:
            client.close()
    return est


def run_multiverse(
    spec: MultiverseSpec,
    data: pd.DataFrame,
    *,
    engine: EngineKind = "auto",
    scheduler: Any = None,
    chunk_size: int = 20_000,
    progress: bool | None = None,
    bootstrap: BootstrapMode = "auto",
    reps: int = 9999,
    weights_type: WeightsKind = "auto",
    seed: int | None = 0,
    few_clusters: int = FEW_CLUSTERS,
) -> MultiverseResults:
    """Estimate every specification of ``spec`` on ``data``.

    Parameters
    ----------
    spec : MultiverseSpec
    data : DataFrame
        A panel indexed by ``(unit, time)`` (as :func:`govstats.models.fit` takes; the
        index levels are then also columns, and ``unit``/``time`` name them) or a
        flat frame with the id columns. ``attrs["simulated"]`` is carried to the results.
    engine : {"auto", "fast", "pyfixest"}
        ``"auto"``: the fast path, pyfixest for what it does not cover. ``"fast"``:
        never pyfixest (uncovered specifications are not estimated; ``note`` says
        why). ``"pyfixest"``: one ``pyfixest.feols`` call per specification (the
        reference; slow).
    scheduler : str or distributed.Client, optional
        Run on a Dask cluster: a scheduler address (``"tcp://host:8786"``) or a
        client. Default: in this process.
    chunk_size : int, default 20000
        Specifications per task (and per progress-bar step).
    progress : bool, optional
        Show a tqdm progress bar; default: when there are more than 50,000
        specifications.
    bootstrap : {"auto", "always", "never"}
        The wild cluster restricted bootstrap p-value of every one-way clustered
        specification (column ``boot_p``; null: treatment coefficient 0; WCR11, ties
        counted, as :func:`govstats.inference.wild_cluster_bootstrap`). ``"auto"``:
        specifications with fewer than ``few_clusters`` clusters, where CR1 p-values
        over-reject. ``"always"``: every one-way clustered specification. ``"never"``:
        none. Specifications with ``"iid"`` or ``"hetero"`` standard errors, two-way
        clustering, or estimated by pyfixest get no bootstrap p; ``boot_note`` says why.
    reps : int, default 9999
        Bootstrap draws; when the weight distribution has at most ``reps`` distinct
        vectors (``2**G`` Rademacher, ``6**G`` Webb) all are used once (``boot_reps``).
    weights_type : {"auto", "rademacher", "webb", "mammen", "norm"}
        Bootstrap weights; ``"auto"``: Webb below 12 clusters, Rademacher otherwise.
    seed : int or None, default 0
        Seed of the bootstrap weights. Every specification with the same number of
        clusters uses the same draws.
    few_clusters : int, default 30
        The ``"auto"`` threshold.

    Returns
    -------
    MultiverseResults

    Raises
    ------
    DataValidationError
        Every missing column, non-numeric variable, missing id value and bad
        sample restriction, all at once.

    Examples
    --------
    >>> from govstats.simulate import simulate_panel
    >>> from govstats.multiverse import MultiverseSpec, run_multiverse
    >>> sim = simulate_panel(units_per_place=4, years=range(2012, 2024), seed=2)
    >>> spec = MultiverseSpec(outcomes=["satisfaction_index"], treatments=["police_per_10k"],
    ...                       controls=["grid_density"], fixed_effects=["unit_id + year"],
    ...                       clusters=["unit_id", "place_id"])
    >>> res = run_multiverse(spec, sim.data)
    >>> res.simulated, len(res.tidy()), res.tidy()["n_clusters"].tolist()
    (True, 4, [20.0, 5.0, 20.0, 5.0])
    """
    if not isinstance(spec, MultiverseSpec):
        raise TypeError("spec must be a govstats.multiverse.MultiverseSpec")
    check_literal(engine, EngineKind, "engine")
    if not isinstance(chunk_size, int | np.integer) or chunk_size < 1:
        raise ValueError(f"chunk_size={chunk_size!r} must be a positive integer")
    check_literal(bootstrap, BootstrapMode, "bootstrap")
    check_literal(weights_type, WeightsKind, "weights_type")
    if not isinstance(reps, int | np.integer) or reps < 1:
        raise ValueError(f"reps={reps!r} must be a positive integer")
    if not isinstance(few_clusters, int | np.integer) or few_clusters < 2:
        raise ValueError(f"few_clusters={few_clusters!r} must be an integer >= 2")
    boot = _BootOptions(str(bootstrap), int(reps), str(weights_type), seed, int(few_clusters))
    prep = _prepare(spec, data)
    t0 = time.perf_counter()
    plan = _make_plan(spec, prep, boot=boot)
    n = len(plan.spec_ids)
    show = n > _PROGRESS_SPECS if progress is None else bool(progress)
    if scheduler is None:
        est = _run_local(prep, plan, engine, int(chunk_size), show)
    else:
        est = _run_dask(prep, plan, engine, int(chunk_size), show, scheduler)
    seconds = time.perf_counter() - t0
    table = _results_table(spec, plan, est)
    timing = {
        "seconds": seconds,
        "specs_per_second": n / seconds if seconds > 0 else float("inf"),
        "engine": engine,
        "scheduler": None if scheduler is None else str(getattr(scheduler, "scheduler", scheduler)),
        "n_fast": int((est.engine == 0).sum()),
        "n_pyfixest": int((est.engine == 1).sum()),
        "n_blocks": len(plan.blocks),
        "bootstrap": bootstrap,
        "n_bootstrapped": int(np.isfinite(est.boot_p).sum()),
        "reps": int(reps),
        "weights_type": weights_type,
        "seed": seed,
        "few_clusters": int(few_clusters),
    }
    return MultiverseResults(spec, table, prep.simulated, timing, float(spec.alpha))

