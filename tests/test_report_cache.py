"""Cache hit and miss for each kind of dependency, through the runner's own planning.

No notebook is executed: a successful run is recorded with the runner's commit
step and a stand-in outcome, then one dependency is changed at a time and
:func:`govstats.report.plan_runs` must name exactly that dependency (miss) or
nothing (hit). The end-to-end tests in ``test_report_run.py`` check that a hit
really executes nothing.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
from pathlib import Path

import pytest

import govstats
from govstats import paths
from govstats.report import load_config, plan_runs
from govstats.report import runner as runner_mod
from govstats.report.cache import CacheStore, FileHasher, data_fingerprint, dependency_versions
from govstats.report.kernel import ensure_kernel
from govstats.report.manifest import environment_info
from govstats.report.worker import RunOutcome

FIXTURES = Path(__file__).parent / "notebooks"

CONFIG = """kernel: {kernel}
runs:
  - notebook: nb/hello.ipynb
    name: a
    parameters: {{label: "a"}}
    data: ["data/a/*.csv"]
  - notebook: nb/hello.ipynb
    name: b
    parameters: {{label: "b"}}
    data: ["data/b/**/*.csv"]
"""


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setenv("GOVSTATS_ROOT", str(tmp_path))
    (tmp_path / "nb").mkdir()
    shutil.copy(FIXTURES / "hello.ipynb", tmp_path / "nb" / "hello.ipynb")
    for sub in ("a", "b/deep"):
        (tmp_path / "data" / sub).mkdir(parents=True)
    (tmp_path / "data" / "a" / "x.csv").write_text("place,value\nhengyang,1\n")
    (tmp_path / "data" / "b" / "deep" / "y.csv").write_text("place,value\nfutian,2\n")
    source = tmp_path / "src" / "govstats"
    shutil.copytree(Path(govstats.__file__).parent, source,
                    ignore=shutil.ignore_patterns("__pycache__"))
    _config(tmp_path, "govstats")
    return tmp_path


def _config(root: Path, kernel: str) -> Path:
    path = root / "reports.yml"
    path.write_text(CONFIG.format(kernel=kernel))
    return path


def _plan(root: Path, **kwargs):
    plans = plan_runs(root / "reports.yml", source_dir=root / "src" / "govstats",
                      log=lambda _m: None, **kwargs)
    return {p.run.name: p.reasons for p in plans}, plans


def _record_success(root: Path, plans) -> None:
    """Commit a successful outcome for every planned run with the runner's own commit step."""
    store = CacheStore(paths.cache_dir())
    kernels = {p.run.kernel: ensure_kernel(p.run.kernel) for p in plans}
    env = environment_info(dependency_versions())
    for plan in plans:
        outcome = RunOutcome(name=plan.run.name, status="ok", started_at="2026-01-01T00:00:00+00:00",
                             duration_s=1.0, notebook_json="{}", html="<p>report</p>")
        runner_mod._commit(plan, outcome, paths.reports_dir(), store, {"commit": None, "dirty": None},
                           env, kernels)


def _warm(root: Path):
    reasons, plans = _plan(root)
    _record_success(root, plans)
    reasons, _ = _plan(root)
    assert reasons == {"a": [], "b": []}, "nothing changed: both runs must be cache hits"


def test_first_plan_runs_everything_then_all_hits(project):
    reasons, _ = _plan(project)
    assert reasons == {"a": ["no earlier successful run"], "b": ["no earlier successful run"]}
    _warm(project)


