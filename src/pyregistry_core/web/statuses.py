"""The one table from domain errors to HTTP statuses.

Every error the core raises on purpose is a ``RegistryError`` from ``errors.py``; this
module alone decides which status, headers and reason phrase each one becomes.
"""

from __future__ import annotations

import logging

from ..errors import (
    AuthenticationRequired,
    ExemptionNotFound,
    FileNotFoundInProject,
    InvalidProjectName,
    InvalidUpload,
    NotAcceptable,
    PermissionDenied,
    ProjectNotFound,
    RegistryError,
    StorageUnavailable,
    UnsupportedAction,
    UploadTooLarge,
    UpstreamError,
)
from .messages import Response, text_response

__all__ = ["error_response"]

log = logging.getLogger(__name__)


def error_response(error: RegistryError, realm: str) -> Response:
    """The response for a domain error (``realm`` names the Basic auth realm of a 401)."""
    if isinstance(error, UpstreamError):
        log.warning("upstream failure: %s", error.message)
        return text_response(502, f"The upstream index failed: {error.message}")
    if isinstance(error, AuthenticationRequired):
        realm = realm.replace('"', "")
        # twine shows only the reason phrase of a 401/403: put the message there too.
        return text_response(
            401, error.message, ("WWW-Authenticate", f'Basic realm="{realm}"'), reason=_reason(error.message)
        )
    if isinstance(error, PermissionDenied):
        return text_response(403, error.message, reason=_reason(error.message))
    if isinstance(error, (ProjectNotFound, FileNotFoundInProject, InvalidProjectName, ExemptionNotFound)):
        return text_response(404, error.message)
    if isinstance(error, NotAcceptable):
        return text_response(406, error.message, ("Vary", "Accept, Accept-Encoding"))
    if isinstance(error, UploadTooLarge):
        return text_response(413, error.message, reason=_reason(error.message))
    if isinstance(error, UnsupportedAction):
        return text_response(410, error.message, reason=_reason(error.message))
    if isinstance(error, InvalidUpload):  # FileConflict ("File already exists") included
        return text_response(400, error.message, reason=_reason(error.message))
    if isinstance(error, StorageUnavailable):
        log.error("storage unavailable: %s", error.message)
        return text_response(503, "Storage is temporarily unavailable; try again.", ("Retry-After", "5"))
    return text_response(400, error.message)


def _reason(message: str) -> str:
    """PyPI puts upload errors in the reason phrase too; keep it latin-1 and one line."""
    first = message.splitlines()[0] if message else ""
    return "".join(c if 32 <= ord(c) < 127 else "?" for c in first)[:400]
