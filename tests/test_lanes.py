"""request_lane: which pool a request needs, told from memory (no I/O) or one storage read."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_mode import cache_mode_config, release_upstream
from distfiles import upload_body, wheel_bytes
from upstream_app import UpstreamIndex

from pyregistry_core import Identity, Lane, Registry, Request, Settings, handle, request_lane
from pyregistry_core.upstream.mirror import Mirror

ROOT_URL = "http://testserver"
ALICE = Identity("alice")


def get(path: str) -> Request:
    """An anonymous GET of ``path``."""
    return Request("GET", path, root_url=ROOT_URL)


def upload(registry: Registry, name: str) -> str:
    """Upload a wheel of ``name`` 1.0; return its file path below the mount point."""
    data = wheel_bytes(name, "1.0")
    filename = f"{name.replace('-', '_')}-1.0-py3-none-any.whl"
    body, content_type = upload_body(name, "1.0", filename, data)
    headers = {"content-type": content_type, "content-length": str(len(body))}
    response = handle(
        registry, Request("POST", "/legacy/", {}, headers, io.BytesIO(body), ROOT_URL, identity=ALICE)
    )
    assert response.status == 200
    return f"/files/{name}/{hashlib.sha256(data).hexdigest()}/{filename}"


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """An upstream holding far-away 1.0 (a wheel)."""
    with UpstreamIndex() as index:
        index.add("far-away", "1.0", kinds=("wheel",))
        yield index


def test_without_an_upstream_only_uploads_have_a_lane_of_their_own(tmp_path: Path) -> None:
    """With fallback none, the upload form is UPLOAD and every other request READ, told without I/O."""
    registry = Registry.from_config({"storage.dir": str(tmp_path)})
    assert request_lane(registry, Request("POST", "/legacy/")) is Lane.UPLOAD
    assert request_lane(registry, Request("POST", "/")) is Lane.UPLOAD
    assert request_lane(registry, Request("POST", "/api/package/demo/status")) is Lane.READ
    for path in (
        "/simple/",
        "/simple/unknown/",
        "/pypi/unknown/json",
        "/files/unknown/00/unknown-1.0.tar.gz",
    ):
        assert request_lane(registry, get(path)) is Lane.READ, path


def test_a_cold_name_needs_a_look_and_then_the_upstream_lane(registry: Registry) -> None:
    """A name nothing is known of: None from memory, UPSTREAM after a storage look; READ once listed."""
    for path in (
        "/simple/far-away/",
        "/pypi/far-away/json",
        "/pypi/Far_Away/1.0/json/",
        "/project/far-away/",
    ):
        assert request_lane(registry, get(path)) is None, path
        assert request_lane(registry, get(path), look=True) is Lane.UPSTREAM, path
    assert handle(registry, get("/simple/far-away/")).status == 200
    assert request_lane(registry, get("/simple/far-away/")) is Lane.READ
    assert request_lane(registry, get("/pypi/far-away/json")) is Lane.READ


def test_a_name_the_upstream_lacks_is_remembered_as_read(registry: Registry) -> None:
    """After the upstream said 404, the name no longer waits on it (the 404 is remembered)."""
    assert handle(registry, get("/simple/nowhere/")).status == 404
    assert request_lane(registry, get("/simple/nowhere/")) is Lane.READ


def test_a_file_not_stored_yet_waits_on_the_upstream_and_a_stored_one_does_not(
    registry: Registry, upstream: UpstreamIndex
) -> None:
    """The first download of an upstream file is UPSTREAM; once stored it is READ, its .metadata too."""
    hosted = upstream.file("far_away-1.0-py3-none-any.whl")
    path = f"/files/far-away/{hosted.sha256}/{hosted.filename}"
    assert request_lane(registry, get(path)) is None  # nothing in memory yet
    assert handle(registry, get("/simple/far-away/")).status == 200
    assert request_lane(registry, get(path)) is Lane.UPSTREAM
    assert request_lane(registry, get(path + ".metadata")) is Lane.UPSTREAM
    assert handle(registry, get(path)).status == 200
    assert request_lane(registry, get(path)) is None  # stored by this process: look again
    assert request_lane(registry, get(path), look=True) is Lane.READ
    assert request_lane(registry, get(path)) is Lane.READ
    assert request_lane(registry, get(path + ".metadata")) is Lane.READ
    assert request_lane(registry, get(f"/api/package/far-away/{hosted.filename}")) is Lane.READ


def test_a_private_project_never_waits_on_the_upstream(
    registry: Registry, upstream: UpstreamIndex, tmp_path: Path
) -> None:
    """A project with an upload is never sent upstream, so its pages and files are READ once seen."""
    file_path = upload(registry, "own-thing")
    assert request_lane(registry, get("/simple/own-thing/"), look=True) is Lane.READ
    assert request_lane(registry, get("/simple/own-thing/")) is Lane.READ
    assert request_lane(registry, get(file_path)) is Lane.READ
    # A fresh process knows nothing in memory: one storage look tells.
    again = Registry(Settings.from_mapping(cache_mode_config(upstream, tmp_path / "store")))
    try:
        assert request_lane(again, get("/simple/own-thing/")) is None
        assert request_lane(again, get("/simple/own-thing/"), look=True) is Lane.READ
    finally:
        release_upstream([again])


def test_paths_without_a_project_or_with_an_invalid_name_are_read(registry: Registry) -> None:
    """The index, health, browse root and names no handler looks up are READ, told without I/O."""
    for path in ("/simple/", "/health", "/", "/simple/-bad-/", "/files/a/b", "/api/package/"):
        assert request_lane(registry, get(path)) is Lane.READ, path


def test_telling_from_memory_reads_no_storage(registry: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without look, request_lane never opens a blob or reads a manifest: any storage call fails it."""
    handle(registry, get("/simple/far-away/"))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("storage touched")

    storage = registry.storage
    for name in dir(type(storage)):
        if not name.startswith("_") and callable(getattr(storage, name)):
            monkeypatch.setattr(storage, name, refuse)
    monkeypatch.setattr(Mirror, "known", refuse)
    for path in ("/simple/far-away/", "/simple/cold/", "/files/far-away/00/far_away-1.0-py3-none-any.whl"):
        request_lane(registry, get(path))
