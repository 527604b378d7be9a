"""The warm path of every page: documents revalidated with one conditional GET over a
presigned URL, on moto and on SeaweedFS, and back through s3fs when that way fails."""

from __future__ import annotations

from typing import Any

import pytest
from fsspec.asyn import sync
from s3_proxy import s3_proxy
from s3_server import Bucket, S3Server

from pyregistry_core.storage import S3Storage
from pyregistry_core.storage.base import NOT_MODIFIED, Document
from pyregistry_core.storage.presigned_reads import PresignedReads

KEY = "manifests/demo.json"


class Sent:
    """What a store sends: through botocore, and over presigned URLs."""

    def __init__(self, storage: S3Storage) -> None:
        self.botocore: list[str] = []
        self.presigned: list[str] = []
        self.presigns = 0
        client = sync(storage.fs.loop, storage.fs.set_session)
        client.meta.events.register("before-call.s3", self._count)
        reads = storage.presigned
        send, presign = reads.send, reads._presign

        def counted_send(url: str, headers: dict[str, str]) -> Any:
            self.presigned.append(headers.get("If-None-Match", "*"))
            return send(url, headers)

        def counted_presign(path: str, expires: int) -> str:
            self.presigns += 1
            return presign(path, expires)

        reads.send = counted_send  # type: ignore[method-assign]
        reads._presign = counted_presign

    def _count(self, model: Any, **_: Any) -> None:
        self.botocore.append(model.name)


@pytest.fixture(params=["s3_bucket", "seaweed_bucket"])
def bucket(request: pytest.FixtureRequest) -> Bucket:
    """A fresh bucket on moto, then on SeaweedFS."""
    found: Bucket = request.getfixturevalue(request.param)
    return found


def test_reads_answer_over_presigned_urls_alone(bucket: Bucket):
    """Unchanged (304), changed (200 with the new ETag) and absent (404) documents are
    all answered by one presigned GET each, and nothing goes through botocore."""
    writer = S3Storage(bucket.url, bucket.storage_options())
    first = writer.write_document(KEY, b'{"generation": 1}', None)
    assert first is not None
    reader = S3Storage(bucket.url, bucket.storage_options())
    sent = Sent(reader)
    assert reader.read_document(KEY, first) is NOT_MODIFIED
    second = writer.write_document(KEY, b'{"generation": 2}', first)
    assert second is not None
    assert reader.read_document(KEY, first) == Document(b'{"generation": 2}', second)
    assert reader.read_document("manifests/absent.json") is None
    assert sent.presigned == [first, first, "*"]
    assert sent.botocore == []
    assert sent.presigns == 2  # one URL per key, reused


def test_a_refused_presigned_url_falls_back_to_s3fs_and_is_signed_again(
    s3_server: S3Server, s3_bucket: Bucket
):
    """A store refusing the presigned URL (403: expired, or signed with rotated keys)
    costs a fallback GET through s3fs with the right answer, and the URL is signed anew."""
    writer = S3Storage(s3_bucket.url, s3_bucket.storage_options())
    etag = writer.write_document(KEY, b"{}", None)
    with s3_proxy(s3_server, refuse_presigned=403) as proxy:
        behind = proxy.bucket(s3_bucket)
        reader = S3Storage(behind.url, behind.storage_options())
        sent = Sent(reader)
        assert reader.read_document(KEY) == Document(b"{}", str(etag))
        assert reader.read_document(KEY, etag) is NOT_MODIFIED
    assert sent.presigned == ["*", str(etag)]
    assert sent.botocore == ["GetObject", "GetObject"]
    assert sent.presigns == 2


def test_a_presigned_url_is_reused_for_a_third_of_its_lifetime(s3_bucket: Bucket):
    """Within 300 s of signing, one URL serves every read of a key; after, a new one is made."""
    storage = S3Storage(s3_bucket.url, s3_bucket.storage_options())
    etag = storage.write_document(KEY, b"{}", None)
    now = [1000.0]
    signed: list[str] = []

    def presign(path: str, expires: int) -> str:
        signed.append(path)
        return str(storage.fs.url(path, expires=expires))

    reads = PresignedReads(s3_bucket.storage_options(), presign, clock=lambda: now[0])
    path = f"{s3_bucket.name}/{s3_bucket.prefix}/{KEY}"
    assert reads.read(path, etag) is NOT_MODIFIED
    now[0] += 299
    assert reads.read(path, etag) is NOT_MODIFIED
    assert len(signed) == 1
    now[0] += 2
    assert reads.read(path, etag) is NOT_MODIFIED
    assert len(signed) == 2


@pytest.mark.parametrize(
    ("options", "environ", "enabled"),
    [
        ({"endpoint_url": "http://127.0.0.1:9000"}, {}, True),
        ({"endpoint_url": "http://127.0.0.1:9000"}, {"http_proxy": "http://proxy:3128"}, False),
        (
            {"endpoint_url": "http://127.0.0.1:9000"},
            {"http_proxy": "http://proxy:3128", "no_proxy": "127.0.0.1"},
            True,
        ),
        ({}, {"https_proxy": "http://proxy:3128"}, False),
        ({"client_kwargs": {"verify": False}}, {}, False),
        ({"config_kwargs": {"proxies": {"https": "http://proxy:3128"}}}, {}, False),
        ({"s3_additional_kwargs": {"SSECustomerKey": "k"}}, {}, False),
    ],
)
def test_presigned_reads_are_off_where_urllib3_would_not_reach_the_store_as_botocore(
    monkeypatch: pytest.MonkeyPatch, options: dict[str, Any], environ: dict[str, str], enabled: bool
):
    """A proxy botocore would use, unverified TLS, or per-request SSE-C keys turn the
    presigned way off (s3fs answers every read), so no request takes another route."""
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert PresignedReads(options, lambda path, expires: "").enabled is enabled
