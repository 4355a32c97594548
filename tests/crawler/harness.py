"""Test helpers: a programmable HTTP server on loopback, and real embedded crawls run in
a child process (Scrapy starts a reactor once per process)."""

from __future__ import annotations

import collections
import multiprocessing
import socket
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from store import CrawlReport, SqlStore


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = "text/html; charset=utf-8"


Route = Reply | Callable[[str, dict[str, str]], Reply]


class FixtureServer:
    """Serves ``routes`` (path with query -> Reply, or a function of (path, request
    headers) -> Reply; ``prefix:`` keys match by prefix) on ``host``, port 0. Counts
    every request in ``requests`` and logs each answer in ``answered`` as
    ``(time.monotonic() when sent, path, status)``. An IPv6 ``host`` (``::1``) listens
    on IPv6 only."""

    def __init__(self, routes: dict[str, Route], host: str = "127.0.0.1") -> None:
        self.routes = routes
        self.host = host
        self.requests: collections.Counter[str] = collections.Counter()
        self.headers_seen: list[tuple[str, dict[str, str]]] = []
        self.answered: list[tuple[float, str, int]] = []
        self._httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._httpd is not None
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self._httpd.server_address[1]}"

    def _reply(self, path: str, headers: dict[str, str]) -> Reply:
        route = self.routes.get(path)
        if route is None:
            for key, value in self.routes.items():
                if key.startswith("prefix:") and path.startswith(key[7:]):
                    route = value
                    break
        if route is None:
            return Reply(404, b"not found\n", content_type="text/plain")
        return route(path, headers) if callable(route) else route

    def start(self) -> Self:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                server.requests[self.path] += 1
                server.headers_seen.append((self.path, headers))
                reply = server._reply(self.path, headers)
                self.send_response(reply.status)
                self.send_header("Content-Type", reply.content_type)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                server.answered.append((time.monotonic(), self.path, reply.status))

            def log_message(self, *args: Any) -> None:
                pass

        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server_class = type("Server", (ThreadingHTTPServer,), {"address_family": family})
        self._httpd = server_class((self.host, 0), Handler)
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _child(
    db: str,
    target_ids: list[int],
    allowed: tuple[str, ...],
    settings: dict[str, Any],
    errors: Any,
) -> None:
    try:
        import logging

        from radar.crawl import run_crawls

        # Log to stderr as `radar crawl` does (tests read it with capfd).
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
        store = SqlStore(db)
        targets = [store.get_target(t) for t in target_ids]
        run_crawls(store, targets, allowed, progress=None, settings=settings)
    except BaseException:
        errors.put(traceback.format_exc())
        raise


FAST = {"RADAR_RETRY_BASE_DELAY": 0.05, "RADAR_RETRY_MAX_DELAY": 0.2, "DOWNLOAD_TIMEOUT": 10}


def crawl(
    db: Path,
    target_ids: list[int],
    allowed: tuple[str, ...] = ("127.0.0.1/32",),
    settings: dict[str, Any] | None = None,
    timeout: float = 240.0,
) -> list[CrawlReport]:
    """Crawl the targets in a child process, as ``radar crawl`` does; return the new
    reports (one per target). Fails with the child's traceback if it failed."""
    ctx = multiprocessing.get_context("spawn")
    errors = ctx.Queue()
    before = {r.id for t in target_ids for r in _reports(db, t)}
    process = ctx.Process(
        target=_child, args=(str(db), target_ids, allowed, {**FAST, **(settings or {})}, errors)
    )
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        raise AssertionError(f"crawl did not finish in {timeout}s")
    if process.exitcode != 0:
        raise AssertionError(errors.get(timeout=5) if not errors.empty() else "crawl failed")
    return [r for t in target_ids for r in _reports(db, t) if r.id not in before]


def _reports(db: Path, target_id: int) -> list[CrawlReport]:
    store = SqlStore(db)
    try:
        case_id = store.get_target(target_id).case_id
        return [r for r in store.crawl_reports(case_id) if r.target_id == target_id]
    finally:
        store.close()
