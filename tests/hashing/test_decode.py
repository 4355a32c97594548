"""Untrusted bytes in: every bad input is an ImageError of the right kind, nothing else."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashing import DecodeLimits, ImageError, hash_bytes


def encode(picture: Image.Image, fmt: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **params)
    return buffer.getvalue()


def error_kind(data: bytes, limits: DecodeLimits | None = None) -> str:
    """The ``kind`` of the ImageError ``hash_bytes`` raises; fails on anything else."""
    with pytest.raises(ImageError) as info:
        hash_bytes(data, limits)
    assert type(info.value) is ImageError
    assert str(info.value)
    return info.value.kind


@pytest.fixture(scope="module")
def bridge_jpeg(shared_images: Path) -> bytes:
    return (shared_images / "pdq-reference/bridge-mods/aaa-orig.jpg").read_bytes()


@pytest.fixture(scope="module")
def kodak_png(kodak: list[Path]) -> bytes:
    return kodak[0].read_bytes()


SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="9" height="9"><rect width="9"/></svg>'


@pytest.mark.parametrize(
    ("data", "kind"),
    [
        (b"", "empty"),
        (random.Random(1).randbytes(4096), "not_image"),
        (b"\x00" * 100, "not_image"),
        (b"<!doctype html><html><head><title>x</title></head><body>hi</body></html>", "not_image"),
        (b'{"error": "not found"}', "not_image"),
        (SVG, "unsupported_format"),
        (b'<?xml version="1.0" encoding="UTF-8"?>\n' + SVG, "unsupported_format"),
        (b"\xef\xbb\xbf  \n<SVG xmlns='http://www.w3.org/2000/svg'/>", "unsupported_format"),
    ],
    ids=["empty", "random", "zeros", "html", "json", "svg", "svg-xml-prolog", "svg-bom-upper"],
)
def test_bad_bytes(data: bytes, kind: str) -> None:
    assert error_kind(data) == kind


def test_truncated_jpeg(bridge_jpeg: bytes) -> None:
    assert error_kind(bridge_jpeg[: len(bridge_jpeg) // 2]) == "truncated"


def test_truncated_png(kodak_png: bytes) -> None:
    assert error_kind(kodak_png[: len(kodak_png) // 2]) == "truncated"


def test_header_only_jpeg_is_not_an_image(bridge_jpeg: bytes) -> None:
    assert error_kind(bridge_jpeg[:2]) == "not_image"


def png_header_only(width: int, height: int) -> bytes:
    """A 1-bit grey PNG whose header claims ``width`` x ``height``, with one tiny IDAT."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "size",
    [(20000, 20000), (9000, 9000)],  # 400 MP (a Pillow bomb) / 81 MP (over our 64 MP cap only)
)
def test_huge_png_header_is_refused_before_decoding(size: tuple[int, int]) -> None:
    bomb = png_header_only(*size)
    assert len(bomb) < 200
    assert error_kind(bomb) == "too_many_pixels"


def test_real_huge_png_is_refused() -> None:
    bomb = encode(Image.new("1", (10000, 10000)), "PNG")
    assert len(bomb) < 50_000  # small on the wire, 100 megapixels when decoded
    assert error_kind(bomb) == "too_many_pixels"
    # Raising our cap leaves Pillow's own bomb check (89 MP) as the second line of defence.
    assert error_kind(bomb, DecodeLimits(max_pixels=10**9)) == "too_many_pixels"


def test_byte_cap(bridge_jpeg: bytes) -> None:
    assert error_kind(bridge_jpeg, DecodeLimits(max_bytes=len(bridge_jpeg) - 1)) == "too_large"
    assert hash_bytes(bridge_jpeg, DecodeLimits(max_bytes=len(bridge_jpeg))).width == 1600


def test_pixel_cap_on_a_normal_photo(bridge_jpeg: bytes) -> None:
    assert error_kind(bridge_jpeg, DecodeLimits(max_pixels=1000)) == "too_many_pixels"
    assert hash_bytes(bridge_jpeg, DecodeLimits(max_pixels=1600 * 1004)).height == 1004


def test_image_error_rejects_unknown_kind() -> None:
    with pytest.raises(ValueError, match="unknown image error kind"):
        ImageError("broken", "x")


