"""Running crawls in embedded mode: Scrapy, the in-process bus and the match worker in
one process, with a live progress line and a per-target report at the end."""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from bus import InProcessBus
from crawler.settings import crawl_settings
from crawler.spider import TargetSpider
from matcher import MatchWorker
from store import CrawlReport, SqliteStore, Target
from wire import HASHES_TOPIC, utc_now

log = logging.getLogger(__name__)

REPORT_KEYS = {
    "pages": "radar/pages",
    "images": "radar/images",
    "hashed": "radar/hashed",
    "published": "radar/published",
    "cache_hits": "radar/hash_cache_hits",
    "refused_address": "radar/refused/address",
    "refused_robots": "robotstxt/forbidden",
    "refused_page_limit": "radar/refused/page_limit",
}


@dataclass
class CrawlRun:
    """The outcome of one :func:`run_crawls` call."""

    reports: list[CrawlReport] = field(default_factory=list)
    seconds: float = 0.0
    hits: int = 0


def _counts(stats: dict[str, Any], hits: int) -> dict[str, int]:
    counts = {name: int(stats.get(key, 0)) for name, key in REPORT_KEYS.items()}
    for key, value in stats.items():
        for prefix in ("radar/hash_errors/", "radar/errors/"):
            if key.startswith(prefix):
                counts["error:" + key.removeprefix(prefix)] = int(value)
        if key.startswith("downloader/response_status_count/") and not key.endswith("/200"):
            counts["http:" + key.rsplit("/", 1)[1]] = int(value)
    counts["hits"] = hits
    return counts


def _progress(
    crawlers: list[Any], worker: MatchWorker, started: float, out: TextIO, final: bool = False
) -> None:
    total = {"pages": 0, "images": 0, "hashed": 0}
    for crawler in crawlers:
        stats = crawler.stats.get_stats() if crawler.stats else {}
        for name in total:
            total[name] += int(stats.get(REPORT_KEYS[name], 0))
    elapsed = max(time.monotonic() - started, 1e-6)
    line = (
        f"pages {total['pages']}  images {total['images']}  hashed {total['hashed']}  "
        f"hits {worker.stats['hits']}  {total['images'] / elapsed:.1f} img/s  "
        f"{elapsed:.0f}s"
    )
    if out.isatty():
        out.write("\r\033[K" + line + ("\n" if final else ""))
    else:
        out.write(line + "\n")
    out.flush()


def run_crawls(
    store: SqliteStore,
    targets: list[Target],
    allowed_networks: tuple[str, ...] = (),
    progress: TextIO | None = sys.stderr,
    log_level: str = "WARNING",
) -> CrawlRun:
    """Crawl ``targets`` concurrently, matching as images arrive; save a report per target.

    Blocks until every crawl has finished. Runs a Twisted reactor, so it can be called
    once per process (Scrapy's rule).
    """
    from scrapy.crawler import CrawlerProcess
    from twisted.internet import task

    bus = InProcessBus()
    worker = MatchWorker(store, store)
    bus.subscribe(HASHES_TOPIC, worker.handle)
    worker.bank  # noqa: B018 - load the bank before the first record arrives
    process = CrawlerProcess({"LOG_INSTALL_ROOT_HANDLER": False, "LOG_LEVEL": log_level})
    # Scrapy sets its loggers to DEBUG; the progress line and the summary are the user's
    # view, Scrapy's own INFO lines (stats dumps) come only with --verbose.
    for name in ("scrapy", "twisted", "py.warnings"):
        logging.getLogger(name).setLevel(log_level)
    crawlers = []
    started_at = {}
    for target in targets:
        crawler = process.create_crawler(TargetSpider)
        crawler.settings.setdict(
            crawl_settings(bus, allowed_networks, target.obey_robots, log_level=log_level),
            priority="spider",
        )
        crawlers.append(crawler)
        started_at[target.id] = utc_now()
        process.crawl(crawler, target=target)
    started = time.monotonic()
    ticker = None
    if progress is not None:
        ticker = task.LoopingCall(_progress, crawlers, worker, started, progress)
        ticker.start(1.0 if progress.isatty() else 5.0, now=False)
    process.start()
    if ticker is not None and ticker.running:
        ticker.stop()
    if progress is not None:
        _progress(crawlers, worker, started, progress, final=True)
    run = CrawlRun(seconds=time.monotonic() - started, hits=worker.stats["hits"])
    for target, crawler in zip(targets, crawlers, strict=True):
        stats = crawler.stats.get_stats() if crawler.stats else {}
        report = CrawlReport(
            case_id=target.case_id,
            target_id=target.id,
            started_at=started_at[target.id],
            finished_at=utc_now(),
            finish_reason=str(stats.get("finish_reason", "unknown")),
            counts=_counts(stats, worker.stats[f"hits/target/{target.id}"]),
        )
        run.reports.append(store.save_crawl_report(report))
    return run
