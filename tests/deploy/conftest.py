"""The deployment test's helpers: deploy/play.py loaded as a module (it is a script of
deploy/, like deploy/tools.py), and the image built once per run (deploy/image.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, DEPLOY / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


PLAY = _load("play")


@pytest.fixture(scope="session", autouse=True)
def built_image() -> str:
    """deploy/image.py build: the Debian base, then the image every pod runs."""
    try:
        return str(PLAY.image.build())
    except PLAY.image.ImageError as exc:
        pytest.fail(f"the image did not build: {exc}", pytrace=False)
