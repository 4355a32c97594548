"""Human-readable tables for the terminal: crawl summaries and hit lists."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from store import Target
from wire import Hit

if TYPE_CHECKING:
    from radar.crawl import CrawlRun


def printable(text: str) -> str:
    """``text`` safe for a terminal: every character that is not printable (control
    characters, escape sequences' ESC, CR, bidi overrides, C1 codes) shown as its
    Python escape (``\\x1b``, ``\\r``, ``\\u202e``); printable text is unchanged. Use it
    for anything a remote host chose (headers, URLs, titles)."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_crawl_summary(run: CrawlRun, targets: Sequence[Target]) -> None:
    by_id = {t.id: t for t in targets}
    print(f"\ncrawl finished in {run.seconds:.1f}s, {run.hits} hits written")
    print(
        f"{'target':40} {'pages':>5} {'images':>6} {'hashed':>6} {'hits':>4}  "
        "errors / refused / gates"
    )
    for report in run.reports:
        c = report.counts
        extra = {
            k: v
            for k, v in c.items()
            if v and (k.startswith(("error:", "http:", "refused_", "gates_")))
        }
        notes = ", ".join(f"{k} {v}" for k, v in sorted(extra.items())) or "none"
        url = by_id[report.target_id].url if report.target_id in by_id else "?"
        print(
            f"{_short(f'#{report.target_id} {url}', 40):40} {c.get('pages', 0):5} "
            f"{c.get('images', 0):6} {c.get('hashed', 0):6} {c.get('hits', 0):4}  {notes}"
            f"  ({report.finish_reason})"
        )


def crawl_exit_status(run: CrawlRun, targets: Sequence[Target]) -> int:
    """Print the crawl summary and one error line per target that was not crawled; the
    exit status of the command that crawled (1 if any target failed)."""
    print_crawl_summary(run, targets)
    for target_id, problem in sorted(run.failed.items()):
        print(f"radar: error: target #{target_id} not crawled: {problem}", file=sys.stderr)
    return 0 if run.ok else 1


def print_hits(hits: Sequence[Hit]) -> None:
    if not hits:
        print("no hits")
        return
    print(
        f"{'status':9} {'case':14} {'reference':12} {'alg':5} {'dist':>4} {'seen':>4}  "
        f"image URL  (page)"
    )
    for hit in hits:
        print(
            f"{hit.status:9} {_short(hit.case_id, 14):14} {_short(hit.reference_label, 12):12} "
            f"{hit.algorithm:5} {hit.distance:4} {hit.seen_count:4}  {hit.image_url}  "
            f"(on {hit.page_url}, HTTP {hit.http_status}, sha256 {hit.content_sha256[:12]}…,"
            f" {hit.fetched_at})"
        )
