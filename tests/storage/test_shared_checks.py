"""Shared revalidations: concurrent readers share one storage check, and never take one
that started before they arrived (so an acknowledged write is always seen)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest
from registry_http import make_wheel, send, text, upload

from pyregistry_core import Registry
from pyregistry_core.storage.local import LocalStorage
from pyregistry_core.storage.shared_checks import SharedChecks

_PATIENCE = 60.0  # seconds a helper thread may take to get where the test needs it


def _until(condition: Any) -> None:
    """Wait (bounded) until ``condition()`` holds; the test fails, never hangs, otherwise."""
    deadline = time.monotonic() + _PATIENCE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("a helper thread never got there")
        time.sleep(0.001)


def test_callers_arriving_during_a_check_share_the_next_one():
    """Five callers arriving while a check runs do not take its result: they share the
    one check that starts after it (two checks in all, every caller answered by the 2nd)."""
    checks: SharedChecks[str, int] = SharedChecks()
    started: list[int] = []
    release_first = threading.Event()

    def check() -> int:
        started.append(len(started) + 1)
        if len(started) == 1:
            release_first.wait(_PATIENCE)
        return started[-1]

    results: dict[str, int] = {}
    first = threading.Thread(target=lambda: results.update(first=checks.run("demo", check)))
    first.start()
    _until(lambda: started == [1])
    late = [
        threading.Thread(target=lambda n=n: results.update({f"late{n}": checks.run("demo", check)}))
        for n in range(5)
    ]
    for thread in late:
        thread.start()
    _until(lambda: checks.joined == 4)  # one queued the next round, four joined it
    release_first.set()
    for thread in (first, *late):
        thread.join(_PATIENCE)
    assert results == {"first": 1, **{f"late{n}": 2 for n in range(5)}}
    assert started == [1, 2]


def test_a_failed_check_fails_every_caller_of_its_round_and_the_next_round_retries():
    """An error of a shared check reaches every caller that shared it; a later caller
    runs a check of its own."""
    checks: SharedChecks[str, str] = SharedChecks()

    def failing() -> str:
        raise OSError("storage failed")

    with pytest.raises(OSError, match="storage failed"):
        checks.run("demo", failing)
    assert checks.run("demo", lambda: "fine") == "fine"


class _SlowReads:
    """A store whose conditional reads answer a moment after they looked, so a check in
    flight has often read the state before the latest write."""

    document_version = None  # no lock-free stat: every page goes through read_document

    def __init__(self, storage: LocalStorage) -> None:
        self._storage = storage

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def read_document(self, key: str, etag: str | None = None) -> Any:
        found = self._storage.read_document(key, etag)
        time.sleep(0.02)
        return found


def test_an_acknowledged_upload_is_seen_by_the_next_read_of_another_registry_under_load(tmp_path: Path):
    """Round after round, while six threads keep reading the project through a second
    registry (so a shared check is nearly always in flight), the first read there after
    an upload acknowledged by the first registry lists the file."""
    config = {"storage.dir": str(tmp_path), "pypi.default_write": "everyone"}
    writer = Registry.from_config(config)
    reader = Registry(Registry.from_config(config).settings, _SlowReads(LocalStorage(str(tmp_path))))
    assert upload(writer, make_wheel("demo", "0.1")).status == 200
    stop = threading.Event()
    failures: list[str] = []

    def keep_reading() -> None:
        while not stop.is_set():
            status = send(reader, "GET", "/simple/demo/").status
            if status != 200:
                failures.append(f"background read answered {status}")

    threads = [threading.Thread(target=keep_reading) for _ in range(6)]
    for thread in threads:
        thread.start()
    try:
        for number in range(1, 41):
            dist = make_wheel("demo", f"1.{number}")
            assert upload(writer, dist).status == 200
            assert dist.filename in text(send(reader, "GET", "/simple/demo/")), f"round {number}"
    finally:
        stop.set()
        for thread in threads:
            thread.join(_PATIENCE)
    assert failures == []
    assert reader.catalog.shared_reads > 0  # the readers did share checks
