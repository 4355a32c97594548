"""What every benchmark shares: the result record, timing, memory and the benign photos.

A benchmark module exposes ``run(quick: bool, out: Path) -> list[Record]``; :mod:`bench`
collects the records into ``latest.json`` and ``latest.md``. Photos are benign only: the
Kodak set and Meta's PDQ reference photos from ``../shared/images``, plus the sample
photographs that scikit-image ships.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SHARED_IMAGES = Path(
    os.environ.get("RADAR_SHARED_IMAGES", Path(__file__).resolve().parents[2] / "shared" / "images")
)
# scikit-image's bundled photographs (no download): colour and grey real-world pictures.
# Of the stereo motorcycle pair only the left view is used (the right one is its twin,
# not an unrelated photo); "cat" is "chelsea" again.
SKIMAGE_PHOTOS = (
    "astronaut",
    "camera",
    "chelsea",
    "coffee",
    "rocket",
    "stereo_motorcycle",
    "hubble_deep_field",
    "retina",
    "moon",
    "coins",
    "grass",
    "gravel",
    "brick",
    "immunohistochemistry",
)


@dataclass(frozen=True, slots=True)
class Record:
    """One figure: ``ratio`` is ours/anchor (anchor/ours for times, said in ``params``)."""

    bench: str
    metric: str
    ours: float
    anchor: float | None
    anchor_name: str
    ratio: float | None
    params: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile of ``values`` (nan when there are none)."""
    if not values:
        return float("nan")
    return sorted(values)[min(len(values) - 1, max(0, round(q * (len(values) - 1))))]


def record(
    bench: str,
    metric: str,
    ours: float,
    anchor: float | None,
    anchor_name: str,
    lower_is_better: bool = False,
    **params: Any,
) -> Record:
    """A :class:`Record` with the ratio computed (None without an anchor or at zero)."""
    ratio = None
    if anchor is not None:
        num, den = (anchor, ours) if lower_is_better else (ours, anchor)
        ratio = round(num / den, 3) if den else None
        if lower_is_better:
            params["ratio"] = "anchor/ours (lower is better)"
    return Record(
        bench,
        metric,
        _sig(ours),
        None if anchor is None else _sig(anchor),
        anchor_name,
        ratio,
        params,
    )


def _sig(value: float) -> float:
    """Six significant digits: enough for any figure here, short in the JSON."""
    return float(f"{value:.6g}")


def timed(fn: Callable[[], Any], min_seconds: float = 0.0, min_runs: int = 1) -> float:
    """Seconds per call of ``fn``: the best of repeated runs until ``min_seconds`` total."""
    best, total, runs = float("inf"), 0.0, 0
    while runs < min_runs or total < min_seconds:
        start = time.perf_counter()
        fn()
        spent = time.perf_counter() - start
        best, total, runs = min(best, spent), total + spent, runs + 1
    return best


def rss_bytes() -> int:
    """Resident memory of this process now (Linux ``/proc``; 0 elsewhere)."""
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return 0


def photo_paths() -> list[Path]:
    """The benign photos in ``../shared/images``: kodak24 and Meta's labelme subset and
    bridge. Raises FileNotFoundError when the folder is missing (never silently empty)."""
    kodak = sorted((SHARED_IMAGES / "kodak24").glob("kodim*.png"))
    reg = SHARED_IMAGES / "pdq-reference" / "reg-test-input"
    others = [*sorted((reg / "labelme-subset").glob("*.jpg")), reg / "dih/bridge-1-original.jpg"]
    if len(kodak) != 24 or not all(p.is_file() for p in others):
        raise FileNotFoundError(f"benign photos not found under {SHARED_IMAGES}")
    return kodak + others


def load_photos(limit: int | None = None) -> list[tuple[str, Image.Image]]:
    """``(name, RGB picture)`` for every benign photo, the shared ones first, then
    scikit-image's (when installed). ``limit`` keeps the first ones (quick runs)."""
    photos: list[tuple[str, Image.Image]] = []
    for path in photo_paths():
        with Image.open(path) as im:
            photos.append((path.stem, im.convert("RGB")))
    try:
        import skimage.data
    except ImportError:
        pass
    else:
        for name in SKIMAGE_PHOTOS:
            data = getattr(skimage.data, name)()
            array = np.asarray(data[0] if isinstance(data, tuple) else data)
            picture = Image.fromarray(array)
            photos.append((f"skimage-{name}", picture.convert("RGB")))
    return photos[:limit] if limit else photos
