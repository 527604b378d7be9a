"""Properties of ``acl.is_allowed`` that ``test_acl.py`` leaves open: tokens and derived permissions.

Kept apart from ``test_acl.py`` (another author's); merge them when convenient.
"""

from __future__ import annotations

import attrs
from hypothesis import given
from hypothesis import strategies as st
from packaging.utils import NormalizedName, canonicalize_name
from strategies import ACL_PROJECTS, access_policies, identities, name_spellings

from pyregistry_core.acl import AccessPolicy, Identity, Permission, is_allowed

PERMISSIONS = st.sampled_from(list(Permission))
PROJECTS = st.one_of(st.none(), st.sampled_from([*ACL_PROJECTS, "unlisted"]))
TOKEN_PROJECTS = st.one_of(
    st.none(), st.frozensets(st.sampled_from([*ACL_PROJECTS, "unlisted"]).map(canonicalize_name))
)
SCOPES = st.sampled_from([None, "read", "upload"])


@given(access_policies(), identities(anonymous=False), TOKEN_PROJECTS, SCOPES, PERMISSIONS, PROJECTS)
def test_a_token_only_narrows_its_user(
    policy: AccessPolicy,
    identity: Identity,
    projects: frozenset[NormalizedName] | None,
    scope: str | None,
    permission: Permission,
    project: str | None,
) -> None:
    """Whatever a token may do, its user may do without it."""
    token = attrs.evolve(identity, token_projects=projects, token_scope=scope)
    if is_allowed(policy, token, permission, project):
        assert is_allowed(policy, identity, permission, project)


@given(
    access_policies(),
    identities(anonymous=False),
    st.frozensets(st.sampled_from(ACL_PROJECTS), min_size=1),
    PERMISSIONS,
    st.data(),
)
def test_a_project_token_acts_on_no_other_project(
    policy: AccessPolicy,
    identity: Identity,
    projects: frozenset[str],
    permission: Permission,
    data: st.DataObject,
) -> None:
    """A token for some projects is refused everything on any other project, in any spelling."""
    token = attrs.evolve(identity, token_projects=frozenset(canonicalize_name(p) for p in projects))
    outside = [p for p in (*ACL_PROJECTS, "unlisted") if p not in projects]
    project = data.draw(st.sampled_from(outside))
    assert not is_allowed(policy, token, permission, data.draw(name_spellings(project)))


@given(access_policies(), identities(), PROJECTS)
def test_delete_needs_write_and_cache_update_needs_read(
    policy: AccessPolicy, identity: Identity, project: str | None
) -> None:
    """Delete implies write and cache_update implies read, for every caller."""
    if is_allowed(policy, identity, Permission.DELETE, project):
        assert is_allowed(policy, identity, Permission.WRITE, project)
    if is_allowed(policy, identity, Permission.CACHE_UPDATE, project):
        assert is_allowed(policy, identity, Permission.READ, project)


@given(access_policies(), PERMISSIONS, PROJECTS)
def test_the_operator_may_do_everything(
    policy: AccessPolicy, permission: Permission, project: str | None
) -> None:
    """The command-line operator identity is allowed everything under any policy."""
    assert is_allowed(policy, Identity(user="pyregistry-cli", operator=True), permission, project)
