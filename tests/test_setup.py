"""The setup promises in the README hold: two commands, one dependency source, CI = README."""

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", text, re.S)
    cmds = []
    for block in blocks[:2]:
        lines = [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        assert len(lines) == 1, f"each of the first two README blocks holds one command: {lines}"
        cmds.append(lines[0].strip())
    return cmds


def test_readme_has_two_commands_main_then_tests():
    main, tests = readme_commands()
    assert "govstats report" in main
    assert "pytest" in tests
    for cmd in (main, tests):
        assert cmd.startswith("python3.11 -m venv .venv"), "only Python 3.11 is on a fresh machine"
        assert "conda" not in cmd


def test_ci_runs_the_readme_test_command_exactly():
    _, tests = readme_commands()
    ci_lines = [
        ln.strip()
        for ln in (ROOT / ".ci" / "run").read_text().splitlines()
        if ln.strip() and not ln.startswith("#") and not ln.startswith(("set ", "cd "))
    ]
    assert ci_lines == [tests]


def test_environment_yml_installs_the_package_from_pyproject():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    deps = env["dependencies"]
    python = [d for d in deps if isinstance(d, str) and d.startswith("python")]
    assert python == ["python=3.11"]
    assert pyproject["project"]["requires-python"].startswith(">=3.11")
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    # The only pip requirement is this package (with its test extra): dependencies are
    # declared once, in pyproject.toml, never repeated here.
    assert pip == ["-e .[test]"]
    assert "test" in pyproject["project"]["optional-dependencies"]
    conda_pkgs = {re.split(r"[=<>]", d)[0] for d in deps if isinstance(d, str)}
    assert conda_pkgs == {"python", "pip"}, "conda installs only python and pip"


def test_named_dependencies_are_declared():
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    names = {re.split(r"[\[<>=!~ ]", d)[0].lower() for d in deps}
    for required in ("jupyterlab", "pandas", "statsmodels", "seaborn", "linearmodels", "papermill"):
        assert required in names
