"""The app's layout in headless Chromium at a phone's width (390 x 844) and a desktop's
(1280 x 800), for each role: no sideways page scroll, every menu entry reachable, a skip
link first, and a focus ring with 3:1 contrast that no ancestor clips (WCAG 2.2 AA 1.4.10,
2.4.1, 2.4.7, 1.4.11). ``RADAR_SCREENSHOTS=<folder>`` keeps a screenshot of each page.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from review import queue
from review.web import templates
from tests.review.fixtures import PASSWORD, Env, environment, live_app
from tests.review.test_browser import shot, signed_in

PHONE, DESKTOP = (390, 844), (1280, 800)
MENU_BREAKPOINT = 960  # app.css: below it the menu is a disclosure behind #menu-toggle
MAX_TABS = 80  # focus stops checked per page (the users page has the most)

# The ring of the focused element, what lies just outside it, and which ancestors clip it.
# Backgrounds are composited up the tree (a translucent hover over the header is the
# header's colour, mostly); a point outside the viewport is not sampled.
RING = """() => {
  const el = document.activeElement;
  const rgba = (c) => {
    const m = c.match(/rgba?\\(([^)]*)\\)/);
    if (!m) return [0, 0, 0, 0];
    const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
    return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
  };
  const background = (node) => {
    const layers = [];
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let out = [255, 255, 255];
    for (const c of layers.reverse()) out = out.map((v, i) => c[i] * c[3] + v * (1 - c[3]));
    return out;
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const contrast = (a, b) => {
    const [x, y] = [lum(a), lum(b)].sort((p, q) => p - q);
    return (y + 0.05) / (x + 0.05);
  };
  const cs = getComputedStyle(el);
  const width = parseFloat(cs.outlineWidth) || 0;
  const reach = (parseFloat(cs.outlineOffset) || 0) + width;
  const r = el.getBoundingClientRect();
  const ring = {l: r.left - reach, t: r.top - reach, r: r.right + reach, b: r.bottom + reach};
  const colour = rgba(cs.outlineColor);
  const cx = (r.left + r.right) / 2, cy = (r.top + r.bottom) / 2;
  const points = [[ring.l - 1, cy], [ring.r + 1, cy], [cx, ring.t - 1], [cx, ring.b + 1]]
    .filter(([x, y]) => x >= 0 && y >= 0 && x < innerWidth && y < innerHeight);
  const ratios = [];
  for (const [x, y] of points) {
    const under = document.elementsFromPoint(x, y).find((n) => n !== el && !el.contains(n));
    if (under) ratios.push(contrast(colour, background(under)));
  }
  const clipped = [];
  for (let n = el.parentElement; n && n !== document.body; n = n.parentElement) {
    const s = getComputedStyle(n);
    if (s.overflowX === "visible" && s.overflowY === "visible") continue;
    const b = n.getBoundingClientRect();
    const L = b.left + n.clientLeft, T = b.top + n.clientTop;
    const R = L + n.clientWidth, B = T + n.clientHeight;
    if (ring.l < L - 0.5 || ring.r > R + 0.5 || ring.t < T - 0.5 || ring.b > B + 0.5)
      clipped.push(n.tagName + "." + n.className);
  }
  if (ring.l < -0.5 || ring.r > innerWidth + 0.5) clipped.push("viewport");
  return {
    what: el.tagName + (el.id ? "#" + el.id : "") + " " + el.textContent.trim().slice(0, 30),
    style: cs.outlineStyle, width, ratios, clipped,
  };
}"""

FIRST_FOCUSABLE = """() => {
  const all = document.querySelectorAll(
    "a[href], button, input:not([type=hidden]), select, textarea, [tabindex]");
  for (const el of all) {
    if (el.tabIndex < 0 || el.disabled) continue;
    return el.className + " " + el.getAttribute("href");
  }
  return "";
}"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, kodak: list[Path]) -> Iterator[Any]:
    """One app for the module: hits confirmed and put in a notice draft, one dispute."""
    with environment(tmp_path_factory.mktemp("layout"), kodak) as env, live_app(env) as url:
        s = env.services
        for i in (0, 1, 3):
            for name in ("ana", "ben"):
                queue.decide(s, name, env.hits[i].id, "confirmed", "")
        queue.decide(s, "ana", env.hits[4].id, "confirmed", "")
        queue.decide(s, "ben", env.hits[4].id, "rejected", "a different picture")
        confirmed = [s.hits.get_hit(env.hits[i].id)[0] for i in (0, 1)]
        draft = s.desk.draft(
            confirmed[0].site,
            confirmed,
            "dsa",
            "abuse@snapshare.example",
            "host",
            "lea",
            queue.settings(s)["notifier"],
        )
        yield env, url, draft.id


