"""Issue 13 items 8 and 10 through the app: switching a draft's regime keeps every field
typed; a bad settings value is a 422 that keeps all values and saves none; sending asks
for confirmation first; a draft's PDF says DRAFT, the sent one does not; a multi-line
postal address keeps its lines in the page, the PDF and the ``.eml``."""

from __future__ import annotations

import email
import html
import io
import re
from collections.abc import Callable

from pypdf import PdfReader

from review import queue
from tests.review.conftest import Client
from tests.review.fixtures import Env

RECIPIENT = "abuse@snapshare.example"


def _draft(lea: Client, env: Env, n: int = 3, regime: str = "dsa") -> int:
    for hit in env.hits[:n]:
        for name in ("ana", "ben"):
            queue.decide(env.services, name, hit.id, "confirmed", "")
    got = lea.post(
        "/notices",
        {
            "host": env.hits[0].site,
            "hit": [h.id for h in env.hits[:n]],
            "regime": regime,
            "recipient": RECIPIENT,
        },
    )
    assert got.status_code == 303, got.text
    match = re.search(r"/notices/(\d+)$", got.headers["location"])
    assert match, got.headers["location"]
    return int(match[1])


def _field(page: str, name: str) -> str | None:
    """The value the page's form shows for field ``name`` (None: not in the form)."""
    area = re.search(rf'<textarea name="{name}"[^>]*>(.*?)</textarea>', page, re.S)
    if area:
        return html.unescape(area[1])
    box = re.search(rf'<input type="checkbox" name="{name}"([^>]*)>', page)
    if box:
        return "on" if "checked" in box[1] else ""
    text = re.search(rf'<input name="{name}" value="([^"]*)"', page)
    return html.unescape(text[1]) if text else None


# -- A: switching the regime --------------------------------------------------------------
def test_switching_the_regime_and_back_keeps_every_field(
    env: Env, login: Callable[[str], Client]
) -> None:
    lea = login("lea")
    nid = _draft(lea, env)
    dsa = {
        "form_regime": "dsa",
        "regime": "dmca",
        "action": "switch",
        "recipient": RECIPIENT,
        "explanation": "Typed DSA explanation.\r\nSecond line.",
        "notifier_name": "Typed Name",
        "notifier_address": "Line one\r\nLine two",
        "bona_fide": "on",
    }
    got = lea.post(f"/notices/{nid}", dsa)
    assert got.status_code == 303
    stored = env.services.notices.get_notice(nid)
    assert stored.regime == "dmca"
    assert stored.fields["explanation"] == "Typed DSA explanation.\nSecond line."
    assert stored.fields["bona_fide"] is True
    page = lea.get(f"/notices/{nid}").text
    assert _field(page, "explanation") is None  # DSA's field is not shown under DMCA...
    assert "Why the content is illegal (Art. 16(2)(a)) (DSA)" in page  # ...but listed as kept
    assert _field(page, "notifier_name") == "Typed Name"
    assert _field(page, "notifier_address") == "Line one\nLine two"

    dmca = {
        "form_regime": "dmca",
        "regime": "dsa",
        "recipient": RECIPIENT,
        "work": "Typed DMCA work.",
        "identification": "Typed identification.",
        "signature": "/s/ Typed",
        "good_faith": "on",
        "notifier_name": "Typed Name",
        "notifier_address": "Line one\r\nLine two",
    }
    assert lea.post(f"/notices/{nid}", dmca).status_code == 303
    page = lea.get(f"/notices/{nid}").text
    assert env.services.notices.get_notice(nid).regime == "dsa"
    assert _field(page, "explanation") == "Typed DSA explanation.\nSecond line."
    assert _field(page, "bona_fide") == "on"
    assert _field(page, "notifier_name") == "Typed Name"
    fields = env.services.notices.get_notice(nid).fields
    assert fields["work"] == "Typed DMCA work." and fields["signature"] == "/s/ Typed"
    assert fields["good_faith"] is True and fields["accuracy"] is False
    # and once more to DMCA: what was typed there is back
    assert lea.post(f"/notices/{nid}", {**dsa, "regime": "dmca"}).status_code == 303
    page = lea.get(f"/notices/{nid}").text
    assert _field(page, "work") == "Typed DMCA work."
    assert _field(page, "identification") == "Typed identification."
    assert _field(page, "good_faith") == "on"


