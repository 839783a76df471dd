"""End to end: real kernels, real papermill, in a temporary project root.

Executions are counted independently of the runner: the fixture notebooks
append their label to a log file each time they execute. Each test starting
kernels takes 9-15 s on two cores, hence ``slow``; all of them together stay
under a minute.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

import govstats
from govstats import paths
from govstats.cli import main
from govstats.report import run_reports
from govstats.report import runner as runner_mod

FIXTURES = Path(__file__).parent / "notebooks"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "project"
    (root / "nb").mkdir(parents=True)
    for nb in FIXTURES.glob("*.ipynb"):
        shutil.copy(nb, root / "nb" / nb.name)
    monkeypatch.setenv("GOVSTATS_ROOT", str(root))
    # Hash a snapshot of the govstats source: the cache key must not change because
    # someone edits the package while a test runs (that would be a legitimate miss).
    snapshot = tmp_path / "govstats-snapshot"
    shutil.copytree(Path(govstats.__file__).parent, snapshot,
                    ignore=shutil.ignore_patterns("__pycache__"))
    real = runner_mod.source_fingerprint
    monkeypatch.setattr(runner_mod, "source_fingerprint", lambda _dir: real(snapshot))
    return root


def _write_config(root: Path, text: str) -> Path:
    path = root / "reports.yml"
    path.write_text(textwrap.dedent(text).replace("LOG", str(root / "executions.log")))
    return path


def _executions(root: Path) -> list[str]:
    log = root / "executions.log"
    return sorted(log.read_text().splitlines()) if log.exists() else []


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def _run(config: Path, **kwargs):
    return run_reports(config, progress=False, log=lambda _m: None, **kwargs)


@pytest.mark.slow  # real kernels: 9-15 s
def test_cold_warm_and_one_changed_input(project):
    (project / "data").mkdir()
    (project / "data" / "a.csv").write_text("place,value\nhengyang,1\n")
    (project / "data" / "b.csv").write_text("place,value\nfutian,1\n")
    config = _write_config(project, """
        runs:
          - notebook: nb/hello.ipynb
            name: alpha
            parameters: {label: alpha, code: "430400", simulated: true, log_path: LOG}
            data: [data/a.csv]
          - notebook: nb/hello.ipynb
            name: beta
            parameters: {label: beta, log_path: LOG}
            data: [data/b.csv]
        """)
    (project / ".gitignore").write_text("reports/\n.govstats-cache/\nexecutions.log\n")
    _git(project, "init", "-q")
    _git(project, "add", "-A")
    _git(project, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "init")
    head = _git(project, "rev-parse", "HEAD")

    cold = _run(config, jobs=2)
    assert cold.exit_code == 0 and sorted(cold.executed) == ["alpha", "beta"]
    assert _executions(project) == ["alpha", "beta"]
    reports = paths.reports_dir()
    for name in ("alpha", "beta"):
        assert (reports / f"{name}.html").is_file() and (reports / f"{name}.ipynb").is_file()
    executed = nbformat.read(reports / "alpha.ipynb", as_version=4)
    outputs = "".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
    assert "code type: str 430400" in outputs  # the quoted code arrived as text
    # two runs at once share the cores: each kernel's BLAS and Rayon pools get half of them
    share = str(max(1, runner_mod.default_jobs() // 2))
    assert f"threads: {share} {share}" in outputs

    manifest = json.loads((reports / "manifest.json").read_text())
    alpha = next(r for r in manifest["runs"] if r["name"] == "alpha")
    assert alpha["status"] == "ok" and alpha["cache_hit"] is False
    assert alpha["simulated"] is True and alpha["sources"] == ["fixture source for alpha"]
    assert alpha["git"] == {"commit": head, "dirty": False}
    assert alpha["parameters"]["code"] == "430400"
    assert alpha["data_files"] == {
        "data/a.csv": __import__("hashlib").sha256(b"place,value\nhengyang,1\n").hexdigest()
    }
    assert alpha["kernel"]["name"] == "govstats" and alpha["kernel"]["python"]
    assert alpha["packages"]["papermill"] and alpha["duration_s"] > 0
    beta = next(r for r in manifest["runs"] if r["name"] == "beta")
    assert beta["simulated"] is False

    warm = _run(config, jobs=2)
    assert warm.executed == [], [r["rerun_reasons"] for r in warm.records]
    assert sorted(warm.cached) == ["alpha", "beta"]
    assert _executions(project) == ["alpha", "beta"]  # nothing executed again
    assert all(r["cache_hit"] for r in warm.records)

    (project / "data" / "b.csv").write_text("place,value\nfutian,2\n")  # tracked: tree now dirty
    changed = _run(config, jobs=2)
    assert changed.executed == ["beta"] and changed.cached == ["alpha"]
    assert _executions(project) == ["alpha", "beta", "beta"]
    beta = changed.record("beta")
    assert beta["rerun_reasons"] == ["data"] and beta["git"] == {"commit": head, "dirty": True}
    assert changed.record("alpha")["git"]["dirty"] is False  # provenance of when it ran

    index = (reports / "index.html").read_text()
    assert "href='alpha.html'" in index and "href='beta.html'" in index
    assert "SIMULATED" in index


@pytest.mark.slow  # real kernels: 9-15 s
def test_a_failing_notebook_keeps_last_good_report_and_others_complete(project, capsys):
    hostile = "<script>alert('x')</script>"
    config_text = """
        runs:
          - notebook: nb/hello.ipynb
            name: fine
            description: "<b>bold</b> & co"
            parameters: {label: "HOSTILE", log_path: LOG}
          - notebook: nb/fails.ipynb
            name: breaks
            parameters: {should_fail: SHOULD_FAIL, message: "<img src=x onerror=alert(1)>"}
        """.replace("HOSTILE", hostile.replace('"', '\\"'))
    config = _write_config(project, config_text.replace("SHOULD_FAIL", "false"))
    assert main(["report", "--config", str(config), "--no-build", "--no-progress"]) == 0
    reports = paths.reports_dir()
    good_html = (reports / "breaks.html").read_bytes()
    good_nb = (reports / "breaks.ipynb").read_bytes()

    _write_config(project, config_text.replace("SHOULD_FAIL", "true"))
    code = main(["report", "--config", str(config), "--no-build", "--no-progress", "-j", "2"])
    err = capsys.readouterr().err
    assert code == 1
    assert "FAILED breaks: ValueError: <img src=x onerror=alert(1)>" in err
    # the last good report is intact; the failure has its own rendering
    assert (reports / "breaks.html").read_bytes() == good_html
    assert (reports / "breaks.ipynb").read_bytes() == good_nb
    failed_html = (reports / "breaks.failed.html").read_text()
    assert 'id="papermill-error-cell"' in failed_html
    text = html.unescape(re.sub(r"<[^>]+>", "", failed_html))
    assert "raise ValueError(message)" in text  # the failing cell's code is shown
    manifest = json.loads((reports / "manifest.json").read_text())
    breaks = next(r for r in manifest["runs"] if r["name"] == "breaks")
    assert breaks["status"] == "failed" and breaks["error"]["ename"] == "ValueError"
    assert breaks["html"] == "breaks.html" and breaks["failed_html"] == "breaks.failed.html"
    fine = next(r for r in manifest["runs"] if r["name"] == "fine")
    assert fine["status"] == "ok" and fine["cache_hit"] is True

    index = (reports / "index.html").read_text()
    assert "href='breaks.failed.html#papermill-error-cell'" in index
    assert "last good report" in index
    # strings from parameters, descriptions, sources and errors are escaped everywhere
    report_html = (reports / "fine.html").read_text()
    for page in (index, report_html, failed_html):
        assert "<script>alert(" not in page
        assert "<img src=x" not in page
    assert "&lt;script&gt;alert(" in index and "&lt;img src=x onerror=alert(1)&gt;" in index
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; co" in index
    assert "&lt;script&gt;alert(" in report_html

    # fixed again: the failure files go, the new good report replaces the old one
    _write_config(project, config_text.replace("SHOULD_FAIL", "false"))
    assert main(["report", "--config", str(config), "--no-build", "--no-progress"]) == 0
    assert not (reports / "breaks.failed.html").exists()


def _kernelspec(where: Path, name: str, argv: list[str]) -> None:
    spec = where / "kernels" / name
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": name, "language": "python"}))


@pytest.mark.slow  # real kernels: 9-15 s
def test_timeout_kernel_retry_and_dead_kernel(project, tmp_path, monkeypatch):
    jupyter = tmp_path / "jupyter"
    marker = tmp_path / "flaky-started-once"
    flaky = tmp_path / "flaky_kernel.py"
    flaky.write_text(textwrap.dedent(f"""
        import os, pathlib, sys
        marker = pathlib.Path({str(marker)!r})
        if not marker.exists():
            marker.write_text("failed once")
            sys.exit(3)  # the first start dies before answering
        os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *sys.argv[1:]])
        """))
    _kernelspec(jupyter, "flaky", [sys.executable, str(flaky), "-f", "{connection_file}"])
    _kernelspec(jupyter, "dead", [sys.executable, "-c", "import sys; sys.exit(4)",
                                  "{connection_file}"])
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter))
    config = _write_config(project, """
        defaults: {start_timeout: 20}
        runs:
          - notebook: nb/slow.ipynb
            name: too_slow
            timeout: 4
            parameters: {seconds: 120, mode: sleep}
          - notebook: nb/hello.ipynb
            name: flaky_start
            kernel: flaky
          - notebook: nb/hello.ipynb
            name: never_starts
            kernel: dead
        """)
    summary = _run(config, jobs=3)
    assert sorted(summary.failed) == ["never_starts", "too_slow"]
    slow = summary.record("too_slow")
    assert slow["error"]["kind"] == "timeout" and slow["duration_s"] < 60
    assert slow["failed_html"] == "too_slow.failed.html" and slow["html"] is None
    assert not (paths.reports_dir() / "too_slow.html").exists()  # no report in place of none
    flaky_run = summary.record("flaky_start")
    assert flaky_run["status"] == "ok" and flaky_run["attempts"] == 2 and marker.exists()
    dead = summary.record("never_starts")
    assert dead["error"]["kind"] == "kernel" and dead["attempts"] == 2


@pytest.mark.slow  # real kernels: 9-15 s
def test_dask_local_cluster_runs_the_same_function(project):
    distributed = pytest.importorskip("distributed")
    config = _write_config(project, """
        runs:
          - notebook: nb/hello.ipynb
            grid: {label: [d1, d2]}
            parameters: {log_path: LOG}
        """)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        summary = _run(config, scheduler=cluster.scheduler_address)
    assert summary.exit_code == 0
    assert sorted(summary.executed) == ["hello__label-d1", "hello__label-d2"]
    assert _executions(project) == ["d1", "d2"]
    for name in summary.executed:
        assert (paths.reports_dir() / f"{name}.html").is_file()


def test_invalid_configuration_runs_nothing_and_exits_2(project, capsys):
    config = _write_config(project, """
        runs:
          - notebook: nb/hello.ipynb
            parameters: {code: 430400, log_path: LOG, nope: 1}
        """)
    assert main(["report", "--config", str(config), "--no-build", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "nothing was run" in err and "2 problems" in err
    assert f"{config}, row 4, column 'code'" in err
    assert _executions(project) == []
    assert not paths.reports_dir().exists()


def test_build_runs_after_validation_and_only_when_its_inputs_changed(project, monkeypatch):
    import types

    calls = []

    def fake_build():
        calls.append("built")
        paths.processed_dir().mkdir(parents=True, exist_ok=True)
        (paths.processed_dir() / "out.csv").write_text(f"n\n{len(calls)}\n")

    fake = types.ModuleType("govstats.build")
    fake.build_processed_data = fake_build
    monkeypatch.setitem(sys.modules, "govstats.build", fake)
    config = _write_config(project, """
        runs:
          - notebook: nb/hello.ipynb
            parameters: {code: 1}
        """)
    assert main(["report", "--config", str(config), "--no-progress"]) == 2
    assert calls == []  # invalid parameters: not even the build ran

    raw = paths.raw_dir()
    raw.mkdir(parents=True)
    (raw / "facts.csv").write_text("a\n1\n")
    paths.cache_dir().mkdir(parents=True, exist_ok=True)

    def build(force=False):
        runner_mod._build_if_needed(lambda _m: None, force=force, versions={}, source_dir=None)
        return len(calls)

    assert build() == 1
    assert build() == 1  # nothing changed: skipped
    (raw / "facts.csv").write_text("a\n2\n")
    assert build() == 2  # raw data changed
    (paths.processed_dir() / "out.csv").unlink()
    assert build() == 3  # an output went missing
    assert build(force=True) == 4
    assert main(["build-data"]) == 0 and len(calls) == 5  # the subcommand always builds


def test_python_dash_m_govstats_help():
    out = subprocess.run([sys.executable, "-m", "govstats", "report", "--help"], cwd=REPO,
                         capture_output=True, text=True, check=True)
    assert "--scheduler" in out.stdout and "--jobs" in out.stdout


def test_worker_environment_divides_the_cores_and_keeps_the_users_choice(monkeypatch, tmp_path):
    from govstats.report.worker import RunTask

    task = RunTask(name="r", notebook=str(tmp_path / "x.ipynb"), parameters={}, kernel="python3",
                   cwd=str(tmp_path), timeout=60, start_timeout=60, show_code=False,
                   project_root=str(tmp_path), pythonpath="/pkg", threads=3)
    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")  # the user's own setting wins
    env = runner_mod.worker_environment(task)
    assert env["OPENBLAS_NUM_THREADS"] == env["RAYON_NUM_THREADS"] == "3"
    assert env["OMP_NUM_THREADS"] == "7"
    assert env["GOVSTATS_RUN"] == "r" and env["PYTHONPATH"].split(os.pathsep)[0] == "/pkg"
    monkeypatch.delenv("PYTHONHASHSEED", raising=False)
    assert runner_mod.worker_environment(task)["PYTHONHASHSEED"] == "0"  # set orders repeat
    unset = runner_mod.worker_environment(RunTask.from_json(task.to_json().replace('"threads": 3', '"threads": null')))
    assert "OPENBLAS_NUM_THREADS" not in unset
