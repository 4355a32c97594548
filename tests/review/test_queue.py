"""Queue order, claims and their timeout, consensus, duplicates, and the image proxy, on
both service-store backends (SQLite and PostgreSQL)."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from review import queue
from review.proxy import show
from review.queue import Filters, ReviewError
from tests.review.fixtures import Env, environment


@pytest.fixture
def env(tmp_path: Path, kodak: list[Path], service_db: str) -> Iterator[Env]:
    with environment(tmp_path, kodak, db=service_db) as e:
        yield e


class Clock:
    def __init__(self, now: str) -> None:
        self.now = now

    def __call__(self) -> str:
        return self.now


def test_next_hit_follows_priority_and_claims(env: Env) -> None:
    s = env.services
    first = queue.next_hit(s, "ana", Filters())
    second = queue.next_hit(s, "ben", Filters())
    assert first is not None and second is not None
    assert (first.case_id, first.distance) == ("case-a", 2)  # priority 2, closest first
    assert second.id != first.id  # ana's claim hides it from ben
    assert queue.claim(s, "ben", first.id) == "ana"
    with pytest.raises(ReviewError, match="ana is reviewing"):
        queue.decide(s, "ben", first.id, "confirmed", "")


def test_claims_lapse_after_the_timeout(env: Env) -> None:
    s = env.services
    clock = Clock("2026-05-01T10:00:00Z")
    s.clock = clock
    hit = queue.next_hit(s, "ana", Filters())
    assert hit is not None
    assert queue.claim(s, "ben", hit.id) == "ana"
    clock.now = "2026-05-01T10:11:00Z"  # claim_minutes is 10
    assert queue.claim(s, "ben", hit.id) is None


def test_admin_priority_override_reorders_the_queue(env: Env) -> None:
    s = env.services
    s.review.set_setting("case_priorities", {"case-b": 9})
    hit = queue.next_hit(s, "ana", Filters())
    assert hit is not None and (hit.case_id, hit.distance) == ("case-b", 4)


def test_consensus_needs_n_agreeing_analysts(env: Env) -> None:
    s = env.services
    s.review.set_setting("consensus", 3)
    hit = env.hits[1]
    assert queue.decide(s, "ana", hit.id, "rejected", "different person") == "pending"
    with pytest.raises(ReviewError, match="already decided"):
        queue.decide(s, "ana", hit.id, "rejected", "again")
    with pytest.raises(ReviewError, match="reason"):
        queue.decide(s, "ben", hit.id, "rejected", "  ")
    assert queue.decide(s, "ben", hit.id, "rejected", "different person") == "pending"
    assert queue.decide(s, "cy", hit.id, "rejected", "different person") == "rejected"
    assert s.hits.get_hit(hit.id)[0].status == "rejected"


def test_disagreement_opens_a_dispute_and_leaves_the_queue(env: Env) -> None:
    s = env.services
    hit = env.hits[1]
    queue.decide(s, "ana", hit.id, "confirmed", "")
    assert queue.decide(s, "ben", hit.id, "rejected", "not it") == "disputed"
    assert hit.id in queue.hidden_for(s, "cy")
    with pytest.raises(ReviewError, match="say why"):
        queue.resolve(s, "adm", hit.id, "rejected", "")
    queue.resolve(s, "adm", hit.id, "rejected", "page context shows another person")
    assert s.hits.get_hit(hit.id)[0].status == "rejected"


def test_bulk_confirms_exact_duplicates_of_a_confirmed_hit(env: Env) -> None:
    s = env.services
    original, duplicate = env.hits[4], env.hits[6]  # same bytes at two URLs
    with pytest.raises(ReviewError, match="confirmed hit"):
        queue.bulk(s, "ana", duplicate, "confirmed", "")
    for name in ("ana", "ben"):
        queue.decide(s, name, original.id, "confirmed", "")
    assert queue.bulk(s, "ana", duplicate, "confirmed", "") == {duplicate.id: "pending"}
    assert s.hits.get_hit(duplicate.id)[0].status == "pending", "one analyst is one vote"
    assert queue.bulk(s, "ben", duplicate, "confirmed", "") == {duplicate.id: "confirmed"}
    assert s.hits.get_hit(duplicate.id)[0].status == "confirmed"


def test_bulk_reject_by_one_analyst_waits_for_consensus(env: Env) -> None:
    s = env.services
    original, duplicate = env.hits[4], env.hits[6]
    for name in ("ana", "ben"):
        queue.decide(s, name, original.id, "confirmed", "")
    assert queue.bulk(s, "ana", duplicate, "rejected", "thumbnail") == {duplicate.id: "pending"}
    assert queue.bulk(s, "ana", duplicate, "rejected", "again") == {}, "a second bulk by ana"
    assert s.hits.get_hit(duplicate.id)[0].status == "pending"
    assert [d.username for d in s.review.decisions(duplicate.id)] == ["ana"]
    # ben disagrees: a dispute for an admin, not a decision
    assert queue.decide(s, "ben", duplicate.id, "confirmed", "") == "disputed"
    assert s.hits.get_hit(duplicate.id)[0].status == "pending"
    assert duplicate.id in {d.hit_id for d in s.review.disputes()}


def test_bulk_votes_of_two_analysts_decide_the_duplicate(env: Env) -> None:
    s = env.services
    original, duplicate = env.hits[4], env.hits[6]
    for name in ("ana", "ben"):
        queue.decide(s, name, original.id, "confirmed", "")
    queue.bulk(s, "ana", duplicate, "rejected", "thumbnail")
    assert queue.bulk(s, "ben", duplicate, "rejected", "thumbnail") == {duplicate.id: "rejected"}
    assert s.hits.get_hit(duplicate.id)[0].status == "rejected"


def test_exposure_budget_counts_reveals_per_day(env: Env) -> None:
    s = env.services
    s.review.set_setting("exposure_budget", 5)
    s.review.update_user("ben", exposure_budget=2)
    s.review.record_reveal("ben", env.hits[0].id, s.now())
    assert queue.budget(s, "ben") == (1, 2)
    assert queue.budget(s, "ana") == (0, 5)


def test_proxy_blurs_by_default_and_says_when_content_is_gone(env: Env) -> None:
    hit = env.hits[0]
    blurred = show(env.services.fetcher, hit.image_url, hit.content_sha256, reveal=False)
    revealed = show(
        env.services.fetcher, hit.image_url, hit.content_sha256, reveal=True, greyscale=False
    )
    assert blurred.state == revealed.state == "present"
    sharp = Image.open(io.BytesIO(revealed.body)).convert("L")
    soft = Image.open(io.BytesIO(blurred.body)).convert("L")
    edges = lambda im: sum(abs(a - b) for a, b in zip(im.tobytes(), im.tobytes()[1:], strict=False))  # noqa: E731
    assert edges(soft) * 4 < edges(sharp)  # far less detail
    grey = Image.open(io.BytesIO(blurred.body)).convert("RGB")
    assert all(
        r == g == b or abs(r - g) < 8
        for r, g, b in list(grey.tobytes()[i : i + 3] for i in range(0, len(grey.tobytes()), 291))
    )
    del env.site.files["/img/1.jpg"]
    gone = show(env.services.fetcher, hit.image_url, hit.content_sha256, reveal=False)
    assert gone.state == "gone" and gone.content_type == "image/svg+xml"
    changed = show(env.services.fetcher, env.hits[1].image_url, "00" * 32, reveal=False)
    assert changed.state == "changed"


def test_proxy_refuses_private_addresses_without_the_opt_in(env: Env) -> None:
    from notices.fetch import Fetcher

    shown = show(Fetcher(), env.hits[0].image_url, env.hits[0].content_sha256, reveal=True)
    assert (
        shown.state == "error"
        and "loopback" in shown.detail
        and not shown.body.startswith(b"\xff\xd8")
    )


def test_only_a_user_who_can_vote_claims_on_both_backends(env: Env) -> None:
    s = env.services
    ana, adm = s.review.get_user("ana"), s.review.get_user("adm")
    hit = env.hits[1]
    assert queue.open_hit(s, adm, hit) == (False, None)
    assert s.review.claim_of(hit.id, s.now()) is None
    assert queue.open_hit(s, ana, hit) == (True, None)
    assert queue.open_hit(s, adm, hit) == (False, "ana")
    queue.decide(s, "ana", hit.id, "confirmed", "")
    assert queue.open_hit(s, ana, hit) == (False, None)
    assert s.review.claim_of(hit.id, s.now()) is None


def test_undo_and_reopen_on_both_backends(env: Env) -> None:
    s = env.services
    clock = Clock("2026-05-01T10:00:00Z")
    s.clock = clock
    hit = env.hits[1]
    queue.decide(s, "ana", hit.id, "confirmed", "")
    queue.decide(s, "ben", hit.id, "rejected", "not it")
    assert [d.hit_id for d in s.review.disputes()] == [hit.id]
    clock.now = "2026-05-01T10:04:00Z"
    assert queue.undo(s, "ben", hit.id).decision == "rejected"
    assert s.review.disputes() == []
    with pytest.raises(ReviewError, match="last decision"):
        queue.undo(s, "ben", hit.id)
    queue.decide(s, "ben", hit.id, "confirmed", "")
    assert s.hits.get_hit(hit.id)[0].status == "confirmed"
    assert queue.confirmation(s, hit.id).analysts == 2
    with pytest.raises(ReviewError, match="re-open"):
        queue.undo(s, "ben", hit.id)
    votes = queue.reopen(s, "adm", hit.id, "both wrong: another person")
    assert sorted(v.username for v in votes) == ["ana", "ben"]
    assert s.hits.get_hit(hit.id)[0].status == "pending"
    assert s.review.decisions(hit.id) == [] and queue.confirmation(s, hit.id).analysts == 0
