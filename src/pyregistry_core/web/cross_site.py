"""Requests a browser sends on behalf of another site are refused before they change anything.

A browser keeps Basic credentials for an index and sends them with any request a page
on another site makes it send: a form can POST a multipart upload or a yank. Browsers
say where such a request comes from (``Origin``, ``Sec-Fetch-Site``); twine, uv and pip
send neither, so refusing what a browser marks as foreign leaves every client working.
The management API also takes only JSON, which no plain HTML form can send.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from werkzeug.http import parse_options_header

from .messages import Request, Response, text_response

__all__ = ["cross_site_refusal", "json_required"]

_SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS"))
_DEFAULT_PORTS = {"http": 80, "https": 443}


def _authority(scheme: str, netloc: str) -> tuple[str, int] | None:
    """``(host, port)`` of a URL authority, default ports filled in; None when unreadable."""
    try:
        parts = urlsplit(f"{scheme}://{netloc}")
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    return parts.hostname.lower(), port if port is not None else _DEFAULT_PORTS.get(scheme, 0)


def _same_origin(origin: str, request: Request) -> bool:
    """Whether ``Origin`` names the host (and port) the request was sent to.

    A TLS-terminating proxy makes the request look like plain HTTP, so an ``https``
    origin matches an ``http`` request to the same host on either default port.
    """
    try:
        own = urlsplit(request.root_url)
        theirs = urlsplit(origin)
    except ValueError:  # an unreadable Host or Origin ("[::1") names no origin of ours
        return False
    host = request.header("host") or own.netloc
    if theirs.scheme not in _DEFAULT_PORTS or (theirs.scheme == "http" and own.scheme == "https"):
        return False
    their_authority = _authority(theirs.scheme, theirs.netloc)
    if their_authority is None:
        return False
    candidates = {_authority(own.scheme or "http", host)}
    if theirs.scheme == "https" and own.scheme == "http":
        candidates.add(_authority("https", host))
    return their_authority in candidates


def cross_site_refusal(request: Request) -> Response | None:
    """403 for a state-changing request a browser marks as coming from another origin."""
    if request.method.upper() in _SAFE_METHODS:
        return None
    if (request.header("sec-fetch-site") or "").strip().lower() == "cross-site":
        return text_response(403, "Cross-site request refused (Sec-Fetch-Site: cross-site).")
    origin = request.header("origin")
    if origin is not None and not _same_origin(origin.strip(), request):
        return text_response(403, f"Cross-site request refused: Origin {origin.strip()!r} is not this index.")
    return None


def json_required(request: Request) -> Response | None:
    """415 unless the request says its body is JSON (the management API's changes)."""
    mimetype, _options = parse_options_header(request.header("content-type") or "")
    if mimetype == "application/json":
        return None
    return text_response(415, "The management API takes JSON: send Content-Type: application/json.")
