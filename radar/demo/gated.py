"""An age-gated place for the demo and the crawler tests, built from benign photos.

:func:`age_gated` -- ``/vip/`` and ``/vip/more``: two pages of photos (planted copies of
the references among unrelated ones) shown only after the visitor answered an age gate
(:class:`radar.demo.site.AgeGate`, served by :class:`radar.demo.site.DemoServer`).
:func:`gate_page` builds the gate in one of :data:`STYLES`, in English or Spanish:

* ``link`` -- a yes-link to ``/enter?next=...`` (and a no-link off the site);
* ``get`` / ``post`` -- a form to ``/enter`` with a "no" button before the "yes" one;
* ``button`` -- a button whose script sets the cookie and reloads: passable only by a
  browser.

The photos themselves sit outside the gated prefix (``/media/``), as on sites that gate
pages but serve images from a CDN.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

from PIL import Image

from radar.demo.site import HTML, JPEG, AgeGate, DemoSite, Planted, transform

STYLES = ("link", "get", "post", "button")
PREFIX = "/vip/"
_WORDS = {
    "en": {
        "title": "Adults only",
        "ask": "This section is for adults. Are you 18 or older?",
        "yes": "I am 18 or older - Enter",
        "no": "No, I am under 18",
    },
    "es": {
        "title": "Solo para adultos",
        "ask": "Esta sección es solo para adultos. ¿Eres mayor de edad?",
        "yes": "Soy mayor de edad - Entrar",
        "no": "No, salir",
    },
}
_BUTTON_JS = (
    "document.getElementById('yes').addEventListener('click', () => {"
    "document.cookie = 'COOKIE=yes; path=/'; location.reload(); });"
)


def gate_page(style: str = "post", lang: str = "en", cookie: str = "over18") -> str:
    """The HTML of an age gate (``{next}`` stands for the requested path)."""
    if style not in STYLES:
        raise ValueError(f"unknown gate style {style!r}; expected one of {STYLES}")
    w = _WORDS[lang]
    if style == "link":
        controls = (
            f'<p><a href="/enter?next={{next}}">{w["yes"]}</a> '
            f'<a href="http://example.invalid/">{w["no"]}</a></p>'
        )
    elif style == "button":
        script = _BUTTON_JS.replace("COOKIE", cookie)
        controls = f'<p><button id="yes">{w["yes"]}</button></p><script>{script}</script>'
    else:
        controls = (
            f'<form action="/enter" method="{style}">'
            '<input type="hidden" name="next" value="{next}">'
            f'<button type="submit" name="answer" value="no">{w["no"]}</button> '
            f'<button type="submit" name="answer" value="yes">{w["yes"]}</button></form>'
        )
    return (
        f'<!DOCTYPE html><html lang="{lang}"><head><meta charset="utf-8">'
        f"<title>{w['title']}</title></head><body><h1>{w['title']}</h1>"
        f"<p>{w['ask']}</p>{controls}</body></html>"
    )


def _jpeg(photo: Path, quality: int = 86) -> bytes:
    buffer = io.BytesIO()
    with Image.open(photo) as image:
        image.convert("RGB").save(buffer, "JPEG", quality=quality)
    return buffer.getvalue()


def age_gated(
    references: list[Path],
    unrelated: list[Path],
    style: str = "post",
    lang: str = "en",
    sets_cookie: bool = True,
    seed: int = 17,
) -> DemoSite:
    """Two gated pages: ``/vip/`` (half the photos, a link to ``/vip/more``) and
    ``/vip/more`` (the rest). One planted copy of each reference (resized, mirrored,
    recompressed in turn), shuffled among the unrelated photos."""
    rng = random.Random(seed)
    files: dict[str, tuple[str, bytes]] = {}
    planted: list[Planted] = []
    entries: list[tuple[str, str, str]] = []  # (path, reference label or "", transform)
    names = ("resized", "mirrored", "recompressed")
    for i, photo in enumerate(references):
        path = f"/media/vip-{rng.getrandbits(40):010x}.jpg"
        with Image.open(photo) as image:
            files[path] = (JPEG, transform(image, names[i % len(names)]))
        entries.append((path, photo.stem, names[i % len(names)]))
    fillers = []
    for photo in unrelated:
        path = f"/media/vip-{rng.getrandbits(40):010x}.jpg"
        files[path] = (JPEG, _jpeg(photo))
        fillers.append(path)
        entries.append((path, "", ""))
    rng.shuffle(entries)
    half = (len(entries) + 1) // 2
    for page, chunk, more in (
        (PREFIX, entries[:half], '<p><a href="/vip/more">More photos</a></p>'),
        ("/vip/more", entries[half:], ""),
    ):
        cells = ""
        for path, label, name in chunk:
            cells += f'<img src="{path}" alt="photo" width="300">'
            if label:
                planted.append(Planted(path, label, name, page, "img"))
        document = (
            "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Members' photos</title>"
            f"</head><body><h1>Members' photos</h1>{cells}{more}</body></html>"
        )
        files[page] = (HTML, document.encode())
    files["/robots.txt"] = ("text/plain", b"User-agent: *\nAllow: /\n")
    gate = AgeGate(PREFIX, gate_page(style, lang), sets_cookie=sets_cookie)
    return DemoSite(
        files=files,
        planted=planted,
        unrelated=fillers,
        references={p.stem: p for p in references},
        gate=gate,
    )
