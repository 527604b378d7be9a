"""A registry on S3 (moto's S3 server): pypicloud's keys and ``storage.url`` both work,
uploads go up in bounded memory as multipart, downloads stream, and a store that does not
honour conditional writes is refused at startup unless ``storage.single_writer`` is set."""

from __future__ import annotations

import hashlib
import math
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
import s3fs
from access_helpers import Dist
from distfiles import core_metadata, sdist_bytes, write_large_wheel
from pyregistry_server.cli import main
from registry_http import (
    body_bytes,
    listed,
    make_wheel,
    send,
    text,
    upload,
    write_upload_body,
)
from request_counts import S3Requests
from s3_server import Bucket

from pyregistry_core import ConfigError, Registry
from pyregistry_core.storage import S3Storage

OPEN = {"pypi.default_write": "everyone"}
UPSTREAM = "http://upstream.invalid/simple/"  # redirect mode needs one; never contacted


def _sdist(name: str, version: str) -> Dist:
    data = sdist_bytes(name, version)
    return Dist(name, version, f"{name}-{version}.tar.gz", data, "sdist", "source")


def _write_ini(path: Path, config: dict[str, Any]) -> Path:
    path.write_text("[pyregistry]\n" + "".join(f"{key} = {value}\n" for key, value in config.items()))
    return path


def _configs(bucket: Bucket, tmp_path: Path) -> dict[str, Any]:
    return {
        "pypicloud-keys": _write_ini(tmp_path / "pypicloud.ini", bucket.pypicloud_config(**OPEN)),
        "storage-url": _write_ini(tmp_path / "url.ini", bucket.url_config(**OPEN)),
    }


@pytest.mark.parametrize("style", ["pypicloud-keys", "storage-url"])
def test_registry_on_s3(s3_bucket: Bucket, tmp_path: Path, style: str):
    """With either config style (INI files) uploads are stored in the bucket under the
    prefix, listed, downloadable byte for byte, with their metadata and JSON API."""
    registry = Registry.from_config(_configs(s3_bucket, tmp_path)[style])
    assert isinstance(registry.storage, S3Storage)
    assert registry.storage.url == f"s3://{s3_bucket.name}/registry"
    wheel, sdist = make_wheel("demo", "1.0"), _sdist("demo", "1.0")
    for dist in (wheel, sdist):
        response = upload(registry, dist)
        assert (response.status, text(response)) == (200, "OK\n")
    assert listed(registry, "demo") == {wheel.filename: wheel.sha256, sdist.filename: sdist.sha256}
    for dist in (wheel, sdist):
        download = send(registry, "GET", f"/files/demo/{dist.sha256}/{dist.filename}")
        assert (download.status, body_bytes(download)) == (200, dist.data)
    metadata = send(registry, "GET", f"/files/demo/{wheel.sha256}/{wheel.filename}.metadata")
    assert (metadata.status, body_bytes(metadata)) == (200, core_metadata("demo", "1.0"))
    api = send(registry, "GET", "/pypi/demo/json")
    assert api.status == 200
    assert '"version": "1.0"' in text(api)
    assert send(registry, "GET", "/health").status == 200
    assert s3_bucket.keys() == sorted(
        [
            f"files/demo/{wheel.sha256}/{wheel.filename}",
            f"files/demo/{wheel.sha256}/{wheel.filename}.metadata",
            f"files/demo/{sdist.sha256}/{sdist.filename}",
            f"files/demo/{sdist.sha256}/{sdist.filename}.pkg-info",
            f"index/demo/{sdist.filename}.json",
            f"index/demo/{wheel.filename}.json",
            "manifests/demo.json",
            "projects.json",
        ]
    )


def test_both_config_styles_name_the_same_store(s3_bucket: Bucket, tmp_path: Path):
    """``pypi.storage = s3`` with bucket and prefix, and ``storage.url = s3://bucket/prefix``,
    are one store: what one registry uploads the other lists and serves."""
    configs = _configs(s3_bucket, tmp_path)
    first = Registry.from_config(configs["pypicloud-keys"])
    second = Registry.from_config(configs["storage-url"])
    dist = make_wheel("demo", "1.0")
    assert upload(first, dist).status == 200
    assert listed(second, "demo") == {dist.filename: dist.sha256}
    conflict = upload(second, make_wheel("demo", "1.0", salt="other bytes"))
    assert conflict.status == 400
    assert text(conflict).startswith("File already exists")


