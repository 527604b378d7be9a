"""The audit trail of the command line: changes made with ``pyregistry …`` are events too.

The actor is the operating-system user running the command (who can read the config
can do anything, so that is who acted), the client address is ``cli``.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager

from pyregistry_core import RegistryError, StorageUnavailable
from pyregistry_core.audit import FAILED, OK, REFUSED, AuditEvent, record

__all__ = ["CliTrail", "audited", "os_user"]


def os_user() -> str:
    """The login name running this command (``unknown`` when the system cannot say)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER in a bare container
        return "unknown"


class CliTrail:
    """What one command did, filled in as it learns it; ``refuse`` when it declines."""

    def __init__(self, project: str, target: str) -> None:
        self.project, self.target, self.detail = project, target, ""
        self.refusal = ""

    def refuse(self, reason: str) -> None:
        """The command declined (an unknown id, a missing user): recorded as refused."""
        self.refusal = reason


def _event(action: str, trail: CliTrail, outcome: str, reason: str = "") -> AuditEvent:
    return AuditEvent(
        os_user(),
        action,
        outcome=outcome,
        project=trail.project,
        target=trail.target,
        reason=reason,
        detail=trail.detail,
        client="cli",
    )


@contextmanager
def audited(action: str, project: str = "", target: str = "") -> Iterator[CliTrail]:
    """Record one ``action`` event when the block ends: ok, refused, or failed."""
    trail = CliTrail(project, target)
    try:
        yield trail
    except StorageUnavailable as error:
        record(_event(action, trail, FAILED, error.message))
        raise
    except RegistryError as error:
        record(_event(action, trail, REFUSED, error.message))
        raise
    except ValueError as error:  # a bad argument (a malformed publisher line)
        record(_event(action, trail, REFUSED, str(error)))
        raise
    except Exception as error:
        record(_event(action, trail, FAILED, f"{type(error).__name__}: {error}"))
        raise
    if trail.refusal:
        record(_event(action, trail, REFUSED, trail.refusal))
    else:
        record(_event(action, trail, OK))
