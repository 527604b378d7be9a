"""The bare baselines: WSGI and ASGI apps that only return stored bytes.

They import nothing of pyregistry, so their startup is gunicorn's and Python's alone.
They are the floor a registry is compared with: they answer a path with bytes
already in memory, chosen by one substring test on ``Accept``, and nothing else. The
bytes are the pyregistry pages fetched earlier in the same run (``pages.json``), so
both sides send identical bodies; a page pyregistry sent gzip'd is also stored gzip'd and
sent to a client whose ``Accept-Encoding`` names gzip, with ``Content-Encoding`` and
``Vary``, as pyregistry does. Servers import these factories in their own
processes, so the directories come from environment variables read at call time.
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

# (path, is JSON, content encoding or "") -> (body, content type)
Pages = dict[tuple[str, bool, str], tuple[bytes, str]]


def save_pages(directory: Path, pages: Pages) -> None:
    """Store ``(path, is_json, encoding) -> (body, content type)`` for the bare apps to load."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = []
    for number, ((path, is_json, encoding), (body, content_type)) in enumerate(sorted(pages.items())):
        (directory / f"{number}.body").write_bytes(body)
        manifest.append(
            {
                "path": path,
                "json": is_json,
                "encoding": encoding,
                "type": content_type,
                "file": f"{number}.body",
            }
        )
    (directory / "pages.json").write_text(json.dumps(manifest))


def _load_pages() -> Pages:
    directory = Path(os.environ[PAGES_ENV])
    pages: Pages = {}
    for entry in json.loads((directory / "pages.json").read_text()):
        pages[(entry["path"], entry["json"], entry.get("encoding", ""))] = (
            (directory / entry["file"]).read_bytes(),
            entry["type"],
        )
    pages[("/health", False, "")] = pages[("/health", True, "")] = _HEALTH
    return pages


def _choose(pages: Pages, path: str, is_json: bool, gzip_ok: bool) -> tuple[bytes, str, str] | None:
    """The stored page for a request: its gzip'd bytes when the client takes gzip."""
    if gzip_ok:
        found = pages.get((path, is_json, "gzip"))
        if found is not None:
            return found[0], found[1], "gzip"
    plain = pages.get((path, is_json, ""))
    return None if plain is None else (plain[0], plain[1], "")


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
        body, content_type, encoding = found
        headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
        if encoding:
            headers += [("Content-Encoding", encoding), ("Vary", "Accept-Encoding")]
        start_response("200 OK", headers)
        return [body]

    return app


Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


def bare_asgi() -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI app returning the stored bytes of a path (404 for any other)."""
    pages = _load_pages()

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
        found = _choose(pages, scope["path"], _JSON.encode() in accept, b"gzip" in accept_encoding)
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
        body, content_type, encoding = found
        headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode())]
        if encoding:
            headers += [(b"content-encoding", encoding.encode()), (b"vary", b"Accept-Encoding")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app
