"""A store that ignores conditional writes (s3rver, a real fake S3 server) is refused at
startup by ``Registry``, ``pyregistry check`` and ``pyregistry serve`` with one message
naming the remedy, unless ``storage.single_writer = true`` says only one process writes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from local_server import free_port
from registry_http import listed, make_wheel, text, upload
from s3_server import Bucket
from s3rver_server import S3rverServer

from pyregistry_core import ConfigError, Registry

OPEN = {"pypi.default_write": "everyone"}
BIN = Path(sys.executable).parent


def _refusal(url: str) -> str:
    return (
        f"{url} does not honour conditional writes (If-None-Match: *), so two replicas could "
        "publish different files under one name. Use a store that does, or set "
        "storage.single_writer = true and run exactly one server process."
    )


@pytest.fixture(scope="module")
def s3rver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3rverServer]:
    """s3rver on loopback for this module."""
    with S3rverServer(tmp_path_factory.mktemp("s3rver")) as server:
        yield server


@pytest.fixture
def fake_bucket(s3rver: S3rverServer) -> Bucket:
    """An empty bucket on s3rver."""
    return s3rver.new_bucket("fake")


def _ini(path: Path, config: dict[str, Any]) -> Path:
    path.write_text("[pyregistry]\n" + "".join(f"{key} = {value}\n" for key, value in config.items()))
    return path


def test_s3rver_really_ignores_if_none_match(fake_bucket: Bucket):
    """The fixture is what it claims: a second create-only PUT overwrites the key."""
    fs = fake_bucket.fs()
    key = f"{fake_bucket.name}/x"
    fs.pipe_file(key, b"1", mode="create")
    fs.pipe_file(key, b"2", mode="create")
    assert fs.cat_file(key) == b"2"


def test_registry_refuses_to_start(fake_bucket: Bucket):
    """``Registry.from_config`` raises ConfigError with the exact message, and the probe
    leaves no key behind."""
    with pytest.raises(ConfigError) as error:
        Registry.from_config(fake_bucket.url_config(**OPEN))
    assert error.value.message == _refusal(fake_bucket.url)
    assert fake_bucket.keys() == []


def test_serve_refuses_to_start(fake_bucket: Bucket, tmp_path: Path):
    """``pyregistry serve`` exits 2 before listening, printing the one-line refusal."""
    config = _ini(tmp_path / "pyregistry.ini", fake_bucket.url_config(**OPEN))
    result = subprocess.run(
        [
            str(BIN / "pyregistry"),
            "serve",
            "--config",
            str(config),
            "--host",
            "127.0.0.1",
            "--port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"pyregistry: configuration error: {_refusal(fake_bucket.url)}"
    )


def test_single_writer_starts_on_it(fake_bucket: Bucket):
    """With ``storage.single_writer = true`` the registry starts and, as the only writer,
    still refuses other bytes under a taken filename."""
    registry = Registry.from_config(fake_bucket.url_config(**OPEN, **{"storage.single_writer": "true"}))
    dist = make_wheel("demo", "1.0")
    assert upload(registry, dist).status == 200
    conflict = upload(registry, make_wheel("demo", "1.0", salt="other bytes"))
    assert (conflict.status, text(conflict).startswith("File already exists")) == (400, True)
    assert listed(registry, "demo") == {dist.filename: dist.sha256}
