"""Chinese labels render: the CJK font is found and no glyph goes missing."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd
import pytest

from govstats import plotting


def draw_chinese() -> list[str]:
    fig, ax = plt.subplots()
    ax.set_title("群众安全感满意率 邵阳")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    plt.close(fig)
    return [str(w.message) for w in caught if "Glyph" in str(w.message)]


def test_default_font_misses_cjk_glyphs_so_the_check_can_fail():
    with plt.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
        assert draw_chinese(), "DejaVu Sans has no CJK glyphs; this warning is what we guard against"


def test_cjk_font_is_bundled_and_renders_without_missing_glyphs():
    assert plotting.cjk_font_path() is not None, "mplfonts should ship Noto Sans CJK"
    family = plotting.set_theme()  # seaborn's theme must not undo the font
    assert family is not None
    assert draw_chinese() == []


def test_per_capita_chart_marks_lower_bounds_and_simulated():
    df = pd.DataFrame(
        {
            "place_label": ["衢州 Quzhou", "东城 Dongcheng"],
            "indicator_label": ["平安促进员数 peace promoters", "网格数 grids"],
            "value": [141.3, 6.4],
            "bound": ["at_least", "exact"],
        }
    )
    fig = plotting.per_capita_chart(df, title="test", simulated=True)
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert any(t.startswith("≥141") for t in texts)
    assert any("SIMULATED" in t.get_text() for t in fig.texts)
    assert fig._suptitle is not None and "SIMULATED" in fig._suptitle.get_text()
    plt.close(fig)


def test_save_figure_writes_a_300_dpi_png_and_a_pdf_and_links_them(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.setenv("GOVSTATS_RUN", "pp__denominator-document")
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([0, 1], [0, 1], label="衡阳")
    plotting.legend_outside(ax)
    links = plotting.save_figure(fig, "per_capita", directory=tmp_path)
    png, pdf = links.paths["png"], links.paths["pdf"]
    assert png.name == "pp__denominator-document-per_capita.png"
    dpi = Image.open(png).info["dpi"]
    assert [round(d) for d in dpi] == [300, 300]
    width, _height = Image.open(png).size
    assert width >= 4 * 300 * 0.9  # 4 inches at 300 dpi (bbox "tight" trims a little)
    assert pdf.read_bytes().startswith(b"%PDF")
    assert str(links) == ("Figure files: [PNG, 300 dpi](figures/pp__denominator-document-per_capita.png)"
                          " · [PDF](figures/pp__denominator-document-per_capita.pdf)")
    assert links._repr_markdown_() == str(links)
    first = pdf.read_bytes(), png.read_bytes()
    plotting.save_figure(fig, "per_capita", directory=tmp_path)
    assert (pdf.read_bytes(), png.read_bytes()) == first  # no creation date: rerun, same bytes
    plt.close(fig)
    for bad in ("../x", "a b", ""):
        try:
            plotting.save_figure(fig, bad, directory=tmp_path)
        except ValueError:
            continue
        raise AssertionError(f"name {bad!r} was accepted")


def test_legend_outside_never_covers_the_data():
    fig, ax = plt.subplots(figsize=(5, 3))
    for i in range(3):
        ax.plot(range(10), [i + x for x in range(10)], label=f"line {i}")
    for where in ("right", "below"):
        legend = plotting.legend_outside(ax, where=where)
        fig.canvas.draw()
        box = legend.get_window_extent()
        axes = ax.get_window_extent()
        overlap = (min(box.x1, axes.x1) - max(box.x0, axes.x0) > 0
                   and min(box.y1, axes.y1) - max(box.y0, axes.y0) > 0)
        assert not overlap, where
    plt.close(fig)


def test_bilingual_and_per_capita_chart_respect_language():
    import re

    df = pd.DataFrame({"place_label": ["Quzhou"], "indicator_label": ["peace promoters"],
                       "value": [141.3], "bound": ["at_least"]})
    fig = plotting.per_capita_chart(df, title=plotting.bilingual("Staff per 10k", "每万人", "en"),
                                    language="en")
    words = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    words += [fig.axes[0].get_title(), *(t.get_text() for t in fig.texts)]
    assert not [w for w in words if re.search(r"[\u4e00-\u9fff]", w)], words
    assert "lower bound" in words
    plt.close(fig)
    assert plotting.bilingual("grids", "网格", "zh") == "网格"


def test_network_figures_under_language_en_carry_no_chinese():
    import re

    from govstats import facts as facts_mod
    from govstats import network

    facts = facts_mod.load_facts()
    nets = network.build_networks(["quzhou", "dongcheng"], facts=facts,
                                  assumptions=network.load_assumptions())
    figs = [network.resolution_chart(network.compare_escalation(nets, caseload=1000, language="en"),
                                     language="en"),
            network.sensitivity_chart(network.rate_sensitivity(["quzhou"], "village", [0.5, 0.7],
                                                               facts=facts), language="en")]
    network.draw_network(nets["quzhou"], caseload=1000, language="en")
    figs.append(plt.gcf())
    for fig in figs:
        texts = [t.get_text() for ax in fig.axes for t in
                 (ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_yticklabels(), *ax.texts)]
        texts += [t.get_text() for ax in fig.axes if ax.get_legend()
                  for t in ax.get_legend().get_texts()]
        texts += [t.get_text() for t in fig.texts]
        chinese = [t for t in texts if re.search(r"[\u4e00-\u9fff]", t)]
        assert not chinese, chinese
        plt.close(fig)


def test_the_common_character_font_covers_gb2312_and_pdfs_fall_back_for_rare_characters(tmp_path):
    import re

    from govstats._fonts import common_cjk_font

    common = common_cjk_font()
    if common is None:
        pytest.skip("no CJK font")
    path, family, codepoints = common
    # GB 2312: 6,763 hanzi in rows 16-87 (the standard's own count)
    hanzi = {bytes([hi, lo]).decode("gb2312", errors="ignore") for hi in range(0xB0, 0xF8)
             for lo in range(0xA1, 0xFF)} - {""}
    assert len(hanzi) == 6763
    assert {ord(c) for c in hanzi} <= codepoints
    assert {ord(c) for c in "，。（）《》、：≥−×ABCxyz0123456789"} <= codepoints
    plotting.use_cjk_font()
    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("每万常住人口 per 10k residents")
    common_pdf = plotting.save_figure(fig, "common", directory=tmp_path, show=False).paths["pdf"]
    ax.set_xlabel("龘")  # not in GB 2312: the full font is embedded
    full_pdf = plotting.save_figure(fig, "full", directory=tmp_path, show=False).paths["pdf"]
    plt.close(fig)

    def fonts(pdf):
        return {m.split(b"+")[-1] for m in re.findall(rb"/BaseFont\s*/([^\s/]+)", pdf.read_bytes())}

    assert fonts(common_pdf) == {family.replace(" ", "").encode()}
    assert all(b"govstats" not in f for f in fonts(full_pdf))


def _overlaps(a, b) -> bool:
    return min(a.x1, b.x1) - max(a.x0, b.x0) > 0 and min(a.y1, b.y1) - max(a.y0, b.y0) > 0


def test_report_figures_keep_legends_off_the_axes_and_the_axis_label_and_use_codebook_labels():
    import pandas as pd

    from govstats import paths, synth, synth_plots
    from govstats.mediation import MediationSpec, mediation_analysis
    from govstats.mediation_plots import plot_mediation, plot_sensitivity
    from govstats.simulate import simulate_panel

    res = synth.fit(synth.SynthSpec(outcome="packs_per_capita", treated="California",
                                    first_treated=1989), synth.load_prop99(), estimator="sc")
    fig, axes = plt.subplots(1, 3, figsize=(17, 4.5))
    synth_plots.plot_paths(res, ax=axes[0])
    synth_plots.plot_placebo(res, ax=axes[2])
    fig.tight_layout()
    sim = simulate_panel(units_per_place=4, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # few clusters: beside the point here
        med = mediation_analysis(MediationSpec("mediators_per_10k", "mediation_success_pct",
                                               "satisfaction_index", reps=19), sim.data)
    figures = [fig, plot_mediation(med, truth={"ACME (average)": 0.0}), plot_sensitivity(med)]
    for f in figures:
        f.canvas.draw()
        renderer = f.canvas.get_renderer()
        for ax in f.axes:
            if ax.get_legend() is None:
                continue
            box = ax.get_legend().get_window_extent(renderer)
            assert not _overlaps(box, ax.get_window_extent(renderer)), ax.get_title()
            assert not _overlaps(box, ax.xaxis.label.get_window_extent(renderer)), ax.get_title()
    # the words are the codebook's (data/raw/panel_codebook.csv), not the column names
    book = pd.read_csv(paths.raw_dir() / "panel_codebook.csv", dtype=str).set_index("indicator")
    ticks = [t.get_text() for t in figures[1].axes[0].get_yticklabels()]
    assert f"indirect, through {book.loc['mediation_success_pct', 'label_en']} (ACME)" in ticks
    assert book.loc["mediators_per_10k", "label_en"] in figures[1].axes[0].get_xlabel()
    assert "mediators_per_10k" not in figures[1].axes[0].get_xlabel()
    plt.close("all")


def test_event_study_and_sensitivity_legends_sit_outside_every_panel():
    from govstats.did import EventStudySpec, event_study
    from govstats.did_plots import plot_event_study, plot_sensitivity, true_effects
    from govstats.simulate import simulate_panel

    sim = simulate_panel(units_per_place=4, seed=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # few clusters: beside the point here
        res = event_study(EventStudySpec("satisfaction_index", cohort="grid_year", leads=2, lags=2,
                                         estimators=("twfe", "did2s"), controls=("aux_village_reform",)),
                          sim.data)
    fig = plot_event_study(res, true_effects(sim, "grid", res)[0])
    sens = pd.DataFrame({"M": [0.0, 0.5], "lb": [-1.0, -2.0], "ub": [1.0, 2.0]})
    fig2 = plot_sensitivity(sens, (-0.5, 0.5))
    for f in (fig, fig2):
        f.canvas.draw()
        renderer = f.canvas.get_renderer()
        legends = [*f.legends, *(ax.get_legend() for ax in f.axes if ax.get_legend() is not None)]
        assert legends
        for legend in legends:
            box = legend.get_window_extent(renderer)
            for ax in f.axes:
                assert not _overlaps(box, ax.get_window_extent(renderer)), ax.get_title()
                assert not _overlaps(box, ax.xaxis.label.get_window_extent(renderer)), ax.get_title()
    plt.close("all")


def test_save_figure_keeps_fonttools_quiet_when_the_root_logger_is_at_info(tmp_path, caplog):
    # diff-diff / dask set the root logger to INFO in a kernel; fontTools' subsetter then
    # logged hundreds of lines into the report's notes box (castle, event-study pages)
    import logging

    fig, ax = plt.subplots()
    ax.set_title("衡阳 邵阳 衢州")
    with caplog.at_level(logging.INFO):
        plotting.save_figure(fig, "quiet", directory=tmp_path, show=False)
    assert not [r for r in caplog.records if r.name.startswith("fontTools")]
    assert logging.getLogger("fontTools").level == logging.NOTSET
    plt.close(fig)
