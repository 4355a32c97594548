"""The guarded fetch and the HTTP re-checks against a hostile host (tests/hostile_hosts.py,
on 127.0.0.1): every failure is one FetchError with a named reason, in bounded time and
memory, and a re-check round goes on past a host that does not speak HTTP."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import Iterator
from dataclasses import replace

import pytest

from crawler.failures import REASONS, FetchError
from notices.fetch import Fetcher
from notices.recheck import HttpRechecker
from notices.storage import SqlNoticeStore
from notices.tracking import NoticeDesk
from tests.hostile_hosts import HOSTILE_SECURITY_TXT, HostileHost, elapsed, small_png
from tests.notices.samples import NOTIFIER, notice
from tests.notices.test_tracking import Clock, Mailer, hits

LOOPBACK = ["127.0.0.1/32"]
TIMEOUT = 1.5
# mode -> the reason its fetch must fail with
EXPECTED = {
    "/garbage": "not_http",
    "/silent": "connection",
    "/reset": "connection",
    "/drip": "timeout",
    "/drip-body": "timeout",
    "/hang": "timeout",
    "/endless-headers": "too_large",
    "/huge-header": "too_large",
    "/redirect-loop": "redirects",
    "/short-length": "incomplete",
    "/gzip-bomb": "too_large",
}


@pytest.fixture(scope="module")
def host() -> Iterator[HostileHost]:
    with HostileHost(drip_interval=2.0) as h:
        yield h


def fetcher(**kwargs: object) -> Fetcher:
    return Fetcher.with_networks(LOOPBACK, **{"timeout": TIMEOUT, **kwargs})


@pytest.mark.parametrize("mode", sorted(EXPECTED))
def test_every_hostile_answer_is_one_named_fetch_error(host: HostileHost, mode: str) -> None:
    def get() -> FetchError:
        with pytest.raises(FetchError) as caught:
            fetcher().get(host.url(mode))
        return caught.value

    error, seconds = elapsed(get)
    assert error.reason == EXPECTED[mode], error.detail
    assert error.reason in REASONS and error.detail.startswith(f"{error.reason}: ")
    assert seconds < TIMEOUT + 2


def test_one_deadline_per_request_not_per_read(host: HostileHost) -> None:
    # One byte every 2 s: a per-read timeout of 3 s never fires (main ran on past 40 s).
    three = Fetcher.with_networks(LOOPBACK, timeout=3)
    for mode in ("/drip", "/drip-body"):
        error, seconds = elapsed(lambda m=mode: _fails(three, host.url(m)))  # type: ignore[misc]
        assert error.reason == "timeout" and 2.9 < seconds < 5, (mode, seconds)


def test_tls_to_a_host_that_never_answers_the_handshake_is_bounded(host: HostileHost) -> None:
    error, seconds = elapsed(lambda: _fails(fetcher(), host.url("/hang", scheme="https")))
    assert error.reason in ("timeout", "tls") and seconds < TIMEOUT + 2


def test_a_body_longer_than_its_length_is_cut_at_the_length(host: HostileHost) -> None:
    got = fetcher().get(host.url("/long-length"))
    assert got.status == 200 and got.body == small_png()[:10]


def test_a_gzip_bomb_costs_no_more_memory_than_the_byte_cap(host: HostileHost) -> None:
    cap = 1 << 20  # 64 MiB of zeros behind about 290 KB of gzip
    tracemalloc.start()
    try:
        error = _fails(fetcher(max_bytes=cap), host.url("/gzip-bomb"))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.reason == "too_large"
    assert peak < 4 * cap, f"peak {peak / 2**20:.1f} MiB"  # compressed body + cap + 1


def test_the_http_rechecker_answers_error_for_every_hostile_mode(host: HostileHost) -> None:
    checker = HttpRechecker(fetcher())
    for mode, reason in EXPECTED.items():
        result, seconds = elapsed(lambda m=mode: checker.check(host.url(m), "00" * 32))  # type: ignore[misc]
        assert result.status == "error" and result.detail.startswith(f"{reason}: "), mode
        assert seconds < TIMEOUT + 2
    bomb = checker.check(host.url("/png-bomb"), "00" * 32)
    assert bomb.status == "changed"  # bytes are compared, never decoded: nothing to blow up


def test_a_recheck_round_goes_on_past_hostile_hosts(host: HostileHost) -> None:
    clock = Clock()
    desk = NoticeDesk(SqlNoticeStore(":memory:"), clock)
    modes = ["/garbage", "/huge-header", "/redirect-loop", "/silent", "/ok.png"]
    ok_sha = hashlib.sha256(small_png()).hexdigest()
    found = [
        replace(hit, image_url=host.url(mode), content_sha256=ok_sha)
        for hit, mode in zip(hits(len(modes)), modes, strict=True)
    ]
    draft = desk.draft(
        "img.tube.example", found, "takeitdown", "abuse@hosting.example", "host", "lea", NOTIFIER
    )
    desk.update_draft(draft.id, "lea", notice("takeitdown").fields, draft.recipient, "takeitdown")
    desk.send(draft.id, "lea", Mailer())

    summary = desk.recheck(HttpRechecker(fetcher()))

    assert summary.checked == len(modes) and summary.errors == len(modes) - 1
    latest = {url: desk.store.rechecks(url, 1)[0] for url in (host.url(m) for m in modes)}
    assert latest[host.url("/ok.png")].status == "still_there"
    assert latest[host.url("/garbage")].detail.startswith("not_http: ")
    assert latest[host.url("/redirect-loop")].detail.startswith("redirects: ")


def _fails(f: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        f.get(url)
    return caught.value


def test_a_hostile_security_txt_is_refused_whole_not_truncated(host: HostileHost) -> None:
    from notices.contacts import SECURITY_TXT_MAX, from_security_txt

    (contacts, summary), seconds = elapsed(
        lambda: from_security_txt(host.url("/"), fetcher(), "2026-03-02T09:30:00Z")
    )
    assert len(HOSTILE_SECURITY_TXT) > SECURITY_TXT_MAX
    assert contacts == [] and f"over the {SECURITY_TXT_MAX} cap" in summary
    assert seconds < TIMEOUT + 2


def test_the_review_proxy_survives_every_mode_in_bounded_memory(host: HostileHost) -> None:
    from hashing.decode import DecodeLimits
    from review.proxy import show

    cap = DecodeLimits().max_bytes
    for mode in [*EXPECTED, "/png-bomb"]:
        tracemalloc.start()
        try:
            shown, seconds = elapsed(lambda m=mode: show(fetcher(), host.url(m), "0" * 64, False))  # type: ignore[misc]
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert shown.state == "error" and shown.http_status in (502, 504), (mode, shown.detail)
        assert shown.reason, mode
        assert seconds < TIMEOUT + 2, mode
        # at most one capped body (32 MiB, the gzip bomb's decoded part) plus its input
        assert peak < cap + 8 * 2**20, (mode, peak)


def test_an_unasked_encoding_is_undone_within_the_cap_or_refused() -> None:
    import gzip
    import zlib

    from notices.fetch import _decoded

    body = small_png() * 50
    assert _decoded(gzip.compress(body), "gzip", len(body)) == body
    assert _decoded(zlib.compress(body), "deflate", len(body)) == body
    for encoded, encoding, reason in [
        (gzip.compress(body), "gzip", "too_large"),  # one byte over the cap
        (b"not gzip at all", "gzip", "encoding"),
        (body, "br", "encoding"),
    ]:
        with pytest.raises(FetchError) as caught:
            _decoded(encoded, encoding, len(body) - 1)
        assert caught.value.reason == reason
