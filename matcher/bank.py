"""The reference bank: every case's reference hashes in one index per algorithm.

One search per algorithm at the widest threshold of any case, then each case's own rule
(threshold and quality gate) decides. Built from the store; rebuilt when it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from hashing import ALGORITHMS, ImageHashes, MatchRule
from hashing.frames import VideoHashes
from matcher.index import BinaryIndex, codes_from_hex
from matcher.mih import default_index
from matcher.video import reference_videos
from store.models import Case, Reference

IndexFactory = Callable[[int], BinaryIndex]


class BankSource(Protocol):
    """Where banks come from: the case store, or the bank topic (:mod:`matcher.feed`)."""

    def bank_version(self) -> int:
        """A number that changes whenever a case rule or a reference changes."""
        ...

    def list_cases(self) -> list[Case]: ...

    def references(self, case_id: str | None = None) -> list[Reference]: ...


@dataclass(frozen=True, slots=True)
class BankMatch:
    """A candidate image matched one reference of a case (best variant per algorithm)."""

    case_id: str
    label: str
    algorithm: str
    distance: int
    variant: str


class Bank:
    """Immutable once built; :meth:`match` is safe to call from several threads."""

    def __init__(
        self,
        cases: Iterable[Case],
        references: Iterable[Reference],
        index_factory: IndexFactory = default_index,
        version: int = 0,
    ) -> None:
        self.version = version
        self.rules: dict[str, MatchRule] = {c.id: c.rule for c in cases}
        self._refs: dict[str, list[Reference]] = {name: [] for name in ALGORITHMS}
        self._indices: dict[str, BinaryIndex] = {}
        for ref in references:
            rule = self.rules.get(ref.case_id)
            # The quality gate applies to the reference side too: a flat reference would
            # match half the web.
            if rule is not None and rule.passes_quality(ref.quality):
                self._refs[ref.algorithm].append(ref)
        # Reference videos, regrouped from their frame rows (matcher.video).
        self.videos: dict[tuple[str, str], VideoHashes] = reference_videos(self._refs["pdq"])
        for name, refs in self._refs.items():
            index = index_factory(ALGORITHMS[name].bits)
            index.add(codes_from_hex([r.hash for r in refs], ALGORITHMS[name].bits))
            self._indices[name] = index

    def __len__(self) -> int:
        return sum(len(refs) for refs in self._refs.values())

    def count(self, algorithm: str) -> int:
        return len(self._refs[algorithm])

    def _radius(self, algorithm: str) -> int:
        return max((rule.threshold(algorithm) for rule in self.rules.values()), default=-1)

    def match_image(self, hashes: ImageHashes) -> list[BankMatch]:
        """:meth:`match` for a locally hashed image (``radar check``, the demo): its PDQ,
        pHash and, when it has borders, its trimmed PDQ -- exactly what the crawler sends."""
        alternates = []
        if hashes.pdq_trimmed is not None:
            alternates.append((hashes.pdq_trimmed.hex, hashes.pdq_trimmed_quality))
        return self.match(
            {"pdq": hashes.pdq.hex, "phash": hashes.phash.hex}, hashes.pdq_quality, alternates
        )

    def match(
        self,
        hashes: dict[str, str],
        pdq_quality: int | None,
        alternates: Iterable[tuple[str, int | None]] = (),
    ) -> list[BankMatch]:
        """Match one image's hashes (``{"pdq": hex, "phash": hex}``, either may be absent)
        and its ``alternates``: more PDQ hashes of the same image with their own quality,
        e.g. of its inside with the borders trimmed (``HashRecord.pdq_trimmed``). A match
        through an alternate names the reference variant plus ``+candidate-trimmed``.

        Returns one :class:`BankMatch` per (case, reference label, algorithm), the closest
        variant, sorted by case, label, algorithm. Empty when nothing matches or the image
        fails a case's quality gate.
        """
        queries = [(algorithm, value, pdq_quality, "") for algorithm, value in hashes.items()]
        queries += [("pdq", value, quality, "+candidate-trimmed") for value, quality in alternates]
        best: dict[tuple[str, str, str], BankMatch] = {}
        for algorithm, hex_value, quality, suffix in queries:
            refs = self._refs.get(algorithm)
            radius = self._radius(algorithm)
            if not refs or radius < 0:
                continue
            query = codes_from_hex([hex_value], ALGORITHMS[algorithm].bits)
            for position, distance in self._indices[algorithm].search(query, radius)[0]:
                ref = refs[position]
                rule = self.rules[ref.case_id]
                if not (rule.matches(algorithm, distance) and rule.passes_quality(quality)):
                    continue
                key = (ref.case_id, ref.label, algorithm)
                if key not in best or distance < best[key].distance:
                    variant = ref.variant + suffix
                    best[key] = BankMatch(ref.case_id, ref.label, algorithm, distance, variant)
        return [best[k] for k in sorted(best)]
