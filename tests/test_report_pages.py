"""Report pages: byte-identical reruns, no CDN scripts, a CJK font without system fonts,
and a stamp with version, commit, date, parameters and a link back to the index."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pandas as pd
import pytest

import govstats
from govstats.report import pages
from govstats.report.worker import render_html

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _styled_output_nb() -> nbformat.NotebookNode:
    df = pd.DataFrame({"place": ["衡阳 Hengyang", "邵阳 Shaoyang"], "n": [1, 2]})
    cells = [nbformat.v4.new_markdown_cell("# A report\nNo math here.")]
    cell = nbformat.v4.new_code_cell("df.style", metadata={
        "execution": {"iopub.execute_input": "2026-01-01T00:00:00Z"},
        "papermill": {"start_time": "a", "end_time": "b", "duration": 1.0, "status": "completed"}})
    cell.outputs = [nbformat.v4.new_output("display_data", data={
        "text/html": df.style.highlight_max("n").to_html(),
        "text/plain": f"<pandas.io.formats.style.Styler at 0x{os.urandom(6).hex()}>"})]  # per run
    injected = nbformat.v4.new_code_cell("# Parameters\nx = 1",
                                         metadata={"tags": ["injected-parameters"]})
    nb = nbformat.v4.new_notebook(cells=[*cells, injected, cell])
    nb.metadata["papermill"] = {"start_time": "t0", "end_time": "t1", "duration": 2.0,
                                "input_path": "/abs/nb.ipynb", "output_path": "/tmp/x/r.ipynb"}
    return nb


def test_two_renderings_of_the_same_results_are_byte_identical():
    one, two = _styled_output_nb(), _styled_output_nb()
    assert one.cells[2].outputs[0]["data"]["text/html"] != two.cells[2].outputs[0]["data"][
        "text/html"]  # pandas draws a new random T_xxxxx id each time
    texts = []
    for nb in (one, two):
        nb = pages.normalise_notebook(nb, name="r", input_path="notebooks/nb.ipynb")
        nb.cells[0]["id"], nb.cells[2]["id"] = "fixed-0", "fixed-2"  # ids of the source notebook
        texts.append((nbformat.writes(nb), render_html(nb, show_code=False, title="r")))
    assert texts[0] == texts[1]
    nb = nbformat.reads(texts[0][0], as_version=4)
    assert nb.metadata["papermill"] == {"input_path": "notebooks/nb.ipynb",
                                        "output_path": "r.ipynb"}
    assert nb.cells[1]["id"] == "injected-parameters"
    assert "execution" not in nb.cells[2].metadata
    assert "start_time" not in nb.cells[2].metadata["papermill"]
    assert "T_c2o0" in texts[0][1] and not re.search(r"T_[0-9a-f]{5}\b", texts[0][1])


def test_compiled_template_cache_gives_the_same_page(tmp_path):
    """Each run's worker reuses the compiled page templates (Jinja's bytecode cache under the
    project's cache directory); a page rendered from the cache, in a fresh process, is the page
    rendered without it."""
    nb = pages.normalise_notebook(_styled_output_nb(), name="r", input_path="notebooks/nb.ipynb")
    path = tmp_path / "r.ipynb"
    nbformat.write(nb, path)
    code = ("import sys, nbformat\nfrom govstats.report.worker import render_html\n"
            "nb = nbformat.read(sys.argv[1], as_version=4)\n"
            "cache = sys.argv[2] if len(sys.argv) > 2 else None\n"
            "sys.stdout.write(render_html(nb, show_code=False, title='r', font_cache=cache))")
    fonts = tmp_path / "cache" / "fonts"

    def render(*cache):
        return subprocess.run([sys.executable, "-c", code, str(path), *cache], check=True,
                              capture_output=True, text=True).stdout

    plain = render()
    assert render(str(fonts)) == plain  # fills the cache
    assert len(list((tmp_path / "cache" / "templates").glob("__jinja2_*"))) >= 5
    assert render(str(fonts)) == plain  # reads it


def test_injected_parameters_cell_gets_a_fixed_id():
    nb = pages.normalise_notebook(_styled_output_nb(), name="r")
    assert nb.cells[1]["id"] == "injected-parameters"


def test_pages_load_no_external_script():
    page = render_html(pages.normalise_notebook(_styled_output_nb(), name="r"), show_code=False,
                       title="r")
    assert "<script" not in page  # no require.js, no MathJax (no math on the page)
    assert "cdnjs" not in page
    assert not re.search(r"""<(script|link|img|iframe)[^>]*(src|href)=["']?(https?:)?//""", page)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", page)
    assert "overflow-x: auto" in page  # wide tables scroll

    math = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        r"The estimator $\hat\beta = (X'X)^{-1}X'y$.")])
    assert pages.needs_math(math) and "mathjax" in render_html(math, show_code=False, title="m")
    # dollar signs in code are Stata macros, not math (the castle page quotes `xtreg ... $region $xvar`)
    code = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(
        "The book runs `xtreg l_homicide i.year $region $xvar post, fe` and\n```\nglobal x $a $b\n```")])
    assert not pages.needs_math(code)
    assert "<script" not in render_html(code, show_code=False, title="c")


def _font_of(page: str):
    from fontTools.ttLib import TTFont

    data = re.search(r"font/woff;base64,([A-Za-z0-9+/=]+)\)", page).group(1)
    return TTFont(io.BytesIO(base64.b64decode(data)))


