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

import contextlib
import functools
import io
import os
import re
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import font_manager

from govstats._fonts import cjk_font_path, common_cjk_font, embedding_copy, quiet_fonttools

__all__ = [
    "SIMULATED_MARK",
    "FigureLinks",
    "bilingual",
    "cjk_font_path",
    "legend_outside",
    "mark_simulated",
    "mark_truth",
    "per_capita_chart",
    "save_figure",
    "set_theme",
    "use_cjk_font",
]

SIMULATED_MARK = "SIMULATED"


@functools.cache
def _register(path: str) -> None:
    font_manager.fontManager.addfont(path)


def _figure_text(fig) -> str:
    from matplotlib.text import Text

    return "".join(t.get_text() for t in fig.findobj(Text))


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
    """``seaborn.set_theme`` that keeps the CJK font; returns the family used or None.

    With only ``style`` and ``context`` (and ``rc``), the theme comes from a small cache
    of what seaborn sets (:func:`_seaborn_theme`), so a report's kernel need not import
    seaborn (and scipy.stats under it: 1-2 s of CPU) to draw a figure; the rcParams and
    colour codes are the same ones ``seaborn.set_theme`` sets.
    """
    family = use_cjk_font()
    rc = {"axes.unicode_minus": False, **kwargs.pop("rc", {})}
    if family is not None:
        rc["font.sans-serif"] = [family, *plt.rcParams["font.sans-serif"]]
    theme = None if kwargs else _seaborn_theme(style, context, "sans-serif")
    if theme is not None:
        _apply_theme(theme, rc)
    else:
        import seaborn as sns

        sns.set_theme(style=style, context=context, font="sans-serif", rc=rc, **kwargs)
    if family is not None:
        _put_first(family)
    return family


_THEME_VERSION = "2"  # bump to recompute every cached theme


def _theme_from_seaborn(style: str, context: str, font: str) -> dict:
    """What ``seaborn.set_theme(context, style, palette="deep", font=font)`` sets, as JSON data.

    seaborn sets ``plotting_context(context)``, then ``axes_style(style, {"font.family":
    font})``, then the "deep" colour cycle and the colour codes b, g, r, m, y, c, k.
    """
    import matplotlib
    import seaborn as sns
    from matplotlib import colors

    rc = {**sns.plotting_context(context), **sns.axes_style(style, rc={"font.family": font})}
    deep6 = sns.palettes.SEABORN_PALETTES["deep6"] + [(0.1, 0.1, 0.1)]
    return {
        "rc": {k: list(v) if isinstance(v, tuple) else v for k, v in rc.items()},
        "cycle": [list(c) for c in sns.color_palette("deep")],
        "codes": {code: list(colors.to_rgb(c)) for code, c in zip("bgrmyck", deep6, strict=False)},
        "palettes": {name: [list(c) for c in sns.color_palette(name)] for name in ("colorblind", "deep")},
        # seaborn registers its colour maps on import; the style's default one ("rocket") with them
        "cmaps": {name: [list(c) for c in matplotlib.colormaps[name].colors]
                  for name in [rc.get("image.cmap")]
                  if isinstance(matplotlib.colormaps.get(name), colors.ListedColormap)},
    }


@functools.cache
def _seaborn_theme(style: str, context: str, font: str) -> dict | None:
    """The theme seaborn would set, cached in ``~/.cache/govstats`` per seaborn/matplotlib version.

    None when seaborn is missing or the cache cannot be written (then seaborn is called).
    """
    import json
    from importlib import metadata

    import matplotlib

    from govstats._fonts import _cache_dir
    from govstats._io import atomic_write_bytes

    try:
        versions = f"{metadata.version('seaborn')}|{matplotlib.__version__}|{_THEME_VERSION}"
    except metadata.PackageNotFoundError:  # pragma: no cover - seaborn is a dependency
        return None
    import hashlib

    key = hashlib.sha256(f"{versions}|{style}|{context}|{font}".encode()).hexdigest()[:16]
    path = _cache_dir().parent / "theme" / f"seaborn-{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    theme = _theme_from_seaborn(style, context, font)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, json.dumps(theme, sort_keys=True).encode("utf-8"))
    except OSError:
        return None
    return theme


