"""At the daily reveal cap the hit page turns Reveal and Confirm off and says why;
below it they are on. The server still refuses a reveal over the budget."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.review.conftest import Client
from tests.review.fixtures import Env


def control(page: str, element_id: str) -> str:
    found = re.search(rf'<button[^>]*id="{element_id}"[^>]*>', page)
    assert found, element_id
    return found[0]


def test_controls_are_off_at_the_cap(env: Env, login: Callable[[str], Client]) -> None:
    env.services.review.update_user("ana", exposure_budget=1)
    ana = login("ana")
    hit = env.hits[0]
    page = ana.get(f"/review/hits/{hit.id}").text
    assert "disabled" not in control(page, "reveal") and "disabled" not in control(page, "confirm")
    assert 'id="cap-msg"' not in page
    headers = {"X-CSRF-Token": ana.csrf}
    assert ana.http.post(f"/review/hits/{hit.id}/reveal", headers=headers).status_code == 200
    page = ana.get(f"/review/hits/{env.hits[1].id}").text
    assert "disabled" in control(page, "reveal") and "disabled" in control(page, "confirm")
    assert "Daily exposure budget reached (1 of 1)" in page
    assert "Reveal and Confirm are off until tomorrow" in page
    assert 'id="reject-open"' in page  # rejecting and skipping go on
    refused = ana.http.post(f"/review/hits/{env.hits[1].id}/reveal", headers=headers)
    assert refused.status_code == 429
