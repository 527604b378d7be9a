"""Staged uploads: where an upload's bytes wait while they are received and checked.

An upload is received into a scratch file on the replica's own disk (the archive checks
read it back at random; memory stays bounded whatever the file's size). A store that can
hold staged bytes itself (S3: ``s3_staging.py``) also receives them, streamed as they
arrive, under its ``.staging/`` folder, so that publishing is a copy inside the store
and what a killed replica leaves behind is in the store, where ``pyregistry fsck`` on
any host reports it and ``fsck --clean`` removes it.

Invariants:
1. Every staged copy receives the same bytes from one writer, and a copy in the store
   is complete only when the whole file part was received: a failure while receiving
   discards it, so half an upload is never stored under any key.
2. Publishing is ``Storage.publish_blob`` of the local file, as ever: a store holding a
   complete staged copy of that file copies it inside the store instead of sending
   the bytes again; an incomplete one is never used.
3. When the staging block ends, every staged copy is removed, whatever happened.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import attrs

from ..upload import ByteSink
from .base import StagedUpload, Storage

__all__ = ["LocalStaging", "StagedUpload", "local_staging"]


@attrs.frozen
class LocalStaging:
    """Staging in a local scratch file only."""

    path: str

    def writer(self) -> contextlib.AbstractContextManager[ByteSink]:
        """The scratch file, truncated."""
        return open(self.path, "wb")


@contextlib.contextmanager
def local_staging(storage: Storage) -> Iterator[LocalStaging]:
    """Stage in ``storage.staging_file()`` (removed when the block ends)."""
    with storage.staging_file() as path:
        yield LocalStaging(path)
