"""The sans-IO HTTP values: ``Request`` in, ``Response`` out, and response builders.

Bodies are data: bytes, or a ``FileBody`` naming stored bytes (with a range) that the
adapter streams (``wsgi.file_wrapper`` for local files, chunked ASGI messages).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import IO
from urllib.parse import quote

import attrs

from ..acl import Identity

__all__ = [
    "FileBody",
    "FileChunks",
    "Request",
    "Response",
    "json_response",
    "not_found",
    "redirect_response",
    "text_response",
    "uri_reference",
]

# RFC 9110 §5.1: a field name is a token.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+\Z")
# RFC 3986 §2: the characters a URI may hold as they are ("%" only before two hex digits).
_URI_CHARACTERS = "!#$&'()*+,/:;=?@[]~-._%"
# A value that would split the header (CR, LF, NUL) or not encode as latin-1.
_UNSAFE_VALUE = re.compile(r"[\r\n\0]|[^\x00-\xff]")
_LONE_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


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
    # The peer's address as the server saw it (REMOTE_ADDR, the ASGI ``client``), for the
    # audit trail; "" when unknown. Never taken from X-Forwarded-For: a client can write that.
    client: str = ""

    def header(self, name: str) -> str | None:
        """A header value by lowercase name."""
        return self.headers.get(name)

    @property
    def caller(self) -> Identity:
        """Who asked (anonymous until ``handle`` has resolved the identity)."""
        return self.identity if self.identity is not None else Identity()


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


def _check_headers(_response: object, _attribute: object, headers: tuple[tuple[str, str], ...]) -> None:
    """Refuse what would split a header or not encode: no handler can emit one."""
    for name, value in headers:
        if not _TOKEN.match(name):
            raise ValueError(f"invalid response header name {name!r}")
        if _UNSAFE_VALUE.search(value):
            raise ValueError(f"invalid value of response header {name}: {value!r}")


@attrs.frozen
class Response:
    """One HTTP response; its headers are checked when it is built (no CR, LF, NUL, non-latin-1)."""

    status: int
    headers: tuple[tuple[str, str], ...] = attrs.field(default=(), validator=_check_headers)
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


def uri_reference(target: str) -> str:
    r"""``target`` with every character a URI may not hold percent-encoded (as UTF-8).

    Valid escapes stay as they are; a ``%`` not starting one becomes ``%25``.

    >>> uri_reference("/pypi/demo/\r\n€/json")
    '/pypi/demo/%0D%0A%E2%82%AC/json'
    """
    return _LONE_PERCENT.sub("%25", quote(target, safe=_URI_CHARACTERS))


def redirect_response(status: int, location: str) -> Response:
    """A redirect with an empty body; the target is percent-encoded here, for every redirect."""
    return Response(status, (("Location", uri_reference(location)), ("Content-Length", "0")))


def json_response(status: int, document: object, *extra: tuple[str, str]) -> Response:
    """A JSON response."""
    body = json.dumps(document).encode()
    headers = (("Content-Type", "application/json"), ("Content-Length", str(len(body))), *extra)
    return Response(status, headers, body)


def not_found() -> Response:
    """The plain 404 for a path that names nothing."""
    return text_response(404, "Not found.")
