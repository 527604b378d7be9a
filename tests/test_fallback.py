"""The fallback policy as a pure function: pypicloud's truth table with its holes closed
(PYPICLOUD.md → Fallback truth table; DESIGN.md → Fallback, Mirrored vs private)."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st
from strategies import name_spellings, project_names

from pyregistry_core.fallback import Action, FallbackPolicy, decide
from pyregistry_core.names import NormalizedName, normalize

NAME = NormalizedName("acme-utils")
OTHER = NormalizedName("other-thing")

# A project is "absent" (nothing stored), "mirrored" (only cached upstream files) or
# "private" (has or had an upload).
STATES = {"absent": (False, False), "mirrored": (True, False), "private": (True, True)}
MODES = ("none", "redirect", "cache")
# always_show_upstream: off, true, or a list that names NAME / names another project.
ALWAYS = ("off", "true", "names-it", "names-other")


def policy(
    mode: str, always: str = "off", disallowed: frozenset[NormalizedName] = frozenset()
) -> FallbackPolicy:
    """The policy for ``mode`` with ``always_show_upstream`` as one of ``ALWAYS``."""
    names = {"names-it": frozenset({NAME}), "names-other": frozenset({OTHER})}.get(always, frozenset())
    return FallbackPolicy(
        mode=mode, always_show_upstream=always == "true", always_show_names=names, disallowed=disallowed
    )


def expected(mode: str, always: str, state: str, may_cache_update: bool) -> Action:
    """The documented answer, written from the tables rather than from the code."""
    listed = always == "names-it"  # NAME explicitly opted in
    if mode == "none":
        return Action.LOCAL if state != "absent" else Action.NOT_FOUND
    if state == "private":
        # Private projects never merge, unless listed by name (a plain `true` is not enough).
        return Action.MERGE if listed else Action.LOCAL
    if mode == "redirect":
        if state == "mirrored":
            # `true` covers every mirrored project; a list covers the projects it names.
            return Action.MERGE if always in ("true", "names-it") else Action.LOCAL
        return Action.REDIRECT
    # cache
    if state == "mirrored":
        return Action.MERGE  # mirrored projects keep following the upstream
    if may_cache_update:
        return Action.MERGE
    return Action.REDIRECT if always == "true" else Action.UNAUTHORIZED


CASES = list(itertools.product(MODES, ALWAYS, STATES, (False, True)))


@pytest.mark.parametrize(("mode", "always", "state", "may_cache_update"), CASES)
def test_truth_table(mode: str, always: str, state: str, may_cache_update: bool) -> None:
    """Every mode x always_show_upstream x project state x cache_update gives the documented answer."""
    stored, private = STATES[state]
    action = decide(
        policy(mode, always), NAME, stored=stored, private=private, may_cache_update=may_cache_update
    )
    assert action is expected(mode, always, state, may_cache_update)


@pytest.mark.parametrize(("mode", "always", "state", "may_cache_update"), CASES)
def test_disallowed_name_never_falls_back(mode: str, always: str, state: str, may_cache_update: bool) -> None:
    """A name in disallow_fallback is answered locally or not found, in every mode, even when listed."""
    stored, private = STATES[state]
    chosen = policy(mode, always, disallowed=frozenset({NAME}))
    action = decide(chosen, NAME, stored=stored, private=private, may_cache_update=may_cache_update)
    assert action is (Action.LOCAL if stored else Action.NOT_FOUND)
    assert chosen.may_ask_upstream(NAME, private) is False


@pytest.mark.parametrize(
    ("mode", "private", "listed", "allowed"),
    [
        ("none", False, False, False),
        ("none", True, True, False),
        ("redirect", False, False, True),
        ("cache", False, False, True),
        ("cache", True, False, False),
        ("cache", True, True, True),
        ("redirect", True, False, False),
        ("redirect", True, True, True),
    ],
)
def test_may_ask_upstream(mode: str, private: bool, listed: bool, allowed: bool) -> None:
    """Only upstream modes ask, and never for a private name that is not explicitly listed."""
    chosen = policy(mode, "names-it" if listed else "off")
    assert chosen.may_ask_upstream(NAME, private) is allowed


# -- properties ------------------------------------------------------------------------

modes = st.sampled_from(MODES)
normalized_names = project_names().map(normalize)


@st.composite
def policies(draw: st.DrawFn, name: NormalizedName) -> FallbackPolicy:
    """Any policy, with ``name`` perhaps in always_show_names and/or disallowed."""
    others = draw(st.frozensets(normalized_names, max_size=3))
    return FallbackPolicy(
        mode=draw(modes),
        always_show_upstream=draw(st.booleans()),
        always_show_names=others | (frozenset({name}) if draw(st.booleans()) else frozenset()),
        disallowed=draw(st.frozensets(normalized_names, max_size=3))
        | (frozenset({name}) if draw(st.booleans()) else frozenset()),
    )


@st.composite
def situations(draw: st.DrawFn) -> tuple[FallbackPolicy, NormalizedName, bool, bool, bool]:
    """A policy, a name, and a consistent (stored, private, may_cache_update)."""
    name = draw(normalized_names)
    stored = draw(st.booleans())
    private = stored and draw(st.booleans())
    return draw(policies(name)), name, stored, private, draw(st.booleans())


@given(situations())
def test_private_projects_stay_private(case: tuple[FallbackPolicy, NormalizedName, bool, bool, bool]) -> None:
    """A private project gets MERGE/REDIRECT only when named in always_show_upstream and not disallowed."""
    chosen, name, stored, private, may_cache_update = case
    action = decide(chosen, name, stored=stored, private=private, may_cache_update=may_cache_update)
    if private and action in (Action.MERGE, Action.REDIRECT):
        assert name in chosen.always_show_names
        assert name not in chosen.disallowed
        assert chosen.mode != "none"
    if private:
        assert action is not Action.REDIRECT  # a stored project is always answered here


@given(situations())
def test_disallowed_names_never_go_upstream(
    case: tuple[FallbackPolicy, NormalizedName, bool, bool, bool],
) -> None:
    """A disallowed name is answered from what is stored, or not found: never upstream, never 401."""
    chosen, name, stored, private, may_cache_update = case
    action = decide(chosen, name, stored=stored, private=private, may_cache_update=may_cache_update)
    if name in chosen.disallowed:
        assert action is (Action.LOCAL if stored else Action.NOT_FOUND)


@given(situations())
def test_stored_projects_are_answered_here(
    case: tuple[FallbackPolicy, NormalizedName, bool, bool, bool],
) -> None:
    """A stored project is never redirected, refused or "not found": its files are always served."""
    chosen, name, stored, private, may_cache_update = case
    action = decide(chosen, name, stored=stored, private=private, may_cache_update=may_cache_update)
    if stored:
        assert action in (Action.LOCAL, Action.MERGE)
    if chosen.mode == "none":
        assert action in (Action.LOCAL, Action.NOT_FOUND)


@given(situations())
def test_upstream_actions_imply_the_name_may_be_sent(
    case: tuple[FallbackPolicy, NormalizedName, bool, bool, bool],
) -> None:
    """Whenever the answer involves the upstream, the name is one that may be sent upstream."""
    chosen, name, stored, private, may_cache_update = case
    action = decide(chosen, name, stored=stored, private=private, may_cache_update=may_cache_update)
    if action in (Action.MERGE, Action.REDIRECT, Action.UNAUTHORIZED):
        assert chosen.may_ask_upstream(name, private)


@given(st.data())
def test_registry_policy_is_normalized(data: st.DataObject) -> None:
    """Names in disallow_fallback / always_show_upstream match however the config spells them."""
    from pyregistry_core import Registry, Settings

    name = data.draw(project_names(max_size=20))
    disallowed = data.draw(name_spellings(name))
    listed = data.draw(name_spellings(name))
    settings = Settings.from_mapping(
        {
            "storage.url": "memory://fallback-policy",
            "pypi.fallback": "cache",
            "pypi.fallback_base_url": "http://127.0.0.1:9",
            "pypi.disallow_fallback": disallowed,
            "pypi.always_show_upstream": f"{listed} other-name",
        }
    )
    chosen = Registry(settings).fallback
    assert normalize(name) in chosen.disallowed
    assert normalize(name) in chosen.always_show_names
    assert not chosen.may_ask_upstream(normalize(name), private=False)
