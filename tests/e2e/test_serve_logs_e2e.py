"""``pyregistry serve --log-format json``: every line the server prints is one JSON object,
and the audit trail's lines carry their fields, under gunicorn's ASGI and sync workers and under uvicorn's."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from access_helpers import basic, upload_form
from e2e_support import BIN, HOST, UPLOADER, UPLOADER_PASSWORD, Server, free_port, output
from registry_http import make_wheel

pytestmark = pytest.mark.e2e


class Serve(Server):
    """``pyregistry serve --config CONFIG`` with extra flags."""

    def __init__(
        self, config: Path | None, workdir: Path, *flags: str, env: Mapping[str, str] | None = None
    ) -> None:
        self.adapter = "serve"
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.index_url = f"{self.url}/simple/"
        self.log_path = workdir / "serve.log"
        command = [str(BIN / "pyregistry"), "serve", "--host", HOST, "--port", str(self.port), *flags]
        if config is not None:
            command += ["--config", str(config)]
        self._launch(command, workdir, env or {})


def private_config(tmp_path: Path, password_hash: str) -> Path:
    """Anyone reads, only the uploader uploads."""
    path = tmp_path / "pyregistry.ini"
    path.write_text(
        "[pyregistry]\n"
        f"storage.dir = {tmp_path / 'packages'}\n"
        "pypi.default_write = authenticated\n"
        f"user.{UPLOADER} = {password_hash}\n"
    )
    return path


def upload(server: Server, headers: dict[str, str]) -> int:
    """POST one wheel; the status."""
    body, content_type = upload_form(make_wheel("demo", "1.0"))
    return server.request("POST", "/legacy/", {"Content-Type": content_type, **headers}, body).status


def json_lines(text: str) -> list[dict[str, Any]]:
    """Every line of the log as JSON (fails on the first line that is not)."""
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("server", ["gunicorn-asgi", "gunicorn", "uvicorn"])
def test_json_logs_carry_the_audit_trail(server: str, tmp_path: Path, uploader_hash: str) -> None:
    """A refused and a stored upload are JSON audit objects; access and server lines are JSON too."""
    config = private_config(tmp_path, uploader_hash)
    flags = ("--server", server, "--workers", "2", "--log-format", "json", "--access-log")
    running = Serve(config, tmp_path, *flags)
    try:
        assert upload(running, {}) == 401
        assert upload(running, {"Authorization": basic(UPLOADER, UPLOADER_PASSWORD)}) == 200
        assert running.request("GET", "/simple/").status == 200
    finally:
        running.stop()
    text = running.log_text()
    lines = json_lines(text)
    assert all(set(line) >= {"time", "level", "logger", "message"} for line in lines), text
    audit = [line for line in lines if line["logger"] == "pyregistry.audit"]
    assert [{k: v for k, v in line.items() if k not in ("time", "message")} for line in audit] == [
        {
            "level": "WARNING",
            "logger": "pyregistry.audit",
            "actor": "anonymous",
            "action": "upload",
            "project": "",
            "target": "",
            "outcome": "refused",
            "client": "127.0.0.1",
            "reason": "Authentication required.",
        },
        {
            "level": "INFO",
            "logger": "pyregistry.audit",
            "actor": UPLOADER,
            "action": "upload",
            "project": "demo",
            "target": "demo-1.0-py3-none-any.whl",
            "outcome": "ok",
            "client": "127.0.0.1",
            "detail": "stored",
        },
    ], text
    loggers = {line["logger"] for line in lines}
    assert "pyregistry.access" in loggers, text
    assert ("uvicorn.error" if server == "uvicorn" else "gunicorn.error") in loggers, text
    assert UPLOADER_PASSWORD not in text


@pytest.mark.parametrize("server", ["gunicorn-asgi", "gunicorn", "uvicorn"])
def test_requests_are_logged_only_with_access_log(server: str, tmp_path: Path, uploader_hash: str) -> None:
    """Without ``--access-log`` no line names a request; with it, exactly one line per request."""
    config = private_config(tmp_path, uploader_hash)
    logs = {}
    for flags in ((), ("--access-log",)):
        workdir = tmp_path / f"serve{len(flags)}"
        workdir.mkdir()
        running = Serve(config, workdir, "--server", server, *flags)
        try:
            assert running.request("GET", "/simple/demo/").status == 404
        finally:
            running.stop()
        logs[flags] = running.log_text()
    assert "/simple/demo/" not in logs[()], logs[()]
    lines = [line for line in logs[("--access-log",)].splitlines() if "/simple/demo/" in line]
    assert len(lines) == 1, lines
    assert '"GET /simple/demo/' in lines[0], lines
    assert " 404 " in lines[0], lines


def startup_lines(text: str) -> list[str]:
    """The start-up line(s) of a text log, without their time stamp."""
    return [line.split(" ", 2)[2] for line in text.splitlines() if " pyregistry serving " in line]


def test_the_startup_line_says_who_may_read_and_upload(tmp_path: Path, uploader_hash: str) -> None:
    """One line names the address, the server, who reads, who uploads, the fallback and the storage."""
    config = private_config(tmp_path, uploader_hash)
    running = Serve(config, tmp_path, "--workers", "1")
    running.stop()
    assert startup_lines(running.log_text()) == [
        f"pyregistry serving http://{HOST}:{running.port}/simple/ (gunicorn-asgi, 1 worker); read: everyone; "
        "upload: authenticated; fallback: none (names not held here are 404); "
        f"storage: file://{tmp_path / 'packages'}"
    ], running.log_text()


def test_the_startup_line_masks_upstream_credentials(tmp_path: Path, uploader_hash: str) -> None:
    """A fallback upstream's password never reaches the log; its host and mode do."""
    config = private_config(tmp_path, uploader_hash)
    config.write_text(
        config.read_text()
        + "pypi.fallback = redirect\npypi.fallback_base_url = https://ci:hunter2@upstream.invalid/simple/\n"
        + "pypi.default_read = authenticated\npackage.demo.user.e2e = rw\n"
    )
    running = Serve(config, tmp_path, "--workers", "1", "--server", "uvicorn")
    running.stop()
    assert startup_lines(running.log_text()) == [
        f"pyregistry serving http://{HOST}:{running.port}/simple/ (uvicorn, 1 worker); read: authenticated; "
        "upload: authenticated (plus per-project rules for 1 project); "
        "fallback: redirect to https://ci:***@upstream.invalid/simple; "
        f"storage: file://{tmp_path / 'packages'}"
    ], running.log_text()
    assert "hunter2" not in running.log_text()


