"""A small HTTP server for probes and metrics, in a daemon thread.

``/healthz``: 200 while the role's main loop is alive (it calls :meth:`beat` often enough),
else 503 — Kubernetes restarts the pod. ``/readyz``: 200 when the role's readiness check
passes (e.g. its consumer has partitions and its store answers), else 503 — Kubernetes
stops sending it traffic. ``/metrics``: the role's registry (:mod:`ops.metrics`) in the
Prometheus text exposition format.
Port from ``RADAR_HEALTH_PORT`` (unset or empty: no server), or given explicitly (0:
any free port, for tests); address from ``RADAR_HEALTH_HOST`` (default all interfaces).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import CollectorRegistry

from ops.metrics import exposition, new_registry

log = logging.getLogger(__name__)
TEXT = "text/plain; charset=utf-8"


class HealthServer:
    """Serve probes for one role. ``ready`` is called per request and ``registry``'s
    collectors per scrape, from the server's thread: they must be cheap and thread-safe
    (reading a flag or a copy). ``stall_seconds`` of ``inf``: alive while the process
    is (for a role whose liveness is probed elsewhere, e.g. the review app's own port)."""

    def __init__(
        self,
        role: str,
        ready: Callable[[], bool] = lambda: True,
        registry: CollectorRegistry | None = None,
        stall_seconds: float = 120.0,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self.role = role
        self.ready = ready
        self.registry = registry if registry is not None else new_registry()
        self.stall_seconds = stall_seconds
        # Probes come from the kubelet, on the pod's address; RADAR_HEALTH_HOST narrows it.
        self.host = host or os.environ.get("RADAR_HEALTH_HOST", "0.0.0.0")
        if port is None:
            raw = os.environ.get("RADAR_HEALTH_PORT", "").strip()
            port = int(raw) if raw else None
        self.port = port
        self._last_beat = time.monotonic()
        self._server: ThreadingHTTPServer | None = None

    def beat(self) -> None:
        """Tell the probe the main loop is alive."""
        self._last_beat = time.monotonic()

    def alive(self) -> bool:
        return time.monotonic() - self._last_beat < self.stall_seconds

    def _respond(self, path: str) -> tuple[int, bytes, str]:
        """(status, body, content type) of a GET of ``path``."""
        if path == "/metrics":
            try:
                body, content_type = exposition(self.registry)
            except Exception:  # a broken collector is an answer, not a dropped connection
                log.exception("%s metrics failed", self.role)
                return 500, b"metrics failed\n", TEXT
            return 200, body, content_type
        status, text = self._probe(path)
        return status, text.encode(), TEXT

    def _probe(self, path: str) -> tuple[int, str]:
        if path == "/healthz":
            return (200, "ok\n") if self.alive() else (503, "stalled\n")
        if path == "/readyz":
            try:
                ready = self.ready()
            except Exception as exc:  # a failing check means not ready, never a crash
                log.info("readiness check failed: %s", exc)
                ready = False
            return (200, "ready\n") if ready else (503, "not ready\n")
        return 404, "not found\n"

    def start(self) -> HealthServer:
        """Start serving if a port is configured; return self."""
        if self.port is None:
            return self
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, data, content_type = health._respond(self.path.split("?", 1)[0])
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("health %s", format % args)

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(
            target=self._server.serve_forever, name=f"{self.role}-health", daemon=True
        ).start()
        log.info("%s health on port %d", self.role, self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
