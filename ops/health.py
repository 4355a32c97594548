"""A small HTTP server for probes and metrics, in a daemon thread.

``/healthz``: 200 while the role's main loop is alive (it calls :meth:`beat` often enough),
else 503 — Kubernetes restarts the pod. ``/readyz``: 200 when the role's readiness check
passes (e.g. its consumer has partitions and its store answers), else 503 — Kubernetes
stops sending it traffic. ``/metrics``: the role's counters in Prometheus text format.
Port from ``RADAR_HEALTH_PORT`` (unset or empty: no server), or given explicitly (0:
any free port, for tests); address from ``RADAR_HEALTH_HOST`` (default all interfaces).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)
_METRIC = re.compile(r"[^a-zA-Z0-9_]")


def _name(key: str) -> str:
    return "radar_" + _METRIC.sub("_", key).strip("_").lower()


def render_metrics(counters: Mapping[str, float]) -> str:
    """Counters as Prometheus text (every value a gauge-like sample; names sanitised)."""
    lines = []
    for key in sorted(counters):
        value = counters[key]
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        lines.append(f"{_name(key)} {value}")
    return "\n".join(lines) + "\n"


class HealthServer:
    """Serve probes for one role. ``ready`` and ``counters`` are called per request, from
    the server's thread: they must be cheap and thread-safe (reading a flag or a copy)."""

    def __init__(
        self,
        role: str,
        ready: Callable[[], bool] = lambda: True,
        counters: Callable[[], Mapping[str, float]] = dict,
        stall_seconds: float = 120.0,
        host: str | None = None,
        port: int | None = None,
    ) -> None:
        self.role = role
        self.ready = ready
        self.counters = counters
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

    def _respond(self, path: str) -> tuple[int, str]:
        if path == "/healthz":
            return (200, "ok\n") if self.alive() else (503, "stalled\n")
        if path == "/readyz":
            try:
                ready = self.ready()
            except Exception as exc:  # a failing check means not ready, never a crash
                log.info("readiness check failed: %s", exc)
                ready = False
            return (200, "ready\n") if ready else (503, "not ready\n")
        if path == "/metrics":
            return 200, render_metrics({**self.counters(), "up": 1})
        return 404, "not found\n"

    def start(self) -> HealthServer:
        """Start serving if a port is configured; return self."""
        if self.port is None:
            return self
        health = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status, body = health._respond(self.path.split("?", 1)[0])
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
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
