"""Helpers for the end-to-end suite: a real server process, real clients, raw HTTP.

Every wait here is bounded; servers bind 127.0.0.1 only; clients run with a clean
environment so they talk to our server and nothing else.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import re
import ssl
import subprocess
import sys
import time
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from local_server import HOST, LocalServer, NotReady, free_port

HEALTH_TIMEOUT = 20.0
CLIENT_TIMEOUT = 180.0
STOP_TIMEOUT = 10.0
BIN = Path(sys.executable).parent
E2E_DIR = Path(__file__).resolve().parent
CONFIG_VARIABLE = "PYREGISTRY_E2E_CONFIG"  # read by asgi_app.create

SIMPLE_JSON = "application/vnd.pypi.simple.v1+json"
# twine will not upload without credentials: the servers know this user.
UPLOADER, UPLOADER_PASSWORD = "e2e", "e2e-secret"

# A request in an access log line: pyregistry's own ('"GET /path" 200', under
# ``pyregistry serve``) and uvicorn's ('"GET /path HTTP/1.1" 200').
_ACCESS_LINE = re.compile(r'"(GET|HEAD|POST) (\S+)(?: HTTP/1\.[01])?" (\d{3})')


# -- raw HTTP --------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    """One HTTP response as received: status, reason, headers and the whole body."""

    status: int
    reason: str
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        """A header's value, or None."""
        return self.headers.get(name)

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


# -- the server process ----------------------------------------------------------------


def write_config(path: Path, storage_dir: Path, password_hash: str, **extra: str) -> Path:
    """Write an INI config with local storage, anonymous upload and the user ``UPLOADER``."""
    lines = [
        "[pyregistry]",
        f"storage.dir = {storage_dir}",
        "pypi.default_write = everyone",
        f"user.{UPLOADER} = {password_hash}",
        *(f"{key} = {value}" for key, value in extra.items()),
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


# The kinds of server that are ``pyregistry serve``, and the flags that choose each:
# "serve" is the default (the ASGI adapter under gunicorn's ASGI worker), "wsgi" the WSGI
# adapter under gunicorn's sync workers, "serve-uvicorn" the ASGI adapter under uvicorn.
# ("asgi" is the ASGI adapter under uvicorn run by hand, as a host app would.)
SERVE_FLAGS: dict[str, tuple[str, ...]] = {
    "serve": (),
    "wsgi": ("--server", "gunicorn"),
    "serve-uvicorn": ("--server", "uvicorn"),
}


class Server(LocalServer):
    """A pyregistry server process on loopback (its own session, so its workers die with it)."""

    start_timeout = HEALTH_TIMEOUT
    stop_timeout = STOP_TIMEOUT
    stop_group = True

    # Plain HTTP unless __init__ is given TLS files (subclasses that launch their own
    # command, as the replicas do, skip __init__).
    _tls_context: ssl.SSLContext | None = None
    mount = ""

    def __init__(
        self,
        adapter: str,
        config: Path,
        log_path: Path,
        workdir: Path,
        *,
        tls: tuple[Path, Path, Path] | None = None,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        mount: str = "",
    ) -> None:
        """``tls`` is (CA, certificate, key): serve HTTPS, and trust the CA for requests;
        ``port`` is chosen beforehand when the config must name the server's own URL;
        ``mount``: serve below this path prefix (``SCRIPT_NAME``), which ``url`` then ends in."""
        self.adapter = adapter
        self.port = port if port is not None else free_port()
        self._tls_context = ssl.create_default_context(cafile=str(tls[0])) if tls else None
        self.mount = mount
        self.url = f"{'https' if tls else 'http'}://{HOST}:{self.port}{mount}"
        if mount:
            env = {**(env or {}), "SCRIPT_NAME": mount}
        self.index_url = f"{self.url}/simple/"
        self.log_path = log_path
        if adapter in SERVE_FLAGS:
            command = [
                str(BIN / "pyregistry"),
                "serve",
                *SERVE_FLAGS[adapter],
                "--config",
                str(config),
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--workers",
                "2",
                "--access-log",
            ]
        elif adapter == "asgi":
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "--app-dir",
                str(E2E_DIR),
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--no-use-colors",
                "--log-level",
                "info",
                "asgi_app:create",
            ]
        else:
            raise ValueError(adapter)
        if tls is not None:
            flags = ("--ssl-certfile", "--ssl-keyfile") if adapter == "asgi" else ("--certfile", "--keyfile")
            command += [flags[0], str(tls[1]), flags[1], str(tls[2])]
        self._launch(command, workdir, {CONFIG_VARIABLE: str(config), **(env or {})})

    def _launch(self, command: list[str], workdir: Path, env: Mapping[str, str]) -> None:
        """Start ``command`` in its own session with its own HOME, and wait until healthy."""
        self.name = f"{self.adapter} server"
        full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "HOME": str(workdir), **env}
        self._start(command, self.log_path, cwd=workdir, env=full_env)

    def _probe(self) -> None:
        reply = self.request("GET", f"{self.mount}/health", timeout=1.0)
        if reply.status != 200:
            raise NotReady(f"status {reply.status}")

    # -- requests and logs ---------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 30.0,
    ) -> Reply:
        """One request on a fresh connection; redirects are not followed."""
        connection = (
            http.client.HTTPSConnection(HOST, self.port, timeout=timeout, context=self._tls_context)
            if self._tls_context is not None
            else http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        )
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            response = connection.getresponse()
            return Reply(response.status, response.reason, response.headers, response.read())
        finally:
            connection.close()

    def log_size(self) -> int:
        """The current length of the server's log, to read what follows later."""
        return self.log_path.stat().st_size

    def requests_since(self, offset: int) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request the access log shows after ``offset``."""
        with self.log_path.open("rb") as log:
            log.seek(offset)
            text = log.read().decode(errors="replace")
        return [(m, p, int(s)) for m, p, s in _ACCESS_LINE.findall(text)]

    def wait_for_request(
        self, offset: int, method: str, path: str, timeout: float = 5.0
    ) -> list[tuple[str, str, int]]:
        """The access log after ``offset``, once it shows ``method path`` (or at the timeout)."""
        deadline = time.monotonic() + timeout
        seen = self.requests_since(offset)
        while time.monotonic() < deadline and not any(m == method and p == path for m, p, _ in seen):
            time.sleep(0.05)
            seen = self.requests_since(offset)
        return seen

    def process_ids(self) -> list[int]:
        """The server's process and its children (gunicorn's workers)."""
        return [self.process.pid, *child_pids(self.process.pid)]

    # -- the index as data ------------------------------------------------------------------

    def project_json(self, project: str) -> dict[str, Any]:
        """The PEP 691 JSON page of a project (asserting 200)."""
        reply = self.request("GET", f"/simple/{project}/", {"Accept": SIMPLE_JSON})
        assert reply.status == 200, (reply.status, reply.body)
        data = reply.json()
        assert isinstance(data, dict)
        return data

    def file_path(self, project: str, filename: str) -> str:
        """The URL path of a listed file, from the project's JSON page."""
        for entry in self.project_json(project)["files"]:
            if entry["filename"] == filename:
                return urlsplit(urljoin(f"{self.url}/simple/{project}/", str(entry["url"]))).path
        raise AssertionError(f"{filename} is not listed for {project}")


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            children.append(int(entry))
    return children


