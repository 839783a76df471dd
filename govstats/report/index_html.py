"""``reports/index.html``: one page linking every report, built from the manifest.

Every string that comes from a configuration, a notebook or data (parameters,
sources, notes, error messages, descriptions) passes through
:func:`html.escape`; link targets are percent-encoded file names. The page is
static, has no scripts, and works from ``file://``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

__all__ = ["render_index"]

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI","Noto Sans CJK SC",sans-serif;margin:1.5em;
color:#222}
h1{font-size:1.5em;margin:0 0 .3em}
.meta{color:#555;font-size:.9em;margin-bottom:1em}
table{border-collapse:collapse;width:100%;font-size:.92em}
th,td{border-bottom:1px solid #ddd;padding:.45em .5em;text-align:left;vertical-align:top}
th{background:#f3f3f3}
tr.failed{background:#fff1f1}
.badge{display:inline-block;padding:.1em .45em;border-radius:3px;font-size:.85em;font-weight:600}
.ok{background:#e3f4e3;color:#1b5e20}
.fail{background:#b00020;color:#fff}
.notrun{background:#eee;color:#555}
.sim{background:#b00020;color:#fff;letter-spacing:.04em}
.real{background:#e8eef8;color:#1a3e72}
.undeclared{background:#eee;color:#666}
.params code{white-space:pre-wrap;word-break:break-word}
.err{color:#8a0012;font-family:monospace;white-space:pre-wrap;word-break:break-word}
.small{color:#666;font-size:.85em}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _href(file_name: str, fragment: str = "") -> str:
    return _e(quote(file_name) + (f"#{quote(fragment)}" if fragment else ""))


def _params(parameters: Mapping[str, Any]) -> str:
    if not parameters:
        return "<span class='small'>defaults</span>"
    rows = [
        f"<code>{_e(k)} = {_e(json.dumps(v, ensure_ascii=False))}</code>"
        for k, v in parameters.items()
    ]
    return "<br>".join(rows)


def _data_badge(record: Mapping[str, Any]) -> str:
    simulated = record.get("simulated")
    if simulated is True:
        badge = "<span class='badge sim'>SIMULATED</span>"
    elif simulated is False:
        badge = "<span class='badge real'>observed</span>"
    else:
        badge = "<span class='badge undeclared'>not declared</span>"
    sources = record.get("sources") or []
    if sources:
        badge += "<div class='small'>" + "<br>".join(_e(s) for s in sources) + "</div>"
    return badge


def _status(record: Mapping[str, Any]) -> str:
    status = record.get("status")
    if status == "ok":
        cell = "<span class='badge ok'>ok</span>"
    elif status == "failed":
        cell = "<span class='badge fail'>FAILED</span>"
        error = record.get("error") or {}
        message = error.get("message") or f"{error.get('ename', '')}: {error.get('evalue', '')}"
        if len(message) > 300:
            message = message[:300] + "…"
        cell += f"<div class='err'>{_e(message)}</div>"
        if record.get("failed_html"):
            cell += (
                f"<div><a href='{_href(record['failed_html'], 'papermill-error-cell')}'>"
                "go to the failing cell</a></div>"
            )
    else:
        cell = f"<span class='badge notrun'>{_e(status or 'not run')}</span>"
    return cell


def _report_link(record: Mapping[str, Any]) -> str:
    name = _e(record["name"])
    link = name
    if record.get("html") and record.get("status") == "ok":
        link = f"<a href='{_href(record['html'])}'><strong>{name}</strong></a>"
    elif record.get("html"):  # failed now, but the last good report is intact
        link = (
            f"<strong>{name}</strong><div class='small'><a href='{_href(record['html'])}'>"
            f"last good report</a> ({_e(record.get('last_good_executed_at') or '')})</div>"
        )
    elif record.get("failed_html"):
        link = f"<a href='{_href(record['failed_html'])}'><strong>{name}</strong></a>"
    else:
        link = f"<strong>{name}</strong>"
    extra = f"<div class='small'>{_e(record.get('notebook', ''))}</div>"
    if record.get("description"):
        extra += f"<div>{_e(record['description'])}</div>"
    return link + extra


def _batch(record: Mapping[str, Any]) -> str:
    """What this batch did with the run, in words (records without ``batch`` are older)."""
    batch = record.get("batch")
    if batch is None:
        if record.get("cache_hit"):
            return "cache hit"
        return "ran now" if record.get("status") not in ("not run", None) else ""
    if batch in ("ran now", "cache hit"):
        return batch
    when = record.get("previous_executed_at") or record.get("executed_at")
    if record.get("status") == "not run" or not when:
        return batch
    return f"{batch}; previous result from {when}"


def _commit(git: Mapping[str, Any] | None) -> str:
    if not git or not git.get("commit"):
        return "<span class='small'>no git</span>"
    dirty = " <span class='badge fail'>dirty</span>" if git.get("dirty") else ""
    return f"<code title='{_e(git['commit'])}'>{_e(git['commit'][:10])}</code>{dirty}"


def render_index(manifest: Mapping[str, Any]) -> str:
    """The index page for a manifest (see :func:`govstats.report.manifest.build_manifest`).

    Examples
    --------
    >>> page = render_index({"runs": [{"name": "a", "status": "ok", "html": "a.html",
    ...     "parameters": {"label": "<script>alert(1)</script>"}}], "summary": {}})
    >>> "<script>" in page, "&lt;script&gt;" in page
    (False, True)
    """
    summary = manifest.get("summary") or {}
    env = manifest.get("environment") or {}
    rows = []
    for r in manifest.get("runs", []):
        duration = r.get("duration_s")
        when = r.get("executed_at") or ""
        cache = _batch(r)
        rows.append(
            f"<tr class='{'failed' if r.get('status') == 'failed' else ''}' id='run-{_e(r['name'])}'>"
            f"<td>{_report_link(r)}</td>"
            f"<td>{_status(r)}</td>"
            f"<td>{_data_badge(r)}</td>"
            f"<td class='params'>{_params(r.get('parameters') or {})}</td>"
            f"<td>{'' if duration is None else f'{float(duration):.1f} s'}"
            f"<div class='small'>{_e(cache)}</div></td>"
            f"<td><span class='small'>{_e(when)}</span><br>{_commit(r.get('git'))}</td>"
            "</tr>"
        )
    failed = summary.get("failed", 0)
    headline = (
        f"{summary.get('runs', len(rows))} reports: {summary.get('ok', 0)} ok, "
        f"{failed} failed, {summary.get('cache_hits', 0)} from cache, "
        f"{summary.get('simulated', 0)} on simulated data"
    )
    git = manifest.get("git") or {}
    if manifest.get("interrupted"):
        headline += (f"; INTERRUPTED: {summary.get('not_run_interrupted', 0)} selected runs did "
                     "not run in this batch (their previous results are shown)")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>govstats reports</title><style>{_CSS}</style></head><body>"
        "<h1>govstats reports</h1>"
        f"<div class='meta'>{_e(headline)}<br>generated {_e(manifest.get('generated_at', ''))}"
        f" · commit {_commit(git)} · Python {_e(env.get('python', ''))}"
        f" · <a href='manifest.json'>manifest.json</a></div>"
        "<table><thead><tr><th>Report</th><th>Status</th><th>Data</th><th>Parameters</th>"
        "<th>Duration</th><th>Executed</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )
