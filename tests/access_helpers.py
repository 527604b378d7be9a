"""Helpers of the access-control tests: fast password hashes, callers, uploads, in-process apps.

Password hashes here use few rounds: the behaviour under test is the same for every
cost, and the default cost (about a second per verification) is paid only by the few
tests that pin it. ``AccessClient`` drives the WSGI app with werkzeug's test client;
``call_asgi`` drives the raw ASGI app without a server.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pyregistry_wsgi
from distfiles import core_metadata, upload_body, wheel_bytes
from passlib.hash import sha512_crypt
from werkzeug.test import Client, TestResponse

from pyregistry_core import Registry

__all__ = [
    "FAST_ROUNDS",
    "AccessClient",
    "AsgiReply",
    "Caller",
    "Dist",
    "basic",
    "call_asgi",
    "fast_hash",
    "make_registry",
    "upload_form",
    "wheel",
]

# sha512_crypt's minimum is 1000 rounds (ppc-gen-password's default is 656000).
FAST_ROUNDS = 1000


def fast_hash(password: str) -> str:
    """A ``$6$`` sha512_crypt hash, as ppc-gen-password makes, with few rounds."""
    return str(sha512_crypt.using(rounds=FAST_ROUNDS).hash(password))


def basic(user: str, password: str) -> str:
    """An ``Authorization: Basic`` header value."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


@dataclass(frozen=True)
class Caller:
    """Someone sending requests: anonymous (``user=None``) or a user with a password."""

    label: str
    user: str | None = None
    password: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """The request headers carrying this caller's credentials (none when anonymous)."""
        return {} if self.user is None else {"Authorization": basic(self.user, self.password)}


def make_registry(settings: Mapping[str, str]) -> Registry:
    """A registry on a fresh ``memory://`` store configured with ``settings``."""
    return Registry.from_config({"storage.url": f"memory://access-{uuid.uuid4().hex}", **settings})


@dataclass(frozen=True)
class Dist:
    """A distribution file as an upload form carries it."""

    name: str
    version: str
    filename: str
    data: bytes
    filetype: str
    pyversion: str

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file."""
        return hashlib.sha256(self.data).hexdigest()


@functools.cache
def wheel(name: str, version: str = "1.0", *, file_name: str | None = None) -> Dist:
    """A small pure wheel, the same bytes on every call; ``file_name`` spells the name part."""
    part = file_name if file_name is not None else name.replace("-", "_").replace(".", "_")
    filename = f"{part}-{version}-py3-none-any.whl"
    data = wheel_bytes(
        name, version, dist_info=f"{part}-{version}.dist-info", metadata=core_metadata(name, version)
    )
    return Dist(name, version, filename, data, "bdist_wheel", "py3")


def upload_form(dist: Dist, *, name: str | None = None) -> tuple[bytes, str]:
    """The multipart body twine sends for ``dist`` (``name`` overrides the form's name)."""
    form_name = name if name is not None else dist.name
    return upload_body(form_name, dist.version, dist.filename, dist.data, pyversion=dist.pyversion)


class AccessClient:
    """The WSGI app of a registry, driven in-process with werkzeug's test client."""

    def __init__(self, registry: Registry, identify: Callable[[dict[str, Any]], Any] | None = None) -> None:
        self.registry = registry
        self._client = Client(pyregistry_wsgi.make_app(registry, identify=identify))

    def get(
        self, path: str, caller: Caller | None = None, headers: Mapping[str, str] | None = None
    ) -> TestResponse:
        """GET ``path`` as ``caller`` (redirects are not followed)."""
        return self._client.get(path, headers={**(caller.headers if caller else {}), **(headers or {})})

    def head(self, path: str, caller: Caller | None = None) -> TestResponse:
        """HEAD ``path`` as ``caller``."""
        return self._client.head(path, headers=caller.headers if caller else {})

    def post_json(self, path: str, document: object, caller: Caller | None = None) -> TestResponse:
        """POST a JSON body to ``path`` as ``caller`` (the management API's yank and status)."""
        return self._client.post(path, json=document, headers=caller.headers if caller else {})

    def delete(self, path: str, caller: Caller | None = None) -> TestResponse:
        """DELETE ``path`` as ``caller``."""
        return self._client.delete(path, headers=caller.headers if caller else {})

    def upload(
        self, dist: Dist, caller: Caller | None = None, *, name: str | None = None, path: str = "/"
    ) -> TestResponse:
        """POST ``dist`` as twine would, as ``caller``."""
        body, content_type = upload_form(dist, name=name)
        headers = {**(caller.headers if caller else {}), "Content-Type": content_type}
        return self._client.post(path, data=body, headers=headers)


@dataclass(frozen=True)
class AsgiReply:
    """An ASGI response: status, headers (lowercase names) and body."""

    status: int
    headers: dict[str, str]
    body: bytes


def call_asgi(
    app: Any, path: str, headers: Mapping[str, str] | None = None, method: str = "GET"
) -> AsgiReply:
    """Send one body-less request to a raw ASGI app, in a fresh event loop."""

    async def run() -> AsgiReply:
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"testserver"),
                *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()),
            ],
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
        }
        sent: list[dict[str, Any]] = []
        requests = iter([{"type": "http.request", "body": b"", "more_body": False}])

        async def receive() -> dict[str, Any]:
            return next(requests, {"type": "http.disconnect"})

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await app(scope, receive, send)
        start = sent[0]
        return AsgiReply(
            start["status"],
            {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]},
            b"".join(m.get("body", b"") for m in sent[1:]),
        )

    return asyncio.run(run())
