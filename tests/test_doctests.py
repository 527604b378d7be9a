"""The examples in pyregistry_core's docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from types import ModuleType

import pytest

import pyregistry_core


def _modules() -> list[ModuleType]:
    modules = [pyregistry_core]
    for info in pkgutil.walk_packages(pyregistry_core.__path__, "pyregistry_core."):
        modules.append(importlib.import_module(info.name))
    return modules


def _examples(module: ModuleType) -> list[doctest.DocTest]:
    return [t for t in doctest.DocTestFinder().find(module) if t.examples]


MODULES_WITH_EXAMPLES = [m for m in _modules() if _examples(m)]


def test_some_modules_have_examples() -> None:
    """The core documents itself with runnable examples (so the doctest run is not empty)."""
    assert len(MODULES_WITH_EXAMPLES) >= 3


@pytest.mark.parametrize("module", MODULES_WITH_EXAMPLES, ids=lambda m: m.__name__)
def test_docstring_examples(module: ModuleType) -> None:
    """Every docstring example of the module gives the output it shows."""
    output: list[str] = []
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in _examples(module):
        runner.run(test, out=output.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(output)
    assert results.attempted > 0
