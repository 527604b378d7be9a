"""The core knows no web framework (STYLE.md → The shape of the house)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120

# Run in a fresh interpreter: the test process has long since imported werkzeug whole.
BLOCKED_IMPORT_PROBE = textwrap.dedent(
    """
    import importlib
    import importlib.machinery
    import importlib.util
    import pkgutil
    import sys
    import types

    BLOCKED = (
        "werkzeug.wrappers", "werkzeug.serving", "werkzeug.test", "werkzeug.routing",
        "werkzeug.wsgi", "starlette", "flask", "django", "gunicorn", "uvicorn",
        "pyregistry_wsgi", "pyregistry_asgi", "pyregistry_server",
    )


    class BlockWsgiLayer:
        # A meta path finder that refuses the blocked modules and their submodules.
        def find_spec(self, name, path=None, target=None):
            if any(name == b or name.startswith(b + ".") for b in BLOCKED):
                raise ImportError(f"blocked for the core: {name}")
            return None


    # werkzeug/__init__.py imports wrappers, serving and test: replace it by a bare
    # package so that only the submodules the core asks for get imported.
    spec = importlib.util.find_spec("werkzeug")
    package = types.ModuleType("werkzeug")
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__spec__ = importlib.machinery.ModuleSpec("werkzeug", None, is_package=True)
    package.__spec__.submodule_search_locations = package.__path__
    sys.modules["werkzeug"] = package
    sys.meta_path.insert(0, BlockWsgiLayer())

    for blocked in ("werkzeug.wrappers", "werkzeug.serving", "starlette", "pyregistry_wsgi"):
        try:
            importlib.import_module(blocked)
        except ImportError:
            pass
        else:
            raise SystemExit(f"the blocker let {blocked} through")

    import pyregistry_core

    modules = [m.name for m in pkgutil.walk_packages(pyregistry_core.__path__, "pyregistry_core.")]
    for name in modules:
        importlib.import_module(name)

    from pyregistry_core import Registry, Request, handle

    registry = Registry.from_config({"storage.url": "memory://core-imports"})
    response = handle(registry, Request("GET", "/simple/"))
    assert response.status == 200, response
    assert response.header("Content-Type") == "text/html; charset=utf-8", response.headers
    assert b'name="pypi:repository-version"' in response.body
    loaded = sorted(m for m in sys.modules if m.split(".")[0] in {b.split(".")[0] for b in BLOCKED})
    print("modules:", len(modules))
    print("loaded:", " ".join(loaded))
    """
)


def test_core_imports_without_the_wsgi_layer() -> None:
    """Every pyregistry_core module imports, and handle() answers, with werkzeug's WSGI
    layer, web frameworks, servers and the adapters all blocked."""
    result = subprocess.run(
        [sys.executable, "-c", BLOCKED_IMPORT_PROBE],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    assert int(lines["modules"]) >= 10
    loaded = lines["loaded"].split()
    for forbidden in (
        "werkzeug.wrappers",
        "werkzeug.serving",
        "werkzeug.routing",
        "werkzeug.test",
        "werkzeug.wsgi",
    ):
        assert forbidden not in loaded


def test_import_linter_contracts_hold() -> None:
    """lint-imports (import-linter, configured in pyproject.toml) passes from the repo root."""
    executable = Path(sys.executable).parent / "lint-imports"
    if not executable.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.skip("lint-imports is not installed")
        executable = Path(found)
    result = subprocess.run(
        [str(executable), "--no-cache"],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        cwd=REPO,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_every_core_module_sits_in_a_layer() -> None:
    """Each module and subpackage of the core is named in the layers contract (it is not
    exhaustive, so a module left out would be free to import any layer)."""
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    contracts = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    [layers] = [c["layers"] for c in contracts if c["type"] == "layers"]
    named = {name.strip() for layer in layers for name in layer.replace("|", ":").split(":")}
    core = REPO / "src" / "pyregistry_core"
    present = {p.stem for p in core.glob("*.py") if p.stem != "__init__"}
    present |= {p.parent.name for p in core.glob("*/__init__.py")}
    assert sorted(present - named) == []
    assert sorted(named - present) == []
