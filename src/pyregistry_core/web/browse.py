"""Server-rendered pages for people: the project list at ``/``, a page per project.

Routes (relative to the mount point; GET and HEAD only, no JavaScript anywhere):
    /                        projects the caller may read, with a ``?q=`` name filter
    /project/<project>/      releases newest first, files, the latest description,
                             and the pip/uv commands for this index

Invariants:
1. Every value that comes from an upload, the upstream or the request (summaries,
   versions, filenames, yank reasons, the query, the Host header) passes through
   ``html.escape``; a description reaches the page only as readme_renderer's output,
   which nh3 sanitizes. The Content-Security-Policy forbids every script as well, so a
   sanitizer miss still runs nothing.
2. Read permissions are the Simple API's: the same ``Registry`` calls, so the same
   401/403/404 (the error table in ``http.py`` answers them).
3. A page costs work proportional to its own project, never to the whole index (the
   list shows names only; no per-project metadata is read for it).
"""

from __future__ import annotations

import functools
import logging
from html import escape
from urllib.parse import quote

from packaging.metadata import parse_email
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..acl import Identity, Permission
from ..errors import InvalidProjectName
from ..names import normalize
from ..records import FileRecord, ProjectFiles
from ..registry.facade import Registry
from .messages import Request, Response, redirect_response

__all__ = ["SECURITY_HEADERS", "browse", "human_size", "render_description"]

log = logging.getLogger(__name__)

# No script may run and nothing loads from elsewhere; the inline <style> is the only CSS.
SECURITY_HEADERS = (
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:"),
    ("X-Content-Type-Options", "nosniff"),
)
_MAX_QUERY = 200  # longer than any valid project name

_STYLE = """
body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:#1f2328;background:#fff}
header{background:#24292f;padding:.6rem 1.5rem}header a{color:#fff;font-weight:600;text-decoration:none}
main{max-width:64rem;margin:0 auto;padding:1rem 1.5rem 3rem}
a{color:#0969da}h1{margin:.6rem 0}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}
code,pre{font:14px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f6f8fa;padding:.75rem;overflow-x:auto;border-radius:6px}
form.search{display:flex;gap:.5rem;margin:1rem 0}
form.search input{flex:1;font-size:1rem;padding:.4rem .6rem;border:1px solid #8c959f;border-radius:6px}
form.search button{font-size:1rem;padding:.4rem 1rem;border-radius:6px;border:1px solid #8c959f}
ul.projects{columns:16rem;padding-left:1.2rem}.muted{color:#57606a}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem;table-layout:fixed}
th:nth-child(1){width:33%}th:nth-child(2){width:9%}th:nth-child(3){width:35%}td.uploaded{font-size:.9rem}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #d0d7de;vertical-align:top}
td{overflow-wrap:anywhere}td.sha256 code{word-break:break-all;font-size:12px}
.yank-reason{display:block;color:#a40e26;font-size:.9rem}
.badge{display:inline-block;padding:0 .4rem;border-radius:1rem;font-size:.8rem;font-weight:600}
.yanked{background:#ffebe9;color:#a40e26;border:1px solid #ff8182}
.status{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .75rem;border-radius:6px}
.description{overflow-wrap:anywhere}.description h1{font-size:1.6rem}
.description img{max-width:100%}
"""


def browse(registry: Registry, request: Request, identity: Identity, parts: list[str]) -> Response | None:
    """Answer a browse page, or None when the path is not one (the caller answers 404).

    ``parts`` is the request path split on "/" after its leading slash (``"/"`` is
    ``[""]``); call it for GET and HEAD only.
    """
    if parts == [""]:
        return _project_list(registry, request, identity)
    if len(parts) not in (2, 3) or parts[0] != "project" or parts[2:] not in ([], [""]):
        return None
    try:
        project = normalize(parts[1])
    except InvalidProjectName:
        return None
    if len(parts) == 2 or parts[1] != project:
        return redirect_response(301, f"{_base(request)}/project/{project}/")
    files = registry.project_files(identity, project)  # 401/403/404 as the Simple API
    return _html_response(request, _project_page(registry, request, files))


# -- pages -------------------------------------------------------------------------------


