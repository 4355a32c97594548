"""A local demo website for ``make demo`` and the crawler tests, built and served from memory.

Consumes: the benign kodak24 photos (``kodim01.png`` ... ``kodim24.png``, see :func:`find_photos`).
Produces: a :class:`DemoSite` -- HTML pages, JPEG images, a placeholder GIF and ``robots.txt``
keyed by URL path -- plus its ground truth: the planted images (modified re-uploads of the first
``n_references`` photos, with the page and the way each is embedded) and the unrelated images.
:class:`DemoServer` serves a site on 127.0.0.1. No image bytes are ever written to disk.

Layout: ``/`` (nav, featured ``<img srcset>`` thumbnails, thread list) -> ``/gallery?page=1..3``
(``<img src>`` and lazy ``data-src``) and ``/forum`` -> ``/post/<n>`` (og:image/twitter:image,
inline ``style`` background, ``<style>`` block, download links) ; ``/about`` has no images and
links to ``/admin/`` (disallowed by robots.txt; shows only an unrelated photo also shown
elsewhere) and to ``http://example.invalid/``. Every image is at most 3 hops from ``/``.
"""

from __future__ import annotations

import collections
import html
import io
import logging
import os
import random
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

TRANSFORMS = ("resized", "recompressed", "mirrored", "cropped", "caption", "border")
POST_HOWS = ("og:image", "css-background", "style-block", "link")
GALLERY_HOWS = ("img", "data-src")
GALLERY_PAGES = 3
PLACEHOLDER = "/static/placeholder.gif"
CAPTION = "saw this on another site"
BORDER_COLOUR = (250, 250, 245)
HTML, JPEG = "text/html; charset=utf-8", "image/jpeg"
TITLES = ("Harbour weekend", "Gran's garden", "Sailing day", "Old barn", "Market day", "Lighthouse")
LAZY_JS = "document.querySelectorAll('img[data-src]').forEach(i=>{i.src=i.dataset.src})"
CSS = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f4f4f1;color:#222}"
    "header,footer{background:#2b3a4a;color:#eee;padding:.6em 1.2em}"
    "header a,footer a{color:#cde;margin-right:1em}main{max-width:980px;margin:1em auto}"
    ".grid img{width:230px;height:230px;object-fit:cover;margin:4px;background:#ddd}"
    ".hero,.banner{height:260px;background-size:cover;background-position:center;margin:1em 0}"
)


@dataclass(frozen=True, slots=True)
class Planted:
    path: str  # URL path on the site, e.g. "/media/3f2a...jpg"
    reference_label: str  # label (file stem) of the reference photo it derives from
    transform: str  # one of TRANSFORMS
    page_path: str  # path of the page where it is shown
    how: str  # "img", "srcset", "data-src", "css-background", "style-block", "og:image", "link"


@dataclass(frozen=True, slots=True)
class AgeGate:
    """Pages under ``prefix`` are shown only to a visitor with the cookie
    ``<cookie>=yes``; anyone else gets ``page`` (the gate; ``{next}`` in it is replaced
    by the requested path) with status 200, as leak sites do. ``enter`` (GET or POST,
    fields ``next`` and ``answer``) sets the cookie unless the answer is ``no`` and
    redirects to ``next``; with ``sets_cookie=False`` it never does (a gate that
    cannot be passed)."""

    prefix: str
    page: str
    cookie: str = "over18"
    enter: str = "/enter"
    sets_cookie: bool = True

    def passed(self, cookie_header: str) -> bool:
        pairs = (c.strip().partition("=") for c in cookie_header.split(";"))
        return any(name == self.cookie and value == "yes" for name, _, value in pairs)


@dataclass(slots=True)
class DemoSite:
    files: dict[str, tuple[str, bytes]]  # path -> (content type, body)
    planted: list[Planted]
    unrelated: list[str]  # image paths of photos not derived from any reference
    references: dict[str, Path]  # label -> path of the reference photo file
    gate: AgeGate | None = None  # pages behind an age gate (radar.demo.gated)


