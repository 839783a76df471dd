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
    "bar_by_place",
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


def bar_by_place(
    values: pd.DataFrame,
    *,
    x: str = "place_label",
    y: str = "value",
    facet: str = "indicator_label",
    bound: str | None = "bound",
    col_wrap: int = 2,
    title: str | None = None,
    simulated: bool = False,
    height: float = 3.2,
) -> sns.FacetGrid:
    """One bar chart per indicator, places side by side, lower bounds marked.

    Bars whose value is only a lower bound (``多``, ``余``: ``bound == 'at_least'``) are
    hatched and labelled ``≥``, so a reader never mistakes "1600多" for exactly 1600.
    Each panel has its own y scale (indicators differ in unit).

    Parameters
    ----------
    values : DataFrame
        Long frame with the ``x``, ``y`` and ``facet`` columns (and ``bound``).
    title : str, optional
        Figure title; SIMULATED is prefixed when ``simulated``.
    """
    family = set_theme()
    grid = sns.catplot(
        data=values,
        x=x,
        y=y,
        col=facet,
        col_wrap=min(col_wrap, max(values[facet].nunique(), 1)),
        kind="bar",
        sharey=False,
        sharex=False,
        height=height,
        aspect=1.35,
        color="#4C72B0",
        errorbar=None,
    )
    for ax, (_, panel) in zip(grid.axes.flat, values.groupby(facet, sort=False), strict=False):
        panel = panel.set_index(x)
        for patch, label in zip(ax.patches, [t.get_text() for t in ax.get_xticklabels()], strict=False):
            if label not in panel.index:
                continue
            row = panel.loc[label]
            row = row.iloc[0] if isinstance(row, pd.DataFrame) else row
            prefix = "≥" if bound and row.get(bound) == "at_least" else ""
            if bound and row.get(bound) == "at_least":
                patch.set_hatch("//")
            ax.annotate(
                f"{prefix}{row[y]:,.3g}",
                (patch.get_x() + patch.get_width() / 2, patch.get_height()),
                ha="center",
                va="bottom",
                fontsize=8,
            )
        ax.tick_params(axis="x", labelrotation=20)
        ax.set_xlabel("")
    grid.set_titles("{col_name}")
    if title:
        grid.figure.suptitle(title, y=1.02)
    if family is None:
        grid.figure.text(
            0.01, -0.02, "note: no CJK font found; labels shown in pinyin/English", fontsize=8
        )
    mark_simulated(grid.figure, simulated=simulated)
    grid.figure.tight_layout()
    return grid