def _project_list(registry: Registry, request: Request, identity: Identity) -> Response:
    registry.require(identity, Permission.READ)  # as /simple/: no default read, no list
    query = request.query.get("q", "").strip()[:_MAX_QUERY]
    # The filter compares normalized forms, so "Foo_Bar" finds "foo-bar".
    needle = canonicalize_name(query) if query else ""
    names = [
        name
        for name in registry.project_names()
        if needle in name and registry.may(identity, Permission.READ, name)
    ]
    base = _base(request)
    items = "".join(f'<li><a href="{base}/project/{escape(n)}/">{escape(n)}</a></li>' for n in names)
    if query:
        count = f"{_plural(len(names), 'project')} matching <q>{escape(query)}</q>"
    else:
        count = _plural(len(names), "project")
    body = (
        "<h1>Projects</h1>"
        f'<form class="search" method="get" action="{base}/" role="search">'
        f'<input type="search" name="q" value="{escape(query)}" placeholder="Search projects" '
        'aria-label="Search projects"><button type="submit">Search</button></form>'
        f'<p class="count muted">{count}</p>'
        f'<ul class="projects">{items}</ul>'
        f'<p class="muted">Simple index: <code>{escape(request.root_url)}/simple/</code></p>'
    )
    return _html_response(request, _document("pyregistry", base, body))


def _project_page(registry: Registry, request: Request, files: ProjectFiles) -> str:
    name = files.name
    base = _base(request)
    latest = _latest_release(files)
    summary, description = _latest_description(registry, latest)
    index_url = f"{request.root_url}/simple/"
    parts = [f"<h1>{escape(name)}</h1>"]
    if summary:
        parts.append(f'<p class="summary">{escape(summary)}</p>')
    if files.status.status != "active":  # PEP 792
        reason = f": {escape(files.status.reason)}" if files.status.reason else ""
        parts.append(f'<p class="status">This project is {escape(files.status.status)}{reason}</p>')
    parts.append('<h2 id="install">Install</h2>')
    for tool, command in (("pip", "pip install"), ("uv", "uv pip install")):
        line = f"{command} --index-url {index_url} {name}"
        parts.append(f'<pre class="install {tool}"><code>{escape(line)}</code></pre>')
    parts.append('<h2 id="description">Description</h2>')
    if description:
        parts.append(f'<div class="description">{description}</div>')
    else:
        parts.append('<p class="muted">No description.</p>')
    parts.append('<h2 id="versions">Versions</h2>')
    if not files.files:
        parts.append('<p class="muted">No files.</p>')
    for version, records in _releases_newest_first(files):
        parts.append(_release_section(version, records, base))
    return _document(f"{name} · pyregistry", base, "".join(parts))


