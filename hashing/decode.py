"""Turning untrusted image bytes into a small RGB picture, or a clear, counted error.

Bytes come from hostile pages: everything here assumes the worst. Limits are checked on
the header before any pixel is decoded; only the first frame of an animation is used;
EXIF orientation is applied so a rotated upload hashes like the upright original.

Memory is budgeted, not only pixels: a 249 KB PNG can claim 8000x8000 RGBA, which is
256 MB once decoded and used to peak at 1.26 GB while it was converted at full size.
Now, for any image under the caps:

- the decoded frame (``width * height * bytes per pixel`` as Pillow stores the mode: 1
  for ``1``/``L``/``P``, 2 for ``I;16``, 4 for the rest) must fit ``max_decode_bytes``
  (256 MiB), checked on the header before any pixel is decoded (``too_much_memory``);
  JPEG is measured at the size ``draft()`` decodes it to;
- everything beyond the decoded frame stays under ``max_convert_bytes`` (32 MiB) plus a
  few MiB: a frame whose full-size conversion to RGB would need more is converted and
  box-reduced tile by tile (:func:`_reduce_in_tiles`) before it is rotated and scaled.

So one decode peaks at about ``max_decode_bytes + 48 MiB`` over the process's baseline
(measured: 8000x8000 RGBA PNG 1256 -> 316 MiB peak RSS, L 348 -> 114, P 349 -> 114 MiB
with a 33 MiB baseline). Pictures small enough to convert in one go (every RGB frame
without rotation, anything up to about 2 MP) take the one-shot path and hash exactly as
before; larger ones may differ from it by a few bits of PDQ, never by a match.
"""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

# EXIF orientation -> the transpose that shows the picture upright. Applied by hand rather
# than with ImageOps.exif_transpose, which re-serialises the whole EXIF block and fails on
# malformed entries that have nothing to do with orientation.
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


@dataclass(frozen=True, slots=True)
class DecodeLimits:
    """Caps applied before decoding. Defaults suit web images (a 12 MP photo is 12e6)."""

    max_bytes: int = 32 * 1024 * 1024
    max_pixels: int = 64_000_000
    # The decoded frame as Pillow stores it (64 MP at 4 bytes per pixel fits).
    max_decode_bytes: int = 256 * 1024 * 1024
    # Working memory beyond the frame: a full-size conversion needing more goes by tiles.
    max_convert_bytes: int = 32 * 1024 * 1024
    # The longest side handed to the hashers: PDQ and pHash both reduce to 64x64 / 32x32
    # anyway, so decoding more than this buys nothing but time.
    working_size: int = 512


class ImageError(ValueError):
    """The bytes are not a hashable image. ``kind`` is a short, stable counter name."""

    KINDS = (
        "empty",
        "too_large",
        "not_image",
        "unsupported_format",
        "too_many_pixels",
        "too_much_memory",
        "truncated",
        "decode_error",
    )

    def __init__(self, kind: str, message: str) -> None:
        if kind not in self.KINDS:
            raise ValueError(f"unknown image error kind {kind!r}")
        super().__init__(message)
        self.kind = kind


def _looks_like_svg(head: bytes) -> bool:
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return text.startswith(b"<svg") or (text.startswith(b"<?xml") and b"<svg" in text)


def open_image(data: bytes, limits: DecodeLimits) -> Image.Image:
    """Open ``data`` lazily (header only) and check the limits; raise ImageError."""
    if not data:
        raise ImageError("empty", "empty body: zero bytes")
    if len(data) > limits.max_bytes:
        raise ImageError("too_large", f"{len(data)} bytes is over the {limits.max_bytes} cap")
    if _looks_like_svg(data[:512]):
        raise ImageError("unsupported_format", "SVG is vector data and is not hashed")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError("not_image", "not an image Pillow can identify") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_many_pixels", f"decompression bomb: {exc}") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise ImageError("decode_error", f"bad image header: {exc}") from None
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError("decode_error", f"bad image size {width}x{height}")
    if width * height > limits.max_pixels:
        raise ImageError(
            "too_many_pixels",
            f"{width}x{height} is {width * height} pixels, over the {limits.max_pixels} cap",
        )
    return image


_WIDE_GREY = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")


def pixel_bytes(mode: str) -> int:
    """Bytes per pixel of ``mode`` in Pillow's memory (RGB is stored in 4 bytes)."""
    if mode in ("1", "L", "P"):
        return 1
    return 2 if mode.startswith("I;16") else 4


