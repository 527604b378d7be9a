"""Who may read /metrics: ``pypi.metrics_read`` (admin, authenticated, everyone; default: default_read)."""

from __future__ import annotations

import pytest
from access_helpers import basic, fast_hash

from pyregistry_core import ConfigError, Registry, Request, handle

USERS = {"user.alice": fast_hash("alice-pw"), "user.root": fast_hash("root-pw"), "auth.admins": "root"}
CALLERS = {
    "anonymous": {},
    "alice": {"authorization": basic("alice", "alice-pw")},
    "root": {"authorization": basic("root", "root-pw")},
}


def _status(caller: str, **settings: str) -> int:
    registry = Registry.from_config(
        {"storage.url": "memory://metrics-read", "pypi.metrics": "true", **USERS, **settings}
    )
    return handle(registry, Request("GET", "/metrics", headers=CALLERS[caller])).status


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"pypi.metrics_read": "everyone"}, {"anonymous": 200, "alice": 200, "root": 200}),
        ({"pypi.metrics_read": "authenticated"}, {"anonymous": 401, "alice": 200, "root": 200}),
        ({"pypi.metrics_read": "admin"}, {"anonymous": 401, "alice": 403, "root": 200}),
        ({}, {"anonymous": 200, "alice": 200, "root": 200}),  # default_read = everyone
        ({"pypi.default_read": "authenticated"}, {"anonymous": 401, "alice": 200, "root": 200}),
        (
            {"pypi.default_read": "authenticated", "pypi.metrics_read": "everyone"},
            {"anonymous": 200, "alice": 200, "root": 200},
        ),
    ],
)
def test_metrics_read_decides_who_sees_metrics(settings, expected):
    """Each setting lets exactly its callers read /metrics: 401 for anonymous, 403 for others."""
    assert {caller: _status(caller, **settings) for caller in CALLERS} == expected


def test_refused_metrics_say_why():
    """A user who may not read metrics gets a 403 naming them."""
    registry = Registry.from_config(
        {
            "storage.url": "memory://metrics-read",
            "pypi.metrics": "true",
            "pypi.metrics_read": "admin",
            **USERS,
        }
    )
    reply = handle(registry, Request("GET", "/metrics", headers=CALLERS["alice"]))
    assert (reply.status, reply.body) == (403, b"The user 'alice' isn't allowed to read metrics.\n")


def test_unknown_metrics_read_is_a_config_error():
    """A value other than admin, authenticated or everyone refuses to start."""
    with pytest.raises(ConfigError, match=r"pypi\.metrics_read must be admin, authenticated or everyone"):
        Registry.from_config({"storage.url": "memory://metrics-read", "pypi.metrics_read": "staff"})
