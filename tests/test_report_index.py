"""Index page escaping, provenance declarations, atomic writes (no kernels)."""

from __future__ import annotations

import html
import json
import os
from html.parser import HTMLParser

import pytest

from govstats import _io
from govstats.provenance import PROVENANCE_MIME, declare, read_declarations
from govstats.report.index_html import render_index
from govstats.report.manifest import build_manifest, git_info

HOSTILE = [
    "<script>alert(1)</script>",
    "\"'><img src=x onerror=alert(2)>",
    "</td></tr></table><h1>injected</h1>",
    "衡阳 & 'quotes' \"double\"",
]


class _Collect(HTMLParser):
    """Every tag, attribute and text node, as a browser's tokenizer would see them."""

    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_data(self, data):
        self.text.append(data)


def _hostile_manifest():
    run = {
        "name": "place_profiles",
        "notebook": HOSTILE[3],
        "description": HOSTILE[2],
        "parameters": {"label": HOSTILE[0], HOSTILE[1]: [HOSTILE[3]]},
        "status": "failed",
        "error": {"kind": "cell", "message": f"ValueError: {HOSTILE[1]}"},
        "failed_html": "place_profiles.failed.html",
        "html": "place_profiles.html",
        "last_good_executed_at": HOSTILE[0],
        "simulated": True,
        "sources": HOSTILE,
        "git": {"commit": "abc" + HOSTILE[0], "dirty": True},
        "duration_s": 1.5,
        "executed_at": HOSTILE[2],
    }
    ok = {"name": "b", "status": "ok", "html": "b.html", "simulated": False, "parameters": {}}
    return build_manifest([run, ok], config_path="reports.yml", git={"commit": None},
                          environment={"python": HOSTILE[0]}, govstats_version="0")


def test_index_escapes_every_string_from_data_and_parameters():
    page = render_index(_hostile_manifest())
    parser = _Collect()
    parser.feed(page)
    # no tag or attribute came from the data: only the page's own markup
    assert "script" not in parser.tags and "img" not in parser.tags and "h1" in parser.tags
    assert parser.tags.count("h1") == 1  # the page title, not the injected one
    assert not any(name.startswith("on") for name, _ in parser.attrs)
    text = "".join(parser.text)
    for s in HOSTILE:
        # each hostile string is shown to the reader as text (json.dumps'ed inside params)
        assert s in text or json.dumps(s, ensure_ascii=False) in text
    assert html.escape(HOSTILE[0]) in page


def test_index_links_every_report_and_the_failing_cell():
    parser = _Collect()
    parser.feed(render_index(_hostile_manifest()))
    hrefs = [v for k, v in parser.attrs if k == "href"]
    assert "place_profiles.failed.html#papermill-error-cell" in hrefs
    assert "place_profiles.html" in hrefs  # last good report
    assert "b.html" in hrefs and "manifest.json" in hrefs


def test_manifest_summary_counts():
    manifest = _hostile_manifest()
    assert manifest["summary"] == {"runs": 2, "ok": 1, "failed": 1, "not_run": 0,
                                   "cache_hits": 0, "simulated": 1, "ran_now": 0,
                                   "not_run_interrupted": 0}


def test_declare_outside_ipython_prints_the_banner(capsys):
    declare(simulated=True, sources=["simulated panel, seed 1"], note="calibrated")
    out = capsys.readouterr().out
    assert out.startswith("SIMULATED DATA") and "seed 1" in out and "calibrated" in out
    with pytest.raises(TypeError):
        declare(simulated="yes")
    with pytest.raises(TypeError):
        declare(simulated=False, sources="one string")


def test_declare_in_ipython_emits_banner_and_machine_readable_output():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    captured = []
    shell.display_pub.publish = lambda data, metadata=None, **kw: captured.append(data)
    try:
        declare(simulated=True, sources=[HOSTILE[0]], note=HOSTILE[1])
    finally:
        InteractiveShell.clear_instance()
    (bundle,) = captured
    assert bundle[PROVENANCE_MIME] == {"version": 1, "simulated": True, "sources": [HOSTILE[0]],
                                       "note": HOSTILE[1], "inputs": {}}
    assert "SIMULATED DATA" in bundle["text/html"]
    assert HOSTILE[0] not in bundle["text/html"] and html.escape(HOSTILE[0]) in bundle["text/html"]
    nb = {"cells": [{"cell_type": "code", "outputs": [
        {"output_type": "display_data", "data": bundle},
        {"output_type": "display_data",
         "data": {PROVENANCE_MIME: {"simulated": False, "sources": ["census 2020", HOSTILE[0]],
                                    "note": ""}}},
    ]}]}
    summary = read_declarations(nb)
    assert summary.simulated is True  # one simulated declaration makes the notebook simulated
    assert summary.sources == (HOSTILE[0], "census 2020")


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    _io.atomic_write_text(target, "last good")

    def boom(src, dst):
        raise KeyboardInterrupt  # interrupted between writing and renaming

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        _io.atomic_write_text(target, "half")
    assert target.read_text() == "last good"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left


def test_git_info_reads_commit_and_dirty(tmp_path):
    import subprocess

    def git(*args):
        return subprocess.run(["git", "-C", str(tmp_path), *args], check=True,
                              capture_output=True, text=True).stdout.strip()

    git("init", "-q")
    (tmp_path / "a.txt").write_text("1")
    git("add", "a.txt")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qm", "x")
    assert git_info(tmp_path) == {"commit": git("rev-parse", "HEAD"), "dirty": False}
    (tmp_path / "a.txt").write_text("2")
    assert git_info(tmp_path)["dirty"] is True
