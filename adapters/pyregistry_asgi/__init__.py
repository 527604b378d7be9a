"""Mount a pyregistry in any ASGI server or app: ``make_app(registry)``.

Raw ASGI, no framework. What the core's non-blocking fast path (``handle_cached``) can
answer is answered on the event loop; on a remote store, a warm page whose snapshot needs
revalidating waits for one conditional request shared by the requests that arrived
before it started (``_rounds.py``) and is then answered on the event loop too. The rest
of the synchronous core runs on threads,
so hashing and storage I/O never block the loop, in separate bounded pools
(``_pools.py``) by what a request may wait on (``pyregistry_core.request_lane``):
uploads, requests that may wait on the upstream, everything else, and file bodies. So
slow uploaders or a hanging upstream exhaust only their own pool and warm pages keep
being answered; a pool that cannot even queue a request answers 503 with
``Retry-After``. The request body is bridged from ``receive()`` to a blocking reader
(``_body.py``); file bodies leave through ``pathsend`` or a chunk per thread hop
(``_send.py``).
"""

from __future__ import annotations

import asyncio
import functools
import inspect
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import attrs

from pyregistry_core import (
    AnswerKey,
    Identity,
    Lane,
    Prepared,
    PreparedAnswers,
    Registry,
    Request,
    Response,
    ThreadPools,
    handle_cached,
    handle_uncached,
    keyable_identity,
    request_lane,
)

from ._body import BodyReader, Receive
from ._pools import PoolBusy, Pools
from ._rounds import CheckRounds
from ._send import Send, send_busy, send_prepared, send_response

__all__ = ["make_app"]

Scope = MutableMapping[str, Any]
IdentifyCallable = Callable[[Scope], "Identity | Awaitable[Identity | None] | None"]


def _to_request(scope: Scope, body: BodyReader | None, identity: Identity | None) -> Request:
    headers: dict[str, str] = {}
    for raw_key, raw_value in scope.get("headers", []):
        key = raw_key.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[key] = f"{headers[key]}, {value}" if key in headers else value
    root_path = scope.get("root_path", "").rstrip("/")
    path = scope.get("path", "/")
    # DESIGN.md: when path starts with root_path, strip it (servers differ here).
    if root_path and (path == root_path or path.startswith(root_path + "/")):
        path = path[len(root_path) :]
    query_string = scope.get("query_string", b"").decode("latin-1")
    query = dict(reversed(parse_qsl(query_string, keep_blank_values=True)))
    host = headers.get("host")
    if host is None:
        server = scope.get("server") or ("localhost", 80)
        host = f"{server[0]}:{server[1]}"
    return Request(
        method=scope.get("method", "GET"),
        path=path or "/",
        query=query,
        headers=headers,
        body=body,  # type: ignore[arg-type]
        root_url=f"{scope.get('scheme', 'http')}://{host}{root_path}",
        script_root=root_path,
        identity=identity,
        client=_client_address(scope),
    )


_PREPARED_METHODS = frozenset(("GET", "HEAD"))
# The request headers the core's fast path reads (``pyregistry_core.PreparedAnswers``).
# ``Authorization`` is handed over beside the key, not in it.
_KEYED = {b"accept": 0, b"accept-encoding": 1, b"if-none-match": 2, b"host": 3, b"authorization": 4}


def _answer_key(scope: Scope, identity: Identity | None) -> tuple[AnswerKey, str | None] | None:
    """Every request value the core's fast path reads, and the ``Authorization`` header apart;
    None for a method other than GET and HEAD, no single Host, or a repeated header, or both
    credentials and an identity from the host app."""
    method = scope.get("method")
    if method not in _PREPARED_METHODS:
        return None
    values: list[bytes | None] = [None, None, None, None, None]
    for raw_name, value in scope.get("headers", ()):
        slot = _KEYED.get(raw_name.lower())
        if slot is not None:
            if values[slot] is not None:
                return None  # repeated: rare enough to leave to the ordinary translation
            values[slot] = value
    authorization = values.pop()
    if values[3] is None:
        return None
    if identity is not None and (authorization is not None or not keyable_identity(identity)):
        return None
    key = (
        method,
        scope.get("path"),
        scope.get("root_path", ""),
        scope.get("query_string", b""),
        scope.get("scheme", "http"),
        *values,
        identity,
    )
    return key, authorization.decode("latin-1") if authorization is not None else None


def _client_address(scope: Scope) -> str:
    """The peer's host from the scope's ``client`` pair ("" when the server gives none)."""
    peer = scope.get("client")
    return str(peer[0]) if peer else ""


