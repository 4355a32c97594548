"""Rendering JavaScript pages with Chromium through scrapy-playwright.

Targets with ``render="browser"`` get their *pages* rendered by Debian's Chromium
(``/usr/bin/chromium``, or ``RADAR_CHROMIUM``; Playwright's downloaded browsers are never
used). The browser only renders: image files are aborted inside it and fetched by Scrapy
from the rendered HTML, so throttling, size caps, the address rule and hashing stay in one
place. After the page loads, :func:`scroll_for_images` scrolls and presses "load more"
buttons until no new image appears (bounded in rounds, time and images).

Safety: every connection the browser makes goes through :class:`crawler.proxy.GuardedProxy`
(started by :class:`BrowserNetwork`, an extension); Chromium cannot resolve names itself.
Pages are always closed by scrapy-playwright (the page is never handed to a callback),
also when navigation or scrolling fails; ``RADAR_BROWSER_MAX_PAGES`` caps the pages
open at once (default 2: this is a 2-core machine's browser), across all targets: every
rendered page goes through one download slot (:data:`BROWSER_SLOT`). Each target has its
own browser context (``playwright_context``), so cookies, such as those set by answering
an age gate (:func:`pass_gate`), stay the target's. ``RADAR_BROWSER_MAX_CONTEXTS``
(default 4) bounds the contexts open at once; a context is closed as soon as its target
has no page left in this crawler, and popups are closed as they open
(:mod:`crawler.contexts`, applied by the scheduler).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy import signals
from scrapy.exceptions import NotConfigured

from crawler.addresses import parse_networks
from crawler.extract import MAX_IMAGES, extract_images
from crawler.gates import answers, asks, own_host
from crawler.proxy import GuardedProxy, bind_loopback
from crawler.resolver import stub_lookup, system_lookup

log = logging.getLogger(__name__)

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-features=MediaRouter,OptimizationHints,Translate",
    # Names are resolved by the proxy only; the browser itself resolves nothing.
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
)
# Resource types the browser does not fetch: images are fetched by Scrapy, the rest is
# not needed to find them.
ABORTED_RESOURCES = frozenset(("image", "media", "font", "imageset", "texttrack", "manifest"))
_LOAD_MORE = re.compile(
    r"^\s*((load|show|see|view)\s+more|more\s+(photos|images|posts|videos)|next\s+page)\b", re.I
)
_SOCKETS: dict[int, socket.socket] = {}  # proxy sockets bound for settings, by port
BROWSER_SLOT = "radar-browser"  # the download slot of every rendered page


class BrowserMissing(RuntimeError):
    """Chromium is not installed where the crawler looks for it."""


def chromium_path() -> str:
    """The Chromium executable to launch; raise :class:`BrowserMissing` if it is absent."""
    path = os.environ.get("RADAR_CHROMIUM", DEFAULT_CHROMIUM)
    if not (Path(path).is_file() and os.access(path, os.X_OK)):
        raise BrowserMissing(
            f"Chromium not found at {path}: install Debian's package (apt-get install -y "
            "chromium) or set RADAR_CHROMIUM; browser targets need it"
        )
    return path


def browser_settings(
    max_pages: int = 2, navigation_timeout: float = 30.0, max_contexts: int = 4
) -> dict[str, Any]:
    """Scrapy settings that route ``meta['playwright']`` requests to Chromium. Binds the
    browser's proxy socket now (its port goes into the launch options); the
    :class:`BrowserNetwork` extension serves it while the crawl runs."""
    sock = bind_loopback()
    port = sock.getsockname()[1]
    _SOCKETS[port] = sock
    handler = "scrapy_playwright.handler.ScrapyPlaywrightDownloadHandler"
    return {
        "DOWNLOAD_HANDLERS": {"http": handler, "https": handler},
        "PLAYWRIGHT_BROWSER_TYPE": "chromium",
        "PLAYWRIGHT_LAUNCH_OPTIONS": {
            "executable_path": chromium_path(),
            "headless": True,
            "args": list(CHROMIUM_ARGS),
            "proxy": {"server": f"http://127.0.0.1:{port}"},
            "timeout": 60_000,
        },
        # One context per target (its cookies are its own). scrapy-playwright's own cap
        # would make a page wait for a context inside the download handler, holding a
        # download slot; the scheduler caps them instead (RADAR_BROWSER_MAX_CONTEXTS,
        # crawler/contexts.py) and closes each once its target is idle. The pages open
        # at once are capped by the one download slot every rendered page goes through.
        "PLAYWRIGHT_MAX_CONTEXTS": 0,
        "RADAR_BROWSER_MAX_CONTEXTS": max_contexts,
        "PLAYWRIGHT_MAX_PAGES_PER_CONTEXT": max_pages,
        "DOWNLOAD_SLOTS": {BROWSER_SLOT: {"concurrency": max_pages}},
        "PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT": navigation_timeout * 1000,
        "PLAYWRIGHT_ABORT_REQUEST": "crawler.browser.abort_request",
        "RADAR_BROWSER_PROXY_PORT": port,
        "RADAR_BROWSER_MAX_PAGES": max_pages,
    }


def abort_request(request: Any) -> bool:
    """scrapy-playwright's abort predicate: no images, media or fonts in the browser."""
    return str(request.resource_type) in ABORTED_RESOURCES


