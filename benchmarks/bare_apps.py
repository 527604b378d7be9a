"""The bare baselines: WSGI and ASGI apps that only return stored bytes.

They import nothing of pyregistry, so their startup is gunicorn's and Python's alone.
They are the floor a registry is compared with: they answer a path with bytes
already in memory, chosen by one substring test on ``Accept``, and nothing else. The
bytes are the pyregistry pages fetched earlier in the same run (``pages.json``), so
both sides send identical bodies. Servers import these factories in their own
processes, so the directories come from environment variables read at call time.
"""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from pathlib import Path
from typing import Any

__all__ = ["PAGES_ENV", "bare_asgi", "bare_wsgi", "save_pages"]

PAGES_ENV = "BENCH_BARE_PAGES"
_JSON = "application/vnd.pypi.simple.v1+json"
_HEALTH = (b'{"status": "ok", "storage": "ok"}', "application/json")

Pages = dict[tuple[str, bool], tuple[bytes, str]]


def save_pages(directory: Path, pages: dict[tuple[str, bool], tuple[bytes, str]]) -> None:
    """Store ``(path, is_json) -> (body, content type)`` for the bare apps to load."""
    directory.mkdir(parents=True, exist_ok=True)
    manifest = []
    for number, ((path, is_json), (body, content_type)) in enumerate(sorted(pages.items())):
        (directory / f"{number}.body").write_bytes(body)
        manifest.append({"path": path, "json": is_json, "type": content_type, "file": f"{number}.body"})
    (directory / "pages.json").write_text(json.dumps(manifest))


def _load_pages() -> Pages:
    directory = Path(os.environ[PAGES_ENV])
    pages: Pages = {}
    for entry in json.loads((directory / "pages.json").read_text()):
        pages[(entry["path"], entry["json"])] = (
            (directory / entry["file"]).read_bytes(),
            entry["type"],
        )
    pages[("/health", False)] = pages[("/health", True)] = _HEALTH
    return pages


def bare_wsgi() -> Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]:
    """A WSGI app returning the stored bytes of a path (404 for any other)."""
    pages = _load_pages()

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        found = pages.get((environ["PATH_INFO"], _JSON in environ.get("HTTP_ACCEPT", "")))
        if found is None:
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        body, content_type = found
        start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
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
        found = pages.get((scope["path"], _JSON.encode() in accept))
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
        body, content_type = found
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", content_type.encode()),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return app
