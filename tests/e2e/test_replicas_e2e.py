"""Replicas: several ``pyregistry serve`` processes on one storage, a local directory or
an S3 bucket (moto's S3 server, and SeaweedFS).

DESIGN.md → Consistency model: an upload acknowledged by any replica is never lost, is
visible at once on the process that took it and on every other within
``pypi.index_ttl`` (at once on a local directory); of two uploads of one filename racing
on two replicas exactly one wins.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from access_helpers import Dist, upload_form
from distbuild import DistBuilder
from e2e_support import (
    BIN,
    HOST,
    SIMPLE_JSON,
    UPLOADER,
    Clients,
    Reply,
    Server,
    file_digests,
    free_port,
    output,
    write_config,
)
from registry_http import make_wheel
from s3_server import Bucket, S3Server

pytestmark = pytest.mark.e2e

UPLOADS = 50
INDEX_TTL = 1.0  # pypi.index_ttl of the S3 replicas
VISIBLE_WITHIN = INDEX_TTL + 9.0  # plus slack for a busy machine; polled, so usually ~1 s
RACE_ROUNDS = 3


class Replica(Server):
    """``pyregistry serve`` with a chosen number of workers and extra environment."""

    def __init__(
        self,
        config: Path,
        workdir: Path,
        label: str,
        *,
        workers: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.adapter = label
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.index_url = f"{self.url}/simple/"
        self.log_path = workdir / f"{label}.log"
        command = [
            str(BIN / "pyregistry"), "serve", "--config", str(config),
            "--host", HOST, "--port", str(self.port), "--workers", str(workers),
        ]  # fmt: skip
        self._launch(command, workdir, env or {})

    def listing(self, project: str) -> dict[str, str]:
        """filename → sha256 on the project's JSON page ({} while it is a 404)."""
        reply = self.request("GET", f"/simple/{project}/", {"Accept": SIMPLE_JSON})
        if reply.status == 404:
            return {}
        assert reply.status == 200, (reply.status, reply.body)
        return {f["filename"]: f["hashes"]["sha256"] for f in reply.json()["files"]}

    def upload(self, dist: Dist) -> Reply:
        """POST ``dist`` as twine would (anonymous: the replicas let everyone upload)."""
        body, content_type = upload_form(dist)
        return self.request("POST", "/legacy/", {"Content-Type": content_type}, body, timeout=120)


def start_all(factories: list[Callable[[], Replica]]) -> list[Replica]:
    """Start replicas in parallel (each waits until healthy); stop them all on failure."""
    with ThreadPoolExecutor(len(factories)) as pool:
        futures = [pool.submit(factory) for factory in factories]
    started = [f.result() for f in futures if f.exception() is None]
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        for replica in started:
            replica.stop()
        raise errors[0]  # type: ignore[misc]
    return started


def wait_listed(replica: Replica, project: str, expected: dict[str, str], within: float) -> float:
    """Poll until the replica lists exactly ``expected``; returns the seconds it took."""
    started = time.monotonic()
    seen = replica.listing(project)
    while seen != expected and time.monotonic() - started < within:
        time.sleep(0.1)
        seen = replica.listing(project)
    assert seen == expected, f"{replica.adapter} after {within} s: {len(seen)} of {len(expected)} listed"
    return time.monotonic() - started


# -- the replica sets ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def local_replicas(tmp_path_factory: pytest.TempPathFactory, uploader_hash: str) -> Iterator[list[Replica]]:
    """Two ``serve`` processes (two workers each) on one local directory."""
    root = tmp_path_factory.mktemp("local-replicas")
    config = write_config(root / "pyregistry.ini", root / "packages", uploader_hash)
    replicas = start_all([lambda n=n: Replica(config, root, f"local-{n}", workers=2) for n in "ab"])
    yield replicas
    for replica in replicas:
        replica.stop()


