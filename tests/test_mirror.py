"""Upstream fallback through a whole registry, in-process, against a local upstream index:
cache mode (mirrored projects, serve-stale, TTLs, verified downloads), redirect mode, and
the rules that keep private names private (DESIGN.md → Fallback, Visibility, Mirrored vs
private; RELIABILITY.md → Upstream)."""

from __future__ import annotations

import gzip
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from cache_mode import FakeClock, cache_mode_config, release_upstream
from distfiles import upload_body
from request_counts import StorageCalls
from upstream_app import JSON_TYPE, HostedFile, UpstreamIndex, wheel_file

from pyregistry_core import ConfigError, Identity, Registry, Request, Settings, StorageUnavailable, handle
from pyregistry_core.names import NormalizedName
from pyregistry_core.storage import LocalStorage, Storage
from pyregistry_core.web.messages import FileBody

ROOT = "http://testserver"
ANONYMOUS = None
ALICE = Identity(user="alice")
BOB = Identity(user="bob")
ROOT_USER = Identity(user="root")  # an admin in every registry made here
ONE_MIB = 2**20
UFO_CORE = NormalizedName("ufo-core")


class Reply(NamedTuple):
    """A response with its body read."""

    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        """The body as JSON."""
        return json.loads(self.body)

    @property
    def text(self) -> str:
        """The body as text."""
        return self.body.decode()


