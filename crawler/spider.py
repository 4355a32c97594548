"""Spiders: pages in, every image found on them out (as bytes in memory).

:class:`ImageSpider` holds what every spider does with a page: extract image URLs and
fetch them (wherever they are hosted: re-uploads often sit on a CDN domain), pick the
links to follow (inside the target's allowed domains, within its depth and page limits
and the spider-trap rules of :mod:`crawler.traps`), remember what it saw for incremental
crawls, and keep the page as evidence. :class:`TargetSpider` crawls one target in one
process (embedded mode) of any kind: a website (optionally rendered by Chromium), a
feed, a sitemap or a public Telegram channel. The frontier spider
(:mod:`crawler.frontier`) shares pages with other processes over Kafka. All produce
:class:`crawler.items.ImageItem` objects for the hashing pipeline.

Every refusal is counted in the crawl stats under ``radar/refused/<reason>``.
"""

from __future__ import annotations

import hashlib
import logging
import struct
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy import signals
from scrapy.exceptions import CannotResolveHostError, DownloadCancelledError, IgnoreRequest
from scrapy.http import Response, TextResponse
from scrapy.utils.gz import gunzip, gzip_magic_number
from twisted.internet.error import DNSLookupError

from crawler import incremental
from crawler.channel import parse_channel, preview_url
from crawler.extract import ImageRef, extract_images, extract_links, extract_videos
from crawler.feeds import parse_xml
from crawler.gates import find_gate
from crawler.items import ImageItem, PageSeen, VideoItem
from crawler.resolver import ForbiddenAddressError, refusal
from crawler.sniff import RASTER, sniff
from crawler.traps import TrapGuard, TrapLimits
from store.evidence import clean_headers
from store.models import Target
from wire import PageRequest, site_of, utc_now
from wire.frontier import PARSE_AS_OF_KIND

log = logging.getLogger(__name__)

MAX_PAGE_BYTES = 8 * 1024 * 1024
MAX_GATE_ATTEMPTS = 3  # gates answered per target and round (a cookie wall, an age gate)
_REDIRECTS = [301, 302, 303, 307, 308]


