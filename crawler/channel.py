"""Public Telegram channel previews (``https://t.me/s/<channel>``): posts and their photos.

Pure, like :mod:`crawler.extract`: one preview page's HTML in, a :class:`ChannelPage` out.
A preview page lists the channel's latest posts (``div.tgme_widget_message`` with
``data-post="<channel>/<id>"``); photos are CSS backgrounds of
``a.tgme_widget_message_photo_wrap`` (albums: one per photo, each with its own post id in
its ``href``), video thumbnails of ``i.tgme_widget_message_video_thumb``, link-preview
pictures of ``i.link_preview_image``. Older posts are at ``?before=<id>``.

Photo URLs on Telegram's CDN expire within hours, so a photo is *keyed* by its post:
``<origin>/<channel>/<post id>`` (plus ``?photo=<n>`` for the n-th extra picture of one
post). That key is the image URL of hits and evidence; the CDN URL actually fetched is
kept in the evidence as ``fetched_url``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from parsel import Selector

from crawler.extract import MAX_IMAGES, absolute_url

_BG_URL = re.compile(r"""background-image\s*:\s*url\(\s*['"]?([^'")\s]+)['"]?\s*\)""", re.I)
_POST = re.compile(r"^([A-Za-z0-9_]{3,64})/(\d{1,12})$")
_POST_HREF = re.compile(r"/([A-Za-z0-9_]{3,64})/(\d{1,12})(?:\?|$)")
_CHANNEL_PATH = re.compile(r"^/s/([A-Za-z0-9_]{3,64})/?$")
_PHOTO_ELEMENTS = (
    ("a.tgme_widget_message_photo_wrap", "telegram-photo"),
    ("i.tgme_widget_message_video_thumb", "telegram-video-thumb"),
    ("i.link_preview_image", "telegram-link-preview"),
)


@dataclass(frozen=True, slots=True)
class ChannelPhoto:
    key: str  # the permanent post URL that names this photo
    image_url: str  # the CDN URL to fetch now (expires)
    post_id: int
    how: str
    posted_at: str = ""


@dataclass
class ChannelPage:
    channel: str
    photos: list[ChannelPhoto] = field(default_factory=list)
    post_ids: list[int] = field(default_factory=list)
    older: str | None = None  # the URL of the next (older) preview page, if any


def channel_name(url: str) -> str | None:
    """``name`` of a ``.../s/<name>`` preview URL, else None."""
    match = _CHANNEL_PATH.match(urlsplit(url).path)
    return match[1] if match else None


def preview_url(url: str) -> str:
    """The preview URL of a channel given as ``https://t.me/<name>`` or
    ``https://t.me/s/<name>``; raise ValueError for anything else."""
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if not _CHANNEL_PATH.match(path + "/"):
        name = path.strip("/")
        if not re.fullmatch(r"[A-Za-z0-9_]{3,64}", name):
            raise ValueError(f"not a public channel URL: {url!r} (expected https://t.me/s/NAME)")
        path = f"/s/{name}"
    return f"{parts.scheme}://{parts.netloc}{path}"


def parse_channel(html: str, page_url: str) -> ChannelPage:
    """The posts and photos of one preview page, newest last as on the page. Never
    raises; a page that is not a channel preview gives no photos and no ``older``."""
    parts = urlsplit(page_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    page = ChannelPage(channel=channel_name(page_url) or "")
    try:
        root = Selector(text=html, type="html")
    except Exception:
        return page
    for message in root.css("div.tgme_widget_message[data-post]"):
        match = _POST.match(_attr(message, "data-post").strip())
        if match is None:
            continue
        channel, post_id = match[1], int(match[2])
        if page.channel and channel.lower() != page.channel.lower():
            continue  # a forwarded or embedded post of another channel: not this place
        page.post_ids.append(post_id)
        posted_at = message.css("time::attr(datetime)").get() or ""
        per_post: dict[int, int] = {}
        for selector, how in _PHOTO_ELEMENTS:
            for element in message.css(selector):
                style = _attr(element, "style")
                found = _BG_URL.search(style)
                if not found:
                    continue
                url = absolute_url(found[1], page_url)
                if url is None:  # not http(s), a broken host or port, too long: no photo
                    continue
                href = _POST_HREF.search(_path(_attr(element, "href")) + "?")
                own = int(href[2]) if href and href[1].lower() == channel.lower() else post_id
                n = per_post.get(own, 0)
                per_post[own] = n + 1
                key = f"{origin}/{channel}/{own}" + (f"?{urlencode({'photo': n})}" if n else "")
                page.photos.append(ChannelPhoto(key, url, own, how, posted_at))
                if len(page.photos) >= MAX_IMAGES:
                    return page
    page.older = _older(root, page_url, page.post_ids)
    return page


def _attr(element: Selector, name: str) -> str:
    """An attribute's value, "" when missing or when the element's attributes cannot be
    read (lxml refuses to look up attributes whose names hold control characters)."""
    try:
        return str(element.attrib.get(name, ""))
    except (ValueError, KeyError):  # KeyError: a name lxml reads as a bad "{namespace}"
        return ""


def _path(url: str) -> str:
    try:
        return urlsplit(url).path
    except ValueError:  # an unclosed IPv6 bracket: no post link
        return ""


def _older(root: Selector, page_url: str, post_ids: list[int]) -> str | None:
    """The next older page: the page's own "more" link, else ``?before=<lowest id>``."""
    before = root.css("a.tme_messages_more[data-before]::attr(data-before)").get()
    if before is None:
        href = root.css("link[rel=prev]::attr(href)").get()
        if href and "before=" in href:
            before = href.rsplit("before=", 1)[1].split("&", 1)[0]
    if before is None and post_ids:
        before = str(min(post_ids))
    if before is None or not before.isdigit() or int(before) <= 1:
        return None
    if post_ids and int(before) > min(post_ids):
        before = str(min(post_ids))  # never page forward: that would loop
    parts = urlsplit(page_url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}?before={int(before)}"
