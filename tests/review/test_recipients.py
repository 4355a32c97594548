"""Issue 12 row 8 in the review app: a recipient typed into a notice form or a contact
that is not exactly one e-mail address is a 422 form error (never a 500, nothing
stored); a hostile security.txt found by "discover" adds only its single addresses."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from notices.storage import Contact, Notice
from tests.notices.samples import notice
from tests.review.conftest import Client
from tests.review.fixtures import Env

BAD = [
    "a@evil.example,leak@third.example",
    "a@evil.example\r\nBcc: leak@third.example",
    "Name <a@evil.example>",
]


def _draft(env: Env) -> Notice:
    host = env.hits[0].site
    return env.services.notices.create_notice(
        Notice(
            host,
            "dsa",
            "host",
            "abuse@snapshare.example",
            notice("dsa").fields,
            "lea",
            env.services.now(),
            (),
        )
    )


@pytest.mark.parametrize("bad", BAD)
def test_a_bad_recipient_in_a_notice_form_is_a_422(
    env: Env, login: Callable[[str], Client], bad: str
) -> None:
    lea = login("lea")
    n = _draft(env)
    host = env.hits[0].site
    created = lea.post("/notices", {"host": host, "recipient": bad, "regime": "dsa"})
    assert created.status_code == 422, created.text
    assert "one e-mail address" in created.text or "no blanks" in created.text
    assert "\r\nBcc" not in created.text
    saved = lea.post(f"/notices/{n.id}", {"regime": "dsa", "recipient": bad})
    assert saved.status_code == 422, saved.text
    assert env.services.notices.get_notice(n.id).recipient == "abuse@snapshare.example"
    contact = lea.post(
        "/contacts", {"host": host, "level": "host", "email": bad, "back": "/contacts"}
    )
    assert contact.status_code == 422, contact.text
    assert env.services.notices.contacts(host) == []


def test_a_stored_bad_recipient_gives_422_on_eml_and_send_is_refused(
    env: Env, login: Callable[[str], Client]
) -> None:
    lea = login("lea")
    n = _draft(env)
    env.services.notices.update_notice(n.id, recipient=BAD[1])
    eml = lea.get(f"/notices/{n.id}/eml")
    assert eml.status_code == 422, eml.text
    asked = lea.post(f"/notices/{n.id}/send")  # the confirmation step lists the problem
    assert asked.status_code == 200 and "not one e-mail address" in asked.text
    assert 'id="send-now"' not in asked.text
    confirm = {"confirm": "send", "recipient": BAD[1], "regime": "dsa", "urls": "0"}
    sent = lea.post(f"/notices/{n.id}/send", confirm)
    assert sent.status_code == 303
    assert env.services.notices.get_notice(n.id).status == "draft"
    assert env.outbox.messages == []
    page = lea.get(f"/notices/{n.id}")
    assert page.status_code == 200 and "not one e-mail address" in page.text


def test_discover_keeps_only_single_addresses(env: Env, login: Callable[[str], Client]) -> None:
    lea = login("lea")
    host = env.hits[0].site
    env.site.files["/.well-known/security.txt"] = (
        "text/plain; charset=utf-8",
        b"Contact: mailto:a@evil.example,leak@third.example\n"
        b"Contact: mailto:b@evil.example%0D%0ABcc:leak@third.example\n"
        b"Contact: mailto:abuse@snapshare.example\n",
    )
    found = lea.post("/contacts/discover", {"host": host, "back": "/contacts"})
    assert found.status_code == 303, found.text
    emails = [c.email for c in env.services.notices.contacts(host)]
    assert emails == ["abuse@snapshare.example"]
    assert isinstance(env.services.notices.contacts(host)[0], Contact)
