"""A notice as a document: one list of blocks, rendered to plain text, PDF and ``.eml``.

Both outputs come from :func:`document`, so the PDF and the e-mail always say the same.
Notices name the case reference, URLs and hashes' evidence; they never carry a picture
and never a reference label (labels may hold a victim's name).
Rendering is deterministic for a given notice (fixed dates, ids, MIME boundary and PDF
invariant mode), which the golden-file tests rely on.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any

from notices.regimes import Regime, regime
from notices.storage import Notice
from store.evidence import RecheckResult

GONE = ("gone", "changed")  # re-check results after which the noticed bytes are not served
LEVEL_NAMES = {"host": "hosting provider", "site": "site operator", "registrar": "registrar"}


@dataclass(frozen=True, slots=True)
class Block:
    kind: str  # "h" heading, "p" paragraph, "kv" key/value rows, "urls" URL rows
    text: str = ""
    rows: tuple[tuple[str, ...], ...] = ()


def reference(notice: Notice) -> str:
    return f"RR-{notice.id:05d}" + (f"-{notice.sequence}" if notice.sequence > 1 else "")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def deadline(notice: Notice) -> str | None:
    """When the regime's removal clock runs out (sent + N hours), or None."""
    hours = regime(notice.regime).deadline_hours
    if hours is None or not notice.sent_at:
        return None
    return (parse_time(notice.sent_at) + timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _human(ts: str) -> str:
    return parse_time(ts).strftime("%d %B %Y, %H:%M UTC")


def kind(notice: Notice, parent: Notice | None) -> str:
    """``notice`` for a first notice, ``reminder`` (same contact level as the notice it
    follows) or ``escalation`` (a later level); ``follow-up`` if the parent is unknown."""
    if not notice.parent_id:
        return "notice"
    if parent is None:
        return "follow-up"
    return "reminder" if parent.level == notice.level else "escalation"


def _follows(parent: Notice) -> str:
    when = f"sent {_human(parent.sent_at)}" if parent.sent_at else "not sent"
    return f"{reference(parent)} ({when})"


def _span(times: list[str]) -> str:
    first, last = min(times), max(times)
    return f"on {_human(last)}" if first == last else f"between {_human(first)} and {_human(last)}"


def still_online(
    notice: Notice, parent: Notice, sent_at: str, rechecks: Sequence[RecheckResult]
) -> str:
    """What we know of the content since ``parent`` was sent, in one sentence: only a
    re-check after that (and no later than ``sent_at``, the date of this notice) that
    found it still there (the same bytes, or through the crawler a reference
    matched again) lets the notice say it is still online, and it says when."""
    since = parent.sent_at or ""
    latest: dict[str, RecheckResult] = {}
    for r in rechecks:
        if since <= r.checked_at <= sent_at and (
            r.url not in latest or r.checked_at >= latest[r.url].checked_at
        ):
            latest[r.url] = r
    urls = [u.url for u in notice.urls]
    online = [
        latest[u].checked_at for u in urls if u in latest and latest[u].status == "still_there"
    ]
    failed = [latest[u].checked_at for u in urls if u in latest and latest[u].status == "error"]
    removed = [latest[u].checked_at for u in urls if u in latest and latest[u].status in GONE]
    unchecked = sum(1 for u in urls if u not in latest)
    if len(online) == len(urls):
        return f"Our re-check {_span(online)} found the content listed below still online."
    parts = []
    if online:
        parts.append(
            f"our re-check {_span(online)} found {len(online)} of the {len(urls)} URLs "
            "listed below still online"
        )
    if failed:
        parts.append(f"{len(failed)} could not be reached at our last re-check {_span(failed)}")
    if removed:
        parts.append(
            f"{len(removed)} no longer served the content at our re-check {_span(removed)}"
        )
    if unchecked:
        what = "the content listed below has" if unchecked == len(urls) else f"{unchecked} have"
        parts.append(f"{what} not been re-checked since that notice")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + "."


def document(
    notice: Notice,
    sent_at: str,
    parent: Notice | None = None,
    rechecks: Sequence[RecheckResult] = (),
) -> list[Block]:
    """The notice's content, dated ``sent_at`` (the moment of sending, or of preview).
    A follow-up names the notice it follows (``parent``); what it says about the content
    being online comes from ``rechecks`` of its URLs (:func:`still_online`)."""
    reg: Regime = regime(notice.regime)
    f = notice.fields
    who = f.get("notifier_org") or f.get("notifier_name") or "the undersigned"
    what = kind(notice, parent)
    title = reg.title if what == "notice" else f"{what.capitalize()}: {reg.title}"
    rows: list[tuple[str, str]] = [("Reference", reference(notice))]
    if parent is not None:
        rows.append(("Follows our notice", _follows(parent)))
    rows += [
        ("Date", _human(sent_at)),
        ("To", f"{notice.recipient} ({LEVEL_NAMES[notice.level]} for {notice.host})"),
        ("Legal basis", reg.basis),
        ("Our case reference", ", ".join(sorted({u.case_id for u in notice.urls}))),
    ]
    blocks = [Block("h", title), Block("kv", rows=tuple(rows))]
    if parent is not None and parent.sent_at:
        status = still_online(notice, parent, sent_at, rechecks)
        if what == "reminder":
            lead = (
                f"This is a reminder of our notice {reference(parent)} sent on "
                f"{_human(parent.sent_at)}. {status}"
            )
        else:
            lead = (
                f"We notified the {LEVEL_NAMES[parent.level]} of {notice.host} on "
                f"{_human(parent.sent_at)} ({reference(parent)}). {status} We therefore "
                f"notify you as the {LEVEL_NAMES[notice.level]}."
            )
        blocks.append(Block("p", lead))
    blocks.append(
        Block(
            "p",
            f"{who} hereby notifies you under {reg.basis} of the content listed below on "
            f"{notice.host} and requests its removal or the disabling of access to it.",
        )
    )
    if reg.key == "dsa":
        blocks += [
            Block("h", "(a) Why the content is illegal"),
            Block("p", f.get("explanation", "")),
            Block("h", "(b) Exact electronic location"),
        ]
    elif reg.key == "takeitdown":
        blocks += [
            Block("h", "Identifiable individual"),
            Block("p", f.get("depicted_person", "")),
            Block("h", "Identification and location of the intimate visual depiction"),
            Block("p", f.get("identification", "")),
        ]
    else:
        blocks += [
            Block("h", "(ii) Copyrighted work"),
            Block("p", f.get("work", "")),
            Block("h", "(iii) Infringing material and its location"),
            Block("p", f.get("identification", "")),
        ]
    blocks.append(
        Block(
            "urls",
            rows=tuple(
                (str(i), u.url, u.page_url, u.content_sha256[:16])
                for i, u in enumerate(notice.urls, 1)
            ),
        )
    )
    statements = [
        spec.statement
        for spec in reg.fields
        if spec.kind == "checkbox" and spec.statement and f.get(spec.name) is True
    ]
    if reg.key == "takeitdown" and f.get("non_consent_info"):
        statements.append(f["non_consent_info"])
    if statements:
        blocks.append(Block("h", "Statements"))
        blocks += [Block("p", s) for s in statements]
    contact = [
        (label, str(f.get(key, "")).strip())
        for key, label in (
            ("notifier_name", "Name"),
            ("notifier_org", "Organisation"),
            ("notifier_email", "E-mail"),
            ("notifier_phone", "Telephone"),
            ("notifier_address", "Address"),
        )
        if str(f.get(key, "")).strip()
    ]
    if contact:
        heading = {"dsa": "(c) Notifier", "dmca": "(iv) Contact information"}
        blocks += [
            Block("h", heading.get(reg.key, "Contact information")),
            Block("kv", rows=tuple(contact)),
        ]
    if reg.key == "dsa" and f.get("csam_offence") is True:
        # Art. 16(2)(c) lets the notifier omit name and e-mail only for these offences;
        # without the box ticked nothing is omitted lawfully, and the check says so.
        missing = [
            label
            for key, label in (("notifier_name", "name"), ("notifier_email", "e-mail"))
            if not str(f.get(key, "")).strip()
        ]
        if missing:
            blocks.append(
                Block("p", f"{' and '.join(missing).capitalize()} omitted under Art. 16(2)(c).")
            )
    if reg.deadline_hours:
        due = (parse_time(sent_at) + timedelta(hours=reg.deadline_hours)).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        )
        blocks += [
            Block("h", "Removal deadline"),
            Block(
                "p",
                f"A covered platform must remove the depiction, and make reasonable efforts to "
                f"remove known identical copies, within {reg.deadline_hours} hours of "
                f"receiving a valid request: by {_human(due)}.",
            ),
        ]
    if f.get("signature"):
        blocks += [Block("h", "Signature"), Block("p", str(f["signature"]))]
    blocks.append(
        Block(
            "p",
            "This notice contains no images. The content is identified by its exact URL and "
            "the SHA-256 digest (first 16 hex digits shown) of the bytes served there.",
        )
    )
    return blocks