def pages(env: Env, username: str, notice_id: int) -> list[str]:
    host = env.hits[0].site
    return {
        "ana": [
            "/review",
            f"/review/hits/{env.hits[2].id}",
            "/review/mine",
            "/prefs",
            "/review/cases/case-a",
        ],
        "lea": [
            "/notices",
            f"/notices/{notice_id}",
            f"/notices/new?host={host}",
            "/contacts",
            "/dashboard",
            f"/dashboard/hosts/{host}",
            "/review/cases/case-b",
        ],
        "adm": [
            "/admin/disputes",
            "/admin/users",
            "/admin/cases",
            "/admin/settings",
            "/admin/audit",
            f"/review/hits/{env.hits[0].id}",
        ],
    }[username]


def nav_labels(env: Env, username: str) -> list[str]:
    user = env.services.review.get_user(username)
    return [
        label for roles, _, label in templates.env.globals["roles_nav"] if user.has(*roles.split())
    ]


def no_page_scroll(page: Any) -> None:
    scroll, width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= width, f"{page.url}: the page scrolls sideways ({scroll} > {width})"


def inside_viewport(page: Any, locator: Any) -> None:
    box = locator.bounding_box()
    width, height = page.viewport_size["width"], page.viewport_size["height"]
    assert box and box["width"] > 0 and box["height"] > 0, locator
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, (locator, box)
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, (locator, box)


def ring_ok(page: Any) -> dict[str, Any]:
    ring = page.evaluate(RING)
    assert ring["style"] != "none" and ring["width"] >= 2, ring
    assert ring["ratios"], ring  # something around it was sampled
    assert min(ring["ratios"]) >= 3, ring
    assert not ring["clipped"], ring
    return ring


def check_menu(page: Any, env: Env, username: str, phone: bool) -> None:
    """Every menu entry is visible (after opening the disclosure on a phone)."""
    toggle = page.locator("#menu-toggle")
    links = page.locator("nav[aria-label=Main] a")
    who = page.locator(".who a, .who button")
    if phone:
        assert toggle.is_visible() and toggle.get_attribute("aria-expanded") == "false"
        assert not links.first.is_visible()
        toggle.focus()
        page.keyboard.press("Enter")  # a button: the keyboard opens it
        assert toggle.get_attribute("aria-expanded") == "true"
        ring_ok(page)
    else:
        assert not toggle.is_visible()
    assert links.all_inner_texts() == nav_labels(env, username)
    for item in [*links.all(), *who.all()]:
        inside_viewport(page, item)
    if phone:
        # Tab walks the open menu (its scroll box must not clip a ring), Escape closes it
        # and brings focus back to the button.
        for _ in range(links.count() + who.count()):
            page.keyboard.press("Tab")
            ring_ok(page)
        shot(page, f"layout-{username}-menu-open")
        page.keyboard.press("Escape")
        assert toggle.get_attribute("aria-expanded") == "false"
        assert page.evaluate("() => document.activeElement.id") == "menu-toggle"
        assert not links.first.is_visible()


