"""Execute one notebook run with papermill and render it to HTML.

:func:`execute_run` does the work inside the current process. ``govstats
report`` never calls it in its own process: :func:`govstats.report.runner.run_isolated`
starts ``python -m govstats.report.worker TASK OUTCOME`` for each run, so that
every run gets a fresh interpreter (see the notes in :mod:`govstats.report.runner`).

Kernel start. Each attempt uses the IPC transport with a private directory for
the five sockets (POSIX), so concurrent kernels cannot race for TCP ports, and
waits ``start_timeout`` seconds for the kernel; if the kernel never answered,
the run is retried once with a fresh kernel. A failure after the kernel started
(an exception in a cell, a dead kernel, a timeout) is not retried.

Run timeout. ``timeout`` bounds the whole run, not each cell: nbclient asks
``timeout_func`` for every cell's limit and gets the time left; when it runs
out the kernel is interrupted, the cell records a ``KeyboardInterrupt`` and
papermill marks it as the failing cell.
"""

from __future__ import annotations

import copy
import datetime as _dt
import json
import os
import sys
import tempfile
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["RunOutcome", "RunTask", "execute_run", "main", "render_html"]

_MIN_CELL_TIMEOUT = 0.5
_LOG_TAIL = 4000


@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs to execute one run (JSON-serialisable).

    Attributes
    ----------
    name : str
    notebook : str
        Absolute path of the notebook.
    parameters : dict
    kernel : str
    cwd : str
        Working directory of the kernel (the notebook's directory).
    timeout : float
        Seconds for the whole run.
    start_timeout : float
        Seconds to wait for the kernel on each of the two attempts.
    show_code : bool
    project_root : str
        Exported to the kernel as ``GOVSTATS_ROOT``.
    pythonpath : str
        Directory holding the ``govstats`` package, prepended to ``PYTHONPATH``.
    threads : int, optional
        Threads each of the kernel's numeric libraries may use (BLAS, OpenMP, numba,
        pyfixest's Rayon pool): the cores divided among the runs that execute at once, so
        that parallel runs do not oversubscribe the machine. None: the libraries decide.
        A variable the user set in the environment is left alone.
    """

    name: str
    notebook: str
    parameters: dict[str, Any]
    kernel: str
    cwd: str
    timeout: float
    start_timeout: float
    show_code: bool
    project_root: str
    pythonpath: str
    threads: int | None = None

    @property
    def hard_timeout(self) -> float:
        """Wall-clock limit after which the worker process is killed outright."""
        return self.timeout + 2 * self.start_timeout + 120.0

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunTask:
        return cls(**json.loads(text))


@dataclass
class RunOutcome:
    """What came out of one run (JSON-serialisable).

    ``status`` is ``"ok"`` or ``"failed"``. ``error`` (when failed) has ``kind``
    (``cell``, ``timeout``, ``kernel``, ``execution``, ``crash``), ``message``,
    and for cell errors ``ename``, ``evalue``, ``cell_index`` and
    ``execution_count``. ``notebook_json`` and ``html`` hold the executed
    notebook and its rendering whenever a notebook was produced, failed or not.
    """

    name: str
    status: str
    started_at: str
    duration_s: float
    attempts: int = 1
    error: dict[str, Any] | None = None
    notebook_json: str | None = None
    html: str | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    kernel_python: str | None = None
    log_tail: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> RunOutcome:
        return cls(**json.loads(text))

    @classmethod
    def crashed(cls, task: RunTask, started_at: str, duration: float, message: str,
                log_tail: str = "", kind: str = "crash") -> RunOutcome:
        return cls(
            name=task.name,
            status="failed",
            started_at=started_at,
            duration_s=duration,
            error={"kind": kind, "message": message},
            log_tail=log_tail[-_LOG_TAIL:],
        )


def _now() -> str:
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def render_html(notebook: Any, *, show_code: bool, title: str,
                font_cache: str | Path | None = None) -> str:
    """Render an executed notebook to standalone HTML with nbconvert's ``lab`` template.

    The page loads nothing from the network (see :mod:`govstats.report.pages`):
    no require.js, MathJax only when the page has math, and the CJK characters
    of the page embedded as a subset web font.

    Code cells are hidden unless ``show_code``; the cell papermill injected the
    parameters into and the cell that raised stay visible either way, so a
    reader sees what was run and what failed. Markdown (including papermill's
    link to the failing cell) is always shown.

    Parameters
    ----------
    notebook : nbformat.NotebookNode
    show_code : bool
    title : str
        The page title.
    font_cache : path, optional
        Where CJK font subsets are cached by character set; the compiled page templates
        are cached in its sibling ``templates``.

    Returns
    -------
    str
    """
    from govstats.report.pages import add_font, export_resources, gather_notes, html_exporter

    nb = gather_notes(copy.deepcopy(notebook))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        tags = cell.metadata.get("tags", [])
        failed = cell.metadata.get("papermill", {}).get("exception")
        if "parameters" in tags and any(
            "injected-parameters" in c.metadata.get("tags", []) for c in nb.cells
        ):
            keep = False  # its defaults were overridden; the injected cell shows what ran
        else:
            keep = show_code or failed or "injected-parameters" in tags
        if not keep:
            cell.metadata.setdefault("transient", {})["remove_source"] = True
    templates = Path(font_cache).parent / "templates" if font_cache is not None else None
    body, _ = html_exporter(templates).from_notebook_node(nb, resources=export_resources(nb, title))
    return add_font(body, cache_dir=font_cache)


def _cell_error(nb: Any) -> dict[str, Any]:
    """ename/evalue/cell of the first error output (papermill's error cells excluded)."""
    cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    for index, cell in enumerate(cells):
        for out in cell.get("outputs", []) if cell.cell_type == "code" else []:
            if out.get("output_type") == "error":
                return {
                    "ename": out.get("ename", ""),
                    "evalue": out.get("evalue", ""),
                    "cell_index": index,
                    "execution_count": cell.get("execution_count"),
                }
    return {}


def execute_run(task: RunTask) -> RunOutcome:
    """Execute ``task`` in this process: papermill, then HTML, then provenance.

    Never raises for a failing notebook: the outcome says ``failed`` and keeps
    whatever notebook and HTML were produced.

    Parameters
    ----------
    task : RunTask

    Returns
    -------
    RunOutcome
    """
    import papermill
    from jupyter_client.kernelspec import NoSuchKernel
    from papermill.exceptions import PapermillExecutionError
    from traitlets.config import Config

    from govstats.provenance import read_declarations

    started_at = _now()
    t0 = time.monotonic()
    deadline = t0 + task.timeout

    def time_left(cell: Any) -> float:
        return max(deadline - time.monotonic(), _MIN_CELL_TIMEOUT)

    status, error, attempts = "ok", None, 0
    started: list[bool] = []  # set by nbclient's on_notebook_start hook once the kernel answers
    with tempfile.TemporaryDirectory(prefix="gsrun-") as tmp:
        out_path = Path(tmp) / f"{task.name}.ipynb"
        for attempt in (1, 2):
            attempts = attempt
            started.clear()
            config = Config()
            if os.name == "posix":
                # Sockets in a private directory: no TCP port race between concurrent kernels
                # (jupyter/jupyter_client#487, nteract/papermill#511).
                sockets = Path(tmp) / f"k{attempt}"
                sockets.mkdir()
                config.KernelManager.transport = "ipc"
                config.KernelManager.ip = str(sockets / "kernel")
            try:
                papermill.execute_notebook(
                    task.notebook,
                    str(out_path),
                    parameters=task.parameters,
                    kernel_name=task.kernel,
                    progress_bar=False,
                    start_timeout=task.start_timeout,
                    cwd=task.cwd,
                    config=config,
                    on_notebook_start=lambda **_: started.append(True),
                    timeout_func=time_left,
                    interrupt_on_timeout=True,
                )
                status, error = "ok", None
                break
            except PapermillExecutionError as exc:
                status = "failed"
                # nbclient interrupted the kernel when the time was up: the cell shows a
                # KeyboardInterrupt, raised at or after the deadline.
                kind = "timeout" if time.monotonic() >= deadline else "cell"
                error = {
                    "kind": kind,
                    "ename": exc.ename,
                    "evalue": exc.evalue,
                    "cell_index": exc.cell_index,
                    "execution_count": exc.exec_count,
                    "message": (
                        f"the run exceeded its {task.timeout:g} s timeout"
                        if kind == "timeout"
                        else f"{exc.ename}: {exc.evalue}"
                    ),
                }
                break
            except NoSuchKernel as exc:
                status = "failed"
                error = {"kind": "kernel", "message": f"no kernel named {exc}"}
                break
            except Exception as exc:  # kernel start or a dead kernel: nbclient raises plain errors
                status = "failed"
                if not started and attempt == 1:
                    print(f"kernel did not start ({type(exc).__name__}: {exc}); retrying once",
                          file=sys.stderr, flush=True)
                    out_path.unlink(missing_ok=True)
                    continue
                error = {
                    "kind": "execution" if started else "kernel",
                    "ename": type(exc).__name__,
                    "evalue": str(exc),
                    "message": (
                        f"{type(exc).__name__}: {exc}"
                        if started
                        else f"the kernel did not start in {attempts} attempts "
                        f"({task.start_timeout:g} s each): {type(exc).__name__}: {exc}"
                    ),
                }
                break

        notebook_json = html = None
        provenance: dict[str, Any] = {"declared": False, "simulated": None, "sources": [],
                                      "notes": []}
        kernel_python = None
        if out_path.exists():
            import nbformat

            from govstats.report.pages import normalise_notebook

            nb = nbformat.reads(out_path.read_text(encoding="utf-8"), as_version=4)
            try:
                label = Path(task.notebook).resolve().relative_to(
                    Path(task.project_root).resolve()).as_posix()
            except ValueError:
                label = task.notebook
            nb = normalise_notebook(nb, name=task.name, input_path=label)
            notebook_json = nbformat.writes(nb) + "\n"
            if error is not None and error.get("kind") == "execution":
                error.update({k: v for k, v in _cell_error(nb).items() if k not in error})
            summary = read_declarations(nb)
            provenance = {
                "declared": summary.declared,
                "simulated": summary.simulated,
                "sources": list(summary.sources),
                "notes": list(summary.notes),
                "inputs": dict(summary.inputs),
            }
            kernel_python = (nb.metadata.get("language_info") or {}).get("version")
            try:
                html = render_html(nb, show_code=task.show_code, title=task.name,
                                   font_cache=Path(task.project_root) / ".govstats-cache" / "fonts")
            except Exception as exc:  # a broken output must not lose the run
                status = "failed"
                error = error or {"kind": "render", "message": f"HTML rendering failed: {exc}"}
    return RunOutcome(
        name=task.name,
        status=status,
        started_at=started_at,
        duration_s=round(time.monotonic() - t0, 3),
        attempts=attempts,
        error=error,
        notebook_json=notebook_json,
        html=html,
        provenance=provenance,
        kernel_python=kernel_python,
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m govstats.report.worker TASK.json OUTCOME.json``."""
    from govstats.report._imports import skip_slow_optional_imports

    skip_slow_optional_imports()
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m govstats.report.worker TASK.json OUTCOME.json", file=sys.stderr)
        return 2
    task_path, outcome_path = args
    task = RunTask.from_json(Path(task_path).read_text(encoding="utf-8"))
    started_at, t0 = _now(), time.monotonic()
    try:
        outcome = execute_run(task)
    except Exception:
        outcome = RunOutcome.crashed(
            task, started_at, round(time.monotonic() - t0, 3),
            "the run worker failed: " + traceback.format_exc(limit=5),
        )
    from govstats._io import atomic_write_text

    atomic_write_text(outcome_path, outcome.to_json())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
