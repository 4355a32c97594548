"""The compiled PDQ gives pdqhash's bits and quality exactly, at every size and crop."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hashing.pdq import native_available, pdq, pdq_boxes, reference_pdq


def photos(shared_images: Path) -> list[Image.Image]:
    paths = sorted((shared_images / "kodak24").glob("kodim*.png"))[:8]
    paths += sorted((shared_images / "pdq-reference/reg-test-input/labelme-subset").glob("*.jpg"))
    out = []
    for path in paths:
        with Image.open(path) as im:
            out.append(im.convert("RGB"))
    return out


def test_the_extension_is_built() -> None:
    assert native_available(), "hashing._pdq is not built: run pip install -e ."


@pytest.mark.parametrize("size", [None, 512, 333, 100, 64, 37, 5])
def test_same_bits_and_quality_as_pdqhash(shared_images: Path, size: int | None) -> None:
    for picture in photos(shared_images):
        if size is not None:
            picture = picture.resize((size, max(5, size * picture.height // picture.width)))
        assert pdq(picture) == reference_pdq(picture)


def test_meta_reference_hash_of_the_bridge(shared_images: Path) -> None:
    with Image.open(shared_images / "pdq-reference/bridge-mods/aaa-orig.jpg") as im:
        code, quality = pdq(im.convert("RGB"))
    assert code.hex == "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"
    assert quality == 100


def test_boxes_equal_hashing_each_crop(shared_images: Path) -> None:
    picture = photos(shared_images)[0].resize((420, 300))
    rgb = np.asarray(picture)
    boxes = [(0, 0, 300, 420), (10, 20, 290, 400), (0, 0, 64, 64), (100, 100, 104, 300)]
    got = pdq_boxes(picture, boxes)
    assert got == [reference_pdq(rgb[t:b, le:r]) for t, le, b, r in boxes]
    assert got[3][1] == 0 and got[3][0].raw == bytes(32)  # under 5 px: zero hash, quality 0
    assert pdq_boxes(picture, []) == []
    with pytest.raises(ValueError, match="not inside"):
        pdq_boxes(picture, [(0, 0, 301, 10)])


def test_flat_and_bad_input() -> None:
    flat = Image.new("RGB", (64, 48), (120, 120, 120))
    assert pdq(flat) == reference_pdq(flat)
    assert pdq(flat)[1] == 0
    with pytest.raises(ValueError, match="RGB"):
        pdq(np.zeros((4, 4), np.uint8))
