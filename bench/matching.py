"""Matching speed: exact radius-31 search over 256-bit codes, ours against FAISS.

Banks of uniform random codes and of clustered codes (near-duplicate families, as real
banks hold: a picture and its re-encodes, crops and variants), queried with half planted
near-duplicates (0..40 bits away) and half unrelated codes. Ours (:class:`MihIndex`) and
the anchors, FAISS ``IndexBinaryFlat`` and Meta's HMA configuration
``IndexBinaryMultiHash(256, 16, 16)`` with ``nflip = 31 // 16``, answer the same queries
in the same process with the same threads; every answer of ours is compared with
FAISS Flat's (recall and exactness). Memory per reference: ours counted exactly, the
anchors by resident memory growth while building.
"""

from __future__ import annotations

import gc
import time
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from bench.common import Record, record, rss_bytes
from matcher.mih import MihIndex

RADIUS = 31
BITS = 256


def uniform_codes(n: int, rng: np.random.Generator) -> np.ndarray:
    return rng.integers(0, 256, (n, BITS // 8), dtype=np.uint8)


def flip_rows(codes: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each row of ``codes`` with ``counts[i]`` random bits flipped (with replacement, so
    at most that many: cheap and close enough for a benchmark bank)."""
    out = codes.copy()
    most = int(counts.max(initial=0))
    if most == 0:
        return out
    positions = rng.integers(0, BITS, (len(codes), most))
    use = np.arange(most)[None, :] < counts[:, None]
    rows = np.broadcast_to(np.arange(len(codes))[:, None], positions.shape)[use]
    cols = positions[use]
    np.bitwise_xor.at(out, (rows, cols // 8), (0x80 >> (cols % 8)).astype(np.uint8))
    return out


def clustered_codes(n: int, rng: np.random.Generator, family: int = 50) -> np.ndarray:
    """``n`` codes in families of about ``family``: a random centre and members 0..24 bits
    from it (so members are up to ~48 bits from each other)."""
    centres = uniform_codes(max(1, n // family), rng)
    which = rng.integers(0, len(centres), n)
    return flip_rows(centres[which], rng.integers(0, 25, n), rng)


def make_queries(bank: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """Half planted (stored codes 0..40 bits away), half fresh unrelated codes."""
    planted = flip_rows(bank[rng.integers(0, len(bank), n // 2)], rng.integers(0, 41, n // 2), rng)
    return np.concatenate([planted, uniform_codes(n - n // 2, rng)])


def _flat(codes: np.ndarray) -> Any:
    index = faiss.IndexBinaryFlat(BITS)
    index.add(codes)
    return index


def _multihash(codes: np.ndarray) -> Any:
    index = faiss.IndexBinaryMultiHash(BITS, 16, 16)
    index.add(codes)
    index.nflip = RADIUS // 16  # HMA: threshold // nhash, exact by pigeonhole for 16x16
    return index


def _faiss_search(index: Any, queries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lims, _distances, labels = index.range_search(queries, RADIUS + 1)
    return lims, labels


def _qps(search: Any, queries: np.ndarray, budget: float) -> tuple[float, Any]:
    """Queries/s over batches of ``queries`` until ``budget`` seconds (at least one)."""
    start = time.perf_counter()
    result = search(queries)
    done, elapsed = len(queries), time.perf_counter() - start
    while elapsed < budget:
        search(queries)
        done, elapsed = done + len(queries), time.perf_counter() - start
    return done / elapsed, result


def _same(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray]) -> tuple[int, int]:
    """(expected pairs, pairs found by ``b`` among those of ``a``) per query, as sets."""
    expected = found = 0
    for i in range(len(a[0]) - 1):
        want = set(a[1][a[0][i] : a[0][i + 1]].tolist())
        got = set(b[1][b[0][i] : b[0][i + 1]].tolist())
        expected += len(want)
        found += len(want & got)
        if got - want:
            raise AssertionError(f"query {i}: codes outside the radius returned: {got - want}")
    return expected, found


def measure(
    kind: str, n: int, rng: np.random.Generator, n_queries: int, anchor_queries: int, budget: float
) -> dict[str, Any]:
    """One bank: build ours and the anchors, time them, check ours against FAISS Flat."""
    bank = uniform_codes(n, rng) if kind == "uniform" else clustered_codes(n, rng)
    queries = make_queries(bank, n_queries, rng)
    few = queries[:anchor_queries]
    out: dict[str, Any] = {"kind": kind, "n": n}

    gc.collect()
    before = rss_bytes()
    start = time.perf_counter()
    ours = MihIndex(BITS)
    ours.add(bank)
    ours.search_arrays(queries[:1], RADIUS)  # builds the tables
    out["ours_build_s"] = time.perf_counter() - start
    out["ours_bytes_per_ref"] = ours.memory_bytes() / n
    out["ours_rss_per_ref"] = (rss_bytes() - before) / n
    out["ours_plan"] = ours.plan(RADIUS)
    out["ours_qps"], _ = _qps(lambda q: ours.search_arrays(q, RADIUS), queries, budget)
    ours_few = ours.search_arrays(few, RADIUS)

    flat = _flat(bank)
    out["flat_bytes_per_ref"] = float(flat.code_size)  # a flat index stores just the codes
    out["flat_qps"], flat_few = _qps(lambda q: _faiss_search(flat, q), few, budget)
    expected, found = _same(flat_few, (ours_few[0], ours_few[1]))
    out["pairs_expected"], out["pairs_found"] = expected, found
    out["recall"] = found / expected if expected else 1.0

    before = rss_bytes()
    start = time.perf_counter()
    multi = _multihash(bank)
    out["multihash_build_s"] = time.perf_counter() - start
    out["multihash_bytes_per_ref"] = (rss_bytes() - before) / n
    out["multihash_qps"], multi_few = _qps(lambda q: _faiss_search(multi, q), few, budget)
    m_expected, m_found = _same(flat_few, multi_few)
    out["multihash_recall"] = m_found / m_expected if m_expected else 1.0
    return out


def run(quick: bool, out: Path) -> list[Record]:
    """Uniform and clustered banks at every size; records at each size, plot data in
    ``out/matching.json`` (read by :mod:`bench.plots`)."""
    import json

    sizes = [20_000] if quick else [100_000, 1_000_000, 10_000_000]
    rng = np.random.default_rng(20261123)
    rows = []
    for kind in ("uniform", "clustered"):
        for n in sizes:
            anchor_queries = 50 if quick else 200
            row = measure(
                kind,
                n,
                rng,
                n_queries=200 if quick else 4000,
                anchor_queries=anchor_queries,
                budget=0.05 if quick else 3.0,
            )
            rows.append(row)
    (out / "matching.json").write_text(json.dumps(rows, indent=1) + "\n")
    records = []
    threads = faiss.omp_get_max_threads()
    for row in rows:
        common = {
            "references": row["n"],
            "codes": row["kind"],
            "radius": RADIUS,
            "bits": BITS,
            "threads": threads,
            "ours_plan": row["ours_plan"],
        }
        records.append(
            record(
                "matching",
                "queries_per_s",
                row["ours_qps"],
                row["flat_qps"],
                "faiss IndexBinaryFlat",
                recall_vs_flat=round(row["recall"], 6),
                pairs_checked=row["pairs_expected"],
                **common,
            )
        )
        records.append(
            record(
                "matching",
                "queries_per_s",
                row["ours_qps"],
                row["multihash_qps"],
                "faiss IndexBinaryMultiHash(256,16,16) nflip=1 (HMA)",
                anchor_recall=round(row["multihash_recall"], 6),
                **common,
            )
        )
        records.append(
            record(
                "matching",
                "bytes_per_reference",
                row["ours_bytes_per_ref"],
                row["flat_bytes_per_ref"],
                "faiss IndexBinaryFlat (its codes)",
                lower_is_better=True,
                multihash_bytes_per_ref_rss_growth=round(row["multihash_bytes_per_ref"], 1),
                ours_build_s=round(row["ours_build_s"], 2),
                multihash_build_s=round(row["multihash_build_s"], 2),
                **common,
            )
        )
    return records
