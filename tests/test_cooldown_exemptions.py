"""Admins exempt one upstream file or one version from the release cooldown through the
management API and the CLI: stored in the project's manifest (so every replica honours it
on its next request), listable, revocable, shown in the JSON API, and audited."""

from __future__ import annotations

import getpass
import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cache_mode import FakeClock
from hypothesis import given
from hypothesis import strategies as st
from test_cli import cli, shown
from test_mirror import ALICE, ROOT_USER, RegistryFactory, Reply, get, listed, make_registry
from test_mirror import request as send
from test_upstream_policy import COOLDOWN, DAY, W1, W2, W3, _ago, _download
from upstream_app import UpstreamIndex

from pyregistry_core import Identity, Registry
from pyregistry_core.errors import InvalidUpload
from pyregistry_core.exemptions import Exemption, exemption_target
from pyregistry_core.names import NormalizedName
from pyregistry_core.storage.manifest import Manifest
from pyregistry_core.storage.state import sync_root

__all__ = ["make_registry"]  # fixtures used by name below

UFO = NormalizedName("ufo-core")
AS_JSON = {"Content-Type": "application/json"}


@pytest.fixture
def upstream() -> Iterator[UpstreamIndex]:
    """ufo-core 1.0 (30 days old), 2.0 (2 days), 3.0 (1 hour), as wheels."""
    with UpstreamIndex() as index:
        for version, age in (("1.0", 30 * DAY), ("2.0", 2 * DAY), ("3.0", 3600)):
            index.add("ufo-core", version, kinds=("wheel",), upload_time=_ago(age))
        yield index


def post(registry: Registry, path: str, who: Identity | None, body: object = None) -> Reply:
    """A JSON POST to the management API."""
    data = json.dumps(body).encode() if body is not None else None
    return send(registry, "POST", path, who, AS_JSON, data)


def exempt(registry: Registry, target: str, reason: str = "", who: Identity | None = ROOT_USER) -> Reply:
    """``POST /api/package/ufo-core/<target>/exempt``."""
    return post(registry, f"/api/package/ufo-core/{target}/exempt", who, {"reason": reason})


def unexempt(registry: Registry, target: str, who: Identity | None = ROOT_USER) -> Reply:
    """``POST /api/package/ufo-core/<target>/unexempt``."""
    return post(registry, f"/api/package/ufo-core/{target}/unexempt", who)


# -- the target's shape ---------------------------------------------------------------------


def test_a_target_is_a_filename_of_the_project_or_a_version() -> None:
    """Filenames (any spelling of the project's name) and PEP 440 versions; nothing else."""
    assert exemption_target(UFO, W3) == ("file", W3)
    assert exemption_target(UFO, "UFO.Core-3.0.tar.gz") == ("file", "UFO.Core-3.0.tar.gz")
    assert exemption_target(UFO, "3.0") == ("version", "3.0")
    with pytest.raises(InvalidUpload) as caught:
        exemption_target(UFO, "ufo_other-3.0-py3-none-any.whl")
    assert (
        caught.value.message
        == "The file 'ufo_other-3.0-py3-none-any.whl' does not belong to project 'ufo-core'."
    )
    for bad in ("*", "latest", "", "../3.0", "3.0\n"):
        with pytest.raises(InvalidUpload):
            exemption_target(UFO, bad)


@given(st.text(max_size=80))
def test_any_target_is_accepted_or_refused_with_a_400(target: str) -> None:
    """Whatever an admin types, the answer is a kind or InvalidUpload (400), never a crash."""
    try:
        kind, _ = exemption_target(UFO, target)
    except InvalidUpload:
        return
    assert kind in ("file", "version")


@given(
    st.lists(
        st.builds(
            Exemption,
            target=st.sampled_from([W1, W2, "2.0", "3.0rc1"]),
            kind=st.sampled_from(["file", "version"]),
            actor=st.text(max_size=20),
            granted=st.integers(min_value=0, max_value=2**33).map(float),
            reason=st.text(max_size=40),
        ),
        max_size=4,
    )
)
def test_exemptions_survive_the_manifest_round_trip(exemptions: list[Exemption]) -> None:
    """What is stored reads back equal, and a manifest without exemptions stays as before."""
    manifest = Manifest(UFO)
    for exemption in exemptions:
        manifest = manifest.with_exemption(exemption)
    assert Manifest.from_json(manifest.to_json()) == manifest
    if not exemptions:
        assert b"exemptions" not in manifest.to_json()


# -- through a registry ---------------------------------------------------------------------


