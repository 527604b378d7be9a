"""The documentation in docs/: complete against the code, its examples run, its links resolve."""

from __future__ import annotations

import contextlib
import doctest
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import attrs
import pytest
from docs_shell import CHECKOUT, Command, Scenario, free_port, run_commands, shell_commands
from upstream_app import UpstreamIndex

from pyregistry_core.config_keys import S3_OPTIONS
from pyregistry_core.settings import KEYS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
PAGES = sorted(DOCS.glob("*.md"))
# Key patterns settings.py reads besides KEYS, and pypicloud keys it ignores with a log line.
PATTERN_KEYS = ("user.", "group.", "package.", "storage.")
IGNORED_KEYS = ("use", "pyramid.*", "session.*", "pypi.db", "db.*")
_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|(.*)\|\s*$")


def _table_rows(text: str) -> dict[str, list[str]]:
    """Markdown table rows whose first cell is a `code` key: key → the other cells."""
    rows: dict[str, list[str]] = {}
    for line in text.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match.group(1)] = [cell.strip() for cell in match.group(2).split(" | ")]
    return rows


def _documented_default(default: str | None) -> str:
    if default is None:
        return "—"
    return "(empty)" if default == "" else f"`{default}`"


def test_every_key_is_documented_with_its_default_and_pypicloud_equivalent() -> None:
    """Each key of settings.KEYS has a row in configuration.md with the code's default and pypicloud name."""
    rows = _table_rows(CONFIGURATION.read_text())
    missing = [key for key in KEYS if key not in rows]
    assert missing == [], f"configuration.md lacks {missing}"
    for key, info in KEYS.items():
        default, pypicloud = rows[key][0], rows[key][1]
        assert default == _documented_default(info.default), key
        expected = info.pypicloud if info.pypicloud.startswith("(") else f"`{info.pypicloud}`"
        assert pypicloud.startswith(expected), key


def test_documented_keys_all_exist() -> None:
    """The key table names no key the code does not read (no stale or invented keys)."""
    text = CONFIGURATION.read_text()
    keys_table = text.split("## Keys", 1)[1].split("## Pattern keys", 1)[0]
    assert set(_table_rows(keys_table)) == set(KEYS)


def test_pattern_and_ignored_keys_are_documented() -> None:
    """user.*, group.*, package.*, storage.* (with the S3 options) and the ignored keys are documented."""
    text = CONFIGURATION.read_text()
    rows = _table_rows(text)
    for prefix in PATTERN_KEYS:
        assert any(key.startswith(prefix) and "<" in key for key in rows), prefix
    for option in S3_OPTIONS:
        assert f"`{option}`" in text, option
    for key in IGNORED_KEYS:
        assert f"`{key}`" in text, key


def test_library_examples_run() -> None:
    """Every example in docs/library.md gives the output it shows."""
    results = doctest.testfile(
        str(DOCS / "library.md"), module_relative=False, optionflags=doctest.ELLIPSIS, verbose=False
    )
    assert results.failed == 0
    assert results.attempted >= 40


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    """Every relative link of a docs page points to a file or directory that exists."""
    targets = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
    broken = [t for t in targets if "://" not in t and not (page.parent / t).exists()]
    assert broken == []


def test_docs_name_no_machine_path_or_public_registry_host() -> None:
    """The docs and examples name no path of a build machine and no public package registry host."""
    # This machine's paths are found at run time: the checkout's parent and the home.
    checkout_parent = str(Path(__file__).resolve().parents[2]) + "/"
    # Registry hosts are assembled so that this file does not name them either.
    hosts = ("pypi" + ".org", "python" + "hosted")
    forbidden = (checkout_parent, str(Path.home()) + "/", *hosts, "pytest-of-")
    files = [*PAGES, *DOCS.glob("examples/**/*.py")]
    found = [(f.name, word) for f in files for word in forbidden if word in f.read_text()]
    assert found == []


