"""The audit trail of HTTP requests: one event per request to a route that changes something.

A route declared with ``audited_route`` runs its handler with a ``Trail`` it may enrich
(the project and filename an upload named, a new status); whatever the handler ends
with — an answer, a refusal it returns, an error it raises — becomes one event
(``audit.py``): below 400 ``ok``, other 4xx ``refused`` with the message the client got,
5xx and storage failures ``failed``. ``handle`` records refusals that come before any
handler (bad credentials, a cross-site request) through ``refused_before_handler``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ..audit import FAILED, OK, REFUSED, AuditEvent, actor_of, record
from ..errors import RegistryError, StorageUnavailable, UpstreamError
from ..registry.facade import Registry
from ..registry.results import UpstreamRedirect
from .messages import Request, Response

__all__ = ["AuditedHandler", "Trail", "audited", "refused_before_handler"]

_REASON_LENGTH = 300
_CLAIMED_LENGTH = 100  # a user name; a longer one is someone filling the log


class Trail:
    """What one audited request did, filled in by its handler as it learns it."""

    def __init__(self, project: str = "", target: str = "") -> None:
        self.actor = ""  # who acted, when not the request's caller (a minted token's publisher)
        self.project = project
        self.target = target
        self.detail = ""
        self.reason = ""  # set when the answer's body is not the reason (a JSON error document)
        self.claimed = ""  # the user name of credentials that did not verify


AuditedHandler = Callable[[Registry, Request, Mapping[str, str], Trail], "Response | UpstreamRedirect"]
Handler = Callable[[Registry, Request, Mapping[str, str]], "Response | UpstreamRedirect"]


def _event(registry: Registry, request: Request, action: str, trail: Trail, outcome: str) -> AuditEvent:
    return AuditEvent(
        trail.actor or actor_of(request.caller),
        action,
        outcome=outcome,
        claimed=trail.claimed[:_CLAIMED_LENGTH],
        project=trail.project,
        target=trail.target,
        reason=trail.reason[:_REASON_LENGTH],
        detail=trail.detail,
        client=request.client,
        time=registry.wall_clock(),
    )


def _answer_reason(response: Response) -> str:
    """The first line of a refusal's text body (what the client was told)."""
    if not isinstance(response.body, bytes):
        return ""
    return response.body.decode("utf-8", "replace").strip().split("\n", 1)[0]


def _outcome(status: int) -> str:
    return OK if status < 400 else REFUSED if status < 500 else FAILED


def audited(action: str, handler: AuditedHandler) -> Handler:
    """``handler`` as a plain route handler that records one ``action`` event per request."""

    def run(registry: Registry, request: Request, params: Mapping[str, str]) -> Response | UpstreamRedirect:
        trail = Trail(params.get("project", ""), params.get("target", ""))
        try:
            result = handler(registry, request, params, trail)
        except RegistryError as error:
            trail.reason = trail.reason or error.message
            failed = isinstance(error, (StorageUnavailable, UpstreamError))
            record(_event(registry, request, action, trail, FAILED if failed else REFUSED))
            raise
        except Exception as error:
            trail.reason = f"internal error: {type(error).__name__}"
            record(_event(registry, request, action, trail, FAILED))
            raise
        status = result.status if isinstance(result, Response) else 302
        if status >= 400 and not trail.reason and isinstance(result, Response):
            trail.reason = _answer_reason(result)
        record(_event(registry, request, action, trail, _outcome(status)))
        return result

    run.__doc__ = handler.__doc__
    return run


def refused_before_handler(
    registry: Registry,
    request: Request,
    action: str,
    params: Mapping[str, str],
    refusal: Response,
    claimed: str = "",
) -> None:
    """Record a request to an audited route refused (``refusal``) before its handler ran;
    ``claimed`` is the user name of credentials that did not verify."""
    trail = Trail(params.get("project", ""), params.get("target", ""))
    trail.reason = _answer_reason(refusal)
    trail.claimed = claimed
    record(_event(registry, request, action, trail, REFUSED))
