"""security.txt from a hostile host, and the address rule behind it: parsing never
fails, and every address it yields (or the rule accepts) is one address that makes a
valid ``To:`` header naming exactly that address."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import getaddresses

from hypothesis import example, given
from hypothesis import strategies as st

from notices.contacts import parse_security_txt
from notices.mailbox import check_mailbox, mailbox_problem
from notices.storage import Contact
from tests.fuzz.strategies import NASTY, nasty_text

address_parts = st.text(alphabet=st.sampled_from(NASTY + "abc.-+_@"), max_size=30)
addressish = st.one_of(
    nasty_text,
    st.builds(lambda a, b: f"{a}@{b}", address_parts, address_parts),
    st.emails().map(str),
)


def _is_one_header_address(address: str) -> None:
    msg = EmailMessage()
    msg["To"] = address
    assert getaddresses(msg.get_all("To")) == [("", address)]
    assert "\r" not in msg.as_string().split("\n\n", 1)[0].replace("\r\n", "")


@given(addressish)
@example("a@evil.example,leak@third.example")
@example("a@evil.example\r\nBcc: leak@third.example")
@example("a@")
@example('"a"@b.example')
def test_the_address_rule_answers_and_what_it_accepts_is_one_address(value: str) -> None:
    problem = mailbox_problem(value)
    if problem is not None:
        assert isinstance(problem, str) and problem
        return
    address = check_mailbox(value)
    _is_one_header_address(address)
    Contact("host.example", "host", address)


line = st.one_of(
    st.builds(lambda v: f"Contact: mailto:{v}", addressish),
    st.builds(lambda v: f"Contact: {v}", nasty_text),
    st.builds(lambda v: f"Expires: {v}", nasty_text),
    nasty_text,
)


@given(st.lists(line, max_size=12).map("\n".join))
@example("Contact: mailto:a@evil.example,leak@third.example")
@example("Contact: mailto:a@evil.example%0D%0ABcc:%20leak@third.example")
@example("Contact: mailto:%")
def test_security_txt_yields_only_single_addresses(text: str) -> None:
    found = parse_security_txt(text)
    assert len(set(found.emails)) == len(found.emails)
    for address in found.emails:
        assert mailbox_problem(address) is None
        _is_one_header_address(address)
