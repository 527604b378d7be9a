"""Prometheus metrics, when the ``metrics`` extra is installed and ``pypi.metrics`` is on.

Counters: requests (by route and status), uploads (by outcome and rejection reason),
upstream fetches (pages and files, by outcome), page cache hits, and supply-chain policy
decisions (files held back by the cooldown, names denied, exemptions used). Under several
gunicorn workers set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess
mode) so ``/metrics`` adds up every worker.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["Metrics"]


class Metrics:
    """Counters that are no-ops unless enabled and prometheus_client is importable."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = False
        if not enabled:
            return
        try:
            import prometheus_client as prom
        except ImportError:  # the metrics extra is not installed
            return
        self._prom: Any = prom
        self._registry = prom.CollectorRegistry(auto_describe=True)
        self.requests = prom.Counter(
            "pyregistry_requests", "HTTP requests", ["route", "status"], registry=self._registry
        )
        self.uploads = prom.Counter(
            "pyregistry_uploads", "Uploads by outcome", ["outcome", "reason"], registry=self._registry
        )
        self.upstream = prom.Counter(
            "pyregistry_upstream_fetches", "Upstream fetches", ["kind", "outcome"], registry=self._registry
        )
        self.cache = prom.Counter(
            "pyregistry_page_cache", "Page cache lookups", ["result"], registry=self._registry
        )
        self.policy = prom.Counter(
            "pyregistry_upstream_policy",
            "Supply-chain policy decisions: held_back (cooldown), denied (allow/deny lists), exempted",
            ["decision"],
            registry=self._registry,
        )
        self.enabled = True

    def count_request(self, route: str, status: int) -> None:
        """One answered request."""
        if self.enabled:
            self.requests.labels(route, str(status)).inc()

    def count_upload(self, outcome: str, reason: str = "") -> None:
        """One upload: ``stored``, ``identical`` or ``rejected`` (with a short reason)."""
        if self.enabled:
            self.uploads.labels(outcome, reason[:60]).inc()

    def count_upstream(self, kind: str, outcome: str) -> None:
        """One upstream page or file fetch."""
        if self.enabled:
            self.upstream.labels(kind, outcome).inc()

    def count_cache(self, hit: bool) -> None:
        """One page cache lookup."""
        if self.enabled:
            self.cache.labels("hit" if hit else "miss").inc()

    def count_policy(self, decision: str, count: int = 1) -> None:
        """Upstream files held back by the cooldown, names denied, exemptions used."""
        if self.enabled and count:
            self.policy.labels(decision).inc(count)

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition format and its content type."""
        prom = self._prom
        registry = self._registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = prom.CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return prom.generate_latest(registry), prom.CONTENT_TYPE_LATEST
