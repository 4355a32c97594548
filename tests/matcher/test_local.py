"""The local stage on a few benign photos: heavy edits found, unrelated pictures not,
the FAISS index agrees with its brute-force twin, references can be added at runtime."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bench.hard_edits import encoded, text_page
from matcher.local import BruteDescriptorIndex, FaissDescriptorIndex, LocalBank

REFS = (3, 6, 14, 22)  # kodim04, kodim07, kodim15, kodim23
OTHERS = (0, 1, 8, 19)  # kodim01, kodim02, kodim09, kodim20: never added


@pytest.fixture(scope="module")
def photos(kodak: list[Path]) -> list[Image.Image]:
    out = []
    for path in kodak:
        with Image.open(path) as im:
            out.append(im.convert("RGB"))
    return out


@pytest.fixture(scope="module")
def bank(photos: list[Image.Image]) -> LocalBank:
    bank = LocalBank(FaissDescriptorIndex())
    for i in REFS:
        bank.add(f"kodim{i + 1:02d}", photos[i])
    return bank


def _found(bank: LocalBank, picture: Image.Image) -> list[str]:
    return [m.label for m in bank.match(encoded(picture))]


def test_crop_of_35_percent_is_found_with_its_box(bank: LocalBank, photos: list) -> None:
    crop = photos[3].crop((100, 60, 425, 385))  # 65 % of each side kept
    matches = bank.match(encoded(crop))
    assert [m.label for m in matches] == ["kodim04"]
    m = matches[0]
    assert not m.mirrored and m.box == (0.0, 0.0, 1.0, 1.0)
    assert 0.38 < m.present < 0.46  # the crop is 42 % of the reference's area
    assert 0.03 < m.coverage <= m.present


def test_rotation_and_mirrored_crop_are_found(bank: LocalBank, photos: list) -> None:
    assert _found(bank, photos[6].rotate(15, resample=Image.Resampling.BILINEAR)) == ["kodim07"]
    mirrored = photos[14].crop((0, 0, 350, 350)).transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    matches = bank.match(encoded(mirrored))
    assert [m.label for m in matches] == ["kodim15"] and matches[0].mirrored


def test_collage_cell_is_found_where_it_sits(bank: LocalBank, photos: list) -> None:
    collage = Image.new("RGB", (1000, 1000), "white")
    for cell, i in enumerate((OTHERS[0], OTHERS[1], 22, OTHERS[2])):
        collage.paste(photos[i], ((cell % 2) * 500, (cell // 2) * 500))
    matches = bank.match(encoded(collage))
    assert [m.label for m in matches] == ["kodim23"]
    left, top, right, bottom = matches[0].box
    assert left < 0.05 and 0.45 < top < 0.55 and 0.45 < right < 0.55 and bottom > 0.95


def test_derivative_with_30_percent_replaced_is_found(bank: LocalBank, photos: list) -> None:
    derivative = photos[3].copy()
    patch = photos[OTHERS[3]].resize((350, 215))  # 30 % of the area, bottom centre
    derivative.paste(patch, (75, 285))
    matches = bank.match(encoded(derivative))
    assert [m.label for m in matches] == ["kodim04"]
    assert matches[0].present > 0.9 and matches[0].coverage < 0.9


def test_unrelated_photos_and_a_text_page_are_not_found(bank: LocalBank, photos: list) -> None:
    for i in OTHERS:
        assert _found(bank, photos[i]) == []
    assert _found(bank, text_page(np.random.default_rng(3))) == []
    assert bank.match(Image.new("RGB", (300, 200), "grey")) == []


def test_reference_added_at_runtime_is_matched_from_then_on(photos: list) -> None:
    bank = LocalBank()
    crop = encoded(photos[9].crop((50, 50, 400, 400)))
    assert bank.match(crop) == []
    bank.add("kodim02", photos[1])
    assert bank.match(crop) == []
    bank.add("kodim10", photos[9])
    assert [m.label for m in bank.match(crop)] == ["kodim10"]
    assert bank.labels == ["kodim02", "kodim10"]


def test_faiss_index_agrees_with_its_brute_force_twin() -> None:
    rng = np.random.default_rng(15)
    stored = rng.integers(0, 256, (700, 32), dtype=np.uint8)
    # Queries near some stored codes (a few bits flipped) and random ones.
    near = stored[rng.integers(0, 700, 40)].copy()
    near[:, 0] ^= rng.integers(0, 256, 40, dtype=np.uint8)
    queries = np.vstack([near, rng.integers(0, 256, (40, 32), dtype=np.uint8)])
    exact, brute = FaissDescriptorIndex(), BruteDescriptorIndex()
    ivf = FaissDescriptorIndex(nlist=8, nprobe=8)
    ivf.train(stored)
    for index in (exact, ivf, brute):
        index.add(stored[:300])
        index.add(stored[300:])  # added in two steps: positions run on
    want = brute.search(queries, 3)
    for index in (exact, ivf):  # the IVF probes all its lists: exact too
        dist, pos = index.search(queries, 3)
        assert (dist == want[0]).all()
        # A tie at the k-th distance may keep either code; above it, positions agree.
        unique = want[0][:, 1] < want[0][:, 2]
        assert (pos[:, :2] == want[1][:, :2])[unique].all()
    dist, pos = BruteDescriptorIndex().search(queries[:2], 2)
    assert (pos == -1).all() and (dist == 257).all()


def test_banks_over_either_twin_give_the_same_matches(photos: list) -> None:
    fast, slow = LocalBank(FaissDescriptorIndex()), LocalBank(BruteDescriptorIndex())
    for b in (fast, slow):
        for i in REFS[:2]:
            b.add(f"kodim{i + 1:02d}", photos[i])
    crop = encoded(photos[6].crop((20, 120, 380, 480)).rotate(-12))
    assert fast.match(crop) == slow.match(crop) != []


def test_an_untrained_inverted_file_refuses_descriptors() -> None:
    with pytest.raises(RuntimeError):
        FaissDescriptorIndex(nlist=4).add(np.zeros((10, 32), np.uint8))
    with pytest.raises(ValueError):
        BruteDescriptorIndex().add(np.zeros((3, 16), np.uint8))