def _s3_config(path: Path, bucket: Bucket, password_hash: str, ttl: float | None) -> Path:
    lines = [
        "[pyregistry]",
        *(f"{key} = {value}" for key, value in bucket.url_config().items()),
        *([f"pypi.index_ttl = {ttl}"] if ttl is not None else []),
        "pypi.default_write = everyone",
        f"user.{UPLOADER} = {password_hash}",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _bucket_replicas(root: Path, bucket: Bucket, password_hash: str, label: str) -> list[Replica]:
    """Two ``serve`` processes (one worker each: a replica is one process) on one bucket
    with ``pypi.index_ttl = 1``, and a third with a TTL of an hour, for read-your-writes."""
    short = _s3_config(root / "short.ini", bucket, password_hash, INDEX_TTL)
    long = _s3_config(root / "long.ini", bucket, password_hash, 3600)
    return start_all([
        lambda: Replica(short, root, f"{label}-a"),
        lambda: Replica(short, root, f"{label}-b"),
        lambda: Replica(long, root, f"{label}-long-ttl"),
    ])  # fmt: skip


@pytest.fixture(scope="module")
def s3_replicas(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server, uploader_hash: str
) -> Iterator[list[Replica]]:
    """Three replicas (see ``_bucket_replicas``) on one bucket of moto's S3 server."""
    root = tmp_path_factory.mktemp("s3-replicas")
    replicas = _bucket_replicas(root, s3_server.new_bucket("replicas"), uploader_hash, "s3")
    yield replicas
    for replica in replicas:
        replica.stop()


@pytest.fixture(scope="module")
def seaweedfs_replicas(
    tmp_path_factory: pytest.TempPathFactory, seaweed_server: S3Server, uploader_hash: str
) -> Iterator[list[Replica]]:
    """Three replicas (see ``_bucket_replicas``) on one bucket of SeaweedFS."""
    root = tmp_path_factory.mktemp("seaweedfs-replicas")
    replicas = _bucket_replicas(root, seaweed_server.new_bucket("replicas"), uploader_hash, "seaweedfs")
    yield replicas
    for replica in replicas:
        replica.stop()


@pytest.fixture(params=["local", "s3", "seaweedfs"])
def replicas(request: pytest.FixtureRequest) -> tuple[str, list[Replica]]:
    """The kind of shared storage, and replicas on it (the first two: a and b)."""
    kind = str(request.param)
    return kind, request.getfixturevalue(f"{kind}_replicas")


def _visible_within(kind: str) -> float:
    """Local storage: at once (one stat per request); S3: within index_ttl."""
    return 0.0 if kind == "local" else VISIBLE_WITHIN


# -- tests ----------------------------------------------------------------------------------


def test_fifty_concurrent_uploads_are_all_listed_everywhere(replicas):
    """Fifty concurrent uploads of different files to one project, spread over two
    replicas, are all acknowledged and all listed by every replica."""
    kind, (a, b, *_) = replicas
    project = f"many-{kind}"
    dists = [make_wheel(project, f"1.0.{n}") for n in range(UPLOADS)]
    with ThreadPoolExecutor(16) as pool:
        replies = list(pool.map(lambda n: (a, b)[n % 2].upload(dists[n]), range(UPLOADS)))
    assert [(r.status, r.body) for r in replies] == [(200, b"OK\n")] * UPLOADS
    expected = {d.filename: d.sha256 for d in dists}
    for replica in (a, b):
        wait_listed(replica, project, expected, _visible_within(kind))


def _race(targets: tuple[Replica, Replica], dists: tuple[Dist, Dist]) -> list[Reply]:
    barrier = threading.Barrier(2)

    def send(n: int) -> Reply:
        barrier.wait(timeout=30)
        return targets[n].upload(dists[n])

    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(send, range(2)))


def test_race_on_one_filename_with_different_bytes(replicas):
    """Two replicas racing to store different bytes under one filename: exactly one 200
    and one 400 "File already exists", and every replica lists the winner's hash."""
    kind, (a, b, *_) = replicas
    for round_ in range(RACE_ROUNDS):
        project = f"race-{kind}-{round_}"
        dists = (make_wheel(project, "1.0", salt="from a"), make_wheel(project, "1.0", salt="from b"))
        replies = _race((a, b), dists)
        statuses = sorted(r.status for r in replies)
        assert statuses == [200, 400], [(r.status, r.body) for r in replies]
        winner = dists[[r.status for r in replies].index(200)]
        loser = replies[[r.status for r in replies].index(400)]
        assert loser.body.startswith(b"File already exists"), loser.body
        for replica in (a, b):
            wait_listed(replica, project, {winner.filename: winner.sha256}, _visible_within(kind))


