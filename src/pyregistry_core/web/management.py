"""The management API (pypicloud's ``/api/package/…``, plus yank and project status).

Routes (JSON; every one guarded by the access rules of the project it names):
    GET    /api/package/                         projects the caller may read
    GET    /api/package/<pkg>/[?verbose]         the project's files
    GET    /api/package/<pkg>/<filename>         download (same checks as /files/)
    DELETE /api/package/<pkg>/<filename|version> delete (the filename stays burnt)
    POST   /api/package/<pkg>/<filename|version>/yank     body {"reason": …}
    POST   /api/package/<pkg>/<filename|version>/unyank
    POST   /api/package/<pkg>/status             body {"status": …, "reason": …}
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from packaging.version import InvalidVersion, Version

from ..acl import Identity
from ..errors import InvalidProjectName, InvalidUpload
from ..names import NormalizedName, normalize
from ..records import FileRecord
from ..registry.facade import Registry
from .messages import Request, Response, json_response, redirect_response, text_response

__all__ = ["management_api"]

_MAX_BODY = 64 * 1024


def _record_json(record: FileRecord, base: str, verbose: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": record.project,
        "filename": record.filename,
        "version": record.version,
        "last_modified": record.upload_time,
        "url": f"{base}/{record.url_path}",
    }
    if verbose:
        entry.update(
            size=record.size,
            sha256=record.sha256,
            requires_python=record.requires_python,
            yanked=record.yanked,
            yanked_reason=record.yanked_reason or None,
            origin=record.origin,
            uploader=record.uploader,
            packagetype=record.kind,
        )
    return entry


def _stable(versions: list[str]) -> tuple[str | None, str | None]:
    parsed = []
    for version in versions:
        try:
            parsed.append(Version(version))
        except InvalidVersion:
            continue
    finals = [v for v in parsed if not v.is_prerelease]
    return (str(max(finals)) if finals else None, str(max(parsed)) if parsed else None)


def _read_json_body(request: Request) -> dict[str, Any]:
    if request.body is None:
        return {}
    data = request.body.read(_MAX_BODY + 1)
    if len(data) > _MAX_BODY:
        raise InvalidUpload("Request body too large.")
    if not data.strip():
        return {}
    try:
        document = json.loads(data)
    except (ValueError, RecursionError) as exc:
        raise InvalidUpload("The request body must be a JSON object.") from exc
    if not isinstance(document, dict):
        raise InvalidUpload("The request body must be a JSON object.")
    return document


def management_api(
    registry: Registry,
    request: Request,
    who: Identity,
    parts: list[str],
    download: Callable[[NormalizedName, str], Response],
) -> Response:
    """Route ``/api/package/...`` (``parts`` are the path segments after ``api``)."""
    method = request.method.upper()
    if not parts or parts[0] != "package":
        return text_response(404, "Not found.")
    rest = [p for p in parts[1:] if p != ""]
    if not rest:
        if method not in ("GET", "HEAD"):
            return text_response(405, "Method not allowed.", ("Allow", "GET, HEAD"))
        return _list_projects(registry, who, method == "HEAD")
    try:
        project = normalize(rest[0])
    except InvalidProjectName:
        return text_response(404, "Not found.")
    if len(rest) == 1:
        if method in ("GET", "HEAD"):
            if rest[0] != project:
                query = "?" + urlencode(request.query) if request.query else ""
                return redirect_response(301, f"{request.script_root}/api/package/{project}/{query}")
            files = registry.project_files(who, project)
            verbose = "verbose" in request.query
            document: dict[str, Any] = {
                "packages": [_record_json(r, request.root_url, verbose) for r in files.files]
            }
            if verbose:
                document["status"] = {"status": files.status.status, "reason": files.status.reason}
            return json_response(200, document, head=method == "HEAD")
        return text_response(405, "Method not allowed.", ("Allow", "GET, HEAD"))
    return _target_route(registry, request, who, project, rest[1:], download)


def _allowed(rest: list[str]) -> str | None:
    """The methods a management URL answers (None: no such URL)."""
    if len(rest) == 1:
        return "GET, HEAD, DELETE, POST" if rest[0] == "status" else "GET, HEAD, DELETE"
    if len(rest) == 2 and rest[1] in ("yank", "unyank"):
        return "POST"
    return None


def _target_route(
    registry: Registry,
    request: Request,
    who: Identity,
    project: NormalizedName,
    rest: list[str],
    download: Callable[[NormalizedName, str], Response],
) -> Response:
    """``/api/package/<pkg>/<target>[/<action>]`` (``rest`` starts at the target)."""
    method = request.method.upper()
    target = rest[0]
    allowed = _allowed(rest)
    if allowed is None:
        return text_response(404, "Not found.")
    if method not in allowed.split(", "):
        return text_response(405, "Method not allowed.", ("Allow", allowed))
    if len(rest) == 1 and target == "status" and method == "POST":
        body = _read_json_body(request)
        # A non-string status is simply not one of the four: set_status names them.
        status = registry.set_status(who, project, str(body.get("status", "")), _text_field(body, "reason"))
        return json_response(200, {"name": project, "status": status.status, "reason": status.reason})
    if len(rest) == 1 and method == "DELETE":
        deleted = registry.delete(who, project, target)
        return json_response(200, {"deleted": [r.filename for r in deleted]})
    if len(rest) == 1:
        return download(project, target)
    yank = rest[1] == "yank"
    reason = _text_field(_read_json_body(request), "reason") if yank else ""
    changed = registry.set_yanked(who, project, target, yanked=yank, reason=reason)
    return json_response(200, {rest[1] + "ed": [r.filename for r in changed], "reason": reason or None})


def _text_field(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise InvalidUpload(f"{key!r} must be a string.")
    return value


def _list_projects(registry: Registry, who: Identity, head: bool) -> Response:
    from ..acl import Permission

    registry.require(who, Permission.READ)
    packages = []
    for name in registry.project_names():
        if not registry.may(who, Permission.READ, name):
            continue
        entry = registry.catalog.project(name)  # type: ignore[arg-type]
        if not entry.files.files:
            continue
        stable, unstable = _stable(list(entry.files.versions))
        times = [r.upload_time for r in entry.files.files if r.upload_time]
        packages.append(
            {
                "name": name,
                "stable": stable,
                "unstable": unstable,
                "last_modified": max(times) if times else None,
            }
        )
    return json_response(200, {"packages": packages}, head=head)