def test_the_page_embeds_exactly_its_cjk_characters(tmp_path):
    page = render_html(_styled_output_nb(), show_code=False, title="r", font_cache=tmp_path)
    cmap = _font_of(page).getBestCmap()
    for ch in "衡阳邵":
        assert ord(ch) in cmap
    assert ord("京") not in cmap  # not on the page: not embedded
    size = len(re.search(r"@font-face\{[^}]*\}", page).group(0))
    assert size < 20_000, size  # a few characters cost a few kB
    assert list(tmp_path.glob("*.woff"))  # cached for the next page with the same characters
    assert pages.add_font("<html><head></head><body>only Latin</body></html>") == (
        "<html><head></head><body>only Latin</body></html>")


def test_stamp_names_version_commit_date_parameters_and_links_back():
    record = {"name": "pp", "notebook": "notebooks/place_profiles.ipynb", "status": "ok",
              "executed_at": "2026-01-02T03:04:05+00:00", "simulated": True,
              "git": {"commit": "0123456789abcdef", "dirty": True},
              "parameters": {"places": ["hengyang"], "label": "<script>x</script>"}}
    stamp = pages.stamp_html(record, version="9.9")
    page = pages.insert_stamp("<html><body><main><p>body</p></main></body></html>", stamp)
    assert page.index(pages.STAMP_BEGIN) < page.index("<p>body</p>")
    for text in ("href='index.html'", "govstats 9.9", "0123456789", "uncommitted changes",
                 "2026-01-02T03:04:05+00:00", "places = [&quot;hengyang&quot;]", "SIMULATED DATA"):
        assert text in stamp, text
    assert "<script>x" not in stamp
    assert pages.strip_stamp(page) == "<html><body><main>\n<p>body</p></main></body></html>"


def _screenshot(page: Path, out: Path) -> bytes:
    with tempfile.TemporaryDirectory() as profile:
        conf = Path(profile) / "fonts.conf"
        # No system CJK font: every font file that covers Chinese is rejected.
        listed = subprocess.run(["fc-list", ":lang=zh", "file"], capture_output=True, text=True,
                                check=False).stdout if shutil.which("fc-list") else ""
        globs = "".join(f"<glob>{line.strip().rstrip(':')}</glob>"
                        for line in listed.splitlines() if line.strip())
        conf.write_text(
            "<?xml version='1.0'?><!DOCTYPE fontconfig SYSTEM 'fonts.dtd'><fontconfig>"
            "<include ignore_missing='yes'>/etc/fonts/fonts.conf</include>"
            f"<selectfont><rejectfont>{globs}</rejectfont></selectfont>"
            f"<cachedir>{profile}/fc</cachedir></fontconfig>")
        env = {**os.environ, "FONTCONFIG_FILE": str(conf)}
        subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--proxy-server=127.0.0.1:9", f"--user-data-dir={profile}/u",
             f"--screenshot={out}", "--window-size=400,200", page.as_uri()],
            env=env, capture_output=True, timeout=120, check=False)
    return out.read_bytes()


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium")
def test_chinese_renders_offline_without_a_system_cjk_font(tmp_path):
    from PIL import Image

    def shot(ch: str, with_font: bool) -> Image.Image:
        css = pages.cjk_font_face(ch) if with_font else ""
        body = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{css} body{{font:"
                "120px 'govstats CJK', 'DejaVu Sans', sans-serif}</style></head>"
                f"<body>{ch}</body></html>")
        page = tmp_path / f"{ord(ch)}-{with_font}.html"
        page.write_text(body, encoding="utf-8")
        _screenshot(page, tmp_path / f"{page.stem}.png")
        return Image.open(tmp_path / f"{page.stem}.png").convert("L")

    # Without a font, different characters are the same empty box ("tofu"); with the
    # embedded subset they are different glyphs.
    with_font = [shot(ch, True).tobytes() for ch in "衡阳"]
    assert with_font[0] != with_font[1]
    without = [shot(ch, False).tobytes() for ch in "衡阳"]
    assert without[0] == without[1], "the screenshot machine has a CJK font: test is void"


@pytest.mark.slow  # two real runs of the place_profiles smoke parameters (~30-60 s)
def test_forced_rerun_gives_identical_bytes(tmp_path, monkeypatch):
    from govstats.report import load_config, run_reports

    root = tmp_path / "project"
    shutil.copytree(REPO / "data", root / "data")
    (root / "notebooks").mkdir()
    shutil.copy(REPO / "notebooks" / "place_profiles.ipynb", root / "notebooks")
    smoke = load_config(REPO / "reports.yml").smoke["notebooks/place_profiles.ipynb"]
    (root / "reports.yml").write_text(
        "runs:\n  - notebook: notebooks/place_profiles.ipynb\n    name: pp\n"
        f"    parameters: {json.dumps(smoke)}\n")
    monkeypatch.setenv("GOVSTATS_ROOT", str(root))
    outputs = []
    for _ in range(2):
        summary = run_reports(root / "reports.yml", force=True, progress=False,
                              log=lambda _m: None)
        assert summary.executed == ["pp"] and not summary.failed, summary.records
        reports = root / "reports"
        outputs.append(((reports / "pp.ipynb").read_bytes(), (reports / "pp.html").read_text()))
    (nb1, html1), (nb2, html2) = outputs
    assert nb1 == nb2
    assert pages.strip_stamp(html1) == pages.strip_stamp(html2)
    assert html1.count(pages.STAMP_BEGIN) == 1
    stamp = html1[html1.index(pages.STAMP_BEGIN):html1.index(pages.STAMP_END)]
    assert f"govstats {govstats.__version__}" in stamp and "href='index.html'" in stamp
    assert '"places": ["hengyang"]' not in stamp and "places = [&quot;hengyang&quot;]" in stamp
    assert "<script" not in html1
