"""Two more local places for the demo and the crawler tests: a JavaScript gallery and a
public-channel preview, built from benign photos and served by :class:`DemoServer`.

* :func:`js_gallery` -- ``/js-gallery``: the HTML holds no image at all; a script loads
  ``/api/gallery?page=N`` (JSON) as the visitor scrolls (an IntersectionObserver on a
  sentinel, pages 1-2) and then only on "Load more" clicks (pages 3..N). Invisible
  without a browser; every photo is reachable with one.
* :func:`channel` -- ``/s/<name>``: shaped like a Telegram channel preview
  (``div.tgme_widget_message[data-post]``, photos as ``background-image`` of
  ``a.tgme_widget_message_photo_wrap``, albums, a video thumbnail, a "more" link to
  ``?before=<id>``), several pages of posts, photos on a ``/cdn/`` path.

Both return a :class:`DemoSite` (files keyed by path and query) with its ground truth.
"""

from __future__ import annotations

import html
import io
import json
import random
from pathlib import Path

from PIL import Image

from radar.demo.site import HTML, JPEG, DemoSite, Planted, transform

GALLERY_PAGES = 4
PER_PAGE = 3
SCROLL_PAGES = 2  # pages loaded by scrolling; the rest need "Load more"
_GALLERY_JS = """
const grid = document.getElementById('grid'), more = document.getElementById('more');
let page = 0, busy = false, done = false;
async function next() {
  if (busy || done) return;
  busy = true; page += 1;
  const reply = await fetch('/api/gallery?page=' + page);
  const data = await reply.json();
  for (const src of data.photos) {
    const img = document.createElement('img');
    img.src = src; img.width = 400; img.height = 400; img.alt = 'photo';
    img.style.display = 'block';
    grid.appendChild(img);
  }
  done = !data.more; busy = false;
  more.style.display = (page >= SCROLL_PAGES && !done) ? 'block' : 'none';
}
new IntersectionObserver(entries => {
  if (entries[0].isIntersecting && page < SCROLL_PAGES) next();
}).observe(document.getElementById('sentinel'));
more.addEventListener('click', next);
""".replace("SCROLL_PAGES", str(SCROLL_PAGES))


def _jpeg(photo: Path, quality: int = 88) -> bytes:
    buffer = io.BytesIO()
    with Image.open(photo) as image:
        image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def js_gallery(references: list[Path], unrelated: list[Path], seed: int = 11) -> DemoSite:
    """A gallery of ``GALLERY_PAGES * PER_PAGE`` photos loaded by script: one planted
    copy (resized, recompressed, mirrored in turn) of each reference, the rest
    unrelated; planted copies sit on the last pages, behind "Load more"."""
    rng = random.Random(seed)
    files: dict[str, tuple[str, bytes]] = {}
    planted: list[Planted] = []
    names = ("resized", "recompressed", "mirrored")
    entries: list[tuple[str, str, str]] = []  # (path, reference label, transform)
    for i, photo in enumerate(references):
        with Image.open(photo) as image:
            body = transform(image, names[i % len(names)])
        path = f"/media/js-{rng.getrandbits(40):010x}.jpg"
        files[path] = (JPEG, body)
        entries.append((path, photo.stem, names[i % len(names)]))
    fillers = []
    for photo in unrelated:
        path = f"/media/js-{rng.getrandbits(40):010x}.jpg"
        files[path] = (JPEG, _jpeg(photo))
        fillers.append(path)
    total = GALLERY_PAGES * PER_PAGE
    order = [e[0] for e in entries]
    paths = (fillers + order)[-total:] if len(fillers) + len(order) > total else fillers + order
    for page in range(1, GALLERY_PAGES + 1):
        chunk = paths[(page - 1) * PER_PAGE : page * PER_PAGE]
        files[f"/api/gallery?page={page}"] = (
            "application/json",
            json.dumps({"photos": chunk, "more": page < GALLERY_PAGES}).encode(),
        )
    for path, label, name in entries:
        if path in paths:
            planted.append(Planted(path, label, name, "/js-gallery", "js-gallery"))
    document = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Live gallery</title></head>"
        "<body><h1>Live gallery</h1><div id='grid'></div>"
        "<button id='more' style='display:none'>Load more</button>"
        "<div id='sentinel' style='height:10px'></div>"
        f"<script>{_GALLERY_JS}</script></body></html>"
    )
    files["/js-gallery"] = (HTML, document.encode())
    files["/robots.txt"] = ("text/plain", b"User-agent: *\nAllow: /\n")
    return DemoSite(
        files=files,
        planted=planted,
        unrelated=fillers,
        references={p.stem: p for p in references},
    )


