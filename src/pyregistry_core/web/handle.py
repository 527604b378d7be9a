"""``handle``: the one entry point of the sans-IO HTTP layer.

Adapters translate their server's request into ``Request`` and ``Response`` back; this
module first tries the non-blocking fast path (``fast_path.py``), then resolves the
caller, dispatches through the route table, turns domain errors into statuses
(``statuses.py``), drops HEAD bodies, and logs and counts every request (``finish.py``).
"""

from __future__ import annotations

import time

import attrs

from ..errors import BadCredentials, RegistryError
from ..registry.facade import Registry
from .audit_trail import refused_before_handler
from .cross_site import cross_site_refusal
from .drain import discard_unread
from .fast_path import handle_cached
from .finish import finish
from .messages import FileBody, Request, Response
from .routes import ROUTES
from .routing import audit_action, dispatch
from .statuses import error_response

__all__ = ["FileBody", "Request", "Response", "handle", "handle_cached", "handle_uncached"]


def handle(registry: Registry, request: Request) -> Response:
    """Answer one request; client mistakes become 4xx, never 500."""
    cached = handle_cached(registry, request)
    return cached if cached is not None else handle_uncached(registry, request)


def handle_uncached(registry: Registry, request: Request) -> Response:
    """Answer one request the ordinary way, without trying the fast path first."""
    started = time.perf_counter()
    try:
        if request.identity is None:
            request = attrs.evolve(request, identity=registry.authenticate(request.header("authorization")))
    except RegistryError as error:  # bad credentials: refused before any handler
        refusal = error_response(error, registry.settings.realm)
        response = _refused_early(registry, request, refusal, _claimed(error))
    else:
        response = _answer(registry, request)
    if response.status >= 400:
        # Refused before its body was read (bad credentials, a bad form, another site):
        # read it, so the client gets to read this answer instead of a reset connection.
        discard_unread(request.body, _declared_length(request), registry.upload_limits().max_body_size)
    return finish(registry, request, response, started)


def _answer(registry: Registry, request: Request) -> Response:
    """The route's answer (audited routes record themselves), or a cross-site refusal."""
    refusal = cross_site_refusal(request)
    if refusal is not None:
        return _refused_early(registry, request, refusal)
    try:
        return dispatch(ROUTES, registry, request)
    except RegistryError as error:
        return error_response(error, registry.settings.realm)


def _refused_early(registry: Registry, request: Request, response: Response, claimed: str = "") -> Response:
    """``response``, recorded on the audit trail when the request went to an audited route."""
    audited = audit_action(ROUTES, request)
    if audited is not None:
        action, params = audited
        refused_before_handler(registry, request, action, params, response, claimed)
    return response


def _claimed(error: RegistryError) -> str:
    """The user name of credentials that did not verify (the audit trail's ``claimed``)."""
    cause = error if isinstance(error, BadCredentials) else error.__cause__
    return cause.claimed if isinstance(cause, BadCredentials) else ""


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.header("content-length") or "")
    except ValueError:
        return None
