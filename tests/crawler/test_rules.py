"""The crawler's pure rules: trap limits, sniffing, feeds and sitemaps, channel pages,
back-off, and the resolver (with a stub: nothing here connects anywhere)."""

from __future__ import annotations

import pytest
from twisted.internet.error import DNSLookupError

from crawler.addresses import parse_networks
from crawler.backoff import backoff_delay
from crawler.channel import parse_channel, preview_url
from crawler.feeds import parse_xml
from crawler.resolver import ForbiddenAddressError, GuardedResolver, check_addresses, stub_lookup
from crawler.sniff import sniff
from crawler.traps import TrapGuard, TrapLimits, is_calendar, repeated_segments, url_shape


def test_trap_guard_reasons() -> None:
    guard = TrapGuard(TrapLimits(max_domain_pages=6, max_shape_pages=3, max_calendar_pages=2))
    assert guard.refuse("http://a.test/" + "x" * 2100) == "url_length"
    assert guard.refuse("http://a.test/q?" + "&".join(f"k{i}=1" for i in range(13))) == (
        "query_params"
    )
    assert guard.refuse("http://a.test/a/b/a/b/a/b/a/") == "repeated_segments"
    assert [guard.refuse(f"http://a.test/cal/2031/0{m}") for m in (1, 2, 3)] == [
        None,
        None,
        "calendar",
    ]
    assert [guard.refuse(f"http://a.test/p/{n}") for n in (1, 2, 3, 4)] == [
        None,
        None,
        None,
        "url_shape",
    ]
    assert guard.refuse("http://a.test/other") is None  # the 6th page of a.test
    assert guard.refuse("http://a.test/more") == "domain_pages"
    assert guard.refuse("http://b.test/other") is None


@pytest.mark.parametrize(
    ("url", "calendar"),
    [
        ("http://a.test/events/2031/05/17", True),
        ("http://a.test/archive/2031-05", True),
        ("http://a.test/cal?month=5&year=2031", True),
        ("http://a.test/gallery?page=3", False),
        ("http://a.test/photo/123456", False),
    ],
)
def test_calendar_links(url: str, calendar: bool) -> None:
    assert is_calendar(url) is calendar


def test_url_shape_and_repeats() -> None:
    assert url_shape("http://a.test/p/12?b=1&a=2") == url_shape("http://a.test/p/7?a=9&b=3")
    assert repeated_segments("http://a.test/x/y/x/y/x") == 3


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"\xff\xd8\xff\xe0rest", "jpeg"),
        (b"\x89PNG\r\n\x1a\nrest", "png"),
        (b"GIF89a...", "gif"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x1cftypavif", "avif"),
        (b"  <!DOCTYPE html><html>", "html"),
        (b'<?xml version="1.0"?><svg xmlns="x">', "svg"),
        (b'<?xml version="1.0"?><rss version="2.0">', "feed"),
        (b"", "empty"),
        (b"\x00\x01\x02binary", "binary"),
        (b"plain words", "text"),
    ],
)
def test_sniff(body: bytes, kind: str) -> None:
    assert sniff(body) == kind


RSS = b"""<?xml version="1.0"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>t</title>
<item><link>https://a.test/post/1</link>
  <enclosure url="https://cdn.test/1.jpg" type="image/jpeg" length="1"/>
  <media:thumbnail url="https://cdn.test/1-small.jpg"/>
  <description>&lt;p&gt;&lt;img src="/inline.png"&gt;&lt;/p&gt;</description></item>
<item><link>https://a.test/post/2</link>
  <enclosure url="https://cdn.test/a.mp3" type="audio/mpeg"/></item>
</channel></rss>"""
ATOM = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
<entry><link href="https://a.test/e/1"/><link rel="enclosure" href="https://cdn.test/e1.png"
 type="image/png"/></entry></feed>"""
SITEMAP = b"""<?xml version="1.0"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"
 xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
