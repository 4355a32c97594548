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

A re-check fetches the URL alone through the crawler (same address rule, caps,
hashing and matching) and records a sighting when the picture is still there, so the hit
shows when it was last seen: in the hit store of the mode (``elasticsearch=True``: the
distributed mode's hits in Elasticsearch; the result and the evidence stay in the
service store either way).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from crawler.storage import CrawlStore
from store import Target
from store.base import HitStore
from store.evidence import RecheckResult
from store.hitquery import SEARCH_MAX, HitQuery
from wire import utc_now


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
    from crawler.recheck import RecheckSpider, verdict
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
