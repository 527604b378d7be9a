"""The management API of trusted publishers (admins only).

GET    /api/publisher            every publisher: the config's and the stored ones
POST   /api/publisher            body {"project": …, "publisher": "github repo=… workflow=…"}
DELETE /api/publisher/<id>       remove a stored publisher
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..errors import InvalidUpload
from ..publishers import Publisher
from ..registry.facade import Registry
from ..registry.permissions import refusal
from .audit_trail import Trail
from .cross_site import json_required
from .messages import Request, Response, json_response, not_found

__all__ = ["add_publisher", "list_publishers", "remove_publisher"]

_MAX_BODY = 64 * 1024


def _require_admin(registry: Registry, request: Request) -> None:
    caller = request.caller
    if not (caller.operator or registry.permissions.is_admin(caller)):
        raise refusal(caller, "Only an admin may manage trusted publishers.")


def _json(publisher: Publisher, source: str) -> dict[str, str]:
    return {"id": publisher.id, "project": publisher.project, "publisher": publisher.line(), "source": source}


def list_publishers(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """``GET /api/publisher``."""
    _require_admin(registry, request)
    trusted = registry.trusted_publishing
    configured = {p.id for p in trusted.trust.publishers}
    document = [_json(p, "config" if p.id in configured else "stored") for p in trusted.publishers()]
    return json_response(200, {"publishers": document}, ("Cache-Control", "no-store"))


def add_publisher(registry: Registry, request: Request, params: Mapping[str, str], trail: Trail) -> Response:
    """``POST /api/publisher`` with ``{"project": …, "publisher": …}``: 201 and the new publisher."""
    if (refused := json_required(request)) is not None:
        return refused
    _require_admin(registry, request)
    raw = request.body.read(_MAX_BODY + 1) if request.body is not None else b""
    try:
        document: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise InvalidUpload("The request body must be a JSON object.") from exc
    project = document.get("project") if isinstance(document, dict) else None
    line = document.get("publisher") if isinstance(document, dict) else None
    if len(raw) > _MAX_BODY or not isinstance(project, str) or not isinstance(line, str):
        raise InvalidUpload('The body must be {"project": "<name>", "publisher": "<issuer> key=value …"}.')
    trail.project, trail.detail = project, line
    publisher = registry.trusted_publishing.add_publisher(project, line)
    trail.project, trail.target, trail.detail = publisher.project, publisher.id, publisher.line()
    return json_response(201, _json(publisher, "stored"))


def remove_publisher(
    registry: Registry, request: Request, params: Mapping[str, str], trail: Trail
) -> Response:
    """``DELETE /api/publisher/<id>``: 204, or 404 when no stored publisher has that id."""
    trail.target = params["publisher_id"]
    _require_admin(registry, request)
    if not registry.trusted_publishing.remove_publisher(params["publisher_id"]):
        return not_found()
    return Response(204, (("Content-Length", "0"),))
