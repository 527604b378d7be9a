"""Access control as data and one pure function (``pyregistry_core.acl``)."""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import canonicalize_name
from strategies import (
    ACL_PROJECTS,
    GROUPS,
    USERS,
    access_policies,
    identities,
    name_spellings,
    package_entries,
)

from pyregistry_core.acl import AccessPolicy, Identity, Permission, is_allowed

PERMISSIONS = st.sampled_from(list(Permission))
PROJECTS = st.one_of(st.none(), st.sampled_from([*ACL_PROJECTS, "unlisted"]))
RULES = st.frozensets(st.sampled_from(["everyone", "authenticated", *(f"group:{g}" for g in GROUPS)]))


def everyone_may(policy: AccessPolicy, permission: Permission, project: str | None) -> bool:
    """Whether the rules grant ``permission`` to the principal ``everyone`` itself."""
    if permission is Permission.CACHE_UPDATE:
        return "everyone" in policy.cache_update and everyone_may(policy, Permission.READ, project)
    if permission is Permission.DELETE:
        return "everyone" in policy.allow_delete and everyone_may(policy, Permission.WRITE, project)
    letter = "r" if permission is Permission.READ else "w"
    entries = policy.packages.get(canonicalize_name(project)) if project is not None else None
    if entries:
        return letter in entries.get("everyone", "")
    rule = policy.default_read if permission is Permission.READ else policy.default_write
    return "everyone" in rule


@given(access_policies(), PERMISSIONS, PROJECTS, st.lists(st.sampled_from(GROUPS), unique=True))
def test_admins_may_do_everything(
    policy: AccessPolicy, permission: Permission, project: str | None, groups: list[str]
) -> None:
    """A user listed in auth.admins is allowed every permission on every project."""
    admin = USERS[0]
    policy = attrs.evolve(policy, admins=frozenset({admin}))
    assert is_allowed(policy, Identity(admin, tuple(groups)), permission, project)


@given(
    access_policies(),
    identities(),
    st.sampled_from(ACL_PROJECTS),
    st.sampled_from([Permission.READ, Permission.WRITE]),
    RULES,
    RULES,
    package_entries().filter(bool),
)
def test_explicit_entries_replace_the_defaults(
    policy: AccessPolicy,
    identity: Identity,
    project: str,
    permission: Permission,
    default_read: frozenset[str],
    default_write: frozenset[str],
    entries: dict[str, str],
) -> None:
    """For a package with its own entries, the defaults have no say at all."""
    policy = attrs.evolve(
        policy, admins=frozenset(), packages={**policy.packages, canonicalize_name(project): entries}
    )
    other = attrs.evolve(policy, default_read=default_read, default_write=default_write)
    decision = is_allowed(policy, identity, permission, project)
    assert decision == is_allowed(other, identity, permission, project)
    letter = "r" if permission is Permission.READ else "w"
    assert decision == any(
        letter in perms for principal, perms in entries.items() if principal in identity.principals
    )


@given(access_policies(), identities(), PERMISSIONS, st.data())
def test_name_spelling_never_changes_a_decision(
    policy: AccessPolicy, identity: Identity, permission: Permission, data: st.DataObject
) -> None:
    """Foo_Bar, foo-bar and FOO.BAR get the same answer for every caller and permission."""
    project = data.draw(st.sampled_from(ACL_PROJECTS))
    spelling = data.draw(name_spellings(project))
    assert is_allowed(policy, identity, permission, spelling) == is_allowed(
        policy, identity, permission, project
    )


@given(
    identities(),
    PERMISSIONS,
    st.sampled_from(["Foo_Bar", "foo-bar", "FOO.BAR", "foo__bar"]),
    st.sampled_from(["Foo_Bar", "foo-bar", "FOO.BAR", "fOo.-_BaR"]),
    package_entries().filter(bool),
)
def test_policy_built_from_any_spelling_applies_to_every_spelling(
    identity: Identity,
    permission: Permission,
    configured: str,
    asked: str,
    entries: dict[str, str],
) -> None:
    """package.<name>.* entries written with any spelling govern the normalized project."""
    built = AccessPolicy.from_settings(
        default_read=(),
        default_write=(),
        cache_update=("everyone",),
        allow_delete=("everyone",),
        admins=(),
        package_entries={configured: entries},
    )
    assert built.has_explicit_entries(asked)
    reference = AccessPolicy(
        default_read=frozenset(),
        default_write=frozenset(),
        cache_update=frozenset({"everyone"}),
        allow_delete=frozenset({"everyone"}),
        packages={canonicalize_name("foo-bar"): entries},
    )
    assert is_allowed(built, identity, permission, asked) == is_allowed(
        reference, identity, permission, "foo-bar"
    )


@given(access_policies(), identities(anonymous=False), PERMISSIONS, PROJECTS, st.sampled_from(GROUPS))
def test_joining_a_group_never_removes_a_permission(
    policy: AccessPolicy, identity: Identity, permission: Permission, project: str | None, group: str
) -> None:
    """There are no deny rules: more groups can only allow more."""
    joined = attrs.evolve(identity, groups=(*identity.groups, group))
    if is_allowed(policy, identity, permission, project):
        assert is_allowed(policy, joined, permission, project)