<url><loc>https://a.test/page</loc><image:image><image:loc>https://a.test/i.jpg</image:loc>
</image:image></url></urlset>"""
INDEX = b"""<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>https://a.test/s1.xml</loc></sitemap></sitemapindex>"""
BOMB = b"""<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">
<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<rss><channel><item><link>&lol2;</link></item></channel></rss>"""
XXE = b"""<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<urlset><url><loc>https://a.test/&x;</loc></url></urlset>"""


def test_feeds_and_sitemaps() -> None:
    rss = parse_xml(RSS, "https://a.test/feed")
    assert rss.kind == "rss" and rss.pages == ["https://a.test/post/1", "https://a.test/post/2"]
    assert [(i.url, i.how) for i in rss.images] == [
        ("https://cdn.test/1.jpg", "feed-enclosure"),
        ("https://cdn.test/1-small.jpg", "feed-media"),
        ("https://a.test/inline.png", "feed-html"),
    ]
    atom = parse_xml(ATOM, "https://a.test/atom")
    assert atom.kind == "atom" and atom.pages == ["https://a.test/e/1"]
    assert [i.url for i in atom.images] == ["https://cdn.test/e1.png"]
    sitemap = parse_xml(SITEMAP, "https://a.test/sitemap.xml")
    assert sitemap.pages == ["https://a.test/page"]
    assert [i.url for i in sitemap.images] == ["https://a.test/i.jpg"]
    assert parse_xml(INDEX, "https://a.test/").sitemaps == ["https://a.test/s1.xml"]


@pytest.mark.parametrize("body", [BOMB, XXE, b"<rss><unclosed>", b"not xml", b""])
def test_hostile_xml_gives_nothing(body: bytes) -> None:
    found = parse_xml(body, "https://a.test/")
    assert not any("passwd" in p or "lol" in p for p in found.pages)
    assert not found.images


CHANNEL = """<html><body><section>
<a class="tme_messages_more" data-before="101" href="/s/chan?before=101"></a>
<div class="tgme_widget_message" data-post="chan/101">
 <a class="tgme_widget_message_photo_wrap" href="https://t.me/chan/101?single"
    style="width:10px;background-image:url('https://cdn.test/a.jpg')"></a></div>
<div class="tgme_widget_message" data-post="chan/102"><div class="tgme_widget_message_grouped_wrap">
 <a class="tgme_widget_message_photo_wrap" href="https://t.me/chan/102?single"
    style="background-image:url(https://cdn.test/b.jpg)"></a>
 <a class="tgme_widget_message_photo_wrap" href="https://t.me/chan/103?single"
    style="background-image:url('https://cdn.test/c.jpg')"></a></div>
 <i class="link_preview_image" style="background-image:url('https://cdn.test/d.jpg')"></i></div>
<div class="tgme_widget_message" data-post="other/7">
 <a class="tgme_widget_message_photo_wrap" style="background-image:url('https://cdn.test/x.jpg')"></a>
</div></section></body></html>"""


def test_channel_preview_parsing() -> None:
    page = parse_channel(CHANNEL, "https://t.me/s/chan")
    assert page.channel == "chan" and page.post_ids == [101, 102]
    assert [(p.key, p.image_url) for p in page.photos] == [
        ("https://t.me/chan/101", "https://cdn.test/a.jpg"),
        ("https://t.me/chan/102", "https://cdn.test/b.jpg"),
        ("https://t.me/chan/103", "https://cdn.test/c.jpg"),
        ("https://t.me/chan/102?photo=1", "https://cdn.test/d.jpg"),
    ]
    assert page.older == "https://t.me/s/chan?before=101"
    assert parse_channel("<html>junk</html>", "https://t.me/s/chan").older is None
    assert preview_url("https://t.me/chan") == "https://t.me/s/chan"
    with pytest.raises(ValueError):
        preview_url("https://t.me/a/b/c")


