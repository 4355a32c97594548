"""A page per case: its figures, its hits (linked for those who can open them) and the
notices that name them. Read-only; cases are made with ``radar case``."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response

from notices.render import reference
from notices.storage import Notice
from review import queue
from review.auth import AnyUser
from review.web import audit, render, services
from store.base import StoreError
from store.hitquery import HitQuery

router = APIRouter()
PAGE = 50


@dataclass(frozen=True, slots=True)
class CaseNotice:
    """A notice as the case page lists it: only the URLs of this case count."""

    notice: Notice
    urls: int
    removed: int


def case_notices(notices: list[Notice], case_id: str) -> list[CaseNotice]:
    """The notices naming at least one hit of ``case_id``, newest first, each with how
    many of its URLs belong to the case and how many of those were found removed."""
    out = []
    for n in notices:
        mine = [u for u in n.urls if u.case_id == case_id]
        if mine:
            out.append(CaseNotice(n, len(mine), sum(u.state == "removed" for u in mine)))
    return sorted(out, key=lambda c: (c.notice.created_at, c.notice.id), reverse=True)


@router.get("/review/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, session: AnyUser, case_id: str, offset: int = 0) -> Response:
    s = services(request)
    try:
        case = s.cases.get_case(case_id)
    except StoreError:
        raise HTTPException(404, "no such case") from None
    offset = max(0, offset)
    query = HitQuery(case_ids=(case_id,), priorities=queue.priorities(s), limit=PAGE, offset=offset)
    counts = {
        status: s.hits.count_hits(HitQuery(case_ids=(case_id,), statuses=(status,)))
        for status in ("pending", "confirmed", "rejected")
    }
    hits = s.hits.find_hits(query)
    listed = case_notices(s.notices.notices(), case_id)
    disputed = {d.hit_id for d in s.review.disputes()}
    in_dispute = (
        s.hits.count_hits(HitQuery(case_ids=(case_id,), ids=tuple(sorted(disputed))))
        if disputed
        else 0
    )
    audit(request, session, "view case", case_id)
    return render(
        request,
        session,
        "case.html",
        case=case,
        priority=queue.priorities(s).get(case_id, 0),
        counts=counts,
        total=sum(counts.values()),
        hits=hits,
        order=queue.explain(query),
        offset=offset,
        page=PAGE,
        disputed=disputed,
        in_dispute=in_dispute,
        notices=listed,
        reference=reference,
        sent=sum(1 for c in listed if c.notice.sent_at),
        drafts=sum(1 for c in listed if c.notice.status == "draft"),
        removed_notices=sum(1 for c in listed if c.notice.status == "removed"),
        removed_urls=sum(c.removed for c in listed),
        noticed_urls=sum(c.urls for c in listed if c.notice.sent_at),
        opens_hits=session.user.has("analyst", "admin"),
        opens_notices=session.user.has("legal"),
    )
