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
from collections import Counter, OrderedDict, deque
from typing import Any

from scrapy.core.scheduler import Scheduler
from scrapy.utils.asyncio import CallLaterResult, call_later
from scrapy.utils.defer import deferred_from_coro, maybe_deferred_to_future

from crawler.backoff import DELAY_KEY
from crawler.contexts import BrowserContexts, context_of

log = logging.getLogger(__name__)


class HoldingScheduler(Scheduler):
    """Scrapy's scheduler (priorities, dupefilter, stats) with a time-ordered heap of
    delayed retries and, in a crawl with a browser (``RADAR_BROWSER_MAX_CONTEXTS``
    set), the pages waiting for a browser context (:mod:`crawler.contexts`).
    ``next_request`` never blocks: it returns a due held request, a page whose context
    was just admitted, or the next queued request, or None."""

    def open(self, spider: Any) -> Any:
        self._held: list[tuple[float, int, Any]] = []  # (due, sequence, request)
        self._sequence = itertools.count()
        self._timer: CallLaterResult | None = None
        self._timer_due = float("inf")
        limit = self.crawler.settings.getint("RADAR_BROWSER_MAX_CONTEXTS", 0) if self.crawler else 0
        self.contexts = BrowserContexts(limit, self.stats, self._nudge) if limit else None
        self._queued: Counter[str] = Counter()  # context -> its requests queued or held here
        self._waiting: OrderedDict[str, list[Any]] = OrderedDict()  # for a context, in order
        self._ready: deque[Any] = deque()  # admitted to their context, not yet handed out
        return super().open(spider)

    # -- in ---------------------------------------------------------------------------------
    def enqueue_request(self, request: Any) -> bool:
        accepted = self._enqueue(request)
        name = context_of(request) if self.contexts is not None else None
        if accepted and name is not None:
            self._queued[name] += 1
        return accepted

    def _enqueue(self, request: Any) -> bool:
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
        if self.contexts is None:
            return super().next_request()
        self._close_idle_contexts()
        self._admit_waiting()
        if self._ready:
            return self._ready.popleft()
        while (request := super().next_request()) is not None:
            name = context_of(request)
            if name is None:
                return request
            self._queued[name] -= 1
            if self.contexts.admits(name):
                self.contexts.admit(name, request)
                return request
            self._waiting.setdefault(name, []).append(request)
            assert self.stats is not None
            self.stats.inc_value("radar/browser/contexts_waited")
        return None

    def __len__(self) -> int:
        waiting = sum(len(requests) for requests in self._waiting.values())
        return super().__len__() + len(self._held) + waiting + len(self._ready)

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
        waiting = sum(len(requests) for requests in self._waiting.values()) + len(self._ready)
        if waiting:
            assert self.stats is not None
            self.stats.inc_value("radar/scheduler/dropped_at_close", waiting)
            log.warning("crawl closed (%s) with %d pages waiting for a browser", reason, waiting)
            self._waiting.clear()
            self._ready.clear()
        closed = super().close(reason)
        if self.contexts is None or not self.contexts.closing:
            return closed
        return deferred_from_coro(self._contexts_closed(closed))

    async def _contexts_closed(self, closed: Any) -> None:
        if closed is not None:
            await maybe_deferred_to_future(closed)
        assert self.contexts is not None
        await self.contexts.wait_closed()

    # -- browser contexts ---------------------------------------------------------------------
    def _close_idle_contexts(self) -> None:
        """Close each admitted context none of whose pages is queued, held, waiting,
        ready or in progress."""
        assert self.contexts is not None
        busy = {context_of(r) for r in self._in_progress()} | {context_of(r) for r in self._ready}
        for name in list(self.contexts.admitted):
            if not self._queued[name] and name not in busy and name not in self._waiting:
                del self._queued[name]
                self.contexts.close(name)

    def _admit_waiting(self) -> None:
        """Hand the pages of the longest-waiting contexts on, while contexts are free."""
        assert self.contexts is not None
        while self._waiting:
            name = next(iter(self._waiting))
            if not self.contexts.admits(name):
                return
            for request in self._waiting.pop(name):
                self.contexts.admit(name, request)
                self._ready.append(request)

    def _in_progress(self) -> set[Any]:
        """The requests the engine has taken from here and not yet finished (downloaded
        and their callbacks' output scheduled). Scrapy keeps them in its engine's slot
        (``_slot.inprogress``), which has no public name."""
        slot = getattr(self.crawler.engine, "_slot", None) if self.crawler else None
        return set(slot.inprogress) if slot is not None else set()

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
        self._nudge()

    def _nudge(self) -> None:
        # The engine's own loop (scrapy.core.engine: _slot.nextcall) runs next_request as
        # soon as it may; there is no public way to ask for it. Without it the engine
        # would only ask on its heartbeat, up to 5 s late. Also called when a browser
        # context has closed (a waiting page may go now).
        slot = getattr(self.crawler.engine, "_slot", None) if self.crawler else None
        if slot is not None:
            slot.nextcall.schedule()
