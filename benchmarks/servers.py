"""Server processes on 127.0.0.1: start, wait for ``/health``, read worker RSS, stop.

Each server runs in its own session so stopping it signals exactly the processes this
run started (its process group) and nothing else.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

__all__ = [
    "Server",
    "free_port",
    "gunicorn_command",
    "http_fetch",
    "http_fetch_as_sent",
    "http_get",
    "pyregistry_serve_command",
    "rss_kib",
    "running",
    "start",
    "uvicorn_command",
]

HOST = "127.0.0.1"
_READY_TIMEOUT = 120.0
_REPO = Path(__file__).resolve().parent.parent

# What `pyregistry serve --server gunicorn` sets (adapters/pyregistry_server/serve.py), so
# a bare WSGI app runs under the very same gunicorn settings: no access log (serve logs
# requests only with --access-log), errors to stdout.
SERVE_GUNICORN_SETTINGS = (
    "--worker-class",
    "sync",
    "--timeout",
    "300",
    "--keep-alive",
    "5",
    "--error-logfile",
    "-",
    "--log-level",
    "info",
)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def pyregistry_serve_command(
    config: Path, port: int, workers: int, *, access_log: bool = False, server: str | None = None
) -> list[str]:
    """``pyregistry serve`` as shipped, or with ``--server server`` (``access_log``: one log
    line per request)."""
    return [
        _bin("pyregistry"),
        "serve",
        "--config",
        str(config),
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        *(["--access-log"] if access_log else []),
        *(["--server", server] if server else []),
    ]


def gunicorn_command(
    app: str, port: int, workers: int, worker_class: str, *, serve_settings: bool = True
) -> list[str]:
    """gunicorn with ``pyregistry serve``'s settings (sync), or its defaults, or its ASGI worker."""
    settings: Sequence[str] = SERVE_GUNICORN_SETTINGS
    if worker_class != "sync" or not serve_settings:
        settings = ("--worker-class", worker_class)
    return [
        sys.executable,
        "-m",
        "gunicorn",
        *settings,
        "--workers",
        str(workers),
        "--bind",
        f"{HOST}:{port}",
        app,
    ]


def uvicorn_command(factory: str, port: int, workers: int) -> list[str]:
    """uvicorn with ``workers`` processes, no access log, serving an app factory."""
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        factory,
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
        "--log-level",
        "warning",
    ]


def http_fetch_as_sent(
    port: int, path: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0
) -> tuple[int, bytes, list[tuple[str, str]]]:
    """One GET on a fresh connection: status, body (as sent: not decompressed), and the
    response headers in order, names as sent."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, response.read(), response.getheaders()
    finally:
        connection.close()


def http_fetch(
    port: int, path: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0
) -> tuple[int, bytes, dict[str, str]]:
    """One GET on a fresh connection: status, body (as sent: not decompressed), and the
    response headers with lower-case names."""
    status, body, sent = http_fetch_as_sent(port, path, headers, timeout)
    return status, body, {k.lower(): v for k, v in sent}


def http_get(
    port: int, path: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0
) -> tuple[int, bytes, str]:
    """One GET on a fresh connection: status, body, Content-Type."""
    status, body, sent = http_fetch(port, path, headers, timeout)
    return status, body, sent.get("content-type", "")


@attrs.define
class Server:
    """A started server process; ``startup_seconds`` is spawn until ``/health`` said 200."""

    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path
    startup_seconds: float = 0.0
    stop_signal: int = signal.SIGTERM

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this server."""
        return f"http://{HOST}:{self.port}{path}"

    def get(
        self, path: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> tuple[int, bytes, str]:
        """One GET on a fresh connection."""
        return http_get(self.port, path, headers, timeout)

    def fetch(
        self, path: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> tuple[int, bytes, dict[str, str]]:
        """One GET on a fresh connection, with the response headers."""
        return http_fetch(self.port, path, headers, timeout)

    def fetch_as_sent(
        self, path: str, headers: Mapping[str, str] | None = None, timeout: float = 30.0
    ) -> tuple[int, bytes, list[tuple[str, str]]]:
        """One GET on a fresh connection, with the response headers in order as sent."""
        return http_fetch_as_sent(self.port, path, headers, timeout)

    def worker_pids(self) -> list[int]:
        """The direct children of the server process (gunicorn's workers)."""
        children: list[int] = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
            if int(stat.rsplit(")", 1)[1].split()[1]) == self.process.pid:
                children.append(int(entry.name))
        return sorted(children)

    def stop(self) -> None:
        """Signal the server's process group, then wait (kill after 15 s)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, self.stop_signal)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=15)


def rss_kib(pid: int) -> int:
    """VmRSS of a process in KiB (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


def start(
    name: str,
    command: list[str],
    port: int,
    log_dir: Path,
    env: Mapping[str, str] | None = None,
    *,
    ready_path: str = "/health",
    ready: Callable[[], object] | None = None,
    stop_signal: int = signal.SIGTERM,
    cwd: Path | None = None,
) -> Server:
    """Spawn ``command`` and return once ``GET ready_path`` answers 200 (or, when given,
    once ``ready()`` returns without raising)."""
    log = log_dir / f"{name.replace(' ', '_').replace('/', '_')}-{port}.log"
    environment = {**os.environ, **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [str(_REPO), environment.get("PYTHONPATH", "")]))
    with log.open("ab") as out:
        began = time.perf_counter()
        process = subprocess.Popen(
            command,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd or _REPO,
            env=environment,
            start_new_session=True,
        )
    server = Server(name, process, port, log, stop_signal=stop_signal)
    deadline = began + _READY_TIMEOUT
    while time.perf_counter() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}; see {log}")
        if ready is not None:
            with contextlib.suppress(Exception):  # any failure of the probe means "not yet"
                ready()
                server.startup_seconds = time.perf_counter() - began
                return server
        with contextlib.suppress(OSError, http.client.HTTPException):
            if ready is None and http_get(port, ready_path, timeout=5)[0] == 200:
                server.startup_seconds = time.perf_counter() - began
                return server
        time.sleep(0.005)
    server.stop()
    raise RuntimeError(f"{name} did not answer {ready_path} within {_READY_TIMEOUT:.0f} s; see {log}")


# ``with running(...) as server:`` stops the server on exit (a Server is a context manager).
running = start
