"""``pyregistry serve --workers 2`` on S3 stops cleanly on SIGTERM: every worker exits by
itself (none is killed at gunicorn's graceful timeout) and the master exits 0, though
the master opened the store before forking the workers."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from e2e_support import SIMPLE_JSON
from registry_http import make_wheel
from s3_server import S3Server
from test_replicas_e2e import Replica

pytestmark = pytest.mark.e2e

STOP_WAIT = 120.0  # a bound on the wait, not an assertion: gunicorn's graceful timeout is 30 s


@pytest.mark.parametrize("server", ["s3_server", "seaweed_server"])
def test_two_workers_on_s3_exit_cleanly(server: str, request: pytest.FixtureRequest, tmp_path: Path):
    """Both workers serve (an upload, pages), then SIGTERM to the master: both log their
    exit, none is sent SIGKILL, and the master's exit status is 0."""
    s3: S3Server = request.getfixturevalue(server)
    bucket = s3.new_bucket("exit")
    config = tmp_path / "pyregistry.ini"
    lines = [
        f"{key} = {value}" for key, value in bucket.url_config(**{"pypi.default_write": "everyone"}).items()
    ]
    config.write_text("[pyregistry]\n" + "\n".join(lines) + "\n")
    replica = Replica(config, tmp_path, f"exit-{server}", workers=2)
    try:
        assert replica.upload(make_wheel("demo", "1.0")).status == 200
        for _ in range(8):  # several connections: both workers take some
            assert replica.request("GET", "/simple/demo/", {"Accept": SIMPLE_JSON}).status == 200
        replica.process.send_signal(signal.SIGTERM)
        assert replica.process.wait(STOP_WAIT) == 0
    finally:
        replica.stop()
    log = replica.log_text()
    assert log.count("Booting worker") == 2, log
    assert log.count("Worker exiting") == 2, log
    assert "SIGKILL" not in log, log