def _commands_shown(text: str) -> set[str]:
    """The words after ``pyregistry`` in code: fenced blocks and inline code spans."""
    code = re.findall(r"^```[a-z]*\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    code += re.findall(r"`([^`\n]+)`", text)
    command = re.compile(r"(?:^|\| )(?:[A-Z_]+=\S+ )*pyregistry ([a-z][a-z-]*)", re.MULTILINE)
    return {word for snippet in code for word in command.findall(snippet)}


def test_documented_cli_commands_exist() -> None:
    """Every `pyregistry <command>` the docs show is a command of the CLI."""
    result = subprocess.run(
        [sys.executable, "-m", "pyregistry_server.cli", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    commands = set(re.search(r"\{([a-z,-]+)\}", result.stdout).group(1).split(","))  # type: ignore[union-attr]
    shown = {word for page in PAGES for word in _commands_shown(page.read_text())}
    assert shown, "the docs show no pyregistry command"
    assert shown <= commands, shown - commands


def test_every_example_app_is_run_by_the_examples_test() -> None:
    """Each app in docs/examples is served by tests/test_examples.py, so none goes untested."""
    tested = (ROOT / "tests" / "test_examples.py").read_text()
    modules = [p.stem for p in (DOCS / "examples").glob("*.py")]
    modules += [f"django_project.{name}" for name in ("wsgi", "asgi")]
    assert sorted(m for m in modules if f'"{m}:' not in tested) == []


def test_readme_first_try_uploads_with_empty_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pyregistry serve` with no config on loopback takes the README's `twine upload -u '' -p ''`."""
    import base64
    import io

    from distfiles import upload_body, wheel_bytes
    from pyregistry_server.serve import build_registry

    from pyregistry_core import Request, handle

    monkeypatch.chdir(tmp_path)
    registry = build_registry(None, "127.0.0.1", {})
    data = wheel_bytes("first-try", "1.0")
    body, content_type = upload_body("first-try", "1.0", "first_try-1.0-py3-none-any.whl", data)
    credentials = base64.b64encode(b":").decode()
    response = handle(
        registry,
        Request(
            "POST",
            "/",
            body=io.BytesIO(body),
            headers={
                "content-type": content_type,
                "content-length": str(len(body)),
                "authorization": f"Basic {credentials}",
            },
        ),
    )
    assert (response.status, response.body) == (200, b"OK\n")


# -- every shell command of README.md and docs/ runs as written ----------------------------