def _apply_theme(theme: dict, rc: dict) -> None:
    """Set what ``seaborn.set_theme`` sets (``theme`` from :func:`_seaborn_theme`), then ``rc``."""
    import matplotlib
    from cycler import cycler
    from matplotlib import colors

    for name, lut in theme.get("cmaps", {}).items():  # as seaborn.cm registers them
        if name not in matplotlib.colormaps:
            matplotlib.colormaps.register(colors.ListedColormap(lut, name))
            matplotlib.colormaps.register(colors.ListedColormap(lut[::-1], f"{name}_r"))
    plt.rcParams.update(theme["rc"])
    plt.rcParams["axes.prop_cycle"] = cycler("color", [tuple(c) for c in theme["cycle"]])
    for code, rgb in theme["codes"].items():
        colors.colorConverter.colors[code] = tuple(rgb)
    plt.rcParams.update(rc)


def _palette(name: str, n: int) -> list[tuple[float, float, float]]:
    """``seaborn.color_palette(name, n)`` for a named seaborn palette, from the cached theme."""
    theme = _seaborn_theme("whitegrid", "notebook", "sans-serif")
    if theme is None or name not in theme["palettes"]:
        import seaborn as sns

        return list(sns.color_palette(name, n))
    colours = [tuple(c) for c in theme["palettes"][name]]
    return [colours[i % len(colours)] for i in range(n)]


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
    language: str = "both",
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
    language : {"zh", "en", "both"}
        Language of the legend's own words (the labels come with ``values``).
    """
    family = set_theme(style="whitegrid")
    data = values.sort_values([place, value], ascending=[True, True]).reset_index(drop=True)
    places = list(dict.fromkeys(data[place]))
    palette = dict(zip(places, _palette("colorblind", len(places)), strict=False))
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
    bound_label = bilingual("lower bound", "下限（多/余）", language)
    legend_outside(ax, handles, [*places, bound_label], fontsize=8)
    if title:
        ax.set_title(title)
    if family is None:
        fig.text(0.01, 0.01, "note: no CJK font found; Chinese labels may not render", fontsize=8)
    mark_simulated(fig, simulated=simulated)
    fig.tight_layout()
    return fig


def bilingual(en: str, zh: str, language: str = "both") -> str:
    """``en``, ``zh`` or ``"zh en"`` by the report's ``language`` parameter.

    Examples
    --------
    >>> [bilingual("per 10k residents", "每万常住人口", lang) for lang in ("en", "zh", "both")]
    ['per 10k residents', '每万常住人口', '每万常住人口 per 10k residents']
    """
    from govstats._literals import Language, check_literal

    check_literal(language, Language, "language")
    return {"en": en, "zh": zh, "both": f"{zh} {en}"}[language]


def legend_outside(ax, handles=None, labels=None, *, where: str = "right", **kwargs):
    """A legend beside (``where="right"``) or below (``"below"``) the axes, never over the data.

    Returns the legend; ``fig.tight_layout()`` and ``savefig(bbox_inches="tight")``
    keep it inside the saved figure.
    """
    args = [a for a in (handles, labels) if a is not None]
    if where == "right":
        kw = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "borderaxespad": 0.0}
    elif where == "below":
        # under the tick labels and the (possibly multi-line) x-axis label, whatever the axes'
        # height: an offset in points from the axes' bottom edge, not a fraction of the axes
        from matplotlib.font_manager import FontProperties
        from matplotlib.transforms import ScaledTranslation

        tick = ax.xaxis.get_major_ticks()[0] if ax.xaxis.get_major_ticks() else None
        size = FontProperties(size=plt.rcParams["xtick.labelsize"]).get_size_in_points()
        label = ax.xaxis.label
        lines = label.get_text().count("\n") + 1 if label.get_text() else 0
        points = ((tick.get_pad() + tick._size if tick is not None else 7.0) + 1.3 * size
                  + (ax.xaxis.labelpad + 1.3 * label.get_fontsize() * lines if lines else 0) + 4)
        kw = {"loc": "upper center", "bbox_to_anchor": (0.5, 0.0), "ncol": 3, "borderaxespad": 0.0,
              "bbox_transform": ax.transAxes + ScaledTranslation(0, -points / 72, ax.figure.dpi_scale_trans)}
    else:
        raise ValueError(f"where={where!r}: use 'right' or 'below'")
    kw.update(kwargs)
    return ax.legend(*args, **kw)


class FigureLinks(str):
    """Markdown links to a saved figure's files; shows as links when last in a cell."""

    paths: dict[str, Path]

    def _repr_markdown_(self) -> str:
        return str(self)


