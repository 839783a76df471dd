"""Parameters fail loudly everywhere: inside the notebook (plain papermill), in the
configuration check, and for one-off ``govstats report --only NAME -p key value`` runs.

Each bad value must produce a message naming the parameter, the value and what is valid.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from govstats.errors import DataValidationError
from govstats.report import check_parameters, load_config, validate_parameters
from govstats.report.params import (
    FIVE_PLACES,
    RULES,
    parse_cli_parameters,
)

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def _defaults(path: Path) -> dict:
    nb = json.loads(path.read_text(encoding="utf-8"))
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    tree = ast.parse("".join(cell["source"]))
    out = {}
    for stmt in tree.body:
        target = stmt.targets[0] if isinstance(stmt, ast.Assign) else stmt.target
        out[target.id] = ast.literal_eval(stmt.value)
    return out


def _messages(exc: DataValidationError) -> dict[str, str]:
    return {p.column: f"{p.message}; {p.hint}" for p in exc.problems}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_notebook_default_passes_its_own_check(path):
    check_parameters(_defaults(path), path)  # the rules never reject a notebook's own defaults


def test_the_rules_use_the_package_vocabulary():
    from govstats import indicators, simulate

    assert FIVE_PLACES == simulate.PLACES
    assert RULES["place_profiles"]["denominator"].choices == get_args(indicators.Denominator)
    assert set(RULES["reform_event_study"]["reform"].choices) == set(simulate.REFORMS)


def test_check_names_the_parameter_the_value_and_the_valid_choices():
    with pytest.raises(DataValidationError) as err:
        check_parameters({"langauge": "en", "places": "hengyang", "denominator": "doc",
                          "language": "both"}, "place_profiles")
    msg = _messages(err.value)
    assert set(msg) == {"langauge", "places", "denominator"}
    assert "unknown parameter 'langauge' = 'en'" in msg["langauge"]
    assert "did you mean 'language'?" in msg["langauge"]
    assert "is list[str]" in msg["places"] and "str 'hengyang'" in msg["places"]
    assert "-y 'places: [hengyang]'" in msg["places"]  # how to pass a list with papermill
    assert "'doc'" in msg["denominator"] and "'closest_census', 'document'" in msg["denominator"]

    with pytest.raises(DataValidationError) as err:
        check_parameters({"places": ["hengyan", "futian"], "language": "fr"}, "place_profiles")
    msg = _messages(err.value)
    assert "'hengyan'" in msg["places"] and "did you mean 'hengyang'?" in msg["places"]
    assert "'futian'" not in msg["places"].split(";")[0]  # only the bad element is named
    assert "'zh', 'en', 'both'" in msg["language"]


def test_check_ignores_modules_functions_and_private_names():
    import math

    check_parameters({"math": math, "print": print, "_i1": "x = 1", "In": ["", "x"],
                      "language": "en"}, "place_profiles")


def test_rules_with_other_accepted_values():
    check_parameters({"source": "my_extract.xlsx"}, "panel_regression")
    check_parameters({"places": ["衢州", "futian"]}, "mediation_network")  # registry names
    check_parameters({"units_per_place": None}, "multiverse_simulated")  # None is meaningful
    with pytest.raises(DataValidationError, match="'sim'.*a path to a CSV/XLSX extract"):
        check_parameters({"source": "sim"}, "panel_regression")
    with pytest.raises(DataValidationError, match="'ols'.*'pooled', 'within'"):
        check_parameters({"estimator": "ols"}, "panel_regression")


def test_configuration_check_rejects_an_unknown_choice_with_its_line(tmp_path):
    config = tmp_path / "reports.yml"
    config.write_text(
        "runs:\n"
        f"  - notebook: {REPO / 'notebooks' / 'place_profiles.ipynb'}\n"
        "    parameters:\n"
        "      places: [hengyang, shaoyngg]\n"
        "      language: fr\n"
    )
    with pytest.raises(DataValidationError) as err:
        validate_parameters(load_config(config))
    rows = {p.column: p for p in err.value.problems}
    assert rows["places"].row == 4 and "'shaoyngg'" in rows["places"].message
    assert "did you mean 'shaoyang'?" in rows["places"].hint
    assert rows["language"].row == 5 and "'zh', 'en', 'both'" in rows["language"].hint


def test_parse_cli_parameters():
    assert parse_cli_parameters([["places", "[hengyang]"], ["n=3"], ["code", "430400"]]) == {
        "places": ("[hengyang]", ["hengyang"]), "n": ("3", 3), "code": ("430400", 430400)}
    for bad in (["a", "b", "c"], ["novalue"], ["1x=2"], ["places", "[unclosed"]):
        with pytest.raises(ValueError, match="-p"):
            parse_cli_parameters([bad])


def test_cli_one_off_parameters_are_validated_before_anything_runs(tmp_path, monkeypatch, capsys):
    from govstats.cli import main

    monkeypatch.setenv("GOVSTATS_ROOT", str(tmp_path))  # cache and reports go here
    code = main(["report", "--config", str(REPO / "reports.yml"), "--no-build", "--no-progress",
                 "--only", "place_profiles__denominator-document",
                 "-p", "langauge", "en", "-p", "places", "hengyang", "-p", "language=fr"])
    err = capsys.readouterr().err
    assert code == 2 and "nothing was run" in err
    assert "unknown parameter 'langauge' = 'en'" in err and "did you mean 'language'?" in err
    assert "got str 'hengyang'" in err and "-p places '[hengyang]'" in err
    assert "'fr', not one of the valid values" in err and "'zh', 'en', 'both'" in err
    assert not (tmp_path / "reports").exists()

    assert main(["report", "--config", str(REPO / "reports.yml"), "-p", "language", "en"]) == 2
    assert "need --only" in capsys.readouterr().err


def test_one_off_parameters_make_their_own_run(tmp_path, monkeypatch):
    from govstats.report import plan_runs

    monkeypatch.setenv("GOVSTATS_ROOT", str(tmp_path))
    plans = plan_runs(REPO / "reports.yml", only=["place_profiles__denominator-document"],
                      parameters={"places": ("[hengyang]", ["hengyang"]),
                                  "language": ("en", "en")}, log=lambda _m: None)
    (plan,) = plans
    assert plan.run.name == "place_profiles__denominator-document__places-hengyang__language-en"
    assert plan.run.parameters == {"places": ["hengyang"], "language": "en",
                                   "denominator": "document"}
    assert plan.reasons == ["no earlier successful run"]


def _with_check_cell(tmp_path: Path) -> Path:
    """place_profiles with the one-line check the notebooks call after their parameters."""
    nb = json.loads((REPO / "notebooks" / "place_profiles.ipynb").read_text(encoding="utf-8"))
    at = next(i for i, c in enumerate(nb["cells"])
              if "parameters" in c["metadata"].get("tags", []))
    nb["cells"].insert(at + 1, {
        "cell_type": "code", "execution_count": None, "id": "check-parameters",
        "metadata": {}, "outputs": [],
        "source": 'import govstats as gs\ngs.report.check_parameters(globals(), "place_profiles")',
    })
    path = tmp_path / "place_profiles.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def test_plain_papermill_cli_rejects_bad_parameters(tmp_path):
    from govstats.report import ensure_kernel

    ensure_kernel()
    notebook = _with_check_cell(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.run(
        [sys.executable, "-m", "papermill", str(notebook), str(tmp_path / "out.ipynb"),
         "-p", "langauge", "en", "-p", "places", "hengyang", "-p", "denominator", "census",
         "--no-progress-bar"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "3 problems in parameters of notebook place_profiles" in out
    assert "unknown parameter 'langauge' = 'en'" in out
    assert "got str 'hengyang'" in out and "-y 'places: [hengyang]'" in out
    assert "'census', not one of the valid values" in out
    executed = json.loads((tmp_path / "out.ipynb").read_text())
    ran = [c for c in executed["cells"] if c["cell_type"] == "code" and c.get("execution_count")]
    assert len(ran) == 3  # parameters, injected parameters, the check: nothing after it
