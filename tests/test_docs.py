"""The documentation in docs/: complete against the code, its examples run, its links resolve."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pyregistry_core.settings import KEYS

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"
PAGES = sorted(DOCS.glob("*.md"))
# Key patterns settings.py reads besides KEYS, and pypicloud keys it ignores with a log line.
PATTERN_KEYS = ("user.", "group.", "package.", "storage.")
IGNORED_KEYS = ("use", "pyramid.*", "session.*", "pypi.db", "db.*")
S3_OPTIONS = (
    "storage.bucket",
    "storage.prefix",
    "storage.region_name",
    "storage.endpoint_url",
    "storage.access_key",
    "storage.secret_key",
    "storage.session_token",
    "storage.single_writer",
)
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


def test_readme_first_try_uploads_with_any_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`pyregistry serve` with no config on loopback takes the README's `twine upload -u any -p any`."""
    import base64
    import io

    from distfiles import digests, multipart_body, wheel_bytes
    from pyregistry_server.serve import build_registry

    from pyregistry_core import Request, handle

    monkeypatch.chdir(tmp_path)
    registry = build_registry(None, "127.0.0.1", {})
    data = wheel_bytes("first-try", "1.0")
    fields = {
        ":action": "file_upload",
        "protocol_version": "1",
        "name": "first-try",
        "version": "1.0",
        "filetype": "bdist_wheel",
        "pyversion": "py3",
        "sha256_digest": digests(data).sha256,
    }
    body, content_type = multipart_body(fields, [("content", "first_try-1.0-py3-none-any.whl", data, None)])
    credentials = base64.b64encode(b"any:any").decode()
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
