"""Perceptual hashing: image bytes in, validated hash values out.

Pure and stateless: consumes the bytes of one image (or a decoded Pillow image) and
produces :class:`ImageHashes` (PDQ with its quality, pHash, size, and the PDQ of the
picture's inside when it has painted borders: :mod:`hashing.trim`). Reference pictures
get many hashes (:mod:`hashing.variants`); PDQ runs in C, bit-identical to Meta's
reference (:mod:`hashing.pdq`). Nothing here does I/O
beyond reading bytes it is handed, and nothing keeps the bytes after returning.
The distance, the match rule and the quality gate are each defined once, here.
"""

from __future__ import annotations

from hashing.decode import DecodeLimits, ImageError
from hashing.hasher import ImageHashes, hash_bytes, hash_file, hash_image, naive_hashes
from hashing.values import ALGORITHMS, HashValue, MatchRule, PdqHash, PHash, parse_hash

__all__ = [
    "ALGORITHMS",
    "DecodeLimits",
    "HashValue",
    "ImageError",
    "ImageHashes",
    "MatchRule",
    "PHash",
    "PdqHash",
    "hash_bytes",
    "hash_file",
    "hash_image",
    "naive_hashes",
    "parse_hash",
]
