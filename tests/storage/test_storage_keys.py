"""One validator guards every storage key: no component can climb, split, hide or carry controls."""

from __future__ import annotations

import string
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyregistry_core.errors import InvalidStorageKey
from pyregistry_core.storage import FsspecStorage, LocalStorage, blob_key, record_key
from pyregistry_core.storage.base import checked_key, key_component

_SHA = "ab" * 32
_HOSTILE = [
    "..",
    ".",
    "../x.whl",
    "..\\x.whl",
    "a/b",
    "a\\b",
    "x\x00y",
    "x\ny",
    "x\ry",
    ".hidden",
    "",
    "é\x85",
]
_components = st.one_of(
    st.sampled_from(_HOSTILE),
    st.text(
        alphabet=st.sampled_from([*string.ascii_letters, ".", "/", "\\", "\x00", "\n", "\x7f", "-"]),
        max_size=8,
    ),
    st.text(max_size=8),
)


def _acceptable(part: str) -> bool:
    return (
        bool(part)
        and not part.startswith(".")
        and len(part) <= 255
        and not any(c in "/\\" or ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in part)
    )


@given(project=_components, sha=_components, filename=_components)
def test_built_keys_keep_their_shape(project, sha, filename):
    """A record or blob key is built only from safe components, and then has exactly its layout."""
    for build, parts, expected_length in (
        (lambda: record_key(project, filename), (project, filename), 3),
        (lambda: blob_key(project, sha, filename), (project, sha, filename), 4),
    ):
        if all(_acceptable(part) for part in parts):
            key = build()
            assert len(key.split("/")) == expected_length
            assert checked_key(key) == key
        else:
            with pytest.raises(InvalidStorageKey, match="not usable in storage"):
                build()


@given(key=st.lists(_components, min_size=1, max_size=4).map("/".join).filter(bool))
def test_checked_key_accepts_only_safe_components(key):
    """A whole key (or a folder key ending in ``/``) passes exactly when each component would."""
    parts = key.split("/")
    if parts[0] == ".staging":  # the store's own scratch folder, at the top only
        parts = parts[1:]
    if all(_acceptable(part) for part in (parts[:-1] if key.endswith("/") else parts)):
        assert checked_key(key) == key
    else:
        with pytest.raises(InvalidStorageKey):
            checked_key(key)


@pytest.mark.parametrize("part", _HOSTILE)
def test_hostile_components_are_refused(part):
    """Each classic traversal or hiding trick is refused by the component check."""
    with pytest.raises(InvalidStorageKey):
        key_component(part)


@pytest.mark.parametrize("kind", ["local", "memory"])
@pytest.mark.parametrize("filename", ["../../escape.whl", "..", "x\\..\\y.whl", ".hidden.whl"])
def test_stores_refuse_a_traversing_filename(tmp_path: Path, kind: str, filename: str):
    """A record or blob under a traversing name is refused before the store is touched."""
    root = tmp_path / "store"
    storage = LocalStorage(str(root)) if kind == "local" else FsspecStorage("memory://keys-test")
    with pytest.raises(InvalidStorageKey):
        storage.create_record("demo", filename, b"{}")
    with pytest.raises(InvalidStorageKey):
        storage.put_blob(f"files/demo/{_SHA}/{filename}", b"x")
    with pytest.raises(InvalidStorageKey):
        storage.read_record("demo", filename)
    assert not (tmp_path / "escape.whl").exists()
    assert not (tmp_path / "escape.whl.json").exists()
