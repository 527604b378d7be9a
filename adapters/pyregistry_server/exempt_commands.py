"""``pyregistry exempt add|list|remove``: admins' exemptions from the release cooldown.

They work on the config's storage, as the other managing commands do, so a running
server (every replica, every worker) honours a change on its next request.
"""

from __future__ import annotations

import argparse
import os

from pyregistry_core import Identity, Registry
from pyregistry_core.names import normalize

from .cli_audit import audited, os_user

__all__ = ["add_exempt_commands", "run_exempt"]


def add_exempt_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``pyregistry exempt …``."""
    exempt = commands.add_parser(
        "exempt", help="exempt one upstream file or version from the release cooldown (pypi.upstream_min_age)"
    )
    exempt_commands = exempt.add_subparsers(dest="exempt_command", required=True)
    add = exempt_commands.add_parser("add", help="serve this file or version whatever its age")
    add.add_argument("--config", required=True)
    add.add_argument("project")
    add.add_argument("target", metavar="VERSION|FILENAME")
    add.add_argument("--reason", default="", help="why (shown in /pypi/<project>/json and the audit log)")
    listed = exempt_commands.add_parser("list", help="print the project's exemptions, one per line")
    listed.add_argument("--config", required=True)
    listed.add_argument("project")
    remove = exempt_commands.add_parser("remove", help="revoke an exemption (files cached meanwhile stay)")
    remove.add_argument("--config", required=True)
    remove.add_argument("project")
    remove.add_argument("target", metavar="VERSION|FILENAME")


def run_exempt(args: argparse.Namespace) -> int:
    """Run ``pyregistry exempt …`` (errors reach ``main``, which prints them)."""
    registry = Registry.from_config(args.config, environ=os.environ)
    # The exemption names who granted it as the audit trail does: the system user.
    operator = Identity(user=os_user(), operator=True)
    exemptions = registry.exemptions
    project = normalize(args.project)
    if args.exempt_command == "add":
        with audited("cooldown.exempt", project, args.target) as trail:
            granted = exemptions.grant(operator, project, args.target, args.reason)
            trail.detail = f"{granted.kind} exempted" + (f"; reason: {args.reason}" if args.reason else "")
        print(f"exempt: {project} {granted.kind} {granted.target}")
    elif args.exempt_command == "list":
        for exemption in exemptions.listed(operator, project):
            fields = exemption.to_json()
            shown = " ".join(f"{key}={fields[key]!s}" for key in ("kind", "target", "actor", "granted"))
            print(shown + (f" reason={exemption.reason!r}" if exemption.reason else ""))
    else:
        with audited("cooldown.unexempt", project, args.target) as trail:
            revoked = exemptions.revoke(operator, project, args.target)
            trail.detail = "revoked: " + ", ".join(e.target for e in revoked)
        for exemption in revoked:
            print(f"unexempt: {project} {exemption.kind} {exemption.target}")
    return 0
