"""Shared fixtures: the benign test photos and a throw-away SQLite store."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

import store

SHARED_IMAGES = Path(
    os.environ.get(
        "RADAR_SHARED_IMAGES", Path(__file__).resolve().parents[1].parent / "shared" / "images"
    )
)


@pytest.fixture(scope="session")
def shared_images() -> Path:
    """The read-only folder of benign test photos (see its README.md).

    Fails, never skips, when it is missing: a silently skipped hashing suite is worse
    than a red one.
    """
    if not (SHARED_IMAGES / "kodak24").is_dir() or not (SHARED_IMAGES / "pdq-reference").is_dir():
        pytest.fail(
            f"shared test images not found at {SHARED_IMAGES}: expected kodak24/ and "
            "pdq-reference/ there; set RADAR_SHARED_IMAGES to the folder holding them",
            pytrace=False,
        )
    return SHARED_IMAGES


@pytest.fixture(scope="session")
def kodak(shared_images: Path) -> list[Path]:
    """The 24 Kodak photos, kodim01.png .. kodim24.png, in order."""
    paths = sorted((shared_images / "kodak24").glob("kodim*.png"))
    if len(paths) != 24:
        pytest.fail(f"expected 24 kodak photos in {shared_images / 'kodak24'}, found {len(paths)}")
    return paths


@pytest.fixture
def tmp_store(tmp_path: Path) -> Iterator[store.SqliteStore]:
    """An empty SQLite store in a fresh temporary directory."""
    db = store.SqliteStore(tmp_path / "radar.db")
    yield db
    db.close()