def _post(name: str, post_id: int, photos: list[tuple[int, str]], video: str = "") -> str:
    wraps = "".join(
        f'<a class="tgme_widget_message_photo_wrap" href="https://t.me/{name}/{pid}?single" '
        f"style=\"width:800px;background-image:url('{html.escape(url)}')\"></a>"
        for pid, url in photos
    )
    if len(photos) > 1:
        wraps = f'<div class="tgme_widget_message_grouped_wrap">{wraps}</div>'
    if video:
        wraps += (
            f'<a class="tgme_widget_message_video_player" href="https://t.me/{name}/{post_id}">'
            f'<i class="tgme_widget_message_video_thumb" style="background-image:url(\'{video}\')">'
            "</i></a>"
        )
    return (
        '<div class="tgme_widget_message_wrap js-widget_message_wrap">'
        f'<div class="tgme_widget_message js-widget_message" data-post="{name}/{post_id}">'
        f'{wraps}<div class="tgme_widget_message_text">post {post_id}</div>'
        f'<a class="tgme_widget_message_date" href="https://t.me/{name}/{post_id}">'
        f'<time datetime="2026-11-{1 + post_id % 28:02d}T10:00:00+00:00">10:00</time></a>'
        "</div></div>"
    )


def channel(
    references: list[Path],
    unrelated: list[Path],
    name: str = "snapshare",
    posts: int = 30,
    per_page: int = 10,
    seed: int = 13,
) -> DemoSite:
    """A channel preview of ``posts`` posts, ``per_page`` a page (newest first page),
    older pages at ``?before=<id>``. Post 1..n carry one photo each (an unrelated one, or
    a planted copy of a reference on the oldest pages); post 8 is an album of two, post
    9 a video thumbnail. Every photo's key is ``<origin>/<name>/<post id>``."""
    rng = random.Random(seed)
    files: dict[str, tuple[str, bytes]] = {}
    planted: list[Planted] = []
    pool = [(p, "") for p in unrelated]
    assignments: dict[int, list[tuple[int, str]]] = {}
    keys_of: dict[str, int] = {}

    def cdn(body: bytes) -> str:
        path = f"/cdn/{rng.getrandbits(64):016x}.jpg"
        files[path] = (JPEG, body)
        return path

    # Planted copies on the oldest posts (reached only by paging back).
    for i, photo in enumerate(references):
        post_id = 2 + 3 * i
        with Image.open(photo) as image:
            path = cdn(transform(image, ("recompressed", "resized", "mirrored")[i % 3]))
        assignments[post_id] = [(post_id, path)]
        keys_of[path] = post_id
        planted.append(Planted(path, photo.stem, "recompressed", f"/s/{name}", "telegram-photo"))
    unrelated_paths = []
    for post_id in range(1, posts + 1):
        if post_id in assignments or not pool:
            continue
        photo, _ = pool[post_id % len(pool)]
        path = cdn(_jpeg(photo, 70 + post_id % 20))
        unrelated_paths.append(path)
        assignments[post_id] = [(post_id, path)]
    if 8 in assignments and posts >= 8 + 1:  # album: post 8 shows photos 8 and 8's sibling
        extra = cdn(_jpeg(unrelated[0], 60)) if unrelated else ""
        if extra:
            assignments[8] = [*assignments[8], (posts + 1, extra)]
            unrelated_paths.append(extra)
    video = ""
    if unrelated:
        video = cdn(_jpeg(unrelated[-1], 65))
        unrelated_paths.append(video)
    for top in range(posts, 0, -per_page):
        ids = list(range(max(1, top - per_page + 1), top + 1))
        body = "".join(
            _post(name, pid, assignments.get(pid, []), video if pid == 9 else "") for pid in ids
        )
        more = (
            f'<a class="tme_messages_more js-messages_more" data-before="{ids[0]}" '
            f'href="/s/{name}?before={ids[0]}"></a>'
            if ids[0] > 1
            else ""
        )
        page = (
            f"<!DOCTYPE html><html><head><title>Snapshare channel</title></head><body>"
            f'<section class="tgme_channel_history">{more}{body}</section></body></html>'
        ).encode()
        key = f"/s/{name}" if top == posts else f"/s/{name}?before={top + 1}"
        files[key] = (HTML, page)
    files["/robots.txt"] = ("text/plain", b"User-agent: *\nAllow: /\n")
    return DemoSite(
        files=files,
        planted=planted,
        unrelated=unrelated_paths,
        references={p.stem: p for p in references},
    )
