"""A server killed in the middle of a large streaming upload (RELIABILITY.md promise 4):
after a restart nothing partial is listed, the retried upload succeeds, and
``pyregistry fsck`` finds only the dead upload's scratch file — never a key a live record
needs — and removes it with ``--clean`` once it is older than the grace period."""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from distfiles import write_large_wheel
from e2e_support import (
    BIN,
    HOST,
    Server,
    file_digests,
    multipart,
    output,
    post_file,
    upload_fields,
    write_config,
)

pytestmark = pytest.mark.e2e

PAYLOAD = 48 * 2**20
STAGED_BEFORE_KILL = 8 * 2**20  # the worker has written this much of the upload
WAIT = 30.0
HOUR_AND_MORE = 2 * 3600


def _fsck(config: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "pyregistry"), "fsck", "--config", str(config), *extra],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _staged(staging: Path) -> list[Path]:
    return sorted(p for p in staging.iterdir() if p.name.startswith("upload-"))


def test_killed_mid_upload(tmp_path: Path, uploader_hash: str):
    """SIGKILL of the whole server mid-upload, then a restart: nothing is listed, the
    retry is stored whole, fsck reports no orphan a live record needs, and ``--clean``
    removes the dead upload's scratch file once it is old."""
    packages = tmp_path / "packages"
    config = write_config(
        tmp_path / "pyregistry.ini", packages, uploader_hash, **{"pypi.max_upload_size": "1GiB"}
    )
    wheel = tmp_path / "crash_demo-1.0-py3-none-any.whl"
    write_large_wheel(wheel, "crash-demo", "1.0", PAYLOAD)
    sha256 = file_digests(wheel)["sha256"]
    fields = upload_fields(wheel, "crash-demo", "1.0", sha256=sha256)

    server = Server("serve", config, tmp_path / "first.log", tmp_path)
    try:
        body = multipart(fields, wheel.name, wheel.stat().st_size)
        connection = http.client.HTTPConnection(HOST, server.port, timeout=60)
        connection.putrequest("POST", "/legacy/")
        connection.putheader("Content-Type", body.content_type)
        connection.putheader("Content-Length", str(body.length))
        connection.endheaders()
        connection.send(body.head)
        with wheel.open("rb") as handle:
            connection.send(handle.read(wheel.stat().st_size // 2))
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and not any(
            p.stat().st_size >= STAGED_BEFORE_KILL for p in _staged(packages / ".staging")
        ):
            time.sleep(0.05)
        assert any(p.stat().st_size >= STAGED_BEFORE_KILL for p in _staged(packages / ".staging"))
        os.killpg(server.process.pid, signal.SIGKILL)
        server.process.wait(WAIT)
        connection.close()
    finally:
        server.stop()
    (leftover,) = _staged(packages / ".staging")

    server = Server("serve", config, tmp_path / "second.log", tmp_path)
    try:
        assert server.request("GET", "/simple/crash-demo/").status == 404
        assert server.request("GET", f"/files/crash-demo/{sha256}/{wheel.name}").status == 404
        reply = post_file(server, wheel, fields)
        assert (reply.status, reply.body) == (200, b"OK\n")
        (entry,) = server.project_json("crash-demo")["files"]
        assert (entry["filename"], entry["hashes"]["sha256"], entry["size"]) == (
            wheel.name,
            sha256,
            wheel.stat().st_size,
        )

        live = f"files/crash-demo/{sha256}/{wheel.name}"
        young = _fsck(config)
        assert (young.returncode, young.stdout) == (0, "no orphans\n"), output(young)

        old = time.time() - HOUR_AND_MORE
        os.utime(leftover, (old, old))
        report = _fsck(config)
        assert report.returncode == 0, output(report)
        assert report.stdout.splitlines() == [
            f"orphan: .staging/{leftover.name} (scratch file of an upload that never finished)"
        ]
        assert live not in report.stdout
        cleaned = _fsck(config, "--clean")
        assert cleaned.returncode == 0, output(cleaned)
        assert cleaned.stdout.splitlines()[-1] == "removed 1 orphans"
        assert not leftover.exists()
        assert (packages / live).is_file()
        assert (packages / f"{live}.metadata").is_file()
        download = server.request("GET", f"/files/crash-demo/{sha256}/{wheel.name}", timeout=120)
        assert download.status == 200
        assert hashlib.sha256(download.body).hexdigest() == sha256
    finally:
        server.stop()
