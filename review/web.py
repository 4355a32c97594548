"""What every page handler shares: templates, the audit call, redirects with a message."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates

from notices.stats import human_hours
from review.auth import Session
from review.services import Services

FLASH = "radar_flash"
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["hours"] = human_hours
templates.env.filters["short"] = lambda ts: (ts or "").replace("T", " ").removesuffix("Z")
templates.env.globals["roles_nav"] = (
    ("analyst", "/review", "Review"),
    ("legal", "/notices", "Notices"),
    ("legal", "/contacts", "Contacts"),
    ("legal admin", "/dashboard", "Dashboard"),
    ("admin", "/admin/disputes", "Disputes"),
    ("admin", "/admin/users", "Users"),
    ("admin", "/admin/cases", "Cases"),
    ("admin", "/admin/settings", "Settings"),
    ("admin", "/admin/audit", "Audit log"),
)


def services(request: Request) -> Services:
    return request.app.state.services


def audit(
    request: Request, session: Session, action: str, target: str = "", detail: str = ""
) -> None:
    """Record who did what, when: every view, decision and export goes through here."""
    s = services(request)
    s.review.audit(s.now(), session.user.username, action, target, detail)


def render(
    request: Request, session: Session | None, template: str, status: int = 200, **context: Any
) -> HTMLResponse:
    flash = request.cookies.get(FLASH)
    s = services(request)
    exposure = None
    if session is not None and session.user.has("analyst"):
        from review.queue import budget

        exposure = budget(s, session.user.username)
    response = templates.TemplateResponse(
        request,
        template,
        {
            "session": session,
            "user": session.user if session else None,
            "csrf": session.csrf if session else "",
            "flash": unquote(flash) if flash else "",
            "exposure": exposure,
            "now": s.now(),
            **context,
        },
        status_code=status,
    )
    response.headers["Cache-Control"] = "no-store"
    if flash:
        response.delete_cookie(FLASH, path="/")
    return response


def redirect(url: str, message: str = "") -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if message:
        response.set_cookie(FLASH, quote(message), max_age=60, httponly=True, samesite="strict")
    return response
