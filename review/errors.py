"""Error answers: the app's HTML error page for 404, 422 and 500 (JSON only for a client
that asks for JSON and not HTML), and what an expired session does to a posted form.

A form posted after the session ended is never acted on: the browser is sent to sign in
again with a message, and then back to where it was. A review decision is not lost
either: it is kept, signed, in a short-lived cookie (:data:`RESUME`) and offered again
on the hit's page after sign-in, pre-filled, for the analyst to record with one click
under their new session and its CSRF token. Nothing is recorded without that click, so
no decision is ever recorded for whoever signs in next on that browser.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.exceptions import HTTPException

from review.auth import LoginRequired, current_session
from review.web import FLASH, render

log = logging.getLogger(__name__)
RESUME = "radar_resume"
RESUME_SECONDS = 30 * 60
_DECIDE = re.compile(r"^/review/hits/([0-9A-Za-z_-]{1,128})/decide$")
TITLES = {
    401: "Sign in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    422: "Check the address",
    500: "Something went wrong",
}


def wants_json(request: Request) -> bool:
    """A client that asks for JSON and not for HTML (an API or script client)."""
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _resume_signer(request: Request) -> URLSafeTimedSerializer:
    secret = request.app.state.services.settings.secret_key
    return URLSafeTimedSerializer(secret, salt="radar-resume")


def pending_decision(request: Request, hit_id: str) -> dict[str, str] | None:
    """The decision posted for ``hit_id`` from this browser when its session had ended,
    if it is younger than :data:`RESUME_SECONDS`; else None."""
    raw = request.cookies.get(RESUME)
    if not raw:
        return None
    try:
        data = _resume_signer(request).loads(raw, max_age=RESUME_SECONDS)
    except BadSignature:
        return None
    if not isinstance(data, dict) or data.get("hit") != hit_id:
        return None
    if data.get("decision") not in ("confirmed", "rejected"):
        return None
    return {k: str(data.get(k, ""))[:2000] for k in ("decision", "reason", "reason_choice")}


def _local_path(url: str) -> str:
    """The path and query of a same-origin Referer, else ``/``."""
    parts = urlsplit(url)
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//"):
        return "/"
    return path + (f"?{parts.query}" if parts.query else "")


def _to_login(target: str, message: str) -> RedirectResponse:
    response = RedirectResponse(f"/login?next={quote(target)}", 303)
    response.set_cookie(FLASH, quote(message), max_age=60, httponly=True, samesite="strict")
    return response


async def login_required(request: Request, exc: Exception) -> Response:
    if request.method in ("GET", "HEAD"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", 303)
    decide = _DECIDE.match(request.url.path)
    if decide and not request.headers.get("X-CSRF-Token"):
        form = await request.form()
        kept: dict[str, Any] = {"hit": decide[1]}
        for key in ("decision", "reason", "reason_choice"):
            value = form.get(key)
            kept[key] = value[:2000] if isinstance(value, str) else ""
        response = _to_login(
            f"/review/hits/{decide[1]}",
            "Your session ended before the decision was recorded. Sign in again: "
            "the decision is kept for you to record.",
        )
        response.set_cookie(
            RESUME,
            _resume_signer(request).dumps(kept),
            max_age=RESUME_SECONDS,
            httponly=True,
            samesite="strict",
            secure=request.app.state.services.settings.secure_cookies,
        )
        return response
    if wants_json(request) or request.headers.get("X-CSRF-Token"):
        return JSONResponse({"error": "sign in first: your session ended"}, 401)
    referer = request.headers.get("referer", "")
    if not referer or urlsplit(referer).netloc != request.url.netloc:
        return _page(request, 401, "Your session ended, so nothing was saved. Sign in again.")
    return _to_login(
        _local_path(referer),
        "Your session ended, so that form was not saved. Sign in again and repeat it.",
    )


def _page(request: Request, status: int, detail: str) -> Response:
    title = TITLES.get(status, "Error")
    if wants_json(request):
        return JSONResponse({"error": title, "detail": detail}, status)
    try:
        session = current_session(request)
    except Exception:  # the store may be what failed: show the page without a user
        session = None
    return render(request, session, "error.html", status, title=title, detail=detail)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    detail = str(exc.detail)
    if exc.status_code == 404 and detail == "Not Found":
        detail = "There is no page at this address."
    response = _page(request, exc.status_code, detail)
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def validation_error(request: Request, exc: Exception) -> Response:
    """A malformed address or form value (``/notices/abc``, ``?offset=x``)."""
    assert isinstance(exc, RequestValidationError)
    where = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("path", "query", "body")]
        where.append(f"{'.'.join(loc) or 'value'}: {err.get('msg', 'invalid')}")
    detail = "This address or form has a value the app cannot use: " + "; ".join(where)
    return _page(request, 422, detail)


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _page(
        request, 500, "The app could not answer this request. It is logged; try again later."
    )


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, server_error)
