"""Real twine, pip and uv against a real server process, through each adapter."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
from distbuild import BuiltDists, DistBuilder
from e2e_support import (
    UPLOADER,
    UPLOADER_PASSWORD,
    Clients,
    Server,
    file_digests,
    output,
    post_file,
    upload_fields,
    wheel_metadata,
)

pytestmark = pytest.mark.e2e


def _installed_version(python: Path, clients: Clients, module: str) -> str:
    result = clients.run([str(python), "-c", f"import {module}; print({module}.__version__)"])
    assert result.returncode == 0, output(result)
    return result.stdout.strip()


def test_twine_upload_then_install_with_a_dependency(
    published: Server, clients: Clients, build_dists: DistBuilder, fresh_venv: Path
) -> None:
    """twine uploads a wheel and sdist that are listed with their sha256 and install with their dependency."""
    beta = build_dists("Beta.Tool", "0.3", dependencies=["acme-utils>=1.0"])
    result = clients.twine_upload(published, beta.wheel, beta.sdist, url_path="/legacy/")
    assert result.returncode == 0, output(result)
    listed = {f["filename"]: f["hashes"] for f in published.project_json("beta-tool")["files"]}
    assert listed == {
        beta.wheel.name: {"sha256": file_digests(beta.wheel)["sha256"]},
        beta.sdist.name: {"sha256": file_digests(beta.sdist)["sha256"]},
    }
    install = clients.uv(
        "pip", "install", "--no-cache", "--python", str(fresh_venv), "--index-url", published.index_url,
        "Beta.Tool",
    )  # fmt: skip
    assert install.returncode == 0, output(install)
    assert _installed_version(fresh_venv, clients, "beta_tool") == "0.3"
    assert _installed_version(fresh_venv, clients, "acme_utils") == "1.1"


def test_uv_publish_uploads_and_skips_what_the_index_holds(
    server: Server, clients: Clients, build_dists: DistBuilder
) -> None:
    """uv publish uploads a wheel and sdist; again with --check-url it skips both as present."""
    gamma = build_dists("gamma", "2.5")
    publish = [
        "publish", "--no-cache", "--publish-url", f"{server.url}/legacy/",
        "--username", UPLOADER, "--password", UPLOADER_PASSWORD,
    ]  # fmt: skip
    first = clients.uv(*publish, str(gamma.wheel), str(gamma.sdist))
    assert first.returncode == 0, output(first)
    listed = {f["filename"] for f in server.project_json("gamma")["files"]}
    assert listed == {gamma.wheel.name, gamma.sdist.name}
    offset = server.log_size()
    again = clients.uv(*publish, "--check-url", server.index_url, str(gamma.wheel), str(gamma.sdist))
    assert again.returncode == 0, output(again)
    for dist in (gamma.wheel, gamma.sdist):
        assert f"File {dist.name} already exists, skipping" in again.stderr, output(again)
    assert not [r for r in server.requests_since(offset) if r[0] == "POST"], output(again)


def test_pip_installs_from_the_index_alone(published: Server, clients: Clients, fresh_venv: Path) -> None:
    """pip installs from our index only, skipping the release whose Requires-Python excludes it."""
    result = clients.pip(
        "install",
        "--no-cache-dir",
        "--index-url",
        published.index_url,
        "Acme_Utils",
        python=fresh_venv,
    )
    assert result.returncode == 0, output(result)
    assert _installed_version(fresh_venv, clients, "acme_utils") == "1.1"


def test_uv_installs_from_the_index_alone(published: Server, clients: Clients, fresh_venv: Path) -> None:
    """uv installs the newest release our index offers for this Python."""
    result = clients.uv(
        "pip",
        "install",
        "--no-cache",
        "--python",
        str(fresh_venv),
        "--index-url",
        published.index_url,
        "acme-utils",
    )
    assert result.returncode == 0, output(result)
    assert _installed_version(fresh_venv, clients, "acme_utils") == "1.1"


@pytest.mark.parametrize("spelling", ["Acme_Utils", "acme.utils", "ACME-utils"])
def test_uv_installs_any_spelling_of_the_name(
    published: Server, clients: Clients, fresh_venv: Path, spelling: str
) -> None:
    """Every spelling that normalizes to acme-utils installs the same project."""
    result = clients.uv(
        "pip",
        "install",
        "--no-cache",
        "--python",
        str(fresh_venv),
        "--index-url",
        published.index_url,
        f"{spelling}==1.0",
    )
    assert result.returncode == 0, output(result)
    assert _installed_version(fresh_venv, clients, "acme_utils") == "1.0"


def test_pip_installs_a_dotted_spelling(published: Server, clients: Clients, fresh_venv: Path) -> None:
    """pip resolves acme.utils to the acme-utils project."""
    result = clients.pip(
        "install",
        "--no-cache-dir",
        "--index-url",
        published.index_url,
        "acme.utils==1.0",
        python=fresh_venv,
    )
    assert result.returncode == 0, output(result)
    assert _installed_version(fresh_venv, clients, "acme_utils") == "1.0"


def test_pip_download_only_binary_gets_the_wheel(
    published: Server, clients: Clients, acme: dict[str, BuiltDists], tmp_path: Path
) -> None:
    """pip download --only-binary :all: fetches exactly the uploaded wheel's bytes."""
    result = clients.pip(
        "download",
        "--no-cache-dir",
        "--no-deps",
        "--only-binary",
        ":all:",
        "--index-url",
        published.index_url,
        "--dest",
        str(tmp_path),
        "acme-utils==1.0",
    )
    assert result.returncode == 0, output(result)
    wheel = acme["1.0"].wheel
    assert sorted(p.name for p in tmp_path.iterdir()) == [wheel.name]
    assert (tmp_path / wheel.name).read_bytes() == wheel.read_bytes()