def save_figure(fig, name: str, *, directory: str | Path | None = None,
                formats: Sequence[str] = ("png", "pdf"), dpi: int = 300,
                show: bool = True) -> FigureLinks:
    """Save a figure for a paper beside the report: a 300-dpi PNG and a PDF, and link them.

    The files go to ``directory`` (default ``reports/figures/`` of the project) as
    ``<run>-<name>.<ext>``, where ``<run>`` is the ``govstats report`` run name (so
    the runs of one notebook with different parameters keep apart; absent under
    plain papermill). The PDF carries no creation date, so reruns give the same bytes.
    In a notebook (``show=True``) the figure is displayed first and then closed, so
    the links sit under the figure rather than above it. With the inline backend's
    default (a PNG at ``fig.dpi``, tight box) the picture shown is the 300-dpi PNG just
    written, scaled down to ``fig.dpi`` (same pixel size; no third and fourth draw of
    the figure); with any other front-end format the figure itself is displayed.

    Returns
    -------
    FigureLinks
        A str of Markdown links relative to the report page
        (``[PNG, 300 dpi](figures/x.png) · [PDF](figures/x.pdf)``), shown as links
        when it is the last value of a cell; ``.paths`` maps format to file.

    Examples
    --------
    >>> import tempfile, matplotlib
    >>> matplotlib.use("Agg")
    >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1])
    >>> links = save_figure(fig, "line", directory=tempfile.mkdtemp())
    >>> sorted(links.paths), links.startswith("Figure files: [PNG, 300 dpi](figures/")
    (['pdf', 'png'], True)
    """
    if not name or not re.fullmatch(r"[\w.-]+", name):
        raise ValueError(f"name={name!r}: use letters, digits, '_', '-' or '.'")
    unknown = [f for f in formats if f not in ("png", "pdf", "svg")]
    if unknown:
        raise ValueError(f"formats {unknown}: use 'png', 'pdf' or 'svg'")
    from govstats.paths import reports_dir

    out_dir = Path(directory) if directory is not None else reports_dir() / "figures"
    out_dir.mkdir(parents=True, exist_ok=True)
    run = os.environ.get("GOVSTATS_RUN", "").strip()
    stem = f"{run}-{name}" if run else name
    metadata = {"png": {"Software": None}, "pdf": {"CreationDate": None, "Producer": None},
                "svg": {"Date": None}}
    shell = None
    if show:
        try:
            from IPython import get_ipython
        except ImportError:  # pragma: no cover - IPython comes with ipykernel
            get_ipython = None
        shell = get_ipython() if get_ipython is not None else None
    # the notebook shows the 300-dpi PNG scaled down, not a third and fourth draw of the figure
    inline = shell is not None and "png" in formats and _inline_wants_plain_png(shell)
    shown = None
    paths: dict[str, Path] = {}
    bbox = _tight_bbox(fig)  # once, not once per format (each costs a full draw)
    for fmt in sorted(formats, key=lambda f: f != "png"):  # the PNG first: its pixels are shown
        path = out_dir / f"{stem}.{fmt}"
        with plt.rc_context({"svg.hashsalt": stem, "pdf.fonttype": 42, **_pdf_font_rc(fig, fmt)}), \
                quiet_fonttools(), _embed_without_layout_tables(fmt):
            fig.savefig(path, format=fmt, dpi=dpi if fmt == "png" else "figure",
                        bbox_inches=bbox, metadata=metadata[fmt])
        if fmt == "png" and inline:
            shown = _InlineFigure.of(fig, _rendered_png(fig, path), dpi)
        paths[fmt] = path
    paths = {fmt: paths[fmt] for fmt in formats}  # links in the order asked for
    if shell is not None:
        from IPython.display import display

        display(shown if shown is not None else fig)
        plt.close(fig)
    names = {"png": f"PNG, {dpi} dpi", "pdf": "PDF", "svg": "SVG"}
    links = FigureLinks("Figure files: " + " · ".join(
        f"[{names[fmt]}](figures/{p.name})" for fmt, p in paths.items()))
    links.paths = paths
    return links


