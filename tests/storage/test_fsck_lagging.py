"""Plain ``pyregistry fsck`` reports a manifest lagging its create-only records (an upload
whose manifest write failed after its record was created), and ``fsck --repair`` brings
it up to date, on moto and on SeaweedFS; the fault is injected under the store's own
error handling (``faulty_fs.FaultyFileSystem``)."""

from __future__ import annotations

from pathlib import Path

import pytest
from faulty_fs import FaultyFileSystem, timeout_after_commit
from pyregistry_server.cli import main
from registry_http import listed, make_wheel, upload
from s3_server import Bucket

from pyregistry_core import Registry
from pyregistry_core.storage import S3Storage


@pytest.fixture(params=["s3_bucket", "seaweed_bucket"])
def bucket(request: pytest.FixtureRequest) -> Bucket:
    """An empty bucket on moto, then on SeaweedFS."""
    found: Bucket = request.getfixturevalue(request.param)
    return found


def _fsck(config: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> list[str]:
    assert main(["fsck", "--config", str(config), *flags]) == 0
    return capsys.readouterr().out.splitlines()


def test_fsck_reports_a_lagging_manifest_and_repair_fixes_it(
    bucket: Bucket, tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    """An upload whose last write (the manifest's) fails leaves a record the manifest
    lacks: the page does not list it, plain fsck names it, ``--repair`` adds it, and a
    second fsck finds nothing lagging."""
    keys = bucket.url_config(**{"pypi.default_write": "everyone"})
    config = tmp_path / "pyregistry.ini"
    config.write_text("[pyregistry]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()))
    registry = Registry.from_config(keys)
    storage = registry.storage
    assert isinstance(storage, S3Storage)
    assert upload(registry, make_wheel("demo", "1.0")).status == 200
    faulty = FaultyFileSystem(storage.fs)
    storage.fs = faulty
    before = faulty.writes
    assert upload(registry, make_wheel("demo", "1.1")).status == 200
    writes_per_upload = faulty.writes - before
    faulty.fail_write(writes_per_upload, timeout_after_commit())  # the manifest's write
    lost = make_wheel("demo", "2.0")
    assert upload(registry, lost).status == 503
    assert faulty.failed == [f"pipe_file {storage.root}/manifests/demo.json"]
    fresh = Registry.from_config(keys)
    assert lost.filename not in listed(fresh, "demo")

    assert _fsck(config, capsys) == [
        f"lagging: demo/{lost.filename} (record created, missing from the manifest)",
        "1 lagging; `pyregistry fsck --repair` brings the manifests up to date",
        "no orphans",
    ]
    assert _fsck(config, capsys, "--repair")[0] == (
        "upgraded 1 projects: 0 manifests written, 1 records added to their manifest"
    )
    assert _fsck(config, capsys) == ["no orphans"]
    assert listed(fresh, "demo")[lost.filename] == lost.sha256