def test_pip_download_no_binary_gets_the_sdist(
    published: Server, clients: Clients, acme: dict[str, BuiltDists], tmp_path: Path
) -> None:
    """pip download --no-binary :all: fetches exactly the uploaded sdist's bytes."""
    result = clients.pip(
        "download",
        "--no-cache-dir",
        "--no-deps",
        "--no-binary",
        ":all:",
        "--no-build-isolation",
        "--index-url",
        published.index_url,
        "--dest",
        str(tmp_path),
        "acme-utils==1.0",
    )
    assert result.returncode == 0, output(result)
    sdist = acme["1.0"].sdist
    assert sorted(p.name for p in tmp_path.iterdir()) == [sdist.name]
    assert (tmp_path / sdist.name).read_bytes() == sdist.read_bytes()


def test_uv_resolves_from_pep658_metadata(
    published: Server, clients: Clients, acme: dict[str, BuiltDists], tmp_path: Path
) -> None:
    """uv pip compile reads the wheel's .metadata file and never downloads the wheel itself."""
    wheel = acme["1.1"].wheel
    wheel_path = published.file_path("acme-utils", wheel.name)
    requirements = tmp_path / "requirements.in"
    requirements.write_text("acme-utils==1.1\n")
    offset = published.log_size()
    result = clients.uv(
        "pip",
        "compile",
        "--no-cache",
        "--no-header",
        "--python",
        sys.executable,
        "--index-url",
        published.index_url,
        str(requirements),
    )
    assert result.returncode == 0, output(result)
    assert "acme-utils==1.1" in result.stdout
    seen = published.wait_for_request(offset, "GET", wheel_path + ".metadata")
    assert ("GET", wheel_path + ".metadata", 200) in seen, seen
    assert not [r for r in seen if r[1] == wheel_path], seen


def test_metadata_file_is_the_wheels_metadata(published: Server, acme: dict[str, BuiltDists]) -> None:
    """The .metadata file holds the wheel's METADATA and matches the hash the page advertises."""
    wheel = acme["1.0"].wheel
    expected = wheel_metadata(wheel)
    wheel_path = published.file_path("acme-utils", wheel.name)
    reply = published.request("GET", wheel_path + ".metadata")
    assert reply.status == 200
    assert reply.body == expected
    (entry,) = [f for f in published.project_json("acme-utils")["files"] if f["filename"] == wheel.name]
    assert entry["core-metadata"] == {"sha256": hashlib.sha256(expected).hexdigest()}


def test_identical_reupload_succeeds(
    published: Server, clients: Clients, acme: dict[str, BuiltDists]
) -> None:
    """Re-uploading identical files is a harmless success, for twine and for a raw POST (200)."""
    dists = acme["1.0"]
    result = clients.twine_upload(published, dists.wheel, dists.sdist)
    assert result.returncode == 0, output(result)
    reply = post_file(published, dists.wheel, upload_fields(dists.wheel, "Acme_Utils", "1.0"))
    assert (reply.status, reply.body) == (200, b"OK (identical file already stored)\n")


def test_conflicting_upload_is_refused(
    published: Server, clients: Clients, acme: dict[str, BuiltDists], build_dists: DistBuilder
) -> None:
    """Other bytes under a stored filename get 400 "File already exists" and change nothing."""
    original = acme["1.0"].wheel
    changed = build_dists(
        "Acme_Utils", "1.0", requires_python=">=3.8", files={"extra.py": "CHANGED = True\n"}
    ).wheel
    assert changed.name == original.name
    assert changed.read_bytes() != original.read_bytes()

    # twine shows the body only with --verbose; without it, only the reason phrase.
    result = clients.twine_upload(published, changed, verbose=True)
    assert result.returncode == 1, output(result)
    assert "File already exists" in result.stdout + result.stderr, output(result)

    reply = post_file(published, changed, upload_fields(changed, "Acme_Utils", "1.0"))
    # PyPI's wording (twine's --skip-existing keys on its start), without PyPI's help link.
    expected = (
        f"File already exists ('{original.name}', with blake2_256 hash "
        f"'{file_digests(original)['blake2_256']}'). Published files never change: "
        "upload a new version.\n"
    )
    message = reply.body.decode()
    assert reply.status == 400
    assert message == expected, message
    if published.adapter == "wsgi":  # ASGI has no way to send a custom reason phrase
        assert reply.reason == message.rstrip("\n")

    stored = published.request("GET", published.file_path("acme-utils", original.name))
    assert stored.body == original.read_bytes()
