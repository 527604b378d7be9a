"""A server process on loopback for the test suite: started in its own session, waited
for until it answers (bounded), stopped with a signal and killed after a bound.

Subclasses name the process, say how to tell it is ready (``_probe``) and may change
the bounds and the stop signal; ``with server:`` stops it on exit. Every wait here is
bounded, so a server that never comes up fails the run with its log instead of hanging.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, ClassVar, TypeVar

HOST = "127.0.0.1"

_Self = TypeVar("_Self", bound="LocalServer")


class NotReady(Exception):
    """The process runs but does not answer as a ready server yet."""


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def get_status(port: int, path: str = "/", timeout: float = 1.0) -> int:
    """The status of one GET on a fresh loopback connection (body read and dropped)."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


class LocalServer:
    """A subprocess in its own session, its output in ``log_path``, ready once ``_probe`` passes."""

    name: str = "server"  # in messages: "<name> exited with …"
    start_timeout: ClassVar[float] = 30.0
    stop_timeout: ClassVar[float] = 10.0
    poll_interval: ClassVar[float] = 0.1
    stop_signal: ClassVar[int] = signal.SIGTERM
    # Signal the whole process group (a master and its workers), not the leader alone.
    stop_group: ClassVar[bool] = False
    # What a probe may raise while the server is still coming up.
    not_ready: ClassVar[tuple[type[BaseException], ...]] = (OSError, NotReady)

    log_path: Path
    process: subprocess.Popen[bytes]
    _log: IO[bytes]

    def _start(
        self,
        command: Sequence[str],
        log_path: Path,
        *,
        cwd: Path | None = None,
        env: Mapping[str, str] | None = None,
        stdin: Any = subprocess.DEVNULL,
    ) -> None:
        """Spawn ``command`` and return once it is ready; stop it if it never is."""
        self.log_path = log_path
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=None if env is None else dict(env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=stdin,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _probe(self) -> None:
        """Return when the server answers as ready; raise one of ``not_ready`` until then."""
        raise NotImplementedError

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.process.returncode}:\n{self.log_text()}")
            try:
                self._probe()
                return
            except self.not_ready as error:
                last = str(error) if isinstance(error, NotReady) else repr(error)
            time.sleep(self.poll_interval)
        raise RuntimeError(f"{self.name} not ready after {self.start_timeout} s ({last}):\n{self.log_text()}")

    def stop(self) -> None:
        """Stop the process: ``stop_signal``, then SIGKILL after ``stop_timeout``."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is None:
            self._signal(self.stop_signal)
            try:
                self.process.wait(self.stop_timeout)
            except subprocess.TimeoutExpired:
                self._signal(signal.SIGKILL)
                self.process.wait(self.stop_timeout)
        if self.stop_group:
            # Workers left behind by a killed master: the group outlives its leader.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()

    def _signal(self, number: int) -> None:
        if not self.stop_group:
            self.process.send_signal(number)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, number)

    def log_text(self) -> str:
        """What the server printed so far."""
        return self.log_path.read_text(errors="replace")

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
