"""``pyregistry fsck``: find (and remove) what storage holds that no record publishes.

Orphans are bytes under ``files/`` no live record points to (leftovers of an upload
that died before its record was created, or of a delete that died halfway), old
staged uploads under the store's ``.staging/`` (on S3 too: ``s3_staging.py``, so fsck
on any host finds them), scratch files in this host's staging directory
(``scratch.py``), and on S3 multipart uploads that never completed (an upload being
staged, or the publish of a large file, died halfway). Young ones are left alone:
they may belong to an upload in progress on another process.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator

import attrs

from ..names import NormalizedName
from ..records import FileRecord
from .base import Storage
from .scratch import scratch_files

__all__ = ["Orphan", "find_orphans", "remove_orphans"]

_GRACE_SECONDS = 3600.0


@attrs.frozen
class Orphan:
    """A stored key that nothing publishes."""

    key: str
    why: str
    upload_id: str | None = None  # an incomplete multipart upload, aborted rather than deleted
    on_this_host: bool = False  # a scratch file on this host's disk, not in the store


def _live_keys(storage: Storage, project: NormalizedName) -> set[str]:
    keys: set[str] = set()
    for filename in storage.list_records(project):
        data = storage.read_record(project, filename)
        if data is None or filename.startswith("~"):
            continue
        record = FileRecord.from_json(data)
        if not record.deleted:
            keys.update(
                record.blob_key + suffix
                for suffix in ("", ".metadata", ".pkg-info", ".provenance", ".attestations")
            )
    return keys


def find_orphans(
    storage: Storage, *, grace: float = _GRACE_SECONDS, now: Callable[[], float] = time.time
) -> Iterator[Orphan]:
    """Every orphan older than ``grace`` seconds."""
    cutoff = now() - grace
    live: dict[str, set[str]] = {}
    for key, modified in storage.walk_blobs("files/"):
        if modified > cutoff:
            continue
        parts = key.split("/")
        if len(parts) != 4:
            yield Orphan(key, "not in the files/<project>/<sha256>/<filename> layout")
            continue
        project = NormalizedName(parts[1])
        if project not in live:
            live[project] = _live_keys(storage, project)
        if key not in live[project]:
            yield Orphan(key, "no live record publishes it")
    for key, modified in storage.walk_blobs(".staging/"):
        if modified <= cutoff:
            yield Orphan(key, "scratch file of an upload that never finished")
    staging = storage.staging_dir()
    for path, modified in scratch_files(staging) if staging is not None else ():
        if modified <= cutoff:
            yield Orphan(
                path, "scratch file on this host of an upload that never finished", on_this_host=True
            )
    for key, upload_id, started in storage.incomplete_uploads():
        if started <= cutoff:
            yield Orphan(key, "multipart upload that never completed", upload_id)


def remove_orphans(storage: Storage, orphans: list[Orphan]) -> int:
    """Delete the orphans; returns how many were removed."""
    for orphan in orphans:
        if orphan.upload_id is not None:
            storage.abort_upload(orphan.key, orphan.upload_id)
        elif orphan.on_this_host:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(orphan.key)
        else:
            storage.delete_blob(orphan.key)
    return len(orphans)
