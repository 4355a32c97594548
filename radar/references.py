"""Reference banks from files: hashing a victim's photos locally, and importing the hash
lists hotlines exchange (CSV or JSON). Only hashes, qualities and labels come out."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hashing import DecodeLimits, parse_hash
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


def _entry(case_id: str, data: dict[str, Any], where: str, n: int) -> list[Reference]:
    label = str(data.get("label") or f"imported-{n}").strip()
    quality_raw = data.get("quality")
    try:
        quality = None if quality_raw in (None, "") else int(quality_raw)
    except (TypeError, ValueError, OverflowError):  # OverflowError: 1e400 is a float inf
        raise ValueError(f"{where}: quality {quality_raw!r} is not a whole number") from None
    if quality is not None and not 0 <= quality <= 100:
        raise ValueError(f"{where}: quality {quality} is not 0..100")
    variant = str(data.get("variant") or "original")
    rows = []
    algorithm = data.get("algorithm")
    plain = data.get("hash")
    pairs = [(str(algorithm or "pdq"), plain)] if plain else []
    pairs += [(name, data[name]) for name in ("pdq", "phash") if data.get(name)]
    if not pairs:
        raise ValueError(f"{where}: no hash (expected a 'pdq', 'phash' or 'hash' value)")
    for name, value in pairs:
        try:
            hex_value = parse_hash(name, str(value)).hex
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        rows.append(Reference(case_id, label, name, hex_value, quality, variant, "import"))
    return rows


def parse_hash_list(case_id: str, text: str, fmt: str = "auto") -> list[Reference]:
    """Parse an exchanged hash list. Formats:

    * CSV with a header naming some of ``pdq``, ``phash``, ``hash`` (+ ``algorithm``),
      ``label``, ``quality``, ``variant`` (our own export reads back);
    * header-less CSV / plain text: ``PDQ_HEX[,label[,quality]]`` per line, ``#`` comments;
    * JSON: a list of hex strings or of objects with those keys, or ``{"references": [...]}``.

    All or nothing: raises ValueError naming the first bad line or entry.
    """
    stripped = text.lstrip()
    if fmt == "auto":
        fmt = "json" if stripped[:1] in ("[", "{") else "csv"
    rows: list[Reference] = []
    if fmt == "json":
        try:
            data = json.loads(text)
        except RecursionError:
            raise ValueError("not valid JSON: nested too deeply") from None
        except ValueError as exc:  # JSONDecodeError, and an integer over the digit limit
            raise ValueError(f"not valid JSON: {str(exc)[:200]}") from None
        if isinstance(data, dict):
            data = data.get("references", data.get("hashes"))
        if not isinstance(data, list):
            raise ValueError("JSON hash list must be a list or have a 'references' list")
        for n, entry in enumerate(data, 1):
            item = {"hash": entry} if isinstance(entry, str) else entry
            if not isinstance(item, dict):
                raise ValueError(f"entry {n}: expected a hex string or an object")
            rows += _entry(case_id, item, f"entry {n}", n)
    elif fmt == "csv":
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not lines:
            raise ValueError("hash list is empty")
        first = [c.strip().lower() for c in next(csv.reader([lines[0]]))]
        header = first if {"pdq", "phash", "hash"} & set(first) else None
        reader = csv.reader(io.StringIO("\n".join(lines[1:] if header else lines)))
        for n, cells in enumerate(reader, 2 if header else 1):
            cells = [c.strip() for c in cells]
            keys = header or ["hash", "label", "quality"]
            if len(cells) > len(keys):
                raise ValueError(f"line {n}: {len(cells)} columns, expected at most {len(keys)}")
            rows += _entry(case_id, dict(zip(keys, cells, strict=False)), f"line {n}", n)
    else:
        raise ValueError(f"unknown hash list format {fmt!r} (use csv or json)")
    if not rows:
        raise ValueError("hash list is empty")
    return rows