class BrowserNetwork:
    """Extension: serves the browser's guarded proxy for the crawl's lifetime.
    Switched off (NotConfigured) in crawls without browser targets."""

    def __init__(self, proxy: GuardedProxy) -> None:
        self.proxy = proxy

    @classmethod
    def from_crawler(cls, crawler: Any) -> BrowserNetwork:
        port = crawler.settings.getint("RADAR_BROWSER_PROXY_PORT")
        if not port or port not in _SOCKETS:
            raise NotConfigured  # no browser in this crawl (quietly: no message to log)
        stub = crawler.settings.getdict("RADAR_DNS_STUB")
        proxy = GuardedProxy(
            _SOCKETS.pop(port),
            parse_networks(crawler.settings.getlist("RADAR_ALLOWED_NETWORKS")),
            crawler.stats,
            lookup=stub_lookup(stub) if stub else system_lookup,
            timeout=crawler.settings.getfloat("DOWNLOAD_TIMEOUT", 30.0),
        )
        extension = cls(proxy)
        crawler.signals.connect(extension.engine_started, signal=signals.engine_started)
        crawler.signals.connect(extension.spider_closed, signal=signals.spider_closed)
        return extension

    async def engine_started(self) -> None:
        await self.proxy.start()

    async def spider_closed(self, spider: Any) -> None:
        await self.proxy.stop()


async def scroll_for_images(
    page: Any,
    max_rounds: int = 30,
    patience: int = 2,
    settle_seconds: float = 0.5,
    max_seconds: float = 60.0,
    max_images: int = MAX_IMAGES,
) -> dict[str, Any]:
    """Scroll to the bottom and press "load more" until ``patience`` rounds in a row
    bring no new image, or a bound is hit. Returns ``{"rounds", "images", "clicks",
    "stopped"}`` where ``stopped`` is ``no_new_images``, ``max_rounds``, ``max_seconds``
    or ``max_images``. Uses real input events (wheel, keyboard, clicks), so a page cannot
    fake them by replacing ``window.scrollTo``; image URLs are read from the rendered
    HTML by the same extractor as every other page."""
    started = time.monotonic()
    seen: set[str] = set()
    idle = clicks = rounds = 0
    stopped = "max_rounds"
    await page.mouse.move(200, 200)
    while rounds < max_rounds:
        rounds += 1
        found = {ref.url for ref in extract_images(await page.content(), page.url)}
        new = found - seen
        seen |= found
        idle = 0 if new or rounds == 1 else idle + 1
        if len(seen) >= max_images:
            stopped = "max_images"
            break
        if idle >= patience:
            stopped = "no_new_images"
            break
        if time.monotonic() - started > max_seconds:
            stopped = "max_seconds"
            break
        clicks += await _press_load_more(page)
        await page.mouse.wheel(0, 5000)
        await page.keyboard.press("End")
        await asyncio.sleep(settle_seconds)
    return {"rounds": rounds, "images": len(seen), "clicks": clicks, "stopped": stopped}


