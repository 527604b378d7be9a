"""Reading what a client still sends after its request was refused.

A server that closes a connection with request bytes unread makes the kernel reset it,
and twine or uv then report "connection reset" instead of the refusal's message. So a
refused upload's body is read and dropped before answering, up to what an accepted
upload could have cost (``pypi.max_upload_size`` plus form fields): no more work than a
valid upload, and beyond it the connection is given up.
"""

from __future__ import annotations

from typing import IO

__all__ = ["discard_unread"]

_CHUNK = 256 * 1024


def discard_unread(body: IO[bytes] | None, declared_length: int | None, limit: int) -> None:
    """Read and drop the rest of ``body``, unless it is declared larger than ``limit`` bytes."""
    if body is None or (declared_length is not None and declared_length > limit):
        return
    remaining = limit if declared_length is None else declared_length
    try:
        while remaining > 0:
            chunk = body.read(min(_CHUNK, remaining))
            if not chunk:
                return
            remaining -= len(chunk)
    except Exception:  # the client went away (or its body broke off): nothing left to drain
        return
