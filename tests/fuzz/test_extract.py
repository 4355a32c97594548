"""Page, feed and sitemap extraction from hostile markup: never an exception, and every
URL extracted passes the wire's URL rule (else it would become a dead letter)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from crawler.extract import extract_images, extract_links, largest_srcset_candidate
from crawler.feeds import parse_xml
from tests.fuzz.strategies import nasty_text, urlish
from wire.records import check_url

BASE = "https://site.example/dir/page.html"

attr = st.sampled_from(["src", "href", "srcset", "data-src", "style", "content", "property"])
value = st.one_of(urlish, nasty_text, st.builds(lambda u: f"background:url({u})", urlish))
element = st.builds(
    lambda tag, a, v, inner: f'<{tag} {a}="{v}">{inner}</{tag}>',
    st.sampled_from(["img", "a", "source", "picture", "div", "meta", "base", "link", "area"]),
    attr,
    value,
    nasty_text,
)
html = st.one_of(st.lists(element | nasty_text, max_size=8).map("".join), nasty_text)


@given(html)
@example('<base href="http://exa mple.com/"><img src="a.jpg">')
@example('<img src="http://h.example:99999/a.jpg"><a href="//[::1/x">x</a>')
@example('<img srcset="a.jpg 1x, b.jpg 99999999999999999999w">')
def test_html_extraction_yields_only_wire_urls(markup: str) -> None:
    for ref in extract_images(markup, BASE):
        check_url(ref.url, "image_url")
    for link in extract_links(markup, BASE):
        check_url(link, "page_url")


@given(nasty_text)
def test_srcset_parsing_never_fails(srcset: str) -> None:
    largest_srcset_candidate(srcset)


loc = st.builds(lambda u: f"<loc>{u}</loc>", urlish)
xml = st.one_of(
    st.builds(
        lambda locs: f"<urlset><url>{''.join(locs)}</url></urlset>", st.lists(loc, max_size=5)
    ),
    st.builds(
        lambda links: (
            "<rss><channel><item>"
            + "".join(f'<enclosure url="{u}" type="image/jpeg"/><link>{u}</link>' for u in links)
            + "</item></channel></rss>"
        ),
        st.lists(urlish, max_size=5),
    ),
    nasty_text,
)


@given(st.one_of(xml.map(str.encode), st.binary(max_size=512)))
@example(b'<!DOCTYPE x [<!ENTITY a "aaaa">]><urlset><url><loc>&a;</loc></url></urlset>')
@example(b"<urlset><url><loc>http://[::1/x</loc></url></urlset>")
@example(b"<urlset><url><loc>http://h.example:99999/</loc><loc>http://a b/</loc></url></urlset>")
@example(
    b'<rss><channel><item><enclosure url="http://[::1" type="image/png"/></item></channel></rss>'
)
def test_feed_and_sitemap_parsing_yields_only_wire_urls(body: bytes) -> None:
    found = parse_xml(body, BASE)
    for url in [*found.pages, *found.sitemaps, *(i.url for i in found.images)]:
        check_url(url, "url")