def test_notebook_code_change_is_a_miss_but_outputs_are_not(project):
    _warm(project)
    path = project / "nb" / "hello.ipynb"
    nb = json.loads(path.read_text())
    # outputs and execution counts (what saving an executed copy changes) do not matter
    nb["cells"][-1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x\n"}]
    nb["cells"][-1]["execution_count"] = 7
    path.write_text(json.dumps(nb))
    assert _plan(project)[0] == {"a": [], "b": []}
    nb["cells"][-1]["source"] += "\nprint('one more line')"
    path.write_text(json.dumps(nb))
    assert _plan(project)[0] == {"a": ["notebook"], "b": ["notebook"]}


def test_parameter_change_misses_only_that_run(project):
    _warm(project)
    cfg = project / "reports.yml"
    cfg.write_text(cfg.read_text().replace('label: "b"', 'label: "b2"'))
    assert _plan(project)[0] == {"a": [], "b": ["parameters"]}


def test_kernel_change_is_a_miss(project):
    _warm(project)
    _config(project, "python3")  # another kernelspec: different argv
    assert _plan(project)[0] == {"a": ["kernel"], "b": ["kernel"]}


def test_govstats_source_change_is_a_miss(project):
    _warm(project)
    with (project / "src" / "govstats" / "paths.py").open("a") as fh:
        fh.write("\n# an edit\n")
    assert _plan(project)[0] == {"a": ["govstats_source"], "b": ["govstats_source"]}


def test_data_content_change_misses_only_the_run_that_reads_it(project):
    _warm(project)
    target = project / "data" / "a" / "x.csv"
    target.write_text("place,value\nhengyang,2\n")
    assert _plan(project)[0] == {"a": ["data"], "b": []}


def test_touching_data_without_changing_it_is_a_hit(project):
    _warm(project)
    target = project / "data" / "b" / "deep" / "y.csv"
    stat = target.stat()
    os.utime(target, ns=(stat.st_atime_ns + 10**9, stat.st_mtime_ns + 10**9))
    target.write_bytes(target.read_bytes())  # rewritten, same bytes
    assert _plan(project)[0] == {"a": [], "b": []}


def test_a_new_data_file_matching_the_glob_is_a_miss(project):
    _warm(project)
    (project / "data" / "b" / "deep" / "z.csv").write_text("place,value\nquzhou,3\n")
    assert _plan(project)[0] == {"a": [], "b": ["data"]}


def test_dependency_version_change_is_a_miss(project, monkeypatch):
    _warm(project)
    real = dependency_versions()
    monkeypatch.setattr(runner_mod, "dependency_versions",
                        lambda: {**real, "pandas": real["pandas"] + ".post1"})
    assert _plan(project)[0] == {"a": ["dependencies"], "b": ["dependencies"]}


def test_rendering_option_is_part_of_the_key(project):
    _warm(project)
    assert _plan(project, show_code=True)[0] == {"a": ["rendering"], "b": ["rendering"]}


def test_force_missing_reports_and_failures(project):
    _warm(project)
    assert _plan(project, force=True)[0] == {"a": ["forced"], "b": ["forced"]}
    (paths.reports_dir() / "a.html").unlink()
    assert _plan(project)[0] == {"a": ["report files missing"], "b": []}
    # a failed attempt is never cached, but keeps the last success
    reasons, plans = _plan(project, force=True)
    plan_b = next(p for p in plans if p.run.name == "b")
    failed = RunOutcome(name="b", status="failed", started_at="t", duration_s=1.0,
                        error={"kind": "cell", "message": "boom"})
    store = CacheStore(paths.cache_dir())
    runner_mod._commit(plan_b, failed, paths.reports_dir(), store, {}, environment_info({}),
                       {"govstats": ensure_kernel("govstats")})
    record = store.load("b")
    assert record["latest"]["status"] == "failed"
    assert record["latest"]["html"] == "b.html"  # the last good report is still linked
    assert _plan(project)[0]["b"] == []  # inputs equal to the last success: still a hit


def test_file_hasher_matches_hashlib_and_memoises(tmp_path):
    data = tmp_path / "d.csv"
    data.write_bytes(b"a,b\n1,2\n")
    store = tmp_path / "memo.json"
    hasher = FileHasher(store)
    assert hasher.sha256(data) == hashlib.sha256(b"a,b\n1,2\n").hexdigest()
    hasher.save()
    assert str(data.resolve()) in json.loads(store.read_text())
    data.write_bytes(b"a,b\n1,3\n")  # new size/mtime: recomputed, not served from the memo
    assert FileHasher(store).sha256(data) == hashlib.sha256(b"a,b\n1,3\n").hexdigest()


def test_unmatched_data_glob_is_reported(tmp_path):
    files, unmatched = data_fingerprint(["nothing/*.csv"], tmp_path, FileHasher(None))
    assert files == {} and unmatched == ["nothing/*.csv"]


def test_dependency_versions_agree_with_importlib_metadata():
    expected = {}
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"].lower().replace("_", "-").replace(".", "-")
        expected.setdefault(name, dist.version)
    assert dependency_versions() == dict(sorted(expected.items()))


def test_config_loaded_once_can_be_planned(project):
    config = load_config(project / "reports.yml")
    plans = plan_runs(config, only=["a"], log=lambda _m: None)
    assert [p.run.name for p in plans] == ["a"]
    with pytest.raises(ValueError, match="matches no run"):
        plan_runs(config, only=["zzz"], log=lambda _m: None)
