"""A failed precondition of a create-only write means "the key exists", on every S3 store.

s3fs reports a 412 as ``FileExistsError`` only when the error body names
``<Condition>If-None-Match</Condition>``, as AWS and moto do. SeaweedFS and Ceph RGW
enforce ``If-None-Match: *`` just as well but answer a bare ``PreconditionFailed`` (or
no body at all), which s3fs turns into ``OSError(EINVAL)``. A create-only write sends
no other condition, so any precondition failure of one can only mean the key exists.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["create_only_errors", "is_precondition_failure"]


def is_precondition_failure(error: BaseException) -> bool:
    """Whether ``error`` (or an exception it was raised from) is an HTTP 412 answer."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict):
            code = (response.get("Error") or {}).get("Code")
            status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode")
            if code == "PreconditionFailed" or status == 412:
                return True
        current = current.__cause__ or current.__context__
    return False


@contextlib.contextmanager
def create_only_errors() -> Iterator[None]:
    """Around a create-only write: a precondition failure becomes ``FileExistsError``."""
    try:
        yield
    except FileExistsError:
        raise
    except Exception as exc:
        if is_precondition_failure(exc):
            raise FileExistsError(f"already exists (the store answered 412: {exc})") from exc
        raise
