"""The target URL rule (the wire's ``check_url``) against hostile strings: it answers
(accept or a RecordError) for anything, and what it accepts a crawler can use: a host
without blanks, a port in 1..65535, no control characters, storable as a Target."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from hypothesis import example, given

from store import Target
from store.models import target_url_problem
from tests.fuzz.strategies import urlish
from wire.records import RecordError, check_url


@given(urlish)
@example("http://exa mple.com/")
@example("http://127.0.0.1:99999/")
@example("http://127.0.0.1:0/")
@example("http://[::1/x")
@example("http://h.example:-1/")
@example("http://h.example:+80/")
@example("http://h.example/\r\nx")
def test_the_url_rule_answers_and_what_it_accepts_is_crawlable(url: str) -> None:
    try:
        check_url(url, "url")
    except RecordError:
        assert target_url_problem(url)
        return
    assert target_url_problem(url) is None
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https")
    assert parts.hostname and " " not in parts.hostname
    assert parts.port is None or 1 <= parts.port <= 65535
    assert not re.search(r"[\x00-\x1f\x7f]", url)
    Target("c1", url, (parts.hostname,))  # the store's own shape check agrees
