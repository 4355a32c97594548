"""PDQ from decoded pixels: the compiled fast path and its reference twin.

:func:`pdq` gives exactly what ``pdqhash.compute`` (Meta's reference C++) gives for the
same RGB pixels -- the same bits and quality, tested on every benign photo at many sizes
-- in about a third of the time, and :func:`pdq_boxes` hashes many crops of one picture
sharing one luma conversion (reference variants). Without the compiled extension
(``hashing/_pdq.c``) both fall back to ``pdqhash`` with the same results, only slower.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pdqhash
from PIL import Image

from hashing.values import PdqHash

try:
    from hashing import _pdq
except ImportError:  # pragma: no cover - exercised only where the extension is not built
    _pdq = None  # type: ignore[assignment]

Box = tuple[int, int, int, int]  # top, left, bottom, right (pixels, bottom/right exclusive)


def native_available() -> bool:
    """True when the compiled PDQ (``hashing._pdq``) is importable."""
    return _pdq is not None


def _rgb(picture: Image.Image | np.ndarray) -> np.ndarray:
    array = np.asarray(picture.convert("RGB") if isinstance(picture, Image.Image) else picture)
    if array.ndim != 3 or array.shape[2] != 3 or array.dtype != np.uint8:
        raise ValueError(
            f"expected an RGB picture (h, w, 3) uint8, got {array.shape} {array.dtype}"
        )
    return np.ascontiguousarray(array)


def reference_pdq(picture: Image.Image | np.ndarray) -> tuple[PdqHash, int]:
    """PDQ and quality by ``pdqhash.compute`` itself: the slow twin for tests."""
    bits, quality = pdqhash.compute(_rgb(picture))
    return PdqHash(np.packbits(bits.astype(np.uint8)).tobytes()), int(quality)


def pdq(picture: Image.Image | np.ndarray) -> tuple[PdqHash, int]:
    """PDQ hash and quality (0-100) of an RGB picture; pictures under 5 px on a side get
    the all-zero hash and quality 0, as in the reference. Raises ValueError for a
    non-RGB array."""
    rgb = _rgb(picture)
    if _pdq is None:
        return reference_pdq(rgb)
    raw, quality = _pdq.pdq(rgb, rgb.shape[0], rgb.shape[1])
    return PdqHash(raw), quality


def pdq_boxes(picture: Image.Image | np.ndarray, boxes: Sequence[Box]) -> list[tuple[PdqHash, int]]:
    """PDQ and quality of each crop ``picture[top:bottom, left:right]``, exactly as
    :func:`pdq` of the cropped picture. Raises ValueError for a box outside the picture."""
    rgb = _rgb(picture)
    if not boxes:
        return []
    if _pdq is None:
        out = []
        for top, left, bottom, right in boxes:
            if not (0 <= top < bottom <= rgb.shape[0] and 0 <= left < right <= rgb.shape[1]):
                raise ValueError(f"box {(top, left, bottom, right)} is not inside the picture")
            out.append(reference_pdq(rgb[top:bottom, left:right]))
        return out
    raw, qualities = _pdq.pdq_boxes(
        rgb, rgb.shape[0], rgb.shape[1], np.asarray(boxes, dtype=np.int32).tobytes()
    )
    q = np.frombuffer(qualities, dtype=np.int32).tolist()
    return [(PdqHash(raw[32 * i : 32 * i + 32]), q[i]) for i in range(len(boxes))]
