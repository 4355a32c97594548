"""Who claims a hit by opening it: only a user who can still decide it. An analyst who
voted, an admin who cannot vote, or anyone opening a settled hit only looks; a claim
ends when its holder decides, skips, opens another hit, leaves the page or signs out."""

from __future__ import annotations

from collections.abc import Callable

from review import queue
from review.storage import User
from tests.review.conftest import Client
from tests.review.fixtures import Env


class Clock:
    def __init__(self, now: str) -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now


def holder(env: Env, hit_id: str) -> str | None:
    return env.services.review.claim_of(hit_id, env.services.now())


def test_the_analyst_who_voted_does_not_block_the_second(
    env: Env, login: Callable[[str], Client]
) -> None:
    ana, ben = login("ana"), login("ben")
    hit = env.hits[0]
    ana.get(f"/review/hits/{hit.id}")
    assert holder(env, hit.id) == "ana"
    assert ana.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"}).status_code == 303
    assert holder(env, hit.id) is None, "the decision releases the claim"
    page = ana.get(f"/review/hits/{hit.id}")  # looking again after voting
    assert "You decided" in page.text and 'id="actions"' not in page.text
    assert holder(env, hit.id) is None, "opening it after voting claims nothing"
    page = ben.get(f"/review/hits/{hit.id}")
    assert "is reviewing this hit" not in page.text and 'id="actions"' in page.text
    assert holder(env, hit.id) == "ben"
    assert ben.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"}).status_code == 303
    assert env.services.hits.get_hit(hit.id)[0].status == "confirmed"


def test_an_admin_who_cannot_decide_only_looks(env: Env, login: Callable[[str], Client]) -> None:
    adm, ana = login("adm"), login("ana")
    hit = env.hits[1]
    page = adm.get(f"/review/hits/{hit.id}")
    assert page.status_code == 200 and 'id="actions"' not in page.text
    assert holder(env, hit.id) is None
    assert "is reviewing this hit" not in ana.get(f"/review/hits/{hit.id}").text
    assert holder(env, hit.id) == "ana"
    page = adm.get(f"/review/hits/{hit.id}")
    assert "ana is reviewing this hit right now" in page.text  # told, and nothing taken
    assert holder(env, hit.id) == "ana"


def test_a_disputed_or_settled_hit_is_not_claimed(env: Env, login: Callable[[str], Client]) -> None:
    ana, ben = login("ana"), login("ben")
    disputed, settled = env.hits[2], env.hits[3]
    ana.post(f"/review/hits/{disputed.id}/decide", {"decision": "confirmed"})
    ben.post(f"/review/hits/{disputed.id}/decide", {"decision": "rejected", "reason": "not it"})
    for client in (ana, ben):
        client.post(f"/review/hits/{settled.id}/decide", {"decision": "confirmed"})
    cy = env.services.review.add_user(
        User("cy", "Cy", "cy@hotline.example", frozenset({"analyst"}))
    )
    for hit in (disputed, settled):
        current = env.services.hits.get_hit(hit.id)[0]
        assert queue.open_hit(env.services, cy, current) == (False, None)
        assert holder(env, hit.id) is None


def test_opening_another_hit_leaves_the_first(env: Env, login: Callable[[str], Client]) -> None:
    ana = login("ana")
    first, second = env.hits[0], env.hits[1]
    ana.get(f"/review/hits/{first.id}")
    ana.get(f"/review/hits/{second.id}")
    assert (holder(env, first.id), holder(env, second.id)) == (None, "ana")
    ana.get("/review/next")
    assert sum(holder(env, h.id) == "ana" for h in env.hits) == 1


def test_leaving_the_page_releases_only_that_claim(
    env: Env, login: Callable[[str], Client]
) -> None:
    clock = Clock("2026-05-01T10:00:00Z")
    env.services.clock = clock
    ana = login("ana")
    hit = env.hits[0]
    page = ana.get(f"/review/hits/{hit.id}").text
    assert 'data-claimed="2026-05-01T10:00:00Z"' in page
    clock.now = "2026-05-01T10:00:05Z"
    ana.get(f"/review/hits/{hit.id}")  # reloaded: the claim is renewed
    late = ana.post(f"/review/hits/{hit.id}/release", {"claimed_at": "2026-05-01T10:00:00Z"})
    assert late.status_code == 204
    assert holder(env, hit.id) == "ana", "a late release of the old page keeps the new claim"
    ana.post(f"/review/hits/{hit.id}/release", {"claimed_at": "2026-05-01T10:00:05Z"})
    assert holder(env, hit.id) is None
    actions = [e.action for e in env.services.review.audit_entries("ana")]
    assert actions.count("release claim") == 2


def test_signing_out_releases_the_claim(env: Env, login: Callable[[str], Client]) -> None:
    ana = login("ana")
    hit = env.hits[0]
    ana.get(f"/review/hits/{hit.id}")
    ana.post("/logout")
    assert holder(env, hit.id) is None
