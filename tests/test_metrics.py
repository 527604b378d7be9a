"""Prometheus metrics at /metrics (the ``metrics`` extra, ``pypi.metrics = true``)."""

from __future__ import annotations

import hashlib
import io

from distfiles import multipart_body, twine_fields, wheel_bytes

from pyregistry_core import Registry, Request, Response, handle


def _registry(**extra: str) -> Registry:
    return Registry.from_config(
        {"storage.url": "memory://metrics", "pypi.default_write": "everyone", **extra}
    )


def _upload(registry: Registry, data: bytes, *, sha256: str | None = None) -> Response:
    filename = "demo-1.0-py3-none-any.whl"
    fields = twine_fields("demo", "1.0", filename, sha256 or hashlib.sha256(data).hexdigest())
    body, content_type = multipart_body(fields, [("content", filename, data, None)])
    headers = {"content-type": content_type, "content-length": str(len(body))}
    return handle(registry, Request("POST", "/legacy/", headers=headers, body=io.BytesIO(body)))


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {line_start!r} in:\n{text}")


def test_metrics_count_requests_uploads_and_cache_hits() -> None:
    """Requests by route and status, uploads by outcome and rejection reason, and page
    cache hits and misses are counted."""
    registry = _registry(**{"pypi.metrics": "true"})
    wheel = wheel_bytes("demo", "1.0")
    assert _upload(registry, wheel).status == 200
    assert _upload(registry, wheel).status == 200  # identical: kept
    assert _upload(registry, wheel, sha256="0" * 64).status == 400
    for _ in range(3):
        assert handle(registry, Request("GET", "/simple/demo/")).status == 200
    assert handle(registry, Request("GET", "/simple/nothing-here/")).status == 404

    reply = handle(registry, Request("GET", "/metrics"))
    assert reply.status == 200
    assert str(reply.header("Content-Type")).startswith("text/plain")
    assert isinstance(reply.body, bytes)
    text = reply.body.decode()
    assert _metric(text, 'pyregistry_requests_total{route="simple",status="200"}') == 3
    assert _metric(text, 'pyregistry_requests_total{route="simple",status="404"}') == 1
    assert _metric(text, 'pyregistry_uploads_total{outcome="stored",reason=""}') == 1
    assert _metric(text, 'pyregistry_uploads_total{outcome="identical",reason=""}') == 1
    assert _metric(text, 'pyregistry_uploads_total{outcome="rejected",reason="InvalidUpload"}') == 1
    assert _metric(text, 'pyregistry_page_cache_total{result="miss"}') == 1
    assert _metric(text, 'pyregistry_page_cache_total{result="hit"}') == 2


def test_metrics_are_off_unless_enabled() -> None:
    """Without pypi.metrics, /metrics is an ordinary unknown path (404)."""
    reply = handle(_registry(), Request("GET", "/metrics"))
    assert reply.status == 404