def test_read_your_writes_on_s3(s3_bucket: Bucket):
    """The registry that took an upload lists it at once, even with a long index_ttl and
    its pages cached from before."""
    config = s3_bucket.url_config(shared_session=True, **OPEN, **{"pypi.index_ttl": "3600"})
    registry = Registry.from_config(config)
    first, second = make_wheel("demo", "1.0"), make_wheel("demo", "2.0")
    assert upload(registry, first).status == 200
    assert listed(registry, "demo") == {first.filename: first.sha256}
    assert "demo" in text(send(registry, "GET", "/simple/"))
    assert upload(registry, second).status == 200
    assert listed(registry, "demo") == {first.filename: first.sha256, second.filename: second.sha256}
    assert upload(registry, make_wheel("other", "1.0")).status == 200
    assert "other" in text(send(registry, "GET", "/simple/"))


# -- a big upload ---------------------------------------------------------------------------

BIG_PAYLOAD = 64 * 2**20
PART_SIZE = 8 * 2**20
# Two 8 MiB parts in flight, each held twice by the S3 client (~33 MiB measured), plus
# slack: bounded by the part size, not the file's 64 MiB.
MAX_UPLOAD_PEAK = 40 * 2**20
MAX_DOWNLOAD_PEAK = 8 * 2**20  # 1 MiB read blocks


@pytest.fixture(scope="module")
def big_upload(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int, str, int]:
    """A 64 MiB wheel of project big-blob 1.0 and its upload body, written to disk."""
    root = tmp_path_factory.mktemp("big")
    wheel = root / "big_blob-1.0-py3-none-any.whl"
    write_large_wheel(wheel, "big-blob", "1.0", BIG_PAYLOAD)
    content_type, length, digest = write_upload_body(root / "body", wheel, "big-blob", "1.0")
    return root / "body", content_type, length, digest, wheel.stat().st_size


def test_big_upload_is_multipart_with_bounded_memory(s3_bucket: Bucket, big_upload):
    """A 64 MiB wheel streams into the bucket's staging folder in 8 MiB multipart parts
    while it arrives, is published by one copy inside the store, leaves nothing staged,
    and Python's peak memory stays far below the file's size, also streaming it back."""
    body_path, content_type, length, digest, size = big_upload
    registry = Registry.from_config(s3_bucket.url_config(shared_session=True, **OPEN))
    assert isinstance(registry.storage, S3Storage)
    requests = S3Requests(registry.storage)
    filename = "big_blob-1.0-py3-none-any.whl"
    tracemalloc.start()
    try:
        with body_path.open("rb") as body:
            headers = {"Content-Type": content_type, "Content-Length": str(length)}
            response = send(registry, "POST", "/legacy/", body, headers)
        upload_peak = tracemalloc.get_traced_memory()[1]
        sent = requests.take()
        tracemalloc.reset_peak()
        download = send(registry, "GET", f"/files/big-blob/{digest}/{filename}")
        assert download.status == 200
        hasher, received = hashlib.sha256(), 0
        for chunk in download.body.chunks():  # type: ignore[union-attr]
            hasher.update(chunk)
            received += len(chunk)
        download_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (response.status, text(response)) == (200, "OK\n")
    assert (received, hasher.hexdigest()) == (size, digest)
    peaks = f"peaks: upload {upload_peak / 2**20:.1f} MiB, download {download_peak / 2**20:.1f} MiB"
    assert upload_peak < MAX_UPLOAD_PEAK, peaks
    assert download_peak < MAX_DOWNLOAD_PEAK, peaks
    info = s3_bucket.fs().info(f"{s3_bucket.name}/registry/files/big-blob/{digest}/{filename}")
    assert info["size"] == size
    staged = [line.split()[0] for line in sent if "/.staging/upload-" in line]
    parts = len(staged) - 3  # s3fs sends what it holds once it holds a part's worth
    assert staged == ["POST", *["PUT"] * parts, "POST", "DELETE"]  # begin, parts, complete; removed
    assert size // PART_SIZE <= parts <= math.ceil(size / PART_SIZE)
    blob = f"registry/files/big-blob/{digest}/{filename}"
    assert [line for line in sent if "/files/" in line] == [f"PUT {blob}.metadata", f"PUT {blob}"]
    assert s3_bucket.keys(".staging/") == []


# -- conditional writes probed at startup -----------------------------------------------------


