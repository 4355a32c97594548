"""The website spider: crawls one target of a case and yields every image it finds.

Consumes a :class:`store.Target` (seed URL, allowed domains, depth and page limits) and
produces :class:`crawler.items.ImageItem` objects carrying the image bytes in memory,
for the hashing pipeline. Pages are followed only inside the allowed domains; images are
fetched wherever they are hosted (re-uploads often sit on a CDN domain). Depth and page
limits apply to pages only, never to the images of a page that was crawled.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from crawler.extract import extract_images, extract_links
from crawler.items import ImageItem
from store.models import Target
from wire import utc_now

log = logging.getLogger(__name__)


def site_of(url: str) -> str:
    """The host a URL belongs to, lower-case, without a leading ``www.``."""
    host = (urlsplit(url).hostname or "").lower()
    return host.removeprefix("www.")


def in_domains(url: str, domains: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains)


class TargetSpider(scrapy.Spider):
    name = "target"

    def __init__(
        self, target: Target, max_image_bytes: int = 32 * 1024 * 1024, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.target = target
        self.domains = tuple(d.lower() for d in target.allowed_domains)
        # OffsiteMiddleware: page requests outside these domains are dropped; image
        # requests carry allow_offsite.
        self.allowed_domains = list(self.domains)
        self.max_image_bytes = max_image_bytes
        self.pages_scheduled = 0

    async def start(self) -> Any:
        self.pages_scheduled = 1
        yield self._page_request(self.target.url, depth=0)

    def _page_request(self, url: str, depth: int) -> scrapy.Request:
        return scrapy.Request(
            url,
            callback=self.parse,
            errback=self.failed,
            meta={"radar_depth": depth, "radar_kind": "page"},
        )

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        self.crawler.stats.inc_value("radar/pages")
        if (
            not isinstance(response, TextResponse)
            or b"html" not in (response.headers.get("Content-Type") or b"text/html").lower()
        ):
            self.crawler.stats.inc_value("radar/pages_not_html")
            return
        depth = int(response.meta.get("radar_depth", 0))
        text = response.text
        for ref in extract_images(text, response.url):
            self.crawler.stats.inc_value("radar/images_found")
            yield scrapy.Request(
                ref.url,
                callback=self.parse_image,
                errback=self.failed,
                priority=10,
                meta={
                    "radar_kind": "image",
                    "radar_page": response.url,
                    "radar_how": ref.how,
                    "allow_offsite": True,
                    "download_maxsize": self.max_image_bytes,
                },
            )
        if depth >= self.target.max_depth:
            return
        for url in extract_links(text, response.url):
            if not in_domains(url, self.domains):
                continue
            if self.pages_scheduled >= self.target.max_pages:
                self.crawler.stats.inc_value("radar/refused/page_limit")
                continue
            # Counted when scheduled, so duplicates dropped by the dupefilter also count
            # against the limit: the limit bounds work, it is not an exact page count.
            self.pages_scheduled += 1
            yield self._page_request(url, depth + 1)

    def parse_image(self, response: Response, **kwargs: Any) -> Iterator[ImageItem]:
        self.crawler.stats.inc_value("radar/images")
        yield ImageItem(
            # The URL as found on the page: what a notice names. Redirect hops are
            # followed by Scrapy (and each one passes the address guard).
            image_url=(response.meta.get("redirect_urls") or [response.url])[0],
            page_url=response.meta["radar_page"],
            site=site_of(response.url),
            case_id=self.target.case_id,
            target_id=self.target.id,
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
