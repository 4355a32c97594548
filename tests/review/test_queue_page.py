"""The queue page: sorting by column headers that keep the filters, the search, the
sentence that says the order, the marks of one's own votes and skips, and notes on a
hit (kept, escaped, audited, never a picture)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable

from review import queue
from review.queue import Filters
from tests.review.conftest import Client
from tests.review.fixtures import Env

DEFAULT_ORDER = (
    "Sorted by case priority (highest first), then closest match first, then first seen "
    "(oldest first)."
)


def rows(page: str) -> list[str]:
    """Hit ids of the queue table, top to bottom."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'href="/review/hits/([0-9a-f]+)"', body)


def header(page: str, key: str) -> str:
    """The href of a sortable column header, unescaped."""
    found = re.search(rf'<a href="([^"]+)" data-sort="{key}"', page)
    assert found, key
    return html.unescape(found[1])


def test_the_page_says_its_order_and_sorts_by_each_header(
    env: Env, login: Callable[[str], Client]
) -> None:
    ana = login("ana")
    ids = [h.id for h in env.hits]
    page = ana.get("/review").text
    assert DEFAULT_ORDER in page
    assert queue.explain_next() in html.unescape(page)
    assert "Start reviewing takes the first pending hit by case priority (highest first)" in (
        queue.explain_next()
    )
    assert rows(page) == [ids[i] for i in (2, 4, 1, 5, 0, 6, 3)]
    assert 'aria-sort="descending"' in page  # the priority header
    distance = header(page, "distance")
    assert distance == "/review?status=pending&sort=distance&dir=asc"
    page = ana.get(distance).text
    assert "Sorted by closest match first, then first seen (oldest first)." in page
    assert rows(page) == [ids[i] for i in (2, 0, 4, 6, 1, 5, 3)]
    page = ana.get(header(page, "distance")).text  # the same header again: the other way
    assert "Sorted by farthest match first, then first seen (oldest first)." in page
    assert rows(page) == [ids[i] for i in (3, 5, 1, 4, 6, 0, 2)]
    page = ana.get("/review?sort=first_seen").text
    assert rows(page) == ids[::-1]
    page = ana.get("/review?sort=seen_count&dir=asc").text
    assert "Sorted by times seen (fewest first), then closest match first." in page
    page = ana.get("/review?sort=nonsense&dir=sideways").text  # unknown: the default
    assert DEFAULT_ORDER in page and rows(page) == [ids[i] for i in (2, 4, 1, 5, 0, 6, 3)]


def test_headers_keep_the_filters_and_the_search(env: Env, login: Callable[[str], Client]) -> None:
    ana = login("ana")
    page = ana.get("/review?case=case-a&q=img/&sort=last_seen&dir=asc&offset=0").text
    assert header(page, "site") == "/review?case=case-a&status=pending&q=img%2F&sort=site&dir=asc"
    assert header(page, "last_seen") == (
        "/review?case=case-a&status=pending&q=img%2F&sort=last_seen&dir=desc"
    )
    # the filter form keeps the sort when the filters change
    assert '<input type="hidden" name="sort" value="last_seen">' in page
    assert '<input type="hidden" name="dir" value="asc">' in page
    assert 'value="img/"' in page
    # Start reviewing keeps case and site only: its order is always the priority order
    assert 'id="start" href="/review/next?case=case-a"' in page


def test_the_search_finds_url_label_and_id_and_is_escaped(
    env: Env, login: Callable[[str], Client]
) -> None:
    ana = login("ana")
    ids = [h.id for h in env.hits]
    assert rows(ana.get("/review?q=IMG/3.jpg").text) == [ids[2]]
    assert rows(ana.get("/review?q=dup").text) == [ids[6]]
    assert sorted(rows(ana.get("/review?q=ref-2").text)) == sorted([ids[1], ids[6]])
    assert rows(ana.get(f"/review?q={ids[4][4:16]}").text) == [ids[4]]
    page = ana.get("/review", params={"q": '<script>"x'}).text
    assert rows(page) == []
    assert '<script>"x' not in page
    assert "&lt;script&gt;" in page and "No hits match" in page
    page = ana.get("/review", params={"q": "x" * 500}).text  # cut to the store's limit
    assert f'value="{"x" * 200}"' in page


