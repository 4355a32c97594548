"""The review queue, one hit at a time, the image proxy and explicit reveals."""

from __future__ import annotations

import secrets
import threading
import time
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from review import errors, queue
from review.auth import Analyst, Reviewer
from review.metrics import metrics
from review.proxy import FetchPool, busy, show
from review.queue import Filters, ReviewError
from review.web import audit, redirect, render, services
from store.base import StoreError
from store.hitquery import SEARCH_MAX, HitQuery

router = APIRouter()
GRANT_SECONDS = 60


class Grants:
    """One-time permissions to load one revealed image, made by an explicit reveal."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._grants: dict[str, tuple[str, str, float]] = {}

    def make(self, username: str, hit_id: str) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            now = time.monotonic()
            self._grants = {k: v for k, v in self._grants.items() if v[2] > now}
            self._grants[token] = (username, hit_id, now + GRANT_SECONDS)
        return token

    def use(self, token: str, username: str, hit_id: str) -> bool:
        with self._lock:
            grant = self._grants.pop(token, None)
        return grant is not None and grant[:2] == (username, hit_id) and grant[2] > time.monotonic()


def _filters(
    case: str = "",
    site: str = "",
    status: str = "pending",
    q: str = "",
    sort: str = "priority",
    direction: str = "",
) -> Filters:
    """The queue's filters from a request; anything unknown falls back to its default, a
    search is cut to the store's limit."""
    if status not in ("", "pending", "confirmed", "rejected"):
        status = "pending"
    return Filters(
        case.strip(),
        site.strip(),
        status,
        q.strip()[:SEARCH_MAX],
        sort if sort in queue.SORTS else "priority",
        direction if direction in ("asc", "desc") else "",
    )


def _hit(request: Request, hit_id: str):
    try:
        return services(request).hits.get_hit(hit_id)
    except StoreError:
        raise HTTPException(404, "no such hit") from None


@router.get("/review", response_class=HTMLResponse)
def queue_page(
    request: Request,
    session: Analyst,
    case: str = "",
    site: str = "",
    status: str = "pending",
    q: str = "",
    sort: str = "priority",
    direction: Annotated[str, Query(alias="dir")] = "",
    offset: int = 0,
) -> Response:
    s = services(request)
    me = session.user.username
    filters = _filters(case, site, status, q, sort, direction)
    hits = queue.page(s, filters, limit=50, offset=max(0, offset))
    total = s.hits.count_hits(filters.query())
    now = s.now()
    ids = [h.id for h in hits]
    claims = {h.id: s.review.claim_of(h.id, now) for h in hits}
    decisions = {h.id: s.review.decisions(h.id) for h in hits}
    disputed = {d.hit_id for d in s.review.disputes()}
    audit(request, session, "view queue", filters.params())
    return render(
        request,
        session,
        "queue.html",
        hits=hits,
        total=total,
        offset=offset,
        filters=filters,
        order=filters.explain(),
        next_order=queue.explain_next(),
        claims=claims,
        votes={i: len(d) for i, d in decisions.items()},
        my_votes={i: v.decision for i, d in decisions.items() for v in d if v.username == me},
        my_skips=s.review.skips(me, now, ids),
        notes=s.review.note_counts(ids),
        disputed=disputed,
        consensus=queue.settings(s)["consensus"],
        cases=s.cases.list_cases(),
        sites=sorted(s.hits.hit_counts("site")),
        priorities=queue.priorities(s),
        mine=s.review.decision_counts(s.day_start()).get(me, {}),
        available=s.hits.count_hits(
            Filters(filters.case, filters.site).query(exclude_ids=queue.hidden_for(s, me))
        ),
    )


@router.get("/review/next", response_class=HTMLResponse)
def next_item(request: Request, session: Analyst, case: str = "", site: str = "") -> Response:
    s = services(request)
    filters = _filters(case, site)
    hit = queue.next_hit(s, session.user.username, filters)
    if hit is None:
        return render(request, session, "queue_empty.html", filters=filters)
    suffix = f"?{filters.params()}" if filters.params() else ""
    return redirect(f"/review/hits/{hit.id}{suffix}")