class _InlineFigure:
    """The notebook's picture of a saved figure: its 300-dpi PNG scaled down to the figure's dpi.

    The inline backend would draw the figure twice more (a tight bounding box, then a
    PNG at ``fig.dpi``); scaling down the PNG just written gives the same picture,
    the same pixel size, with the same text (``text/plain``: the figure's repr).
    """

    def __init__(self, png: bytes, text: str):
        self._png, self._text = png, text

    def _repr_png_(self) -> bytes:
        return self._png

    def __repr__(self) -> str:
        return self._text

    @classmethod
    def of(cls, fig, image, dpi: int) -> _InlineFigure:
        """``image``: the PIL image of the PNG written at ``dpi``, scaled down to ``fig.dpi``.

        An integer factor (300 -> 100 dpi) averages each 3 x 3 block of pixels (supersampling);
        any other factor resamples with a Lanczos filter.
        """
        from PIL import Image

        factor = dpi / fig.dpi
        if factor.is_integer() and factor >= 1:
            small = image.reduce(int(factor))
        else:
            size = (max(1, round(image.width / factor)), max(1, round(image.height / factor)))
            small = image.resize(size, Image.Resampling.LANCZOS)
        buffer = io.BytesIO()
        small.save(buffer, format="png")
        return cls(buffer.getvalue(), repr(fig))


def _rendered_png(fig, path: Path):
    """The pixels of the PNG just written: the Agg canvas's buffer (no decoding) or the file."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    with Image.open(path) as image:
        size = image.size  # the header only
        renderer = getattr(fig.canvas, "renderer", None)
        if isinstance(fig.canvas, FigureCanvasAgg) and renderer is not None \
                and (int(renderer.width), int(renderer.height)) == size:
            return Image.frombuffer("RGBA", size, fig.canvas.buffer_rgba(), "raw", "RGBA", 0, 1).copy()
        return image.convert("RGBA")


def _inline_wants_plain_png(shell) -> bool:
    """True when figures show as a plain PNG at ``fig.dpi`` with a tight box (the inline default)."""
    try:
        from matplotlib.figure import Figure
        from matplotlib_inline.config import InlineBackend
    except ImportError:  # pragma: no cover - matplotlib-inline comes with ipykernel
        return False
    formatters = shell.display_formatter.formatters
    backend = InlineBackend.instance()
    active = [m for m, f in formatters.items() if Figure in getattr(f, "type_printers", {})]
    return (active == ["image/png"] and backend.figure_formats == {"png"}
            and backend.print_figure_kwargs == {"bbox_inches": "tight"})


def _tight_bbox(fig):
    """The padded tight bounding box (inches) ``bbox_inches="tight"`` would compute, or "tight"."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        return "tight"
    renderer = fig.canvas.get_renderer()
    fig.draw_without_rendering()
    return fig.get_tightbbox(renderer).padded(plt.rcParams["savefig.pad_inches"])