def _release_section(version: str, records: list[FileRecord], base: str) -> str:
    all_yanked = all(r.yanked for r in records)
    marker = ' <span class="badge yanked">yanked</span>' if all_yanked else ""
    rows = "".join(_file_row(r, base) for r in records)
    return (
        f'<section class="release" data-version="{escape(version)}">'
        f'<h3 class="version">{escape(version)}{marker}</h3>'
        "<table><thead><tr><th>File</th><th>Size</th><th>SHA-256</th><th>Uploaded</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )


def _file_row(record: FileRecord, base: str) -> str:
    link = _file_link(record, base)
    filename = escape(record.filename)
    name = f'<a href="{escape(link)}">{filename}</a>' if link else filename
    yank = ""
    if record.yanked:
        yank = ' <span class="badge yanked">yanked</span>'
        if record.yanked_reason:
            yank += f' <span class="yank-reason">{escape(record.yanked_reason)}</span>'
    size = "unknown"
    if record.size is not None:
        size = f'<span title="{record.size} bytes">{human_size(record.size)}</span>'
    uploaded = "unknown"
    if record.upload_time:
        shown = record.upload_time[:19].replace("T", " ") + " UTC"
        uploaded = f'<time datetime="{escape(record.upload_time)}">{escape(shown)}</time>'
    sha256 = escape(record.sha256) if record.sha256 != "-" else "unknown"
    return (
        f'<tr class="file"><td class="filename">{name}{yank}</td><td class="size">{size}</td>'
        f'<td class="sha256"><code>{sha256}</code></td><td class="uploaded">{uploaded}</td></tr>'
    )


def _file_link(record: FileRecord, base: str) -> str | None:
    """Where the file downloads from; an upstream URL only when it is http(s)."""
    if record.external_url is not None:
        scheme = record.external_url.split(":", 1)[0].lower()
        return record.external_url if scheme in ("http", "https") else None
    return f"{base}/{record.url_path}"  # url_path is already percent-encoded


# -- releases and descriptions ------------------------------------------------------------


def _version_order(version: str) -> tuple[int, Version | str]:
    try:
        return (1, Version(version))
    except InvalidVersion:
        return (0, version)


def _releases_newest_first(files: ProjectFiles) -> list[tuple[str, list[FileRecord]]]:
    """Files grouped by version (``ProjectFiles`` keeps them oldest first)."""
    groups: dict[str, list[FileRecord]] = {}
    for record in files.files:
        groups.setdefault(record.version, []).append(record)
    return sorted(groups.items(), key=lambda item: _version_order(item[0]), reverse=True)


def _latest_release(files: ProjectFiles) -> list[FileRecord]:
    """PyPI's pick: the highest non-yanked final release, else the highest at all."""
    if not files.files:
        return []
    live = [r.version for r in files.files if not r.yanked]
    finals = [v for v in live if _version_order(v)[0] and not Version(v).is_prerelease]
    chosen = max(finals or live or [r.version for r in files.files], key=_version_order)
    return [r for r in files.files if r.version == chosen]


def _latest_description(registry: Registry, release: list[FileRecord]) -> tuple[str | None, str]:
    """The release's summary and its description as sanitized HTML ("" when none)."""
    summary = next((r.summary for r in release if r.summary), None)
    for record in release:
        metadata = registry.read_core_metadata(record)
        if metadata is None:
            continue
        raw, _unparsed = parse_email(metadata)
        text = raw.get("description") or ""
        if text.strip() in ("", "UNKNOWN"):  # old setuptools wrote UNKNOWN for none
            return raw.get("summary") or summary, ""
        return raw.get("summary") or summary, render_description(text, raw.get("description_content_type"))
    return summary, ""


@functools.lru_cache(maxsize=64)
def render_description(text: str, content_type: str | None) -> str:
    """A long description as sanitized HTML, rendered as PyPI does.

    ``text/markdown`` (GFM unless ``variant=CommonMark``), ``text/plain``, and
    reStructuredText for ``text/x-rst`` or no type; what fails to render shows as
    plain text.
    """
    # Imported here: docutils and the markdown renderer cost a quarter second, which
    # neither startup nor the Simple API should pay.
    from readme_renderer import markdown, rst, txt

    kind, params = _parse_content_type(content_type)
    try:
        if kind == "text/markdown":
            variant = "CommonMark" if params.get("variant", "").lower() == "commonmark" else "GFM"
            rendered = markdown.render(text, variant=variant)
        elif kind == "text/plain":
            rendered = txt.render(text)
        else:
            rendered = rst.render(text)
    except Exception:  # a hostile description must never turn the page into a 500
        log.exception("rendering a %s description failed; showing it as plain text", kind)
        rendered = None
    return rendered if rendered is not None else (txt.render(text) or "")


def _parse_content_type(value: str | None) -> tuple[str, dict[str, str]]:
    if not value:
        return "text/x-rst", {}
    kind, *rest = (piece.strip() for piece in value.split(";"))
    params = {}
    for piece in rest:
        key, _, param = piece.partition("=")
        params[key.strip().lower()] = param.strip().strip('"')
    return kind.lower(), params


# -- HTML ---------------------------------------------------------------------------------


def human_size(size: int) -> str:
    """A byte count for people: ``999 B``, ``1.5 KiB``, ``12.0 MiB``."""
    if size < 1024:
        return f"{size} B"
    value, unit = size / 1024, "KiB"
    for larger in ("MiB", "GiB", "TiB"):
        if value < 1023.95:  # else it would show as "1024.0"
            break
        value, unit = value / 1024, larger
    return f"{value:.1f} {unit}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _base(request: Request) -> str:
    """The mount prefix as an absolute URL path, for links and Location headers."""
    return quote(request.script_root, safe="/")


def _document(title: str, base: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f'<body><header><a href="{base}/">pyregistry</a></header><main>{body}</main></body></html>\n'
    )


def _html_response(request: Request, document: str) -> Response:
    body = document.encode()
    headers = (
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(body))),
        # What a page shows depends on who asks.
        ("Cache-Control", "private, no-cache"),
        ("Vary", "Authorization"),
        *SECURITY_HEADERS,
    )
    return Response(200, headers, b"" if request.method.upper() == "HEAD" else body)
