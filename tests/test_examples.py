"""The embedding examples in docs/examples, each run by a real server, used by real twine and pip.

Every example mounts the registry under a prefix inside a host app (Flask, Django over
WSGI and ASGI, FastAPI, Starlette, bare ASGI). Each test starts the example the way its
docstring says (gunicorn for WSGI, uvicorn for ASGI) on 127.0.0.1, uploads a real wheel
and sdist with twine to ``<prefix>/`` and installs the project with pip from
``<prefix>/simple/`` into a fresh virtual environment, using that server and nothing else.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import bcrypt
import pytest
from distbuild import BuiltDists, DistBuilder
from e2e.e2e_support import BIN, UPLOADER, UPLOADER_PASSWORD, Clients, output
from local_server import HOST, LocalServer, NotReady, free_port

pytestmark = pytest.mark.e2e

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "examples"
ALICE_PASSWORD = "alice-example-secret"
BOB_PASSWORD = "bob-example-secret"


@dataclass(frozen=True)
class Example:
    """One example app: how it is served and where its registry is mounted."""

    name: str
    server: str  # "gunicorn" (WSGI) or "uvicorn" (ASGI)
    target: str  # module:callable, relative to docs/examples
    prefix: str
    host_page: bytes | None  # what the host app answers at "/" (None: nothing there)


EXAMPLES = (
    Example("flask", "gunicorn", "flask_app:app", "/pypi-private", b'"app":"flask"'),
    Example("django-wsgi", "gunicorn", "django_project.wsgi:application", "/packages", b'"app": "django"'),
    Example("django-asgi", "uvicorn", "django_project.asgi:application", "/packages", b'"app": "django"'),
    Example("fastapi", "uvicorn", "fastapi_app:app", "/packages", b'"app":"fastapi"'),
    Example("starlette", "uvicorn", "starlette_app:app", "/pypi", b'"app":"starlette"'),
    Example("bare-asgi", "uvicorn", "bare_asgi:app", "/packages", None),
)


@dataclass(frozen=True)
class Reply:
    """A response: status, headers and body."""

    status: int
    headers: http.client.HTTPMessage
    body: bytes


class ExampleServer(LocalServer):
    """An example served by gunicorn or uvicorn on loopback, in its own process group,
    ready once ``health`` answers 200."""

    name = "server"
    stop_group = True

    def __init__(
        self, server: str, target: str, env: dict[str, str], workdir: Path, health: str, *extra: str
    ) -> None:
        self.health = health
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        if server == "gunicorn":
            command = [
                sys.executable,
                "-m",
                "gunicorn",
                "--pythonpath",
                str(EXAMPLES_DIR),
                "--bind",
                f"{HOST}:{self.port}",
                "--workers",
                "2",
                "--access-logfile",
                "-",
                *extra,
                target,
            ]
        else:
            command = [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(EXAMPLES_DIR),
                "--host",
                HOST,
                "--port",
                str(self.port),
                "--no-use-colors",
                *extra,
                target,
            ]
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("PYREGISTRY_", "PPC_", "DJANGO_", "SCRIPT_NAME"))
        }
        self._start(
            command, workdir / "server.log", cwd=workdir, env={**clean, **env, "PYTHONUNBUFFERED": "1"}
        )

    def _probe(self) -> None:
        status = self.request("GET", self.health, timeout=2.0).status
        if status != 200:
            raise NotReady(f"{self.health} answered {status}")

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, timeout: float = 30.0
    ) -> Reply:
        """One request on a fresh connection (redirects not followed)."""
        connection = http.client.HTTPConnection(HOST, self.port, timeout=timeout)
        try:
            connection.request(method, path, headers=headers or {})
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read())
        finally:
            connection.close()


def serving(
    server: str, target: str, env: dict[str, str], workdir: Path, health: str, *extra: str
) -> ExampleServer:
    """An example server, healthy, to use in ``with`` (stopped afterwards)."""
    return ExampleServer(server, target, env, workdir, health, *extra)


def basic(user: str, password: str) -> dict[str, str]:
    """An HTTP Basic Authorization header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


@pytest.fixture(scope="module")
def clients(tmp_path_factory: pytest.TempPathFactory) -> Clients:
    """pip, uv and twine with a clean environment and an empty home directory."""
    return Clients(tmp_path_factory.mktemp("examples-client-home"))


@pytest.fixture(scope="module")
def greeting(build_dists: DistBuilder) -> BuiltDists:
    """A real wheel and sdist of Example_Greeting 1.0."""
    return build_dists("Example_Greeting", "1.0")


@pytest.fixture(scope="module")
def registry_config(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An INI file with the uploading user; each server gets its own storage by env override."""
    path = tmp_path_factory.mktemp("examples-config") / "pyregistry.ini"
    password_hash = bcrypt.hashpw(UPLOADER_PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
    path.write_text(f"[pyregistry]\nstorage.dir = %(here)s/unused\nuser.{UPLOADER} = {password_hash}\n")
    return path


def file_urls(root: str, dists: BuiltDists) -> set[str]:
    """The download URLs the registry mounted at ``root`` gives the wheel and the sdist."""
    return {
        f"{root}/files/example-greeting/{hashlib.sha256(path.read_bytes()).hexdigest()}/{path.name}"
        for path in (dists.wheel, dists.sdist)
    }


Completed = subprocess.CompletedProcess[str]


def twine_upload(clients: Clients, url: str, user: str, password: str, dists: BuiltDists) -> Completed:
    """Real ``twine upload`` of a wheel and an sdist to ``url``."""
    return clients.run(
        [
            str(BIN / "twine"),
            "upload",
            "--non-interactive",
            "--disable-progress-bar",
            "--repository-url",
            url,
            "-u",
            user,
            "-p",
            password,
            str(dists.wheel),
            str(dists.sdist),
        ]
    )


def pip_install(clients: Clients, venv: Path, index_url: str, requirement: str) -> Completed:
    """Real ``pip install`` into ``venv`` from ``index_url`` only, with no cache."""
    return clients.pip("install", "--no-cache-dir", "--index-url", index_url, requirement, python=venv)


def installed_version(clients: Clients, venv: Path) -> str:
    """``example_greeting.__version__`` as the venv's interpreter imports it."""
    result = clients.run([str(venv), "-c", "import example_greeting; print(example_greeting.__version__)"])
    assert result.returncode == 0, output(result)
    return result.stdout.strip()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.name for e in EXAMPLES])
