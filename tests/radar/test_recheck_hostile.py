"""``radar recheck`` (the crawler's single-URL re-check) against a hostile host on
127.0.0.1: each failure is an ``error`` named with the fetch-failure vocabulary
(crawler/failures.py), and the round goes on to the next URL."""

from __future__ import annotations

from pathlib import Path

from crawler.failures import REASONS
from crawler.storage import CrawlStore
from radar.recheck import recheck
from store import Case
from tests.hostile_hosts import HostileHost


def test_recheck_round_goes_on_past_hostile_hosts(tmp_path: Path) -> None:
    db = tmp_path / "radar.db"
    store = CrawlStore(db)
    store.create_case(Case("c1", "hostile hosts"))
    modes = ["/garbage", "/huge-header", "/silent", "/redirect-loop", "/ok.png"]
    with HostileHost() as host:
        urls = [host.url(mode) for mode in modes]
        results = recheck(db, urls, case_id="c1", allowed_networks=["127.0.0.1/32"], timeout=120)
        assert host.connections["/ok.png"] == 1
    assert [r.url for r in results] == urls
    *failed, last = results
    assert [r.status for r in failed] == ["error"] * len(failed), [r.detail for r in failed]
    for r in failed:
        assert r.detail.startswith("could not fetch: ") or r.detail.startswith("HTTP "), r.detail
        if r.detail.startswith("could not fetch: "):
            assert r.detail.removeprefix("could not fetch: ") in REASONS, r.detail
    assert results[0].detail == "could not fetch: not_http"
    assert last.status == "changed" and last.http_status == 200
    assert [r.status for r in store.rechecks(urls[0])] == ["error"]