@pytest.fixture
def ignores_if_none_match(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every s3fs client in this process drops If-None-Match, as a store without
    conditional writes ignores it: a create-only PUT overwrites."""
    original = s3fs.S3FileSystem._pipe_file

    async def pipe_file(
        self: Any, path: str, data: bytes, *args: Any, mode: str = "overwrite", **kwargs: Any
    ) -> Any:
        return await original(self, path, data, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_pipe_file", pipe_file)


@pytest.mark.usefixtures("ignores_if_none_match")
def test_store_without_conditional_writes_is_refused(s3_bucket: Bucket, tmp_path: Path, capsys):
    """A store that ignores If-None-Match is refused at startup with a ConfigError that
    names storage.single_writer; ``pyregistry check`` says so and exits 2."""
    with pytest.raises(ConfigError, match=r"storage\.single_writer = true") as error:
        Registry.from_config(s3_bucket.url_config(**OPEN))
    assert "If-None-Match" in error.value.message
    assert s3_bucket.keys() == []  # the probe cleans up after itself
    config = _write_ini(tmp_path / "pyregistry.ini", s3_bucket.url_config(**OPEN))
    assert main(["check", "--config", str(config)]) == 2
    assert "storage.single_writer" in capsys.readouterr().err


@pytest.mark.usefixtures("ignores_if_none_match")
def test_single_writer_runs_without_conditional_writes(s3_bucket: Bucket):
    """``storage.single_writer = true`` skips the refusal: one process serves and uploads,
    and (being the only writer) still refuses other bytes under a taken filename."""
    registry = Registry.from_config(s3_bucket.url_config(**OPEN, **{"storage.single_writer": "true"}))
    dist = make_wheel("demo", "1.0")
    assert upload(registry, dist).status == 200
    assert listed(registry, "demo") == {dist.filename: dist.sha256}
    conflict = upload(registry, make_wheel("demo", "1.0", salt="other bytes"))
    assert conflict.status == 400
    assert text(conflict).startswith("File already exists")


def test_conditional_writes_probe_passes_on_s3(s3_bucket: Bucket, monkeypatch: pytest.MonkeyPatch):
    """On a store that honours If-None-Match the registry starts, having probed it once."""
    calls = []
    original = S3Storage.probe_conditional_writes

    def probe(self: S3Storage) -> bool:
        calls.append(self.url)
        return original(self)

    monkeypatch.setattr(S3Storage, "probe_conditional_writes", probe)
    Registry.from_config(s3_bucket.url_config(**OPEN))
    assert calls == [s3_bucket.url]


# -- a bucket that disappears -------------------------------------------------------------------


def test_lost_bucket_is_503_not_404_or_upstream(s3_bucket: Bucket):
    """When the bucket is gone (deleted, wrong credentials for it), a private project is
    a 503 — not a 404, and in redirect mode not a redirect that sends its name upstream —
    /health says 503, and an upload is a 503, not a 500."""
    registry = Registry.from_config(
        s3_bucket.url_config(
            shared_session=True,
            **OPEN,
            **{"pypi.fallback": "redirect", "pypi.fallback_base_url": UPSTREAM, "pypi.index_ttl": "0"},
        )
    )
    dist = make_wheel("private-thing", "1.0")
    assert upload(registry, dist).status == 200
    fs = s3_bucket.fs()
    fs.rm(f"{s3_bucket.name}/registry", recursive=True)
    fs.call_s3("delete_bucket", Bucket=s3_bucket.name)
    answers = {
        "page": send(registry, "GET", "/simple/private-thing/").status,
        "index": send(registry, "GET", "/simple/").status,
        "health": send(registry, "GET", "/health").status,
        "upload": upload(registry, make_wheel("private-thing", "2.0")).status,
    }
    assert answers == {"page": 503, "index": 503, "health": 503, "upload": 503}


# -- cost of a write on object storage ------------------------------------------------------


def test_own_upload_does_not_reread_every_record(s3_bucket: Bucket):
    """After this process's own upload, the next upload and page view read only what
    changed (the new record), not every record of the project again: on S3 each record
    read is a GET, so re-reading them all makes each upload cost one GET per file."""
    config = s3_bucket.url_config(shared_session=True, **OPEN, **{"pypi.index_ttl": "3600"})
    registry = Registry.from_config(config)
    for number in range(10):
        assert upload(registry, make_wheel("demo", f"1.0.{number}")).status == 200
    assert len(listed(registry, "demo")) == 10
    reads: list[str] = []
    read_record = registry.storage.read_record

    def counting(project: Any, filename: str) -> bytes | None:
        reads.append(filename)
        return read_record(project, filename)

    registry.storage.read_record = counting  # type: ignore[method-assign]
    assert upload(registry, make_wheel("demo", "2.0")).status == 200
    assert len(listed(registry, "demo")) == 11
    assert len(reads) <= 2, f"{len(reads)} record reads for one upload and one page view"
