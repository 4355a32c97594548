"""A notice says only what happened: who confirmed the hits, whether a re-check found the
content still online (and when), Art. 16(2)(c) only when it applies, reminders and
escalations titled as such and naming the notice they follow. Each test reads the
rendered text, and the PDF and ``.eml`` where the words could differ."""

from __future__ import annotations

import email
from email.message import EmailMessage

import pytest

from notices.confirmation import Confirmation, phrase
from notices.render import as_text, document, subject
from notices.storage import Contact, SqlNoticeStore
from notices.tracking import NoticeDesk
from store.evidence import RecheckResult
from tests.notices.samples import NOTIFIER, notice
from tests.notices.test_golden import pdf_text
from tests.notices.test_tracking import Checker, Clock, Mailer, hits


@pytest.fixture
def desk(tmp_path) -> tuple[NoticeDesk, Clock]:
    clock = Clock()
    return NoticeDesk(SqlNoticeStore(tmp_path / "radar.db"), clock), clock


def body(msg: EmailMessage) -> str:
    return " ".join(msg.get_body(("plain",)).get_content().split())  # type: ignore[union-attr]


def flat(text: str) -> str:
    return " ".join(text.split())


def test_the_phrase_counts_what_was_recorded() -> None:
    assert phrase([Confirmation(1)] * 3) == "confirmed by a trained analyst"
    assert phrase([Confirmation(2)]) == "confirmed by two trained analysts"
    assert phrase([Confirmation(3)]) == "confirmed by three trained analysts"
    admin = phrase([Confirmation(1, by_admin="dispute")])
    assert admin == (
        "confirmed by an administrator of our hotline who settled a disagreement between analysts"
    )
    mixed = phrase([Confirmation(2), Confirmation(2), Confirmation(by_admin="dispute")])
    assert mixed.startswith("confirmed in our review: 2 by two trained analysts, 1 by an admin")
    assert phrase([Confirmation()]) == ""  # nothing recorded: no claim at all


@pytest.mark.parametrize("regime", ["dsa", "takeitdown", "dmca"])
def test_the_draft_says_how_many_analysts_confirmed(
    desk: tuple[NoticeDesk, Clock], regime: str
) -> None:
    d, _ = desk
    found = hits()
    one = {h.id: Confirmation(1) for h in found}
    n = d.draft("img.tube.example", found, regime, "a@b.example", "host", "lea", NOTIFIER, one)
    text = flat(d.text(n))
    assert "confirmed by a trained analyst" in text
    assert "two trained analysts" not in text
    assert "two trained analysts" not in flat(pdf_text(d.pdf(n)))
    assert "confirmed by a trained analyst" in flat(pdf_text(d.pdf(n)))
    assert "by a trained analyst" in d.store.events(n.id)[0].detail  # the history says so too


def test_an_admin_decision_is_named_and_nothing_unrecorded_is_claimed(
    desk: tuple[NoticeDesk, Clock],
) -> None:
    d, _ = desk
    found = hits()
    admin = {h.id: Confirmation(by_admin="dispute") for h in found}
    n = d.draft("img.tube.example", found, "dsa", "a@b.example", "host", "lea", NOTIFIER, admin)
    text = flat(d.text(n))
    assert "confirmed by an administrator of our hotline who settled a disagreement" in text
    assert "analysts." not in text.split("settled a disagreement between")[0]
    bare = d.draft("img.tube.example", found, "dsa", "a@b.example", "host", "lea", NOTIFIER)
    assert "confirmed" not in bare.fields["explanation"]
    assert "analyst" not in flat(d.text(bare))


def _sent(d: NoticeDesk, mailer: Mailer) -> int:
    two = {h.id: Confirmation(2) for h in hits()}
    n = d.draft(
        "img.tube.example", hits(), "dsa", "abuse@hosting.example", "host", "lea", NOTIFIER, two
    )
    d.update_draft(n.id, "lea", {**n.fields, "bona_fide": True}, n.recipient, "dsa")
    return d.send(n.id, "lea", mailer).id


