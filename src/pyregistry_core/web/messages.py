"""The sans-IO HTTP values: ``Request`` in, ``Response`` out, and response builders.

Bodies are data: bytes, or a ``FileBody`` naming stored bytes (with a range) that the
adapter streams (``wsgi.file_wrapper`` for local files, chunked ASGI messages).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import IO

import attrs

from ..acl import Identity

__all__ = [
    "FileBody",
    "FileChunks",
    "Request",
    "Response",
    "json_response",
    "redirect_response",
    "text_response",
]


@attrs.frozen
class Request:
    """One HTTP request, as the core sees it (path relative to the mount point)."""

    method: str
    path: str
    query: Mapping[str, str] = attrs.field(factory=dict)
    # Header names are lowercase.
    headers: Mapping[str, str] = attrs.field(factory=dict)
    body: IO[bytes] | None = None
    # Absolute URL of the mount point, without a trailing slash ("http://host/prefix").
    root_url: str = ""
    # The mount prefix as a path ("/prefix"), for Location headers.
    script_root: str = ""
    # Set by an embedding app's ``identify``; else taken from the Authorization header.
    identity: Identity | None = None

    def header(self, name: str) -> str | None:
        """A header value by lowercase name."""
        return self.headers.get(name)


@attrs.frozen
class FileBody:
    """Stored bytes to send: ``length`` bytes from ``start``; ``path`` when on local disk."""

    key: str
    start: int
    length: int
    path: str | None
    opener: Callable[[], IO[bytes]]

    def chunks(self, chunk_size: int = 256 * 1024) -> FileChunks:
        """An iterator over the bytes (closes the file when exhausted or closed)."""
        return FileChunks(self, chunk_size)


class FileChunks:
    """Iterates over a ``FileBody`` in bounded chunks."""

    def __init__(self, body: FileBody, chunk_size: int) -> None:
        self._handle = body.opener()
        self._handle.seek(body.start)
        self._remaining = body.length
        self._chunk_size = chunk_size

    def __iter__(self) -> FileChunks:
        return self

    def __next__(self) -> bytes:
        if self._remaining <= 0:
            self.close()
            raise StopIteration
        data = self._handle.read(min(self._chunk_size, self._remaining))
        if not data:
            self.close()
            raise StopIteration
        self._remaining -= len(data)
        return data

    def close(self) -> None:
        """Release the file."""
        self._handle.close()


@attrs.frozen
class Response:
    """One HTTP response."""

    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes | FileBody = b""
    reason: str | None = None

    def header(self, name: str) -> str | None:
        """A header value (case-insensitive name)."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None


def text_response(status: int, message: str, *extra: tuple[str, str], reason: str | None = None) -> Response:
    """A plain-text response (errors, short confirmations)."""
    body = (message + "\n").encode()
    headers = (("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))), *extra)
    return Response(status, headers, body, reason)


def redirect_response(status: int, location: str) -> Response:
    """A redirect with an empty body."""
    return Response(status, (("Location", location), ("Content-Length", "0")))


def json_response(status: int, document: object, *extra: tuple[str, str], head: bool = False) -> Response:
    """A JSON response."""
    body = json.dumps(document).encode()
    headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra)
    return Response(status, headers, b"" if head else body)
