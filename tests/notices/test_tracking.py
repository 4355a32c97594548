"""The notice life cycle with a moving clock: send, re-check, remind, escalate; the
per-host numbers; contacts; the HTTP re-checker and the guarded fetch."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from email.message import EmailMessage
from pathlib import Path

import pytest

from notices.contacts import from_directory, parse_security_txt
from notices.fetch import Fetcher, FetchRefused
from notices.recheck import HttpRechecker
from notices.render import deadline
from notices.send import SendError
from notices.stats import host_stats, percentile
from notices.storage import Contact, SqlNoticeStore
from notices.tracking import NoticeDesk, NoticeError, Policy
from radar.demo.site import DemoServer, DemoSite
from store.evidence import RecheckResult
from tests.notices.samples import NOTIFIER, notice
from wire import Hit


class Clock:
    def __init__(self, now: str = "2026-03-02T09:30:00Z") -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now

    def hours(self, h: float) -> None:
        from review.services import shift

        self.now = shift(self.now, h * 60)


class Mailer:
    sender = "notices@hotline.example"

    def __init__(self, fail: bool = False) -> None:
        self.sent: list[EmailMessage] = []
        self.fail = fail

    def send(self, message: EmailMessage) -> None:
        if self.fail:
            raise SendError("550 mailbox unavailable")
        self.sent.append(message)


class Checker:
    """A fake re-checker: URL -> result, default present."""

    def __init__(self) -> None:
        self.results: dict[str, str] = {}

    def check(self, url: str, expected_sha256: str, case_id: str = "") -> RecheckResult:
        return RecheckResult(url, self.results.get(url, "still_there"), "", http_status=200)


def hits(n: int = 2) -> list[Hit]:
    return [
        Hit(
            "hotline-2026-0042",
            "r1",
            "pdq",
            4,
            f"https://img.tube.example/{i}.jpg",
            "https://tube.example/p",
            "img.tube.example",
            "2026-03-01T00:00:00Z",
            200,
            "ab" * 32,
            status="confirmed",
        )
        for i in range(n)
    ]


@pytest.fixture
def desk(service_db: str) -> tuple[NoticeDesk, Clock]:
    """A notice desk on each service-store backend (SQLite, PostgreSQL)."""
    clock = Clock()
    return NoticeDesk(SqlNoticeStore(service_db), clock), clock


def draft(desk: NoticeDesk, regime: str = "takeitdown") -> int:
    n = desk.draft(
        "img.tube.example", hits(), regime, "abuse@hosting.example", "host", "lea", NOTIFIER
    )
    complete = notice(regime).fields
    desk.update_draft(n.id, "lea", complete, n.recipient, regime)
    return n.id


def test_draft_names_only_confirmed_hits_of_its_host(desk: tuple[NoticeDesk, Clock]) -> None:
    d, _ = desk
    pending = [replace(hits(1)[0], status="pending")]
    with pytest.raises(NoticeError):
        d.draft("img.tube.example", pending, "dsa", "a@b.example", "host", "lea", NOTIFIER)
    with pytest.raises(NoticeError):
        d.draft("other.example", hits(), "dsa", "a@b.example", "host", "lea", NOTIFIER)


def test_an_invalid_notice_cannot_be_sent(desk: tuple[NoticeDesk, Clock]) -> None:
    d, _ = desk
    n = d.draft(
        "img.tube.example", hits(), "dmca", "abuse@hosting.example", "host", "lea", NOTIFIER
    )
    mailer = Mailer()
    with pytest.raises(NoticeError, match="signature"):
        d.send(n.id, "lea", mailer)
    assert mailer.sent == [] and d.store.get_notice(n.id).status == "draft"


def test_take_it_down_clock_runs_from_sending(desk: tuple[NoticeDesk, Clock]) -> None:
    d, clock = desk
    nid = draft(d)
    clock.hours(5)  # drafted at 09:30, sent at 14:30
    sent = d.send(nid, "lea", Mailer())
    assert sent.sent_at == "2026-03-02T14:30:00Z"
    assert deadline(sent) == "2026-03-04T14:30:00Z"
    events = [e.event for e in d.store.events(nid)]
    assert events[-1] == "sent" and "2026-03-04T14:30:00Z" in d.store.events(nid)[-1].detail


def test_a_refused_send_keeps_the_draft(desk: tuple[NoticeDesk, Clock]) -> None:
    d, _ = desk
    nid = draft(d)
    with pytest.raises(NoticeError, match="550"):
        d.send(nid, "lea", Mailer(fail=True))
    assert d.store.get_notice(nid).status == "draft"
    assert d.store.events(nid)[-1].event == "send failed"


def test_recheck_removed_then_reappeared(desk: tuple[NoticeDesk, Clock]) -> None:
    d, clock = desk
    nid = draft(d, "dsa")
    d.send(nid, "lea", Mailer())
    urls = [u.url for u in d.store.get_notice(nid).urls]
    checker = Checker()
    checker.results = {urls[0]: "gone"}
    clock.hours(3)
    summary = d.recheck(checker)
    assert (summary.checked, summary.removed) == (2, 1)
    assert d.store.get_notice(nid).status == "sent"
    checker.results[urls[1]] = "changed"
    clock.hours(3)
    d.recheck(checker)
    n = d.store.get_notice(nid)
    assert n.status == "removed" and n.closed_at == clock.now
    checker.results[urls[0]] = "still_there"
    clock.hours(3)
    assert d.recheck(checker).reappeared == 1
    assert d.store.get_notice(nid).status == "reappeared"
    checker.results[urls[0]] = "error"
    clock.hours(3)
    d.recheck(checker)
    assert d.store.get_notice(nid).status == "reappeared"  # no answer concludes nothing


def test_still_online_after_the_48_hours(desk: tuple[NoticeDesk, Clock]) -> None:
    d, clock = desk
    nid = draft(d)
    d.send(nid, "lea", Mailer())
    clock.hours(47)
    d.recheck(Checker())
    assert d.store.get_notice(nid).status == "sent"
    clock.hours(2)
    d.recheck(Checker())
    assert d.store.get_notice(nid).status == "still-online"


def test_reminder_then_escalation(desk: tuple[NoticeDesk, Clock]) -> None:
    d, clock = desk
    d.store.save_contact(Contact("img.tube.example", "site", "owner@tube.example"))
    nid = draft(d)
    mailer = Mailer()
    d.send(nid, "lea", mailer)
    policy = Policy(recheck_every_hours=6, remind_after_hours=48, max_reminders=1)
    clock.hours(24)
    assert d.run_due(Checker(), mailer, policy).reminders == []
    clock.hours(25)
    summary = d.run_due(Checker(), mailer, policy)
    [reminder] = summary.reminders
    r = d.store.get_notice(reminder)
    assert (r.parent_id, r.level, r.recipient, r.status, r.sequence) == (
        nid,
        "host",
        "abuse@hosting.example",
        "sent",
        2,
    )
    assert "Reminder" in mailer.sent[-1]["Subject"]
    clock.hours(49)
    summary = d.run_due(Checker(), mailer, policy)
    [escalation] = summary.escalations
    e = d.store.get_notice(escalation)
    assert (e.parent_id, e.level, e.recipient, e.status) == (
        reminder,
        "site",
        "owner@tube.example",
        "sent",
    )
    assert "site operator" in mailer.sent[-1].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    clock.hours(49)
    assert d.run_due(Checker(), mailer, policy).escalations == []  # no registrar known


def test_nothing_follows_up_content_that_is_gone(desk: tuple[NoticeDesk, Clock]) -> None:
    d, clock = desk
    nid = draft(d)
    d.send(nid, "lea", Mailer())
    checker = Checker()
    checker.results = {u.url: "gone" for u in d.store.get_notice(nid).urls}
    clock.hours(72)
    summary = d.run_due(checker, Mailer(), Policy())
    assert summary.removed == 2 and summary.reminders == []


def test_host_stats(service_db: str) -> None:
    store = SqlNoticeStore(service_db)
    clock = Clock("2026-03-02T00:00:00Z")
    d = NoticeDesk(store, clock)
    nid = draft(d, "dsa")
    d.send(nid, "lea", Mailer())
    checker = Checker()
    urls = [u.url for u in store.get_notice(nid).urls]
    clock.hours(2)
    checker.results = {urls[0]: "gone"}
    d.recheck(checker)
    clock.hours(10)
    checker.results = {urls[0]: "still_there", urls[1]: "gone"}
    d.recheck(checker)
    stats = host_stats(store.notices())["img.tube.example"]
    assert (stats.notices_sent, stats.urls, stats.removed, stats.reappeared) == (1, 2, 2, 1)
    assert stats.hours_to_removal == [2.0, 12.0]
    assert (stats.median_hours, stats.p90_hours, stats.reappearance_rate) == (2.0, 12.0, 0.5)


def test_percentile_nearest_rank() -> None:
    assert percentile([], 50) is None
    assert percentile([5.0], 90) == 5.0
    values = [float(v) for v in range(1, 11)]
    assert (percentile(values, 50), percentile(values, 90)) == (5.0, 9.0)


def test_security_txt() -> None:
    found = parse_security_txt(
        "-----BEGIN PGP SIGNED MESSAGE-----\n# comment\nContact: mailto:abuse@host.example\n"
        "contact: mailto:security%2Bteam@host.example?subject=x\nContact: https://host.example/r\n"
        "Expires: 2020-01-01T00:00:00Z\n"
    )
    assert found.emails == ("abuse@host.example", "security+team@host.example")
    assert found.other_contacts == ("https://host.example/r",)
    assert found.expires == "2020-01-01T00:00:00Z"


def test_directory_matches_parent_domains() -> None:
    entries = [
        {"match": "tube.example", "email": "abuse@tube.example", "level": "site"},
        {"match": "example.net", "email": "abuse@example.net"},
    ]
    found = from_directory("img.tube.example", entries, "2026-01-01T00:00:00Z")
    assert [(c.email, c.level, c.source) for c in found] == [
        ("abuse@tube.example", "site", "directory")
    ]
    assert from_directory("nottube.example", entries, "x") == []


def test_http_rechecker_and_the_address_guard(kodak: list[Path]) -> None:
    body = kodak[0].read_bytes()
    site = DemoSite(
        {"/a.png": ("image/png", body), "/p": ("text/html", b"<p>gone</p>")}, [], [], {}
    )
    with DemoServer(site) as server:
        guarded = HttpRechecker(Fetcher())
        refused = guarded.check(server.base_url + "/a.png", "")
        assert refused.status == "error" and "loopback" in refused.detail
        checker = HttpRechecker(Fetcher.with_networks(["127.0.0.1/32"]))
        digest = hashlib.sha256(body).hexdigest()
        assert checker.check(server.base_url + "/a.png", digest).status == "still_there"
        assert checker.check(server.base_url + "/a.png", "00" * 32).status == "changed"
        assert checker.check(server.base_url + "/missing.png", digest).status == "gone"
        assert checker.check(server.base_url + "/p", digest).status == "gone"  # soft 404
    with pytest.raises(FetchRefused, match="metadata"):
        Fetcher().get("http://169.254.169.254/latest/meta-data/")
    with pytest.raises(FetchRefused, match="http"):
        Fetcher().get("file:///etc/passwd")