def _lines(text: str) -> list[str]:
    """The lines the sender typed (a postal address, paragraphs), without blank ends;
    ``\r\n`` from a browser's textarea counts as one break."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return lines or [""]


def as_text(blocks: list[Block], width: int = 78) -> str:
    """Plain text (the preview and the e-mail body). Line breaks the sender typed are
    kept: a paragraph is wrapped line by line, and a multi-line value (an address) goes
    on under its first line, indented."""
    out: list[str] = []
    for b in blocks:
        if b.kind == "h":
            while out and out[-1] == "":
                out.pop()
            out += ["", b.text] if out else [b.text.upper()]
            out.append("-" * min(width, len(b.text)))
        elif b.kind == "p":
            if b.text.strip():
                out += [w for line in _lines(b.text) for w in textwrap.wrap(line, width) or [""]]
                out.append("")
        elif b.kind == "kv":
            for k, v in b.rows:
                first, *more = _lines(v)
                out += [f"{k + ':':20} {first}".rstrip(), *(" " * 21 + line for line in more)]
            out.append("")
        elif b.kind == "urls":
            for n, url, page, sha in b.rows:
                out += [f"{n}. {url}", f"   on page: {page}", f"   SHA-256: {sha}..."]
            out.append("")
    return "\n".join(out).strip() + "\n"


DRAFT_BANNER = "DRAFT: not sent. This preview is not a notice and must not be sent."


def as_pdf(blocks: list[Block], title: str, draft: bool = False) -> bytes:
    """The document as an A4 PDF (reportlab, invariant mode: same input, same bytes).
    A ``draft`` (not sent yet) carries a "DRAFT" watermark and banner on every page and
    a title starting with "DRAFT", so it cannot be mistaken for the notice sent."""
    from xml.sax.saxutils import escape

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10)
    buf = io.BytesIO()

    def multiline(text: str) -> str:
        return "<br/>".join(escape(line) for line in _lines(text))

    def mark(canvas: Any, _doc: object) -> None:
        width, height = A4
        canvas.saveState()
        canvas.setFillColor(colors.Color(0.8, 0.1, 0.1, alpha=0.12))
        canvas.setFont("Helvetica-Bold", 120)
        canvas.translate(width / 2, height / 2)
        canvas.rotate(50)
        canvas.drawCentredString(0, -40, "DRAFT")
        canvas.restoreState()
        canvas.saveState()
        canvas.setFillColor(colors.HexColor("#b3261e"))
        canvas.rect(0, height - 11 * mm, width, 11 * mm, stroke=0, fill=1)
        canvas.setFillColor(colors.white)
        canvas.setFont("Helvetica-Bold", 10)
        canvas.drawCentredString(width / 2, height - 7 * mm, DRAFT_BANNER)
        canvas.restoreState()

    doc = SimpleDocTemplate(
        buf,
        pagesize=A4,
        title=f"DRAFT: {title}" if draft else title,
        author="Reupload Radar",
        invariant=1,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=16 * mm,
        bottomMargin=16 * mm,
    )
    story: list[object] = []
    for i, b in enumerate(blocks):
        if b.kind == "h":
            text = f"DRAFT: {b.text}" if draft and i == 0 else b.text
            story.append(Paragraph(escape(text), styles["Title" if i == 0 else "Heading3"]))
        elif b.kind == "p" and b.text:
            story.append(Paragraph(multiline(b.text), styles["BodyText"]))
        elif b.kind == "kv":
            rows = [
                [Paragraph(f"<b>{escape(k)}</b>", small), Paragraph(multiline(v), small)]
                for k, v in b.rows
            ]
            table = Table(rows, colWidths=[40 * mm, 134 * mm])
            table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))
            story += [table, Spacer(1, 3 * mm)]
        elif b.kind == "urls":
            titles = ("#", "URL and page", "SHA-256 (start)")
            head = [Paragraph(f"<b>{h}</b>", small) for h in titles]
            rows = [head] + [
                [
                    Paragraph(n, small),
                    Paragraph(f"{escape(url)}<br/>on page: {escape(page)}", small),
                    Paragraph(escape(sha), small),
                ]
                for n, url, page, sha in b.rows
            ]
            table = Table(rows, colWidths=[8 * mm, 136 * mm, 30 * mm], repeatRows=1)
            table.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ecf1")),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            story += [table, Spacer(1, 3 * mm)]
    if draft:
        doc.build(story, onFirstPage=mark, onLaterPages=mark)
    else:
        doc.build(story)
    return buf.getvalue()


def subject(notice: Notice, parent: Notice | None = None) -> str:
    """``[RR-…] Title (N URLs on host)``; a follow-up says whether it is a reminder or an
    escalation and which notice it follows."""
    reg = regime(notice.regime)
    n = len(notice.urls)
    what = kind(notice, parent)
    prefix = ""
    if what != "notice":
        follows = f" of {reference(parent)}" if parent is not None else ""
        prefix = f"{what.capitalize()}{follows}: "
    return f"[{reference(notice)}] {prefix}{reg.title} ({n} URL{'s' * (n != 1)} on {notice.host})"


def message_id(notice: Notice, domain: str = "reupload-radar.local") -> str:
    token = hashlib.sha256(f"{notice.id}/{notice.sequence}/{notice.created_at}".encode())
    return f"<{reference(notice)}.{token.hexdigest()[:16]}@{domain}>"


def as_eml(
    notice: Notice,
    sent_at: str,
    sender: str,
    pdf: bytes | None,
    parent: Notice | None = None,
    rechecks: Sequence[RecheckResult] = (),
) -> EmailMessage:
    """The notice as an e-mail: plain-text body, the PDF attached, reply-to the notifier;
    a follow-up is threaded under the notice it follows (``In-Reply-To``)."""
    blocks = document(notice, sent_at, parent, rechecks)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = sender
    msg["To"] = notice.recipient
    notifier = str(notice.fields.get("notifier_email", "")).strip()
    if notifier and notifier != sender:
        msg["Reply-To"] = notifier
    msg["Subject"] = subject(notice, parent)
    msg["Date"] = format_datetime(parse_time(sent_at))
    msg["Message-ID"] = notice.message_id or message_id(notice)
    if parent is not None and parent.message_id:
        msg["In-Reply-To"] = parent.message_id
        msg["References"] = parent.message_id
    msg["X-Radar-Notice"] = reference(notice)
    msg.set_content(as_text(blocks))
    if pdf is not None:
        msg.add_attachment(
            pdf, maintype="application", subtype="pdf", filename=f"{reference(notice)}.pdf"
        )
        msg.set_boundary("==radar-" + hashlib.sha256(msg["Message-ID"].encode()).hexdigest()[:24])
    return msg


__all__ = [
    "Block",
    "as_eml",
    "as_pdf",
    "as_text",
    "deadline",
    "document",
    "kind",
    "make_msgid",
    "still_online",
]