def test_an_unknown_regime_is_a_form_error(env: Env, login: Callable[[str], Client]) -> None:
    lea = login("lea")
    nid = _draft(lea, env)
    got = lea.post(f"/notices/{nid}", {"form_regime": "dsa", "regime": "nope"})
    assert got.status_code == 422
    assert env.services.notices.get_notice(nid).regime == "dsa"


# -- B: the settings form ----------------------------------------------------------------
SETTINGS = {
    "consensus": "2",
    "exposure_budget": "20",
    "recheck_every_hours": "6",
    "remind_after_hours": "48",
    "max_reminders": "1",
    "escalate": "on",
    "notifier_name": "Lea Legal",
    "notifier_org": "Example Hotline",
    "notifier_email": "lea@hotline.example",
    "notifier_phone": "+34 900 000 000",
    "notifier_address": "Calle Mayor 1\r\n06200 Almendralejo\r\nSpain",
}


def test_two_bad_settings_values_save_nothing_and_keep_everything_typed(
    env: Env, login: Callable[[str], Client]
) -> None:
    adm = login("adm")
    before = env.services.review.settings()
    typed = {**SETTINGS, "consensus": "many", "remind_after_hours": "-3", "max_reminders": "4"}
    typed["notifier_name"] = "New Name <b>"
    got = adm.post("/admin/settings", typed)
    assert got.status_code == 422
    page = got.text
    assert env.services.review.settings() == before  # nothing saved, the good value neither
    errors = dict(re.findall(r'<span class="field-error" id="([a-z_]+)-error">([^<]+)<', page))
    assert set(errors) == {"consensus", "remind_after_hours"}
    assert errors["consensus"] == "Enter a whole number from 1 to 5."
    assert errors["remind_after_hours"] == "Out of range: enter a number from 0 to 8760."
    assert re.search(r'name="consensus"[^>]*value="many"[^>]*aria-invalid="true"', page)
    assert 'name="remind_after_hours" inputmode="decimal" value="-3"' in page
    assert 'name="max_reminders" type="number" min="0" max="20" value="4"' in page
    assert 'value="New Name &lt;b&gt;"' in page
    assert ">Calle Mayor 1\n06200 Almendralejo\nSpain</textarea>" in page
    assert 'name="escalate" checked' in page and 'name="auto_send" >' in page
    for raw in ("invalid literal", "ValueError", "Traceback", "could not convert"):
        assert raw not in page

    got = adm.post("/admin/settings", {**typed, "consensus": "3", "remind_after_hours": "24"})
    assert got.status_code == 303
    stored = env.services.review.settings()
    assert (stored["consensus"], stored["remind_after_hours"], stored["max_reminders"]) == (
        3,
        24.0,
        4,
    )
    assert stored["notifier"]["notifier_address"] == "Calle Mayor 1\n06200 Almendralejo\nSpain"
    assert stored["escalate"] is True and stored["auto_send"] is False


def test_a_bad_notifier_email_and_nan_hours_are_refused(
    env: Env, login: Callable[[str], Client]
) -> None:
    adm = login("adm")
    typed = {**SETTINGS, "notifier_email": "a@x.example, b@y.example"}
    typed["recheck_every_hours"] = "nan"
    got = adm.post("/admin/settings", typed)
    assert got.status_code == 422
    assert 'id="notifier_email-error">Not one e-mail address' in got.text
    assert 'id="recheck_every_hours-error">Out of range' in got.text
    assert "notifier" not in env.services.review.settings() or (
        env.services.review.settings()["notifier"]["notifier_email"] == "lea@hotline.example"
    )


# -- C: confirmation, DRAFT mark, address lines --------------------------------------------
def _pdf_text(data: bytes) -> tuple[str, str]:
    reader = PdfReader(io.BytesIO(data))
    assert reader.metadata is not None
    return "\n".join(p.extract_text() for p in reader.pages), str(reader.metadata.title)


def _complete(lea: Client, nid: int) -> None:
    fields = {"form_regime": "dsa", "regime": "dsa", "recipient": RECIPIENT, "bona_fide": "on"}
    fields |= {"notifier_name": "Lea Legal", "notifier_email": "lea@hotline.example"}
    fields |= {"notifier_address": "Calle Mayor 1\r\n06200 Almendralejo\r\nSpain"}
    assert lea.post(f"/notices/{nid}", fields).status_code == 303


