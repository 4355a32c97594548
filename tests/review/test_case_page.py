"""The page per case: its figures (hits pending, confirmed, rejected; notices sent and
URLs removed), its hits linked for those who can open them, the notices naming them."""

from __future__ import annotations

import re
from collections.abc import Callable

from notices.render import reference
from notices.storage import Notice, NoticeUrl
from tests.review.conftest import Client
from tests.review.fixtures import Env
from wire import Hit


def url_of(hit: Hit, state: str = "online") -> NoticeUrl:
    return NoticeUrl(
        hit.id,
        hit.image_url,
        hit.page_url,
        hit.case_id,
        hit.reference_label,
        hit.distance,
        hit.content_sha256,
        state=state,
    )


def notice(env: Env, *urls: NoticeUrl, status: str = "draft", at: str = "") -> Notice:
    return env.services.notices.create_notice(
        Notice(
            env.hits[0].site,
            "dsa",
            "host",
            "abuse@host.example",
            {},
            "lea",
            at,
            urls=urls,
            status=status,
            sent_at=at if status != "draft" else None,
        )
    )


def figure(page: str, name: str) -> int:
    found = re.search(rf'id="n-{name}">(\d+)<', page)
    assert found, name
    return int(found[1])


def test_a_case_page_counts_lists_and_links(env: Env, login: Callable[[str], Client]) -> None:
    ana, ben, lea = login("ana"), login("ben"), login("lea")
    h = env.hits  # case-b: hits 0, 3 and 6; case-a: 1, 2, 4, 5
    for who in (ana, ben):
        who.get(f"/review/hits/{h[0].id}")
        assert (
            who.post(f"/review/hits/{h[0].id}/decide", {"decision": "confirmed"}).status_code == 303
        )
    sent = notice(
        env, url_of(h[0], "removed"), url_of(h[1]), status="sent", at="2026-02-01T10:00:00Z"
    )
    draft = notice(env, url_of(h[3]), at="2026-02-02T10:00:00Z")
    ana.get(f"/review/hits/{h[6].id}")  # a dispute in case-b, none in case-a
    ana.post(f"/review/hits/{h[6].id}/decide", {"decision": "confirmed"})
    ben.get(f"/review/hits/{h[6].id}")
    ben.post(f"/review/hits/{h[6].id}/decide", {"decision": "rejected", "reason": "no"})
    other = notice(env, url_of(h[2]), status="removed", at="2026-02-03T10:00:00Z")

    page = ana.get("/review/cases/case-b").text
    assert (figure(page, "pending"), figure(page, "confirmed"), figure(page, "rejected")) == (
        2,
        1,
        0,
    )
    assert (figure(page, "sent"), figure(page, "removed"), figure(page, "disputed")) == (1, 1, 1)
    assert figure(ana.get("/review/cases/case-a").text, "disputed") == 0
    assert "of 1 noticed URLs removed" in page and "(1 draft)" in page
    table = page.split('id="case-hits"', 1)[1].split("</table>", 1)[0]
    assert re.findall(r'href="/review/hits/([0-9a-f]+)"', table) == [h[0].id, h[6].id, h[3].id]
    assert "ref-1" in table  # analysts see the reference labels, as in the queue
    assert "Sorted by case priority (highest first), then closest match first" in page
    notices = page.split('id="case-notices"', 1)[1].split("</table>", 1)[0]
    assert notices.count("<tr>") == 2 + 1  # the header and the two notices naming case-b
    assert notices.index("draft") < notices.index("sent")  # newest first
    assert "/notices/" not in notices  # analysts cannot open notices
    assert reference(sent) in notices and reference(other) not in notices

    page = lea.get("/review/cases/case-b").text
    notices = page.split('id="case-notices"', 1)[1].split("</table>", 1)[0]
    assert f'href="/notices/{sent.id}"' in notices and f'href="/notices/{draft.id}"' in notices
    table = page.split('id="case-hits"', 1)[1].split("</table>", 1)[0]
    assert "/review/hits/" not in table and "ref-" not in table  # legal cannot open hits
    assert h[0].id[:12] in table
    assert [e.target for e in env.services.review.audit_entries("lea", "view case")] == ["case-b"]

    assert ana.get("/review/cases/no-such-case").status_code == 404
    assert 'href="/review/cases/case-b"' in ana.get(f"/review/hits/{h[0].id}").text
    assert 'href="/review/cases/case-a"' in login("adm").get("/admin/cases").text
