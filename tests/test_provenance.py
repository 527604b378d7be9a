"""PEP 740 provenance from the upstream: the object's shape and its digest binding are
checked, a matching object is stored with the cached file, served at our URL and advertised."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_mirror import ALICE, RegistryFactory, get, make_registry, request, upstream_fetches
from upstream_app import UpstreamIndex
from upstream_app import provenance_object as provenance

from pyregistry_core import Settings
from pyregistry_core.errors import ConfigError
from pyregistry_core.provenance import ProvenanceRejected, check_provenance
from pyregistry_core.storage.fsck import find_orphans

__all__ = ["make_registry"]  # fixtures used by name below

WHEEL = "ufo_core-1.0-py3-none-any.whl"
SHA = "ab" * 32


def as_bytes(document: object) -> bytes:
    """JSON bytes."""
    return json.dumps(document).encode()


def test_a_well_formed_object_naming_the_file_is_accepted() -> None:
    """The object is returned parsed when every attestation names this file and digest."""
    document = provenance(WHEEL, SHA)
    assert check_provenance(as_bytes(document), WHEEL, SHA) == document


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (provenance(WHEEL, "cd" * 32), "an attestation names another sha256"),
        (provenance("ufo_core-2.0-py3-none-any.whl", SHA), "an attestation names another file"),
        (provenance(WHEEL, SHA, version=2), "not a version 1 provenance object"),
        (provenance(WHEEL, SHA, attestation_bundles=[]), "attestation_bundles is not a non-empty list"),
        (
            provenance(WHEEL, SHA, statement={"subject": [{"name": WHEEL, "digest": {"sha256": SHA}}] * 2}),
            "a statement is not an in-toto v1 Statement with one subject",
        ),
        (
            provenance(WHEEL, SHA, attestation={"envelope": {"statement": "%%%", "signature": "x"}}),
            "a statement is not base64 JSON",
        ),
        (
            provenance(WHEEL, SHA, attestation={"verification_material": None}),
            "an attestation has no verification material",
        ),
        ([1, 2], "not a version 1 provenance object"),
    ],
)
def test_objects_that_do_not_bind_the_file_are_rejected(document: object, why: str) -> None:
    """A wrong digest, another file, or a malformed object is refused, saying why."""
    with pytest.raises(ProvenanceRejected) as caught:
        check_provenance(as_bytes(document), WHEEL, SHA)
    assert str(caught.value) == why


@given(
    st.one_of(
        st.binary(max_size=200),
        st.recursive(
            st.none() | st.integers() | st.text(max_size=10),
            lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        ).map(as_bytes),
    )
)
def test_anything_else_is_rejected_never_crashes(data: bytes) -> None:
    """Hostile bytes and JSON are ProvenanceRejected, never another exception."""
    with pytest.raises(ProvenanceRejected):
        check_provenance(data, WHEEL, SHA)


# -- through a registry ------------------------------------------------------------------


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """ufo-core 1.0 (with a matching provenance object), 2.0 (one naming other bytes), 3.0 (none)."""
    with UpstreamIndex() as index:
        for version in ("1.0", "2.0", "3.0"):
            index.add("ufo-core", version, kinds=("wheel",))
        for version, good in (("1.0", True), ("2.0", False)):
            hosted = index.file(f"ufo_core-{version}-py3-none-any.whl")
            hosted.provenance = as_bytes(provenance(hosted.filename, hosted.sha256 if good else SHA))
            hosted.provenance_url = f"{index.url}/files/ufo-core/{hosted.filename}.provenance"
        yield index


@pytest.mark.parametrize("html_only", [False, True])
def test_a_matching_provenance_is_stored_with_the_cached_file(
    make_registry: RegistryFactory, upstream: UpstreamIndex, html_only: bool
) -> None:
    """From JSON or HTML pages: 1.0's object is stored beside it; 2.0's (wrong digest) is not,
    and 2.0 is cached all the same; 3.0 has none."""
    upstream.faults.html_only = html_only
    registry = make_registry()
    for version in ("1.0", "2.0", "3.0"):
        hosted = upstream.file(f"ufo_core-{version}-py3-none-any.whl")
        assert get(registry, f"/files/ufo-core/{hosted.sha256}/{hosted.filename}").status == 200
    stored = {}
    for version in ("1.0", "2.0", "3.0"):
        hosted = upstream.file(f"ufo_core-{version}-py3-none-any.whl")
        key = f"files/ufo-core/{hosted.sha256}/{hosted.filename}.provenance"
        try:
            with registry.storage.open_blob(key) as handle:
                stored[version] = handle.read()
        except FileNotFoundError:
            stored[version] = None
    assert stored == {
        "1.0": upstream.file("ufo_core-1.0-py3-none-any.whl").provenance,
        "2.0": None,
        "3.0": None,
    }
    assert list(find_orphans(registry.storage)) == []  # fsck knows the provenance belongs to its file


# -- served at our URL and advertised on our pages (PEP 740, both serializations) ------------


def _provenance_path(hosted: Any) -> str:
    """Our URL path of a file's provenance object: the file's plus ``.provenance``."""
    return f"/files/ufo-core/{hosted.sha256}/{hosted.filename}.provenance"


def _provenance_fetches(upstream: UpstreamIndex) -> int:
    """Requests the upstream got for provenance objects."""
    return sum(1 for r in upstream.requests if r.path.endswith(".provenance"))


def _advertised(registry: Any) -> tuple[dict[str, str | None], dict[str, str | None]]:
    """Filename → the provenance URL of the JSON and of the HTML project page."""
    from test_render import parse_html
    from upstream_app import JSON_TYPE

    document = get(registry, "/simple/ufo-core/", accept=JSON_TYPE).json()
    from_json = {f["filename"]: f.get("provenance") for f in document["files"]}
    anchors = parse_html(get(registry, "/simple/ufo-core/", accept="text/html").body).anchors
    from_html = {text: attributes.get("data-provenance") for attributes, text in anchors}
    return from_json, from_html


PUBLIC = "https://pypi.corp.example/mount"  # pypi.public_url as configured (no trailing /)


@pytest.mark.parametrize("html_only", [False, True])
def test_pages_advertise_our_provenance_url_for_files_the_upstream_gave_one(
    make_registry: RegistryFactory, upstream: UpstreamIndex, html_only: bool
) -> None:
    """Before and after caching, JSON ``provenance`` and HTML ``data-provenance`` name our
    URL, fully qualified under ``pypi.public_url``, for 1.0 and 2.0, whose upstream offers
    one; 3.0 has none."""
    upstream.faults.html_only = html_only
    registry = make_registry({"pypi.public_url": PUBLIC})
    files = {v: upstream.file(f"ufo_core-{v}-py3-none-any.whl") for v in ("1.0", "2.0", "3.0")}
    expected = {
        hosted.filename: None if version == "3.0" else f"{PUBLIC}{_provenance_path(hosted)}"
        for version, hosted in files.items()
    }
    assert _advertised(registry) == (expected, expected)
    assert get(registry, "/simple/ufo-core/").text.count('content="1.1"') == 1  # 1.3 is not announced
    get(registry, f"/files/ufo-core/{files['1.0'].sha256}/{files['1.0'].filename}")
    # Once cached, 1.0 keeps its URL; 2.0's object named other bytes, but 2.0 is not cached yet.
    assert _advertised(registry) == (expected, expected)
    get(registry, f"/files/ufo-core/{files['2.0'].sha256}/{files['2.0'].filename}")
    expected[files["2.0"].filename] = None  # cached without its (refused) object: not offered
    assert _advertised(registry) == (expected, expected)


@pytest.mark.parametrize("html_only", [False, True])
def test_without_a_public_url_pages_offer_no_provenance_but_it_is_served(
    make_registry: RegistryFactory, upstream: UpstreamIndex, html_only: bool
) -> None:
    """Without ``pypi.public_url`` no page names a provenance URL (never a relative one,
    whatever the request's Host), and the object still answers at its URL."""
    upstream.faults.html_only = html_only
    registry = make_registry()
    files = {v: upstream.file(f"ufo_core-{v}-py3-none-any.whl") for v in ("1.0", "2.0", "3.0")}
    expected: dict[str, str | None] = {hosted.filename: None for hosted in files.values()}
    assert _advertised(registry) == (expected, expected)
    for fmt in ("application/vnd.pypi.simple.v1+json", "text/html"):
        assert b"provenance" not in get(registry, "/simple/ufo-core/", accept=fmt).body
    answer = get(registry, _provenance_path(files["1.0"]))
    assert answer.status == 200
    assert answer.json() == json.loads(files["1.0"].provenance)


@pytest.mark.parametrize(
    ("value", "normalized"),
    [
        ("https://pypi.corp.example", "https://pypi.corp.example/"),
        ("https://example.com/pypi//", "https://example.com/pypi/"),
        ("HTTPS://example.com:8443/pypi/", "https://example.com:8443/pypi/"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080/"),
        ("http://127.1.2.3/x", "http://127.1.2.3/x/"),
        ("http://[::1]:9000/", "http://[::1]:9000/"),
        ("http://localhost/", "http://localhost/"),
    ],
)
def test_a_public_url_is_normalized_to_end_with_one_slash(value: str, normalized: str) -> None:
    """Secure (https, or http on a loopback host) base URLs are kept, ending in exactly one /."""
    assert Settings.from_mapping({"pypi.public_url": value}).public_url == normalized


@pytest.mark.parametrize(
    "value",
    [
        "http://pypi.corp.example/",
        "http://10.0.0.1/",
        "http://[::2]/",
        "ftp://pypi.corp.example/",
        "pypi.corp.example",
        "/pypi/",
        "https:///pypi/",
        "https://pypi.corp.example/?x=1",
        "https://pypi.corp.example/?",
        "https://pypi.corp.example/#top",
        "https://user:secret@pypi.corp.example/",
        "https://pypi.corp.example:99999/",
        "https://pypi.corp.example/a b/",
    ],
)
def test_a_bad_public_url_refuses_to_start(value: str) -> None:
    """An insecure, relative, credentialed or query-carrying base URL is a startup error naming the key."""
    with pytest.raises(ConfigError) as raised:
        Settings.from_mapping({"pypi.public_url": value})
    assert str(raised.value) == (
        "pypi.public_url must be the index's https URL (http only on a loopback host: "
        "127.0.0.0/8, [::1] or localhost), without credentials, query or fragment, "
        f"not {value!r}"
    )


def test_provenance_of_a_file_not_cached_is_fetched_alone_bound_and_kept(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """Our URL fetches the upstream's object (not the file), checks it names the advertised
    sha256, keeps it, and serves it as JSON with its sha256 as ETag (304, HEAD); caching the
    file afterwards keeps serving the same object without asking the upstream again."""
    registry = make_registry()
    hosted = upstream.file("ufo_core-1.0-py3-none-any.whl")
    reply = get(registry, _provenance_path(hosted))
    assert (reply.status, reply.body) == (200, hosted.provenance)
    assert hosted.provenance is not None
    etag = '"' + hashlib.sha256(hosted.provenance).hexdigest() + '"'
    assert reply.headers["content-type"] == "application/json"
    assert reply.headers["etag"] == etag
    assert upstream.downloads(hosted.filename) == 0
    assert request(registry, "GET", _provenance_path(hosted), headers={"If-None-Match": etag}).status == 304
    head = request(registry, "HEAD", _provenance_path(hosted))
    assert (head.status, head.body, head.headers["etag"]) == (200, b"", etag)
    assert get(registry, f"/files/ufo-core/{hosted.sha256}/{hosted.filename}").status == 200
    again = get(registry, _provenance_path(hosted))
    assert (again.status, again.body, again.headers["etag"]) == (200, hosted.provenance, etag)
    assert _provenance_fetches(upstream) == 1


@pytest.mark.parametrize("version", ["2.0", "3.0"])
def test_no_provenance_or_one_for_other_bytes_is_a_404(
    make_registry: RegistryFactory, upstream: UpstreamIndex, version: str
) -> None:
    """2.0's upstream object names other bytes and 3.0 has none: 404 with PyPI's message,
    before and after the file is cached."""
    registry = make_registry()
    hosted = upstream.file(f"ufo_core-{version}-py3-none-any.whl")
    for _ in range(2):
        reply = get(registry, _provenance_path(hosted))
        assert (reply.status, reply.text) == (404, f"No provenance available for {hosted.filename}.\n")
        assert get(registry, f"/files/ufo-core/{hosted.sha256}/{hosted.filename}").status == 200
    wrong = get(registry, f"/files/ufo-core/{'0' * 64}/{hosted.filename}.provenance")
    assert wrong.status == 404


def test_provenance_fetches_are_counted(make_registry: RegistryFactory, upstream: UpstreamIndex) -> None:
    """Prometheus counts provenance fetched alone: 1.0's kept, 2.0's refused (other bytes)."""
    registry = make_registry({"pypi.metrics": "true"})
    for version in ("1.0", "2.0", "1.0"):
        get(registry, _provenance_path(upstream.file(f"ufo_core-{version}-py3-none-any.whl")))
    assert upstream_fetches(registry, "provenance") == {"stored": 1.0, "rejected": 1.0}


def test_provenance_is_as_private_as_its_file(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """Where anonymous callers may not read, the provenance URL answers 401 as the file
    does, and nothing is asked of the upstream; a reader gets it."""
    registry = make_registry({"pypi.default_read": "authenticated", "pypi.cache_update": "authenticated"})
    hosted = upstream.file("ufo_core-1.0-py3-none-any.whl")
    refused = get(registry, _provenance_path(hosted))
    assert refused.status == 401
    assert refused.status == get(registry, f"/files/ufo-core/{hosted.sha256}/{hosted.filename}").status
    assert upstream.requests == []
    assert get(registry, _provenance_path(hosted), ALICE).body == hosted.provenance


def test_a_held_back_file_has_no_provenance_either(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """The release cooldown holds back the provenance with its file: 404, no upstream request."""
    upstream.file("ufo_core-1.0-py3-none-any.whl").upload_time = "2099-01-01T00:00:00Z"
    registry = make_registry({"pypi.upstream_min_age": "7d"})
    hosted = upstream.file("ufo_core-1.0-py3-none-any.whl")
    reply = get(registry, _provenance_path(hosted))
    assert reply.status == 404
    assert "is held back" in reply.text
    assert _provenance_fetches(upstream) == 0


# -- uploads with attestations (twine / uv --attestations) -----------------------------------


def _upload_with(registry: Any, hosted: Any, attestations: str) -> Any:
    """POST ``hosted`` as twine does with ``--attestations``."""
    from distfiles import multipart_body
    from test_mirror import ROOT_USER, request

    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": hosted.project,
        "version": hosted.version,
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "metadata_version": "2.1",
        "sha256_digest": hosted.sha256,
        "attestations": attestations,
    }
    body, content_type = multipart_body(
        fields, [("content", hosted.filename, hosted.data, "application/octet-stream")]
    )
    headers = {"content-type": content_type, "content-length": str(len(body))}
    return request(registry, "POST", "/", ROOT_USER, headers, body)


def test_upload_attestations_naming_the_file_are_stored_and_others_refuse_the_upload(
    make_registry: RegistryFactory,
) -> None:
    """A matching attestation array is stored beside the file (never advertised); one naming
    other bytes refuses the whole upload with PyPI's message, storing nothing."""
    from upstream_app import wheel_file

    registry = make_registry()
    good = wheel_file("private-tool", "1.0")
    attestation = provenance(good.filename, good.sha256)["attestation_bundles"][0]["attestations"][0]
    assert _upload_with(registry, good, json.dumps([attestation])).status == 200
    with registry.storage.open_blob(
        f"files/private-tool/{good.sha256}/{good.filename}.attestations"
    ) as handle:
        assert json.loads(handle.read()) == [attestation]
    page = get(registry, "/simple/private-tool/").text
    assert "provenance" not in page
    unverified = get(registry, f"/files/private-tool/{good.sha256}/{good.filename}.provenance")
    assert (unverified.status, unverified.text) == (404, f"No provenance available for {good.filename}.\n")

    bad = wheel_file("private-tool", "2.0")
    reply = _upload_with(registry, bad, json.dumps([attestation]))
    assert (reply.status, reply.text) == (
        400,
        "Invalid attestations supplied during upload: an attestation names another sha256\n",
    )
    assert _upload_with(registry, bad, "{}").text == (
        "Invalid attestations supplied during upload: not a non-empty JSON array of attestations\n"
    )
    assert get(registry, "/simple/private-tool/").text.count("<a ") == 1  # 2.0 was not stored
