"""The core's shape (CONTRIBUTING.md → Where code goes): one home for errors, small modules and functions."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import pyregistry_core

REPO = Path(__file__).resolve().parent.parent
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60
# Raised inside urllib3's connection pool, which handles it as the connection failure it
# is: a transport detail of the upstream client, not an error of the registry's domain.
TRANSPORT_ERRORS = {"pyregistry_core.upstream.addresses.AddressRefused"}


def _core_modules() -> list[str]:
    found = pkgutil.walk_packages(pyregistry_core.__path__, prefix="pyregistry_core.")
    return ["pyregistry_core", *(info.name for info in found)]


def test_every_error_of_the_core_is_defined_in_errors_py() -> None:
    """No module of the core but errors.py defines an exception class."""
    elsewhere = set()
    for name in _core_modules():
        module = importlib.import_module(name)
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and name != "pyregistry_core.errors"
            ):
                elsewhere.add(f"{name}.{value.__qualname__}")
    assert sorted(elsewhere - TRANSPORT_ERRORS) == []


def _python_files() -> list[Path]:
    return sorted([*(REPO / "src").rglob("*.py"), *(REPO / "adapters").rglob("*.py")])


def test_no_module_of_the_core_passes_400_lines() -> None:
    """Every module in src/ is at most 400 lines: past that it wants splitting by concept."""
    long = {
        str(path.relative_to(REPO)): lines
        for path in (REPO / "src").rglob("*.py")
        if (lines := len(path.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_no_function_passes_60_lines() -> None:
    """Every function in src/ and adapters/ is at most 60 lines (decorators and docstring included)."""
    long = {}
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
                assert node.end_lineno is not None
                if node.end_lineno - first + 1 > MAX_FUNCTION_LINES:
                    long[f"{path.relative_to(REPO)}:{node.name}"] = node.end_lineno - first + 1
    assert long == {}
