"""What callers see across registries and mounts: other processes' uploads, the PyPI JSON
API, and relative links under a mount prefix."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

JSON_V1 = "application/vnd.pypi.simple.v1+json"


# -- other processes ------------------------------------------------------------------


def test_upload_visible_to_another_registry_on_local_storage(make_registry, make_client, wheel, sdist):
    """A second Registry on the same directory (another process) sees uploads on its next request."""
    writer = make_client(make_registry(storage="local"))
    reader = make_client(make_registry(storage="local"))
    # Warm every cache of the reader first, so a stale view would show.
    assert reader.get("/simple/demo/").status == 404
    assert reader.get("/simple/", {"Accept": JSON_V1}).status == 200
    assert writer.upload(wheel).status == 200
    assert json.loads(reader.get("/simple/", {"Accept": JSON_V1}).body)["projects"] == [{"name": "demo"}]
    page = reader.get("/simple/demo/")
    assert page.status == 200
    assert wheel.filename in page.body.decode()
    etag = page.headers["ETag"]
    assert writer.upload(sdist).status == 200
    again = reader.get("/simple/demo/", {"If-None-Match": etag})
    assert again.status == 200
    assert sdist.filename in again.body.decode()
    assert reader.get(sdist.url_path).body == sdist.data
    assert reader.get(wheel.url_path + ".metadata").body == wheel.metadata


def test_file_of_another_process_downloads_at_once(make_registry, make_client, wheel, build):
    """A file uploaded elsewhere downloads from a registry whose project view is cached."""
    writer = make_client(make_registry(storage="local"))
    reader = make_client(make_registry(storage="local"))
    assert writer.upload(wheel).status == 200
    assert reader.get("/simple/demo/").status == 200
    newer = build.wheel(version="2.0")
    assert writer.upload(newer).status == 200
    assert reader.get(newer.url_path).body == newer.data


def test_conflict_detected_across_registries(make_registry, make_client, wheel, build):
    """A second registry refuses other bytes under a filename the first one stored."""
    first = make_client(make_registry(storage="local"))
    second = make_client(make_registry(storage="local"))
    assert second.get("/simple/demo/").status == 404
    assert first.upload(wheel).status == 200
    reply = second.upload(build.wheel(payload=b"VALUE = 2\n"))
    assert reply.status == 400
    assert reply.body.startswith(b"File already exists")
    assert second.upload(wheel).body == b"OK (identical file already stored)\n"


# -- PyPI JSON API --------------------------------------------------------------------


@pytest.fixture
def released(client, build):
    """A client whose registry holds demo 1.0 (wheel + sdist), 2.0 (wheel) and 3.0a1 (wheel)."""
    second = build.wheel(version="2.0", summary="Second", requires_python=">=3.10")
    for dist in (build.wheel(), build.sdist(), second, build.wheel(version="3.0a1")):
        assert client.upload(dist).status == 200
    return client


def test_json_api_project(released, build):
    """/pypi/<p>/json describes the latest final release from its metadata, with every release."""
    reply = released.get("/pypi/demo/json")
    assert reply.status == 200
    assert reply.headers["Content-Type"] == "application/json"
    document = json.loads(reply.body)
    info = document["info"]
    assert info["name"] == "demo"
    assert info["version"] == "2.0"
    assert info["summary"] == "Second"
    assert info["requires_python"] == ">=3.10"
    assert info["requires_dist"] == ["attrs>=23"]
    assert sorted(document["releases"]) == ["1.0", "2.0", "3.0a1"]
    assert sorted(f["filename"] for f in document["releases"]["1.0"]) == [
        "demo-1.0-py3-none-any.whl",
        "demo-1.0.tar.gz",
    ]
    wheel2 = build.wheel(version="2.0", summary="Second", requires_python=">=3.10")
    [url] = document["urls"]
    assert url["filename"] == wheel2.filename
    assert url["packagetype"] == "bdist_wheel"
    assert url["digests"]["sha256"] == wheel2.sha256
    assert url["digests"]["blake2b_256"] == wheel2.blake2_256
    assert url["size"] == len(wheel2.data)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", url["upload_time"])
    assert url["upload_time_iso_8601"].startswith(url["upload_time"])
    assert url["url"] == f"http://testserver{wheel2.url_path}"
    assert released.get(urlsplit(url["url"]).path).body == wheel2.data


def test_json_api_version(released, sdist):
    """/pypi/<p>/<v>/json describes that release (from its first file's metadata), without releases."""
    reply = released.get("/pypi/demo/1.0/json")
    assert reply.status == 200
    document = json.loads(reply.body)
    assert "releases" not in document
    assert document["info"]["version"] == "1.0"
    assert document["info"]["summary"] == "A demo package"
    assert document["info"]["requires_python"] == ">=3.8"
    by_name = {f["filename"]: f for f in document["urls"]}
    assert by_name[sdist.filename]["packagetype"] == "sdist"
    assert by_name[sdist.filename]["digests"]["sha256"] == sdist.sha256


def test_json_api_equivalent_version(released):
    """A version spelled another PEP 440 way (1.0.0) finds the 1.0 release."""
    reply = released.get("/pypi/demo/1.0.0/json")
    assert reply.status == 200
    assert json.loads(reply.body)["info"]["version"] == "1.0"


def test_json_api_unknown(released):
    """Unknown projects and versions are 404."""
    reply = released.get("/pypi/nope/json")
    assert reply.status == 404
    assert reply.body == b"Project 'nope' not found.\n"
    assert released.get("/pypi/demo/9.9/json").status == 404
    assert released.get("/pypi/demo/not a version/json").status == 404
    assert released.get("/pypi/demo/").status == 404


@pytest.mark.parametrize("prefix", ["", "/mount"])
def test_json_api_redirects_unnormalized(released, prefix):
    """A non-normalized name in a JSON API URL gets 301 to the normalized URL under the mount."""
    reply = released.request("GET", "/pypi/Demo/json", prefix=prefix)
    assert reply.status == 301
    assert reply.headers["Location"] == f"{prefix}/pypi/demo/json"
    reply = released.request("GET", "/pypi/DEMO/1.0/json", prefix=prefix)
    assert reply.status == 301
    assert reply.headers["Location"] == f"{prefix}/pypi/demo/1.0/json"


def test_json_api_trailing_slash(released):
    """/pypi/<p>/json/ answers as /pypi/<p>/json (PyPI accepts both)."""
    assert released.get("/pypi/demo/json/").status == 200


# -- mounted under a prefix -------------------------------------------------------------


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.append(dict(attrs))


def _links(html: bytes) -> list[dict[str, str | None]]:
    parser = _Links()
    parser.feed(html.decode())
    return parser.links


@pytest.mark.parametrize("prefix", ["/mount", "/deep/er/mount"])
def test_links_resolve_under_prefix(client, wheel, sdist, prefix):
    """Under a prefix, every link of the index and project pages resolves to a working URL."""
    for dist in (wheel, sdist):
        assert client.upload(dist, prefix=prefix).status == 200
    base = f"http://testserver{prefix}"
    index_url = f"{base}/simple/"
    index = client.get("/simple/", prefix=prefix)
    [project_link] = _links(index.body)
    project_url = urljoin(index_url, project_link["href"])
    assert project_url == f"{base}/simple/demo/"
    page = client.get(urlsplit(project_url).path[len(prefix) :], prefix=prefix)
    assert page.status == 200
    expected = {wheel.filename: wheel, sdist.filename: sdist}
    seen = set()
    for link in _links(page.body):
        url, fragment = urldefrag(urljoin(project_url, link["href"]))
        path = urlsplit(url).path
        assert path.startswith(prefix + "/files/")
        dist = expected[path.rsplit("/", 1)[1]]
        assert fragment == f"sha256={dist.sha256}"
        download = client.get(path[len(prefix) :], prefix=prefix)
        assert download.status == 200
        assert download.body == dist.data
        if link.get("data-core-metadata"):
            assert client.get(path[len(prefix) :] + ".metadata", prefix=prefix).body == dist.metadata
        seen.add(dist.filename)
    assert seen == set(expected)


def test_json_links_resolve_under_prefix(client, wheel):
    """Under a prefix, the JSON page's relative file URLs resolve to the file."""
    prefix = "/mount"
    assert client.upload(wheel, prefix=prefix).status == 200
    page_url = f"http://testserver{prefix}/simple/demo/"
    document = json.loads(client.get("/simple/demo/", {"Accept": JSON_V1}, prefix=prefix).body)
    [entry] = document["files"]
    path = urlsplit(urljoin(page_url, entry["url"])).path
    assert client.get(path[len(prefix) :], prefix=prefix).body == wheel.data


def test_json_api_urls_include_prefix(client, wheel):
    """The PyPI JSON API's absolute file URLs include the mount prefix."""
    assert client.upload(wheel, prefix="/mount").status == 200
    document = json.loads(client.get("/pypi/demo/json", prefix="/mount").body)
    assert document["urls"][0]["url"] == f"http://testserver/mount{wheel.url_path}"


def test_prefix_health(client):
    """/health answers under a prefix too."""
    reply = client.get("/health", prefix="/mount")
    assert reply.status == 200
    assert json.loads(reply.body)["status"] == "ok"