@router.get("/review/hits/{hit_id}", response_class=HTMLResponse)
def item(
    request: Request,
    session: Reviewer,
    hit_id: str,
    case: str = "",
    site: str = "",
) -> Response:
    s = services(request)
    hit, version = _hit(request, hit_id)
    opened_at = s.now()
    decidable, holder = queue.open_hit(s, session.user, hit)
    try:
        case_row = s.cases.get_case(hit.case_id)
    except StoreError:
        case_row = None
    decisions = s.review.decisions(hit_id)
    mine = next((d for d in decisions if d.username == session.user.username), None)
    confirmed, pending = queue.duplicates(s, hit)
    dispute = next((d for d in s.review.disputes(open_only=False) if d.hit_id == hit_id), None)
    audit(request, session, "view hit", hit_id, f"{hit.case_id} {hit.site}")
    resume = errors.pending_decision(request, hit_id) if session.user.has("analyst") else None
    response = render(
        request,
        session,
        "item.html",
        hit=hit,
        version=version,
        case=case_row,
        holder=holder,
        decidable=decidable and holder is None,
        claimed_at=opened_at,
        votes=len(decisions),
        decisions=decisions if (session.user.has("admin") or mine) else [],
        mine=mine,
        undoable=mine is not None and queue.may_undo(s, session.user.username, hit),
        undo_minutes=s.settings.undo_minutes,
        consensus=queue.settings(s)["consensus"],
        dup_confirmed=confirmed,
        dup_pending=[h for h in pending if h.id != hit_id] if confirmed else [],
        dispute=dispute,
        reasons=queue.REJECT_REASONS,
        filters=_filters(case, site),
        prefs=session.user.prefs,
        resume=resume,
        notes=s.review.notes(hit_id),
        note_max=queue.NOTE_MAX,
    )
    if resume is not None:  # offered once: a reload shows the normal page
        response.delete_cookie(errors.RESUME, path="/")
    return response


@router.post("/review/hits/{hit_id}/decide")
def decide(
    request: Request,
    session: Analyst,
    hit_id: str,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
    reason_choice: Annotated[str, Form()] = "",
    case: Annotated[str, Form()] = "",
    site: Annotated[str, Form()] = "",
) -> Response:
    s = services(request)
    _hit(request, hit_id)
    text = "; ".join(p for p in (reason_choice.strip(), reason.strip()) if p)
    filters = _filters(case, site)
    try:
        outcome = queue.decide(s, session.user.username, hit_id, decision, text)
    except ReviewError as exc:
        return redirect(f"/review/hits/{hit_id}?{filters.params()}", f"Not recorded: {exc}")
    audit(request, session, f"decision {decision}", hit_id, f"outcome {outcome}; {text}")
    metrics(request).decided(decision, [outcome])
    minutes = f"{s.settings.undo_minutes:g}"
    messages = {
        "pending": "Recorded. Another analyst will review it too. "
        f"You can undo it in My decisions for {minutes} minutes.",
        "confirmed": "Recorded. Consensus reached: confirmed.",
        "rejected": "Recorded. Consensus reached: rejected.",
        "disputed": "Recorded. The analysts disagree: sent to an admin.",
    }
    return redirect(f"/review/next?{filters.params()}", messages[outcome])


@router.post("/review/hits/{hit_id}/undo")
def undo(
    request: Request,
    session: Analyst,
    hit_id: str,
    back: Annotated[str, Form()] = "",
) -> Response:
    """Withdraw one's own last decision, within ``undo_minutes``, while the hit is not
    settled; the hit is then open to this analyst again."""
    s = services(request)
    _hit(request, hit_id)
    target = back if back.startswith("/review") else f"/review/hits/{hit_id}"
    try:
        withdrawn = queue.undo(s, session.user.username, hit_id)
    except ReviewError as exc:
        audit(request, session, "undo refused", hit_id, str(exc))
        return redirect(target, f"Not undone: {exc}")
    audit(
        request,
        session,
        "undo decision",
        hit_id,
        f"withdrew {withdrawn.decision} of {withdrawn.at}; {withdrawn.reason}",
    )
    return redirect(target, f"Your decision ({withdrawn.decision}) is withdrawn.")


@router.get("/review/mine", response_class=HTMLResponse)
def my_decisions(request: Request, session: Analyst, offset: int = 0) -> Response:
    """The analyst's own decisions, newest first, with each hit's state now."""
    s = services(request)
    name = session.user.username
    decisions = s.review.decisions_of(name, limit=200)
    rows = []
    for d in decisions:
        try:
            hit, _ = s.hits.get_hit(d.hit_id)
        except StoreError:
            continue
        rows.append((d, hit, queue.may_undo(s, name, hit)))
    audit(request, session, "view my decisions")
    return render(
        request,
        session,
        "mine.html",
        rows=rows,
        disputed={x.hit_id for x in s.review.disputes()},
        undo_minutes=s.settings.undo_minutes,
    )


@router.post("/review/hits/{hit_id}/release")
def release(
    request: Request,
    session: Analyst,
    hit_id: str,
    claimed_at: Annotated[str, Form()] = "",
) -> Response:
    """The analyst left the hit's page without deciding (the page sends this when it is
    hidden): their claim made at ``claimed_at`` ends, so the next analyst can take it."""
    s = services(request)
    s.review.release(hit_id, session.user.username, claimed_at or None)
    audit(request, session, "release claim", hit_id)
    return Response(status_code=204)


