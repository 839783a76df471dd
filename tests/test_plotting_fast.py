"""Faster figures, same figures: the cached seaborn theme and the inline picture of a saved figure."""

import io
import json
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib as mpl
import matplotlib.pyplot as plt
import pytest

from govstats import plotting


def _state() -> tuple[dict, dict]:
    return dict(mpl.rcParams), {c: mpl.colors.colorConverter.colors[c] for c in "bgrmyck"}


def test_cached_theme_sets_what_seaborn_set_theme_sets(tmp_path, monkeypatch):
    # the reference is seaborn itself: the same rcParams, colour codes and colour maps
    import seaborn as sns

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    plotting._seaborn_theme.cache_clear()
    try:
        for style, context in (("whitegrid", "notebook"), ("white", "notebook"), ("ticks", "paper")):
            for _ in range(2):  # computed and written, then read back from the cache file
                plotting._seaborn_theme.cache_clear()
                with mpl.rc_context():
                    mpl.rcdefaults()
                    for c in "bgrmyck":
                        mpl.colors.colorConverter.colors[c] = (0.5, 0.5, 0.5)
                    family = plotting.set_theme(style=style, context=context)
                    ours = _state()
                    mpl.rcdefaults()
                    for c in "bgrmyck":
                        mpl.colors.colorConverter.colors[c] = (0.5, 0.5, 0.5)
                    rc = {"axes.unicode_minus": False}
                    if family is not None:
                        rc["font.sans-serif"] = [family, *plt.rcParams["font.sans-serif"]]
                    sns.set_theme(style=style, context=context, font="sans-serif", rc=rc)
                    if family is not None:
                        plotting._put_first(family)
                    theirs = _state()
                assert ours[1] == theirs[1]
                differ = {k: (ours[0][k], theirs[0][k]) for k in theirs[0] if ours[0][k] != theirs[0][k]}
                assert not differ, differ
        assert len(list((tmp_path / "govstats" / "theme").glob("seaborn-*.json"))) == 3
        assert list(mpl.colormaps["rocket"].colors) == list(sns.cm.rocket.colors)
        assert plotting._palette("colorblind", 12) == list(sns.color_palette("colorblind", 12))
    finally:
        plotting._seaborn_theme.cache_clear()
        sns.reset_orig()


def test_a_figure_with_a_cached_theme_needs_no_seaborn_import(tmp_path):
    code = ("import matplotlib; matplotlib.use('Agg'); import sys, pandas as pd\n"
            "from govstats import plotting\n"
            "df = pd.DataFrame({'place_label': ['衢州 Quzhou'], 'indicator_label': ['网格数 grids'],"
            " 'value': [6.4], 'bound': ['exact']})\n"
            "plotting.per_capita_chart(df)\n"
            "print('seaborn' in sys.modules)\n")
    env = {"XDG_CACHE_HOME": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    runs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
            for _ in range(2)]
    assert [r.stdout.strip() for r in runs] == ["True", "False"]  # first: seaborn fills the cache


@pytest.fixture
def inline_shell():
    """An IPython shell with matplotlib's inline backend, capturing what the notebook would show."""
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell

    class Shell(InteractiveShell):
        def enable_gui(self, gui=None):
            pass

    shell = Shell.instance()
    backend = mpl.get_backend()
    shell.enable_matplotlib("inline")
    shell.display_pub = CapturingDisplayPublisher()
    shell.display_pub.shell = shell
    try:
        yield shell
    finally:
        from matplotlib_inline.backend_inline import configure_inline_support
        from matplotlib_inline.config import InlineBackend

        InlineBackend.instance().figure_formats = {"png"}
        configure_inline_support(shell, backend)
        plt.switch_backend(backend)
        Shell.clear_instance()


def _figure():
    plotting.set_theme()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="衡阳 Hengyang")
    ax.set_title("每万常住人口 per 10k residents")
    plotting.legend_outside(ax)
    return fig


