"""Fixtures of the shared HTTP behaviour suite: every test runs through WSGI and ASGI.

A test asks for ``client`` (a fresh in-memory registry behind the adapter under test)
or builds its own with ``make_registry`` / ``make_client``. ``Client.request`` takes a
raw URL path (percent-encoding and ``?query`` as a browser would send them) and an
optional mount ``prefix`` (WSGI ``SCRIPT_NAME``, ASGI ``root_path``), and returns a
``Reply(status, headers, body)``. Distributions are real archives built in memory and
uploaded as twine encodes them.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import io
import tarfile
import uuid
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import unquote, unquote_to_bytes

import attrs
import pyregistry_asgi
import pyregistry_wsgi
import pytest
from distfiles import core_metadata, twine_fields, wheel_bytes
from packaging.utils import canonicalize_name
from werkzeug.datastructures import Headers
from werkzeug.wsgi import FileWrapper

from pyregistry_core import Registry

HOST = "testserver"
ADAPTERS = ("wsgi", "asgi")
# ASGI request bodies are fed to the app in messages of this size, so the bridge from
# receive() to the blocking reader is exercised across message boundaries.
ASGI_CHUNK = 7_000


class Reply(NamedTuple):
    """A response as a test sees it."""

    status: int
    headers: Headers
    body: bytes


Body = bytes | Iterable[bytes]


def _split(target: str) -> tuple[str, str]:
    path, _, query = target.partition("?")
    return path, query


class Client:
    """A synchronous client driving a WSGI or ASGI app in-process (no sockets)."""

    def __init__(self, kind: str, registry: Registry) -> None:
        self.kind = kind
        self.registry = registry
        if kind == "wsgi":
            self.app: Any = pyregistry_wsgi.make_app(registry)
        else:
            self.app = pyregistry_asgi.make_app(registry)

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        body: Body = b"",
        prefix: str = "",
    ) -> Reply:
        """Send one request; ``path`` is the raw target below the mount ``prefix``."""
        all_headers = {"Host": HOST}
        if isinstance(body, bytes) and (body or method.upper() in ("POST", "PUT")):
            all_headers["Content-Length"] = str(len(body))
        for key, value in (headers or {}).items():
            for existing in [k for k in all_headers if k.lower() == key.lower()]:
                del all_headers[existing]
            if value is not None:
                all_headers[key] = value
        chunks = [body] if isinstance(body, bytes) else list(body)
        if self.kind == "wsgi":
            return self._wsgi(method, path, all_headers, chunks, prefix)
        return asyncio.run(self._asgi(method, path, all_headers, chunks, prefix))

    def get(self, path: str, headers: dict[str, str] | None = None, prefix: str = "") -> Reply:
        """A GET request."""
        return self.request("GET", path, headers, prefix=prefix)

    def upload(self, dist: Dist, path: str = "/", prefix: str = "", **fields: str | None) -> Reply:
        """POST ``dist`` as twine would, with ``fields`` overriding (None drops one)."""
        body, content_type = encode_upload(dist, **fields)
        return self.request("POST", path, {"Content-Type": content_type}, body, prefix=prefix)

    # -- WSGI ----------------------------------------------------------------------

    def _wsgi(
        self, method: str, target: str, headers: dict[str, str], chunks: list[bytes], prefix: str
    ) -> Reply:
        path, query = _split(target)
        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "SCRIPT_NAME": prefix,
            # PEP 3333: PATH_INFO is the percent-decoded path as latin-1 characters.
            "PATH_INFO": unquote_to_bytes(path).decode("latin-1"),
            "QUERY_STRING": query,
            "SERVER_NAME": HOST,
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "wsgi.version": (1, 0),
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(b"".join(chunks)),
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": True,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.file_wrapper": FileWrapper,
        }
        for key, value in headers.items():
            name = key.upper().replace("-", "_")
            if name in ("CONTENT_TYPE", "CONTENT_LENGTH"):
                environ[name] = value
            else:
                environ[f"HTTP_{name}"] = value
        started: list[Any] = []

        def start_response(
            status: str, response_headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            started[:] = [status, response_headers]
            return lambda data: None

        result = self.app(environ, start_response)
        try:
            data = b"".join(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        status, response_headers = started
        assert isinstance(status, str)
        return Reply(int(status.split(" ", 1)[0]), Headers(response_headers), data)

    # -- ASGI ----------------------------------------------------------------------

    async def _asgi(
        self, method: str, target: str, headers: dict[str, str], chunks: list[bytes], prefix: str
    ) -> Reply:
        path, query = _split(target)
        messages: list[dict[str, Any]] = []
        pieces = [c[i : i + ASGI_CHUNK] for c in chunks for i in range(0, len(c), ASGI_CHUNK)]
        pieces = [p for p in pieces if p] or [b""]
        for index, piece in enumerate(pieces):
            messages.append({"type": "http.request", "body": piece, "more_body": index < len(pieces) - 1})
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            # As uvicorn: the path is percent-decoded as UTF-8 and includes root_path.
            "path": prefix + unquote(path),
            "raw_path": (prefix + path).encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": prefix,
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            "server": (HOST, 80),
            "client": ("127.0.0.1", 50000),
        }
        feed = iter(messages)

        async def receive() -> dict[str, Any]:
            return next(feed, {"type": "http.disconnect"})

        sent: list[dict[str, Any]] = []

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        start = sent[0]
        assert start["type"] == "http.response.start"
        bodies = sent[1:]
        assert bodies, "no http.response.body message"
        assert all(m["type"] == "http.response.body" for m in bodies)
        assert not bodies[-1].get("more_body", False), "response never finished"
        response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
        return Reply(start["status"], Headers(response_headers), b"".join(m.get("body", b"") for m in bodies))


# -- distributions -----------------------------------------------------------------


@attrs.frozen
class Dist:
    """A distribution file built in memory, with what twine would send for it."""

    name: str
    version: str
    filename: str
    data: bytes
    metadata: bytes
    filetype: str
    pyversion: str

    @property
    def sha256(self) -> str:
        """Hex SHA-256 of the file."""
        return hashlib.sha256(self.data).hexdigest()

    @property
    def blake2_256(self) -> str:
        """Hex BLAKE2b-256 of the file."""
        return hashlib.blake2b(self.data, digest_size=32).hexdigest()

    @property
    def project(self) -> str:
        """The normalized project name."""
        return canonicalize_name(self.name)

    @property
    def url_path(self) -> str:
        """Where the registry serves the file (relative to the mount point)."""
        return f"/files/{self.project}/{self.sha256}/{self.filename}"


def _metadata(
    name: str, version: str, summary: str | None, requires_python: str | None, metadata_version: str
) -> bytes:
    return core_metadata(
        name,
        version,
        metadata_version=metadata_version,
        requires_python=requires_python,
        summary=summary,
        dependencies=("attrs>=23",),
        description="A package built by the test suite.\n",
    )


def build_wheel(
    name: str = "demo",
    version: str = "1.0",
    *,
    summary: str | None = "A demo package",
    requires_python: str | None = ">=3.8",
    metadata_name: str | None = None,
    metadata_version: str | None = None,
    file_name: str | None = None,
    tag: str = "py3-none-any",
    payload: bytes = b"VALUE = 1\n",
    stored_padding: int = 0,
) -> Dist:
    """A valid wheel: ``<dist>.dist-info/{METADATA,WHEEL,RECORD}`` plus one module.

    ``metadata_name``/``metadata_version`` put other values in METADATA than in the
    filename; ``file_name`` spells the filename's name part; ``stored_padding`` adds
    that many incompressible bytes (for size limits).
    """
    dist_part = file_name if file_name is not None else canonicalize_name(name).replace("-", "_")
    filename = f"{dist_part}-{version}-{tag}.whl"
    metadata = _metadata(metadata_name or name, metadata_version or version, summary, requires_python, "2.1")
    package = canonicalize_name(name).replace("-", "_")
    padding = [(f"{package}/padding.bin", _incompressible(stored_padding))] if stored_padding else []
    data = wheel_bytes(
        name,
        version,
        dist_info=f"{dist_part}-{version}.dist-info",
        metadata=metadata,
        module=payload,
        tag=tag,
        generator="pyregistry-tests",
        stored=padding,
    )
    python_tag = tag.split("-", maxsplit=1)[0]
    return Dist(name, version, filename, data, metadata, "bdist_wheel", python_tag)


def build_sdist(
    name: str = "demo",
    version: str = "1.0",
    *,
    summary: str | None = "A demo package",
    requires_python: str | None = ">=3.8",
    metadata_name: str | None = None,
    metadata_version: str | None = None,
    file_name: str | None = None,
    payload: bytes = b"VALUE = 1\n",
) -> Dist:
    """A PEP 625 sdist: ``<name>-<version>/`` holding PKG-INFO, pyproject.toml, a module.

    ``metadata_name``/``metadata_version`` put other values in PKG-INFO; ``file_name``
    spells the filename's (and top directory's) name part.
    """
    dist_part = file_name if file_name is not None else canonicalize_name(name).replace("-", "_")
    stem = f"{dist_part}-{version}"
    pkg_info = _metadata(metadata_name or name, metadata_version or version, summary, requires_python, "2.2")
    package = canonicalize_name(name).replace("-", "_")
    members = [
        (f"{stem}/PKG-INFO", pkg_info),
        (f"{stem}/pyproject.toml", f'[project]\nname = "{name}"\nversion = "{version}"\n'.encode()),
        (f"{stem}/src/{package}/__init__.py", payload),
    ]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        directory = tarfile.TarInfo(stem)
        directory.type = tarfile.DIRTYPE
        directory.mode = 0o755
        archive.addfile(directory)
        for path, data in members:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(data))
    data = gzip.compress(raw.getvalue(), mtime=0)
    return Dist(name, version, f"{stem}.tar.gz", data, pkg_info, "sdist", "source")


def _incompressible(size: int) -> bytes:
    out = bytearray()
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(counter.to_bytes(8, "big")).digest()
        counter += 1
    return bytes(out[:size])


def encode_upload(dist: Dist, **overrides: str | None) -> tuple[bytes, str]:
    """The multipart body and Content-Type twine sends for ``dist`` (protocol 1).

    Keyword arguments replace a form field (``None`` drops it); ``content=None`` drops
    the file part and ``content_bytes`` / ``content_filename`` replace its bytes / name.
    """
    fields: dict[str, str | None] = dict(
        twine_fields(
            dist.name,
            dist.version,
            dist.filename,
            dist.sha256,
            filetype=dist.filetype,
            pyversion=dist.pyversion,
            summary="A demo package",
            blake2_256_digest=dist.blake2_256,
        )
    )
    content: bytes | None = dist.data
    filename = dist.filename
    for key, value in overrides.items():
        if key == "content" and value is None:
            content = None
        elif key == "content_bytes":
            content = value.encode("latin-1") if isinstance(value, str) else value
        elif key == "content_filename":
            filename = str(value)
        else:
            fields[key] = value
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for key, value in fields.items():
        if value is None:
            continue
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n'.encode()
            + value.encode()
            + b"\r\n"
        )
    if content is not None:
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="content"; '
            f'filename="{filename}"\r\nContent-Type: application/octet-stream\r\n\r\n'.encode()
            + content
            + b"\r\n"
        )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# -- fixtures ------------------------------------------------------------------------


# fsspec's memory store is cleared around every test by tests/conftest.py.


@pytest.fixture(params=ADAPTERS)
def adapter(request: pytest.FixtureRequest) -> str:
    """Which adapter the test drives: ``wsgi`` or ``asgi``."""
    return str(request.param)


RegistryFactory = Callable[..., Registry]


@pytest.fixture
def make_registry(tmp_path: Path) -> RegistryFactory:
    """Build registries where anyone may upload; ``settings`` adds or overrides config keys.

    Every registry one test builds shares one store: ``storage="memory"`` one memory
    URL, ``storage="local"`` one directory (two of them act like two processes).
    """
    memory_url = f"memory://registry-{uuid.uuid4().hex}"

    def factory(storage: str = "memory", settings: dict[str, str] | None = None) -> Registry:
        config: dict[str, str] = {"pypi.default_write": "everyone"}
        if storage == "memory":
            config["storage.url"] = memory_url
        elif storage == "local":
            config["storage.dir"] = str(tmp_path / "packages")
        else:
            raise ValueError(storage)
        config.update(settings or {})
        return Registry.from_config(config)

    return factory


@pytest.fixture
def make_client(adapter: str) -> Callable[[Registry], Client]:
    """Wrap a registry in the adapter under test."""
    return lambda registry: Client(adapter, registry)


@pytest.fixture
def client(make_registry: RegistryFactory, make_client: Callable[[Registry], Client]) -> Client:
    """A client of a fresh in-memory registry where anyone may upload."""
    return make_client(make_registry())


@pytest.fixture(params=["memory", "local"])
def any_client(
    request: pytest.FixtureRequest, make_registry: RegistryFactory, make_client: Callable[[Registry], Client]
) -> Client:
    """A client of a fresh registry on each kind of storage (memory, local directory)."""
    return make_client(make_registry(storage=str(request.param)))


class Builders:
    """The distribution builders, for tests (conftest functions are not importable)."""

    wheel = staticmethod(build_wheel)
    sdist = staticmethod(build_sdist)
    encode_upload = staticmethod(encode_upload)


@pytest.fixture
def build() -> type[Builders]:
    """``build.wheel(...)``, ``build.sdist(...)``, ``build.encode_upload(...)``."""
    return Builders


@pytest.fixture
def wheel() -> Dist:
    """``demo-1.0-py3-none-any.whl``."""
    return build_wheel()


@pytest.fixture
def sdist() -> Dist:
    """``demo-1.0.tar.gz``."""
    return build_sdist()
