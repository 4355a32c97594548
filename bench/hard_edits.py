"""The hard re-upload edits of issue 15, and hard distractors, from benign pictures only.

Deterministic: every edit is a pure function of (picture, seed, other photos), and every
output is JPEG-encoded then decoded, as a re-upload would be. Edit families (crop X
keeps (1 - X) of the width and of the height, as in :mod:`bench.transforms`):

- crops of 30 % and 50 % at a random place, off-centre (a corner quadrant-ish 55 %
  window), square (the largest centred square, then 20 % more cropped);
- rotations of 10 and 20 degrees about the centre (same canvas, black corners);
- stickers (5-9 opaque shapes over ~15 % of the area), meme text (white outlined text
  bands on top and bottom), blurred-background letterboxing (9:16 canvas);
- photo of a screen (perspective, gamma, blur, noise, moire-like stripes, dark rim);
- an edit chain (crop 20 %, rotate 8, tint, half size, JPEG 40) and the same mirrored;
- collages 2x2 and 3x3 (the photo in one cell, other photos in the rest);
- a chat screenshot (the photo as a bubble in a phone chat UI);
- grey, a colour filter (warm tint, contrast), a thumbnail (long side 128), JPEG q=12;
- derivatives: 25 % and 40 % of the area replaced by another photo's content, in the
  bottom centre (the top and the sides kept).

Every family except the explicitly mirrored one is mirrored for odd seeds ("mirrored or
not"). Distractors: text pages, UI screens, charts, crops and collages of photos that are
not references, and textures.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Edit = Callable[[Image.Image, np.random.Generator, Sequence[Image.Image]], Image.Image]
_WORDS = (
    "the of and report meeting notes agenda project budget review update team quarter "
    "please find attached summary figures results next steps welcome account settings "
    "privacy message reply share like follow profile search home photos video table data"
)
WORDS = tuple(_WORDS.split())


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def encoded(picture: Image.Image, quality: int = 85) -> Image.Image:
    """``picture`` through a JPEG round trip (what any re-upload goes through)."""
    buf = io.BytesIO()
    picture.convert("RGB").save(buf, "JPEG", quality=quality)
    buf.seek(0)
    with Image.open(buf) as im:
        return im.convert("RGB")


def _crop_keep(im: Image.Image, keep: float, rng: np.random.Generator) -> Image.Image:
    w, h = im.size
    cw, ch = max(8, round(w * keep)), max(8, round(h * keep))
    x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
    return im.crop((x, y, x + cw, y + ch))


def _offcentre(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    w, h = im.size
    cw, ch = round(w * 0.55), round(h * 0.55)
    corner = int(rng.integers(4))
    x = 0 if corner % 2 == 0 else w - cw
    y = 0 if corner < 2 else h - ch
    return im.crop((x, y, x + cw, y + ch))


def _square(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    w, h = im.size
    s = min(w, h)
    square = im.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s))
    return _crop_keep(square, 0.8, rng)


def _rotate(degrees: float) -> Edit:
    def rotate(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
        sign = 1 if rng.random() < 0.5 else -1
        return im.rotate(sign * degrees, resample=Image.Resampling.BILINEAR)

    return rotate


def _colour(rng: np.random.Generator) -> tuple[int, int, int]:
    r, g, b = (int(v) for v in rng.integers(0, 256, 3))
    return r, g, b


def _stickers(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    w, h = im.size
    for _ in range(int(rng.integers(5, 10))):
        r = int(min(w, h) * rng.uniform(0.06, 0.11))
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        if rng.random() < 0.5:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_colour(rng), outline="white", width=3)
        else:
            draw.rectangle((x - r, y - r, x + r, y + r), fill=_colour(rng))
        draw.text((x - r // 2, y - r // 3), "lol", "white", _font(r // 2))
    return out


def _meme(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    out = im.copy()
    draw = ImageDraw.Draw(out)
    w, h = im.size
    size = max(12, h // 9)
    for text, y in (("WHEN YOU SEE IT", h // 40), ("NOBODY EXPECTED THIS", h - size - h // 30)):
        draw.text(
            (w // 20, y),
            text,
            "white",
            _font(size),
            stroke_width=max(1, size // 12),
            stroke_fill="black",
        )
    return out


def _letterbox(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    w, h = im.size
    cw, ch = 540, 960
    bg = im.resize((ch * w // h, ch)).crop(
        ((ch * w // h - cw) // 2, 0, (ch * w // h + cw) // 2, ch)
    )
    bg = bg.filter(ImageFilter.GaussianBlur(24))
    ph = round(h * cw / w)
    bg.paste(im.resize((cw, ph), Image.Resampling.LANCZOS), (0, (ch - ph) // 2))
    return bg


def _screen(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    import cv2

    rgb = np.asarray(im.resize((640, round(640 * im.height / im.width)))).astype(np.float32)
    stripes = 6 * np.sin(np.arange(rgb.shape[0]) * 2.1)[:, None, None]
    rgb = np.clip(255 * (rgb / 255) ** 0.8 * 0.9 + 20 + stripes, 0, 255).astype(np.uint8)
    h, w = rgb.shape[:2]
    W, H = 900, round(900 * h / w) + 160
    j = rng.uniform(0.0, 0.06, 8) * np.array([W, H] * 4)
    src = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    dst = np.array(
        [
            [80 + j[0], 60 + j[1]],
            [W - 80 - j[2], 80 + j[3]],
            [W - 60 - j[4], H - 60 - j[5]],
            [60 + j[6], H - 80 - j[7]],
        ],
        np.float32,
    )
    warped = cv2.warpPerspective(
        rgb, cv2.getPerspectiveTransform(src, dst), (W, H), borderValue=(25, 25, 30)
    )
    blurred = cv2.GaussianBlur(warped, (0, 0), 1.2).astype(np.float32)
    noisy = blurred + rng.normal(0, 5, blurred.shape)
    return Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))


def _tint(im: Image.Image) -> Image.Image:
    a = np.asarray(im).astype(np.float32)
    a = (a - 128) * 1.25 + 128
    a *= np.array([1.12, 1.0, 0.78])
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def _chain(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    out = _crop_keep(im, 0.8, rng).rotate(8 if rng.random() < 0.5 else -8)
    out = _tint(out)
    out = out.resize((max(8, out.width // 2), max(8, out.height // 2)), Image.Resampling.LANCZOS)
    return encoded(out, 40)


def _mirror_chain(
    im: Image.Image, rng: np.random.Generator, o: Sequence[Image.Image]
) -> Image.Image:
    return _chain(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), rng, o)


def _collage(n: int) -> Edit:
    def collage(
        im: Image.Image, rng: np.random.Generator, others: Sequence[Image.Image]
    ) -> Image.Image:
        cell = 1080 // n
        out = Image.new("RGB", (cell * n, cell * n), "white")
        target = int(rng.integers(n * n))
        picks = rng.choice(len(others), n * n, replace=len(others) < n * n)
        for i in range(n * n):
            src = im if i == target else others[int(picks[i])]
            s = min(src.size)
            sq = src.crop(
                (
                    (src.width - s) // 2,
                    (src.height - s) // 2,
                    (src.width - s) // 2 + s,
                    (src.height - s) // 2 + s,
                )
            )
            out.paste(sq.resize((cell - 6, cell - 6)), ((i % n) * cell + 3, (i // n) * cell + 3))
        return out

    return collage


def _chat(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    W, H = 720, 1280
    out = Image.new("RGB", (W, H), (236, 229, 221))
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, W, 110), fill=(7, 94, 84))
    draw.text((110, 40), "Alex  online", "white", _font(30))
    y = 140
    for _ in range(2):
        draw.rounded_rectangle((30, y, 460, y + 70), 18, fill="white")
        draw.text((50, y + 20), " ".join(rng.choice(WORDS, 4)), "black", _font(22))
        y += 90
    pw = 420
    ph = round(im.height * pw / im.width)
    draw.rounded_rectangle((W - pw - 50, y, W - 30, y + ph + 60), 18, fill=(220, 248, 198))
    out.paste(im.resize((pw, ph), Image.Resampling.LANCZOS), (W - pw - 40, y + 10))
    draw.text((W - 200, y + ph + 22), "12:41", (90, 90, 90), _font(20))
    draw.rectangle((0, H - 100, W, H), fill=(245, 245, 245))
    draw.text((40, H - 65), "Type a message", (150, 150, 150), _font(26))
    return out


def _derivative(fraction: float) -> Edit:
    def derivative(
        im: Image.Image, rng: np.random.Generator, others: Sequence[Image.Image]
    ) -> Image.Image:
        w, h = im.size
        rw = 0.8 if fraction > 0.3 else 0.625  # 0.8 x 0.5 = 40 %, 0.625 x 0.4 = 25 %
        bw, bh = round(w * rw), round(h * fraction / rw)
        other = others[int(rng.integers(len(others)))]
        patch = _crop_keep(other, 0.7, rng).resize((bw, bh), Image.Resampling.LANCZOS)
        out = im.copy()
        out.paste(patch, ((w - bw) // 2, h - bh))
        return out

    return derivative


def _thumb(im: Image.Image, rng: np.random.Generator, _o: object) -> Image.Image:
    out = im.copy()
    out.thumbnail((128, 128), Image.Resampling.LANCZOS)
    return out


FAMILIES: dict[str, Edit] = {
    "crop-30%": lambda im, rng, o: _crop_keep(im, 0.7, rng),
    "crop-50%": lambda im, rng, o: _crop_keep(im, 0.5, rng),
    "crop-offcentre": _offcentre,
    "crop-square": _square,
    "rotate-10": _rotate(10),
    "rotate-20": _rotate(20),
    "stickers": _stickers,
    "meme-text": _meme,
    "letterbox-blur": _letterbox,
    "screen-photo": _screen,
    "chain": _chain,
    "chain-mirrored": _mirror_chain,
    "collage-2x2": _collage(2),
    "collage-3x3": _collage(3),
    "chat-screenshot": _chat,
    "grey": lambda im, rng, o: im.convert("L").convert("RGB"),
    "colour-filter": lambda im, rng, o: _tint(im),
    "thumbnail-128": _thumb,
    "jpeg-q12": lambda im, rng, o: encoded(im, 12),
    "derivative-25%": _derivative(0.25),
    "derivative-40%": _derivative(0.40),
}
NO_EXTRA_MIRROR = {"chain-mirrored"}


def edit(
    family: str, picture: Image.Image, seed: int, others: Sequence[Image.Image]
) -> Image.Image:
    """``picture`` edited by ``family`` (KeyError if unknown), mirrored for odd seeds
    (except the explicitly mirrored family), JPEG round-tripped. ``others``: non-reference
    photos for collages and derivatives."""
    rng = np.random.default_rng([seed, sum(family.encode())])
    if seed % 2 and family not in NO_EXTRA_MIRROR:
        picture = picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return encoded(FAMILIES[family](picture.convert("RGB"), rng, others))


# --- distractors -------------------------------------------------------------------


def text_page(rng: np.random.Generator) -> Image.Image:
    out = Image.new("RGB", (850, 1100), "white")
    draw = ImageDraw.Draw(out)
    size = int(rng.integers(14, 30))
    y = 60
    draw.text((60, y), " ".join(rng.choice(WORDS, 4)).title(), "black", _font(size * 2))
    y += size * 3
    while y < 1040:
        line = " ".join(rng.choice(WORDS, int(rng.integers(4, 12))))
        draw.text((60, y), line, (20, 20, 20), _font(size))
        y += int(size * 1.5) + (size if rng.random() < 0.1 else 0)
    return out


def ui_screen(rng: np.random.Generator) -> Image.Image:
    W, H = (1280, 800) if rng.random() < 0.5 else (720, 1280)
    out = Image.new("RGB", (W, H), (250, 250, 250))
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, W, 70), fill=_colour(rng))
    draw.text((24, 22), " ".join(rng.choice(WORDS, 3)), "white", _font(26))
    y = 100
    while y < H - 80:
        kind = rng.random()
        if kind < 0.4:
            draw.rounded_rectangle((24, y, W - 24, y + 60), 10, outline=(200, 200, 200), width=2)
            draw.text((40, y + 18), " ".join(rng.choice(WORDS, 5)), (60, 60, 60), _font(20))
            y += 80
        elif kind < 0.7:
            draw.ellipse((24, y, 84, y + 60), fill=_colour(rng))
            draw.text((100, y + 8), " ".join(rng.choice(WORDS, 3)), "black", _font(22))
            draw.text((100, y + 36), " ".join(rng.choice(WORDS, 6)), (120, 120, 120), _font(16))
            y += 80
        else:
            draw.rounded_rectangle((24, y, 24 + 200, y + 50), 25, fill=_colour(rng))
            draw.text((50, y + 14), " ".join(rng.choice(WORDS, 2)), "white", _font(20))
            y += 70
    return out


def chart(rng: np.random.Generator) -> Image.Image:
    W, H = 1000, 700
    out = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(out)
    draw.line((80, 620, 960, 620), "black", 2)
    draw.line((80, 40, 80, 620), "black", 2)
    for i in range(6):
        y = 620 - i * 100
        draw.line((75, y, 960, y), (220, 220, 220), 1)
        draw.text((20, y - 8), str(i * 20), "black", _font(16))
    n = int(rng.integers(5, 16))
    values = rng.uniform(0.1, 1, n)
    if rng.random() < 0.5:
        bw = 860 // n
        for i, v in enumerate(values):
            draw.rectangle(
                (90 + i * bw, 620 - v * 560, 90 + i * bw + bw - 10, 620), fill=_colour(rng)
            )
    else:
        pts = [(90 + i * 860 / (n - 1), 620 - v * 560) for i, v in enumerate(values)]
        draw.line(pts, _colour(rng), 4)
        for x, y in pts:
            draw.ellipse((x - 6, y - 6, x + 6, y + 6), fill="black")
    draw.text((300, 650), " ".join(rng.choice(WORDS, 4)), "black", _font(22))
    return out


def scene(rng: np.random.Generator, size: int = 512) -> Image.Image:
    """A generated photo-like picture (smooth gradients, blobs, shapes, grain): the filler
    references of the false-match bank, unrelated to every photo and to each other."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32) / size
    base = np.zeros((size, size, 3), np.float32)
    for c in range(3):
        a, b, f = rng.uniform(-1, 1, 3)
        base[..., c] = 128 + 80 * np.sin(6 * f * xx + 5 * a * yy + b * 3)
    out = Image.fromarray(base.clip(0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(out)
    for _ in range(int(rng.integers(15, 40))):
        x, y = rng.integers(0, size, 2)
        r = int(rng.integers(5, size // 5))
        shape = rng.random()
        box = (int(x - r), int(y - r), int(x + r), int(y + r * rng.uniform(0.3, 1.5)))
        if shape < 0.4:
            draw.ellipse(box, fill=_colour(rng))
        elif shape < 0.7:
            draw.rectangle(box, fill=_colour(rng))
        else:
            pts = [tuple(int(v) for v in rng.integers(0, size, 2)) for _ in range(3)]
            draw.polygon(pts, fill=_colour(rng))
    out = out.filter(ImageFilter.GaussianBlur(float(rng.uniform(0.5, 2.0))))
    grain = rng.normal(0, 6, (size, size, 3))
    return Image.fromarray(np.clip(np.asarray(out) + grain, 0, 255).astype(np.uint8))


def distractor(kind: str, seed: int, photos: Sequence[Image.Image]) -> Image.Image:
    """One hard distractor of ``kind`` ("text", "ui", "chart", "photo-crop",
    "photo-collage", "scene"); ``photos`` are non-reference photos. JPEG round-tripped."""
    rng = np.random.default_rng([seed, sum(kind.encode()), 7])
    if kind == "text":
        pic = text_page(rng)
    elif kind == "ui":
        pic = ui_screen(rng)
    elif kind == "chart":
        pic = chart(rng)
    elif kind == "photo-crop":
        src = photos[int(rng.integers(len(photos)))]
        pic = _crop_keep(src, float(rng.uniform(0.3, 0.9)), rng).rotate(float(rng.uniform(-20, 20)))
    elif kind == "photo-collage":
        pic = _collage(int(rng.integers(2, 4)))(photos[0], rng, photos)
    elif kind == "scene":
        pic = scene(rng)
    else:
        raise KeyError(kind)
    return encoded(pic)


DISTRACTOR_KINDS = ("text", "ui", "chart", "photo-crop", "photo-collage", "scene")
