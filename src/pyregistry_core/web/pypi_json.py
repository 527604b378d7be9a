"""PyPI's JSON API (``/pypi/<project>/json``, ``/pypi/<project>/<version>/json``).

Not a standard, but twine, dependabot and other tools read it; the shape follows
PyPI's (STANDARDS.md §13). ``info`` comes from the stored core metadata of the
release's first file, as on PyPI.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, overload
from urllib.parse import quote

from packaging.metadata import parse_email

from ..errors import InvalidProjectName, ProjectNotFound
from ..names import NormalizedName, normalize
from ..records import FileRecord, Origin, ProjectFiles, same_version
from ..registry.facade import Registry
from ..registry.results import Page, UpstreamRedirect
from .encoded_pages import page_response
from .messages import Request, Response, not_found, redirect_response

__all__ = ["cached_json_api", "json_api", "project_json_document"]

_LIST_FIELDS = ("classifiers", "requires_dist", "provides_extra", "dynamic", "license_files")
_TEXT_FIELDS = (
    "summary",
    "description",
    "description_content_type",
    "license",
    "license_expression",
    "author",
    "author_email",
    "maintainer",
    "maintainer_email",
    "requires_python",
    "home_page",
    "download_url",
)


def _info(record: FileRecord, metadata: bytes | None, base: str) -> dict[str, Any]:
    raw: dict[str, Any] = {}
    if metadata is not None:
        parsed, _unparsed = parse_email(metadata)
        raw = dict(parsed)
    info: dict[str, Any] = {key: raw.get(key) for key in _TEXT_FIELDS}
    info.update({key: list(raw.get(key) or []) for key in _LIST_FIELDS})
    info["summary"] = info["summary"] or record.summary
    info["requires_python"] = info["requires_python"] or record.requires_python
    keywords = raw.get("keywords")
    info["keywords"] = ", ".join(keywords) if keywords else None
    platforms = raw.get("platforms")
    info["platform"] = ", ".join(platforms) if platforms else None
    info["project_urls"] = dict(raw.get("project_urls") or {}) or None
    info.update(
        name=raw.get("name") or record.project,
        version=record.version,
        package_url=f"{base}/simple/{record.project}/",
        project_url=f"{base}/simple/{record.project}/",
        release_url=f"{base}/pypi/{record.project}/{record.version}/json",
        docs_url=None,
        bugtrack_url=None,
        downloads={"last_day": -1, "last_week": -1, "last_month": -1},
        yanked=record.yanked,
        yanked_reason=record.yanked_reason or None,
    )
    return info


def _file(record: FileRecord, base: str) -> dict[str, Any]:
    upload_time = (record.upload_time or "").rstrip("Z").split(".")[0]
    return {
        "filename": record.filename,
        "packagetype": record.kind,
        "python_version": record.python_tag,
        "comment_text": "",
        "digests": {"md5": record.md5, "sha256": record.sha256, "blake2b_256": record.blake2b_256},
        "md5_digest": record.md5,
        "core-metadata": {"sha256": record.metadata_sha256} if record.metadata_sha256 else False,
        "size": record.size,
        "upload_time": upload_time,
        "upload_time_iso_8601": record.upload_time,
        "url": f"{base}/{record.url_path}",
        "requires_python": record.requires_python,
        "yanked": record.yanked,
        "yanked_reason": record.yanked_reason or None,
        "has_sig": False,
        "downloads": -1,
    }


def project_json_document(
    registry: Registry, files: ProjectFiles, version: str | None, base: str
) -> dict[str, Any]:
    """The JSON API document for a project (``version=None``) or one release."""
    chosen = version if version is not None else files.latest_version()
    if chosen is None:
        raise ProjectNotFound(files.name)  # every file deleted, or the project quarantined
    release = files.release(chosen)
    if not release:
        raise ProjectNotFound(f"{files.name} {chosen}")
    document: dict[str, Any] = {
        "info": _info(release[0], registry.read_core_metadata(release[0]), base),
        "last_serial": 0,
        "urls": [_file(r, base) for r in release],
        "vulnerabilities": [],
    }
    if version is None:
        releases: dict[str, list[dict[str, Any]]] = {v: [] for v in files.versions}
        for record in files.files:
            releases[record.version].append(_file(record, base))
        document["releases"] = releases
    if files.held_back:
        # Not PyPI's: says why a version the upstream has is missing here (the cooldown).
        held: dict[str, list[dict[str, str]]] = {}
        for filename, held_version, why in files.held_back:
            held.setdefault(held_version, []).append({"filename": filename, "reason": why})
        document["held_back"] = held
    if files.exempted:
        # Not PyPI's either: why a file the cooldown would hold back is served (an admin).
        exempted: dict[str, list[dict[str, str]]] = {}
        for filename, exempt_version, why in files.exempted:
            exempted.setdefault(exempt_version, []).append({"filename": filename, "reason": why})
        document["exempted"] = exempted
    return document


def _find_version(files: ProjectFiles, requested: str) -> str:
    """The stored spelling of the requested version (``1.0`` finds ``1.0.0``)."""
    if any(r.version == requested for r in files.files):
        return requested
    for record in files.files:
        if same_version(record.version, requested):
            return record.version
    raise ProjectNotFound(f"{files.name} {requested}")


def json_api(registry: Registry, request: Request, params: Mapping[str, str]) -> Response | UpstreamRedirect:
    """``/pypi/<project>/json`` and ``/pypi/<project>/<version>/json``."""
    project = _canonical_project(request, params)
    if isinstance(project, Response):
        return project
    version = params.get("version")

    def build(files: ProjectFiles) -> tuple[Page, bool]:
        chosen = _find_version(files, version) if version is not None else None
        document = project_json_document(registry, files, chosen, request.root_url)
        # Kept only when built from uploads alone: their stored metadata never changes.
        keep = all(r.origin != Origin.UPSTREAM for r in files.files)
        return Page.of(json.dumps(document).encode(), kept=keep), keep

    found = registry.pages.document(request.caller, project, (version, request.root_url), build)
    return _document_response(request, found, version)


def cached_json_api(
    registry: Registry, request: Request, params: Mapping[str, str], arrived: float | None = None
) -> Response | UpstreamRedirect | None:
    """``json_api``'s answer from a current snapshot without I/O, else None (fast path)."""
    project = _canonical_project(request, params)
    if isinstance(project, Response):
        return project
    version = params.get("version")
    found = registry.pages.cached_document(request.caller, project, (version, request.root_url), arrived)
    return None if found is None else _document_response(request, found, version, compress=False)