def test_example_serves_twine_and_pip_under_its_prefix(
    example: Example, clients: Clients, greeting: BuiltDists, registry_config: Path, tmp_path: Path
) -> None:
    """twine uploads to <prefix>/ and pip installs from <prefix>/simple/, beside the host app's own pages."""
    env = {"PYREGISTRY_CONFIG": str(registry_config), "PYREGISTRY_STORAGE_DIR": str(tmp_path / "packages")}
    with serving(example.server, example.target, env, tmp_path, f"{example.prefix}/health") as server:
        root = f"{server.url}{example.prefix}"
        upload = twine_upload(clients, f"{root}/", UPLOADER, UPLOADER_PASSWORD, greeting)
        assert upload.returncode == 0, output(upload) + server.log_text()

        venv = clients.venv(tmp_path / "venv")
        install = pip_install(clients, venv, f"{root}/simple/", "example-greeting")
        assert install.returncode == 0, output(install) + server.log_text()
        assert installed_version(clients, venv) == "1.0"

        # Absolute URLs the registry makes carry the host and the mount prefix.
        document = json.loads(server.request("GET", f"{example.prefix}/pypi/example-greeting/json").body)
        assert {entry["url"] for entry in document["urls"]} == file_urls(root, greeting)
        # Redirects stay below the prefix.
        moved = server.request("GET", f"{example.prefix}/simple/Example_Greeting/")
        assert moved.status == 301
        assert moved.headers["Location"] == f"{example.prefix}/simple/example-greeting/"

        home = server.request("GET", "/")
        if example.host_page is None:
            assert home.status == 404
        else:
            assert home.status == 200
            assert example.host_page in home.body


def test_host_login_decides_who_reads_and_uploads(
    clients: Clients, greeting: BuiltDists, tmp_path: Path
) -> None:
    """With identify=, the host app's users upload and install; without credentials pip gets 401."""
    env = {
        "PYREGISTRY_STORAGE_DIR": str(tmp_path / "packages"),
        "ALICE_PASSWORD": ALICE_PASSWORD,
        "BOB_PASSWORD": BOB_PASSWORD,
    }
    with serving("gunicorn", "flask_login_app:app", env, tmp_path, "/packages/health") as server:
        index = f"http://{HOST}:{server.port}/packages/simple/"

        refused = twine_upload(clients, f"{server.url}/packages/", "bob", BOB_PASSWORD, greeting)
        assert refused.returncode != 0
        assert "HTTPError: 403 Forbidden" in (refused.stdout + refused.stderr), output(refused)
        upload = twine_upload(clients, f"{server.url}/packages/", "alice", ALICE_PASSWORD, greeting)
        assert upload.returncode == 0, output(upload) + server.log_text()

        anonymous = server.request("GET", "/packages/simple/example-greeting/")
        assert anonymous.status == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="pypi"'
        assert (
            server.request("GET", "/packages/simple/example-greeting/", basic("alice", "wrong")).status == 401
        )
        assert (
            server.request("GET", "/packages/simple/example-greeting/", basic("bob", BOB_PASSWORD)).status
            == 200
        )
        # The host app's own page behind the same login.
        assert json.loads(server.request("GET", "/", basic("alice", ALICE_PASSWORD)).body)["user"] == "alice"

        venv = clients.venv(tmp_path / "venv")
        without = pip_install(clients, venv, index, "example-greeting")
        assert without.returncode != 0
        assert "No matching distribution found for example-greeting" in without.stderr, output(without)
        assert '"GET /packages/simple/example-greeting/ HTTP/1.1" 401' in server.log_text()

        with_credentials = pip_install(
            clients,
            venv,
            f"http://alice:{ALICE_PASSWORD}@{HOST}:{server.port}/packages/simple/",
            "example-greeting",
        )
        assert with_credentials.returncode == 0, output(with_credentials) + server.log_text()
        assert installed_version(clients, venv) == "1.0"


def test_uvicorn_root_path_behind_a_prefix_stripping_proxy(
    clients: Clients, greeting: BuiltDists, registry_config: Path, tmp_path: Path
) -> None:
    """uvicorn --root-path serves requests a proxy forwarded without the prefix, and URLs get it back."""
    env = {"PYREGISTRY_CONFIG": str(registry_config), "PYREGISTRY_STORAGE_DIR": str(tmp_path / "packages")}
    with serving(
        "uvicorn", "bare_asgi:registry_app", env, tmp_path, "/health", "--root-path", "/packages"
    ) as server:
        # What a proxy forwards for /packages/ after stripping the prefix is "/".
        upload = twine_upload(clients, f"{server.url}/", UPLOADER, UPLOADER_PASSWORD, greeting)
        assert upload.returncode == 0, output(upload) + server.log_text()
        moved = server.request("GET", "/simple/Example_Greeting/")
        assert (moved.status, moved.headers["Location"]) == (301, "/packages/simple/example-greeting/")
        document = json.loads(server.request("GET", "/pypi/example-greeting/json").body)
        assert {entry["url"] for entry in document["urls"]} == file_urls(f"{server.url}/packages", greeting)
