"""Driving a ``Registry`` through the sans-IO HTTP layer (``pyregistry_core.handle``) in-process.

``send`` never lets an exception out: one that escapes ``handle`` becomes the 500 a
server would answer, with the exception in the body, so tests assert statuses only.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

from access_helpers import Dist, upload_form
from distfiles import core_metadata, multipart_body, twine_fields, wheel_bytes

from pyregistry_core import Registry, handle
from pyregistry_core.web.handle import Request, Response
from pyregistry_core.web.messages import FileBody

__all__ = [
    "SIMPLE_JSON",
    "body_bytes",
    "listed",
    "make_wheel",
    "send",
    "sha256",
    "text",
    "upload",
    "write_upload_body",
]

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
ROOT_URL = "http://testserver"


def send(
    registry: Registry,
    method: str,
    path: str,
    body: bytes | IO[bytes] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """One request; an exception escaping the core is answered 500, as a server would."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    stream: IO[bytes] | None
    if isinstance(body, bytes):
        lowered.setdefault("content-length", str(len(body)))
        stream = io.BytesIO(body)
    else:
        stream = body
    path, _, query = path.partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if "=" in part)
    request = Request(method, path, params, lowered, stream, root_url=ROOT_URL)
    try:
        return handle(registry, request)
    except Exception as error:
        return Response(500, (("Content-Type", "text/plain"),), f"{type(error).__name__}: {error}".encode())


def body_bytes(response: Response) -> bytes:
    """The whole body, streaming a stored file's chunks."""
    if isinstance(response.body, FileBody):
        return b"".join(response.body.chunks())
    return response.body


def text(response: Response) -> str:
    """The body as text."""
    return body_bytes(response).decode(errors="replace")


def upload(registry: Registry, dist: Dist, headers: Mapping[str, str] | None = None) -> Response:
    """POST ``dist`` as twine sends it."""
    body, content_type = upload_form(dist)
    return send(registry, "POST", "/legacy/", body, {"Content-Type": content_type, **(headers or {})})


def listed(registry: Registry, project: str) -> dict[str, str]:
    """filename → sha256 of what the project's PEP 691 page lists ({} when it is a 404)."""
    response = send(registry, "GET", f"/simple/{project}/", headers={"Accept": SIMPLE_JSON})
    if response.status == 404:
        return {}
    assert response.status == 200, (response.status, text(response))
    page: dict[str, Any] = json.loads(body_bytes(response))
    return {entry["filename"]: entry["hashes"]["sha256"] for entry in page["files"]}


def make_wheel(name: str, version: str, salt: str = "") -> Dist:
    """A small valid wheel; another ``salt`` gives other bytes under the same filename."""
    part = name.replace("-", "_")
    filename = f"{part}-{version}-py3-none-any.whl"
    extra = [(f"{part}/salt.txt", salt.encode())] if salt else []
    data = wheel_bytes(name, version, metadata=core_metadata(name, version), extra=extra)
    return Dist(name, version, filename, data, "bdist_wheel", "py3")


def sha256(data: bytes) -> str:
    """Hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def write_upload_body(path: Path, dist_path: Path, name: str, version: str) -> tuple[str, int, str]:
    """Write the multipart upload body for ``dist_path`` to ``path`` (streaming);
    returns its Content-Type, its length and the file's sha256."""
    digest = hashlib.sha256()
    with dist_path.open("rb") as source:
        for chunk in iter(lambda: source.read(1 << 20), b""):
            digest.update(chunk)
    fields = twine_fields(name, version, dist_path.name, digest.hexdigest())
    files = [("content", dist_path.name, b"\0", "application/octet-stream")]
    framed, content_type = multipart_body(fields, files)
    head, tail = framed.split(b"\0", 1)
    with path.open("wb") as out, dist_path.open("rb") as source:
        out.write(head)
        shutil.copyfileobj(source, out, 1 << 20)
        out.write(tail)
    return content_type, path.stat().st_size, digest.hexdigest()