def find_photos(shared_images: Path | None = None) -> list[Path]:
    """The kodak24 photos, sorted, from ``shared_images`` (or its ``kodak24/``), else the env
    var RADAR_SHARED_IMAGES, else ``<repo>/../shared/images``. FileNotFoundError if none."""
    if shared_images is None:
        env = os.environ.get("RADAR_SHARED_IMAGES")
        repo = Path(__file__).resolve().parents[2]
        shared_images = Path(env) if env else repo.parent / "shared" / "images"
    folder = shared_images / "kodak24" if (shared_images / "kodak24").is_dir() else shared_images
    photos = sorted(folder.glob("kodim*.png"))
    if not photos:
        raise FileNotFoundError(
            f"no kodak24 photos (kodim*.png) in {folder}: pass shared_images or set "
            "RADAR_SHARED_IMAGES to the folder that holds kodak24/"
        )
    return photos


def _jpeg(image: Image.Image, quality: int = 90) -> bytes:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def transform(image: Image.Image, name: str) -> bytes:
    """Apply one re-upload transform (see TRANSFORMS) and return JPEG bytes."""
    img = image.convert("RGB")
    w, h = img.size
    if name == "resized":
        return _jpeg(img.resize((max(1, w // 2), max(1, h // 2)), Image.Resampling.LANCZOS), 85)
    if name == "recompressed":
        return _jpeg(img, 30)
    if name == "mirrored":
        return _jpeg(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
    if name == "cropped":
        dx, dy = round(w * 0.04), round(h * 0.04)
        return _jpeg(img.crop((dx, dy, w - dx, h - dy)))
    if name == "caption":
        bar = max(1, round(h * 0.12))
        out = Image.new("RGB", (w, h + bar), "black")
        out.paste(img, (0, 0))
        draw = ImageDraw.Draw(out)
        font = ImageFont.load_default(size=max(8, bar // 2))
        left, top, right, bottom = draw.textbbox((0, 0), CAPTION, font=font)
        xy = ((w - right + left) // 2 - left, h + (bar - bottom + top) // 2 - top)
        draw.text(xy, CAPTION, fill="white", font=font)
        return _jpeg(out)
    if name == "border":
        pad = max(1, round(min(w, h) * 0.10))
        out = Image.new("RGB", (w + 2 * pad, h + 2 * pad), BORDER_COLOUR)
        out.paste(img, (pad, pad))
        return _jpeg(out)
    raise ValueError(f"unknown transform {name!r}; expected one of {TRANSFORMS}")


def _load(photo: Path) -> Image.Image:
    with Image.open(photo) as im:
        return im.convert("RGB")


def _url(path: str, page: str, i: int) -> str:
    """Alternate absolute-path and page-relative forms of a URL (e.g. ``../media/x.jpg``)."""
    if i % 2 == 0:
        return html.escape(path)
    return html.escape("../" * (urlsplit(page).path.count("/") - 1) + path.lstrip("/"))


def _page(title: str, body: str, head: str = "") -> bytes:
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)} - Snapshare</title><style>{CSS}</style>{head}</head>\n"
        '<body><header><b>Snapshare</b> &middot; <a href="/">Home</a>'
        '<a href="/gallery?page=1">Gallery</a><a href="/forum">Forum</a><a href="/about">About</a>'
        f"</header>\n<main>{body}</main>\n<footer>Snapshare demo community &middot; partner site: "
        '<a href="http://example.invalid/" rel="nofollow">example.invalid</a></footer>'
        "</body></html>\n"
    ).encode()


def build_site(photos: list[Path], n_references: int = 6, seed: int = 7) -> DemoSite:
    """Deterministically build the demo site (same photos and seed -> same bytes).

    The first ``n_references`` photos are references; each gets one planted copy per transform
    (6 x 6 = 36 planted, every transform 6 times). Up to three references get a featured
    thumbnail on ``/``: their ``resized`` copy as ``<img src>``/1x and another copy as the larger
    2x ``srcset`` candidate. The other planted copies are shuffled and dealt round-robin over
    og:image, css-background, style-block, link (one per forum post each) and img, data-src
    (gallery). The remaining photos are unrelated: JPEG copies, every third one resized."""
    if not 0 < n_references <= len(photos):
        raise ValueError(f"n_references must be in 1..{len(photos)}, got {n_references}")
    rng = random.Random(seed)
    files: dict[str, tuple[str, bytes]] = {}

    def add(body: bytes) -> str:
        path = f"/media/{rng.getrandbits(48):012x}.jpg"
        while path in files:
            path = f"/media/{rng.getrandbits(48):012x}.jpg"
        files[path] = (JPEG, body)
        return path

    made: list[tuple[str, str, str]] = []  # (path, reference label, transform)
    for photo in photos[:n_references]:
        img = _load(photo)
        made += [(add(transform(img, t)), photo.stem, t) for t in TRANSFORMS]
    unrelated = [
        add(transform(img, "resized") if i % 3 == 2 else _jpeg(img))
        for i, img in enumerate(_load(p) for p in photos[n_references:])
    ]
    planted: list[Planted] = []

    def plant(item: tuple[str, str, str], page: str, how: str) -> str:
        planted.append(Planted(item[0], item[1], item[2], page, how))
        return item[0]

    # Home: featured thumbnails; the 2x srcset candidate is the larger planted copy.
    featured, n_t = [], len(TRANSFORMS)  # TRANSFORMS[0] is "resized"
    for r in range(min(3, n_references)):
        small, large = made[r * n_t], made[r * n_t + 1 + rng.randrange(n_t - 1)]
        featured.append((small, large))
    used = {item for pair in featured for item in pair}
    rest = [item for item in made if item not in used]
    rng.shuffle(rest)
    hows = POST_HOWS + GALLERY_HOWS
    by_how = {h: [it for i, it in enumerate(rest) if hows[i % len(hows)] == h] for h in hows}
    n_posts = max(1, *(len(by_how[h]) for h in POST_HOWS))

    thumbs = ""
    for k, (small, large) in enumerate(featured):
        one = _url(plant(small, "/", "img"), "/", k)
        two = _url(plant(large, "/", "srcset"), "/", k + 1)
        thumbs += (
            f'<a href="/post/{k % n_posts + 1}"><img src="{one}" srcset="{one} 1x, {two} 2x" '
            'alt="featured photo" width="250" height="250"></a>'
        )
    threads = "".join(
        f'<li><a href="/post/{n}">{TITLES[(n - 1) % len(TITLES)]}</a></li>'
        for n in range(1, n_posts + 1)
    )
    home = (
        "<h1>Welcome to Snapshare</h1><p>Share your holiday snaps with friends.</p>"
        f'<h2>Featured</h2><div class="grid">{thumbs}</div>'
        f"<h2>Latest threads</h2><ul>{threads}</ul>"
        '<p><a href="gallery?page=1">Browse the gallery &raquo;</a></p>'
    )
    files["/"] = (HTML, _page("Home", home))
    forum_links = threads.replace('href="/post/', 'href="post/', n_posts // 2)
    files["/forum"] = (HTML, _page("Forum", f"<h1>Forum</h1><ul>{forum_links}</ul>"))

    # Forum posts: one of each POST_HOWS per post (while they last) and one unrelated photo.
    for k in range(n_posts):
        page, n = f"/post/{k + 1}", k + 1
        get = {h: by_how[h][k] for h in POST_HOWS if k < len(by_how[h])}
        head = body = ""
        if "og:image" in get:
            url = _url(plant(get["og:image"], page, "og:image"), page, 0)
            head += f'<meta property="og:image" content="{url}">'
            head += f'<meta name="twitter:image" content="{url}">'
        if "style-block" in get:
            url = _url(plant(get["style-block"], page, "style-block"), page, k)
            head += f"<style>\n.hero {{ background-image: url({url}); }}\n</style>"
            body += '<div class="hero"></div>'
        body += "<p>Took these last weekend, what do you think of the light?</p>"
        if "css-background" in get:
            url = _url(plant(get["css-background"], page, "css-background"), page, k + 1)
            body += f'<div class="banner" style="background-image: url(\'{url}\')"></div>'
        if k < len(unrelated):
            body += f'<p><img src="{_url(unrelated[k], page, k + 1)}" alt="another shot"></p>'
        if "link" in get:
            url = _url(plant(get["link"], page, "link"), page, k)
            body += f'<p>Full size: <a href="{url}">download</a></p>'
        nav = f'<p><a href="../forum">Back to the forum</a> | <a href="{n % n_posts + 1}">Next</a>'
        nav += "</p>"
        title = TITLES[k % len(TITLES)]
        files[page] = (HTML, _page(title, f"<article><h1>{title}</h1>{body}</article>{nav}", head))

    # Gallery: planted img/data-src copies mixed with the other unrelated photos over 3 pages.
    entries = [(it, h) for h in GALLERY_HOWS for it in by_how[h]]
    entries += [((p, "", ""), GALLERY_HOWS[i % 2]) for i, p in enumerate(unrelated[n_posts:])]
    rng.shuffle(entries)
    for p in range(1, GALLERY_PAGES + 1):
        page, cells = f"/gallery?page={p}", ""
        for i, (item, how) in enumerate(entries[p - 1 :: GALLERY_PAGES]):
            url = _url(plant(item, page, how) if item[1] else item[0], page, i)
            src = f'src="{url}"' if how == "img" else f'src="{PLACEHOLDER}" data-src="{url}"'
            cells += f'<img {src} alt="photo" loading="lazy">'
        pager = " ".join(f'<a href="?page={q}">{q}</a>' for q in range(1, GALLERY_PAGES + 1))
        if p < GALLERY_PAGES:
            pager += f' <a href="/gallery?page={p + 1}" rel="next">next &raquo;</a>'
        body = f'<h1>Gallery, page {p}</h1><div class="grid">{cells}</div><p>{pager}</p>'
        files[page] = (HTML, _page(f"Gallery {p}", f"{body}<script>{LAZY_JS}</script>"))

    about = (
        "<h1>About Snapshare</h1><p>A small community for sharing everyday photos.</p>"
        '<p>Moderators: <a href="/admin/">moderation queue</a>.</p>'
    )
    files["/about"] = (HTML, _page("About", about))
    admin = f'<img src="{_url(unrelated[-1], "/admin/", 1)}" alt="queued">' if unrelated else ""
    files["/admin/"] = (HTML, _page("Moderation", f"<h1>Moderation queue</h1>{admin}"))
    files["/robots.txt"] = ("text/plain; charset=utf-8", b"User-agent: *\nDisallow: /admin/\n")
    gif = io.BytesIO()
    Image.new("L", (1, 1), 255).save(gif, "GIF")
    files[PLACEHOLDER] = ("image/gif", gif.getvalue())
    references = {p.stem: p for p in photos[:n_references]}
    return DemoSite(files=files, planted=planted, unrelated=unrelated, references=references)


class DemoServer:
    """Serves a DemoSite on 127.0.0.1 (port 0 = ephemeral) from a ThreadingHTTPServer in a
    daemon thread. ``requests`` counts every request target received (path plus query);
    ``cookies`` lists (request target, Cookie header) of every request that sent one."""

    def __init__(self, site: DemoSite, host: str = "127.0.0.1", port: int = 0) -> None:
        self.site, self.host, self.port = site, host, port
        self.requests: collections.Counter[str] = collections.Counter()
        self.cookies: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("DemoServer is not started")
        return f"http://{self.host}:{self._httpd.server_address[1]}"

    def _serve(self, handler: BaseHTTPRequestHandler, with_body: bool, form: str = "") -> None:
        target = handler.path.split("#", 1)[0]
        cookie = handler.headers.get("Cookie", "")
        with self._lock:
            self.requests[target] += 1
            if cookie:
                self.cookies.append((target, cookie))
        gate, path, extra = self.site.gate, urlsplit(target).path, {}
        entry = self.site.files.get(target) or self.site.files.get(path)
        status, (ctype, body) = (200, entry) if entry else (404, ("text/plain", b"not found\n"))
        if gate is not None and path == gate.enter:
            fields = parse_qs(urlsplit(target).query) | parse_qs(form)
            goto = fields.get("next", ["/"])[0]
            status, ctype, body = 303, "text/plain", b"see other\n"
            extra["Location"] = goto if goto.startswith("/") and not goto.startswith("//") else "/"
            if gate.sets_cookie and fields.get("answer", ["yes"])[0] != "no":
                extra["Set-Cookie"] = f"{gate.cookie}=yes; Path=/; HttpOnly"
        elif gate is not None and path.startswith(gate.prefix) and not gate.passed(cookie):
            ctype, status = HTML, 200
            body = gate.page.replace("{next}", html.escape(target)).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in extra.items():
            handler.send_header(name, value)
        handler.end_headers()
        if with_body:
            handler.wfile.write(body)

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        server = self

        class Handler(BaseHTTPRequestHandler):
            server_version = "SnapshareDemo/1.0"

            def do_GET(self) -> None:
                server._serve(self, with_body=True)

            def do_HEAD(self) -> None:
                server._serve(self, with_body=False)

            def do_POST(self) -> None:
                length = min(int(self.headers.get("Content-Length") or 0), 65536)
                form = self.rfile.read(length).decode("utf-8", "replace")
                server._serve(self, with_body=True, form=form)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("%s - " + format, self.address_string(), *args)

        self._httpd = ThreadingHTTPServer((self.host, self.port), Handler)
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()
        self._httpd = self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
