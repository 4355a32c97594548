"""Matching a video's frames: against reference photos (the image rule, frame by frame) and
against reference videos (vPDQ's rule, :class:`hashing.frames.VideoMatchRule`).

A reference video is stored as hashes only: one ``pdq`` reference row per sampled frame,
its variant ``frame@<seconds>`` (:func:`frame_variant`). So the bank's one PDQ index
holds photo and video frames alike, an image that is a still of a known video matches
like any image, and :func:`reference_videos` regroups the frame rows into the reference
video for the vPDQ comparison. A hit's evidence names the frame that matched and its time
in the candidate video (``wire.records.evidence_variant``).

A left-right mirrored clip is searched for too: each frame is also queried as its mirror,
estimated from the hash (:meth:`hashing.PdqHash.mirror_estimate`: vpdq keeps no pixels),
so a clip both cropped and mirrored reaches the photos' upright crop grid, and a mirrored
re-upload of a reference video is compared, mirrored back, by vPDQ's rule. Such evidence
names the variant or frame plus ``+candidate-mirrored``. The bank gains no rows for it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from hashing import MatchRule, PdqHash
from hashing.frames import VideoFrame, VideoHashes, VideoMatchRule
from store.models import Reference
from wire.records import MatchEvidence, evidence_variant

if TYPE_CHECKING:
    from matcher.bank import Bank

FRAME_PREFIX = "frame@"
MAX_EVIDENCE = 100  # matched frames listed per hit; the count of the rest is in the hit


def frame_variant(seconds: float) -> str:
    """The variant of a reference video's frame row: ``frame@12.000``."""
    return f"{FRAME_PREFIX}{seconds:.3f}"


def frame_seconds(variant: str) -> float | None:
    """The time in a ``frame@`` variant, or None for any other variant."""
    if not variant.startswith(FRAME_PREFIX):
        return None
    try:
        return float(variant[len(FRAME_PREFIX) :])
    except ValueError:
        return None


def reference_videos(refs: Iterable[Reference]) -> dict[tuple[str, str], VideoHashes]:
    """The reference videos among ``refs``: ``(case id, label) -> VideoHashes`` of their
    ``frame@`` PDQ rows in time order (quality None counts as 100: an imported frame)."""
    grouped: dict[tuple[str, str], list[tuple[float, Reference]]] = {}
    for ref in refs:
        seconds = frame_seconds(ref.variant)
        if ref.algorithm == "pdq" and seconds is not None:
            grouped.setdefault((ref.case_id, ref.label), []).append((seconds, ref))
    videos = {}
    for key, rows in grouped.items():
        rows.sort(key=lambda row: row[0])
        frames = tuple(
            VideoFrame(
                cast(PdqHash, PdqHash.from_hex(ref.hash)),
                100 if ref.quality is None else ref.quality,
                n,
                seconds,
            )
            for n, (seconds, ref) in enumerate(rows)
        )
        videos[key] = VideoHashes(frames, frames[-1].timestamp, 0, 0, "")
    return videos


@dataclass(frozen=True, slots=True)
class VideoMatch:
    """A candidate video matched one reference of a case: a photo seen in some of its
    frames (``algorithm`` "pdq"), or a reference video by vPDQ's rule ("vpdq")."""

    case_id: str
    label: str
    algorithm: str
    distance: int
    evidence: list[MatchEvidence] = field(default_factory=list)


MIRRORED = "+candidate-mirrored"  # evidence through a frame's mirror estimate


def mirrored(video: VideoHashes) -> VideoHashes:
    """``video`` with every frame's PDQ replaced by its mirror estimate."""
    frames = tuple(
        dataclasses.replace(frame, pdq=frame.pdq.mirror_estimate()) for frame in video.frames
    )
    return dataclasses.replace(video, frames=frames)


Key = tuple[str, str]  # (case id, reference label)


def _photo_matches(bank: Bank, video: VideoHashes) -> tuple[list[VideoMatch], set[Key]]:
    """The photos seen in ``video``'s frames (upright or mirrored), and the reference
    videos one of its frames (upright or mirrored) matched a frame of."""
    per_label: dict[Key, list[MatchEvidence]] = {}
    video_labels: set[Key] = set()
    seen: set[PdqHash] = set()
    for frame in video.frames:
        if frame.pdq in seen:  # a still shot: its repeats add nothing
            continue
        seen.add(frame.pdq)
        best: dict[Key, tuple[int, str]] = {}  # this frame's closest variant per label
        for query, suffix in ((frame.pdq, ""), (frame.pdq.mirror_estimate(), MIRRORED)):
            for m in bank.match({"pdq": query.hex}, frame.quality):
                key = (m.case_id, m.label)
                if frame_seconds(m.variant) is not None:
                    video_labels.add(key)
                elif key not in best or m.distance < best[key][0]:
                    best[key] = (m.distance, m.variant + suffix)
        for key, (distance, variant) in best.items():
            found = MatchEvidence("pdq", distance, evidence_variant(variant, frame.timestamp))
            per_label.setdefault(key, []).append(found)
    out = []
    for (case_id, label), evidence in sorted(per_label.items()):
        closest = min(e.distance for e in evidence)
        out.append(VideoMatch(case_id, label, "pdq", closest, evidence[:MAX_EVIDENCE]))
    return out, video_labels


def match_video(bank: Bank, video: VideoHashes) -> list[VideoMatch]:
    """Every reference ``video`` matches, sorted by case and label (a label matched both
    as a photo and as a video gives the video match only). Empty when none matches. A
    reference video is compared with ``video`` upright and, when that fails, mirrored
    (:func:`mirrored`)."""
    photos, video_labels = _photo_matches(bank, video)
    found = {(m.case_id, m.label): m for m in photos}
    flipped: VideoHashes | None = None
    for key in sorted(video_labels):
        reference = bank.videos.get(key)
        rule = bank.rules.get(key[0])
        if reference is None or rule is None:
            continue
        vrule = video_rule(rule)
        suffix, result = "", vrule.compare(video, reference)
        if not result.matched:
            flipped = flipped or mirrored(video)
            suffix, result = MIRRORED, vrule.compare(flipped, reference)
        if not result.matched:
            continue
        evidence = [
            MatchEvidence(
                "vpdq",
                pair.distance,
                evidence_variant(
                    frame_variant(pair.reference.timestamp) + suffix, pair.candidate.timestamp
                ),
            )
            for pair in result.pairs[:MAX_EVIDENCE]
        ]
        best = min(pair.distance for pair in result.pairs)
        found[key] = VideoMatch(key[0], key[1], "vpdq", best, evidence)
    return [found[key] for key in sorted(found)]


def video_rule(rule: MatchRule) -> VideoMatchRule:
    """A case's video rule: its image rule for the frames, Meta's percentages."""
    return VideoMatchRule(frame_rule=rule)
