"""Video URLs on a page (issue 14): <video src>, <source>, og:video, links, Telegram posts."""

from __future__ import annotations

from crawler.extract import MAX_IMAGES, VIDEO_HOWS, extract_images, extract_videos

BASE = "http://127.0.0.1:8000/posts/1.html"


def videos(html: str) -> list[tuple[str, str]]:
    return [(ref.url, ref.how) for ref in extract_videos(html, BASE)]


def test_every_place_a_video_is_named() -> None:
    html = (
        '<head><meta property="og:video" content="/og.mp4">'
        '<meta property="og:video:secure_url" content="https://cdn.example.org/og-s.mp4">'
        '<meta name="twitter:player:stream" content="https://cdn.example.org/tw.mp4">'
        '<meta property="og:image" content="/poster.jpg"></head><body>'
        '<video src="clip.webm" poster="poster.jpg"></video>'
        '<video><source src="/a.mov" type="video/quicktime">'
        '<source src="/b.mp4"><source src="/c" type="video/mp4">'
        '<source srcset="/img.jpg" type="image/jpeg"></video>'
        '<a href="/files/d.MP4?dl=1#t=3">download</a><a href="/page.html">page</a>'
        '<a href="/files/e.jpg">photo</a></body>'
    )
    assert videos(html) == [
        ("http://127.0.0.1:8000/og.mp4", "og:video"),
        ("https://cdn.example.org/og-s.mp4", "og:video"),
        ("https://cdn.example.org/tw.mp4", "og:video"),
        ("http://127.0.0.1:8000/posts/clip.webm", "video-src"),
        ("http://127.0.0.1:8000/a.mov", "video-src"),
        ("http://127.0.0.1:8000/b.mp4", "video-source"),
        ("http://127.0.0.1:8000/c", "video-src"),
        ("http://127.0.0.1:8000/files/d.MP4?dl=1", "video-link"),
    ]
    assert {how for _, how in videos(html)} <= set(VIDEO_HOWS)
    # the images of the same page are unchanged: a poster is an image, a video is not
    image_urls = [ref.url for ref in extract_images(html, BASE)]
    assert "http://127.0.0.1:8000/posts/poster.jpg" in image_urls
    assert not any(url.endswith((".mp4", ".webm", ".mov")) for url in image_urls)


def test_telegram_video_post() -> None:
    post = (
        '<div class="tgme_widget_message" data-post="chan/10">'
        '<a class="tgme_widget_message_video_player" href="https://t.me/chan/10">'
        '<i class="tgme_widget_message_video_thumb" style="background-image:url(\'/v.jpg\')">'
        '</i><div class="tgme_widget_message_video_wrap">'
        '<video class="tgme_widget_message_video js-message_video" '
        'src="https://cdn4.example.org/file/v.mp4" width="100%"></video></div></a></div>'
    )
    assert videos(post) == [("https://cdn4.example.org/file/v.mp4", "telegram-video")]


def test_hostile_values_are_skipped_and_capped() -> None:
    junk = (
        '<video src="javascript:alert(1)"></video><video src="data:video/mp4;base64,AA"></video>'
        '<video src="http://[::1"></video><video></video><source src="/x.txt">'
        '<a href="mailto:a@b.mp4">m</a><meta property="og:video">'
    )
    assert videos(junk) == []
    many = "".join(f'<a href="/v{i}.mp4">v</a>' for i in range(MAX_IMAGES + 10))
    assert len(videos(many)) == MAX_IMAGES
    assert videos("<<<>>>\x00<video src='/ok.mp4'") in (
        [],
        [("http://127.0.0.1:8000/ok.mp4", "video-src")],
    )