def test_an_exempted_file_is_listed_served_and_explained(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """Exempting 3.0's wheel lists it, serves it, and /pypi/<p>/json says who let it through."""
    registry = make_registry(COOLDOWN)
    reply = exempt(registry, W3, "CVE-2026-0001 fix")
    assert reply.status == 200, reply
    assert reply.json() == {
        "name": "ufo-core",
        "exempted": {
            "target": W3,
            "kind": "file",
            "actor": "root",
            "granted": "2023-11-14T22:13:20Z",
            "reason": "CVE-2026-0001 fix",
        },
    }
    assert sorted(listed(registry, "ufo-core")) == [W1, W3]
    document = get(registry, "/pypi/ufo-core/json").json()
    assert document["exempted"] == {
        "3.0": [
            {
                "filename": W3,
                "reason": "exempted from the release cooldown by root at 2023-11-14T22:13:20Z: "
                "CVE-2026-0001 fix",
            }
        ]
    }
    assert list(document["held_back"]) == ["2.0"]
    assert _download(registry, upstream, W3)[0] == 200


def test_a_version_exemption_covers_every_spelling_and_revoking_holds_back_again(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """``2.0`` exempts 2.0's files; revoking ``2.0.0`` holds them back again (none was cached)."""
    registry = make_registry(COOLDOWN)
    assert exempt(registry, "2.0").status == 200
    assert sorted(listed(registry, "ufo-core")) == [W1, W2]
    reply = unexempt(registry, "2.0.0")
    assert (reply.status, reply.json()) == (200, {"name": "ufo-core", "unexempted": ["2.0"]})
    assert sorted(listed(registry, "ufo-core")) == [W1]
    assert _download(registry, upstream, W2)[0] == 404
    assert upstream.downloads(W2) == 0


def test_a_file_cached_while_exempt_stays_served_after_revocation(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """As files cached before the policy: revocation never takes away what the proxy holds."""
    registry = make_registry(COOLDOWN)
    exempt(registry, W3)
    assert _download(registry, upstream, W3)[0] == 200
    assert unexempt(registry, W3).status == 200
    assert sorted(listed(registry, "ufo-core")) == [W1, W3]
    assert _download(registry, upstream, W3)[0] == 200
    assert upstream.downloads(W3) == 1


def test_another_replica_honours_a_change_on_its_next_request(make_registry: RegistryFactory) -> None:
    """Two registries on one store: a grant and a revocation on one show on the other at once."""
    one, other = make_registry(COOLDOWN), make_registry(COOLDOWN)
    assert sorted(listed(other, "ufo-core")) == [W1]
    exempt(one, "3.0")
    assert sorted(listed(other, "ufo-core")) == [W1, W3]
    unexempt(one, "3.0")
    assert sorted(listed(other, "ufo-core")) == [W1]


def test_exemptions_are_listed_for_admins(make_registry: RegistryFactory) -> None:
    """``GET /api/package/<p>/exemptions`` lists every exemption, sorted by target."""
    registry = make_registry(COOLDOWN)
    exempt(registry, W3, "urgent")
    exempt(registry, "2.0")
    reply = get(registry, "/api/package/UFO_Core/exemptions", ROOT_USER)
    assert reply.status == 200
    assert [(e["kind"], e["target"], e["reason"]) for e in reply.json()["exemptions"]] == [
        ("version", "2.0", ""),
        ("file", W3, "urgent"),
    ]


@pytest.mark.parametrize(
    ("who", "status", "message"),
    [
        (None, 401, "Authentication required."),
        (ALICE, 403, "Only an admin may manage exemptions from the release cooldown."),
        (
            Identity(user="root", token_scope="read"),
            403,
            "Only an admin may manage exemptions from the release cooldown.",
        ),
    ],
)
def test_only_admins_manage_exemptions(
    make_registry: RegistryFactory, who: Identity | None, status: int, message: str
) -> None:
    """Anonymous callers get 401, other users (and an admin's read-only token) 403; nothing changes."""
    registry = make_registry(COOLDOWN)
    for reply in (
        exempt(registry, W3, who=who),
        unexempt(registry, W3, who=who),
        get(registry, "/api/package/ufo-core/exemptions", who),
    ):
        assert (reply.status, reply.text) == (status, message + "\n")
    assert sorted(listed(registry, "ufo-core")) == [W1]


def test_bad_requests_are_refused_with_their_reason(make_registry: RegistryFactory) -> None:
    """A target that is neither a version nor a file of the project is 400; an unknown one to revoke 404."""
    registry = make_registry(COOLDOWN)
    reply = exempt(registry, "newest")
    assert (reply.status, reply.text) == (
        400,
        "'newest' is neither a filename of 'ufo-core' nor a version.\n",
    )
    reply = unexempt(registry, "9.9")
    assert (reply.status, reply.text) == (404, "No cooldown exemption for '9.9' in project 'ufo-core'.\n")
    reply = post(registry, "/api/package/ufo-core/3.0/exempt", ROOT_USER, {"reason": 3})
    assert (reply.status, reply.text) == (400, "'reason' must be a string.\n")
    reply = send(registry, "POST", "/api/package/ufo-core/3.0/exempt", ROOT_USER, None, b"{}")
    assert reply.status == 415


def test_an_exemption_alone_does_not_list_the_project(
    make_registry: RegistryFactory, upstream: UpstreamIndex
) -> None:
    """Exempting a file of a project nothing is cached of yet leaves /simple/ as it was."""
    registry = make_registry(COOLDOWN)
    exempt(registry, W3)
    assert "ufo-core" not in get(registry, "/simple/").text
    assert registry.project_names() == ()
    sync_root(registry.storage, UFO)  # as fsck --repair does: still nothing to list
    assert registry.project_names() == ()
    assert _download(registry, upstream, W1)[0] == 200  # the first cached file lists it
    assert registry.project_names() == ("ufo-core",)


def test_grants_and_revocations_are_audited(
    make_registry: RegistryFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """Each grant, revocation and refusal is one event on the ``pyregistry.audit`` logger."""
    registry = make_registry(COOLDOWN)
    with caplog.at_level(logging.INFO, logger="pyregistry.audit"):
        exempt(registry, W3, "urgent")
        unexempt(registry, "3.0")
        exempt(registry, W3, who=ALICE)
    events = [r.audit for r in caplog.records if r.name == "pyregistry.audit"]  # type: ignore[attr-defined]
    common = {"time": "2023-11-14T22:13:20.000Z", "project": "ufo-core", "client": ""}
    assert events == [
        {
            **common,
            "actor": "root",
            "action": "cooldown.exempt",
            "target": W3,
            "outcome": "ok",
            "detail": "file exempted; reason: urgent",
        },
        {
            **common,
            "actor": "root",
            "action": "cooldown.unexempt",
            "target": "3.0",
            "outcome": "refused",
            "reason": "No cooldown exemption for '3.0' in project 'ufo-core'.",
        },
        {
            **common,
            "actor": "alice",
            "action": "cooldown.exempt",
            "target": W3,
            "outcome": "refused",
            "reason": "Only an admin may manage exemptions from the release cooldown.",
        },
    ]


def test_racing_grants_on_two_replicas_are_never_lost(make_registry: RegistryFactory) -> None:
    """Many rounds of two replicas granting at once: every grant is kept (compare-and-swap)."""
    one, other = make_registry(COOLDOWN), make_registry(COOLDOWN)
    for round_ in range(30):
        targets = [f"{round_}.{n}" for n in range(4)]
        workers = [
            threading.Thread(target=exempt, args=(registry, target))
            for registry, target in zip((one, other, one, other), targets, strict=True)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        stored = {e.target for e in one.exemptions.listed(ROOT_USER, UFO)}
        assert set(targets) <= stored


# -- the CLI ---------------------------------------------------------------------------------


def test_the_cli_grants_lists_and_revokes(
    make_registry: RegistryFactory, upstream: UpstreamIndex, tmp_path: Path, clock: FakeClock
) -> None:
    """``pyregistry exempt add|list|remove`` work on the config's storage; a server sees each change."""
    registry = make_registry(COOLDOWN)
    config = tmp_path / "proxy.ini"
    config.write_text(
        "[pyregistry]\n"
        f"storage.dir = {tmp_path / 'store'}\n"
        "pypi.fallback = cache\n"
        f"pypi.fallback_base_url = {upstream.url}\n"
        "pypi.upstream_min_age = 7d\n"
    )
    result = cli("exempt", "add", "--config", str(config), "UFO_Core", "3.0", "--reason", "CVE fix")
    assert (result.returncode, result.stdout) == (0, "exempt: ufo-core version 3.0\n"), shown(result)
    assert sorted(listed(registry, "ufo-core")) == [W1, W3]
    result = cli("exempt", "list", "--config", str(config), "ufo-core")
    assert result.returncode == 0, shown(result)
    assert result.stdout.startswith(f"kind=version target=3.0 actor={getpass.getuser()} granted=")
    assert result.stdout.endswith(" reason='CVE fix'\n")
    result = cli("exempt", "remove", "--config", str(config), "ufo-core", "3.0")
    assert (result.returncode, result.stdout) == (0, "unexempt: ufo-core version 3.0\n"), shown(result)
    assert sorted(listed(registry, "ufo-core")) == [W1]
    result = cli("exempt", "remove", "--config", str(config), "ufo-core", "3.0")
    assert result.returncode == 1, shown(result)
    # The refusal is audited too (a WARNING, on stderr when no logging is configured).
    assert result.stderr.endswith("\npyregistry: No cooldown exemption for '3.0' in project 'ufo-core'.\n")
