"""The audit trail: one structured line per change to what the index holds or who may change it.

Uploads, yanks, un-yanks, deletes, status changes, token creation and revocation,
trusted-publishing mints, publisher and policy changes — done or refused — each become
one ``AuditEvent`` that ``record`` logs on the ``pyregistry.audit`` logger: a plain
``key=value`` line as the message, and the same fields as a mapping in the log record's
``audit`` attribute, for a JSON formatter (``pyregistry serve --log-format json``).

Invariants:
1. One event, one line: values are quoted (JSON string syntax) whenever they hold a
   space, a quote, an ``=`` or anything unprintable, so no value can forge a second
   line or a second field.
2. An event never holds a secret: actors are names, targets are filenames, versions and
   ids — never a token, a password or an identity token. Credentials that did not verify
   add the user name they claimed (``claimed``), never the password or token sent.
"""

from __future__ import annotations

import json
import logging
import time as _time
from datetime import datetime, timezone

import attrs

from .acl import Identity

__all__ = ["AUDIT_LOGGER", "FAILED", "OK", "REFUSED", "AuditEvent", "actor_of", "record"]

AUDIT_LOGGER = "pyregistry.audit"
OK = "ok"
REFUSED = "refused"
# The server could not do it (storage unreachable): nobody was refused anything.
FAILED = "failed"

audit_log = logging.getLogger(AUDIT_LOGGER)


def actor_of(identity: Identity) -> str:
    """Who acted, as the trail names them: the user, or ``anonymous``."""
    return identity.user if identity.user is not None else "anonymous"


def _iso(seconds: float) -> str:
    """UTC, millisecond precision: ``2026-12-06T00:05:00.000Z``."""
    moment = datetime.fromtimestamp(seconds, tz=timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _value(text: str) -> str:
    """``text`` as a logfmt value: bare when safe, else a JSON string (one line, escaped)."""
    if not text:
        return "-"
    if text.isprintable() and not any(c in text for c in ' "=\\') and text != "-":
        return text
    return json.dumps(text)


@attrs.frozen
class AuditEvent:
    """One audited action: who did what to which project and file, from where, and how it ended."""

    actor: str
    action: str  # upload, yank, unyank, delete, status, token.create, token.revoke, oidc.mint, …
    outcome: str = OK  # OK, REFUSED or FAILED
    claimed: str = ""  # with credentials that did not verify: the user name they claimed
    project: str = ""
    target: str = ""  # the filename, version, token id or publisher id acted on
    reason: str = ""  # why it was refused or failed (the message the client got)
    detail: str = ""  # what changed beyond the target: a new status, a token's scope…
    client: str = ""  # the client's address, or "cli"
    time: float = attrs.field(factory=_time.time)  # seconds since the epoch

    def fields(self) -> dict[str, str]:
        """The event as a flat mapping, in a fixed order (empty claimed, reason and detail left out)."""
        fields = {"time": _iso(self.time), "actor": self.actor}
        if self.claimed:
            fields["claimed"] = self.claimed
        fields |= {
            "action": self.action,
            "project": self.project,
            "target": self.target,
            "outcome": self.outcome,
            "client": self.client,
        }
        if self.reason:
            fields["reason"] = self.reason
        if self.detail:
            fields["detail"] = self.detail
        return fields

    def line(self) -> str:
        """The event as one ``key=value`` line (empty values as ``-``)."""
        return " ".join(f"{key}={_value(value)}" for key, value in self.fields().items())


def record(event: AuditEvent) -> None:
    """Log ``event`` on ``pyregistry.audit``: refusals and failures at WARNING, the rest at INFO."""
    level = logging.INFO if event.outcome == OK else logging.WARNING
    audit_log.log(level, "%s", event.line(), extra={"audit": event.fields()})
