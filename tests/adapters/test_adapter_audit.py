"""The audit trail through both adapters: one exact line per change and per refused attempt."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from access_helpers import basic, fast_hash

from pyregistry_core import Registry, Settings
from pyregistry_core.audit import AUDIT_LOGGER

# conftest's types (conftest modules are not importable)
Client = Any
Builders = Any
MakeClient = Callable[[Registry], Client]

NOON = 1796515500.25  # 2026-12-06T00:05:00.250Z
WHEN = "time=2026-12-06T00:05:00.250Z"
ALICE = {"Authorization": basic("alice", "alice-secret-pw")}
BOB = {"Authorization": basic("bob", "bob-secret-pw")}
JSON = {"Content-Type": "application/json"}


@pytest.fixture
def audited(make_client: MakeClient, caplog: pytest.LogCaptureFixture) -> Client:
    """Alice (an admin) writes, Bob only reads; the wall clock stands still at NOON."""
    settings = Settings.from_mapping(
        {
            "storage.url": f"memory://audit-{uuid.uuid4().hex}",
            "user.alice": fast_hash("alice-secret-pw"),
            "user.bob": fast_hash("bob-secret-pw"),
            "auth.admins": "alice",
            "pypi.default_write": "user:alice",
        }
    )
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    return make_client(Registry(settings, wall_clock=lambda: NOON))


def trail(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The audit lines logged so far (and forget them)."""
    lines = [r.getMessage() for r in caplog.records if r.name == AUDIT_LOGGER]
    caplog.clear()
    return lines


def upload(client: Client, build: Builders, dist: Any, headers: dict[str, str]) -> int:
    """POST ``dist`` as twine does; the status."""
    body, content_type = build.encode_upload(dist)
    return int(client.request("POST", "/", {"Content-Type": content_type, **headers}, body).status)


