"""Upload through one replica, install through another: does the install see the file?

Two `pyregistry serve` processes (``--workers 2`` each) share one bucket, on moto and on
SeaweedFS. Each round uploads a new version of one project to replica A (twine's form)
and, as soon as A answered 200, fetches that file through replica B once, the way an
installer does: a CI job that uploads and then installs through a load balancer. With
``pypi.index_ttl = 0`` (the default) B revalidates its cached page on that request, so
every round must succeed on the first try (issue 10). The first rounds run real
``pip download``; the rest make pip's two requests (the project page as PEP 691 JSON,
then the file, checked against its digest) from here, as pip's start-up alone would
take most of the benchmark's time budget.
"""

from __future__ import annotations

import hashlib
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

from .client import upload
from .context import BenchContext
from .corpus import wheel_bytes
from .report import Figure, Section
from .s3_pages import STORES, Store
from .servers import Server, free_port, pyregistry_serve_command, running

__all__ = ["bench_s3_replicas"]

ROUNDS = 20
PIP_ROUNDS = 3  # rounds whose install is a real `pip download`; the others make its requests
PROJECT = "replica-demo"
_PIP_TIMEOUT = 120.0
_JSON = "application/vnd.pypi.simple.v1+json"


def _fetch_like_pip(server: Server, filename: str, sha256: str) -> tuple[bool, float]:
    """The project page as PEP 691 JSON, then the listed file, each once on a fresh
    connection: found with the right digest, seconds."""
    began = time.perf_counter()
    status, body, _ = server.get(f"/simple/{PROJECT}/", {"Accept": _JSON})
    if status != 200:
        return False, time.perf_counter() - began
    listed = [f for f in json.loads(body)["files"] if f["filename"] == filename]
    if not listed:
        return False, time.perf_counter() - began
    address = urlsplit(urljoin(server.url(f"/simple/{PROJECT}/"), listed[0]["url"]))
    status, data, _ = server.get(address.path + (f"?{address.query}" if address.query else ""))
    ok = status == 200 and hashlib.sha256(data).hexdigest() == sha256
    return ok, time.perf_counter() - began


def _pip_download(server: Server, version: str, dest: Path) -> tuple[bool, float]:
    """``pip download`` of ``PROJECT==version`` through ``server`` alone: found, seconds."""
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--isolated",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-cache-dir",
        "--index-url",
        server.url("/simple/"),
        "--dest",
        str(dest),
        f"{PROJECT}=={version}",
    ]
    began = time.perf_counter()
    done = subprocess.run(command, capture_output=True, timeout=_PIP_TIMEOUT, check=False)
    return done.returncode == 0, time.perf_counter() - began


def _rounds(
    ctx: BenchContext, store: Store, a: Server, b: Server
) -> tuple[int, list[float], list[float], list[float]]:
    """Rounds whose install found the file; upload ms, pip seconds and fetch ms of the rounds."""
    found = 0
    uploads: list[float] = []
    installs: list[float] = []
    fetches: list[float] = []
    b.get(f"/simple/{PROJECT}/")  # B has looked at the project before the first upload
    for number in range(ROUNDS):
        version = f"1.0.{number}"
        wheel = wheel_bytes(PROJECT, version)
        began = time.perf_counter()
        status, body = upload(
            a.port,
            f"{PROJECT.replace('-', '_')}-{version}-py3-none-any.whl",
            wheel,
            name=PROJECT,
            version=version,
            sha256=hashlib.sha256(wheel).hexdigest(),
        )
        uploads.append((time.perf_counter() - began) * 1000)
        if status != 200:
            raise RuntimeError(f"upload to replica A on {store.name} answered {status}: {body!r}")
        if number < PIP_ROUNDS:
            ok, seconds = _pip_download(b, version, ctx.scratch(f"replica-downloads-{store.name}"))
            installs.append(seconds)
        else:
            filename = f"{PROJECT.replace('-', '_')}-{version}-py3-none-any.whl"
            ok, seconds = _fetch_like_pip(b, filename, hashlib.sha256(wheel).hexdigest())
            fetches.append(seconds * 1000)
        found += ok
    return found, uploads, installs, fetches


def bench_s3_replicas(ctx: BenchContext) -> Section:
    """Upload to one replica, then `pip download` through another at once: 20 rounds per store."""
    workers = ctx.config.workers
    figures, notes = [], []
    for store in STORES:
        with store.start(ctx) as new_bucket:
            bucket = new_bucket("bench-replicas")
            config = ctx.ini(
                f"replicas-{store.name}",
                {**bucket.config(), "pypi.default_write": "everyone", "pypi.index_ttl": "0"},
            )
            a_port, b_port = free_port(), free_port()
            with (
                running(
                    f"replica A, {store.name}",
                    pyregistry_serve_command(config, a_port, workers),
                    a_port,
                    ctx.log_dir,
                ) as a,
                running(
                    f"replica B, {store.name}",
                    pyregistry_serve_command(config, b_port, workers),
                    b_port,
                    ctx.log_dir,
                ) as b,
            ):
                found, uploads, installs, fetches = _rounds(ctx, store, a, b)
        figures.append(
            Figure(
                f"installs through replica B that saw the file just uploaded to A, S3 ({store.name})",
                found,
                "rounds",
                ROUNDS,
                "runs",
                ">= 1.0",
            )
        )
        notes.append(
            f"{store.name}: upload to A {statistics.median(uploads):,.0f} ms (median of {ROUNDS}); "
            f"`pip download` through B {statistics.median(installs):,.2f} s (median of {PIP_ROUNDS}); "
            f"page and file through B {statistics.median(fetches):,.0f} ms (median of "
            f"{ROUNDS - PIP_ROUNDS})."
        )
    return Section(
        "Upload through one replica, install through another (S3)",
        f"Two `pyregistry serve --workers {workers}` replicas over one bucket (`pypi.index_ttl = 0`). "
        f"{ROUNDS} rounds per store: upload a new version of `{PROJECT}` to A (twine's form; a valid "
        "wheel), and once A answered 200, one try through B: in the first "
        f"{PIP_ROUNDS} rounds `pip download --no-deps --isolated` of exactly that version with B as "
        "the only index, in the others pip's two requests made here (the project page as PEP 691 "
        "JSON on a fresh connection, then the file it lists, digest checked); a round counts when "
        "that first try gets the file.",
        tuple(figures),
        tuple(notes),
    )
