"""Running crawls in embedded mode: Scrapy, the in-process bus and the match worker in
one process, with a live progress line and a per-target report at the end.

Each target gets its own crawler (its own stats, so its own report). Crawls are
incremental (the store remembers validators and hashes) and keep evidence for every
image that became a hit (:class:`EvidenceKeeper`). Targets rendered by a browser need
Chromium; without it :func:`run_crawls` raises :class:`crawler.browser.BrowserMissing`
before anything starts.
"""

from __future__ import annotations

import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO

from bus import InProcessBus
from crawler.settings import crawl_settings
from crawler.spider import TargetSpider
from crawler.storage import CrawlStore
from matcher import MatchWorker
from store import CrawlReport, Target
from store.base import HitStore
from store.evidence import Evidence
from store.models import target_url_problem
from wire import HASHES_TOPIC, HashRecord, utc_now

log = logging.getLogger(__name__)

REPORT_KEYS = {
    "pages": "radar/pages",
    "pages_unchanged": "radar/pages_unchanged",
    "images": "radar/images",
    "images_unchanged": "radar/images_unchanged",
    "images_known": "radar/images_known",
    "images_same_sighting": "radar/images_same_sighting",
    "hashed": "radar/hashed",
    "published": "radar/published",
    "cache_hits": "radar/hash_cache_hits",
    "videos_found": "radar/videos_found",
    "videos": "radar/videos",
    "videos_hashed": "radar/videos_hashed",
    "video_frames_hashed": "radar/video_frames_hashed",
    "evidence_kept": "radar/evidence_kept",
    "refused_address": "radar/refused/address",
    "refused_robots": "robotstxt/forbidden",
    "refused_page_limit": "radar/refused/page_limit",
    "retries": "retry/count",
    "gates_passed": "radar/gates/passed",
    "gates_failed": "radar/gates/failed",
}
# Stats whose every key becomes a report count: prefix -> report name prefix.
REPORT_PREFIXES = {
    "radar/refused/": "refused_",
    "radar/hash_errors/": "error:",
    "radar/video_errors/": "video_error:",
    "radar/errors/": "error:",
    "radar/browser/": "browser:",
    "radar/sniffed/": "sniffed:",
    "radar/channel/": "channel:",
    "radar/xml/": "xml:",
    "radar/gates/": "gates_",
    "radar/scheduler/": "scheduler:",
}


@dataclass
class CrawlRun:
    """The outcome of one :func:`run_crawls` call."""

    reports: list[CrawlReport] = field(default_factory=list)
    seconds: float = 0.0
    hits: int = 0
    spiders: list[Any] = field(default_factory=list)  # in the order of the targets; None: not run
    matched: dict[int, dict[str, str]] = field(default_factory=dict)  # target -> label: sha
    failed: dict[int, str] = field(default_factory=dict)  # target id -> why it was not crawled

    @property
    def ok(self) -> bool:
        """Whether every target was crawled (refusals and HTTP errors inside a crawl are
        counted in its report; they do not make a run fail)."""
        return not self.failed


class EvidenceKeeper:
    """Subscribed to the hash topic in place of the match worker: matches each record
    and remembers which sightings became hits, so that the evidence pipeline (which runs
    after the record was published, i.e. matched: the in-process bus is synchronous)
    keeps evidence for exactly those. ``capture`` returns whether it stored anything."""

    def __init__(self, worker: MatchWorker, store: CrawlStore) -> None:
        self.worker = worker
        self.store = store
        self._hits: dict[tuple[str, str, str], list[str]] = {}  # sighting -> case ids
        self.matched: dict[int, dict[str, str]] = {}  # target -> reference label -> sha256

    def __deepcopy__(self, memo: dict[int, object]) -> object:
        return self  # travels in Scrapy's settings, which are deep-copied

    def handle(self, key: str, value: bytes) -> None:
        hits = self.worker.handle(key, value)
        if hits:
            record = HashRecord.from_json(value)
            sighting = (record.image_url, record.fetched_at, record.content_sha256)
            self._hits[sighting] = sorted({hit.case_id for hit in hits})
            labels = self.matched.setdefault(record.target_id, {})
            labels.update({hit.reference_label: record.content_sha256 for hit in hits})

    def capture(self, evidence: Evidence, page_html: str | None, record: HashRecord) -> bool:
        sighting = (evidence.image_url, evidence.fetched_at, evidence.content_sha256)
        cases = self._hits.pop(sighting, None)
        if not cases or evidence.case_id not in cases:
            return False
        self.store.save_evidence(evidence, page_html)
        return True