@contextlib.contextmanager
def _embed_without_layout_tables(fmt: str):
    """While a PDF is written, subset the common-character CJK font from its copy without layout tables.

    matplotlib subsets each font it embeds (twice per figure for the CJK font: Latin and
    the rest); most of that time goes to the OpenType layout tables, which a PDF does not
    use. The copy (:func:`govstats._fonts.embedding_copy`) has the same glyphs in the same
    order, so the PDF draws the same outlines at the same places. matplotlib offers no
    option for this: its subsetting function is swapped for the duration of the
    ``savefig`` call and restored after.
    """
    from matplotlib.backends import _backend_pdf_ps

    original = getattr(_backend_pdf_ps, "get_glyphs_subset", None)
    # the (fontfile, glyphs) signature with FontPath arguments is matplotlib >= 3.11's; with an
    # older matplotlib the PDF is written as it comes
    swappable = original is not None and hasattr(font_manager, "FontPath")
    common = common_cjk_font() if fmt == "pdf" and swappable else None
    copy = embedding_copy(str(common[0])) if common is not None else None
    if copy is None:
        yield
        return
    source = str(common[0])

    def get_glyphs_subset(fontfile, glyphs):
        if str(fontfile) == source:
            fontfile = font_manager.FontPath(copy, getattr(fontfile, "face_index", 0))
        return original(fontfile, glyphs)

    _backend_pdf_ps.get_glyphs_subset = get_glyphs_subset
    try:
        yield
    finally:
        _backend_pdf_ps.get_glyphs_subset = original


def _pdf_font_rc(fig, fmt: str) -> dict:
    """rcParams that embed the common-character CJK font in a PDF when it has every character.

    Subsetting it for the Type 42 embedding takes a fraction of the time the full font
    takes (:func:`common_cjk_font`); the outlines are the same.
    """
    if fmt != "pdf":
        return {}
    family = use_cjk_font()
    common = common_cjk_font() if family is not None else None
    if common is None or family not in plt.rcParams["font.sans-serif"]:
        return {}
    path, common_family, codepoints = common
    if not {ord(c) for c in _figure_text(fig)} <= codepoints:
        return {}
    _register(str(path))
    return {"font.sans-serif": [common_family if f == family else f
                                for f in plt.rcParams["font.sans-serif"]]}


def mark_truth(ax, value: float, *, orientation: str = "horizontal",
               label: str = "true value (SIMULATED)"):
    """Draw a simulation's known true value across an axes (a specification curve, a path).

    ``orientation="horizontal"``: a line at ``y = value`` (estimates on the y axis, as in
    a specification curve); ``"vertical"``: at ``x = value``. The legend is redrawn
    beside the axes so it never covers the estimates. Returns the line.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1], [0.04, 0.06], "o")
    >>> line = mark_truth(ax, 0.05)
    >>> float(line.get_ydata()[0]), line.get_label()
    (0.05, 'true value (SIMULATED)')
    """
    if orientation == "horizontal":
        line = ax.axhline(value, color="black", lw=1.4, ls="-.", zorder=6, label=label)
    elif orientation == "vertical":
        line = ax.axvline(value, color="black", lw=1.4, ls="-.", zorder=6, label=label)
    else:
        raise ValueError(f"orientation={orientation!r}: use 'horizontal' or 'vertical'")
    handles, labels = [], []
    if ax.get_legend() is not None:  # keep a legend built from explicit handles (spec curves)
        handles = list(ax.get_legend().legend_handles)
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
    for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
        if lab not in labels:
            handles.append(h)
            labels.append(lab)
    legend_outside(ax, handles, labels, fontsize="small")
    return line
