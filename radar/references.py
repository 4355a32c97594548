"""Reference banks from files: hashing a victim's photos and videos locally. Only hashes,
qualities and labels come out. (Exchanged hash lists: :mod:`store.hashlists`.)"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from pathlib import Path

from hashing import DecodeLimits
from hashing.decode import decode
from hashing.variants import DEFAULT_PROFILE, DIHEDRAL, VariantProfile, reference_hashes
from hashing.video import VideoLimits, hash_video_bytes
from matcher.video import frame_variant
from store.models import Case, Reference

VARIANTS = DIHEDRAL  # the dihedral variant names, as before (kept for callers)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
# Reference videos (issue 14): kept as the PDQ of one frame a second (vPDQ), hashes only.
VIDEO_SUFFIXES = {".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"}
_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES


def image_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories (recursively, image and video suffixes only) and keep files as
    given.
    Raises FileNotFoundError for a path that does not exist and ValueError if none."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in _SUFFIXES)
            )
        elif path.is_file():
            found.append(path)
        else:
            raise FileNotFoundError(f"no such file or directory: {path}")
    if not found:
        raise ValueError("no image files found in the given paths")
    return found


def hash_reference(
    case: Case,
    path: Path,
    label: str,
    limits: DecodeLimits | None = None,
    profile: VariantProfile = DEFAULT_PROFILE,
) -> list[Reference]:
    """Reference rows for one picture: PDQ of every variant of
    :func:`hashing.variants.reference_hashes` -- the original, its seven other
    orientations when the case has ``dihedral`` on, its border-trimmed inside, other
    sizes, a grid of crops and a fan of small rotations -- and pHash of the original, the
    orientations and the trimmed inside: about 4,400 rows, ~3 s per picture on one core
    (the measured default, see ``bench/results/latest.md``). Raises ImageError or OSError;
    reads the file, keeps nothing of it. A video file (:data:`VIDEO_SUFFIXES`) gives
    :func:`hash_video_reference`'s rows instead."""
    if path.suffix.lower() in VIDEO_SUFFIXES:
        return hash_video_reference(case, path, label)
    limits = limits or DecodeLimits()
    data = path.read_bytes()[: limits.max_bytes + 1]
    picture, _width, _height = decode(data, limits)
    del data
    if not case.dihedral:
        profile = dataclasses.replace(profile, dihedral=False)
    rows: list[Reference] = []
    for v in reference_hashes(picture, profile):
        rows.append(Reference(case.id, label, "pdq", v.pdq.hex, v.quality, v.variant))
        if v.phash is not None:
            rows.append(Reference(case.id, label, "phash", v.phash.hex, v.quality, v.variant))
    return rows


def hash_video_reference(
    case: Case, path: Path, label: str, limits: VideoLimits | None = None
) -> list[Reference]:
    """Reference rows for one video: a ``pdq`` row per distinct sampled frame (vPDQ, one
    a second), its variant ``frame@<seconds>`` (:func:`matcher.video.frame_variant`), so
    the matcher finds the video by vPDQ's rule and its stills like photos. Raises
    VideoError or OSError; the bytes stay in memory (a memfd) and are dropped."""
    limits = limits or VideoLimits()
    with open(path, "rb") as handle:
        data = handle.read(limits.max_bytes + 1)
    return video_reference_rows(case, label, data, limits)


def video_reference_rows(
    case: Case, label: str, data: bytes, limits: VideoLimits | None = None
) -> list[Reference]:
    """:func:`hash_video_reference` for video bytes held in memory."""
    video = hash_video_bytes(data, limits)
    rows: list[Reference] = []
    seen: set[str] = set()
    for frame in video.frames:
        if frame.pdq.hex in seen:
            continue
        seen.add(frame.pdq.hex)
        variant = frame_variant(frame.timestamp)
        rows.append(Reference(case.id, label, "pdq", frame.pdq.hex, frame.quality, variant))
    return rows
