"""Reports configuration: loading, grids, and parameter validation before anything runs.

No kernel is started here. The YAML expectations come from the YAML 1.1 core
schema that PyYAML implements (a leading 0 makes an integer octal; plain digits
are integers; quoted scalars are strings), not from this code.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from govstats.errors import DataValidationError
from govstats.report.config import load_config, run_name_slug
from govstats.report.params import check_value, notebook_parameters, validate_parameters

FIXTURES = Path(__file__).parent / "notebooks"


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A temporary project root holding copies of the fixture notebooks."""
    monkeypatch.setenv("GOVSTATS_ROOT", str(tmp_path))
    (tmp_path / "nb").mkdir()
    for nb in FIXTURES.glob("*.ipynb"):
        shutil.copy(nb, tmp_path / "nb" / nb.name)
    return tmp_path


def _write(root: Path, text: str) -> Path:
    path = root / "reports.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing ``needle`` (computed from the text)."""
    hits = [i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line]
    return hits[occurrence - 1]


def test_yaml_reads_codes_as_the_yaml_spec_says():
    # YAML 1.1: 010 is octal 8, 430400 an int, quoted scalars are strings.
    data = yaml.safe_load("a: 010\nb: 430400\nc: '010'\nd: \"430400\"\n")
    assert data == {"a": 8, "b": 430400, "c": "010", "d": "430400"}


def test_grid_expands_to_the_cartesian_product(project):
    cfg = _write(project, """
defaults: {timeout: 30}
runs:
  - notebook: nb/hello.ipynb
    parameters: {n: 2}
    grid: {label: [a, b], code: ["010", "430400"]}
    data: ["data/*.csv"]
  - notebook: nb/fails.ipynb
    name: explicit
    timeout: 5
""")
    config = load_config(cfg)
    names = [r.name for r in config.runs]
    assert names == [
        "hello__label-a__code-010",
        "hello__label-a__code-430400",
        "hello__label-b__code-010",
        "hello__label-b__code-430400",
        "explicit",
    ]
    first = config.runs[0]
    assert first.parameters == {"n": 2, "label": "a", "code": "010"}
    assert first.timeout == 30 and config.run("explicit").timeout == 5
    assert first.data == ("data/*.csv",)
    assert first.notebook == (project / "nb" / "hello.ipynb").resolve()
    assert first.kernel == "govstats"


def test_structural_problems_are_reported_together_with_lines(project):
    cfg = _write(project, """runs:
  - notebook: nb/hello.ipynb
    timeout: -1
    colour: red
  - notebook: nb/missing.ipynb
  - name: no_notebook
  - notebook: nb/hello.ipynb
  - notebook: nb/hello.ipynb
    name: index
extra: 1
""")
    with pytest.raises(DataValidationError) as info:
        load_config(cfg)
    found = {(p.row, p.column) for p in info.value.problems}
    assert (_line_of(cfg, "timeout: -1"), "timeout") in found
    assert (_line_of(cfg, "colour"), "colour") in found
    assert (_line_of(cfg, "missing.ipynb"), "notebook") in found
    assert (_line_of(cfg, "name: no_notebook"), "notebook") in found
    assert (_line_of(cfg, "extra: 1"), "extra") in found
    # two entries both named "hello", and one reserved name
    messages = " | ".join(p.message for p in info.value.problems)
    assert "'hello' is used twice" in messages
    assert "reserved" in messages
    assert len(info.value.problems) == 7
    assert all(p.file == str(cfg) for p in info.value.problems)


def test_yaml_syntax_error_names_the_line(project):
    cfg = _write(project, "runs:\n  - notebook: nb/hello.ipynb\n    parameters: {a: [1, 2}\n")
    with pytest.raises(DataValidationError) as info:
        load_config(cfg)
    assert info.value.problems[0].row == 3


def test_a_date_cannot_be_passed(project):
    cfg = _write(project, "runs:\n  - notebook: nb/hello.ipynb\n    parameters: {label: 2024-01-01}\n")
    with pytest.raises(DataValidationError, match="as a date"):
        load_config(cfg)


def test_parameter_problems_fail_before_running_all_at_once(project):
    cfg = _write(project, """runs:
  - notebook: nb/hello.ipynb
    name: profile
    parameters:
      lable: x
      code: 430400
      n: "3"
      ratio: 1
      flag: yes
      places: [hengyang, 010]
  - notebook: nb/hello.ipynb
    name: grid_run
    grid:
      code: ["430401", 430402]
smoke:
  nb/fails.ipynb: {should_fial: true}
""")
    config = load_config(cfg)
    with pytest.raises(DataValidationError) as info:
        validate_parameters(config)
    assert sorted(p.column for p in info.value.problems) == sorted(
        ["lable", "code", "n", "places", "code", "should_fial"]
    )
    by_line = {p.row: p for p in info.value.problems}
    unknown = by_line[_line_of(cfg, "lable: x")]
    assert "unknown parameter 'lable'" in unknown.message and "'label'" in unknown.hint
    assert "profile" in unknown.message and unknown.file == str(cfg)
    code = by_line[_line_of(cfg, "code: 430400")]
    assert code.value == "430400" and "quote it" in code.hint
    assert "str" in code.message and "int 430400" in code.message
    n = by_line[_line_of(cfg, 'n: "3"')]
    assert "int" in n.message and "str '3'" in n.message
    places = by_line[_line_of(cfg, "places:")]
    assert "list[str]" in places.message and "'010'" in places.hint
    grid = by_line[_line_of(cfg, "430402")]
    assert "grid_run" in grid.message and grid.value == "430402"
    smoke = by_line[_line_of(cfg, "should_fial")]
    assert "'should_fail'" in smoke.hint
    # ratio: 1 is a valid float and flag: yes a valid bool in YAML 1.1: no problem there
    assert _line_of(cfg, "ratio: 1") not in by_line
    assert _line_of(cfg, "flag: yes") not in by_line


