"""The review app's Prometheus metrics (``radar_review_*``), in a registry of its own.

Counts only: no label carries a user, a hit, a case, a URL or a host. Labels are the
decision (``confirmed``, ``rejected``), the hit's outcome after it (``pending``,
``confirmed``, ``rejected``, ``disputed``), the route *template* (``/review/hits/{hit_id}``,
never the id), the method and the status.

``radar_review_decision_seconds`` is the latency of a decision request (POST ``decide``
or ``bulk``: the votes recorded, consensus applied, the audit written), not the time an
analyst looked at the hit: the first says whether the app keeps up, the second would be
a figure about people.

Served on the health port (``RADAR_HEALTH_PORT``, :mod:`ops.health`), not on the app's
port, so the ingress never exposes it; see :func:`review.app.create_app`.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request
from fastapi.responses import Response
from prometheus_client import Counter, Histogram

from ops.metrics import LATENCY_BUCKETS, new_registry

DECISION_ROUTES = {  # route template -> kind
    "/review/hits/{hit_id}/decide": "single",
    "/review/hits/{hit_id}/bulk": "bulk",
}


class ReviewMetrics:
    def __init__(self) -> None:
        self.registry = r = new_registry()
        self.decisions = Counter(
            "radar_review_decisions",
            "Analysts' decisions recorded, by decision and the hit's outcome after it.",
            ["decision", "outcome"],
            registry=r,
        )
        self.decision_seconds = Histogram(
            "radar_review_decision_seconds",
            "Latency of decision requests (POST decide: single, POST bulk: bulk).",
            ["kind"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.reveals = Counter(
            "radar_review_reveals",
            "Explicit reveals of an image, by result (granted, refused: budget spent).",
            ["result"],
            registry=r,
        )
        self.notices = Counter(
            "radar_review_notices_sent",
            "Notices sent to providers, by result (sent, failed).",
            ["result"],
            registry=r,
        )
        self.requests = Counter(
            "radar_review_http_requests",
            "HTTP requests, by route template, method and status.",
            ["route", "method", "status"],
            registry=r,
        )
        for decision in ("confirmed", "rejected"):
            self.decisions.labels(decision, decision)
            self.decisions.labels(decision, "pending")
        for result in ("granted", "refused"):
            self.reveals.labels(result)
        for result in ("sent", "failed"):
            self.notices.labels(result)

    def decided(self, decision: str, outcomes: list[str]) -> None:
        """Count one analyst's vote on each hit of ``outcomes`` (one for a single decision,
        one per duplicate for a bulk one)."""
        for outcome in outcomes:
            self.decisions.labels(decision, outcome).inc()

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        """Count every request by route template; time decision requests."""
        started = time.perf_counter()
        response = await call_next(request)
        route = getattr(request.scope.get("route"), "path", None)
        if not isinstance(route, str):
            route = "unmatched"  # a 404, or a mounted app (/static)
        self.requests.labels(route, request.method, str(response.status_code)).inc()
        kind = DECISION_ROUTES.get(route)
        if kind is not None and request.method == "POST":
            self.decision_seconds.labels(kind).observe(time.perf_counter() - started)
        return response


def metrics(request: Request) -> ReviewMetrics:
    """The app's metrics (made by :func:`review.app.create_app`)."""
    found: ReviewMetrics = request.app.state.metrics
    return found
