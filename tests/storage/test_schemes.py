"""Which fsspec stores a registry starts on: Azure and GCS are refused until verified,
any other store without a create-only write needs ``storage.single_writer = true``,
and ``memory://`` (one process by nature) always starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pyregistry_server.cli import main
from registry_http import listed, make_wheel, upload

from pyregistry_core import ConfigError, Registry
from pyregistry_core.storage.schemes import check_fsspec_scheme

OPEN = {"pypi.default_write": "everyone"}
SUPPORTED = "S3 (verified against moto and SeaweedFS), a local directory, memory://"


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("az://container/registry", "az"),
        ("abfs://container/registry", "abfs"),
        ("gs://bucket/registry", "gs"),
        ("gcs://bucket/registry", "gcs"),
        ("simplecache::gs://bucket/registry", "gs"),
    ],
)
@pytest.mark.parametrize("single_writer", ["false", "true"])
def test_azure_and_gcs_are_refused(url: str, scheme: str, single_writer: str):
    """Azure and GCS URLs are a one-line ConfigError naming storage.url and the stores
    that are verified, even with storage.single_writer (their listings are cached too)."""
    with pytest.raises(ConfigError) as error:
        Registry.from_config({"storage.url": url, "storage.single_writer": single_writer})
    assert error.value.message == (
        f"storage.url = {url}: {scheme}:// is not supported yet (records would be created by "
        "check-then-write, so replicas could publish different files under one name); "
        f"supported stores: {SUPPORTED}"
    )


def test_check_names_the_refusal(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """``pyregistry check`` on a gs:// config exits 2 with the message on one line."""
    config = tmp_path / "pyregistry.ini"
    config.write_text("[pyregistry]\nstorage.url = gs://bucket/registry\n")
    assert main(["check", "--config", str(config)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("pyregistry: configuration error: storage.url = gs://bucket/registry: gs://")


def test_other_fsspec_store_needs_single_writer(tmp_path: Path):
    """A generic fsspec store (``local://``: fsspec's local filesystem, not LocalStorage)
    is refused without storage.single_writer, and serves uploads with it."""
    url = f"local://{tmp_path}/store"
    with pytest.raises(ConfigError) as error:
        Registry.from_config({"storage.url": url, **OPEN})
    assert error.value.message == (
        f"storage.url = {url}: this fsspec store has no create-only write, so two processes "
        "could publish different files under one name; use S3 or a local directory, or set "
        "storage.single_writer = true and run exactly one server process"
    )
    registry = Registry.from_config(
        {"storage.url": url, "storage.single_writer": "true", "storage.auto_mkdir": "true", **OPEN}
    )
    dist = make_wheel("demo", "1.0")
    assert upload(registry, dist).status == 200
    assert listed(registry, "demo") == {dist.filename: dist.sha256}


def test_memory_store_always_starts():
    """``memory://`` lives in one process, so it needs no storage.single_writer."""
    registry = Registry.from_config({"storage.url": "memory://schemes-test", **OPEN})
    dist = make_wheel("demo", "1.0")
    assert upload(registry, dist).status == 200


@given(
    st.sampled_from(["az", "abfs", "abfss", "adl", "gs", "gcs", "AZ", "Gs"]), st.text(min_size=1, max_size=20)
)
def test_every_spelling_of_azure_and_gcs_is_refused(scheme: str, rest: str):
    """Whatever follows the scheme, and in whatever case, Azure and GCS are refused."""
    with pytest.raises(ConfigError):
        check_fsspec_scheme(f"{scheme}://{rest}", single_writer=True)
