"""The cache and the index tell the truth.

1. Files a notebook declares at run time (``provenance.declare``) enter the next cache
   check even when the configuration lists no data globs: a changed population file is
   never served stale.
2. After an interrupt, the index does not call runs that never executed "ran now": they
   are "not run: interrupted", shown with their previous result and its time.

Both are reproduced through the runner's own planning and commit steps with stand-in
outcomes (no kernels); the end-to-end check with a real kernel is marked slow.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import nbformat
import pytest

import govstats
from govstats import paths
from govstats.provenance import read_declarations
from govstats.report import plan_runs, run_reports
from govstats.report import runner as runner_mod
from govstats.report.cache import CacheStore, dependency_versions
from govstats.report.kernel import ensure_kernel
from govstats.report.manifest import environment_info
from govstats.report.worker import RunOutcome

FIXTURES = Path(__file__).parent / "notebooks"

CONFIG = """runs:
  - notebook: nb/hello.ipynb
    name: a
    parameters: {label: "a"}
  - notebook: nb/hello.ipynb
    name: b
    parameters: {label: "b"}
  - notebook: nb/hello.ipynb
    name: c
    parameters: {label: "c"}
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVSTATS_ROOT", str(tmp_path))
    (tmp_path / "nb").mkdir()
    shutil.copy(FIXTURES / "hello.ipynb", tmp_path / "nb" / "hello.ipynb")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "population.csv").write_text("place,population\nhengyang,6645243\n")
    source = tmp_path / "src" / "govstats"
    shutil.copytree(Path(govstats.__file__).parent, source,
                    ignore=shutil.ignore_patterns("__pycache__"))
    real = runner_mod.source_fingerprint
    monkeypatch.setattr(runner_mod, "source_fingerprint", lambda _dir: real(source))
    (tmp_path / "reports.yml").write_text(CONFIG)
    return tmp_path


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _plan(root: Path, **kwargs):
    plans = plan_runs(root / "reports.yml", log=lambda _m: None, **kwargs)
    return {p.run.name: p.reasons for p in plans}, plans


def _commit(plans, *, inputs=None, started_at="2026-01-01T00:00:00+00:00"):
    store = CacheStore(paths.cache_dir())
    kernels = {p.run.kernel: ensure_kernel(p.run.kernel) for p in plans}
    env = environment_info(dependency_versions())
    for plan in plans:
        outcome = RunOutcome(name=plan.run.name, status="ok", started_at=started_at,
                             duration_s=1.0, notebook_json="{}", html="<p>report</p>",
                             provenance={"simulated": False, "sources": [],
                                         "inputs": dict(inputs or {})})
        runner_mod._commit(plan, outcome, paths.reports_dir(), store,
                           {"commit": None, "dirty": None}, env, kernels)


def test_declare_records_the_files_it_names(project, monkeypatch):
    from govstats.provenance import declare

    outputs = []
    monkeypatch.setattr("IPython.display.display", lambda b, raw: outputs.append(b))
    monkeypatch.setattr("IPython.get_ipython", lambda: object())
    declare(simulated=False, sources=["data/population.csv (census 2020)", "a phone call"])
    declare(simulated=False, inputs=["data/*.csv"])
    with pytest.raises(FileNotFoundError, match="nothere.csv"):
        declare(simulated=False, inputs=["data/nothere.csv"])
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": b} for b in outputs]}]}
    summary = read_declarations(nb)
    assert summary.inputs == {"data/population.csv": _sha(project / "data/population.csv")}


def test_a_changed_declared_file_is_a_miss_without_data_globs(project):
    """The bug: with no data globs, a changed population file was served from the cache."""
    pop = project / "data" / "population.csv"
    _, plans = _plan(project)
    _commit(plans[:1], inputs={"data/population.csv": _sha(pop)})
    _commit(plans[1:])  # b and c declared nothing
    reasons, _ = _plan(project)
    assert reasons == {"a": [], "b": [], "c": []}

    pop.write_text("place,population\nhengyang,7000000\n")
    reasons, plans = _plan(project)
    assert reasons == {"a": ["declared_inputs"], "b": [], "c": []}
    assert plans[0].components["declared_inputs"] == {"data/population.csv": _sha(pop)}

    pop.unlink()  # a declared file that disappeared is a change too
    reasons, plans = _plan(project)
    assert reasons["a"] == ["declared_inputs"]
    assert plans[0].components["declared_inputs"] == {"data/population.csv": "missing"}


