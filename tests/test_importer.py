"""``pyregistry import``: a pypiserver directory (flat) and a pypicloud storage (nested
``<package>/<version>/<file>``), on disk or in an S3 bucket, loaded into a registry —
every file published with its hashes, a second run idempotent, a file whose bytes differ
from the stored one under the same name reported as failed, progress shown."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from distbuild import BuiltDists, DistBuilder
from registry_http import body_bytes, listed, send
from s3_server import Bucket, S3Server

from pyregistry_core import Registry

TIMEOUT = 120


@pytest.fixture(scope="session")
def import_dists(build_dists: DistBuilder) -> list[BuiltDists]:
    """Two real projects, each a wheel and an sdist built by hatchling."""
    return [build_dists("Imp_Alpha", "1.0"), build_dists("imp-beta", "2.0.1")]


def _files(dists: list[BuiltDists]) -> list[Path]:
    return [path for built in dists for path in (built.wheel, built.sdist)]


def _flat(root: Path, dists: list[BuiltDists]) -> Path:
    """pypiserver: every file in one directory, next to things that are no distributions."""
    root.mkdir()
    for path in _files(dists):
        shutil.copy(path, root / path.name)
    (root / "README.txt").write_text("not a distribution\n")
    (root / f"{dists[0].wheel.name}.asc").write_text("a signature\n")
    return root


def _nested(root: Path, dists: list[BuiltDists]) -> Path:
    """pypicloud: ``<package>/<version>/<filename>``."""
    for built in dists:
        folder = root / built.name / built.version
        folder.mkdir(parents=True)
        for path in (built.wheel, built.sdist):
            shutil.copy(path, folder / path.name)
    return root


def _config(tmp_path: Path) -> Path:
    config = tmp_path / "pyregistry.ini"
    config.write_text(f"[pyregistry]\nstorage.dir = {tmp_path / 'packages'}\n")
    return config


def _run_import(
    config: Path, source: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    # The CLI opens s3:// sources with s3fs's defaults: credentials and endpoint from the
    # environment, which only this subprocess gets.
    return subprocess.run(
        [str(Path(sys.executable).parent / "pyregistry"), "import", "--config", str(config), source],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _expected(dists: list[BuiltDists]) -> dict[str, dict[str, str]]:
    """project → {filename: sha256} of the built files."""
    out: dict[str, dict[str, str]] = {}
    for built in dists:
        project = built.name.lower().replace("_", "-")
        files = (built.wheel, built.sdist)
        out[project] = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    return out


def _assert_imported(config: Path, dists: list[BuiltDists]) -> None:
    registry = Registry.from_config(config)
    for project, files in _expected(dists).items():
        assert listed(registry, project) == files
        for filename, sha256 in files.items():
            download = send(registry, "GET", f"/files/{project}/{sha256}/{filename}")
            assert download.status == 200
            assert hashlib.sha256(body_bytes(download)).hexdigest() == sha256
    wheel = dists[0].wheel
    sha256 = _expected(dists)["imp-alpha"][wheel.name]
    metadata = send(registry, "GET", f"/files/imp-alpha/{sha256}/{wheel.name}.metadata")
    assert metadata.status == 200
    assert b"Name: Imp_Alpha" in body_bytes(metadata)


def _assert_report(
    result: subprocess.CompletedProcess[str], imported: int, present: int, failed: int
) -> None:
    summary = f"imported {imported}, already present {present}, failed {failed}"
    assert summary in result.stdout.splitlines(), f"{result.stdout}\n{result.stderr}"


@pytest.mark.parametrize("layout", ["flat", "nested"])
def test_import_from_a_directory(tmp_path: Path, import_dists: list[BuiltDists], layout: str):
    """Every wheel and sdist of a pypiserver (flat) or pypicloud (nested) directory is
    published with its hashes and metadata; other files are ignored; progress is shown."""
    source = (_flat if layout == "flat" else _nested)(tmp_path / "source", import_dists)
    config = _config(tmp_path)
    result = _run_import(config, str(source))
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    _assert_report(result, 4, 0, 0)
    assert "4/4" in result.stderr
    for path in _files(import_dists):
        assert path.name[:40] in result.stderr
    _assert_imported(config, import_dists)


def test_second_import_adds_nothing(tmp_path: Path, import_dists: list[BuiltDists]):
    """Running the same import again publishes nothing new and reports every file as
    already present (resumable, idempotent)."""
    source = _nested(tmp_path / "source", import_dists)
    config = _config(tmp_path)
    assert _run_import(config, str(source)).returncode == 0
    records = sorted((tmp_path / "packages" / "index").rglob("*.json"))
    stamps = [p.stat().st_mtime_ns for p in records]
    again = _run_import(config, str(source))
    assert again.returncode == 0, f"{again.stdout}\n{again.stderr}"
    _assert_report(again, 0, 4, 0)
    assert [p.stat().st_mtime_ns for p in records] == stamps
    _assert_imported(config, import_dists)


def test_other_bytes_under_an_existing_name_fail(tmp_path: Path, import_dists: list[BuiltDists]):
    """A source file whose name is published with other bytes is reported as failed
    (exit 1) and the published file is kept; the rest of the tree is still imported."""
    config = _config(tmp_path)
    assert _run_import(config, str(_flat(tmp_path / "first", import_dists[:1]))).returncode == 0
    second = _flat(tmp_path / "second", import_dists)
    clash = second / import_dists[0].sdist.name
    clash.write_bytes(clash.read_bytes() + b"\0" * 512)  # still a valid .tar.gz: trailing padding
    result = _run_import(config, str(second))
    assert result.returncode == 1, f"{result.stdout}\n{result.stderr}"
    _assert_report(result, 2, 1, 1)
    failed = [line for line in result.stdout.splitlines() if line.startswith("failed: ")]
    assert len(failed) == 1
    assert failed[0].startswith(f"failed: {clash}: File already exists"), failed
    _assert_imported(config, import_dists)


def test_import_from_s3(
    tmp_path: Path, s3_server: S3Server, s3_bucket: Bucket, import_dists: list[BuiltDists]
):
    """A pypicloud bucket (``s3://bucket/prefix`` holding ``<package>/<version>/<file>``)
    imports like a directory, and a second run adds nothing."""
    fs = s3_bucket.fs()
    for built in import_dists:
        for path in (built.wheel, built.sdist):
            fs.put_file(str(path), f"{s3_bucket.name}/pypicloud/{built.name}/{built.version}/{path.name}")
    config = _config(tmp_path)
    source = f"s3://{s3_bucket.name}/pypicloud"
    result = _run_import(config, source, s3_server.env())
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    _assert_report(result, 4, 0, 0)
    assert "4/4" in result.stderr
    _assert_imported(config, import_dists)
    again = _run_import(config, source, s3_server.env())
    _assert_report(again, 0, 4, 0)
