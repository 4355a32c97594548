"""Tests for crawler.extract: image URLs and links from one (possibly hostile) HTML page.

Nothing is fetched: example.org / example.com only appear inside test HTML.
"""

from __future__ import annotations

import dataclasses
import random

import pytest

from crawler.extract import (
    HOWS,
    IMAGE_EXTENSIONS,
    MAX_IMAGES,
    MAX_JSON_NODES,
    MAX_LINKS,
    ImageRef,
    extract_images,
    extract_links,
    largest_srcset_candidate,
)

BASE = "https://example.org/dir/sub/page.html"

URL_FORMS = [
    pytest.param("x.jpg", "https://example.org/dir/sub/x.jpg", id="relative"),
    pytest.param("/x.jpg", "https://example.org/x.jpg", id="absolute-path"),
    pytest.param("../x.jpg", "https://example.org/dir/x.jpg", id="dot-dot"),
    pytest.param("//cdn.example.org/x.jpg", "https://cdn.example.org/x.jpg", id="protocol-rel"),
    pytest.param("http://example.com/x.jpg", "http://example.com/x.jpg", id="absolute"),
]

# One minimal snippet per HOW; "{u}" is replaced by the URL under test.
HOW_TEMPLATES = {
    "img": '<img src="{u}">',
    "srcset": '<img srcset="{u} 2x">',
    "data-src": '<img data-src="{u}">',
    "og:image": '<meta property="og:image" content="{u}">',
    "twitter:image": '<meta name="twitter:image" content="{u}">',
    "css-background": "<div style=\"background-image: url('{u}')\"></div>",
    "style-block": "<style>.hero { background: #000 url({u}) no-repeat; }</style>",
    "link": '<a href="{u}">full size</a>',
    "picture-source": '<picture><source srcset="{u} 640w"><img alt=""></picture>',
    "video-poster": '<video poster="{u}" src="/clip.mp4"></video>',
    "preload": '<link rel="preload" as="image" href="{u}">',
    "itemprop": '<meta itemprop="image" content="{u}">',
    "json-ld": '<script type="application/ld+json">{"@type": "Article", "image": "{u}"}</script>',
    "svg-image": '<svg viewBox="0 0 10 10"><image href="{u}" width="10"/></svg>',
}


def page(body: str, head: str = "") -> str:
    return f"<!DOCTYPE html><html><head>{head}</head><body>{body}</body></html>"


def images(html: str, base_url: str = BASE) -> list[tuple[str, str]]:
    return [(ref.url, ref.how) for ref in extract_images(html, base_url)]


def test_templates_cover_every_how() -> None:
    assert set(HOW_TEMPLATES) == set(HOWS)


@pytest.mark.parametrize(("raw", "expected"), URL_FORMS)
@pytest.mark.parametrize("how", HOWS)
def test_every_how_resolves_every_url_form(how: str, raw: str, expected: str) -> None:
    html = page(HOW_TEMPLATES[how].replace("{u}", raw))
    assert extract_images(html, BASE) == [ImageRef(expected, how)]


@pytest.mark.parametrize(
    "attr",
    ["data-src", "data-lazy-src", "data-original", "data-lazy", "data-url", "data-full", "data-bg"],
)
@pytest.mark.parametrize("tag", ["img", "div", "span"])
def test_lazy_loading_attributes_on_any_element(attr: str, tag: str) -> None:
    html = page(f'<{tag} {attr}="/lazy/x.webp"></{tag}>')
    assert images(html) == [("https://example.org/lazy/x.webp", "data-src")]


@pytest.mark.parametrize(
    ("attrs", "expected"),
    [
        ('data-srcset="/s.jpg 320w, /l.jpg 1280w, /m.jpg 640w"', "https://example.org/l.jpg"),
        ('data-bg="url(/bg.png)"', "https://example.org/bg.png"),
        ("data-bg=\"url('/bg.png')\"", "https://example.org/bg.png"),
    ],
)
def test_lazy_srcset_and_css_valued_attributes(attrs: str, expected: str) -> None:
    assert images(page(f"<div {attrs}></div>")) == [(expected, "data-src")]