@router.post("/review/hits/{hit_id}/skip")
def skip(
    request: Request,
    session: Analyst,
    hit_id: str,
    case: Annotated[str, Form()] = "",
    site: Annotated[str, Form()] = "",
) -> Response:
    s = services(request)
    s.review.skip(hit_id, session.user.username, s.later(queue.SKIP_MINUTES))
    audit(request, session, "skip", hit_id)
    return redirect(
        f"/review/next?{_filters(case, site).params()}",
        f"Skipped for {queue.SKIP_MINUTES} minutes.",
    )


@router.post("/review/hits/{hit_id}/notes")
def add_note(
    request: Request,
    session: Reviewer,
    hit_id: str,
    text: Annotated[str, Form()] = "",
    case: Annotated[str, Form()] = "",
    site: Annotated[str, Form()] = "",
) -> Response:
    """Keep a note on the hit (anyone who can open it); it goes to the audit log too."""
    s = services(request)
    _hit(request, hit_id)
    params = _filters(case, site).params()
    back = f"/review/hits/{hit_id}" + (f"?{params}" if params else "")
    try:
        note = queue.add_note(s, session.user.username, hit_id, text)
    except ReviewError as exc:
        return redirect(back, f"Note not kept: {exc}")
    audit(request, session, "add note", hit_id, note.text)
    return redirect(back + "#notes", "Note kept.")


@router.post("/review/hits/{hit_id}/bulk")
def bulk(
    request: Request,
    session: Analyst,
    hit_id: str,
    decision: Annotated[str, Form()],
    reason: Annotated[str, Form()] = "",
) -> Response:
    s = services(request)
    hit, _ = _hit(request, hit_id)
    try:
        outcomes = queue.bulk(s, session.user.username, hit, decision, reason)
    except ReviewError as exc:
        return redirect(f"/review/hits/{hit_id}", f"Not recorded: {exc}")
    votes = ",".join(f"{k}:{v}" for k, v in outcomes.items())
    audit(request, session, f"bulk {decision}", hit_id, f"{len(outcomes)} duplicates: {votes}")
    metrics(request).decided(decision, list(outcomes.values()))
    decided = sum(1 for v in outcomes.values() if v == decision)
    waiting = sum(1 for v in outcomes.values() if v == "pending")
    disputed = sum(1 for v in outcomes.values() if v == "disputed")
    return redirect(
        "/review/next",
        f"Your vote ({decision}) is recorded on {len(outcomes)} exact duplicates: "
        f"{decided} {decision}, {waiting} waiting for another analyst, {disputed} disputed.",
    )


@router.post("/review/hits/{hit_id}/reveal")
def reveal(request: Request, session: Reviewer, hit_id: str) -> Response:
    s = services(request)
    _hit(request, hit_id)
    spent, used, limit = queue.reveal(s, session.user.username, hit_id)
    metrics(request).reveals.labels("granted" if spent else "refused").inc()
    if not spent:
        audit(request, session, "reveal refused", hit_id, f"budget {used}/{limit}")
        return JSONResponse(
            {
                "error": f"Daily exposure budget reached ({used} of {limit}). "
                "Take a break; reviewing can go on with blurred images."
            },
            status_code=429,
        )
    audit(request, session, "reveal", hit_id, f"{used}/{limit}")
    token = request.app.state.grants.make(session.user.username, hit_id)
    return JSONResponse(
        {"url": f"/review/hits/{hit_id}/image?grant={token}", "used": used, "budget": limit}
    )


@router.get("/review/hits/{hit_id}/image")
def image(request: Request, session: Reviewer, hit_id: str, grant: str = "") -> Response:
    s = services(request)
    hit, _ = _hit(request, hit_id)
    revealed = bool(grant) and request.app.state.grants.use(grant, session.user.username, hit_id)
    if grant and not revealed:
        raise HTTPException(403, "this reveal was used or expired: reveal again")
    prefs = session.user.prefs
    grey = bool(prefs.get("reveal_colour") is False) if revealed else bool(prefs.get("greyscale"))
    pool: FetchPool = request.app.state.fetch_pool
    with pool.slot() as free:
        if free:
            blur = prefs.get("blur", "strong")
            shown = show(s.fetcher, hit.image_url, hit.content_sha256, revealed, blur, grey)
        else:
            shown = busy()
    pool.count(shown)
    audit(
        request,
        session,
        "view image",
        hit_id,
        f"{'revealed' if revealed else 'blurred'} {shown.state}",
    )
    extra = {"Retry-After": "2"} if shown.http_status == 503 else {}
    return Response(
        shown.body,
        status_code=shown.http_status,
        media_type=shown.content_type,
        headers={
            **extra,
            "Cache-Control": "no-store, private",
            "X-Radar-Live": shown.state,
            "X-Radar-Detail": shown.detail.encode("ascii", "replace").decode()[:200],
            "X-Radar-View": "revealed" if revealed else "blurred",
            "Content-Disposition": "inline",
        },
    )


__all__ = ["Grants", "HitQuery", "router"]
