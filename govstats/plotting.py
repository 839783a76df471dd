"""Figures with Chinese labels that render, and the SIMULATED mark where it belongs.

matplotlib's default font (DejaVu Sans) has no CJK glyphs: Chinese labels become empty
boxes and matplotlib warns ``Glyph ... missing from font(s)``. :func:`use_cjk_font`
registers Noto Sans CJK SC, which the ``mplfonts`` package (a pip dependency, so a
fresh machine with only PyPI has it) ships as an OTF file, and puts it first in the
font list. If no CJK font can be found, it returns ``None`` and the chart helpers fall
back to pinyin/English labels and say so on the figure.

``seaborn.set_theme()`` resets fonts, so :func:`set_theme` passes the CJK font through
seaborn's ``font``/``rc`` arguments instead of being undone by it.
"""

from __future__ import annotations

import functools
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib import font_manager

__all__ = [
    "SIMULATED_MARK",
    "per_capita_chart",
    "cjk_font_path",
    "mark_simulated",
    "set_theme",
    "use_cjk_font",
]

SIMULATED_MARK = "SIMULATED"
_CJK_FILES = ("NotoSansCJKsc-Regular.otf", "SourceHanSansSC-Regular.otf", "SimHei.ttf")
_SYSTEM_DIRS = ("/usr/share/fonts/opentype/noto", "/usr/share/fonts/truetype")


def cjk_font_path() -> Path | None:
    """Path of a font file with simplified-Chinese glyphs, or None.

    Looks in the ``mplfonts`` package first (installed with govstats), then in the
    usual Debian locations (``fonts-noto-cjk``).
    """
    candidates: list[Path] = []
    try:
        import mplfonts

        candidates += [Path(mplfonts.__file__).parent / "fonts" / f for f in _CJK_FILES]
    except ImportError:  # pragma: no cover - mplfonts is a declared dependency
        pass
    for d in _SYSTEM_DIRS:
        if Path(d).is_dir():
            candidates += sorted(Path(d).rglob("NotoSansCJK*-Regular.ttc"))
    return next((p for p in candidates if p.is_file()), None)


@functools.cache
def use_cjk_font() -> str | None:
    """Register a CJK font with matplotlib and put it first; return its family name.

    Returns None (and changes nothing) when no CJK font is available; callers then
    label in pinyin/English and say so.

    Examples
    --------
    >>> family = use_cjk_font()
    >>> family is None or "CJK" in family or "Hei" in family
    True
    """
    path = cjk_font_path()
    if path is None:
        return None
    font_manager.fontManager.addfont(str(path))
    family = font_manager.FontProperties(fname=str(path)).get_name()
    _put_first(family)
    return family


def _put_first(family: str) -> None:
    current = [f for f in plt.rcParams["font.sans-serif"] if f != family]
    plt.rcParams["font.sans-serif"] = [family, *current]
    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["axes.unicode_minus"] = False  # CJK fonts often lack U+2212


def set_theme(style: str = "whitegrid", context: str = "notebook", **kwargs) -> str | None:
    """``seaborn.set_theme`` that keeps the CJK font; returns the family used or None."""
    family = use_cjk_font()
    rc = {"axes.unicode_minus": False, **kwargs.pop("rc", {})}
    if family is not None:
        rc["font.sans-serif"] = [family, *plt.rcParams["font.sans-serif"]]
    sns.set_theme(style=style, context=context, font="sans-serif", rc=rc, **kwargs)
    if family is not None:
        _put_first(family)
    return family


def mark_simulated(fig: plt.Figure, *, simulated: bool) -> plt.Figure:
    """Stamp SIMULATED across a figure built on simulated data (no-op otherwise)."""
    if simulated:
        fig.text(
            0.5,
            0.5,
            SIMULATED_MARK,
            fontsize=48,
            color="red",
            alpha=0.18,
            ha="center",
            va="center",
            rotation=25,
            transform=fig.transFigure,
            zorder=100,
        )
        if fig._suptitle is not None:  # matplotlib has no public getter
            title = fig._suptitle.get_text()
            if SIMULATED_MARK not in title:
                fig.suptitle(f"{SIMULATED_MARK}: {title}")
        else:
            fig.suptitle(f"{SIMULATED_MARK} DATA", color="red")
    return fig


def _format_number(x: float) -> str:
    """Three significant digits without scientific notation: 0.337, 6.41, 141, 1,084."""
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def per_capita_chart(
    values: pd.DataFrame,
    *,
    label: str = "indicator_label",
    place: str = "place_label",
    value: str = "value",
    bound: str = "bound",
    title: str | None = None,
    xlabel: str = "per 10,000 residents (log scale)",
    simulated: bool = False,
) -> plt.Figure:
    """All per-capita values in one horizontal bar chart, one colour per place.

    The documents report different things for different places, so a panel per
    indicator would mostly hold one bar. One chart on a log scale lets a reader see
    every value against every other. Lower bounds (``多``/``余``: ``bound ==
    'at_least'``) are hatched and labelled ``≥`` so "1600多" never reads as exactly 1600.

    Parameters
    ----------
    values : DataFrame
        One row per bar, with the ``label``, ``place``, ``value`` and ``bound`` columns.
    title : str, optional
        Figure title; ``SIMULATED:`` is prefixed when ``simulated``.
    """
    family = set_theme(style="whitegrid")
    data = values.sort_values([place, value], ascending=[True, True]).reset_index(drop=True)
    places = list(dict.fromkeys(data[place]))
    palette = dict(zip(places, sns.color_palette("colorblind", len(places)), strict=False))
    fig, ax = plt.subplots(figsize=(9, 0.42 * len(data) + 1.6))
    for i, row in data.iterrows():
        lower_bound = row.get(bound) == "at_least"
        ax.barh(
            i,
            row[value],
            color=palette[row[place]],
            hatch="//" if lower_bound else None,
            edgecolor="white",
        )
        ax.annotate(
            f"{'≥' if lower_bound else ''}{_format_number(row[value])}",
            (row[value], i),
            xytext=(3, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
        )
    ax.set_yticks(range(len(data)), [str(t).replace("\n", " ") for t in data[label]], fontsize=8)
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.invert_yaxis()
    handles = [plt.Rectangle((0, 0), 1, 1, color=palette[p]) for p in places]
    handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor="grey", hatch="//"))
    ax.legend(handles, [*places, "lower bound (多/余)"], loc="lower right", fontsize=8, frameon=True)
    if title:
        ax.set_title(title)
    if family is None:
        fig.text(0.01, 0.01, "note: no CJK font found; Chinese labels may not render", fontsize=8)
    mark_simulated(fig, simulated=simulated)
    fig.tight_layout()
    return fig
