"""Every route refuses anonymous users and users without its role; POSTs need the CSRF
token. The route list comes from the app itself, so a new route cannot be forgotten."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from review.app import ROUTERS
from tests.review.conftest import Client
from tests.review.fixtures import USERS, Env

PUBLIC = {("GET", "/login"), ("POST", "/login")}


def routes(env: Env) -> list[tuple[str, str, tuple[str, ...]]]:
    """(method, concrete path, roles) of every route; roles () = any signed-in user."""
    out = []
    for route in (r for router in ROUTERS for r in router.routes):
        if not isinstance(route, APIRoute):
            continue
        roles = [
            getattr(d.call, "roles", None)
            for d in route.dependant.dependencies
            if hasattr(d.call, "roles")
        ]
        path = route.path.format(
            hit_id=env.hits[0].id,
            notice_id=1,
            host="127.0.0.1",
            contact_id=1,
            username="ana",
            case_id="case-a",
        )
        for method in route.methods:
            if (method, route.path) in PUBLIC:
                continue
            assert roles, f"{method} {route.path} declares no role"
            out.append((method, path, roles[0]))
    return out


def test_every_route_declares_roles(env: Env) -> None:
    found = routes(env)
    assert len(found) >= 40
    assert {r for _, _, r in found} == {
        (),
        ("analyst",),
        ("analyst", "admin"),
        ("legal",),
        ("legal", "admin"),
        ("admin",),
    }


def test_anonymous_users_are_refused_everywhere(env: Env, anonymous: TestClient) -> None:
    for method, path, _ in routes(env):
        response = anonymous.request(method, path, follow_redirects=False)
        # a decision is kept for after sign-in (test_errors.py), other posts are refused
        if method == "GET" or path.endswith("/decide"):
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next="), path
        else:
            assert response.status_code == 401, (method, path)


@pytest.mark.parametrize("username", sorted(USERS))
def test_wrong_roles_are_refused_everywhere(
    env: Env, login: Callable[[str], Client], username: str
) -> None:
    client = login(username)
    roles = set(USERS[username])
    checked = 0
    for method, path, needed in routes(env):
        if not needed or roles & set(needed):
            continue
        response = client.http.request(
            method, path, data={"csrf": client.csrf}, follow_redirects=False
        )
        assert response.status_code == 403, (username, method, path, response.status_code)
        checked += 1
    assert checked >= 10


def test_right_roles_get_past_the_gate(env: Env, login: Callable[[str], Client]) -> None:
    """A user holding the role is never refused for the role (other outcomes vary)."""
    for username, roles in USERS.items():
        client = login(username)
        for method, path, needed in routes(env):
            if needed and not set(roles) & set(needed):
                continue
            if method != "GET" or "/image" in path:
                continue
            response = client.get(path)
            assert response.status_code not in (401, 403), (username, path)


def test_posts_without_the_csrf_token_are_refused(env: Env, login: Callable[[str], Client]) -> None:
    client = login("adm")
    response = client.http.post("/admin/settings", data={"consensus": "1"}, follow_redirects=False)
    assert response.status_code == 403
    assert "CSRF" in response.text
    response = client.http.post(
        "/admin/settings", data={"consensus": "1", "csrf": "forged"}, follow_redirects=False
    )
    assert response.status_code == 403
    assert env.services.review.settings().get("consensus") is None


def test_signing_out_ends_the_session(env: Env, login: Callable[[str], Client]) -> None:
    client = login("ana")
    assert client.get("/review").status_code == 200
    assert client.post("/logout").status_code == 303
    response = client.get("/review")
    assert response.status_code == 303 and "/login" in response.headers["location"]


def test_a_tampered_cookie_is_anonymous(env: Env, login: Callable[[str], Client]) -> None:
    client = login("ana")
    cookie = client.http.cookies["radar_session"]
    client.http.cookies.set("radar_session", cookie[:-2] + ("AA" if cookie[-2:] != "AA" else "BB"))
    assert client.get("/review").status_code == 303


def test_disabled_users_lose_their_session(env: Env, login: Callable[[str], Client]) -> None:
    admin = login("adm")
    ana = login("ana")
    assert ana.get("/review").status_code == 200
    response = admin.post("/admin/users/ana", {"roles": "analyst"})  # active unticked
    assert response.status_code == 303
    assert ana.get("/review").status_code == 303
    assert not env.services.review.get_user("ana").active


def test_pages_carry_security_headers(env: Env, login: Callable[[str], Client]) -> None:
    response = login("ana").get("/review")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert not re.search(r"<script>(?!</script>)", response.text)  # no inline script


def test_the_probe_endpoint_answers_anonymously_and_tells_nothing(
    anonymous: TestClient,
) -> None:
    response = anonymous.get("/healthz", follow_redirects=False)
    assert response.status_code == 200 and response.text == "ok\n"
    assert "set-cookie" not in response.headers
