"""Re-checking one URL named in a notice: is the picture still there, gone, or changed?

:class:`RecheckSpider` fetches the URL alone (depth 0) through the same guard, caps and
pipelines as a crawl, so the picture is hashed and matched exactly as before and a
re-sighting updates its hit. It records what happened to the URL itself;
:func:`verdict` turns that and the hits seen during the check into a status.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Response
from twisted.internet.error import DNSLookupError

from crawler.failures import reason_of
from crawler.resolver import ForbiddenAddressError, refusal
from crawler.sniff import sniff
from crawler.spider import TargetSpider, seed_request
from store.evidence import GONE_STATUSES


@dataclass
class Outcome:
    """What happened to the re-checked URL itself."""

    http_status: int = 0
    body_kind: str = ""  # from crawler.sniff: jpeg, html...
    error: str = ""  # "" or a crawler.failures.REASONS entry


def verdict(outcome: Outcome, matched: list[str], sha256: str = "") -> tuple[str, str]:
    """``(status, detail)`` for a re-check: ``gone`` (HTTP 404/410/451, or the host no
    longer exists), ``still_there`` (a reference matched again), ``changed`` (the URL
    answers but shows none of the case's pictures) or ``error`` (unknown: refused,
    timed out, not HTTP, server error; never reported as gone). An error's detail is
    ``could not fetch: <reason>`` with a :data:`crawler.failures.REASONS` entry."""
    if outcome.error == "no_such_host":
        return "gone", "the host name no longer resolves"
    if outcome.error:
        return "error", f"could not fetch: {outcome.error}"
    if outcome.http_status in GONE_STATUSES:
        return "gone", f"HTTP {outcome.http_status}"
    if 300 <= outcome.http_status < 400:  # the redirect middleware gave up: a loop
        return "error", "could not fetch: redirects"
    if outcome.http_status >= 400 or outcome.http_status == 0:
        return "error", f"HTTP {outcome.http_status}"
    if matched:
        return "still_there", "matches " + ", ".join(sorted(set(matched)))
    what = "image" if outcome.body_kind not in ("html", "text", "feed", "xml") else "page"
    return "changed", f"HTTP {outcome.http_status}, the {what} no longer shows a match"


class RecheckSpider(TargetSpider):
    name = "recheck"

    def __init__(self, target: Any, **kwargs: Any) -> None:
        super().__init__(target, **kwargs)
        self.outcome = Outcome()

    async def start(self) -> Any:
        request = self.page_request(seed_request(self.target), radar_seed=True)
        request.meta["handle_httpstatus_all"] = True
        request.meta.pop("radar_page_state", None)
        yield request.replace(callback=self.parse_seed, dont_filter=True, headers={})

    def parse_seed(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        self.outcome.http_status = response.status
        self.outcome.body_kind = sniff(response.body[:1024])
        if response.status >= 300:
            return
        yield from self.parse(response)

    def failed(self, failure: Any) -> None:
        if failure.request.meta.get("radar_seed"):
            host = urlsplit(failure.request.url).hostname
            if failure.check(IgnoreRequest, ForbiddenAddressError) or refusal(host):
                self.outcome.error = "refused_address"
            elif failure.check(CannotResolveHostError, DNSLookupError):
                self.outcome.error = "no_such_host"
            else:
                self.outcome.error = reason_of(failure.value)
        super().failed(failure)
