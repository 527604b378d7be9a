"""The registry's domain errors; none of them knows about HTTP.

The HTTP layer (``web/statuses.py``) owns the one table that maps these to status codes;
every error the core raises on purpose is defined here, so that table can name them all.
Messages are API: upload rejections use PyPI's wording where clients depend on it.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationRequired",
    "BadCredentials",
    "ConfigError",
    "ExemptionNotFound",
    "FileConflict",
    "FileGone",
    "FileHeldBack",
    "FileNotFoundInProject",
    "InvalidProjectName",
    "InvalidStorageKey",
    "InvalidUpload",
    "NotAcceptable",
    "OidcRejected",
    "PermissionDenied",
    "ProjectNotFound",
    "ProvenanceNotFound",
    "ProvenanceRejected",
    "RegistryError",
    "StorageUnavailable",
    "UnsupportedAction",
    "UploadTooLarge",
    "UpstreamError",
    "ZipLayoutError",
]


class RegistryError(Exception):
    """Base of every error the registry raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(RegistryError, ValueError):
    """A configuration key has a value the registry cannot run with."""


class InvalidProjectName(RegistryError, ValueError):
    """A project name breaks the PyPA name-normalization spec (PEP 503)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"The name {name!r} is invalid.")
        self.name = name


class ProjectNotFound(RegistryError, LookupError):
    """No project of that normalized name is stored (PEP 503)."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Project {name!r} not found.")
        self.name = name


class FileNotFoundInProject(RegistryError, LookupError):
    """The project has no file of that name (the file may belong to another project)."""

    def __init__(self, project: str, filename: str) -> None:
        super().__init__(f"File {filename!r} not found in project {project!r}.")
        self.project = project
        self.filename = filename


class FileGone(FileNotFoundInProject):
    """The file existed and was deleted; its name stays burnt (PyPI semantics)."""


class ProvenanceNotFound(FileNotFoundInProject):
    """PEP 740: the file exists but there is no provenance object to serve for it."""

    def __init__(self, project: str, filename: str) -> None:
        super().__init__(project, filename + ".provenance")
        self.message = f"No provenance available for {filename}."
        self.args = (self.message,)


class FileHeldBack(FileNotFoundInProject):
    """An upstream file the supply-chain policy holds back (cooldown): absent for clients."""

    def __init__(self, project: str, filename: str, why: str) -> None:
        super().__init__(project, filename)
        self.message = f"File {filename!r} of project {project!r} is held back: {why}."
        self.args = (self.message,)


class ExemptionNotFound(RegistryError, LookupError):
    """No admin exemption from the release cooldown names that file or version."""

    def __init__(self, project: str, target: str) -> None:
        super().__init__(f"No cooldown exemption for {target!r} in project {project!r}.")
        self.project = project
        self.target = target


class NotAcceptable(RegistryError, ValueError):
    """No format the client accepts can be served (PEP 691: 406)."""


class InvalidUpload(RegistryError, ValueError):
    """An upload breaks a rule of the legacy upload API; the message is PyPI's."""


class FileConflict(InvalidUpload):
    """Different bytes were uploaded under an existing filename ("File already exists")."""


class UnsupportedAction(InvalidUpload):
    """A legacy ``:action`` PyPI retired (``submit``, ``doc_upload``): 410 Gone."""


class UploadTooLarge(RegistryError, ValueError):
    """The upload body is larger than ``pypi.max_upload_size``."""


class AuthenticationRequired(RegistryError, PermissionError):
    """The caller sent no or bad credentials and needs some to proceed."""


class BadCredentials(RegistryError, ValueError):
    """The request carried credentials that do not authenticate anyone (RFC 7617)."""

    def __init__(self, message: str, claimed: str = "") -> None:
        super().__init__(message)
        self.claimed = claimed  # the user name the client sent (never the password)


class PermissionDenied(RegistryError, PermissionError):
    """The authenticated caller is not allowed to do this."""


class InvalidStorageKey(RegistryError, ValueError):
    """A storage key would leave its folder or hide (``..``, a separator, a control character, a dot)."""


class StorageUnavailable(RegistryError, OSError):
    """Storage failed; callers must answer 503, never "not found"."""


class UpstreamError(RegistryError, ConnectionError):
    """The upstream index failed, timed out or sent something unacceptable (502)."""


class OidcRejected(RegistryError, PermissionError):
    """Trusted publishing refused an identity token or a mint request; ``code`` is PyPI's
    error code (``invalid-token``, ``invalid-publisher``, …), answered as PyPI's JSON."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


# Checks of one part of an upload or an upstream file; their callers turn them into an
# ``InvalidUpload`` (PyPI's message) or drop what failed, so they carry no status.


class ZipLayoutError(ValueError):
    """The zip could be read two ways (PEP 427 wheels are plain zips); the message says where."""


class ProvenanceRejected(ValueError):
    """A PEP 740 provenance object is malformed or does not name the file it came with."""
