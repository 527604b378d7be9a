"""The benchmarks' load generators reconnect, so a multi-worker server shares the load."""

from __future__ import annotations

import http.server
import shutil
import threading
from collections.abc import Iterator

import pytest

from benchmarks.load import RECONNECT_EVERY, LoadGenerator, PythonLoad, WrkLoad

CONNECTIONS = 4


class _Counting(http.server.ThreadingHTTPServer):
    """A keep-alive server on loopback counting the connections it accepted."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.accepted = 0
        self.lock = threading.Lock()

    def verify_request(self, request: object, client_address: object) -> bool:
        """Count each accepted connection (and serve it)."""
        with self.lock:
            self.accepted += 1
        return True

    def handle_error(self, request: object, client_address: object) -> None:
        """Quiet: wrk resets the connections still open when its run ends (a request that
        failed otherwise shows as an error in the load generator's result)."""


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client asks to close
    disable_nagle_algorithm = True  # headers and body leave at once, not 40 ms apart

    def do_GET(self) -> None:
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def server() -> Iterator[_Counting]:
    """A counting server, shut down after the test."""
    counting = _Counting()
    thread = threading.Thread(target=counting.serve_forever, daemon=True)
    thread.start()
    yield counting
    counting.shutdown()
    counting.server_close()
    thread.join(timeout=10)


def _generators() -> list[LoadGenerator]:
    found = shutil.which("wrk")
    python: LoadGenerator = PythonLoad(CONNECTIONS)
    return [python] if found is None else [python, WrkLoad(found, 1, CONNECTIONS)]


@pytest.mark.parametrize("load", _generators(), ids=lambda load: load.name.split()[0])
def test_connections_are_opened_again_every_so_many_requests(server: _Counting, load: LoadGenerator) -> None:
    """A run opens roughly one connection per ``RECONNECT_EVERY`` requests, not just one per client,
    and every request is answered."""
    result = load.run(f"http://127.0.0.1:{server.server_address[1]}/", 1.0, {})
    assert result.errors == 0
    assert result.requests >= 2 * RECONNECT_EVERY  # enough to tell (thousands on any machine)
    assert server.accepted > CONNECTIONS + result.requests // (4 * RECONNECT_EVERY)
    assert server.accepted <= CONNECTIONS + result.requests // (RECONNECT_EVERY // 8)
