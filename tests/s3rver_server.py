"""s3rver, a fake S3 server (npm) that ignores ``If-None-Match``: a store pyregistry must
refuse to start on, unless ``storage.single_writer`` is set.

A create-only PUT to s3rver overwrites whatever the key holds, as some S3-compatible
services still do. The first test that needs it installs it into ``tests/node`` with
npm (the version ``tests/node/package.json`` pins; a few seconds), so the README's test
command stays the whole setup. It accepts only its fixed credentials, ``S3RVER``.
"""

from __future__ import annotations

import http.client
import subprocess
import time
from pathlib import Path

from s3_server import HOST, S3Server, _free_port

NODE_DIR = Path(__file__).resolve().parent / "node"
BINARY = NODE_DIR / "node_modules" / ".bin" / "s3rver"
INSTALL_TIMEOUT = 300.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0


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

    access_key = "S3RVER"
    secret_key = "S3RVER"  # s3rver's fixed dummy credentials

    def __init__(self, workdir: Path) -> None:
        _install()
        self.port = _free_port()
        self.endpoint_url = f"http://{HOST}:{self.port}"
        self.log_path = workdir / "s3rver.log"
        self._fs = None
        self._session = None
        (workdir / "data").mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [
                str(BINARY),
                "--directory",
                str(workdir / "data"),
                "--address",
                HOST,
                "--port",
                str(self.port),
                "--silent",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"s3rver exited with {self.process.returncode}:\n{self.log_text()}")
            connection = http.client.HTTPConnection(HOST, self.port, timeout=1.0)
            try:
                connection.request("GET", "/")
                connection.getresponse().read()
                return
            except OSError as error:
                last = repr(error)
            finally:
                connection.close()
            time.sleep(0.1)
        raise RuntimeError(f"s3rver not ready after {START_TIMEOUT} s ({last}):\n{self.log_text()}")

    def stop(self) -> None:
        """Stop s3rver."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self._log.close()
