"""Dashboard (legal, admin) and administration: users, cases, settings, audit, disputes."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from notices.stats import host_stats
from notices.tracking import Policy
from review import charts, queue
from review.auth import Admin, Overseer, hash_password
from review.queue import ReviewError
from review.settings import form_values, parse_settings_form
from review.storage import ROLES, User
from review.web import audit, redirect, render, services
from store.base import StoreError

router = APIRouter()
# A spreadsheet reads a cell starting with one of these as a formula (OWASP, CSV injection)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``'`` before a formula start.
    User names, targets and details in the audit log can come from anyone (a failed
    sign-in records the name that was typed)."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


# -- dashboard ------------------------------------------------------------------------------
@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: Overseer) -> Response:
    s = services(request)
    stats = host_stats(s.notices.notices())
    hours = [h for st in stats.values() for h in st.hours_to_removal]
    audit(request, session, "view dashboard")
    return render(
        request,
        session,
        "dashboard.html",
        stats=list(stats.values()),
        bars=charts.removal_bars(list(stats.values())),
        histogram=charts.removal_histogram(hours),
        hit_status=s.hits.hit_counts("status"),
        open_disputes=len(s.review.disputes()),
    )


@router.get("/dashboard/hosts/{host}", response_class=HTMLResponse)
def host_page(request: Request, session: Overseer, host: str) -> Response:
    s = services(request)
    notices = s.notices.notices(host)
    stats = host_stats(notices).get(host)
    audit(request, session, "view host", host)
    return render(
        request,
        session,
        "host.html",
        host=host,
        notices=notices,
        st=stats,
        histogram=charts.removal_histogram(stats.hours_to_removal if stats else []),
        contacts=s.notices.contacts(host),
        rechecks={u.url: s.notices.rechecks(u.url, 5) for n in notices for u in n.urls},
    )


@router.post("/dashboard/recheck")
def run_rechecks(request: Request, session: Overseer) -> Response:
    s = services(request)
    summary = s.desk.recheck(s.rechecker, session.user.username)
    audit(request, session, "recheck all", detail=str(summary))
    return redirect(
        "/dashboard",
        f"Re-checked {summary.checked} URLs: {summary.removed} newly gone, "
        f"{summary.reappeared} back online, {summary.errors} without answer.",
    )


# -- disputes ----------------------------------------------------------------------------------
@router.get("/admin/disputes", response_class=HTMLResponse)
def disputes(request: Request, session: Admin) -> Response:
    s = services(request)
    rows = []
    for d in s.review.disputes(open_only=False)[-100:]:
        try:
            hit, _ = s.hits.get_hit(d.hit_id)
        except StoreError:
            continue
        rows.append((d, hit, s.review.decisions(d.hit_id)))
    audit(request, session, "view disputes")
    return render(request, session, "disputes.html", rows=rows[::-1])


@router.post("/admin/disputes/{hit_id}")
def resolve(
    request: Request,
    session: Admin,
    hit_id: str,
    decision: Annotated[str, Form()],
    note: Annotated[str, Form()] = "",
) -> Response:
    try:
        queue.resolve(services(request), session.user.username, hit_id, decision, note)
    except (ReviewError, StoreError) as exc:
        return redirect("/admin/disputes", f"Not resolved: {exc}")
    audit(request, session, f"resolve dispute {decision}", hit_id, note)
    return redirect("/admin/disputes", f"Dispute resolved: {decision}.")


@router.post("/admin/hits/{hit_id}/reopen")
def reopen(
    request: Request,
    session: Admin,
    hit_id: str,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Re-open a settled hit the analysts got wrong: pending again, reviewed afresh. The
    cleared votes and the note go to the audit log."""
    s = services(request)
    try:
        hit, _ = s.hits.get_hit(hit_id)
        votes = queue.reopen(s, session.user.username, hit_id, note)
    except (ReviewError, StoreError) as exc:
        return redirect(f"/review/hits/{hit_id}", f"Not re-opened: {exc}")
    cleared = ", ".join(f"{v.username} {v.decision} {v.at}" for v in votes) or "no votes"
    noticed = [n.id for n in s.notices.notices(hit.site) if any(u.hit_id == hit_id for u in n.urls)]
    detail = f"was {hit.status}; cleared {cleared}; {note.strip()}"
    if noticed:
        detail += f"; named in notice(s) {', '.join(f'#{i}' for i in noticed)}"
    audit(request, session, "reopen hit", hit_id, detail)
    warn = (
        f" It is named in notice(s) {', '.join(f'#{i}' for i in noticed)}: tell legal staff."
        if noticed
        else ""
    )
    return redirect(f"/review/hits/{hit_id}", f"Re-opened: the hit is pending again.{warn}")


# -- users --------------------------------------------------------------------------------------
@router.get("/admin/users", response_class=HTMLResponse)
def users(request: Request, session: Admin) -> Response:
    s = services(request)
    audit(request, session, "view users")
    budgets = {u.username: queue.budget(s, u.username) for u in s.review.list_users()}
    return render(
        request, session, "users.html", users=s.review.list_users(), roles=ROLES, budgets=budgets
    )