def serve_on_taken_port(tmp_path: Path, host: str, *flags: str) -> subprocess.CompletedProcess[str]:
    """``pyregistry serve --host HOST`` on a port another socket listens on (it never listens)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind((HOST, 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = [str(BIN / "pyregistry"), "serve", "--host", host, "--port", str(port), *flags]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, cwd=tmp_path)


def test_a_port_in_use_exits_2_naming_the_flags(tmp_path: Path, uploader_hash: str) -> None:
    """A taken port is one line naming --port and --host, exit 2, no traceback."""
    config = private_config(tmp_path, uploader_hash)
    result = serve_on_taken_port(tmp_path, HOST, "--config", str(config))
    port = result.args[result.args.index("--port") + 1]
    assert result.returncode == 2, output(result)
    assert result.stderr == (
        f"pyregistry: configuration error: cannot listen on {HOST} port {port}: Address already in use; "
        "choose another --port, or another --host\n"
    ), output(result)


def test_no_config_beyond_loopback_warns_loudly(tmp_path: Path) -> None:
    """The embedded default on a non-loopback address logs a WARNING saying who can read and what to do."""
    result = serve_on_taken_port(tmp_path, "0.0.0.0")  # noqa: S104 - the port is taken: it never listens
    assert result.returncode == 2, output(result)
    warnings = [line.split(" ", 2)[2] for line in result.stdout.splitlines() if "NO CONFIG FILE" in line]
    assert warnings == [
        "pyregistry NO CONFIG FILE, LISTENING BEYOND THIS MACHINE (0.0.0.0): the embedded default lets "
        "anyone who can reach this address read every package (uploads need a user, and it has none). "
        "Write a config (pyregistry init --output pyregistry.ini) and pass --config, or listen on 127.0.0.1."
    ], output(result)
    loopback = serve_on_taken_port(tmp_path, HOST)
    assert "NO CONFIG FILE" not in loopback.stdout + loopback.stderr, output(loopback)


def test_one_uvicorn_worker_reloads_on_sighup(tmp_path: Path, uploader_hash: str) -> None:
    """With a single uvicorn worker SIGHUP reloads the config (uvicorn alone would exit)."""
    config = private_config(tmp_path, uploader_hash)
    config.write_text(config.read_text() + "pypi.default_read = authenticated\n")
    running = Serve(config, tmp_path, "--server", "uvicorn", "--workers", "1")
    try:
        assert running.request("GET", "/simple/").status == 401
        config.write_text(config.read_text().replace("pypi.default_read = authenticated", ""))
        os.kill(running.process.pid, signal.SIGHUP)
        # The old worker answers until its replacement is ready: wait for five 200s in a row.
        deadline = time.monotonic() + 60  # a bound on the wait, not an expectation
        streak = 0
        while streak < 5 and time.monotonic() < deadline:
            streak = streak + 1 if running.request("GET", "/simple/").status == 200 else 0
            time.sleep(0.1)
        assert streak == 5, running.log_text()
        assert running.process.poll() is None
    finally:
        running.stop()
    assert f"configuration reloaded from {config}" in running.log_text()


@pytest.mark.parametrize("server", ["gunicorn", "uvicorn"])
def test_no_access_lines_without_the_flag(server: str, tmp_path: Path, uploader_hash: str):
    """Without ``--access-log`` a request leaves no line, not even the server's own access line."""
    running = Serve(
        private_config(tmp_path, uploader_hash), tmp_path, "--server", server, "--log-format", "json"
    )
    try:
        assert running.request("GET", "/simple/").status == 200
        assert running.request("GET", "/simple/demo/").status == 404
    finally:
        running.stop()
    lines = json_lines(running.log_text())
    assert [line for line in lines if '"GET /simple/' in line["message"]] == [], running.log_text()


def test_one_access_line_per_request_under_gunicorn(tmp_path: Path, uploader_hash: str):
    """With ``--access-log`` under gunicorn each request leaves exactly one line, pyregistry's."""
    flags = ("--workers", "1", "--log-format", "json", "--access-log")
    running = Serve(private_config(tmp_path, uploader_hash), tmp_path, *flags)
    try:
        assert running.request("GET", "/simple/").status == 200
        assert running.request("GET", "/simple/demo/").status == 404
    finally:
        running.stop()
    lines = json_lines(running.log_text())
    access = [line["logger"] for line in lines if '"GET /simple/' in line["message"]]
    assert access == ["pyregistry.access"] * 2, running.log_text()