def test_rows_mark_my_votes_and_skips(env: Env, login: Callable[[str], Client]) -> None:
    ana, ben = login("ana"), login("ben")
    voted, skipped, other = env.hits[2], env.hits[4], env.hits[1]
    ana.get(f"/review/hits/{voted.id}")
    assert ana.post(f"/review/hits/{voted.id}/decide", {"decision": "confirmed"}).status_code == 303
    ana.get(f"/review/hits/{skipped.id}")
    assert ana.post(f"/review/hits/{skipped.id}/skip").status_code == 303
    ben.get(f"/review/hits/{other.id}")
    ben.post(f"/review/hits/{other.id}/decide", {"decision": "rejected", "reason": "no"})

    def row(client: Client, hit_id: str) -> str:
        page = client.get("/review").text
        return page.split(f'href="/review/hits/{hit_id}"', 1)[1].split("</tr>", 1)[0]

    assert "1/2 · " in row(ana, voted.id) and "you: confirmed" in row(ana, voted.id)
    until = env.services.review.skips("ana", env.services.now(), [skipped.id])[skipped.id]
    assert f"you skipped it (until {until.replace('T', ' ').removesuffix('Z')})" in row(
        ana, skipped.id
    )
    assert "you:" not in row(ana, other.id) and "1/2" in row(ana, other.id)
    assert "you: rejected" in row(ben, other.id)
    assert "you:" not in row(ben, voted.id) and "skipped" not in row(ben, skipped.id)


def test_notes_are_listed_escaped_and_audited(env: Env, login: Callable[[str], Client]) -> None:
    ana, adm = login("ana"), login("adm")
    hit = env.hits[0]
    response = ana.post(
        f"/review/hits/{hit.id}/notes",
        {"text": "  same frame as <b>ref-1</b>\r\nsee & compare  ", "case": "case-b"},
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/review/hits/{hit.id}?case=case-b&status=pending#notes"
    assert adm.post(f"/review/hits/{hit.id}/notes", {"text": "checked"}).status_code == 303
    page = adm.get(f"/review/hits/{hit.id}").text
    notes = page.split('id="notes"', 1)[1].split("</section>", 1)[0]
    assert "same frame as &lt;b&gt;ref-1&lt;/b&gt;\nsee &amp; compare</p>" in notes
    assert "<b>ana</b>" in notes and "<b>adm</b>" in notes
    assert notes.index("<b>ana</b>") < notes.index("<b>adm</b>")  # oldest first
    kept = env.services.review.notes(hit.id)
    assert [(n.username, n.text) for n in kept] == [
        ("ana", "same frame as <b>ref-1</b>\nsee & compare"),
        ("adm", "checked"),
    ]
    entry = env.services.review.audit_entries("ana", "add note")[0]
    assert (entry.target, entry.detail) == (hit.id, kept[0].text)
    assert "2 notes" in ana.get("/review").text


def test_a_note_is_refused_when_empty_too_long_or_a_picture(
    env: Env, login: Callable[[str], Client]
) -> None:
    ana = login("ana")
    hit = env.hits[0]
    picture = "look: data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ"
    blob = "A" * 300
    import base64

    encoded = base64.b64encode(bytes(range(256)) * 2).decode()
    wrapped = "\n".join(encoded[i : i + 76] for i in range(0, 600, 76))  # MIME's lines
    urlsafe = base64.urlsafe_b64encode(bytes(range(256))).decode()  # - and _ in every run
    for text, why in (
        ("   ", "write something first"),
        ("x" * 1001, "at most 1000 characters"),
        (picture, "not pictures"),
        (blob, "not pictures"),
        (wrapped, "not pictures"),
        (urlsafe, "not pictures"),
    ):
        response = ana.post(f"/review/hits/{hit.id}/notes", {"text": text})
        assert response.status_code == 303
        assert why.replace(" ", "%20") in response.headers["set-cookie"], text[:20]
    assert env.services.review.notes(hit.id) == []
    assert env.services.review.audit_entries("ana", "add note") == []
    prose = " ".join(["the same photo, cropped; seen on three mirrors since Monday"] * 12)
    assert ana.post(f"/review/hits/{hit.id}/notes", {"text": prose[:1000]}).status_code == 303
    assert len(env.services.review.notes(hit.id)) == 1  # words pass
    assert ana.post("/review/hits/nope/notes", {"text": "x"}).status_code == 404
    assert login("lea").post(f"/review/hits/{hit.id}/notes", {"text": "x"}).status_code == 403


def test_filters_params_encode_and_leave_defaults_out() -> None:
    assert Filters().params() == "status=pending"
    assert Filters(search="a&b=c d", sort="site", direction="desc").params() == (
        "status=pending&q=a%26b%3Dc+d&sort=site&dir=desc"
    )
    assert Filters(case="c1").sort_params("priority") == "case=c1&status=pending&dir=asc"
    assert Filters().sort_params("first_seen") == "status=pending&sort=first_seen&dir=desc"
