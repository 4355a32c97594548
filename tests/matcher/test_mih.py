"""Multi-index hashing answers exactly what brute force answers, on every path."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

from matcher import Bank, BruteForceIndex, MihIndex, default_index
from matcher.index import codes_from_hex
from matcher.mih import native_available, probe_cost, sub_code_widths, thresholds
from tests.matcher.test_index import codes_and_queries, flip, read_hexes


def test_the_extension_is_built_and_the_bank_uses_it() -> None:
    assert native_available(), "matcher._mih is not built: run pip install -e ."
    assert isinstance(default_index(256), MihIndex)
    assert isinstance(default_index(64), MihIndex)
    assert isinstance(Bank([], [])._indices["pdq"], MihIndex)


@pytest.mark.parametrize("radius", [0, 1, 5, 31, 32, 40])
@pytest.mark.parametrize("scan_below", [0, 10**9], ids=["probe", "scan"])
def test_random_256_bit_codes_agree_with_brute_force(radius: int, scan_below: int) -> None:
    codes, queries = codes_and_queries(256, 6000, 300, max_flips=45, seed=7 + radius)
    index, brute = MihIndex(256, scan_below=scan_below), BruteForceIndex(256)
    index.add(codes)
    brute.add(codes)
    assert index.search(queries, radius) == brute.search(queries, radius)


def clustered(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Families of near-duplicates (0..24 bits from a centre), queries near members."""
    rng = np.random.default_rng(seed)
    centres = rng.integers(0, 256, (n // 40, 32), dtype=np.uint8)
    codes = np.stack(
        [flip(centres[i % len(centres)], int(rng.integers(25)), rng) for i in range(n)]
    )
    queries = np.stack(
        [flip(codes[rng.integers(n)], int(rng.integers(36)), rng) for _ in range(150)]
    )
    return codes, queries


def test_clustered_codes_agree_and_find_whole_families() -> None:
    codes, queries = clustered(5000, seed=3)
    index, brute = MihIndex(256, scan_below=0), BruteForceIndex(256)
    index.add(codes[:2000])  # two adds: positions continue
    index.add(codes[2000:])
    brute.add(codes)
    assert index.plan(31) == "probe"
    got = index.search(queries, 31)
    assert got == brute.search(queries, 31)
    assert sum(len(h) for h in got) > 1000  # families, not single hits


def test_64_bit_codes_at_the_phash_radius() -> None:
    codes, queries = codes_and_queries(64, 6000, 300, max_flips=10, seed=64)
    index, brute = MihIndex(64, scan_below=0), BruteForceIndex(64)
    index.add(codes)
    brute.add(codes)
    for radius in (0, 6, 12):
        assert index.search(queries, radius) == brute.search(queries, radius)


def test_meta_needles_in_haystack(shared_images: Path) -> None:
    folder = shared_images / "pdq-reference/reg-test-input"
    haystack = codes_from_hex(read_hexes(folder / "haystack.txt"), 256)
    needles = codes_from_hex(read_hexes(folder / "needles.txt"), 256)
    brute = BruteForceIndex(256)
    brute.add(haystack)
    expected = brute.search(needles, 31)
    for scan_below in (0, 10**9):
        index = MihIndex(256, scan_below=scan_below)
        index.add(haystack)
        assert index.search(needles, 31) == expected
    assert sum(len(h) for h in expected) == 250


def test_duplicates_boundary_and_empty() -> None:
    index = MihIndex(256, scan_below=0)
    assert index.search(np.zeros((2, 32), np.uint8), 31) == [[], []]
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    index.add(np.stack([flip(base[0], k, rng) for k in (30, 31, 32, 33)] + [base[0]] * 3))
    assert index.search(base, 31) == [[(4, 0), (5, 0), (6, 0), (0, 30), (1, 31)]]
    assert index.search(base, -1) == [[]]
    assert index.search(np.zeros((0, 32), np.uint8), 31) == []
    assert index.search(base, 999)[0][-1] == (3, 33)  # radius past the width: everything


def test_wrong_shapes_and_widths_raise() -> None:
    with pytest.raises(ValueError, match="multiple of 64"):
        MihIndex(72)
    index = MihIndex(256)
    with pytest.raises(ValueError, match="expected codes of shape"):
        index.add(np.zeros((2, 8), np.uint8))
    with pytest.raises(ValueError, match="expected codes of shape"):
        index.search(np.zeros((2, 33), np.uint8), 3)


def test_large_batches_split_over_threads_and_concurrent_searches_agree() -> None:
    codes, queries = codes_and_queries(256, 8000, 400, max_flips=40, seed=11)
    index, brute = MihIndex(256, threads=3, scan_below=0), BruteForceIndex(256)
    index.add(codes)
    brute.add(codes)
    expected = brute.search(queries, 31)
    results: list[object] = [None] * 4

    def work(k: int) -> None:
        results[k] = index.search(queries, 31)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert all(r == expected for r in results)


def test_search_arrays_is_faiss_shaped_and_sorted() -> None:
    codes, queries = codes_and_queries(256, 5000, 100, max_flips=30, seed=2)
    index = MihIndex(256, scan_below=0)
    index.add(codes)
    lims, labels, distances = index.search_arrays(queries, 31)
    assert lims.dtype == np.int64 and labels.dtype == np.int64 and distances.dtype == np.int32
    assert len(lims) == 101 and lims[0] == 0 and lims[-1] == len(labels) == len(distances)
    for i in range(100):
        pairs = list(
            zip(distances[lims[i] : lims[i + 1]], labels[lims[i] : lims[i + 1]], strict=True)
        )
        assert pairs == sorted(pairs)


@pytest.mark.parametrize("radius", [0, 6, 31, 32, 63, 100])
@pytest.mark.parametrize("n", [10, 5000, 10_000_000])
def test_thresholds_satisfy_the_pigeonhole(radius: int, n: int) -> None:
    widths = sub_code_widths(256, n)
    assert sum(widths) == 256 and max(widths) <= 24
    ts = thresholds(widths, radius)
    assert sum(t + 1 for t in ts) == radius + 1
    assert max(ts) - min(ts) <= 1
    assert probe_cost(widths, ts, n) > 0 or radius < 0
