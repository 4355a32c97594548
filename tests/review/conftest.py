"""Fixtures of the review app tests: a seeded environment, signed-in clients and headless
Chromium (Playwright, Debian's /usr/bin/chromium; fails, never skips, without it)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from tests.review.fixtures import PASSWORD, Env, environment

CHROMIUM = os.environ.get("RADAR_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: apt-get install -y chromium "
            "(or set RADAR_CHROMIUM)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def env(tmp_path: Path, kodak: list[Path]) -> Iterator[Env]:
    with environment(tmp_path, kodak) as e:
        yield e


class Client:
    """A TestClient signed in as one user, with that session's CSRF token."""

    def __init__(self, http: TestClient, csrf: str) -> None:
        self.http = http
        self.csrf = csrf

    def get(self, url: str, **kw: object):
        return self.http.get(url, follow_redirects=False, **kw)

    def post(self, url: str, data: dict[str, object] | None = None, **kw: object):
        return self.http.post(
            url,
            data={"csrf": self.csrf, **(data or {})},
            follow_redirects=False,
            **kw,
        )


@pytest.fixture
def login(env: Env) -> Iterator[Callable[[str], Client]]:
    clients: list[TestClient] = []
    app = create_app(env.settings, env.services)

    def make(username: str) -> Client:
        http = TestClient(app, base_url="http://testserver")
        clients.append(http)
        response = http.post(
            "/login", data={"username": username, "password": PASSWORD}, follow_redirects=False
        )
        assert response.status_code == 303, response.text
        page = http.get("/prefs")
        csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert csrf, page.text
        return Client(http, csrf[1])

    yield make
    for c in clients:
        c.close()


@pytest.fixture
def anonymous(env: Env) -> Iterator[TestClient]:
    with TestClient(create_app(env.settings, env.services)) as http:
        yield http
