"""Browser contexts are bounded and closed when their target goes idle: a real
:class:`crawler.frontier.FrontierSpider` crawl (Kafka replaced by stand-ins) of three
browser targets whose seed pages arrive at once, rendered by Chromium with
``RADAR_BROWSER_MAX_CONTEXTS`` 1 or 2, against a loopback site whose pages open a popup."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crawler.harness import FixtureServer, Reply, frontier_crawl
from tests.crawler.test_hostile import html, jpeg
from tests.crawler.test_places import chromium  # noqa: F401 - the fixture
from wire import PageRequest

TARGETS = (1, 2, 3)


@pytest.mark.usefixtures("chromium")
@pytest.mark.parametrize("bound", [1, 2])
def test_contexts_are_bounded_closed_when_idle_and_popups_closed(
    bound: int, kodak: list[Path]
) -> None:
    routes: dict[str, Reply] = {"/popup": Reply(body=html("an advert"))}
    for n in TARGETS:
        page = f'<img src="/t{n}/a.jpg"><img src="/t{n}/b.jpg">'
        page += "<script>window.open('/popup', '_blank');</script>"
        routes[f"/t{n}/"] = Reply(body=html(page))
        for name, photo in (("a", kodak[2 * n]), ("b", kodak[2 * n + 1])):
            routes[f"/t{n}/{name}.jpg"] = Reply(body=jpeg(photo), content_type="image/jpeg")
    with FixtureServer(routes) as site:
        seeds = [
            PageRequest(
                url=f"{site.url}/t{n}/",
                case_id="c1",
                target_id=n,
                depth=0,
                max_depth=0,
                max_pages=10,
                allowed_domains=("127.0.0.1",),
                crawl_id=f"{n}@now",
                render="browser",
            )
            for n in TARGETS
        ]
        result = frontier_crawl(
            seeds,
            browser=True,
            settings={"RADAR_BROWSER_MAX_CONTEXTS": bound},
            one_at_a_time=False,
        )
    stats = result["stats"]
    # scrapy-playwright's own count: one context per target, never more than the bound
    # open at once; the pages of the others waited in the scheduler meanwhile.
    assert stats["playwright/context_count"] == len(TARGETS)
    assert stats["playwright/context_count/max_concurrent"] == bound
    assert stats["radar/browser/contexts_waited"] == len(TARGETS) - bound
    # Each was closed by the crawler once its target's page was done (so the next
    # target could open one), not left for the browser's shutdown.
    assert stats["radar/browser/contexts_opened"] == len(TARGETS)
    assert stats["radar/browser/contexts_closed"] == len(TARGETS)
    assert stats["radar/browser/popups_closed"] == len(TARGETS)
    # Every target's page was rendered and its images hashed; every record committed.
    assert stats["radar/browser/pages"] == len(TARGETS)
    assert sorted({t for t, _ in result["published"]}) == list(TARGETS)
    assert len(result["published"]) == 2 * len(TARGETS)
    assert result["committed"] == {0: len(TARGETS)}


def test_a_context_that_is_closing_admits_no_page_until_its_close_ends() -> None:
    """A page of a target whose context is still closing waits (scrapy-playwright would
    give it the closing context); once the close ends it may open a fresh one."""
    import asyncio
    from collections import Counter

    from crawler.contexts import BrowserContexts

    class Stats:
        def __init__(self) -> None:
            self.values: Counter[str] = Counter()

        def inc_value(self, key: str, n: int = 1) -> None:
            self.values[key] += n

    class Context:
        def __init__(self) -> None:
            self.release = asyncio.Event()

        async def close(self) -> None:
            await self.release.wait()

    class Page:
        def __init__(self, context: Context) -> None:
            self.context = context

        def on(self, event: str, handler: object) -> None:
            pass

    class Request:
        def __init__(self) -> None:
            self.meta = {"playwright": True, "playwright_context": "a"}

    async def scenario() -> None:
        woken: list[bool] = []
        contexts = BrowserContexts(2, Stats(), closed=lambda: woken.append(True))
        context = Context()
        contexts.admit("a", Request())
        await contexts.page_created(Page(context), Request())
        contexts.close("a")
        await asyncio.sleep(0)
        assert not contexts.admits("a") and contexts.admits("b")
        context.release.set()
        await contexts.wait_closed()
        assert contexts.admits("a") and woken == [True]

    asyncio.run(scenario())
