"""The address rule for notice recipients: one plain e-mail address, nothing else.

Recipients come from hostile places (a host's ``security.txt``, a form field), and they
end up in a ``To:`` header and an SMTP envelope. A value is accepted only if it is a
single ``local@domain`` address: no display name, no list (``a@x,b@y``), no CR/LF or
other control characters, ASCII only, a host name with a dot as domain. A leaf module:
the contact store, the security.txt parser and the notice desk all use this one rule.
"""

from __future__ import annotations

import re
from email.errors import MessageError
from email.headerregistry import Address
from email.utils import getaddresses

MAX_ADDRESS_CHARS = 254  # RFC 5321's path limit, less the angle brackets
_PRINTABLE = re.compile(r"^[\x21-\x7e]+$")  # no blank, control character or non-ASCII
_SEPARATORS = set(',;<>()[]"\\:')  # lists, display names, comments, quoting, literals
_LABEL = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")


def mailbox_problem(value: str) -> str | None:
    """Why ``value`` (outer spaces aside; a line break anywhere counts) is not one e-mail
    address, or None."""
    text = value.strip(" ")
    if not text:
        return "no e-mail address given"
    if len(text) > MAX_ADDRESS_CHARS:
        return f"an e-mail address has at most {MAX_ADDRESS_CHARS} characters"
    if not _PRINTABLE.match(text):
        return "an e-mail address has no blanks, line breaks, control or non-ASCII characters"
    if _SEPARATORS.intersection(text) or text.count("@") != 1:
        return "give exactly one e-mail address (no list, name or comment)"
    try:
        address = Address(addr_spec=text)
    except (ValueError, IndexError, MessageError):
        return "not an e-mail address"
    if address.addr_spec != text or not address.username or len(getaddresses([text])) != 1:
        return "not an e-mail address"
    labels = address.domain.split(".")
    if len(labels) < 2 or not all(_LABEL.match(label) for label in labels):
        return "the part after @ must be a host name such as host.example"
    return None


def check_mailbox(value: str) -> str:
    """``value`` without outer spaces, if it is one e-mail address (see the module
    docstring); else ValueError saying why, with the value shown safely (``repr``, cut to
    80 characters)."""
    problem = mailbox_problem(value)
    if problem:
        raise ValueError(f"{problem}: {value[:80]!r}")
    return value.strip(" ")