def test_quoted_codes_stay_strings_and_pass(project):
    cfg = _write(project, """runs:
  - notebook: nb/hello.ipynb
    parameters: {code: "010", places: ["430400", "010"], n: 7, ratio: 0.25}
""")
    config = load_config(cfg)
    validate_parameters(config)
    assert config.runs[0].parameters["code"] == "010"
    assert config.runs[0].parameters["places"] == ["430400", "010"]


def test_unquoted_leading_zero_for_a_number_is_flagged(project):
    cfg = _write(project, "runs:\n  - notebook: nb/hello.ipynb\n    parameters: {n: 010}\n")
    with pytest.raises(DataValidationError, match="octal"):
        validate_parameters(load_config(cfg))


def test_notebook_without_parameters_cell(project):
    nb = json.loads((project / "nb" / "hello.ipynb").read_text())
    for cell in nb["cells"]:
        cell["metadata"].pop("tags", None)
    (project / "nb" / "plain.ipynb").write_text(json.dumps(nb))
    cfg = _write(project, "runs:\n  - notebook: nb/plain.ipynb\n    parameters: {label: x}\n")
    with pytest.raises(DataValidationError, match="no cell tagged 'parameters'"):
        validate_parameters(load_config(cfg))


def test_names_papermill_regex_skips_are_still_known(project, tmp_path):
    nb = json.loads((project / "nb" / "hello.ipynb").read_text())
    params = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    params["source"] = "region: str | None = None\nyears: list[int] = [2020, 2021]\n"
    path = project / "nb" / "typed.ipynb"
    path.write_text(json.dumps(nb))
    found = notebook_parameters(path)
    assert found["region"].type_name == "str | None"
    assert found["years"].type_name == "list[int]"
    cfg = _write(project, """runs:
  - notebook: nb/typed.ipynb
    parameters: {region: "430400", years: [2019]}
  - notebook: nb/typed.ipynb
    name: bad
    parameters: {region: 430400, years: ["2019"]}
""")
    with pytest.raises(DataValidationError) as info:
        validate_parameters(load_config(cfg))
    assert {p.column for p in info.value.problems} == {"region", "years"}
    assert all("bad" in p.message for p in info.value.problems)


def test_inspection_cache_is_keyed_by_notebook_bytes(project):
    cache = project / "cache"
    path = project / "nb" / "hello.ipynb"
    first = notebook_parameters(path, cache_dir=cache)
    assert len(list(cache.glob("*.json"))) == 1
    assert notebook_parameters(path, cache_dir=cache) == first
    nb = json.loads(path.read_text())
    nb["cells"][1]["source"] = "label = 'x'\nextra = 1\n"
    path.write_text(json.dumps(nb))
    assert set(notebook_parameters(path, cache_dir=cache)) == {"label", "extra"}


@pytest.mark.parametrize(
    ("value", "type_name", "ok"),
    [
        ("430400", "str", True),
        (430400, "str", False),
        (3, "int", True),
        (True, "int", False),  # bool is an int subclass in Python, not a valid count
        (3, "float", True),
        (2.5, "int", False),
        (False, "bool", True),
        (0, "bool", False),
        (["a", "b"], "list[str]", True),
        (["a", 1], "list[str]", False),
        ([1, 2.5], "list[float]", True),
        ({"a": 1}, "dict", True),
        ([], "dict", False),
        (None, "Optional[int]", True),
        ("x", "Optional[int]", False),
        ("x", "str | None", True),
        ("b", "Literal['a', 'b']", True),
        ("c", "Literal['a', 'b']", False),
        (object(), "SomeClass", True),  # unknown types accept anything
        (1, None, True),
    ],
)
def test_check_value(value, type_name, ok):
    assert check_value(value, type_name) is ok


def test_run_name_slug_keeps_chinese_and_drops_path_characters():
    assert run_name_slug("衡阳 / <x>") == "衡阳_x"
    assert run_name_slug("../../etc/passwd") == "etc_passwd"
    assert run_name_slug("...") == "run"


def test_non_python_notebooks_are_not_inspected(project):
    nb = json.loads((project / "nb" / "hello.ipynb").read_text())
    nb["metadata"]["kernelspec"] = {"name": "ir", "language": "R", "display_name": "R"}
    nb["metadata"]["language_info"] = {"name": "R"}
    (project / "nb" / "r.ipynb").write_text(json.dumps(nb))
    cfg = _write(project, "runs:\n  - notebook: nb/r.ipynb\n    parameters: {anything: 1}\n")
    validate_parameters(load_config(cfg))  # papermill cannot inspect R cells: nothing to check
    cfg = _write(project, "runs:\n  - notebook: nb/hello.ipynb\n    parameters: {anything: 1}\n")
    with pytest.raises(DataValidationError, match="unknown parameter 'anything'"):
        validate_parameters(load_config(cfg))
