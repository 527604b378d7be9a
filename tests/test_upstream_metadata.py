"""PEP 658 metadata of proxied wheels: fetched alone from the upstream (verified, bounded,
cached), so resolving through the proxy downloads no wheel (registry/upstream_metadata.py)."""

from __future__ import annotations

import hashlib
import json

from registry_http import SIMPLE_JSON, body_bytes, send, text
from upstream_app import JSON_TYPE, HostedFile, UpstreamIndex

from pyregistry_core import Registry

WHEEL = "ufo_core-1.0-py3-none-any.whl"


def metadata_path(hosted: HostedFile) -> str:
    """Our URL of the wheel's .metadata, as our page links it."""
    return f"/files/ufo-core/{hosted.sha256}/{hosted.filename}.metadata"


def metadata_requests(upstream: UpstreamIndex) -> int:
    """Requests the upstream got for any ``.metadata``."""
    return sum(1 for r in upstream.requests if r.path.endswith(".metadata"))


def serve_page(upstream: UpstreamIndex, hosted: HostedFile, core_metadata: object) -> None:
    """Make the upstream list only ``hosted``, with this ``core-metadata`` value."""
    entry = {
        "filename": hosted.filename,
        "url": hosted.path,
        "hashes": {"sha256": hosted.sha256},
        "core-metadata": core_metadata,
    }
    document = {"meta": {"api-version": "1.1"}, "name": "ufo-core", "files": [entry]}
    upstream.faults.raw_page = (JSON_TYPE, json.dumps(document).encode())


def test_metadata_of_an_uncached_wheel_downloads_no_wheel(
    registry: Registry, upstream: UpstreamIndex
) -> None:
    """``.metadata`` of a wheel not stored here is the upstream's own, fetched once and cached;
    the wheel itself is not downloaded until asked for."""
    wheel = upstream.file(WHEEL)
    assert send(registry, "GET", "/simple/ufo-core/", headers={"Accept": SIMPLE_JSON}).status == 200
    for _ in range(3):
        response = send(registry, "GET", metadata_path(wheel))
        assert (response.status, body_bytes(response)) == (200, wheel.metadata)
        assert response.header("etag") == f'"{wheel.metadata_sha256}"'
    assert upstream.downloads(WHEEL) == 0
    assert metadata_requests(upstream) == 1
    # The wheel, when asked for, is fetched and serves the same metadata.
    assert send(registry, "GET", metadata_path(wheel)[: -len(".metadata")]).status == 200
    assert upstream.downloads(WHEEL) == 1
    assert body_bytes(send(registry, "GET", metadata_path(wheel))) == wheel.metadata


def test_metadata_not_matching_its_advertised_hash_is_refused(
    registry: Registry, upstream: UpstreamIndex
) -> None:
    """Metadata whose bytes do not hash to what the listing advertised is a 502, never kept."""
    wheel = upstream.file(WHEEL)
    serve_page(upstream, wheel, {"sha256": "00" * 32})
    response = send(registry, "GET", metadata_path(wheel))
    assert response.status == 502
    assert text(response) == (
        f"The upstream index failed: upstream metadata of '{WHEEL}' does not match its advertised hash\n"
    )
    assert upstream.downloads(WHEEL) == 0
    assert send(registry, "GET", metadata_path(wheel)).status == 502  # nothing was stored


def test_metadata_naming_another_distribution_is_refused(registry: Registry, upstream: UpstreamIndex) -> None:
    """Metadata that hashes right but names another project or version is a 502."""
    wheel = upstream.file(WHEEL)
    wheel.metadata = b"Metadata-Version: 2.1\nName: evil\nVersion: 1.0\n\n"
    serve_page(upstream, wheel, {"sha256": hashlib.sha256(wheel.metadata).hexdigest()})
    response = send(registry, "GET", metadata_path(wheel))
    assert response.status == 502
    assert text(response) == (
        f"The upstream index failed: upstream metadata of '{WHEEL}' names another distribution\n"
    )


def test_metadata_without_an_advertised_hash_comes_from_the_wheel(
    registry: Registry, upstream: UpstreamIndex
) -> None:
    """When the upstream advertises metadata without a hash, the wheel is fetched and read."""
    wheel = upstream.file(WHEEL)
    serve_page(upstream, wheel, True)
    response = send(registry, "GET", metadata_path(wheel))
    assert (response.status, body_bytes(response)) == (200, wheel.metadata)
    assert upstream.downloads(WHEEL) == 1
    assert metadata_requests(upstream) == 0


def test_oversized_metadata_is_refused(registry: Registry, upstream: UpstreamIndex) -> None:
    """Upstream metadata larger than the archive limit for metadata is a 502, not read whole."""
    wheel = upstream.file(WHEEL)
    limit = registry.archive_limits.max_metadata_size
    wheel.metadata = b"Metadata-Version: 2.1\nName: ufo-core\nVersion: 1.0\n\n" + b"x" * limit
    serve_page(upstream, wheel, {"sha256": hashlib.sha256(wheel.metadata).hexdigest()})
    response = send(registry, "GET", metadata_path(wheel))
    assert response.status == 502
    assert text(response) == f"The upstream index failed: upstream file is larger than {limit} bytes\n"
