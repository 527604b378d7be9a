"""``pyregistry import`` end to end: a pypicloud bucket imported into a registry on S3,
served by ``pyregistry serve``, installed with pip."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from distbuild import DistBuilder
from e2e_support import BIN, UPLOADER, Clients, Server, output
from s3_server import Bucket, S3Server

pytestmark = pytest.mark.e2e


def test_imported_pypicloud_bucket_is_installable(
    tmp_path: Path,
    s3_server: S3Server,
    s3_bucket: Bucket,
    build_dists: DistBuilder,
    clients: Clients,
    fresh_venv: Path,
    uploader_hash: str,
):
    """Files imported from ``s3://bucket/pypicloud`` (``<package>/<version>/<file>``) into a
    registry on another prefix of S3 install with pip, dependencies resolved among them,
    and the sdists are served byte for byte."""
    alpha = build_dists("Imp_Alpha", "1.0")
    gamma = build_dists("imp-gamma", "3.0", dependencies=["Imp_Alpha>=1"])
    fs = s3_bucket.fs()
    for built in (alpha, gamma):
        for path in (built.wheel, built.sdist):
            fs.put_file(str(path), f"{s3_bucket.name}/pypicloud/{built.name}/{built.version}/{path.name}")
    config = tmp_path / "pyregistry.ini"
    config.write_text(
        "[pyregistry]\n"
        + "".join(f"{key} = {value}\n" for key, value in s3_bucket.url_config().items())
        + f"user.{UPLOADER} = {uploader_hash}\n"
    )
    imported = subprocess.run(
        [str(BIN / "pyregistry"), "import", "--config", str(config), f"s3://{s3_bucket.name}/pypicloud"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={**os.environ, **s3_server.env()},
    )
    assert imported.returncode == 0, output(imported)
    assert "imported 4, already present 0, failed 0" in imported.stdout.splitlines(), output(imported)

    server = Server("serve", config, tmp_path / "server.log", tmp_path)
    try:
        install = clients.pip(
            "install", "--no-cache-dir", "--index-url", server.index_url, "imp-gamma==3.0", python=fresh_venv
        )
        assert install.returncode == 0, output(install)
        code = "import imp_alpha as a, imp_gamma as g; print(a.__version__, g.__version__)"
        check = clients.run([str(fresh_venv), "-c", code])
        assert (check.returncode, check.stdout.strip()) == (0, "1.0 3.0"), output(check)
        sdist = server.request("GET", server.file_path("imp-alpha", alpha.sdist.name))
        assert (sdist.status, sdist.body) == (200, alpha.sdist.read_bytes())
    finally:
        server.stop()
