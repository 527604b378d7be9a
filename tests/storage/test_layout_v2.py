"""Layout v2 on moto's S3 server and on local and memory stores: what a page, the project
list and an upload cost in storage requests, whatever the counts; no lost updates between
replicas; read-your-writes on every replica with the default ``pypi.index_ttl``."""

from __future__ import annotations

import contextlib
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from access_helpers import basic, fast_hash
from registry_http import listed, make_wheel, send, text, upload
from request_counts import S3Requests
from s3_server import Bucket

from pyregistry_core import Registry
from pyregistry_core.names import NormalizedName
from pyregistry_core.records import FileRecord
from pyregistry_core.storage import S3Storage
from pyregistry_core.storage.manifest import RootListing
from pyregistry_core.storage.state import sync_root, update_manifest, update_root

OPEN = {"pypi.default_write": "everyone"}
DEMO = NormalizedName("demo")


def _s3(bucket: Bucket, **extra: str) -> Registry:
    return Registry.from_config(bucket.url_config(shared_session=True, **OPEN, **extra))


def _record(project: str, number: int) -> FileRecord:
    return FileRecord(
        project=NormalizedName(project),
        filename=f"{project}-{number}.0.tar.gz",
        version=f"{number}.0",
        kind="sdist",
        size=1,
        sha256=f"{number:064x}",
        upload_time="2026-01-01T00:00:00.000000Z",
    )


def _seed_files(registry: Registry, count: int) -> None:
    """A project of ``count`` files, written as one manifest (no bytes needed to list)."""
    records = [_record("demo", n) for n in range(count)]

    def change(manifest: Any) -> Any:
        for record in records:
            manifest = manifest.with_record(record)
        return manifest

    update_manifest(registry.storage, DEMO, change)
    sync_root(registry.storage, DEMO)


@pytest.mark.parametrize("files", [1, 1000])
def test_a_cold_page_costs_two_requests_whatever_the_file_count(s3_bucket: Bucket, files: int):
    """A fresh replica's first project page is one GET of the project list and one of the
    manifest, for 1 file or 1,000; a warm page is one conditional GET (a 304)."""
    _seed_files(_s3(s3_bucket), files)
    replica = _s3(s3_bucket)
    requests = S3Requests(replica.storage)
    page = send(replica, "GET", "/simple/demo/")
    assert page.status == 200
    assert text(page).count("<a ") == files
    assert requests.take() == ["GET registry/projects.json", "GET registry/manifests/demo.json"]
    assert send(replica, "GET", "/simple/demo/").status == 200
    assert requests.take() == ["GET registry/manifests/demo.json"]


@pytest.mark.parametrize("projects", [1, 5000])
def test_a_cold_project_list_costs_one_request_whatever_the_project_count(s3_bucket: Bucket, projects: int):
    """``/simple/`` on a fresh replica is one GET of the root listing for 1 or 5,000
    projects, and a warm one a single conditional GET."""
    names = frozenset(f"project-{n}" for n in range(projects))
    writer = _s3(s3_bucket)
    writer.project_names()
    update_root(writer.storage, lambda r: RootListing(names, generation=r.generation))
    replica = _s3(s3_bucket)
    requests = S3Requests(replica.storage)
    page = send(replica, "GET", "/simple/")
    assert text(page).count("<a ") == projects
    assert requests.take() == ["GET registry/projects.json"]
    send(replica, "GET", "/simple/")
    assert requests.take() == ["GET registry/projects.json"]


def test_an_upload_costs_the_same_requests_whatever_the_file_count(s3_bucket: Bucket):
    """Uploading to a project of 1,000 files sends exactly as many requests as to a
    project of one: nothing is read per file."""
    costs = []
    for files in (1, 1000):
        bucket = s3_bucket.server.new_bucket()
        registry = _s3(bucket)
        _seed_files(registry, files)
        send(registry, "GET", "/simple/demo/")
        requests = S3Requests(registry.storage)
        assert upload(registry, make_wheel("demo", "9000.0")).status == 200
        costs.append(requests.take())
    assert len(costs[0]) == len(costs[1]) <= 8
    assert [c.split(" ")[0] for c in costs[0]] == [c.split(" ")[0] for c in costs[1]]


@pytest.mark.parametrize("server", ["moto", "seaweedfs"])
def test_fifty_concurrent_uploads_through_three_replicas_are_all_listed(
    request: pytest.FixtureRequest, server: str
):
    """50 different files uploaded at once through 3 replicas sharing one bucket (moto's
    and SeaweedFS's S3) are all listed afterwards, on every replica: no compare-and-swap
    loses another's change."""
    bucket = request.getfixturevalue("s3_bucket" if server == "moto" else "seaweed_bucket")
    replicas = [_s3(bucket) for _ in range(3)]
    wheels = [make_wheel("demo", f"{n}.0") for n in range(50)]
    barrier = threading.Barrier(len(wheels), timeout=60)

    def one(number: int) -> int:
        barrier.wait()
        return upload(replicas[number % 3], wheels[number]).status

    with ThreadPoolExecutor(max_workers=len(wheels)) as pool:
        statuses = list(pool.map(one, range(len(wheels)), timeout=300))
    assert statuses == [200] * len(wheels)
    expected = {w.filename: w.sha256 for w in wheels}
    for replica in replicas:
        assert listed(replica, "demo") == expected
    assert send(replicas[0], "GET", "/simple/").status == 200
    assert replicas[1].project_names() == ("demo",)


