"""Hypothesis strategies shared by the fuzz tests: hostile text and URL-ish strings."""

from __future__ import annotations

from hypothesis import strategies as st

# Characters that break parsers: separators, quotes, controls, brackets, non-ASCII.
NASTY = ",;<>()[]\"'\\:@%?#/ \t\r\n\x00\x7f\x85\u2028\u00fc\u200b"
# No lone surrogates: text on the wire or in a page was decoded from bytes first.
nasty_text = st.text(alphabet=st.sampled_from(NASTY) | st.characters(codec="utf-8"), max_size=80)

host = st.one_of(
    st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?(\.[a-z0-9]{1,8}){1,3}", fullmatch=True),
    st.just("127.0.0.1"),
    st.just("[::1]"),
    nasty_text,
)
port = st.one_of(st.none(), st.integers(min_value=-10, max_value=200_000).map(str), nasty_text)
urlish = st.one_of(
    st.builds(
        lambda scheme, h, p, path: f"{scheme}://{h}{'' if p is None else ':' + p}/{path}",
        st.sampled_from(["http", "https", "HTTP", "ftp", "javascript", ""]),
        host,
        port,
        nasty_text,
    ),
    nasty_text,
)
