"""Issue 12 row 8: a hostile ``security.txt`` or form field never picks extra notice
recipients or breaks the ``To:`` header: every recipient is exactly one address."""

from __future__ import annotations

import pytest

from notices.contacts import from_directory, load_directory, parse_security_txt
from notices.mailbox import check_mailbox, mailbox_problem
from notices.storage import Contact, SqlNoticeStore
from notices.tracking import NoticeDesk, NoticeError, Policy, RecipientError
from tests.notices.samples import NOTIFIER
from tests.notices.test_tracking import Checker, Clock, Mailer, draft, hits

NOT_ONE_ADDRESS = [
    "a@evil.example,leak@third.example",
    "a@evil.example;leak@third.example",
    "a@evil.example leak@third.example",
    "Name <a@evil.example>",
    "a@evil.example\r\nBcc: leak@third.example",
    "a@evil.example\n",
    "a@evil.example\x00",
    "a@evil.example\x7f",
    "a@b@evil.example",
    '"a,b"@evil.example',
    "a@[127.0.0.1]",
    "a@evil",
    "a@",
    "@evil.example",
    "",
    "   ",
    "ü@evil.example",
    "a@-evil.example",
    "a@evil.example.",
    "a..b@evil.example",
    "x" * 250 + "@evil.example",
]


@pytest.mark.parametrize("value", NOT_ONE_ADDRESS)
def test_the_address_rule_refuses(value: str) -> None:
    assert mailbox_problem(value)
    with pytest.raises(ValueError):
        check_mailbox(value)
    with pytest.raises(ValueError):
        Contact("host.example", "host", value)


@pytest.mark.parametrize(
    "value", ["abuse@host.example", "security+team@host.example", "a.b-c_d@mail.host.example"]
)
def test_the_address_rule_accepts(value: str) -> None:
    assert mailbox_problem(value) is None and check_mailbox(f" {value} ") == value


def test_security_txt_lists_and_line_breaks_are_ignored_and_counted() -> None:
    found = parse_security_txt(
        "Contact: mailto:a@evil.example,leak@third.example\n"
        "Contact: mailto:a@evil.example%2Cleak@third.example\n"
        "Contact: mailto:a@evil.example%0D%0ABcc:%20leak@third.example\n"
        "Contact: mailto:Name%20%3Ca@evil.example%3E\n"
        "Contact: mailto:abuse@host.example?cc=leak@third.example\n"
    )
    assert found.emails == ("abuse@host.example",)
    assert len(found.refused) == 4


def test_the_provider_directory_refuses_a_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "dir.json"
    path.write_text('[{"match": "h.example", "email": "a@x.example,b@y.example"}]')
    with pytest.raises(ValueError, match="one e-mail address"):
        load_directory(path)
    good = [{"match": "h.example", "email": "abuse@h.example"}]
    assert [c.email for c in from_directory("img.h.example", good, "now")] == ["abuse@h.example"]


@pytest.fixture
def desk() -> NoticeDesk:
    return NoticeDesk(SqlNoticeStore(":memory:"), Clock())


@pytest.mark.parametrize("bad", ["a@evil.example,leak@third.example", "a@x.example\r\nBcc: b@y"])
def test_the_desk_refuses_a_recipient_that_is_not_one_address(desk: NoticeDesk, bad: str) -> None:
    with pytest.raises(RecipientError):
        desk.draft("img.tube.example", hits(), "dsa", bad, "host", "lea", NOTIFIER)
    nid = draft(desk)
    with pytest.raises(RecipientError):
        desk.update_draft(nid, "lea", desk.store.get_notice(nid).fields, bad, "takeitdown")
    assert desk.store.get_notice(nid).recipient == "abuse@hosting.example"
    with pytest.raises(RecipientError):
        desk.follow_up(desk.store.get_notice(nid), "host", bad, "lea", "reminder")


def test_a_stored_bad_recipient_is_refused_at_send_and_eml_not_crashed(desk: NoticeDesk) -> None:
    nid = draft(desk)
    # As a row written before the rule would be.
    desk.store.update_notice(nid, recipient="a@x.example\r\nBcc: leak@third.example")
    notice = desk.store.get_notice(nid)
    assert any(p.field == "recipient" for p in desk.problems(notice))
    mailer = Mailer()
    with pytest.raises(NoticeError, match="not one e-mail address"):
        desk.send(nid, "lea", mailer)
    assert mailer.sent == []
    with pytest.raises(RecipientError):
        desk.eml(notice, mailer.sender)


def test_one_recipient_reaches_the_envelope(desk: NoticeDesk) -> None:
    nid = draft(desk)
    mailer = Mailer()
    desk.send(nid, "lea", mailer)
    (msg,) = mailer.sent
    assert msg.get_all("To") == ["abuse@hosting.example"] and msg.get_all("Cc") is None


def test_a_stored_bad_contact_is_never_offered_or_escalated_to(desk: NoticeDesk) -> None:
    store = desk.store
    assert isinstance(store, SqlNoticeStore)
    store.save_contact(Contact("img.tube.example", "host", "abuse@hosting.example"))
    with store._tx() as db:  # a row from before the rule
        db.execute(
            "INSERT INTO notice_contacts (host,level,email,name,source,note,updated_at) "
            "VALUES ('img.tube.example','site','a@evil.example,leak@third.example','',"
            "'security.txt','','')"
        )
    assert [c.email for c in store.contacts("img.tube.example")] == ["abuse@hosting.example"]
    nid = draft(desk)
    desk.send(nid, "lea", Mailer())
    clock = desk.clock
    assert isinstance(clock, Clock)
    summary = None
    for _ in range(4):  # reminders, then an escalation would go to the bad row
        clock.hours(100)
        summary = desk.run_due(Checker(), None, Policy(max_reminders=1, escalate=True))
    assert summary is not None and summary.escalations == []
    for n in store.notices():
        assert mailbox_problem(n.recipient) is None, n.recipient


def test_an_old_notice_with_a_bad_recipient_gets_no_reminder(desk: NoticeDesk) -> None:
    nid = draft(desk)
    desk.send(nid, "lea", Mailer())
    desk.store.update_notice(nid, recipient="a@x.example,b@y.example")
    clock = desk.clock
    assert isinstance(clock, Clock)
    clock.hours(100)
    summary = desk.run_due(Checker(), None, Policy())
    assert summary.reminders == []
    assert desk.store.get_notice(nid).recipient == "a@x.example,b@y.example"
