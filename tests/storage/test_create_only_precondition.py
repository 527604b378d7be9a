"""A create-only write refused with 412 means "the key exists", whatever the 412's body
says: AWS and moto name ``<Condition>If-None-Match</Condition>``, SeaweedFS and Ceph RGW
do not (a proxy in front of moto rewrites the body as they send it)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from registry_http import listed, make_wheel, text, upload
from s3_proxy import EMPTY_412, SEAWEEDFS_412, S3Proxy, s3_proxy
from s3_server import Bucket, S3Server

from pyregistry_core import Registry
from pyregistry_core.storage import S3Storage

PROJECT = "demo"
FILENAME = "demo-1.0-py3-none-any.whl"
BODIES = {"seaweedfs-body": SEAWEEDFS_412, "empty-body": EMPTY_412}


@pytest.fixture(params=sorted(BODIES))
def quiet_412(request: pytest.FixtureRequest, s3_server: S3Server) -> Iterator[S3Proxy]:
    """moto behind a proxy whose 412 answers name no condition."""
    with s3_proxy(s3_server, rewrite_412=BODIES[request.param]) as proxy:
        yield proxy


def test_second_create_is_refused_as_exists(quiet_412: S3Proxy, s3_bucket: Bucket):
    """The second create-only write of one record returns False (not an OSError), and
    the first writer's bytes stay."""
    bucket = quiet_412.bucket(s3_bucket)
    storage = S3Storage(bucket.url, bucket.storage_options())
    assert storage.create_record(PROJECT, FILENAME, b"first") is True
    assert storage.create_record(PROJECT, FILENAME, b"second") is False
    assert storage.read_record(PROJECT, FILENAME) == b"first"


def test_startup_probe_passes(quiet_412: S3Proxy, s3_bucket: Bucket):
    """The startup probe reads such a 412 as "conditional writes honoured" and leaves no key."""
    bucket = quiet_412.bucket(s3_bucket)
    assert S3Storage(bucket.url, bucket.storage_options()).probe_conditional_writes() is True
    assert s3_bucket.keys() == []


def test_registry_starts_and_refuses_a_taken_filename(quiet_412: S3Proxy, s3_bucket: Bucket):
    """A registry starts on such a store, and a second upload of one filename with other
    bytes is PyPI's 400 "File already exists" (twine --skip-existing depends on it)."""
    bucket = quiet_412.bucket(s3_bucket)
    registry = Registry.from_config(bucket.url_config(**{"pypi.default_write": "everyone"}))
    dist = make_wheel("demo", "1.0")
    assert upload(registry, dist).status == 200
    conflict = upload(registry, make_wheel("demo", "1.0", salt="other bytes"))
    assert conflict.status == 400
    assert text(conflict).startswith("File already exists")
    assert listed(registry, "demo") == {dist.filename: dist.sha256}
