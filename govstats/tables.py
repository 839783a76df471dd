"""Side-by-side regression tables and coefficient plots of :class:`~govstats.models.PanelResults`.

Tables are assembled by :class:`maketables.ETable` (which also combines pyfixest,
statsmodels and linearmodels results): govstats' results implement maketables'
plug-in format (``__maketables_coef_table__`` ...), and this module adds the rows a
panel table must show - estimator, effects, standard-error type, number of
clusters, N, units, periods - and, when clusters are few, the wild-bootstrap
p-values. Output as Markdown, HTML or LaTeX (:func:`regression_table`).

Significance stars use the wild cluster bootstrap p-value for any model where it
was computed (clustered with fewer than 30 clusters), and the conventional
p-value otherwise; the table notes say which.

Examples
--------
>>> import warnings
>>> from govstats import datasets, models, tables
>>> g = datasets.load_grunfeld()
>>> fe = models.fit("invest ~ value + capital | firm", g, vcov="iid")
>>> re = models.fit("invest ~ value + capital | firm", g, estimator="random", vcov="iid")
>>> md = tables.regression_table([fe, re], format="markdown", model_names=["FE", "RE"])
>>> print(md.splitlines()[0])
|  | FE | RE |
>>> "S.E. type" in md and "Observations" in md
True
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from govstats._literals import TableFormat, check_literal

__all__ = [
    "TableFormat",
    "coef_plot",
    "export_table",
    "format_number",
    "formatted",
    "regression_table",
    "table_frame",
    "variable_labels",
]

# Option alias (to be moved to govstats/_literals.py).

SIMULATED_PREFIX = "SIMULATED"


class _TableModel:
    """Adapter: a PanelResults seen by maketables, stars from the bootstrap p when run."""

    def __init__(self, res: Any):
        self.res = res

    @property
    def __maketables_coef_table__(self) -> pd.DataFrame:
        t = self.res.__maketables_coef_table__.copy()
        if self.res.bootstrap:
            t["p"] = [b.p_value for b in self.res.bootstrap]
        return t

    def __maketables_stat__(self, key: str) -> Any:
        return self.res.__maketables_stat__(key)

    @property
    def __maketables_depvar__(self) -> str:
        return self.res.__maketables_depvar__

    @property
    def __maketables_vcov_info__(self) -> dict[str, Any]:
        return self.res.__maketables_vcov_info__

    @property
    def __maketables_fixef_string__(self) -> str | None:
        return self.res.__maketables_fixef_string__


def _as_list(results: Any) -> list[Any]:
    if isinstance(results, Sequence) and not isinstance(results, str):
        return list(results)
    return [results]


def _fmt_num(x: float, digits: int) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "-"
    return f"{x:.{digits}f}"


def _stats_rows(results: list[Any], digits: int,
                labels: Mapping[str, str] | None = None) -> dict[str, list[Any]]:
    def clusters(r: Any) -> str:
        if r.n_clusters is None:
            return "-"
        if isinstance(r.n_clusters, tuple):
            return " x ".join(str(g) for g in r.n_clusters)
        return str(r.n_clusters)

    rows: dict[str, list[Any]] = {
        "Estimator": [r.estimator_label for r in results],
        "Effects": [r.effects_label for r in results],
        "Clusters (G)": [clusters(r) for r in results],
        "Units": [r.n_entities for r in results],
        "Periods": [r.n_periods for r in results],
    }
    if any(r.bootstrap for r in results):
        terms: list[str] = []
        for r in results:
            for n in r.param_names:
                if n not in terms:
                    terms.append(n)
        for term in terms:
            vals = []
            for r in results:
                if r.bootstrap and term in r.param_names:
                    b = r.bootstrap[r.param_names.index(term)]
                    vals.append(_fmt_num(b.p_value, digits))
                else:
                    vals.append("-")
            if any(v != "-" for v in vals):
                rows[f"Wild bootstrap p: {(labels or {}).get(term, term)}"] = vals
    return rows


def _notes(results: list[Any], names: list[str]) -> str:
    parts = []
    warned: dict[str, list[str]] = {}
    for name, r in zip(names, results, strict=True):
        star_p = "wild cluster bootstrap p-value" if r.bootstrap else "conventional p-value"
        parts.append(f"{name}: {r.cov_label}. Stars from the {star_p}.")
        for w in r.warnings:
            warned.setdefault(str(w), []).append(name)
    # one warning shared by several models is written once, naming them
    parts += [f"{', '.join(who)}: WARNING: {w}" for w, who in warned.items()]
    parts.append("Standard errors in parentheses. * p<0.1, ** p<0.05, *** p<0.01.")
    return " ".join(parts)


def table_frame(results: Any, *, model_names: Sequence[str] | None = None, digits: int = 3,
                keep: Sequence[str] | None = None, drop: Sequence[str] | None = None,
                labels: Mapping[str, str] | None = None) -> Any:
    """The :class:`maketables.ETable` behind :func:`regression_table` (for further styling).

    Returns
    -------
    maketables.ETable
        ``.df`` is the assembled DataFrame; ``.make(type="gt"|"tex"|"docx")`` renders it.
    """
    import maketables as mt

    results = _as_list(results)
    names = list(model_names) if model_names else [f"({i + 1})" for i in range(len(results))]
    if len(names) != len(results):
        raise ValueError(f"{len(names)} model names for {len(results)} results")
    wrapped = [_TableModel(r) for r in results]
    return mt.ETable(
        wrapped,
        model_stats=["N", "r2", "se_type"],
        custom_model_stats=_stats_rows(results, digits, labels),
        model_heads=names,
        signif_code=[0.01, 0.05, 0.10],
        keep=list(keep) if keep else None,
        drop=list(drop) if drop else None,
        coef_fmt=f"b:.{digits}f* \n (se:.{digits}f)",
        notes=_notes(results, names),
        labels=dict(labels) if labels else None,
    )


def _markdown(df: pd.DataFrame, title: str | None, notes: str) -> str:
    heads = []
    for col in df.columns:
        parts = col if isinstance(col, tuple) else (col,)
        # use the model name level (middle) when present, else the last
        heads.append(str(parts[1] if len(parts) >= 3 else parts[-1]))
    lines = []
    if title:
        lines += [f"**{title}**", ""]
    lines.append("|  | " + " | ".join(heads) + " |")
    lines.append("|---|" + "---|" * len(heads))
    for idx, row in df.iterrows():
        label = idx[-1] if isinstance(idx, tuple) else idx
        cells = [str(v).replace("\n", " ").replace("  ", " ").strip() for v in row.to_numpy()]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if notes:
        lines += ["", notes]
    return "\n".join(lines)


def regression_table(
    results: Any,
    *,
    format: TableFormat = "markdown",
    model_names: Sequence[str] | None = None,
    title: str | None = None,
    digits: int = 3,
    keep: Sequence[str] | None = None,
    drop: Sequence[str] | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """A side-by-side regression table as Markdown, HTML or LaTeX text.

    Parameters
    ----------
    results : PanelResults or sequence of them
    format : {"markdown", "html", "latex"}
    model_names : column heads (default ``(1)``, ``(2)``...)
    title : caption; if any result is SIMULATED and the title does not say so,
        "SIMULATED: " is put in front of it (and a title is made if none is given)
    digits : decimals shown
    keep, drop : coefficient names (or regular expressions) to keep / drop
    labels : ``{variable: label}`` for coefficient rows and the dependent variable
        (for example :func:`variable_labels`)

    Returns
    -------
    str
        Coefficients with standard errors in parentheses and stars; rows for
        fixed effects, clusters, units, periods, N, R-squared, S.E. type,
        estimator, effects and (few clusters) wild bootstrap p-values; notes with
        each model's exact covariance convention and warnings.
    """
    check_literal(format, TableFormat, "format")
    res = _as_list(results)
    if any(getattr(r, "simulated", False) for r in res):
        if not title:
            title = f"{SIMULATED_PREFIX}: regression results on simulated data"
        elif SIMULATED_PREFIX not in title.upper():
            title = f"{SIMULATED_PREFIX}: {title}"
    et = table_frame(res, model_names=model_names, digits=digits, keep=keep, drop=drop,
                     labels=labels)
    names = list(model_names) if model_names else [f"({i + 1})" for i in range(len(res))]
    notes = _notes(res, names)
    if format == "markdown":
        return _markdown(et.df, title, notes)
    if format == "latex":
        tex = str(et.make(type="tex"))
        if title:
            tex = f"% {title}\n\\textbf{{{_latex_escape(title)}}}\n\n" + tex
        return tex
    html = et.make(type="gt").as_raw_html()
    if title:
        # great_tables drops a tab_header() title from this maketables table, so the
        # caption (which carries SIMULATED) is written above the table ourselves.
        colour = "#b00020" if SIMULATED_PREFIX in title.upper() else "inherit"
        html = (
            f'<p class="govstats-table-title" style="font-weight:bold;color:{colour}">'
            f"{escape(title)}</p>\n{html}"
        )
    return html


def export_table(
    results: Any,
    name: str,
    *,
    model_names: Sequence[str] | None = None,
    title: str | None = None,
    digits: int = 3,
    directory: str | Path | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict[str, Path]:
    """Write a regression table as LaTeX, Markdown and CSV files, for pasting into a paper.

    The files ``<name>.tex``, ``<name>.md`` and ``<name>.csv`` go to ``directory`` (default
    ``reports/tables/`` of the project, beside the HTML reports, which link to them as
    ``tables/<name>.<ext>``). The CSV holds the assembled table (coefficients with standard
    errors, the model rows); the notes with each covariance convention are in all three.

    Returns
    -------
    dict
        ``{"tex": path, "md": path, "csv": path}``.
    """
    from govstats.paths import reports_dir

    if not name or any(c in name for c in "/\\"):
        raise ValueError(f"name={name!r} must be a plain file stem")
    out_dir = Path(directory) if directory is not None else reports_dir() / "tables"
    out_dir.mkdir(parents=True, exist_ok=True)
    res = _as_list(results)
    kw = dict(model_names=model_names, title=title, digits=digits, labels=labels)
    paths = {ext: out_dir / f"{name}.{ext}" for ext in ("tex", "md", "csv")}
    paths["tex"].write_text(regression_table(res, format="latex", **kw) + "\n", encoding="utf-8")
    paths["md"].write_text(regression_table(res, format="markdown", **kw) + "\n", encoding="utf-8")
    frame = table_frame(res, model_names=model_names, digits=digits, labels=labels).df.copy()
    frame.columns = [" / ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in frame.columns]
    frame.index = [" / ".join(map(str, i)) if isinstance(i, tuple) else str(i) for i in frame.index]
    frame = frame.map(lambda v: " ".join(str(v).split()))
    simulated = any(getattr(r, "simulated", False) for r in res)
    with paths["csv"].open("w", encoding="utf-8", newline="") as fh:
        if simulated:
            fh.write(f"# {SIMULATED_PREFIX}: regression results on simulated data\n")
        frame.to_csv(fh, index_label="")
        fh.write("# " + _notes(res, list(model_names) if model_names else
                              [f"({i + 1})" for i in range(len(res))]).replace("\n", " ") + "\n")
    return paths


def _latex_escape(text: str) -> str:
    for a, b in (("\\", r"\textbackslash{}"), ("&", r"\&"), ("%", r"\%"), ("$", r"\$"),
                 ("#", r"\#"), ("_", r"\_"), ("{", r"\{"), ("}", r"\}")):
        text = text.replace(a, b)
    return text


def coef_plot(
    results: Any,
    *,
    terms: Sequence[str] | None = None,
    model_names: Sequence[str] | None = None,
    title: str | None = None,
    alpha: float | None = None,
    show_bootstrap: bool = True,
    ax: Any = None,
    labels: Mapping[str, str] | None = None,
    truth: Mapping[str, float] | None = None,
) -> Any:
    """Coefficient plot: estimates with confidence intervals, models side by side.

    Thin lines are the conventional intervals (the covariance of each model); where
    the wild cluster bootstrap ran, its test-inversion interval is drawn as a thick
    line, so the two can be compared. Chinese labels render (the CJK font of
    :func:`govstats.plotting.use_cjk_font`); a SIMULATED result gets "SIMULATED"
    in the title and a watermark.

    Parameters
    ----------
    results : PanelResults or sequence of them
    terms : coefficients to show (default all except the intercept)
    model_names : legend labels
    title : figure title (pass one that says SIMULATED for simulated data; it is
        added if missing)
    alpha : intervals at ``1 - alpha`` (default each model's ``spec.alpha``)
    show_bootstrap : draw bootstrap intervals when available
    ax : matplotlib Axes to draw on (default: a new figure)
    labels : ``{term: label}`` shown instead of the variable names (for example
        :func:`variable_labels`); terms without a label keep their name
    truth : ``{term: true value}`` of a simulation, drawn as black diamonds
        ("true value (SIMULATED)") so a reader sees what the estimator should recover

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from govstats import datasets, models, tables
    >>> r = models.fit("invest ~ value + capital | firm", datasets.load_grunfeld(), vcov="iid")
    >>> ax = tables.coef_plot(r, title="Grunfeld, within")
    >>> ax.get_title()
    'Grunfeld, within'
    """
    import matplotlib.pyplot as plt

    try:
        from govstats.plotting import mark_simulated, use_cjk_font

        use_cjk_font()
    except ImportError:  # pragma: no cover - plotting is part of govstats
        mark_simulated = None

    res = _as_list(results)
    names = list(model_names) if model_names else (
        [f"({i + 1})" for i in range(len(res))] if len(res) > 1 else [""]
    )
    if terms is None:
        terms = []
        for r in res:
            for n in r.param_names:
                if n != "Intercept" and n not in terms:
                    terms.append(n)
    terms = list(terms)
    simulated = any(getattr(r, "simulated", False) for r in res)
    if simulated:
        if not title:
            title = f"{SIMULATED_PREFIX}: coefficient estimates on simulated data"
        elif SIMULATED_PREFIX not in title.upper():
            title = f"{SIMULATED_PREFIX}: {title}"
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 1.4 + 0.55 * len(terms) * max(1, len(res))))
    else:
        fig = ax.figure
    n = len(res)
    offsets = np.linspace(-0.25, 0.25, n) if n > 1 else np.zeros(1)
    ypos = np.arange(len(terms))[::-1].astype(float)
    colors = plt.rcParams["axes.prop_cycle"].by_key().get("color", ["C0"])
    for i, (r, name) in enumerate(zip(res, names, strict=True)):
        color = colors[i % len(colors)]
        ci = r.confint(alpha)
        lo_col, hi_col = ci.columns
        for j, term in enumerate(terms):
            if term not in r.param_names:
                continue
            y = ypos[j] + offsets[i]
            b = float(r.coef()[term])
            ax.plot([ci.at[term, lo_col], ci.at[term, hi_col]], [y, y], color=color, lw=1.2)
            if show_bootstrap and r.bootstrap:
                bt = r.bootstrap[r.param_names.index(term)]
                if not (math.isnan(bt.ci_low) or math.isnan(bt.ci_high)):
                    ax.plot([bt.ci_low, bt.ci_high], [y, y], color=color, lw=4, alpha=0.35,
                            solid_capstyle="butt")
            ax.plot([b], [y], "o", color=color, label=name if (j == 0 and name) else None)
    drew_truth = False
    for j, term in enumerate(terms):
        if truth is not None and term in truth:
            ax.plot([truth[term]], [ypos[j]], "D", color="black", ms=6, mfc="none", mew=1.5,
                    zorder=5, label=None if drew_truth else "true value (SIMULATED)")
            drew_truth = True
    ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
    ax.set_yticks(ypos)
    ax.set_yticklabels([(labels or {}).get(t, t) for t in terms])
    ax.set_xlabel("estimate (thin: conventional CI; thick: wild bootstrap CI)"
                  if any(r.bootstrap for r in res) and show_bootstrap else "estimate with confidence interval")
    if (any(names) and n > 1) or drew_truth:
        # below the axes: a legend never covers an estimate or an interval
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22 if ax.get_xlabel() else -0.12),
                  ncol=min(4, n + drew_truth), fontsize="small", frameon=False)
    if title:
        ax.set_title(title)
    if mark_simulated is not None:
        mark_simulated(fig, simulated=simulated)
    fig.tight_layout()
    return ax


# ---------------------------------------------------------------- labels and numbers


def variable_labels(language: str = "en", *, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """``{variable: label}`` for plots and tables, from the project's codebooks.

    Read from ``data/raw/codebook.csv`` (the documents' indicators),
    ``data/raw/national_codebook.csv`` and ``data/raw/panel_codebook.csv`` (the
    columns of the simulated, NC crime and Grunfeld panels). ``language``: ``"en"``
    (the English description, shortened to its first clause), ``"zh"`` (``name_zh``)
    or ``"both"`` (``"中文 English"``). ``extra`` overrides single labels.

    Examples
    --------
    >>> variable_labels("en")["lpolpc"]
    'log police per capita'
    >>> variable_labels("zh")["police_per_10k"]
    '每万人警力'
    """
    from govstats import paths
    from govstats._literals import Language, check_literal

    check_literal(language, Language, "language")
    out: dict[str, str] = {}
    for name in ("codebook.csv", "national_codebook.csv", "panel_codebook.csv"):
        path = paths.raw_dir() / name
        if not path.is_file():
            continue
        book = pd.read_csv(path, dtype=str, keep_default_na=False)
        for row in book.itertuples(index=False):
            en = row.label_en if "label_en" in book.columns else row.description_en.split(" (")[0]
            zh = row.name_zh
            out[row.indicator] = {"en": en, "zh": zh or en,
                                  "both": f"{zh} {en}" if zh else en}[language]
    out.update(extra or {})
    return out


# a column of calendar years: named year, first_year, year_start, cohort ... (not
# population_year_end, whose values are people)
_YEARLIKE = re.compile(r"^(?:\w+_)?(?:year|period|cohort|first_treated|adoption_year)$|"
                       r"^(?:year|cohort)_\w+$", re.I)


def format_number(x: Any, digits: int = 3) -> str:
    """A number as a reader expects it: ``2,122,661``; ``6.410``; ``0.0123``; never ``2.1e+06``.

    Whole numbers get thousands separators and no decimals; other numbers ``digits``
    decimals (with separators); numbers smaller than ``10**-digits`` keep ``digits``
    significant digits (scientific notation only for such tiny values). Missing: ``""``.

    Examples
    --------
    >>> [format_number(v) for v in (2122661.0, 6.41, 0.01234, -1234.5, float("nan"), 3)]
    ['2,122,661', '6.410', '0.012', '-1,234.500', '', '3']
    >>> format_number(4.2e-07)
    '4.2e-07'
    """
    if x is None or isinstance(x, str):
        return "" if x is None else x
    if isinstance(x, bool | np.bool_):
        return str(bool(x))
    try:
        v = float(x)
    except (TypeError, ValueError):
        return str(x)
    if math.isnan(v):
        return ""
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if v.is_integer():
        return f"{v:,.0f}"
    if v != 0 and abs(v) < 10 ** -digits:
        return f"{v:.{max(digits - 1, 1)}g}"
    return f"{v:,.{digits}f}"


def formatted(frame: pd.DataFrame, digits: int = 3, *, caption: str | None = None,
              formats: Mapping[str, Any] | None = None) -> Any:
    """A pandas Styler showing every row, numbers by :func:`format_number`.

    Counts get thousands separators and never scientific notation; years (a column
    named ``year``, ``first_year``, ``cohort`` ...) stay ``2016``; unlike the plain
    DataFrame display, no rows are cut (pandas shows 10 of 89).
    ``formats`` overrides single columns (format strings or callables, as
    :meth:`pandas.io.formats.style.Styler.format` takes).

    Examples
    --------
    >>> html = formatted(pd.DataFrame({"population": [2122661.0, 8.3e6]})).to_html()
    >>> "2,122,661" in html and "e+06" not in html
    True
    """
    years = [c for c in frame.columns if _YEARLIKE.search(str(c))
             and pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c])
             and frame[c].dropna().between(1000, 9999).all()]
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])
               and not pd.api.types.is_bool_dtype(frame[c]) and c not in years]
    objects = [c for c in frame.columns if c not in numeric and c not in years
               and not pd.api.types.is_bool_dtype(frame[c])]  # text, categories, mixed
    styler = frame.style.format(lambda v: format_number(v, digits), subset=numeric,
                                na_rep="")
    if objects:  # numbers inside object columns (a value column mixing text and numbers)
        styler = styler.format(lambda v: format_number(v, digits)
                               if isinstance(v, int | float | np.number) else
                               ("" if v is None else str(v)), subset=objects)
    if years:  # 2016, not 2,016
        styler = styler.format(lambda v: "" if pd.isna(v) else f"{v:.0f}" if float(v).is_integer()
                               else str(v), subset=years)
    if formats:
        styler = styler.format(dict(formats))
    if objects:  # text reads from the left
        styler = styler.set_properties(subset=objects, **{"text-align": "left"})
    if isinstance(frame.index, pd.RangeIndex):  # 0, 1, 2 ... says nothing
        styler = styler.hide(axis="index")
    if caption:
        styler = styler.set_caption(caption)
    return styler
