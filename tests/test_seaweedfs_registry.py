"""A registry on SeaweedFS (``weed mini``), a real S3 implementation: it starts (its 412
names no condition), refuses a taken filename, and takes a 20 MiB wheel as a multipart
upload that streams back byte for byte."""

from __future__ import annotations

import hashlib
from pathlib import Path

from distfiles import write_large_wheel
from registry_http import listed, make_wheel, send, text, upload, write_upload_body
from s3_server import Bucket

from pyregistry_core import Registry
from pyregistry_core.storage import S3Storage

OPEN = {"pypi.default_write": "everyone"}
PAYLOAD = 20 * 2**20  # more than two of S3Storage's 8 MiB parts


def test_probe_and_create_only_on_seaweedfs(seaweed_bucket: Bucket):
    """SeaweedFS honours If-None-Match: *: the startup probe passes and leaves no key, and
    a second create of one record is "exists", not a storage failure."""
    storage = S3Storage(seaweed_bucket.url, seaweed_bucket.storage_options())
    assert storage.probe_conditional_writes() is True
    assert storage.create_record("demo", "demo-1.0.tar.gz", b"first") is True
    assert storage.create_record("demo", "demo-1.0.tar.gz", b"second") is False
    assert storage.read_record("demo", "demo-1.0.tar.gz") == b"first"
    stored = seaweed_bucket.keys("")
    assert [key for key in stored if ".probe" in key] == []


def test_registry_on_seaweedfs_refuses_a_taken_filename(seaweed_bucket: Bucket):
    """A registry starts on SeaweedFS; other bytes under a taken filename are PyPI's 400."""
    registry = Registry.from_config(seaweed_bucket.url_config(**OPEN))
    dist = make_wheel("demo", "1.0")
    assert upload(registry, dist).status == 200
    conflict = upload(registry, make_wheel("demo", "1.0", salt="other bytes"))
    assert (conflict.status, text(conflict).startswith("File already exists")) == (400, True)
    assert listed(registry, "demo") == {dist.filename: dist.sha256}


def test_twenty_megabyte_wheel_on_seaweedfs(seaweed_bucket: Bucket, tmp_path: Path):
    """A 20 MiB wheel goes up in multipart parts and downloads with the same sha256."""
    wheel = tmp_path / "big_blob-1.0-py3-none-any.whl"
    write_large_wheel(wheel, "big-blob", "1.0", PAYLOAD)
    content_type, length, digest = write_upload_body(tmp_path / "body", wheel, "big-blob", "1.0")
    registry = Registry.from_config(seaweed_bucket.url_config(**OPEN))
    with (tmp_path / "body").open("rb") as body:
        response = send(
            registry, "POST", "/legacy/", body, {"Content-Type": content_type, "Content-Length": str(length)}
        )
    assert (response.status, text(response)) == (200, "OK\n")
    download = send(registry, "GET", f"/files/big-blob/{digest}/{wheel.name}")
    assert download.status == 200
    hasher = hashlib.sha256()
    for chunk in download.body.chunks():  # type: ignore[union-attr]
        hasher.update(chunk)
    assert hasher.hexdigest() == digest
    info = seaweed_bucket.fs().info(f"{seaweed_bucket.name}/registry/files/big-blob/{digest}/{wheel.name}")
    assert info["size"] == wheel.stat().st_size
    assert "-" in info["ETag"]  # a multipart object's ETag is "<md5 of part md5s>-<parts>"
