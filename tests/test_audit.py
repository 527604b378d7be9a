"""The audit event: its one-line form, its fields, and the logger it goes to."""

from __future__ import annotations

import json
import logging
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pyregistry_core.acl import Identity
from pyregistry_core.audit import AUDIT_LOGGER, REFUSED, AuditEvent, actor_of, record

# 2026-12-06T00:05:00.250Z
NOON = 1796515500.25
_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^ ]+)')


def _parse(line: str) -> dict[str, str]:
    """A logfmt line back into its fields, as a log shipper would read it."""
    fields = {}
    for key, raw in _PAIR.findall(line):
        fields[key] = json.loads(raw) if raw.startswith('"') else ("" if raw == "-" else raw)
    return fields


def test_an_upload_is_one_line_of_key_value_pairs() -> None:
    """A plain event reads as time, actor, action, project, target, outcome and client, in that order."""
    event = AuditEvent(
        "alice", "upload", project="demo", target="demo-1.0.tar.gz", client="10.0.0.7", time=NOON
    )
    assert event.line() == (
        "time=2026-12-06T00:05:00.250Z actor=alice action=upload project=demo "
        "target=demo-1.0.tar.gz outcome=ok client=10.0.0.7"
    )


def test_a_refusal_carries_its_reason_quoted() -> None:
    """A refused attempt adds the client's message as ``reason``, quoted since it has spaces."""
    event = AuditEvent(
        "anonymous",
        "delete",
        outcome=REFUSED,
        project="demo",
        target="1.0",
        reason='The user "x" may not',
        client="cli",
        time=NOON,
    )
    assert event.line() == (
        "time=2026-12-06T00:05:00.250Z actor=anonymous action=delete project=demo target=1.0 "
        'outcome=refused client=cli reason="The user \\"x\\" may not"'
    )


def test_empty_values_are_a_dash() -> None:
    """A field with nothing in it is ``-``, so every line has the same fields."""
    line = AuditEvent("root", "token.revoke", time=NOON).line()
    assert line == (
        "time=2026-12-06T00:05:00.250Z actor=root action=token.revoke project=- target=- outcome=ok client=-"
    )


@given(st.text(), st.text(), st.text(), st.text())
def test_no_value_can_forge_a_line_or_a_field(actor: str, claimed: str, target: str, reason: str) -> None:
    """Whatever a client puts in a name, the event stays one line whose fields read back unchanged."""
    event = AuditEvent(
        actor, "upload", outcome=REFUSED, claimed=claimed, target=target, reason=reason, time=NOON
    )
    line = event.line()
    assert len(line.splitlines()) == 1
    parsed = _parse(line)
    assert parsed["actor"] == actor
    assert parsed.get("claimed", "") == claimed
    assert parsed["target"] == target
    assert parsed.get("reason", "") == reason
    assert parsed["outcome"] == "refused"


def test_record_logs_the_line_and_the_fields(caplog: pytest.LogCaptureFixture) -> None:
    """``record`` logs the line on pyregistry.audit with the fields attached for a JSON formatter."""
    caplog.set_level(logging.INFO, logger=AUDIT_LOGGER)
    record(AuditEvent("alice", "yank", project="demo", target="1.0", detail="broken", time=NOON))
    record(AuditEvent("bob", "yank", outcome=REFUSED, project="demo", reason="no", time=NOON))
    ok, refused = caplog.records
    assert (ok.name, ok.levelno) == (AUDIT_LOGGER, logging.INFO)
    assert ok.getMessage().endswith("client=- detail=broken")
    assert ok.audit == {  # type: ignore[attr-defined]
        "time": "2026-12-06T00:05:00.250Z",
        "actor": "alice",
        "action": "yank",
        "project": "demo",
        "target": "1.0",
        "outcome": "ok",
        "client": "",
        "detail": "broken",
    }
    assert refused.levelno == logging.WARNING
    assert refused.audit["reason"] == "no"  # type: ignore[attr-defined]


def test_the_actor_is_the_user_or_anonymous() -> None:
    """The trail names a user by name and nobody as ``anonymous``."""
    assert actor_of(Identity("carol")) == "carol"
    assert actor_of(Identity()) == "anonymous"
