"""One product in both modes: the same case crawled by the embedded crawl and by 2 frontier
crawlers + 2 matchers on real Kafka and Elasticsearch finds the same hits, and keeps the
same crawl state and evidence.

The case has a target of every kind: a website (the demo site), a Telegram-shaped channel,
an RSS feed and a sitemap (each listing a page only they lead to) and a JavaScript gallery
rendered by Chromium. The distributed round is complete when `radar seed --wait` returns
(radar/rounds.py): every page of the round crawled, every image record of it matched and
stored. A re-check of a hit's picture then records its sighting in each mode's own hit
store (SQLite; Elasticsearch).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.storage import CrawlStore
from devservers.servers import Servers
from radar.demo.places import channel, js_gallery
from radar.demo.site import HTML, DemoServer, DemoSite, build_site, find_photos
from tests.integration.stack import Stack

PARTITIONS = 4


@pytest.fixture
def stack(servers: Servers, tmp_path: Path, postgres_db: str) -> Iterator[Stack]:
    s = Stack(servers, tmp_path, PARTITIONS, db=postgres_db)  # the store of every role
    yield s
    s.stop()


def listing_site(site: DemoSite, base: str) -> DemoSite:
    """A feed and a sitemap, each listing one page of its own that shows a planted copy
    (served here too): reachable only by parsing the XML as a feed or a sitemap."""
    files: dict[str, tuple[str, bytes]] = {}
    for n, (name, planted) in enumerate((("feed", site.planted[0]), ("map", site.planted[1]))):
        files[f"/{name}/copy.jpg"] = site.files[planted.path]
        page = f'<html><head><title>{name}</title></head><body><img src="/{name}/copy.jpg">'
        files[f"/{name}/post-{n}.html"] = (HTML, (page + "</body></html>").encode())
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        f"<item><title>p</title><link>{base}/feed/post-0.html</link></item></channel></rss>"
    )
    sitemap = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<url><loc>{base}/map/post-1.html</loc></url></urlset>"
    )
    files["/feed.xml"] = ("application/rss+xml", rss.encode())
    files["/sitemap.xml"] = ("application/xml", sitemap.encode())
    return DemoSite(files=files, planted=[], unrelated=[], references={})


def test_embedded_and_distributed_find_the_same_hits(
    stack: Stack, shared_images: Path, tmp_path: Path
) -> None:
    photos = find_photos(shared_images)
    site = build_site(photos)
    refs, others = sorted(site.references.values()), photos[len(site.references) :]
    with (
        DemoServer(site) as main,
        DemoServer(channel(refs[:3], others[:10])) as chan,
        DemoServer(js_gallery(refs[3:], others[10:])) as gallery,
        DemoServer(DemoSite({}, [], [], {})) as lists,
    ):
        lists.site = listing_site(site, lists.base_url)
        embedded_db = tmp_path / "embedded.db"
        for db in (stack.env["RADAR_DB"], str(embedded_db)):  # shared PostgreSQL; SQLite
            stack.radar("--db", db, "case", "create", "demo")
            refs_ = map(str, site.references.values())
            stack.radar("--db", db, "case", "add-references", "demo", *refs_)
            stack.radar(
                "--db", db, "case", "add-target", "demo", main.base_url + "/", "--max-depth", "4"
            )
            for url, kind, render in (
                (chan.base_url + "/s/snapshare", "telegram", "http"),
                (lists.base_url + "/feed.xml", "feed", "http"),
                (lists.base_url + "/sitemap.xml", "sitemap", "http"),
                (gallery.base_url + "/js-gallery", "website", "browser"),
            ):
                stack.radar(
                    "--db", db, "target", "add", "demo", url, "--kind", kind, "--render", render
                )

        started = time.monotonic()
        stack.radar(
            "--db", str(embedded_db), "crawl", "demo", "-q", "--allow-network", "127.0.0.1/32"
        )
        embedded = {
            (h.image_url, h.reference_label, h.algorithm)
            for h in CrawlStore(str(embedded_db)).hits("demo")
        }
        embedded_s = time.monotonic() - started
        embedded_requests = dict(lists.requests)

        stack.radar("bank-sync", "demo")
        for _ in range(2):
            stack.start("matcher")
            stack.start("crawler")
        started = time.monotonic()
        # `radar seed --wait` returns once every page of the round is crawled and every
        # image record it published is matched and stored: no polling for the hits here.
        seeded = stack.radar("seed", "demo", "--wait", "--timeout", "300", timeout=330)
        distributed_s = time.monotonic() - started
        distributed = {(h.image_url, h.reference_label, h.algorithm) for h in stack.all_hits()}
        report = seeded.stdout.splitlines()
        assert any(line.startswith("round finished after") for line in report), seeded.stdout
        rows = [line.split() for line in report if line.startswith("#")]
        assert len(rows) == 5, seeded.stdout  # one per target, each crawled
        assert all(int(row[-5]) >= 1 and row[-3] == "0" for row in rows), seeded.stdout
        assert sum(int(row[-1]) for row in rows) == len(distributed), seeded.stdout
        prefixes = {
            "channel": chan.base_url,
            "gallery": gallery.base_url,
            "feed": lists.base_url + "/feed/",
            "sitemap": lists.base_url + "/map/",
            "website": main.base_url,
        }

        # A re-check of a hit's picture records its sighting in the hit store of its
        # mode: SQLite embedded, Elasticsearch distributed (never the service store's
        # hits table, which the distributed mode does not read).
        url = min(u for u, _, _ in distributed if u.startswith(main.base_url))
        es_before = {h.id: h.seen_count for h in stack.all_hits() if h.image_url == url}
        sql_before = {h.id: h.seen_count for h in CrawlStore(str(embedded_db)).hits("demo")}
        for db, flags in ((str(embedded_db), ()), (stack.env["RADAR_DB"], ("--elasticsearch",))):
            out = stack.radar(
                "--db", db, "recheck", url, "--json", "--allow-network", "127.0.0.1/32", *flags
            )
            (result,) = [json.loads(line) for line in out.stdout.splitlines()]
            assert (result["status"], result["case_id"]) == ("still_there", "demo"), result
        es_after = {h.id: h.seen_count for h in stack.all_hits() if h.image_url == url}
        assert es_before and es_after == {k: n + 1 for k, n in es_before.items()}
        sql_after = {h.id: h.seen_count for h in CrawlStore(str(embedded_db)).hits("demo")}
        assert sql_after == {k: n + (k in es_before) for k, n in sql_before.items()}
        shared = CrawlStore(stack.env["RADAR_DB"])
        assert shared.hits("demo") == []  # the distributed mode's hits are all in ES
        assert [r.status for r in shared.rechecks(url)] == ["still_there"]
        shared.close()

    # Both modes keep incremental crawl state: every website target's seed page has its
    # validators, images and links in the store of its mode (PostgreSQL, shared by the
    # two crawlers, for the distributed one), and every hit image outside the channel
    # (whose photos are remembered by post) its hashes.
    for db in (stack.env["RADAR_DB"], str(embedded_db)):
        store = CrawlStore(db)
        for target in store.targets("demo"):
            if target.kind == "website":  # channels and lists are parsed whole each round
                assert store.page_state(target.id, target.url) is not None, (db, target.url)
        plain = [url for url, _, _ in embedded if not url.startswith(prefixes["channel"])]
        assert plain and all(store.image_state(url) is not None for url in plain), db
        # ... and the evidence a notice cites: for every hit image, a sighting of its
        # case with the page it was on (headers, status, the page's snapshot).
        for url in {url for url, _, _ in embedded}:
            sightings = store.evidence(image_url=url, case_id="demo")
            assert sightings, (db, url)
            assert all(e.page_url and e.http_status == 200 for e in sightings), (db, url)
        store.close()
    kinds = {k: {h for h in embedded if h[0].startswith(v)} for k, v in prefixes.items()}
    assert all(kinds.values()), f"a target kind found nothing embedded: {kinds}"
    assert distributed == embedded
    assert embedded_requests["/feed/post-0.html"] == 1
    # at least once per mode: parsed as a feed / sitemap both times (a crawler joining the
    # group may crawl a page of an uncommitted record again: at least once, never lost)
    assert lists.requests["/feed/post-0.html"] >= 2
    assert lists.requests["/map/post-1.html"] >= 2
    print(
        f"parity: {len(embedded)} hits; embedded crawl {embedded_s:.1f} s, "
        f"distributed (2 crawlers + 2 matchers, `radar seed --wait`) {distributed_s:.1f} s"
    )