def _handle_if_read(registry: Registry, request: Request) -> Response | None:
    """On a read thread: look (storage only) whether ``request`` may wait on the
    upstream; answer it here if not, else None (it moves to the upstream pool)."""
    if request_lane(registry, request, look=True) is Lane.UPSTREAM:
        return None
    return handle_uncached(registry, request)


async def _respond(registry: Registry, request: Request, pools: Pools) -> Response:
    """``handle(request)`` on the pool of its lane; ``PoolBusy`` when that pool is full."""
    lane = request_lane(registry, request)  # no I/O: it may run on the event loop
    if lane is None:  # telling needs a storage read: on a read thread, which answers most
        response = await pools.reads.run(_handle_if_read, registry, request)
        if response is not None:
            return response
        lane = Lane.UPSTREAM
    # The fast path said None on the event loop already: not again on the thread.
    return await pools.of(lane).run(handle_uncached, registry, request)


async def _respond_in_pool(registry: Registry, request: Request, pools: Pools, send: Send) -> Response | None:
    """``_respond``, or None once a 503 has been sent because the request's pool is full."""
    try:
        return await _respond(registry, request, pools)
    except PoolBusy as busy:
        await send_busy(busy, send)
        return None


async def _prepared(
    answers: PreparedAnswers,
    keyed: tuple[AnswerKey, str | None],
    arrived: float,
    rounds: CheckRounds,
    pools: Pools,
) -> Prepared | None:
    """The answer kept for the request, current for it: if its snapshot needs asking the
    store, after a round of that check started after the request arrived."""
    prepared = answers.get(*keyed, arrived=arrived)
    if prepared is not None:
        return prepared
    revalidation = answers.revalidation(*keyed)
    if revalidation is None:
        return None
    try:
        await rounds.run(revalidation.key, functools.partial(pools.reads.run, revalidation.check))
    except Exception:  # the ordinary path answers (and tells) what went wrong
        return None
    return answers.get(*keyed, arrived=arrived)


async def _lifespan(receive: Receive, send: Send, pools: Pools) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            pools.shutdown()
            await send({"type": "lifespan.shutdown.complete"})
            return


def _pool_sizes(registry: Registry, given: tuple[int | None, ...]) -> ThreadPools:
    """The registry's pool sizes with the ones ``make_app`` was given (in its order), each checked."""
    named = zip(("reads", "upstream", "uploads", "files", "queue"), given, strict=True)
    sizes = attrs.evolve(registry.settings.thread_pools, **{k: v for k, v in named if v is not None})
    for name, value in attrs.asdict(sizes).items():
        least = 0 if name == "queue" else 1
        if not isinstance(value, int) or value < least:
            raise ValueError(f"make_app: {name} must be a whole number of at least {least}, not {value!r}")
    return sizes


def make_app(
    registry: Registry,
    identify: IdentifyCallable | None = None,
    *,
    read_threads: int | None = None,
    upstream_threads: int | None = None,
    upload_threads: int | None = None,
    file_threads: int | None = None,
    thread_queue: int | None = None,
) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
    """An ASGI application serving ``registry``; ``identify`` may be sync or async.

    The pool sizes default to the registry's settings (``pypi.read_threads``,
    ``pypi.upstream_threads``, ``pypi.upload_threads``, ``pypi.file_threads``,
    ``pypi.thread_queue``); a keyword given here wins.
    """
    given = (read_threads, upstream_threads, upload_threads, file_threads, thread_queue)
    pools = Pools(_pool_sizes(registry, given))
    answers = PreparedAnswers(registry)
    rounds = CheckRounds()

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send, pools)
            return
        if scope["type"] != "http":
            return
        arrived = answers.arrived()
        identity: Identity | None = None
        if identify is not None:
            result = identify(scope)
            identity = await result if inspect.isawaitable(result) else result
        keyed = _answer_key(scope, identity)
        key = keyed[0] if keyed is not None else None
        if keyed is not None:
            prepared = await _prepared(answers, keyed, arrived, rounds, pools)
            if prepared is not None:  # a warm page asked again the same way
                await send_prepared(prepared, send)
                return
        loop = asyncio.get_running_loop()
        reader = BodyReader(receive, loop) if scope.get("method", "GET").upper() == "POST" else None
        request = _to_request(scope, reader, identity)
        # A warm page is answered on the event loop; only what needs I/O goes to a pool.
        if key is None:
            response = handle_cached(registry, request, arrived=arrived)
        else:
            response = answers.answer(key, request, arrived=arrived)
        if response is None:
            response = await _respond_in_pool(registry, request, pools, send)
            if response is None:
                return
            if key is not None and response.status < 400:
                # Its snapshot was just revalidated: kept, the next requests share one check.
                answers.prepare(key, request, arrived=arrived)
        await send_response(response, send, scope, pools.files)

    return app
