"""Hash value objects, their distance, the match rule and the quality gate.

A hash crosses every boundary as lower-case hex of a fixed length and is validated when
parsed. ``a - b`` and ``a.distance(b)`` are the Hamming distance.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar

_HEX = re.compile(r"^[0-9a-f]+$")


@dataclass(frozen=True, slots=True)
class HashValue:
    """A fixed-length binary perceptual hash.

    Subclasses set ``algorithm`` and ``bits``. Instances compare by value and hash by
    value, so they can be set members and dict keys.
    """

    raw: bytes
    algorithm: ClassVar[str] = ""
    bits: ClassVar[int] = 0

    def __post_init__(self) -> None:
        if len(self.raw) * 8 != self.bits:
            raise ValueError(
                f"{self.algorithm} hash must be {self.bits} bits, got {len(self.raw) * 8}"
            )

    @classmethod
    def from_hex(cls, text: str) -> HashValue:
        """Parse hex (any case, surrounding blanks allowed); raise ValueError if malformed."""
        value = text.strip().lower()
        if len(value) != cls.bits // 4 or not _HEX.match(value):
            raise ValueError(
                f"not a {cls.algorithm} hash: expected {cls.bits // 4} hex digits, got {text!r}"
            )
        return cls(bytes.fromhex(value))

    @property
    def hex(self) -> str:
        return self.raw.hex()

    @property
    def as_int(self) -> int:
        return int.from_bytes(self.raw, "big")

    def distance(self, other: HashValue) -> int:
        """Hamming distance; raise TypeError for hashes of another algorithm."""
        if type(other) is not type(self):
            raise TypeError(f"cannot compare {self.algorithm} with {other.algorithm}")
        return (self.as_int ^ other.as_int).bit_count()

    def __sub__(self, other: HashValue) -> int:
        return self.distance(other)

    def __str__(self) -> str:
        return self.hex


@dataclass(frozen=True, slots=True)
class PdqHash(HashValue):
    """Meta's PDQ: 256 bits, hex in the reference implementation's order."""

    algorithm: ClassVar[str] = "pdq"
    bits: ClassVar[int] = 256

    def mirror_estimate(self) -> PdqHash:
        """An estimate, from the hash alone, of the PDQ of the left-right mirrored picture.

        PDQ thresholds a 16x16 block of DCT coefficients (frequencies 1-16 on each axis)
        at their median. Mirroring left-right changes the sign of every coefficient of
        odd horizontal frequency and nothing else (Meta's reference derives its dihedral
        hashes from one DCT so), so those 128 bits are inverted: every other bit, ``0x55``
        in each byte. Exact but for coefficients near the median, which moves with the
        signs, and for the 64x64 downsampling, which is not quite symmetric: measured
        6-24 bits (median 10) from the PDQ of the mirrored pixels on the 24 Kodak photos,
        6-84 (median 13) on the quality benchmark's 44 photos (fine textures such as
        brick and grass are the worst), so a match through it has less margin than one
        through a reference variant. For candidates whose pixels are gone: vPDQ's frame
        hashes (:mod:`matcher.video`).
        """
        return PdqHash(bytes(byte ^ 0x55 for byte in self.raw))


@dataclass(frozen=True, slots=True)
class PHash(HashValue):
    """DCT perceptual hash as computed by ``imagehash.phash`` (64 bits)."""

    algorithm: ClassVar[str] = "phash"
    bits: ClassVar[int] = 64


ALGORITHMS: dict[str, type[HashValue]] = {"pdq": PdqHash, "phash": PHash}


def parse_hash(algorithm: str, text: str) -> HashValue:
    """Parse ``text`` as a hash of ``algorithm``; raise ValueError for either being wrong."""
    try:
        cls = ALGORITHMS[algorithm]
    except KeyError:
        raise ValueError(f"unknown hash algorithm {algorithm!r}") from None
    return cls.from_hex(text)


@dataclass(frozen=True, slots=True)
class MatchRule:
    """When two hashes count as the same picture.

    PDQ: distance <= ``pdq_threshold`` (Meta's recommended 31) and both sides of quality
    >= ``min_pdq_quality`` (50): low-quality PDQ hashes (flat, featureless images) match
    far too much and are never matched. pHash: distance <= ``phash_threshold``; pHash has
    no quality of its own, so it borrows the PDQ quality gate of the same image when known.
    A threshold of -1 switches that algorithm off.
    """

    pdq_threshold: int = 31
    phash_threshold: int = 6
    min_pdq_quality: int = 50

    def __post_init__(self) -> None:
        if not -1 <= self.pdq_threshold <= 128:
            raise ValueError(f"pdq threshold must be -1..128, got {self.pdq_threshold}")
        if not -1 <= self.phash_threshold <= 32:
            raise ValueError(f"phash threshold must be -1..32, got {self.phash_threshold}")
        if not 0 <= self.min_pdq_quality <= 100:
            raise ValueError(f"pdq quality gate must be 0..100, got {self.min_pdq_quality}")

    def threshold(self, algorithm: str) -> int:
        if algorithm == PdqHash.algorithm:
            return self.pdq_threshold
        if algorithm == PHash.algorithm:
            return self.phash_threshold
        raise ValueError(f"unknown hash algorithm {algorithm!r}")

    def passes_quality(self, pdq_quality: int | None) -> bool:
        """The quality gate: None (quality unknown, e.g. an imported pHash) passes."""
        return pdq_quality is None or pdq_quality >= self.min_pdq_quality

    def matches(self, algorithm: str, distance: int) -> bool:
        return distance <= self.threshold(algorithm)
