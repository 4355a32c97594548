"""A distributed crawl round's progress (crawler.storage, table round_pages), on both
backends: what `radar seed --wait` reads to know a round is crawled."""

from __future__ import annotations

from crawler.storage import CrawlStore
from store import Case, Target

T0 = "2026-12-03T10:00:00Z"


def test_a_round_is_finished_when_no_queued_page_is_left(service_db: str) -> None:
    store = CrawlStore(service_db)
    store.create_case(Case("c1"))
    target = store.add_target(Target("c1", "https://a.example/", ("a.example",)))
    rid = f"{target.id}@{T0}"
    store.queue_round_pages(rid, target.id, ["https://a.example/"], T0)
    [progress] = store.round_progress([rid]).values()
    assert (progress.queued, progress.done, progress.finished) == (1, 0, False)

    # the seed's two links are recorded before they are sent, one of them twice (two
    # pages link to it): one row
    links = ["https://a.example/p1", "https://a.example/p2"]
    store.queue_round_pages(rid, target.id, links, T0)
    store.queue_round_pages(rid, target.id, links[:1], T0)
    store.finish_round_page(rid, "https://a.example/", target.id, True, 3, T0)
    store.finish_round_page(rid, links[0], target.id, False, 0, T0)
    progress = store.round_progress([rid])[rid]
    assert (progress.queued, progress.done, progress.failed, progress.images) == (1, 1, 1, 3)
    assert not progress.finished

    # Kafka redelivers the seed after a crawler died: the first finish stays
    store.finish_round_page(rid, "https://a.example/", target.id, True, 0, T0)
    store.finish_round_page(rid, links[1], target.id, True, 2, T0)
    progress = store.round_progress([rid])[rid]
    assert (progress.queued, progress.done, progress.failed, progress.images) == (0, 2, 1, 5)
    assert progress.finished and progress.target_id == target.id

    # a round nobody recorded (crawlers without the store) is absent, never "finished"
    assert store.round_progress(["9@never"]) == {}
    store.close()


def test_a_page_finished_before_its_row_is_recorded_as_finished(service_db: str) -> None:
    """A crawler of an older release may finish a page the seeder never recorded."""
    store = CrawlStore(service_db)
    store.finish_round_page("1@x", "https://a.example/", 1, True, 1, T0)
    assert store.round_progress(["1@x"])["1@x"].finished
    store.close()
