"""Spiders: pages in, every image found on them out (as bytes in memory).

:class:`ImageSpider` holds what every spider does with a page: extract image URLs and
fetch them (wherever they are hosted: re-uploads often sit on a CDN domain), and pick the
links to follow (inside the target's allowed domains, within its depth and page limits).
:class:`TargetSpider` crawls one target in one process (embedded mode); the frontier
spider (:mod:`crawler.frontier`) shares pages with other processes over Kafka. Both
produce :class:`crawler.items.ImageItem` objects for the hashing pipeline.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from crawler.extract import extract_images, extract_links
from crawler.items import ImageItem
from store.models import Target
from wire import PageRequest, site_of, utc_now

log = logging.getLogger(__name__)


def in_domains(url: str, domains: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


def seed_request(target: Target) -> PageRequest:
    """The first page of a target, with the bounds every later page inherits."""
    return PageRequest(
        url=target.url,
        case_id=target.case_id,
        target_id=target.id,
        depth=0,
        max_depth=target.max_depth,
        max_pages=target.max_pages,
        allowed_domains=target.allowed_domains,
        obey_robots=target.obey_robots,
    )


class ImageSpider(scrapy.Spider):
    """The page logic shared by every spider. Page limits are counted per target, by the
    process that crawls the target's pages."""

    def __init__(self, max_image_bytes: int = 32 * 1024 * 1024, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_image_bytes = max_image_bytes
        self.pages_scheduled: Counter[tuple[int, str]] = Counter()  # (target, crawl round)

    def page_request(self, page: PageRequest, **meta: Any) -> scrapy.Request:
        return scrapy.Request(
            page.url,
            callback=self.parse,
            errback=self.failed,
            meta={
                "radar_page": page,
                "radar_kind": "page",
                "allow_offsite": True,
                "dont_obey_robotstxt": not page.obey_robots,
                **meta,
            },
        )

    def page_parts(self, response: Response) -> tuple[list[scrapy.Request], list[PageRequest]]:
        """The image requests and the next pages of a fetched page (either may be empty)."""
        self.crawler.stats.inc_value("radar/pages")
        page: PageRequest = response.meta["radar_page"]
        content_type = (response.headers.get("Content-Type") or b"text/html").lower()
        if not isinstance(response, TextResponse) or b"html" not in content_type:
            self.crawler.stats.inc_value("radar/pages_not_html")
            return [], []
        text = response.text
        images = []
        max_url = self.crawler.settings.getint("URLLENGTH_LIMIT", 2083)
        for ref in extract_images(text, response.url):
            self.crawler.stats.inc_value("radar/images_found")
            if len(ref.url) > max_url:
                self.crawler.stats.inc_value("radar/refused/url_length")
                continue
            images.append(
                scrapy.Request(
                    ref.url,
                    callback=self.parse_image,
                    errback=self.failed,
                    priority=10,
                    meta={
                        "radar_kind": "image",
                        "radar_page": page,
                        "radar_page_url": response.url,
                        "radar_how": ref.how,
                        "allow_offsite": True,
                        "dont_obey_robotstxt": not page.obey_robots,
                        "download_maxsize": self.max_image_bytes,
                    },
                )
            )
        links = []
        if page.depth < page.max_depth:
            for url in extract_links(text, response.url):
                if not in_domains(url, page.allowed_domains):
                    continue
                if self.pages_scheduled[page.target_id, page.crawl_id] >= page.max_pages:
                    self.crawler.stats.inc_value("radar/refused/page_limit")
                    continue
                # Counted when scheduled, so duplicates dropped by the dupefilter count too:
                # the limit bounds work, it is not an exact page count.
                self.pages_scheduled[page.target_id, page.crawl_id] += 1
                links.append(replace(page, url=url, depth=page.depth + 1))
        return images, links

    def parse_image(self, response: Response, **kwargs: Any) -> Iterator[ImageItem]:
        self.crawler.stats.inc_value("radar/images")
        page: PageRequest = response.meta["radar_page"]
        yield ImageItem(
            # The URL as found on the page: what a notice names. Redirect hops are
            # followed by Scrapy (and each one passes the address guard).
            image_url=(response.meta.get("redirect_urls") or [response.url])[0],
            page_url=response.meta["radar_page_url"],
            site=site_of(response.url),
            case_id=page.case_id,
            target_id=page.target_id,
            http_status=response.status,
            fetched_at=utc_now(),
            how=response.meta.get("radar_how", ""),
            body=response.body,
        )

    def failed(self, failure: Any) -> None:
        if failure.check(IgnoreRequest):
            return  # a refusal (robots.txt, address guard), counted where it was made
        kind = failure.request.meta.get("radar_kind", "page")
        error = failure.type.__name__ if failure.type else "Error"
        self.crawler.stats.inc_value(f"radar/errors/{kind}/{error}")
        log.info("%s failed: %s (%s)", kind, failure.request.url, failure.getErrorMessage())


class TargetSpider(ImageSpider):
    """Crawls one target in this process: the seed, then the links it finds."""

    name = "target"

    def __init__(self, target: Target, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target = target
        # OffsiteMiddleware: page requests outside these domains are dropped. Image
        # requests carry allow_offsite; so do page requests, which are filtered here.
        self.allowed_domains = list(target.allowed_domains)

    async def start(self) -> Any:
        self.pages_scheduled[self.target.id, ""] = 1
        yield self.page_request(seed_request(self.target))

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        images, links = self.page_parts(response)
        yield from images
        for link in links:
            yield self.page_request(link)
