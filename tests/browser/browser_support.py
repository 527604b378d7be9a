"""Helpers of the browser suite: a live registry on loopback, Chromium flags, recorded tabs.

Every wait is bounded; the server binds 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import http.client
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import attrs
import pyregistry_wsgi
from distfiles import dist_name, sdist_bytes, upload_body, wheel_bytes
from werkzeug.serving import BaseWSGIServer, make_server

from pyregistry_core import Identity, Registry

__all__ = ["CHROMIUM", "OPERATOR", "ImageServer", "LiveRegistry", "Published", "Tab", "launch", "open_tab"]

CHROMIUM = Path("/usr/bin/chromium")
HOST = "127.0.0.1"
OPERATOR = Identity(operator=True)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STOP_TIMEOUT = 10.0


@attrs.frozen
class Published:
    """One uploaded file: its bytes and where it belongs."""

    project: str
    version: str
    filename: str
    data: bytes

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file."""
        return hashlib.sha256(self.data).hexdigest()


class LiveRegistry:
    """A registry served on loopback by werkzeug on a thread; ``stop`` ends it."""

    def __init__(self, storage_dir: Path, **settings: str) -> None:
        config = {"storage.dir": str(storage_dir), "pypi.default_write": "everyone", **settings}
        self.registry = Registry.from_config(config)
        app = pyregistry_wsgi.make_app(self.registry)
        self._server: BaseWSGIServer = make_server(HOST, 0, app, threaded=True)
        self.url = f"http://{HOST}:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="browse-server", daemon=True)
        self._thread.start()
        self.files: list[Published] = []

    def stop(self) -> None:
        """Stop serving and wait (bounded) for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)
        assert not self._thread.is_alive(), "the server thread did not stop"

    def publish(
        self,
        name: str,
        version: str,
        *,
        sdist: bool = False,
        fields: tuple[tuple[str, str], ...] = (),
        **meta: str,
    ) -> Published:
        """POST a wheel (or sdist) to ``/`` as twine does; ``meta`` and ``fields`` go into its metadata."""
        core = _metadata(name, version, fields, **meta)
        stem = f"{dist_name(name)}-{version}"
        if sdist:
            data = sdist_bytes(name, version, metadata=core)
            filename = f"{stem}.tar.gz"
        else:
            data = wheel_bytes(name, version, metadata=core)
            filename = f"{stem}-py3-none-any.whl"
        body, content_type = upload_body(name, version, filename, data)
        connection = http.client.HTTPConnection(HOST, self._server.server_port, timeout=30)
        try:
            connection.request("POST", "/", body, {"Content-Type": content_type})
            reply = connection.getresponse()
            text = reply.read().decode()
        finally:
            connection.close()
        assert reply.status == 200, text
        published = Published(dist_name(name).replace("_", "-"), version, filename, data)
        self.files.append(published)
        return published


def _metadata(
    name: str,
    version: str,
    fields: tuple[tuple[str, str], ...] = (),
    *,
    summary: str = "",
    description: str = "",
    content_type: str = "",
) -> bytes:
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}"]
    lines += [f"{key}: {value}" for key, value in fields]
    if summary:
        lines.append(f"Summary: {summary}")
    if content_type:
        lines.append(f"Description-Content-Type: {content_type}")
    return ("\n".join(lines) + "\n\n" + description).encode()


class ImageServer:
    """Another origin on loopback that answers every GET with a small PNG; ``stop`` ends it."""

    def __init__(self) -> None:
        image = png_bytes(40, 20)

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            self.requests.append(environ["PATH_INFO"])
            start_response("200 OK", [("Content-Type", "image/png"), ("Content-Length", str(len(image)))])
            return [image]

        self.requests: list[str] = []
        self._server: BaseWSGIServer = make_server(HOST, 0, app, threaded=True)
        self.port = self._server.server_port
        self.origin = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="image-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and wait (bounded) for the thread."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(STOP_TIMEOUT)
        assert not self._thread.is_alive(), "the image server thread did not stop"


def png_bytes(width: int, height: int) -> bytes:
    """A grey RGB PNG of the given size, written with the stdlib."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\x80" * (3 * width) for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def launch(playwright: Any, profile: Path, *, javascript: bool) -> Any:
    """Debian's Chromium, headless, with a fresh profile at ``profile``."""
    return playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=str(CHROMIUM),
        headless=True,  # Playwright passes --headless
        args=CHROMIUM_ARGS,
        java_script_enabled=javascript,
        viewport={"width": 1000, "height": 800},
        timeout=60_000,
    )


@attrs.define
class Tab:
    """A page plus what it reported: dialogs (auto-dismissed), console errors, page errors."""

    page: Any
    dialogs: list[str] = attrs.field(factory=list)
    console_errors: list[str] = attrs.field(factory=list)
    page_errors: list[str] = attrs.field(factory=list)


def open_tab(context: Any) -> Tab:
    """A new page whose dialogs are dismissed and recorded, with console errors recorded."""
    tab = Tab(context.new_page())

    def on_dialog(dialog: Any) -> None:
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    tab.page.on("dialog", on_dialog)
    tab.page.on("console", lambda m: tab.console_errors.append(m.text) if m.type == "error" else None)
    tab.page.on("pageerror", lambda e: tab.page_errors.append(str(e)))
    return tab
