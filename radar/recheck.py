"""Re-check URLs named in notices: still there, gone, or changed.

Two entry points with one contract (a :class:`store.evidence.RecheckResult` per URL,
saved in the store, in the order given):

* :func:`recheck` -- for callers that live longer than one check (the review app, the
  notice workflow, the scheduler): runs ``radar recheck --json`` in a child process, so
  it can be called any number of times and never starts a reactor in the caller. Blocks
  until done (at most ``timeout`` seconds); raises :class:`RecheckFailed` if the child
  fails.
* :func:`recheck_in_process` -- does the work here; runs a Twisted reactor, so once per
  process (what the command itself calls).

A re-check fetches the URL alone through the crawler (:class:`RecheckSpider`: depth 0,
the same guard, caps and pipelines as a crawl, so the picture is hashed and matched
exactly as before), and :func:`verdict` turns what happened to the URL and the hits seen
during the check into a status. It records a sighting when the picture is still there,
so the hit shows when it was last seen: in the hit store of the mode
(``elasticsearch=True``: the distributed mode's hits in Elasticsearch; the result and
the evidence stay in the service store either way). The protocol the notice round
calls, and its other implementation (one guarded GET), are in :mod:`notices.recheck`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from scrapy.exceptions import CannotResolveHostError, IgnoreRequest
from scrapy.http import Response
from twisted.internet.error import DNSLookupError

from crawler.failures import reason_of
from crawler.resolver import ForbiddenAddressError, refusal
from crawler.sniff import sniff
from crawler.spider import TargetSpider, seed_request
from crawler.storage import CrawlStore
from store import Target
from store.base import HitStore
from store.evidence import GONE_STATUSES, RecheckResult
from store.hitquery import SEARCH_MAX, HitQuery
from wire import utc_now


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


class RecheckFailed(RuntimeError):
    """The re-check itself could not run (not: the URL is gone)."""


class CrawlRechecker:
    """The :class:`notices.recheck.Rechecker` through the crawler, for the notice round
    (``radar notices recheck --through-crawler``): each URL is re-checked by
    :func:`recheck` against the case of its hit, so a re-encoded or resized copy at the
    same URL is still there where a byte comparison says changed. The child saves the
    result (it comes back with its id); a re-check that cannot run is an ``error``."""

    def __init__(
        self,
        db: str | Path,
        allowed_networks: Sequence[str] = (),
        timeout: float = 300.0,
        elasticsearch: bool = False,
    ) -> None:
        self.db, self.allowed_networks, self.timeout = db, tuple(allowed_networks), timeout
        self.elasticsearch = elasticsearch

    def check(self, url: str, expected_sha256: str, case_id: str = "") -> RecheckResult:
        try:
            (result,) = recheck(
                self.db,
                [url],
                case_id or None,
                self.allowed_networks,
                self.timeout,
                elasticsearch=self.elasticsearch,
            )
        except RecheckFailed as exc:
            return RecheckResult(
                url, "error", utc_now(), case_id, detail=f"could not re-check: {exc}"
            )
        return result


def _target_for(store: CrawlStore, hits: HitStore, url: str, case_id: str | None) -> Target:
    """A depth-0 target for the URL, bound to the case of its hits (or ``case_id``)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"bad URL {url!r}: need http(s)://host/...")
    if case_id is None:
        found = hits.find_hits(HitQuery(search=url[:SEARCH_MAX], order="first_seen", limit=1000))
        known = [h for h in found if url in (h.image_url, h.page_url)]
        if not known:
            raise ValueError(f"no hit names {url}: give the case (--case)")
        case_id = known[0].case_id
    store.get_case(case_id)
    host = parts.hostname.lower()
    return Target(case_id, url, (host,), max_depth=0, max_pages=1)


def recheck_in_process(
    store: CrawlStore,
    urls: Sequence[str],
    case_id: str | None = None,
    allowed_networks: tuple[str, ...] = (),
    settings: dict[str, Any] | None = None,
    hits: HitStore | None = None,
) -> list[RecheckResult]:
    """Re-check ``urls`` now, in this process (see the module docstring); sightings go
    to ``hits`` (default: ``store``'s own hits)."""
    from radar.crawl import run_crawls

    # Each URL is its own (unsaved) target: ids -1, -2... tell their sightings apart.
    hit_store: HitStore = store if hits is None else hits
    targets = [
        replace(_target_for(store, hit_store, url, case_id), id=-(i + 1))
        for i, url in enumerate(urls)
    ]
    run = run_crawls(
        store,
        targets,
        allowed_networks,
        progress=None,
        settings=settings,
        incremental=False,
        spider_cls=RecheckSpider,
        save_reports=False,
        hits=hits,
    )
    results = []
    for target, spider in zip(targets, run.spiders, strict=True):
        matched = run.matched.get(target.id, {})
        if spider is None:  # not fetched: the URL cannot be crawled (run.failed says why)
            status, detail, http_status = "error", "could not fetch: bad_url", 0
        else:
            status, detail = verdict(spider.outcome, list(matched))
            http_status = spider.outcome.http_status
        result = RecheckResult(
            url=target.url,
            status=status,
            checked_at=utc_now(),
            case_id=target.case_id,
            http_status=http_status,
            content_sha256=next(iter(matched.values()), ""),
            detail=detail,
            matched=tuple(sorted(matched)),
        )
        results.append(store.save_recheck(result))
    return results


def recheck(
    db: str | Path,
    urls: Sequence[str],
    case_id: str | None = None,
    allowed_networks: Sequence[str] = (),
    timeout: float = 300.0,
    elasticsearch: bool = False,
) -> list[RecheckResult]:
    """Re-check ``urls`` in a child process (see the module docstring)."""
    argv = [sys.executable, "-m", "radar", "--db", str(db), "recheck", "--json", *urls]
    if elasticsearch:
        argv.append("--elasticsearch")
    if case_id:
        argv += ["--case", case_id]
    for network in allowed_networks:
        argv += ["--allow-network", network]
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=timeout, check=False, env=os.environ
        )
    except subprocess.TimeoutExpired:
        raise RecheckFailed(f"re-check did not finish in {timeout:.0f}s") from None
    if done.returncode != 0:
        raise RecheckFailed(done.stderr.strip().splitlines()[-1] if done.stderr else "failed")
    results = []
    for line in done.stdout.splitlines():
        data = json.loads(line)
        data["matched"] = tuple(data.get("matched", ()))
        results.append(RecheckResult(**data))
    return results
