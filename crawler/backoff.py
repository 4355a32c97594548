"""Retries with exponential back-off, replacing Scrapy's immediate retries.

Scrapy's ``RetryMiddleware`` re-schedules a failed request at once, which hammers a site
that is struggling and gives a flaky one no time to recover. :class:`BackoffRetryMiddleware`
keeps Scrapy's rules (which statuses and exceptions are retried, ``RETRY_TIMES``) and adds
a delay before each new attempt: ``RADAR_RETRY_BASE_DELAY * 2**attempt`` with +-25 %
jitter, at most ``RADAR_RETRY_MAX_DELAY``, or the server's ``Retry-After`` (seconds) when
it asks for longer, still capped. The delay travels in ``meta['radar_retry_delay']``;
:class:`crawler.scheduler.HoldingScheduler` holds the retry until it is due, so a waiting
retry takes no download slot and other requests keep flowing. Every retry is counted
(Scrapy's ``retry/*`` stats).
"""

from __future__ import annotations

import random
from typing import Any
from urllib.parse import urlsplit

from scrapy.downloadermiddlewares.retry import RetryMiddleware

from crawler.resolver import refusal

DELAY_KEY = "radar_retry_delay"


def backoff_delay(attempt: int, base: float, cap: float, retry_after: str | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
    delay = base * 2 ** max(attempt - 1, 0) * random.uniform(0.75, 1.25)
    if retry_after and retry_after.strip().isdigit():
        delay = max(delay, float(retry_after.strip()))
    return min(delay, cap)


class BackoffRetryMiddleware(RetryMiddleware):
    def __init__(self, settings: Any) -> None:
        super().__init__(settings)
        self.base = settings.getfloat("RADAR_RETRY_BASE_DELAY", 1.0)
        self.cap = settings.getfloat("RADAR_RETRY_MAX_DELAY", 30.0)

    def _delayed(self, retry: Any, retry_after: str | None = None) -> Any:
        if retry is not None:
            attempt = retry.meta.get("retry_times", 1)
            retry.meta[DELAY_KEY] = backoff_delay(attempt, self.base, self.cap, retry_after)
        return retry

    def process_response(self, request: Any, response: Any, spider: Any = None) -> Any:
        if request.meta.get("dont_retry", False) or response.status not in self.retry_http_codes:
            return response
        raw = response.headers.get("Retry-After")
        retry = self._retry(request, f"HTTP {response.status}")
        return self._delayed(retry, raw.decode("latin-1") if raw else None) or response

    def process_exception(self, request: Any, exception: Exception, spider: Any = None) -> Any:
        if refusal(urlsplit(request.url).hostname):
            return None  # the resolver refused the address: a refusal, not a failure
        if isinstance(exception, self.exceptions_to_retry) and not request.meta.get(
            "dont_retry", False
        ):
            return self._delayed(self._retry(request, exception))
        return None
