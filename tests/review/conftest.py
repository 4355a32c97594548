"""Fixtures of the review app tests: a seeded environment and signed-in clients."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from tests.review.fixtures import PASSWORD, Env, environment


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