def test_the_notebook_shows_the_saved_png_scaled_down_at_the_size_of_the_inline_drawing(tmp_path, inline_shell):
    from IPython.core.pylabtools import print_figure
    from PIL import Image

    fig = _figure()
    native = Image.open(io.BytesIO(print_figure(fig, "png", bbox_inches="tight")))
    links = plotting.save_figure(fig, "inline", directory=tmp_path)
    outputs = inline_shell.display_pub.outputs
    assert len(outputs) == 1
    data = outputs[0]["data"]
    assert set(data) == {"image/png", "text/plain"}
    assert data["text/plain"].startswith("<Figure size 400x300 with 1 Axes>")
    shown = Image.open(io.BytesIO(data["image/png"]))
    saved = Image.open(links.paths["png"])
    assert abs(shown.width - native.width) <= 1 and abs(shown.height - native.height) <= 1
    assert (shown.width, shown.height) == (-(-saved.width // 3), -(-saved.height // 3))
    # the same picture: each pixel the mean of a 3 x 3 block of the 300-dpi file
    assert shown.convert("RGBA").tobytes() == saved.convert("RGBA").reduce(3).tobytes()
    assert not plt.get_fignums()  # closed: the backend does not show it a second time
    # a rerun writes the same bytes and shows the same picture
    files = {p: p.read_bytes() for p in links.paths.values()}
    fig = _figure()
    plotting.save_figure(fig, "inline", directory=tmp_path)
    assert {p: p.read_bytes() for p in links.paths.values()} == files
    assert inline_shell.display_pub.outputs[1]["data"]["image/png"] == data["image/png"]


def test_other_front_end_formats_get_the_figure_itself(tmp_path, inline_shell):
    from matplotlib_inline.config import InlineBackend

    InlineBackend.instance().figure_formats = {"svg"}
    plotting.save_figure(_figure(), "svg_front_end", directory=tmp_path)
    data = inline_shell.display_pub.outputs[0]["data"]
    assert "image/svg+xml" in data and "image/png" not in data
    InlineBackend.instance().figure_formats = {"png"}
    links = plotting.save_figure(_figure(), "pdf_only", directory=tmp_path, formats=("pdf",))
    assert "image/png" in inline_shell.display_pub.outputs[1]["data"]  # drawn by the backend
    assert list(links.paths) == ["pdf"]


def test_links_keep_the_order_of_the_formats_asked_for(tmp_path):
    fig = _figure()
    links = plotting.save_figure(fig, "order", directory=tmp_path, formats=("pdf", "png"), show=False)
    assert list(links.paths) == ["pdf", "png"]
    assert str(links).index("[PDF]") < str(links).index("[PNG")
    plt.close(fig)
    json.dumps(str(links))


def _pdf_fonts(pdf: bytes) -> list[dict]:
    """What each CID font of a matplotlib PDF draws: ``{cid: (outline, advance width)}``.

    Follows the PDF's own references: the CID font's ``/CIDToGIDMap`` maps a character
    code to a glyph of the embedded font file (``/FontDescriptor`` -> ``/FontFile2``).
    """
    import re
    import zlib

    from fontTools.pens.recordingPen import RecordingPen
    from fontTools.ttLib import TTFont

    def obj(ref: bytes) -> bytes:
        return re.search(rb"\n" + ref + rb" 0 obj\s*(.*?)endobj", pdf, re.S).group(1)

    def stream(ref: bytes) -> bytes:
        body = obj(ref)
        data = body[re.search(rb"stream\r?\n", body).end():body.rindex(b"endstream")]
        return zlib.decompressobj().decompress(data)

    out = []
    for body in re.findall(rb"\d+ 0 obj\s*(<< /Type /Font /Subtype /CIDFontType2.*?)endobj", pdf, re.S):
        descriptor = re.search(rb"/FontDescriptor (\d+) 0 R", body).group(1)
        file_ref = re.search(rb"/FontFile2 (\d+) 0 R", obj(descriptor)).group(1)
        font = TTFont(io.BytesIO(stream(file_ref)))
        order, glyphs = font.getGlyphOrder(), font.getGlyphSet()
        cid_to_gid = stream(re.search(rb"/CIDToGIDMap (\d+) 0 R", body).group(1))
        drawn = {}
        for cid in range(len(cid_to_gid) // 2):
            gid = int.from_bytes(cid_to_gid[2 * cid:2 * cid + 2], "big")
            if gid:
                pen = RecordingPen()
                glyphs[order[gid]].draw(pen)
                drawn[cid] = (pen.value, font["hmtx"][order[gid]][0])
        out.append({"drawn": drawn, "tables": set(font.keys())})
    return out


def test_pdfs_embed_the_same_glyphs_at_the_same_widths_without_the_layout_tables(tmp_path, monkeypatch):
    from govstats._fonts import common_cjk_font

    if common_cjk_font() is None:
        pytest.skip("no CJK font")
    plotting.set_theme()
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="衡阳 Hengyang ≥ 1,600")
    ax.set_title("调解网络 mediation network: officers, staff (office)")
    plotting.legend_outside(ax)
    new = plotting.save_figure(fig, "new", directory=tmp_path, formats=("pdf",), show=False).paths["pdf"]
    monkeypatch.setattr(plotting, "embedding_copy", lambda path: None)  # matplotlib's own subsetting
    old = plotting.save_figure(fig, "old", directory=tmp_path, formats=("pdf",), show=False).paths["pdf"]
    plt.close(fig)
    new_fonts, old_fonts = _pdf_fonts(new.read_bytes()), _pdf_fonts(old.read_bytes())
    assert len(new_fonts) == len(old_fonts) == 2  # Latin, and CJK plus ligatures
    for a, b in zip(new_fonts, old_fonts, strict=True):
        assert len(a["drawn"]) > 3
        assert a["drawn"] == b["drawn"]  # every character: the same outline, the same width
        assert "GSUB" not in a["tables"] and "GPOS" not in a["tables"] and "GSUB" in b["tables"]
    # the swap of matplotlib's subsetting function lasts for the savefig only
    from matplotlib.backends import _backend_pdf_ps

    assert _backend_pdf_ps.get_glyphs_subset.__module__ == "matplotlib.backends._backend_pdf_ps"
