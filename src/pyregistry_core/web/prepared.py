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
   of its document on local storage, its TTL, or a check that started after the request
   ``arrived``). Counted and logged as ``finish`` does. On a remote store an answer whose
   snapshot needs revalidating stays kept, to tell the adapter what to check
   (``revalidation``), until the fast path no longer answers its key.
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
   at most ``max_bytes`` of bodies; the oldest go first, and one found stale with no
   revalidation to offer (or for another caller) is dropped.
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
from .fast_path import REQUEST_ONLY, Basis, Revalidation, cached_answer, fast_route, handle_cached
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
        "_read_version",
        "_snapshot",
        "_user",
        "_verdict",
        "basis",
        "method",
        "response",
        "wire",
    )

    def __init__(
        self,
        request: Request,
        response: Response,
        basis: Basis,
        snapshot: object,
        page_hit: bool,
        verdict: Identity | None = None,
    ) -> None:
        self.response = response
        self.method = request.method
        self.basis = basis
        self.wire: dict[str, object] = {}
        self._snapshot = snapshot
        # The document version the snapshot was read at, when one ``stat`` can confirm it.
        version = getattr(snapshot, "etag", None) if basis.version is not None else None
        self._read_version = version if isinstance(version, str) else None
        self._path = request.path
        # ``verdict``: the identity ``cached_identity`` gave the request's credentials.
        self._verdict = verdict
        self._user = verdict.user if verdict is not None else request.caller.user
        self._counts_page_hit = page_hit

    def current(self, arrived: float | None = None) -> bool:
        """Whether the snapshot it rests on is still the current one, for a request that
        ``arrived`` then if given (invariant 1)."""
        if self._snapshot is REQUEST_ONLY:
            return True
        # Local storage: the version the snapshot was read at is still the stored one (the
        # catalog's own rule, without its lookup); else ask the catalog (TTL, arrival).
        probe = self.basis.version
        if probe is not None and self._read_version is not None and probe() == self._read_version:
            return True
        return self.basis.current(arrived) is self._snapshot

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

    def arrived(self) -> float:
        """Now on the clock of the registry's snapshots: a request's ``arrived``."""
        return self._registry.catalog.now()

    def get(
        self, key: AnswerKey, authorization: str | None = None, *, arrived: float | None = None
    ) -> Prepared | None:
        """The answer kept for ``key`` and the request's ``Authorization`` header if it is
        still current (for a request that ``arrived`` then, if given) and still for that
        caller (counted and logged), else None."""
        if authorization is not None:
            key = self._with_credentials(key, authorization)
        prepared = self._answers.get(key)
        if prepared is None:
            return None
        started = time.perf_counter()
        if not prepared.still_for(self._registry, authorization):
            self._forget(key, prepared)
            return None
        if not prepared.current(arrived):
            if prepared.basis.revalidation is None:
                self._forget(key, prepared)
            return None
        prepared.record(self._registry, started)
        return prepared

    def revalidation(self, key: AnswerKey, authorization: str | None = None) -> Revalidation | None:
        """What to check with the store so the answer kept for ``key`` (and that header),
        stale now, may be current again; None when there is none to check (invariant 1)."""
        if authorization is not None:
            key = self._with_credentials(key, authorization)
        prepared = self._answers.get(key)
        if prepared is None or not prepared.still_for(self._registry, authorization):
            return None
        return prepared.basis.revalidation

    def answer(self, key: AnswerKey, request: Request, *, arrived: float | None = None) -> Response | None:
        """``handle_cached(request, arrived=arrived)``, kept for ``key`` when invariant 1
        allows (``request`` must be the one ``key`` and its header name); when it is None,
        what ``key`` kept is dropped. No I/O beyond ``handle_cached``'s."""
        return self._work_out(key, request, arrived, send=True)

    def prepare(self, key: AnswerKey, request: Request, *, arrived: float) -> None:
        """Keep ``request``'s answer for ``key`` without sending it (after the ordinary path
        answered it, which revalidated its snapshot), so later requests can be answered by
        a shared revalidation; only answers resting on a snapshot of a remote store."""
        self._work_out(key, request, arrived, send=False)

    def _work_out(
        self, key: AnswerKey, request: Request, arrived: float | None, send: bool
    ) -> Response | None:
        found = fast_route(request.path)
        basis = found[0].rests_on(self._registry, found[1]) if found is not None else None
        if not send and (basis is None or basis.revalidation is None):
            return None
        authorization = request.header("authorization")
        if basis is None or (authorization is not None and request.identity is not None):
            return handle_cached(self._registry, request, arrived=arrived) if send else None
        if authorization is not None:
            key = self._with_credentials(key, authorization)
        cached_identity = self._registry.permissions.cached_identity
        verdict = cached_identity(authorization) if authorization is not None else None
        before = basis.as_read()
        worked_out = handle_cached if send else cached_answer
        response = worked_out(self._registry, request, arrived=arrived)
        if response is None:
            self._forget(key, self._answers.get(key))  # the fast path no longer answers it
            return None
        # Snapshots (and verdicts) are swapped by reference, never put back: the same object
        # before and after is the one the answer came from, current when it was worked out.
        if before is None or basis.as_read() is not before:
            return response
        if authorization is not None and (verdict is None or cached_identity(authorization) is not verdict):
            return response
        assert found is not None
        page_hit = found[0].counts_page_hit and response.status < 300
        self._keep(key, Prepared(request, response, basis, before, page_hit, verdict))
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

    def _forget(self, key: AnswerKey, stale: Prepared | None) -> None:
        if stale is None or not self._lock.acquire(blocking=False):
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