@given(access_policies(), identities(anonymous=True), PERMISSIONS, PROJECTS)
def test_anonymous_gets_exactly_what_everyone_has(
    policy: AccessPolicy, anonymous: Identity, permission: Permission, project: str | None
) -> None:
    """An anonymous caller is allowed exactly what the rules grant to ``everyone``."""
    assert is_allowed(policy, anonymous, permission, project) == everyone_may(policy, permission, project)


@given(
    access_policies(), identities(), st.sampled_from(ACL_PROJECTS), package_entries(perms=("w",)).filter(bool)
)
def test_write_does_not_imply_read(
    policy: AccessPolicy, identity: Identity, project: str, entries: dict[str, str]
) -> None:
    """A package whose entries only grant "w" is readable by no one but admins."""
    policy = attrs.evolve(
        policy, admins=frozenset(), packages={**policy.packages, canonicalize_name(project): entries}
    )
    assert not is_allowed(policy, identity, Permission.READ, project)
    assert not is_allowed(policy, identity, Permission.CACHE_UPDATE, project)
    grants_write = any(p in identity.principals for p in entries)
    assert is_allowed(policy, identity, Permission.WRITE, project) == grants_write


def test_defaults_apply_without_entries() -> None:
    """Without package entries, default_read and default_write decide."""
    policy = AccessPolicy.from_settings(
        default_read=["everyone"],
        default_write=["devs"],
        cache_update=["authenticated"],
        allow_delete=["authenticated"],
        admins=[],
        package_entries={},
    )
    alice, bob = Identity("alice", ("devs",)), Identity("bob")
    assert is_allowed(policy, Identity(), Permission.READ, "demo")
    assert not is_allowed(policy, Identity(), Permission.WRITE, "demo")
    assert is_allowed(policy, alice, Permission.WRITE, "demo")
    assert not is_allowed(policy, bob, Permission.WRITE, "demo")
    assert is_allowed(policy, alice, Permission.DELETE, "demo")
    assert not is_allowed(policy, bob, Permission.DELETE, "demo")
    assert is_allowed(policy, bob, Permission.CACHE_UPDATE, "demo")
    assert not is_allowed(policy, Identity(), Permission.CACHE_UPDATE, "demo")


def test_group_everyone_and_authenticated_are_the_principals() -> None:
    """package.<p>.group.everyone / group.authenticated mean the built-in principals."""
    policy = AccessPolicy.from_settings(
        default_read=[],
        default_write=[],
        cache_update=[],
        allow_delete=[],
        admins=[],
        package_entries={"demo": {"group:everyone": "r", "group:authenticated": "W"}},
    )
    assert policy.packages[canonicalize_name("demo")] == {"everyone": "r", "authenticated": "w"}
    assert is_allowed(policy, Identity(), Permission.READ, "demo")
    assert not is_allowed(policy, Identity(), Permission.WRITE, "demo")
    assert is_allowed(policy, Identity("x"), Permission.WRITE, "demo")


def test_entries_for_spellings_of_one_name_merge() -> None:
    """Entries for Foo_Bar and foo-bar are one package's entries, permissions united."""
    policy = AccessPolicy.from_settings(
        default_read=[],
        default_write=[],
        cache_update=[],
        allow_delete=[],
        admins=[],
        package_entries={"Foo_Bar": {"user:alice": "r"}, "foo-bar": {"user:alice": "w"}},
    )
    assert policy.packages == {"foo-bar": {"user:alice": "rw"}}


@pytest.mark.parametrize(
    ("permission", "project", "expected"),
    [
        (Permission.READ, None, True),
        (Permission.READ, "demo", True),
        (Permission.WRITE, "demo", True),
        (Permission.READ, "other", False),
        (Permission.WRITE, "other", False),
    ],
)
def test_project_scoped_tokens_narrow_their_user(
    permission: Permission, project: str | None, expected: bool
) -> None:
    """A token for "demo" acts only on demo (and may list the index), even for an admin."""
    policy = AccessPolicy(admins=frozenset({"alice"}))
    token = Identity("alice", token_projects=frozenset({canonicalize_name("demo")}))
    assert is_allowed(policy, token, permission, project) is expected


def test_read_scoped_tokens_cannot_write() -> None:
    """A read-only token never writes, deletes or updates the cache."""
    policy = AccessPolicy(admins=frozenset({"alice"}))
    token = Identity("alice", token_scope="read")
    assert is_allowed(policy, token, Permission.READ, "demo")
    for permission in (Permission.WRITE, Permission.DELETE, Permission.CACHE_UPDATE):
        assert not is_allowed(policy, token, permission, "demo")


def test_principals() -> None:
    """Anonymous is only everyone; a user adds authenticated, user:<u> and group:<g>."""
    assert Identity().principals == {"everyone"}
    assert Identity("alice", ("devs",)).principals == {
        "everyone",
        "authenticated",
        "user:alice",
        "group:devs",
    }


@pytest.mark.parametrize("word", ["developers", "group:developers"])
def test_group_words_in_defaults_name_the_group(word: str) -> None:
    """`developers` and `group:developers` are one group in a who-may list; `user:<u>` is that user."""
    policy = AccessPolicy.from_settings(
        default_read=["everyone"],
        default_write=[word, "user:ci"],
        cache_update=[],
        allow_delete=[],
        admins=[],
        package_entries={},
    )
    assert is_allowed(policy, Identity("alice", groups=("developers",)), Permission.WRITE, "demo")
    assert is_allowed(policy, Identity("ci"), Permission.WRITE, "demo")
    assert not is_allowed(policy, Identity("bob"), Permission.WRITE, "demo")