def report_counts(stats: dict[str, Any], hits: int) -> dict[str, int]:
    """The counters of one target's crawl, from its Scrapy stats."""
    counts = {name: int(stats.get(key, 0)) for name, key in REPORT_KEYS.items()}
    for key, value in stats.items():
        if not isinstance(value, int | float):
            continue
        for prefix, name in REPORT_PREFIXES.items():
            if key.startswith(prefix) and key not in REPORT_KEYS.values():
                counts[name + key.removeprefix(prefix)] = int(value)
        if key.startswith("downloader/response_status_count/") and not key.endswith("/200"):
            counts["http:" + key.rsplit("/", 1)[1]] = int(value)
    if "playwright/page_count" in stats:
        counts["browser:pages_opened"] = int(stats.get("playwright/page_count", 0))
        counts["browser:pages_closed"] = int(stats.get("playwright/page_count/closed", 0))
        counts["browser:max_open_pages"] = int(stats.get("playwright/page_count/max_concurrent", 0))
        counts["browser:aborted_requests"] = int(stats.get("playwright/request_count/aborted", 0))
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
    store: CrawlStore,
    targets: list[Target],
    allowed_networks: tuple[str, ...] = (),
    progress: TextIO | None = sys.stderr,
    log_level: str = "WARNING",
    settings: dict[str, Any] | None = None,
    incremental: bool = True,
    spider_cls: type[TargetSpider] = TargetSpider,
    save_reports: bool = True,
    hits: HitStore | None = None,
) -> CrawlRun:
    """Crawl ``targets`` concurrently, matching as images arrive; save a report per target.

    Blocks until every crawl has finished. Runs a Twisted reactor, so it can be called
    once per process (Scrapy's rule: :mod:`radar.schedule` runs each round in a child
    process). ``settings`` overrides Scrapy settings (tests: short retry delays, a DNS
    stub); ``incremental=False`` ignores what earlier crawls remembered. ``spider_cls``
    and ``save_reports=False`` serve re-checks (:mod:`radar.recheck`). Hits go to
    ``hits`` (the distributed mode's Elasticsearch store, for a re-check of its hits),
    by default to ``store``; the bank, the evidence and the reports stay in ``store``.

    A target whose URL cannot be crawled (a row stored before URLs were checked on the
    way in: a blank in the host, port 99999) is not started: its report ends with
    ``bad_url`` and counts ``error:bad_url``, its spider is None, the run's
    ``failed`` names it, and the other targets are crawled.
    """
    from scrapy.crawler import CrawlerProcess
    from twisted.internet import task

    if any(t.render == "browser" for t in targets):
        from crawler.browser import chromium_path

        chromium_path()  # raises BrowserMissing before anything starts
    bus = InProcessBus()
    worker = MatchWorker(store, store if hits is None else hits)
    keeper = EvidenceKeeper(worker, store)
    bus.subscribe(HASHES_TOPIC, keeper.handle)
    worker.bank  # noqa: B018 - load the bank before the first record arrives
    overrides = dict(settings or {})
    process_settings = {
        "LOG_INSTALL_ROOT_HANDLER": False,
        "LOG_LEVEL": log_level,
        # The resolver is the process's: it needs the opt-in networks (and a test's stub).
        "TWISTED_DNS_RESOLVER": "crawler.resolver.GuardedResolver",
        "RADAR_ALLOWED_NETWORKS": list(allowed_networks),
        **{k: v for k, v in overrides.items() if k.startswith(("RADAR_DNS", "DNS_"))},
    }
    process = CrawlerProcess(process_settings)
    # Scrapy sets its loggers to DEBUG; the progress line and the summary are the user's
    # view, Scrapy's own INFO lines (stats dumps) come only with --verbose.
    for name in ("scrapy", "twisted", "py.warnings", "scrapy-playwright", "asyncio"):
        logging.getLogger(name).setLevel(log_level)
    logging.getLogger("scrapy.core.downloader.handlers.http11").setLevel(logging.ERROR)
    crawlers: list[Any] = []  # None where the target was not started
    started_at = {}
    failed: dict[int, str] = {}
    for target in targets:
        started_at[target.id] = utc_now()
        problem = target_url_problem(target.url)
        if problem:
            log.error("target #%d not crawled: %s", target.id, problem)
            failed[target.id] = problem
            crawlers.append(None)
            continue
        crawler = process.create_crawler(spider_cls)
        crawler.settings.setdict(
            {
                **crawl_settings(
                    bus,
                    allowed_networks,
                    target.obey_robots,
                    log_level=log_level,
                    state=store if incremental else None,
                    evidence=keeper,
                    browser=target.render == "browser",
                ),
                **overrides,
            },
            priority="spider",
        )
        crawlers.append(crawler)
        process.crawl(crawler, target=target, state=store if incremental else None)
    started = time.monotonic()
    running = [crawler for crawler in crawlers if crawler is not None]
    ticker = None
    if progress is not None:
        ticker = task.LoopingCall(_progress, running, worker, started, progress)
        ticker.start(1.0 if progress.isatty() else 5.0, now=False)
    if running:
        process.start()
    if ticker is not None and ticker.running:
        ticker.stop()
    if progress is not None:
        _progress(running, worker, started, progress, final=True)
    run = CrawlRun(
        seconds=time.monotonic() - started,
        hits=worker.stats["hits"],
        spiders=[None if crawler is None else crawler.spider for crawler in crawlers],
        matched=keeper.matched,
        failed=failed,
    )
    for target, crawler in zip(targets, crawlers, strict=True):
        stats = crawler.stats.get_stats() if crawler is not None and crawler.stats else {}
        counts = report_counts(stats, worker.stats[f"hits/target/{target.id}"])
        reason = str(stats.get("finish_reason", "unknown"))
        if target.id in failed:
            counts["error:bad_url"] = 1
            reason = "bad_url"
        report = CrawlReport(
            case_id=target.case_id,
            target_id=target.id,
            started_at=started_at[target.id],
            finished_at=utc_now(),
            finish_reason=reason,
            counts=counts,
        )
        run.reports.append(store.save_crawl_report(report) if save_reports else report)
    return run