def test_img_src_srcset_and_lazy_attributes_in_element_order() -> None:
    html = page('<img src="/ph.gif" srcset="/a.jpg 1x, /b.jpg 2x" data-src="/real.jpg">')
    assert images(html) == [
        ("https://example.org/ph.gif", "img"),
        ("https://example.org/b.jpg", "srcset"),
        ("https://example.org/real.jpg", "data-src"),
    ]


@pytest.mark.parametrize(
    ("meta", "how"),
    [
        ('property="og:image"', "og:image"),
        ('property="og:image:url"', "og:image"),
        ('property="og:image:secure_url"', "og:image"),
        ('name="og:image"', "og:image"),
        ('property=" OG:Image "', "og:image"),
        ('name="twitter:image"', "twitter:image"),
        ('name="twitter:image:src"', "twitter:image"),
        ('property="twitter:image"', "twitter:image"),
    ],
)
def test_meta_images(meta: str, how: str) -> None:
    html = page("", head=f'<meta {meta} content="/card.png">')
    assert images(html) == [("https://example.org/card.png", how)]


@pytest.mark.parametrize(
    "meta", ['property="og:title"', 'property="og:image:width"', 'name="description"', ""]
)
def test_other_meta_ignored(meta: str) -> None:
    assert images(page("", head=f'<meta {meta} content="/card.png">')) == []


@pytest.mark.parametrize(
    ("style", "expected"),
    [
        ("background-image: url(/a.jpg)", ["/a.jpg"]),
        ("background-image:url('/a.jpg')", ["/a.jpg"]),
        ("background-image: url(&quot;/a.jpg&quot;)", ["/a.jpg"]),
        ("background-image: url(  /a.jpg  )", ["/a.jpg"]),
        ("BACKGROUND-IMAGE: URL(/a.jpg)", ["/a.jpg"]),
        ("background: #fff url(/a.jpg) no-repeat center / cover", ["/a.jpg"]),
        ("color: red; background: url(/a.jpg), url('/b.png') !important", ["/a.jpg", "/b.png"]),
        ("background-image: url(data:image/png;base64,iVBOR), url(/b.png)", ["/b.png"]),
        ("background-image: url('data:image/svg+xml;utf8,<svg/>'), url(/b.png)", ["/b.png"]),
        ("border-image: url(/a.png) 30; list-style-image: url(/b.png)", []),
        ("/* background: url(/a.jpg) */ color: red", []),
        ("background: url(", []),
        ("background-image: url('/a.jpg", []),
        # image-set() and the background shorthand
        ("background-image: image-set(url(/a.png) 1x, url('/b.png') 2x)", ["/a.png", "/b.png"]),
        ("background-image:-webkit-image-set(url(/a.png) 1x,url(/b.png) 2x)", ["/a.png", "/b.png"]),
        ("background-image: image-set('/a.png' 1x, '/b.png' 2x)", ["/a.png", "/b.png"]),
        ("background-image: -webkit-image-set('/a.png' 1x)", ["/a.png"]),
        (
            "background-image: image-set('/a.avif' type('image/avif'),"
            " '/a.jpg' type('image/jpeg'))",
            ["/a.avif", "/a.jpg"],
        ),
        ("background: #000 image-set('/hero.webp' 1x) center / cover no-repeat", ["/hero.webp"]),
        (
            "background: url(/x.jpg), image-set('/y.jpg' 1x, url(/z.jpg) 2x)",
            ["/x.jpg", "/y.jpg", "/z.jpg"],
        ),
        ("content: image-set('/not-a-background.png' 1x)", []),
        ("background-image: image-set('/open.png' 1x", ["/open.png"]),
        ("background-image: my-image-set('/no.png' 1x)", []),
        ("background-image: linear-gradient('/no.png', red)", []),
    ],
)
def test_inline_style_backgrounds(style: str, expected: list[str]) -> None:
    html = page(f'<div style="{style}">x</div>')
    assert images(html) == [(f"https://example.org{p}", "css-background") for p in expected]


