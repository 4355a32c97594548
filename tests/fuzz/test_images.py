"""The image decoder and hasher on hostile bytes: valid small images in every format the
crawler accepts, then mutated (bytes flipped, cut, spliced, headers rewritten). Any input
is either hashed or refused with an :class:`hashing.ImageError` of a known kind; never
another exception, and never more than the decode budget."""

from __future__ import annotations

import io
import struct

from hypothesis import example, given
from hypothesis import strategies as st
from PIL import Image

from hashing import DecodeLimits, ImageHashes, hash_bytes
from hashing.decode import ImageError

LIMITS = DecodeLimits(max_pixels=4_000_000, max_decode_bytes=32 * 1024 * 1024)


def encoded(fmt: str, size: tuple[int, int], mode: str) -> bytes:
    picture = Image.linear_gradient("L").resize(size).convert(mode)
    buffer = io.BytesIO()
    picture.save(buffer, fmt)
    return buffer.getvalue()


SEEDS = [
    encoded("PNG", (40, 30), "RGB"),
    encoded("PNG", (17, 64), "RGBA"),
    encoded("JPEG", (48, 48), "RGB"),
    encoded("GIF", (32, 20), "P"),
    encoded("WEBP", (33, 33), "RGB"),
    encoded("BMP", (16, 16), "RGB"),
    encoded("TIFF", (20, 12), "L"),
]


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 6))):
        action = draw(st.sampled_from(["flip", "cut", "splice", "insert"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[at] ^= draw(st.integers(1, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 64))]
        elif action == "splice":
            data[at:at] = draw(st.sampled_from(SEEDS))[: draw(st.integers(0, 200))]
        else:
            data[at:at] = draw(st.binary(max_size=32))
    return bytes(data)


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims another size than its (tiny) data holds."""
    data = bytearray(SEEDS[0])
    data[16:24] = struct.pack(">II", width, height)
    return bytes(data)


@given(st.one_of(mutated(), st.binary(max_size=256)))
@example(b"")
@example(b"\x89PNG\r\n\x1a\n")
@example(png_claiming(100_000, 100_000))
@example(png_claiming(0, 0))
@example(b"<svg xmlns='http://www.w3.org/2000/svg'/>")
@example(SEEDS[2][: len(SEEDS[2]) // 2])
def test_any_bytes_are_hashed_or_refused_with_a_known_kind(data: bytes) -> None:
    try:
        hashes = hash_bytes(data, LIMITS)
    except ImageError as exc:
        assert exc.kind in ImageError.KINDS
        return
    assert isinstance(hashes, ImageHashes)
    assert 0 < hashes.width * hashes.height <= LIMITS.max_pixels
    assert len(hashes.pdq.hex) == 64 and 0 <= hashes.pdq_quality <= 100
