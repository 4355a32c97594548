"""Video hashing (issue 14): vPDQ's speed on one core, and recall on the demo's video edits
beside plain PDQ of the first frame.

The reference video is a slideshow of benign Kodak photos (2 s each, 25 frames/s, 480 px
square, H.264), made in memory (:mod:`radar.demo.videos`); the candidates are its demo
edits (``DEMO_EDITS``: re-encoded smaller, cropped 8 %, mirrored, cropped and mirrored,
VP9/WebM). Speed is the production path, :func:`hashing.video.hash_video_bytes` (ffprobe,
the capped vpdq child with one thread): sampled frames hashed per second, decoded frames
per second and seconds of video per second of wall time.

Recall, per edit: *photos* is the share of the slideshow's photos found in the edit by
matching every vPDQ frame against the photos as references (all their variants, the
image rule); its anchor is plain PDQ of the edit's first frame only (one frame can show
at most one photo). *video* is whether the edit matches the reference video by vPDQ's
rule (1 or 0); its anchor is whether the first frames of the two are within the PDQ
distance.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import store
from bench.common import SHARED_IMAGES, Record, record
from hashing import MatchRule
from hashing.video import VideoLimits, hash_video_bytes
from matcher.bank import Bank
from matcher.video import match_video
from radar.demo.videos import DEMO_EDITS, edit, slideshow
from radar.references import hash_reference, video_reference_rows

FPS = 25
SIDE = 480


def _bank(photos: list[Path], reference: bytes) -> Bank:
    case = store.Case("bench", "video bench", MatchRule())
    refs = [r for p in photos for r in hash_reference(case, p, p.stem)]
    refs += video_reference_rows(case, "video", reference)
    return Bank([case], refs)


def run(quick: bool, out: Path) -> list[Record]:
    photos = sorted((SHARED_IMAGES / "kodak24").glob("kodim*.png"))[: 3 if quick else 8]
    reference = slideshow(photos, seconds_each=2.0, fps=FPS, side=SIDE)
    duration = 2.0 * len(photos)
    rounds = 1 if quick else 3
    started = time.perf_counter()
    for _ in range(rounds):
        hashed = hash_video_bytes(reference, VideoLimits())
    seconds = (time.perf_counter() - started) / rounds
    params: dict[str, Any] = {
        "photos": len(photos),
        "side": SIDE,
        "fps": FPS,
        "duration_s": duration,
    }
    records = [
        record("video", "sampled_frames_per_s", len(hashed.frames) / seconds, None, "", **params),
        record("video", "decoded_frames_per_s", duration * FPS / seconds, None, "", **params),
        record("video", "video_s_per_s", duration / seconds, None, "", **params),
    ]
    bank = _bank(photos, reference)
    rule = MatchRule()
    labels = {p.stem for p in photos}
    for name in list(DEMO_EDITS)[: 2 if quick else None]:
        filters, codec, ext, crf = DEMO_EDITS[name]
        clip = hash_video_bytes(edit(reference, filters, codec, ext, crf))
        found = {m.label for m in match_video(bank, clip) if m.label in labels}
        first = {m.label for m in bank.match({"pdq": clip.frames[0].pdq.hex}, 100)}
        first_frames = rule.matches("pdq", clip.frames[0].pdq - hashed.frames[0].pdq)
        video_hit = any(
            m.label == "video" and m.algorithm == "vpdq" for m in match_video(bank, clip)
        )
        records.append(
            record(
                "video",
                f"recall_photos/{name}",
                len(found) / len(labels),
                len(first & labels) / len(labels),
                "PDQ of the first frame",
                edit=name,
            )
        )
        records.append(
            record(
                "video",
                f"match_video/{name}",
                float(video_hit),
                float(first_frames),
                "first frames within PDQ 31",
                edit=name,
            )
        )
    return records