def in_domains(url: str, domains: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def seed_request(target: Target) -> PageRequest:
    """The first page of a target, with the bounds every later page inherits."""
    return PageRequest(
        url=preview_url(target.url) if target.kind == "telegram" else target.url,
        case_id=target.case_id,
        target_id=target.id,
        depth=0,
        max_depth=target.max_depth,
        max_pages=target.max_pages,
        allowed_domains=target.allowed_domains,
        obey_robots=target.obey_robots,
        render=target.render,
        target_kind=target.kind,
        parse_as=PARSE_AS_OF_KIND.get(target.kind, "page"),
        pass_gates=bool(target.pass_gates),
    )


def cookie_meta(page: PageRequest) -> dict[str, Any]:
    """Request meta that keeps cookies per target: a target that passes gates has its
    own cookie jar (Scrapy's ``cookiejar`` key, never shared with another target, also
    when both are crawled by one process); any other target neither sends nor keeps
    cookies."""
    if page.pass_gates:
        return {"cookiejar": f"target-{page.target_id}"}
    return {"dont_merge_cookies": True}


def page_title(response: TextResponse) -> str:
    try:
        return " ".join((response.css("title::text").get() or "").split())[:500]
    except Exception:
        return ""


class ImageSpider(scrapy.Spider):
    """The page logic shared by every spider. Page limits are counted per target, by the
    process that crawls the target's pages.

    ``state`` (optional, :class:`store.evidence.CrawlStateStore`) makes crawls
    incremental: pages and images are requested with the validators of the last crawl
    and a 304 reuses what was stored. ``browser_page_methods`` builds the scroll step
    for pages rendered by Chromium.

    Targets that pass gates (``pass_gates``) get one answer per gate page
    (:mod:`crawler.gates`): the gate's link or form is requested in the target's cookie
    jar, then the page again; the page asked for again is never answered twice, and at
    most :data:`MAX_GATE_ATTEMPTS` gates are answered per target and round. Counted as
    ``radar/gates/passed`` and ``radar/gates/failed`` (still a gate after the answer, or
    the answer failed)."""

    # Meta keys of a transport that a gate's answer and the page asked for again carry on.
    CARRIED_META: tuple[str, ...] = ()

    def __init__(
        self,
        max_image_bytes: int = 32 * 1024 * 1024,
        max_page_bytes: int = MAX_PAGE_BYTES,
        max_video_bytes: int = 64 * 1024 * 1024,
        state: Any = None,
        trap_limits: TrapLimits | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_image_bytes = max_image_bytes
        self.max_page_bytes = max_page_bytes
        self.max_video_bytes = max_video_bytes
        self.state = state
        self.trap_limits = trap_limits or TrapLimits()
        self.pages_scheduled: Counter[tuple[int, str]] = Counter()  # (target, crawl round)
        self.traps: dict[tuple[int, str], TrapGuard] = {}
        self.gate_attempts: Counter[tuple[int, str]] = Counter()  # (target, crawl round)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
        settings = crawler.settings
        kwargs.setdefault("max_image_bytes", settings.getint("RADAR_MAX_IMAGE_BYTES", 32 << 20))
        kwargs.setdefault("max_page_bytes", settings.getint("RADAR_MAX_PAGE_BYTES", MAX_PAGE_BYTES))
        kwargs.setdefault("max_video_bytes", settings.getint("RADAR_MAX_VIDEO_BYTES", 64 << 20))
        return super().from_crawler(crawler, *args, **kwargs)

    def count(self, key: str, n: int = 1) -> None:
        self.crawler.stats.inc_value(key, n)

    # -- requests -----------------------------------------------------------------------------
    def page_request(self, page: PageRequest, **meta: Any) -> scrapy.Request:
        dont_filter = bool(meta.pop("dont_filter", False))
        headers = {}
        known = self.state.page_state(page.target_id, page.url) if self.state else None
        if known is not None:
            headers = incremental.conditional_headers(known.etag, known.last_modified)
            meta["radar_page_state"] = known
            meta["handle_httpstatus_list"] = [304]
        meta = {
            "radar_page": page,
            "radar_kind": "page",
            "allow_offsite": True,
            "dont_obey_robotstxt": not page.obey_robots,
            "download_maxsize": self.max_page_bytes,
            **cookie_meta(page),
            **meta,
        }
        if page.render == "browser":
            from scrapy_playwright.page import PageMethod  # type: ignore[import-untyped]

            from crawler.browser import BROWSER_SLOT, context_cookies, pass_gate, scroll_for_images

            meta["playwright"] = True
            # One browser context per target: its cookies are the target's alone.
            meta["playwright_context"] = f"target-{page.target_id}"
            meta["download_slot"] = BROWSER_SLOT  # the cap on pages open at once
            methods = [PageMethod(scroll_for_images)]
            if page.pass_gates:
                methods.insert(0, PageMethod(pass_gate, page.allowed_domains))
                methods.append(PageMethod(context_cookies))  # for the image requests
            meta["playwright_page_methods"] = methods
            headers = {}  # a rendered page is always rendered afresh
        return scrapy.Request(
            page.url,
            callback=self.parse,
            errback=self.failed,
            headers=headers,
            meta=meta,
            dont_filter=dont_filter,
        )

    def gate_request(self, response: TextResponse, page: PageRequest) -> scrapy.Request | None:
        """The answer to the gate ``response`` shows, or None: no gate, the target does
        not pass gates, the page was already asked for again after an answer (then the
        outcome is counted), or the round's gate budget is spent."""
        if not page.pass_gates or "playwright" in response.flags:  # rendered: the browser's
            return None
        answer = find_gate(response, page.allowed_domains)
        if response.meta.get("radar_gate_tried"):
            self.count("radar/gates/failed" if answer else "radar/gates/passed")
            return None
        if answer is None:
            return None
        round_key = (page.target_id, page.crawl_id)
        if self.gate_attempts[round_key] >= MAX_GATE_ATTEMPTS:
            self.count("radar/gates/over_limit")
            return None
        self.gate_attempts[round_key] += 1
        carried = {k: response.meta[k] for k in self.CARRIED_META if k in response.meta}
        return answer.replace(
            callback=self.gate_answered,
            errback=self.failed,
            meta={
                "radar_page": page,
                "radar_kind": "gate",
                "allow_offsite": True,  # on the target's own hosts: checked by find_gate
                "dont_obey_robotstxt": not page.obey_robots,
                "download_maxsize": self.max_page_bytes,
                # The answer's cookie is what counts; where it redirects is not followed
                # (it could lead off the target's hosts): the page is asked for again.
                "dont_redirect": True,
                "handle_httpstatus_list": _REDIRECTS,
                **cookie_meta(page),
                **carried,
            },
        )

    def gate_answered(self, response: Response, **kwargs: Any) -> list[scrapy.Request]:
        """A gate was answered (its cookie is in the target's jar): the page again."""
        page: PageRequest = response.meta["radar_page"]
        carried = {k: response.meta[k] for k in self.CARRIED_META if k in response.meta}
        return [self.page_request(page, radar_gate_tried=True, dont_filter=True, **carried)]

    def image_request(
        self,
        ref: ImageRef,
        page: PageRequest,
        page_seen: PageSeen | None,
        key: str = "",
        browser_cookies: list[dict[str, Any]] | None = None,
    ) -> scrapy.Request | None:
        """The request for one image found on a page, or None if it is refused.
        ``browser_cookies`` (a rendered page of a target that passes gates: its browser
        context's cookies) go with it where a browser would send them, into the
        target's cookie jar (:func:`crawler.browser.cookies_for`)."""
        if len(ref.url) > self.trap_limits.max_url_length:
            self.count("radar/refused/url_length")
            return None
        headers = {}
        known = self.state.image_state(key or ref.url) if self.state else None
        if not incremental.usable(known):
            known = None
        if known is not None:
            headers = incremental.conditional_headers(known.etag, known.last_modified)
        cookies: Any = []  # Scrapy's VerboseCookie dicts
        if browser_cookies and page.pass_gates:
            from crawler.browser import cookies_for

            cookies = cookies_for(ref.url, browser_cookies)
        return scrapy.Request(
            ref.url,
            callback=self.parse_image,
            errback=self.failed,
            priority=10,
            headers=headers,
            cookies=cookies or None,
            meta={
                "radar_kind": "image",
                "radar_page": page,
                "radar_page_url": page_seen.final_url if page_seen else page.url,
                "radar_page_seen": page_seen,
                "radar_how": ref.how,
                "radar_image_key": key,
                "radar_image_state": known,
                "allow_offsite": True,
                "dont_obey_robotstxt": not page.obey_robots,
                "download_maxsize": self.max_image_bytes,
                **cookie_meta(page),
                "handle_httpstatus_list": [304] if headers else [],
            },
        )

    def video_request(
        self, ref: ImageRef, page: PageRequest, page_seen: PageSeen | None
    ) -> scrapy.Request | None:
        """The request for one video found on a page, capped at ``max_video_bytes``
        (Scrapy cancels the download past it), or None if it is refused."""
        if len(ref.url) > self.trap_limits.max_url_length:
            self.count("radar/refused/url_length")
            return None
        return scrapy.Request(
            ref.url,
            callback=self.parse_video,
            errback=self.failed,
            priority=5,
            meta={
                "radar_kind": "video",
                "radar_page": page,
                "radar_page_url": page_seen.final_url if page_seen else page.url,
                "radar_how": ref.how,
                "allow_offsite": True,
                "dont_obey_robotstxt": not page.obey_robots,
                "download_maxsize": self.max_video_bytes,
            },
        )

    def parse_video(self, response: Response, **kwargs: Any) -> Iterator[VideoItem]:
        page: PageRequest = response.meta["radar_page"]
        if response.status != 200:
            self.count(f"radar/errors/video/http_{response.status}")
            return
        self.count("radar/videos")
        where = _sighting(response, page)
        yield VideoItem(video_url=where["fetched_url"], body=response.body, **where)

    # -- pages --------------------------------------------------------------------------------
    def page_seen(self, response: Response) -> PageSeen | None:
        if not isinstance(response, TextResponse):
            return None
        html = response.text
        return PageSeen(
            url=(response.meta.get("redirect_urls") or [response.url])[0],
            final_url=response.url,
            status=response.status,
            headers=clean_headers(response.headers),
            title=page_title(response),
            sha256=hashlib.sha256(html.encode("utf-8", "replace")).hexdigest(),
            fetched_at=utc_now(),
            rendered="playwright" in response.flags,
            html=html,
        )

    def page_parts(self, response: Response) -> tuple[list[Any], list[PageRequest]]:
        """The image requests (or, for a page that is really an image, its item) and the
        next pages of a fetched page (either may be empty)."""
        self.count("radar/pages")
        page: PageRequest = response.meta["radar_page"]
        if response.status == 304 and response.meta.get("radar_page_state") is not None:
            known = response.meta["radar_page_state"]
            self.count("radar/pages_unchanged")
            if response.meta.get("radar_gate_tried"):  # behind the gate: as last time
                self.count("radar/gates/passed")
            refs = [ImageRef(url, how) for url, how in known.images]
            unchanged = PageSeen(
                url=page.url,
                final_url=response.url,
                status=304,
                headers=clean_headers(response.headers),
                title="",
                sha256=known.sha256,  # the snapshot of the crawl that last saw it change
                fetched_at=utc_now(),
            )
            return self._images(refs, page, unchanged), self._links(list(known.links), page)
        kind = sniff(response.body[:1024])
        if kind in RASTER:  # a page URL that serves an image: hash it like one
            self.count("radar/sniffed/page_is_image")
            response.meta.setdefault("radar_page_url", response.url)
            return list(self.parse_image(response)), []
        content_type = (response.headers.get("Content-Type") or b"text/html").lower()
        is_html = b"html" in content_type or kind == "html"
        if not isinstance(response, TextResponse) or not is_html or kind in ("binary", "svg"):
            self.count("radar/pages_not_html")
            return [], []
        gate = self.gate_request(response, page)
        if gate is not None:  # nothing of a gate is kept: the page behind it is asked for
            return [gate], []
        seen = self.page_seen(response)
        assert seen is not None
        refs = extract_images(seen.html, response.url)
        self.count("radar/images_found", len(refs))
        videos = extract_videos(seen.html, response.url)
        self.count("radar/videos_found", len(videos))
        links = extract_links(seen.html, response.url) if page.depth < page.max_depth else []
        if self.state is not None:
            self.state.save_page_state(
                incremental.page_state_of(page.target_id, page.url, response, seen, refs, links)
            )
        cookies = self._browser_stats(response)
        requests = self._images(refs, page, seen, cookies) + self._videos(videos, page, seen)
        return requests, self._links(links, page)

    # -- what a fetched page leads to, by what it is (the same in both transports) ----------
    def parts(self, response: Response) -> tuple[list[Any], list[PageRequest]]:
        """Image requests or items, and next pages, of a fetched page, parsed as its
        request says (``parse_as``): an HTML page, a feed or sitemap, a channel page."""
        page: PageRequest = response.meta["radar_page"]
        if page.parse_as == "xml":
            return self.xml_parts(response)
        if page.parse_as == "channel":
            return self.channel_parts(response)
        return self.page_parts(response)

    def xml_parts(self, response: Response) -> tuple[list[Any], list[PageRequest]]:
        """A feed or sitemap: its images, its pages (crawled as website pages, depth 1)
        and, for a sitemap index, its child sitemaps (bounded by the page limit)."""
        self.count("radar/pages")
        page: PageRequest = response.meta["radar_page"]
        body = response.body
        if gzip_magic_number(response):
            # A .xml.gz / application/x-gzip sitemap (a Content-Encoding: gzip body was
            # already inflated, within DOWNLOAD_MAXSIZE, by HttpCompressionMiddleware).
            # Inflated as Scrapy's SitemapSpider does, capped at the page size limit.
            try:
                body = gunzip(body, max_size=self.max_page_bytes)
            except ValueError:  # scrapy's _DecompressionMaxSizeExceeded
                self.count("radar/refused/decompression_bomb/page")
                log.warning("%s inflates past %d bytes; dropped", response.url, self.max_page_bytes)
                return [], []
            except (OSError, EOFError, struct.error):
                self.count("radar/errors/page/bad_gzip")
                return [], []
            self.count("radar/xml/gzip")
        found = parse_xml(body, response.url)
        if found.kind == "unknown":
            self.count("radar/errors/page/not_a_feed")
            return [], []
        self.count(f"radar/xml/{found.kind}")
        seen = self.page_seen(response)
        self.count("radar/images_found", len(found.images))
        listed = replace(page, max_depth=max(page.max_depth, 1), parse_as="page")
        links = self._links(found.pages, listed, depth=1)
        links += self._links(found.sitemaps, page, depth=0)  # bounded by the page limit
        return self._images(found.images, page, seen), links

    def channel_parts(self, response: Response) -> tuple[list[Any], list[PageRequest]]:
        """One preview page of a public channel: its photos (keyed by post), then the
        next older page while the page limit allows."""
        self.count("radar/pages")
        page: PageRequest = response.meta["radar_page"]
        if not isinstance(response, TextResponse):
            self.count("radar/pages_not_html")
            return [], []
        seen = self.page_seen(response)
        assert seen is not None
        channel = parse_channel(seen.html, response.url)
        self.count("radar/channel/posts", len(channel.post_ids))
        self.count("radar/images_found", len(channel.photos))
        images: list[Any] = []
        for photo in channel.photos:
            ref = ImageRef(photo.image_url, photo.how)
            known = self.known_image(ref, photo.key, page, seen)
            request = known or self.image_request(ref, page, seen, key=photo.key)
            if request is not None:
                images.append(request)
        videos = extract_videos(seen.html, response.url)  # a video post's <video src>
        self.count("radar/videos_found", len(videos))
        images += self._videos(videos, page, seen)
        if channel.older is None:
            return images, []
        round_key = (page.target_id, page.crawl_id)
        if self.pages_scheduled[round_key] >= page.max_pages:
            self.count("radar/refused/page_limit")
            return images, []
        self.pages_scheduled[round_key] += 1
        return images, [replace(page, url=channel.older, depth=page.depth + 1)]

    def _images(
        self,
        refs: list[ImageRef],
        page: PageRequest,
        seen: PageSeen | None,
        browser_cookies: list[dict[str, Any]] | None = None,
    ) -> list[scrapy.Request]:
        requests = [self.image_request(ref, page, seen, "", browser_cookies) for ref in refs]
        return [r for r in requests if r is not None]

    def _videos(
        self, refs: list[ImageRef], page: PageRequest, seen: PageSeen | None
    ) -> list[scrapy.Request]:
        requests = [self.video_request(ref, page, seen) for ref in refs]
        return [r for r in requests if r is not None]

    def _links(
        self, urls: list[str], page: PageRequest, depth: int | None = None
    ) -> list[PageRequest]:
        """Pages to follow from ``page``, one level deeper (or at ``depth``: what a feed or
        sitemap lists is one click from it, however deep the listing itself sits)."""
        if depth is None and page.depth >= page.max_depth:
            return []
        round_key = (page.target_id, page.crawl_id)
        traps = self.traps.setdefault(round_key, TrapGuard(self.trap_limits))
        links = []
        for url in urls:
            if not in_domains(url, page.allowed_domains):
                continue
            if self.pages_scheduled[round_key] >= page.max_pages:
                self.count("radar/refused/page_limit")
                continue
            reason = traps.refuse(url)
            if reason:
                self.count(f"radar/refused/{reason}")
                continue
            # Counted when scheduled, so duplicates dropped by the dupefilter count too:
            # the limit bounds work, it is not an exact page count.
            self.pages_scheduled[round_key] += 1
            links.append(replace(page, url=url, depth=page.depth + 1 if depth is None else depth))
        return links

    def sitemap_links(self, sitemaps: list[str], page: PageRequest) -> list[PageRequest]:
        """The sitemaps robots.txt names for ``page``'s site, as links parsed as sitemaps,
        through the same domain, page-limit and trap rules as every other link (both
        transports: :meth:`TargetSpider.robots_parsed`, the frontier's seed pages)."""
        if not sitemaps:
            return []
        self.count("radar/xml/robots_sitemaps", len(sitemaps))
        return self._links(sitemaps, replace(page, parse_as="xml"), depth=0)

    def _browser_stats(self, response: Response) -> list[dict[str, Any]]:
        """Count what the page methods of a rendered page did; return the browser
        context's cookies they read (empty unless the target passes gates)."""
        cookies: list[dict[str, Any]] = []
        for method in response.meta.get("playwright_page_methods") or ():
            result = getattr(method, "result", None)
            if isinstance(result, dict) and "cookies" in result:
                cookies = list(result["cookies"])
            elif isinstance(result, dict) and "gate" in result:
                if result["gate"] in ("passed", "failed"):
                    self.count(f"radar/gates/{result['gate']}")
            elif isinstance(result, dict):
                self.count("radar/browser/pages")
                self.count("radar/browser/scroll_rounds", int(result.get("rounds", 0)))
                self.count("radar/browser/load_more_clicks", int(result.get("clicks", 0)))
                self.count(f"radar/browser/stopped/{result.get('stopped', 'unknown')}")
        return cookies

    # -- images -------------------------------------------------------------------------------
    def parse_image(self, response: Response, **kwargs: Any) -> Iterator[ImageItem]:
        page: PageRequest = response.meta["radar_page"]
        known = response.meta.get("radar_image_state")
        where = _sighting(response, page)
        item = ImageItem(
            # The URL as found on the page (or the post's key): what a notice names.
            # Redirect hops are followed by Scrapy, each one through the address rule.
            image_url=response.meta.get("radar_image_key") or where["fetched_url"],
            **where,
            redirects=tuple(response.meta.get("redirect_urls") or ())[1:],
            headers=clean_headers(response.headers),
            etag=incremental.header(response, b"ETag"),
            last_modified=incremental.header(response, b"Last-Modified"),
            page=response.meta.get("radar_page_seen"),
        )
        if response.status == 304 and known is not None:
            self.count("radar/images_unchanged")
            item.hashes, item.unchanged = incremental.hashes_of(known), True
        elif response.status != 200:
            self.count(f"radar/errors/image/http_{response.status}")
            return
        else:
            self.count("radar/images")
            if sniff(response.body[:1024]) not in RASTER:
                self.count("radar/sniffed/image_not_raster")
            item.body = response.body
        yield item

    def known_image(
        self, ref: ImageRef, key: str, page: PageRequest, seen: PageSeen | None
    ) -> ImageItem | None:
        """An item for an image already hashed under ``key`` (a channel post: immutable),
        built from the crawl state without any download; None if it is not known."""
        known = self.state.image_state(key) if self.state else None
        if known is None or not incremental.usable(known):
            return None
        self.count("radar/images_known")
        return ImageItem(
            image_url=key,
            page_url=seen.final_url if seen else page.url,
            site=site_of(page.url),
            case_id=page.case_id,
            target_id=page.target_id,
            crawl_id=page.crawl_id,
            http_status=200,
            fetched_at=utc_now(),
            how=ref.how,
            hashes=incremental.hashes_of(known),
            fetched_url=known.url,
            final_url=known.url,
            unchanged=True,
            page=seen,
        )

    # -- failures ------------------------------------------------------------------------------
    def failed(self, failure: Any) -> None:
        kind = failure.request.meta.get("radar_kind", "page")
        if kind == "gate":
            self.count("radar/gates/failed")
        if failure.check(IgnoreRequest):
            if _is_decompression_bomb(failure.value):
                # Scrapy's HttpCompressionMiddleware stopped inflating at DOWNLOAD_MAXSIZE
                # (and logged one WARNING line); nothing else counts it.
                self.count(f"radar/refused/decompression_bomb/{kind}")
            return  # other refusals (robots.txt, address guard) are counted where made
        refused = refusal(urlsplit(failure.request.url).hostname)
        if failure.check(ForbiddenAddressError) or (
            refused and failure.check(CannotResolveHostError, DNSLookupError)
        ):
            self.count("radar/refused/address")
            log.info("refused %s: %s", failure.request.url, refused or failure.getErrorMessage())
            return
        if failure.check(DownloadCancelledError):
            self.count(f"radar/refused/too_large/{kind}")
            return
        error = failure.type.__name__ if failure.type else "Error"
        self.count(f"radar/errors/{kind}/{error}")
        log.info("%s failed: %s (%s)", kind, failure.request.url, failure.getErrorMessage())


def _sighting(response: Response, page: PageRequest) -> dict[str, Any]:
    """Where and when a fetched image or video was seen: the fields its item shares."""
    return {
        "page_url": response.meta.get("radar_page_url", page.url),
        "site": site_of(response.meta.get("radar_page_url", response.url)),
        "case_id": page.case_id,
        "target_id": page.target_id,
        "crawl_id": page.crawl_id,
        "http_status": response.status,
        "fetched_at": utc_now(),
        "how": response.meta.get("radar_how", ""),
        "fetched_url": (response.meta.get("redirect_urls") or [response.url])[0],
        "final_url": response.url,
    }


def robots_sitemaps(robotparser: Any) -> list[str]:
    """The ``Sitemap:`` lines of a parsed robots.txt (Scrapy's default ProtegoRobotParser)."""
    protego = getattr(robotparser, "rp", None)
    return [str(u) for u in getattr(protego, "sitemaps", ())]


def _is_decompression_bomb(exc: BaseException) -> bool:
    """Whether ``exc`` is Scrapy's refusal of a body that inflates past DOWNLOAD_MAXSIZE
    (an IgnoreRequest raised from its private ``_DecompressionMaxSizeExceeded``)."""
    cause = exc.__cause__
    return type(cause).__name__ == "_DecompressionMaxSizeExceeded" or (
        "during decompression" in str(exc) and "DOWNLOAD_MAXSIZE" in str(exc)
    )


class TargetSpider(ImageSpider):
    """Crawls one target in this process: the seed, then what it leads to."""

    name = "target"

    def __init__(self, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        # OffsiteMiddleware: page requests outside these domains are dropped. Image
        # requests carry allow_offsite; so do page requests, which are filtered here.
        self.allowed_domains = list(target.allowed_domains)

    @classmethod
    def from_crawler(cls, crawler: Any, *args: Any, **kwargs: Any) -> Any:
        spider = super().from_crawler(crawler, *args, **kwargs)
        crawler.signals.connect(spider.robots_parsed, signal=signals.robots_parsed)
        return spider

    def robots_parsed(self, robotparser: Any, request: scrapy.Request) -> None:
        """The ``Sitemap:`` lines of a website's robots.txt (fetched by Scrapy's
        RobotsTxtMiddleware when robots.txt is obeyed), crawled as sitemaps through the
        same domain, page-limit and trap rules as every other link."""
        page: PageRequest | None = request.meta.get("radar_page")
        if page is None or request.meta.get("radar_kind") != "page" or page.parse_as != "page":
            return
        for link in self.sitemap_links(robots_sitemaps(robotparser), page):
            self.crawler.engine.crawl(self.page_request(link))

    async def start(self) -> Any:
        self.pages_scheduled[self.target.id, ""] = 1
        yield self.page_request(seed_request(self.target))

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        """The transport of the embedded crawl: what a page leads to is requested here."""
        images, links = self.parts(response)
        yield from images
        for link in links:
            yield self.page_request(link)