async def pass_gate(
    page: Any, allowed_domains: tuple[str, ...] = (), settle_seconds: float = 0.5
) -> dict[str, str]:
    """Answer an age gate or cookie wall the rendered page shows (the patterns of
    :mod:`crawler.gates`): click the first visible control whose label starts with a
    yes ("I am 18", "Entrar", "Aceptar", ...), once, and wait for what it loads.
    Links are only clicked when they stay on the target's own hosts. Returns
    ``{"gate": ...}``: ``none`` (no gate, or no way through), ``passed`` (no gate any
    more) or ``failed`` (still a gate after the click). The browser context is the
    target's own, so the cookie it sets serves the target's next pages only."""
    try:
        control = await _gate_control(page, allowed_domains)
        if control is None:
            return {"gate": "none"}
        await control.click(timeout=2000)
        await page.wait_for_load_state("load", timeout=10_000)
        await asyncio.sleep(settle_seconds)
        still = await _gate_control(page, allowed_domains)
    except Exception as exc:  # navigation raced a read, a covered button: not passed
        log.debug("gate: %s", exc)
        return {"gate": "failed"}
    return {"gate": "failed" if still is not None else "passed"}


async def context_cookies(page: Any) -> dict[str, list[dict[str, Any]]]:
    """The cookies of the page's browser context (the target's own), as
    ``{"cookies": [...]}`` (Playwright's cookie dicts): the last page method of a
    rendered page of a target that passes gates, so that the cookie an age gate set in
    the browser also goes with the target's image requests (:func:`cookies_for`)."""
    try:
        return {"cookies": list(await page.context.cookies())}
    except Exception as exc:  # the context went away with the browser
        log.debug("cookies: %s", exc)
        return {"cookies": []}


def cookies_for(url: str, cookies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The browser cookies that go with a request for ``url``, in Scrapy's form
    (``Request(cookies=...)``): a host-only cookie only to its own host, a domain cookie
    (``.example.com``) to that domain and its subdomains; Scrapy's cookie jar then
    applies the path and ``secure``. Cookies for other hosts are left out."""
    host = (urlsplit(url).hostname or "").lower()
    chosen = []
    for cookie in cookies:
        domain = str(cookie.get("domain", "")).lower()
        entry = {
            "name": cookie["name"],
            "value": cookie["value"],
            "path": cookie.get("path") or "/",
            "secure": bool(cookie.get("secure")),
        }
        if domain.startswith("."):
            if host == domain[1:] or host.endswith(domain):
                chosen.append({**entry, "domain": domain})
        elif domain == host:
            chosen.append(entry)  # no Domain: the jar keeps it for this host only
    return chosen


async def _gate_control(page: Any, allowed_domains: tuple[str, ...]) -> Any:
    """The visible control that answers the gate the page shows, or None (no gate)."""
    if not asks(await page.inner_text("body", timeout=5000)):
        return None
    candidates = page.locator(
        "button, [role=button], input[type=submit], input[type=button], a[href]"
    )
    for i in range(min(await candidates.count(), 50)):
        control = candidates.nth(i)
        tag, label, href = await control.evaluate(
            "e => [e.tagName, e.tagName === 'INPUT' ? (e.value || '') : e.innerText,"
            " e.tagName === 'A' ? e.href : '']"
        )
        if not answers(str(label)):
            continue
        if tag == "A" and not own_host(str(href), page.url, allowed_domains):
            continue
        if await control.is_visible():
            return control
    return None


async def _press_load_more(page: Any) -> int:
    """Click the first visible "load more" button, if any; 1 if clicked. Links with a
    real target are left alone (a click there would leave the page)."""
    candidates = page.locator("button, [role=button], a:not([href]), a[href='#']").filter(
        has_text=_LOAD_MORE
    )
    try:
        count = await candidates.count()
        for i in range(min(count, 5)):
            button = candidates.nth(i)
            if await button.is_visible():
                await button.click(timeout=2000)
                return 1
    except Exception as exc:  # a detached or covered button: just scroll on
        log.debug("load more: %s", exc)
    return 0
