"""The catalog's rule for a request that says when it arrived (``fresh_project`` /
``fresh_index`` with ``arrived``): on a store with no local ``stat``, a snapshot is current
for it only when the check that validated it started after it arrived."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from registry_http import make_wheel, upload

from pyregistry_core import Registry
from pyregistry_core.names import NormalizedName
from pyregistry_core.storage import LocalStorage
from pyregistry_core.storage.catalog import Catalog
from pyregistry_core.storage.manifest import manifest_key

OPEN = {"pypi.default_read": "everyone", "pypi.default_write": "everyone"}
DEMO = NormalizedName("demo")
RACES = 20


class _RemoteLike:
    """A local store without ``document_version`` (as S3: no ``stat`` vouches for a
    snapshot), whose next manifest read can be held mid-way."""

    def __init__(self, storage: LocalStorage) -> None:
        self.storage = storage
        self.armed = False
        self.reading = threading.Event()
        self.release = threading.Event()

    def read_document(self, key: str, etag: str | None = None) -> Any:
        found = self.storage.read_document(key, etag)
        if self.armed and key == manifest_key(DEMO):
            self.armed = False
            self.reading.set()
            assert self.release.wait(30)
        return found

    def __getattr__(self, name: str) -> Any:
        if name == "document_version":
            raise AttributeError(name)
        return getattr(self.storage, name)


def _store(tmp_path: Path) -> tuple[Registry, str]:
    root = str(tmp_path / "packages")
    registry = Registry.from_config({"storage.dir": root, **OPEN})
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    return registry, root


def test_a_snapshot_is_current_only_for_requests_that_arrived_before_its_check_started(tmp_path: Path):
    """With an injected clock: a snapshot checked at 10 serves a request that arrived at
    9.5, not one that arrived at 10 or later, and none that says nothing of its arrival."""
    _, root = _store(tmp_path)
    now = [10.0]
    catalog = Catalog(_RemoteLike(LocalStorage(root)), ttl=0, clock=lambda: now[0])  # type: ignore[arg-type]
    assert catalog.asks_store
    entry = catalog.reload(DEMO)
    index = catalog.index()
    now[0] = 12.0
    assert entry.checked_at == 10.0
    assert catalog.fresh_project(DEMO, 9.5) is entry
    assert catalog.fresh_index(9.5) is index
    for arrived in (10.0, 11.0, None):
        assert catalog.fresh_project(DEMO, arrived) is None
        assert catalog.fresh_index(arrived) is None


def test_a_check_that_started_before_a_write_never_serves_a_request_that_came_after_it(tmp_path: Path):
    """A revalidation that started before another process's upload and ends after it is
    not current for a request that arrived after the upload; the next check, which
    started after, is, and lists the file (many rounds, real threads)."""
    writer, root = _store(tmp_path)
    store = _RemoteLike(LocalStorage(root))
    catalog = Catalog(store, ttl=0)  # type: ignore[arg-type]
    catalog.reload(DEMO)
    for n in range(RACES):
        store.armed, store.reading, store.release = True, threading.Event(), threading.Event()
        early = threading.Thread(target=catalog.reload, args=(DEMO,))
        early.start()
        assert store.reading.wait(30)
        wheel = make_wheel("demo", f"2.{n}")
        assert upload(writer, wheel).status == 200
        arrived = catalog.now()
        store.release.set()
        early.join(30)
        assert catalog.fresh_project(DEMO, arrived) is None
        fresh = catalog.reload(DEMO)
        assert catalog.fresh_project(DEMO, arrived) is fresh
        assert wheel.filename in fresh.records
