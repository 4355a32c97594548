"""FAISS and the brute-force twin answer the same radius searches, exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from matcher import BruteForceIndex, FaissIndex
from matcher.index import codes_from_hex

INDEX_TYPES = [FaissIndex, BruteForceIndex]


def flip(code: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``code`` with exactly ``count`` distinct random bits flipped."""
    bits = np.unpackbits(code)
    bits[rng.choice(bits.size, count, replace=False)] ^= 1
    return np.packbits(bits)


def codes_and_queries(
    bits: int, n: int, n_queries: int, max_flips: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random codes; half the queries are stored codes with 0..max_flips bits flipped
    (cycling), the other half fresh random codes."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 256, (n, bits // 8), dtype=np.uint8)
    queries = rng.integers(0, 256, (n_queries, bits // 8), dtype=np.uint8)
    for i in range(n_queries // 2):
        queries[i] = flip(codes[rng.integers(n)], i % (max_flips + 1), rng)
    return codes, queries


def both(codes: np.ndarray, bits: int) -> tuple[FaissIndex, BruteForceIndex]:
    faiss_index, brute = FaissIndex(bits), BruteForceIndex(bits)
    faiss_index.add(codes)
    brute.add(codes)
    return faiss_index, brute


def python_neighbours(codes: list[int], query: int, radius: int) -> list[tuple[int, int]]:
    pairs = [(i, (c ^ query).bit_count()) for i, c in enumerate(codes)]
    return sorted(((i, d) for i, d in pairs if d <= radius), key=lambda p: (p[1], p[0]))


@pytest.fixture(scope="module")
def random256() -> tuple[np.ndarray, np.ndarray, FaissIndex, BruteForceIndex]:
    codes, queries = codes_and_queries(256, 5000, 200, max_flips=40, seed=20261123)
    return (codes, queries, *both(codes, 256))


@pytest.mark.parametrize("radius", [0, 31, 32])
def test_random_256_bit_codes_agree(random256: tuple, radius: int) -> None:
    codes, queries, faiss_index, brute = random256
    assert len(faiss_index) == len(brute) == 5000
    got = faiss_index.search(queries, radius)
    assert got == brute.search(queries, radius)
    # Planted queries with k <= radius flips find their source at distance k.
    for i in range(100):
        k = i % 41
        distances = [d for _, d in got[i]]
        assert (k in distances) is (k <= radius)
        assert distances == sorted(distances)
    # Fresh random codes are ~128 bits from everything.
    assert all(not hits for hits in got[100:])
    # Spot-check against plain Python ints.
    ints = [int.from_bytes(c.tobytes(), "big") for c in codes]
    for i in (0, 1, 31, 32, 33, 150):
        query = int.from_bytes(queries[i].tobytes(), "big")
        assert got[i] == python_neighbours(ints, query, radius)


def test_radius_boundary_is_inclusive() -> None:
    rng = np.random.default_rng(5)
    base = rng.integers(0, 256, (1, 32), dtype=np.uint8)
    stored = np.stack([flip(base[0], k, rng) for k in (30, 31, 32, 33)])
    for index in both(stored, 256):
        assert index.search(base, 31) == [[(0, 30), (1, 31)]]
        assert index.search(base, 32) == [[(0, 30), (1, 31), (2, 32)]]


def test_random_64_bit_codes_agree_at_radius_6() -> None:
    codes, queries = codes_and_queries(64, 5000, 200, max_flips=10, seed=64)
    faiss_index, brute = both(codes, 64)
    got = faiss_index.search(queries, 6)
    assert got == brute.search(queries, 6)
    found = sum(len(h) for h in got)
    assert found >= sum(1 for i in range(100) if i % 11 <= 6)  # every planted one, at least
    ints = [int.from_bytes(c.tobytes(), "big") for c in codes]
    for i in range(0, 200, 7):
        assert got[i] == python_neighbours(ints, int.from_bytes(queries[i].tobytes(), "big"), 6)


def test_duplicate_codes_are_all_returned_in_position_order() -> None:
    code = np.full((1, 32), 0xAB, dtype=np.uint8)
    stored = np.concatenate([code, code, code])
    for index in both(stored, 256):
        assert index.search(code, 0) == [[(0, 0), (1, 0), (2, 0)]]


def read_hexes(path: Path) -> list[str]:
    return [line.split()[0] for line in path.read_text().splitlines() if line.strip()]


def test_meta_needles_in_haystack(shared_images: Path) -> None:
    folder = shared_images / "pdq-reference/reg-test-input"
    needles, haystack = read_hexes(folder / "needles.txt"), read_hexes(folder / "haystack.txt")
    assert (len(needles), len(haystack)) == (100, 1350)
    faiss_index, brute = both(codes_from_hex(haystack, 256), 256)
    queries = codes_from_hex(needles, 256)
    got = faiss_index.search(queries, 31)
    assert got == brute.search(queries, 31)
    hay = [int(h, 16) for h in haystack]
    expected = [python_neighbours(hay, int(n, 16), 31) for n in needles]
    assert got == expected
    assert sum(len(h) for h in got) == sum(len(h) for h in expected) == 250
    assert all(got)  # every needle is in the haystack


@pytest.mark.parametrize("index_type", INDEX_TYPES)
def test_empty_index_returns_empty_lists(index_type: type) -> None:
    index = index_type(256)
    assert len(index) == 0
    queries = np.zeros((3, 32), dtype=np.uint8)
    assert index.search(queries, 31) == [[], [], []]
    assert index.search(queries, 256) == [[], [], []]
    assert index.search(np.zeros((0, 32), dtype=np.uint8), 31) == []


@pytest.mark.parametrize("index_type", INDEX_TYPES)
def test_negative_radius_returns_nothing(index_type: type) -> None:
    index = index_type(256)
    codes = np.zeros((2, 32), dtype=np.uint8)
    index.add(codes)
    assert index.search(codes, -1) == [[], []]
    assert index.search(codes, 0) == [[(0, 0), (1, 0)], [(0, 0), (1, 0)]]


@pytest.mark.parametrize("index_type", INDEX_TYPES)
@pytest.mark.parametrize("shape", [(2, 8), (2, 33), (32,), (1, 2, 32)])
def test_wrong_code_width_raises(index_type: type, shape: tuple[int, ...]) -> None:
    index = index_type(256)
    with pytest.raises(ValueError, match="expected codes of shape"):
        index.add(np.zeros(shape, dtype=np.uint8))
    index.add(np.zeros((1, 32), dtype=np.uint8))
    with pytest.raises(ValueError, match="expected codes of shape"):
        index.search(np.zeros(shape, dtype=np.uint8), 3)
    assert len(index) == 1


def test_codes_from_hex_roundtrip() -> None:
    rng = np.random.default_rng(11)
    for bits in (64, 256):
        codes = rng.integers(0, 256, (50, bits // 8), dtype=np.uint8)
        hexes = [c.tobytes().hex() for c in codes]
        back = codes_from_hex(hexes, bits)
        assert back.dtype == np.uint8
        assert np.array_equal(back, codes)
        assert [c.tobytes().hex() for c in back] == hexes
    assert codes_from_hex([], 256).shape == (0, 32)
    assert np.array_equal(codes_from_hex(["AB" * 8], 64), np.full((1, 8), 0xAB, np.uint8))


@pytest.mark.parametrize(
    "hexes",
    [
        ["zz" * 32],
        ["ab" * 16],
        ["ab" * 8],
        ["ab" * 33],
        ["ab" * 32, "ab" * 31],
        # BUG (matcher/index.py codes_from_hex): per-code lengths are not checked, only the
        # total; a short code followed by a long one is silently re-split into two
        # well-sized but wrong codes instead of raising ValueError.
        ["ab" * 31, "cd" * 33],
    ],
    ids=["not-hex", "half", "64-bit", "too-long", "one-short", "short-then-long"],
)
def test_codes_from_hex_rejects_malformed(hexes: list[str]) -> None:
    with pytest.raises(ValueError):
        codes_from_hex(hexes, 256)
