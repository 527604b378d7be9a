"""A local S3 API server for the test suite: moto's S3 backend in its own process.

``S3Server(log_path)`` runs this module as a script (``python s3_server.py PORT``), which
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
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local_server import HOST, LocalServer, NotReady, free_port, get_status

REGION = "us-east-1"
ACCESS_KEY = "testing-access-key"
SECRET_KEY = "testing-secret-key"


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


class S3Server(LocalServer):
    """moto's S3 server in a subprocess on a free loopback port."""

    name = "S3 server"
    # The dummy credentials clients sign with (moto checks none; other servers may).
    access_key = ACCESS_KEY
    secret_key = SECRET_KEY
    # The s3fs filesystem and aiobotocore session, made on first use.
    _fs: Any = None
    _session: Any = None

    def __init__(self, log_path: Path) -> None:
        self.port = free_port()
        self.endpoint_url = f"http://{HOST}:{self.port}"
        # The server exits when its stdin pipe closes: also when the test run is killed.
        command = [sys.executable, str(Path(__file__).resolve()), str(self.port)]
        self._start(command, log_path, stdin=subprocess.PIPE)

    def _probe(self) -> None:
        status = get_status(self.port)  # ListBuckets
        if status != 200:
            raise NotReady(f"status {status}")

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
