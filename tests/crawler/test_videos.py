"""Real embedded crawls of pages with videos (issue 14), served on 127.0.0.1: a slideshow
of reference photos behind <video src>, a Telegram-shaped video post, a video over the
byte cap, and bytes that are not a video. Clips are made in memory from benign photos."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.crawler.harness import FixtureServer, Reply, crawl
from tests.crawler.test_hostile import case_with, target
from tests.videos import slideshow


@pytest.fixture(scope="module")
def leak(kodak: list[Path]) -> bytes:
    return slideshow([kodak[0], kodak[11], kodak[4]], seconds_each=2.0)


def _page(body: str) -> Reply:
    return Reply(body=f"<html><body>{body}</body></html>".encode())


def test_slideshow_behind_video_tags_is_found_with_frame_times(
    kodak: list[Path], leak: bytes, tmp_path: Path
) -> None:
    db = tmp_path / "radar.db"
    store = case_with(db, [kodak[0], kodak[4]])
    routes = {
        "/": _page(
            '<video src="/v/leak.mp4" poster="/v/none.jpg"></video>'
            '<a href="/v/junk.webm">junk</a><a href="/v/big.mp4">big</a>'
            '<div class="tgme_widget_message"><video class="tgme_widget_message_video" '
            'src="/v/post.mp4"></video></div>'
        ),
        "/v/leak.mp4": Reply(body=leak, content_type="video/mp4"),
        "/v/post.mp4": Reply(body=leak, content_type="video/mp4"),
        "/v/junk.webm": Reply(body=b"not a video" * 100, content_type="video/webm"),
        "/v/big.mp4": Reply(body=b"\0" * (3 << 20), content_type="video/mp4"),
    }
    with FixtureServer(routes) as server:
        tid = target(store, server.url + "/", max_depth=0)
        (report,) = crawl(db, [tid], settings={"RADAR_MAX_VIDEO_BYTES": 2 << 20})
    hits = store.hits("c1")
    by_url: dict[str, set[str]] = {}
    for hit in hits:
        by_url.setdefault(hit.image_url.rsplit("/", 1)[1], set()).add(hit.reference_label)
        times = [m.variant.rsplit(" at ", 1)[1] for m in hit.matches]
        assert times and all(t.endswith("s") for t in times)
    # the Telegram post serves the same bytes on the same page: one sighting, named by
    # whichever of the two was fetched first
    assert len(by_url) == 1 and set(by_url) <= {"leak.mp4", "post.mp4"}
    assert list(by_url.values()) == [{"kodim01", "kodim05"}]
    assert report.counts["videos_found"] == 4
    assert report.counts["videos"] == 3  # big.mp4 was cancelled at the byte cap
    assert report.counts["refused_too_large/video"] == 1
    assert report.counts["videos_hashed"] == 2 and report.counts["video_frames_hashed"] == 12
    errors = {k: v for k, v in report.counts.items() if k.startswith("video_error:")}
    assert errors == {"video_error:not_video": 1}  # junk.webm, one clear error
