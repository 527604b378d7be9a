"""A replica killed in the middle of an upload to S3, for ``test_staging_object_store.py``.

``python killed_upload.py CONFIG.json BODY CONTENT_TYPE LENGTH SCRATCH_DIR WHEN`` uploads
the body to a registry built from the JSON config, staging on this "host" in
``SCRATCH_DIR``, and ends the process with ``os._exit(9)`` (no handler, no cleanup runs,
as under SIGKILL) either while the body is being received (``receiving``, after 12 MiB)
or once the staged bytes are complete and about to be published (``publishing``).
"""

from __future__ import annotations

import json
import os
import sys
from typing import IO

from pyregistry_core import Registry, handle
from pyregistry_core.storage import S3Storage
from pyregistry_core.web.handle import Request

_KILL_AFTER = 12 * 2**20


class _DiesWhileReading:
    """A request body whose reader's process dies after ``_KILL_AFTER`` bytes."""

    def __init__(self, body: IO[bytes]) -> None:
        self._body = body
        self._read = 0

    def read(self, size: int = -1) -> bytes:
        if self._read >= _KILL_AFTER:
            os._exit(9)
        chunk = self._body.read(size)
        self._read += len(chunk)
        return chunk


def main() -> None:
    """Upload, and die at the point named on the command line."""
    config_path, body_path, content_type, length, scratch, when = sys.argv[1:]
    with open(config_path) as handle_:
        registry = Registry.from_config(json.load(handle_))
    registry.storage.scratch_dir = scratch  # type: ignore[attr-defined]
    if when == "publishing":
        S3Storage.publish_blob = lambda self, path, key: os._exit(9)  # type: ignore[method-assign]
    with open(body_path, "rb") as body:
        stream = _DiesWhileReading(body) if when == "receiving" else body
        headers = {"content-type": content_type, "content-length": length}
        handle(registry, Request("POST", "/legacy/", {}, headers, stream, root_url="http://testserver"))
    sys.exit("the upload finished: nothing was killed")


if __name__ == "__main__":
    main()