ANY_PAGE = [ROOT / "README.md", *PAGES]
YOUR_PACKAGE = (("your-package", "1.0"),)
INIT = "pyregistry init --mode personal -o pyregistry.ini >/dev/null"
PUBLISHED = INIT + '\npyregistry import --config pyregistry.ini "$DOCS_DIST" >/dev/null'
# A registry only alice may read, holding secret-tool, served on the section's port.
PRIVATE_SERVER = """
pyregistry init --mode private -o pyregistry.ini >/dev/null
echo "user.alice = $(printf '%s\\n' "$DOCS_PASSWORD" | command pyregistry hash-password)" >> pyregistry.ini
pyregistry import --config pyregistry.ini "$DOCS_DIST" >/dev/null
_docs_serve pyregistry serve --config pyregistry.ini
"""
PYPICLOUD_AND_STORES = """
cat > pypicloud.ini <<'END'
[app:main]
use = egg:pypicloud
pypi.fallback = none
pypi.storage = file
storage.dir = %(here)s/pypicloud-packages
pypi.db = sql
db.url = sqlite:///%(here)s/db.sqlite
pypi.auth = config
auth.admins = alice
END
mkdir -p old-packages/your-package/1.0
cp "$DOCS_DIST"/your_package-1.0-py3-none-any.whl old-packages/your-package/1.0/
python -c 'import s3fs, sys; s3fs.S3FileSystem().put(sys.argv[1], "old-bucket/packages/your-package/1.0/")' \\
  "$DOCS_DIST"/your_package-1.0-py3-none-any.whl
"""
PYPISERVER_FILES = """
mkdir -p ~/packages && cp "$DOCS_DIST"/*.whl ~/packages/
python -c 'import base64, hashlib, os; password = os.environ["DOCS_PASSWORD"].encode()
print("alice:{SHA}" + base64.b64encode(hashlib.sha1(password).digest()).decode())' > ~/.htpasswd
"""
# Sections whose commands run, and what their reader has besides the page.
SCENARIOS: dict[tuple[str, str], Scenario] = {
    ("README.md", ""): Scenario(dists=YOUR_PACKAGE, copy=CHECKOUT, install=True),
    ("docs/index.md", "Start here"): Scenario(copy=CHECKOUT, install=True),
    ("docs/quickstart.md", "A first try"): Scenario(
        dists=YOUR_PACKAGE,
        before={
            "twine upload --repository-url http://127.0.0.1:8080/ -u '' -p '' dist/*": 'cp -r "$DOCS_DIST" .'
        },
    ),
    ("docs/quickstart.md", "A LAN or VPC caching proxy"): Scenario(),
    ("docs/quickstart.md", "A personal publishing server"): Scenario(dists=YOUR_PACKAGE),
    ("docs/quickstart.md", "An organisation's private registry"): Scenario(
        dists=(("secret-tool", "1.2.0"),), s3_bucket="corp-packages", s3_region="eu-west-1"
    ),
    ("docs/deployment.md", "The server: gunicorn's ASGI worker"): Scenario(setup=INIT),
    ("docs/deployment.md", "Behind a reverse proxy"): Scenario(dists=YOUR_PACKAGE, setup=PUBLISHED),
    ("docs/deployment.md", "Backups and restore"): Scenario(
        dists=YOUR_PACKAGE, setup=PUBLISHED, s3_bucket="corp-packages", s3_region="eu-west-1", tools=("aws",)
    ),
    ("docs/security.md", "Audit trail"): Scenario(dists=YOUR_PACKAGE, setup=PUBLISHED),
    ("docs/clients.md", "Credentials in `~/.netrc`"): Scenario(
        dists=(("secret-tool", "1.0"),), setup=PRIVATE_SERVER
    ),
    ("docs/clients.md", "Credentials in a keyring"): Scenario(
        dists=(("secret-tool", "1.0"),),
        # as after `pipx install keyring`: the command outside the environment pip runs in
        setup=PRIVATE_SERVER + 'mkdir -p ~/.local/bin && ln -s "$(type -P keyring)" ~/.local/bin/keyring\n'
        'export PATH="$PATH:$HOME/.local/bin"',
    ),
    ("docs/clients.md", "pip's configuration file"): Scenario(
        dists=(("secret-tool", "1.0"),),
        setup=PRIVATE_SERVER + 'echo "machine 127.0.0.1 login alice password $DOCS_PASSWORD" > ~/.netrc',
    ),
    ("docs/clients.md", "uv's configuration file"): Scenario(
        dists=(("secret-tool", "1.0"),),
        setup=PRIVATE_SERVER + 'echo "machine 127.0.0.1 login alice password $DOCS_PASSWORD" > ~/.netrc',
    ),
    ("docs/migration.md", "From pypicloud"): Scenario(
        dists=YOUR_PACKAGE, setup=PYPICLOUD_AND_STORES, s3_bucket="old-bucket"
    ),
    ("docs/migration.md", "From pypiserver"): Scenario(dists=YOUR_PACKAGE, setup=PYPISERVER_FILES),
    ("docs/migration.md", "From layout v1"): Scenario(dists=YOUR_PACKAGE, setup=PUBLISHED),
    ("docs/benchmarks.md", "Reproducing"): Scenario(copy=("benchmarks",)),
}
# Commands another test runs, by the test that does.
EXAMPLES_TEST = "tests/test_examples.py"
TRUSTED_PUBLISHING_TEST = "tests/test_trusted_publishing.py"
COVERED = {
    # tests/test_examples.py serves each example app with gunicorn/uvicorn, then twine and pip use it.
    "cd docs/examples": EXAMPLES_TEST,
    "PYREGISTRY_CONFIG=/srv/pyregistry.ini gunicorn --workers 2 flask_app:app": EXAMPLES_TEST,
    "twine upload --repository-url http://127.0.0.1:8000/pypi-private/ -u alice dist/*": EXAMPLES_TEST,
    "pip install --index-url http://127.0.0.1:8000/pypi-private/simple/ your-package": EXAMPLES_TEST,
    # tests/test_trusted_publishing.py runs the quickstart's block on its GitHub example config.
    "pyregistry publisher add --config pyregistry.ini acme-tool github repo=acme/tool workflow=release.yml "
    "environment=pypi": TRUSTED_PUBLISHING_TEST,
    "pyregistry publisher list --config pyregistry.ini": TRUSTED_PUBLISHING_TEST,
}
# Commands no test runs, and why.
NOT_RUN = {
    "python3 -m venv .venv && .venv/bin/pip install 'pip>=25.1' && "
    ".venv/bin/pip install -e '.[all]' --group test && .venv/bin/python -m pytest": (
        "it runs this suite; .ci/run runs exactly this line from a clean clone"
    ),
    "apt-get install -y wrk            # the load generator (without it a slower Python one runs, "
    "and the output says so)": "installs a system package as root",
    "tox -e bench                      # every benchmark, about 17 minutes; writes benchmarks/RESULTS.md": (
        "seventeen minutes of every core; test_benchmark_duration_matches_the_last_run checks what it says"
    ),
    "tox -e bench -- bench_startup     # one benchmark (prints, does not write RESULTS.md)": (
        "builds a tox environment and loads the machine for a minute"
    ),
}