def test_an_escalation_without_a_recheck_does_not_say_still_online(
    desk: tuple[NoticeDesk, Clock],
) -> None:
    d, clock = desk
    d.store.save_contact(Contact("img.tube.example", "site", "owner@tube.example"))
    mailer = Mailer()
    first = _sent(d, mailer)
    clock.hours(1)
    child = d.follow_up(
        d.store.get_notice(first), "site", "owner@tube.example", "lea", "escalation"
    )
    text = flat(d.text(child))
    assert "still online" not in text
    assert "has not been re-checked since that notice" in text
    assert text.startswith("ESCALATION: EU DIGITAL SERVICES ACT")
    assert "Follows our notice: RR-00001 (sent 02 March 2026, 09:30 UTC)" in text
    assert "We therefore notify you as the site operator." in text
    pdf = flat(pdf_text(d.pdf(child)))
    assert "still online" not in pdf and "Follows our notice RR-00001" in pdf
    d.send(child.id, "lea", mailer)
    sent = mailer.sent[-1]
    assert sent["Subject"].startswith("[RR-00002-2] Escalation of RR-00001: ")
    assert "Reminder" not in sent["Subject"]
    assert sent["In-Reply-To"] == mailer.sent[0]["Message-ID"]
    assert "still online" not in body(sent)
    # The .eml exported later reads the same, although re-checks happened since.
    clock.hours(5)
    d.recheck(Checker())
    raw = email.message_from_bytes(d.eml(d.store.get_notice(child.id), mailer.sender))
    assert "still online" not in flat(raw.get_payload(0).get_payload(decode=True).decode())


def test_a_recheck_after_the_notice_lets_a_reminder_say_when_it_was_online(
    desk: tuple[NoticeDesk, Clock],
) -> None:
    d, clock = desk
    mailer = Mailer()
    first = _sent(d, mailer)
    clock.hours(-1)  # a re-check from before the first notice proves nothing
    d.store.add_recheck(RecheckResult(hits()[0].image_url, "still_there", clock.now))
    clock.hours(7)
    d.recheck(Checker())  # 15:30: both URLs still served
    clock.hours(1)
    child = d.follow_up(
        d.store.get_notice(first), "host", "abuse@hosting.example", "lea", "reminder"
    )
    text = flat(d.text(child))
    assert text.startswith("REMINDER: EU DIGITAL SERVICES ACT")
    assert (
        "Our re-check on 02 March 2026, 15:30 UTC found the content listed below still online."
        in text
    )
    assert subject(child, d.parent(child)).startswith("[RR-00002-2] Reminder of RR-00001: ")


def test_mixed_recheck_results_are_told_per_kind(desk: tuple[NoticeDesk, Clock]) -> None:
    d, clock = desk
    first = _sent(d, Mailer())
    checker = Checker()
    urls = [u.url for u in d.store.get_notice(first).urls]
    checker.results = {urls[1]: "error"}
    clock.hours(6)
    d.recheck(checker)
    child = d.follow_up(
        d.store.get_notice(first), "host", "abuse@hosting.example", "lea", "reminder"
    )
    text = flat(d.text(child))
    assert "found 1 of the 2 URLs listed below still online" in text
    assert "1 could not be reached at our last re-check on 02 March 2026, 15:30 UTC" in text
    assert "The content listed below is still online" not in text


def test_art_16_2_c_is_cited_only_when_the_offence_box_is_ticked() -> None:
    empty = {k: "" for k in NOTIFIER}
    unticked = notice("dsa", **empty, csam_offence=False)
    text = as_text(document(unticked, "2026-03-02T09:30:00Z"))
    assert "16(2)(c)" not in text
    ticked = notice("dsa", **empty, csam_offence=True)
    assert "Name and e-mail omitted under Art. 16(2)(c)." in as_text(
        document(ticked, "2026-03-02T09:30:00Z")
    )
    named = notice("dsa", **{**empty, "notifier_name": "Lea Legal"}, csam_offence=True)
    assert "E-mail omitted under Art. 16(2)(c)." in as_text(document(named, "2026-03-02T09:30:00Z"))
    full = notice("dsa", csam_offence=True)
    assert "omitted" not in as_text(document(full, "2026-03-02T09:30:00Z"))