def test_sending_needs_a_confirmation(env: Env, login: Callable[[str], Client]) -> None:
    lea = login("lea")
    nid = _draft(lea, env)
    _complete(lea, nid)
    asked = lea.post(f"/notices/{nid}/send")
    assert asked.status_code == 200
    assert env.outbox.messages == []  # the first step sends nothing
    assert env.services.notices.get_notice(nid).status == "draft"
    page = asked.text
    assert RECIPIENT in re.sub(r"\s+", " ", page.split('id="confirm-recipient"')[1][:200])
    assert "EU Digital Services Act" in page.split('id="confirm-regime"')[1][:200]
    assert "3 URLs" in page.split('id="confirm-count"')[1][:80]
    form = page.split('id="confirm-send"')[1]
    assert f'name="csrf" value="{lea.csrf}"' in form and 'id="send-now"' in form

    confirm = {"confirm": "send", "recipient": RECIPIENT, "regime": "dsa", "urls": "3"}
    # The draft changed after the confirmation page: asked again, nothing sent.
    env.services.notices.update_notice(nid, recipient="other@snapshare.example")
    again = lea.post(f"/notices/{nid}/send", confirm)
    assert again.status_code == 409 and "changed since you confirmed" in again.text
    assert env.outbox.messages == []
    env.services.notices.update_notice(nid, recipient=RECIPIENT)
    sent = lea.post(f"/notices/{nid}/send", confirm)
    assert sent.status_code == 303
    assert env.services.notices.get_notice(nid).status == "sent"
    [msg] = env.outbox.messages
    assert msg["To"] == RECIPIENT
    # A second "Send now" (a double click) sends nothing more.
    assert lea.post(f"/notices/{nid}/send", confirm).status_code == 303
    assert len(env.outbox.messages) == 1


def test_the_draft_pdf_says_draft_and_the_sent_one_does_not(
    env: Env, login: Callable[[str], Client]
) -> None:
    lea = login("lea")
    nid = _draft(lea, env)
    _complete(lea, nid)
    draft = lea.get(f"/notices/{nid}/pdf")
    assert '-DRAFT.pdf"' in draft.headers["content-disposition"]
    text, title = _pdf_text(draft.content)
    assert "DRAFT: not sent" in text and title.startswith("DRAFT: ")
    confirm = {"confirm": "send", "recipient": RECIPIENT, "regime": "dsa", "urls": "3"}
    assert lea.post(f"/notices/{nid}/send", confirm).status_code == 303
    sent = lea.get(f"/notices/{nid}/pdf")
    assert "DRAFT" not in sent.headers["content-disposition"]
    text, title = _pdf_text(sent.content)
    assert "DRAFT" not in text and "DRAFT" not in title
    [msg] = env.outbox.messages
    [pdf] = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    text, title = _pdf_text(pdf.get_content())
    assert "DRAFT" not in text and "DRAFT" not in title


def test_the_postal_address_keeps_its_lines(env: Env, login: Callable[[str], Client]) -> None:
    lea = login("lea")
    nid = _draft(lea, env)
    _complete(lea, nid)
    page = lea.get(f"/notices/{nid}").text
    preview = re.search(r'<pre class="preview">(.*?)</pre>', page, re.S)
    assert preview
    lines = preview[1].splitlines()
    at = lines.index("Address:             Calle Mayor 1")
    assert [line.strip() for line in lines[at + 1 : at + 3]] == ["06200 Almendralejo", "Spain"]
    text, _ = _pdf_text(lea.get(f"/notices/{nid}/pdf").content)
    assert "Calle Mayor 1\n06200 Almendralejo\nSpain" in text
    eml = email.message_from_bytes(lea.get(f"/notices/{nid}/eml").content)
    body = eml.get_payload(0).get_payload(decode=True).decode()  # type: ignore[union-attr]
    lines = body.splitlines()
    at = lines.index("Address:             Calle Mayor 1")
    assert [line.strip() for line in lines[at + 1 : at + 3]] == ["06200 Almendralejo", "Spain"]
