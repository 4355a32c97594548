"""The distributed mode's orchestration: publishing banks on the bank topic and seeding
the crawl frontier with rounds (by hand, or the due targets under a lease). Its commands
are :mod:`radar.cli.distributed`."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from crawler.storage import CrawlStore
from radar.schedule import Round
from store import Target
from store.models import target_url_problem

log = logging.getLogger(__name__)


def publish_bank(store: CrawlStore, case_ids: list[str], bus: Any) -> int:
    """Publish the cases' rules and reference hashes on the bank topic; return how many
    entries. Idempotent: entries are keyed, the topic is compacted."""
    from wire import BANK_TOPIC, encode_bank_entry

    sent = []
    for case_id in case_ids:
        case = store.get_case(case_id)
        entries = [encode_bank_entry("case", case.to_dict())]
        entries += [encode_bank_entry("reference", r.to_dict()) for r in store.references(case_id)]
        sent += [bus.send(BANK_TOPIC, key, value) for key, value in entries]
    bus.flush()
    for delivery in sent:
        delivery.result(timeout=60)
    return len(sent)


def seed_targets(
    targets: list[Target], bus: Any, stamp: str, store: CrawlStore | None = None
) -> list[str]:
    """Publish each target's seed page as a new crawl round (``<target id>@<stamp>``);
    return the round ids. Blocks until Kafka acknowledged every seed. With ``store``, each
    seed is first recorded in its round's progress (``round_pages``, which the crawlers
    then keep: :func:`radar.rounds.wait_for_rounds`). A stored target whose URL cannot be
    crawled is logged and left out (every crawler would refuse its seed as a dead
    letter)."""
    from crawler.spider import seed_request
    from wire import FRONTIER_TOPIC, utc_now

    rounds = []
    for target in targets:
        problem = target_url_problem(target.url)
        if problem:
            log.error("target #%d not seeded: %s", target.id, problem)
            continue
        seed = replace(seed_request(target), crawl_id=f"{target.id}@{stamp}")
        if store is not None:
            store.queue_round_pages(seed.crawl_id, target.id, [seed.url], utc_now())
        bus.publish(FRONTIER_TOPIC, seed.key, seed.to_json())
        rounds.append(seed.crawl_id)
    return rounds


def seed_frontier(store: CrawlStore, case_id: str, bus: Any, target_ids: list[int]) -> list[str]:
    """Publish the seed page of each target of the case, as a new crawl round; return the
    round ids. Raises StoreError for an unknown case."""
    from wire import utc_now

    store.get_case(case_id)
    targets = [t for t in store.targets(case_id) if not target_ids or t.id in target_ids]
    return seed_targets(targets, bus, utc_now(), store)


def seed_due(
    store: CrawlStore, bus: Any, now: datetime, max_targets: int = 50, owner: str = ""
) -> Round:
    """The distributed scheduling round: claim the due targets (the same lease as the
    embedded :func:`radar.schedule.run_due`, so two schedulers never seed one round twice),
    seed each on the frontier, record the round's start and release the lease. The
    crawlers do the crawl; ``Round.claimed`` are the targets seeded. ``owner`` names
    the lease holder (default: this host and process)."""
    from radar.schedule import LEASE_SECONDS, claim_due, due_targets, owner_name, stamp

    due = due_targets(store.all_targets(), now)
    owner = owner or owner_name()
    until = stamp(now + timedelta(seconds=LEASE_SECONDS))
    claimed = claim_due(store, due[:max_targets], owner, now, until)
    try:
        seed_targets(claimed, bus, stamp(now), store)
        for target in claimed:
            store.mark_crawled(target.id, stamp(now))
    finally:
        for target in claimed:
            store.release_target(target.id, owner)
    return Round(due=len(due), claimed=claimed)