def test_style_block_backgrounds() -> None:
    css = """
        @import url(/theme.css);
        /* .old { background: url(/old.jpg) } */
        .a { background-image:url("/a.png") }
        .b:hover { color: #000; background: url('/b.gif') repeat-x, url(c.webp); }
        .c { border-image: url(/border.png) }
    """
    assert images(page("", head=f"<style>{css}</style>")) == [
        ("https://example.org/a.png", "style-block"),
        ("https://example.org/b.gif", "style-block"),
        ("https://example.org/dir/sub/c.webp", "style-block"),
    ]


@pytest.mark.parametrize("ext", IMAGE_EXTENSIONS)
def test_links_to_image_files_are_images(ext: str) -> None:
    html = page(f'<a href="/full/1{ext}">a</a><a href="/full/2{ext.upper()}?size=xl#top">b</a>')
    assert images(html) == [
        (f"https://example.org/full/1{ext}", "link"),
        (f"https://example.org/full/2{ext.upper()}?size=xl", "link"),
    ]
    assert extract_links(html, BASE) == []


@pytest.mark.parametrize(
    "href", ["/a.jpg.html", "/jpg", "/a.jpg/", "/view?file=a.jpg", "http://img.example.jpg"]
)
def test_links_that_only_look_like_images_are_pages(href: str) -> None:
    html = page(f'<a href="{href}">x</a>')
    assert images(html) == []
    assert len(extract_links(html, BASE)) == 1


def test_picture_sources_only_inside_picture() -> None:
    html = page(
        '<picture><source type="image/avif" srcset="/a.avif 1x, /a2.avif 2x">'
        '<source srcset="/b.webp 400w, /b-big.webp 1200w"><img src="/c.jpg"></picture>'
        '<video><source srcset="/v.jpg" src="/v.mp4"></video><source srcset="/lost.jpg">'
    )
    assert images(html) == [
        ("https://example.org/a2.avif", "picture-source"),
        ("https://example.org/b-big.webp", "picture-source"),
        ("https://example.org/c.jpg", "img"),
    ]


def test_noscript_fallback_images_are_found() -> None:
    html = page('<img data-src="/x.jpg"><noscript><img src="/x.jpg"><img src="/y.jpg"></noscript>')
    assert images(html) == [
        ("https://example.org/x.jpg", "data-src"),
        ("https://example.org/y.jpg", "img"),
    ]


@pytest.mark.parametrize(
    ("base_tags", "expected_img", "expected_link"),
    [
        (
            '<base href="https://example.com/assets/">',
            "https://example.com/assets/x.jpg",
            "https://example.com/assets/next.html",
        ),
        (
            '<base href="/static/v2/">',
            "https://example.org/static/v2/x.jpg",
            "https://example.org/static/v2/next.html",
        ),
        (
            '<base target="_blank"><base href="//cdn.example.com/">',
            "https://cdn.example.com/x.jpg",
            "https://cdn.example.com/next.html",
        ),
        (
            '<base href="https://example.com/one/"><base href="https://example.com/two/">',
            "https://example.com/one/x.jpg",
            "https://example.com/one/next.html",
        ),
        (
            '<base href="javascript:alert(1)">',
            "https://example.org/dir/sub/x.jpg",
            "https://example.org/dir/sub/next.html",
        ),
        (
            '<base href="http://[::1">',
            "https://example.org/dir/sub/x.jpg",
            "https://example.org/dir/sub/next.html",
        ),
    ],
)
def test_base_href(base_tags: str, expected_img: str, expected_link: str) -> None:
    html = page('<img src="x.jpg"><a href="next.html">n</a>', head=base_tags)
    assert images(html) == [(expected_img, "img")]
    assert extract_links(html, BASE) == [expected_link]


