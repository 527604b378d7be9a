"""s3rver, a fake S3 server (npm) that ignores ``If-None-Match``: a store pyregistry must
refuse to start on, unless ``storage.single_writer`` is set.

A create-only PUT to s3rver overwrites whatever the key holds, as some S3-compatible
services still do. The first test that needs it installs it into ``tests/node`` with
npm (the version ``tests/node/package.json`` pins; a few seconds), so the README's test
command stays the whole setup. It accepts only its fixed credentials, ``S3RVER``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from local_server import HOST, free_port, get_status
from s3_server import S3Server

NODE_DIR = Path(__file__).resolve().parent / "node"
BINARY = NODE_DIR / "node_modules" / ".bin" / "s3rver"
INSTALL_TIMEOUT = 300.0


def _install() -> None:
    """``npm install`` tests/node once (node_modules is git-ignored)."""
    if BINARY.exists():
        return
    command = ["npm", "install", "--no-audit", "--no-fund", "--no-package-lock", "--loglevel=error"]
    result = subprocess.run(
        command, cwd=NODE_DIR, capture_output=True, text=True, timeout=INSTALL_TIMEOUT, check=False
    )
    if result.returncode != 0 or not BINARY.exists():
        raise RuntimeError(f"npm install in {NODE_DIR} failed ({result.returncode}):\n{result.stderr}")


class S3rverServer(S3Server):
    """s3rver in a subprocess on a free loopback port, its data in ``workdir``."""

    name = "s3rver"
    stop_timeout = 5.0
    access_key = "S3RVER"
    secret_key = "S3RVER"  # s3rver's fixed dummy credentials

    def __init__(self, workdir: Path) -> None:
        _install()
        self.port = free_port()
        self.endpoint_url = f"http://{HOST}:{self.port}"
        data = workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        command = [
            str(BINARY),
            "--directory",
            str(data),
            "--address",
            HOST,
            "--port",
            str(self.port),
            "--silent",
        ]
        self._start(command, workdir / "s3rver.log")

    def _probe(self) -> None:
        get_status(self.port)
