"""The crawl's scheduler: Scrapy's, plus requests held until they may run.

A retry that :class:`crawler.backoff.BackoffRetryMiddleware` delayed (back-off or
``Retry-After``) carries its delay in ``meta['radar_retry_delay']``. Scrapy's scheduler
would hand it to the engine at once, and waiting in the downloader would hold one of
``CONCURRENT_REQUESTS`` for the whole delay (a burst of 429s stalled the crawl).
:class:`HoldingScheduler` keeps such a request in its own heap, ordered by the time it
becomes due, and hands it out (:meth:`next_request`) only from then on; every other
request keeps flowing meanwhile. Held requests count as pending (``len``,
``has_pending_requests``), so a spider never closes while a retry waits.

When a held request comes due the scheduler wakes the engine (otherwise the engine asks
again only on its 5 s heartbeat). Counted: ``radar/scheduler/held`` (requests held),
``radar/scheduler/released`` (handed on once due) and, only when the crawl is shut down
before they come due (SIGTERM, a close reason other than ``finished``),
``radar/scheduler/dropped_at_close``: the crawl keeps no job directory, so there is
nowhere to keep them. In the distributed crawler such a page's record is then not
committed and is crawled again by the next owner of its partition.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import time
from typing import Any

from scrapy.core.scheduler import Scheduler
from scrapy.utils.asyncio import CallLaterResult, call_later

from crawler.backoff import DELAY_KEY

log = logging.getLogger(__name__)


class HoldingScheduler(Scheduler):
    """Scrapy's scheduler (priorities, dupefilter, stats) with a time-ordered heap of
    delayed retries. ``next_request`` never blocks: it returns a due held request or
    the next queued one, or None."""

    def open(self, spider: Any) -> Any:
        self._held: list[tuple[float, int, Any]] = []  # (due, sequence, request)
        self._sequence = itertools.count()
        self._timer: CallLaterResult | None = None
        self._timer_due = float("inf")
        return super().open(spider)

    # -- in ---------------------------------------------------------------------------------
    def enqueue_request(self, request: Any) -> bool:
        delay = float(request.meta.pop(DELAY_KEY, 0.0) or 0.0)
        if delay <= 0:
            return super().enqueue_request(request)
        if not request.dont_filter and self.df.request_seen(request):
            self.df.log(request, self.spider)
            return False
        due = time.monotonic() + delay
        heapq.heappush(self._held, (due, next(self._sequence), request))
        assert self.stats is not None
        self.stats.inc_value("scheduler/enqueued/memory")
        self.stats.inc_value("scheduler/enqueued")
        self.stats.inc_value("radar/scheduler/held")
        self._arm()
        return True

    # -- out --------------------------------------------------------------------------------
    def next_request(self) -> Any:
        self._release_due()
        return super().next_request()

    def __len__(self) -> int:
        return super().__len__() + len(self._held)

    def has_pending_requests(self) -> bool:
        return len(self) > 0

    def close(self, reason: str) -> Any:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._held:
            assert self.stats is not None
            self.stats.inc_value("radar/scheduler/dropped_at_close", len(self._held))
            log.warning(
                "crawl closed (%s) with %d delayed retries not yet due: dropped",
                reason,
                len(self._held),
            )
            self._held.clear()
        return super().close(reason)

    # -- the heap -----------------------------------------------------------------------------
    def _release_due(self) -> None:
        """Move every held request whose time has come into Scrapy's queue (by its
        priority), then aim the wake-up at the next one."""
        now = time.monotonic()
        released = 0
        while self._held and self._held[0][0] <= now:
            _, _, request = heapq.heappop(self._held)
            self._mqpush(request)
            released += 1
        if released:
            assert self.stats is not None
            self.stats.inc_value("radar/scheduler/released", released)
        if self._timer_due <= now:
            self._timer, self._timer_due = None, float("inf")
        self._arm()

    def _arm(self) -> None:
        """Make sure the engine is woken when the earliest held request comes due."""
        if not self._held:
            return
        due = self._held[0][0]
        if self._timer is not None and self._timer_due <= due:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer_due = due
        self._timer = call_later(max(due - time.monotonic(), 0.0), self._wake)

    def _wake(self) -> None:
        self._timer, self._timer_due = None, float("inf")
        # The engine's own loop (scrapy.core.engine: _slot.nextcall) runs next_request as
        # soon as it may; there is no public way to ask for it. Without it the engine
        # would only ask on its heartbeat, up to 5 s late.
        slot = getattr(self.crawler.engine, "_slot", None) if self.crawler else None
        if slot is not None:
            slot.nextcall.schedule()