@pytest.mark.parametrize(
    ("srcset", "expected"),
    [
        ("a.jpg 100w, b.jpg 300w, c.jpg 200w", "b.jpg"),
        ("a.jpg 1x, b.jpg 2x, c.jpg 1.5x", "b.jpg"),
        ("a.jpg, b.jpg 1.5x", "b.jpg"),
        ("a.jpg 2x, b.jpg", "a.jpg"),
        ("a.jpg 0.5x, b.jpg", "b.jpg"),
        ("a.jpg 1e1x, b.jpg 2x", "a.jpg"),
        ("a.jpg, b.jpg", "b.jpg"),
        ("a.jpg", "a.jpg"),
        ("a.jpg 100w, b.jpg 100w", "a.jpg"),
        ("a.jpg 100w 50h, b.jpg 80w", "a.jpg"),
        ("a.jpg 900w, b.jpg 2x", "a.jpg"),
        ("  a.jpg\t640w,\n\nb.jpg   1280w  ", "b.jpg"),
        ("a.jpg 100w,b.jpg 200w", "b.jpg"),
        ("a.jpg,, , b.jpg 2x,", "b.jpg"),
        (
            "https://res.cloudinary.com/demo/image/upload/w_100,h_100,c_fill/s.jpg 100w, "
            "https://res.cloudinary.com/demo/image/upload/w_400,h_400,c_fill/s.jpg 400w",
            "https://res.cloudinary.com/demo/image/upload/w_400,h_400,c_fill/s.jpg",
        ),
        ("https://example.org/w_100,h_100/s.jpg", "https://example.org/w_100,h_100/s.jpg"),
        ("/w_1,h_1/a.jpg 1x,/w_2,h_2/a.jpg 2x", "/w_2,h_2/a.jpg"),
        ("a.jpg,b.jpg 2x", "a.jpg,b.jpg"),  # spec: no whitespace, so one URL with a comma
        ("data:image/png;base64,iVBOR 1x, real.png 2x", "real.png"),
        ("a.jpg 1x (x, y), b.jpg 1x", "b.jpg"),  # commas inside parens do not split
        ("a.jpg 100q, b.jpg 10w", "b.jpg"),
        ("a.jpg 0w, b.jpg 10w", "b.jpg"),
        ("a.jpg -1x, b.jpg 0.1x", "b.jpg"),
        ("a.jpg 100w 2x, b.jpg 10w", "b.jpg"),
        ("a.jpg 50h, b.jpg 10w", "b.jpg"),
        ("a.jpg 1x 1x, b.jpg 0.5x", "b.jpg"),
        ("a.jpg 1.x, b.jpg 0.5x", "b.jpg"),
        (f"a.jpg {'9' * 5000}w, b.jpg 10w", "b.jpg"),
        (f"a.jpg 1e{'9' * 50}x, b.jpg 2x", "a.jpg"),
    ],
)
def test_largest_srcset_candidate(srcset: str, expected: str) -> None:
    assert largest_srcset_candidate(srcset) == expected


@pytest.mark.parametrize(
    "srcset", ["", "   ", ",,, ,", "a.jpg 10q", "a.jpg 0w", "a.jpg -2x", "a.jpg 10w 10w", "a.jpg w"]
)
def test_largest_srcset_candidate_none(srcset: str) -> None:
    assert largest_srcset_candidate(srcset) is None


def test_deduplicated_first_how_wins_in_document_order() -> None:
    html = page(
        '<img src="/a.jpg"><a href="https://example.org/a.jpg#zoom">zoom</a>'
        '<div style="background: url(../../a.jpg)"></div><img src="/b.jpg" data-src="/a.jpg">'
        '<img src="/b.jpg#2">',
        head='<meta property="og:image" content="/b.jpg">',
    )
    assert images(html) == [
        ("https://example.org/b.jpg", "og:image"),
        ("https://example.org/a.jpg", "img"),
    ]