def test_interrupted_batch_does_not_call_unexecuted_runs_ran_now(project, monkeypatch):
    _, plans = _plan(project)
    _commit(plans, started_at="2026-01-01T00:00:00+00:00")
    calls = []

    def fake_run(task):
        calls.append(task.name)
        if len(calls) == 2:
            raise KeyboardInterrupt  # Ctrl-C while the second run executes
        return RunOutcome(name=task.name, status="ok", started_at="2026-02-02T00:00:00+00:00",
                          duration_s=1.0, notebook_json="{}", html="<p>new</p>")

    monkeypatch.setattr(runner_mod, "run_isolated", fake_run)
    with pytest.raises(KeyboardInterrupt):
        run_reports(project / "reports.yml", force=True, jobs=1, progress=False,
                    log=lambda _m: None)
    manifest = json.loads((paths.reports_dir() / "manifest.json").read_text())
    runs = {r["name"]: r for r in manifest["runs"]}
    assert manifest["interrupted"] is True
    assert runs["a"]["batch"] == "ran now" and runs["a"]["executed_at"].startswith("2026-02-02")
    for name in ("b", "c"):
        assert runs[name]["batch"] == "not run: interrupted"
        assert runs[name]["previous_executed_at"] == "2026-01-01T00:00:00+00:00"
    assert manifest["summary"]["ran_now"] == 1
    assert manifest["summary"]["not_run_interrupted"] == 2

    index = (paths.reports_dir() / "index.html").read_text()
    rows = {name: index.split(f"id='run-{name}'")[1].split("</tr>")[0] for name in "abc"}
    assert "ran now" in rows["a"]
    for name in ("b", "c"):
        assert "ran now" not in rows[name]
        assert "not run: interrupted; previous result from 2026-01-01T00:00:00+00:00" in rows[name]
    assert "INTERRUPTED" in index


def test_only_leaves_other_runs_marked_not_selected(project, monkeypatch):
    _, plans = _plan(project)
    _commit(plans)
    monkeypatch.setattr(runner_mod, "run_isolated", lambda task: RunOutcome(
        name=task.name, status="ok", started_at="2026-02-02T00:00:00+00:00", duration_s=1.0,
        notebook_json="{}", html="<p>new</p>"))
    summary = run_reports(project / "reports.yml", force=True, only=["a"], progress=False,
                          log=lambda _m: None)
    assert [r["batch"] for r in summary.records] == ["ran now", "not selected", "not selected"]
    index = (paths.reports_dir() / "index.html").read_text()
    assert index.count("ran now") == 1


_DECLARING = {
    "cells": [
        {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "source": "label = 'x'",
         "outputs": [], "execution_count": None, "id": "p"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "id": "d",
         "source": "from govstats.provenance import declare\n"
                   "declare(simulated=False, sources=['data/population.csv'])\n"
                   "print(open('../data/population.csv').read())"},
    ],
    "metadata": {"kernelspec": {"name": "python3", "language": "python",
                                "display_name": "Python 3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


@pytest.mark.slow  # real kernels
def test_end_to_end_declared_file_reruns(project):
    (project / "nb" / "declares.ipynb").write_text(json.dumps(_DECLARING))
    (project / "reports.yml").write_text("runs:\n  - notebook: nb/declares.ipynb\n    name: d\n")
    first = run_reports(project / "reports.yml", progress=False, log=lambda _m: None)
    assert first.executed == ["d"], first.records
    rec = first.record("d")
    assert rec["declared_inputs"] == {"data/population.csv": _sha(project / "data/population.csv")}
    assert run_reports(project / "reports.yml", progress=False, log=lambda _m: None).cached == ["d"]
    (project / "data" / "population.csv").write_text("place,population\nhengyang,1\n")
    third = run_reports(project / "reports.yml", progress=False, log=lambda _m: None)
    assert third.executed == ["d"] and third.record("d")["rerun_reasons"] == ["declared_inputs"]
    nb = nbformat.read(paths.reports_dir() / "d.ipynb", as_version=4)
    assert "hengyang,1" in "".join(o.get("text", "") for c in nb.cells for o in c.get("outputs", []))
