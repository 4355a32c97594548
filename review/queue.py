"""The review queue: which hit an analyst sees next, claims, decisions and consensus.

Works on any :class:`store.HitStore` (SQLite or Elasticsearch): the hit store answers
the ordered query, the review store holds who claimed, decided, skipped or disputed.

- Order: case priority (admin override, else the case's), match distance, age. The
  queue page may sort its table otherwise and search it (:class:`Filters`); the next
  hit to review always follows this order. :func:`explain` and :func:`explain_next`
  say the order in words, derived from the sort keys the store applies.
- A hit is claimed by one analyst at a time, and only by one who can still vote on it
  (not after voting, not by an admin or for a settled or disputed hit); a user holds one
  claim at a time, and it ends with their vote or skip, when they open another hit,
  leave the page or sign out, or after ``claim_minutes``.
- A hit is ``confirmed`` or ``rejected`` once ``consensus`` analysts agree; any
  disagreement opens a dispute for an admin, and the hit leaves the queue until then.
- An analyst may undo their last vote within ``undo_minutes`` while the hit is not
  settled; an admin may re-open a settled hit, which is then reviewed afresh.
- Anyone who can open a hit can keep a short note on it (:func:`add_note`): text
  only, never a picture.
- Exact duplicates (same SHA-256) of a confirmed hit can be voted on in bulk: one vote
  of that analyst on each, under the same consensus rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from notices.confirmation import Confirmation
from review.services import Services
from review.storage import Decision, Note, User
from store.base import StoreError
from store.hitquery import ORDERS, HitQuery, sort_keys
from wire import Hit

DEFAULTS: dict[str, Any] = {
    "consensus": 2,
    "exposure_budget": 20,
    "case_priorities": {},
    "notifier": {},
}
REJECT_REASONS = (
    "not the reference picture",
    "different person",
    "benign crop or thumbnail of unrelated picture",
    "hash collision (flat or textured image)",
    "already removed / not reachable",
)


class ReviewError(Exception):
    """A review action that is refused; the text is shown to the analyst."""


# The queue table's sorts: every order of the hit store (store.hitquery.ORDERS).
SORTS = tuple(ORDERS)
# How each sort key reads in the page's explanation: (ascending, descending).
_PHRASES = {
    "priority": ("case priority (lowest first)", "case priority (highest first)"),
    "first_seen": ("first seen (oldest first)", "first seen (newest first)"),
    "last_seen": ("last seen (oldest first)", "last seen (newest first)"),
    "distance": ("closest match first", "farthest match first"),
    "seen_count": ("times seen (fewest first)", "times seen (most first)"),
    "site": ("site (A to Z)", "site (Z to A)"),
}
SKIP_MINUTES = 60
NOTE_MAX = 1000
# A note holds words: an inline picture (data: URI) or an encoded blob is refused: base64
# or base64url (hex too), unbroken for 256 characters or wrapped in lines of 40 and more
# (MIME wraps at 76), 6 lines or more. Words are shorter than 40 characters.
_B64 = r"[A-Za-z0-9+/=_-]"
_PICTURE = re.compile(
    rf"data:[^,\s]*;base64|{_B64}{{256,}}|(?:{_B64}{{40,}}\s+){{5,}}{_B64}{{40,}}",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Filters:
    """What the queue page shows: the filters, the search and the table's sort
    (``direction`` "asc" or "desc", "" for the sort's usual direction)."""

    case: str = ""
    site: str = ""
    status: str = "pending"
    search: str = ""
    sort: str = "priority"
    direction: str = ""

    def query(self, **kwargs: Any) -> HitQuery:
        return HitQuery(
            case_ids=(self.case,) if self.case else (),
            sites=(self.site,) if self.site else (),
            statuses=(self.status,) if self.status else (),
            search=self.search,
            order=self.sort,
            descending=None if not self.direction else self.direction == "desc",
            **kwargs,
        )

    def params(self, **changes: str) -> str:
        """The filters as a query string (URL-encoded), with ``changes`` applied; values
        at their default are left out."""
        values = {
            "case": self.case,
            "site": self.site,
            "status": self.status,
            "q": self.search,
            "sort": self.sort,
            "dir": self.direction,
            **changes,
        }
        if values["sort"] == "priority":
            values["sort"] = ""
        return urlencode([(k, v) for k, v in values.items() if v])

    def descending(self) -> bool:
        return self.query().is_descending

    def sort_params(self, sort: str) -> str:
        """The query string of the column header ``sort``: the same filters and search,
        sorted by ``sort`` (the other way round if it is the current sort), first page."""
        if sort == self.sort:
            direction = "asc" if self.descending() else "desc"
        else:
            direction = "desc" if ORDERS[sort][0] else "asc"
        return self.params(sort=sort, dir=direction)

    def explain(self) -> str:
        """The table's order in one sentence, from the sort keys the store applies."""
        return explain(self.query())


def explain(query: HitQuery) -> str:
    """``query``'s order in words, e.g. "Sorted by case priority (highest first), then
    closest match first, then first seen (oldest first)." (the id tie-break left out)."""
    parts = [_PHRASES[c][d] for c, d in sort_keys(query) if c != "id"]
    return "Sorted by " + ", then ".join(parts) + "."


def explain_next() -> str:
    """How ``Start reviewing`` picks the next hit (:func:`next_hit`), in one sentence."""
    order = explain(HitQuery()).removeprefix("Sorted by ").rstrip(".")
    return (
        f"Start reviewing takes the first pending hit by {order}, leaving out hits you"
        f" decided, hits you skipped in the last {SKIP_MINUTES} minutes, hits another"
        " analyst is reviewing and disputed hits; it keeps the case and site filters but"
        " not the sort or search."
    )


def settings(services: Services) -> dict[str, Any]:
    return {**DEFAULTS, **services.review.settings()}


def priorities(services: Services) -> dict[str, int]:
    """Case priority: the admin's override, else the case's own priority."""
    base = {c.id: c.priority for c in services.cases.list_cases()}
    return {**base, **{k: int(v) for k, v in settings(services)["case_priorities"].items()}}


def budget(services: Services, username: str) -> tuple[int, int]:
    """(reveals today, daily budget) for a user."""
    return services.review.reveals_since(username, services.day_start()), _limit(services, username)


def _limit(services: Services, username: str) -> int:
    limit = services.review.get_user(username).exposure_budget
    return int(settings(services)["exposure_budget"]) if limit is None else limit


def reveal(services: Services, username: str, hit_id: str) -> tuple[bool, int, int]:
    """Spend one reveal of today's budget, if any is left: (spent, reveals today, daily
    budget). Check and spend are one step in the store, so parallel reveals never
    spend more than the budget."""
    limit = _limit(services, username)
    used = services.review.spend_reveal(
        username, hit_id, services.now(), services.day_start(), limit
    )
    if used is None:
        return False, services.review.reveals_since(username, services.day_start()), limit
    return True, used, limit


def hidden_for(services: Services, username: str) -> tuple[str, ...]:
    """Hits this analyst must not be given: claimed by others, decided or skipped by
    them, or in dispute."""
    review = services.review
    now = services.now()
    ids = review.claimed_by_others(username, now) | review.decided_by(username)
    ids |= review.skipped(username, now)
    ids |= {d.hit_id for d in review.disputes(open_only=True)}
    return tuple(sorted(ids))


def page(services: Services, filters: Filters, limit: int = 50, offset: int = 0) -> list[Hit]:
    return services.hits.find_hits(
        filters.query(priorities=priorities(services), limit=limit, offset=offset)
    )


def next_hit(services: Services, username: str, filters: Filters) -> Hit | None:
    """Claim and return the first pending hit this analyst may review, or None."""
    query = Filters(filters.case, filters.site).query(
        priorities=priorities(services), exclude_ids=hidden_for(services, username), limit=20
    )
    for hit in services.hits.find_hits(query):
        if services.review.claim(
            hit.id, username, services.now(), services.later(services.settings.claim_minutes)
        ):
            return hit
    return None


def may_decide(services: Services, user: User, hit: Hit) -> bool:
    """Whether ``user`` can still cast a vote on ``hit``: an analyst, the hit pending and
    not in dispute, and no vote of theirs on it yet. Only such a user claims the hit."""
    if not user.has("analyst") or hit.status != "pending":
        return False
    if any(d.username == user.username for d in services.review.decisions(hit.id)):
        return False
    return not any(d.hit_id == hit.id for d in services.review.disputes(open_only=True))


def claim(services: Services, username: str, hit_id: str) -> str | None:
    """Claim a hit for deciding; return who else holds it, or None if it is ours now.
    Callers claim only for a user who :func:`may_decide`; a user holds one claim at a
    time, so opening another hit releases the previous one."""
    ok = services.review.claim(
        hit_id, username, services.now(), services.later(services.settings.claim_minutes)
    )
    return None if ok else services.review.claim_of(hit_id, services.now())


def open_hit(services: Services, user: User, hit: Hit) -> tuple[bool, str | None]:
    """A user opens ``hit``: (whether they may decide it, who else holds it). The hit is
    claimed only for a user who may decide it; anyone else (an analyst who voted, an
    admin, a settled or disputed hit) only looks, and their other claims are released."""
    if may_decide(services, user, hit):
        return True, claim(services, user.username, hit.id)
    services.review.release_all(user.username)
    holder = services.review.claim_of(hit.id, services.now())
    return False, holder if holder != user.username else None


def decide(services: Services, username: str, hit_id: str, decision: str, reason: str) -> str:
    """Record one analyst's decision and apply consensus; return the hit's outcome:
    ``pending`` (more votes needed), ``confirmed``, ``rejected`` or ``disputed``."""
    if decision not in ("confirmed", "rejected"):
        raise ReviewError(f"unknown decision {decision!r}")
    reason = reason.strip()
    if decision == "rejected" and not reason:
        raise ReviewError("a reason is required to reject")
    hit, _ = services.hits.get_hit(hit_id)
    if hit.status != "pending":
        raise ReviewError(f"this hit was already {hit.status}")
    holder = services.review.claim_of(hit_id, services.now())
    if holder not in (None, username):
        raise ReviewError(f"{holder} is reviewing this hit right now")
    try:
        services.review.record_decision(
            Decision(hit_id, username, decision, reason, services.now())
        )
    except StoreError as exc:
        raise ReviewError(str(exc)) from None
    return _consensus(services, hit_id, decision)


def _consensus(services: Services, hit_id: str, decision: str) -> str:
    """Apply consensus after a vote for ``decision``: the hit's outcome."""
    votes = [d.decision for d in services.review.decisions(hit_id)]
    needed = int(settings(services)["consensus"])
    if len(set(votes)) > 1:
        services.review.open_dispute(hit_id, services.now())
        return "disputed"
    if len(votes) >= needed:
        set_status(services, hit_id, decision)
        return decision
    return "pending"


def set_status(services: Services, hit_id: str, status: str) -> None:
    """Set a hit's review status, re-reading its version once if a sighting raced us."""
    for attempt in range(3):
        try:
            services.hits.set_hit_status(hit_id, status, services.hits.hit_version(hit_id))
            return
        except StoreError:
            if attempt == 2:
                raise


def duplicates(services: Services, hit: Hit) -> tuple[Hit | None, list[Hit]]:
    """A confirmed hit with the same bytes as ``hit`` (or ``hit`` itself if confirmed),
    and the pending exact duplicates of it."""
    same = services.hits.find_hits(
        HitQuery(content_sha256=hit.content_sha256, limit=500, order="newest")
    )
    confirmed = next((h for h in same if h.status == "confirmed"), None)
    pending = [h for h in same if h.status == "pending"]
    return confirmed, pending


def bulk(services: Services, username: str, hit: Hit, decision: str, reason: str) -> dict[str, str]:
    """Vote ``decision`` on every pending exact duplicate of a confirmed hit, as if the
    analyst decided each one: consensus applies to each, so one analyst alone decides
    nothing when more votes are needed. Duplicates this analyst voted on already, or
    that another analyst holds right now, are left alone. Returns hit id -> outcome
    (``pending``, ``confirmed``, ``rejected`` or ``disputed``) of each vote cast."""
    confirmed, pending = duplicates(services, hit)
    if confirmed is None:
        raise ReviewError("bulk decisions need a confirmed hit with the same bytes")
    if decision == "rejected" and not reason.strip():
        raise ReviewError("a reason is required to reject")
    note = reason.strip() or f"exact duplicate (same SHA-256) of confirmed hit {confirmed.id}"
    voted = services.review.decided_by(username)
    outcomes = {}
    for dup in pending:
        if dup.id in voted:
            continue
        try:
            outcomes[dup.id] = decide(services, username, dup.id, decision, note)
        except ReviewError:
            continue  # held by another analyst, or decided meanwhile: their turn
        services.review.release(dup.id, username)
    return outcomes


def confirmation(services: Services, hit_id: str) -> Confirmation:
    """How the review confirmed ``hit_id``, from the recorded decisions and disputes: an
    admin's resolution of a dispute if that settled it, else the analysts who voted to
    confirm (as many as the consensus setting asked for when they voted)."""
    settled = [
        d
        for d in services.review.disputes(open_only=False)
        if d.hit_id == hit_id and d.resolution == "confirmed"
    ]
    if settled:
        return Confirmation(by_admin="dispute")
    votes = [d for d in services.review.decisions(hit_id) if d.decision == "confirmed"]
    return Confirmation(analysts=len(votes))


def may_undo(services: Services, username: str, hit: Hit) -> bool:
    """Whether ``username`` may still withdraw their vote on ``hit``: it is their latest
    decision, made within ``undo_minutes``, and the hit is not settled."""
    if hit.status != "pending":
        return False
    mine = services.review.decisions_of(username, limit=1)
    since = services.later(-services.settings.undo_minutes)
    return (
        bool(mine)
        and mine[0].at >= since
        and any(
            d.username == username and d.at == mine[0].at for d in services.review.decisions(hit.id)
        )
    )


def undo(services: Services, username: str, hit_id: str) -> Decision:
    """Withdraw ``username``'s last decision, on ``hit_id``, within ``undo_minutes`` and
    while the hit is not settled (a dispute it opened closes if the votes left agree).
    ReviewError otherwise. Returns the withdrawn decision."""
    hit, _ = services.hits.get_hit(hit_id)
    if hit.status != "pending":
        raise ReviewError(f"this hit was {hit.status} already: ask an admin to re-open it")
    since = services.later(-services.settings.undo_minutes)
    withdrawn = services.review.withdraw_decision(hit_id, username, since)
    if withdrawn is None:
        minutes = f"{services.settings.undo_minutes:g}"
        raise ReviewError(f"only your last decision can be undone, within {minutes} minutes")
    return withdrawn


def reopen(services: Services, username: str, hit_id: str, note: str) -> list[Decision]:
    """An admin re-opens a settled hit the analysts got wrong: back to ``pending``, its
    votes and dispute cleared for a fresh review (returned for the audit log)."""
    if not note.strip():
        raise ReviewError("say why (the note is kept in the audit log)")
    hit, _ = services.hits.get_hit(hit_id)
    if hit.status == "pending":
        raise ReviewError("this hit is pending: nothing to re-open")
    votes, _ = services.review.reopen(hit_id)
    set_status(services, hit_id, "pending")
    return votes


def resolve(services: Services, username: str, hit_id: str, decision: str, note: str) -> None:
    """An admin settles a dispute."""
    if not note.strip():
        raise ReviewError("say why (the note is kept in the audit log)")
    services.review.resolve_dispute(hit_id, username, decision, note.strip(), services.now())
    set_status(services, hit_id, decision)


def add_note(services: Services, username: str, hit_id: str, text: str) -> Note:
    """Keep a note of ``username`` on ``hit_id``: at most ``NOTE_MAX`` characters of
    text, never a picture (a ``data:`` URI or a long encoded blob is refused). ReviewError
    when it is empty, too long or holds a picture; the stored note otherwise."""
    text = text.replace("\r\n", "\n").strip()
    if not text:
        raise ReviewError("write something first")
    if len(text) > NOTE_MAX:
        raise ReviewError(f"a note is at most {NOTE_MAX} characters ({len(text)} given)")
    if _PICTURE.search(text):
        raise ReviewError("a note holds words, not pictures: remove the encoded image")
    services.hits.get_hit(hit_id)  # StoreError for an unknown hit
    return services.review.add_note(Note(hit_id, username, text, services.now()))
