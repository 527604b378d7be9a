"""Helpers of the browser suite: a live registry on loopback, Chromium flags, recorded tabs.

Every wait is bounded; the server binds 127.0.0.1 only.
"""

from __future__ import annotations

import hashlib
import http.client
import threading
from pathlib import Path
from typing import Any

import attrs
import pyregistry_wsgi
from distfiles import dist_name, multipart_body, sdist_bytes, wheel_bytes
from werkzeug.serving import BaseWSGIServer, make_server

from pyregistry_core import Identity, Registry

__all__ = ["CHROMIUM", "OPERATOR", "LiveRegistry", "Published", "Tab", "launch", "open_tab"]

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

    def __init__(self, storage_dir: Path) -> None:
        config = {"storage.dir": str(storage_dir), "pypi.default_write": "everyone"}
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

    def publish(self, name: str, version: str, *, sdist: bool = False, **meta: str) -> Published:
        """POST a wheel (or sdist) to ``/`` as twine does; ``meta`` goes into its metadata."""
        core = _metadata(name, version, **meta)
        stem = f"{dist_name(name)}-{version}"
        if sdist:
            data = sdist_bytes(name, version, metadata=core)
            filename, filetype, pyversion = f"{stem}.tar.gz", "sdist", "source"
        else:
            data = wheel_bytes(name, version, metadata=core)
            filename, filetype, pyversion = f"{stem}-py3-none-any.whl", "bdist_wheel", "py3"
        fields = {
            ":action": "file_upload",
            "protocol_version": "1",
            "name": name,
            "version": version,
            "filetype": filetype,
            "pyversion": pyversion,
            "metadata_version": "2.1",
            "sha256_digest": hashlib.sha256(data).hexdigest(),
        }
        body, content_type = multipart_body(fields, [("content", filename, data, "application/octet-stream")])
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
    name: str, version: str, *, summary: str = "", description: str = "", content_type: str = ""
) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {version}"]
    if summary:
        lines.append(f"Summary: {summary}")
    if content_type:
        lines.append(f"Description-Content-Type: {content_type}")
    return ("\n".join(lines) + "\n\n" + description).encode()


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
