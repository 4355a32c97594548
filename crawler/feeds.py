"""RSS, Atom and sitemap parsing: one XML document in, page links and image URLs out.

Pure, like :mod:`crawler.extract`. The XML is hostile input: it is parsed by lxml with
entity resolution, DTD loading and network access switched off (no billion laughs, no
external entities) and without ``huge_tree``, in libxml2's recover mode: a slightly
malformed document (an unclosed tag, a stray ``&``) gives what libxml2 recovers of it
(a stray ``&`` loses the text up to the next ``;`` or ``=``, so that one URL may come out
wrong) rather than nothing; what is not XML at all gives an empty result, never an
exception. Namespaces are ignored (matched by local name), as
feeds in the wild mix them freely.

* RSS 2.0 / RSS 1.0 / Atom: each entry's link (pages to crawl), and its images:
  ``enclosure`` / ``media:content`` / ``media:thumbnail`` with an image type or extension,
  and images inside the entry's HTML (``description``, ``content:encoded``, ``content``).
* Sitemaps: ``<urlset>`` page URLs and their ``image:loc`` images; ``<sitemapindex>``
  child sitemaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

from lxml import etree  # type: ignore[import-untyped]

from crawler.extract import (
    IMAGE_EXTENSIONS,
    MAX_IMAGES,
    MAX_LINKS,
    MAX_URL_LENGTH,
    ImageRef,
)
from crawler.extract import extract_images as html_images
from wire.records import valid_url

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
    "recover": True,
}


@dataclass
class XmlLinks:
    """What one feed or sitemap names: pages, images and (sitemap index) sitemaps."""

    kind: str = "unknown"  # rss, atom, urlset, sitemapindex, unknown
    pages: list[str] = field(default_factory=list)
    images: list[ImageRef] = field(default_factory=list)
    sitemaps: list[str] = field(default_factory=list)


def _local(tag: Any) -> str:
    return tag.rsplit("}", 1)[-1].lower() if isinstance(tag, str) else ""


def _http(url: str | None, base: str) -> str | None:
    if not url:
        return None
    try:
        value = urljoin(base, url.strip())
        if len(value) > MAX_URL_LENGTH or urlsplit(value).scheme not in ("http", "https"):
            return None
    except ValueError:  # "http://[::1/x": a bad IPv6 literal drops one link, not the feed
        return None
    value = value.split("#", 1)[0]
    return value if valid_url(value) else None


def _looks_image(url: str, mime: str | None) -> bool:
    if mime:
        return mime.lower().startswith("image/")
    return urlsplit(url).path.lower().endswith(IMAGE_EXTENSIONS)


def parse_xml(body: bytes, base_url: str) -> XmlLinks:
    """Parse a feed or sitemap; an unknown or malformed document gives ``kind='unknown'``
    and nothing else."""
    try:
        root = etree.fromstring(body, etree.XMLParser(**_PARSER_OPTIONS))
    except (etree.XMLSyntaxError, ValueError):
        return XmlLinks()
    if root is None:
        return XmlLinks()
    name = _local(root.tag)
    out = XmlLinks()
    if name in ("urlset", "sitemapindex"):
        out.kind = name
        for element in root.iter():
            tag = _local(element.tag)
            if tag == "loc" and element.text:
                parent = _local(element.getparent().tag) if element.getparent() is not None else ""
                url = _http(element.text, base_url)
                if url is None:
                    continue
                if parent == "image":
                    _add_image(out, url, "sitemap-image")
                elif parent == "sitemap":
                    _add(out.sitemaps, url, MAX_LINKS)
                elif parent == "url":
                    _add(out.pages, url, MAX_LINKS)
        return out
    if name in ("rss", "rdf", "feed"):
        out.kind = "atom" if name == "feed" else "rss"
        entries = [e for e in root.iter() if _local(e.tag) in ("item", "entry")]
        for entry in entries:
            _entry(entry, base_url, out)
    return out


def _entry(entry: Any, base: str, out: XmlLinks) -> None:
    for child in entry.iter():
        tag = _local(child.tag)
        if tag == "link":
            href = child.get("href")
            rel = (child.get("rel") or "alternate").lower()
            if href is not None:  # Atom
                url = _http(href, base)
                if url and rel == "enclosure" and _looks_image(url, child.get("type")):
                    _add_image(out, url, "feed-enclosure")
                elif url and rel == "alternate":
                    _add(out.pages, url, MAX_LINKS)
            elif child.text:  # RSS
                url = _http(child.text, base)
                if url:
                    _add(out.pages, url, MAX_LINKS)
        elif tag in ("enclosure", "content", "thumbnail") and child.get("url"):
            url = _http(child.get("url"), base)
            medium = (child.get("medium") or "").lower()
            if url and (medium == "image" or _looks_image(url, child.get("type"))):
                _add_image(out, url, "feed-enclosure" if tag == "enclosure" else "feed-media")
        elif tag in ("description", "encoded", "content", "summary") and "<" in (child.text or ""):
            for ref in html_images(child.text, base):
                _add_image(out, ref.url, "feed-html")


def _add(values: list[str], url: str, limit: int) -> None:
    if url not in values and len(values) < limit:
        values.append(url)


def _add_image(out: XmlLinks, url: str, how: str) -> None:
    if len(out.images) < MAX_IMAGES and all(ref.url != url for ref in out.images):
        out.images.append(ImageRef(url, how))
