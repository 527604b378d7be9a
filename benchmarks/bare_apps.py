"""The bare baselines: WSGI and ASGI apps that only return stored bytes.

They import nothing of pyregistry, so their startup is gunicorn's and Python's alone.
They are the floor a registry is compared with: they answer a path with bytes
already in memory, chosen by one substring test on ``Accept``, and nothing else. The
bytes are the pyregistry pages fetched earlier in the same run (``pages.json``), so
both sides send identical bodies, with the very headers pyregistry sent (ETag,
Cache-Control, Vary, the security headers; the server adds its own to both alike): a
server's cost grows with the headers it writes. A page pyregistry sent gzip'd is also
stored gzip'd and sent to a client whose ``Accept-Encoding`` names gzip. Servers import
these factories in their own processes, so the directories come from environment
variables read at call time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["PAGES_ENV", "Pages", "bare_asgi", "bare_wsgi", "save_pages"]

PAGES_ENV = "BENCH_BARE_PAGES"
_JSON = "application/vnd.pypi.simple.v1+json"
_HEALTH = (b'{"status": "ok", "storage": "ok"}', "application/json")

# The response headers pyregistry sent (names as sent), without those the server adds.
Headers = tuple[tuple[str, str], ...]
# (path, is JSON, content encoding or "") -> (body, content type, headers; () when not
# kept: the bare app then sends Content-Type and Content-Length only)
Pages = dict[tuple[str, bool, str], tuple[bytes, str, Headers]]
# Added by the server, not the app: never stored, never compared.
SERVER_HEADERS = frozenset(("date", "server", "connection", "keep-alive", "transfer-encoding"))


def save_pages(directory: Path, pages: Pages) -> None:
    """Store ``(path, is_json, encoding) -> (body, content type, headers)`` for the bare apps."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = []
    for number, ((path, is_json, encoding), (body, content_type, headers)) in enumerate(
        sorted(pages.items())
    ):
        (directory / f"{number}.body").write_bytes(body)
        manifest.append(
            {
                "path": path,
                "json": is_json,
                "encoding": encoding,
                "type": content_type,
                "headers": [list(pair) for pair in headers],
                "file": f"{number}.body",
            }
        )
    (directory / "pages.json").write_text(json.dumps(manifest))


def _load_pages() -> Pages:
    directory = Path(os.environ[PAGES_ENV])
    pages: Pages = {}
    for entry in json.loads((directory / "pages.json").read_text()):
        body = (directory / entry["file"]).read_bytes()
        headers = tuple((name, value) for name, value in entry.get("headers", ()))
        if not headers:
            headers = (("Content-Type", entry["type"]), ("Content-Length", str(len(body))))
        pages[(entry["path"], entry["json"], entry.get("encoding", ""))] = (body, entry["type"], headers)
    health = (
        _HEALTH[0],
        _HEALTH[1],
        (("Content-Type", _HEALTH[1]), ("Content-Length", str(len(_HEALTH[0])))),
    )
    pages[("/health", False, "")] = pages[("/health", True, "")] = health
    return pages


def _choose(pages: Pages, path: str, is_json: bool, gzip_ok: bool) -> tuple[bytes, str, Headers] | None:
    """The stored page for a request: its gzip'd bytes when the client takes gzip."""
    if gzip_ok:
        found = pages.get((path, is_json, "gzip"))
        if found is not None:
            return found
    return pages.get((path, is_json, ""))


def bare_wsgi() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app returning the stored bytes of a path (404 for any other)."""
    pages = _load_pages()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        found = _choose(
            pages,
            environ["PATH_INFO"],
            _JSON in environ.get("HTTP_ACCEPT", ""),
            "gzip" in environ.get("HTTP_ACCEPT_ENCODING", ""),
        )
        if found is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        body, _type, headers = found
        start_response("200 OK", list(headers))
        return [body]

    return app


Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


def bare_asgi() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app returning the stored bytes of a path (404 for any other)."""
    pages = {
        key: (body, content_type, [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers])
        for key, (body, content_type, headers) in _load_pages().items()
    }

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        accept = next((v for k, v in scope["headers"] if k == b"accept"), b"")
        accept_encoding = next((v for k, v in scope["headers"] if k == b"accept-encoding"), b"")
        found = _choose(pages, scope["path"], _JSON.encode() in accept, b"gzip" in accept_encoding)  # type: ignore[arg-type]
        if found is None:
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-length", b"0")],
                }
            )
            await send({"type": "http.response.body", "body": b""})
            return
        body, _type, headers = found
        await send({"type": "http.response.start", "status": 200, "headers": list(headers)})
        await send({"type": "http.response.body", "body": body})

    return app
