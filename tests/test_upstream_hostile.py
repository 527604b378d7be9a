"""A lying upstream, through a whole cache-mode registry: what it sends never reaches our
pages raw, and Simple pages tell browsers they are data (fields.py, render.py)."""

from __future__ import annotations

import json

import pytest
from registry_http import SIMPLE_JSON, body_bytes, send, text
from upstream_app import JSON_TYPE, UpstreamIndex

from pyregistry_core import Registry

HOSTILE_SHA = 'aa"><script>alert(1)</script>'


def _page(upstream: UpstreamIndex, *entries: dict[str, object]) -> None:
    document = {"meta": {"api-version": "1.1"}, "name": "ufo-core", "files": list(entries)}
    upstream.faults.raw_page = (JSON_TYPE, json.dumps(document).encode())


def _entry(filename: str, **changes: object) -> dict[str, object]:
    entry: dict[str, object] = {"filename": filename, "url": f"/files/ufo-core/{filename}", "hashes": {}}
    entry.update(changes)
    return entry


@pytest.mark.parametrize("accept", ["text/html", SIMPLE_JSON])
def test_hostile_sha256_never_reaches_our_page(
    registry: Registry, upstream: UpstreamIndex, accept: str
) -> None:
    """An upstream sha256 of ``aa"><script>…`` drops that file; the honest file next to it stays."""
    good = upstream.file("ufo_core-1.0.tar.gz")
    _page(
        upstream,
        _entry("ufo_core-1.0-py3-none-any.whl", hashes={"sha256": HOSTILE_SHA}),
        _entry(good.filename, hashes={"sha256": good.sha256}),
    )
    response = send(registry, "GET", "/simple/ufo-core/", headers={"Accept": accept})
    assert response.status == 200
    assert "<script" not in text(response)
    assert good.sha256 in text(response)
    assert "ufo_core-1.0-py3-none-any.whl" not in text(response)


def test_hostile_optional_fields_are_dropped_from_our_page(
    registry: Registry, upstream: UpstreamIndex
) -> None:
    """A bad requires-python, upload-time or yanked reason is dropped; the file is still listed."""
    good = upstream.file("ufo_core-1.0.tar.gz")
    _page(
        upstream,
        _entry(
            good.filename,
            hashes={"sha256": good.sha256},
            **{"requires-python": '"><script>', "upload-time": "<b>", "yanked": "x\r\nSet-Cookie: a=b"},
        ),
    )
    response = send(registry, "GET", "/simple/ufo-core/", headers={"Accept": SIMPLE_JSON})
    assert response.status == 200
    (entry,) = json.loads(body_bytes(response))["files"]
    assert (entry["requires-python"], entry["yanked"], "upload-time" in entry) == (None, True, False)


def test_file_of_another_project_is_not_listed_or_fetched(
    registry: Registry, upstream: UpstreamIndex
) -> None:
    """A listing that names another project's file (or a path) lists none of it and fetches nothing."""
    _page(
        upstream,
        _entry("other-1.0.tar.gz"),
        _entry("../../ufo_core-1.0.tar.gz", url="/files/ufo-core/ufo_core-1.0.tar.gz"),
    )
    response = send(registry, "GET", "/simple/ufo-core/", headers={"Accept": SIMPLE_JSON})
    assert (response.status, json.loads(body_bytes(response))["files"]) == (200, [])
    assert send(registry, "GET", "/files/ufo-core/-/other-1.0.tar.gz").status == 404
    assert not [r for r in upstream.requests if r.path.startswith("/files/")]


@pytest.mark.parametrize("accept", ["text/html", SIMPLE_JSON])
def test_simple_pages_are_data_to_a_browser(registry: Registry, accept: str) -> None:
    """Simple pages (index and project, HTML and JSON) carry nosniff and a CSP that runs nothing."""
    for path in ("/simple/", "/simple/ufo-core/"):
        response = send(registry, "GET", path, headers={"Accept": accept})
        assert response.status == 200
        assert response.header("x-content-type-options") == "nosniff"
        policy = response.header("content-security-policy") or ""
        assert policy.startswith("default-src 'none'")


def test_render_escapes_every_attribute_whatever_the_record_holds() -> None:
    """Even a record that bypassed every check renders its values escaped, never raw."""
    from pyregistry_core import render
    from pyregistry_core.names import NormalizedName
    from pyregistry_core.records import FileRecord, Origin, ProjectFiles

    record = FileRecord(
        project=NormalizedName("ufo-core"),
        filename="ufo_core-1.0.tar.gz",
        version="1.0",
        kind="sdist",
        size=1,
        sha256=HOSTILE_SHA,
        metadata_sha256=HOSTILE_SHA,
        upload_time=HOSTILE_SHA,
        requires_python=HOSTILE_SHA,
        yanked=True,
        yanked_reason=HOSTILE_SHA,
        origin=Origin.UPSTREAM,
        external_url="https://x.example/" + HOSTILE_SHA,
    )
    page = render.project_html(ProjectFiles(name=NormalizedName("ufo-core"), files=(record,))).decode()
    assert "<script" not in page
    assert '"><' not in page
    assert page.count("&quot;&gt;&lt;script&gt;") == 7
