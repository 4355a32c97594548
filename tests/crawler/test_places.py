"""Real crawls of a JavaScript gallery (with the real Chromium) and of a Telegram-shaped
channel preview, both served on 127.0.0.1 from benign photos."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

from crawler.storage import CrawlStore
from radar.demo.places import GALLERY_PAGES, PER_PAGE, channel, js_gallery
from radar.demo.site import DemoServer, DemoSite
from store import Target
from tests.crawler.harness import FixtureServer, Reply, crawl
from tests.crawler.test_hostile import case_with


@pytest.fixture(scope="session")
def chromium() -> str:
    """The browser the crawler renders with. Fails, never skips, when it is missing: a
    silently skipped browser suite would hide that JavaScript sites are not crawled."""
    from crawler.browser import BrowserMissing, chromium_path

    try:
        return chromium_path()
    except BrowserMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="module")
def gallery(kodak: list[Path]) -> DemoSite:
    return js_gallery(kodak[:3], kodak[10:22])


def _target(store: CrawlStore, url: str, **kwargs: object) -> int:
    return store.add_target(Target("c1", url, ("127.0.0.1",), **kwargs)).id  # type: ignore[arg-type]


def test_js_gallery_is_invisible_without_a_browser(gallery: DemoSite, tmp_path: Path) -> None:
    db = tmp_path / "radar.db"
    store = case_with(db, list(gallery.references.values()))
    with DemoServer(gallery) as server:
        tid = _target(store, server.base_url + "/js-gallery", max_depth=0)
        (report,) = crawl(db, [tid])
        assert not any(p.startswith("/api/") for p in server.requests)
    assert report.counts["pages"] == 1 and report.counts["images"] == 0
    assert store.hits("c1") == []


def test_js_gallery_rendered_by_chromium(
    chromium: str, gallery: DemoSite, kodak: list[Path], tmp_path: Path
) -> None:
    db = tmp_path / "radar.db"
    store = case_with(db, list(gallery.references.values()))
    # The gallery page also tries to reach an "internal service" on 127.0.0.2, which
    # only the browser would see: the proxy must refuse it before any connection.
    internal = FixtureServer({"prefix:/": Reply(body=b"secret")}, host="127.0.0.2")
    with internal, DemoServer(gallery) as server:
        page, script = gallery.files["/js-gallery"]
        probe = f"<script>fetch('{internal.url}/admin').catch(()=>0)</script>"
        gallery.files["/js-gallery"] = (
            page,
            script.replace(b"</body>", probe.encode() + b"</body>"),
        )
        tid = _target(store, server.base_url + "/js-gallery", max_depth=0, render="browser")
        (report,) = crawl(db, [tid], settings={"RADAR_BROWSER_MAX_PAGES": 1})
        api = sorted(p for p in server.requests if p.startswith("/api/"))
        media = [p for p in server.requests if p.startswith("/media/")]
    counts = report.counts
    assert api == [f"/api/gallery?page={n}" for n in range(1, GALLERY_PAGES + 1)]
    assert sum(internal.requests.values()) == 0 and counts["refused_address"] >= 1
    # Every photo was found in the rendered page and fetched by Scrapy, once: the
    # browser itself fetched no image (aborted), so each was requested exactly once.
    assert counts["images"] == GALLERY_PAGES * PER_PAGE == len(media)
    assert all(server.requests[p] == 1 for p in media)
    assert counts["browser:load_more_clicks"] >= GALLERY_PAGES - 2
    assert counts["browser:stopped/no_new_images"] == 1
    assert counts["browser:pages_opened"] == counts["browser:pages_closed"] == 1
    assert counts["browser:max_open_pages"] == 1
    planted = {(p.path, p.reference_label) for p in gallery.planted}
    found = {(urlsplit(h.image_url).path, h.reference_label) for h in store.hits("c1")}
    assert planted and found == planted
    (evidence, *_) = store.evidence(store.hits("c1")[0].image_url)
    assert evidence.rendered and evidence.page_title == "Live gallery"
    snapshot = store.page_snapshot(evidence.page_sha256)
    assert snapshot is not None and urlsplit(evidence.image_url).path in snapshot.html


def test_channel_preview_pages_back_and_keys_photos_by_post(
    kodak: list[Path], tmp_path: Path
) -> None:
    site = channel(kodak[:3], kodak[10:20], posts=30, per_page=10)
    db = tmp_path / "radar.db"
    store = case_with(db, list(site.references.values()))
    with DemoServer(site) as server:
        base = server.base_url
        tid = _target(store, base + "/s/snapshare", kind="telegram", max_pages=10)
        (first,) = crawl(db, [tid])
        cdn_first = sum(n for p, n in server.requests.items() if p.startswith("/cdn/"))
        (second,) = crawl(db, [tid])
        cdn_second = sum(n for p, n in server.requests.items() if p.startswith("/cdn/"))
        pages = sorted(p for p in server.requests if p.startswith("/s/"))
    assert pages == ["/s/snapshare", "/s/snapshare?before=11", "/s/snapshare?before=21"]
    counts = first.counts
    assert counts["pages"] == 3 and counts["channel:posts"] == 30
    photos = 30 + 2  # one per post, an album's second photo, a video thumbnail
    assert counts["images"] == photos == cdn_first
    hits = store.hits("c1")
    keys = {h.image_url for h in hits}
    assert keys == {f"{base}/snapshare/{2 + 3 * i}" for i in range(3)}
    for hit in hits:
        latest, original = store.evidence(hit.image_url)  # newest first
        assert urlsplit(original.fetched_url).path.startswith("/cdn/")
        evidence = latest
        assert evidence.page_url.startswith(base + "/s/snapshare")
    # Posts are immutable: the second crawl re-sights known photos without downloading.
    assert cdn_second == cdn_first
    assert second.counts["images_known"] == photos and second.counts["hits"] == 3
    assert {h.seen_count for h in store.hits("c1")} == {2}


@pytest.mark.parametrize("kind", ["feed", "sitemap"])
def test_feed_and_sitemap_targets(kodak: list[Path], tmp_path: Path, kind: str) -> None:
    from tests.crawler.test_hostile import html, jpeg

    feed = (
        '<?xml version="1.0"?><rss version="2.0"><channel><item><link>/post/1</link>'
        '<enclosure url="/enclosed.jpg" type="image/jpeg"/></item></channel></rss>'
    )
    sitemap = (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        "<sitemap><loc>/pages.xml</loc></sitemap></sitemapindex>"
    )
    pages = (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        'xmlns:image="http://www.google.com/schemas/sitemap-image/1.1"><url><loc>/post/1</loc>'
        "<image:image><image:loc>/enclosed.jpg</image:loc></image:image></url></urlset>"
    )
    xml = "application/xml"
    routes = {
        "/feed.xml": Reply(body=feed.encode(), content_type=xml),
        "/sitemap.xml": Reply(body=sitemap.encode(), content_type=xml),
        "/pages.xml": Reply(body=pages.encode(), content_type=xml),
        "/post/1": Reply(body=html('<img src="/in-post.jpg">')),
        "/enclosed.jpg": Reply(body=jpeg(kodak[8]), content_type="image/jpeg"),
        "/in-post.jpg": Reply(body=jpeg(kodak[9]), content_type="image/jpeg"),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[8], kodak[9]])
    with FixtureServer(routes) as site:
        seed = "/feed.xml" if kind == "feed" else "/sitemap.xml"
        tid = _target(store, site.url + seed, kind=kind, max_depth=0)
        (report,) = crawl(db, [tid])
    assert report.counts["xml:" + ("rss" if kind == "feed" else "urlset")] == 1
    assert site.requests["/post/1"] == 1
    assert {h.reference_label for h in store.hits("c1")} == {kodak[8].stem, kodak[9].stem}


def test_a_post_showing_one_photo_twice_is_one_sighting_named_by_the_post(
    kodak: list[Path], tmp_path: Path
) -> None:
    # A post whose photo is also its link preview, served under two CDN URLs (same
    # bytes): the analyst reviews one hit, and it names the post, which a notice cites.
    photo = kodak[0].read_bytes()
    post = (
        '<div class="tgme_widget_message" data-post="snapshare/7">'
        '<a class="tgme_widget_message_photo_wrap" href="/snapshare/7" '
        "style=\"background-image:url('/cdn/a.jpg')\"></a>"
        '<div class="tgme_widget_message_text">look</div>'
        '<i class="link_preview_image" style="background-image:url(\'/cdn/b.jpg\')"></i>'
        '<time datetime="2026-11-02T10:00:00+00:00">10:00</time></div>'
    )
    jpeg = "image/png" if photo.startswith(b"\x89PNG") else "image/jpeg"
    routes = {
        "/s/snapshare": Reply(body=f"<html><body>{post}</body></html>".encode()),
        "/cdn/a.jpg": Reply(body=photo, content_type=jpeg),
        "/cdn/b.jpg": Reply(body=photo, content_type=jpeg),
        "/robots.txt": Reply(body=b"User-agent: *\nAllow: /\n", content_type="text/plain"),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[0]])
    with FixtureServer(routes) as server:
        base = server.url
        tid = _target(store, base + "/s/snapshare", kind="telegram")
        (report,) = crawl(db, [tid])
        assert server.requests["/cdn/a.jpg"] == server.requests["/cdn/b.jpg"] == 1
        [hit] = store.hits("c1")
        (again,) = crawl(db, [tid])
        cdn = server.requests["/cdn/a.jpg"] + server.requests["/cdn/b.jpg"]
    assert report.counts["images"] == 2 and report.counts["images_same_sighting"] == 1
    # The first of the two to be hashed names the sighting: either is a key of post 7
    # (the post URL, or the post URL with the photo's index in the post).
    assert hit.image_url in (f"{base}/snapshare/7", f"{base}/snapshare/7?photo=1")
    assert hit.seen_count == 1 and hit.page_url == f"{base}/s/snapshare"
    # Only that one is in the crawl state: the next crawl has it at once and downloads
    # the other again, so the same key names the sighting in every round.
    assert again.counts["images_known"] == 1 and again.counts["images_same_sighting"] == 1
    assert cdn == 3
    [again_hit] = store.hits("c1")
    assert again_hit.image_url == hit.image_url and again_hit.seen_count == 2
    evidence = store.evidence(hit.image_url)  # one per crawl
    assert len(evidence) == 2


def test_gzip_sitemaps_are_inflated_and_a_gzip_bomb_is_dropped(
    kodak: list[Path], tmp_path: Path
) -> None:
    """``.xml.gz`` sitemaps (application/x-gzip, no Content-Encoding) are crawled as
    sitemaps; one that inflates past the page size limit (8 MiB) is dropped and counted
    while the rest of the crawl goes on."""
    import gzip

    from tests.crawler.test_hostile import html, jpeg

    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    index = (
        f'<?xml version="1.0"?><sitemapindex {ns}><sitemap><loc>/pages.xml.gz</loc></sitemap>'
        "<sitemap><loc>/bomb.xml.gz</loc></sitemap></sitemapindex>"
    )
    pages = f'<?xml version="1.0"?><urlset {ns}><url><loc>/post/1</loc></url></urlset>'
    bomb = gzip.compress(b"<urlset>" + b" " * (64 << 20), compresslevel=9)
    assert len(bomb) < 100_000  # small on the wire, 64 MiB inflated
    gz = "application/x-gzip"
    routes = {
        "/sitemap.xml.gz": Reply(body=gzip.compress(index.encode()), content_type=gz),
        "/pages.xml.gz": Reply(body=gzip.compress(pages.encode()), content_type=gz),
        "/bomb.xml.gz": Reply(body=bomb, content_type=gz),
        "/post/1": Reply(body=html('<img src="/in-post.jpg">')),
        "/in-post.jpg": Reply(body=jpeg(kodak[9]), content_type="image/jpeg"),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[9]])
    with FixtureServer(routes) as site:
        tid = _target(store, site.url + "/sitemap.xml.gz", kind="sitemap", max_depth=0)
        (report,) = crawl(db, [tid])
    assert site.requests["/bomb.xml.gz"] == 1
    assert report.counts["xml:gzip"] == 2
    assert report.counts["xml:sitemapindex"] == 1 and report.counts["xml:urlset"] == 1
    assert report.counts["refused_decompression_bomb/page"] == 1
    assert site.requests["/post/1"] == 1
    assert {h.reference_label for h in store.hits("c1")} == {kodak[9].stem}


def test_sitemaps_named_in_robots_txt_are_crawled(kodak: list[Path], tmp_path: Path) -> None:
    """A website target whose home page links nowhere: its pages are found through the
    ``Sitemap:`` line of robots.txt, as search engines find them."""
    from tests.crawler.test_hostile import html, jpeg

    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    pages = f'<?xml version="1.0"?><urlset {ns}><url><loc>/post/1</loc></url></urlset>'
    routes: dict[str, Reply] = {
        "/": Reply(body=html("<p>nothing linked</p>")),
        "/sitemap-posts.xml": Reply(body=pages.encode(), content_type="application/xml"),
        "/post/1": Reply(body=html('<img src="/in-post.jpg">')),
        "/in-post.jpg": Reply(body=jpeg(kodak[9]), content_type="image/jpeg"),
    }
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[9]])
    with FixtureServer(routes) as site:  # type: ignore[arg-type]
        robots = f"User-agent: *\nAllow: /\nSitemap: {site.url}/sitemap-posts.xml\n"
        routes["/robots.txt"] = Reply(body=robots.encode(), content_type="text/plain")
        tid = _target(store, site.url + "/", max_depth=0)
        (report,) = crawl(db, [tid])
    assert report.counts["xml:robots_sitemaps"] == 1 and report.counts["xml:urlset"] == 1
    assert site.requests["/sitemap-posts.xml"] == 1 and site.requests["/post/1"] == 1
    assert {h.reference_label for h in store.hits("c1")} == {kodak[9].stem}