def _canonical_project(request: Request, params: Mapping[str, str]) -> NormalizedName | Response:
    """The project named, or the 404 or the redirect to its normalized spelling."""
    version = params.get("version")
    try:
        project = normalize(params["project"])
    except InvalidProjectName:
        return not_found()
    if params["project"] != project:
        rest = f"{quote(version, safe='')}/json" if version is not None else "json"
        return redirect_response(301, f"{request.script_root}/pypi/{project}/{rest}")
    return project


@overload
def _document_response(
    request: Request, found: Page | UpstreamRedirect, version: str | None, *, compress: Literal[True] = True
) -> Response | UpstreamRedirect: ...
@overload
def _document_response(
    request: Request, found: Page | UpstreamRedirect, version: str | None, *, compress: bool
) -> Response | UpstreamRedirect | None: ...
def _document_response(
    request: Request, found: Page | UpstreamRedirect, version: str | None, *, compress: bool = True
) -> Response | UpstreamRedirect | None:
    """The document's 200 or 304, compressed as the client accepts (``encoded_pages.py``);
    None only when ``compress`` is False and that coding is not compressed yet."""
    if isinstance(found, UpstreamRedirect):
        return found.to_json(quote(version, safe="") if version is not None else None)
    cache = ("Cache-Control", "max-age=0, must-revalidate")
    return page_response(
        request, found, "application/json", cache, ("X-Content-Type-Options", "nosniff"), compress=compress
    )