def check_skip_link(page: Any) -> None:
    page.keyboard.press("Tab")
    skip = page.locator(":focus")
    assert skip.get_attribute("class") == "skip", page.url
    assert skip.inner_text() == "Skip to main content"
    assert skip.get_attribute("href") == "#main"
    inside_viewport(page, skip)
    ring_ok(page)
    page.keyboard.press("Enter")
    assert page.evaluate("() => [document.activeElement.tagName, document.activeElement.id]") == [
        "MAIN",
        "main",
    ]
    page.keyboard.press("Tab")  # and on from there: into the page's content
    assert page.evaluate("() => document.querySelector('main').contains(document.activeElement)")


def check_focus_rings(page: Any) -> int:
    """Tab through the page from the top; every stop has a ring. Returns the stops seen."""
    page.evaluate("() => window.scrollTo(0, 0)")
    seen = 0
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement === document.body"):
            break
        ring_ok(page)
        seen += 1
    return seen


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390px", "1280px"])
@pytest.mark.parametrize("username", ["ana", "lea", "adm"])
def test_layout_for_each_role(
    browser: Any, site: tuple[Env, str, int], username: str, viewport: tuple[int, int]
) -> None:
    env, url, notice_id = site
    phone = viewport[0] < MENU_BREAKPOINT
    page = signed_in(browser, url, username, viewport)
    for path in pages(env, username, notice_id):
        response = page.goto(url + path)
        assert response is not None and response.status == 200, path
        no_page_scroll(page)
        for region in page.locator(".table-scroll").all():
            assert region.get_attribute("role") == "region"
            assert region.get_attribute("tabindex") == "0"
            assert region.get_attribute("aria-label")
            assert page.locator(".table-scroll table").count()
        name = path.strip("/").split("?")[0].replace("/", "-")[:24]
        shot(page, f"layout-{viewport[0]}-{username}-{name}")
        check_skip_link(page)
        page.goto(url + path)
        check_menu(page, env, username, phone)
        page.goto(url + path)
        assert check_focus_rings(page) >= 3, path
        no_page_scroll(page)  # nothing focused pushed the page wider
    page.context.close()


def test_wide_tables_scroll_in_their_region_on_a_phone(
    browser: Any, site: tuple[Env, str, int]
) -> None:
    _, url, _ = site
    page = signed_in(browser, url, "adm", PHONE)
    page.goto(url + "/admin/users")
    region = page.locator(".table-scroll").first
    sizes = region.evaluate("(r) => [r.scrollWidth, r.clientWidth]")
    assert sizes[0] > sizes[1], "the users table should be wider than a phone"
    region.focus()
    page.keyboard.press("ArrowRight")  # the focused region scrolls with the keyboard
    for _ in range(40):  # (smoothly: wait for it)
        if region.evaluate("(r) => r.scrollLeft") > 0:
            break
        page.wait_for_timeout(50)
    assert region.evaluate("(r) => r.scrollLeft") > 0
    no_page_scroll(page)
    page.context.close()


def test_menu_without_javascript_is_wrapped_and_complete(
    browser: Any, site: tuple[Env, str, int]
) -> None:
    env, url, _ = site
    context = browser.new_context(
        viewport={"width": PHONE[0], "height": PHONE[1]}, java_script_enabled=False
    )
    page = context.new_page()
    page.goto(url + "/login")
    page.fill("input[name=username]", "adm")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert not page.locator("#menu-toggle").is_visible()
    links = page.locator("nav[aria-label=Main] a")
    assert links.all_inner_texts() == nav_labels(env, "adm")
    for item in [*links.all(), *page.locator(".who a, .who button").all()]:
        inside_viewport(page, item)
    no_page_scroll(page)
    shot(page, "layout-390-adm-nojs")
    context.close()


def test_sign_in_page_starts_with_the_skip_link(browser: Any, site: tuple[Env, str, int]) -> None:
    _, url, _ = site
    for width, height in (PHONE, DESKTOP):
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(url + "/login")
        no_page_scroll(page)
        assert page.evaluate(FIRST_FOCUSABLE) == "skip #main"
        assert page.locator("main#main").count() == 1
        page.close()
