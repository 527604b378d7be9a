"""Uploads to S3 are staged in the bucket (moto and SeaweedFS): an upload in flight is
visible to ``fsck`` on any host yet left alone within the grace period, and what a
replica killed while receiving or publishing leaves is reported and cleaned by ``fsck``
run on another host."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import pytest
from distfiles import write_large_wheel
from registry_http import listed, send, text, write_upload_body
from s3_server import Bucket

from pyregistry_core import Registry
from pyregistry_core.storage import S3Storage
from pyregistry_core.storage.fsck import find_orphans, remove_orphans

LATER = 7200.0  # past fsck's one-hour grace
PAUSE_AFTER = 18 * 2**20  # two 8 MiB parts are in the bucket by then
WHEEL = "staged-1.0-py3-none-any.whl"
OPEN = {"pypi.default_write": "everyone"}
_STAGED = "scratch file of an upload that never finished"
KILLED_UPLOAD = Path(__file__).with_name("killed_upload.py")


@pytest.fixture(params=["s3_bucket", "seaweed_bucket"])
def bucket(request: pytest.FixtureRequest) -> Bucket:
    """An empty bucket on moto, then on SeaweedFS."""
    found: Bucket = request.getfixturevalue(request.param)
    return found


@pytest.fixture(scope="module")
def body(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, int]:
    """A 24 MiB wheel's upload body on disk: (path, Content-Type, length)."""
    root = tmp_path_factory.mktemp("staged")
    write_large_wheel(root / WHEEL, "staged", "1.0", 24 * 2**20)
    content_type, length, _ = write_upload_body(root / "body", root / WHEEL, "staged", "1.0")
    return root / "body", content_type, length


def _later() -> float:
    return time.time() + LATER


def _other_host(bucket: Bucket, tmp_path: Path) -> S3Storage:
    """The store as a replica on another host sees it (its own, empty, scratch directory)."""
    storage = S3Storage(bucket.url, bucket.storage_options())
    storage.scratch_dir = str(tmp_path / "other-host")
    Path(storage.scratch_dir).mkdir(mode=0o700)
    return storage


def _multipart_uploads(bucket: Bucket) -> list[str]:
    page = bucket.fs().call_s3("list_multipart_uploads", Bucket=bucket.name)
    return [str(u["Key"]) for u in page.get("Uploads") or ()]


def _staged_objects(bucket: Bucket) -> list[str]:
    found = bucket.fs().find(f"{bucket.name}/{bucket.prefix}/.staging", detail=True)
    return [name for name, info in found.items() if info["type"] == "file"]


class _PausingBody:
    """A request body that calls ``pause()`` once, after ``PAUSE_AFTER`` bytes were read."""

    def __init__(self, body: IO[bytes], pause: Any) -> None:
        self._body, self._pause, self._read = body, pause, 0

    def read(self, size: int = -1) -> bytes:
        if self._pause is not None and self._read >= PAUSE_AFTER:
            pause, self._pause = self._pause, None
            pause()
        chunk = self._body.read(size)
        self._read += len(chunk)
        return chunk


def test_an_upload_in_flight_is_staged_in_the_bucket_where_fsck_sees_it_but_waits(
    bucket: Bucket, body: tuple[Path, str, int], tmp_path: Path
):
    """Halfway through a 24 MiB upload its bytes are a multipart upload under .staging/
    that fsck on another host can see yet does not report within its grace period; the
    upload then answers 200 and leaves nothing staged."""
    registry = Registry.from_config(bucket.url_config(shared_session=True, **OPEN))
    assert isinstance(registry.storage, S3Storage)
    registry.storage.scratch_dir = str(tmp_path)
    other = _other_host(bucket, tmp_path)
    seen: dict[str, Any] = {}

    def look() -> None:
        seen["uploads"] = _multipart_uploads(bucket)
        seen["now"] = list(find_orphans(other))
        seen["later"] = list(find_orphans(other, now=_later))

    path, content_type, length = body
    with path.open("rb") as stream:
        headers = {"Content-Type": content_type, "Content-Length": str(length)}
        response = send(registry, "POST", "/legacy/", _PausingBody(stream, look), headers)  # type: ignore[arg-type]
    assert (response.status, text(response)) == (200, "OK\n")
    [key] = seen["uploads"]
    assert key.startswith(f"{bucket.prefix}/.staging/upload-")
    assert seen["now"] == []  # in flight: fsck leaves it alone
    assert [(o.key, o.why) for o in seen["later"]] == [
        (key[len(bucket.prefix) + 1 :], "multipart upload that never completed")
    ]
    assert WHEEL in listed(registry, "staged")
    assert (_multipart_uploads(bucket), _staged_objects(bucket)) == ([], [])
    assert list(find_orphans(other, now=_later)) == []


@pytest.mark.parametrize(
    ("when", "found"),
    [
        ("receiving", [(True, "multipart upload that never completed")]),
        # the wheel's .metadata was stored just before: an orphan blob without a record
        ("publishing", [(False, "no live record publishes it"), (True, _STAGED)]),
    ],
)
def test_what_a_killed_upload_left_in_the_bucket_is_found_and_cleaned_from_another_host(
    bucket: Bucket, body: tuple[Path, str, int], tmp_path: Path, when: str, found: list[tuple[bool, str]]
):
    """A replica killed while receiving an upload leaves a multipart upload, one killed
    once the bytes were staged leaves a staged object: fsck on another host reports it
    only once older than its grace, and --clean removes it, leaving nothing staged."""
    config = tmp_path / "config.json"
    config.write_text(json.dumps(bucket.url_config(**OPEN)))
    path, content_type, length = body
    (tmp_path / "killed-host").mkdir(mode=0o700)
    command = [sys.executable, str(KILLED_UPLOAD), str(config), str(path), content_type, str(length)]
    killed = subprocess.run(
        [*command, str(tmp_path / "killed-host"), when], capture_output=True, timeout=120, check=False
    )
    assert killed.returncode == 9, killed.stderr.decode()[-2000:]
    other = _other_host(bucket, tmp_path)
    assert list(find_orphans(other)) == []  # young: it might still be in flight
    orphans = list(find_orphans(other, now=_later))
    assert sorted((o.key.startswith(".staging/upload-"), o.why) for o in orphans) == found
    assert remove_orphans(other, orphans) == len(found)
    assert (_multipart_uploads(bucket), _staged_objects(bucket)) == ([], [])
    assert list(find_orphans(other, now=_later)) == []
    assert list(Path(other.scratch_dir or "").iterdir()) == []  # nothing was on this host
