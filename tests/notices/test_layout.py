"""How a notice looks, beyond its words: a draft's PDF is marked DRAFT on every page (the
sent one never), and lines the sender typed (a postal address) stay lines everywhere."""

from __future__ import annotations

import io
from dataclasses import replace

from pypdf import PdfReader

from notices.render import as_eml, as_pdf, as_text, document, subject
from notices.storage import NoticeUrl
from tests.notices.samples import SENT_AT, URLS, notice

ADDRESS = "Calle Mayor 1\r\n06200 Almendralejo\r\nSpain"


def _long(status: str):
    """A notice with enough URLs to need several PDF pages."""
    urls = tuple(
        replace(URLS[0], hit_id=f"{i:032x}", url=f"https://img.tube.example/u/{i}.jpg")
        for i in range(60)
    )
    assert all(isinstance(u, NoticeUrl) for u in urls)
    return replace(notice("dsa"), urls=urls, status=status)


def test_a_draft_pdf_says_draft_on_every_page_and_in_its_title() -> None:
    n = _long("draft")
    reader = PdfReader(io.BytesIO(as_pdf(document(n, SENT_AT), subject(n), draft=True)))
    assert len(reader.pages) >= 2
    for page in reader.pages:
        text = page.extract_text()
        assert "DRAFT: not sent" in text  # the banner
        assert text.count("DRAFT") >= 2  # and the watermark
    assert reader.metadata is not None
    assert reader.metadata.title.startswith("DRAFT: [RR-00042]")
    assert "DRAFT: EU Digital Services Act" in reader.pages[0].extract_text()


def test_a_sent_pdf_carries_no_draft_mark() -> None:
    n = _long("sent")
    data = as_pdf(document(n, SENT_AT), subject(n))
    reader = PdfReader(io.BytesIO(data))
    assert all("DRAFT" not in page.extract_text() for page in reader.pages)
    assert reader.metadata is not None and "DRAFT" not in reader.metadata.title
    assert data == as_pdf(document(n, SENT_AT), subject(n), draft=False)


def test_the_postal_address_keeps_its_lines_in_text_pdf_and_eml() -> None:
    n = notice("dmca", notifier_address=ADDRESS)
    blocks = document(n, SENT_AT)
    text = as_text(blocks).splitlines()
    at = text.index("Address:             Calle Mayor 1")
    assert text[at + 1 : at + 3] == [" " * 21 + "06200 Almendralejo", " " * 21 + "Spain"]
    assert "\r" not in as_text(blocks)
    pdf = PdfReader(io.BytesIO(as_pdf(blocks, subject(n)))).pages[0].extract_text()
    assert "Calle Mayor 1\n06200 Almendralejo\nSpain" in pdf
    eml = as_eml(n, SENT_AT, "notices@hotline.example", None)
    body = eml.get_content().splitlines()
    at = body.index("Address:             Calle Mayor 1")
    assert body[at + 1].strip() == "06200 Almendralejo" and body[at + 2].strip() == "Spain"


def test_paragraph_breaks_the_sender_typed_stay() -> None:
    n = notice("dsa", explanation="First paragraph.\r\n\r\nSecond paragraph.")
    text = as_text(document(n, SENT_AT))
    assert "First paragraph.\n\nSecond paragraph." in text