def test_an_upload_and_its_identical_repeat(
    audited: Client, build: Builders, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored upload and its identical repeat are each one ``ok`` line naming project and file."""
    wheel = build.wheel("demo", "1.0")
    assert upload(audited, build, wheel, ALICE) == 200
    assert upload(audited, build, wheel, ALICE) == 200
    head = f"{WHEN} actor=alice action=upload project=demo target=demo-1.0-py3-none-any.whl outcome=ok"
    assert trail(caplog) == [
        f"{head} client=127.0.0.1 detail=stored",
        f'{head} client=127.0.0.1 detail="identical file already stored"',
    ]


def test_refused_uploads(audited: Client, build: Builders, caplog: pytest.LogCaptureFixture) -> None:
    """Anonymous, read-only and conflicting uploads are each one ``refused`` line with the reason."""
    assert upload(audited, build, build.wheel("demo", "1.0"), {}) == 401
    assert upload(audited, build, build.wheel("demo", "1.0"), BOB) == 403
    assert trail(caplog) == [
        f"{WHEN} actor=anonymous action=upload project=- target=- outcome=refused client=127.0.0.1 "
        'reason="Authentication required."',
        f"{WHEN} actor=bob action=upload project=- target=- outcome=refused client=127.0.0.1 "
        "reason=\"The user 'bob' isn't allowed to upload to this index.\"",
    ]
    first = build.wheel("demo", "1.0")
    assert upload(audited, build, first, ALICE) == 200
    caplog.clear()
    assert upload(audited, build, build.wheel("demo", "1.0", payload=b"VALUE = 2\n"), ALICE) == 400
    assert trail(caplog) == [
        f"{WHEN} actor=alice action=upload project=demo target=demo-1.0-py3-none-any.whl "
        "outcome=refused client=127.0.0.1 reason=\"File already exists ('demo-1.0-py3-none-any.whl', "
        f"with blake2_256 hash '{first.blake2_256}'). Published files never change: upload a new version.\""
    ]


def test_refused_before_any_handler(
    audited: Client, build: Builders, caplog: pytest.LogCaptureFixture
) -> None:
    """Bad credentials and a cross-site request to an audited route are refused attempts too;
    with bad credentials the trail names the user claimed, never the password tried."""
    wrong = {"Authorization": basic("alice", "guess-Zq7")}
    assert upload(audited, build, build.wheel("demo", "1.0"), wrong) == 401
    assert audited.request("DELETE", "/api/package/demo/1.0", wrong).status == 401
    cross = {**ALICE, "Sec-Fetch-Site": "cross-site"}
    assert audited.request("DELETE", "/api/package/demo/1.0", cross).status == 403
    assert audited.get("/simple/", wrong).status == 401  # a read: not on the trail
    lines = trail(caplog)
    assert not [line for line in lines if "guess-Zq7" in line]
    assert lines == [
        f"{WHEN} actor=anonymous claimed=alice action=upload project=- target=- outcome=refused "
        'client=127.0.0.1 reason="Invalid or non-existent authentication information."',
        f"{WHEN} actor=anonymous claimed=alice action=delete project=demo target=1.0 outcome=refused "
        'client=127.0.0.1 reason="Invalid or non-existent authentication information."',
        f"{WHEN} actor=alice action=delete project=demo target=1.0 outcome=refused client=127.0.0.1 "
        'reason="Cross-site request refused (Sec-Fetch-Site: cross-site)."',
    ]


def test_a_claimed_name_is_bounded_and_quoted(audited: Client, caplog: pytest.LogCaptureFixture) -> None:
    """A user name of any length or content is recorded as its first 100 characters, one quoted value."""
    name = 'mallory" outcome=ok ' + "x" * 5000
    wrong = {"Authorization": basic(name, "pw-Zq7")}
    assert audited.request("DELETE", "/api/package/demo/1.0", wrong).status == 401
    (line,) = trail(caplog)
    assert line.startswith(f"{WHEN} actor=anonymous claimed={json.dumps(name[:100])} action=delete ")
    assert "pw-Zq7" not in line


def test_yank_unyank_status_delete(
    audited: Client, build: Builders, caplog: pytest.LogCaptureFixture
) -> None:
    """Each management change is one ``ok`` line saying which files and what changed."""
    assert upload(audited, build, build.wheel("demo", "1.0"), ALICE) == 200
    caplog.clear()
    base = "/api/package/demo"
    yank = json.dumps({"reason": "broken build"}).encode()
    assert audited.request("POST", f"{base}/1.0/yank", {**ALICE, **JSON}, yank).status == 200
    assert audited.request("POST", f"{base}/1.0/unyank", {**ALICE, **JSON}, b"").status == 200
    status = json.dumps({"status": "archived", "reason": "done"}).encode()
    assert audited.request("POST", f"{base}/status", {**ALICE, **JSON}, status).status == 200
    assert audited.request("DELETE", f"{base}/1.0", ALICE).status == 200
    head = f"{WHEN} actor=alice"
    assert trail(caplog) == [
        f'{head} action=yank project=demo target=1.0 outcome=ok client=127.0.0.1 detail="files: '
        'demo-1.0-py3-none-any.whl; reason: broken build"',
        f'{head} action=unyank project=demo target=1.0 outcome=ok client=127.0.0.1 detail="files: '
        'demo-1.0-py3-none-any.whl"',
        f'{head} action=status project=demo target=- outcome=ok client=127.0.0.1 detail="status: '
        'archived; reason: done"',
        f'{head} action=delete project=demo target=1.0 outcome=ok client=127.0.0.1 detail="files: '
        'demo-1.0-py3-none-any.whl"',
    ]


def test_refused_management(audited: Client, build: Builders, caplog: pytest.LogCaptureFixture) -> None:
    """A change the caller may not make, or asks for wrongly, is one ``refused`` line with the reason."""
    assert upload(audited, build, build.wheel("demo", "1.0"), ALICE) == 200
    caplog.clear()
    assert audited.request("POST", "/api/package/demo/1.0/yank", {**BOB, **JSON}, b"").status == 403
    assert audited.request("POST", "/api/package/demo/1.0/yank", ALICE, b"").status == 415
    bad = json.dumps({"status": "gone"}).encode()
    assert audited.request("POST", "/api/package/demo/status", {**ALICE, **JSON}, bad).status == 400
    assert audited.request("DELETE", "/api/package/demo/9.9", ALICE).status == 404
    assert trail(caplog) == [
        f"{WHEN} actor=bob action=yank project=demo target=1.0 outcome=refused client=127.0.0.1 "
        "reason=\"The user 'bob' isn't allowed to write on project 'demo'.\"",
        f"{WHEN} actor=alice action=yank project=demo target=1.0 outcome=refused client=127.0.0.1 "
        'reason="The management API takes JSON: send Content-Type: application/json."',
        f"{WHEN} actor=alice action=status project=demo target=- outcome=refused client=127.0.0.1 "
        "reason=\"Unknown project status 'gone'; use one of active, archived, quarantined, deprecated.\" "
        'detail="status: gone"',
        f"{WHEN} actor=alice action=delete project=demo target=9.9 outcome=refused client=127.0.0.1 "
        "reason=\"File '9.9' not found in project 'demo'.\"",
    ]


def test_publisher_changes(audited: Client, caplog: pytest.LogCaptureFixture) -> None:
    """Adding and removing a trusted publisher are on the trail; a non-admin's attempt is refused."""
    line = "github repo=acme/tool workflow=release.yml"
    document = json.dumps({"project": "acme-tool", "publisher": line}).encode()
    assert audited.request("POST", "/api/publisher", {**BOB, **JSON}, document).status == 403
    added = audited.request("POST", "/api/publisher", {**ALICE, **JSON}, document)
    assert added.status == 201
    publisher_id = json.loads(added.body)["id"]
    assert audited.request("DELETE", f"/api/publisher/{publisher_id}", ALICE).status == 204
    assert trail(caplog) == [
        f"{WHEN} actor=bob action=publisher.add project=- target=- outcome=refused client=127.0.0.1 "
        'reason="Only an admin may manage trusted publishers."',
        f"{WHEN} actor=alice action=publisher.add project=acme-tool target={publisher_id} outcome=ok "
        f'client=127.0.0.1 detail="{line}"',
        f"{WHEN} actor=alice action=publisher.remove project=- target={publisher_id} outcome=ok "
        "client=127.0.0.1",
    ]


def test_no_secret_reaches_the_trail(
    audited: Client, build: Builders, caplog: pytest.LogCaptureFixture
) -> None:
    """Passwords (right or wrong) never appear in an audit line or its fields."""
    upload(audited, build, build.wheel("demo", "1.0"), ALICE)
    upload(audited, build, build.wheel("demo", "1.1"), {"Authorization": basic("alice", "wrong-pw-xyz")})
    records = [r for r in caplog.records if r.name == AUDIT_LOGGER]
    assert len(records) == 2
    for record in records:
        text = record.getMessage() + json.dumps(record.audit)  # type: ignore[attr-defined]
        assert "alice-secret-pw" not in text
        assert "wrong-pw-xyz" not in text
        assert "Basic " not in text
