"""Reference-side variants: the hashes a reference picture is stored under.

PDQ is robust to photometric edits and resizing but not to geometry: a 3 % crop, a 2°
rotation or an added border moves it past the match threshold. The bank is small next to
the crawl, so the cheap place to buy robustness is here: each reference is hashed in its
8 dihedral orientations (mirror, 90/180/270), with its uniform borders trimmed (as every
candidate is, :mod:`hashing.trim`), under a grid of crops and a fan of small rotations.
Which variants, how dense, and what that costs in false matches was chosen by
measurement (``bench/quality.py``; results in ``bench/results/latest.md``).

pHash is computed for the dihedral and trimmed variants only: it is as crop-sensitive as
PDQ and its 64 bits make every extra variant a larger false-match risk.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from hashing.pdq import pdq, pdq_boxes
from hashing.trim import blend_box, trimmed_box
from hashing.values import PdqHash, PHash

# PDQ's eight dihedral orientations, named as Meta's reference code names them.
DIHEDRAL: dict[str, Image.Transpose | None] = {
    "original": None,
    "rotate-90": Image.Transpose.ROTATE_90,
    "rotate-180": Image.Transpose.ROTATE_180,
    "rotate-270": Image.Transpose.ROTATE_270,
    "flip-x": Image.Transpose.FLIP_LEFT_RIGHT,
    "flip-y": Image.Transpose.FLIP_TOP_BOTTOM,
    "flip-plus-1": Image.Transpose.TRANSPOSE,
    "flip-minus-1": Image.Transpose.TRANSVERSE,
}


# Page colours frames and letterboxes usually have.
FRAME_COLOURS = {"white": (255, 255, 255), "black": (0, 0, 0)}


@dataclass(frozen=True, slots=True)
class VariantProfile:
    """Which variants to hash. ``crop_step`` and ``crop_max`` are shares of the width and
    height: every crop whose insets are multiples of ``crop_step`` and add up to at most
    ``crop_max`` per axis (0 switches crops off). ``rotations`` are degrees."""

    dihedral: bool = True
    trimmed: bool = True
    # References are also hashed resized to these long sides (those not within 15 % of
    # their own): a re-upload shown smaller or larger (a screenshot, a thumbnail, an
    # upscale) is hashed at its own size, and PDQ's blur window follows the picture's
    # size (one step per 128 px), which moves textured pictures past the threshold.
    scales: tuple[int, ...] = (256, 384, 512)
    crop_step: float = 0.02
    crop_max: float = 0.2
    rotations: tuple[float, ...] = (-5, -4, -3, -2, -1, 1, 2, 3, 4, 5)

    def crop_insets(self) -> list[tuple[float, float, float, float]]:
        """(top, left, bottom, right) insets of every crop variant, the uncropped excluded."""
        if self.crop_step <= 0 or self.crop_max <= 0:
            return []
        steps = round(self.crop_max / self.crop_step)
        axis = [
            (a * self.crop_step, b * self.crop_step)
            for a in range(steps + 1)
            for b in range(steps + 1 - a)
        ]
        return [
            (top, left, bottom, right)
            for (top, bottom), (left, right) in itertools.product(axis, axis)
            if (top, left, bottom, right) != (0, 0, 0, 0)
        ]


PLAIN = VariantProfile(trimmed=False, scales=(), crop_step=0, rotations=())
DEFAULT_PROFILE = VariantProfile()


@dataclass(frozen=True, slots=True)
class VariantHash:
    """One stored hash of a reference: the variant's name, its PDQ and quality, and its
    pHash where one is kept (dihedral and trimmed variants)."""

    variant: str
    pdq: PdqHash
    quality: int
    phash: PHash | None


def _phash(picture: Image.Image) -> PHash:
    import imagehash

    return PHash(bytes.fromhex(str(imagehash.phash(picture))))


def _pct(x: float) -> str:
    return f"{x * 100:g}"


def reference_hashes(
    picture: Image.Image, profile: VariantProfile = DEFAULT_PROFILE
) -> list[VariantHash]:
    """Every variant hash of one decoded RGB reference picture (the decoder's working
    size, as candidates are hashed), the original first. Pure; keeps nothing."""
    out: list[VariantHash] = []
    for name, op in DIHEDRAL.items():
        if op is not None and not profile.dihedral:
            continue
        turned = picture if op is None else picture.transpose(op)
        code, quality = pdq(turned)
        out.append(VariantHash(name, code, quality, _phash(turned)))
    rgb = np.asarray(picture.convert("RGB"))
    height, width = rgb.shape[:2]
    for long_side in profile.scales:
        scale = long_side / max(width, height)
        if abs(scale - 1) <= 0.15:
            continue
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        method = Image.Resampling.LANCZOS if scale < 1 else Image.Resampling.BICUBIC
        code, quality = pdq(picture.resize(size, method))
        out.append(VariantHash(f"scale-{long_side}", code, quality, None))
    if profile.trimmed:
        box = trimmed_box(rgb)
        if box is not None:
            top, left, bottom, right = box
            inner = picture.crop((left, top, right, bottom))
            code, quality = pdq(inner)
            out.append(VariantHash("trimmed", code, quality, _phash(inner)))
        # Framed on a page of the photo's own edge colour, a candidate loses that edge too.
        for name, colour in FRAME_COLOURS.items():
            box = blend_box(rgb, colour)
            if box != (0, 0, height, width):
                top, left, bottom, right = box
                code, quality = pdq(rgb[top:bottom, left:right])
                out.append(VariantHash(f"trimmed-{name}", code, quality, None))
    insets = profile.crop_insets()
    boxes = [
        (
            round(t * height),
            round(le * width),
            height - round(b * height),
            width - round(r * width),
        )
        for t, le, b, r in insets
    ]
    for (t, le, b, r), (code, quality) in zip(insets, pdq_boxes(rgb, boxes), strict=True):
        name = f"crop-t{_pct(t)}-l{_pct(le)}-b{_pct(b)}-r{_pct(r)}"
        out.append(VariantHash(name, code, quality, None))
    for degrees in profile.rotations:
        turned = picture.rotate(degrees, resample=Image.Resampling.BILINEAR)
        code, quality = pdq(turned)
        out.append(VariantHash(f"rotate{degrees:+g}", code, quality, None))
    return out
