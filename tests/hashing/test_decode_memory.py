"""The decoder's memory budget: a small file that decodes huge is refused or decoded in
bounded memory, and the bounded path computes what the one-shot path would."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from PIL import Image

from hashing import DecodeLimits, ImageError, hash_bytes
from hashing.decode import _reduce_in_tiles, to_rgb

MIB = 1024 * 1024


def blank_png(path: Path, width: int, height: int, colour_type: int = 6) -> int:
    """Write a black ``width`` x ``height`` 8-bit PNG (6: RGBA, 0: grey) to ``path``
    without ever holding its pixels; return its size in bytes."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    compressor = zlib.compressobj(9)
    row = b"\x00" * (1 + width * channels)
    idat = b"".join(compressor.compress(row) for _ in range(height)) + compressor.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + body))
        return struct.pack(">I", len(body)) + kind + body + crc

    ihdr = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat)
    path.write_bytes(data + chunk(b"IEND", b""))
    return len(data) + 12


# Runs in a fresh interpreter so that ru_maxrss (a high-water mark) measures one decode.
CHILD = """
import json, resource, sys
from hashing import hash_bytes
data = open(sys.argv[1], "rb").read()
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
hashes = hash_bytes(data)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"grew_kib": after - before, "width": hashes.width, "pdq": hashes.pdq.hex}))
"""


def test_png_of_249_kb_claiming_64_megapixels_decodes_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "tall.png"
    assert blank_png(path, 8000, 8000) < 300_000  # 256 MB of RGBA once decoded
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        check=True,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    result = json.loads(out.stdout)
    assert result["width"] == 8000
    # The decoded frame (244 MiB) plus at most 48 MiB of work: it was 1.2 GiB before.
    assert result["grew_kib"] * 1024 < DecodeLimits().max_decode_bytes + 48 * MIB, result


def test_frame_over_the_memory_budget_is_refused_before_decoding(tmp_path: Path) -> None:
    path = tmp_path / "tall.png"
    blank_png(path, 8000, 8000)
    with pytest.raises(ImageError) as info:
        hash_bytes(path.read_bytes(), DecodeLimits(max_decode_bytes=100 * MIB))
    assert info.value.kind == "too_much_memory"
    assert "8000x8000 RGBA needs 256000000 bytes" in str(info.value)
    # Grey is 1 byte per pixel: the same size fits the same budget.
    blank_png(path, 8000, 8000, colour_type=0)
    assert hash_bytes(path.read_bytes(), DecodeLimits(max_decode_bytes=100 * MIB)).width == 8000


def modes_of(photo: Image.Image) -> dict[str, Image.Image]:
    """The photo in every mode the tiled path has to convert, alpha as a gradient."""
    alpha = Image.linear_gradient("L").resize(photo.size)
    rgba = photo.copy()
    rgba.putalpha(alpha)
    la = photo.convert("L")
    la.putalpha(alpha)
    palette = photo.quantize(64)
    palette.info["transparency"] = 3
    wide = photo.convert("L").point(lambda v: v * 200 + 1000).convert("I;16")
    return {
        "RGBA": rgba,
        "LA": la,
        "P": palette,
        "1": photo.convert("1"),
        "L": photo.convert("L"),
        "CMYK": photo.convert("CMYK"),
        "I;16": wide,
        "I": photo.convert("I"),
    }


def photo(kodak: list[Path], size: tuple[int, int]) -> Image.Image:
    with Image.open(kodak[7]) as image:
        return image.convert("RGB").resize(size)


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P", "1", "L", "CMYK", "I;16", "I"])
def test_tiles_reduce_exactly_like_one_conversion(kodak: list[Path], mode: str) -> None:
    image = modes_of(photo(kodak, (1303, 1031)))[mode]  # not multiples of the factor
    whole = to_rgb(image).reduce(3)
    tiled = _reduce_in_tiles(image, 3)  # 1023-pixel tiles: 2 x 2 of them, edges partial
    assert tiled.size == whole.size == (435, 344)
    assert tiled.tobytes() == whole.tobytes()


@pytest.mark.parametrize("mode", ["RGBA", "P"])
def test_bounded_path_hashes_like_the_one_shot_path(kodak: list[Path], mode: str) -> None:
    buffer = io.BytesIO()
    modes_of(photo(kodak, (2603, 1709)))[mode].save(buffer, "PNG", compress_level=1)
    one_shot = hash_bytes(buffer.getvalue(), DecodeLimits(max_convert_bytes=10**12))
    tiled = hash_bytes(buffer.getvalue(), DecodeLimits(max_convert_bytes=0))
    assert (tiled.width, tiled.height) == (one_shot.width, one_shot.height) == (2603, 1709)
    assert tiled.pdq.distance(one_shot.pdq) <= 8
    assert tiled.phash.distance(one_shot.phash) <= 4
