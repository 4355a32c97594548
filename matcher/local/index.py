"""k-nearest-neighbour search over 256-bit descriptors: FAISS, and its brute-force twin.

Both store descriptors as ``uint8`` arrays of shape ``(n, 32)`` in the order added
(position = running count) and answer, for each query, its ``k`` nearest stored
descriptors as ``(distances, positions)`` arrays of shape ``(q, k)``, sorted by distance
then position; missing neighbours (fewer than ``k`` stored) are position -1, distance 257.
:class:`FaissDescriptorIndex` with ``nlist=0`` is exact and agrees with the twin; with
``nlist > 0`` it is an inverted file (approximate: ``nprobe`` of ``nlist`` lists) whose
coarse quantiser is trained once, on the first descriptors given to :meth:`train`; adding
afterwards needs no rebuild.
"""

from __future__ import annotations

from typing import Any, Protocol

import faiss
import numpy as np

BITS = 256
MISSING = BITS + 1


class DescriptorIndex(Protocol):
    def add(self, descriptors: np.ndarray) -> None: ...
    def __len__(self) -> int: ...
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...
    def nbytes(self) -> int: ...


def _codes(codes: np.ndarray) -> np.ndarray:
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    if codes.ndim != 2 or codes.shape[1] * 8 != BITS:
        raise ValueError(f"expected descriptors of shape (n, {BITS // 8}), got {codes.shape}")
    return codes


def _sorted(dist: np.ndarray, pos: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Per row: by distance then position, missing last, padded to ``k`` columns."""
    q = dist.shape[0]
    if dist.shape[1] < k:
        pad = k - dist.shape[1]
        dist = np.hstack([dist, np.full((q, pad), MISSING, np.int32)])
        pos = np.hstack([pos, np.full((q, pad), -1, np.int64)])
    dist = np.where(pos < 0, MISSING, dist).astype(np.int32)
    key = dist.astype(np.int64) * (1 << 40) + np.where(pos < 0, (1 << 40) - 1, pos)
    order = np.argsort(key, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(dist, order, 1), np.take_along_axis(pos, order, 1)


_POPCOUNT = np.array([bin(v).count("1") for v in range(256)], dtype=np.uint8)


class BruteDescriptorIndex:
    """Every query against every stored descriptor with a popcount table: obviously
    correct and slow (the twin of :class:`FaissDescriptorIndex`)."""

    def __init__(self) -> None:
        self._codes = np.zeros((0, BITS // 8), np.uint8)

    def add(self, descriptors: np.ndarray) -> None:
        self._codes = np.vstack([self._codes, _codes(descriptors)])

    def __len__(self) -> int:
        return len(self._codes)

    def nbytes(self) -> int:
        return int(self._codes.nbytes)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = _codes(queries)
        n = len(self._codes)
        dist = np.empty((len(queries), n), np.int32)
        for row, query in enumerate(queries):
            dist[row] = _POPCOUNT[np.bitwise_xor(self._codes, query)].sum(axis=1, dtype=np.int32)
        pos = np.broadcast_to(np.arange(n, dtype=np.int64), dist.shape)
        return _sorted(dist, pos, k)


class FaissDescriptorIndex:
    """``faiss.IndexBinaryFlat`` (``nlist=0``, exact) or ``faiss.IndexBinaryIVF``."""

    def __init__(self, nlist: int = 0, nprobe: int = 8) -> None:
        self.nlist, self.nprobe = nlist, nprobe
        self._count = 0
        self._index: Any
        if nlist:
            self._quantiser = faiss.IndexBinaryFlat(BITS)
            self._index = faiss.IndexBinaryIVF(self._quantiser, BITS, nlist)
            self._index.nprobe = nprobe
        else:
            self._index = faiss.IndexBinaryFlat(BITS)

    @property
    def trained(self) -> bool:
        return bool(self._index.is_trained)

    def train(self, sample: np.ndarray) -> None:
        """Train the coarse quantiser once (IVF only; a no-op when already trained).
        Raises ValueError when ``sample`` holds fewer descriptors than ``nlist``."""
        if self.trained:
            return
        sample = _codes(sample)
        if len(sample) < self.nlist:
            raise ValueError(f"need >= {self.nlist} descriptors to train, got {len(sample)}")
        self._index.train(sample)

    def add(self, descriptors: np.ndarray) -> None:
        """Append; raises RuntimeError for an inverted file not yet trained."""
        descriptors = _codes(descriptors)
        if not self.trained:
            raise RuntimeError("train() the inverted file before adding descriptors")
        self._index.add(descriptors)
        self._count += len(descriptors)

    def __len__(self) -> int:
        return self._count

    def nbytes(self) -> int:
        """Codes plus, for IVF, the 8-byte id FAISS keeps beside each code."""
        per = BITS // 8 + (8 if self.nlist else 0)
        return self._count * per + (self.nlist * BITS // 8)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = _codes(queries)
        if not len(queries) or not self._count:
            shape = (len(queries), k)
            return np.full(shape, MISSING, np.int32), np.full(shape, -1, np.int64)
        dist, pos = self._index.search(queries, min(k, self._count))
        return _sorted(dist.astype(np.int32), pos.astype(np.int64), k)
