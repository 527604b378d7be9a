"""A local S3 API server for the test suite: moto's S3 backend in its own process.

``S3Server.start`` runs this module as a script (``python s3_server.py PORT``), which
serves moto's S3 app with werkzeug's threaded server on 127.0.0.1; it waits (bounded)
until the server answers. The script serves S3 only, not every AWS service as
``moto_server`` does: moto's multi-service dispatcher costs ~10 ms per request, which
would make the thousand-object listing tests slow. It also turns Nagle's algorithm off,
as real S3 front ends do; otherwise small responses wait for delayed ACKs.

Credentials are dummies: moto checks no signatures. Nothing here touches ``os.environ``;
``S3Server.env`` gives the variables a subprocess (the ``pyregistry`` CLI) needs.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "127.0.0.1"
REGION = "us-east-1"
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class Bucket:
    """One test's bucket on the server, and every way the tests name it."""

    server: S3Server
    name: str
    prefix: str = "registry"

    @property
    def url(self) -> str:
        """``s3://bucket/prefix``: the registry's ``storage.url``."""
        return f"s3://{self.name}/{self.prefix}"

    def storage_options(self, *, shared_session: bool = True) -> dict[str, Any]:
        """s3fs keyword arguments for this server (what ``storage.*`` keys turn into).

        Each S3Storage still gets its own s3fs instance, client, connections and caches;
        ``shared_session`` only shares botocore's parsed service models, which otherwise
        cost most of a second per new client on a busy machine.
        """
        options: dict[str, Any] = {
            "key": self.server.access_key,
            "secret": self.server.secret_key,
            "endpoint_url": self.server.endpoint_url,
            "client_kwargs": {"region_name": REGION},
        }
        if shared_session:
            options["session"] = self.server.session()
        return options

    def url_config(self, *, shared_session: bool = False, **extra: Any) -> dict[str, Any]:
        """Registry config keys: ``storage.url = s3://bucket/prefix`` plus storage.* options
        (``shared_session``: in-process registries share botocore's parsed models, as
        ``storage_options`` explains; the value is an object, so never in an INI file)."""
        config: dict[str, Any] = {
            "storage.url": self.url,
            "storage.endpoint_url": self.server.endpoint_url,
            "storage.region_name": REGION,
            "storage.access_key": self.server.access_key,
            "storage.secret_key": self.server.secret_key,
            **extra,
        }
        if shared_session:
            config["storage.session"] = self.server.session()
        return config

    def pypicloud_config(self, **extra: str) -> dict[str, str]:
        """Registry config keys as pypicloud spells them: ``pypi.storage = s3`` and friends."""
        return {
            "pypi.storage": "s3",
            "storage.bucket": self.name,
            "storage.prefix": self.prefix,
            "storage.region_name": REGION,
            "storage.endpoint_url": self.server.endpoint_url,
            "storage.access_key": self.server.access_key,
            "storage.secret_key": self.server.secret_key,
            **extra,
        }

    def fs(self) -> Any:
        """An s3fs filesystem on the server (no listing cache), to look behind the registry."""
        return self.server.fs()

    def keys(self, below: str = "") -> list[str]:
        """Every key below ``prefix/below``, relative to the prefix, sorted."""
        root = f"{self.name}/{self.prefix}"
        found = self.fs().find(f"{root}/{below}".rstrip("/"))
        return sorted(path[len(root) + 1 :] for path in found)


class S3Server:
    """moto's S3 server in a subprocess on a free loopback port."""

    # The dummy credentials clients sign with (moto checks none; other servers may).
    access_key = ACCESS_KEY
    secret_key = SECRET_KEY

    def __init__(self, log_path: Path) -> None:
        self.port = _free_port()
        self.endpoint_url = f"http://{HOST}:{self.port}"
        self.log_path = log_path
        self._fs: Any = None
        self._session: Any = None
        self._log = log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), str(self.port)],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            # The server exits when this pipe closes: also when the test run is killed.
            stdin=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        last = "no attempt"
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"S3 server exited with {self.process.returncode}:\n{self.log_text()}")
            connection = http.client.HTTPConnection(HOST, self.port, timeout=1.0)
            try:
                connection.request("GET", "/")  # ListBuckets
                response = connection.getresponse()
                response.read()
                if response.status == 200:
                    return
                last = f"status {response.status}"
            except OSError as error:
                last = repr(error)
            finally:
                connection.close()
            time.sleep(0.1)
        raise RuntimeError(f"S3 server not ready after {START_TIMEOUT} s ({last}):\n{self.log_text()}")

    def stop(self) -> None:
        """Stop the server process."""
        if self.process.stdin is not None:
            self.process.stdin.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(STOP_TIMEOUT)
        self._log.close()

    def log_text(self) -> str:
        """What the server printed."""
        return self.log_path.read_text(errors="replace")

    def session(self) -> Any:
        """One aiobotocore session for in-process clients (see ``Bucket.storage_options``)."""
        if self._session is None:
            import aiobotocore.session

            self._session = aiobotocore.session.AioSession()
        return self._session

    def fs(self) -> Any:
        """The tests' own s3fs filesystem on this server, with no listing cache."""
        if self._fs is None:
            import s3fs

            self._fs = s3fs.S3FileSystem(
                key=self.access_key,
                secret=self.secret_key,
                endpoint_url=self.endpoint_url,
                client_kwargs={"region_name": REGION},
                skip_instance_cache=True,
                use_listings_cache=False,
                session=self.session(),
            )
        return self._fs

    def new_bucket(self, label: str = "test") -> Bucket:
        """Create an empty bucket with a unique name (``fs.mkdir`` sends a location
        constraint moto refuses for us-east-1, so CreateBucket is called directly)."""
        name = f"{label[:20]}-{uuid.uuid4().hex[:16]}".lower()
        self.fs().call_s3("create_bucket", Bucket=name)
        return Bucket(self, name)

    def env(self) -> dict[str, str]:
        """Variables for a subprocess that opens ``s3://`` URLs without storage.* options."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint_url,
        }


def _serve(port: int) -> None:
    """Serve moto's S3 backend on ``HOST:port`` until terminated."""
    import signal

    from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    class Handler(MotoRequestHandler):  # type: ignore[misc]
        disable_nagle_algorithm = True

        def log_request(self, *args: object, **kwargs: object) -> None:
            """One line per request would be most of the log; errors are still logged."""

    def exit_with_parent() -> None:
        sys.stdin.buffer.read()  # returns at EOF: the test run closed the pipe or died
        os._exit(0)

    threading.Thread(target=exit_with_parent, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        run_simple(
            HOST, port, _atomic_conditions(create_backend_app("s3")), threaded=True, request_handler=Handler
        )


def _atomic_conditions(app: Any) -> Any:
    """Serialize conditional PUTs, as S3 makes them atomic: moto checks ``If-Match`` /
    ``If-None-Match`` and then writes, so two racing requests could both pass the check."""
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Any) -> Any:
        conditional = "HTTP_IF_MATCH" in environ or "HTTP_IF_NONE_MATCH" in environ
        if environ.get("REQUEST_METHOD") != "PUT" or not conditional:
            return app(environ, start_response)
        with lock:
            return list(app(environ, start_response))

    return serve


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
