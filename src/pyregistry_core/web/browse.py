"""Server-rendered pages for people: the project list at ``/``, a page per project.

Routes (relative to the mount point; GET and HEAD only, no JavaScript anywhere):
    /                        projects the caller may read, with a ``?q=`` name filter
    /project/<project>/      releases newest first, files, the latest description,
                             the pip/uv commands for this index, and a sidebar with
                             the latest release's metadata (``browse_sidebar.py``)

Invariants:
1. Every value that comes from an upload, the upstream or the request (summaries,
   versions, filenames, yank reasons, the query, the Host header) passes through
   ``html.escape``; a description reaches the page only as readme_renderer's output,
   which nh3 sanitizes (``readme.py``). The Content-Security-Policy forbids every
   script as well, so a sanitizer miss still runs nothing; images load only from this
   origin and ``pypi.browse_image_origins``, others show as links.
2. Read permissions are the Simple API's: the same ``Registry`` calls, so the same
   401/403/404 (the error table in ``statuses.py`` answers them, except that a missing project or page
   gets a styled 404 page when a browser asks for HTML).
3. A page costs work proportional to its own project, never to the whole index (the
   list shows names only; no per-project metadata is read for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from html import escape

from packaging.metadata import RawMetadata, parse_email
from packaging.utils import canonicalize_name

from ..acl import Identity, Permission
from ..errors import InvalidProjectName, ProjectNotFound
from ..names import normalize
from ..records import FileRecord, ProjectFiles
from ..registry.facade import Registry
from ..registry.results import UpstreamRedirect
from .browse_html import SECURITY_HEADERS, base_path, document, html_response, human_size, not_found, plural
from .browse_policy import policy_section
from .browse_sidebar import release_anchor, sidebar
from .messages import Request, Response, redirect_response
from .readme import allow_images, render_description

__all__ = [
    "SECURITY_HEADERS",
    "human_size",
    "no_such_page",
    "project_list",
    "project_page",
    "render_description",
]

_MAX_QUERY = 200  # longer than any valid project name


def project_list(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """``/``: the projects the caller may read, filtered by ``?q=``."""
    return _project_list(registry, request, request.caller)


def project_page(
    registry: Registry, request: Request, params: Mapping[str, str]
) -> Response | UpstreamRedirect:
    """``/project/<project>/``; other spellings (and no trailing slash) redirect to it."""
    try:
        project = normalize(params["project"])
    except InvalidProjectName:
        return not_found(request, "Not found.")
    if not params["slash"] or params["project"] != project:
        return redirect_response(301, f"{base_path(request)}/project/{project}/")
    try:
        files = registry.project_files(request.caller, project)  # 401/403/404 as the Simple API
    except ProjectNotFound as error:
        return not_found(request, error.message)
    if isinstance(files, UpstreamRedirect):
        return files
    origins = registry.settings.browse_image_origins
    return html_response(_project_page(registry, request, files), origins)


def no_such_page(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """Any other path under ``/project/``: the styled 404."""
    return not_found(request, "Not found.")


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
    base = base_path(request)
    items = "".join(f'<li><a href="{base}/project/{escape(n)}/">{escape(n)}</a></li>' for n in names)
    if query:
        count = f"{plural(len(names), 'project')} matching <q>{escape(query)}</q>"
    else:
        count = plural(len(names), "project")
    body = (
        "<h1>Projects</h1>"
        f'<form class="search" method="get" action="{base}/" role="search">'
        f'<input type="search" name="q" value="{escape(query)}" placeholder="Search projects" '
        'aria-label="Search projects"><button type="submit">Search</button></form>'
        f'<p class="count muted">{count}</p>'
        f'<ul class="projects">{items}</ul>'
        f'<p class="muted">Simple index: <code>{escape(request.root_url)}/simple/</code></p>'
    )
    return html_response(document("pyregistry", base, body))


def _project_page(registry: Registry, request: Request, files: ProjectFiles) -> str:
    name = files.name
    base = base_path(request)
    latest_version = files.latest_version()
    latest = files.release(latest_version) if latest_version is not None else []
    metadata = _latest_metadata(registry, latest)
    summary = metadata.get("summary") or next((r.summary for r in latest if r.summary), None)
    requires_python = metadata.get("requires_python") or next(
        (r.requires_python for r in latest if r.requires_python), None
    )
    releases = files.releases_newest_first()
    index_url = f"{request.root_url}/simple/"
    parts = [f"<h1>{escape(name)}</h1>"]
    if summary:
        parts.append(f'<p class="summary">{escape(summary)}</p>')
    if files.status.status != "active":  # PEP 792
        reason = f": {escape(files.status.reason)}" if files.status.reason else ""
        parts.append(f'<p class="status">This project is {escape(files.status.status)}{reason}</p>')
    parts.append('<div class="layout"><div class="content">')
    parts.append('<h2 id="install">Install</h2>')
    for tool, command in (("pip", "pip install --index-url"), ("uv", "uv pip install --default-index")):
        line = f"{command} {index_url} {name}"
        parts.append(f'<pre class="install {tool}"><code>{escape(line)}</code></pre>')
    parts.append('<h2 id="description">Description</h2>')
    description = _description(metadata, registry.settings.browse_image_origins)
    if description:
        parts.append(f'<div class="description">{description}</div>')
    else:
        parts.append('<p class="muted">No description.</p>')
    parts.append(policy_section(files))  # held-back and exempted upstream files, with why
    parts.append('<h2 id="versions">Versions</h2>')
    if not files.files:
        parts.append('<p class="muted">No files.</p>')
    for version, records in releases:
        parts.append(_release_section(version, records, base))
    parts.append("</div>")
    parts.append(sidebar(metadata, requires_python, releases))
    parts.append("</div>")
    return document(f"{name} · pyregistry", base, "".join(parts))


def _release_section(version: str, records: list[FileRecord], base: str) -> str:
    all_yanked = all(r.yanked for r in records)
    marker = ' <span class="badge yanked">yanked</span>' if all_yanked else ""
    rows = "".join(_file_row(r, base) for r in records)
    return (
        f'<section class="release" id="{release_anchor(version)}" data-version="{escape(version)}">'
        f'<h3 class="version">{escape(version)}{marker}</h3>'
        '<table class="files"><thead><tr><th>File</th><th>Size</th><th>SHA-256</th><th>Uploaded</th>'
        f"</tr></thead><tbody>{rows}</tbody></table></section>"
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


def _latest_metadata(registry: Registry, release: list[FileRecord]) -> RawMetadata:
    """The core metadata of the release's first file that has any stored (else empty)."""
    for record in release:
        metadata = registry.read_core_metadata(record)
        if metadata is not None:
            raw, _unparsed = parse_email(metadata)
            return raw
    return {}


def _description(metadata: RawMetadata, image_origins: tuple[str, ...]) -> str:
    """The description as sanitized HTML ("" when none)."""
    text = metadata.get("description") or ""
    if text.strip() in ("", "UNKNOWN"):  # old setuptools wrote UNKNOWN for none
        return ""
    html = render_description(text, metadata.get("description_content_type"))
    return allow_images(html, image_origins)
