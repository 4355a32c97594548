"""The crawler's Prometheus metrics (``radar_crawler_*``), in a registry of its own.

Counters come from the Scrapy stats the components already keep (read at scrape time by
:func:`stat_families`, so there is one count, not two): refusals by reason from
``radar/refused/<reason>``, images by outcome, HTTP responses by status, download errors
by exception. Histograms are observed as things happen: ``fetch_seconds`` from Scrapy's
``download_latency`` of every response (pages, images, videos), ``hash_seconds`` from the
hashing pipeline's :data:`IMAGE_HASHED` signal. The frontier consumer's lag is measured
on its own thread (:class:`crawler.frontier.FrontierSpider`) and read here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from prometheus_client import Histogram
from prometheus_client.core import CounterMetricFamily, Metric
from scrapy import signals

from ops.metrics import LATENCY_BUCKETS, ConsumerLag, FamilyCollector, new_registry

# A Scrapy signal (sent by pipelines.hashing.HashPipeline): one image hashed, in ``seconds``.
IMAGE_HASHED = object()

# Stats key -> images_total outcome; every radar/hash_errors/<kind> is outcome "failed".
IMAGE_OUTCOMES = {
    "radar/hashed": "hashed",
    "radar/hash_cache_hits": "cached",
    "radar/hash_skipped_unchanged": "unchanged",
}
REFUSAL_REASONS = ("address", "url_length", "page_limit")  # always exported, from 0


def _label(rest: str) -> str:
    return rest.strip("/").replace("/", "_") or "unknown"


def stat_families(stats: Mapping[str, Any]) -> list[Metric]:
    """The counters of a Scrapy stats dict as metric families (non-numbers are skipped;
    a ``radar/`` key no rule names is ``radar_crawler_events_total{event=...}``)."""

    def family(name: str, doc: str, labels: Iterable[str] = ()) -> CounterMetricFamily:
        return CounterMetricFamily(name, doc, labels=list(labels))

    refusals = family(
        "radar_crawler_refusals", "Requests refused, by reason (address rule, limits).", ["reason"]
    )
    images = family(
        "radar_crawler_images", "Images handled, by outcome (hashed, cached, ...).", ["outcome"]
    )
    hash_errors = family("radar_crawler_hash_errors", "Images not hashed, by kind.", ["kind"])
    errors = family("radar_crawler_errors", "Pages and videos that failed, by kind.", ["kind"])
    responses = family("radar_crawler_responses", "HTTP responses, by status.", ["status"])
    download_errors = family(
        "radar_crawler_download_errors", "Downloads failed, by exception.", ["exception"]
    )
    events = family("radar_crawler_events", "Other crawler counts, by event.", ["event"])
    simple = {
        "radar/pages": family("radar_crawler_pages", "Pages fetched and parsed."),
        "radar/images_found": family("radar_crawler_images_found", "Image references found."),
        "radar/published": family("radar_crawler_published", "Hash records published."),
        "downloader/response_bytes": family(
            "radar_crawler_response_bytes", "Bytes of HTTP responses received."
        ),
    }
    refused: dict[str, float] = dict.fromkeys(REFUSAL_REASONS, 0.0)
    outcomes: dict[str, float] = dict.fromkeys([*IMAGE_OUTCOMES.values(), "failed"], 0.0)
    for key, value in sorted(stats.items()):
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if key in simple:
            simple[key].add_metric([], value)
        elif key.startswith("radar/refused/"):
            reason = _label(key.removeprefix("radar/refused/"))
            refused[reason] = refused.get(reason, 0.0) + value
        elif key in IMAGE_OUTCOMES:
            outcomes[IMAGE_OUTCOMES[key]] += value
        elif key.startswith("radar/hash_errors/"):
            outcomes["failed"] += value
            hash_errors.add_metric([_label(key.removeprefix("radar/hash_errors/"))], value)
        elif key.startswith("radar/errors/"):
            errors.add_metric([_label(key.removeprefix("radar/errors/"))], value)
        elif key.startswith("downloader/response_status_count/"):
            responses.add_metric([key.rsplit("/", 1)[1]], value)
        elif key.startswith("downloader/exception_type_count/"):
            download_errors.add_metric([key.rsplit("/", 1)[1].rsplit(".", 1)[-1]], value)
        elif key.startswith("radar/"):
            events.add_metric([_label(key.removeprefix("radar/"))], value)
    for reason, value in sorted(refused.items()):
        refusals.add_metric([reason], value)
    for outcome, value in outcomes.items():
        images.add_metric([outcome], value)
    return [
        refusals,
        images,
        hash_errors,
        errors,
        responses,
        download_errors,
        events,
        *simple.values(),
    ]


class CrawlerMetrics:
    """The crawler role's registry. :meth:`connect` ties it to a Scrapy crawler (its
    stats and signals) and ``lag`` to a consumer's measurements."""

    def __init__(self) -> None:
        self.registry = r = new_registry()
        self.fetch_seconds = Histogram(
            "radar_crawler_fetch_seconds",
            "Download latency of a request (page, image or video), from Scrapy.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.hash_seconds = Histogram(
            "radar_crawler_hash_seconds",
            "Time to decode and hash one image.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.lag = ConsumerLag("radar_crawler_consumer_lag_records")
        self._stats: Callable[[], Mapping[str, Any]] = dict
        r.register(FamilyCollector(lambda: stat_families(self._stats())))
        r.register(FamilyCollector(lambda: self.lag.families()))

    def connect(self, crawler: Any) -> None:
        """Read ``crawler``'s stats at scrape time and observe its responses and hashes."""
        self._stats = lambda: dict(crawler.stats.get_stats()) if crawler.stats else {}
        crawler.signals.connect(self.response_received, signal=signals.response_received)
        crawler.signals.connect(self.image_hashed, signal=IMAGE_HASHED)

    def response_received(self, response: Any, request: Any, spider: Any, **_: Any) -> None:
        latency = request.meta.get("download_latency")
        if isinstance(latency, int | float) and not isinstance(latency, bool):
            self.fetch_seconds.observe(max(0.0, latency))

    def image_hashed(self, seconds: float, **_: Any) -> None:
        self.hash_seconds.observe(max(0.0, seconds))
