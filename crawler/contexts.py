"""The browser contexts of one crawler: bounded, and closed when their target goes idle.

Every browser target renders in its own Chromium context (``meta['playwright_context']``,
so its cookies are its own). A frontier crawler sees many targets over its lifetime; a
context kept for each would grow without end. :class:`BrowserContexts` is the
bookkeeping :class:`crawler.scheduler.HoldingScheduler` uses to

- admit at most ``RADAR_BROWSER_MAX_CONTEXTS`` contexts at once (default 4): a page of
  another target waits in the scheduler, holding no download slot, until one is closed
  (scrapy-playwright's own ``PLAYWRIGHT_MAX_CONTEXTS`` would make it wait inside the
  download handler, holding a slot: with every slot taken by such waiters, the open
  contexts' next pages could never run);
- close a context once no page of its target is queued, held or in progress in this
  process (the scheduler asks after every finished request), and count only a context
  whose close has finished as closed (a new one is admitted only then);
- close every popup a rendered page opens, at once.

Counted: ``radar/browser/contexts_opened``, ``radar/browser/contexts_closed``,
``radar/browser/contexts_waited`` (pages that waited for a context),
``radar/browser/popups_closed``. The context itself is learnt from its first page
(``playwright_page_init_callback``); a context whose first page was never created
(navigation refused before it) has nothing to close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

CONTEXT_KEY = "playwright_context"


def context_of(request: Any) -> str | None:
    """The browser context a request renders in, or None (not rendered)."""
    if not request.meta.get("playwright"):
        return None
    return str(request.meta.get(CONTEXT_KEY, "default"))


class BrowserContexts:
    """At most ``limit`` contexts admitted at once; ``closed`` is called (on the event
    loop) whenever a close has finished, so the caller can admit the next one."""

    def __init__(self, limit: int, stats: Any, closed: Callable[[], None]) -> None:
        if limit < 1:
            raise ValueError(f"RADAR_BROWSER_MAX_CONTEXTS must be at least 1, not {limit}")
        self.limit = limit
        self.stats = stats
        self.on_closed = closed
        self.admitted: dict[str, Any] = {}  # name -> its BrowserContext once known
        self.closing: set[asyncio.Future[Any]] = set()
        self.closing_names: set[str] = set()  # a page of these waits until the close ends

    def admits(self, name: str) -> bool:
        """Whether a page of context ``name`` may be rendered now: not while that name's
        context is still closing (scrapy-playwright would hand the page the closing
        context), else if it is open or there is room for one more."""
        if name in self.closing_names:
            return False
        return name in self.admitted or len(self.admitted) + len(self.closing) < self.limit

    def admit(self, name: str, request: Any) -> None:
        """Let ``request`` render in ``name`` (opening it if it is new); the page it
        creates reports its context (:meth:`page_created`)."""
        self.admitted.setdefault(name, None)
        request.meta["playwright_page_init_callback"] = self.page_created

    async def page_created(self, page: Any, request: Any) -> None:
        """scrapy-playwright's page init callback, before navigation: remember the
        page's context, and close every popup the page opens."""
        name = context_of(request)
        if name in self.admitted and self.admitted[name] is not page.context:
            self.admitted[name] = page.context
            self.stats.inc_value("radar/browser/contexts_opened")
        page.on("popup", self._close_popup)

    async def _close_popup(self, popup: Any) -> None:
        self.stats.inc_value("radar/browser/popups_closed")
        try:
            await popup.close()
        except Exception as exc:  # closed already (with its opener, say)
            log.debug("popup: %s", exc)

    def close(self, name: str) -> None:
        """Close context ``name`` (its target has no page left here)."""
        context = self.admitted.pop(name, None)
        if context is None:
            return  # never created: nothing open
        done = asyncio.ensure_future(self._close(name, context))
        self.closing.add(done)
        self.closing_names.add(name)
        done.add_done_callback(lambda future: self._finished(future, name))

    async def _close(self, name: str, context: Any) -> None:
        try:
            await context.close()
        except Exception as exc:  # the browser went away: the context with it
            log.debug("context %s: %s", name, exc)
        self.stats.inc_value("radar/browser/contexts_closed")

    def _finished(self, done: asyncio.Future[Any], name: str) -> None:
        self.closing.discard(done)
        self.closing_names.discard(name)
        self.on_closed()

    async def wait_closed(self) -> None:
        """Until every close under way has finished."""
        while self.closing:
            await asyncio.gather(*self.closing, return_exceptions=True)