def rss_bytes(pid: int) -> int | None:
    """Resident set size of ``pid`` (None once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else None


# -- real clients ----------------------------------------------------------------------


class Clients:
    """Runs pip, uv and twine against one index with a clean environment."""

    def __init__(self, home: Path) -> None:
        home.mkdir(parents=True, exist_ok=True)
        dropped = ("PIP_", "UV_", "TWINE_", "PYTHON", "VIRTUAL_ENV", "CONDA", "XDG_")
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(dropped) and not key.lower().endswith("_proxy")
        }
        env.update(
            HOME=str(home),
            PIP_CONFIG_FILE=os.devnull,
            PIP_DISABLE_PIP_VERSION_CHECK="1",
            PIP_NO_INPUT="1",
            UV_NO_CONFIG="1",
            UV_PYTHON_DOWNLOADS="never",
            UV_NO_PROGRESS="1",
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            NO_PROXY="127.0.0.1,localhost",
            NO_COLOR="1",
            COLUMNS="400",  # rich (twine) would wrap long messages
        )
        self.env = env

    def run(self, command: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
        """Run a client command (bounded), capturing its output."""
        return subprocess.run(
            list(command),
            env=self.env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=CLIENT_TIMEOUT,
            check=False,
            stdin=subprocess.DEVNULL,
        )

    def venv(self, path: Path) -> Path:
        """A fresh virtual environment (no pip in it); returns its interpreter."""
        result = self.run([str(BIN / "uv"), "venv", "--no-cache", "--python", sys.executable, str(path)])
        assert result.returncode == 0, output(result)
        return path / "bin" / "python"

    def pip(self, *args: str, python: Path | None = None) -> subprocess.CompletedProcess[str]:
        """``pip`` from the test environment, optionally acting on another interpreter."""
        target = ["--python", str(python)] if python is not None else []
        return self.run([sys.executable, "-m", "pip", *target, *args])

    def uv(self, *args: str) -> subprocess.CompletedProcess[str]:
        """``uv``."""
        return self.run([str(BIN / "uv"), *args])

    def twine_upload(
        self, server: Server, *files: Path, url_path: str = "/", verbose: bool = False
    ) -> subprocess.CompletedProcess[str]:
        """``twine upload`` of ``files`` to the server as ``UPLOADER``."""
        return self.run(
            [
                str(BIN / "twine"),
                "upload",
                "--non-interactive",
                "--disable-progress-bar",
                *(["--verbose"] if verbose else []),
                "--repository-url",
                f"{server.url}{url_path}",
                "-u",
                UPLOADER,
                "-p",
                UPLOADER_PASSWORD,
                *map(str, files),
            ]
        )


def output(result: subprocess.CompletedProcess[str]) -> str:
    """A client's command line and output, for assertion messages."""
    command = " ".join(map(str, result.args))
    return f"$ {command}\n[exit {result.returncode}]\n{result.stdout}\n{result.stderr}"


