"""Through the app: the notice legal staff draft says how the review really confirmed
the hits (one analyst under consensus 1, an admin settling a dispute), in the preview,
the PDF and the ``.eml``."""

from __future__ import annotations

import email
import io
import re
from collections.abc import Callable

from pypdf import PdfReader

from tests.review.conftest import Client
from tests.review.fixtures import Env


def flat(text: str) -> str:
    return " ".join(text.split())


def _draft(lea: Client, env: Env, hit_ids: list[str]) -> int:
    host = env.hits[0].site
    got = lea.post(
        "/notices",
        {"host": host, "hit": hit_ids, "regime": "dsa", "recipient": "abuse@snapshare.example"},
    )
    assert got.status_code == 303, got.text
    match = re.search(r"/notices/(\d+)", got.headers["location"])
    assert match, got.headers["location"]
    return int(match[1])


def _texts(lea: Client, notice_id: int) -> tuple[str, str, str]:
    page = lea.get(f"/notices/{notice_id}").text
    preview = re.search(r'<pre class="preview">(.*?)</pre>', page, re.S)
    assert preview
    pdf = PdfReader(io.BytesIO(lea.get(f"/notices/{notice_id}/pdf").content))
    pdf_text = " ".join(p.extract_text() for p in pdf.pages)
    eml = email.message_from_bytes(lea.get(f"/notices/{notice_id}/eml").content)
    body = eml.get_payload(0).get_payload(decode=True).decode()  # type: ignore[union-attr]
    return flat(preview[1].replace("&#39;", "'")), flat(pdf_text), flat(body)


def test_one_analyst_under_consensus_one_is_said_so(
    env: Env, login: Callable[[str], Client]
) -> None:
    adm, ana, lea = login("adm"), login("ana"), login("lea")
    form = {"consensus": "1", "exposure_budget": "20", "recheck_every_hours": "6"}
    form |= {"remind_after_hours": "48", "max_reminders": "1"}
    assert adm.post("/admin/settings", form).status_code == 303
    hit = env.hits[0]
    ana.get(f"/review/hits/{hit.id}")
    assert ana.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"}).status_code == 303
    assert env.services.hits.get_hit(hit.id)[0].status == "confirmed"
    for text in _texts(lea, _draft(lea, env, [hit.id])):
        assert "confirmed by a trained analyst" in text
        assert "two trained analysts" not in text


def test_an_admin_settling_a_dispute_is_said_so(env: Env, login: Callable[[str], Client]) -> None:
    adm, ana, ben, lea = login("adm"), login("ana"), login("ben"), login("lea")
    hit = env.hits[0]
    ana.post(f"/review/hits/{hit.id}/decide", {"decision": "confirmed"})
    ben.post(f"/review/hits/{hit.id}/decide", {"decision": "rejected", "reason": "not it"})
    got = adm.post(
        f"/admin/disputes/{hit.id}", {"decision": "confirmed", "note": "same scar, same room"}
    )
    assert got.status_code == 303
    for text in _texts(lea, _draft(lea, env, [hit.id])):
        assert "settled a disagreement between analysts" in text
        assert "two trained analysts" not in text