@pytest.fixture(params=["memory", "local", "s3", "s3-seaweedfs"])
def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> list[Registry]:
    """Two registries on one store with the default ``pypi.index_ttl`` (0)."""
    if request.param.startswith("s3"):
        bucket = request.getfixturevalue("s3_bucket" if request.param == "s3" else "seaweed_bucket")
        return [_s3(bucket), _s3(bucket)]
    store = {"storage.url": f"memory://v2-{tmp_path.name}"} if request.param == "memory" else {}
    if request.param == "local":
        store = {"storage.dir": str(tmp_path / "packages")}
    return [Registry.from_config({**store, **OPEN}) for _ in range(2)]


def test_every_acknowledged_change_is_seen_by_the_next_request_elsewhere(replicas: list[Registry]):
    """With the default settings an upload, a yank, a status change and a delete
    acknowledged by one replica show on the very next request to the other."""
    writer, reader = replicas
    assert listed(reader, "demo") == {}
    assert reader.project_names() == ()
    wheel = make_wheel("demo", "1.0")
    assert upload(writer, wheel).status == 200
    assert listed(reader, "demo") == {wheel.filename: wheel.sha256}
    assert reader.project_names() == ("demo",)
    assert reader.project_files(_admin(), DEMO).files[0].yanked is False
    writer.set_yanked(_admin(), DEMO, "1.0", yanked=True, reason="broken")
    assert reader.project_files(_admin(), DEMO).files[0].yanked_reason == "broken"
    writer.set_status(_admin(), DEMO, "quarantined")
    assert reader.project_names() == ()
    writer.set_status(_admin(), DEMO, "active")
    assert reader.project_names() == ("demo",)
    writer.delete(_admin(), DEMO, wheel.filename)
    assert listed(reader, "demo") == {}
    again = upload(reader, wheel)
    assert again.status == 400
    assert text(again).startswith("This filename was previously used by a file that has since been deleted.")


def _admin() -> Any:
    from pyregistry_core import Identity

    return Identity(operator=True)


def _race_round(replicas: list[Registry], seed: int) -> None:
    """One round: two files, then yank/unyank/delete/status on both replicas at once."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible shuffle
    first, second = make_wheel("demo", f"{seed}.1"), make_wheel("demo", f"{seed}.2")
    status = rng.choice(["deprecated", "active"])
    assert upload(replicas[0], first).status == 200
    ops = [
        lambda r: r.set_yanked(_admin(), DEMO, first.filename, yanked=True, reason="a"),
        lambda r: r.set_yanked(_admin(), DEMO, first.filename, yanked=False),
        lambda r: r.delete(_admin(), DEMO, first.filename),
        lambda r: r.set_status(_admin(), DEMO, status),
        lambda r: upload(r, second),
    ]
    rng.shuffle(ops)
    barrier = threading.Barrier(len(ops), timeout=60)

    def run(index: int) -> None:
        barrier.wait()
        # Yanking a file another op deleted first: that serial order says 404.
        with contextlib.suppress(LookupError):
            ops[index](replicas[index % 2])

    with ThreadPoolExecutor(max_workers=len(ops)) as pool:
        list(pool.map(run, range(len(ops)), timeout=120))
    for replica in replicas:
        entry = replica.catalog.project(DEMO)
        assert entry.record(first.filename).deleted  # type: ignore[union-attr]
        assert listed(replica, "demo").get(second.filename) == second.sha256
        assert first.filename not in listed(replica, "demo")
        assert entry.files.status.status == status  # no other change lost the status change
    again = upload(replicas[1], first)
    assert again.status == 400  # a deleted filename never comes back


def test_racing_changes_end_as_a_serial_order(replicas: list[Registry]):
    """Yank, un-yank, delete, a status change and an upload racing on two replicas end in
    a state some serial order gives: the delete always sticks, the upload always lands."""
    rounds = 4 if isinstance(replicas[0].storage, S3Storage) else 25
    for seed in range(rounds):
        _race_round(replicas, seed)


def test_a_warm_page_for_a_token_reader_costs_one_conditional_get_of_the_token(s3_bucket: Bucket):
    """With the default ``pypi.index_ttl``, a token-authenticated warm page re-checks its
    token (a revocation is seen at once) with one conditional GET, beside the manifest's."""
    registry = _s3(s3_bucket, **{"pypi.default_read": "authenticated", "user.reader": fast_hash("pw")})
    _seed_files(registry, 3)
    token, secret = registry.tokens.create("reader", scope="read")
    headers = {"Authorization": basic("__token__", secret)}
    assert send(registry, "GET", "/simple/demo/", headers=headers).status == 200
    requests = S3Requests(registry.storage)
    assert send(registry, "GET", "/simple/demo/", headers=headers).status == 200
    token_key = f"registry/tokens/{token.id}.json"
    assert sorted(requests.take()) == ["GET registry/manifests/demo.json", f"GET {token_key}"]
    registry.tokens.revoke(token.id)
    assert send(registry, "GET", "/simple/demo/", headers=headers).status == 401
