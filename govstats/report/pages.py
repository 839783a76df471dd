"""What makes a report page citable, reproducible and self-contained.

- :func:`normalise_notebook`: the executed notebook without run-to-run noise:
  the injected-parameters cell gets a fixed id, papermill's and nbclient's
  timestamps and temporary paths are removed (the manifest keeps the run's time
  and duration), and pandas Styler's random table ids (``T_df988``) become ids
  derived from the cell and output position. Two runs on the same inputs then
  give the same bytes.
- :func:`html_exporter`: nbconvert's ``lab`` template without CDN scripts:
  require.js and mermaid are dropped (no widgets, no diagrams), MathJax is kept
  only for a page that has math (none of the reports does today), a CSS block
  adds horizontal scrolling for wide tables and a CJK font stack.
- :func:`cjk_font_face`: a subset of Noto Sans CJK SC (shipped by ``mplfonts``,
  the font the figures embed) with exactly the characters of the page,
  embedded as a WOFF data URL (about 15 kB for the place profiles): Chinese in
  HTML tables renders on machines without a CJK font, offline.
- :func:`stamp_html` / :func:`insert_stamp`: one clearly marked block at the
  top of each page with the govstats version, commit, date, parameters, the
  data kind and a link back to ``index.html``. It is the only part of a page
  that changes between two runs on the same inputs (:func:`strip_stamp`).
- :func:`gather_notes`: warnings a run printed (stderr) taken out of the cells
  and shown once, with a count, in one notes box at the end of the page.
- :func:`check_page`: what a reader must never see on a page (LaTeX source,
  counts in scientific notation, external scripts, a missing stamp or index link).
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "STAMP_BEGIN",
    "STAMP_END",
    "check_page",
    "cjk_font_face",
    "gather_notes",
    "html_exporter",
    "insert_stamp",
    "needs_math",
    "normalise_notebook",
    "stamp_html",
    "strip_stamp",
]

STAMP_BEGIN = "<!-- govstats-stamp: begin (the only part that changes between reruns) -->"
STAMP_END = "<!-- govstats-stamp: end -->"

# pandas Styler: ``T_`` + uuid4().hex[:5] (``uuid_len`` 5), in ids and CSS selectors.
_STYLER_ID = re.compile(r"\bT_([0-9a-f]{5})(?![0-9a-zA-Z])")
_TIMING_KEYS = ("start_time", "end_time", "duration")


def _text(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+>")


def normalise_notebook(nb: Any, *, name: str, input_path: str | None = None) -> Any:
    """Remove what differs between two runs of the same notebook on the same inputs.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        Changed in place and returned.
    name : str
        The run name (the notebook is saved as ``<name>.ipynb``).
    input_path : str, optional
        The source notebook as the reader should see it (relative to the project).

    Examples
    --------
    >>> import nbformat
    >>> nb = nbformat.v4.new_notebook()
    >>> cell = nbformat.v4.new_code_cell("x", metadata={"tags": ["injected-parameters"]})
    >>> cell.outputs = [nbformat.v4.new_output("display_data", data={
    ...     "text/html": "<style>#T_ab12f_row0_col0{color:red}</style><table id='T_ab12f'>"})]
    >>> out = normalise_notebook(nbformat.v4.new_notebook(cells=[cell]), name="r")
    >>> out.cells[0].id, out.cells[0].outputs[0]["data"]["text/html"]
    ('injected-parameters', "<style>#T_c0o0_row0_col0{color:red}</style><table id='T_c0o0'>")
    """
    meta = nb.metadata.get("papermill")
    if meta is not None:
        for key in _TIMING_KEYS:
            meta.pop(key, None)
        meta["output_path"] = f"{name}.ipynb"
        if input_path is not None:
            meta["input_path"] = input_path
    used_ids = set()
    for index, cell in enumerate(nb.cells):
        cell.metadata.pop("execution", None)  # nbclient's iopub timestamps
        pm = cell.metadata.get("papermill")
        if pm is not None:
            for key in _TIMING_KEYS:
                pm.pop(key, None)
        tags = cell.metadata.get("tags", [])
        if "injected-parameters" in tags:
            cell["id"] = "injected-parameters"
        elif "papermill-error-cell-tag" in tags:
            cell["id"] = f"papermill-error-{index}"
        if "id" in cell:
            if cell["id"] in used_ids:
                cell["id"] = f"cell-{index}"
            used_ids.add(cell["id"])
        for o_index, output in enumerate(cell.get("outputs", []) if cell.cell_type == "code"
                                         else []):
            data = output.get("data") or {}
            for mime in ("text/html", "text/plain"):
                if mime not in data:
                    continue
                text = _text(data[mime])
                mapping: dict[str, str] = {}
                for uid in _STYLER_ID.findall(text):
                    mapping.setdefault(uid, f"c{index}o{o_index}" + (
                        f"n{len(mapping)}" if mapping else ""))
                if mapping:
                    text = _STYLER_ID.sub(lambda m, mp=mapping: f"T_{mp[m.group(1)]}", text)
                    data[mime] = text
                if mime == "text/plain" and _ADDRESS.search(text):
                    # "<pandas.io.formats.style.Styler at 0x7f...>", the plain-text fallback of a
                    # rich output: the memory address changes with every run
                    data[mime] = _ADDRESS.sub(" at 0x0>", text)
    return nb


# ---------------------------------------------------------------- HTML export

_MATH = re.compile(r"(?<![\\$])\$[^$\n]+\$|\$\$.+?\$\$|\\\(|\\\[|\\begin\{", re.S)
_CODE = re.compile(r"```.*?```|`[^`\n]*`", re.S)  # code is never math ($region in a Stata line)


def _has_math(markdown: str) -> bool:
    return bool(_MATH.search(_CODE.sub(" ", markdown)))

PAGE_CSS = """
/* "govstats CJK" (embedded, limited to CJK code points by its unicode-range) comes first:
   a web font later in the list is fetched only once a glyph is missing, and the text is drawn
   as empty boxes until then; first in the list, CJK text waits for it instead. */
