"""The local stage: partial matches that global hashes cannot see.

Consumes a decoded candidate picture (RGB or grey array, or Pillow image) and produces
:class:`LocalMatch` records: which reference, how many geometrically verified keypoint
correspondences (inliers), what fraction of the reference's area they span, and where the
reference sits in the candidate. Reference pictures are reduced to ORB keypoints (32-byte
binary descriptors and float16 positions, :mod:`matcher.local.features`); the pixels are
dropped. Descriptors are searched in FAISS with a brute-force twin
(:mod:`matcher.local.index`); votes per reference are verified by RANSAC on a similarity
model (:mod:`matcher.local.bank`). Meant to run only where the global stage found nothing.
"""

from __future__ import annotations

from matcher.local.bank import LocalBank, LocalMatch, LocalParams
from matcher.local.features import Features, extract
from matcher.local.index import BruteDescriptorIndex, DescriptorIndex, FaissDescriptorIndex

__all__ = [
    "BruteDescriptorIndex",
    "DescriptorIndex",
    "FaissDescriptorIndex",
    "Features",
    "LocalBank",
    "LocalMatch",
    "LocalParams",
    "extract",
]
