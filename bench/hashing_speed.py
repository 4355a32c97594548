"""Hashing speed: images/s per core on real 1080p and 12 MP JPEGs, ours against naive PDQ.

The JPEGs are made here, in memory, from benign photos: upscaled to 1920x1080 and
4000x3000 with detail added (a second photo's fine texture and mild grain, so the
encoder sees camera-like high frequencies), encoded at quality 90. Ours is the production
path, ``hashing.hash_bytes`` (header checks, DCT-domain downscaling, EXIF orientation,
PDQ, pHash and the border check with its trimmed PDQ); the anchor is the naive
``pdqhash.compute(numpy.asarray(Image.open(f)))`` -- PDQ alone, on the full picture.
Both run single-threaded in this process on the same bytes, in alternating rounds. The
PDQ distance between ours and the naive hash is reported (mean and max).
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import numpy as np
import pdqhash
from PIL import Image

from bench.common import Record, load_photos, record
from hashing import hash_bytes

SIZES = {"1080p": (1920, 1080), "12MP": (4000, 3000)}


def make_jpeg(base: Image.Image, detail: Image.Image, size: tuple[int, int], seed: int) -> bytes:
    """``base`` upscaled to ``size`` plus ``detail``'s high frequencies and grain, as JPEG."""
    w, h = size
    big = np.asarray(base.resize(size, Image.Resampling.BICUBIC), dtype=np.float32)
    tex = detail.convert("L").resize((w // 4, h // 4), Image.Resampling.BICUBIC)
    tex_big = np.asarray(tex.resize(size, Image.Resampling.NEAREST), dtype=np.float32)
    high = tex_big - np.asarray(tex.resize(size, Image.Resampling.BILINEAR), dtype=np.float32)
    grain = np.random.default_rng(seed).normal(0, 3, (h, w, 1)).astype(np.float32)
    out = np.clip(big + 0.35 * high[..., None] + grain, 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(out).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def naive(data: bytes) -> np.ndarray:
    bits, _quality = pdqhash.compute(np.asarray(Image.open(io.BytesIO(data))))
    return np.packbits(bits.astype(np.uint8))


def _rates(
    ours: object, anchor: object, items: list[bytes], min_seconds: float
) -> tuple[float, float]:
    """Images/s of ``ours`` and ``anchor`` over ``items``, measured in alternating rounds
    (so a machine shared with other work slows both alike) until each has run
    ``min_seconds``."""
    spent = [0.0, 0.0]
    done = 0
    while min(spent) < min_seconds:
        for k, fn in enumerate((ours, anchor)):
            start = time.perf_counter()
            for data in items:
                fn(data)  # type: ignore[operator]
            spent[k] += time.perf_counter() - start
        done += len(items)
    return done / spent[0], done / spent[1]


def run(quick: bool, out: Path) -> list[Record]:
    photos = [p for _, p in load_photos(limit=8)]
    n_images = 2 if quick else 6
    records = []
    for name, size in SIZES.items():
        if quick and name == "12MP":
            size = (1600, 1200)  # keep the smoke run to seconds
        jpegs = [
            make_jpeg(photos[i], photos[(i + 3) % len(photos)], size, seed=i)
            for i in range(n_images)
        ]
        distances = [
            int(np.unpackbits(np.frombuffer(hash_bytes(d).pdq.raw, np.uint8) ^ naive(d)).sum())
            for d in jpegs
        ]
        budget = 0.2 if quick else 4.0
        ours, anchor = _rates(hash_bytes, naive, jpegs, budget)
        megapixels = round(size[0] * size[1] / 1e6, 2)
        records.append(
            record(
                "hashing",
                "images_per_s_per_core",
                ours,
                anchor,
                "naive pdqhash.compute(numpy.asarray(Image.open(f)))",
                megapixels=megapixels,
                size=f"{size[0]}x{size[1]}",
                label=name,
                images=n_images,
                jpeg_bytes_mean=int(np.mean([len(d) for d in jpegs])),
                ours_does="decode checks + draft + PDQ + pHash + border trim (+trimmed PDQ)",
                pdq_distance_to_naive_mean=round(float(np.mean(distances)), 2),
                pdq_distance_to_naive_max=int(max(distances)),
            )
        )
    return records