@pytest.mark.parametrize(
    "src",
    [
        "",
        "   ",
        "data:image/png;base64,iVBORw0KGgo=",
        " DATA:image/gif;base64,R0lGODlh",
        "javascript:alert(1)",
        "JaVaScRiPt:void(0)",
        "java\nscript:alert(1)",
        "mailto:x@example.org",
        "tel:+15550100",
        "ftp://example.org/x.jpg",
        "file:///tmp/x.jpg",
        "about:blank",
        "blob:https://example.org/1234",
        "http:///x.jpg",
        "http://[::1/x.jpg",
        "http://example.org:99999/x.jpg",
        "http://example.org:port/x.jpg",
        "http://exa mple.org/x.jpg",
        "http://%zz/x.jpg",
        "http://\ufffd/x.jpg",
        "/" + "a" * 10_000 + ".jpg",
    ],
)
def test_unusable_urls_are_skipped(src: str) -> None:
    html = page(f'<img src="{src}" data-src="{src}"><div style="background: url({src})">')
    assert images(html) == []
    assert extract_links(page(f'<a href="{src}">x</a>'), BASE) == []


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("/a b.jpg", "https://example.org/a%20b.jpg"),
        ("/caf\u00e9.jpg?q=\u00e9", "https://example.org/caf%C3%A9.jpg?q=%C3%A9"),
        ("http://b\u00fccher.example/x.jpg", "http://xn--bcher-kva.example/x.jpg"),
        ("HTTPS://Example.ORG/A.JPG", "https://example.org/A.JPG"),
        ("  \n /x.jpg\t ", "https://example.org/x.jpg"),
        ("/x\n.jp\tg", "https://example.org/x.jpg"),
        ("/x.jpg#frag#more", "https://example.org/x.jpg"),
        ("/x.jpg?a=1&amp;b=2#f", "https://example.org/x.jpg?a=1&b=2"),
    ],
)
def test_urls_are_canonicalised(src: str, expected: str) -> None:
    assert images(page(f'<img src="{src}">')) == [(expected, "img")]


def test_links_in_document_order_deduplicated_without_fragments() -> None:
    html = page(
        '<a href="next.html#top">1</a><a href="/about">2</a><a>no href</a>'
        '<map><area href="../area.html" shape="rect"></map><a href="/about#team">3</a>'
        '<a href="http://example.com/x?y=1">4</a><a href="next.html">5</a>'
        '<a href="#top">self</a><link href="/ignored.css" rel="stylesheet">'
    )
    assert extract_links(html, BASE) == [
        "https://example.org/dir/sub/next.html",
        "https://example.org/about",
        "https://example.org/dir/area.html",
        "http://example.com/x?y=1",
        "https://example.org/dir/sub/page.html",
    ]


@pytest.mark.parametrize(
    "href",
    [
        "mailto:someone@example.org",
        "javascript:void(0)",
        "data:text/html,<p>hi</p>",
        "tel:+15550100",
        "ftp://example.org/",
        "/photo.jpg",
        "//cdn.example.org/photo.PNG?w=1",
        "/photo.heic#zoom",
    ],
)
def test_links_exclude_other_schemes_and_images(href: str) -> None:
    assert extract_links(page(f'<a href="{href}">x</a><area href="{href}">'), BASE) == []


@pytest.mark.parametrize(
    ("href", "expected"), [("", []), ("  ", []), ("#", [BASE]), ("#a", [BASE])]
)
def test_empty_href_ignored_fragment_only_href_is_the_page(href: str, expected: list[str]) -> None:
    assert extract_links(page(f'<a href="{href}">x</a>'), BASE + "#old") == expected


def test_image_cap() -> None:
    html = page("".join(f'<img src="/i/{n}.jpg">' for n in range(5000)))
    found = extract_images(html, BASE)
    assert len(found) == MAX_IMAGES == 2000
    assert found[0].url == "https://example.org/i/0.jpg"
    assert found[-1].url == "https://example.org/i/1999.jpg"


def test_link_cap() -> None:
    html = page("".join(f'<a href="/p/{n}">{n}</a>' for n in range(5000)))
    links = extract_links(html, BASE)
    assert len(links) == MAX_LINKS == 2000
    assert links[-1] == "https://example.org/p/1999"


def test_cap_counts_distinct_urls() -> None:
    html = page('<img src="/same.jpg">' * 5000 + '<img src="/other.jpg">')
    assert len(extract_images(html, BASE)) == 2


