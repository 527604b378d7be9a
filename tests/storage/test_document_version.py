"""``LocalStorage.document_version`` remembers the version it formatted last, never past a change."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pyregistry_core.storage import LocalStorage
from pyregistry_core.storage.base import Document

KEY = "index/demo/manifest.json"

# Each write: by this handle or by a second one on the same directory (another process), and
# the bytes (often the same size, so only the inode and the time tell the versions apart).
writes = st.lists(st.tuples(st.booleans(), st.binary(min_size=0, max_size=3)), min_size=1, max_size=6)


def _stored(store: LocalStorage) -> str | None:
    found = store.read_document(KEY)
    assert found is None or isinstance(found, Document)
    return found.etag if found is not None else None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(writes=writes)
def test_document_version_follows_every_write_from_any_process(
    tmp_path: Path, writes: list[tuple[bool, bytes]]
) -> None:
    """After each write, by this process or another, ``document_version`` gives the version a
    read reports: never one it remembered from before the write."""
    root = tmp_path / f"store-{len(list(tmp_path.iterdir()))}"
    store, other = LocalStorage(str(root)), LocalStorage(str(root))
    assert store.document_version(KEY) is None
    for by_other, data in writes:
        writer = other if by_other else store
        assert writer.write_document(KEY, data, _stored(writer)) is not None
        version = store.document_version(KEY)
        assert version == _stored(store)
        assert store.document_version(KEY) == version  # asked again: the same, remembered
