"""A keyring backend in one JSON file under ``$HOME``, for the docs' keyring commands.

The ``keyring`` command needs a backend; a desktop's secret service is not there in a
test, so ``PYTHON_KEYRING_BACKEND=docs_keyring.JsonFileKeyring`` selects this one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from keyring.backend import KeyringBackend

__all__ = ["JsonFileKeyring"]


class JsonFileKeyring(KeyringBackend):
    """Passwords by (service, user) in ``$HOME/keyring.json``."""

    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        return Path(os.environ["HOME"]) / "keyring.json"

    def _load(self) -> dict[str, str]:
        return json.loads(self._path.read_text()) if self._path.exists() else {}

    def get_password(self, service: str, username: str | None) -> str | None:
        """The stored password, or None."""
        return self._load().get(f"{service}\n{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        """Store a password."""
        stored = self._load()
        stored[f"{service}\n{username}"] = password
        self._path.write_text(json.dumps(stored))

    def delete_password(self, service: str, username: str) -> None:
        """Forget a password."""
        stored = self._load()
        stored.pop(f"{service}\n{username}", None)
        self._path.write_text(json.dumps(stored))
