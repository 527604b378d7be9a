"""The management API (pypicloud's ``/api/package/…``, plus yank and project status).

Routes (JSON; every one guarded by the access rules of the project it names):
    GET    /api/package/                         projects the caller may read
    GET    /api/package/<pkg>/[?verbose]         the project's files
    GET    /api/package/<pkg>/<filename>         download (same checks as /files/)
    DELETE /api/package/<pkg>/<filename|version> delete (the filename stays burnt)
    POST   /api/package/<pkg>/<filename|version>/yank     body {"reason": …}
    POST   /api/package/<pkg>/<filename|version>/unyank
    POST   /api/package/<pkg>/status             body {"status": …, "reason": …}

Cooldown exemptions, under the same prefix, are ``exemptions_api.py``'s.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from ..acl import Permission
from ..errors import InvalidProjectName, InvalidUpload
from ..names import NormalizedName, normalize
from ..records import FileRecord, highest_version
from ..registry.facade import Registry
from ..registry.results import UpstreamRedirect
from .audit_trail import Trail
from .cross_site import json_required
from .files import file_response
from .messages import Request, Response, json_response, not_found, redirect_response

__all__ = ["delete", "download", "list_files", "list_projects", "set_status", "set_yanked"]

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


def _project(params: Mapping[str, str]) -> NormalizedName | None:
    """The route's project, normalized (None: not a valid name)."""
    try:
        return normalize(params["project"])
    except InvalidProjectName:
        return None


def list_files(
    registry: Registry, request: Request, params: Mapping[str, str]
) -> Response | UpstreamRedirect:
    """``GET /api/package/<pkg>/[?verbose]``; other spellings redirect to the normalized name."""
    project = _project(params)
    if project is None:
        return not_found()
    if params["project"] != project:
        query = "?" + urlencode(request.query) if request.query else ""
        return redirect_response(301, f"{request.script_root}/api/package/{project}/{query}")
    files = registry.project_files(request.caller, project)
    if isinstance(files, UpstreamRedirect):
        return files
    verbose = "verbose" in request.query
    document: dict[str, Any] = {"packages": [_record_json(r, request.root_url, verbose) for r in files.files]}
    if verbose:
        document["status"] = {"status": files.status.status, "reason": files.status.reason}
    return json_response(200, document)


def download(registry: Registry, request: Request, params: Mapping[str, str]) -> Response | UpstreamRedirect:
    """``GET /api/package/<pkg>/<filename>``: the same checks as ``/files/``."""
    project = _project(params)
    if project is None:
        return not_found()
    return file_response(registry, request, project, None, params["target"])


def delete(registry: Registry, request: Request, params: Mapping[str, str], trail: Trail) -> Response:
    """``DELETE /api/package/<pkg>/<filename|version>``; the filenames stay burnt."""
    project = _project(params)
    if project is None:
        return not_found()
    trail.project = project
    deleted = registry.delete(request.caller, project, params["target"])
    trail.detail = "files: " + ", ".join(r.filename for r in deleted)
    return json_response(200, {"deleted": [r.filename for r in deleted]})


def set_status(registry: Registry, request: Request, params: Mapping[str, str], trail: Trail) -> Response:
    """``POST /api/package/<pkg>/status`` with ``{"status": …, "reason": …}`` (PEP 792)."""
    if (refusal := json_required(request)) is not None:
        return refusal
    project = _project(params)
    if project is None:
        return not_found()
    trail.project = project
    body = _read_json_body(request)
    # A non-string status is simply not one of the four: set_status names them.
    wanted, reason = str(body.get("status", "")), _text_field(body, "reason")
    trail.detail = f"status: {wanted}" + (f"; reason: {reason}" if reason else "")
    status = registry.set_status(request.caller, project, wanted, reason)
    return json_response(200, {"name": project, "status": status.status, "reason": status.reason})


def set_yanked(registry: Registry, request: Request, params: Mapping[str, str], trail: Trail) -> Response:
    """``POST /api/package/<pkg>/<filename|version>/yank`` (body ``{"reason": …}``) or ``/unyank``."""
    if (refusal := json_required(request)) is not None:
        return refusal
    project = _project(params)
    if project is None:
        return not_found()
    action = params["action"]
    yank = action == "yank"
    trail.project = project
    reason = _text_field(_read_json_body(request), "reason") if yank else ""
    changed = registry.set_yanked(request.caller, project, params["target"], yanked=yank, reason=reason)
    trail.detail = (
        "files: " + ", ".join(r.filename for r in changed) + (f"; reason: {reason}" if reason else "")
    )
    return json_response(200, {action + "ed": [r.filename for r in changed], "reason": reason or None})


def _text_field(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str):
        raise InvalidUpload(f"{key!r} must be a string.")
    return value


def list_projects(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """``GET /api/package/``: the projects the caller may read, with their latest versions."""
    who = request.caller
    registry.require(who, Permission.READ)
    packages = []
    for name in registry.project_names():
        if not registry.may(who, Permission.READ, name):
            continue
        entry = registry.project_entry(NormalizedName(name))
        if not entry.files.files:
            continue
        # pypicloud's ``stable`` (highest final) and ``unstable`` (highest) versions.
        versions = entry.files.versions
        stable, unstable = highest_version(versions, final=True), highest_version(versions)
        times = [r.upload_time for r in entry.files.files if r.upload_time]
        packages.append(
            {
                "name": name,
                "stable": stable,
                "unstable": unstable,
                "last_modified": max(times) if times else None,
            }
        )
    return json_response(200, {"packages": packages})


# The same parsing rules for the other management modules (``exemptions_api.py``).
project_of = _project
read_json_body = _read_json_body
text_field = _text_field
__all__ += ["project_of", "read_json_body", "text_field"]