def to_rgb(image: Image.Image, extrema: tuple[float, float] | None = None) -> Image.Image:
    """Any Pillow mode to 8-bit RGB. Transparency is flattened onto white, as a browser
    shows it on a plain page; high-bit-depth grey is rescaled, not clipped (by
    ``extrema``, the (low, high) of the whole picture when ``image`` is a tile of it)."""
    if image.mode in _WIDE_GREY:
        grey = image.convert("F")
        lo, hi = extrema if extrema is not None else _extrema(grey)
        scale = 255.0 / (hi - lo) if hi > lo else 0.0
        return grey.point(lambda v: (v - lo) * scale).convert("L").convert("RGB")
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode == "RGB":
        return image
    return image.convert("RGB")


def _extrema(image: Image.Image) -> tuple[float, float]:
    extrema = image.getextrema()
    return float(extrema[0]), float(extrema[1])  # type: ignore[arg-type]


def _one_shot_bytes(image: Image.Image, orientation: int) -> int:
    """Working memory of converting and rotating ``image`` (loaded) at full size: up to
    four RGBA-sized copies (flattening alpha), one more to rotate; none for RGB as is."""
    frame = image.width * image.height * 4
    return (0 if image.mode == "RGB" else 4 * frame) + (frame if orientation in _UPRIGHT else 0)


def _reduce_in_tiles(image: Image.Image, factor: int) -> Image.Image:
    """``to_rgb(image).reduce(factor)``, computed one tile at a time: tiles are whole
    multiples of ``factor`` wide and high, so each output pixel averages exactly the
    block it would in one go, and only one tile is ever converted at full size."""
    extrema = _extrema(image) if image.mode in _WIDE_GREY else None
    width, height = image.size
    out = Image.new("RGB", (math.ceil(width / factor), math.ceil(height / factor)))
    step = max(1, 1024 // factor) * factor
    for top in range(0, height, step):
        for left in range(0, width, step):
            box = (left, top, min(left + step, width), min(top + step, height))
            tile = to_rgb(image.crop(box), extrema)
            out.paste(tile.reduce(factor) if factor > 1 else tile, (left // factor, top // factor))
    return out


def decode(data: bytes, limits: DecodeLimits | None = None) -> tuple[Image.Image, int, int]:
    """Decode the first frame of ``data`` to RGB, at most ``working_size`` on its long side.

    Returns ``(picture, width, height)`` where width and height are the full, upright size
    of the original. Raises ImageError (``too_much_memory`` when the decoded frame would
    not fit ``max_decode_bytes``); never returns a partial picture of a truncated file.
    Memory: see the module docstring (about ``max_decode_bytes + 48 MiB`` at most).
    """
    limits = limits or DecodeLimits()
    image = open_image(data, limits)
    orientation = _orientation(image)
    full_w, full_h = image.size
    if orientation in (5, 6, 7, 8):
        full_w, full_h = full_h, full_w
    try:
        # JPEG: let libjpeg scale by 1/2, 1/4 or 1/8 while decoding (DCT scaling); the
        # result is never smaller than the working size.
        image.draft("RGB", (limits.working_size, limits.working_size))
        frame = image.width * image.height * pixel_bytes(image.mode)
        if frame > limits.max_decode_bytes:
            raise ImageError(
                "too_much_memory",
                f"{image.width}x{image.height} {image.mode} needs {frame} bytes decoded, "
                f"over the {limits.max_decode_bytes} byte budget",
            )
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image.load()
        if _one_shot_bytes(image, orientation) <= limits.max_convert_bytes:
            picture = to_rgb(image)
        else:
            # Reduce to between 2x and 4x the working size first; thumbnail() finishes.
            factor = max(1, max(image.size) // (2 * limits.working_size))
            picture = _reduce_in_tiles(image, factor)
            image.close()  # the full frame is no longer needed: free it before scaling
        if orientation in _UPRIGHT:
            picture = picture.transpose(_UPRIGHT[orientation])
        picture.thumbnail((limits.working_size, limits.working_size), Image.Resampling.BOX)
    except ImageError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError("too_many_pixels", f"decompression bomb: {exc}") from None
    except OSError as exc:
        kind = "truncated" if "truncated" in str(exc).lower() else "decode_error"
        raise ImageError(kind, f"cannot decode image: {exc}") from None
    except (SyntaxError, ValueError, EOFError, MemoryError) as exc:
        raise ImageError("decode_error", f"cannot decode image: {exc}") from None
    return picture, full_w, full_h


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8); 1 when absent or unreadable: a broken EXIF block must
    not stop hashing, the pixels decide."""
    try:
        value = image.getexif().get(0x0112, 1)
    except Exception:
        return 1
    return value if isinstance(value, int) and value in range(1, 9) else 1
