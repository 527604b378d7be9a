"""What only S3Storage promises, against moto's S3 server: the conditional-write probe,
no cache between replicas, and S3 failures reported as storage failures (503), never as
an empty store (404, "try upstream")."""

from __future__ import annotations

from typing import Any

import pytest
from s3_server import Bucket

from pyregistry_core.errors import StorageUnavailable
from pyregistry_core.storage import S3Storage, open_storage

PROJECT = "demo"
FILENAME = "demo-1.0-py3-none-any.whl"


class IgnoresIfNoneMatch:
    """An s3fs filesystem as a store without conditional writes sees it: mode is dropped."""

    def __init__(self, fs: Any) -> None:
        self._fs = fs

    def pipe_file(self, path: str, data: bytes, mode: str = "overwrite", **kwargs: Any) -> Any:
        return self._fs.pipe_file(path, data, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fs, name)


def test_open_storage_picks_s3(s3_bucket: Bucket):
    """An s3:// URL opens an S3Storage with fsspec's instance and listing caches off."""
    storage = open_storage(s3_bucket.url, s3_bucket.storage_options())
    assert isinstance(storage, S3Storage)
    assert storage.has_change_tokens is False
    assert storage.fs.dircache.use_listings_cache is False
    assert storage.fs is not open_storage(s3_bucket.url, s3_bucket.storage_options()).fs


def test_probe_conditional_writes_on_s3(s3_bucket: Bucket):
    """moto honours If-None-Match: *, so the probe says so and leaves no key behind."""
    storage = S3Storage(s3_bucket.url, s3_bucket.storage_options())
    assert storage.probe_conditional_writes() is True
    assert s3_bucket.keys() == []


def test_probe_detects_a_store_without_conditional_writes(s3_bucket: Bucket):
    """A store that overwrites despite If-None-Match fails the probe, and the probe key goes."""
    storage = S3Storage(s3_bucket.url, s3_bucket.storage_options())
    storage.fs = IgnoresIfNoneMatch(storage.fs)  # type: ignore[assignment]
    assert storage.probe_conditional_writes() is False
    assert s3_bucket.keys() == []


def test_listing_cache_option_does_not_hide_other_replicas(s3_bucket: Bucket):
    """Even with s3fs's listing cache turned on in the options, a listing shows what
    another replica wrote after this one listed."""
    options = {**s3_bucket.storage_options(), "use_listings_cache": True}
    reader = S3Storage(s3_bucket.url, options)
    writer = S3Storage(s3_bucket.url, s3_bucket.storage_options())
    assert reader.list_records(PROJECT) == {}
    assert reader.list_projects() == []
    assert writer.create_record(PROJECT, FILENAME, b"{}") is True
    assert list(reader.list_records(PROJECT)) == [FILENAME]
    assert reader.list_projects() == [PROJECT]


def test_write_by_another_client_is_seen(s3_bucket: Bucket):
    """A record put by a client that is no S3Storage at all (another process) is listed,
    read, and refused to a create-only write."""
    storage = S3Storage(s3_bucket.url, s3_bucket.storage_options())
    assert storage.list_records(PROJECT) == {}
    key = f"{s3_bucket.name}/{s3_bucket.prefix}/index/{PROJECT}/{FILENAME}.json"
    s3_bucket.fs().pipe_file(key, b"theirs")
    assert list(storage.list_records(PROJECT)) == [FILENAME]
    assert storage.create_record(PROJECT, FILENAME, b"mine") is False
    assert storage.read_record(PROJECT, FILENAME) == b"theirs"


def test_records_live_under_the_prefix(s3_bucket: Bucket):
    """Everything the store writes is below ``s3://bucket/prefix/`` in the documented layout."""
    storage = S3Storage(s3_bucket.url, s3_bucket.storage_options())
    storage.create_record(PROJECT, FILENAME, b"{}")
    storage.put_blob(f"files/{PROJECT}/{'ab' * 32}/{FILENAME}.metadata", b"Name: demo\n")
    assert s3_bucket.keys() == [
        f"files/{PROJECT}/{'ab' * 32}/{FILENAME}.metadata",
        f"index/{PROJECT}/{FILENAME}.json",
    ]
    assert s3_bucket.fs().ls(s3_bucket.name) == [f"{s3_bucket.name}/{s3_bucket.prefix}"]


# -- failures ----------------------------------------------------------------------------


def test_missing_bucket_is_a_storage_failure(s3_bucket: Bucket):
    """A bucket that does not exist (deleted, misnamed) is a storage failure for every
    read, not an empty store: listing it as empty would answer 404 and send private
    names to the upstream index."""
    storage = S3Storage(f"s3://{s3_bucket.name}-gone/registry", s3_bucket.storage_options())
    with pytest.raises(StorageUnavailable):
        storage.probe()
    with pytest.raises(StorageUnavailable):
        storage.list_projects()
    with pytest.raises(StorageUnavailable):
        storage.list_records(PROJECT)
    with pytest.raises(StorageUnavailable):
        storage.read_record(PROJECT, FILENAME)


def test_missing_bucket_write_is_a_storage_failure(s3_bucket: Bucket):
    """Writing to a bucket that does not exist is a storage failure (503), not a
    FileNotFoundError escaping as a 500."""
    storage = S3Storage(f"s3://{s3_bucket.name}-gone/registry", s3_bucket.storage_options())
    with pytest.raises(StorageUnavailable):
        storage.create_record(PROJECT, FILENAME, b"{}")
    with pytest.raises(StorageUnavailable):
        storage.put_blob(f"files/{PROJECT}/{'ab' * 32}/{FILENAME}.metadata", b"x")


def test_unreachable_endpoint_is_a_storage_failure(s3_bucket: Bucket):
    """An S3 endpoint nobody answers on is a storage failure (503), not botocore's
    EndpointConnectionError escaping as a 500."""
    options = {
        **s3_bucket.storage_options(),
        "endpoint_url": "http://127.0.0.1:9",  # discard port: nothing listens
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    }
    storage = S3Storage(s3_bucket.url, options)
    with pytest.raises(StorageUnavailable):
        storage.list_records(PROJECT)
    with pytest.raises(StorageUnavailable):
        storage.read_record(PROJECT, FILENAME)
    with pytest.raises(StorageUnavailable):
        storage.probe()
