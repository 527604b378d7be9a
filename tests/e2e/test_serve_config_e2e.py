"""``pyregistry serve`` and its config: strict at start and on SIGHUP, warnings seen once."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from e2e_support import BIN, HOST, Server, free_port, output, write_config

RELOAD_TIMEOUT = 30.0


def _wait_for_log(server: Server, text: str, offset: int) -> str:
    """The server's log after ``offset`` once it contains ``text`` (bounded wait)."""
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while time.monotonic() < deadline:
        tail = server.log_text()[offset:]
        if text in tail:
            return tail
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not logged:\n{server.log_text()[offset:]}")


def _status_becomes(server: Server, path: str, status: int) -> int:
    """Poll ``path`` until it answers ``status`` (new workers take a moment), bounded."""
    deadline = time.monotonic() + RELOAD_TIMEOUT
    seen = server.request("GET", path).status
    while seen != status and time.monotonic() < deadline:
        time.sleep(0.1)
        seen = server.request("GET", path).status
    return seen


def test_pypicloud_keys_are_warned_once_in_serve_output(tmp_path: Path, uploader_hash: str) -> None:
    """Each of pypicloud's unused keys gets one warning line in serve's output, whatever the workers."""
    config = write_config(
        tmp_path / "pyregistry.ini",
        tmp_path / "packages",
        uploader_hash,
        **{"pypi.db": "sql", "pyramid.reload_templates": "true"},
    )
    server = Server("serve", config, tmp_path / "server.log", tmp_path)
    try:
        log = server.log_text()
    finally:
        server.stop()
    lines = log.splitlines()
    db = [line for line in lines if "ignoring pypicloud setting pypi.db" in line]
    pyramid = [line for line in lines if "ignoring pypicloud setting pyramid.reload_templates" in line]
    assert [line.split(" ", 2)[2] for line in db + pyramid] == [
        "pyregistry ignoring pypicloud setting pypi.db: pyregistry needs no cache database: storage is "
        "the database",
        "pyregistry ignoring pypicloud setting pyramid.reload_templates: Pyramid's own settings",
    ], log


def test_serve_refuses_a_misspelled_key(tmp_path: Path, uploader_hash: str) -> None:
    """`serve` with `pypi.default_raed` exits 2 with one line naming the key, and never listens."""
    config = write_config(
        tmp_path / "pyregistry.ini",
        tmp_path / "packages",
        uploader_hash,
        **{"pypi.default_raed": "authenticated"},
    )
    command = [str(BIN / "pyregistry"), "serve", "--config", str(config), "--host", HOST]
    result = subprocess.run(
        [*command, "--port", str(free_port())], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2, output(result)
    assert result.stderr == (
        "pyregistry: configuration error: unknown key pypi.default_raed (did you mean pypi.default_read?)\n"
    ), output(result)


@pytest.mark.parametrize("kind", ["serve", "wsgi", "serve-uvicorn"])
def test_sighup_refuses_a_typo_and_takes_a_good_config(tmp_path: Path, uploader_hash: str, kind: str) -> None:
    """On SIGHUP a config with a typo is refused (the index stays private); a good one is taken."""
    path = tmp_path / "pyregistry.ini"
    write_config(path, tmp_path / "packages", uploader_hash, **{"pypi.default_read": "authenticated"})
    server = Server(kind, path, tmp_path / "server.log", tmp_path)
    try:
        assert server.request("GET", "/simple/").status == 401
        write_config(path, tmp_path / "packages", uploader_hash, **{"pypi.default_raed": "authenticated"})
        offset = len(server.log_text())
        os.kill(server.process.pid, signal.SIGHUP)
        tail = _wait_for_log(server, "configuration reload refused", offset)
        assert (
            "configuration reload refused, still serving the previous one: unknown key "
            "pypi.default_raed (did you mean pypi.default_read?)"
        ) in tail
        if kind != "serve-uvicorn":  # gunicorn boots new workers on the previous settings
            _wait_for_log(server, "Booting worker", offset)
        else:  # the uvicorn supervisor keeps its workers
            assert "Received SIGHUP" not in server.log_text()[offset:]
        assert server.request("GET", "/simple/").status == 401
        write_config(path, tmp_path / "packages", uploader_hash, **{"pypi.default_read": "everyone"})
        offset = len(server.log_text())
        os.kill(server.process.pid, signal.SIGHUP)
        _wait_for_log(server, f"configuration reloaded from {path}", offset)
        assert _status_becomes(server, "/simple/", 200) == 200
    finally:
        server.stop()
