"""``pyregistry token …`` and ``pyregistry publisher …``: who may act on the index without a password."""

from __future__ import annotations

import argparse
import os
import sys

from pyregistry_core import Permission, Registry, RegistryError

from .cli_audit import audited

__all__ = ["credential_commands", "publisher", "token"]


def _registry(args: argparse.Namespace) -> Registry:
    return Registry.from_config(args.config, environ=os.environ)


def credential_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``token`` and ``publisher`` to the command line."""
    _token_commands(commands)
    _publisher_commands(commands)


def _publisher_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``pyregistry publisher add|list|remove``."""
    publisher = commands.add_parser("publisher", help="manage trusted publishers (CI uploads via OIDC)")
    publisher_commands = publisher.add_subparsers(dest="publisher_command", required=True)
    add = publisher_commands.add_parser("add", help="trust a CI identity to upload a project")
    add.add_argument("--config", required=True)
    add.add_argument("project")
    add.add_argument(
        "line", nargs="+", metavar="ISSUER [KEY=VALUE ...]", help="e.g. github repo=o/r workflow=r.yml"
    )
    listed = publisher_commands.add_parser("list", help="print every publisher, one per line")
    listed.add_argument("--config", required=True)
    remove = publisher_commands.add_parser("remove", help="remove a publisher added with 'publisher add'")
    remove.add_argument("--config", required=True)
    remove.add_argument("id")


def _token_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    token = commands.add_parser("token", help="manage API tokens (username __token__)")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="create a token and print it once")
    create.add_argument("--config", required=True)
    create.add_argument("--user", required=True)
    create.add_argument("--project", action="append", default=[], help="limit to this project (repeatable)")
    create.add_argument("--scope", choices=("read", "upload"), default="upload")
    listing = token_commands.add_parser("list", help="print one token id per line with its scope")
    listing.add_argument("--config", required=True)
    revoke = token_commands.add_parser("revoke", help="revoke a token by id")
    revoke.add_argument("--config", required=True)
    revoke.add_argument("id")


def token(args: argparse.Namespace) -> int:
    """``pyregistry token create|list|revoke``."""
    registry = _registry(args)
    if args.token_command == "list":
        for token in registry.tokens.list():
            print(token.describe())
        return 0
    if args.token_command == "revoke":
        with audited("token.revoke", target=args.id) as trail:
            if not registry.tokens.revoke(args.id):
                trail.refuse(f"no token {args.id!r}")
                print(f"pyregistry: no token {args.id!r}", file=sys.stderr)
                return 1
        return 0
    with audited("token.create", ",".join(args.project), args.user) as trail:
        trail.detail = f"user: {args.user}; scope: {args.scope}"
        if not registry.authenticator.user_exists(args.user):
            trail.refuse(f"no user {args.user!r}")
            print(
                f"pyregistry: no user {args.user!r} in {args.config}: a token acts as a user, so add "
                f"user.{args.user} (or an auth.htpasswd entry) first",
                file=sys.stderr,
            )
            return 2
        for warning in _scope_warnings(registry, args.user, args.project, args.scope):
            print(f"pyregistry: warning: {warning}", file=sys.stderr)
        token, secret = registry.tokens.create(args.user, args.project, args.scope)
        trail.project, trail.target = ",".join(token.projects), token.id
    print(secret)
    return 0


def publisher(args: argparse.Namespace) -> int:
    """``pyregistry publisher add|list|remove``."""
    trusted = _registry(args).trusted_publishing
    if args.publisher_command == "add":
        with audited("publisher.add", args.project) as trail:
            trail.detail = " ".join(args.line)
            trail.target = trusted.add_publisher(args.project, " ".join(args.line)).id
        print(trail.target)
    elif args.publisher_command == "list":
        configured = {p.id for p in trusted.trust.publishers}
        for publisher in trusted.publishers():
            source = "config" if publisher.id in configured else "stored"
            print(f"{publisher.describe()} source={source}")
    else:
        with audited("publisher.remove", target=args.id) as trail:
            if not trusted.remove_publisher(args.id):
                trail.refuse(f"no stored publisher {args.id!r}")
                print(
                    f"pyregistry: no stored publisher {args.id!r} (config ones change in the config)",
                    file=sys.stderr,
                )
                return 1
    return 0


_NOR_TOKEN = "this token cannot either"


def _scope_warnings(registry: Registry, user: str, projects: list[str], scope: str) -> list[str]:
    """What a new token's scope promises that its user may not do (its requests would get 403)."""
    identity = registry.authenticator.identity_for(user)
    wanted = [Permission.READ] if scope == "read" else [Permission.READ, Permission.WRITE]
    verbs = {Permission.READ: "read", Permission.WRITE: "upload to"}
    warnings = []
    for permission in wanted:
        if projects:
            refused = [p for p in projects if not registry.may(identity, permission, p)]
            if refused:
                names = ", ".join(repr(p) for p in refused)
                warnings.append(f"user {user!r} may not {verbs[permission]} {names}; {_NOR_TOKEN}")
        elif permission is Permission.WRITE:
            try:
                registry.require_upload_somewhere(identity)
            except RegistryError:
                warnings.append(f"user {user!r} may not upload to any project; {_NOR_TOKEN}")
        elif not registry.may(identity, permission):
            warnings.append(f"user {user!r} may not read this index; {_NOR_TOKEN}")
    return warnings