JUNK = bytes((n * 7919 + n // 3) % 256 for n in range(200_000)).decode("latin-1")
HOSTILE = [
    pytest.param("", id="empty"),
    pytest.param("\x00\x00\x00", id="nuls"),
    pytest.param(JUNK, id="binary-junk-latin1"),
    pytest.param("<img src=/a.jpg" + JUNK, id="tag-then-junk"),
    pytest.param('<img src="/a.jpg', id="unclosed-attribute"),
    pytest.param("<div><p><span><a href='/x'><img src='/y.jpg'", id="unclosed-tags"),
    pytest.param("<<<>>><!--<![CDATA[<script>", id="broken-markup"),
    pytest.param("<style>.a{background:url(/s.png)", id="unclosed-style"),
    pytest.param("\ud800<img src='/\udc00.jpg'><a href='/\udfff'>", id="lone-surrogates"),
    pytest.param('["<img src=/a.jpg>"]', id="json-looking"),
    pytest.param('<?xml version="1.0"?><img src="/a.jpg"><br>', id="xml-declaration"),
    pytest.param("<div>" * 5000 + "<img src='/deep.jpg'>" + "</div>" * 5000, id="deep-5000"),
    pytest.param("<img src='/" + "a" * 2_000_000 + "'>", id="huge-attribute"),
    pytest.param("<img srcset='" + "x.jpg 1x, " * 20_000 + "'>", id="huge-srcset"),
    pytest.param("<img srcset='" + "a.jpg (" * 100_000 + "'>", id="srcset-open-parens"),
    pytest.param("<div style='" + "background:(url(" * 100_000 + "'>", id="css-open-parens"),
    pytest.param("<style>" + 'background:url("' * 100_000 + "</style>", id="css-open-quotes"),
    pytest.param("<style>" + "/*" * 100_000 + "</style>", id="css-open-comments"),
    pytest.param("<a href='http://[::1'>a</a><img src='http://[::1'>", id="bad-ipv6"),
    pytest.param("<img src='http://example.org:0x50/x.jpg'>", id="bad-port"),
    pytest.param("<a href='" + "\u202e\ufeff\u200b" * 100 + "'>", id="bidi-zero-width"),
]


@pytest.mark.parametrize("html", HOSTILE)
@pytest.mark.parametrize("base_url", [BASE, "", "not a url", "http://[::1", "https://\ud800/"])
def test_hostile_input_never_raises(html: str, base_url: str) -> None:
    found = extract_images(html, base_url)
    links = extract_links(html, base_url)
    assert all(isinstance(ref, ImageRef) and ref.how in HOWS for ref in found)
    assert all(u.startswith(("http://", "https://")) and "#" not in u for u in links)
    assert all(ref.url.startswith(("http://", "https://")) for ref in found)


@pytest.mark.parametrize(
    "html", ['["<img src=/a.jpg>"]', '<?xml version="1.0"?><img src="/a.jpg"><br>']
)
def test_json_or_xml_looking_pages_are_parsed_as_html(html: str) -> None:
    assert images(html) == [("https://example.org/a.jpg", "img")]


def test_deeply_nested_page_within_parser_limit_is_read() -> None:
    html = "<div>" * 1000 + "<img src='/deep.jpg'>" + "</div>" * 1000 + "<img src='/after.jpg'>"
    assert images(html) == [
        ("https://example.org/deep.jpg", "img"),
        ("https://example.org/after.jpg", "img"),
    ]


def test_random_junk_keeps_invariants() -> None:
    rng = random.Random(20240601)
    pieces = [*'<>"\'=/ \n\t&;#:()[],.%\\\x00\ud800\ufffd', "<img src=", "<a href=", " srcset=",
              "http://", "//", "url(", " style=", "background:", "<base href=", "<picture>",
              "<source ", "data:", " 1x", " 100w", "<style>", "<meta property=og:image content=",
              " data-src=", ".jpg", "example.org", "javascript:", "[::1"]  # fmt: skip
    for _ in range(400):
        html = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 120)))
        base = rng.choice([BASE, "", "http://[::1"])
        found = extract_images(html, base)
        assert len({ref.url for ref in found}) == len(found)
        assert all(ref.how in HOWS and ref.url.startswith("http") for ref in found)
        assert all("#" not in ref.url for ref in found)
        links = extract_links(html, base)
        assert len(set(links)) == len(links)
        assert all(link.startswith("http") and "#" not in link for link in links)
        largest_srcset_candidate(html)


def test_image_ref_is_frozen_and_slotted() -> None:
    ref = ImageRef("https://example.org/a.jpg", "img")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ref.url = "https://example.org/b.jpg"  # type: ignore[misc]
    assert not hasattr(ref, "__dict__")


