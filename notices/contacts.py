"""Who receives a notice: the host's security.txt, a provider directory, manual entry.

- ``security.txt`` (RFC 9116): ``/.well-known/security.txt`` on the host, each
  ``Contact: mailto:...`` line naming exactly one address (:mod:`notices.mailbox`)
  becomes a contact; a line naming a list (``mailto:a@x,b@y``), a line break or any
  other non-address is ignored and counted in the summary. Header fields of the URI
  (``?cc=...``) are dropped. ``Expires`` in the past is reported.
- The provider directory is a JSON list maintained by the hotline: entries
  ``{"match": "example.net", "level": "host", "email": "abuse@...", "name": "..."}``;
  ``match`` is a host or a domain suffix.
- Manual entries are made in the web app.
Contacts have a level (host, site, registrar): the escalation order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from notices.fetch import Fetcher, FetchRefused
from notices.mailbox import check_mailbox, mailbox_problem
from notices.storage import CONTACT_LEVELS, Contact

SECURITY_TXT_MAX = 64 * 1024


@dataclass(frozen=True, slots=True)
class SecurityTxt:
    emails: tuple[str, ...]
    other_contacts: tuple[str, ...]  # https: forms, tel: ...
    expires: str | None
    refused: tuple[str, ...] = ()  # mailto: values that are not exactly one address


def parse_security_txt(text: str) -> SecurityTxt:
    """The contact fields of a security.txt (RFC 9116 section 2.5); tolerant of case,
    comments, blank lines and a PGP signature wrapper."""
    emails: list[str] = []
    others: list[str] = []
    refused: list[str] = []
    expires = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or ":" not in line:
            continue
        name, value = (part.strip() for part in line.split(":", 1))
        if name.lower() == "contact":
            if value.lower().startswith("mailto:"):
                # Percent-decoding comes after the split: an encoded '?' or ',' (%3F, %2C)
                # stays in the address, which the address rule then refuses.
                address = unquote(value[7:].split("?", 1)[0])
                if mailbox_problem(address):
                    refused.append(value)
                elif (address := check_mailbox(address)) not in emails:
                    emails.append(address)
            elif value:
                others.append(value)
        elif name.lower() == "expires":
            expires = value
    return SecurityTxt(tuple(emails), tuple(others), expires, tuple(refused))


def from_security_txt(base_url: str, fetcher: Fetcher, now: str) -> tuple[list[Contact], str]:
    """Contacts from the host's security.txt, and a one-line account of what happened."""
    parts = urlsplit(base_url)
    url = f"{parts.scheme}://{parts.netloc}/.well-known/security.txt"
    try:
        got = fetcher.get(url, max_bytes=SECURITY_TXT_MAX)
    except (FetchRefused, OSError) as exc:
        return [], f"{url}: {exc}"
    if got.status != 200 or not got.content_type.startswith("text/plain"):
        return [], f"{url}: HTTP {got.status} {got.content_type or ''}".strip()
    found = parse_security_txt(got.body.decode("utf-8", "replace"))
    host = (parts.hostname or "").lower()
    note = "from " + url
    if found.expires and found.expires < now:
        note += f" (expired {found.expires})"
    contacts = [
        Contact(host, "host", email, "security.txt contact", "security.txt", note, now)
        for email in found.emails
    ]
    summary = f"{url}: {len(contacts)} e-mail contact(s)"
    if found.refused:
        summary += f"; ignored {len(found.refused)} Contact line(s) that are not one address"
    if found.other_contacts:
        summary += f"; other contacts: {', '.join(found.other_contacts)}"
    return contacts, summary


def load_directory(path: str | Path) -> list[dict[str, Any]]:
    """Read the provider directory; ValueError if it is malformed."""
    try:
        entries = json.loads(Path(path).read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: not JSON: {exc}") from None
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a JSON list of entries")
    for e in entries:
        if not isinstance(e, dict) or not e.get("match") or not e.get("email"):
            raise ValueError(f"{path}: every entry needs 'match' and 'email': {e!r}")
        problem = mailbox_problem(str(e["email"]))
        if problem:
            raise ValueError(f"{path}: {problem}: {e!r}")
        if e.get("level", "host") not in CONTACT_LEVELS:
            raise ValueError(f"{path}: level must be one of {CONTACT_LEVELS}: {e!r}")
    return entries


def from_directory(host: str, entries: Sequence[dict[str, Any]], now: str) -> list[Contact]:
    """Directory entries whose ``match`` is the host or a parent domain of it."""
    host = host.lower()
    out = []
    for e in entries:
        match = str(e["match"]).lower().lstrip(".")
        if host == match or host.endswith("." + match):
            out.append(
                Contact(
                    host,
                    str(e.get("level", "host")),
                    str(e["email"]),
                    str(e.get("name", "")),
                    "directory",
                    str(e.get("note", f"directory entry for {match}")),
                    now,
                )
            )
    return out