def test_race_on_one_filename_with_identical_bytes(replicas):
    """Two replicas racing to store identical bytes under one filename both answer 200
    (a retry must be harmless), and the file is listed once."""
    kind, (a, b, *_) = replicas
    for round_ in range(RACE_ROUNDS):
        project = f"same-{kind}-{round_}"
        dist = make_wheel(project, "1.0")
        replies = _race((a, b), (dist, dist))
        assert sorted(r.status for r in replies) == [200, 200], [(r.status, r.body) for r in replies]
        assert {r.body for r in replies} <= {b"OK\n", b"OK (identical file already stored)\n"}
        for replica in (a, b):
            wait_listed(replica, project, {dist.filename: dist.sha256}, _visible_within(kind))


def test_read_your_writes_on_the_replica_that_took_the_upload(replicas):
    """The replica that acknowledged an upload lists it on the very next request, though
    it served the project's page (and the project list) just before — on S3 with an
    index_ttl of an hour, so only its own write can have refreshed its view."""
    kind, replica_set = replicas
    replica = replica_set[0] if kind == "local" else replica_set[2]
    project = f"ryw-{kind}"
    first, second = make_wheel(project, "1.0"), make_wheel(project, "2.0")
    assert replica.upload(first).status == 200
    assert replica.listing(project) == {first.filename: first.sha256}
    index = replica.request("GET", "/simple/", {"Accept": SIMPLE_JSON})
    assert f"ryw-{kind}-new" not in {p["name"] for p in index.json()["projects"]}
    assert (replica.upload(second).status, replica.listing(project)) == (
        200,
        {first.filename: first.sha256, second.filename: second.sha256},
    )
    newcomer = make_wheel(f"ryw-{kind}-new", "1.0")
    assert replica.upload(newcomer).status == 200
    index = replica.request("GET", "/simple/", {"Accept": SIMPLE_JSON})
    assert f"ryw-{kind}-new" in {p["name"] for p in index.json()["projects"]}


@pytest.fixture(scope="module")
def s3_default_replicas(
    tmp_path_factory: pytest.TempPathFactory, s3_server: S3Server, uploader_hash: str
) -> Iterator[list[Replica]]:
    """Two ``serve --workers 2`` on one bucket with the default ``pypi.index_ttl`` (0)."""
    root = tmp_path_factory.mktemp("s3-default-replicas")
    config = _s3_config(root / "default.ini", s3_server.new_bucket("default"), uploader_hash, None)
    replicas = start_all([lambda n=n: Replica(config, root, f"s3-default-{n}", workers=2) for n in "ab"])
    yield replicas
    for replica in replicas:
        replica.stop()


def test_an_acknowledged_upload_is_on_the_next_request_to_any_worker(s3_default_replicas: list[Replica]):
    """With the default settings, an upload answered 200 by one replica is listed by the
    very next request to the other replica, whichever of its two workers takes it: 20
    rounds, each on a fresh connection, checked once and never polled."""
    a, b = s3_default_replicas
    project = "next-request"
    expected: dict[str, str] = {}
    for round_ in range(20):
        writer, reader = (a, b) if round_ % 2 == 0 else (b, a)
        dist = make_wheel(project, f"1.{round_}")
        assert writer.upload(dist).status == 200
        expected[dist.filename] = dist.sha256
        assert reader.listing(project) == expected, f"round {round_}"
        assert reader.listing(project) == expected, f"round {round_}, the other worker"


@pytest.mark.parametrize("server", ["s3", "seaweedfs"])
def test_twine_to_one_replica_pip_from_another_on_s3(
    server: str, request: pytest.FixtureRequest, clients: Clients, build_dists: DistBuilder, fresh_venv: Path
):
    """``twine upload`` to replica A, then ``pip install`` from replica B, on one bucket
    (of moto, and of SeaweedFS)."""
    a, b, _ = request.getfixturevalue(f"{server}_replicas")
    dists = build_dists("Replica_Demo", "1.0")
    result = clients.twine_upload(a, dists.wheel, dists.sdist)
    assert result.returncode == 0, output(result)
    expected = {path.name: file_digests(path)["sha256"] for path in (dists.wheel, dists.sdist)}
    wait_listed(b, "replica-demo", expected, VISIBLE_WITHIN)
    install = clients.pip(
        "install", "--no-cache-dir", "--index-url", b.index_url, "Replica_Demo==1.0", python=fresh_venv
    )
    assert install.returncode == 0, output(install)
    check = clients.run([str(fresh_venv), "-c", "import replica_demo; print(replica_demo.__version__)"])
    assert (check.returncode, check.stdout.strip()) == (0, "1.0"), output(check)
