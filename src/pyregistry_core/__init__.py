"""pyregistry: a private Python package index as a library.

The core is framework-agnostic: build a :class:`Registry` from a config and answer
requests with :func:`handle`; ``pyregistry_wsgi`` and ``pyregistry_asgi`` mount it in
any web app, and ``pyregistry serve`` runs it on its own.
"""

from __future__ import annotations

from .acl import AccessPolicy, Identity, Permission
from .errors import (
    AuthenticationRequired,
    ConfigError,
    FileConflict,
    InvalidProjectName,
    InvalidUpload,
    PermissionDenied,
    ProjectNotFound,
    RegistryError,
    StorageUnavailable,
)
from .registry.facade import Registry
from .settings import Settings
from .thread_pools import ThreadPools
from .web.file_bodies import open_file_body
from .web.handle import handle, handle_cached, handle_uncached
from .web.lanes import Lane, request_lane
from .web.messages import FileBody, Request, Response
from .web.prepared import AnswerKey, Prepared, PreparedAnswers, keyable_identity

__all__ = [
    "AccessPolicy",
    "AnswerKey",
    "AuthenticationRequired",
    "ConfigError",
    "FileBody",
    "FileConflict",
    "Identity",
    "InvalidProjectName",
    "InvalidUpload",
    "Lane",
    "Permission",
    "PermissionDenied",
    "Prepared",
    "PreparedAnswers",
    "ProjectNotFound",
    "Registry",
    "RegistryError",
    "Request",
    "Response",
    "Settings",
    "StorageUnavailable",
    "ThreadPools",
    "handle",
    "handle_cached",
    "handle_uncached",
    "keyable_identity",
    "open_file_body",
    "request_lane",
]
