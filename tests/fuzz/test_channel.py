"""Telegram-shaped channel previews from hostile markup: the parser never raises, and
every photo URL, post key and "older" link it gives passes the wire's URL rule (else the
record would become a dead letter instead of a sighting)."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from crawler.channel import parse_channel
from tests.fuzz.strategies import nasty_text, urlish
from wire.records import check_url

PAGE = "https://t.example/s/snapshare"

post_ref = st.one_of(
    st.builds(lambda n: f"snapshare/{n}", st.integers(-5, 10**20)),
    st.builds(lambda c, n: f"{c}/{n}", nasty_text, st.integers(0, 99)),
    nasty_text,
)
photo = st.builds(
    lambda href, url: (
        f'<a class="tgme_widget_message_photo_wrap" href="{href}" '
        f"style=\"background-image:url('{url}')\"></a>"
    ),
    st.one_of(urlish, st.builds(lambda r: f"https://t.example/{r}", post_ref)),
    st.one_of(urlish, nasty_text),
)
message = st.builds(
    lambda ref, photos, when: (
        f'<div class="tgme_widget_message" data-post="{ref}">'
        f'<time datetime="{when}"></time>{"".join(photos)}</div>'
    ),
    post_ref,
    st.lists(photo, max_size=4),
    nasty_text,
)
more = st.builds(lambda href: f'<a class="tme_messages_more" href="{href}"></a>', urlish)
markup = st.one_of(
    st.lists(st.one_of(message, more, nasty_text), max_size=6).map("".join), nasty_text
)


@given(markup)
@example(
    '<div class="tgme_widget_message" data-post="snapshare/1">'
    '<a class="tgme_widget_message_photo_wrap" style="background-image:url(\'http://[::1/x\')">'
    "</a></div>"
)
@example(
    '<div class="tgme_widget_message" data-post="snapshare/99999999999999999999999">'
    '<a class="tgme_widget_message_photo_wrap" style="background-image:url(\'https://c.example:99999/a.jpg\')">'
    "</a></div>"
)
@example(  # attribute names lxml cannot look up: a control character, braces
    '<div class="tgme_widget_message" data-post="snapshare/0"><a class="tgme_widget_message_'
    'photo_wrap" style="background-image:url(\'http://[::1]/"\x1f\')"></a>'
    '<a class="tgme_widget_message_photo_wrap" style="background-image:url(\'http://[::1]/"{}\')">'
    '</a><a class="tgme_widget_message_photo_wrap" href="http://[/x" '
    "style=\"background-image:url('http://[::1]/')\"></a></div>"
)
def test_channel_pages_yield_only_wire_urls(html: str) -> None:
    page = parse_channel(html, PAGE)
    for found in page.photos:
        check_url(found.image_url, "image_url")
        check_url(found.key, "page_url")
    if page.older is not None:
        check_url(page.older, "page_url")
