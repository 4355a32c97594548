"""Hash values (parse, validate, distance) and the match rule with its quality gate."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from hashing import ALGORITHMS, MatchRule, PdqHash, PHash, parse_hash
from hashing.pdq import pdq

PDQ_HEX = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
PHASH_HEX = "aca29c1c33dc23d7"


def flip_bits(value: PdqHash | PHash, count: int) -> PdqHash | PHash:
    """``value`` with its lowest ``count`` bits flipped: exactly ``count`` bits away."""
    flipped = value.as_int ^ ((1 << count) - 1)
    return type(value)(flipped.to_bytes(value.bits // 8, "big"))


@pytest.mark.parametrize(
    ("cls", "text"),
    [(PdqHash, PDQ_HEX), (PHash, PHASH_HEX)],
)
def test_parse_roundtrips_lower_case_hex(cls: type, text: str) -> None:
    value = cls.from_hex(text)
    assert value.hex == text
    assert str(value) == text
    assert len(value.raw) * 8 == cls.bits
    assert value.as_int == int(text, 16)


@pytest.mark.parametrize(
    ("cls", "text"),
    [
        (PdqHash, PDQ_HEX.upper()),
        (PdqHash, f"  {PDQ_HEX}\n"),
        (PdqHash, f"\t{PDQ_HEX.upper()} "),
        (PHash, PHASH_HEX.upper()),
        (PHash, f" {PHASH_HEX}\r\n"),
    ],
    ids=["pdq-upper", "pdq-blanks", "pdq-upper-blanks", "phash-upper", "phash-blanks"],
)
def test_parse_accepts_upper_case_and_surrounding_blanks(cls: type, text: str) -> None:
    value = cls.from_hex(text)
    assert value == cls.from_hex(text.strip().lower())
    assert value.hex == text.strip().lower()


@pytest.mark.parametrize(
    ("cls", "text"),
    [
        (PdqHash, ""),
        (PdqHash, PDQ_HEX[:-1]),
        (PdqHash, PDQ_HEX + "0"),
        (PdqHash, PDQ_HEX[:-2]),
        (PdqHash, PHASH_HEX),
        (PdqHash, "g" + PDQ_HEX[1:]),
        (PdqHash, "0x" + PDQ_HEX[2:]),
        (PdqHash, PDQ_HEX[:32] + " " + PDQ_HEX[33:]),
        (PdqHash, "-" + PDQ_HEX[1:]),
        (PHash, ""),
        (PHash, PHASH_HEX[:-1]),
        (PHash, PHASH_HEX + "00"),
        (PHash, PDQ_HEX),
        (PHash, "z" * 16),
        (PHash, "é" + PHASH_HEX[1:]),
    ],
)
def test_parse_rejects_malformed_hex(cls: type, text: str) -> None:
    with pytest.raises(ValueError, match=f"not a {cls.algorithm} hash"):
        cls.from_hex(text)


@pytest.mark.parametrize(("cls", "size"), [(PdqHash, 31), (PdqHash, 33), (PHash, 7), (PHash, 32)])
def test_constructor_rejects_wrong_number_of_bytes(cls: type, size: int) -> None:
    with pytest.raises(ValueError, match=f"must be {cls.bits} bits"):
        cls(b"\x00" * size)


def test_parse_hash_dispatches_and_rejects_unknown_algorithm() -> None:
    assert set(ALGORITHMS) == {"pdq", "phash"}
    assert parse_hash("pdq", PDQ_HEX) == PdqHash.from_hex(PDQ_HEX)
    assert parse_hash("phash", PHASH_HEX) == PHash.from_hex(PHASH_HEX)
    with pytest.raises(ValueError, match="unknown hash algorithm"):
        parse_hash("md5", PHASH_HEX)
    with pytest.raises(ValueError, match="not a pdq hash"):
        parse_hash("pdq", PHASH_HEX)


def test_values_are_hashable_and_compare_by_value() -> None:
    a, b = PdqHash.from_hex(PDQ_HEX), PdqHash.from_hex(PDQ_HEX.upper())
    assert a == b and hash(a) == hash(b)
    assert len({a, b, flip_bits(a, 1)}) == 2
    assert PHash.from_hex("0" * 16) != PdqHash.from_hex("0" * 64)


@pytest.mark.parametrize("count", [0, 1, 7, 31, 32, 64, 128, 256])
def test_pdq_distance_and_subtraction(count: int) -> None:
    a = PdqHash.from_hex(PDQ_HEX)
    b = flip_bits(a, count)
    assert a.distance(b) == count
    assert a - b == count
    assert b - a == count


@pytest.mark.parametrize("count", [0, 1, 6, 7, 64])
def test_phash_distance_and_subtraction(count: int) -> None:
    a = PHash.from_hex(PHASH_HEX)
    b = flip_bits(a, count)
    assert a.distance(b) == b.distance(a) == a - b == count


def test_distance_of_known_pair() -> None:
    zeros, ones = PdqHash.from_hex("0" * 64), PdqHash.from_hex("f" * 64)
    assert zeros - ones == 256
    assert PHash.from_hex("0" * 16) - PHash.from_hex("0f" * 8) == 32


def test_distance_across_algorithms_raises_type_error() -> None:
    pdq, phash = PdqHash.from_hex(PDQ_HEX), PHash.from_hex(PHASH_HEX)
    with pytest.raises(TypeError, match="cannot compare pdq with phash"):
        pdq.distance(phash)
    with pytest.raises(TypeError, match="cannot compare phash with pdq"):
        _ = phash - pdq


def test_default_rule() -> None:
    rule = MatchRule()
    assert (rule.pdq_threshold, rule.phash_threshold, rule.min_pdq_quality) == (31, 6, 50)
    assert rule.threshold("pdq") == 31
    assert rule.threshold("phash") == 6
    with pytest.raises(ValueError, match="unknown hash algorithm"):
        rule.threshold("md5")
    with pytest.raises(ValueError, match="unknown hash algorithm"):
        rule.matches("md5", 0)


@pytest.mark.parametrize(
    ("algorithm", "distance", "expected"),
    [
        ("pdq", 0, True),
        ("pdq", 30, True),
        ("pdq", 31, True),
        ("pdq", 32, False),
        ("pdq", 256, False),
        ("phash", 0, True),
        ("phash", 6, True),
        ("phash", 7, False),
    ],
)
def test_default_rule_thresholds_are_inclusive(
    algorithm: str, distance: int, expected: bool
) -> None:
    assert MatchRule().matches(algorithm, distance) is expected


def test_rule_boundary_with_real_hashes() -> None:
    a = PdqHash.from_hex(PDQ_HEX)
    assert MatchRule().matches("pdq", a - flip_bits(a, 31))
    assert not MatchRule().matches("pdq", a - flip_bits(a, 32))


def test_threshold_minus_one_switches_algorithm_off() -> None:
    rule = MatchRule(pdq_threshold=-1, phash_threshold=-1)
    assert not rule.matches("pdq", 0)
    assert not rule.matches("phash", 0)
    assert MatchRule(pdq_threshold=0).matches("pdq", 0)


@pytest.mark.parametrize(
    ("quality", "expected"), [(None, True), (0, False), (49, False), (50, True), (100, True)]
)
def test_quality_gate(quality: int | None, expected: bool) -> None:
    assert MatchRule().passes_quality(quality) is expected


def test_custom_quality_gate() -> None:
    assert MatchRule(min_pdq_quality=0).passes_quality(0)
    assert not MatchRule(min_pdq_quality=100).passes_quality(99)
    assert MatchRule(min_pdq_quality=100).passes_quality(100)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pdq_threshold": -2},
        {"pdq_threshold": 129},
        {"phash_threshold": -2},
        {"phash_threshold": 33},
        {"min_pdq_quality": -1},
        {"min_pdq_quality": 101},
    ],
)
def test_bad_rule_values_raise(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="must be"):
        MatchRule(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pdq_threshold": -1},
        {"pdq_threshold": 128},
        {"phash_threshold": 32},
        {"min_pdq_quality": 0},
        {"min_pdq_quality": 100},
    ],
)
def test_extreme_rule_values_are_accepted(kwargs: dict[str, int]) -> None:
    rule = MatchRule(**kwargs)
    for key, value in kwargs.items():
        assert getattr(rule, key) == value


def test_pdq_mirror_estimate_is_near_the_mirrored_pictures_pdq(kodak: list[Path]) -> None:
    value = PdqHash.from_hex(PDQ_HEX)
    assert isinstance(value.mirror_estimate(), PdqHash)
    assert value.mirror_estimate().mirror_estimate() == value
    assert value - value.mirror_estimate() == 128  # the odd horizontal frequencies' bits
    for path in kodak[:6]:
        with Image.open(path) as im:
            picture = im.convert("RGB")
        upright, _ = pdq(picture)
        mirrored, _ = pdq(picture.transpose(Image.Transpose.FLIP_LEFT_RIGHT))
        assert upright - mirrored > 64  # mirroring moves PDQ far ...
        assert upright.mirror_estimate() - mirrored <= 24  # ... the estimate follows it
