"""Where a replica on a remote store keeps an upload's bytes while it checks them.

An upload is received into a scratch file on the replica's own disk (memory stays
bounded, and the bytes are hashed and validated before anything is stored). For a
local store that file is under the store's ``.staging/``; for a remote one it is in
one directory per user under the system's temporary directory, so that a file a
killed process left behind is found there by ``pyregistry fsck`` run on that host
(and removed by ``--clean``), rather than lost among other programs' temporary files.

Invariant: the directory is this user's own (created 0700, never a symlink, owned by
us); when it is not, files go to the temporary directory as before, unnamed for fsck.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterator

__all__ = ["PREFIX", "host_scratch_dir", "scratch_files"]

PREFIX = "upload-"


def host_scratch_dir() -> str | None:
    """This user's scratch directory for uploads (made on first use), or None when a
    path of that name exists and is not safely ours."""
    path = os.path.join(tempfile.gettempdir(), f"pyregistry-staging-{os.getuid()}")
    try:
        os.mkdir(path, 0o700)
    except FileExistsError:
        pass
    except OSError:
        return None
    found = os.lstat(path)
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        return None
    return path


def scratch_files(directory: str) -> Iterator[tuple[str, float]]:
    """Each upload scratch file in ``directory`` with its modification time."""
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(PREFIX) and entry.is_file(follow_symlinks=False):
            try:
                yield entry.path, entry.stat(follow_symlinks=False).st_mtime
            except FileNotFoundError:
                continue  # its upload just finished
