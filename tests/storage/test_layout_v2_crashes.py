"""Crash safety of layout v2: a process dying before any one storage write of an upload
or a delete leaves a store that reads correctly, and the client's retry completes it;
a layout v1 store keeps working and is upgraded in place; the catalog never keeps a
view read before a concurrent change."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from registry_http import body_bytes, listed, make_wheel, send, sha256, text, upload
from request_counts import Crash, StorageCalls

from pyregistry_core import Identity, Registry, Settings
from pyregistry_core.names import NormalizedName
from pyregistry_core.records import STATUS_RECORD, ProjectStatus
from pyregistry_core.storage import LocalStorage, open_storage
from pyregistry_core.storage.base import Document
from pyregistry_core.storage.catalog import Catalog

OPEN = {"pypi.default_write": "everyone"}
ADMIN = Identity(operator=True)
DEMO = NormalizedName("demo")


@pytest.fixture(params=["memory", "local"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """Config keys of an empty store of this kind."""
    if request.param == "memory":
        return {"storage.url": f"memory://crash-{tmp_path.name}"}
    return {"storage.dir": str(tmp_path / "packages")}


def _crashing(store: dict[str, str], crash_at: int | None) -> tuple[Registry, StorageCalls]:
    settings = Settings.from_mapping({**store, **OPEN})
    calls = StorageCalls(open_storage(settings.storage_url, dict(settings.storage_options)))
    calls.crash_at = crash_at
    return Registry(settings, storage=calls), calls  # type: ignore[arg-type]


def _writes_of_an_upload(store: dict[str, str], project: str) -> int:
    registry, calls = _crashing(store, None)
    registry.project_names()
    assert upload(registry, make_wheel(project, "0.1")).status == 200
    before = calls.writes
    assert upload(registry, make_wheel(project, "0.2")).status == 200
    return calls.writes - before


# metadata, bytes, record, manifest, project list, manifest marked listed
_FIRST_UPLOAD_WRITES = 6


@pytest.mark.parametrize("existing", [False, True], ids=["new-project", "existing-project"])
def test_a_crash_before_any_write_of_an_upload_reads_correctly(store: dict[str, str], existing: bool):
    """Whichever write of an upload the process dies before (the first upload of a
    project, or one to an existing project), another process lists the file whole or
    not at all, and the client's retry answers 200 and lists it everywhere."""
    total = _writes_of_an_upload(store, "demo") if existing else _FIRST_UPLOAD_WRITES
    assert total >= 4
    for number in range(1, total + 1):
        project = "demo" if existing else f"new{number}"
        registry, calls = _crashing(store, None)
        registry.project_names()
        calls.crash_at = calls.writes + number
        dist = make_wheel(project, f"{number}.0")
        with pytest.raises(Crash):
            upload(registry, dist)
        other = Registry.from_config({**store, **OPEN})
        seen = listed(other, project)
        if dist.filename in seen:
            download = send(other, "GET", f"/files/{project}/{dist.sha256}/{dist.filename}")
            assert sha256(body_bytes(download)) == dist.sha256
        retry = upload(other, dist)
        assert retry.status == 200, text(retry)
        for reader in (other, Registry.from_config({**store, **OPEN})):
            assert listed(reader, project)[dist.filename] == dist.sha256
            assert project in reader.project_names()


def test_a_crash_during_a_delete_never_brings_the_file_back(store: dict[str, str]):
    """Dying before any write of a delete leaves the file either listed (the delete did
    not happen) or deleted for good: never listed without its bytes."""
    writer, _ = _crashing(store, None)
    dists = [make_wheel("demo", f"{n}.0") for n in range(1, 6)]
    for dist in dists:
        assert upload(writer, dist).status == 200
    for number, dist in enumerate(dists, start=1):
        registry, calls = _crashing(store, None)
        calls.crash_at = calls.writes + number
        with pytest.raises(Crash):
            registry.delete(ADMIN, DEMO, dist.filename)
        other = Registry.from_config({**store, **OPEN})
        if dist.filename in listed(other, "demo"):
            download = send(other, "GET", f"/files/demo/{dist.sha256}/{dist.filename}")
            assert (download.status, sha256(body_bytes(download))) == (200, dist.sha256)
        else:
            assert upload(other, dist).status == 400  # burnt


def _write_v1_store(root: Path) -> dict[str, Any]:
    """A store as layout v1 left it: records only, a yank, a tombstone, a quarantine."""
    registry = Registry.from_config({"storage.dir": str(root), **OPEN})
    storage = registry.storage
    dists = {name: make_wheel(name, "1.0") for name in ("alpha", "beta", "gamma")}
    for dist in dists.values():
        assert upload(registry, dist).status == 200
    extra = make_wheel("alpha", "2.0")
    assert upload(registry, extra).status == 200
    alpha = NormalizedName("alpha")
    yanked = registry.catalog.project(alpha).record(dists["alpha"].filename)
    assert yanked is not None
    import attrs

    storage.replace_record(
        alpha, yanked.filename, attrs.evolve(yanked, yanked=True, yanked_reason="old").to_json()
    )
    gone = registry.catalog.project(alpha).record(extra.filename)
    storage.replace_record(alpha, extra.filename, attrs.evolve(gone, deleted=True).to_json())
    storage.replace_record(NormalizedName("gamma"), STATUS_RECORD, ProjectStatus("quarantined").to_json())
    storage.put_blob("quarantine/gamma", b"")
    # Forget layout v2's documents: what is left is exactly what layout v1 wrote.
    for document in [root / "projects.json", *(root / "manifests").glob("*.json")]:
        document.unlink()
    return {"dists": dists, "extra": extra}


