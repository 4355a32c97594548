"""Exact radius search by multi-index hashing: the bank's default index.

Consumes binary codes (``uint8`` rows, as :mod:`matcher.index`) and answers radius
queries exactly, like :class:`matcher.index.BruteForceIndex` (its tested twin), but looks
at a few thousand candidates per query instead of every code.

How: the code is cut into ``m`` contiguous sub-codes of about ``log2(n)`` bits. Two codes
within distance ``r`` agree within ``t_i`` bits on some sub-code ``i`` whenever
``sum(t_i + 1) >= r + 1`` (pigeonhole), so each query probes, per sub-code table, every
bucket within ``t_i`` of its own sub-code and verifies the candidates on the full code.
The tables are counting-sorted position arrays with direct offsets; the search runs in C
(``matcher/_mih.c``, GIL released) and splits large query batches over threads. Small
banks, and radii so large that probing would cost more than reading everything, are
scanned exhaustively (still in C). Without the compiled extension,
:func:`default_index` falls back to FAISS (exact, slower at scale).
"""

from __future__ import annotations

import logging
import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from matcher.index import BinaryIndex, FaissIndex, Neighbours, check_codes

try:
    from matcher import _mih
except ImportError:  # pragma: no cover - exercised only where the extension is not built
    _mih = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

# (starts, widths, offsets, positions) of every sub-code table.
_Tables = tuple[list[int], list[int], list[bytes], list[bytes]]

# Below this many codes an exhaustive scan beats building and probing tables.
SCAN_BELOW = 4096
# The widest sub-code: its offsets array holds 2**24 + 1 uint32 (64 MiB).
MAX_WIDTH = 24
# The C probe enumerator handles per-table thresholds up to this.
MAX_THRESHOLD = 4
# Probing a bucket or verifying a candidate is a random memory access; a scan reads
# codes in order. Probing wins while it touches fewer than 1/RANDOM_ACCESS_COST codes.
RANDOM_ACCESS_COST = 4
# Query batches at least this large are split over threads.
THREAD_BATCH = 64


def native_available() -> bool:
    """True when the compiled search (``matcher._mih``) is importable."""
    return _mih is not None


def sub_code_widths(bits: int, n: int) -> list[int]:
    """Widths of the sub-codes for ``n`` codes: about ``log2(n)`` bits each (Norouzi et
    al.'s rule: about one code per bucket), at most ``MAX_WIDTH``, wider ones first."""
    width = min(MAX_WIDTH, max(8, round(math.log2(max(n, 2)))))
    m = max(1, round(bits / width))
    while math.ceil(bits / m) > MAX_WIDTH:
        m += 1
    base, extra = divmod(bits, m)
    return [base + 1 if i < extra else base for i in range(m)]


def thresholds(widths: list[int], radius: int) -> list[int]:
    """Per-table thresholds ``t_i`` with ``sum(t_i + 1) == radius + 1`` as even as possible;
    the widest tables get the smaller ones (fewer probes). -1 means "not probed"."""
    m = len(widths)
    q, rem = divmod(radius + 1, m)
    return [q - 1 + (1 if i >= m - rem else 0) for i in range(m)]


def probe_cost(widths: list[int], ts: list[int], n: int) -> float:
    """Expected buckets probed plus candidates verified per query, for uniform codes."""
    cost = 0.0
    for w, t in zip(widths, ts, strict=True):
        probes = sum(math.comb(w, k) for k in range(t + 1)) if t >= 0 else 0
        cost += probes * (1 + n / 2**w)
    return cost


