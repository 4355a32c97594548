"""Two replicas of the review app on one service store, as the deployment runs them
(PostgreSQL there; one SQLite file on one node works the same): a session, a claim, a
vote and the exposure budget made on one replica hold on the other."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from review.services import Services
from tests.review.fixtures import PASSWORD, Env, environment, live_app
from tests.review.test_exposure import at_once


@pytest.fixture
def env(tmp_path: Path, kodak: list[Path], service_db: str) -> Iterator[Env]:
    with environment(tmp_path, kodak, db=service_db) as e:
        yield e


@pytest.fixture
def replicas(env: Env) -> Iterator[tuple[str, str]]:
    other = Services(env.settings, mailer=env.services.mailer)  # its own stores and caches
    with live_app(env) as first, live_app(env, other) as second:
        yield first, second


def signed_in(base: str, username: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    answer = client.post("/login", data={"username": username, "password": PASSWORD})
    assert answer.status_code == 303, answer.text
    return client


def csrf_of(client: httpx.Client) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get("/prefs").text)
    assert found
    return found[1]


def test_a_session_and_a_claim_made_on_one_replica_hold_on_the_other(
    env: Env, replicas: tuple[str, str]
) -> None:
    first, second = replicas
    ana = signed_in(first, "ana")
    on_second = httpx.Client(base_url=second, timeout=30, cookies=ana.cookies)
    assert on_second.get("/review").status_code == 200, "the session lives in the store"
    opened = ana.get("/review/next")
    assert opened.status_code == 303
    claimed = opened.headers["location"].split("?")[0]
    ben = signed_in(second, "ben")
    offered = ben.get("/review/next").headers["location"].split("?")[0]
    assert offered.startswith("/review/hits/") and offered != claimed, "ana's claim is seen"
    page = ben.get(claimed)
    assert "ana is reviewing" in page.text


def test_votes_on_two_replicas_reach_consensus(env: Env, replicas: tuple[str, str]) -> None:
    first, second = replicas
    hit = env.hits[1]
    for base, user in ((first, "ana"), (second, "ben")):
        client = signed_in(base, user)
        token = csrf_of(client)
        client.get(f"/review/hits/{hit.id}")  # opens (claims) it, as an analyst does
        answer = client.post(
            f"/review/hits/{hit.id}/decide",
            data={"csrf": token, "decision": "confirmed", "reason": "same photo"},
        )
        assert answer.status_code == 303, answer.text
    assert env.services.hits.get_hit(hit.id)[0].status == "confirmed"
    assert {d.username for d in env.services.review.decisions(hit.id)} == {"ana", "ben"}


def test_parallel_reveals_on_two_replicas_spend_the_budget_once(
    env: Env, replicas: tuple[str, str]
) -> None:
    budget, parallel = 2, 12
    env.services.review.update_user("ana", exposure_budget=budget)
    first_login = signed_in(replicas[0], "ana")
    token = csrf_of(first_login)
    clients = [
        httpx.Client(
            base_url=replicas[n % 2],
            timeout=30,
            cookies=first_login.cookies,
            headers={"X-CSRF-Token": token},
        )
        for n in range(parallel)
    ]
    hit = env.hits[0]
    answers = at_once([lambda c=c: c.post(f"/review/hits/{hit.id}/reveal") for c in clients])
    assert sorted(a.status_code for a in answers) == [200] * budget + [429] * (parallel - budget)
    assert env.services.review.reveals_since("ana", env.services.day_start()) == budget
