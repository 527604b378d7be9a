"""Prepared answers: a warm page asked again the same way, answered by one lookup.

``handle_cached`` works its answer out from the request each time: route, negotiation,
permission, snapshot, headers. For a request without credentials, all it reads is a
handful of raw values: method, path, query, ``Accept``, ``Accept-Encoding``,
``If-None-Match``, the mount point and host, the identity the host app gave, and the
``Authorization`` header. An adapter names a request by those values but the last (an
``AnswerKey`` it builds from its server's request, never from anything else; it hands
the header over beside it), and ``PreparedAnswers`` gives the answer it gave that key
and header last time, while what the answer rests on is still current.

Invariants:
1. Same answer. A prepared answer is ``handle_cached``'s answer to a request with the
   same key, kept only when the snapshot it rests on (``fast_path.FastRoute.rests_on``:
   the project's, the project list's, or none for a redirect the request alone decides)
   was the current one both before and after it was worked out; it is given again only
   while that same snapshot is current by ``handle_cached``'s own rule (one ``os.stat``
   of its document on local storage, else its TTL). Counted and logged as ``finish`` does.
2. Never blocks, as ``handle_cached``: the check is that function's snapshot lookup, and
   this module's own lock is only ever tried (not kept, not dropped, when it is taken).
3. Authorize before revealing: the host app's identity is part of the key, and so is a
   keyed hash of the ``Authorization`` header (never the header: credentials are kept
   nowhere but the authenticator's cache, which keys by such a hash too), so an answer is
   only ever given again to the caller it was worked out for. An answer to credentials is
   kept only when ``handle_cached`` found them already verified (``cached_identity``, the
   same identity before and after), and given again only while ``cached_identity`` still
   gives that very identity: an expired or evicted verdict is verified again by the
   ordinary path, and tokens (checked on every request) are never kept. With both an
   identity from the host app and a header, nothing is kept.
4. Bounded: at most ``max_answers`` answers (anonymous and credentialed alike) holding
   at most ``max_bytes`` of bodies; the oldest go first, and one found stale is dropped.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Hashable
from http import HTTPStatus

from ..acl import Identity
from ..registry.facade import Registry
from .fast_path import REQUEST_ONLY, Snapshot, fast_route, handle_cached
from .finish import record
from .messages import Request, Response

__all__ = ["AnswerKey", "Prepared", "PreparedAnswers", "keyable_identity"]

# The raw request values the fast path reads, in an order of the adapter's choosing; None:
# this request is not one to prepare (credentials, a method but GET or HEAD, no host).
AnswerKey = Hashable
_CREDENTIALED = object()  # marks a key with a header's hash, never equal to an adapter's key


class Prepared:
    """One kept answer: the response to send, and ``wire``, where an adapter may keep its own
    translation of it (by adapter name): the response never changes while it is given."""

    __slots__ = (
        "_counts_page_hit",
        "_path",
        "_snapshot",
        "_user",
        "_verdict",
        "method",
        "response",
        "snapshot_now",
        "wire",
    )

    def __init__(
        self,
        request: Request,
        response: Response,
        snapshot_now: Snapshot,
        snapshot: object,
        page_hit: bool,
        verdict: Identity | None = None,
    ) -> None:
        self.response = response
        self.method = request.method
        self.snapshot_now = snapshot_now
        self.wire: dict[str, object] = {}
        self._snapshot = snapshot
        self._path = request.path
        # ``verdict``: the identity ``cached_identity`` gave the request's credentials.
        self._verdict = verdict
        self._user = verdict.user if verdict is not None else request.caller.user
        self._counts_page_hit = page_hit

    @property
    def current(self) -> bool:
        """Whether the snapshot it rests on is still the current one (invariant 1)."""
        return self._snapshot is REQUEST_ONLY or self.snapshot_now() is self._snapshot

    def still_for(self, registry: Registry, authorization: str | None) -> bool:
        """Whether the caller is still the one it was worked out for (invariant 3)."""
        if authorization is None:
            return self._verdict is None
        return registry.permissions.cached_identity(authorization) is self._verdict

    def record(self, registry: Registry, started: float) -> None:
        """Count and log it as sent once more, as ``finish`` does."""
        if self._counts_page_hit:
            registry.metrics.count_cache(hit=True)
        record(registry, self._user, self.method, self._path, self.response, started)

    @property
    def status_line(self) -> str:
        """``"200 OK"``: the status and its reason phrase."""
        status = self.response.status
        try:
            reason = self.response.reason or HTTPStatus(status).phrase
        except ValueError:
            reason = ""
        return f"{status} {reason}"


class PreparedAnswers:
    """The answers kept for one adapter's requests to ``registry`` (module invariants)."""

    def __init__(self, registry: Registry, *, max_answers: int = 1024, max_bytes: int = 64 * 2**20) -> None:
        self._registry = registry
        self._answers: dict[AnswerKey, Prepared] = {}
        self._bytes = 0
        self._max_answers = max_answers
        self._max_bytes = max_bytes
        self._lock = threading.Lock()
        self._secret = secrets.token_bytes(32)

    def __len__(self) -> int:
        return len(self._answers)

    def get(self, key: AnswerKey, authorization: str | None = None) -> Prepared | None:
        """The answer kept for ``key`` and the request's ``Authorization`` header if it is
        still current and still for that caller (counted and logged), else None."""
        if authorization is not None:
            key = self._with_credentials(key, authorization)
        prepared = self._answers.get(key)
        if prepared is None:
            return None
        started = time.perf_counter()
        if not prepared.current or not prepared.still_for(self._registry, authorization):
            self._forget(key, prepared)
            return None
        prepared.record(self._registry, started)
        return prepared

    def answer(self, key: AnswerKey, request: Request) -> Response | None:
        """``handle_cached(request)``, kept for ``key`` when invariant 1 allows (``request``
        must be the one ``key`` and its header name). No I/O beyond ``handle_cached``'s."""
        found = fast_route(request.path)
        snapshots = found[0].rests_on(self._registry, found[1]) if found is not None else None
        authorization = request.header("authorization")
        if snapshots is None or (authorization is not None and request.identity is not None):
            return handle_cached(self._registry, request)
        as_read, current = snapshots
        cached_identity = self._registry.permissions.cached_identity
        verdict = cached_identity(authorization) if authorization is not None else None
        before = as_read()
        response = handle_cached(self._registry, request)
        # Snapshots (and verdicts) are swapped by reference, never put back: the same object
        # before and after is the one the answer came from, current when it was worked out.
        if response is None or before is None or as_read() is not before:
            return response
        if authorization is not None:
            if verdict is None or cached_identity(authorization) is not verdict:
                return response
            key = self._with_credentials(key, authorization)
        assert found is not None
        page_hit = found[0].counts_page_hit and response.status < 300
        self._keep(key, Prepared(request, response, current, before, page_hit, verdict))
        return response

    def _with_credentials(self, key: AnswerKey, authorization: str) -> AnswerKey:
        """``key`` with a keyed hash of the header: the credentials themselves are never kept."""
        header = authorization.encode("utf-8", "surrogateescape")
        return (_CREDENTIALED, key, hashlib.blake2b(header, key=self._secret, digest_size=32).digest())

    def _keep(self, key: AnswerKey, prepared: Prepared) -> None:
        size = len(prepared.response.body) if isinstance(prepared.response.body, bytes) else 0
        if size > self._max_bytes or not self._lock.acquire(blocking=False):
            return
        try:
            self._drop(key)
            while self._answers and (
                len(self._answers) >= self._max_answers or self._bytes + size > self._max_bytes
            ):
                self._drop(next(iter(self._answers)))
            self._answers[key] = prepared
            self._bytes += size
        finally:
            self._lock.release()

    def _forget(self, key: AnswerKey, stale: Prepared) -> None:
        if not self._lock.acquire(blocking=False):
            return
        try:
            if self._answers.get(key) is stale:
                self._drop(key)
        finally:
            self._lock.release()

    def _drop(self, key: AnswerKey) -> None:
        """Remove ``key``'s answer (the lock is held)."""
        gone = self._answers.pop(key, None)
        if gone is not None and isinstance(gone.response.body, bytes):
            self._bytes -= len(gone.response.body)


def keyable_identity(identity: Identity) -> bool:
    """Whether the host app's identity can be part of an ``AnswerKey`` (groups given as a
    list cannot be hashed): an adapter gives no key otherwise."""
    try:
        hash(identity)
    except TypeError:
        return False
    return True
