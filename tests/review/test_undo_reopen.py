"""Mistakes can be mended: an analyst undoes their own last decision within a short
window while the hit is not settled, sees their decisions on one page, and an admin
re-opens a settled hit the analysts got wrong. Every step is in the audit log."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote

from tests.review.conftest import Client
from tests.review.fixtures import Env


class Clock:
    def __init__(self, now: str) -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now


def actions(env: Env, username: str) -> list[str]:
    return [e.action for e in env.services.review.audit_entries(username)]


def test_undo_the_last_decision_within_the_window(env: Env, login: Callable[[str], Client]) -> None:
    clock = Clock("2026-05-01T10:00:00Z")
    env.services.clock = clock
    ana = login("ana")
    hit = env.hits[0]
    ana.get(f"/review/hits/{hit.id}")
    got = ana.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"})
    assert "undo it in My decisions for 5 minutes" in unquote(got.cookies["radar_flash"])
    clock.now = "2026-05-01T10:03:00Z"
    page = ana.get(f"/review/hits/{hit.id}").text
    assert 'id="undo"' in page
    got = ana.post(f"/review/hits/{hit.id}/undo")
    assert got.status_code == 303
    assert env.services.review.decisions(hit.id) == []
    page = ana.get(f"/review/hits/{hit.id}").text
    assert 'id="actions"' in page, "the hit is open to the analyst again"
    assert "undo decision" in actions(env, "ana")
    [entry] = env.services.review.audit_entries("ana", "undo decision")
    assert entry.target == hit.id and "withdrew confirmed" in entry.detail


def test_no_undo_after_the_window_or_of_an_older_decision(
    env: Env, login: Callable[[str], Client]
) -> None:
    clock = Clock("2026-05-01T10:00:00Z")
    env.services.clock = clock
    ana = login("ana")
    first, second = env.hits[0], env.hits[1]
    ana.post(f"/review/hits/{first.id}/decide", {"decision": "confirmed"})
    clock.now = "2026-05-01T10:01:00Z"
    ana.post(f"/review/hits/{second.id}/decide", {"decision": "rejected", "reason": "not it"})
    assert 'id="undo"' not in ana.get(f"/review/hits/{first.id}").text
    ana.post(f"/review/hits/{first.id}/undo")
    assert len(env.services.review.decisions(first.id)) == 1, "only the last decision"
    clock.now = "2026-05-01T10:07:00Z"  # undo_minutes is 5
    ana.post(f"/review/hits/{second.id}/undo")
    assert len(env.services.review.decisions(second.id)) == 1, "the window has closed"
    assert actions(env, "ana").count("undo refused") == 2


def test_no_undo_once_the_hit_is_settled(env: Env, login: Callable[[str], Client]) -> None:
    ana, ben = login("ana"), login("ben")
    hit = env.hits[0]
    ana.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"})
    ben.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"})
    assert env.services.hits.get_hit(hit.id)[0].status == "confirmed"
    assert 'id="undo"' not in ben.get(f"/review/hits/{hit.id}").text
    ben.post(f"/review/hits/{hit.id}/undo")
    assert len(env.services.review.decisions(hit.id)) == 2
    assert env.services.hits.get_hit(hit.id)[0].status == "confirmed"


def test_undoing_the_vote_that_opened_a_dispute_closes_it(
    env: Env, login: Callable[[str], Client]
) -> None:
    ana, ben = login("ana"), login("ben")
    hit = env.hits[0]
    ana.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"})
    ben.post(f"/review/hits/{hit.id}/decide", {"decision": "rejected", "reason": "not it"})
    assert [d.hit_id for d in env.services.review.disputes()] == [hit.id]
    ben.post(f"/review/hits/{hit.id}/undo")
    assert env.services.review.disputes() == []
    assert [d.username for d in env.services.review.decisions(hit.id)] == ["ana"]


def test_my_decisions_lists_mine_only(env: Env, login: Callable[[str], Client]) -> None:
    ana, ben = login("ana"), login("ben")
    first, second = env.hits[0], env.hits[1]
    ana.post(f"/review/hits/{first.id}/decide", {"decision": "confirmed"})
    ana.post(f"/review/hits/{second.id}/decide", {"decision": "rejected", "reason": "nope"})
    ben.post(f"/review/hits/{first.id}/decide", {"decision": "confirmed"})
    page = ana.get("/review/mine")
    assert page.status_code == 200
    assert f"/review/hits/{first.id}" in page.text and f"/review/hits/{second.id}" in page.text
    assert "nope" in page.text
    assert page.text.count('action="/review/hits/') == 1, "only the last one can be undone"
    assert f'id="undo-{second.id[:12]}"' in page.text
    other = ben.get("/review/mine").text
    assert f"/review/hits/{second.id}" not in other
    assert "view my decisions" in actions(env, "ana")
    assert login("lea").get("/review/mine").status_code == 403


def test_an_admin_reopens_a_hit_both_analysts_got_wrong(
    env: Env, login: Callable[[str], Client]
) -> None:
    adm, ana, ben = login("adm"), login("ana"), login("ben")
    hit = env.hits[0]
    for client in (ana, ben):
        client.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"})
    assert env.services.hits.get_hit(hit.id)[0].status == "confirmed"
    assert 'id="reopen"' in adm.get(f"/review/hits/{hit.id}").text
    assert 'id="reopen"' not in ana.get(f"/review/hits/{hit.id}").text
    assert ana.post(f"/admin/hits/{hit.id}/reopen", {"note": "x"}).status_code == 403
    adm.post(f"/admin/hits/{hit.id}/reopen", {"note": ""})
    assert env.services.hits.get_hit(hit.id)[0].status == "confirmed", "a note is required"
    got = adm.post(f"/admin/hits/{hit.id}/reopen", {"note": "a different person, see page"})
    assert got.status_code == 303
    assert env.services.hits.get_hit(hit.id)[0].status == "pending"
    assert env.services.review.decisions(hit.id) == []
    [entry] = env.services.review.audit_entries("adm", "reopen hit")
    assert entry.target == hit.id
    assert "was confirmed" in entry.detail and "ana confirmed" in entry.detail
    assert "ben confirmed" in entry.detail and "a different person" in entry.detail
    # Reviewed afresh: the same analysts may vote again, and a new dispute can open.
    assert 'id="actions"' in ana.get(f"/review/hits/{hit.id}").text
    ana.post(f"/review/hits/{hit.id}/decide", {"decision": "rejected", "reason": "other person"})
    ben.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"})
    assert [d.hit_id for d in env.services.review.disputes()] == [hit.id]
    adm.post(f"/admin/disputes/{hit.id}", {"decision": "rejected", "note": "other person"})
    assert env.services.hits.get_hit(hit.id)[0].status == "rejected"


def test_a_pending_hit_cannot_be_reopened(env: Env, login: Callable[[str], Client]) -> None:
    adm = login("adm")
    hit = env.hits[0]
    adm.post(f"/admin/hits/{hit.id}/reopen", {"note": "why not"})
    assert env.services.review.audit_entries("adm", "reopen hit") == []
