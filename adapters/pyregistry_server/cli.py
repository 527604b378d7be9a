"""The ``pyregistry`` command line."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Callable

from pyregistry_core import ConfigError, Registry
from pyregistry_core.auth import hash_password

from .serve import default_workers, run

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pyregistry", description="A private Python package index.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the index with gunicorn")
    serve.add_argument("--config", help="INI file ([pyregistry] or pypicloud's [app:main])")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=default_workers())

    commands.add_parser("hash-password", help="print a hash for a user.<name> config entry")

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
    return parser


def _hash_password(_args: argparse.Namespace) -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("pyregistry: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        print("pyregistry: empty password", file=sys.stderr)
        return 1
    print(hash_password(password))
    return 0


def _token(args: argparse.Namespace) -> int:
    registry = Registry.from_config(args.config, environ=os.environ)
    if args.token_command == "create":
        _token_, secret = registry.tokens.create(args.user, args.project, args.scope)
        print(secret)
    elif args.token_command == "list":
        for token in registry.tokens.list():
            print(token.describe())
    elif not registry.tokens.revoke(args.id):
        print(f"pyregistry: no token {args.id!r}", file=sys.stderr)
        return 1
    return 0


def _serve(args: argparse.Namespace) -> int:
    run(args.config, args.host, args.port, args.workers, os.environ)
    return 0


_COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "serve": _serve,
    "hash-password": _hash_password,
    "token": _token,
}


def main(argv: list[str] | None = None) -> int:
    """Run a ``pyregistry`` command."""
    args = _parser().parse_args(argv)
    try:
        return _COMMANDS[args.command](args)
    except ConfigError as error:
        print(f"pyregistry: configuration error: {error.message}", file=sys.stderr)
        return 2
    except ValueError as error:
        print(f"pyregistry: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
