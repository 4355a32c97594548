"""Test helpers: a programmable HTTP server on loopback, and real embedded crawls and
frontier crawls (Kafka replaced by stand-ins) run in a child process (Scrapy starts a
reactor once per process)."""

from __future__ import annotations

import collections
import multiprocessing
import socket
import threading
import time
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self

from crawler.storage import CrawlStore
from store import CrawlReport


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
        store = CrawlStore(db)
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
    store = CrawlStore(db)
    try:
        case_id = store.get_target(target_id).case_id
        return [r for r in store.crawl_reports(case_id) if r.target_id == target_id]
    finally:
        store.close()


@dataclass
class _Record:
    offset: int
    value: bytes


def _frontier_child(
    pages: list[bytes], browser: bool, settings: dict[str, Any], one_at_a_time: bool, out: Any
) -> None:
    try:
        import asyncio

        from kafka.structs import TopicPartition
        from prometheus_client import generate_latest
        from scrapy.crawler import CrawlerProcess
        from scrapy.exceptions import DontCloseSpider

        import crawler.frontier as frontier
        from bus import InProcessBus
        from bus.kafka import KafkaSettings
        from crawler.metrics import CrawlerMetrics
        from crawler.settings import crawl_settings
        from wire import HASHES_TOPIC, HashRecord

        links: list[bytes] = []
        committed: dict[int, int] = {}

        class Links:  # stands in for the KafkaBus links are published on
            def __init__(self, *_: Any) -> None:
                pass

            def send(self, topic: str, key: str, value: bytes) -> Future[None]:
                links.append(value)
                done: Future[None] = Future()
                done.set_result(None)
                return done

            def flush(self) -> None:
                pass

            def close(self) -> None:
                pass

        class Consumer:  # stands in for the consumer offsets are committed on
            def commit(self, offsets: dict[Any, Any]) -> None:
                committed.update({tp.partition: o.offset for tp, o in offsets.items()})

            def close(self) -> None:
                pass

        class Frontier(frontier.FrontierSpider):
            """Records come from ``pages``: one at a time (each once the one before is
            finished) or all at once."""

            async def start(self) -> Any:
                self.consumer, self.all_started = Consumer(), False
                tp = TopicPartition("pages", 0)
                for offset, value in enumerate(pages):
                    while one_at_a_time and self.tracker.pending():
                        await asyncio.sleep(0.05)
                    request = self._request_for(tp, _Record(offset, value))
                    if request is not None:
                        yield request
                self.all_started = True

            def _idle(self, spider: Any) -> None:
                if not getattr(self, "all_started", False) or self.tracker.pending():
                    raise DontCloseSpider

        frontier.KafkaBus = Links  # type: ignore[misc,assignment]
        bus = InProcessBus()
        published: list[tuple[int, str]] = []
        bus.subscribe(
            HASHES_TOPIC,
            lambda key, value: published.append(
                (HashRecord.from_json(value).target_id, HashRecord.from_json(value).image_url)
            ),
        )
        process = CrawlerProcess(
            {**crawl_settings(bus, ("127.0.0.1/32",), browser=browser), **FAST, **settings}
        )
        crawler = process.create_crawler(Frontier)
        metrics = CrawlerMetrics()  # as crawler.service wires it
        metrics.connect(crawler)
        process.crawl(crawler, kafka=KafkaSettings(), lag=metrics.lag)
        process.start()
        stats = {k: v for k, v in crawler.stats.get_stats().items() if isinstance(v, int)}
        exposition = generate_latest(metrics.registry).decode()
        out.put(
            {
                "stats": stats,
                "published": published,
                "links": links,
                "committed": committed,
                "metrics": exposition,
            }
        )
    except BaseException:
        out.put({"error": traceback.format_exc()})
        raise


def frontier_crawl(
    pages: list[Any],
    browser: bool,
    settings: dict[str, Any] | None = None,
    one_at_a_time: bool = True,
) -> dict[str, Any]:
    """A real :class:`crawler.frontier.FrontierSpider` crawl in a child process, with
    Kafka replaced by stand-ins: ``pages`` (``wire.PageRequest``) are its records, links
    it publishes and offsets it commits are kept. Returns ``stats`` (the integer ones),
    ``published`` (target id, image URL of each hash record), ``links`` (JSON),
    ``committed`` (partition -> offset) and ``metrics`` (the Prometheus exposition)."""
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    overrides = {"LOG_LEVEL": "WARNING", **(settings or {})}
    process = ctx.Process(
        target=_frontier_child,
        args=([p.to_json() for p in pages], browser, overrides, one_at_a_time, out),
    )
    process.start()
    result = out.get(timeout=240)
    process.join(30)
    assert "error" not in result, result.get("error")
    return result  # type: ignore[no-any-return]