class MihIndex:
    """Exact multi-index hashing; satisfies :class:`matcher.index.BinaryIndex`.

    ``add`` appends codes (positions continue from the last add); tables are (re)built
    lazily on the first search that needs them. Searching is thread-safe. ``threads``
    bounds how many threads one large batch uses (default: the CPUs available); banks
    smaller than ``scan_below`` are scanned (tests lower it to exercise the tables).
    Raises RuntimeError when the extension is not built (see :func:`default_index`).
    """

    def __init__(self, bits: int, threads: int | None = None, scan_below: int = SCAN_BELOW) -> None:
        if _mih is None:
            raise RuntimeError("matcher._mih is not built: pip install -e . compiles it")
        if bits % 64:
            raise ValueError(f"MihIndex needs a multiple of 64 bits, got {bits}")
        self.bits = bits
        self.threads = threads or len(os.sched_getaffinity(0))
        self.scan_below = scan_below
        self._codes = np.zeros((0, bits // 8), dtype=np.uint8)
        self._chunks: list[np.ndarray] = []
        self._tables: _Tables | None = None
        self._lock = threading.Lock()

    def add(self, codes: np.ndarray) -> None:
        codes = check_codes(codes, self.bits)
        with self._lock:
            self._chunks.append(codes.copy())
            self._tables = None

    def __len__(self) -> int:
        return len(self._codes) + sum(len(c) for c in self._chunks)

    def _state(self) -> np.ndarray:
        with self._lock:
            if self._chunks:
                self._codes = np.ascontiguousarray(np.concatenate([self._codes, *self._chunks]))
                self._chunks = []
            return self._codes

    def _built(self, codes: np.ndarray) -> _Tables:
        with self._lock:
            if self._tables is None:
                widths = sub_code_widths(self.bits, len(codes))
                starts = [sum(widths[:i]) for i in range(len(widths))]
                offsets, ids = [], []
                for start, width in zip(starts, widths, strict=True):
                    off, pos = _mih.build_table(codes, codes.shape[1], start, width)
                    offsets.append(off)
                    ids.append(pos)
                self._tables = (starts, widths, offsets, ids)
            return self._tables

    def plan(self, radius: int) -> str:
        """``"scan"`` or ``"probe"``: how a search at ``radius`` would run now."""
        n = len(self)
        if n < self.scan_below:
            return "scan"
        widths = sub_code_widths(self.bits, n)
        ts = thresholds(widths, radius)
        if max(ts) > MAX_THRESHOLD or probe_cost(widths, ts, n) * RANDOM_ACCESS_COST > n:
            return "scan"
        return "probe"

    def search_arrays(
        self, queries: np.ndarray, radius: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like FAISS's ``range_search`` but inclusive: ``(lims, labels, distances)`` with
        query ``i``'s neighbours in ``labels[lims[i]:lims[i + 1]]``, sorted by distance then
        position. Blocks while searching (the GIL is released)."""
        queries = check_codes(queries, self.bits)
        codes = self._state()
        if len(codes) == 0 or radius < 0 or len(queries) == 0:
            return (
                np.zeros(len(queries) + 1, np.int64),
                np.zeros(0, np.int64),
                np.zeros(0, np.int32),
            )
        radius = min(radius, self.bits)
        if self.plan(radius) == "scan":
            nbytes = codes.shape[1]

            def run(part: np.ndarray) -> tuple[bytes, bytes, bytes]:
                return _mih.scan(codes, nbytes, part, radius)
        else:
            starts, widths, offsets, ids = self._built(codes)
            ts = thresholds(widths, radius)
            nbytes = codes.shape[1]

            def run(part: np.ndarray) -> tuple[bytes, bytes, bytes]:
                return _mih.search(codes, nbytes, offsets, ids, starts, widths, ts, part, radius)

        parts = _split(queries, self.threads)
        if len(parts) == 1:
            results = [run(parts[0])]
        else:
            with ThreadPoolExecutor(len(parts)) as pool:
                results = list(pool.map(run, parts))
        return _merge(results)

    def search(self, queries: np.ndarray, radius: int) -> Neighbours:
        lims, labels, distances = self.search_arrays(queries, radius)
        labels_list, distances_list = labels.tolist(), distances.tolist()
        return [
            list(
                zip(
                    labels_list[lims[i] : lims[i + 1]],
                    distances_list[lims[i] : lims[i + 1]],
                    strict=True,
                )
            )
            for i in range(len(lims) - 1)
        ]

    def memory_bytes(self) -> int:
        """Bytes held: the codes plus every table's offsets and positions."""
        total = self._codes.nbytes + sum(c.nbytes for c in self._chunks)
        if self._tables is not None:
            total += sum(len(o) for o in self._tables[2]) + sum(len(i) for i in self._tables[3])
        return total


def _split(queries: np.ndarray, threads: int) -> list[np.ndarray]:
    if threads <= 1 or len(queries) < THREAD_BATCH:
        return [queries]
    return [p for p in np.array_split(queries, threads) if len(p)]


def _merge(results: list[tuple[bytes, bytes, bytes]]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    lims_parts, labels, distances = [], [], []
    offset = 0
    for k, (lims_b, labels_b, dists_b) in enumerate(results):
        lims = np.frombuffer(lims_b, dtype=np.int64)
        lims_parts.append((lims if k == 0 else lims[1:]) + offset)
        offset += int(lims[-1])
        labels.append(np.frombuffer(labels_b, dtype=np.int64))
        distances.append(np.frombuffer(dists_b, dtype=np.int32))
    return np.concatenate(lims_parts), np.concatenate(labels), np.concatenate(distances)


def default_index(bits: int) -> BinaryIndex:
    """The bank's index: :class:`MihIndex` where the extension is built and the code width
    suits it, else FAISS's exhaustive index (exact, slower on large banks)."""
    if _mih is not None and bits % 64 == 0:
        return MihIndex(bits)
    if _mih is None:
        log.warning("matcher._mih is not built; matching falls back to FAISS IndexBinaryFlat")
    return FaissIndex(bits)