def test_backoff_grows_honours_retry_after_and_is_capped() -> None:
    assert 0.75 <= backoff_delay(1, 1.0, 30.0) <= 1.25
    assert 3.0 <= backoff_delay(3, 1.0, 30.0) <= 5.0
    assert backoff_delay(2, 1.0, 30.0, retry_after="20") >= 20.0
    assert backoff_delay(10, 1.0, 30.0, retry_after="3600") == 30.0


@pytest.mark.parametrize(
    "address", ["10.0.0.5", "192.168.1.1", "169.254.169.254", "127.0.0.1", "100.64.0.1", "0.0.0.0"]
)
def test_resolver_refuses_names_of_internal_addresses(address: str) -> None:
    resolver = GuardedResolver(None, lookup=stub_lookup({"evil.test": [address]}))
    with pytest.raises(ForbiddenAddressError):
        resolver.resolve_now("evil.test")
    assert "evil.test" in resolver.refused


def test_resolver_refuses_a_name_if_any_answer_is_forbidden() -> None:
    with pytest.raises(ForbiddenAddressError, match=r"169\.254\.169\.254"):
        check_addresses("mixed.test", ["93.184.215.14", "169.254.169.254"], ())


def test_resolver_pins_what_it_checked_against_rebinding() -> None:
    answers = iter([["93.184.215.14"], ["127.0.0.1"]])  # a rebinding name: public, then not
    resolver = GuardedResolver(None, lookup=lambda host: next(answers), cache_seconds=60)
    assert resolver.resolve_now("rebind.test") == "93.184.215.14"
    # The connection uses the checked answer (cached); the name is never asked twice
    # within the cache time, so a second, different answer cannot slip in.
    assert resolver.resolve_now("rebind.test") == "93.184.215.14"
    uncached = GuardedResolver(None, lookup=lambda host: next(answers_again), cache_seconds=0)
    answers_again = iter([["93.184.215.14"], ["127.0.0.1"]])
    assert uncached.resolve_now("rebind.test") == "93.184.215.14"
    with pytest.raises(ForbiddenAddressError):  # the second answer is checked too
        uncached.resolve_now("rebind.test")


def test_resolver_allow_list_and_unknown_names() -> None:
    resolver = GuardedResolver(
        None,
        allowed=parse_networks(["127.0.0.1/32"]),
        lookup=stub_lookup({"local.test": ["127.0.0.1"]}),
    )
    assert resolver.resolve_now("local.test") == "127.0.0.1"
    with pytest.raises(DNSLookupError):
        resolver.resolve_now("nowhere.test")


def test_a_feed_or_sitemap_with_a_broken_url_keeps_its_other_links() -> None:
    # Found by tests/fuzz: "http://[::1/x" raised ValueError out of parse_xml (the whole
    # sitemap was lost), and a blank in a host or port 99999 passed as a page URL.
    body = (
        b"<urlset><url><loc>http://[::1/x</loc></url><url><loc>http://a b.example/</loc></url>"
        b"<url><loc>http://h.example:99999/</loc></url><url><loc>https://a.test/ok</loc></url>"
        b"</urlset>"
    )
    assert parse_xml(body, "https://a.test/sitemap.xml").pages == ["https://a.test/ok"]


def test_slightly_malformed_sitemaps_and_feeds_are_recovered() -> None:
    """lxml's recover mode: an unclosed document and a stray ``&`` keep the entries that
    libxml2 can read (the URL holding the stray ``&`` comes out mangled, not dropped)."""
    sitemap = (
        b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        b"<url><loc>https://a.test/p?a=1&b=2</loc></url><url><loc>https://a.test/q</loc></url>"
    )
    found = parse_xml(sitemap, "https://a.test/")
    assert found.kind == "urlset" and "https://a.test/q" in found.pages
    assert len(found.pages) == 2
    feed = b"<rss><channel><item><link>https://a.test/x</link></item>"
    assert parse_xml(feed, "https://a.test/").pages == ["https://a.test/x"]