def test_a_layout_v1_store_reads_the_same_and_is_upgraded_in_place(tmp_path: Path):
    """A store with only layout v1's records lists the same files, yanks, tombstones
    and quarantine, and is given its root listing and manifests on first read."""
    root = tmp_path / "packages"
    made = _write_v1_store(root)
    registry = Registry.from_config({"storage.dir": str(root), **OPEN})
    assert registry.project_names() == ("alpha", "beta")
    assert listed(registry, "alpha") == {made["dists"]["alpha"].filename: made["dists"]["alpha"].sha256}
    files = registry.project_files(ADMIN, NormalizedName("alpha")).files
    assert [(f.yanked, f.yanked_reason) for f in files] == [(True, "old")]
    assert upload(registry, made["extra"]).status == 400  # the tombstone is kept
    assert (root / "manifests" / "alpha.json").exists()
    assert (root / "projects.json").exists()
    registry.set_status(ADMIN, NormalizedName("gamma"), "active")
    assert registry.project_names() == ("alpha", "beta", "gamma")


class _PausingStorage:
    """Holds the first manifest read of ``demo`` until released (a slow reader)."""

    def __init__(self, storage: Any) -> None:
        self.storage = storage
        self.reading = threading.Event()
        self.release = threading.Event()
        self.armed = False

    def read_document(self, key: str, etag: str | None = None) -> Any:
        found = self.storage.read_document(key, etag)
        if self.armed and key == "manifests/demo.json" and isinstance(found, Document):
            self.armed = False
            self.reading.set()
            assert self.release.wait(30)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self.storage, name)


def test_a_read_racing_a_change_is_never_kept_as_current(tmp_path: Path):
    """A reload that read the manifest before this process changed it and finished
    after never hides the change, even with a long ``pypi.index_ttl``."""
    root = str(tmp_path / "packages")
    registry = Registry.from_config({"storage.dir": root, **OPEN, "pypi.index_ttl": "3600"})
    first = make_wheel("demo", "1.0")
    assert upload(registry, first).status == 200
    slow = _PausingStorage(LocalStorage(root))
    catalog = Catalog(slow, ttl=3600)  # type: ignore[arg-type]
    catalog.index()
    slow.armed = True
    reader = threading.Thread(target=lambda: catalog.reload(DEMO))
    reader.start()
    assert slow.reading.wait(30)
    second = make_wheel("demo", "2.0")
    assert upload(registry, second).status == 200
    catalog.invalidate(DEMO)  # what the writing process does after its write
    slow.release.set()
    reader.join(30)
    assert set(catalog.project(DEMO).records) == {first.filename, second.filename}


def test_fsck_upgrade_writes_every_manifest_and_resumes(tmp_path: Path):
    """``pyregistry fsck --upgrade`` on a layout v1 store writes every project's manifest
    with a progress bar, marks the project list complete, and a second run (a resumed
    one) finds nothing left to do; pages read the same before and after."""
    import json
    import subprocess
    import sys

    root = tmp_path / "packages"
    made = _write_v1_store(root)
    config = tmp_path / "pyregistry.ini"
    config.write_text(f"[pyregistry]\nstorage.dir = {root}\n")
    command = [sys.executable, "-m", "pyregistry_server.cli", "fsck", "--upgrade", "--config", str(config)]
    first = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines()[0] == (
        "upgraded 3 projects: 3 manifests written, 0 records added to their manifest"
    )
    assert "[##############################] 3/3 gamma" in first.stderr
    assert json.loads((root / "projects.json").read_bytes())["complete"] is True
    assert sorted(p.name for p in (root / "manifests").glob("*.json")) == [
        "alpha.json",
        "beta.json",
        "gamma.json",
    ]
    again = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert again.stdout.splitlines()[0] == (
        "upgraded 3 projects: 0 manifests written, 0 records added to their manifest"
    )
    registry = Registry.from_config({"storage.dir": str(root)})
    assert registry.project_names() == ("alpha", "beta")
    assert listed(registry, "beta") == {made["dists"]["beta"].filename: made["dists"]["beta"].sha256}


def test_fsck_upgrade_adds_a_record_its_manifest_lacks(tmp_path: Path):
    """A record a crash left out of its manifest is added by ``fsck --upgrade``'s pass."""
    from pyregistry_core.storage.upgrade import upgrade

    root = str(tmp_path / "packages")
    registry = Registry.from_config({"storage.dir": root, **OPEN})
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    lost = make_wheel("demo", "2.0")
    crashing, calls = _crashing({"storage.dir": root}, None)
    calls.crash_at = calls.writes + 4  # dies before the manifest write: record only
    with pytest.raises(Crash):
        upload(crashing, lost)
    assert lost.filename not in listed(registry, "demo")
    report = upgrade(LocalStorage(root))
    assert report.repaired == (f"demo/{lost.filename}",)
    assert listed(registry, "demo")[lost.filename] == lost.sha256
