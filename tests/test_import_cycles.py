"""No import circles anywhere in the core: each module can be read knowing only what it imports."""

from __future__ import annotations

from pathlib import Path

import grimp
import pytest

PACKAGES = ("pyregistry_core", "pyregistry_wsgi", "pyregistry_asgi", "pyregistry_server")


def _cycles(package: str) -> list[tuple[str, str]]:
    """Pairs of modules that import each other, directly or through others (``TYPE_CHECKING``
    imports count too: a circle there is a circle for the reader). No cache: a graph kept
    from an earlier tree must never vouch for this one."""
    graph = grimp.build_graph(package, cache_dir=None)
    found = set()
    for module in graph.modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if graph.find_shortest_chain(importer=imported, imported=module) is not None:
                found.add((min(module, imported), max(module, imported)))
    return sorted(found)


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_imports_itself_through_others(package: str) -> None:
    """Following a package's imports never leads back to where it started (grimp's import graph)."""
    assert _cycles(package) == []


def test_the_check_finds_a_cycle(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The check is not vacuous: two modules importing each other are reported."""
    (tmp_path / "circular_pkg").mkdir()
    (tmp_path / "circular_pkg" / "__init__.py").write_text("")
    (tmp_path / "circular_pkg" / "a.py").write_text("from . import b\n")
    (tmp_path / "circular_pkg" / "b.py").write_text("from . import a\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert _cycles("circular_pkg") == [("circular_pkg.a", "circular_pkg.b")]
