"""Project names: validation and PEP 503 normalization (``pyregistry_core.names``)."""

from __future__ import annotations

import re

import pytest
from hypothesis import example, given
from packaging.utils import canonicalize_name
from strategies import LOOKALIKES, invalid_project_names, name_spellings, project_names

from pyregistry_core.errors import InvalidProjectName
from pyregistry_core.names import is_valid_project_name, normalize


@given(project_names())
def test_normalize_is_idempotent(name: str) -> None:
    """Normalizing a normalized name gives the same name."""
    once = normalize(name)
    assert normalize(once) == once


@given(project_names())
@example("FrIeNdLy-._.-bArD")
@example("A")
@example("a" * 200)
def test_normalize_equals_packaging(name: str) -> None:
    """normalize() agrees with packaging's canonicalize_name on every valid name."""
    assert normalize(name) == canonicalize_name(name)


@given(project_names())
def test_normalized_names_use_only_lowercase_ascii_digits_and_dashes(name: str) -> None:
    """A normalized name is made of [a-z0-9-], never starts or ends with "-" or repeats it."""
    normalized = normalize(name)
    assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", normalized), normalized


@given(project_names().flatmap(lambda n: name_spellings(n).map(lambda s: (n, s))))
def test_spellings_of_a_name_normalize_alike(pair: tuple[str, str]) -> None:
    """Case and runs of separators never change the normalized name."""
    name, spelling = pair
    assert normalize(spelling) == normalize(name)


def test_normalize_example_from_the_spec() -> None:
    """The spec's own example normalizes to 'friendly-bard'."""
    assert normalize("FrIeNdLy-._.-bArD") == "friendly-bard"


@given(invalid_project_names())
def test_invalid_names_are_rejected(name: str) -> None:
    """Every name the spec rejects fails validation and raises InvalidProjectName."""
    assert not is_valid_project_name(name)
    with pytest.raises(InvalidProjectName) as info:
        normalize(name)
    assert info.value.name == name
    assert info.value.message == f"The name {name!r} is invalid."


@pytest.mark.parametrize("lookalike", LOOKALIKES)
def test_unicode_lookalikes_are_not_folded_to_ascii(lookalike: str) -> None:
    """The Kelvin sign, a dotless i and friends never pass as ASCII letters."""
    assert not is_valid_project_name(f"pac{lookalike}age")
    assert not is_valid_project_name(lookalike)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "foo\n",
        "foo\r\n",
        "-foo",
        "foo-",
        ".foo",
        "foo.",
        "_foo",
        "foo_",
        "../foo",
        "foo/bar",
        "foo bar",
        "\u212aelvin",
        "p\u0131p",
        "a" * 201,
    ],
)
def test_named_invalid_names(name: str) -> None:
    """Empty, trailing newline, edge punctuation, paths, lookalikes, and 201 chars are invalid."""
    assert not is_valid_project_name(name)


@pytest.mark.parametrize("name", ["a", "A1", "a" * 200, "zope.interface", "Foo_Bar-baz.9"])
def test_named_valid_names(name: str) -> None:
    """Single characters, 200 characters, dots, underscores and dashes inside are valid."""
    assert is_valid_project_name(name)
