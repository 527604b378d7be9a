"""Caching headers: ETag matching, and ``Vary``/``private`` for answers that depend on the caller."""

from __future__ import annotations

import attrs
from werkzeug.datastructures import ETags
from werkzeug.http import parse_etags

from ..registry.facade import Registry
from .messages import Request, Response

__all__ = ["caching_by_caller", "etag_matches"]


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (quoted or not) or ``*``."""
    if not header:
        return False
    tags: ETags = parse_etags(header)
    return tags.star_tag or tags.contains_weak(etag.strip('"'))


def caching_by_caller(registry: Registry, request: Request, response: Response) -> Response:
    """What a response shows may depend on who asked: say so to every cache.

    ``Vary: Authorization`` when the rules can differ between callers; ``private``
    whenever the request carried credentials, so no shared cache hands one caller's
    answer to another.
    """
    varies = registry.policy_depends_on_identity()
    credentials = request.header("authorization") is not None or request.caller.user is not None
    if not varies and not credentials:
        return response
    headers = [(k, v) for k, v in response.headers if k.lower() not in ("vary", "cache-control")]
    vary = response.header("vary")
    if varies:
        vary = (
            f"{vary}, Authorization"
            if vary and "authorization" not in vary.lower()
            else vary or "Authorization"
        )
    if vary:
        headers.append(("Vary", vary))
    cache = response.header("cache-control")
    if credentials and not (cache and ("private" in cache or "no-store" in cache)):
        cache = (
            cache.replace("public", "private")
            if cache and "public" in cache
            else (f"{cache}, private" if cache else "private")
        )
    if cache:
        headers.append(("Cache-Control", cache))
    return attrs.evolve(response, headers=tuple(headers))
