"""Sign-in, sign-out, the home page and the user's own preferences."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from review.auth import COOKIE, AnyUser, current_session, start_session, verify_password
from review.web import audit, redirect, render, services
from store.base import StoreError

router = APIRouter()


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> Response:
    if current_session(request) is not None:
        return RedirectResponse("/", 303)
    return render(request, None, "login.html", next=next if next.startswith("/") else "/")


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
) -> Response:
    s = services(request)
    origin = request.headers.get("origin")
    if origin and origin.split("://", 1)[-1] != request.headers.get("host"):
        return render(request, None, "login.html", 403, error="Sign-in from another site refused.")
    address = request.client.host if request.client else "-"
    wait = s.throttle.retry_after(s, username, address)
    if wait:
        return _locked(request, wait, next)
    try:
        user = s.review.get_user(username.strip())
    except StoreError:
        user = None
    if user is None or not user.active or not verify_password(user.password_hash, password):
        verify_password("", password) if user is None else None
        s.review.audit(s.now(), username.strip()[:64] or "-", "login failed")
        for key in s.throttle.failed(s, username, address):
            s.review.audit(
                s.now(),
                username.strip()[:64] or "-",
                "login locked",
                key,
                f"{s.throttle.lock_minutes} minutes after too many failed sign-ins",
            )
        return render(
            request, None, "login.html", 401, error="Wrong user name or password.", next=next
        )
    s.throttle.succeeded(s, username)
    cookie, _ = start_session(request, user)
    s.review.audit(s.now(), user.username, "login")
    response = redirect(next if next.startswith("/") and not next.startswith("//") else "/")
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(s.settings.session_hours * 3600),
        httponly=True,
        samesite="strict",
        secure=s.settings.secure_cookies,
        path="/",
    )
    return response


def _locked(request: Request, seconds: int, next: str) -> Response:
    """429 for a locked account or address: nothing is checked, not even the password."""
    minutes = max(1, round(seconds / 60))
    response = render(
        request,
        None,
        "login.html",
        429,
        error=f"Too many failed sign-ins. Try again in {minutes} minute{'s' * (minutes != 1)}.",
        next=next,
    )
    response.headers["Retry-After"] = str(seconds)
    return response


@router.post("/logout")
def logout(request: Request, session: AnyUser) -> Response:
    services(request).review.delete_session(session.token_hash)
    services(request).review.release_all(session.user.username)  # leaving: claims end
    audit(request, session, "logout")
    response = redirect("/login", "Signed out.")
    response.delete_cookie(COOKIE, path="/")
    return response


@router.get("/", response_class=HTMLResponse)
def home(request: Request, session: AnyUser) -> Response:
    user = session.user
    if user.roles == {"analyst"}:
        return RedirectResponse("/review", 303)
    if user.roles == {"legal"}:
        return RedirectResponse("/notices", 303)
    if user.has("admin"):
        return RedirectResponse("/admin/disputes", 303)
    return RedirectResponse("/review" if user.has("analyst") else "/notices", 303)


@router.get("/prefs", response_class=HTMLResponse)
def prefs_page(request: Request, session: AnyUser) -> Response:
    return render(request, session, "prefs.html")


@router.post("/prefs")
def save_prefs(
    request: Request,
    session: AnyUser,
    blur: Annotated[str, Form()] = "strong",
    greyscale: Annotated[str, Form()] = "",
    reveal_colour: Annotated[str, Form()] = "",
) -> Response:
    prefs = {
        "blur": blur if blur in ("strong", "medium", "light") else "strong",
        "greyscale": bool(greyscale),
        "reveal_colour": bool(reveal_colour),
    }
    services(request).review.update_user(session.user.username, prefs=prefs)
    audit(request, session, "preferences changed", detail=str(prefs))
    return redirect("/prefs", "Preferences saved.")
