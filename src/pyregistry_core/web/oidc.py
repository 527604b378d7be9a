"""Trusted publishing's HTTP endpoints, as PyPI serves them under ``/_/oidc/``.

``GET audience`` → ``{"audience": …}``; ``POST mint-token`` with ``{"token": <jwt>}`` →
``{"success": true, "token": …, "expires": …}`` or 422 with PyPI's error document
``{"message": "Token request failed", "errors": [{"code": …, "description": …}]}``;
``POST burn-token`` with ``{"token": …}`` revokes a minted token (202 whatever happened,
as PyPI, so the answer tells nobody which tokens exist).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..auth.oidc import MAX_TOKEN_SIZE, OidcRejected
from ..registry.facade import Registry
from .audit_trail import Trail
from .messages import Request, Response, json_response

__all__ = ["audience", "burn_token", "mint_token"]

_NO_STORE = ("Cache-Control", "no-store")


def _failed(code: str, description: str, trail: Trail) -> Response:
    trail.reason = f"{code}: {description}"
    document = {"message": "Token request failed", "errors": [{"code": code, "description": description}]}
    return json_response(422, document, _NO_STORE)


def _token_field(request: Request) -> str:
    """The ``token`` string of a JSON body (``invalid-payload`` otherwise)."""
    raw = request.body.read(MAX_TOKEN_SIZE + 1024) if request.body is not None else b""
    try:
        document: Any = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # nesting past the recursion limit is no ValueError
        raise OidcRejected("invalid-payload", "the body must be a JSON object with a token") from exc
    token = document.get("token") if isinstance(document, dict) else None
    if not isinstance(token, str) or not token:
        raise OidcRejected("invalid-payload", "the body must be a JSON object with a token")
    return token


def audience(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """``GET /_/oidc/audience``: the audience identity tokens must name (403 when off)."""
    trusted = registry.trusted_publishing
    if not trusted.enabled:
        document = {"message": "Trusted publishing functionality not enabled"}
        return json_response(403, document, _NO_STORE)
    try:
        value = trusted.audience(request.header("host"))
    except OidcRejected as error:
        return json_response(403, {"message": error.description}, _NO_STORE)
    return json_response(200, {"audience": value}, _NO_STORE)


def mint_token(registry: Registry, request: Request, params: Mapping[str, str], trail: Trail) -> Response:
    """``POST /_/oidc/mint-token``: an identity token in, a short-lived upload token out."""
    try:
        minted = registry.trusted_publishing.mint(_token_field(request), request.header("host"))
    except OidcRejected as error:
        return _failed(error.code, error.description, trail)
    trail.actor = f"publisher:{minted.publisher}"
    trail.project, trail.target = ",".join(minted.projects), minted.token_id
    claims = " ".join(f"{k}={v}" for k, v in minted.claims)
    trail.detail = f"scope: upload; expires: {minted.expires}; claims: {claims}"
    return json_response(200, {"success": True, "token": minted.token, "expires": minted.expires}, _NO_STORE)


def burn_token(registry: Registry, request: Request, params: Mapping[str, str], trail: Trail) -> Response:
    """``POST /_/oidc/burn-token``: revoke a minted token its holder is done with."""
    try:
        burnt = registry.trusted_publishing.burn(_token_field(request))
    except OidcRejected as error:
        return _failed(error.code, error.description, trail)
    trail.detail = "revoked" if burnt else "no such token"
    return json_response(202, {"success": True}, _NO_STORE)
