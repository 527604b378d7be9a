"""The legacy upload API: a multipart POST to ``/``, ``/simple/`` or ``/legacy/`` (twine).

Invariants:
1. Whether the caller may upload anywhere is checked before a byte of the body is
   stored, so a caller who may not write costs no disk.
2. A refused upload's unread body is read and dropped (bounded, see ``drain.py``) by
   ``handle`` before the answer, so the client reads the refusal, not a reset.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from ..errors import InvalidUpload, RegistryError, StorageUnavailable
from ..registry.facade import Registry
from ..upload import read_upload_form
from .audit_trail import Trail
from .messages import Request, Response, text_response

__all__ = ["upload"]

log = logging.getLogger(__name__)


def upload(registry: Registry, request: Request, params: Mapping[str, str], trail: Trail) -> Response:
    """Read, validate and publish one uploaded file; PyPI's statuses and messages."""
    if request.body is None:
        raise InvalidUpload("Upload payload does not have a file.")
    length_header = request.header("content-length")
    try:
        length = int(length_header) if length_header is not None else None
    except ValueError as exc:
        raise InvalidUpload("Invalid Content-Length.") from exc
    registry.require_upload_somewhere(request.caller)
    try:
        with registry.storage.staging_upload() as staged:
            with staged.writer() as out:
                form = read_upload_form(
                    request.body,
                    request.header("content-type"),
                    length,
                    out,
                    registry.upload_limits(),
                    request.query,
                )
            trail.project, trail.target = form.get("name"), form.filename or ""
            result = registry.upload(request.caller, form, staged.path)
    except RegistryError as error:
        registry.metrics.count_upload("rejected", type(error).__name__)
        raise
    except OSError as error:  # staging: a full disk is the server's trouble, not the client's
        registry.metrics.count_upload("rejected", "StorageUnavailable")
        raise StorageUnavailable(f"cannot stage the upload: {error}") from error
    trail.project, trail.target = result.record.project, result.record.filename
    trail.detail = "stored" if result.created else "identical file already stored"
    registry.metrics.count_upload("stored" if result.created else "identical")
    log.info(
        "upload %s %s by %s",
        result.record.filename,
        "stored" if result.created else "identical, kept",
        request.caller.user or "anonymous",
    )
    return text_response(200, "OK" if result.created else "OK (identical file already stored)")