@pytest.mark.parametrize("fmt", ["GIF", "WEBP"])
def test_animation_hashes_its_first_frame(kodak: list[Path], fmt: str) -> None:
    frames = [Image.open(kodak[n]).convert("RGB") for n in (2, 6, 18)]
    animation = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    with Image.open(io.BytesIO(animation)) as opened:
        assert opened.n_frames == 3
    hashes = hash_bytes(animation)
    first = hash_bytes(encode(frames[0], fmt))
    assert hashes.pdq - first.pdq <= 4
    assert hashes.phash - first.phash <= 4
    for later in frames[1:]:  # and not any later frame
        assert hashes.pdq - hash_bytes(encode(later, fmt)).pdq > 31


def test_one_pixel_image() -> None:
    hashes = hash_bytes(encode(Image.new("RGB", (1, 1), (10, 120, 200)), "PNG"))
    assert (hashes.width, hashes.height) == (1, 1)
    assert hashes.pdq_quality < 50  # featureless: below the quality gate


def test_sixteen_bit_grey_is_rescaled_not_clipped(kodak: list[Path]) -> None:
    grey = Image.open(kodak[7]).convert("L")
    deep = Image.fromarray(np.asarray(grey).astype(np.uint16) * 257)
    data = encode(deep, "PNG")
    with Image.open(io.BytesIO(data)) as opened:
        assert opened.mode == "I;16"
    hashes = hash_bytes(data)
    plain = hash_bytes(encode(grey, "PNG"))
    assert (hashes.width, hashes.height) == (500, 500)
    assert hashes.pdq_quality >= 50  # clipping to 255 would leave a flat white picture
    assert hashes.pdq - plain.pdq <= 4


def test_flat_sixteen_bit_grey() -> None:
    flat = Image.fromarray(np.full((32, 32), 1000, dtype=np.uint16))
    assert hash_bytes(encode(flat, "PNG")).pdq_quality == 0


def exif_block(entries: list[tuple[int, int, int, bytes]]) -> bytes:
    """A big-endian EXIF block with the given (tag, type, count, 4-byte value) entries."""
    body = b"".join(struct.pack(">HHI4s", *entry) for entry in entries)
    return (
        b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"
        + struct.pack(">H", len(entries))
        + body
        + (b"\x00\x00\x00\x00")
    )


def test_jpeg_with_malformed_exif_entry(kodak: list[Path]) -> None:
    # Tag 0x0145 (TileByteCounts, a LONG in Pillow's tables) holding ASCII "Cam", plus an
    # orientation of 6, found by mutating one byte of a real camera-style EXIF block.
    # Pillow's ImageOps.exif_transpose re-serialises the EXIF and raises struct.error on
    # this; decode() reads only the orientation, so the upload still hashes, upright.
    exif = exif_block([(0x0145, 2, 4, b"Cam\x00"), (0x0112, 3, 1, b"\x00\x06\x00\x00")])
    picture = Image.open(kodak[4]).convert("RGB").resize((64, 64))
    data = encode(picture, "JPEG", quality=85, exif=exif)
    hashes = hash_bytes(data)
    assert (hashes.width, hashes.height) == (64, 64)
    upright = hash_bytes(encode(picture.transpose(Image.Transpose.ROTATE_270), "JPEG", quality=85))
    assert hashes.pdq - upright.pdq <= 4


def mutate(data: bytes, seed: int) -> bytes:
    """One of four seeded damages: flipped bytes, truncation, insertion, header smear."""
    rng = random.Random(seed)
    out = bytearray(data)
    op = seed % 4
    if op == 0:
        for _ in range(rng.randint(1, 20)):
            out[rng.randrange(len(out))] = rng.randrange(256)
    elif op == 1:
        del out[rng.randrange(len(out)) :]
    elif op == 2:
        at = rng.randrange(len(out))
        out[at:at] = rng.randbytes(rng.randint(1, 64))
    else:
        at = rng.randrange(min(len(out), 1000))
        out[at : at + rng.randint(1, 16)] = rng.randbytes(4)
    return bytes(out)


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data", "ignore:Tag data larger than file")
def test_random_mutations_never_crash(kodak: list[Path]) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "Camera"
    seed_jpeg = encode(Image.open(kodak[4]).convert("RGB"), "JPEG", quality=85, exif=exif)
    assert hash_bytes(seed_jpeg).height == 500
    outcomes: dict[str, int] = {}
    for seed in range(200):
        try:
            hash_bytes(mutate(seed_jpeg, seed))
            outcome = "ok"
        except ImageError as exc:
            outcome = exc.kind
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    assert sum(outcomes.values()) == 200
    # The damage is real: both outcomes occur.
    assert outcomes.get("ok", 0) > 0
    assert len(outcomes) > 1