def _all_commands() -> list[Command]:
    return [command for page in ANY_PAGE for command in shell_commands(page, ROOT)]


def _sections() -> list[tuple[str, str]]:
    return sorted(
        {(c.page, c.section) for c in _all_commands() if c.line not in COVERED and c.line not in NOT_RUN}
    )


def test_every_documented_command_is_run_covered_or_excused() -> None:
    """Each shell command of the docs runs in a section scenario, is run by a named test, or says why not."""
    commands = _all_commands()
    assert len(commands) > 40
    orphans = [
        c
        for c in commands
        if c.line not in COVERED and c.line not in NOT_RUN and (c.page, c.section) not in SCENARIOS
    ]
    assert orphans == []
    lines = {c.line for c in commands}
    assert set(COVERED) <= lines, "a COVERED entry names a command the docs no longer show"
    assert set(NOT_RUN) <= lines, "a NOT_RUN entry names a command the docs no longer show"
    assert set(SCENARIOS) <= {(c.page, c.section) for c in commands}
    for test in set(COVERED.values()):
        assert (ROOT / test).is_file(), test
    assert "flask_app:app" in (ROOT / "tests" / "test_examples.py").read_text()
    assert next(iter(NOT_RUN)) in (ROOT / ".ci" / "run").read_text()


@pytest.fixture(scope="module")
def docs_upstream() -> Iterator[UpstreamIndex]:
    """A local upstream index holding ``requests``, for the caching-proxy section."""
    with UpstreamIndex() as upstream:
        upstream.add("requests", "2.32.0", kinds=("wheel",))
        yield upstream


