"""Reference variants: which are made, and that each family catches its edit."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

import store
from hashing import hash_image
from hashing.variants import DEFAULT_PROFILE, DIHEDRAL, PLAIN, VariantProfile, reference_hashes
from radar.references import hash_reference


@pytest.fixture(scope="module")
def photo(kodak: list[Path]) -> Image.Image:
    with Image.open(kodak[6]) as im:
        return im.convert("RGB")


@pytest.fixture(scope="module")
def variants(photo: Image.Image) -> dict:
    return {v.variant: v for v in reference_hashes(photo)}


def best(variants: dict, picture: Image.Image) -> tuple[int, str]:
    h = hash_image(picture, picture.width, picture.height, "")
    return min((h.pdq - v.pdq, name) for name, v in variants.items())


def test_plain_profile_is_the_old_dihedral_set(photo: Image.Image) -> None:
    got = reference_hashes(photo, PLAIN)
    assert [v.variant for v in got] == list(DIHEDRAL)
    assert all(v.phash is not None for v in got)
    assert got[0].pdq == hash_image(photo, 500, 500, "").pdq  # original = the candidate hash


def test_default_profile_families(variants: dict) -> None:
    names = list(variants)
    assert names[: len(DIHEDRAL)] == list(DIHEDRAL)
    crops = [n for n in names if n.startswith("crop-")]
    assert len(crops) == len(DEFAULT_PROFILE.crop_insets()) > 1000
    assert {f"rotate{d:+g}" for d in DEFAULT_PROFILE.rotations} <= set(names)
    assert {"scale-256", "scale-384"} <= set(names) and "scale-512" not in names  # 500 px
    assert all(variants[n].phash is None for n in crops)


def test_crop_insets_grid() -> None:
    profile = VariantProfile(crop_step=0.1, crop_max=0.2)
    insets = profile.crop_insets()
    assert len(insets) == 6 * 6 - 1 and (0, 0, 0, 0) not in insets
    assert all(t + b <= 0.2 + 1e-9 and le + r <= 0.2 + 1e-9 for t, le, b, r in insets)
    assert VariantProfile(crop_step=0).crop_insets() == []


@pytest.mark.parametrize(
    "edit",
    [
        lambda im: im.crop((20, 35, 480, 470)),  # ~8 % off, uneven
        lambda im: im.crop((60, 0, 500, 440)),  # 12 % off two sides
        lambda im: im.rotate(3, resample=Image.Resampling.BILINEAR),
        lambda im: im.rotate(-4.5, resample=Image.Resampling.BILINEAR),
        lambda im: im.transpose(Image.Transpose.FLIP_LEFT_RIGHT),
        lambda im: im.resize((230, 230), Image.Resampling.LANCZOS),
    ],
    ids=["crop-8", "crop-12", "rotate-3", "rotate-4.5", "mirror", "downscale"],
)
def test_each_family_catches_its_edit(variants: dict, photo: Image.Image, edit) -> None:
    distance, name = best(variants, edit(photo))
    assert distance <= 31, name


def test_unrelated_photos_stay_far(variants: dict, kodak: list[Path]) -> None:
    for path in kodak[10:16]:
        with Image.open(path) as im:
            assert best(variants, im.convert("RGB"))[0] > 31


def test_hash_reference_rows(kodak: list[Path]) -> None:
    case = store.Case("c")
    rows = hash_reference(case, kodak[6], "k07")
    pdq_rows = [r for r in rows if r.algorithm == "pdq"]
    phash_rows = [r for r in rows if r.algorithm == "phash"]
    assert len(pdq_rows) > 1000 and 8 <= len(phash_rows) <= 12
    assert all(r.label == "k07" and r.case_id == "c" for r in rows)
    off = hash_reference(store.Case("d", dihedral=False), kodak[6], "k07")
    assert not {r.variant for r in off} & (set(DIHEDRAL) - {"original"})
