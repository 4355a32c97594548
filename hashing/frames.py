"""A video's hash (vPDQ: one PDQ per sampled frame) and the video match rule.

A :class:`VideoHashes` is what is kept of a video: the PDQ hash, quality, frame number and
timestamp of one frame per second (vPDQ's sampling), the duration and size, and the
content digest. It crosses boundaries as :meth:`VideoHashes.as_dict` (hex hashes, never
pixels) and is validated by :meth:`VideoHashes.from_dict`.

:class:`VideoMatchRule` is vPDQ's published comparison (ThreatExchange ``vpdq/README.md``,
"Comparison (Matching) Algorithm"): both videos' frames are deduplicated by hash and
quality-filtered, then a frame matches when some frame of the other video is within the PDQ
distance. The image rule (:class:`hashing.MatchRule`: distance <= 31, quality >= 50) is
reused for the frames, so a video frame matches a reference photo exactly when an image
would. Meta's example thresholds are: the *compared* (reference) video matched at >= 80%,
the *query* (candidate) video at >= 0% (a re-upload padded with other footage is still
found). Python-threatexchange's ``VideoVPDQSignal.compare_hash`` instead takes the larger
of the two percentages >= 80; the README's rule is the stricter on the reference side.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

from hashing.values import MatchRule, PdqHash


@dataclass(frozen=True, slots=True)
class VideoFrame:
    """One sampled frame: its PDQ and quality, its index in the stream, its time (s)."""

    pdq: PdqHash
    quality: int
    frame_number: int
    timestamp: float

    def __post_init__(self) -> None:
        if not 0 <= self.quality <= 100:
            raise ValueError(f"frame quality must be 0..100, got {self.quality}")
        if self.frame_number < 0 or self.timestamp < 0:
            raise ValueError("frame number and timestamp must not be negative")

    def as_dict(self) -> dict[str, Any]:
        return {
            "pdq": self.pdq.hex,
            "quality": self.quality,
            "frame": self.frame_number,
            "t": round(self.timestamp, 3),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoFrame:
        """Parse :meth:`as_dict`'s output; raise ValueError when malformed."""
        try:
            pdq = cast(PdqHash, PdqHash.from_hex(str(data["pdq"])))
            return cls(pdq, int(data["quality"]), int(data["frame"]), float(data["t"]))
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed video frame {data!r}: {exc}") from None


@dataclass(frozen=True, slots=True)
class VideoHashes:
    """What we keep of a video. ``frames`` is in stream order; empty for a video without
    a decodable frame (the hasher raises instead of returning that)."""

    frames: tuple[VideoFrame, ...]
    duration: float
    width: int
    height: int
    sha256: str
    size: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": [frame.as_dict() for frame in self.frames],
            "duration": round(self.duration, 3),
            "width": self.width,
            "height": self.height,
            "sha256": self.sha256,
            "size": self.size,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> VideoHashes:
        """Parse :meth:`as_dict`'s output; raise ValueError when malformed."""
        try:
            frames = tuple(VideoFrame.from_dict(item) for item in data["frames"])
            return cls(
                frames,
                float(data["duration"]),
                int(data["width"]),
                int(data["height"]),
                str(data["sha256"]),
                int(data.get("size", 0)),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed video hashes: {exc}") from None


@dataclass(frozen=True, slots=True)
class FramePair:
    """A candidate frame that matched a reference frame (or photo), and how closely."""

    candidate: VideoFrame
    reference: VideoFrame
    distance: int


@dataclass(frozen=True, slots=True)
class VideoComparison:
    """The outcome of :meth:`VideoMatchRule.compare`: percentages of unique, quality-gated
    frames of each side that found a partner, and the best partner of each candidate
    frame that found one (the hit's "which frames, at what time")."""

    candidate_percent: float
    reference_percent: float
    matched: bool
    pairs: tuple[FramePair, ...] = field(default=())


def usable_frames(frames: tuple[VideoFrame, ...], rule: MatchRule) -> list[VideoFrame]:
    """vPDQ's preparation: drop repeated hashes (first kept), then frames under the gate."""
    seen: set[PdqHash] = set()
    kept = []
    for frame in frames:
        if frame.pdq in seen:
            continue
        seen.add(frame.pdq)
        if rule.passes_quality(frame.quality):
            kept.append(frame)
    return kept


@dataclass(frozen=True, slots=True)
class VideoMatchRule:
    """When a candidate video counts as a re-upload of a reference video (see the module
    docstring). ``frame_rule`` is the image rule; percentages are 0..100."""

    frame_rule: MatchRule = field(default_factory=MatchRule)
    reference_percent: float = 80.0
    candidate_percent: float = 0.0

    def __post_init__(self) -> None:
        for value in (self.reference_percent, self.candidate_percent):
            if not 0.0 <= value <= 100.0:
                raise ValueError(f"match percentages must be 0..100, got {value}")

    def frames_match(self, a: VideoFrame, b: VideoFrame) -> bool:
        return self.frame_rule.matches(PdqHash.algorithm, a.pdq - b.pdq)

    def compare(self, candidate: VideoHashes, reference: VideoHashes) -> VideoComparison:
        """Brute force over both frame sets (O(n*m): vPDQ hashes are short, one frame a
        second). Never raises; a side with no usable frame gives 0% and no match."""
        ours = usable_frames(candidate.frames, self.frame_rule)
        theirs = usable_frames(reference.frames, self.frame_rule)
        if not ours or not theirs:
            return VideoComparison(0.0, 0.0, False)
        threshold = self.frame_rule.pdq_threshold
        pairs = []
        reference_hit: set[int] = set()
        for frame in ours:
            best: tuple[int, int] | None = None
            for index, other in enumerate(theirs):
                distance = frame.pdq - other.pdq
                if distance <= threshold:
                    reference_hit.add(index)
                    if best is None or distance < best[0]:
                        best = (distance, index)
            if best is not None:
                pairs.append(FramePair(frame, theirs[best[1]], best[0]))
        candidate_percent = 100.0 * len(pairs) / len(ours)
        reference_percent = 100.0 * len(reference_hit) / len(theirs)
        matched = (
            reference_percent >= self.reference_percent
            and candidate_percent >= self.candidate_percent
            and bool(pairs)
        )
        return VideoComparison(candidate_percent, reference_percent, matched, tuple(pairs))
