"""Scrapy settings for crawling one target: politeness, limits and the radar components."""

from __future__ import annotations

from typing import Any

USER_AGENT = "ReuploadRadar/0.1 (re-upload monitor; fetches images to hash them, keeps none)"


def crawl_settings(
    bus: Any,
    allowed_networks: tuple[str, ...] = (),
    obey_robots: bool = True,
    max_image_bytes: int = 32 * 1024 * 1024,
    log_level: str = "WARNING",
    state: Any = None,
    evidence: Any = None,
    browser: bool = False,
) -> dict[str, Any]:
    """Settings for a crawler that publishes hash records on ``bus``. ``obey_robots``
    False switches robots.txt off for the whole crawler; a single page can also opt out
    (``dont_obey_robotstxt``, set from its target). ``state`` (a crawl-state store) makes
    the crawl incremental; ``evidence`` receives each image's evidence
    (:mod:`pipelines.evidence`); ``browser`` adds Chromium for ``render="browser"``
    pages (:func:`crawler.browser.browser_settings`, raises BrowserMissing)."""
    settings = {
        "BOT_NAME": "reupload-radar",
        "USER_AGENT": USER_AGENT,
        "ROBOTSTXT_OBEY": obey_robots,
        # Politeness: AutoThrottle adapts the delay to each site's latency; the per-domain
        # cap holds even when it would go faster.
        "AUTOTHROTTLE_ENABLED": True,
        "AUTOTHROTTLE_START_DELAY": 0.25,
        "AUTOTHROTTLE_MAX_DELAY": 30.0,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": 2.0,
        "CONCURRENT_REQUESTS": 16,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 4,
        "DOWNLOAD_TIMEOUT": 30,
        "DNS_TIMEOUT": 15,
        # Every name is resolved once, checked, and connected to as checked.
        "TWISTED_DNS_RESOLVER": "crawler.resolver.GuardedResolver",
        # Retries wait out their back-off in the scheduler, holding no download slot.
        "SCHEDULER": "crawler.scheduler.HoldingScheduler",
        "RETRY_TIMES": 2,
        "RADAR_RETRY_BASE_DELAY": 1.0,
        "RADAR_RETRY_MAX_DELAY": 30.0,
        "DOWNLOAD_MAXSIZE": max_image_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "URLLENGTH_LIMIT": 2083,
        "REDIRECT_MAX_TIMES": 10,
        # Depth and page limits are the spider's (they apply to pages, not to images).
        "DEPTH_LIMIT": 0,
        # Cookies only in the jar of a target that passes gates (crawler.spider.cookie_meta).
        "COOKIES_ENABLED": True,
        # Never through a proxy: it would resolve names the address rule never sees
        # (crawler/guard.py refuses to start if this is switched on).
        "HTTPPROXY_ENABLED": False,
        # Bodies are never persisted: no HTTP cache, no job directory.
        "HTTPCACHE_ENABLED": False,
        "TELNETCONSOLE_ENABLED": False,
        "LOG_LEVEL": log_level,
        "DOWNLOADER_MIDDLEWARES": {
            "crawler.guard.AddressGuardMiddleware": 40,
            "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
            "crawler.backoff.BackoffRetryMiddleware": 550,
        },
        "EXTENSIONS": {"crawler.browser.BrowserNetwork": 0},
        "ITEM_PIPELINES": {
            "pipelines.hashing.HashPipeline": 100,
            "pipelines.video.VideoHashPipeline": 110,
            "pipelines.publish.PublishPipeline": 200,
            "pipelines.evidence.EvidencePipeline": 300,
        },
        "RADAR_BUS": bus,
        "RADAR_ALLOWED_NETWORKS": list(allowed_networks),
        "RADAR_MAX_IMAGE_BYTES": max_image_bytes,
        "RADAR_STATE_STORE": state,
        "RADAR_EVIDENCE_SINK": evidence,
    }
    if browser:
        from crawler.browser import browser_settings

        settings.update(browser_settings())
    return settings
