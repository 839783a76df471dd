"""Committed notebooks are clean, and every notebook under notebooks/ runs with small parameters.

The smoke test uses papermill's own Python API exactly as ``papermill
notebooks/X.ipynb out.ipynb -p ...`` does (the notebook's own kernelspec, no
govstats runner), with the small parameters from the ``smoke:`` section of
``reports.yml``.
"""

from __future__ import annotations

import ast
import json
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
FIXTURE_NOTEBOOKS = sorted((REPO / "tests" / "notebooks").glob("*.ipynb"))


def _ids(paths):
    return [p.relative_to(REPO).as_posix() for p in paths]


def _code_cells(path: Path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    for index, cell in enumerate(nb["cells"]):
        if cell["cell_type"] == "code":
            src = cell["source"]
            yield index, cell, "".join(src) if isinstance(src, list) else src


@pytest.mark.parametrize("path", NOTEBOOKS + FIXTURE_NOTEBOOKS,
                         ids=_ids(NOTEBOOKS + FIXTURE_NOTEBOOKS))
def test_committed_notebooks_carry_no_outputs(path):
    dirty = [i for i, cell, _ in _code_cells(path)
             if cell.get("outputs") or cell.get("execution_count") is not None]
    assert not dirty, (
        f"{path.name}: cells {dirty} carry outputs or execution counts; clear them with "
        f"`jupyter nbconvert --clear-output --inplace {path.relative_to(REPO)}`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebooks_define_no_functions_or_classes(path):
    for index, _cell, source in _code_cells(path):
        # IPython magics and shell escapes are not Python
        lines = [ln for ln in source.splitlines() if not ln.lstrip().startswith(("%", "!"))]
        tree = ast.parse("\n".join(lines), filename=f"{path.name} cell {index}")
        defs = [n.name for n in ast.walk(tree)
                if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        assert not defs, f"{path.name} cell {index} defines {defs}; move them into govstats/"


def test_default_configuration_is_valid():
    from govstats.report import load_config, validate_parameters

    config = load_config(REPO / "reports.yml")
    validate_parameters(config)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_ids(NOTEBOOKS))
def test_notebook_smoke_run_with_plain_papermill(path, tmp_path, monkeypatch):
    import papermill

    from govstats.report import ensure_kernel, load_config, notebook_parameters

    config = load_config(REPO / "reports.yml")
    rel = path.relative_to(REPO).as_posix()
    assert rel in config.smoke, f"add small parameters for {rel} under 'smoke:' in reports.yml"
    assert notebook_parameters(path) is not None, f"{rel} has no cell tagged 'parameters'"
    ensure_kernel()  # notebooks may name the govstats kernel in their metadata
    # A plain papermill run finds govstats through the environment, as an installed package would.
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p))
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    nb = papermill.execute_notebook(
        str(path),
        str(tmp_path / path.name),
        parameters=config.smoke[rel],
        cwd=str(path.parent),
        progress_bar=False,
    )
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