@router.post("/admin/users")
async def add_user(request: Request, session: Admin) -> Response:
    form = await request.form()
    s = services(request)
    try:
        user = s.review.add_user(
            User(
                username=str(form.get("username", "")).strip(),
                display_name=str(form.get("display_name", "")).strip(),
                email=str(form.get("email", "")).strip(),
                roles=frozenset(str(r) for r in form.getlist("roles")),
                password_hash=hash_password(str(form.get("password", ""))),
                created_at=s.now(),
            )
        )
    except (ValueError, StoreError) as exc:
        return redirect("/admin/users", f"Not added: {exc}")
    audit(request, session, "add user", user.username, ",".join(sorted(user.roles)))
    return redirect("/admin/users", f"User {user.username} added.")


@router.post("/admin/users/{username}")
async def update_user(request: Request, session: Admin, username: str) -> Response:
    form = await request.form()
    s = services(request)
    changes: dict[str, object] = {"roles": frozenset(str(r) for r in form.getlist("roles"))}
    changes["active"] = form.get("active") == "on"
    budget = str(form.get("exposure_budget", "")).strip()
    changes["exposure_budget"] = int(budget) if budget.isdigit() else None
    password = str(form.get("password", ""))
    try:
        if password:
            changes["password_hash"] = hash_password(password)
        if username == session.user.username and (
            not changes["active"] or "admin" not in changes["roles"]  # type: ignore[operator]
        ):
            raise ValueError("you cannot remove your own admin role or deactivate yourself")
        user = s.review.update_user(username, **changes)
    except (ValueError, StoreError) as exc:
        return redirect("/admin/users", f"Not changed: {exc}")
    if not user.active or password:
        s.review.delete_sessions_of(user.id)
    audit(request, session, "change user", username, ",".join(sorted(user.roles)))
    return redirect("/admin/users", f"User {username} changed.")


# -- cases and settings -----------------------------------------------------------------------
@router.get("/admin/cases", response_class=HTMLResponse)
def cases(request: Request, session: Admin) -> Response:
    s = services(request)
    audit(request, session, "view cases")
    counts = s.hits.hit_counts("case_id")
    refs = {c.id: len({r.label for r in s.cases.references(c.id)}) for c in s.cases.list_cases()}
    return render(
        request,
        session,
        "cases.html",
        cases=s.cases.list_cases(),
        counts=counts,
        refs=refs,
        targets={c.id: s.cases.targets(c.id) for c in s.cases.list_cases()},
        priorities=queue.priorities(s),
    )


@router.post("/admin/cases/{case_id}/priority")
def set_priority(
    request: Request,
    session: Admin,
    case_id: str,
    priority: Annotated[int, Form()],
) -> Response:
    s = services(request)
    try:
        s.cases.get_case(case_id)
    except StoreError:
        raise HTTPException(404, "no such case") from None
    current = dict(queue.settings(s)["case_priorities"])
    current[case_id] = priority
    s.review.set_setting("case_priorities", current)
    audit(request, session, "set case priority", case_id, str(priority))
    return redirect("/admin/cases", f"Queue priority of {case_id} set to {priority}.")


def _settings_form(
    request: Request,
    session: Admin,
    values: dict[str, object],
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        session,
        "settings.html",
        status=422 if errors else 200,
        values=values,
        errors=errors or {},
        smtp=services(request).mailer,
    )


@router.get("/admin/settings", response_class=HTMLResponse)
def settings_page(request: Request, session: Admin) -> Response:
    s = services(request)
    audit(request, session, "view settings")
    stored = queue.settings(s)
    return _settings_form(request, session, form_values({**asdict(Policy()), **stored}))


@router.post("/admin/settings")
async def save_settings(request: Request, session: Admin) -> Response:
    """Every field is checked first; with any error nothing is saved and the form comes
    back (HTTP 422) with all the values typed and the reason next to each bad field."""
    form = await request.form()
    s = services(request)
    current = form_values({**asdict(Policy()), **queue.settings(s)})
    typed, settings, errors = parse_settings_form(form, current)
    if errors:
        audit(request, session, "change settings refused", detail=", ".join(sorted(errors)))
        return _settings_form(request, session, typed, errors)
    for key, value in settings.items():
        s.review.set_setting(key, value)
    detail = " ".join(f"{k} {v}" for k, v in settings.items() if k != "notifier")
    audit(request, session, "change settings", detail=detail)
    return redirect("/admin/settings", "Settings saved.")


# -- audit ---------------------------------------------------------------------------------------
@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    session: Admin,
    username: str = "",
    action: str = "",
    offset: int = 0,
) -> Response:
    s = services(request)
    entries = s.review.audit_entries(username, action, 100, max(0, offset))
    audit(request, session, "view audit log", username, action)
    return render(
        request,
        session,
        "audit.html",
        entries=entries,
        username=username,
        action=action,
        offset=offset,
        users=[u.username for u in s.review.list_users()],
    )


@router.get("/admin/audit.csv")
def audit_csv(request: Request, session: Admin, username: str = "", action: str = "") -> Response:
    s = services(request)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["at", "user", "action", "target", "detail"])
    for e in s.review.audit_entries(username, action, 1_000_000, 0):
        writer.writerow([inert(v) for v in (e.at, e.username, e.action, e.target, e.detail)])
    audit(request, session, "export audit log", username, action)
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="radar-audit.csv"'},
    )
