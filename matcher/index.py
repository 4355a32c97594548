"""Exact radius search over binary codes: FAISS, and its brute-force twin.

Both take codes as ``uint8`` arrays of shape ``(n, bits // 8)`` and answer, for each
query, every stored code within Hamming distance ``radius`` (inclusive), as
``(position, distance)`` pairs sorted by distance then position.
"""

from __future__ import annotations

from typing import Protocol

import faiss
import numpy as np

Neighbours = list[list[tuple[int, int]]]


class BinaryIndex(Protocol):
    bits: int

    def add(self, codes: np.ndarray) -> None: ...
    def __len__(self) -> int: ...
    def search(self, queries: np.ndarray, radius: int) -> Neighbours: ...


def check_codes(codes: np.ndarray, bits: int) -> np.ndarray:
    """``codes`` as a C-contiguous ``uint8`` array of shape ``(n, bits // 8)``; raise
    ValueError for any other shape."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[1] * 8 != bits:
        raise ValueError(f"expected codes of shape (n, {bits // 8}), got {codes.shape}")
    return codes


class FaissIndex:
    """``faiss.IndexBinaryFlat``: exhaustive, so exact for any radius."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self._index = faiss.IndexBinaryFlat(bits)

    def add(self, codes: np.ndarray) -> None:
        self._index.add(check_codes(codes, self.bits))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def search(self, queries: np.ndarray, radius: int) -> Neighbours:
        queries = check_codes(queries, self.bits)
        if len(self) == 0 or radius < 0:
            return [[] for _ in range(len(queries))]
        # FAISS's binary range search is strict (distance < r): this is the one place
        # that turns our inclusive radius into its exclusive one.
        lims, distances, labels = self._index.range_search(queries, radius + 1)
        return [
            sorted(
                zip(
                    labels[lims[i] : lims[i + 1]].tolist(),
                    distances[lims[i] : lims[i + 1]].tolist(),
                    strict=True,
                ),
                key=lambda pair: (pair[1], pair[0]),
            )
            for i in range(len(queries))
        ]


class BruteForceIndex:
    """The obviously-correct twin: XOR and popcount in numpy."""

    def __init__(self, bits: int) -> None:
        self.bits = bits
        self._codes = np.zeros((0, bits // 8), dtype=np.uint8)

    def add(self, codes: np.ndarray) -> None:
        self._codes = np.concatenate([self._codes, check_codes(codes, self.bits)])

    def __len__(self) -> int:
        return len(self._codes)

    def search(self, queries: np.ndarray, radius: int) -> Neighbours:
        queries = check_codes(queries, self.bits)
        out: Neighbours = []
        for query in queries:
            distances = np.unpackbits(self._codes ^ query, axis=1).sum(axis=1)
            hits = np.flatnonzero(distances <= radius)
            out.append(
                sorted(
                    ((int(i), int(distances[i])) for i in hits), key=lambda pair: (pair[1], pair[0])
                )
            )
        return out


def codes_from_hex(hexes: list[str], bits: int) -> np.ndarray:
    """Hex strings to a ``(n, bits // 8)`` uint8 array; raise ValueError if malformed."""
    if not hexes:
        return np.zeros((0, bits // 8), dtype=np.uint8)
    width = bits // 4
    for h in hexes:
        if len(h) != width:
            raise ValueError(f"expected {width} hex digits per code, got {len(h)}: {h[:80]!r}")
    raw = b"".join(bytes.fromhex(h) for h in hexes)
    return check_codes(np.frombuffer(raw, dtype=np.uint8).reshape(len(hexes), -1), bits)
