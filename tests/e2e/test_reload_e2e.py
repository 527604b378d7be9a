"""``kill -HUP`` on ``pyregistry serve`` re-reads the config file (deployment.md, "Reloading").

gunicorn starts new workers on SIGHUP and each builds its registry from the file again;
the old workers finish their requests and stop. ``--server uvicorn`` with several
workers restarts them the same way. Polls are bounded by count, not time.
"""

from __future__ import annotations

import base64
import os
import signal
import time
from pathlib import Path

import pytest
from e2e_support import UPLOADER, UPLOADER_PASSWORD, Server, write_config

POLLS = 300  # up to ~30 s of 0.1 s pauses while the new workers boot
PAUSE = 0.1


def basic(user: str, password: str) -> dict[str, str]:
    """An Authorization header for HTTP Basic."""
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


@pytest.mark.parametrize("server_kind", ["serve", "wsgi", "serve-uvicorn"])
def test_sighup_reloads_users_and_permissions(tmp_path: Path, uploader_hash: str, server_kind: str) -> None:
    """After a user is added to the file and the server gets SIGHUP, that user reads: 401 becomes 200."""
    config = write_config(
        tmp_path / "pyregistry.ini",
        tmp_path / "packages",
        uploader_hash,
        **{"pypi.default_read": "authenticated"},
    )
    server = Server(server_kind, config, tmp_path / "server.log", tmp_path)
    try:
        bob = basic("bob", UPLOADER_PASSWORD)
        assert server.request("GET", "/simple/", bob).status == 401  # bob is nobody yet
        assert server.request("GET", "/simple/", basic(UPLOADER, UPLOADER_PASSWORD)).status == 200
        with config.open("a") as handle:
            handle.write(f"user.bob = {uploader_hash}\n")
        os.kill(server.process.pid, signal.SIGHUP)
        statuses = []
        for _ in range(POLLS):
            statuses.append(server.request("GET", "/simple/", bob).status)
            if statuses[-1] == 200:
                break
            time.sleep(PAUSE)
        assert statuses[-1] == 200, server.log_text()[-3000:]
        assert set(statuses) <= {401, 200}  # no request failed while workers were replaced
        assert server.process.poll() is None  # the same master serves on
        assert (
            "Received SIGHUP" if server_kind == "serve-uvicorn" else "Handling signal: hup"
        ) in server.log_text()
    finally:
        server.stop()
