"""Border trimming finds the photo inside painted borders and leaves photos alone."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from hashing import hash_image
from hashing.trim import content_box, trimmed_box


@pytest.fixture(scope="module")
def photo(shared_images: Path) -> Image.Image:
    with Image.open(shared_images / "kodak24/kodim05.png") as im:
        return im.convert("RGB").resize((400, 300))


def framed(
    photo: Image.Image, top: int, left: int, bottom: int, right: int, colour: str
) -> Image.Image:
    out = Image.new("RGB", (photo.width + left + right, photo.height + top + bottom), colour)
    out.paste(photo, (left, top))
    return out


@pytest.mark.parametrize("colour", ["black", "white", "#3b5998"])
def test_letterbox_and_frames_are_peeled_to_the_photo(photo: Image.Image, colour: str) -> None:
    for t, le, b, r in [(40, 0, 40, 0), (0, 30, 0, 30), (25, 25, 25, 25), (0, 0, 60, 0)]:
        picture = framed(photo, t, le, b, r, colour)
        box = content_box(np.asarray(picture))
        assert all(
            abs(got - want) <= 1 for got, want in zip(box, (t, le, t + 300, le + 400), strict=True)
        )


def test_caption_text_does_not_stop_the_bar(photo: Image.Image) -> None:
    picture = framed(photo, 0, 0, 40, 0, "black")
    ImageDraw.Draw(picture).text((60, 310), "saw this on another site", "white", font_size=20)
    assert content_box(np.asarray(picture))[2] in (300, 301)


def test_nested_frame_of_two_colours(photo: Image.Image) -> None:
    inner = framed(photo, 20, 20, 20, 20, "white")
    outer = framed(inner, 30, 0, 0, 0, "#3b5998")
    assert content_box(np.asarray(outer)) == (50, 20, 350, 420)


def test_photos_without_borders_are_left_alone(shared_images: Path) -> None:
    untouched = 0
    for path in sorted((shared_images / "kodak24").glob("kodim*.png")):
        with Image.open(path) as im:
            untouched += trimmed_box(np.asarray(im.convert("RGB"))) is None
    assert untouched >= 18  # a few photos do have flat painted-looking edges (sky, wall)


def test_flat_picture_keeps_a_box_and_hash_image_adds_the_trimmed_pdq(photo: Image.Image) -> None:
    flat = np.full((50, 80, 3), 200, np.uint8)
    top, left, bottom, right = content_box(flat)
    assert bottom > top and right > left
    hashes = hash_image(framed(photo, 40, 0, 40, 0, "black"), 400, 380, "")
    plain = hash_image(photo, 400, 300, "")
    assert hashes.pdq_trimmed is not None and hashes.pdq_trimmed_quality is not None
    assert hashes.pdq_trimmed - plain.pdq <= 8 < hashes.pdq - plain.pdq
    assert plain.pdq_trimmed is None and plain.as_dict()["pdq_trimmed"] is None
