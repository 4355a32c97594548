"""``create_app``: the review and notices web app, wired from validated settings.

Pages are rendered on the server (Jinja2) with a little vanilla JavaScript for keyboard
shortcuts, the blurred image and the menu, which below 960 px is a disclosure button
(without JavaScript ``static/nojs.css`` shows it wrapped). Every page starts with a skip
link to ``<main id="main">``; tables scroll sideways in their own named region, never the
page (``tests/review/test_layout.py`` checks this at 390 and 1280 px). Every response
carries a strict Content-Security-Policy (no inline script, no third-party origin) and
``Referrer-Policy: same-origin`` so a reviewer's browser never tells a remote host where
it came from.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from notices.tracking import Policy
from ops.health import HealthServer
from review import errors, queue
from review.metrics import ReviewMetrics
from review.proxy import FetchPool
from review.routes import account, admin, cases, noticing, reviewing
from review.services import Services
from review.settings import ReviewSettings
from store.base import StoreError
from store.db import DatabaseError, answers

log = logging.getLogger(__name__)
READY_SECONDS = 2.0
ROUTERS = (account.router, reviewing.router, cases.router, noticing.router, admin.router)
CSP = (
    "default-src 'self'; img-src 'self' blob: data:; script-src 'self'; style-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(settings: ReviewSettings, services: Services | None = None) -> FastAPI:
    services = services or Services(settings)
    stop = threading.Event()
    metrics = ReviewMetrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        thread = None
        if settings.scheduler_minutes > 0:
            thread = threading.Thread(
                target=_scheduler, args=(services, stop), name="radar-rechecks", daemon=True
            )
            thread.start()
        # /metrics on the health port (RADAR_HEALTH_PORT; unset: none), not on the app's
        # port: the ingress never routes it. Liveness is probed on the app's port.
        health = HealthServer("review", registry=metrics.registry, stall_seconds=math.inf)
        app.state.health = health.start()
        yield
        health.stop()
        stop.set()
        if thread is not None:
            thread.join(timeout=5)

    app = FastAPI(
        title="Reupload Radar", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan
    )
    app.state.services = services
    app.state.metrics = metrics
    app.state.grants = reviewing.Grants()
    app.state.fetch_pool = FetchPool(settings.image_fetches)
    app.mount(
        "/static", StaticFiles(directory=str(Path(__file__).parent / "static")), name="static"
    )
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        """Liveness for probes: the event loop answers. No session needed; says nothing
        about hits or users."""
        return Response("ok\n", media_type="text/plain")

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        """Readiness for probes: 503 while every image-fetch slot is taken, while no
        worker thread is free within 2 s, or while the store does not answer."""
        pool: FetchPool = app.state.fetch_pool
        problems = []
        if pool.saturated():
            problems.append(f"image fetches saturated ({pool.in_flight}/{pool.size})")
        try:
            with anyio.fail_after(READY_SECONDS):
                await run_in_threadpool(_store_answers, settings.db)
        except TimeoutError:
            problems.append(f"no worker thread or store answer within {READY_SECONDS:g} s")
        except _STORE_ERRORS as exc:
            problems.append(f"store: {exc}")
        if problems:
            return Response(
                "not ready: " + "; ".join(problems) + "\n", 503, media_type="text/plain"
            )
        return Response("ready\n", media_type="text/plain")

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Frame-Options"] = "DENY"
        return response

    app.middleware("http")(metrics.middleware)
    errors.install(app)
    return app


_STORE_ERRORS: tuple[type[Exception], ...] = (StoreError, *DatabaseError)


def _store_answers(db: str) -> None:
    """Raise StoreError or the driver's error unless the store answers a query."""
    answers(db)


def _scheduler(services: Services, stop: threading.Event) -> None:
    """Every ``scheduler_minutes``: re-check what is due, remind and escalate."""
    while not stop.wait(services.settings.scheduler_minutes * 60):
        try:
            policy = Policy.from_settings(queue.settings(services))
            summary = services.notice_round(policy)
            if summary is None:
                log.info("scheduled re-checks: another replica is running this round")
            else:
                log.info("scheduled re-checks: %s", summary)
        except Exception:  # the loop must survive one bad round; the next one retries
            log.exception("scheduled re-check round failed")
