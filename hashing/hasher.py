"""Image -> hashes: the fast path used everywhere, and its naive twin for tests and benchmarks."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import imagehash
import numpy as np
from PIL import Image

from hashing.decode import DecodeLimits, decode, to_rgb
from hashing.pdq import pdq as _pdq
from hashing.trim import trimmed_box
from hashing.values import PdqHash, PHash


@dataclass(frozen=True, slots=True)
class ImageHashes:
    """What we keep of an image: its hashes, PDQ quality, upright size and content digest.

    ``pdq_trimmed`` is the PDQ (and ``pdq_trimmed_quality`` its quality) of the picture
    with its uniform borders peeled off (:mod:`hashing.trim`: letterbox bars, frames,
    caption bars, screenshot margins); None when the picture has no such border.
    """

    pdq: PdqHash
    pdq_quality: int
    phash: PHash
    width: int
    height: int
    sha256: str
    pdq_trimmed: PdqHash | None = None
    pdq_trimmed_quality: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "pdq": self.pdq.hex,
            "pdq_quality": self.pdq_quality,
            "phash": self.phash.hex,
            "width": self.width,
            "height": self.height,
            "sha256": self.sha256,
            "pdq_trimmed": None if self.pdq_trimmed is None else self.pdq_trimmed.hex,
            "pdq_trimmed_quality": self.pdq_trimmed_quality,
        }


def _phash(picture: Image.Image) -> PHash:
    return PHash(bytes.fromhex(str(imagehash.phash(picture))))


def hash_image(picture: Image.Image, width: int, height: int, sha256: str) -> ImageHashes:
    """Hash an already decoded RGB picture (any size; the decoder keeps it small), and
    its border-trimmed inside when it has uniform borders."""
    rgb = np.asarray(picture)
    pdq, quality = _pdq(rgb)
    trimmed, trimmed_quality = None, None
    box = trimmed_box(rgb)
    if box is not None:
        top, left, bottom, right = box
        trimmed, trimmed_quality = _pdq(rgb[top:bottom, left:right])
    return ImageHashes(
        pdq, quality, _phash(picture), width, height, sha256, trimmed, trimmed_quality
    )


def hash_bytes(data: bytes, limits: DecodeLimits | None = None) -> ImageHashes:
    """Hash the image in ``data``. Raises :class:`hashing.ImageError` for anything that is
    not a hashable image (the error's ``kind`` says why). Keeps nothing of ``data``."""
    picture, width, height = decode(data, limits)
    return hash_image(picture, width, height, hashlib.sha256(data).hexdigest())


def hash_file(path: str | Path, limits: DecodeLimits | None = None) -> ImageHashes:
    """Read ``path`` (at most the byte cap, plus one byte to detect oversize) and hash it."""
    limits = limits or DecodeLimits()
    with open(path, "rb") as handle:
        data = handle.read(limits.max_bytes + 1)
    return hash_bytes(data, limits)


def naive_hashes(data: bytes) -> ImageHashes:
    """The slow, obviously-correct twin: full-size decode, no draft, no downscale.

    Used by tests and benchmarks to bound how far the fast path drifts. Applies EXIF
    orientation and the same mode conversion so only the scaling differs.
    """
    from PIL import ImageOps

    picture = to_rgb(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))
    return hash_image(picture, picture.width, picture.height, hashlib.sha256(data).hexdigest())