def request(
    registry: Registry,
    method: str,
    path: str,
    identity: Identity | None = ANONYMOUS,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> Reply:
    """Answer one request through the core's HTTP layer (``identity`` None: anonymous)."""
    path, _, query = path.partition("?")
    response = handle(
        registry,
        Request(
            method,
            path,
            query=dict(p.split("=", 1) for p in query.split("&") if "=" in p),
            headers={k.lower(): v for k, v in (headers or {}).items()},
            body=io.BytesIO(body) if body is not None else None,
            root_url=ROOT,
            identity=identity,
        ),
    )
    data = b"".join(response.body.chunks()) if isinstance(response.body, FileBody) else response.body
    return Reply(response.status, {k.lower(): v for k, v in response.headers}, data)


def get(
    registry: Registry, path: str, identity: Identity | None = ANONYMOUS, accept: str | None = None
) -> Reply:
    """A GET request."""
    return request(registry, "GET", path, identity, {"accept": accept} if accept else None)


def page(registry: Registry, project: str, identity: Identity | None = ANONYMOUS) -> dict[str, Any]:
    """The PEP 691 page of ``project`` (asserting 200)."""
    reply = get(registry, f"/simple/{project}/", identity, JSON_TYPE)
    assert reply.status == 200, reply
    document: dict[str, Any] = reply.json()
    return document


def listed(
    registry: Registry, project: str, identity: Identity | None = ANONYMOUS
) -> dict[str, dict[str, Any]]:
    """Filename → PEP 691 entry of everything the project page lists."""
    return {f["filename"]: f for f in page(registry, project, identity)["files"]}


def settle(registry: Registry) -> None:
    """Wait for the registry's background upstream fetches to land."""
    assert registry.mirror is not None
    assert registry.mirror.settle(30)


def file_path(project: str, hosted: HostedFile) -> str:
    """Our URL path of an upstream file (as the page links it)."""
    return f"/files/{project}/{hosted.sha256}/{hosted.filename}"


def upload(registry: Registry, hosted: HostedFile, identity: Identity | None) -> Reply:
    """POST ``hosted`` as twine would."""
    body, content_type = upload_body(hosted.project, hosted.version, hosted.filename, hosted.data)
    headers = {"content-type": content_type, "content-length": str(len(body))}
    return request(registry, "POST", "/", identity, headers, body)


# -- fixtures ----------------------------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """The upstream index: ufo-core 1.0 (wheel + sdist) and 1.1 (a wheel yanked "broken")."""
    with UpstreamIndex() as index:
        index.add("ufo-core", "1.0", requires_python=">=3.8")
        index.add(
            "ufo-core", "1.1", kinds=("wheel",), yanked="broken", upload_time="2024-03-04T05:06:07.000000Z"
        )
        yield index


RegistryFactory = Callable[..., Registry]


@pytest.fixture
def make_registry(upstream: UpstreamIndex, clock: FakeClock, tmp_path: Path) -> Iterator[RegistryFactory]:
    """Registries in cache mode on one local store, with ``upstream`` as their upstream.

    ``settings`` adds or replaces config keys (None removes one); ``storage`` replaces the store.
    """
    made: list[Registry] = []

    def factory(settings: dict[str, str | None] | None = None, storage: Storage | None = None) -> Registry:
        mapping = {
            **cache_mode_config(upstream, tmp_path / "store"),
            "pypi.default_write": "everyone",
            "auth.admins": "root",
            **(settings or {}),
        }
        chosen = {key: value for key, value in mapping.items() if value is not None}
        registry = Registry(Settings.from_mapping(chosen), storage, wall_clock=clock)
        made.append(registry)
        return registry

    yield factory
    release_upstream(made)


@pytest.fixture
def registry(make_registry: RegistryFactory) -> Registry:
    """A cache-mode registry anyone may read and cache through."""
    return make_registry()


def wheel_10(upstream: UpstreamIndex) -> HostedFile:
    return upstream.file("ufo_core-1.0-py3-none-any.whl")


# -- cache mode: listing and fetching --------------------------------------------------------


def test_cache_mode_lists_upstream_files_with_links_to_us(
    registry: Registry, upstream: UpstreamIndex
) -> None:
    """The page links each upstream file to us, with hashes, requires-python, yanked, size, time, metadata."""
    files = listed(registry, "ufo-core")
    assert sorted(files) == sorted(
        ["ufo_core-1.0-py3-none-any.whl", "ufo_core-1.0.tar.gz", "ufo_core-1.1-py3-none-any.whl"]
    )
    for filename, entry in files.items():
        hosted = upstream.file(filename)
        assert entry == {
            "filename": filename,
            "url": f"../../files/ufo-core/{hosted.sha256}/{filename}",
            "hashes": {"sha256": hosted.sha256},
            "requires-python": hosted.requires_python,
            "yanked": hosted.yanked,
            "size": hosted.size,
            "upload-time": hosted.upload_time,
            "core-metadata": {"sha256": hosted.metadata_sha256} if hosted.metadata else False,
        }
    assert files["ufo_core-1.1-py3-none-any.whl"]["yanked"] == "broken"
    assert sum(upstream.downloads(f) for f in files) == 0  # listing fetches no file


def test_cache_mode_html_page(registry: Registry, upstream: UpstreamIndex) -> None:
    """The HTML page carries the same links, hashes and PEP 503/592/658 attributes."""
    reply = get(registry, "/simple/ufo-core/")
    assert reply.status == 200
    wheel = wheel_10(upstream)
    assert (
        f'<a href="../../files/ufo-core/{wheel.sha256}/{wheel.filename}#sha256={wheel.sha256}" '
        f'data-requires-python="&gt;=3.8" data-core-metadata="sha256={wheel.metadata_sha256}"'
    ) in reply.text
    assert 'data-yanked="broken"' in reply.text


def test_first_download_fetches_verifies_stores_and_serves(
    registry: Registry, upstream: UpstreamIndex, make_registry: RegistryFactory
) -> None:
    """The first download fetches the file once and stores it; later ones (and .metadata) are local."""
    wheel = wheel_10(upstream)
    listed(registry, "ufo-core")
    reply = get(registry, file_path("ufo-core", wheel))
    assert (reply.status, reply.body) == (200, wheel.data)
    assert reply.headers["etag"] == f'"{wheel.sha256}"'
    assert upstream.downloads(wheel.filename) == 1
    metadata = get(registry, file_path("ufo-core", wheel) + ".metadata")
    assert (metadata.status, metadata.body) == (200, wheel.metadata)
    assert get(registry, file_path("ufo-core", wheel)).body == wheel.data
    assert upstream.downloads(wheel.filename) == 1
    assert not [r for r in upstream.requests if r.path.endswith(".metadata")]
    # Stored for good: another process on the same storage serves it with the upstream down.
    upstream.stop()
    other = make_registry()
    assert get(other, file_path("ufo-core", wheel)).body == wheel.data
    assert listed(other, "ufo-core")[wheel.filename]["hashes"] == {"sha256": wheel.sha256}


def test_serve_stale_when_the_upstream_is_down(
    registry: Registry, upstream: UpstreamIndex, clock: FakeClock, make_registry: RegistryFactory
) -> None:
    """With the upstream stopped, the last listing and the cached files are still served."""
    wheel = wheel_10(upstream)
    before = listed(registry, "ufo-core")
    assert get(registry, file_path("ufo-core", wheel)).status == 200
    upstream.stop()
    clock.advance(3600)  # the listing is stale: the registry must try the upstream first
    assert listed(registry, "ufo-core") == before
    assert get(registry, file_path("ufo-core", wheel)).body == wheel.data
    # Another process that never saw the upstream serves the stored listing too.
    assert listed(make_registry(), "ufo-core") == before
    # A file never cached cannot be served: 502, not 404.
    sdist = upstream.file("ufo_core-1.0.tar.gz")
    reply = get(registry, file_path("ufo-core", sdist))
    assert reply.status == 502
    assert reply.text == (
        f"The upstream index failed: upstream request to '{upstream.url}{sdist.path}' "
        "failed: NewConnectionError\n"
    )


def test_cold_name_with_the_upstream_down_is_502(registry: Registry, upstream: UpstreamIndex) -> None:
    """A name never fetched, with the upstream down, is a 502 (not a 404 that hides the outage)."""
    upstream.stop()
    reply = get(registry, "/simple/ufo-core/")
    assert reply.status == 502
    assert reply.text == (
        f"The upstream index failed: upstream request to '{upstream.url}/simple/ufo-core/' "
        "failed: NewConnectionError\n"
    )


def test_new_upstream_release_appears_after_the_ttl(
    make_registry: RegistryFactory, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """A mirrored page follows the upstream: unchanged within pypi.upstream_ttl, and past it the
    first request gets the last listing at once while it is refreshed (stale-while-revalidate)."""
    registry = make_registry({"pypi.upstream_ttl": "300"})
    listed(registry, "ufo-core")
    (new,) = upstream.add("ufo-core", "2.0", kinds=("wheel",))
    clock.advance(299)
    assert new.filename not in listed(registry, "ufo-core")
    assert upstream.page_requests("ufo-core") == 1
    clock.advance(2)
    assert new.filename not in listed(registry, "ufo-core")
    settle(registry)
    assert new.filename in listed(registry, "ufo-core")
    assert upstream.page_requests("ufo-core") == 2
    assert page(registry, "ufo-core")["versions"] == ["1.0", "1.1", "2.0"]


def test_a_refresh_by_one_worker_is_served_by_the_others(
    make_registry: RegistryFactory, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """Two workers on one store: once one has refreshed an expired listing, the other's next
    request serves that refresh (read from storage), not its own older copy, and asks no one."""
    first, second = make_registry({"pypi.upstream_ttl": "300"}), make_registry({"pypi.upstream_ttl": "300"})
    listed(first, "ufo-core")
    listed(second, "ufo-core")  # the stored listing: no second upstream request
    (new,) = upstream.add("ufo-core", "2.0", kinds=("wheel",))
    clock.advance(301)
    listed(first, "ufo-core")
    settle(first)
    assert new.filename in listed(first, "ufo-core")
    assert new.filename in listed(second, "ufo-core")
    settle(second)
    assert upstream.page_requests("ufo-core") == 2


def test_an_outage_past_the_ttl_does_not_reread_the_stored_listing(
    make_registry: RegistryFactory, upstream: UpstreamIndex, clock: FakeClock, tmp_path: Path
) -> None:
    """While the circuit is open and the stored listing is unchanged, a request past the TTL
    costs at most one conditional check of it, never a read of its bytes."""
    calls = StorageCalls(LocalStorage(str(tmp_path / "store")))
    registry = make_registry({"pypi.upstream_ttl": "300"}, storage=calls)
    before = listed(registry, "ufo-core")
    upstream.stop()
    clock.advance(301)
    assert listed(registry, "ufo-core") == before  # the refresh starts, and fails
    settle(registry)
    assert registry.mirror is not None
    assert registry.mirror.breaker.state().failures == 1
    calls.called.clear()
    for _ in range(20):
        assert listed(registry, "ufo-core") == before
    mirror_calls = [(name, args) for name, args in calls.called if "mirror/ufo-core.json" in args]
    assert {name for name, _ in mirror_calls} <= {"read_document"}
    assert len(mirror_calls) <= 20
    assert all(len(args) == 2 and args[1] is not None for _, args in mirror_calls), mirror_calls


def test_mirrored_project_with_cached_files_still_follows_the_upstream(
    registry: Registry, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """Once some files are cached, new upstream releases are still listed after the TTL."""
    assert get(registry, file_path("ufo-core", wheel_10(upstream))).status == 200
    (new,) = upstream.add("ufo-core", "2.0", kinds=("wheel",))
    clock.advance(601)
    listed(registry, "ufo-core")  # past the TTL: the last listing, and a refresh starts
    settle(registry)
    files = listed(registry, "ufo-core")
    assert new.filename in files
    assert wheel_10(upstream).filename in files


def test_upstream_404_is_remembered_for_the_negative_ttl(
    make_registry: RegistryFactory, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """An upstream 404 is a 404 here, and the name is not asked again within pypi.upstream_negative_ttl."""
    # One connection per request: test_an_upstream_404_does_not_break_the_next_fetch pins
    # what a kept-alive 404 does to the next request.
    upstream.faults.keep_alive = False
    registry = make_registry({"pypi.upstream_negative_ttl": "60"})
    reply = get(registry, "/simple/late-comer/")
    assert (reply.status, reply.text) == (404, "Project 'late-comer' not found.\n")
    upstream.add("late-comer", "1.0")
    clock.advance(59)
    assert get(registry, "/simple/late-comer/").status == 404
    assert upstream.page_requests("late-comer") == 1
    clock.advance(2)
    assert sorted(listed(registry, "late-comer")) == [
        "late_comer-1.0-py3-none-any.whl",
        "late_comer-1.0.tar.gz",
    ]
    assert upstream.page_requests("late-comer") == 2


def test_an_upstream_404_does_not_break_the_next_fetch(registry: Registry, upstream: UpstreamIndex) -> None:
    """After an upstream 404 whose body arrives a moment after its headers, the next name is still served."""
    upstream.faults.slow_body = 0.2
    assert get(registry, "/simple/no-such-project/").status == 404
    reply = get(registry, "/simple/ufo-core/", accept=JSON_TYPE)
    assert reply.status == 200, reply.text
    assert len(reply.json()["files"]) == 3


def test_yanked_upstream_file_stays_yanked_when_cached(registry: Registry, upstream: UpstreamIndex) -> None:
    """A yanked upstream file stays yanked (with its reason) once cached, on the page and in the JSON API."""
    yanked = upstream.file("ufo_core-1.1-py3-none-any.whl")
    assert get(registry, file_path("ufo-core", yanked)).status == 200
    assert listed(registry, "ufo-core")[yanked.filename]["yanked"] == "broken"
    release = get(registry, "/pypi/ufo-core/1.1/json").json()
    assert [(u["filename"], u["yanked"], u["yanked_reason"]) for u in release["urls"]] == [
        (yanked.filename, True, "broken")
    ]


def test_later_upstream_yank_shows_after_the_ttl(
    registry: Registry, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """A file yanked upstream after we cached it shows as yanked once the listing is refreshed."""
    wheel = wheel_10(upstream)
    assert get(registry, file_path("ufo-core", wheel)).status == 200
    upstream.yank(wheel.filename, "security")
    assert listed(registry, "ufo-core")[wheel.filename]["yanked"] is False
    clock.advance(601)
    assert listed(registry, "ufo-core")[wheel.filename]["yanked"] is False  # refreshing
    settle(registry)
    assert listed(registry, "ufo-core")[wheel.filename]["yanked"] == "security"
    assert 'data-yanked="security"' in get(registry, "/simple/ufo-core/").text


# -- private names stay private ---------------------------------------------------------------


@pytest.mark.parametrize("mode", ["cache", "redirect"])
def test_private_project_never_goes_upstream(
    make_registry: RegistryFactory, upstream: UpstreamIndex, clock: FakeClock, mode: str
) -> None:
    """An uploaded project resolves to its own files only; its name (any spelling) never goes upstream."""
    upstream.add("Acme_Utils", "9.0")
    registry = make_registry({"pypi.fallback": mode})
    private = wheel_file("Acme_Utils", "1.0", dependencies=("private-marker",))
    assert upload(registry, private, ALICE).status == 200
    for spelling in ("Acme_Utils", "acme.utils", "ACME-utils"):
        moved = get(registry, f"/simple/{spelling}/")
        assert (moved.status, moved.headers["location"]) == (301, "/simple/acme-utils/")
        assert get(registry, f"/pypi/{spelling}/json").status == 301
    clock.advance(3600)
    assert list(listed(registry, "acme-utils")) == [private.filename]
    assert listed(registry, "acme-utils")[private.filename]["hashes"] == {"sha256": private.sha256}
    assert get(registry, "/simple/acme-utils/").status == 200
    assert list(get(registry, "/pypi/acme-utils/json").json()["releases"]) == ["1.0"]
    assert get(registry, "/pypi/acme-utils/9.0/json").status == 404
    upstream_wheel = upstream.file("acme_utils-9.0-py3-none-any.whl")
    for project in ("acme-utils", "Acme_Utils"):
        assert get(registry, file_path(project, upstream_wheel)).status == 404
        assert get(registry, file_path(project, upstream_wheel) + ".metadata").status == 404
    assert get(registry, file_path("acme-utils", private)).body == private.data
    assert upstream.mentions("acme-utils") == []


@pytest.mark.parametrize("mode", ["cache", "redirect"])
def test_private_project_listed_in_always_show_upstream_merges(
    make_registry: RegistryFactory, upstream: UpstreamIndex, mode: str
) -> None:
    """A private project named in always_show_upstream also lists upstream files (redirect: links there)."""
    (theirs,) = upstream.add("Acme_Utils", "9.0", kinds=("wheel",))
    registry = make_registry({"pypi.fallback": mode, "pypi.always_show_upstream": "ACME.utils"})
    private = wheel_file("acme-utils", "1.0")
    assert upload(registry, private, ALICE).status == 200
    files = listed(registry, "acme-utils")
    assert sorted(files) == [private.filename, theirs.filename]
    assert files[theirs.filename]["url"] == (
        f"../../files/acme-utils/{theirs.sha256}/{theirs.filename}"
        if mode == "cache"
        else upstream.url + theirs.path
    )
    assert files[theirs.filename]["hashes"] == {"sha256": theirs.sha256}


def test_uploading_to_a_mirrored_project_needs_admin_and_converts_it(
    registry: Registry, upstream: UpstreamIndex, clock: FakeClock
) -> None:
    """Only an admin may upload to a mirrored project; afterwards its cached upstream files are gone."""
    wheel = wheel_10(upstream)
    assert get(registry, file_path("ufo-core", wheel)).status == 200
    mine = wheel_file("ufo-core", "3.0")
    refused = upload(registry, mine, ALICE)
    assert (refused.status, refused.text) == (
        403,
        "'ufo-core' is mirrored from the upstream index; only an admin may upload to it "
        "(which makes it private).\n",
    )
    anonymous = upload(registry, mine, ANONYMOUS)
    assert anonymous.status == 401
    assert anonymous.headers["www-authenticate"] == 'Basic realm="pypi"'
    assert upload(registry, mine, ROOT_USER).status == 200
    seen = len(upstream.mentions("ufo-core"))
    clock.advance(3600)
    assert list(listed(registry, "ufo-core")) == [mine.filename]
    assert get(registry, file_path("ufo-core", wheel)).status == 404
    assert upload(registry, wheel_file("ufo-core", "3.1"), ALICE).status == 200  # private now
    assert len(upstream.mentions("ufo-core")) == seen


@pytest.mark.parametrize("mode", ["cache", "redirect"])
def test_disallow_fallback_applies_to_admins_and_sends_nothing(
    make_registry: RegistryFactory, upstream: UpstreamIndex, mode: str
) -> None:
    """A name in disallow_fallback (spelled otherwise in the config) is 404 for all, never asked upstream."""
    upstream.add("secret-thing", "1.0")
    registry = make_registry({"pypi.fallback": mode, "pypi.disallow_fallback": "Secret_Thing other"})
    for identity in (ROOT_USER, ALICE, ANONYMOUS):
        reply = get(registry, "/simple/secret-thing/", identity)
        assert (reply.status, reply.text) == (404, "Project 'secret-thing' not found.\n")
        assert get(registry, "/pypi/secret-thing/json", identity).status == 404
    assert upstream.mentions("secret-thing") == []


@pytest.mark.parametrize("mode", ["cache", "redirect"])
def test_no_read_on_a_local_project_is_401_or_403_never_a_redirect(
    make_registry: RegistryFactory, upstream: UpstreamIndex, mode: str
) -> None:
    """A caller who may not read an existing project gets 401/403 on every URL, never the upstream."""
    upstream.add("secret-pkg", "5.0")
    registry = make_registry({"pypi.fallback": mode, "package.Secret_Pkg.user.alice": "rw"})
    mine = wheel_file("secret-pkg", "1.0")
    assert upload(registry, mine, ALICE).status == 200
    upstream_wheel = upstream.file("secret_pkg-5.0-py3-none-any.whl")
    for path in (
        "/simple/secret-pkg/",
        "/pypi/secret-pkg/json",
        file_path("secret-pkg", mine),
        file_path("secret-pkg", upstream_wheel),
    ):
        anonymous = get(registry, path)
        assert anonymous.status == 401, path
        assert anonymous.headers["www-authenticate"] == 'Basic realm="pypi"'
        assert "location" not in anonymous.headers
        denied = get(registry, path, BOB)
        assert (denied.status, denied.text) == (
            403,
            "The user 'bob' isn't allowed to read on project 'secret-pkg'.\n",
        )
    assert list(listed(registry, "secret-pkg", ALICE)) == [mine.filename]
    assert upstream.mentions("secret-pkg") == []


@pytest.mark.parametrize("mode", ["cache", "redirect"])
def test_absent_name_without_default_read_is_refused(
    make_registry: RegistryFactory, upstream: UpstreamIndex, mode: str
) -> None:
    """With default_read = authenticated, anonymous callers get 401 for an absent name, not the upstream."""
    registry = make_registry({"pypi.fallback": mode, "pypi.default_read": "authenticated"})
    reply = get(registry, "/simple/ufo-core/")
    assert reply.status == 401
    assert "location" not in reply.headers
    assert upstream.requests == []


class UnavailableStorage:
    """A store whose project listings and manifests fail (a disk or network error),
    delegating the rest."""

    def __init__(self, inner: Storage) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def list_records(self, project: str) -> dict[str, Any]:
        raise StorageUnavailable("storage failed: [Errno 5] Input/output error")

    def project_token(self, project: str) -> Any:
        raise StorageUnavailable("storage failed: [Errno 5] Input/output error")

    def read_document(self, key: str, etag: str | None = None) -> Any:
        raise StorageUnavailable("storage failed: [Errno 5] Input/output error")


@pytest.mark.parametrize("mode", ["cache", "redirect"])
def test_storage_error_is_503_never_a_fallback(
    make_registry: RegistryFactory, upstream: UpstreamIndex, tmp_path: Path, mode: str
) -> None:
    """When storage fails, pages, files and the JSON API answer 503: no upstream request, no redirect."""
    storage = UnavailableStorage(LocalStorage(str(tmp_path / "broken")))
    registry = make_registry({"pypi.fallback": mode}, storage=storage)
    for path in ("/simple/ufo-core/", "/pypi/ufo-core/json", file_path("ufo-core", wheel_10(upstream))):
        reply = get(registry, path, ROOT_USER)
        assert (reply.status, reply.text) == (503, "Storage is temporarily unavailable; try again.\n"), path
        assert reply.headers["retry-after"] == "5"
        assert "location" not in reply.headers
    assert upstream.requests == []


def test_concurrent_cold_requests_download_once(registry: Registry, upstream: UpstreamIndex) -> None:
    """200 concurrent first requests for one file cause exactly one upstream download; all get the file."""
    wheel = wheel_10(upstream)
    listed(registry, "ufo-core")
    upstream.faults.scope, upstream.faults.delay = "file", 0.3
    callers = 200
    barrier = threading.Barrier(callers, timeout=30)

    def fetch(_: int) -> tuple[int, bytes]:
        barrier.wait()
        reply = get(registry, file_path("ufo-core", wheel))
        return reply.status, reply.body

    with ThreadPoolExecutor(max_workers=callers) as pool:
        results = list(pool.map(fetch, range(callers), timeout=60))
    assert results == [(200, wheel.data)] * callers
    assert upstream.downloads(wheel.filename) == 1


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("truncate", "upstream download failed: ProtocolError"),
        ("wrong_bytes", "upstream file does not match its advertised sha256 hash"),
    ],
)
@pytest.mark.parametrize("html_only", [False, True])
def test_bad_download_is_never_stored(
    registry: Registry, upstream: UpstreamIndex, fault: str, message: str, html_only: bool
) -> None:
    """A truncated or corrupted download is a 502 and leaves nothing stored; once fixed, a retry works."""
    upstream.faults.html_only = html_only
    wheel = wheel_10(upstream)
    listed(registry, "ufo-core")
    setattr(upstream.faults, fault, True)
    reply = get(registry, file_path("ufo-core", wheel))
    assert (reply.status, reply.text) == (502, f"The upstream index failed: {message}\n")
    assert registry.storage.read_record(UFO_CORE, wheel.filename) is None
    assert list(registry.storage.walk_blobs("files/")) == []
    assert (
        listed(registry, "ufo-core")[wheel.filename]["url"]
        == f"../../files/ufo-core/{wheel.sha256}/{wheel.filename}"
    )
    setattr(upstream.faults, fault, False)
    assert get(registry, file_path("ufo-core", wheel)).body == wheel.data
    assert upstream.downloads(wheel.filename) == 2
    assert registry.storage.read_record(UFO_CORE, wheel.filename) is not None


def test_gzip_labelled_sdist_is_stored_and_served_as_is(registry: Registry, upstream: UpstreamIndex) -> None:
    """A .tar.gz the upstream labels Content-Encoding: gzip is stored and served as the same bytes."""
    upstream.faults.gzip_sdists = True
    sdist = upstream.file("ufo_core-1.0.tar.gz")
    reply = get(registry, file_path("ufo-core", sdist))
    assert (reply.status, reply.body) == (200, sdist.data)
    assert "content-encoding" not in reply.headers


@pytest.mark.parametrize(
    ("setup", "settings", "message"),
    [
        ({"status": 500}, {}, "upstream answered 500 for 'ufo-core'"),
        (
            {"huge_page": 200 * 10**6},
            {"pypi.upstream_max_page_size": "1MiB"},
            f"upstream page is larger than {ONE_MIB} bytes",
        ),
        (
            {"gzip_page": gzip.compress(b"<a>" * ONE_MIB)},
            {"pypi.upstream_max_page_size": "1MiB"},
            f"upstream page is larger than {ONE_MIB} bytes",
        ),
        (
            {"raw_page": (JSON_TYPE, b'{"files": 3}')},
            {},
            "upstream sent an invalid PEP 691 page for 'ufo-core'",
        ),
        (
            {"redirect_to": "http://169.254.169.254/latest/"},
            {},
            "upstream pointed to an internal address '169.254.169.254'; refused",
        ),
    ],
)
def test_upstream_faults_are_502(
    make_registry: RegistryFactory,
    upstream: UpstreamIndex,
    setup: dict[str, Any],
    settings: dict[str, str],
    message: str,
) -> None:
    """A misbehaving upstream is a 502 with the reason, quickly, for a name never fetched before."""
    for key, value in setup.items():
        setattr(upstream.faults, key, value)
    registry = make_registry(settings)
    started = time.monotonic()
    reply = get(registry, "/simple/ufo-core/")
    assert (reply.status, reply.text) == (502, f"The upstream index failed: {message}\n")
    assert time.monotonic() - started < 5


def test_slow_upstream_is_502_after_the_timeout(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """An upstream slower than pypi.upstream_timeout is a 502 after about that long."""
    upstream.faults.delay = 10
    registry = make_registry({"pypi.upstream_timeout": "0.5"})
    started = time.monotonic()
    reply = get(registry, "/simple/ufo-core/")
    assert reply.status == 502
    assert reply.text.endswith("failed: ReadTimeoutError\n")
    assert time.monotonic() - started < 3


# -- who may cache, and mirror mode --------------------------------------------------------------


def test_cache_update_is_needed_to_fetch_a_new_name(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """Without cache_update an absent name is 401 (anonymous) or 404 (user), and nothing is fetched."""
    registry = make_registry({"pypi.cache_update": "fetchers", "group.fetchers": "alice"})
    anonymous = get(registry, "/simple/ufo-core/")
    assert (anonymous.status, anonymous.text) == (
        401,
        "Authentication required to fetch projects from the upstream index.\n",
    )
    assert get(registry, "/simple/ufo-core/", BOB).status == 404
    assert upstream.requests == []
    assert "ufo_core-1.0.tar.gz" in listed(registry, "ufo-core", Identity(user="alice", groups=("fetchers",)))


def test_mirror_mode_redirects_callers_who_may_not_cache(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """pypi.fallback = mirror: a caller without cache_update is redirected upstream for an absent name."""
    registry = make_registry({"pypi.fallback": "mirror", "pypi.cache_update": "authenticated"})
    reply = get(registry, "/simple/ufo-core/")
    assert (reply.status, reply.headers["location"]) == (302, f"{upstream.url}/simple/ufo-core/")
    assert "ufo_core-1.0.tar.gz" in listed(registry, "ufo-core", ALICE)


# -- redirect mode -------------------------------------------------------------------------------


def test_redirect_mode_sends_unknown_names_upstream(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """Redirect mode: unknown names 302 to <base>/simple/<name>/, the JSON API to <base>/pypi/<name>/json."""
    registry = make_registry({"pypi.fallback": "redirect"})
    simple = get(registry, "/simple/ufo-core/")
    assert (simple.status, simple.headers["location"]) == (302, f"{upstream.url}/simple/ufo-core/")
    assert (
        get(registry, "/simple/ufo-core/", accept=JSON_TYPE).headers["location"]
        == f"{upstream.url}/simple/ufo-core/"
    )
    api = get(registry, "/pypi/ufo-core/json")
    assert (api.status, api.headers["location"]) == (302, f"{upstream.url}/pypi/ufo-core/json")
    release = get(registry, "/pypi/ufo-core/1.0/json")
    assert (release.status, release.headers["location"]) == (302, f"{upstream.url}/pypi/ufo-core/1.0/json")
    assert upstream.requests == []  # redirecting asks the upstream nothing


def test_redirect_mode_serves_local_projects(make_registry: RegistryFactory, upstream: UpstreamIndex) -> None:
    """Redirect mode: a project we hold is answered with our files only."""
    registry = make_registry({"pypi.fallback": "redirect"})
    mine = wheel_file("ufo-core", "7.0")
    assert upload(registry, mine, ALICE).status == 200
    assert list(listed(registry, "ufo-core")) == [mine.filename]
    assert upstream.requests == []


# -- configuration and secrets -------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["redirect", "cache", "mirror"])
def test_upstream_mode_without_base_url_is_a_config_error(mode: str) -> None:
    """An upstream mode without pypi.fallback_base_url is a startup error naming that key."""
    shown = "cache" if mode == "mirror" else mode
    with pytest.raises(ConfigError) as caught:
        Registry.from_config({"storage.url": "memory://no-upstream", "pypi.fallback": mode})
    assert caught.value.message == (
        f"pypi.fallback = {shown} needs pypi.fallback_base_url (the upstream index root); "
        "there is no built-in upstream, so no name leaks to a public index"
    )


def test_pypicloud_config_relying_on_the_default_upstream_is_a_config_error(tmp_path: Path) -> None:
    """A pypicloud [app:main] file (default fallback = redirect) without a base URL does not start."""
    config = tmp_path / "pypicloud.ini"
    config.write_text("[app:main]\nuse = egg:pypicloud\npypi.storage = file\nstorage.dir = packages\n")
    with pytest.raises(ConfigError, match=r"pypi\.fallback = redirect needs pypi\.fallback_base_url"):
        Registry.from_config(config)


@pytest.mark.parametrize("suffix", ["/simple/", "/simple", ""])
def test_old_fallback_url_key_works(
    make_registry: RegistryFactory, upstream: UpstreamIndex, suffix: str
) -> None:
    """pypicloud's old pypi.fallback_url (the upstream's simple URL) sets the upstream."""
    settings = {"pypi.fallback_url": upstream.url + suffix}
    redirect = make_registry({**settings, "pypi.fallback": "redirect", "pypi.fallback_base_url": None})
    assert get(redirect, "/simple/ufo-core/").headers["location"] == f"{upstream.url}/simple/ufo-core/"
    cache = make_registry({**settings, "pypi.fallback_base_url": None})
    assert "ufo_core-1.0.tar.gz" in listed(cache, "ufo-core")


def test_upstream_credentials_never_appear_in_logs_or_answers(
    make_registry: RegistryFactory,
    upstream: UpstreamIndex,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A password in the upstream URL goes to the upstream but is never logged, answered or in a repr."""
    caplog.set_level(logging.DEBUG)
    base = f"http://mirror-user:s3cr3t-pw@127.0.0.1:{upstream.port}"
    registry = make_registry({"pypi.fallback_base_url": base})
    redirect = make_registry({"pypi.fallback_base_url": base, "pypi.fallback": "redirect"})
    replies = [get(registry, "/simple/ufo-core/"), get(registry, file_path("ufo-core", wheel_10(upstream)))]
    assert upstream.requests[0].headers["authorization"] == "Basic bWlycm9yLXVzZXI6czNjcjN0LXB3"
    replies.append(get(redirect, "/simple/other/"))
    replies.append(get(redirect, "/pypi/other/json"))
    upstream.faults.status = 500
    replies.append(get(registry, "/simple/never-seen/"))
    upstream.stop()
    clock.advance(3600)
    replies.append(get(registry, "/simple/ufo-core/"))  # stale, logged as a warning
    settle(registry)
    replies.append(get(registry, file_path("ufo-core", upstream.file("ufo_core-1.0.tar.gz"))))
    assert [r.status for r in replies] == [200, 200, 302, 302, 502, 200, 502]
    assert "upstream failed for ufo-core, serving the last listing" in caplog.text
    for reply in replies:
        assert b"s3cr3t-pw" not in reply.body
        assert "s3cr3t-pw" not in repr(reply.headers)
    assert "s3cr3t-pw" not in caplog.text
    assert "s3cr3t-pw" not in repr(registry.mirror)
    assert "s3cr3t-pw" not in repr(registry.mirror.upstream if registry.mirror else None)


def test_settings_repr_masks_upstream_credentials(upstream: UpstreamIndex) -> None:
    """The settings' repr (as a debugger, traceback or config dump shows it) masks the upstream password."""
    settings = Settings.from_mapping(
        {
            "storage.url": "memory://settings-repr",
            "pypi.fallback": "cache",
            "pypi.fallback_base_url": f"http://mirror-user:s3cr3t-pw@127.0.0.1:{upstream.port}",
        }
    )
    assert "s3cr3t-pw" not in repr(settings)


@pytest.mark.parametrize(
    "document",
    [b"not json", b"[]", b'{"files": 3}', b'{"fetched_at": "soon", "files": []}', b'{"fetched_at": [1]}'],
)
def test_an_unreadable_stored_listing_is_ignored(
    make_registry: RegistryFactory, upstream: UpstreamIndex, tmp_path: Path, document: bytes
) -> None:
    """A stored listing that does not parse is ignored: the page comes from the upstream, never a 500."""
    registry = make_registry()
    LocalStorage(str(tmp_path / "store")).put_blob("mirror/ufo-core.json", document)
    assert sorted(listed(registry, "ufo-core")) == [
        "ufo_core-1.0-py3-none-any.whl",
        "ufo_core-1.0.tar.gz",
        "ufo_core-1.1-py3-none-any.whl",
    ]


def upstream_fetches(registry: Registry, kind: str) -> dict[str, float]:
    """``pyregistry_upstream_fetches_total`` of ``kind`` from /metrics, by outcome."""
    from prometheus_client.parser import text_string_to_metric_families

    families = text_string_to_metric_families(get(registry, "/metrics").text)
    return {
        sample.labels["outcome"]: sample.value
        for family in families
        for sample in family.samples
        if sample.name == "pyregistry_upstream_fetches_total" and sample.labels["kind"] == kind
    }


def test_upstream_page_fetches_are_counted(make_registry: RegistryFactory, upstream: UpstreamIndex) -> None:
    """/metrics counts each upstream page fetch by outcome: a listing stored, a name the
    upstream does not have, a fetch that failed; a fresh listing asked again fetches nothing."""
    registry = make_registry({"pypi.metrics": "true"})
    assert get(registry, "/simple/ufo-core/").status == 200
    assert get(registry, "/simple/ufo-core/").status == 200
    assert get(registry, "/simple/nothing-here/").status == 404
    upstream.faults.status = 500
    assert get(registry, "/simple/other-name/").status == 502
    assert upstream_fetches(registry, "page") == {"stored": 1.0, "missing": 1.0, "failed": 1.0}
