"""The ``pyregistry`` command line."""

from __future__ import annotations

import argparse
import os
import sys

from pyregistry_core import ConfigError

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
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a ``pyregistry`` command."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "serve":
            run(args.config, args.host, args.port, args.workers, os.environ)
    except ConfigError as error:
        print(f"pyregistry: configuration error: {error.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