@pytest.mark.parametrize("port", ["0", "99999"])
def test_a_url_with_an_impossible_port_is_dropped(port: str) -> None:
    # Found by tests/fuzz: it passed extraction and became a dead letter on the wire.
    html = f'<img src="http://h.example:{port}/a.jpg"><a href="http://h.example:{port}/p">p</a>'
    assert extract_images(html, BASE) == [] and extract_links(html, BASE) == []


# -- images everywhere a browser shows them (issue 14) ----------------------------------------


def test_video_poster() -> None:
    html = page('<video poster="/thumb.jpg" controls><source src="/clip.mp4"></video><video>')
    assert images(html) == [("https://example.org/thumb.jpg", "video-poster")]


def test_sources_with_an_image_type_anywhere_sources_of_other_types_never() -> None:
    html = page(
        '<video poster="/p.jpg"><source type="image/webp" srcset="/v.webp 1x, /v2.webp 2x">'
        '<source type="video/mp4" srcset="/clip.mp4" src="/clip.mp4"></video>'
        '<picture><source type=" IMAGE/AVIF " srcset="/a.avif">'
        '<source type="video/mp4" srcset="/loop.mp4"><img src="/a.jpg"></picture>'
    )
    assert images(html) == [
        ("https://example.org/p.jpg", "video-poster"),
        ("https://example.org/v2.webp", "picture-source"),
        ("https://example.org/a.avif", "picture-source"),
        ("https://example.org/a.jpg", "img"),
    ]


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ('rel="preload" as="image" href="/hero.jpg"', ["/hero.jpg"]),
        ('rel="PRELOAD" as=" Image " href="/hero.jpg"', ["/hero.jpg"]),
        (
            'rel="preload" as="image" href="/s.jpg" imagesrcset="/s.jpg 400w, /l.jpg 1600w"',
            ["/s.jpg", "/l.jpg"],
        ),
        ('rel="preload" as="image" imagesrcset="/a.jpg 1x, /b.jpg 2x"', ["/b.jpg"]),
        ('rel="preload" as="style" href="/site.css"', []),
        ('rel="preload" href="/hero.jpg"', []),
        ('rel="stylesheet" href="/hero.jpg"', []),
        ('itemprop="image" href="/micro.jpg"', ["/micro.jpg"]),
    ],
)
def test_link_preload_as_image(link: str, expected: list[str]) -> None:
    found = images(page("", head=f"<link {link}>"))
    assert [url for url, _ in found] == [f"https://example.org{p}" for p in expected]


@pytest.mark.parametrize("itemprop", ["image", "thumbnailUrl", "Image", "name image", "thumbnail"])
def test_meta_itemprop_image(itemprop: str) -> None:
    html = page(f'<div itemscope><meta itemprop="{itemprop}" content="/m.jpg"></div>')
    assert images(html) == [("https://example.org/m.jpg", "itemprop")]


def test_meta_itemprop_other_ignored() -> None:
    assert images(page('<meta itemprop="name" content="/m.jpg">')) == []


@pytest.mark.parametrize(
    ("json_ld", "expected"),
    [
        ('{"image": "/s.jpg"}', ["/s.jpg"]),
        ('{"image": ["/a.jpg", "/b.jpg"]}', ["/a.jpg", "/b.jpg"]),
        ('{"image": {"@type": "ImageObject", "url": "/o.jpg"}}', ["/o.jpg"]),
        ('{"image": [{"contentUrl": "/c.jpg"}, {"url": ["/u.jpg"]}]}', ["/c.jpg", "/u.jpg"]),
        (
            '{"@type": "VideoObject", "contentUrl": "/v.mp4", "thumbnailUrl": ["/t.jpg"],'
            ' "thumbnail": {"@type": "ImageObject", "contentUrl": "/t2.jpg"}}',
            ["/t.jpg", "/t2.jpg"],
        ),
        (
            '{"@context": "https://schema.org", "@graph": [{"@type": "WebPage",'
            ' "primaryImageOfPage": {"@id": "#p"}}, {"@type": ["ImageObject"], "@id": "#p",'
            ' "url": "/graph.jpg"}, {"@type": "Person", "image": {"url": "/face.jpg"}}]}',
            ["/graph.jpg", "/face.jpg"],
        ),
        ('[{"image": "/one.jpg"}, {"image": "/two.jpg"}]', ["/one.jpg", "/two.jpg"]),
        ('{"image": 7, "thumbnailUrl": null, "url": "/page.html", "logo": "/l.png"}', []),
        ('{"image": "/a.jpg",}', []),  # not JSON: ignored, as a browser's parser would
        ("{bad", []),
        ("", []),
        ("[" * 100_000, []),
    ],
)
def test_json_ld_images(json_ld: str, expected: list[str]) -> None:
    html = page("", head=f'<script type="application/ld+json">{json_ld}</script>')
    assert images(html) == [(f"https://example.org{p}", "json-ld") for p in expected]


