"""Opening a response's stored file before its status is sent.

A ``FileBody`` names bytes the store should hold. An adapter opens them with
``open_file_body`` before it sends the status line: if the store has lost them (a record
without its blob) or does not answer, the client gets a whole error response from the
one error table instead of ``200`` headers followed by a broken connection.
"""

from __future__ import annotations

import logging
from typing import IO

from ..errors import FileNotFoundInProject, StorageUnavailable
from .messages import FileBody, Response
from .statuses import error_response

__all__ = ["open_file_body"]

log = logging.getLogger("pyregistry")


def open_file_body(body: FileBody) -> IO[bytes] | Response:
    """The body's bytes opened at ``body.start``; or, when they cannot be read, the response
    to send instead (404 naming the file when the store lost it, 503 when it does not answer)."""
    try:
        handle = body.opener()
    except FileNotFoundError:
        log.error("stored bytes missing: %s (a record without its file; see pyregistry fsck)", body.key)
        # A blob key is files/<project>/<sha256>/<filename> (FileRecord.blob_key).
        parts = body.key.split("/")
        return error_response(FileNotFoundInProject(parts[1] if len(parts) == 4 else "", parts[-1]), "")
    except StorageUnavailable as error:
        return error_response(error, "")
    try:
        handle.seek(body.start)
    except BaseException:
        handle.close()
        raise
    return handle
