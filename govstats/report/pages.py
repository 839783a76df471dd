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
    "cjk_font_face",
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
                    data[mime] = _STYLER_ID.sub(lambda m, mp=mapping: f"T_{mp[m.group(1)]}", text)
    return nb


# ---------------------------------------------------------------- HTML export

_MATH = re.compile(r"(?<![\\$])\$[^$\n]+\$|\$\$.+?\$\$|\\\(|\\\[|\\begin\{", re.S)

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
        if cell.cell_type == "markdown" and _MATH.search(_text(cell.source)):
            return True
        for output in cell.get("outputs", []) if cell.cell_type == "code" else []:
            data = output.get("data") or {}
            if "text/latex" in data or _MATH.search(_text(data.get("text/markdown", ""))):
                return True
    return False


def _needs_mermaid(nb: Any) -> bool:
    return any("```mermaid" in _text(c.source) for c in nb.cells if c.cell_type == "markdown") or (
        any("text/vnd.mermaid" in (o.get("data") or {}) for c in nb.cells
            if c.cell_type == "code" for o in c.get("outputs", [])))


def html_exporter():
    """nbconvert's ``lab`` HTML exporter with the govstats template (no CDN scripts)."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab",
                            extra_loaders=[DictLoader({"govstats.html.j2": _TEMPLATE})])
    exporter.template_file = "govstats.html.j2"
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
    try:
        import mplfonts
    except ImportError:
        return None
    path = Path(mplfonts.__file__).parent / "fonts" / "NotoSansCJKsc-Regular.otf"
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
    chars = "".join(sorted({c for c in text if _wants_cjk_font(c)}))
    source = _cjk_font_path()
    if not chars or source is None:
        return ""
    key = hashlib.sha256(chars.encode("utf-8")).hexdigest()[:24]
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
