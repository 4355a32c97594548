"""Error pages and expired sessions: HTML pages for 404/422/500 (JSON only when asked),
and a decision posted after the session ended is kept, never recorded unasked."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from review.app import create_app
from tests.review.conftest import Client
from tests.review.fixtures import PASSWORD, Env


def _expire(env: Env, username: str) -> None:
    env.services.review.delete_sessions_of(env.services.review.get_user(username).id)


def test_a_malformed_address_gives_the_html_error_page(login: Callable[[str], Client]) -> None:
    lea = login("lea")
    for url, status in (("/notices/not-a-number", 422), ("/no/such/page", 404)):
        response = lea.get(url)
        assert response.status_code == status, url
        assert response.headers["content-type"].startswith("text/html"), url
        assert "<h1>" in response.text and "Reupload Radar" in response.text
        assert "Content-Security-Policy" in response.headers
    assert "notice_id" in lea.get("/notices/not-a-number").text


def test_json_clients_get_json_errors(login: Callable[[str], Client]) -> None:
    response = login("lea").get("/notices/x", headers={"Accept": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"] == "Check the address"


def test_a_server_error_gives_the_html_error_page(env: Env) -> None:
    app = create_app(env.settings, env.services)

    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("a bug")

    with TestClient(app, raise_server_exceptions=False) as http:
        response = http.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in response.text and "a bug" not in response.text


def test_a_decision_posted_after_the_session_ended_is_offered_again(
    env: Env, login: Callable[[str], Client]
) -> None:
    ana = login("ana")
    hit = env.hits[0]
    assert ana.get(f"/review/hits/{hit.id}").status_code == 200
    _expire(env, "ana")
    response = ana.post(
        f"/review/hits/{hit.id}/decide",
        {"decision": "rejected", "reason_choice": "different picture", "reason": "a street"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next=/review/hits/{hit.id}"
    assert env.services.review.decisions(hit.id) == []
    # Signed in again: the hit's page offers the decision, pre-filled, nothing recorded.
    http = ana.http
    again = http.post(
        "/login",
        data={"username": "ana", "password": PASSWORD, "next": f"/review/hits/{hit.id}"},
        follow_redirects=True,
    )
    assert 'id="resume"' in again.text and "different picture; a street" in again.text
    assert env.services.review.decisions(hit.id) == []
    csrf = re.search(r'id="resume".*?name="csrf" value="([^"]+)"', again.text, re.S)
    assert csrf and csrf[1] != ana.csrf  # the new session's token, not the old one
    # Offered once: a reload shows the normal page.
    assert 'id="resume"' not in http.get(f"/review/hits/{hit.id}").text
    recorded = http.post(
        f"/review/hits/{hit.id}/decide",
        data={
            "csrf": csrf[1],
            "decision": "rejected",
            "reason_choice": "different picture",
            "reason": "a street",
        },
        follow_redirects=False,
    )
    assert recorded.status_code == 303
    [d] = env.services.review.decisions(hit.id)
    assert (d.username, d.decision, d.reason) == ("ana", "rejected", "different picture; a street")


def test_the_kept_decision_is_only_for_that_hit_and_a_forged_one_is_ignored(
    env: Env, login: Callable[[str], Client]
) -> None:
    ana = login("ana")
    _expire(env, "ana")
    ana.post(f"/review/hits/{env.hits[0].id}/decide", {"decision": "confirmed"})
    ana.http.post("/login", data={"username": "ana", "password": PASSWORD})
    assert 'id="resume"' not in ana.get(f"/review/hits/{env.hits[1].id}").text
    ana.http.cookies.set("radar_resume", "forged.value")
    assert 'id="resume"' not in ana.get(f"/review/hits/{env.hits[0].id}").text


def test_another_form_posted_after_the_session_ended_goes_back_after_sign_in(
    env: Env, login: Callable[[str], Client]
) -> None:
    adm = login("adm")
    _expire(env, "adm")
    response = adm.post(
        "/admin/settings",
        {"consensus": "3"},
        headers={"Referer": "http://testserver/admin/settings"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/settings"
    assert "consensus" not in env.services.review.settings()
