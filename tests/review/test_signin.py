"""Sign-in throttling: failed sign-ins lock an account and an address for a while (HTTP
429 with ``Retry-After``), each lock-out is audited, and the lock holds across workers
because it lives in the review store."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from review.app import create_app
from review.auth import Throttle
from review.services import Services
from tests.review.fixtures import PASSWORD, Env


class Clock:
    def __init__(self, now: str) -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now


@pytest.fixture
def clock(env: Env) -> Clock:
    clock = Clock("2026-05-01T10:00:00Z")
    env.services.clock = clock
    return clock


@pytest.fixture
def client(env: Env, clock: Clock) -> Iterator[TestClient]:
    with TestClient(create_app(env.settings, env.services), client=("192.0.2.10", 5000)) as http:
        yield http


def sign_in(http: TestClient, username: str, password: str) -> int:
    response = http.post(
        "/login", data={"username": username, "password": password}, follow_redirects=False
    )
    if response.status_code == 429:
        assert int(response.headers["retry-after"]) > 0
        assert "Too many failed sign-ins" in response.text
    return response.status_code


def lockouts(env: Env) -> list[str]:
    return [e.target for e in env.services.review.audit_entries(action="login locked")]


def test_wrong_passwords_lock_the_account_until_the_lock_out_ends(
    env: Env, clock: Clock, client: TestClient
) -> None:
    limit = Throttle().account_failures
    codes = [sign_in(client, "ana", "not the password") for _ in range(25)]
    assert codes == [401] * limit + [429] * (25 - limit)
    assert lockouts(env) == ["account ana"]  # one lock-out, one audit entry

    response = client.post(
        "/login", data={"username": "ana", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 429, "the right password is refused during the lock-out"
    assert int(response.headers["retry-after"]) == Throttle().lock_minutes * 60

    clock.now = "2026-05-01T10:14:59Z"
    assert sign_in(client, "ana", PASSWORD) == 429
    clock.now = "2026-05-01T10:15:00Z"  # lock_minutes is 15
    assert sign_in(client, "ana", PASSWORD) == 303
    assert sign_in(client, "ben", PASSWORD) == 303, "other accounts were never locked"


def test_failures_outside_the_window_do_not_add_up(
    env: Env, clock: Clock, client: TestClient
) -> None:
    for minute in range(0, 100, 20):  # five failures, each window holds one
        clock.now = f"2026-05-01T1{minute // 60}:{minute % 60:02}:00Z"
        assert sign_in(client, "ana", "not the password") == 401
    assert sign_in(client, "ana", PASSWORD) == 303
    assert lockouts(env) == []


def test_a_success_clears_the_account_count(env: Env, client: TestClient) -> None:
    env.services.throttle = Throttle(account_failures=3)  # each Argon2 check costs time
    for _ in range(2):
        assert sign_in(client, "ana", "not the password") == 401
        assert sign_in(client, "ana", "not the password") == 401
        assert sign_in(client, "ana", PASSWORD) == 303


def test_many_accounts_tried_from_one_address_lock_the_address(
    env: Env, clock: Clock, client: TestClient
) -> None:
    limit = Throttle().address_failures
    assert Throttle().account_failures < limit < 25
    env.services.throttle = Throttle(address_failures=limit // 2)  # Argon2 checks cost time
    limit //= 2
    codes = [sign_in(client, f"guess{i}", "not the password") for i in range(25)]
    assert codes == [401] * limit + [429] * (25 - limit)
    assert lockouts(env) == ["address 192.0.2.10"]
    assert sign_in(client, "ben", PASSWORD) == 429, "the address is locked for every account"
    with TestClient(
        create_app(env.settings, env.services), client=("192.0.2.99", 5000)
    ) as elsewhere:
        assert sign_in(elsewhere, "ben", PASSWORD) == 303, "another address is not"


def test_the_lock_is_shared_by_workers_through_the_store(env: Env, clock: Clock) -> None:
    """Two app instances (two workers) with their own services but one database."""
    other = Services(env.settings, mailer=env.services.mailer, clock=clock)
    one = TestClient(create_app(env.settings, env.services), client=("192.0.2.10", 1))
    two = TestClient(create_app(env.settings, other), client=("192.0.2.11", 1))
    with one, two:
        for i in range(Throttle().account_failures):
            assert sign_in(one if i % 2 else two, "ana", "not the password") == 401
        assert sign_in(one, "ana", PASSWORD) == 429
        assert sign_in(two, "ana", PASSWORD) == 429
