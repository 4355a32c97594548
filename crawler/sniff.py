"""Content-type sniffing: what a body is, from its first bytes, whatever the server says.

Servers lie (``image/jpeg`` on an HTML error page, ``text/plain`` on a PNG, no type at
all), and a hostile one lies on purpose. The crawler trusts the bytes: a page body that
is an image is hashed as an image, an image body that is HTML is refused before it
reaches the decoder. Pure: bytes in, a short kind out.
"""

from __future__ import annotations

# (magic prefix, offset, kind); WebP/AVIF/HEIC are checked by hand below.
_MAGIC = (
    (b"\xff\xd8\xff", 0, "jpeg"),
    (b"\x89PNG\r\n\x1a\n", 0, "png"),
    (b"GIF87a", 0, "gif"),
    (b"GIF89a", 0, "gif"),
    (b"BM", 0, "bmp"),
    (b"II*\x00", 0, "tiff"),
    (b"MM\x00*", 0, "tiff"),
    (b"\x00\x00\x01\x00", 0, "ico"),
)
_MARKUP = (b"<!doctype html", b"<html", b"<head", b"<body", b"<script", b"<!--", b"<div", b"<p")
_FEEDS = (b"<rss", b"<feed", b"<urlset", b"<sitemapindex", b"<rdf:rdf")


def sniff(body: bytes) -> str:
    """One of ``jpeg png gif bmp tiff ico webp avif heic svg html feed xml empty
    binary text``."""
    if not body:
        return "empty"
    head = body[:1024]
    for magic, offset, kind in _MAGIC:
        if head.startswith(magic, offset):
            return kind
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"avif", b"avis"):
            return "avif"
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "heic"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text):
        return "svg"
    if any(marker in text for marker in _FEEDS):
        return "feed"
    if text.startswith(_MARKUP) or b"<html" in text:
        return "html"
    if text.startswith(b"<?xml"):
        return "xml"
    if b"\x00" in head:
        return "binary"
    return "text"


RASTER = frozenset(("jpeg", "png", "gif", "bmp", "tiff", "ico", "webp", "avif", "heic"))


def is_raster_image(body: bytes) -> bool:
    """Whether the body starts like a raster image format (it may still be broken)."""
    return sniff(body) in RASTER
