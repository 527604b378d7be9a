"""Operations endpoints: ``/health`` for load balancers, ``/metrics`` for Prometheus."""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import RegistryError
from ..registry.facade import Registry
from .messages import Request, Response, json_response, not_found

__all__ = ["cached_health", "health", "metrics"]


def health(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """200 unless storage fails; the upstream's state is reported, never fatal (a proxy
    must stay in the load balancer while the upstream is down)."""
    state: dict[str, object] = {"status": "ok", "storage": "ok", "upstream": registry.upstream_state()}
    status = 200
    try:
        registry.storage.probe()
    except (RegistryError, OSError) as error:
        state.update(status="error", storage=str(error))
        status = 503
    return json_response(status, state, ("Cache-Control", "no-store"))


def cached_health(
    registry: Registry, request: Request, params: Mapping[str, str], arrived: float | None = None
) -> Response | None:
    """``health``'s answer when it costs one local ``stat`` and no lock (no upstream, whose
    state sits behind the circuit breaker's lock), else None (fast path)."""
    if registry.mirror is not None or not getattr(registry.storage, "probe_is_stat", False):
        return None
    return health(registry, request, params)


def metrics(registry: Registry, request: Request, params: Mapping[str, str]) -> Response:
    """The Prometheus exposition when ``pypi.metrics`` is on (else 404), for ``pypi.metrics_read``."""
    if not registry.metrics.enabled:
        return not_found()
    registry.permissions.require_metrics_read(request.caller, registry.settings.metrics_read)
    body, content_type = registry.metrics.exposition()
    return Response(200, (("Content-Type", content_type), ("Content-Length", str(len(body)))), body)
