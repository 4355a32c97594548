"""The vPDQ match rule on hand-made frame sets: dedupe, quality gate, both percentages."""

from __future__ import annotations

import random

import pytest

from hashing.frames import VideoFrame, VideoHashes, VideoMatchRule
from hashing.values import MatchRule, PdqHash


def _hash(rng: random.Random) -> PdqHash:
    return PdqHash(rng.getrandbits(256).to_bytes(32, "big"))


def _near(h: PdqHash, bits: int, rng: random.Random) -> PdqHash:
    value = h.as_int
    for bit in rng.sample(range(256), bits):
        value ^= 1 << bit
    return PdqHash(value.to_bytes(32, "big"))


def _video(hashes: list[PdqHash], quality: int = 100) -> VideoHashes:
    frames = tuple(VideoFrame(h, quality, 10 * i, float(i)) for i, h in enumerate(hashes))
    return VideoHashes(frames, float(len(hashes)), 320, 240, "0" * 64)


def test_padded_reupload_matches_with_meta_thresholds() -> None:
    rng = random.Random(14)
    reference = [_hash(rng) for _ in range(5)]
    # the reference's 5 frames, 20 bits off, inside 15 frames of other footage
    candidate = [_hash(rng) for _ in range(5)] + [_near(h, 20, rng) for h in reference]
    candidate += [_hash(rng) for _ in range(5)]
    result = VideoMatchRule().compare(_video(candidate), _video(reference))
    assert result.reference_percent == 100.0
    assert result.candidate_percent == pytest.approx(100 / 3)
    assert result.matched
    assert [p.candidate.timestamp for p in result.pairs] == [5.0, 6.0, 7.0, 8.0, 9.0]
    assert all(p.distance == 20 for p in result.pairs)
    strict = VideoMatchRule(candidate_percent=80.0)
    assert not strict.compare(_video(candidate), _video(reference)).matched


def test_reference_percent_counts_unique_frames() -> None:
    rng = random.Random(3)
    reference = [_hash(rng) for _ in range(5)]
    # a still reference frame repeated 10 times counts once
    repeated = [reference[0]] * 10 + reference[1:]
    candidate = [reference[0], reference[1], reference[2], reference[3]]
    result = VideoMatchRule().compare(_video(candidate), _video(repeated))
    assert result.reference_percent == 80.0 and result.matched
    fewer = VideoMatchRule().compare(_video(candidate[:3]), _video(repeated))
    assert fewer.reference_percent == 60.0 and not fewer.matched


def test_distance_and_quality_come_from_the_image_rule() -> None:
    rng = random.Random(5)
    reference = [_hash(rng) for _ in range(3)]
    far = [_near(h, 32, rng) for h in reference]
    assert not VideoMatchRule().compare(_video(far), _video(reference)).matched
    loose = VideoMatchRule(frame_rule=MatchRule(pdq_threshold=40))
    assert loose.compare(_video(far), _video(reference)).matched
    flat = VideoMatchRule().compare(_video(reference, quality=49), _video(reference))
    assert flat.reference_percent == 0.0 and not flat.matched


def test_empty_sides_never_match() -> None:
    rng = random.Random(1)
    some = _video([_hash(rng)])
    assert not VideoMatchRule().compare(_video([]), some).matched
    assert not VideoMatchRule().compare(some, _video([])).matched
    with pytest.raises(ValueError):
        VideoMatchRule(reference_percent=120)
