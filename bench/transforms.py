"""The re-upload edits of issue 6, applied to benign photos by the benchmark itself.

Each transform takes an RGB picture and a seeded generator and returns the edited picture
(:func:`apply` encodes it as the JPEG a re-upload would be). Definitions, stated so the
figures can be compared: crop X % keeps (1 - X) of the width and of the height at a
random position (``+mirror``: then flipped left-right); padding 20 % adds black bars
above and below worth 20 % of the height; rotations turn about the centre on the same
canvas with black corners; the screenshot frame puts the photo, scaled to 60 % of the
frame's width, in a feed-like page with a coloured title bar, a user line and a caption
line.
"""

from __future__ import annotations

import io
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

Transform = Callable[[Image.Image, np.random.Generator], Image.Image]


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size=max(8, size))


def _crop(fraction: float) -> Transform:
    def crop(im: Image.Image, rng: np.random.Generator) -> Image.Image:
        w, h = im.size
        cw, ch = round(w * (1 - fraction)), round(h * (1 - fraction))
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return im.crop((x, y, x + cw, y + ch))

    return crop


def _rotate(degrees: float) -> Transform:
    return lambda im, rng: im.rotate(degrees, resample=Image.Resampling.BILINEAR)


def _gamma(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    table = [round(255 * (v / 255) ** 0.6) for v in range(256)] * 3
    return im.point(table)


def _noise(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    array = np.asarray(im).astype(np.float32) + rng.normal(0, 8, (im.height, im.width, 3))
    return Image.fromarray(np.clip(array, 0, 255).astype(np.uint8))


def _vignette(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    y, x = np.mgrid[0 : im.height, 0 : im.width].astype(np.float32)
    r2 = ((x / im.width - 0.5) ** 2 + (y / im.height - 0.5) ** 2) / 0.5
    gain = 1 - 0.6 * r2
    return Image.fromarray((np.asarray(im) * gain[..., None]).clip(0, 255).astype(np.uint8))


def _watermark(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    layer = Image.new("RGBA", im.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    font = _font(im.width // 12)
    text = "sample watermark"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    xy = ((im.width - right + left) // 2, (im.height - bottom + top) // 2)
    draw.text(xy, text, fill=(255, 255, 255, 128), font=font)
    return Image.alpha_composite(im.convert("RGBA"), layer).convert("RGB")


def _caption(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = im.size
    bar = max(1, round(h * 0.12))
    out = Image.new("RGB", (w, h + bar), "black")
    out.paste(im, (0, 0))
    draw = ImageDraw.Draw(out)
    font = _font(bar // 2)
    text = "saw this on another site"
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    draw.text(((w - right + left) // 2, h + (bar - bottom + top) // 2 - top), text, "white", font)
    return out


def _pad(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    w, h = im.size
    bar = round(h * 0.1)
    out = Image.new("RGB", (w, h + 2 * bar), "black")
    out.paste(im, (0, bar))
    return out


def _screenshot(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    frame_w = 720
    pw = round(frame_w * 0.6)
    ph = round(im.height * pw / im.width)
    photo = im.resize((pw, ph), Image.Resampling.LANCZOS)
    title, user, below = 56, 48, 72
    frame_h = title + user + ph + below
    out = Image.new("RGB", (frame_w, frame_h), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    draw.rectangle((0, 0, frame_w, title), fill=(59, 89, 152))
    draw.text((20, 14), "Snapshare  Home  Explore", "white", _font(24))
    draw.ellipse((100, title + 8, 132, title + 40), fill=(200, 200, 200))
    draw.text((142, title + 12), "someone_posted  2h", (40, 40, 40), _font(18))
    x = (frame_w - pw) // 2
    out.paste(photo, (x, title + user))
    draw.text((x, title + user + ph + 10), "12 likes  3 comments  share", (90, 90, 90), _font(18))
    draw.text((x, title + user + ph + 36), "look at this one", (40, 40, 40), _font(18))
    return out


def _stretch(im: Image.Image, rng: np.random.Generator) -> Image.Image:
    return im.resize((round(im.width * 1.3), im.height), Image.Resampling.LANCZOS)


TRANSFORMS: dict[str, Transform] = {
    "blur": lambda im, rng: im.filter(ImageFilter.GaussianBlur(max(1.0, max(im.size) / 250))),
    "gamma": _gamma,
    "jpeg-q95": lambda im, rng: im,
    "jpeg-q30": lambda im, rng: im,
    "noise": _noise,
    "vignette": _vignette,
    "watermark": _watermark,
    "caption-bar": _caption,
    "resize-0.5": lambda im, rng: im.resize(
        (im.width // 2, im.height // 2), Image.Resampling.LANCZOS
    ),
    "thumbnail-256": lambda im, rng: _thumbnail(im, 256),
    "stretch-1.3": _stretch,
    "mirror": lambda im, rng: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
    "rotate-90": lambda im, rng: im.transpose(Image.Transpose.ROTATE_90),
    "rotate-180": lambda im, rng: im.transpose(Image.Transpose.ROTATE_180),
    "rotate+4": _rotate(4),
    "rotate-4": _rotate(-4),
    "crop-5%": _crop(0.05),
    "crop-10%": _crop(0.10),
    "crop-20%": _crop(0.20),
    "crop-10%+mirror": lambda im, rng: _crop(0.10)(im, rng).transpose(
        Image.Transpose.FLIP_LEFT_RIGHT
    ),
    "pad-20%": _pad,
    "screenshot": _screenshot,
}
JPEG_QUALITY = {"jpeg-q95": 95, "jpeg-q30": 30}


def _thumbnail(im: Image.Image, size: int) -> Image.Image:
    out = im.copy()
    out.thumbnail((size, size), Image.Resampling.LANCZOS)
    return out


def apply(name: str, picture: Image.Image, seed: int) -> bytes:
    """``picture`` edited by transform ``name`` and encoded as JPEG (quality 90 unless the
    transform is a JPEG quality); raise KeyError for an unknown name."""
    rng = np.random.default_rng(seed)
    edited = TRANSFORMS[name](picture, rng).convert("RGB")
    buf = io.BytesIO()
    edited.save(buf, "JPEG", quality=JPEG_QUALITY.get(name, 90))
    return buf.getvalue()
