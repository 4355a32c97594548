"""ORB keypoints of one picture: positions and 256-bit binary descriptors, nothing else.

A picture is turned grey and resized so its long side is ``side`` pixels (references and
candidates each get their own side, see :class:`matcher.local.LocalParams`); positions are
given in that resized frame together with its size. No patch or pixel is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
from PIL import Image

DESCRIPTOR_BYTES = 32


@dataclass(frozen=True, slots=True)
class Features:
    """``points``: (n, 2) float32 x, y; ``descriptors``: (n, 32) uint8; ``size``: the
    (width, height) of the frame the points are in. ``n`` may be 0 (a flat picture)."""

    points: np.ndarray
    descriptors: np.ndarray
    size: tuple[int, int]

    def __len__(self) -> int:
        return len(self.points)


def grey(picture: Image.Image | np.ndarray) -> np.ndarray:
    """``picture`` as a 2-D uint8 array."""
    array = np.asarray(picture.convert("L") if isinstance(picture, Image.Image) else picture)
    if array.ndim == 3:
        array = cv2.cvtColor(np.ascontiguousarray(array[..., :3]), cv2.COLOR_RGB2GRAY)
    return np.ascontiguousarray(array, dtype=np.uint8)


def resized(image: np.ndarray, side: int) -> np.ndarray:
    """``image`` scaled so its long side is ``side`` (area filter down, cubic up)."""
    height, width = image.shape[:2]
    scale = side / max(width, height)
    if abs(scale - 1) < 0.02:
        return image
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, size, interpolation=method)


def _orb(nfeatures: int) -> Any:
    create = cv2.ORB_create  # type: ignore[attr-defined]
    return create(nfeatures=nfeatures, scaleFactor=1.2, nlevels=8, fastThreshold=10)


def extract(
    picture: Image.Image | np.ndarray, side: int, nfeatures: int, mirror: bool = False
) -> Features:
    """The ORB features of ``picture`` at long side ``side``, at most ``nfeatures`` of
    them (the strongest); of the left-right mirrored picture when ``mirror`` (positions
    then stay in the mirrored frame). Pure; never raises for a flat or tiny picture."""
    image = resized(grey(picture), side)
    if mirror:
        image = np.ascontiguousarray(image[:, ::-1])
    height, width = image.shape[:2]
    keypoints, descriptors = _orb(nfeatures).detectAndCompute(image, None)
    if descriptors is None or not keypoints:
        return Features(
            np.zeros((0, 2), np.float32), np.zeros((0, DESCRIPTOR_BYTES), np.uint8), (width, height)
        )
    points = np.array([k.pt for k in keypoints], dtype=np.float32)
    return Features(points, np.ascontiguousarray(descriptors, dtype=np.uint8), (width, height))
