"""The queue's sorting, search and marks and a note on a hit, in headless Chromium at
desktop width (fixtures and helpers of tests/review/test_browser.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.review.fixtures import Env, environment, live_app
from tests.review.test_browser import shot, signed_in, wait_live
from tests.review.test_queue_page import DEFAULT_ORDER


@pytest.fixture
def live(tmp_path: Path, kodak: list[Path]) -> Iterator[tuple[Env, str]]:
    with environment(tmp_path, kodak) as env, live_app(env) as url:
        yield env, url


def cells(page: Any, column: int) -> list[str]:
    return [c.strip() for c in page.locator(f"tbody tr td:nth-child({column})").all_inner_texts()]


def test_sort_search_and_a_note_at_desktop_width(browser: Any, live: tuple[Env, str]) -> None:
    env, url = live
    page = signed_in(browser, url, "ana", viewport=(1280, 900))
    assert page.url.endswith("/review")
    assert page.locator("#table-order").inner_text() == DEFAULT_ORDER
    assert "Start reviewing takes the first pending hit" in page.locator("#order").inner_text()

    page.click("th a[data-sort=distance]")
    page.wait_for_url(re.compile(r"sort=distance&dir=asc"))
    assert page.locator("#table-order").inner_text().startswith("Sorted by closest match first")
    assert cells(page, 5) == ["pdq 2", "pdq 4", "pdq 6", "pdq 6", "pdq 10", "pdq 12", "pdq 18"]
    assert page.get_attribute("th[aria-sort]", "aria-sort") == "ascending"
    page.click("th a[data-sort=distance]")  # again: the other way round
    page.wait_for_url(re.compile(r"sort=distance&dir=desc"))
    assert cells(page, 5)[0] == "pdq 18"

    page.fill("#search", "IMG/5")
    page.keyboard.press("Enter")  # the filter form keeps the sort
    page.wait_for_url(re.compile(r"q=IMG%2F5.*sort=distance&dir=desc"))
    assert cells(page, 4) == ["ref-5"]
    page.click("th a[data-sort=seen_count]")  # the header keeps the search
    page.wait_for_url(re.compile(r"q=IMG%2F5.*sort=seen_count"))
    assert cells(page, 4) == ["ref-5"] and page.input_value("#search") == "IMG/5"
    shot(page, "queue-sorted-searched")

    page.click("tbody a")
    page.wait_for_url(re.compile(r"/review/hits/"))
    hit_id = page.url.split("/review/hits/")[1].split("?")[0]
    wait_live(page)
    # Typing in the note must not trigger the c / r / s shortcuts.
    page.fill("#note-text", "")
    page.locator("#note-text").press_sequentially("crs: <i>clear</i> match")
    page.click("#note-submit")
    page.wait_for_url(re.compile(rf"/review/hits/{hit_id}"))
    assert "Note kept." in page.locator(".flash").inner_text()
    assert page.locator(".note-text").all_inner_texts() == ["crs: <i>clear</i> match"]
    assert page.locator("#notes li b").inner_text() == "ana"
    assert env.services.review.decisions(hit_id) == []
    assert hit_id not in env.services.review.skipped("ana", env.services.now())
    shot(page, "item-note")

    wait_live(page)
    page.keyboard.press("c")  # now a decision, outside the text field
    page.wait_for_url(lambda u: hit_id not in u)
    page.goto(url + "/review?q=img/5")
    marks = page.locator("td.marks").inner_text()
    assert "you: confirmed" in marks and "1 note" in marks
