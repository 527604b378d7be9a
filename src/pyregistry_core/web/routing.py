"""Routes as data: (methods, path pattern, handler), matched before dispatch.

Invariants:
1. A path matched by no route is a 404; a path matched only by routes lacking the
   method is a 405 whose ``Allow`` lists every method those routes answer (RFC 9110).
2. HEAD is answered wherever GET is, by the GET handler; ``handle`` drops the body.
3. A handler may answer ``UpstreamRedirect``; it becomes a 302 here and nowhere else.
4. A route that changes something names its audit action (``audited_route``): every
   request to it is one event on the audit trail, whatever its outcome.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping

import attrs

from ..registry.facade import Registry
from ..registry.results import UpstreamRedirect
from .audit_trail import AuditedHandler, audited
from .messages import Request, Response, not_found, redirect_response, text_response

__all__ = [
    "Handler",
    "Route",
    "answer",
    "audit_action",
    "audited_route",
    "dispatch",
    "path_pattern",
    "route",
]

Handler = Callable[[Registry, Request, Mapping[str, str]], "Response | UpstreamRedirect"]

_METHOD_ORDER = ("GET", "HEAD", "DELETE", "POST", "PUT", "PATCH")
_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^}]+))?\}")


@attrs.frozen
class Route:
    """One entry of a route table: a path pattern, the methods it answers, its handler."""

    methods: frozenset[str]
    pattern: re.Pattern[str]
    handler: Handler
    audit: str = ""  # the audit action of a route that changes something

    def answers(self, method: str) -> bool:
        """Whether this route serves ``method`` (HEAD wherever GET)."""
        return method in self.methods or (method == "HEAD" and "GET" in self.methods)


def route(methods: str, path: str, handler: Handler) -> Route:
    """A route for ``"GET POST"``-style methods and a path whose ``{name}`` (one path
    segment) or ``{name:regex}`` placeholders become the handler's parameters."""
    return Route(frozenset(methods.split()), path_pattern(path), handler)


def path_pattern(path: str) -> re.Pattern[str]:
    """The regex of a route path: ``{name}`` is one segment, ``{name:regex}`` that regex."""
    pattern, end = "", 0
    for match in _PLACEHOLDER.finditer(path):
        pattern += re.escape(path[end : match.start()])
        pattern += f"(?P<{match[1]}>{match[2] or '[^/]+'})"
        end = match.end()
    pattern += re.escape(path[end:])
    return re.compile(pattern)


def audited_route(methods: str, path: str, action: str, handler: AuditedHandler) -> Route:
    """A route whose every request is one ``action`` event on the audit trail."""
    plain = route(methods, path, audited(action, handler))
    return attrs.evolve(plain, audit=action)


def audit_action(routes: Iterable[Route], request: Request) -> tuple[str, Mapping[str, str]] | None:
    """The audit action and parameters of the route ``request`` goes to, if it is audited."""
    method = request.method.upper()
    for candidate in routes:
        match = candidate.pattern.fullmatch(request.path or "/")
        if match is not None and candidate.answers(method):
            return (candidate.audit, match.groupdict()) if candidate.audit else None
    return None


def dispatch(routes: Iterable[Route], registry: Registry, request: Request) -> Response:
    """Answer ``request`` with the first route that matches its path and method."""
    path = request.path or "/"
    method = request.method.upper()
    allowed: set[str] = set()
    for candidate in routes:
        match = candidate.pattern.fullmatch(path)
        if match is None:
            continue
        if candidate.answers(method):
            return answer(candidate.handler(registry, request, match.groupdict()))
        allowed |= candidate.methods | ({"HEAD"} if "GET" in candidate.methods else set())
    if not allowed:
        return not_found()
    allow = ", ".join(m for m in _METHOD_ORDER if m in allowed)
    return text_response(405, "Method not allowed.", ("Allow", allow))


def answer(result: Response | UpstreamRedirect) -> Response:
    """A handler's result as the response to send: an ``UpstreamRedirect`` is a 302."""
    if isinstance(result, UpstreamRedirect):
        return redirect_response(302, result.location)
    return result
