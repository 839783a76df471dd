"""Chinese labels render: the CJK font is found and no glyph goes missing."""

import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

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
