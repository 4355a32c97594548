"""The life of a notice: draft -> sent -> acknowledged -> removed / still-online /
reappeared, with re-checks of every noticed URL, reminders and escalation.

:class:`NoticeDesk` is the one place that changes notices; the web app, the CLI and the
scheduler call it. Time comes from a clock function so tests can move it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any

from notices.confirmation import Confirmation, phrase
from notices.mailbox import mailbox_problem
from notices.recheck import Rechecker
from notices.regimes import Problem, default_fields, regime
from notices.render import (
    Block,
    as_eml,
    as_pdf,
    as_text,
    deadline,
    document,
    message_id,
    parse_time,
    subject,
)
from notices.send import Mailer, SendError
from notices.storage import (
    CONTACT_LEVELS,
    Notice,
    NoticeEvent,
    NoticeStore,
    NoticeUrl,
)
from store.evidence import RecheckResult
from wire import Hit, utc_now

log = logging.getLogger(__name__)
TRACKED = ("sent", "acknowledged", "still-online", "removed", "reappeared")


@dataclass(frozen=True, slots=True)
class Policy:
    """When to re-check, remind and escalate (hours). ``max_reminders`` reminders at the
    same level, then the next contact level (host -> site -> registrar)."""

    recheck_every_hours: float = 6
    remind_after_hours: float = 48
    max_reminders: int = 1
    escalate: bool = True
    auto_send: bool = True

    @classmethod
    def from_settings(cls, settings: dict[str, Any]) -> Policy:
        base = cls()
        return cls(
            float(settings.get("recheck_every_hours", base.recheck_every_hours)),
            float(settings.get("remind_after_hours", base.remind_after_hours)),
            int(settings.get("max_reminders", base.max_reminders)),
            bool(settings.get("escalate", base.escalate)),
            bool(settings.get("auto_send", base.auto_send)),
        )


@dataclass(slots=True)
class RunSummary:
    checked: int = 0
    removed: int = 0
    reappeared: int = 0
    errors: int = 0
    failures: list[tuple[str, str]] = field(default_factory=list)  # (url, detail) per error
    reminders: list[int] = field(default_factory=list)
    escalations: list[int] = field(default_factory=list)


class NoticeError(Exception):
    """A notice action that is refused (invalid notice, wrong state, send failure)."""


class RecipientError(NoticeError):
    """The recipient given is not exactly one e-mail address (:mod:`notices.mailbox`)."""


def check_recipient(recipient: str) -> str:
    """``recipient`` without outer blanks if it is empty (a draft may choose later) or one
    e-mail address; RecipientError otherwise (a list, a line break, a display name...)."""
    recipient = recipient.strip(" ")
    problem = mailbox_problem(recipient) if recipient else None
    if problem:
        raise RecipientError(f"recipient: {problem}: {recipient[:80]!r}")
    return recipient


def _shift(ts: str, hours: float) -> str:
    return (parse_time(ts) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


class NoticeDesk:
    def __init__(self, store: NoticeStore, clock: Callable[[], str] = utc_now) -> None:
        self.store = store
        self.clock = clock

    # -- drafting -----------------------------------------------------------------------------
    def draft(
        self,
        host: str,
        hits: Sequence[Hit],
        regime_key: str,
        recipient: str,
        level: str,
        username: str,
        notifier: dict[str, str],
        confirmations: Mapping[str, Confirmation] | None = None,
    ) -> Notice:
        """A new draft naming ``hits`` (confirmed hits on ``host``); RecipientError if
        ``recipient`` is neither empty nor one e-mail address. ``confirmations`` (hit id
        -> how the review confirmed it) decide what the wording says about the review;
        a hit without one is not claimed to be reviewed."""
        regime(regime_key)
        recipient = check_recipient(recipient)
        if level not in CONTACT_LEVELS:
            raise NoticeError(f"unknown contact level {level!r}")
        bad = [h.id for h in hits if h.status != "confirmed" or h.site != host]
        if bad or not hits:
            raise NoticeError("a notice names only confirmed hits of its host")
        now = self.clock()
        urls = tuple(
            NoticeUrl(
                h.id,
                h.image_url,
                h.page_url,
                h.case_id,
                h.reference_label,
                h.distance,
                h.content_sha256,
            )
            for h in hits
        )
        known = confirmations or {}
        confirmed = phrase(known.get(h.id, Confirmation()) for h in hits)
        fields = default_fields(regime_key, sorted({h.case_id for h in hits}), notifier, confirmed)
        notice = self.store.create_notice(
            Notice(host, regime_key, level, recipient, fields, username, now, urls)
        )
        self._event(
            notice.id,
            username,
            "drafted",
            f"{len(urls)} URLs, {regime_key}; {confirmed or 'no recorded review decision'}",
        )
        return notice

    def update_draft(
        self, notice_id: int, username: str, fields: dict[str, Any], recipient: str, regime_key: str
    ) -> Notice:
        notice = self.store.get_notice(notice_id)
        if notice.status != "draft":
            raise NoticeError("only a draft can be edited")
        regime(regime_key)
        notice = self.store.update_notice(
            notice_id, fields=fields, recipient=check_recipient(recipient), regime=regime_key
        )
        self._event(notice_id, username, "edited")
        return notice

    def problems(self, notice: Notice) -> list[Problem]:
        out = regime(notice.regime).problems(notice.fields, [u.url for u in notice.urls])
        if not notice.recipient.strip():
            out.append(Problem("recipient", "choose the recipient's e-mail address"))
        elif problem := mailbox_problem(notice.recipient):
            out.append(Problem("recipient", f"the recipient is not one e-mail address: {problem}"))
        return out

    # -- rendering ----------------------------------------------------------------------------
    def parent(self, notice: Notice) -> Notice | None:
        return self.store.get_notice(notice.parent_id) if notice.parent_id else None

    def rechecks(self, notice: Notice, until: str) -> list[RecheckResult]:
        """The last re-check of each URL of the notice made at or before ``until`` (the
        notice's date): what a follow-up may say of the content, also when re-read later."""
        return [r for u in notice.urls for r in self.store.rechecks(u.url, limit=1, until=until)]

    def document(self, notice: Notice, sent_at: str | None = None) -> list[Block]:
        """The notice's document, dated ``sent_at`` or when it was sent (else now)."""
        when = sent_at or notice.sent_at or self.clock()
        return document(notice, when, self.parent(notice), self.rechecks(notice, when))

    def text(self, notice: Notice) -> str:
        """The notice as plain text: the preview, the same words as the PDF and e-mail."""
        return as_text(self.document(notice))

    def pdf(self, notice: Notice) -> bytes:
        """The notice as PDF; a draft's is marked DRAFT on every page (:func:`as_pdf`)."""
        draft = notice.status == "draft"
        return as_pdf(self.document(notice), subject(notice, self.parent(notice)), draft)

    def eml(self, notice: Notice, sender: str) -> bytes:
        """The notice as an e-mail file; RecipientError if its stored recipient is not one
        address (it would not make a valid ``To:`` header)."""
        check_recipient(notice.recipient)
        sent = notice.sent_at or self.clock()
        msg = as_eml(
            notice, sent, sender, self.pdf(notice), self.parent(notice), self.rechecks(notice, sent)
        )
        return msg.as_bytes()

    # -- sending and tracking ------------------------------------------------------------
    def send(self, notice_id: int, username: str, mailer: Mailer) -> Notice:
        """Validate, stamp and send a draft; it stays a draft if the server refuses."""
        notice = self.store.get_notice(notice_id)
        if notice.status != "draft":
            raise NoticeError(f"notice {notice_id} was sent already")
        problems = self.problems(notice)
        if problems:
            raise NoticeError("; ".join(p.message for p in problems))
        now = self.clock()
        stamped = replace(notice, sent_at=now, message_id=notice.message_id or message_id(notice))
        parent, rechecks = self.parent(stamped), self.rechecks(stamped, now)
        pdf = as_pdf(document(stamped, now, parent, rechecks), subject(stamped, parent))
        msg = as_eml(stamped, now, mailer.sender, pdf, parent, rechecks)
        try:
            mailer.send(msg)
        except SendError as exc:
            self._event(notice_id, username, "send failed", str(exc))
            raise NoticeError(str(exc)) from exc
        notice = self.store.update_notice(
            notice_id, status="sent", sent_at=now, message_id=stamped.message_id
        )
        due = deadline(notice)
        self._event(
            notice_id,
            username,
            "sent",
            f"to {notice.recipient}" + (f"; removal due by {due}" if due else ""),
        )
        return notice

    def acknowledge(self, notice_id: int, username: str, note: str = "") -> Notice:
        notice = self.store.get_notice(notice_id)
        if notice.status not in ("sent", "still-online"):
            raise NoticeError("only a sent notice can be acknowledged")
        notice = self.store.update_notice(
            notice_id, status="acknowledged", acknowledged_at=self.clock()
        )
        self._event(notice_id, username, "acknowledged", note)
        return notice

    def recheck(
        self, rechecker: Rechecker, username: str = "scheduler", notice_ids: Sequence[int] = ()
    ) -> RunSummary:
        """Re-check every URL of the tracked notices (or only ``notice_ids``), once per
        URL, and update each notice's state. Blocks for the HTTP requests."""
        summary = RunSummary()
        notices = [
            n for n in self.store.notices(statuses=TRACKED) if not notice_ids or n.id in notice_ids
        ]
        results: dict[str, RecheckResult] = {}
        now = self.clock()
        for notice in notices:
            for u in notice.urls:
                if u.url not in results:
                    got = rechecker.check(u.url, u.content_sha256, u.case_id)
                    if not got.id:  # saved already by a rechecker that saves (the crawler's)
                        got = self.store.add_recheck(replace(got, url=u.url, checked_at=now))
                    results[u.url] = got
                    summary.checked += 1
                    if got.status == "error":
                        summary.errors += 1
                        summary.failures.append((u.url, got.detail))
                change = self._apply(notice, u, results[u.url], now)
                summary.removed += change == "removed"
                summary.reappeared += change == "reappeared"
            self._settle(self.store.get_notice(notice.id), username, now)
        return summary

    def _apply(self, notice: Notice, u: NoticeUrl, check: RecheckResult, now: str) -> str:
        if check.status == "error":
            self.store.set_url_state(notice.id, u.hit_id, last_checked=now)
            return ""
        if check.status in ("gone", "changed"):
            if u.state in ("removed", "changed"):
                self.store.set_url_state(notice.id, u.hit_id, last_checked=now)
                return ""
            self.store.set_url_state(
                notice.id,
                u.hit_id,
                state="removed" if check.status == "gone" else "changed",
                last_checked=now,
                removed_at=u.removed_at or now,
            )
            return "removed"
        if u.state in ("removed", "changed"):
            self.store.set_url_state(
                notice.id, u.hit_id, state="reappeared", last_checked=now, reappeared_at=now
            )
            return "reappeared"
        self.store.set_url_state(notice.id, u.hit_id, last_checked=now)
        return ""

    def _settle(self, notice: Notice, username: str, now: str) -> None:
        states = {u.state for u in notice.urls}
        if "reappeared" in states:
            status = "reappeared"
        elif states <= {"removed", "changed"}:
            status = "removed"
        else:
            due = deadline(notice)
            overdue = due is not None and now >= due
            status = "still-online" if overdue or notice.status == "still-online" else notice.status
            if notice.status == "removed":
                status = "still-online"
        if status != notice.status:
            closed = now if status == "removed" else None
            self.store.update_notice(notice.id, status=status, closed_at=closed)
            self._event(notice.id, username, status, f"after re-check at {now}")

    def follow_up(
        self, notice: Notice, level: str, recipient: str, username: str, reason: str
    ) -> Notice:
        """A new draft for the URLs of ``notice`` still online: a reminder (same level) or
        an escalation (a later level). RecipientError if ``recipient`` is neither empty
        nor one e-mail address."""
        recipient = check_recipient(recipient)
        online = tuple(
            replace(u, notice_id=0) for u in notice.urls if u.state in ("online", "reappeared")
        )
        if not online:
            raise NoticeError("nothing of this notice is online")
        child = self.store.create_notice(
            Notice(
                notice.host,
                notice.regime,
                level,
                recipient,
                dict(notice.fields),
                username,
                self.clock(),
                online,
                parent_id=notice.id,
                sequence=notice.sequence + 1,
            )
        )
        self._event(notice.id, username, reason, f"follow-up notice #{child.id} to {recipient}")
        self._event(child.id, username, "drafted", f"{reason} of notice #{notice.id}")
        return child

    def run_due(self, rechecker: Rechecker, mailer: Mailer | None, policy: Policy) -> RunSummary:
        """The scheduler's round: re-check what is due, then remind or escalate the notices
        whose content is still online after ``remind_after_hours``."""
        now = self.clock()
        due_ids = [
            n.id
            for n in self.store.notices(statuses=TRACKED)
            if all(
                (u.last_checked or n.sent_at or "") <= _shift(now, -policy.recheck_every_hours)
                for u in n.urls
            )
        ]
        summary = self.recheck(rechecker, notice_ids=due_ids) if due_ids else RunSummary()
        children = {n.parent_id for n in self.store.notices() if n.parent_id}
        for notice in self.store.notices(
            statuses=("sent", "acknowledged", "still-online", "reappeared")
        ):
            if notice.id in children or not notice.sent_at:
                continue
            if notice.sent_at > _shift(now, -policy.remind_after_hours):
                continue
            if not any(u.state in ("online", "reappeared") for u in notice.urls):
                continue
            reminders = self._chain_length(notice, same_level=True)
            level, reason = notice.level, "reminder"
            if reminders > policy.max_reminders:
                if not policy.escalate:
                    continue
                later = CONTACT_LEVELS[CONTACT_LEVELS.index(notice.level) + 1 :]
                contact = next(
                    (c for lv in later for c in self.store.contacts(notice.host) if c.level == lv),
                    None,
                )
                if contact is None:
                    continue
                level, reason, recipient = contact.level, "escalation", contact.email
            else:
                recipient = notice.recipient
            try:
                child = self.follow_up(notice, level, recipient, "scheduler", reason)
            except RecipientError as exc:  # a row from before the address rule
                log.warning("no %s of notice %s: %s", reason, notice.id, exc)
                continue
            (summary.escalations if reason == "escalation" else summary.reminders).append(child.id)
            if policy.auto_send and mailer is not None and not self.problems(child):
                try:
                    self.send(child.id, "scheduler", mailer)
                except NoticeError as exc:
                    log.warning("follow-up notice %s not sent: %s", child.id, exc)
        return summary

    def _chain_length(self, notice: Notice, same_level: bool) -> int:
        """How many notices of this chain (this one and its parents) were at its level."""
        n, current = 0, notice
        while True:
            if not same_level or current.level == notice.level:
                n += 1
            if current.parent_id is None:
                return n
            current = self.store.get_notice(current.parent_id)

    def _event(self, notice_id: int, username: str, event: str, detail: str = "") -> None:
        self.store.add_event(NoticeEvent(notice_id, self.clock(), username, event, detail))
