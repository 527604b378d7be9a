"""The management API of exemptions from the release cooldown (admins only).

Routes (JSON), in the style of the yank routes of ``management.py``:
    GET  /api/package/<pkg>/exemptions                    the project's exemptions
    POST /api/package/<pkg>/<filename|version>/exempt     body {"reason": …}: serve it now
    POST /api/package/<pkg>/<filename|version>/unexempt   revoke: held back again unless cached
"""

from __future__ import annotations

from collections.abc import Mapping

from ..registry.facade import Registry
from .audit_trail import Trail
from .cross_site import json_required
from .management import project_of, read_json_body, text_field
from .messages import Request, Response, json_response, not_found

__all__ = ["list_exemptions", "set_exempt"]


def list_exemptions(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """``GET /api/package/<pkg>/exemptions``."""
    project = project_of(params)
    if project is None:
        return not_found()
    exemptions = registry.exemptions.listed(request.caller, project)
    document = {"name": project, "exemptions": [e.to_json() for e in exemptions]}
    return json_response(200, document, ("Cache-Control", "no-store"))


def set_exempt(registry: Registry, request: Request, params: Mapping[str, str], trail: Trail) -> Response:
    """``POST /api/package/<pkg>/<filename|version>/exempt`` (body ``{"reason": …}``) or ``/unexempt``."""
    if (refusal := json_required(request)) is not None:
        return refusal
    project = project_of(params)
    if project is None:
        return not_found()
    trail.project = project
    exemptions = registry.exemptions
    if params["action"] == "exempt":
        reason = text_field(read_json_body(request), "reason")
        granted = exemptions.grant(request.caller, project, params["target"], reason)
        trail.detail = f"{granted.kind} exempted" + (f"; reason: {reason}" if reason else "")
        return json_response(200, {"name": project, "exempted": granted.to_json()})
    revoked = exemptions.revoke(request.caller, project, params["target"])
    trail.detail = "revoked: " + ", ".join(e.target for e in revoked)
    return json_response(200, {"name": project, "unexempted": [e.target for e in revoked]})
