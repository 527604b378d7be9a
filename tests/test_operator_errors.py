"""Operator mistakes at start: one line saying what is wrong and which key or flag to change,
exit 2, no traceback — through the real ``pyregistry`` command."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PYREGISTRY = Path(sys.executable).parent / "pyregistry"
TIMEOUT = 120  # a bound on a hung command, not an expectation
STORAGE_HINT = "set storage.dir (or storage.url) to a directory this user can create and write"


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``pyregistry ARGS`` with no AWS or pyregistry settings from this machine's environment."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYREGISTRY_", "PPC_", "AWS_"))}
    env.update(
        AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull, AWS_EC2_METADATA_DISABLED="true"
    )
    return subprocess.run(
        [str(PYREGISTRY), *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env=env,
        cwd=cwd,
    )


def one_line_exit_2(result: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a refused start (asserting exit 2, no traceback, nothing else)."""
    shown = f"[exit {result.returncode}]\n{result.stdout}\n{result.stderr}"
    assert result.returncode == 2, shown
    assert "Traceback" not in result.stdout + result.stderr, shown
    lines = result.stderr.splitlines()
    assert len(lines) == 1, shown
    return lines[0]


def config(tmp_path: Path, *lines: str) -> str:
    """An INI file with ``lines`` in its [pyregistry] section."""
    path = tmp_path / "pyregistry.ini"
    path.write_text("[pyregistry]\n" + "\n".join(lines) + "\n")
    return str(path)


def free_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("command", ["serve", "check"])
def test_a_storage_dir_that_cannot_be_created(tmp_path: Path, command: str) -> None:
    """A storage.dir below a regular file is refused naming the path, the reason and the key."""
    (tmp_path / "a-file").write_text("")
    target = tmp_path / "a-file" / "packages"
    line = one_line_exit_2(run(command, "--config", config(tmp_path, f"storage.dir = {target}")))
    why = "Not a directory"
    assert line == f"pyregistry: configuration error: cannot use {target} for storage: {why}; {STORAGE_HINT}"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into a read-only directory")
def test_a_storage_dir_that_cannot_be_written(tmp_path: Path) -> None:
    """An existing storage.dir this user may not write is refused at start, not at the first upload."""
    target = tmp_path / "packages"
    for sub in (".staging", "index", "files"):
        (target / sub).mkdir(parents=True)
    (target / ".staging").chmod(0o555)
    try:
        line = one_line_exit_2(run("check", "--config", config(tmp_path, f"storage.dir = {target}")))
    finally:
        (target / ".staging").chmod(0o755)
    assert line == (
        f"pyregistry: configuration error: cannot use {target} for storage: Permission denied; {STORAGE_HINT}"
    )


def test_an_unreachable_s3_endpoint(tmp_path: Path) -> None:
    """An S3 endpoint that refuses connections is one line naming storage.endpoint_url, without the secret."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    path = config(
        tmp_path,
        "storage.url = s3://packages/pyregistry",
        f"storage.endpoint_url = {endpoint}",
        "storage.access_key = AKIDEXAMPLE",
        "storage.secret_key = very-secret-key-value",
    )
    result = run("serve", "--config", path, "--port", str(free_port()))
    line = one_line_exit_2(result)
    assert line == (
        f"pyregistry: configuration error: cannot reach the storage s3://packages/pyregistry at {endpoint}: "
        f'Could not connect to the endpoint URL: "{endpoint}/packages"; check storage.endpoint_url'
    )
    assert "very-secret-key-value" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("kind", "why"), [("missing", "No such file or directory"), ("directory", "Is a directory")]
)
def test_an_unreadable_config_file(tmp_path: Path, kind: str, why: str) -> None:
    """A --config that cannot be read names the flag and the reason, for serve and the other commands."""
    path = tmp_path / "pyregistry.ini"
    if kind == "directory":
        path.mkdir()
    for command in (["serve"], ["check"], ["token", "list"]):
        line = one_line_exit_2(run(*command, "--config", str(path)))
        assert line == f"pyregistry: cannot read --config {path}: {why}"


def test_tls_files_that_are_missing_or_not_pem(tmp_path: Path) -> None:
    """--certfile/--keyfile that do not exist, or hold no certificate, name both flags."""
    missing = one_line_exit_2(run("serve", "--certfile", "nope.pem", "--keyfile", "nope.key", cwd=tmp_path))
    assert missing == (
        "pyregistry: configuration error: cannot serve TLS: nope.pem: No such file or directory; "
        "check --certfile and --keyfile"
    )
    (tmp_path / "junk.pem").write_text("not a certificate\n")
    junk = one_line_exit_2(run("serve", "--certfile", "junk.pem", "--keyfile", "junk.pem", cwd=tmp_path))
    assert junk.startswith(
        "pyregistry: configuration error: cannot serve TLS with --certfile junk.pem and --keyfile junk.pem: "
        "they are not a PEM certificate and its matching private key ("
    ), junk
