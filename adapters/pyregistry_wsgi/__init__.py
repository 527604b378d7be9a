"""Mount a pyregistry in any WSGI server or app: ``make_app(registry)``.

The adapter only translates: environ → ``pyregistry_core.Request`` (with werkzeug's
parsing), ``Response`` → WSGI status, headers and body. Local files go out through
``wsgi.file_wrapper`` so servers can use ``sendfile``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from http import HTTPStatus
from typing import IO, Any

from werkzeug.wsgi import get_input_stream

from pyregistry_core import (
    AnswerKey,
    FileBody,
    Identity,
    Prepared,
    PreparedAnswers,
    Registry,
    Request,
    Response,
    handle,
    handle_uncached,
    keyable_identity,
    open_file_body,
)

__all__ = ["make_app"]

WSGIEnviron = dict[str, Any]
StartResponse = Callable[..., Any]
IdentifyCallable = Callable[[WSGIEnviron], Identity | None]
_PREPARED_METHODS = frozenset(("GET", "HEAD"))


def _phrase(status: int) -> str:
    """The standard reason phrase of a status ("" for one Python does not know)."""
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _to_request(environ: WSGIEnviron, identity: Identity | None) -> Request:
    headers = {
        key[5:].replace("_", "-").lower(): value for key, value in environ.items() if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    script_root = environ.get("SCRIPT_NAME", "").rstrip("/")
    # PEP 3333: PATH_INFO is latin-1 decoded bytes; URLs here are UTF-8.
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace") or "/"
    scheme = environ.get("wsgi.url_scheme", "http")
    host = (
        environ.get("HTTP_HOST")
        or f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT', '80')}"
    )
    from urllib.parse import parse_qsl

    query = dict(reversed(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)))
    body: IO[bytes] | None = None
    if environ.get("REQUEST_METHOD", "GET").upper() == "POST":
        body = get_input_stream(environ, safe_fallback=False, max_content_length=None)
    return Request(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=path,
        query=query,
        headers=headers,
        body=body,
        root_url=f"{scheme}://{host}{script_root}",
        script_root=script_root,
        identity=identity,
        client=str(environ.get("REMOTE_ADDR") or ""),
    )


def _answer_key(environ: WSGIEnviron, identity: Identity | None) -> AnswerKey | None:
    """Every request value the core's fast path reads but ``Authorization``, handed over beside
    it (``pyregistry_core.PreparedAnswers``); None for a method other than GET and HEAD, no
    Host, or both credentials and an identity from the host app."""
    get = environ.get
    method, host = get("REQUEST_METHOD"), get("HTTP_HOST")
    if method not in _PREPARED_METHODS or host is None:
        return None
    if identity is not None and ("HTTP_AUTHORIZATION" in environ or not keyable_identity(identity)):
        return None
    return (
        method,
        get("PATH_INFO"),
        get("QUERY_STRING"),
        get("SCRIPT_NAME"),
        get("wsgi.url_scheme"),
        host,
        get("HTTP_ACCEPT"),
        get("HTTP_ACCEPT_ENCODING"),
        get("HTTP_IF_NONE_MATCH"),
        identity,
    )


def _wire(prepared: Prepared) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The status line and headers of a prepared answer, worked out once per answer."""
    wire = prepared.wire.get("wsgi")
    if wire is None:
        wire = prepared.wire["wsgi"] = (prepared.status_line, prepared.response.headers)
    return wire  # type: ignore[return-value]


class _Body:
    """A WSGI body iterator over an opened stored file range, closed by the server."""

    def __init__(self, handle: IO[bytes], length: int, chunk_size: int = 256 * 1024) -> None:
        self._file = _Limited(handle, length)
        self._chunk_size = chunk_size

    def __iter__(self) -> Iterator[bytes]:
        while data := self._file.read(self._chunk_size):
            yield data

    def close(self) -> None:
        self._file.close()


def make_app(
    registry: Registry, identify: IdentifyCallable | None = None
) -> Callable[[WSGIEnviron, StartResponse], Iterable[bytes]]:
    """A WSGI application serving ``registry``; ``identify`` may supply the caller."""

    answers = PreparedAnswers(registry)

    def app(environ: WSGIEnviron, start_response: StartResponse) -> Iterable[bytes]:
        identity = identify(environ) if identify is not None else None
        key = _answer_key(environ, identity)
        if key is not None:
            prepared = answers.get(key, environ.get("HTTP_AUTHORIZATION"))
            if prepared is not None:  # a warm page asked again the same way
                status, headers = _wire(prepared)
                start_response(status, list(headers))
                return [prepared.response.body]  # type: ignore[list-item]
        request = _to_request(environ, identity)
        if key is None:
            response: Response = handle(registry, request)
        else:
            response = answers.answer(key, request) or handle_uncached(registry, request)
        response, stored = _opened(response)
        reason = response.reason or _phrase(response.status)
        start_response(f"{response.status} {reason}", list(response.headers))
        body = response.body
        if isinstance(body, bytes) or stored is None:
            return [body] if isinstance(body, bytes) else []
        wrapper = environ.get("wsgi.file_wrapper")
        if body.path is not None and wrapper is not None and body.start == 0:
            return wrapper(_Limited(stored, body.length), 256 * 1024)  # type: ignore[no-any-return]
        return _Body(stored, body.length)

    return app


def _opened(response: Response) -> tuple[Response, IO[bytes] | None]:
    """``response`` and its stored file, opened before the status goes out; or the error
    response to send instead when the store lost the bytes or does not answer."""
    if not isinstance(response.body, FileBody):
        return response, None
    opened = open_file_body(response.body)
    return (opened, None) if isinstance(opened, Response) else (response, opened)


class _Limited:
    """A file object that stops after ``limit`` bytes (wsgi.file_wrapper input)."""

    def __init__(self, handle: IO[bytes], limit: int) -> None:
        self._handle = handle
        self._remaining = limit

    def read(self, size: int = -1) -> bytes:
        if self._remaining <= 0:
            return b""
        if size < 0 or size > self._remaining:
            size = self._remaining
        data = self._handle.read(size)
        self._remaining -= len(data)
        return data

    def fileno(self) -> int:
        return self._handle.fileno()

    def close(self) -> None:
        self._handle.close()