# -- uploads by hand -------------------------------------------------------------------


def file_digests(path: Path) -> dict[str, str]:
    """sha256 and blake2b-256 of a file, read in chunks."""
    sha256, blake2 = hashlib.sha256(), hashlib.blake2b(digest_size=32)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            sha256.update(chunk)
            blake2.update(chunk)
    return {"sha256": sha256.hexdigest(), "blake2_256": blake2.hexdigest()}


def upload_fields(path: Path, name: str, version: str, sha256: str | None = None) -> list[tuple[str, str]]:
    """The form fields twine sends for ``path`` (a wheel or an sdist)."""
    is_wheel = path.name.endswith(".whl")
    return [
        (":action", "file_upload"),
        ("protocol_version", "1"),
        ("metadata_version", "2.1"),
        ("name", name),
        ("version", version),
        ("filetype", "bdist_wheel" if is_wheel else "sdist"),
        ("pyversion", "py3" if is_wheel else "source"),
        ("sha256_digest", sha256 if sha256 is not None else file_digests(path)["sha256"]),
    ]


@dataclass(frozen=True)
class Multipart:
    """A multipart/form-data body around one file: ``head`` + file bytes + ``tail``."""

    content_type: str
    head: bytes
    tail: bytes
    file_size: int

    @property
    def length(self) -> int:
        """The body's total length."""
        return len(self.head) + self.file_size + len(self.tail)


def multipart(fields: Sequence[tuple[str, str]], filename: str, file_size: int) -> Multipart:
    """Frame ``fields`` and a ``content`` file part of ``file_size`` bytes."""
    boundary = "e2e-" + hashlib.sha256(filename.encode()).hexdigest()[:24]
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
        for key, value in fields
    ]
    parts.append(
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="content"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    )
    head = "".join(parts).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    return Multipart(f"multipart/form-data; boundary={boundary}", head, tail, file_size)


def post_file(
    server: Server,
    path: Path,
    fields: Sequence[tuple[str, str]],
    *,
    url_path: str = "/legacy/",
    chunk_size: int = 1 << 20,
    timeout: float = 300.0,
) -> Reply:
    """POST an upload form, streaming the file from disk in chunks."""
    body = multipart(fields, path.name, path.stat().st_size)
    connection = http.client.HTTPConnection(HOST, server.port, timeout=timeout)
    try:
        connection.putrequest("POST", url_path)
        connection.putheader("Content-Type", body.content_type)
        connection.putheader("Content-Length", str(body.length))
        connection.endheaders()
        connection.send(body.head)
        with path.open("rb") as handle:
            for chunk in iter(lambda: handle.read(chunk_size), b""):
                connection.send(chunk)
        connection.send(body.tail)
        response = connection.getresponse()
        return Reply(response.status, response.reason, response.headers, response.read())
    finally:
        connection.close()


def wheel_metadata(path: Path) -> bytes:
    """The METADATA member of a wheel."""
    with zipfile.ZipFile(path) as archive:
        (member,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
        return archive.read(member)
