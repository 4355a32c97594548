"""The app in real headless Chromium (Playwright, Debian's /usr/bin/chromium) on 127.0.0.1.

These fail, never skip, when Chromium is missing (``apt-get install chromium``). Set
``RADAR_SCREENSHOTS=docs/screenshots`` to keep a screenshot of every page visited.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from review import queue
from tests.review.fixtures import PASSWORD, Env, environment, live_app


@pytest.fixture
def live(tmp_path: Path, kodak: list[Path]) -> Iterator[tuple[Env, str]]:
    with environment(tmp_path, kodak) as env, live_app(env) as url:
        yield env, url


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("RADAR_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def signed_in(
    browser: Any, url: str, username: str, viewport: tuple[int, int] = (1360, 900)
) -> Any:
    context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto(url + "/")
    assert "/login" in page.url
    shot(page, "01-login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/login" not in page.url, page.content()[:500]
    return page


def wait_live(page: Any) -> str:
    # Locators, not wait_for_function: the app's CSP (kept on in tests) forbids eval.
    page.locator("#live:not([data-state='loading'])").wait_for()
    return str(page.get_attribute("#live", "data-state"))


def test_login_rejects_a_wrong_password(browser: Any, live: tuple[Env, str]) -> None:
    env, url = live
    page = browser.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", "ana")
    page.fill("input[name=password]", "not the password")
    page.click("button[type=submit]")
    assert page.locator(".error").inner_text() == "Wrong user name or password."
    assert [e.action for e in env.services.review.audit_entries("ana")] == ["login failed"]


def test_review_with_the_keyboard(browser: Any, live: tuple[Env, str]) -> None:
    env, url = live
    page = signed_in(browser, url, "ana")
    assert page.url.endswith("/review")
    shot(page, "02-queue")
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r"/review/hits/"))
    first = page.url.split("/review/hits/")[1].split("?")[0]
    assert wait_live(page) == "present"
    assert page.get_attribute("#candidate", "data-view") == "blurred"
    shot(page, "03-item-blurred")
    # Highest case priority first, then the smallest distance: case-a, distance 2.
    hit, _ = env.services.hits.get_hit(first)
    assert (hit.case_id, hit.distance) == ("case-a", 2)

    page.keyboard.press("c")
    page.wait_for_url(lambda u: first not in u)
    assert "Recorded" in page.locator(".flash").inner_text()
    second = page.url.split("/review/hits/")[1].split("?")[0]
    wait_live(page)
    page.keyboard.press("r")
    assert page.locator("#reject-dialog").is_visible()
    shot(page, "04-reject-dialog")
    page.keyboard.press("Enter")  # no reason: refused in the page
    assert page.locator("#reject-error").is_visible()
    page.fill("#reject-reason", "a different picture of the same street")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda u: second not in u)
    third = page.url.split("/review/hits/")[1].split("?")[0]
    wait_live(page)
    page.keyboard.press("s")
    page.wait_for_url(lambda u: third not in u)

    decisions = {d.hit_id: d for h in (first, second) for d in env.services.review.decisions(h)}
    assert decisions[first].decision == "confirmed"
    assert decisions[second].decision == "rejected"
    assert "different picture" in decisions[second].reason
    assert third in env.services.review.skipped("ana", env.services.now())
    actions = [e.action for e in env.services.review.audit_entries("ana")]
    assert {"decision confirmed", "decision rejected", "skip", "view hit"} <= set(actions)


def test_keys_decide_nothing_before_the_candidate_loaded(
    browser: Any, live: tuple[Env, str]
) -> None:
    env, url = live
    page = signed_in(browser, url, "ana")
    held: list[Any] = []
    page.route(re.compile(r"/review/hits/[0-9a-f]+/image$"), lambda route: held.append(route))
    hit = env.hits[0]
    page.goto(f"{url}/review/hits/{hit.id}")
    page.locator("#actions").wait_for()
    for _ in range(100):  # the candidate's request is held, so it cannot have loaded
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the candidate image was never requested"
    page.keyboard.press("c")
    page.keyboard.press("r")
    page.locator("#key-wait").wait_for()
    assert not page.locator("#reject-dialog").is_visible()
    assert env.services.review.decisions(hit.id) == []
    assert hit.id in page.url
    held[0].continue_()
    page.locator("#candidate[data-ready='1']").wait_for(state="attached")
    page.keyboard.press("c")
    page.wait_for_url(lambda u: hit.id not in u)
    assert [(d.username, d.decision) for d in env.services.review.decisions(hit.id)] == [
        ("ana", "confirmed")
    ]


def test_reveal_one_image(browser: Any, live: tuple[Env, str]) -> None:
    env, url = live
    env.services.review.set_setting("exposure_budget", 1)
    page = signed_in(browser, url, "ana")
    hit = env.hits[0]
    page.goto(f"{url}/review/hits/{hit.id}")
    wait_live(page)
    assert page.locator("#exposure-count").inner_text() == "0"
    with page.expect_response(re.compile(r"/image\?grant=")) as shown:
        page.keyboard.press("v")
    assert shown.value.headers["x-radar-view"] == "revealed"
    page.locator("#candidate[data-view='revealed']").wait_for()
    assert page.locator("#exposure-count").inner_text() == "1"
    assert env.services.review.reveals_since("ana", env.services.day_start()) == 1
    page.keyboard.press("h")
    page.locator("#candidate[data-view='blurred']").wait_for()
    # The budget of 1 is spent: Reveal stays off and says why; v does nothing.
    assert page.locator("#reveal").is_disabled()
    page.keyboard.press("v")
    page.locator("#reveal-msg", has_text="last reveal of today's budget").wait_for()
    assert env.services.review.reveals_since("ana", env.services.day_start()) == 1
    # Opened again (or the next hit): Reveal and Confirm are off, with the reason.
    page.goto(f"{url}/review/hits/{env.hits[1].id}")
    assert page.locator("#reveal").is_disabled() and page.locator("#confirm").is_disabled()
    assert "exposure budget" in page.locator("#cap-msg").inner_text()
    wait_live(page)
    page.keyboard.press("c")
    page.wait_for_timeout(300)
    assert env.services.review.decisions(env.hits[1].id) == []


def test_consensus_with_two_analysts(browser: Any, live: tuple[Env, str]) -> None:
    env, url = live
    hit = env.hits[2]
    for name in ("ana", "ben"):
        page = signed_in(browser, url, name)
        page.goto(f"{url}/review/hits/{hit.id}")
        wait_live(page)
        page.keyboard.press("c")
        page.wait_for_url(lambda u: hit.id not in u)
        page.context.close()
    stored, _ = env.services.hits.get_hit(hit.id)
    assert stored.status == "confirmed"
    assert [d.username for d in env.services.review.decisions(hit.id)] == ["ana", "ben"]


def test_disagreement_goes_to_an_admin(browser: Any, live: tuple[Env, str]) -> None:
    env, url = live
    hit = env.hits[1]
    s = env.services
    queue.decide(s, "ana", hit.id, "confirmed", "")
    queue.decide(s, "ben", hit.id, "rejected", "not the reference picture")
    page = signed_in(browser, url, "adm")
    assert page.url.endswith("/admin/disputes")
    shot(page, "09-disputes")
    page.fill("input[name=note]", "checked the page context: it is the reference")
    page.click("button[value=confirmed]")
    page.wait_for_load_state()
    assert "Dispute resolved" in page.locator(".flash").inner_text()
    assert s.hits.get_hit(hit.id)[0].status == "confirmed"


def _confirm(env: Env, *indexes: int) -> None:
    for i in indexes:
        for name in ("ana", "ben"):
            queue.decide(env.services, name, env.hits[i].id, "confirmed", "")


def _notice_flow(browser: Any, url: str, env: Env) -> Any:
    _confirm(env, 0, 1, 3)
    page = signed_in(browser, url, "lea")
    assert page.url.endswith("/notices")
    shot(page, "05-notices-ready")
    page.click("text=Prepare notice")
    page.click("#discover")  # security.txt of the fixture site
    page.wait_for_load_state()
    assert "abuse@snapshare.example" in page.content()
    shot(page, "06-notice-new")
    page.click("#create-draft")
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    assert page.locator("#send").is_disabled()
    assert "bona fide" in page.locator("#problems").inner_text()
    page.check("input[name=bona_fide]")
    page.click("#save")
    page.wait_for_load_state()
    assert page.locator("#valid").is_visible()
    shot(page, "07-notice-draft")
    page.click("#send")
    page.wait_for_load_state()
    # A confirmation step: nothing is sent before "Send now".
    assert "abuse@snapshare.example" in page.locator("#confirm-recipient").inner_text()
    assert page.locator("#confirm-count").inner_text().startswith("3 URLs")
    assert env.outbox.messages == []
    shot(page, "07b-notice-confirm-send")
    page.click("#send-now")
    page.wait_for_load_state()
    assert "Sent to abuse@snapshare.example" in page.locator(".flash").inner_text()
    assert page.locator("#notice-status").inner_text() == "sent"
    return page


def test_generate_and_send_a_notice(browser: Any, live: tuple[Env, str]) -> None:
    env, url = live
    page = _notice_flow(browser, url, env)
    shot(page, "08-notice-sent")
    [msg] = env.outbox.messages
    assert msg["To"] == "abuse@snapshare.example"
    assert msg["Reply-To"] == "lea@hotline.example"
    body = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "Article 16" in body and env.hits[0].image_url in body
    [pdf] = [p for p in msg.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert pdf.get_content().startswith(b"%PDF")
    with page.expect_download() as download:
        page.click("#pdf")
    assert download.value.suggested_filename.endswith(".pdf")


def test_switching_the_regime_twice_keeps_everything_typed(
    browser: Any, live: tuple[Env, str]
) -> None:
    env, url = live
    _confirm(env, 0, 1)
    host = env.hits[0].site
    page = signed_in(browser, url, "lea")
    page.goto(f"{url}/notices/new?host={host}")
    page.click("#create-draft")
    page.wait_for_url(re.compile(r"/notices/\d+$"))
    typed = {
        "textarea[name=explanation]": "Typed DSA explanation.\nWith a second line.",
        "input[name=notifier_name]": "Typed Name",
        "input[name=notifier_phone]": "+34 911 111 111",
        "textarea[name=notifier_address]": "Typed Street 1\n28001 Madrid\nSpain",
    }
    for selector, value in typed.items():
        page.fill(selector, value)
    page.check("input[name=bona_fide]")
    page.select_option("#regime", "dmca")  # typed, not saved, then switched
    page.click("#switch-regime")
    page.wait_for_load_state()
    assert "switched to DMCA" in page.locator(".flash").inner_text()
    assert page.locator("textarea[name=explanation]").count() == 0
    assert "Why the content is illegal (Art. 16(2)(a)) (DSA)" in page.locator("#kept").inner_text()
    page.fill("textarea[name=work]", "Typed DMCA work.")
    page.fill("input[name=signature]", "/s/ Typed Name")
    page.check("input[name=good_faith]")
    for selector in ("input[name=notifier_name]", "textarea[name=notifier_address]"):
        assert page.input_value(selector) == typed[selector]
    page.select_option("#regime", "dsa")
    page.click("#switch-regime")
    page.wait_for_load_state()
    assert page.input_value("#regime") == "dsa"
    for selector, value in typed.items():
        assert page.input_value(selector) == value, selector
    assert page.is_checked("input[name=bona_fide]")
    kept = page.locator("#kept").inner_text()
    assert "The copyrighted work (DMCA)" in kept and "Signature (TAKE IT DOWN, DMCA)" in kept
    shot(page, "18-notice-switched-back")
    page.select_option("#regime", "dmca")
    page.click("#switch-regime")
    page.wait_for_load_state()
    assert page.input_value("textarea[name=work]") == "Typed DMCA work."
    assert page.input_value("input[name=signature]") == "/s/ Typed Name"
    assert page.is_checked("input[name=good_faith]")
    assert not page.is_checked("input[name=accuracy]")
    assert env.outbox.messages == []


def test_dashboard_updates_after_a_recheck_finds_the_content_gone(
    browser: Any, live: tuple[Env, str]
) -> None:
    env, url = live
    page = _notice_flow(browser, url, env)
    page.goto(url + "/dashboard")
    assert page.locator("#removed-total").inner_text() == "0"
    for i in (0, 1):  # the host takes two of the three images down
        del env.site.files[env.hits[i].image_url.split(env.base, 1)[1]]
    page.click("#recheck-all")
    page.wait_for_load_state()
    assert "2 newly gone" in page.locator(".flash").inner_text()
    assert page.locator("#removed-total").inner_text() == "2"
    assert page.locator("#hosts .removed-count").first.inner_text() == "2"
    assert "min" in page.locator("#hosts").inner_text()  # median time to removal shown
    shot(page, "10-dashboard")
    page.click("#hosts a")
    page.wait_for_load_state()
    shot(page, "11-host")


def test_bad_settings_are_shown_next_to_their_fields(browser: Any, live: tuple[Env, str]) -> None:
    env, url = live
    page = signed_in(browser, url, "adm")
    page.goto(url + "/admin/settings")
    before = env.services.review.settings()
    page.fill("input[name=consensus]", "7")
    page.fill("input[name=remind_after_hours]", "soon")
    page.fill("input[name=max_reminders]", "3")  # a good value: kept, not saved
    page.fill("textarea[name=notifier_address]", "Calle Mayor 1\n06200 Almendralejo\nSpain")
    page.click("text=Save settings")
    page.wait_for_load_state()
    assert "2 fields need a correction" in page.locator("#settings-errors").inner_text()
    assert "1 to 5" in page.locator("#consensus-error").inner_text()
    assert "number from 0 to 8760" in page.locator("#remind_after_hours-error").inner_text()
    assert page.input_value("input[name=consensus]") == "7"
    assert page.input_value("input[name=remind_after_hours]") == "soon"
    assert page.input_value("input[name=max_reminders]") == "3"
    assert page.input_value("textarea[name=notifier_address]").splitlines()[1] == (
        "06200 Almendralejo"
    )
    assert env.services.review.settings() == before
    shot(page, "19-settings-errors")


def test_every_page_renders(browser: Any, live: tuple[Env, str]) -> None:
    """A screenshot tour of the pages not covered above (and a check none is broken)."""
    _, url = live
    page = signed_in(browser, url, "adm")
    for path, name in (
        ("/admin/users", "12-users"),
        ("/admin/cases", "13-cases"),
        ("/admin/settings", "14-settings"),
        ("/admin/audit", "15-audit"),
        ("/prefs", "16-prefs"),
    ):
        response = page.goto(url + path)
        assert response is not None and response.status == 200, path
        shot(page, name)
    page.context.close()
    page = signed_in(browser, url, "lea")
    response = page.goto(url + "/contacts")
    assert response is not None and response.status == 200
    shot(page, "17-contacts")