@pytest.mark.parametrize(("page", "section"), _sections(), ids=lambda value: value.replace(" ", "-"))
def test_documented_commands_run_as_written(
    page: str, section: str, tmp_path: Path, docs_upstream: UpstreamIndex, request: pytest.FixtureRequest
) -> None:
    """A section's shell commands, in order, exit 0 against a server on loopback."""
    scenario = SCENARIOS[(page, section)]
    commands = [c for c in _all_commands() if (c.page, c.section) == (page, section)]
    missing = [tool for tool in scenario.tools if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed")
    if scenario.s3_bucket:
        s3 = request.getfixturevalue("s3_server")
        where = (
            {"CreateBucketConfiguration": {"LocationConstraint": scenario.s3_region}}
            if scenario.s3_region
            else {}
        )
        with contextlib.suppress(Exception):  # the bucket outlives one run of this test
            s3.fs().call_s3("create_bucket", Bucket=scenario.s3_bucket, **where)
        scenario = attrs.evolve(scenario, env={**scenario.env, **s3.env()})
    result = run_commands(
        commands,
        scenario,
        workdir=tmp_path,
        port=free_port(),
        upstream=docs_upstream.url,
        skip=[*COVERED, *NOT_RUN],
    )
    log = (tmp_path / "server.log").read_text() if (tmp_path / "server.log").exists() else ""
    assert result.returncode == 0, f"{result.stdout[-6000:]}\n--- server log ---\n{log[-3000:]}"


# -- deployment files, metric names, benchmark figures --------------------------------------


def _fenced(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.MULTILINE | re.DOTALL)


def _systemd_unit() -> str:
    (unit,) = [b for b in _fenced((DOCS / "deployment.md").read_text(), "ini") if b.startswith("[Unit]")]
    return unit


def _verify_unit(unit: str, directory: Path) -> subprocess.CompletedProcess[str]:
    # The unit names the venv of a real install; here the checkout's own command stands in.
    path = directory / "pyregistry.service"
    path.write_text(
        unit.replace("/srv/pyregistry/.venv/bin/pyregistry", str(Path(sys.executable).parent / "pyregistry"))
    )
    return subprocess.run(
        ["systemd-analyze", "verify", str(path)], capture_output=True, text=True, timeout=60, check=False
    )


def test_systemd_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """deployment.md's unit has no unknown key or section, and a misspelt key would be reported."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = _systemd_unit()
    assert "ExecReload=/bin/kill -HUP $MAINPID" in unit
    result = _verify_unit(unit, tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")
    broken = _verify_unit(unit.replace("ExecReload=", "ExecRelaod="), tmp_path)
    assert "Unknown key 'ExecRelaod'" in broken.stderr


def _nginx_test(server_block: str, directory: Path) -> subprocess.CompletedProcess[str]:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=pypi.corp.example",
         "-keyout", str(directory / "key.pem"), "-out", str(directory / "cert.pem")],
        capture_output=True, timeout=60, check=True,
    )  # fmt: skip
    server_block = server_block.replace("/etc/ssl/certs/pypi.corp.example.pem", str(directory / "cert.pem"))
    server_block = server_block.replace("/etc/ssl/private/pypi.corp.example.key", str(directory / "key.pem"))
    (directory / "pyregistry.conf").write_text(server_block)
    (directory / "nginx.conf").write_text(
        f"pid {directory}/nginx.pid;\nerror_log {directory}/error.log;\nevents {{}}\n"
        f"http {{\n  client_body_temp_path {directory}/body;\n  proxy_temp_path {directory}/proxy;\n"
        f"  include {directory}/pyregistry.conf;\n}}\n"
    )
    return subprocess.run(
        ["nginx", "-t", "-p", str(directory), "-c", str(directory / "nginx.conf")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


def test_nginx_config_passes_nginx_t(tmp_path: Path) -> None:
    """deployment.md's nginx server blocks pass ``nginx -t``, and a typo in them would not."""
    if shutil.which("nginx") is None:
        pytest.skip("nginx is not installed (apt-get install nginx-light; .ci/run does)")
    (block,) = _fenced((DOCS / "deployment.md").read_text(), "nginx")
    result = _nginx_test(block, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr
    broken = _nginx_test(block.replace("proxy_set_header Host", "proxy_set_heder Host"), tmp_path)
    assert broken.returncode == 1
    assert 'unknown directive "proxy_set_heder"' in broken.stderr


def _caddy_validate(caddyfile: str, directory: Path) -> subprocess.CompletedProcess[str]:
    (directory / "Caddyfile").write_text(caddyfile)
    home = {"HOME": str(directory), "XDG_DATA_HOME": str(directory), "XDG_CONFIG_HOME": str(directory)}
    return subprocess.run(
        ["caddy", "validate", "--adapter", "caddyfile", "--config", str(directory / "Caddyfile")],
        capture_output=True, text=True, timeout=60, check=False, env={**os.environ, **home},
    )  # fmt: skip


def test_caddyfile_passes_caddy_validate(tmp_path: Path) -> None:
    """deployment.md's Caddyfile passes ``caddy validate``, and a typo in it would not."""
    if shutil.which("caddy") is None:
        pytest.skip("caddy is not installed (apt-get install caddy; .ci/run does)")
    (block,) = _fenced((DOCS / "deployment.md").read_text(), "caddy")
    result = _caddy_validate(block, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Valid configuration" in result.stdout + result.stderr
    broken = _caddy_validate(block.replace("reverse_proxy 127", "reverse_prox 127"), tmp_path)
    assert broken.returncode == 1
    assert "unrecognized directive: reverse_prox" in broken.stderr


def test_metric_names_in_the_docs_are_the_ones_served() -> None:
    """deployment.md's metric table lists exactly the counters metrics.py defines, with their labels."""
    pytest.importorskip("prometheus_client")
    from pyregistry_core import Registry

    registry = Registry.from_config({"storage.url": "memory://metrics-docs", "pypi.metrics": "true"})
    metrics = registry.metrics
    counters = [metrics.requests, metrics.uploads, metrics.upstream, metrics.cache, metrics.policy]
    served = {f"{c._name}_total": ", ".join(f"`{label}`" for label in c._labelnames) for c in counters}
    section = (DOCS / "deployment.md").read_text().split("## Metrics", 1)[1]
    documented = {name: cells[0] for name, cells in _table_rows(section).items()}
    assert documented == served
    exposition = metrics.exposition()[0].decode()
    assert all(f"# TYPE {name} counter" in exposition for name in served)


def test_benchmark_duration_matches_the_last_run() -> None:
    """The minutes benchmarks.md and tox.ini give for a full run match RESULTS.md's measured run time."""
    measured = int(
        re.search(r"Whole run: (\d+) s", (ROOT / "benchmarks" / "RESULTS.md").read_text()).group(1)
    )  # type: ignore[union-attr]
    stated = int(
        re.search(r"every benchmark, about (\d+) minutes", (DOCS / "benchmarks.md").read_text()).group(1)
    )  # type: ignore[union-attr]
    in_tox = int(re.search(r"\(~(\d+) min\)", (ROOT / "tox.ini").read_text()).group(1))  # type: ignore[union-attr]
    assert abs(stated * 60 - measured) <= 90
    assert in_tox == stated


def test_benchmark_defaults_in_the_docs_are_the_codes() -> None:
    """Each ``BENCH_*`` default benchmarks.md states is BenchConfig's."""
    result = subprocess.run(
        [sys.executable, "-c", "import attrs, json; from benchmarks.context import BenchConfig; "
         "print(json.dumps(attrs.asdict(BenchConfig())))"],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    defaults = json.loads(result.stdout)
    stated = re.findall(r"`BENCH_([A-Z_]+)` \((\d[\d,]*)", (DOCS / "benchmarks.md").read_text())
    assert len(stated) >= 8
    assert {name.lower(): float(value.replace(",", "")) for name, value in stated} == {
        name.lower(): float(defaults[name.lower()]) for name, _ in stated
    }


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` names a module of the core (or an adapter) and attributes in it."""
    parts = dotted.split(".")
    for prefix in ("pyregistry_core.", ""):
        for split in range(len(parts), 0, -1):
            try:
                found: object = importlib.import_module(prefix + ".".join(parts[:split]))
            except ImportError:
                continue
            try:
                for attribute in parts[split:]:
                    found = getattr(found, attribute)
            except AttributeError:
                return False
            return True
    return False


def test_architecture_names_every_module_and_only_real_code() -> None:
    """architecture.md names every module of the core, and each dotted name in its request
    traces (``registry.pages.PageCache.project_page``) exists in the code."""
    text = (DOCS / "architecture.md").read_text()
    core = ROOT / "src" / "pyregistry_core"
    modules = sorted(p.stem for p in core.rglob("*.py") if p.stem != "__init__")
    unnamed = [m for m in modules if f"`{m}`" not in text and not re.search(rf"\b{m}\.", text)]
    assert unnamed == []
    traces = "".join(re.findall(r"```text\n(.*?)```", text, re.DOTALL))
    dotted = set(re.findall(r"\b([a-z_]+(?:\.[A-Za-z_]+)+)", traces))
    assert len(dotted) > 20
    assert sorted(d for d in dotted if not _resolves(d)) == []
