"""Which fsspec stores pyregistry runs on, decided once when the store is opened.

Invariant: every store that several processes may share creates records create-only
with the store's own mechanism (``O_EXCL``/link locally, ``If-None-Match: *`` on S3),
checked at startup. A generic fsspec store can only check, then write, under a lock of
one process: it runs only when ``storage.single_writer = true`` says one process writes
(``memory://`` lives inside one process, so it always may). Azure and GCS through fsspec
are refused outright until they create records with their own preconditions and pass
the contract and replica suites against Azurite and fake-gcs-server.
"""

from __future__ import annotations

from ..config_values import mask_url
from ..errors import ConfigError

__all__ = ["VERIFIED", "check_fsspec_scheme"]

VERIFIED = "S3 (verified against moto and SeaweedFS), a local directory, memory://"
_AZURE_GCS = frozenset({"az", "abfs", "abfss", "adl", "gs", "gcs"})
_IN_PROCESS = frozenset({"memory"})


def _shown(url: str) -> str:
    """The URL with any password masked (of one urllib cannot parse, only the scheme)."""
    try:
        return mask_url(url)
    except ValueError:
        return url.split("://", 1)[0] + "://…"


def check_fsspec_scheme(url: str, *, single_writer: bool) -> None:
    """Raise ``ConfigError`` unless the generic fsspec store ``url`` may be served."""
    protocols = {part.split("://", 1)[0].lower() for part in url.split("::") if "://" in part}
    unsafe = sorted(protocols & _AZURE_GCS)
    if unsafe:
        raise ConfigError(
            f"storage.url = {_shown(url)}: {unsafe[0]}:// is not supported yet (records would be "
            f"created by check-then-write, so replicas could publish different files under one "
            f"name); supported stores: {VERIFIED}"
        )
    if protocols <= _IN_PROCESS or single_writer:
        return
    raise ConfigError(
        f"storage.url = {_shown(url)}: this fsspec store has no create-only write, so two "
        "processes could publish different files under one name; use S3 or a local directory, "
        "or set storage.single_writer = true and run exactly one server process"
    )