html:root {
  --govstats-cjk: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
    "WenQuanYi Micro Hei";
  --jp-content-font-family: "govstats CJK", system-ui, -apple-system, "Segoe UI", Helvetica,
    Arial, var(--govstats-cjk), sans-serif;
  --jp-ui-font-family: var(--jp-content-font-family);
  --jp-code-font-family: "govstats CJK", "DejaVu Sans Mono", Menlo, Consolas,
    var(--govstats-cjk), monospace;
}
/* wide tables scroll inside their output instead of being cut off at the page edge */
.jp-OutputArea-output { overflow-x: auto; max-width: 100%; }
.jp-RenderedHTMLCommon table { font-variant-numeric: tabular-nums; }
.govstats-stamp { font-family: var(--jp-content-font-family); font-size: 0.85em; color: #444;
  border-bottom: 1px solid #ccc; padding: 0.4em 0 0.6em; margin: 0 0 0.8em; }
.govstats-stamp a { font-weight: 600; }
.govstats-stamp code { font-size: 0.95em; }
.govstats-notes { border: 1px solid #c9a227; background: #fff8e1; padding: 0.5em 1em;
  margin: 1em 0; font-family: var(--jp-content-font-family); }
.govstats-notes li { margin: 0.2em 0; }
.govstats-notes code { white-space: pre-wrap; }
details.govstats-full > summary { cursor: pointer; font-weight: 600; margin: 0.4em 0; }
.govstats-stamp .sim { background: #b00020; color: #fff; padding: 0 0.35em; font-weight: 700; }
"""

_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block html_head_js_mathjax -%}
{%- if resources.govstats_math -%}{{ super() }}{%- endif -%}
{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}
{%- if resources.govstats_mermaid -%}{{ super() }}{%- endif -%}
{%- endblock html_head_js_mermaidjs -%}
{%- block html_head_css -%}
<style type="text/css">{{ resources.govstats_css }}</style>
{%- endblock html_head_css -%}
"""


def needs_math(nb: Any) -> bool:
    """Whether any markdown cell or markdown/LaTeX output holds TeX math."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and _has_math(_text(cell.source)):
            return True
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data") or {}
            if "text/latex" in data or _has_math(_text(data.get("text/markdown", ""))):
                return True
    return False


def _needs_mermaid(nb: Any) -> bool:
    return any("```mermaid" in _text(c.source) for c in nb.cells if c.cell_type == "markdown") or (
        any("text/vnd.mermaid" in (o.get("data") or {}) for c in nb.cells
            if c.cell_type == "code" for o in c.get("outputs", [])))


def html_exporter(template_cache: str | Path | None = None):
    """nbconvert's ``lab`` HTML exporter with the govstats template (no CDN scripts).

    ``template_cache``: a directory where Jinja keeps the compiled templates (its
    ``FileSystemBytecodeCache``, keyed by each template's source checksum), so that each
    run's worker does not compile the ten templates of the page again (about a second).
    """
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab",
                            extra_loaders=[DictLoader({"govstats.html.j2": _TEMPLATE})])
    exporter.template_file = "govstats.html.j2"
    if template_cache is not None:
        from jinja2 import FileSystemBytecodeCache

        Path(template_cache).mkdir(parents=True, exist_ok=True)
        exporter.environment.bytecode_cache = FileSystemBytecodeCache(str(template_cache))
    return exporter


def export_resources(nb: Any, title: str) -> dict[str, Any]:
    """The resources the template reads: title, whether to load MathJax, the CSS."""
    return {
        "metadata": {"name": title},
        "govstats_math": needs_math(nb),
        "govstats_mermaid": _needs_mermaid(nb),
        "govstats_css": PAGE_CSS,
    }


# ---------------------------------------------------------------- CJK web font


def _cjk_font_path() -> Path | None:
    return _default_cjk_font_path()


def _default_cjk_font_path() -> Path | None:
    # found without importing mplfonts: its import loads matplotlib (about a second per page)
    import importlib.util

    spec = importlib.util.find_spec("mplfonts")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "fonts" / "NotoSansCJKsc-Regular.otf"
    return path if path.is_file() else None


_UNICODE_RANGE = "U+2E80-9FFF,U+F900-FAFF,U+FF00-FFEF"


def _wants_cjk_font(ch: str) -> bool:
    cp = ord(ch)
    return 0x2E80 <= cp <= 0x9FFF or 0xF900 <= cp <= 0xFAFF or 0xFF00 <= cp <= 0xFFEF


def cjk_font_face(text: str, *, cache_dir: str | Path | None = None) -> str:
    """A CSS ``@font-face`` embedding the CJK characters of ``text`` (empty if none).

    The subset of Noto Sans CJK SC (SIL Open Font License) is a WOFF file in a
    data URL, cached under ``cache_dir`` by the character set.

    Examples
    --------
    >>> css = cjk_font_face("衡阳 Hengyang")
    >>> css.startswith("@font-face{font-family:'govstats CJK'") or css == ""
    True
    >>> cjk_font_face("no Chinese here")
    ''
    """
    # distinct characters first: a page carries megabytes of base64 images
    chars = "".join(sorted(c for c in set(text) if _wants_cjk_font(c)))
    source = _cjk_font_path()
    if not chars or source is None:
        return ""
    # the common-character copy of the same font when it has every character: subsetting it
    # takes a fifth of the time (govstats._fonts.common_cjk_font)
    from govstats._fonts import common_cjk_font

    common = common_cjk_font() if source == _default_cjk_font_path() else None
    if common is not None and {ord(c) for c in chars} <= common[2]:
        source = common[0]
    key = hashlib.sha256(f"{source.name}|{chars}".encode()).hexdigest()[:24]
    cached = Path(cache_dir) / f"{key}.woff" if cache_dir is not None else None
    if cached is not None and cached.is_file():
        data = cached.read_bytes()
    else:
        from fontTools import subset

        options = subset.Options()
        options.flavor = "woff"  # zlib; WOFF2 would need brotli
        options.layout_features = ["vert", "vrt2"]
        options.name_IDs = [0, 1, 2, 3, 4, 5, 6]  # keep the copyright and licence names
        options.hinting = False
        options.desubroutinize = True
        options.notdef_outline = True
        from govstats._fonts import quiet_fonttools

        with quiet_fonttools():
            font = subset.load_font(str(source), options)
            subsetter = subset.Subsetter(options)
            subsetter.populate(text=chars)
            subsetter.subset(font)
            buffer = io.BytesIO()
            subset.save_font(font, buffer, options)
        data = buffer.getvalue()
        if cached is not None:
            from govstats._io import atomic_write_bytes

            atomic_write_bytes(cached, data)
    encoded = base64.b64encode(data).decode("ascii")
    return ("@font-face{font-family:'govstats CJK';font-style:normal;font-weight:400;"
            f"unicode-range:{_UNICODE_RANGE};"
            f"src:url(data:font/woff;base64,{encoded}) format('woff');}}")


def add_font(page: str, *, cache_dir: str | Path | None = None) -> str:
    """Embed the page's CJK subset font into its first ``<style>`` block."""
    face = cjk_font_face(page, cache_dir=cache_dir)
    if not face:
        return page
    marker = "</head>"
    return page.replace(marker, f"<style type=\"text/css\">{face}</style>\n{marker}", 1)


# ---------------------------------------------------------------- stamp


def _e(value: Any) -> str:
    return _html.escape(str(value), quote=True)


def stamp_html(record: Mapping[str, Any], *, version: str) -> str:
    """The stamp block: version, commit, date, parameters, data kind, link to the index."""
    git = record.get("git") or {}
    commit = git.get("commit")
    commit_text = (f"commit <code title='{_e(commit)}'>{_e(commit[:10])}</code>"
                   + (" (uncommitted changes)" if git.get("dirty") else "")
                   if commit else "no git commit")
    params = record.get("parameters") or {}
    shown = ", ".join(f"{k} = {json.dumps(v, ensure_ascii=False)}" for k, v in params.items())
    simulated = record.get("simulated")
    kind = ("<span class='sim'>SIMULATED DATA</span>" if simulated
            else "observed data" if simulated is False else "data kind not declared")
    status = "" if record.get("status") == "ok" else " · <strong>FAILED RUN</strong>"
    return (
        f"{STAMP_BEGIN}\n<div class='govstats-stamp' id='govstats-stamp'>"
        "<a href='index.html'>&larr; all reports</a> · "
        f"<strong>{_e(record.get('name', ''))}</strong>"
        f" ({_e(record.get('notebook', ''))}){status}<br>"
        f"govstats {_e(version)} · {commit_text} · executed {_e(record.get('executed_at', ''))}"
        f" · {kind} · <a href='manifest.json'>manifest</a><br>"
        f"parameters: <code>{_e(shown) if shown else 'notebook defaults'}</code>"
        f"</div>\n{STAMP_END}\n"
    )


def insert_stamp(page: str, stamp: str) -> str:
    """Put the stamp first inside ``<main>`` (or after ``<body ...>``)."""
    match = re.search(r"<main>", page) or re.search(r"<body[^>]*>", page)
    if match is None:
        return stamp + page
    return page[: match.end()] + "\n" + stamp + page[match.end():]


def strip_stamp(page: str) -> str:
    """The page without its stamp block (what must be identical between reruns)."""
    return re.sub(re.escape(STAMP_BEGIN) + r".*?" + re.escape(STAMP_END) + r"\n?", "", page,
                  flags=re.S)


# ---------------------------------------------------------------- notes box

_WARNING_LINE = re.compile(
    r"^(?P<where>\S[^\n]*?):(?P<line>\d+): (?P<category>[A-Za-z_][\w.]*(?:Warning|Error)):"
    r" (?P<message>.*)$")


def _split_warnings(text: str) -> list[tuple[str, str]]:
    """``[(category, message), ...]`` from stderr text; other lines become one note each."""
    found: list[tuple[str, str]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        match = _WARNING_LINE.match(line)
        if match:
            message = match.group("message")
            i += 1
            # continuation of a multi-line message, then the indented source line
            while i < len(lines) and lines[i] and not _WARNING_LINE.match(lines[i]) and (
                    not lines[i].startswith("  ")):
                message += "\n" + lines[i]
                i += 1
            while i < len(lines) and lines[i].startswith("  "):
                i += 1  # the source line warnings.formatwarning appends
            found.append((match.group("category"), message.strip()))
            continue
        if line.strip():
            found.append(("", line.strip()))
        i += 1
    return found


def gather_notes(nb: Any) -> Any:
    """Move every stderr output into one notes box at the end of the notebook.

    A warning raised three times (three models, three cells) is listed once, with
    how often and in which cells it came; the cells keep their other outputs.
    Returns the notebook (changed in place); a notebook with no stderr output is
    returned unchanged.

    Examples
    --------
    >>> import nbformat
    >>> cell = nbformat.v4.new_code_cell("x")
    >>> cell.outputs = [nbformat.v4.new_output("stream", name="stderr",
    ...     text="/x/a.py:3: UserWarning: few clusters\\n  warn()\\n")] * 3
    >>> nb = gather_notes(nbformat.v4.new_notebook(cells=[cell]))
    >>> len(nb.cells[0].outputs), "few clusters" in nb.cells[-1].source
    (0, True)
    """
    notes: dict[tuple[str, str], list[int]] = {}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        kept = []
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                for key in _split_warnings(_text(output.get("text", ""))):
                    notes.setdefault(key, []).append(index)
            else:
                kept.append(output)
        cell["outputs"] = kept
    if not notes:
        return nb
    import nbformat

    items = []
    for (category, message), cells in notes.items():
        where = sorted(set(cells))
        times = f" ({len(cells)} times)" if len(cells) > 1 else ""
        label = f"<strong>{_e(category)}</strong>: " if category else ""
        items.append(f"<li>{label}<code>{_e(message)}</code>{times}"
                     f" <small>(cell{'s' if len(where) > 1 else ''} "
                     f"{', '.join(map(str, where))})</small></li>")
    box = ("<div class='govstats-notes' id='govstats-notes'><strong>Notes: messages printed "
           "while this report ran</strong> (each listed once)<ul>" + "".join(items) + "</ul></div>")
    nb.cells.append(nbformat.v4.new_markdown_cell(box, id="govstats-notes"))
    return nb


# ---------------------------------------------------------------- page checks

_LATEX = re.compile(r"\\(?:begin|end)\{[a-z*]+\}|\\(?:toprule|midrule|bottomrule|hline|textbf|"
                    r"multicolumn|makecell|cline|cmidrule)\b")
_SCI_LARGE = re.compile(r"(?<![\w.])[-+]?\d(?:\.\d+)?[eE]\+?0*[3-9]\d*(?![\w.])")
_RAW_REPR = re.compile(r"(?:Name: \w+, )?dtype: (?:float64|int64|object|bool)\b|<pandas\.io\.formats|"
                       r"<Styler object|<(?:matplotlib|pandas)\.[\w.]+ object at 0x")
_EXTERNAL = re.compile(r"""<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*["']?"""
                       r"""(?:https?:)?//""", re.I)


def _visible_text(page: str) -> str:
    """The page's text as a reader sees it: no stamp, styles, scripts, tags or data URLs."""
    body = strip_stamp(page)
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", body, flags=re.S | re.I)
    body = re.sub(r"<[^>]+>", " ", body)
    return _html.unescape(body)


def _table_cells(page: str) -> list[str]:
    body = re.sub(r"<(style|script)\b.*?</\1>", " ", page, flags=re.S | re.I)
    cells = re.findall(r"<t[dh]\b[^>]*>(.*?)</t[dh]>", body, flags=re.S | re.I)
    return [_html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in cells]


def check_page(page: str, *, require_commit: bool = True) -> list[str]:
    """What a reader must never meet on a report page; an empty list when the page is clean.

    - LaTeX source printed as text (``\\begin{tabular}``, ``\\toprule`` ...);
    - a count in scientific notation (``2.122661e+06``; exponents of 3 or more, in
      table cells or in printed text; small numbers such as ``1.0e-06`` are allowed);
    - a script, stylesheet, image or frame loaded from the network;
    - warnings printed in the cells (they belong in the notes box, :func:`gather_notes`)
      and raw reprs (a printed pandas Series, ``<... object at 0x...>``);
    - no stamp with a commit (``require_commit=False`` accepts "no git commit", for a
      project outside git) and a link back to ``index.html``.

    Examples
    --------
    >>> check_page("<html><body><table><td>2.122661e+06</td></table></body></html>")[:1]
    ['count in scientific notation: 2.122661e+06']
    """
    problems: list[str] = []
    text = _visible_text(page)
    for match in sorted(set(_LATEX.findall(text)))[:5]:
        problems.append(f"LaTeX source printed: {match}")
    sci = sorted({m for cell in _table_cells(page) for m in _SCI_LARGE.findall(cell)}
                 | set(_SCI_LARGE.findall(text)))
    problems += [f"count in scientific notation: {m}" for m in sci[:5]]
    problems += [f"external resource: {m.group(0)[:80]}" for m in _EXTERNAL.finditer(page)][:5]
    unstyled = re.sub(r"<style\b.*?</style>", " ", page, flags=re.S | re.I)
    if re.search(r"data-mime-type=[\"']application/vnd.jupyter.stderr", unstyled):
        problems.append("printed warnings outside the notes box")
    for match in sorted(set(_RAW_REPR.findall(text)))[:3]:
        problems.append(f"a raw pandas repr printed: {match.strip()}")
    if "<script" in page and "mathjax" not in page.lower():
        problems.append("a script on a page without math")
    if STAMP_BEGIN not in page:
        problems.append("no govstats stamp")
    else:
        stamp = page[page.index(STAMP_BEGIN):page.index(STAMP_END)]
        if "href='index.html'" not in stamp:
            problems.append("the stamp has no link to index.html")
        if not re.search(r"commit <code title='[0-9a-f]{7,40}'>", stamp) and (
                require_commit or "no git commit" not in stamp):
            problems.append("the stamp names no commit")
    return problems
