"""An S3Storage made before a fork works in the forked child (gunicorn ``--preload``, or a
WSGI server forking an app built at import): each process makes its own s3fs
filesystem on first use, as s3fs refuses to run in a forked child."""

from __future__ import annotations

import os
import warnings

from s3_server import Bucket

from pyregistry_core.storage import S3Storage

PROJECT = "demo"


def _in_forked_child(storage: S3Storage, filename: str) -> int:
    """Create a record in a forked child; its exit status: 0 created, 1 refused, 2 failed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Python 3.12+: fork with threads
        pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        try:
            code = 0 if storage.create_record(PROJECT, filename, b"from the child") else 1
        except BaseException:
            code = 2
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_storage_used_before_a_fork_works_in_the_child(s3_bucket: Bucket):
    """The parent lists (so its filesystem exists), forks; the child creates a record, and
    the parent, still on its own filesystem, sees it."""
    storage = S3Storage(s3_bucket.url, s3_bucket.storage_options())
    assert storage.list_projects() == []
    parent_fs = storage.fs
    assert _in_forked_child(storage, "demo-1.0.tar.gz") == 0
    assert storage.fs is parent_fs
    assert storage.read_record(PROJECT, "demo-1.0.tar.gz") == b"from the child"
    assert _in_forked_child(storage, "demo-1.0.tar.gz") == 1
