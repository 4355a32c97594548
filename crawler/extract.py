"""Extract candidate image URLs and links to follow from one HTML page.

Consumes one HTML document as ``str`` (hostile input: any junk) and the URL it was fetched
from; produces :class:`ImageRef` objects (absolute image URL + how it was found) and
absolute page links.  Pure: no I/O.  Parsing is done by parsel (lxml/libxml2), as in Scrapy.

URLs are stripped of surrounding whitespace and embedded tabs/newlines, resolved against
the first usable ``<base href>`` or else ``base_url``, freed of their fragment and
canonicalised with :func:`w3lib.url.safe_url_string`.  Only http(s) URLs with a plausible
host are kept; ``data:``, ``javascript:``, ``mailto:``, ``tel:`` etc. are dropped.

Limits, so that a hostile page cannot blow up memory or time:

* at most :data:`MAX_IMAGES` (2000) images and :data:`MAX_LINKS` (2000) links per page,
  counted after de-duplication (the first ones in document order are kept);
* values longer than :data:`MAX_URL_LENGTH` characters are skipped;
* malformed HTML, URLs or descriptors never raise: the bad item is skipped;
* libxml2 stops parsing at a nesting depth of about 2000 elements, so content after
  such a tree is not seen;
* CSS is scanned with regular expressions: only ``url(...)`` and ``image-set()`` /
  ``-webkit-image-set()`` candidates (``url()`` or bare strings) in ``background`` /
  ``background-image`` declarations are found (no CSS escapes); backslashes in URLs are
  not turned into slashes as browsers do;
* JSON-LD blocks that are not valid JSON are ignored; at most :data:`MAX_JSON_NODES`
  values of one block are looked at.

Where images are found (``how``): ``<img src>`` / ``srcset``, lazy ``data-*`` attributes,
``<picture><source srcset>`` (and ``<source type="image/..." srcset>`` anywhere, e.g. in
a ``<video>``), ``<video poster>``, ``<link rel=preload as=image>`` (``href`` and
``imagesrcset``), ``og:image`` / ``twitter:image`` / ``itemprop=image`` meta data, JSON-LD
``image`` / ``thumbnailUrl`` / ``thumbnail`` (strings, lists, ``ImageObject`` ``url`` /
``contentUrl``, nested and in ``@graph``), inline SVG ``<image href>`` / ``xlink:href``,
CSS backgrounds (inline and ``<style>``; Telegram's photo wraps and video thumbnails are
inline backgrounds) and links to image files.

Where videos are found (:func:`extract_videos`, issue 14; ``how`` one of
:data:`VIDEO_HOWS`): ``<video src>`` (``telegram-video`` for a Telegram post's video
element), ``<source src>`` that says it is a video (``type="video/..."``, or no type and a
video file name), ``og:video`` / ``og:video:url`` / ``og:video:secure_url`` /
``twitter:player:stream`` meta data, and links to video files (:data:`VIDEO_EXTENSIONS`).
The same caps apply (at most :data:`MAX_IMAGES` videos per page).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from parsel import Selector
from w3lib.url import safe_url_string

from wire.records import valid_url

# fmt: off
HOWS = ("img", "srcset", "data-src", "og:image", "twitter:image", "css-background",
        "style-block", "link", "picture-source", "video-poster", "preload", "itemprop",
        "json-ld", "svg-image")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff",
                    ".avif", ".heic")
# fmt: on
VIDEO_HOWS = ("video-src", "video-source", "og:video", "video-link", "telegram-video")
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi", ".ogv")
MAX_IMAGES = 2000
MAX_LINKS = 2000
MAX_URL_LENGTH = 8192
MAX_JSON_NODES = 10_000


@dataclass(frozen=True, slots=True)
class ImageRef:
    """One candidate image: ``url`` is absolute http(s); ``how`` is one of :data:`HOWS`."""

    url: str
    how: str


# fmt: off
# Lazy-loading attributes, looked at on every element (how="data-src").
_LAZY_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-srcset", "data-lazy",
               "data-url", "data-full", "data-bg")
_META_HOWS = {"og:image": "og:image", "og:image:url": "og:image",
              "og:image:secure_url": "og:image", "twitter:image": "twitter:image",
              "twitter:image:src": "twitter:image"}
_VIDEO_META = frozenset(("og:video", "og:video:url", "og:video:secure_url",
                         "twitter:player:stream"))
_ITEMPROPS = frozenset(("image", "thumbnailurl", "thumbnail"))
_JSON_LD_KEYS = ("image", "thumbnailUrl", "thumbnail")
# fmt: on
_ASCII_WS = " \t\n\r\f"
_TAB_NEWLINE = str.maketrans("", "", "\t\n\r")
# Characters a WHATWG host may not contain (plus non-ASCII, which IDNA should have removed).
_HOST = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:-]+")

# srcset, per the HTML spec "parse a srcset attribute" algorithm (regex-driven).
_SRCSET_URL = re.compile(r"[ \t\n\r\f,]*([^ \t\n\r\f,][^ \t\n\r\f]*)")
_SRCSET_DESCRIPTORS = re.compile(r"((?:[^,(]+|\([^)]*\)?)*),?")  # to a comma outside parens
_DESCRIPTOR = re.compile(r"(?:[^ \t\n\r\f(]+|\([^)]*\)?)+")
# Descriptor kinds a candidate may have together ("h" is only allowed next to "w").
_DESCRIPTOR_SETS = {frozenset(), frozenset("w"), frozenset("x"), frozenset("wh")}
_INTEGER = re.compile(r"[0-9]+")
_FLOAT = re.compile(r"-?(?:[0-9]+(?:\.[0-9]+)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

# CSS. Unclosed quotes/parens/comments run to the end of the text, which keeps the scans linear.
_CSS_COMMENT = re.compile(r"/\*.*?(?:\*/|\Z)", re.S)
_CSS_BACKGROUND = re.compile(
    r"""(?<![\w-])background(?:-image)?\s*:((?:[^;{}"'(]+|"[^"]*"?|'[^']*'?|\([^)]*\)?)*)""",
    re.I,
)
_CSS_URL = re.compile(r"""url\(\s*(?:"([^"]*)"|'([^']*)'|([^"'()\s]*))\s*\)""", re.I)
# One left-to-right scan of a declaration value: url(), image-set( openers, parentheses and
# strings; a string is an image only directly inside an image-set() (not in type(...)).
_CSS_TOKEN = re.compile(
    r"""(?P<set>(?<![\w-])(?:-webkit-)?image-set\()"""
    r"""|(?P<url>url\(\s*(?:"[^"]*"|'[^']*'|[^"'()\s]*)\s*\))"""
    r"""|(?P<open>\()|(?P<close>\))|"(?P<dq>[^"]*)"?|'(?P<sq>[^']*)'?""",
    re.I,
)


def extract_images(html: str, base_url: str) -> list[ImageRef]:
    """All candidate image URLs of the page, de-duplicated by URL (first `how` wins, in
    document order), in document order.  At most :data:`MAX_IMAGES` are returned."""
    root = _parse(html)
    base = _document_base(root, base_url)
    found: list[ImageRef] = []
    seen: set[str] = set()
    resolved: dict[str | None, str | None] = {}  # pages repeat values (spacers, icons)
    for element, in_picture in _walk(root):
        for how, raw in _image_candidates(element, in_picture):
            if raw in resolved:
                url = resolved[raw]
            else:
                url = resolved[raw] = absolute_url(raw, base)
            if url is None or url in seen or (how == "link" and not _is_image_url(url)):
                continue
            seen.add(url)
            found.append(ImageRef(url, how))
            if len(found) >= MAX_IMAGES:
                return found
    return found


def extract_videos(html: str, base_url: str) -> list[ImageRef]:
    """All candidate video URLs of the page (``how`` in :data:`VIDEO_HOWS`), de-duplicated
    by URL (first ``how`` wins), in document order; at most :data:`MAX_IMAGES`. Pure;
    never raises for any input."""
    root = _parse(html)
    base = _document_base(root, base_url)
    found: list[ImageRef] = []
    seen: set[str] = set()
    for element, _in_picture in _walk(root):
        for how, raw in _video_candidates(element):
            url = absolute_url(raw, base)
            if url is None or url in seen:
                continue
            if how in ("video-link", "video-source") and not _is_video_url(url):
                continue
            seen.add(url)
            found.append(ImageRef(url, how))
            if len(found) >= MAX_IMAGES:
                return found
    return found


def _video_candidates(element: Any) -> Iterator[tuple[str, str | None]]:
    """(how, raw URL) pairs of one element that may name a video."""
    tag: str = element.tag
    get = element.get
    if tag == "video":
        classes = (get("class") or "").split()
        yield (
            "telegram-video" if "tgme_widget_message_video" in classes else "video-src",
            get("src"),
        )
    elif tag == "source":
        kind = (get("type") or "").strip().lower()
        if kind.startswith("video/"):
            yield "video-src", get("src")
        elif not kind:
            yield "video-source", get("src")  # kept if it names a video file
    elif tag == "meta":
        key = (get("property") or get("name") or "").strip().lower()
        if key in _VIDEO_META:
            yield "og:video", get("content")
    elif tag in ("a", "area"):
        href = get("href")
        if href and _names_video_file(href):
            yield "video-link", href


def extract_links(html: str, base_url: str) -> list[str]:
    """Absolute http(s) page links (<a href>, <area href>), fragments removed, de-duplicated,
    in document order; excludes links that point to image files (those are ImageRef 'link')
    and non-http schemes (mailto:, javascript:, data:, tel:).  At most :data:`MAX_LINKS`."""
    root = _parse(html)
    base = _document_base(root, base_url)
    links: list[str] = []
    seen: set[str] = set()
    seen_raw: set[str | None] = set()  # cheap skip of repeated href values
    for element in root.iter("a", "area"):
        href = element.get("href")
        if href in seen_raw:
            continue
        seen_raw.add(href)
        url = absolute_url(href, base)
        if url is None or url in seen or (_names_image_file(href) and _is_image_url(url)):
            continue  # image links are left to extract_images (how="link")
        seen.add(url)
        links.append(url)
        if len(links) >= MAX_LINKS:
            break
    return links


def largest_srcset_candidate(srcset: str) -> str | None:
    """Pick the largest candidate of a srcset: by 'w' descriptor, else by 'x' density, else
    the last; None if empty/malformed.  Parses like the HTML spec, so URLs may contain
    commas (e.g. Cloudinary 'w_100,h_100'); candidates with invalid descriptors are dropped.
    A candidate without descriptor counts as 1x; among equal sizes the first wins."""
    candidates: list[tuple[str, int | None, float | None]] = []
    pos = 0
    while (url_match := _SRCSET_URL.match(srcset, pos)) is not None:
        url, pos = url_match.group(1), url_match.end()
        tokens: list[str] = []
        if url.endswith(","):
            url = url.rstrip(",")
        elif (descriptors := _SRCSET_DESCRIPTORS.match(srcset, pos)) is not None:  # always
            tokens, pos = _DESCRIPTOR.findall(descriptors.group(1)), descriptors.end()
        parsed = _parse_descriptors(tokens)
        if parsed is not None:
            candidates.append((url, *parsed))
    if not candidates:
        return None
    widths = [c for c in candidates if c[1] is not None]
    if widths:
        return max(widths, key=lambda c: c[1] or 0)[0]
    if any(c[2] is not None for c in candidates):
        return max(candidates, key=lambda c: 1.0 if c[2] is None else c[2])[0]
    return candidates[-1][0]


def _parse_descriptors(tokens: list[str]) -> tuple[int | None, float | None] | None:
    """(width, density) of one srcset candidate, or None if its descriptors are invalid."""
    values = {token[-1]: token[:-1] for token in tokens}  # e.g. {"w": "640"}
    if len(values) != len(tokens) or frozenset(values) not in _DESCRIPTOR_SETS:
        return None
    width = _positive_int(values["w"]) if "w" in values else None
    if ("w" in values and width is None) or ("h" in values and not _positive_int(values["h"])):
        return None
    if "x" not in values:
        return width, None
    density = float(values["x"]) if _FLOAT.fullmatch(values["x"]) else -1.0
    return (None, density) if density >= 0 else None


def _positive_int(text: str) -> int | None:
    """``text`` as an integer if it is ASCII digits with a value above 0, else None."""
    if not _INTEGER.fullmatch(text):
        return None
    try:
        number = int(text)
    except ValueError:  # more digits than Python converts (sys.get_int_max_str_digits)
        return None
    return number or None


@functools.lru_cache(maxsize=1)
def _parse(html: str) -> Any:
    """The lxml root of ``html`` parsed as HTML by parsel (an empty page if impossible).
    The last page's tree is kept: a fetched page is read for images, videos and links in
    turn, and parsed once (the readers never change the tree)."""
    # type="html": parsel would otherwise parse JSON-looking text as JSON and "<?xml" as XML.
    try:
        try:
            return Selector(text=html, type="html").root
        except UnicodeEncodeError:  # lone surrogates cannot be encoded for lxml
            clean = html.encode("utf-8", "replace").decode("utf-8")
            return Selector(text=clean, type="html").root
    except Exception:  # lxml raises assorted types on pathological input; never propagate
        return Selector(text="", type="html").root


def _document_base(root: Any, base_url: str) -> str:
    """The URL relative references resolve against: the first <base href>, if usable."""
    for element in root.iter("base"):
        href = element.get("href")
        if href is not None:
            return absolute_url(href, base_url) or base_url
    return base_url


def _walk(root: Any) -> Iterator[tuple[Any, bool]]:
    """Elements in document order, each with whether it is inside a <picture> (no recursion)."""
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        element, in_picture = stack.pop()
        tag = element.tag
        if not isinstance(tag, str):  # comments and processing instructions
            continue
        yield element, in_picture
        inside = in_picture or tag == "picture"
        stack.extend((child, inside) for child in reversed(element))


def _image_candidates(element: Any, in_picture: bool) -> Iterator[tuple[str, str | None]]:
    """(how, raw URL) pairs of one element, in a fixed order; raw URLs are unresolved."""
    tag: str = element.tag
    get = element.get
    if tag == "img":
        yield "img", get("src")
        yield "srcset", largest_srcset_candidate(get("srcset") or "")
    elif tag == "source":
        kind = (get("type") or "").strip().lower()
        # In a <picture> any source without a non-image type; elsewhere (a <video>'s
        # sources, say) only one that says it is an image.
        if kind.startswith("image/") or (in_picture and not kind):
            yield "picture-source", largest_srcset_candidate(get("srcset") or "")
    elif tag == "video":
        yield "video-poster", get("poster")
    elif tag == "meta":
        key = (get("property") or get("name") or "").strip().lower()
        if key in _META_HOWS:
            yield _META_HOWS[key], get("content")
        elif _ITEMPROPS.intersection((get("itemprop") or "").lower().split()):
            yield "itemprop", get("content")
    elif tag == "link":
        rel = (get("rel") or "").lower().split()
        if "preload" in rel and (get("as") or "").strip().lower() == "image":
            yield "preload", get("href")
            yield "preload", largest_srcset_candidate(get("imagesrcset") or "")
        elif _ITEMPROPS.intersection((get("itemprop") or "").lower().split()):
            yield "itemprop", get("href")
    elif tag == "image":  # SVG <image>; also what an HTML parser makes <img> of
        yield "svg-image", get("href") or get("xlink:href") or get("src")
    elif tag == "script":
        if (get("type") or "").split(";")[0].strip().lower() == "application/ld+json":
            for url in _json_ld_urls(element.text or ""):
                yield "json-ld", url
    elif tag in ("a", "area"):
        href = get("href")
        if _names_image_file(href):  # cheap pre-check; the caller checks the resolved URL
            yield "link", href
    elif tag == "style":
        for url in _css_background_urls(element.text or ""):
            yield "style-block", url
    for attr in _LAZY_ATTRS:
        value = get(attr)
        if not value:
            continue
        if attr == "data-srcset":
            yield "data-src", largest_srcset_candidate(value)
        elif "url(" in value.lower():  # e.g. data-bg="url(/x.jpg)"
            for match in _CSS_URL.finditer(value):
                yield "data-src", _css_url_value(match)
        else:
            yield "data-src", value
    style = get("style")
    if style:
        for url in _css_background_urls(style):
            yield "css-background", url


def _json_ld_urls(text: str) -> Iterator[str]:
    """Image URLs of one JSON-LD block: the values of ``image``, ``thumbnailUrl`` and
    ``thumbnail`` anywhere in it (a string, a list, an object's ``url`` / ``contentUrl``)
    and every ``ImageObject``'s; nothing if the block is not valid JSON."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return
    stack: list[Any] = [data]
    budget = MAX_JSON_NODES
    while stack and budget > 0:
        node = stack.pop()
        budget -= 1
        if isinstance(node, list):
            stack.extend(reversed(node))
            continue
        if not isinstance(node, dict):
            continue
        types = node.get("@type")
        if types == "ImageObject" or (isinstance(types, list) and "ImageObject" in types):
            yield from _json_ld_strings(node.get("url"))
            yield from _json_ld_strings(node.get("contentUrl"))
        for key in _JSON_LD_KEYS:
            value = node.get(key)
            yield from _json_ld_strings(value)
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict):  # an ImageObject without (or with) its @type
                    yield from _json_ld_strings(item.get("url"))
                    yield from _json_ld_strings(item.get("contentUrl"))
        stack.extend(reversed([v for v in node.values() if isinstance(v, (dict, list))]))


def _json_ld_strings(value: Any) -> Iterator[str]:
    """``value`` if it is a string, the strings of it if it is a list, else nothing."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, str))


def _css_background_urls(css: str) -> Iterator[str]:
    """url(...) values and image-set() candidates inside background / background-image
    declarations of ``css``, in order."""
    lowered = css.lower()
    if "url(" not in lowered and "image-set(" not in lowered:
        return
    for declaration in _CSS_BACKGROUND.finditer(_CSS_COMMENT.sub(" ", css)):
        depth = 0
        sets: list[int] = []  # the depths at which an image-set( is open
        for token in _CSS_TOKEN.finditer(declaration.group(1)):
            kind = token.lastgroup
            if kind == "url":
                match = _CSS_URL.match(token.group())
                if match is not None:
                    yield _css_url_value(match)
            elif kind in ("set", "open"):
                depth += 1
                if kind == "set":
                    sets.append(depth)
            elif kind == "close":
                if sets and sets[-1] == depth:
                    sets.pop()
                depth = max(0, depth - 1)
            elif sets and sets[-1] == depth:  # a bare string candidate of an image-set()
                yield token.group("dq") if kind == "dq" else token.group("sq")


def _css_url_value(match: re.Match[str]) -> str:
    return match.group(1) or match.group(2) or match.group(3) or ""


def absolute_url(raw: str | None, base: str) -> str | None:
    """``raw`` resolved against ``base``, without fragment, canonical; None if unusable."""
    if not raw or len(raw) > MAX_URL_LENGTH:
        return None
    value = raw.strip(_ASCII_WS).translate(_TAB_NEWLINE)
    if not value:
        return None
    try:
        parts = urlsplit(urljoin(base, value))
        if parts.scheme not in ("http", "https"):
            return None
        url = safe_url_string(urlunsplit(parts._replace(fragment="")))
        host = urlsplit(url).hostname
    except ValueError:  # bad IPv6 literal, bad port, unencodable text, ...
        return None
    if not host or not _HOST.fullmatch(host) or len(url) > MAX_URL_LENGTH:
        return None
    return url if valid_url(url) else None


def _names_image_file(href: str | None) -> bool:
    """Whether an unresolved href's path (query and fragment ignored) has an image extension."""
    path = (href or "").translate(_TAB_NEWLINE).split("#", 1)[0].split("?", 1)[0]
    return path.rstrip(_ASCII_WS).lower().endswith(IMAGE_EXTENSIONS)


def _is_image_url(url: str) -> bool:
    """True if the URL's path (query ignored) ends with an image file extension."""
    return urlsplit(url).path.lower().endswith(IMAGE_EXTENSIONS)


def _names_video_file(href: str) -> bool:
    """Whether an unresolved href's path (query and fragment ignored) names a video file."""
    path = href.translate(_TAB_NEWLINE).split("#", 1)[0].split("?", 1)[0]
    return path.rstrip(_ASCII_WS).lower().endswith(VIDEO_EXTENSIONS)


def _is_video_url(url: str) -> bool:
    """Whether an absolute URL's path ends in a video file extension."""
    return urlsplit(url).path.lower().endswith(VIDEO_EXTENSIONS)