def test_json_ld_only_in_ld_json_scripts() -> None:
    html = page(
        '<script>var x = {"image": "/js.jpg"}</script>'
        '<script type="application/json">{"image": "/json.jpg"}</script>'
        '<script type="Application/LD+JSON; charset=utf-8">{"image": "/ld.jpg"}</script>'
    )
    assert images(html) == [("https://example.org/ld.jpg", "json-ld")]


def test_json_ld_node_budget() -> None:
    many = ",".join(f'{{"image": "/{i}.jpg"}}' for i in range(30_000))
    found = images(page(f'<script type="application/ld+json">[{many}]</script>'))
    assert 0 < len(found) <= MAX_JSON_NODES


def test_inline_svg_image() -> None:
    html = page(
        '<svg viewBox="0 0 10 10"><image xlink:href="/old.jpg"/><image href="/new.png"/>'
        '<image href="/both.jpg" xlink:href="/ignored.jpg"/></svg>'
    )
    assert images(html) == [
        ("https://example.org/old.jpg", "svg-image"),
        ("https://example.org/new.png", "svg-image"),
        ("https://example.org/both.jpg", "svg-image"),
    ]


def test_css_image_set_and_shorthand_in_style_blocks() -> None:
    css = """
        .a { background: rgba(0,0,0,.5) url("/a.jpg") center/cover no-repeat fixed }
        .b { background: linear-gradient(rgba(0,0,0,.2), rgba(0,0,0,.8)), url(/b.jpg) }
        .c { background-image: -webkit-image-set("/c.png" 1x, "/c@2x.png" 2x) }
        .d{background:url(/d.gif)}
    """
    assert images(page("", head=f"<style>{css}</style>")) == [
        ("https://example.org/a.jpg", "style-block"),
        ("https://example.org/b.jpg", "style-block"),
        ("https://example.org/c.png", "style-block"),
        ("https://example.org/c@2x.png", "style-block"),
        ("https://example.org/d.gif", "style-block"),
    ]


def test_css_scan_is_linear_on_hostile_image_sets() -> None:
    style = "background-image:" + "image-set(" * 50_000 + "'/deep.png'"
    assert images(page(f'<div style="{style}"></div>')) == [
        ("https://example.org/deep.png", "css-background")
    ]


TELEGRAM_POST = (
    '<div class="tgme_widget_message" data-post="chan/8">'
    '<div class="tgme_widget_message_grouped_wrap">'
    '<a class="tgme_widget_message_photo_wrap" href="https://t.me/chan/8?single" '
    "style=\"width:800px;background-image:url('https://cdn4.example.org/file/a.jpg')\"></a>"
    '<a class="tgme_widget_message_photo_wrap" href="https://t.me/chan/9?single" '
    "style=\"background-image:url('https://cdn4.example.org/file/b.jpg')\"></a></div>"
    '<a class="tgme_widget_message_video_player" href="https://t.me/chan/10">'
    '<i class="tgme_widget_message_video_thumb" '
    "style=\"background-image:url('https://cdn4.example.org/file/v.jpg')\"></i></a></div>"
)


def test_telegram_albums_and_video_thumbnails_on_a_web_page() -> None:
    # A channel preview crawled as a website (or embedded in one): every photo of an
    # album and the video's thumbnail; the post links are pages, not images.
    assert images(page(TELEGRAM_POST)) == [
        ("https://cdn4.example.org/file/a.jpg", "css-background"),
        ("https://cdn4.example.org/file/b.jpg", "css-background"),
        ("https://cdn4.example.org/file/v.jpg", "css-background"),
    ]
